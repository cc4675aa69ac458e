#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# report_bench.sh: the report's pages at fleet scale. 1,000 hosts x 7 days
# at 5-minute snapshots (tests/bench/capacity_fleet.json, 2,016,000
# snapshots, the fleet of capacity_bench.sh) go through the real API into
# a throwaway PostgreSQL; then, in one hyperfine run, the time to answer
#   - GET /v1/findings for the whole fleet (the reference: the same
#     analysis, rendered as JSON),
#   - GET /report, the overview (targets: under 1 MB, within 1 s),
#   - GET /report/site/apps, the fleet's 50-host site (target 300 ms),
#   - GET /report/host/ID, the most urgent host of the overview (300 ms),
# twice: "cold", each request right after a write to the database (so
# nothing analysed before may answer: every request loads and analyses
# its scope, as after each ingest), and "shared", the database unchanged
# since the first request (the analysis and the host's detail come from
# the collector's analysis cache, as between ingests or with several
# readers). Each is printed next to /v1/findings of the same kind, with
# the pages' sizes and the load average. Not a pass/fail test. Posting
# takes about 8-15 minutes on 2 cores.
#
#   tests/bench/report_bench.sh BUILD_DIR        (default build)
# PF_BENCH_JOBS=N posting processes (default 3), PF_BENCH_RUNS=N timed runs
# (default 10), PF_BENCH_HOLD=FILE keeps everything running until FILE is
# removed; PF_BENCH_REUSE_DB=CONNINFO PF_BENCH_NOW=T measures again on a
# database a previous run held (this one's or capacity_bench.sh's; its
# seeded fleet has no site "apps": PF_BENCH_SITE=site-001 names another).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
export PF_COLLECTOR_BIN=$build/collector/portfleet-collector
sim=$build/tests/fleetsim
source "$root/tests/integration/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
runs=${PF_BENCH_RUNS:-10}

pf_make_certs
if [ -n "${PF_BENCH_REUSE_DB:-}" ]; then
  PF_DB=$PF_BENCH_REUSE_DB
  now=$PF_BENCH_NOW
  pf_migrate
  pf_collector_start --log-level debug
else
  pf_pg_init
  pf_migrate
  pf_collector_start --log-level debug
  now=$(($(date -u +%s) / 300 * 300))
  pf_log "posting the fleet (now=$now)"
  t0=$SECONDS
  "$sim" post --scenario "$here/capacity_fleet.json" --collector "$PF_COLLECTOR_URL" \
    --ca-file "$PF_CA" --enroll-secret "$PF_ENROLL_SECRET" --now "$now" \
    --jobs "${PF_BENCH_JOBS:-3}" 2>"$PF_TMP/post.log" || { cat "$PF_TMP/post.log"; pf_fail "post"; }
  posted=$((SECONDS - t0))
  # What the collector's process_hours flushes had not written when the
  # post ended (sql/012's queue): its own flushes fold it, as in service.
  queued=$(pf_psql -c "select count(*) from process_hours_queue")
  pf_log "posted in $posted s; $queued snapshots queued for process_hours"
  t0=$SECONDS
  pf_wait_for '[ "$(pf_psql -c "select count(*) from process_hours_queue")" = 0 ]' 3600 \
    "the collector folded the process_hours queue"
  pf_log "the collector folded the queue in $((SECONDS - t0)) s"
  printf 'posted in %s s; %s snapshots left queued for process_hours, folded by the collector in %s s\n' \
    "$posted" "$queued" "$((SECONDS - t0))"
  pf_psql -c "VACUUM ANALYZE" >/dev/null
fi
printf 'stored: %s hosts, %s snapshots, %s host-hours, %s process-hours\n' \
  "$(pf_psql -c "select count(*) from agents")" "$(pf_psql -c "select count(*) from snapshots")" \
  "$(pf_psql -c "select count(*) from host_hours")" "$(pf_psql -c "select count(*) from process_hours")"

