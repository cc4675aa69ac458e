#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# capacity_bench.sh: the capacity engine at fleet scale. 1,000
# hosts x 7 days at 5-minute snapshots (tests/bench/capacity_fleet.json,
# 2,016,000 snapshots) go through the real API into a throwaway PostgreSQL
# (the rollups are maintained at ingest); then the time to answer
# GET /v1/findings and GET /v1/plan for the whole fleet, against a
# reference measured in the same run: one SQL pass over the raw snapshots
# of the window that only computes the hosts' hourly maxima (what the
# analysis would have to read without the rollups). Every timed answer is
# cold: before each run, a minute of ingest written to the database (the
# current hour of every host's host_hours, process_hours and host_latest)
# and a late change (an hour 30 hours old of 20 hosts, as a drained spool
# writes), so no analysis made before may answer and the collector's fleet
# mirror (collector/store/fleet_mirror.h) must re-read what changed.
# Prints the mirror's first (full) load, the times, the ratios, the
# collector's RSS and the load average; not a pass/fail test. Takes about
# 15 minutes on 2 cores. PF_BENCH_MIRROR=0 measures full loads per request
# (--analysis-mirror 0) for comparison.
#
#   tests/bench/capacity_bench.sh BUILD_DIR        (default build)
# PF_BENCH_JOBS=N posting processes (default 3), PF_BENCH_RUNS=N timed runs,
# PF_BENCH_HOLD=FILE keeps everything running until FILE is removed;
# PF_BENCH_REUSE_DB=CONNINFO PF_BENCH_NOW=T measures again on that database.
#
# PF_BENCH_HOSTS=N (e.g. 10000): a fleet of N hosts x 7 days written
# straight into the rollup tables (tests/bench/capacity_seed.sql) instead of
# posted, since the analysis reads only those; the reference is then one SQL
# scan of everything the analysis reads in the window (host_hours and
# process_hours rows to the client). A few minutes for 10,000 hosts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
export PF_COLLECTOR_BIN=$build/collector/portfleet-collector
sim=$build/tests/fleetsim
source "$root/tests/integration/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
runs=${PF_BENCH_RUNS:-5}

if [ -n "${PF_BENCH_HOSTS:-}" ]; then
  pf_pg_init
  pf_make_certs
  pf_migrate
  now=$(($(date -u +%s) / 300 * 300))
  pf_log "seeding $PF_BENCH_HOSTS hosts x 7 days of rollups"
  t0=$(date +%s%N)
  psql -X -q -v hosts="$PF_BENCH_HOSTS" -v now="$now" -f "$here/capacity_seed.sql" "$PF_DB" \
    >"$PF_TMP/seed.log" 2>&1 || { cat "$PF_TMP/seed.log"; pf_fail "seed"; }
  t1=$(date +%s%N)
  pf_collector_start --log-level debug --analysis-mirror "${PF_BENCH_MIRROR:-1}"
  PF_BENCH_REUSE_DB=seeded # no ingest figure below
elif [ -n "${PF_BENCH_REUSE_DB:-}" ]; then
  # Measure again on a database a previous run left (PF_BENCH_HOLD), with
  # the binaries of this build: PF_BENCH_REUSE_DB=conninfo PF_BENCH_NOW=now.
  PF_DB=$PF_BENCH_REUSE_DB
  now=$PF_BENCH_NOW
  pf_make_certs
  pf_migrate
  pf_collector_start --log-level debug --analysis-mirror "${PF_BENCH_MIRROR:-1}"
  t0=0 t1=1
else
  pf_pg_init
  pf_make_certs
  pf_migrate
  pf_collector_start --log-level debug
  now=$(($(date -u +%s) / 300 * 300))
  pf_log "posting the fleet (now=$now)"
  t0=$(date +%s%N)
  "$sim" post --scenario "$here/capacity_fleet.json" --collector "$PF_COLLECTOR_URL" \
    --ca-file "$PF_CA" --enroll-secret "$PF_ENROLL_SECRET" --now "$now" \
    --jobs "${PF_BENCH_JOBS:-3}" 2>"$PF_TMP/post.log" || { cat "$PF_TMP/post.log"; pf_fail "post"; }
  t1=$(date +%s%N)
fi
snaps=$(pf_psql -c "select count(*) from snapshots")
procs=$(pf_psql -c "select count(*) from snapshot_processes")
hh=$(pf_psql -c "select count(*) from host_hours")
ph=$(pf_psql -c "select count(*) from process_hours")
pf_psql -c "VACUUM ANALYZE" >/dev/null
secs=$(((t1 - t0) / 1000000000))
[ -n "${PF_BENCH_REUSE_DB:-}" ] || echo "ingest: $snaps snapshots ($procs process rows) in $secs s = $((snaps / (secs > 0 ? secs : 1))) snapshots/s through the API"
printf 'rollups: %s host-hours, %s process-hours\n' "$hh" "$ph"

