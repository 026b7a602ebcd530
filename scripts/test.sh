#!/usr/bin/env bash
# Installs what is missing, builds everything into ./build and runs the whole
# test suite (unit and end-to-end tests) with CTest. Exits non-zero if the
# build or any test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build build --parallel "$(nproc)"
# One test at a time: the suite takes well under a minute, and the end-to-end
# tests run real, timed processes.
ctest --test-dir build --output-on-failure --timeout 300