auth="Authorization: Bearer $PF_ADMIN_TOKEN"
get() { # PATH OUT
  curl -sS -f --cacert "$PF_CA" -H "$auth" -o "$2" "$PF_COLLECTOR_URL$1"
}
get "/report?now=$now" "$PF_TMP/overview.html" || pf_fail "GET /report"
# The most urgent host: the overview's first of "Hosts nearest exhaustion".
agent=$(python3 - "$PF_TMP/overview.html" <<'PY'
import re, sys
m = re.search(r'<table class="nearest">.*?<tr class="[^"]*" data-agent="([0-9a-f-]{36})"',
              open(sys.argv[1]).read(), re.S)
print(m.group(1) if m else "")
PY
)
[ -n "$agent" ] || pf_fail "the overview names no host nearest exhaustion"
site=${PF_BENCH_SITE:-apps}
get "/report/site/$site?now=$now" "$PF_TMP/site.html" || pf_fail "GET /report/site/$site"
get "/report/host/$agent?now=$now" "$PF_TMP/host.html" || pf_fail "GET /report/host/$agent"
get "/v1/findings?now=$now" "$PF_TMP/findings.json" || pf_fail "GET /v1/findings"

c() { # the curl command hyperfine runs for PATH
  printf "curl -sS -f --cacert %q -H %q -o /dev/null %q" "$PF_CA" "$auth" "$PF_COLLECTOR_URL$1?now=$now"
}
# A write: it moves the database's version, so no analysis made before
# may answer the next request.
touch_db=$(printf "psql -X -q -At %q -c %q" "$PF_DB" "SELECT pg_current_xact_id()")
load_before=$(cut -d' ' -f1 /proc/loadavg)
hyperfine -N --runs "$runs" --prepare "$touch_db" --export-json "$PF_TMP/cold.json" \
  -n findings "$(c /v1/findings)" -n overview "$(c /report)" \
  -n site_page "$(c "/report/site/$site")" -n host_page "$(c "/report/host/$agent")" >&2
hyperfine -N --warmup 1 --runs "$runs" --export-json "$PF_TMP/shared.json" \
  -n findings "$(c /v1/findings)" -n overview "$(c /report)" \
  -n site_page "$(c "/report/site/$site")" -n host_page "$(c "/report/host/$agent")" >&2
load_after=$(cut -d' ' -f1 /proc/loadavg)
python3 - "$PF_TMP" "$site" "$load_before" "$load_after" <<'PY'
import json, os, re, sys
d, site, l0, l1 = sys.argv[1:5]
def times(name):
    return {r["command"]: r for r in json.load(open(os.path.join(d, name)))["results"]}
cold, shared = times("cold.json"), times("shared.json")
size = {"findings": os.path.getsize(os.path.join(d, "findings.json")),
        "overview": os.path.getsize(os.path.join(d, "overview.html")),
        "site_page": os.path.getsize(os.path.join(d, "site.html")),
        "host_page": os.path.getsize(os.path.join(d, "host.html"))}
hosts = len(re.findall(r'<figure class="host-chart small">', open(os.path.join(d, "site.html")).read()))
target = {"findings": None, "overview": 1.0, "site_page": 0.3, "host_page": 0.3}
print("load average %s before, %s after (2 cores)" % (l0, l1))
print("%-10s %10s %8s %12s %8s %10s  %s" % ("answer", "cold", "x find.", "shared", "x find.",
                                             "bytes", "target (shared / cold)"))
for name in ("findings", "overview", "site_page", "host_page"):
    a, b, tg = cold[name]["mean"], shared[name]["mean"], target[name]
    print("%-10s %7.0f ms %7.2fx %9.0f ms %7.2fx %10d  %s"
          % (name, a * 1000, a / cold["findings"]["mean"], b * 1000,
             b / shared["findings"]["mean"], size[name],
             "-" if tg is None else "%.0f ms: %s / %s" % (tg * 1000, "met" if b <= tg else "MISSED",
                                                         "met" if a <= tg else "MISSED")))
print("overview %.0f KB (target under 1024 KB: %s); site page of %s: %d hosts"
      % (size["overview"] / 1024, "met" if size["overview"] < 1 << 20 else "MISSED", site, hosts))
PY
# The collector's own account of each answer (load, analysis, render).
cp "$PF_TMP/collector.log" "$build/report_bench_collector.log"
grep "capacity:" "$PF_TMP/collector.log" | tail -n 4 || true
echo "the collector's log: $build/report_bench_collector.log" >&2
if [ -n "${PF_BENCH_HOLD:-}" ]; then
  echo "holding: PF_DB='$PF_DB' now=$now" >"$PF_BENCH_HOLD"
  while [ -e "$PF_BENCH_HOLD" ]; do sleep 5; done
fi
