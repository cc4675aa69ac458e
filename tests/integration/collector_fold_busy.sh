#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_fold_busy.sh: process_hours (collector/store/proc_rollup.h)
# when its writers' lock is taken, and behind a backlog of queued snapshots.
#  1. A flush that fails keeps its rows: a psql session holds the writers'
#     advisory lock while 60 snapshots of one host are posted in two halves
#     (some twice). Every flush gives up on the lock; the collector's log
#     must show the rows of all 60 snapshots waiting in memory (the first
#     half's rows merged with the second's), GET /v1/findings and GET
#     /report answer 200 meanwhile (their catch-up gives up on the lock
#     and they answer with what is folded), and nothing leaves the queue.
#     The lock released, one flush writes them: the queue empties with no
#     fold from the stored rows (no orphan fold in the log), and
#     process_hours equals the memory fold (tests/tools/fold_rows.c) row
#     for row, as in collector_fold.sh.
#  2. A backlog: 20 hosts x 7 days posted (fleetsim), process_hours kept
#     aside, then emptied and every key queued again as orphans (as after a
#     bulk import the memory path could not keep up with). GET /report
#     answers 200 after folding part of the queue within its bound, not the
#     whole backlog (snapshots are still queued after it); snapshots of
#     another host posted meanwhile leave the queue within seconds (their
#     flush waits a batch, not the backlog);
#     when the queue is empty, process_hours equals the rows kept aside.
# Real PostgreSQL, real collector over TLS, inside a private network
# namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
fold_rows=${PF_FOLD_ROWS_BIN:-$(dirname "$PF_COLLECTOR_BIN")/../tests/fold_rows}
sim=${PF_FLEETSIM_BIN:-$(dirname "$PF_COLLECTOR_BIN")/../tests/fleetsim}
rollup="python3 $here/collector_rollup.py"
auth="Authorization: Bearer $PF_ADMIN_TOKEN"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start --log-level debug
log=$PF_TMP/collector.log

queued() { # [AGENT]: keys in process_hours_queue
  pf_psql -c "select count(*) from process_hours_queue${1:+ where agent_id = '$1'}"
}
get() { # PATH: prints "status seconds"
  pf_curl -o "$PF_TMP/answer" -w '%{http_code} %{time_total}\n' -H "$auth" "$PF_COLLECTOR_URL$1"
}
dump() { # AGENT FILE: process_hours and host_hours in fold_rows' form
  {
    pf_psql -F '|' -c "select 'H', extract(epoch from hour)::bigint, tcp_max, udp_max,
        top_dest_max, vpn_conn_max, ev_tcpip_4227, ev_tcpip_4231, ev_tcpip_4266,
        ev_netlogon_5719 from host_hours where agent_id = '$1'"
    pf_psql -F '|' -c "select 'S', extract(epoch from hour)::bigint, sz_cpu_pct, sz_mem_mb,
        sz_sessions, sz_users, sz_rps, sz_ports_ikev2, sz_ports_sstp, sz_ports_l2tp,
        sz_ports_pptp, sz_conf_ikev2, sz_conf_sstp, sz_conf_l2tp, sz_conf_pptp, sz_pool_used,
        sz_pool_size from host_hours where agent_id = '$1'"
    pf_psql -F '|' -c "select 'P', extract(epoch from hour)::bigint, name, service, held_max,
        held_min, bound_max from process_hours where agent_id = '$1'"
    pf_psql -F '|' -c "select distinct on (name, service) 'R', name, service, remote_addr,
        remote_port, extract(epoch from remote_at)::bigint from process_hours
        where agent_id = '$1' and remote_at is not null
        order by name, service, remote_at desc"
  } | sort >"$2"
}

# ---- 1. the lock held: the flushes keep their rows ----
read -r agent key < <(pf_enroll BUSY-1 site-b machine-b)
d=$PF_TMP/snaps
$rollup gen "$agent" 1 60 "$d"
PGAPPNAME=pf_lock_holder psql -X -At -v ON_ERROR_STOP=1 "$PF_DB" \
  -c "select pg_advisory_lock(hashtext('portfleet.process_hours'))" \
  -c "select pg_sleep(900)" >/dev/null 2>&1 &
holder=$!
pf_wait_for '[ "$(pf_psql -c "select count(*) from pg_locks l join pg_stat_activity a
    using (pid) where a.application_name = '"'pf_lock_holder'"' and l.locktype = '"'advisory'"'
    and l.granted")" = 1 ]' 30 "the psql session holds the writers' lock"
pf_log "psql holds the process_hours writers' lock"

$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$d" $(seq 1 30)
pf_wait_for 'grep -q "rows of 30 snapshots wait in memory" "$log"' 60 \
  "a flush behind the lock kept the rows of the first 30 snapshots"
for path in /v1/findings /report; do
  read -r code took < <(get "$path")
  pf_check '[ "$code" = 200 ]' "GET $path answers while the lock is held (got $code)"
  pf_log "GET $path while the lock is held: $code in $took s"
