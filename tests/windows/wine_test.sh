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
#   wine_test.sh service AGENT SDDL WORK         install/uninstall as a service
#   wine_test.sh acl AGENT SDDL WORK             `run` creates a private state directory
#   wine_test.sh roles AGENT STUB WORK          RemoteAccess and WAPCSvc running (svcstub.exe):
#                                               the agent takes the rras and entra-connector
#                                               roles; Wine has neither MprAdmin nor the
#                                               connector's counter, so the VPN figures and
#                                               sessions are listed as unmeasured
#   wine_test.sh trust AGENT CERTADD SERVER WORK  no --ca-file: the CA in Wine's ROOT
#                                               store is trusted; the connection comes
#                                               from a reserve source port
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
  agent_err=$(mktemp)
  # stdout only: a Wine helper process that fails while the fresh server
  # starts (seen once under heavy load) reports on the launcher's stderr.
  out=$(wine64 "$agent" version 2>"$agent_err")
  code=$?
  out=${out%$'\r'} # text-mode stdout: CRLF
  if [ "$code" -eq 0 ] && [[ "$out" =~ ^portfleet-agent\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    ok "version: $out"
  else
    bad "version exited $code and printed '$out'"
  fi
  [ -s "$agent_err" ] && echo "info - stderr of that run: $(head -c 300 "$agent_err")"
  wine64 "$agent" frobnicate >/dev/null 2>&1
  code=$?
  if [ "$code" -eq 2 ]; then ok "an unknown command exits 2"; else bad "an unknown command exited $code, not 2"; fi
  # Options reach the agent as UTF-8 (main's argv is in the ANSI code page
  # on Windows; pf_utf8_args rebuilds it from the wide command line).
  site='nyc-日本-é'
  got=$(LC_ALL=C.UTF-8 wine64 "$agent" snapshot --site "$site" 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["host"]["site"])' 2>&1)
  if [ "$got" = "$site" ]; then ok "a non-ASCII option arrives intact: host.site $got"; else bad "--site $site came out as '$got'"; fi
  rm -f "$agent_err"
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
service)
  agent=$1 sddl=$2 work=$3
  pd="$WINEPREFIX/drive_c/ProgramData/portfleet"
  secret="s3cret-$RANDOM with space"
  # Keep wineserver (and so services.exe) up between the commands: when
  # it exits, the next wine command starts a new one, which starts every
  # automatic service again, as a boot would.
  # Start it, and services.exe, with no pipe of ours as stdout: the service
  # processes inherit it and would keep every $(...) below waiting.
  wineserver -p </dev/null >/dev/null 2>&1
  wine64 cmd /c exit </dev/null >/dev/null 2>&1
  install() { wine64 "$agent" install --collector https://127.0.0.1:9 \
      --enroll-secret "$secret" --site "$1" --interval 1 2>&1; }
  running() { wine64 sc query portfleet-agent 2>/dev/null | grep -q 'STATE.*RUNNING'; }
  started() { local n; n=$(grep -c 'started (pid' "$pd/agent.log" 2>/dev/null); echo "${n:-0}"; }
  conf_has() { tr -d '\r' <"$pd/agent.conf" 2>/dev/null | grep -qxF "$1"; } # CRLF file
  wait_started() { for _ in $(seq 100); do [ "$(started)" -ge "$1" ] && return 0; sleep 0.1; done; return 1; }

  out=$(install lab)
  code=$?
  echo "  install: $out"
  if [ "$code" -eq 0 ] && [[ "$out" == *"(re)started"* ]]; then ok "install exits 0 and starts the service"; else bad "install exited $code"; fi
  if running; then ok "the service is RUNNING (Wine's services.exe started it through the dispatcher)"; else bad "the service is not RUNNING"; fi
  if wait_started 1; then ok "the agent logs to $(basename "$pd")\\agent.log: $(grep -m1 'started (pid' "$pd/agent.log" | cut -c1-70)..."; else bad "no 'started' line in agent.log"; fi
  img=$(wine64 reg query 'HKLM\System\CurrentControlSet\Services\portfleet-agent' /v ImagePath 2>/dev/null | tr -d '\r' | sed -n 's/.*REG_[A-Z_]*SZ *//p')
  echo "  ImagePath: $img"
  if [[ "$img" == *" run --config="* && "$img" != *"$secret"* && "$img" != *s3cret* ]]; then
    ok "the service command line runs 'run --config=...' and holds no secret"
  else
    bad "the service command line is '$img'"
  fi
  if conf_has "enroll-secret = $secret"; then ok "the secret is in agent.conf"; else bad "agent.conf lacks the secret"; fi
  if wine64 reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\portfleet-agent' /v EventMessageFile >/dev/null 2>&1; then
    ok "the Event Log source is registered"
  else
    bad "no Event Log source registration"
  fi
  echo "info - state directory DACL as Wine reports it: $(wine64 "$sddl" 'C:\ProgramData\portfleet' 2>&1 | tr -d '\r') (Wine does not keep the DACL install sets)"

  out=$(install lab)
  code=$?
  if [ "$code" -eq 0 ] && [[ "$out" == *"unchanged"* ]] && [ "$(started)" -eq 1 ] && running; then
    ok "install again with the same options: exit 0, unchanged, not restarted"
  else
    bad "install again: exit $code, '$out', $(started) start(s)"
  fi
  out=$(install lab2)
  code=$?
  if [ "$code" -eq 0 ] && [[ "$out" == *"(re)started"* ]] && wait_started 2 && running &&
     grep -q 'service stopped (exit code 0)' "$pd/agent.log" && conf_has 'site = lab2'; then
    ok "install with a changed option: config rewritten, clean stop, restarted"
  else
    bad "install with a changed option: exit $code, '$out', $(started) start(s)"
  fi
  out=$(wine64 "$agent" install --collector https://127.0.0.1:9 --enroll-secret x \
        --state-dir 'C:\windows' 2>&1)
  code=$?
  if [ "$code" -eq 2 ] && [[ "$out" == *"--state-dir"*"directory of its own"* ]] && running; then
    ok "install refuses a state directory that holds other files (C:\\windows): exit 2"
  else
    bad "install with --state-dir C:\\windows: exit $code, '$out'"
  fi
  out=$(wine64 "$agent" status 2>&1)
  if [[ "$out" == *"running"*"yes"* ]]; then ok "status sees the running service"; else bad "status: $out"; fi

  out=$(wine64 "$agent" uninstall 2>&1)
  code=$?
  echo "  uninstall: $out"
  if [ "$code" -eq 0 ] && ! wine64 sc query portfleet-agent 2>/dev/null | grep -q STATE &&
     [ ! -e "$pd/agent.conf" ] && [ -e "$pd/agent.log" ]; then
    ok "uninstall: service gone, agent.conf (the secret) removed, state kept"
  else
    bad "uninstall: exit $code, service or files left as they were"
  fi
  out=$(wine64 "$agent" uninstall --purge 2>&1)
  code=$?
  if [ "$code" -eq 0 ] && [[ "$out" == *"not installed"* ]] && [ ! -e "$pd" ]; then
    ok "uninstall --purge when not installed: exit 0, state directory removed"
  else
    bad "uninstall --purge: exit $code, '$out'"
  fi
  done_step
  ;;
acl)
  agent=$1 sddl=$2 work=$3
  # `run` (not install) creates the state directory and its parent. Wine
  # keeps no security descriptor on disk: it turns the one given at
  # creation into Unix permissions and reports a DACL made from those
  # (protection and the Administrators' ACE are lost), so the check here is
  # what survives: no ACE for Everyone (WD), Users (BU) or Authenticated
  # Users (AU), and no Unix permission for others. Before the fix the
  # directory got the default ACL: Everyone may read (Unix r-x for others).
  base="$WINEPREFIX/drive_c/pf-acl"
  rm -rf "$base"
  timeout 90 wine64 "$agent" run --collector https://127.0.0.1:9 --enroll-secret x \
    --state-dir 'C:\pf-acl\state' --interval 1 >"$work/acl-agent.log" 2>&1 &
  ap=$!
  for _ in $(seq 600); do [ -f "$base/state/status.json" ] && break; sleep 0.1; done
  kill "$ap" 2>/dev/null
  wait "$ap" 2>/dev/null
  if [ ! -d "$base/state" ]; then
    bad "run did not create its state directory (log: $(tail -3 "$work/acl-agent.log"))"
    done_step
  fi
  for sub in '' /state /state/spool; do
    dir="C:\\pf-acl${sub//\//\\}"
    got=$(wine64 "$sddl" "$dir" 2>&1 | tr -d '\r')
    unix=$(stat -c %A "$base$sub" 2>&1)
    echo "info - $dir: DACL as Wine reports it: $got; Unix mode $unix"
    if [[ "$got" == D:* && "$got" != *";;;WD)"* && "$got" != *";;;BU)"* && "$got" != *";;;AU)"* &&
          "$unix" == d??????--- ]]; then
      ok "run created $dir private: no ACE for Everyone, Users or Authenticated Users"
    else
      bad "run created $dir with a DACL others may use: $got ($unix)"
    fi
  done
  done_step
  ;;
