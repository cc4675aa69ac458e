#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# storage_bench.sh: what a snapshot costs in PostgreSQL. HOSTS hosts x
# SNAPS realistic snapshots (60 s apart, a dozen processes, 50 remotes,
# counts drifting minute to minute: tests/bench/storage_gen.py) go through
# the real collector over TLS into a throwaway cluster; then, after the
# process_hours queue is folded, CHECKPOINT and VACUUM, the growth of the
# whole database (every table, index, TOAST table, rollup and queue) divided
# by the snapshots stored, next to gzip -6 of each snapshot's JSON on its
# own (the reference, measured in the same run on the very JSON posted).
# Prints the figures; not a pass/fail test. About 3 minutes on 2 cores.
#
#   tests/bench/storage_bench.sh [BUILD_DIR]
# PF_BENCH_HOSTS (16), PF_BENCH_SNAPS (1440 = a day), PF_BENCH_BATCH
# (snapshots per request, 60: a spool drain; 1 is slower, same bytes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
export PF_COLLECTOR_BIN=$build/collector/portfleet-collector
source "$root/tests/integration/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
hosts=${PF_BENCH_HOSTS:-16}
snaps=${PF_BENCH_SNAPS:-1440}

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
size_sql="select sum(pg_total_relation_size(c.oid)) from pg_class c
          join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind in ('r', 'm')"
settle() {
  local i
  for i in $(seq 300); do
    [ "$(pf_psql -c "select count(*) from process_hours_queue")" = 0 ] && break
    sleep 0.2
  done
  pf_psql -c "CHECKPOINT" >/dev/null
  pf_psql -c "VACUUM ANALYZE" >/dev/null
  pf_psql -c "$size_sql"
}
before=$(settle)
pf_log "posting $hosts hosts x $snaps snapshots"
t0=$(date +%s%N)
python3 "$here/storage_gen.py" "$PF_COLLECTOR_URL" "$PF_CA" "$PF_ENROLL_SECRET" "$hosts" "$snaps" \
  "$PF_TMP/snapshots.jsonl" --batch "${PF_BENCH_BATCH:-60}"
t1=$(date +%s%N)
after=$(settle)
stored=$(pf_psql -c "select count(*) from snapshot_seqs")
[ "$stored" = $((hosts * snaps)) ] || pf_fail "stored $stored snapshots, posted $((hosts * snaps))"
python3 - "$PF_TMP/snapshots.jsonl" "$before" "$after" "$stored" "$(((t1 - t0) / 1000000))" <<'PY'
import gzip, sys
path, before, after, n, ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
raw = gz = 0
with open(path, "rb") as f:
    for line in f:
        js = line.rstrip(b"\n")
        raw += len(js)
        gz += len(gzip.compress(js, compresslevel=6, mtime=0))
per = (after - before) / n
print("snapshots: %d in %.1f s through the API" % (n, ms / 1000))
print("JSON: %.0f B/snapshot, gzip -6 of each: %.0f B/snapshot" % (raw / n, gz / n))
print("database: %.0f B/snapshot (%.1f MB for %d) = %.2f x gzip -6 of the JSON = %.2f MB per host-day at 60 s"
      % (per, (after - before) / 1e6, n, per / (gz / n), per * 1440 / 1e6))
PY
pf_psql -F ' ' -c "select 'snapshot_data rows: body', round(avg(length(body))), 'B, row', round(avg(pg_column_size(d.*))),
            'B (+ tuple header and line pointer)' from snapshot_data d"
pf_psql -c "select c.relname, pg_total_relation_size(c.oid) from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'm')
            and pg_total_relation_size(c.oid) > 65536 order by 2 desc limit 12" |
  awk -F'|' '{ printf "  %-34s %10.1f KB\n", $1, $2 / 1024 }'
