#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_retention.sh: tiered retention drops whole partitions. Snapshots
# 100, 50 and 5 days old are posted (retention-days 200), then the collector
# restarts with retention-days 30 and rollup-retention-days 60; its first
# maintenance pass must drop
#  - the detail of the 100- and 50-day-old snapshots (their daily
#    partitions, dedup keys and queued keys), keeping the 5-day-old one;
#  - the rollups (host_hours, process_hours) of the month of the 100-day-old
#    snapshot, keeping the months of the 50- and 5-day-old ones;
# and the analysis still answers. Real PostgreSQL, real collector over TLS,
# inside a private network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
client="python3 $here/collector_client.py"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start --retention-days 200 --rollup-retention-days 200
read -r agent key < <(pf_enroll RET-1 site-r machine-r)
seq=0
for age in 100 50 5; do
  seq=$((seq + 1))
  $client make "$agent" "$seq" --age-days "$age" --procs 3 >"$PF_TMP/s$seq.json"
  code=$(pf_curl -o "$PF_TMP/answer" -w '%{http_code}' -X POST -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "@$PF_TMP/s$seq.json" \
    "$PF_COLLECTOR_URL/v1/snapshots")
  [ "$code" = 200 ] || pf_fail "post ($age days old): $code $(cat "$PF_TMP/answer")"
done
# a queued key of the oldest snapshot, as if its fold had not happened yet
# (the collector's own key may still be queued: its fold has not run yet)
pf_psql -c "insert into process_hours_queue (agent_id, seq, taken_at, queued_at)
            select agent_id, seq, taken_at, now() + interval '1 hour' from snapshot_seqs
            where seq = 1
            on conflict (agent_id, seq) do update set queued_at = excluded.queued_at" >/dev/null
month() { date -u -d "$1 days ago" +%Y%m; }
day() { date -u -d "$1 days ago" +%Y%m%d; }
exists() { [ -n "$(pf_psql -c "select to_regclass('$1')")" ]; }
for t in snapshot_data_p$(day 100) snapshot_data_p$(day 50) snapshot_data_p$(day 5) \
  host_hours_p$(month 100) process_hours_p$(month 100) host_hours_p$(month 50); do
  exists "$t" || pf_fail "partition $t was not made"
done
pf_check '[ "$(pf_psql -c "select count(*) from host_hours where agent_id = '"'"'$agent'"'"'")" = 3 ]' \
  "three host-hours before"
pf_collector_stop

pf_collector_start --retention-days 30 --rollup-retention-days 60
pf_wait_for '! exists "host_hours_p$(month 100)"' 60 "the first retention pass ran"
exists "snapshot_data_p$(day 100)" && pf_fail "the 100-day-old detail partition is still there"
exists "snapshot_data_p$(day 50)" && pf_fail "the 50-day-old detail partition is still there"
exists "snapshot_data_p$(day 5)" || pf_fail "the 5-day-old detail partition was dropped"
exists "host_hours_p$(month 100)" && pf_fail "the rollups of $(month 100) are still there"
exists "process_hours_p$(month 100)" && pf_fail "the process rollups of $(month 100) are still there"
exists "host_hours_p$(month 50)" || pf_fail "the rollups of $(month 50) were dropped"
pf_check '[ "$(pf_psql -c "select count(*) || '"'"'/'"'"' || max(seq) from snapshots")" = 1/3 ]' \
  "only the 5-day-old snapshot keeps its detail"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_seqs")" = 1 ]' "old dedup keys deleted"
# only the old keys: the 5-day-old snapshot's own key may still wait for its
# fold if the first collector stopped before folding it
pf_check '[ "$(pf_psql -c "select count(*) from process_hours_queue
                             where taken_at < now() - interval '"'"'30 days'"'"'")" = 0 ]' \
  "old queued keys deleted"
hours=$(pf_psql -c "select string_agg((now() - hour > interval '40 days')::text, ',' order by hour)
                    from host_hours")
pf_check '[ "$hours" = "true,false" ]' "host_hours keeps the 50- and 5-day-old hours (got $hours)"
pf_check 'grep -q "retention: dropped 2 partition tables of days" "$PF_TMP/collector.log"' \
  "detail drop logged"
pf_check 'grep -q "retention: dropped 2 rollup partition tables of months" "$PF_TMP/collector.log"' \
  "rollup drop logged"
code=$(pf_curl -o "$PF_TMP/hosts.json" -w '%{http_code}' -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
  "$PF_COLLECTOR_URL/v1/hosts")
pf_check '[ "$code" = 200 ]' "GET /v1/hosts after the drops"
# a rollup window shorter than the detail is refused
if timeout 10 "$PF_COLLECTOR_BIN" serve --cert "$PF_CERT" --key "$PF_KEY" --db "$PF_DB" \
  --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" --retention-days 30 \
  --rollup-retention-days 10 2>"$PF_TMP/refused.txt"; then
  pf_fail "rollup-retention-days below retention-days accepted"
fi
pf_check 'grep -q "rollup-retention-days" "$PF_TMP/refused.txt"' "the refusal names the option"
pf_log "collector_retention: all checks passed"
