#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/windows/run.sh: the Windows agent's whole build and its Wine test,
# on a fresh Debian 12 machine as root (tests/run.sh calls it; so can you):
#   1. installs the MinGW-w64 cross compiler and Wine (install-deps.sh windows)
#   2. builds mbedTLS, libcurl and cJSON for MinGW from Debian's source
#      packages (deploy/windows/build-deps.sh; cached in .deps-win and
#      ~/.cache/portfleet)
#   3. cross-builds build-win/agent/portfleet-agent.exe with -Werror, and
#      tests/windows/sockholder.c into build-win/tests/sockholder.exe
#   4. checks the .exe's imports: no MinGW DLLs, and the optional APIs
#      (wevtapi, mprapi) loaded at run time, not imported
#   5. checks deploy/windows/Install-PortfleetAgent.ps1 statically
#      (check_ps1.py) and parses it with the tree-sitter PowerShell grammar
#      from npm (no PowerShell itself is packaged for Debian)
#   6. in a fresh WINEPREFIX, each step in its own `unshare -n`: runs the .exe
#      under wine64 while sockholder.exe holds known sockets and checks the
#      snapshot with the project's codec (build-winunit/tests/win_check_snapshot);
#      then install / install again / reinstall changed / status / uninstall
#      as a service under Wine's services.exe; the state directory `run`
#      creates (private); and trust without --ca-file: a CA in Wine's ROOT
#      store (added with certadd.exe) is trusted, the connection to the
#      scripted collector (retry_server.py) comes from a reserve port; and
#      with stand-in RemoteAccess and WAPCSvc services (svcstub.exe) the
#      agent takes the rras and entra-connector roles and lists the VPN
#      figures and sessions, which Wine cannot give, as unmeasured
# Ends with "N passed, N failed"; exit 1 when anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
log=$(mktemp /tmp/pf-windows.XXXXXX.log)
prefix='' work=''
trap 'rm -rf "$log" ${prefix:+"$prefix"} ${work:+"$work"}' EXIT
passed=0 failed=0
t_start=$SECONDS