roles)
  agent=$1 stub=$2 work=$3
  d="$work/roles"
  mkdir -p "$d"
  # services.exe up for the whole step, with no pipe of ours (as in service).
  wineserver -p </dev/null >/dev/null 2>&1
  wine64 cmd /c exit </dev/null >/dev/null 2>&1
  for svc in RemoteAccess WAPCSvc; do
    wine64 sc create "$svc" binPath= "$(winpath "$stub")" </dev/null >/dev/null 2>&1
    wine64 sc start "$svc" </dev/null >/dev/null 2>&1
    up=0
    for _ in $(seq 50); do
      wine64 sc query "$svc" 2>/dev/null | grep -q 'STATE.*RUNNING' && { up=1; break; }
      sleep 0.1
    done
    if [ "$up" = 1 ]; then ok "roles: a stand-in $svc service is RUNNING"; else bad "roles: $svc did not start"; fi
  done
  wine64 "$agent" snapshot --site lab --log-level debug >"$d/snapshot.json" 2>"$d/agent.log"
  code=$?
  if [ "$code" -eq 0 ]; then ok "roles: snapshot exited 0"; else bad "roles: snapshot exited $code"; fi
  grep -i 'entra\|vpn\|mprapi\|RemoteAccess' "$d/agent.log" | sed 's/^/  agent: /'
  # pdh.dll is Wine's: each of the three object names Microsoft has given
  # the connector's counters is asked for, none is there.
  n=$(grep -c 'Entra connector counter .* not readable' "$d/agent.log")
  if [ "$n" = 3 ]; then ok "roles: PDH asked for the connector's counter under its 3 object names"; else bad "roles: $n counter paths tried (3 expected)"; fi
  python3 - "$d/snapshot.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
