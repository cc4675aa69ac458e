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
#      return, over a new connection from a reserve port;
#   2. failover: B is started, A stops for good: snapshots showing the full
#      range must reach the database through B within 30 s.
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
# (one query: the agent goes on adding snapshots meanwhile)
pfa_wait_for '[ "$(pf_psql -c "SELECT count(DISTINCT seq) = max(seq) FROM snapshots")" = t ]' 30 \
  "stored seqs are not contiguous"
stop_burner
pfa_agent_stop
echo "agent_reconnect: passed (down 10 s and back: ${took1} s; failover: ${took2} s)"
