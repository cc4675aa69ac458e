#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# install-deps.sh: installs the Debian packages portfleet needs.
#   install-deps.sh build    compilers and libraries to build both programs
#   install-deps.sh run      build + PostgreSQL and tools the quickstart uses
#   install-deps.sh test     run + what the test suite needs (clang, valgrind,
#                            chromium, node; and playwright-core from npm into
#                            tests/browser/node_modules, kept out of git)
#   install-deps.sh windows  the MinGW-w64 cross compiler and Wine
# Packages already installed are not fetched again, so a second run is quick.
set -euo pipefail

mode=${1:-build}
build_pkgs=(build-essential cmake pkg-config git libmbedtls-dev libcjson-dev
            libcurl4-openssl-dev libssl-dev libpq-dev libuv1-dev)
run_pkgs=(postgresql postgresql-contrib openssl curl iproute2 procps util-linux python3)
# debootstrap, qemu-system-x86, e2fsprogs: the Debian 12 VM of
# tests/integration/package_systemd.sh (systemd as PID 1 for the .debs).
# python3-aiosmtpd: the SMTP server of tests/integration/alert_smtp.sh;
# prometheus: promtool, which checks deploy/prometheus/portfleet-rules.yml.
# chromium + nodejs/npm: the browser test of the report (playwright-core from
# npm drives Debian's chromium; tests/browser/package.json).
test_pkgs=(clang libclang-rt-dev valgrind hyperfine python3 chromium nodejs systemd dpkg-dev
           adduser python3-aiosmtpd prometheus
           debootstrap qemu-system-x86 e2fsprogs)
# A node from elsewhere (NodeSource) brings its own npm and conflicts with
# Debian's package: ask for npm only when there is none.
command -v npm >/dev/null 2>&1 || test_pkgs+=(npm)
windows_pkgs=(gcc-mingw-w64-x86-64 wine wine64 dpkg-dev xz-utils iproute2 util-linux python3)

case "$mode" in
build) pkgs=("${build_pkgs[@]}") ;;
run) pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}") ;;
test) pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}" "${test_pkgs[@]}") ;;
windows) pkgs=("${windows_pkgs[@]}") ;;
*) echo "install-deps.sh: unknown mode '$mode' (build, run, test or windows)" >&2; exit 2 ;;
esac

# playwright-core (test tooling only) at the version package-lock.json pins.
npm_test_tools() {
  local dir
  dir=$(cd "$(dirname "$0")/../tests/browser" && pwd)
  if [ ! -f "$dir/node_modules/playwright-core/package.json" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "install-deps.sh: npm ci in tests/browser (playwright-core)" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  [ "$mode" != test ] || npm_test_tools
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$mode" != test ] || npm_test_tools
