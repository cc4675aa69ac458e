#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_access_stale.sh: a collector cut off from the database must not
# go on honouring a token that was revoked meanwhile (collector/access.h:
# ACCESS_STALE_MS). Two collectors on one database; collector A's token
# refresh connection is frozen (SIGSTOP of its backend process, on this
# test's own cluster: every read on it hangs, as behind a dead network,
# while A's database workers and collector B go on), then a read token is
# revoked through B.
#  1. B refuses the revoked token (401) at once;
#  2. A cannot know: it answers 503 (unavailable, Retry-After), never 401
#     and never 200 to a request sent more than ACCESS_STALE_MS after the
#     freeze (its last good refresh started before it), for that token, a
#     good one and a session opened on A; the --admin-token option still
#     works; the collector logs the table's age when it starts refusing;
#  3. the backend resumed: A answers 401 for the revoked token and 200 for
#     the good one and the session, and logs that it reads them again.
# Real PostgreSQL, two real collectors over TLS, inside a private network
# namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
client="python3 $here/collector_access_stale.py"
stale_ms=5000 # ACCESS_STALE_MS
frozen=

pf_pg_init
pf_make_certs
pf_migrate
# A over TCP (its backends are the ones with client_addr 127.0.0.1), B over
# the unix socket
sock_db=$PF_DB
PF_DB="host=127.0.0.1 port=$PF_PG_PORT user=postgres dbname=portfleet"
pf_collector_start
PF_DB=$sock_db
a_url=$PF_COLLECTOR_URL a_pid=$PF_COLLECTOR_PID
stop_a() { kill -TERM "$a_pid" 2>/dev/null && wait "$a_pid" 2>/dev/null || true; }
# a frozen backend would hold up the cluster's shutdown
thaw() { [ -z "$frozen" ] || kill -CONT "$frozen" 2>/dev/null || true; }
trap 'rc=$?; thaw; stop_a; pf_cleanup "$rc"' EXIT
PF_COLLECTOR_PID=
pf_collector_start
b_url=$PF_COLLECTOR_URL

get() { $client get "$1" "$PF_CA" "${@:2}"; }
new_token() {
  pf_curl -X POST -H "Authorization: Bearer $PF_ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"role":"read","tenant":"default"}' "$b_url/v1/tokens" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["token"])'
}
read -r rev_id rev_token < <(new_token)
read -r _ good_token < <(new_token)
pf_wait_for '[ "$(get "$a_url" /v1/hosts "$rev_token")" = "200 -" ] &&
  [ "$(get "$a_url" /v1/hosts "$good_token")" = "200 -" ]' 30 "A knows the tokens made on B"
session=$($client signin "$a_url" "$PF_CA" "$good_token")
pf_check '[ "$(get "$a_url" /v1/hosts "cookie:$session")" = "200 -" ]' "the session opened on A works"

# A's refresh backend: on TCP, and its last statement reads the epoch (it
# does every second)
backend() {
  pf_psql -c "select pid from pg_stat_activity where client_addr = '127.0.0.1'
    and query like 'SELECT n FROM auth_epoch%'"
}
pf_wait_for '[ "$(backend | wc -l)" = 1 ]' 30 "one refresh backend of collector A"
frozen=$(backend)

pf_log "1-2. A's refresh backend ($frozen) frozen, the token revoked through B"
$client stale "$a_url" "$b_url" "$PF_CA" "$PF_ADMIN_TOKEN" "$frozen" "$rev_id" "$rev_token" \
  "$stale_ms" "$PF_TMP/answers" >"$PF_TMP/stale.out"
cat "$PF_TMP/stale.out" >&2
pf_check '[ "$(get "$b_url" /v1/hosts "$rev_token")" = "401 unauthorized" ]' \
  "B refuses the revoked token"
first_503=$(sed -n 's/.*first_503_ms=\(-\{0,1\}[0-9]*\).*/\1/p' "$PF_TMP/stale.out")
late_200=$(sed -n 's/.*late_200=\([0-9]*\).*/\1/p' "$PF_TMP/stale.out")
answers=$(awk '{print $2, $3}' "$PF_TMP/answers" | sort | uniq -c | tr -s ' \n' ' ')
pf_log "A's answers to the revoked token: $answers; first 503 sent ${first_503} ms after the freeze"
pf_check '[ "$first_503" -ge 0 ]' \
  "A refuses the revoked token within 30 s of losing its refresh (it still answers: $answers)"
pf_check '[ "$late_200" -eq 0 ]' \
  "A answered 200 to $late_200 requests sent more than $stale_ms ms after the freeze"
pf_check '! grep -q " 401 " "$PF_TMP/answers"' \
  "A, which cannot have seen the revocation, never says 401 (it cannot know)"
pf_check '[ "$(awk "\$2 != 200 && \$2 != 503" "$PF_TMP/answers" | wc -l)" -eq 0 ]' \
  "A answers only 200 (before the bound) or 503"
# the product's own clock: the table's age when A started refusing
age=$(sed -n 's/.*tokens and sessions last read from the database \([0-9]*\) ms ago.*/\1/p' \
  "$PF_TMP/collector.log" | head -n 1)
pf_log "collector A: tokens and sessions last read ${age:-?} ms before its first refusal"
pf_check '[ -n "$age" ] && [ "$age" -ge "$stale_ms" ]' \
  "A refused no earlier than $stale_ms ms after its last good refresh (${age:-no log line})"
pf_check '[ "$(get "$a_url" /v1/hosts "$good_token")" = "503 unavailable" ]' \
  "A refuses a good token too while its table is stale"
pf_check 'curl -sS --cacert "$PF_CA" -D - -o /dev/null -H "Authorization: Bearer $good_token" \
  "$a_url/v1/hosts" | grep -qi "^retry-after:"' "the 503 says Retry-After"
# the session was opened on A after its last refresh, perhaps: fresh from
# then, so it may take up to a refresh interval longer
pf_wait_for '[ "$(get "$a_url" /v1/hosts "cookie:$session")" = "503 unavailable" ]' 30 \
  "A refuses the session opened on it while its table is stale"
pf_check '[ "$(get "$a_url" /v1/status "$PF_ADMIN_TOKEN")" = "200 -" ]' \
  "the --admin-token option (not in the database) still works on A"
pf_check '[ "$(get "$b_url" /v1/hosts "$good_token")" = "200 -" ]' "B still takes the good token"

pf_log "3. the backend resumed"
kill -CONT "$frozen"
frozen=
pf_wait_for '[ "$(get "$a_url" /v1/hosts "$rev_token")" = "401 unauthorized" ]' 30 \
  "A refuses the revoked token with 401 once it reads the database again"
pf_check '[ "$(get "$a_url" /v1/hosts "$good_token")" = "200 -" ]' "A takes the good token again"
pf_check '[ "$(get "$a_url" /v1/hosts "cookie:$session")" = "200 -" ]' "A takes the session again"
pf_check 'grep -q "tokens and sessions read from the database again" "$PF_TMP/collector.log"' \
  "A logs that it reads tokens and sessions again"
pf_log "ok: the revoked token refused on A (503) from ${first_503} ms after its refresh froze (bound $stale_ms ms, table age at the first refusal ${age} ms), 401 once it reads again"
