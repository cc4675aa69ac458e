#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/run.sh: on a fresh Debian machine, installs what the tests need,
# builds and runs every test. .ci/run calls exactly this.
#   1. -Werror build, every ctest (unit, fuzz corpora, integration)
#   2. ASan + UBSan build (clang), the unit tests and fuzz corpora under it
#   3. the Windows cross build and its Wine test (tests/windows/run.sh)
# Set PF_SKIP_WINDOWS=1 or PF_SKIP_ASAN=1 to leave a stage out locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)

./deploy/install-deps.sh test

stage() { printf '\n==== %s ====\n' "$*"; }

stage "build (-Werror)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPF_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"

stage "tests"
ctest --test-dir build-test --output-on-failure -j1

if [ "${PF_SKIP_ASAN:-0}" != 1 ]; then
  stage "ASan + UBSan build, unit tests"
  CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPF_WERROR=ON \
    -DPF_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -L unit -j"$jobs"
fi

if [ "${PF_SKIP_WINDOWS:-0}" != 1 ] && [ -x tests/windows/run.sh ]; then
  stage "Windows cross build and Wine test"
  tests/windows/run.sh
fi

stage "all stages passed"
