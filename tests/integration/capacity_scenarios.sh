#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# capacity_scenarios.sh: every fleetsim scenario (tests/fleetsim/scenarios:
# the five seed stories and the decoys) through the real product path:
# enrollment and snapshots over TLS into the collector, the ingest rollups
# in a throwaway PostgreSQL, GET /v1/findings and /v1/plan with ?now=. For
# each scenario:
#  - the findings and plan are exactly the scenario's expectations (kinds,
#    hosts, culprit, rate within 10%, exhaustion within 10% of the model's
#    truth, commands; nothing on healthy hosts and decoys);
#  - the answers equal those of the in-memory fold (fleetsim local), field
#    for field: the SQL rollups and fleet_add_snapshot() agree;
# then, on the last data set: a resend of every snapshot is all duplicates
# and changes no answer (rollups count a snapshot once), `report` prints
# the same findings as the API in every format, /v1/hosts, /metrics, the
# ?site= / ?host= filters, 400 on a bad ?now=, 401 without the token or
# with it in the URL; when that last data set is scenarios/sizing.json,
# its CPU, memory, sessions, RRAS port and pool figures in /metrics, the
# CSV, text and HTML.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
sim=$PF_FLEETSIM_BIN
scenarios=${PF_SCENARIOS:-$(ls "$here"/../fleetsim/scenarios/*.json)}

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
now=$(($(date -u +%s) / 300 * 300))
pf_log "analysis time now=$now ($(date -u -d "@$now" +%FT%TZ))"

get() { # PATH OUT -> HTTP status in $code
  code=$(pf_curl -o "$2" -w '%{http_code}' -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
    "$PF_COLLECTOR_URL$1")
}
get_ok() {
  get "$1" "$2"
  [ "$code" = 200 ] || pf_fail "GET $1: $code $(head -c 300 "$2")"
}
reset_db() {
  # the tables under the snapshots views (sql/020), not the views
  pf_psql -c "TRUNCATE agents, snapshot_seqs, snapshot_data, agent_strings, host_facts,
              host_hours, process_hours, host_latest" >/dev/null
}

for scenario in $scenarios; do
  name=$(basename "$scenario" .json)
  d=$PF_TMP/$name
  mkdir -p "$d"
  reset_db
  t0=$SECONDS
  "$sim" post --scenario "$scenario" --collector "$PF_COLLECTOR_URL" --ca-file "$PF_CA" \
    --enroll-secret "$PF_ENROLL_SECRET" --now "$now" --jobs 2 --state "$d/state" \
    2>"$d/post.log" || { cat "$d/post.log" >&2; pf_fail "$name: posting"; }
  n=$(pf_psql -c "select count(*) from snapshots")
  pf_log "$name: $n snapshots stored in $((SECONDS - t0)) s"
  get_ok "/v1/findings?now=$now" "$d/findings.json"
  get_ok "/v1/plan?now=$now" "$d/plan.json"
  "$sim" check --scenario "$scenario" --now "$now" --findings "$d/findings.json" \
    --plan "$d/plan.json" | tee "$d/check.log" >&2 ||
    pf_fail "$name: the API's findings or plan differ from the scenario's expectations"
  "$sim" local --scenario "$scenario" --now "$now" --format findings >"$d/local_findings.json"
  "$sim" local --scenario "$scenario" --now "$now" --format plan >"$d/local_plan.json"
  python3 "$here/capacity_compare.py" "$d/findings.json" "$d/local_findings.json" >&2 ||
    pf_fail "$name: findings from the rollups differ from the in-memory fold"
  python3 "$here/capacity_compare.py" "$d/plan.json" "$d/local_plan.json" >&2 ||
    pf_fail "$name: plan from the rollups differs from the in-memory fold"
  pf_log "ok: $name"
done

# ---- on the last scenario's data ----
last=$(basename "$(echo "$scenarios" | tr ' ' '\n' | tail -n 1)" .json)
d=$PF_TMP/$last
hours_before=$(pf_psql -c "select sum(samples), sum(ev_tcpip_4231) from host_hours")
"$sim" post --scenario "$(echo "$scenarios" | tr ' ' '\n' | tail -n 1)" \
  --collector "$PF_COLLECTOR_URL" --ca-file "$PF_CA" --enroll-secret "$PF_ENROLL_SECRET" \
  --now "$now" --jobs 2 --state "$d/state" 2>"$d/repost.log" ||
  { cat "$d/repost.log" >&2; pf_fail "resending"; }
pf_check 'grep -q " 0 accepted" "$d/repost.log" && ! grep -E " [1-9][0-9]* accepted" "$d/repost.log"' \
  "a resend is all duplicates"
pf_check '[ "$(pf_psql -c "select sum(samples), sum(ev_tcpip_4231) from host_hours")" = "$hours_before" ]' \
  "a resend changes no rollup"
get_ok "/v1/findings?now=$now" "$d/findings2.json"
python3 "$here/capacity_compare.py" "$d/findings.json" "$d/findings2.json" >&2 ||
  pf_fail "findings changed after a resend"

# `report` (no server) says what the API says.
"$PF_COLLECTOR_BIN" report --db "$PF_DB" --now "$now" --format json --out "$d/report.json" ||
  pf_fail "report --format json"
python3 - "$d/report.json" "$d/findings.json" <<'PY' || pf_fail "report json differs from the API"
import json, sys
r, f = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
strip = lambda fs: sorted(json.dumps(x, sort_keys=True) for x in fs)
assert strip(r["findings"]) == strip(f["findings"]), "findings differ"
assert r["sites"] and r["hosts"], "sites and hosts present"
PY
for fmt in text csv html; do
  "$PF_COLLECTOR_BIN" report --db "$PF_DB" --now "$now" --format "$fmt" >"$d/report.$fmt" ||
    pf_fail "report --format $fmt"
done
nf=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$d/findings.json")
pf_check '[ "$(grep -c "^  \[" "$d/report.text")" = "$nf" ]' "text report lists every finding"
pf_check '[ "$(grep -o "<tr class=\"finding " "$d/report.html" | wc -l)" = "$nf" ]' "html report lists every finding"
nh=$(pf_psql -c "select count(*) from host_latest")
pf_check '[ "$(($(wc -l <"$d/report.csv") - 1))" = "$nh" ]' "csv has one row per host"
"$PF_COLLECTOR_BIN" report --bogus x >/dev/null 2>&1 && pf_fail "report accepts a bogus option"
[ $? -eq 2 ] || true

# /v1/hosts, /metrics, /report, filters, errors.
get_ok "/v1/hosts?now=$now" "$d/hosts.json"
pf_check '[ "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))[\"hosts\"]))" "$d/hosts.json")" = "$nh" ]' \
  "/v1/hosts lists every host"
get_ok "/metrics?now=$now" "$d/metrics.txt"
pf_check 'grep -q "^portfleet_host_utilization{tenant=\"default\",site=" "$d/metrics.txt"' "/metrics has per-host utilization"
pf_check 'grep -q "^portfleet_snapshots_accepted_total [1-9]" "$d/metrics.txt"' "/metrics has ingest counters"
code=$(pf_curl -o "$d/report.html2" -w '%{http_code}' -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
  "$PF_COLLECTOR_URL/report?now=$now")
pf_check '[ "$code" = 200 ] && grep -q "<table class=\"sites\">" "$d/report.html2"' \
  "/report with the bearer token is the overview"
code=$(pf_curl -o "$d/report.html3" -w '%{http_code}' "$PF_COLLECTOR_URL/report?token=$PF_ADMIN_TOKEN&now=$now")
pf_check '[ "$code" = 401 ] && grep -q "action=\"/report/signin\"" "$d/report.html3"' \
  "/report?token= is refused with the sign-in form"
code=$(pf_curl -o /dev/null -w '%{http_code}' "$PF_COLLECTOR_URL/v1/findings")
pf_check '[ "$code" = 401 ]' "/v1/findings without the admin token is 401"
get "/v1/findings?now=yesterday" "$d/bad.json"
pf_check '[ "$code" = 400 ] && grep -q "now: invalid value" "$d/bad.json"' "a bad ?now= is 400"
site=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sites"][0]["site"])' "$d/plan.json")
get_ok "/v1/plan?now=$now&site=$site" "$d/plan_site.json"
pf_check '[ "$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d[\"sites\"]), d[\"sites\"][0][\"site\"])" "$d/plan_site.json")" = "1 $site" ]' \
  "?site= keeps one site"
get_ok "/report.csv?now=$now" "$d/export.csv"
pf_check 'head -n 1 "$d/export.csv" | grep -q "^tenant,site,host,agent_id,"' "/report.csv is the CSV export"
# The sizing figures (scenarios/sizing.json, last in the default order)
# in /metrics, the CSV export and the text and HTML reports.
if [ "$last" = sizing ]; then
  pf_check 'grep -q "^portfleet_host_cpu_peak_percent{tenant=\"[^\"]*\",site=\"cpu\",host=\"CONN-CPU-01\",agent_id=\"[^\"]*\"} 8[0-9]" "$d/metrics.txt"' \
    "/metrics has the CPU peak of CONN-CPU-01"
  pf_check 'grep -q "^portfleet_host_vpn_ports_peak_utilization{tenant=\"[^\"]*\",site=\"vpn\",host=\"VPN-IKE-01\",agent_id=\"[^\"]*\"} 1$" "$d/metrics.txt"' \
    "/metrics has VPN-IKE-01's IKEv2 ports at 100%"
  pf_check 'grep -q "^portfleet_host_address_pool_peak_utilization{tenant=\"[^\"]*\",site=\"pool\",host=\"VPN-POOL-01\",agent_id=\"[^\"]*\"} 0.95$" "$d/metrics.txt"' \
    "/metrics has VPN-POOL-01's pool at 95%"
  pf_check 'grep -q "^portfleet_host_users_peak{tenant=\"[^\"]*\",site=\"users\",host=\"cf-users-01\",agent_id=\"[^\"]*\"} 5200$" "$d/metrics.txt"' \
    "/metrics has cf-users-01's users"
  pf_check 'grep -q "^portfleet_site_hosts_needed{tenant=\"[^\"]*\",site=\"cpu\",resource=\"cpu\",binding=\"true\"} 4$" "$d/metrics.txt"' \
    "/metrics: CPU binds site cpu at 4 hosts"
  pf_check '! grep -q "^portfleet_host_cpu_peak_percent{tenant=\"[^\"]*\",site=\"pool\"" "$d/metrics.txt"' \
    "/metrics has no CPU gauge for hosts that do not report CPU"
  python3 - "$d/export.csv" <<'PY' || pf_fail "the CSV export lacks the sizing figures"
import csv, sys
rows = {r["host"]: r for r in csv.DictReader(open(sys.argv[1], newline=""))}
assert float(rows["CONN-CPU-01"]["cpu_peak_pct"]) > 80, rows["CONN-CPU-01"]
assert rows["CONN-CPU-01"]["site_binding_resource"] == "cpu"
assert rows["VPN-IKE-01"]["vpn_ports_peak_utilization"] == "1.000"
assert rows["VPN-POOL-01"]["address_pool_peak_utilization"] == "0.950"
assert rows["VPN-POOL-01"]["cpu_peak_pct"] == "", "an unmeasured figure is an empty cell, not 0"
assert rows["cf-users-01"]["users_peak"] == "5200"
assert rows["CONN-PORTS-01"]["site_binding_resource"] == "ports"
PY
  pf_check 'grep -q "binding resource: vpn_ports; hosts needed: ports 2" "$d/report.text"' \
    "the text report names the binding resource"
  pf_check 'grep -q "data-binding=\"true\">4</td>" "$d/report.html"' \
    "the HTML report marks the binding resource"
  pf_log "ok: sizing figures in /metrics, CSV, text and HTML"
fi
pf_log "all capacity scenarios passed"
