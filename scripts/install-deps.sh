#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing, the demo and the
# benchmark need. Only packages that are missing are installed; when nothing is
# missing the script returns at once without touching apt. Run it as root (or
# as a user with sudo). Quiet on success; on failure it prints apt's output.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git ca-certificates python3
  valgrind libunwind-dev libabsl-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libdw-dev libelf-dev heaptrack zlib1g-dev chromium
  python3-jsonschema libxml2-utils
  # Programs and allocators the hardening tests trace; zstd for heaptrack's
  # compressed output in the benchmark.
  sqlite3 xz-utils zstd libjemalloc2 libtcmalloc-minimal4 gzip
  # The trace fuzzer (fuzz/, docs/FUZZING.md): clang 14 and its libFuzzer and
  # sanitizer runtimes.
  clang libclang-rt-14-dev
)
# The view's browser tests drive chromium from Node.js (playwright-core from
# the npm registry, see tests/viewer/setup-browser.sh); a machine that has
# Node.js from elsewhere keeps it.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null |
            awk '$2 == "installed" { print $1 }' || true)
missing=()
for package in "${packages[@]}"; do
  grep -qx -- "$package" <<<"$installed" || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
  fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Runs a command with its output in the log, which is shown only on failure.
quietly() {
  if ! "$@" >"$log" 2>&1; then
    echo "install-deps: failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
quietly "${as_root[@]}" apt-get update
quietly "${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
