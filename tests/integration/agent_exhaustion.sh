#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_exhaustion.sh BUILD_DIR: reporting through port exhaustion. In a
# private network namespace the ephemeral range is cut to 300 ports
# (20000-20299); the agent (interval 1 s) connects to the real collector,
# then portburner binds every free port of the range. A new connection is
# now impossible (checked with curl), yet the agent's kept-alive connection
# goes on delivering snapshots that show the range 100 % used, with
# portburner as the top consumer, and the agent opened no new connection.
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_exhaustion.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=agent_lib.sh
. "$here/agent_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
burner=
stop_burner() { [ -n "$burner" ] && kill "$burner" 2>/dev/null; wait "$burner" 2>/dev/null || true; burner=; }
trap 'rc=$?; stop_burner; pfa_cleanup "$rc"' EXIT
pf_make_certs
pf_pg_init        # PostgreSQL is reached over its unix socket: no ports
pf_migrate

port=$(pf_free_port) # from the default range, outside the small one below
pfa_collector_on "$port"
echo "20000 20299" >/proc/sys/net/ipv4/ip_local_port_range
echo "" >/proc/sys/net/ipv4/ip_local_reserved_ports
state=$PF_TMP/state
pfa_agent_start agent --collector "https://127.0.0.1:$port" --enroll-secret "$PF_ENROLL_SECRET" \
  --ca-file "$PF_CA" --state-dir "$state" --interval 1
pfa_wait_for '[ "$(pfa_db_seqs | wc -l)" -ge 3 ]' 30 "no snapshots before the exhaustion"
conns=$(pfa_status "$state" connections)
pf_log "agent connected ($conns connection(s) opened)"

# bound-only sockets are listed by the kernel from 6.8 on; listen before that
mode=
kver=$(uname -r | sed 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/')
read -r kmaj kmin <<<"$kver"
if [ "$kmaj" -lt 6 ] || { [ "$kmaj" -eq 6 ] && [ "$kmin" -lt 8 ]; }; then mode=--listen; fi
"$BUILD/tests/portburner" $mode >"$PF_TMP/burner.out" 2>&1 &
burner=$!
pfa_wait_for 'grep -q holding "$PF_TMP/burner.out"' 30 "portburner did not fill the range"
held=$(sed -n 's/holding \([0-9]*\) ports/\1/p' "$PF_TMP/burner.out")
pf_log "portburner holds $held ports"
if curl -sSv --cacert "$PF_CA" -o /dev/null "https://127.0.0.1:$port/healthz" 2>"$PF_TMP/curl.err"; then
  pf_fail "a new connection still worked: the range is not exhausted"
fi
pf_check 'grep -q "Cannot assign requested address" "$PF_TMP/curl.err"' \
  "a new connection failed, but not for want of a local port: $(tail -2 "$PF_TMP/curl.err")"
pf_log "a new connection fails: $(grep -m1 'Cannot assign' "$PF_TMP/curl.err")"

after=$(pf_psql -c "SELECT max(seq) FROM snapshots")
pfa_wait_for '[ "$(pf_psql -c "SELECT count(*) FROM snapshots WHERE seq > '"$after"' AND tcp_ephemeral_in_use = usable_tcp4")" -ge 10 ]' 60 \
  "no snapshots showing the full range arrived"
row=$(pf_psql -F ' ' -c "SELECT s.seq, s.tcp_ephemeral_in_use, s.usable_tcp4, p.name, p.tcp_ports
  FROM snapshots s JOIN snapshot_processes p USING (agent_id, taken_at, seq)
  WHERE p.rank = 0 ORDER BY s.seq DESC LIMIT 1")
read -r seq inuse usable top topports <<<"$row"
pf_log "latest stored snapshot seq $seq: $inuse of $usable ephemeral TCP ports in use, top consumer $top ($topports ports)"
n_full=$(pf_psql -c "SELECT count(*) FROM snapshots WHERE seq > $after AND tcp_ephemeral_in_use = usable_tcp4")
conns_after=$(pfa_status "$state" connections)
pf_log "snapshots stored showing 100 % since the range filled: $n_full; agent connections opened: $conns before, $conns_after after"
pf_check '[ "$usable" -eq 300 ] && [ "$inuse" -eq 300 ]' "utilization is not 300/300"
pf_check '[ "$top" = portburner ] && [ "$topports" -ge "$held" ]' "the helper is not the top consumer"
pf_check '[ "$conns_after" -eq "$conns" ]' "the agent opened a new connection"
stop_burner
pfa_agent_stop
echo "agent_exhaustion: passed"
