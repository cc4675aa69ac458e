#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# capacity_report_pages.sh: the report at fleet scale, page by page, through
# the real collector. Seed 004 (a leak, events, a silent host), seed 001
# (SNAT), the sizing scenario (one site per binding resource) and a site whose name and hosts carry characters that must be
# encoded in a path, a file name and HTML ("zü/rich & <b>", a host named
# like a script) are posted; then:
#  - the collector's pages: capacity_report_pages.py crawls from /report
#    following every link with the bearer token and checks each page against
#    /v1/findings, /v1/hosts and /v1/plan (counts, the most urgent host,
#    each site's and host's findings, charts, culprits, each site's
#    binding resource and hosts per resource, each host's sizing peaks,
#    no script, nothing from outside);
#  - `report --format html --out DIR`: the same pages as files, crawled and
#    checked the same way from DIR/index.html; `--out FILE.html` is still
#    the single page with every site;
#  - routing: unknown paths under /report and next to the capacity
#    endpoints answer 404 (never the overview), as do an unknown site, a
#    host id that is not a UUID, an unknown UUID, a bad %-escape; a POST to
#    a page is 405; a page without the token is 401.
# PF_REPORT_KEEP=DIR keeps a copy of the pages written as files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
sim=$PF_FLEETSIM_BIN

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
now=$(($(date -u +%s) / 300 * 300))
cat >"$PF_TMP/odd.json" <<'EOF'
{"name": "odd_names", "days": 3, "interval_s": 900, "seed": 9,
 "hosts": [
  {"name": "<script>alert(1)</script>", "site": "zü/rich & <b>\"q\"", "os": "windows",
   "base": 900, "office": 300, "noise": 30,
   "processes": [{"name": "svc&<x>.exe", "service": "S\"1", "share": 0.5}]},
  {"name": "plain-02", "site": "zü/rich & <b>\"q\"", "os": "linux", "base": 500, "noise": 20}
 ],
 "expect": {"findings": []}}
EOF
for s in "$here/../fleetsim/scenarios/seed004_leak.json" "$here/../fleetsim/scenarios/seed001_snat.json" \
  "$here/../fleetsim/scenarios/sizing.json" "$PF_TMP/odd.json"; do
  "$sim" post --scenario "$s" --collector "$PF_COLLECTOR_URL" --ca-file "$PF_CA" \
    --enroll-secret "$PF_ENROLL_SECRET" --now "$now" --jobs 2 2>>"$PF_TMP/post.log" ||
    { cat "$PF_TMP/post.log" >&2; pf_fail "posting $s"; }
done
auth=(-H "Authorization: Bearer $PF_ADMIN_TOKEN")
for e in findings hosts plan; do
  pf_curl -f "${auth[@]}" "$PF_COLLECTOR_URL/v1/$e?now=$now" >"$PF_TMP/$e.json" ||
    pf_fail "GET /v1/$e"
done

pf_log "crawling the collector's pages"
python3 "$here/capacity_report_pages.py" served "$PF_COLLECTOR_URL" "$PF_CA" "$PF_ADMIN_TOKEN" \
  "$now" "$PF_TMP/findings.json" "$PF_TMP/hosts.json" "$PF_TMP/plan.json" >&2 ||
  pf_fail "the served pages disagree with the API or break a rule"

pf_log "writing the pages as files"
"$PF_COLLECTOR_BIN" report --db "$PF_DB" --now "$now" --format html --out "$PF_TMP/pages" \
  2>"$PF_TMP/report.err" || { cat "$PF_TMP/report.err" >&2; pf_fail "report --out DIR"; }
python3 "$here/capacity_report_pages.py" files "$PF_TMP/pages" "$PF_TMP/findings.json" \
  "$PF_TMP/hosts.json" "$PF_TMP/plan.json" >&2 ||
  pf_fail "the pages written as files disagree with the API or break a rule"
nsites=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sites"]))' "$PF_TMP/plan.json")
nhosts=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["hosts"]))' "$PF_TMP/hosts.json")
pf_check '[ "$nsites" = 9 ] && [ "$nhosts" = 21 ]' "9 sites and 21 hosts posted (got $nsites, $nhosts)"
pf_check '[ "$(ls "$PF_TMP/pages/site" | wc -l)" = "$nsites" ] && [ "$(ls "$PF_TMP/pages/host" | wc -l)" = "$nhosts" ]' \
  "one file per site and per host"
"$PF_COLLECTOR_BIN" report --db "$PF_DB" --now "$now" --format html --out "$PF_TMP/one.html" ||
  pf_fail "report --out FILE.html"
pf_check '[ "$(grep -o "<svg class=\"chart\"" "$PF_TMP/one.html" | wc -l)" = "$nhosts" ]' \
  "--out FILE.html is the single page with a chart per host"

pf_log "routing"
code_of() { pf_curl -o "$PF_TMP/answer" -w '%{http_code}' "$@"; }
agent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hosts"][0]["agent_id"])' \
  "$PF_TMP/hosts.json")
for p in /report/ /report/foo /report/site /report/site/ /report/site/nowhere /report/site/dal/x \
  /report/host/ /report/host/not-a-uuid "/report/host/$agent/x" \
  /report/host/00000000-0000-0000-0000-000000000000 /report/site/%zz /report/site/a%00 \
  /reportx /report.csvx /v1/findings/x /v1/findingsx /v1/plan/ /metrics/x; do
  c=$(code_of "${auth[@]}" "$PF_COLLECTOR_URL$p")
  pf_check '[ "$c" = 404 ]' "GET $p answers 404 (got $c: $(head -c 200 "$PF_TMP/answer"))"
  pf_check '! grep -q "<html" "$PF_TMP/answer"' "GET $p is not a page"
done
c=$(code_of "${auth[@]}" "$PF_COLLECTOR_URL/report/site/dal?now=$now")
pf_check '[ "$c" = 200 ] && grep -q "data-site=\"dal\"" "$PF_TMP/answer"' "GET /report/site/dal"
c=$(code_of "${auth[@]}" "$PF_COLLECTOR_URL/report?site=dal&now=$now")
pf_check '[ "$c" = 200 ] && grep -q "<section class=\"site\" data-site=\"dal\"" "$PF_TMP/answer"' \
  "GET /report?site=dal is the site's page"
pf_check 'grep -q "href=\"report/host/" "$PF_TMP/answer" && ! grep -q "href=\"\.\./" "$PF_TMP/answer"' \
  "its links are made from /report"
c=$(code_of "${auth[@]}" "$PF_COLLECTOR_URL/report/host/$agent?now=$now")
pf_check '[ "$c" = 200 ]' "GET /report/host/AGENT_ID"
c=$(code_of "$PF_COLLECTOR_URL/report/host/$agent")
pf_check '[ "$c" = 401 ]' "a host page without the token: 401 (got $c)"
c=$(code_of "${auth[@]}" -X POST "$PF_COLLECTOR_URL/report/site/dal")
pf_check '[ "$c" = 405 ]' "POST to a site page: 405 (got $c)"
c=$(code_of "${auth[@]}" "$PF_COLLECTOR_URL/report?now=$now&format=json")
pf_check '[ "$c" = 200 ] && python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$PF_TMP/answer"' \
  "GET /report?format=json still answers JSON"
if [ -n "${PF_REPORT_KEEP:-}" ]; then # a copy of the pages to look at
  rm -rf "$PF_REPORT_KEEP" && cp -r "$PF_TMP/pages" "$PF_REPORT_KEEP"
fi
pf_log "ok: overview, site and host pages served and as files, every link followed, 404 for unknown paths"