um = d.get("unmeasured") or []
roles = d["host"].get("roles") or []
bad = 0
def check(c, msg):
    global bad
    bad += not c
    print(("ok - roles: " if c else "not ok - roles: ") + msg)
check("rras" in roles and "entra-connector" in roles, "roles %s from the running services" % roles)
vpn_um = "vpn" in um or ("vpn.ports" in um and "vpn.address_pool" in um)
check(vpn_um, "RRAS without MprAdmin: the VPN figures are listed as unmeasured (%s)"
      % [u for u in um if u.startswith("vpn")])
v = d.get("vpn") or {}
check("vpn" in um or not (v.get("ports") or v.get("address_pool")),
      "no VPN ports or pool reported next to their unmeasured entry")
check("sessions" in um and not d.get("sessions"),
      "the Entra connector's counter is not there: sessions listed as unmeasured, not 0")
print("info - roles: unmeasured: " + " ".join(um))
sys.exit(1 if bad else 0)
PY
  [ "${PIPESTATUS[0]}" -eq 0 ] || fails=$((fails + 1))
  for svc in WAPCSvc RemoteAccess; do
    wine64 sc stop "$svc" </dev/null >/dev/null 2>&1
    wine64 sc delete "$svc" </dev/null >/dev/null 2>&1
  done
  done_step
  ;;
