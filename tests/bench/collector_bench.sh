#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_bench.sh: how fast the collector stores snapshots, against a
# raw COPY of the same rows into the same database in the same run.
#
#   tests/bench/collector_bench.sh [BUILD_DIR]     (default: build)
#
# Inside a private network namespace: a throwaway PostgreSQL (as the
# postgres user), the real collector with throwaway certificates, and
# collector_bench posting realistic snapshots (20 processes, 20 remotes)
# over several TLS keep-alive connections. A round runs, in turn:
#   raw COPY | 1 per request, lean client | raw COPY | 1 per request,
#   libcurl client | raw COPY | 50 per request, lean client | raw COPY
# and rates each collector phase against the mean of the raw COPY runs
# just before and after it (the machine's speed and the tables' size
# drift during a run; the neighbours see the same). The lean client
# (OpenSSL and poll(), requests encoded beforehand) leaves the collector
# the CPU that libcurl's client would take from it on a shared machine;
# the libcurl figure is printed beside it. Then full TLS handshakes/s.
# Not a pass/fail test: the figures depend on the machine. Everything runs
# on the same cores (client, collector, PostgreSQL). Knobs: SNAPSHOTS
# (default 20000), CONNS (16), AGENTS (200), ROUNDS (1; with more, the
# median of each ratio too), COLLECTOR_OPTS (extra serve options, e.g.
# "--db-workers 2"), REMOTES_STABLE=1 (the same 20 remote endpoints in
# every snapshot; by default each snapshot's 20 are new, so the collector
# numbers and stores 20 new strings per snapshot), PROFILE=1 (after each
# collector phase, the transactions it took and its ten costliest statements, from
# pg_stat_statements).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
export PF_COLLECTOR_BIN=$build/collector/portfleet-collector
bench=$build/tests/collector_bench
[ -x "$PF_COLLECTOR_BIN" ] && [ -x "$bench" ] ||
  { echo "build first: cmake --build $build --target portfleet-collector collector_bench" >&2; exit 2; }
source "$root/tests/integration/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
ulimit -n "$(ulimit -Hn)"

n=${SNAPSHOTS:-20000}
conns=${CONNS:-16}
agents=${AGENTS:-200}

pf_pg_init
# The same settings serve the reference and the collector.
cat >>"$PF_PG_DATA/postgresql.conf" <<EOF
shared_buffers = 512MB
max_wal_size = 4GB
EOF
[ "${PROFILE:-0}" = 1 ] && cat >>"$PF_PG_DATA/postgresql.conf" <<EOF
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
EOF
pf_pg_stop
pf_pg_start
pf_make_certs
pf_migrate
# The raw COPY reference writes the rows of the layout before sql/020 (one
# per snapshot, process and remote: snapshots_v1 ...), as the collector
# did; the collector keeps daily partitions of its own tables only.
pf_psql -c "DO \$\$ DECLARE t text; d date; BEGIN
  FOREACH t IN ARRAY ARRAY['snapshots_v1', 'snapshot_processes_v1', 'snapshot_remotes_v1'] LOOP
    FOR d IN SELECT generate_series(current_date - 1, current_date + 1, '1 day')::date LOOP
      EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                     t || '_p' || to_char(d, 'YYYYMMDD'), t, d::timestamp AT TIME ZONE 'UTC',
                     (d + 1)::timestamp AT TIME ZONE 'UTC');
    END LOOP;
  END LOOP; END \$\$" >/dev/null
# shellcheck disable=SC2086
pf_collector_start ${COLLECTOR_OPTS:-}

enroll_many() { # COUNT FILE
  for i in $(seq "$1"); do pf_enroll "BENCH-$i" "site-$((i % 5))" "bench-machine-$i"; done >"$2"
}
rounds=${ROUNDS:-1}
# Each collector phase posts as agents of its own (seq 1, 2, ... again).
for k in $(seq $((3 * rounds))); do enroll_many "$agents" "$PF_TMP/keys$k"; done