auth="Authorization: Bearer $PF_ADMIN_TOKEN"
findings="curl -sS -f --cacert $PF_CA -H '$auth' -o $PF_TMP/findings.json '$PF_COLLECTOR_URL/v1/findings?now=$now'"
plan="curl -sS -f --cacert $PF_CA -H '$auth' -o $PF_TMP/plan.json '$PF_COLLECTOR_URL/v1/plan?now=$now'"
raw="psql -X -At '$PF_DB' -o /dev/null -c \"select agent_id, date_trunc('hour', taken_at), max(tcp_ephemeral_in_use), max(udp_ephemeral_in_use) from snapshots where taken_at >= to_timestamp($now) - interval '7 days' group by 1, 2\""
if [ -n "${PF_BENCH_HOSTS:-}" ] || [ "$snaps" = 0 ]; then
  # everything the analysis reads in the window, to the client (also for a
  # seeded database measured again: it has rollups and no snapshots)
  raw="psql -X -At '$PF_DB' -o /dev/null -c \"select * from host_hours where hour >= to_timestamp($now) - interval '7 days'\" -c \"select * from process_hours where hour >= to_timestamp($now) - interval '7 days'\""
fi
# The mirror's first load, started with the collector: wait for it.
mirror_ms=
if [ "${PF_BENCH_MIRROR:-1}" = 1 ]; then
  t_m0=$(date +%s%N)
  for _ in $(seq 1200); do
    pf_curl -o "$PF_TMP/status.json" -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
      "$PF_COLLECTOR_URL/v1/status" 2>/dev/null || true
    grep -q '"ready":true' "$PF_TMP/status.json" 2>/dev/null && break
    sleep 0.5
  done
  mirror_ms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["analysis_mirror"]["full_load_ms"])' "$PF_TMP/status.json")
  echo "fleet mirror: first (full) load $mirror_ms ms (ready $((($(date +%s%N) - t_m0) / 1000000)) ms after the collector answered)"
fi
for q in findings plan; do # one answer first: a failure says why
  code=$(pf_curl -o "$PF_TMP/first.json" -w '%{http_code}' -H "$auth" "$PF_COLLECTOR_URL/v1/$q?now=$now")
  [ "$code" = 200 ] || { head -c 400 "$PF_TMP/first.json"; tail -n 5 "$PF_TMP/collector.log"; pf_fail "GET /v1/$q: $code"; }
done
# Cold: a write before each run moves the database's version, so no
# analysis made before may answer (the collector's analysis cache would
# otherwise answer every run after the first in a millisecond). The write
# is what a minute of ingest does to the rollups (every host's current
# hour, its processes' and its latest configuration) plus a late change of
# 20 hosts 30 hours back, which the mirror learns from sql/150's marks.
cat >"$PF_TMP/ingest_minute.sql" <<SQL
\set ON_ERROR_STOP on
BEGIN;
UPDATE host_hours SET samples = samples + 1, tcp_max = tcp_max + 1
 WHERE hour = date_trunc('hour', to_timestamp($now));
UPDATE process_hours SET held_max = held_max + 1
 WHERE hour = date_trunc('hour', to_timestamp($now));
UPDATE host_latest SET tcp_in_use = tcp_in_use + 1;
UPDATE host_hours SET tcp_max = tcp_max + 7
 WHERE hour = date_trunc('hour', to_timestamp($now)) - interval '30 hours'
   AND agent_id IN (SELECT agent_id FROM agents ORDER BY random() LIMIT 20);
COMMIT;
SQL
touch_db=$(printf "psql -X -q -At %q -f %q" "$PF_DB" "$PF_TMP/ingest_minute.sql")
t_w0=$(date +%s%N)
eval "$touch_db"
echo "the write before each run: $((($(date +%s%N) - t_w0) / 1000000)) ms"
load_before=$(cut -d' ' -f1 /proc/loadavg)
hyperfine --runs "$runs" --prepare "$touch_db" --export-json "$PF_TMP/times.json" \
  -n findings "$findings" -n plan "$plan" -n raw_hourly_scan "$raw" >&2
load_after=$(cut -d' ' -f1 /proc/loadavg)
python3 - "$PF_TMP/times.json" "$PF_TMP/findings.json" "$PF_TMP/plan.json" "$load_before" "$load_after" <<'PY'
import collections, json, sys
print("load average %s before, %s after (2 cores)" % (sys.argv[4], sys.argv[5]))
t = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
f = json.load(open(sys.argv[2]))["findings"]
p = json.load(open(sys.argv[3]))["sites"]
ref = t["raw_hourly_scan"]["mean"]
for name in ("findings", "plan"):
    r = t[name]
    print("%-9s mean %.2f s (min %.2f, max %.2f) = %.2f x the raw hourly scan (%.2f s)"
          % (name, r["mean"], r["min"], r["max"], r["mean"] / ref, ref))
print("answers: %d findings %s, %d sites, %d hosts to add"
      % (len(f), dict(collections.Counter(x["kind"] for x in f)), len(p),
         sum(s["add_hosts"] for s in p)))
PY
grep "capacity:\|fleet mirror:" "$PF_TMP/collector.log" | tail -n 6 || true
echo "collector RSS: $(awk '/VmRSS/ {print int($2 / 1024) " MB"}' "/proc/$PF_COLLECTOR_PID/status"), peak $(awk '/VmHWM/ {print int($2 / 1024) " MB"}' "/proc/$PF_COLLECTOR_PID/status")"
if [ -n "${PF_BENCH_HOLD:-}" ]; then
  # Keep the cluster and the collector for a look: until $PF_BENCH_HOLD is removed.
  echo "holding: PF_DB='$PF_DB' PF_COLLECTOR_URL=$PF_COLLECTOR_URL PF_CA=$PF_CA now=$now" \
    >"$PF_BENCH_HOLD"
  while [ -e "$PF_BENCH_HOLD" ]; do sleep 5; done
fi