trust)
  agent=$1 certadd=$2 server=$3 work=$4
  d="$work/trust"
  rm -rf "$d" "$WINEPREFIX"/drive_c/pf-trust-* # fresh agents: enrollment first
  mkdir -p "$d"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
    -subj "/CN=portfleet wine test CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
  openssl x509 -in "$d/ca.pem" -outform DER -out "$d/ca.der" &&
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null &&
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf" &&
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
    -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null ||
    { bad "openssl could not make the test certificates"; done_step; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 "$server" --port "$port" --cert "$d/server.pem" --key "$d/server.key" \
    --log "$d/server.log" >"$d/server.out" 2>&1 &
  sp=$!
  for _ in $(seq 100); do
    curl -s --cacert "$d/ca.pem" -o /dev/null "https://localhost:$port/healthz" && break
    sleep 0.1
  done
  # run_agent NAME: `run` without --ca-file until a snapshot arrives or 40 s.
  # The name, not the IP address: mbedTLS 2.28 matches only DNS names.
  run_agent() {
    timeout 60 wine64 "$agent" run --collector "https://localhost:$port" --enroll-secret x \
      --state-dir "C:\\pf-trust-$1" --interval 1 >"$d/agent-$1.log" 2>&1 &
    local ap=$! i
    for i in $(seq 400); do
      grep -q '/v1/snapshots' "$d/server.log" 2>/dev/null && break
      [ "$1" = untrusted ] && grep -q 'enrollment at .* failed' "$d/agent-$1.log" && break
      sleep 0.1
    done
    kill "$ap" 2>/dev/null
    wait "$ap" 2>/dev/null
    wineserver -k >/dev/null 2>&1
    wineserver -w >/dev/null 2>&1
  }
  run_agent untrusted
  echo "info - without the CA: $(grep -m1 -o 'enrollment at .* failed ([^)]*' "$d/agent-untrusted.log" | cut -c1-160)"
  if ! grep -q '/v1/' "$d/server.log" 2>/dev/null && grep -q 'enrollment at .* failed' "$d/agent-untrusted.log"; then
    ok "a CA in no Windows store is not trusted: enrollment fails, nothing reaches the server"
  else
    bad "the agent reached the server without trusting its CA (log: $(tail -2 "$d/agent-untrusted.log"))"
  fi
  out=$(wine64 "$certadd" ROOT "$(winpath "$d/ca.der")" 2>&1 | tr -d '\r')
  [ "$out" = added ] || bad "certadd.exe ROOT: $out"
  run_agent trusted
  held=$(sed -n 's/.*holding reserve source port(s) \([0-9,]*\) .*/\1/p' "$d/agent-trusted.log" | head -n 1)
  from=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e.get("path") == "/v1/snapshots":
        print(e.get("port", "")); break' "$d/server.log" 2>/dev/null)
  echo "info - $(grep -m1 -o 'trusting [0-9]* CA(s)[^;]*' "$d/agent-trusted.log" | tr -d '\r')"
  if grep -q '/v1/snapshots' "$d/server.log" 2>/dev/null && grep -q 'trusting [0-9]* CA(s)' "$d/agent-trusted.log"; then
    ok "no --ca-file: the CA added to the ROOT store is trusted, snapshots reach the server"
  else
    bad "no snapshot reached the server with the CA in the ROOT store (log: $(tail -3 "$d/agent-trusted.log" | tr -d '\r'))"
  fi
  if [ -n "$held" ] && [ -n "$from" ] && [[ ",$held," == *",$from,"* ]]; then
    ok "the connection came from reserve source port $from (held: $held)"
  else
    bad "the connection came from port '${from:-?}', not a reserve port (held: '${held:-none}')"
  fi
  kill "$sp" 2>/dev/null
  wait "$sp" 2>/dev/null
  done_step
  ;;
*)
  echo "wine_test.sh: unknown mode '$mode'" >&2
  exit 2
  ;;
esac
