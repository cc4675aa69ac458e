#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# wine_test.sh: the Wine half of tests/windows/run.sh. run.sh calls it once
# per step, each time in a new private network namespace (unshare -n), so
# that the only sockets are the ones sockholder.exe opens and no TIME_WAIT
# socket of one step is counted in the next. Wine keeps sockets in its
# wineserver, which is therefore stopped (and waited for) at the end of
# every step.
#   wine_test.sh boot WORK                      wineboot -i a fresh WINEPREFIX
#   wine_test.sh cli AGENT WORK                 version, exit codes
#   wine_test.sh hold NAME AGENT HOLDER CHECKER WORK [SNAPSHOT-ARGS] -- HOLDER-ARGS
# Needs WINEPREFIX and wine64 on PATH (set by run.sh). Prints "ok - ..." /
# "not ok - ..." lines (run.sh counts them); exits non-zero when any failed.
set -uo pipefail
fails=0

ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
winpath() { echo "Z:${1//\//\\}"; }
done_step() {
  wineserver -k >/dev/null 2>&1
  wineserver -w >/dev/null 2>&1
  exit $(( fails > 0 ))
}

ip link set lo up || { bad "cannot bring lo up in the namespace"; exit 1; }
# Linux picks the holder's ports; use Windows' default dynamic range so
# that they fall inside the range the agent reports (see run.sh).
sysctl -q -w net.ipv4.ip_local_port_range="49152 65535"

mode=$1
shift
case "$mode" in
boot)
  work=$1
  t0=$(ms)
  if wineboot -i >"$work/wineboot.log" 2>&1; then
    ok "fresh WINEPREFIX booted in $(( $(ms) - t0 )) ms"
  else
    bad "wineboot -i failed (log: $work/wineboot.log)"
  fi
  done_step
  ;;
cli)
  agent=$1
  out=$(wine64 "$agent" version 2>&1)
  if [[ "$out" =~ ^portfleet-agent\ [0-9]+\.[0-9]+\.[0-9]+ ]]; then
    ok "version: $out"
  else
    bad "version printed '$out'"
  fi
  wine64 "$agent" frobnicate >/dev/null 2>&1
  code=$?
  if [ "$code" -eq 2 ]; then ok "an unknown command exits 2"; else bad "an unknown command exited $code, not 2"; fi
  done_step
  ;;
hold)
  name=$1 agent=$2 holder=$3 checker=$4 work=$5
  shift 5
  d="$work/$name"
  snapargs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do snapargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  mkdir -p "$d"
  rm -f "$d"/*
  wine64 "$holder" --dir "$(winpath "$d")" "$@" >"$d/holder.log" 2>&1 &
  hp=$!
  for _ in $(seq 300); do [ -f "$d/ready" ] && break; sleep 0.1; done
  if [ ! -f "$d/ready" ]; then
    bad "$name: sockholder did not get ready (log: $d/holder.log)"
    touch "$d/stop"
    wait "$hp"
    done_step
  fi
  t=$(ms)
  wine64 "$agent" snapshot "${snapargs[@]}" >"$d/snapshot.json" 2>"$d/agent.log"
  code=$?
  took=$(( $(ms) - t ))
  touch "$d/stop"
  wait "$hp"
  if [ "$code" -eq 0 ]; then
    ok "$name: snapshot exited 0 in $took ms"
  else
    bad "$name: snapshot exited $code (log: $d/agent.log)"
  fi
  sed 's/^/  agent: /' "$d/agent.log"
  "$checker" "$d/snapshot.json" "$d/manifest.txt" --expect-ranges 49152 16384 |
    sed "s/^\(ok\|not ok\|skip\|info\) - /\1 - $name: /"
  [ "${PIPESTATUS[0]}" -eq 0 ] || fails=$((fails + 1))
  done_step
  ;;
*)
  echo "wine_test.sh: unknown mode '$mode'" >&2
  exit 2
  ;;
esac
