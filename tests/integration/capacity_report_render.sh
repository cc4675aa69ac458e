#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# capacity_report_render.sh: the HTML capacity report in a real browser.
# Two scenarios (seed 004's leaking site and seed 001's VPN site) go
# through the real collector; GET /report (bearer token) answers the
# overview as HTML under a Content-Security-Policy; the single page with
# every site (`report --format html --out report.html`) is opened by
# headless Chromium (Debian's chromium, no network: this runs in a private
# network namespace) twice: --dump-dom and --screenshot. The pages of the
# overview, sites and hosts are tested by capacity_report_pages.sh and
# capacity_report_browse.sh.
# capacity_dom_check.py then checks that the page the browser built has a
# chart per host with its range and forecast lines and a row per finding
# of /v1/findings, and that the PNG shows the charts' colours. The PNG is
# kept as $PF_TMP/report.png (PF_KEEP_TMP=1 keeps the directory; with
# PF_REPORT_PNG=FILE it is copied there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
sim=$PF_FLEETSIM_BIN
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || pf_fail "chromium is not installed (deploy/install-deps.sh test installs it)"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
now=$(($(date -u +%s) / 300 * 300))
for s in seed004_leak seed001_snat; do
  "$sim" post --scenario "$here/../fleetsim/scenarios/$s.json" --collector "$PF_COLLECTOR_URL" \
    --ca-file "$PF_CA" --enroll-secret "$PF_ENROLL_SECRET" --now "$now" --jobs 2 \
    2>>"$PF_TMP/post.log" || { cat "$PF_TMP/post.log" >&2; pf_fail "posting $s"; }
done
auth=(-H "Authorization: Bearer $PF_ADMIN_TOKEN")
pf_curl -f "${auth[@]}" "$PF_COLLECTOR_URL/v1/findings?now=$now" >"$PF_TMP/findings.json"
pf_curl -f "${auth[@]}" "$PF_COLLECTOR_URL/v1/hosts?now=$now" >"$PF_TMP/hosts.json"
code=$(pf_curl -o "$PF_TMP/report.html" -D "$PF_TMP/report.head" -w '%{http_code}' "${auth[@]}" \
  "$PF_COLLECTOR_URL/report?now=$now")
pf_check '[ "$code" = 200 ]' "GET /report"
pf_check 'grep -qi "^content-type: text/html" "$PF_TMP/report.head"' "/report is HTML"
pf_check 'grep -qi "^content-security-policy: default-src .none." "$PF_TMP/report.head"' \
  "/report forbids scripts and outside resources"
"$PF_COLLECTOR_BIN" report --db "$PF_DB" --now "$now" --format html --out "$PF_TMP/report.html" ||
  pf_fail "report --format html --out report.html"

run_browser() { # OUTPUT-FLAG...
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$PF_TMP/profile-$1" --window-size=1400,2400 "${@:2}" \
    "file://$PF_TMP/report.html" 2>>"$PF_TMP/chromium.log"
}
run_browser dom --dump-dom >"$PF_TMP/dom.html" || pf_fail "chromium --dump-dom"
run_browser png --screenshot="$PF_TMP/report.png" >/dev/null || pf_fail "chromium --screenshot"
pf_check '[ -s "$PF_TMP/report.png" ]' "chromium wrote the screenshot"
python3 "$here/capacity_dom_check.py" "$PF_TMP/dom.html" "$PF_TMP/report.png" \
  "$PF_TMP/findings.json" "$PF_TMP/hosts.json" >&2 ||
  pf_fail "the rendered report lacks charts or findings"
if [ -n "${PF_REPORT_PNG:-}" ]; then
  cp "$PF_TMP/report.png" "$PF_REPORT_PNG"
fi
pf_log "ok: the report renders with its charts and findings"
