#!/usr/bin/env bash
# Installs what is missing, builds everything into ./build and runs the whole
# test suite (unit and end-to-end tests) with CTest; then the analyzer's tests
# built with ASan and UBSan (./build-asan) and a bounded fuzzing run of the
# trace reader (./build-fuzz, clang). Exits non-zero if a build or test fails.
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

# The analyzer under AddressSanitizer and UndefinedBehaviorSanitizer: the
# offline libraries, the heapgap command and their unit tests (libheapgap.so
# is never instrumented), then the bad-input tests against that heapgap.
if [[ ! -f build-asan/CMakeCache.txt ]]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEAPGAP_SANITIZE=ON
fi
cmake --build build-asan --parallel "$(nproc)" --target heapgap report_test symbolizer_test
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build-asan/bin/report_test --gtest_brief=1
build-asan/bin/symbolizer_test --gtest_brief=1
HEAPGAP_BIN=build-asan/bin/heapgap HEAPGAP_PRELOAD=build-asan/lib/libheapgap.so HARDENING_BIN=build/bin \
  HARDENING_PLUGIN=build/lib/libhardening_plugin.so PYTHONDONTWRITEBYTECODE=1 \
  python3 tests/hardening/test_bad_input.py
unset ASAN_OPTIONS UBSAN_OPTIONS

# The trace fuzzer (docs/FUZZING.md) for a bounded time, seeded with traces
# of the samples of ./build.
if [[ ! -f build-fuzz/CMakeCache.txt ]]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHEAPGAP_FUZZ=ON -DHEAPGAP_BUILD_TESTS=OFF -DHEAPGAP_FUZZ_SEED_BUILD="$PWD/build"
fi
cmake --build build-fuzz --parallel "$(nproc)" --target trace_fuzzer
ctest --test-dir build-fuzz --output-on-failure