done
# (the fleet mirror's refresh or a full load: each logs its catch-up's error)
pf_check 'grep -q "folding queued snapshots.*lock timeout" "$log"' \
  "the analysis's catch-up gave up on the lock and answered with what is folded"
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$d" $(seq 31 60)
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$d" 4 11 12 40 59
pf_wait_for 'grep -q "rows of 60 snapshots wait in memory" "$log"' 60 \
  "the first half's rows, merged with the second half's, wait in memory"
pf_check '[ "$(queued "$agent")" = 60 ]' "nothing was written while the lock was held"
pf_check '[ "$(pf_psql -c "select count(*) from process_hours")" = 0 ]' \
  "no process_hours row was written while the lock was held"

"$fold_rows" "$(date -u +%s)" "$d"/*.json | sort >"$PF_TMP/memory.txt"
nrows=$(grep -c "^P" "$PF_TMP/memory.txt")
pf_check '[ "$nrows" -ge 4 ]' "the memory fold kept processes"
pf_psql -c "select pg_terminate_backend(pid) from pg_stat_activity
  where application_name = 'pf_lock_holder'" >/dev/null
wait "$holder" || true
pf_log "lock released"
pf_wait_for '[ "$(queued "$agent")" = 0 ]' 30 "the kept rows were written once the lock was free"
pf_check 'grep -q "process_hours: $nrows rows written" "$log"' \
  "one flush wrote the $nrows rows kept in memory"
pf_check '! grep -q "queued over" "$log"' "nothing was folded again from the stored rows"
dump "$agent" "$PF_TMP/busy.txt"
diff "$PF_TMP/memory.txt" "$PF_TMP/busy.txt" ||
  pf_fail "process_hours written after the lock was held differs from the memory fold"
pf_log "ok: rows kept through failed flushes = memory fold ($(wc -l <"$PF_TMP/busy.txt") rows)"

# ---- 2. a backlog: answers within a bound, flushes not stuck behind it ----
python3 - "$here/../bench/capacity_fleet.json" "$PF_TMP/fleet.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["hosts"] = [h for h in s["hosts"] if h["name"] in ("ENTRA", "cf")]
for h in s["hosts"]:
    h["replicate"] = 10
json.dump(s, open(sys.argv[2], "w"))
PY
now=$(($(date -u +%s) / 300 * 300))
"$sim" post --scenario "$PF_TMP/fleet.json" --collector "$PF_COLLECTOR_URL" --ca-file "$PF_CA" \
  --enroll-secret "$PF_ENROLL_SECRET" --now "$now" --jobs 2 2>"$PF_TMP/post.log" ||
  { cat "$PF_TMP/post.log"; pf_fail "fleetsim post"; }
pf_wait_for '[ "$(queued)" = 0 ]' 120 "the posted fleet's rows were written from memory"
pf_psql -c "create table ph_kept as select * from process_hours" >/dev/null
kept=$(pf_psql -c "select count(*) from ph_kept")
backlog=$(pf_psql -c "select count(*) from snapshot_seqs")
pf_psql -c "delete from process_hours" >/dev/null
pf_psql -c "insert into process_hours_queue (agent_id, seq, taken_at, queued_at)
  select agent_id, seq, taken_at, now() - interval '2 minutes' from snapshot_seqs" >/dev/null
pf_log "backlog: $backlog snapshots queued again, $kept process_hours rows kept aside"

read -r code took < <(get "/report?now=$now")
left=$(queued)
pf_log "GET /report behind the backlog: $code in $took s, $left snapshots still queued"
pf_check '[ "$code" = 200 ]' "GET /report answers behind a backlog (got $code)"
pf_check '[ "$left" -gt 0 ]' "the answer did not wait for the whole backlog"

$rollup gen "$agent" 61 10 "$PF_TMP/more"
t0=$SECONDS
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$PF_TMP/more"
pf_wait_for '[ "$(queued "$agent")" = 0 ]' 20 \
  "snapshots posted behind the backlog were written within seconds"
pf_log "10 snapshots posted behind the backlog written in $((SECONDS - t0)) s, $(queued) \
still queued"

pf_wait_for '[ "$(queued)" = 0 ]' 300 "the backlog was folded"
pf_check 'grep -q "queued over 60 s ago from the stored rows" "$log"' \
  "the flushes folded the orphans of the backlog"
# (BUSY-1's rows changed with its 10 new snapshots: the fleet's are compared)
diff <(pf_psql -F '|' -c "select * from ph_kept where agent_id <> '$agent'
    except all select * from process_hours") <(true) ||
  pf_fail "rows kept aside that the backlog's fold did not write back"
diff <(pf_psql -F '|' -c "select * from process_hours where agent_id <> '$agent'
    except all select * from ph_kept") <(true) ||
  pf_fail "rows the backlog's fold wrote that were not there before"
read -r code took < <(get "/report?now=$now")
pf_check '[ "$code" = 200 ]' "GET /report after the backlog (got $code)"
pf_log "collector_fold_busy: all checks passed"