# CPU seconds (user + system) used so far by the collector and by the
# cluster (the postmaster, its live children, and the children it reaped).
ticks=$(getconf CLK_TCK)
cpu_collector() { awk '{print $14 + $15}' "/proc/$PF_COLLECTOR_PID/stat"; }
cpu_postgres() {
  local pm t
  pm=$(head -n 1 "$PF_PG_DATA/postmaster.pid")
  t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat")
  for c in $(ps -o pid= --ppid "$pm"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
# phase NAME COMMAND...: runs it and prints the CPU seconds each side used
phase() {
  local name=$1 c0 p0 out
  shift
  c0=$(cpu_collector)
  p0=$(cpu_postgres)
  TIMEFORMAT="%U %S"
  { time "$@" >"$PF_TMP/out" 2>"$PF_TMP/err"; } 2>"$PF_TMP/time" || { cat "$PF_TMP/err" >&2; pf_fail "$name"; }
  cat "$PF_TMP/out"
  sleep 0.5 # let the postmaster reap a backend that just ended (its CPU moves to cutime)
  awk -v name="$name" -v c="$(( $(cpu_collector) - c0 ))" -v p="$(( $(cpu_postgres) - p0 ))" \
    -v t="$ticks" '{printf "  CPU during %s: client %.1f s, collector %.1f s, PostgreSQL %.1f s\n",
    name, $1 + $2, c / t, p / t}' "$PF_TMP/time"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); PostgreSQL $(pf_psql -c 'show server_version')"
rate() { sed -n 's/.*: \([0-9]*\) snapshots\/s.*/\1/p' "$PF_TMP/out"; }
commits() { pf_psql -c "select xact_commit from pg_stat_database where datname = current_database()"; }
profile_start() {
  [ "${PROFILE:-0}" = 1 ] || return 0
  pf_psql -c "create extension if not exists pg_stat_statements" >/dev/null
  pf_psql -c "select pg_stat_statements_reset()" >/dev/null
  prof_commits=$(commits)
}
profile_end() {
  [ "${PROFILE:-0}" = 1 ] || return 0
  echo "  transactions committed: $(( $(commits) - prof_commits - 1 ))"
  pf_psql -F ' | ' -c "select calls, round(total_exec_time::numeric, 0) as ms,
      round((total_exec_time / calls)::numeric, 3) as ms_per_call, rows,
      left(regexp_replace(query, '\s+', ' ', 'g'), 70)
    from pg_stat_statements order by total_exec_time desc limit 10" | sed 's/^/    /'
  echo "  updated rows (HOT of them), autovacuum runs, dead rows, so far:"
  pf_psql -F ' | ' -c "select relname, n_tup_upd, n_tup_hot_upd, autovacuum_count,
      n_dead_tup from pg_stat_user_tables where n_tup_upd > 0 order by relname" | sed 's/^/    /'
}
# collector PHASE_NAME CLIENT KEYS PER: one profiled collector phase.
collector() {
  profile_start
  phase "$1" "$bench" "$2" "$PF_COLLECTOR_URL" "$PF_CA" "$3" "$n" "$conns" "$4"
  profile_end
}
# The collector phases of a round, each between two raw COPY runs.
names=("1 snapshot per request, lean client:   " "1 snapshot per request, libcurl client:"
       "50 snapshots per request, lean client: ")
clients=(post ingest post)
pers=(1 1 50)
: >"$PF_TMP/ratios"
k=0
for r in $(seq "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "round $r:"
  phase "raw COPY" "$bench" raw "$PF_DB" "$n"
  raws=("$(rate)")
  rates=()
  for i in 0 1 2; do
    collector "collector, ${names[$i]%%:*}" "${clients[$i]}" "$PF_TMP/keys$((k += 1))" "${pers[$i]}"
    rates+=("$(rate)")
    phase "raw COPY" "$bench" raw "$PF_DB" "$n"
    raws+=("$(rate)")
  done
  echo "raw COPY: ${raws[0]}, ${raws[1]}, ${raws[2]}, ${raws[3]} snapshots/s"
  line=""
  for i in 0 1 2; do
    awk -v name="${names[$i]}" -v c="${rates[$i]}" -v r1="${raws[$i]}" -v r2="${raws[$((i + 1))]}" \
      'BEGIN { printf "collector, %s %.0f snapshots/s = %.0f%% of raw COPY (%.0f)\n", name, c,
               200 * c / (r1 + r2), (r1 + r2) / 2 }'
    line="$line $(awk -v c="${rates[$i]}" -v r1="${raws[$i]}" -v r2="${raws[$((i + 1))]}" \
      'BEGIN { printf "%f", 2 * c / (r1 + r2) }')"
  done
  echo "$line" >>"$PF_TMP/ratios"
done
phase "handshakes" "$bench" handshakes "$PF_COLLECTOR_URL" "$PF_CA" 10 8

stored=$(pf_psql -c "select count(*) from snapshots")
echo "rows: $stored snapshots stored in total ($((7 * rounds)) x $n expected)"
[ "$stored" -eq $((7 * rounds * n)) ] || pf_fail "snapshots missing"
if [ "$rounds" -gt 1 ]; then
  for c in 1 2 3; do
    sort -g -k"$c","$c" "$PF_TMP/ratios" | awk -v c="$c" '{ v[NR] = $c }
      END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            split("1 per request (lean);1 per request (libcurl);50 per request (lean)", name, ";")
            printf "median of %d rounds, %s: %.0f%% of raw COPY (range %.0f%% to %.0f%%)\n",
                   NR, name[c], 100 * m, 100 * v[1], 100 * v[NR] }'
  done
fi