step() { printf '\n---- %s ----\n' "$*"; }
ok() { echo "ok - $*"; passed=$((passed + 1)); }
bad() { echo "not ok - $*"; failed=$((failed + 1)); }
finish() {
  echo
  echo "windows stage took $((SECONDS - t_start)) s"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

step "dependencies (Debian packages)"
if ./deploy/install-deps.sh build && ./deploy/install-deps.sh windows; then
  ok "cross compiler, Wine and build tools installed"
else
  bad "install-deps.sh failed"
  finish
fi
wine64=$(command -v wine64 || echo /usr/lib/wine/wine64)
export PATH="$(dirname "$wine64"):$PATH"

step "MinGW libraries from Debian sources"
t=$SECONDS
if deploy/windows/build-deps.sh "$root/.deps-win"; then
  ok "mbedTLS, libcurl, cJSON for MinGW ready in $((SECONDS - t)) s"
else
  bad "deploy/windows/build-deps.sh failed"
  finish
fi

step "cross build (build-win)"
t=$SECONDS
exe=build-win/agent/portfleet-agent.exe
if cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64-x86_64.cmake" \
     -DCMAKE_PREFIX_PATH="$root/.deps-win/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
     -DPF_WERROR=ON -DPF_BUILD_TESTS=OFF >"$log" 2>&1 &&
   cmake --build build-win --target portfleet-agent -j"$jobs" >>"$log" 2>&1 && [ -f "$exe" ]; then
  ok "$exe built with -Werror in $((SECONDS - t)) s ($(stat -c %s "$exe") bytes)"
else
  tail -n 40 "$log"
  bad "cross build failed"
  finish
fi
mkdir -p build-win/tests
holder=build-win/tests/sockholder.exe
sddl=build-win/tests/sddl.exe
certadd=build-win/tests/certadd.exe
stub=build-win/tests/svcstub.exe
if x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror -static \
     -o "$holder" tests/windows/sockholder.c -lws2_32 &&
   x86_64-w64-mingw32-gcc -municode -std=c11 -O2 -Wall -Wextra -Werror -static \
     -o "$sddl" tests/windows/sddl.c &&
   x86_64-w64-mingw32-gcc -municode -std=c11 -O2 -Wall -Wextra -Werror -static \
     -o "$certadd" tests/windows/certadd.c -lcrypt32 &&
   x86_64-w64-mingw32-gcc -municode -std=c11 -O2 -Wall -Wextra -Werror -static \
     -o "$stub" tests/windows/svcstub.c; then
  ok "test programs built ($holder, $sddl, $certadd, $stub)"
else
  bad "tests/windows/sockholder.c, sddl.c, certadd.c or svcstub.c does not build"
fi

step "imports of the .exe"
imports=$(x86_64-w64-mingw32-objdump -p "$exe" | sed -n 's/^\s*DLL Name: //p' | tr 'A-Z' 'a-z' | sort -u)
echo "$imports" | tr '\n' ' '; echo
if echo "$imports" | grep -qE 'lib(gcc|winpthread|stdc)|mingw|libcurl|mbed|cjson'; then
  bad "the .exe needs MinGW or library DLLs"
else
  ok "only Windows system DLLs are imported"
fi
if echo "$imports" | grep -qE '^(wevtapi|mprapi)\.dll$'; then
  bad "wevtapi.dll or mprapi.dll is imported (they must load at run time)"
else
  ok "wevtapi.dll and mprapi.dll are not imported (loaded at run time)"
fi

step "Install-PortfleetAgent.ps1 (static check, not a PowerShell parse)"
if python3 tests/windows/check_ps1.py deploy/windows/Install-PortfleetAgent.ps1; then
  ok "Install-PortfleetAgent.ps1 passes the static check"
else
  bad "Install-PortfleetAgent.ps1 fails the static check"
fi

step "Install-PortfleetAgent.ps1 parsed by the tree-sitter PowerShell grammar"
# No PowerShell is packaged for Debian; the grammar comes from npm, pinned
# by tests/windows/ps1parse/package-lock.json, installed into build-win.
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >"$log" 2>&1
fi
mkdir -p build-win/ps1parse
cp tests/windows/ps1parse/package.json tests/windows/ps1parse/package-lock.json \
  tests/windows/ps1parse/parse.mjs build-win/ps1parse/
if (cd build-win/ps1parse && npm ci --no-audit --no-fund >"$log" 2>&1); then
  if node --no-deprecation build-win/ps1parse/parse.mjs deploy/windows/Install-PortfleetAgent.ps1; then
    ok "Install-PortfleetAgent.ps1 parses (tree-sitter-powershell)"
  else
    bad "Install-PortfleetAgent.ps1 has PowerShell syntax errors"
  fi
  printf 'param([string]$a\nfunction f { if ($x { }\n' >build-win/ps1parse/broken.ps1
  if node --no-deprecation build-win/ps1parse/parse.mjs build-win/ps1parse/broken.ps1 >/dev/null; then
    bad "the PowerShell parser accepted a broken script"
  else
    ok "the PowerShell parser rejects a broken script"
  fi
else
  tail -n 20 "$log"
  bad "npm could not install the PowerShell grammar"
fi

step "host-side checker (build-winunit)"
if cmake -S . -B build-winunit -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPF_WERROR=ON >"$log" 2>&1 &&
   cmake --build build-winunit --target win_check_snapshot -j"$jobs" >>"$log" 2>&1; then
  ok "win_check_snapshot built"
else
  tail -n 40 "$log"
  bad "the checker does not build"
  finish
fi

step "Wine test (fresh WINEPREFIX, unshare -n)"
prefix=$(mktemp -d /tmp/pf-wineprefix.XXXXXX)
work=$(mktemp -d /tmp/pf-winetest.XXXXXX)
wine_step() { # wine_step MODE ARGS...: one step in its own network namespace
  local out code n_ok n_bad
  WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
    timeout -k 10 300 unshare -n tests/windows/wine_test.sh "$@" >"$work/step.log" 2>&1 </dev/null
  code=$?
  # Whatever Wine left running (a timed-out step) goes with its server.
  WINEPREFIX=$prefix wineserver -k >/dev/null 2>&1
  WINEPREFIX=$prefix wineserver -w >/dev/null 2>&1
  out=$(cat "$work/step.log")
  echo "$out"
  [ "$code" -eq 124 ] && bad "wine_test.sh $1 timed out after 300 s"
  n_ok=$(grep -c '^ok - ' <<<"$out")
  n_bad=$(grep -c '^not ok - ' <<<"$out")
  passed=$((passed + n_ok))
  failed=$((failed + n_bad))
  if [ "$code" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
    bad "wine_test.sh $1 exited $code"
  fi
}
a="$root/$exe" h="$root/$holder" c="$root/build-winunit/tests/win_check_snapshot"
wine_step boot "$work"
wine_step cli "$a"
wine_step hold small "$a" "$h" "$c" "$work" -- --listen 5 --connect 7 --time-wait 3 --udp 4 --ipv6
wine_step hold pretty "$a" "$h" "$c" "$work" --pretty --cpu-sample-ms 500 -- --listen 2 --connect 3 --time-wait 1 --udp 1
wine_step hold many "$a" "$h" "$c" "$work" -- --listen 20 --connect 300 --time-wait 20 --udp 50
wine_step service "$a" "$root/$sddl" "$work"
wine_step acl "$a" "$root/$sddl" "$work"
wine_step roles "$a" "$root/$stub" "$work"
wine_step trust "$a" "$root/$certadd" "$root/tests/integration/retry_server.py" "$work"
finish
