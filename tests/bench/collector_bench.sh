#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_bench.sh: how fast the collector stores snapshots, against a
# raw COPY of the same rows into the same database in the same run.
#
#   tests/bench/collector_bench.sh [BUILD_DIR]     (default: build)
#
# Inside a private network namespace: a throwaway PostgreSQL (as the
# postgres user), the real collector with throwaway certificates, and
# collector_bench (libcurl, several TLS keep-alive connections) posting
# realistic snapshots (20 processes, 20 remotes). Prints:
#   raw COPY snapshots/s (measured before and after the collector runs),
#   collector snapshots/s, one snapshot per request and 50 per request,
#   the ratio collector / raw (the mean of the two raw runs),
#   full TLS handshakes/s.
# Not a pass/fail test: the figures depend on the machine. Everything runs
# on the same cores (client, collector, PostgreSQL). Knobs: SNAPSHOTS
# (default 20000), CONNS (16), AGENTS (200).
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
ulimit -n 65536

n=${SNAPSHOTS:-20000}
conns=${CONNS:-16}
agents=${AGENTS:-200}

pf_pg_init
# The same settings serve the reference and the collector.
cat >>"$PF_PG_DATA/postgresql.conf" <<EOF
shared_buffers = 512MB
max_wal_size = 4GB
EOF
pf_pg_stop
pf_pg_start
pf_make_certs
pf_migrate
pf_collector_start

enroll_many() { # COUNT FILE
  for i in $(seq "$1"); do pf_enroll "BENCH-$i" "site-$((i % 5))" "bench-machine-$i"; done >"$2"
}
enroll_many "$agents" "$PF_TMP/keys1"
enroll_many "$agents" "$PF_TMP/keys2"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); PostgreSQL $(pf_psql -c 'show server_version')"
raw1=$("$bench" raw "$PF_DB" "$n" | tee /dev/stderr | awk '{print $(NF-1)}')
one=$("$bench" ingest "$PF_COLLECTOR_URL" "$PF_CA" "$PF_TMP/keys1" "$n" "$conns" 1 |
  tee /dev/stderr | sed -n 's/.*: \([0-9]*\) snapshots\/s.*/\1/p')
batch=$("$bench" ingest "$PF_COLLECTOR_URL" "$PF_CA" "$PF_TMP/keys2" "$n" "$conns" 50 |
  tee /dev/stderr | sed -n 's/.*: \([0-9]*\) snapshots\/s.*/\1/p')
raw2=$("$bench" raw "$PF_DB" "$n" | tee /dev/stderr | awk '{print $(NF-1)}')
"$bench" handshakes "$PF_COLLECTOR_URL" "$PF_CA" 10 8

stored=$(pf_psql -c "select count(*) from snapshots")
echo "rows: $stored snapshots stored in total (4 x $n expected)"
awk -v r1="$raw1" -v r2="$raw2" -v one="$one" -v batch="$batch" 'BEGIN {
  raw = (r1 + r2) / 2
  printf "raw COPY reference: %.0f snapshots/s (runs: %.0f, %.0f)\n", raw, r1, r2
  printf "collector, 1 snapshot per request:   %.0f snapshots/s = %.0f%% of raw COPY\n", one, 100 * one / raw
  printf "collector, 50 snapshots per request: %.0f snapshots/s = %.0f%% of raw COPY\n", batch, 100 * batch / raw
}'
