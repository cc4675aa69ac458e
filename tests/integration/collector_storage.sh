#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_storage.sh: the compact layout (sql/020) loses nothing. Snapshots
# covering every field and the caps (50 processes and 50 remotes with
# 255-character names, values up to 2^53 - 1, IPv6, unmeasured sections,
# VPN with its clients, ports and pool, resources and sessions, push
# errors, facts that change) go through the real collector; the
# snapshots, snapshot_processes and snapshot_remotes views must give every
# value back (collector_storage.py check). Then, with a second collector
# (its own string cache) posting to the same agent, a resend and new
# snapshots still resolve to the same strings. Real PostgreSQL, real
# collector over TLS, inside a private network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
st="python3 $here/collector_storage.py"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
read -r agent key < <(pf_enroll STORE-1 site-s machine-s)

post() { # FILE: must answer 200
  local code
  code=$(pf_curl -o "$PF_TMP/answer" -w '%{http_code}' -X POST -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "@$1" "$PF_COLLECTOR_URL/v1/snapshots")
  [ "$code" = 200 ] || pf_fail "post $1: $code $(cat "$PF_TMP/answer")"
}
dump() { # DIR: the views as JSON
  mkdir -p "$1"
  pf_psql -c "select coalesce(json_agg(s), '[]') from snapshots s where agent_id = '$agent'" \
    >"$1/snapshots.json"
  pf_psql -c "select coalesce(json_agg(p), '[]') from snapshot_processes p
              where agent_id = '$agent'" >"$1/processes.json"
  pf_psql -c "select coalesce(json_agg(r), '[]') from snapshot_remotes r
              where agent_id = '$agent'" >"$1/remotes.json"
}

$st gen "$agent" 36 >"$PF_TMP/batch.json"
post "$PF_TMP/batch.json"
dump "$PF_TMP/d1"
$st check "$PF_TMP/batch.json" "$PF_TMP/d1" || pf_fail "the views differ from what was posted"
pf_check '[ "$(pf_psql -c "select count(*) from host_facts where agent_id = '"'"'$agent'"'"'")" -ge 3 ]' \
  "one host_facts row per distinct set of facts"
# the check can fail: one posted value changed must show as a difference
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
b["snapshots"][0]["remotes"][49]["count"] -= 1
b["snapshots"][3]["processes"][0]["states"]["bound"] = 1
b["snapshots"][2]["sessions"]["users"] += 1
b["snapshots"][0]["vpn"]["ports"][3]["in_use"] -= 1
print(json.dumps(b))' "$PF_TMP/batch.json" >"$PF_TMP/changed.json"
if $st check "$PF_TMP/changed.json" "$PF_TMP/d1" >"$PF_TMP/changed.txt"; then
  pf_fail "the check missed a changed value"
fi
pf_check 'tail -n1 "$PF_TMP/changed.txt" | grep -q "compared, 4 differences"' \
  "the check found the four changed values: $(tail -n1 "$PF_TMP/changed.txt")"
pf_log "ok: every field of 36 snapshots read back"

# what does not fit the model is refused whole, the field named, never cut
while IFS='|' read -r name mutation path; do
  python3 - "$agent" >"$PF_TMP/bad.json" <<EOF
import json, sys
sys.path.insert(0, "$here")
from collector_client import snapshot
d = snapshot(sys.argv[1], 9000)
$mutation
print(json.dumps(d))
EOF
  code=$(pf_curl -o "$PF_TMP/answer" -w '%{http_code}' -X POST -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary "@$PF_TMP/bad.json" "$PF_COLLECTOR_URL/v1/snapshots")
  msg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["message"])' "$PF_TMP/answer")
  [ "$code" = 400 ] || pf_fail "$name: status $code, expected 400 ($msg)"
  case "$msg" in "$path"*) ;; *) pf_fail "$name: message '$msg' does not name $path" ;; esac
  pf_log "ok: 400 $name: $msg"
done <<'CASES'
process name of 256 characters|d["processes"][0]["name"] = "n" * 256|processes[0].name
51 remotes|d["remotes"] = [{"addr": "10.1.0.%d" % (i + 1), "port": 443, "count": 1} for i in range(51)]|remotes
51 VPN clients|d["vpn"]["client_addresses"]["top"] = [{"addr": "10.2.0.%d" % (i + 1), "count": 1} for i in range(51)]|vpn.client_addresses.top
five VPN port entries|d["vpn"]["ports"] = [{"protocol": p, "configured": 1, "in_use": 0} for p in ("ikev2", "sstp", "l2tp", "pptp", "ikev2")]|vpn.ports
sessions source of 64 characters|d["sessions"] = {"source": "s" * 64}|sessions.source
requests_per_s past 2^53|d["sessions"] = {"source": "x", "requests_per_s": 2.0 ** 54}|sessions.requests_per_s
CASES
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_seqs where seq = 9000")" = 0 ]' \
  "no refused snapshot stored"

# a second collector knows none of the ids: same agent, a resend and new seqs
pf_collector_stop
pf_collector_start
post "$PF_TMP/batch.json"
pf_check 'grep -q "\"duplicates\":36" "$PF_TMP/answer"' "resend counted as duplicates"
$st gen "$agent" 48 | python3 -c '
import json, sys
b = json.load(sys.stdin)
b["snapshots"] = b["snapshots"][36:]
print(json.dumps(b))' >"$PF_TMP/batch2.json"
post "$PF_TMP/batch2.json"
dump "$PF_TMP/d2"
python3 - "$PF_TMP/batch.json" "$PF_TMP/batch2.json" >"$PF_TMP/all.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["snapshots"] + json.load(open(sys.argv[2]))["snapshots"]
print(json.dumps({"snapshots": a}))
PY
$st check "$PF_TMP/all.json" "$PF_TMP/d2" || pf_fail "after a restart the views differ"
dups=$(pf_psql -c "select count(*) - count(distinct value) from agent_strings")
pf_check '[ "$dups" = 0 ]' "each string numbered once per agent"
pf_log "collector_storage: all checks passed"
