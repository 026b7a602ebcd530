#!/usr/bin/env bash
# Overhead benchmark: alloc_bench natively, under `heapgap run` and under
# heaptrack, then the offline analysis of each tool's trace. Builds nothing:
# pass a build directory in which alloc_bench and heapgap are built.
#
# Usage: bench/run.sh BUILD_DIR [--repeats N] [--threads 1,2] [--ops N]
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: bench/run.sh BUILD_DIR [--repeats N] [--threads 1,2] [--ops N]" >&2
  exit 2
fi
exec python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" "$@"
