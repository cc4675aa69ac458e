#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_outage.sh BUILD_DIR: the real agent (interval 1 s) against the real
# collector and a throwaway PostgreSQL, in a private network namespace.
#  1. outage: the collector is stopped for 35 s (35 intervals) and started
#     again on the same address: afterwards every seq 1..N is in the
#     database exactly once, and the spool is empty.
#  2. restarted collector: stopped and started at once (same database):
#     the agent reconnects by itself and nothing is lost.
# Prints the figures: snapshots spooled during the outage, time to drain.
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_outage.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=agent_lib.sh
. "$here/agent_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
trap pfa_cleanup EXIT
pf_make_certs
pf_pg_init
pf_migrate

port=$(pf_free_port)
url=https://127.0.0.1:$port
state=$PF_TMP/state
pfa_collector_on "$port"
pfa_agent_start agent --collector "$url" --enroll-secret "$PF_ENROLL_SECRET" \
  --ca-file "$PF_CA" --state-dir "$state" --interval 1
pfa_wait_for '[ "$(pfa_db_seqs | wc -l)" -ge 5 ]' 30 "no snapshots stored"

# ---- 1. outage of 35 intervals ----
pfa_collector_kill "$port"
t0=$SECONDS
before=$(pf_psql -c "SELECT max(seq) FROM snapshots")
# at least 35 intervals: until 30 snapshots are spooled (a loaded machine
# may skip a tick now and then; the agent logs it)
sleep 35
pfa_wait_for '[ "$(pfa_status "$state" spool_depth)" -ge 30 ]' 120 \
  "the agent spooled fewer than 30 snapshots during the outage"
depth=$(pfa_status "$state" spool_depth)
pf_log "collector down for $((SECONDS - t0)) s; agent spool depth $depth"
pfa_collector_on "$port"
# the agent's next try comes when its backoff says: after ~35 s of failures
# that is up to a few minutes away (full jitter, cap 5 min)
t1=$(date +%s.%N)
pfa_wait_for '[ "$(pfa_status "$state" spool_depth)" -le 1 ] &&
  [ "$(pf_psql -c "SELECT count(*) FROM snapshots WHERE seq > $before")" -ge "$depth" ]' 330 \
  "the spool was not drained after the collector came back"
t2=$(date +%s.%N)
pf_log "drained $depth spooled snapshots in $(python3 -c "print('%.2f' % ($t2 - $t1))") s after the collector was ready"

# ---- 2. restarted collector, same database ----
conns_before=$(pfa_status "$state" connections)
pfa_collector_kill "$port"
pfa_collector_on "$port"
t3=$(date +%s.%N)
seq_restart=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' \
  "$state/state.json")
pfa_wait_for '[ "$(pf_psql -c "SELECT count(*) FROM snapshots WHERE seq > '"$seq_restart"'")" -ge 3 ]' 60 \
  "no snapshots after the collector restart"
t4=$(date +%s.%N)
pf_log "collector restarted: 3 new snapshots stored $(python3 -c "print('%.2f' % ($t4 - $t3))") s after it was ready"
conns_after=$(pfa_status "$state" connections)
pf_log "connections opened by the agent: $conns_before before the restart, $conns_after after"
pf_check '[ "$conns_after" -gt "$conns_before" ]' "the agent did not reconnect"

pfa_agent_stop
# What the agent stopped with is either in the database or still spooled.
last=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$state/state.json")
spooled=$(ls "$state/spool" | sed -n 's/^0*\([0-9][0-9]*\)\.snap$/\1/p' | sort -n)
python3 - "$last" "$(pfa_db_seqs | tr '\n' ' ')" "$(echo $spooled)" \
  "$(pf_psql -c "SELECT count(*) - count(DISTINCT (agent_id, seq)) FROM snapshots")" \
  "$(pf_psql -c "SELECT count(DISTINCT agent_id) FROM snapshots")" <<'EOF' ||
import sys
last = int(sys.argv[1])
db = [int(x) for x in sys.argv[2].split()]
spool = set(int(x) for x in sys.argv[3].split())
dups, agents = int(sys.argv[4]), int(sys.argv[5])
missing = sorted(set(range(1, last + 1)) - set(db) - spool)
print("seqs 1..%d: %d in the database, %d still spooled at stop, duplicates %d, agents %d"
      % (last, len(set(db)), len(spool), dups, agents))
ok = not missing and dups == 0 and len(db) == len(set(db)) and agents == 1 and len(spool) <= 1
if missing:
    print("missing:", missing[:50])
sys.exit(0 if ok else 1)
EOF
  pf_fail "a seq is missing or duplicated"
echo "agent_outage: passed"
