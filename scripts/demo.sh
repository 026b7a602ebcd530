#!/usr/bin/env bash
# Builds heapgap into ./build and runs two samples under it: `leaky` (leaks
# from three call sites) and `fragment` (a small live block at the top of the
# heap pins ~20 MB of freed memory), then prints the report of each trace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build build --parallel "$(nproc)" --target heapgap heapgap_preload leaky fragment

traces=$(mktemp -d)
trap 'rm -rf "$traces"' EXIT
for sample in leaky fragment; do
  echo
  echo "=== heapgap run -- build/bin/$sample"
  build/bin/heapgap run -o "$traces/$sample.trace" -- "build/bin/$sample"
  echo
  echo "=== heapgap report $sample.trace"
  build/bin/heapgap report "$traces/$sample.trace"
done
