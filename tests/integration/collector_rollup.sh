#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_rollup.sh: process_hours (collector/store/proc_rollup.h) holds exactly
# the fold of the stored snapshots, by each of its three paths, against an
# independent fold in collector_rollup.py:
#  1. from memory: 60 snapshots posted out of order (and 10 resent) are
#     written by the collector's flush and their queued keys deleted;
#  2. from the queue: process_hours emptied and every key queued again, a
#     GET /v1/findings folds them all from the stored rows first;
#  3. across a crash: the collector is killed (SIGKILL) right after a post,
#     while keys are still queued; after a restart, GET /v1/findings folds
#     them, and nothing is counted twice or lost.
# Real PostgreSQL, real collector over TLS, inside a private network
# namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
rollup="python3 $here/collector_rollup.py"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
read -r agent key < <(pf_enroll ROLLUP-1 site-r machine-r)
d=$PF_TMP/snaps

dump() { # FILE: the agent's process_hours rows in collector_rollup.py's form
  pf_psql -F '|' -c "select extract(epoch from hour)::bigint, name, service, held_max,
      held_min, bound_max, coalesce(remote_addr, ''), coalesce(remote_port, -1),
      coalesce(extract(epoch from remote_at)::bigint, -1)
    from process_hours where agent_id = '$agent'" >"$1"
}
queued() { pf_psql -c "select count(*) from process_hours_queue"; }
findings() {
  pf_curl -fsS -o /dev/null -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
    "$PF_COLLECTOR_URL/v1/findings" || pf_fail "GET /v1/findings"
}

# 1. from memory
$rollup gen "$agent" 1 60 "$d"
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$d"
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$d" 3 9 17 22 30 31 44 50 58 60
pf_wait_for '[ "$(queued)" = 0 ]' 60 "the flush deleted every queued key"
dump "$PF_TMP/mem.txt"
$rollup check "$d" "$PF_TMP/mem.txt" || pf_fail "process_hours from memory"
pf_check '! grep -q "folded .* queued over" "$PF_TMP/collector.log"' "no orphan was folded"

# 2. from the queue
pf_psql -c "delete from process_hours" >/dev/null
pf_psql -c "insert into process_hours_queue (agent_id, seq, taken_at)
  select agent_id, seq, taken_at from snapshot_seqs" >/dev/null
pf_log "queued again: $(queued) keys"
findings
pf_check '[ "$(queued)" = 0 ]' "the analysis folded every queued key"
dump "$PF_TMP/queue.txt"
$rollup check "$d" "$PF_TMP/queue.txt" || pf_fail "process_hours from the queue"

# 3. across a crash: post, kill at once; again when the flush came first
$rollup gen "$agent" 61 30 "$PF_TMP/more"
left=0
for try in 1 2 3; do
  first=$((61 + (try - 1) * 10))
  $rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$PF_TMP/more" $(seq "$first" $((first + 9)))
  kill -KILL "$PF_COLLECTOR_PID"
  wait "$PF_COLLECTOR_PID" 2>/dev/null || true
  PF_COLLECTOR_PID=
  for s in $(seq "$first" $((first + 9))); do cp "$PF_TMP/more/$s.json" "$d/"; done
  left=$(queued)
  [ "$left" -gt 0 ] && break
  pf_log "try $try: the flush ran before the kill; posting again"
  pf_collector_start
done
pf_check '[ "$left" -gt 0 ]' "keys still queued after the kill"
pf_log "killed with $left keys queued"
pf_collector_start
findings
pf_check '[ "$(queued)" = 0 ]' "the restarted collector folded the orphans"
dump "$PF_TMP/crash.txt"
$rollup check "$d" "$PF_TMP/crash.txt" || pf_fail "process_hours after a crash"
pf_log "collector_rollup: all checks passed"
