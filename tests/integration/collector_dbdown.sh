#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_dbdown.sh: PostgreSQL stops while an agent-like client posts
# snapshots one after another over one keep-alive connection. While it is
# down every answer must be 503 with Retry-After; when it is back, posting
# succeeds again without restarting the collector; and every snapshot that
# was ever answered 200 is in the database (200 means committed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start --retry-after 2
pid_before=$PF_COLLECTOR_PID
read -r AID KEY < <(pf_enroll DBDOWN-1 lab machine-dbdown)

# The client posts until told to stop (300 s at most); each phase waits for
# the answers it is about, not for a time a loaded machine may outlast.
ans=$PF_TMP/answers.jsonl
"$PF_SYS_PY" "$here/collector_client.py" ingest-loop "$PF_COLLECTOR_URL" "$PF_CA" "$KEY" "$AID" 300 \
  "$ans" --stop-file "$PF_TMP/stop" &
client=$!
# answers with STATUS from line FROM of the answers on
answers_since() { tail -n +"$1" "$ans" 2>/dev/null | grep -c "\"status\": $2," || true; }
pf_wait_for '[ "$(answers_since 1 200)" -ge 3 ]' 60 "posting works before the outage"
pf_log "stopping PostgreSQL"
pf_pg_stop
from=$(($(wc -l <"$ans") + 1))
pf_wait_for '[ "$(answers_since "$from" 503)" -ge 3 ]' 60 "503 while the database is down"
code=$(pf_curl -o /dev/null -w '%{http_code}' "$PF_COLLECTOR_URL/readyz")
pf_check '[ "$code" = 503 ]' "readyz is 503 while the database is down (got $code)"
pf_log "starting PostgreSQL again"
pf_pg_start
# every database worker must be back, not only some: 200s after the last
# 503 (a worker whose connection reconnects later still answers 503)
ok_after_last_503() {
  awk '/"status": 503,/ {n = 0; next} /"status": 200,/ {n++} END {print n + 0}' "$ans"
}
pf_wait_for '[ "$(ok_after_last_503)" -ge 8 ]' 60 \
  "posting works again after the outage, same collector (8 answers 200 in a row)"
touch "$PF_TMP/stop"
wait $client || pf_fail "ingest client failed"

pf_check 'kill -0 $pid_before' "the collector kept running"
pf_check '[ "$PF_COLLECTOR_PID" = "$pid_before" ]' "the collector was not restarted"

python3 - "$PF_TMP/answers.jsonl" >"$PF_TMP/summary" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ok = [r for r in rows if r["status"] == 200]
down = [r for r in rows if r["status"] == 503]
other = [r for r in rows if r["status"] not in (200, 503)]
first_503 = rows.index(down[0]) if down else -1
last_503 = len(rows) - 1 - rows[::-1].index(down[-1]) if down else -1
print("answers", len(rows))
print("ok", len(ok))
print("unavailable", len(down))
print("other", len(other))
print("retry_after_missing", sum(1 for r in down if not r["retry_after"]))
print("ok_after_outage", sum(1 for r in rows[last_503 + 1:] if r["status"] == 200))
print("ok_before_outage", sum(1 for r in rows[:first_503] if r["status"] == 200))
print("acked", " ".join(str(r["seq"]) for r in ok))
for r in other[:3]:
    print("other_example", json.dumps(r))
EOF
get() { awk -v k="$1" '$1 == k {print $2}' "$PF_TMP/summary"; }
grep -v '^acked' "$PF_TMP/summary" >&2
pf_check '[ "$(get other)" = 0 ]' "only 200 and 503 answers (no dropped connections, no 500)"
pf_check '[ "$(get unavailable)" -gt 0 ]' "503 while the database was down"
pf_check '[ "$(get retry_after_missing)" = 0 ]' "every 503 carries Retry-After"
pf_check '[ "$(get ok_before_outage)" -gt 0 ]' "posting worked before the outage"
pf_check '[ "$(get ok_after_outage)" -gt 0 ]' "posting works again after the outage, same collector"

# every acknowledged snapshot is stored, data rows included
awk '$1 == "acked" {for (i = 2; i <= NF; i++) print $i}' "$PF_TMP/summary" | sort -n >"$PF_TMP/acked"
pf_psql -c "select s.seq from snapshots s join snapshot_seqs k using (agent_id, seq) \
  where agent_id = '$AID' order by 1" >"$PF_TMP/stored"
missing=$(comm -23 "$PF_TMP/acked" "$PF_TMP/stored" | wc -l)
pf_check '[ "$missing" = 0 ]' "every snapshot answered 200 is in the database ($missing missing)"
procs=$(pf_psql -c "select count(*) from snapshot_processes where agent_id = '$AID'")
pf_check '[ "$procs" = "$((3 * $(wc -l <"$PF_TMP/stored")))" ]' "3 process rows per stored snapshot"
pf_check 'grep -q "connected again" "$PF_TMP/collector.log"' "the log tells the database came back"
pf_log "collector_dbdown: $(get ok) stored and acknowledged, $(get unavailable) answered 503 + Retry-After, none missing"
