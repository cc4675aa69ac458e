#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_reconnect.sh BUILD_DIR: reconnecting through port exhaustion. In a
# private network namespace the ephemeral range is cut to 300 ports
# (20000-20299) and portburner --greedy holds every free one and grabs
# each port that comes free, as a leaking service does. The agent
# (interval 1 s, --collector A --collector B) must then open new
# connections from the source ports it holds in reserve:
#   1. collector A is down 10 s and back (B is not running): snapshots
#      showing the full range must reach the database within 30 s of A's
#      return (or 10 s after the backoff the agent drew at A's last failure
#      ends, when that is later), over a new connection from a reserve port;
#   2. failover: B is started, A stops for good: snapshots showing the full
#      range must reach the database through B within 30 s (B's failures in
#      step 1 are history once A answered: B is tried at A's first failure).
# Prints the seconds each took (the figures of the README).
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_reconnect.sh BUILD_DIR}" && pwd)
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
pf_pg_init
pf_migrate
now() { date +%s.%N; }
since() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }
full_after() { # number of stored snapshots with seq > $1 showing the whole range in use
  pf_psql -c "SELECT count(*) FROM snapshots WHERE seq > $1 AND tcp_ephemeral_in_use = usable_tcp4 AND usable_tcp4 = 300"
}
max_seq() { pf_psql -c "SELECT coalesce(max(seq), 0) FROM snapshots"; }

a=$(pf_free_port) # from the default range, outside the small one below
b=$(pf_free_port)
while [ "$b" = "$a" ]; do b=$(pf_free_port); done
pfa_collector_on "$a"
echo "20000 20299" >/proc/sys/net/ipv4/ip_local_port_range
echo "" >/proc/sys/net/ipv4/ip_local_reserved_ports
# curl's readiness checks in the test come from ports outside the range
export PFA_CURL_ARGS="--local-port 40000-40999"
state=$PF_TMP/state
pfa_agent_start agent --collector "https://127.0.0.1:$a" --collector "https://127.0.0.1:$b" \
  --enroll-secret "$PF_ENROLL_SECRET" --ca-file "$PF_CA" --state-dir "$state" --interval 1 \
  --log-level debug
pfa_wait_for '[ "$(pfa_db_seqs | wc -l)" -ge 3 ]' 30 "no snapshots before the exhaustion"

"$BUILD/tests/portburner" --greedy >"$PF_TMP/burner.out" 2>&1 &
burner=$!
pfa_wait_for 'grep -q holding "$PF_TMP/burner.out"' 30 "portburner did not fill the range"
pf_log "portburner $(grep -m1 holding "$PF_TMP/burner.out"), grabbing each port that comes free"
if curl -sSv --cacert "$PF_CA" -o /dev/null "https://127.0.0.1:$a/healthz" 2>"$PF_TMP/curl.err"; then
  pf_fail "a new connection from an ephemeral port still worked: the range is not exhausted"
fi
pf_check 'grep -q "Cannot assign requested address" "$PF_TMP/curl.err"' \
  "a new connection failed, but not for want of a local port: $(tail -2 "$PF_TMP/curl.err")"
seq0=$(max_seq)
pfa_wait_for '[ "$(full_after "$seq0")" -ge 2 ]' 30 "no full-range snapshot over the kept connection"
conns0=$(pfa_status "$state" connections)

# 1. collector A down 10 s and back
pfa_collector_kill "$a"
pf_log "collector A stopped; back in 10 s"
sleep 10
pfa_collector_on "$a"
t0=$(now)
seq1=$(max_seq)
# the agent retries A when the backoff it drew at A's last failure ends
# (full jitter, up to BACKOFF_FAILBACK_CAP_MS): 30 s, or that wait + 10 s
last_wait=$(sed -n "s|.*push to https://127.0.0.1:$a failed.* retry in \([0-9]*\) ms.*|\1|p" \
  "$PF_TMP/agent.log" | tail -n 1)
limit1=$(( ${last_wait:-0} / 1000 + 10 ))
[ "$limit1" -ge 30 ] || limit1=30
pf_log "collector A is back (stored up to seq $seq1); the agent's last drawn wait ${last_wait:-?} ms"
pfa_wait_for '[ "$(full_after "$seq1")" -ge 1 ]' "$limit1" \
  "no snapshot showing the full range arrived within $limit1 s of the collector's return"
took1=$(since "$t0")
conns1=$(pfa_status "$state" connections)
port1=$(sed -n 's/.*opened a connection to .*(local port \([0-9]*\) reserve.*/\1/p' "$PF_TMP/agent.log" | tail -n 1)
pf_log "collector down 10 s and back: first full-range snapshot stored $took1 s after its return," \
  "over a new connection from reserve port ${port1:-?} ($conns0 -> $conns1 connections)"
pf_check '[ "$conns1" -gt "$conns0" ]' "the agent opened no new connection"
pf_check '[ -n "$port1" ]' "the new connection did not come from a reserve port"
pf_check '! grep -q "^grabbed $port1 " "$PF_TMP/burner.out"' "the reserve port $port1 was taken by portburner"

# 2. failover to B
pfa_collector_on "$b"
pfa_collector_kill "$a"
t0=$(now)
seq2=$(max_seq)
pf_log "collector B started, A stopped for good (stored up to seq $seq2)"
pfa_wait_for '[ "$(full_after "$seq2")" -ge 1 ] && grep -q "delivering to https://127.0.0.1:$b" "$PF_TMP/agent.log"' 30 \
  "no snapshot showing the full range arrived through collector B within 30 s"
took2=$(since "$t0")
pf_log "failover: first full-range snapshot stored through B $took2 s after A stopped"
n_burn=$(grep -c '^grabbed' "$PF_TMP/burner.out" || true)
pf_log "portburner grabbed $n_burn port(s) that came free during the test"
# at-least-once: every seq reaches the database, none lost on the way
# (one query: the agent goes on adding snapshots meanwhile)
pfa_wait_for '[ "$(pf_psql -c "SELECT count(DISTINCT seq) = max(seq) FROM snapshots")" = t ]' 30 \
  "stored seqs are not contiguous"
stop_burner
pfa_agent_stop
echo "agent_reconnect: passed (down 10 s and back: ${took1} s; failover: ${took2} s)"
