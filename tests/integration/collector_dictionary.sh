#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_dictionary.sh: the per-agent string dictionary (agent_strings)
# holds what recurs and has a retention.
#  1. endpoints: a remote endpoint seen once (IPv4, and IPv6 in every
#     shape RFC 5952 text takes) is stored inline in the body (sql/130),
#     not in agent_strings; one seen in several snapshots gets an id; an
#     IPv4-mapped one always an id; all read back exactly;
#  2. retention: snapshots 100, 50 and 5 days old (the strings of each
#     group its own, some shared); the collector restarted with
#     retention-days 30 drops the old partitions and the strings only they
#     used (sql/131): the dictionary shrinks, the shared and recent strings
#     stay, and the 5-day-old snapshots still read back whole;
#  3. a string the running collector has cached is deleted by a retention
#     pass (its last_day, a week past its 20-day-old snapshot, before the
#     cutoff); the next snapshot using it is stored (the string numbered
#     again) and reads back whole, as does every snapshot still stored.
# Real PostgreSQL, real collector over TLS, inside a private network
# namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
gen="python3 $here/collector_dictionary.py"
st="python3 $here/collector_storage.py"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start --retention-days 200 --rollup-retention-days 400
read -r agent key < <(pf_enroll DICT-1 site-d machine-d)

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
merge() { # FILE... : one batch of all their snapshots
  python3 -c '
import json, sys
print(json.dumps({"snapshots": [s for f in sys.argv[1:] for s in json.load(open(f))["snapshots"]]}))' "$@"
}
strings() { pf_psql -c "select count(*) from agent_strings where agent_id = '$agent' $1"; }

pf_log "1. endpoints seen once are inline, recurring ones get ids"
$gen batch "$agent" 100 100 1 2 >"$PF_TMP/g100.json"
$gen batch "$agent" 50 50 3 4 >"$PF_TMP/g50.json"
$gen batch "$agent" 5 5 5 6 >"$PF_TMP/g5.json"
for g in 100 50 5; do post "$PF_TMP/g$g.json"; done
dump "$PF_TMP/d1"
merge "$PF_TMP/g100.json" "$PF_TMP/g50.json" "$PF_TMP/g5.json" >"$PF_TMP/all.json"
$st check "$PF_TMP/all.json" "$PF_TMP/d1" || pf_fail "the views differ from what was posted"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_data where get_byte(body, 0) = 2")" = 6 ]' \
  "every body has its inline endpoints (version 2)"
pf_check '[ "$(strings "and (value like '"'"'10.8.%'"'"' or value like '"'"'%:%'"'"'
  and value not like '"'"'::ffff:%'"'"' or value like '"'"'10.6.%'"'"')")" = 0 ]' \
  "no endpoint seen once is in the dictionary"
pf_check '[ "$(strings "and value in ('"'"'10.7.0.1 443'"'"', '"'"'10.5.50.1 80'"'"',
  '"'"'::ffff:10.9.3.1 443'"'"')")" = 3 ]' \
  "recurring endpoints (across batches, within one) and a mapped address have ids"
# the check can fail: an inline address changed must show
sed 's/"a:b:c:d:e:5::"/"a:b:c:d:e:5::1"/' "$PF_TMP/all.json" >"$PF_TMP/changed.json"
if $st check "$PF_TMP/changed.json" "$PF_TMP/d1" >/dev/null; then
  pf_fail "the check missed a changed inline address"
fi

pf_log "2. retention drops the strings only dropped partitions used"
before=$(strings "")
pf_collector_stop
pf_collector_start --retention-days 30 --rollup-retention-days 400
pf_wait_for '[ "$(pf_psql -c "select count(*) from snapshot_data")" = 2 ]' 60 \
  "the retention pass dropped the 100- and 50-day-old partitions"
after=$(strings "")
pf_check '[ "$after" -lt "$before" ]' "the dictionary shrank ($before strings, now $after)"
pf_check '[ "$(strings "and (value like '"'"'g100-%'"'"' or value like '"'"'g50-%'"'"'
  or value like '"'"'10.5.100.%'"'"' or value like '"'"'10.5.50.%'"'"' or value = '"'"'Svc-g100'"'"')")" = 0 ]' \
  "the strings only the dropped days used are gone"
pf_check '[ "$(strings "and value in ('"'"'shared.exe'"'"', '"'"'g5-proc0.exe'"'"',
  '"'"'10.7.0.1 443'"'"', '"'"'10.5.5.1 80'"'"')")" = 4 ]' \
  "the strings the kept snapshots use are kept"
dump "$PF_TMP/d2"
$st check "$PF_TMP/g5.json" "$PF_TMP/d2" || pf_fail "after retention the kept snapshots differ"

pf_log "3. a cached string deleted by retention under the running collector"
$gen batch "$agent" 10 20 7 >"$PF_TMP/g10.json"
post "$PF_TMP/g10.json"
pf_psql -c "select pf_drop_partitions_before(current_date - 12)" >/dev/null
pf_check '[ "$(strings "and value like '"'"'g10-%'"'"'")" = 0 ]' \
  "the 20-day-old snapshot's own strings were dropped with its partition"
# today, with the dropped strings the collector still has cached
$gen batch "$agent" 10 0 8 >"$PF_TMP/g0.json"
post "$PF_TMP/g0.json"
pf_check 'grep -q "dropped by retention, retrying" "$PF_TMP/collector.log"' \
  "the collector found its cached strings gone"
dump "$PF_TMP/d3"
merge "$PF_TMP/g5.json" "$PF_TMP/g0.json" >"$PF_TMP/kept.json"
$st check "$PF_TMP/kept.json" "$PF_TMP/d3" || pf_fail "a stored snapshot does not read back whole"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_data")" = 3 ]' "three snapshots stored"
pf_log "collector_dictionary: all checks passed ($before strings, $after after retention)"
