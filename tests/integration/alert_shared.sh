#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# alert_shared.sh: the alert evaluator analyses the fleet through the
# analysis cache the requests share (collector/capacity_api.h), so the
# fleet is analysed once per change of its data, not once by the evaluator
# and again by the next request. One collector evaluating every 2 s, a
# host's snapshots posted; then, with no write but the evaluator's own
# bookkeeping (autovacuum off, so nothing else writes):
#   1. after a GET /v1/findings, three evaluations in a row share its
#      analysis (the collector's debug log names each answer "analysed" or
#      "shared analysis"): each round's own write to alert_runs leaves the
#      cached analysis current;
#   2. GET /v1/findings after them shares the evaluator's analysis;
#   3. a new snapshot (a change): the next GET /v1/findings analyses again
#      and shows it, and the next evaluation shares that analysis.
# Real PostgreSQL, real collector over TLS, inside a private network
# namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
rollup="python3 $here/collector_rollup.py"
auth="Authorization: Bearer $PF_ADMIN_TOKEN"

pf_pg_init
# no background write (an autovacuum ANALYZE takes a transaction id) may
# move the database's version while the analyses are counted
pf_psql -c "alter system set autovacuum = off" >/dev/null
pf_psql -c "select pg_reload_conf()" >/dev/null
pf_make_certs
pf_migrate
pf_collector_start --log-level debug --alert-interval 2 --analysis-reuse 3600
log=$PF_TMP/collector.log

read -r agent key < <(pf_enroll SHARED-1 site-s machine-s)
$rollup gen "$agent" 1 60 "$PF_TMP/snaps"
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$PF_TMP/snaps"
pf_wait_for '[ "$(pf_psql -c "select count(*) from process_hours_queue")" = 0 ]' 60 \
  "the snapshots' process rows were written"
pf_psql -c "vacuum analyze" >/dev/null

answers() { # FROM_LINE: the analyses' answers logged after that line, one word each
  tail -n +"$(($1 + 1))" "$log" | sed -n 's/.*capacity: [0-9]* hosts: \(analysed\|shared analysis\), .*/\1/p' |
    sed 's/shared analysis/shared/'
}
findings() { # GET /v1/findings; the log line it starts after
  local mark
  mark=$(wc -l <"$log")
  pf_curl -fsS -o "$PF_TMP/findings.json" -H "$auth" "$PF_COLLECTOR_URL/v1/findings" ||
    pf_fail "GET /v1/findings"
  pf_wait_for '[ -n "$(answers "$mark")" ]' 30 "GET /v1/findings logged its analysis"
  answers "$mark" | head -n 1
}

# 1. three evaluations after a request
findings >/dev/null
mark=$(wc -l <"$log")
pf_wait_for '[ "$(answers "$mark" | wc -l)" -ge 3 ]' 60 "three evaluations analysed the fleet"
got=$(answers "$mark" | head -n 3 | tr '\n' ' ')
pf_log "three evaluations after GET /v1/findings: $got"
pf_check '[ "$got" = "shared shared shared " ]' \
  "the evaluations share the request's analysis, their own writes leaving it current"
pf_check '[ "$(pf_psql -c "select count(*) from alert_runs")" = 1 ]' "the evaluator wrote alert_runs"

# 2. the request after them
got=$(findings)
pf_log "GET /v1/findings after the evaluations: $got"
pf_check '[ "$got" = shared ]' "the request shares the evaluator's analysis"

# 3. a change (the snapshot, then its process rows: two writes); the
# evaluator may see it before any request does
mark=$(wc -l <"$log")
$rollup gen "$agent" 61 1 "$PF_TMP/more"
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$PF_TMP/more"
pf_wait_for '[ "$(pf_psql -c "select count(*) from process_hours_queue")" = 0 ]' 60 \
  "the new snapshot's process rows were written"
settled=$(wc -l <"$log")
pf_wait_for '[ "$(answers "$settled" | wc -l)" -ge 2 ]' 30 "two evaluations after the change"
got=$(answers "$mark" | tr '\n' ' ')
pf_log "after a new snapshot: $got"
pf_check 'answers "$mark" | grep -q analysed' "the change was analysed again"
pf_check '[ "$(answers "$settled" | sed -n 2p)" = shared ]' \
  "the second evaluation after the change shares the first's analysis"
got=$(findings)
pf_log "GET /v1/findings after them: $got"
pf_check '[ "$got" = shared ]' "the request shares the analysis of the change"
pf_check 'grep -q "still current after a write that does not touch them" "$log"' \
  "the log says when the evaluator's own write left the analyses current"
pf_log "alert_shared: all checks passed"
