#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tenants.sh: tenants and tokens with real components, in a private
# network namespace: a throwaway PostgreSQL, two collectors on it over
# real TLS, agents of two tenants (and the default one) posting.
#
# 1. An existing database migrates: a schema as it was before tenants, with
#    an enrolled agent and its snapshots, gets sql/030; the agent is the
#    default tenant's and keeps posting with its key, the --enroll-secret
#    and --admin-token options still work (default tenant, operator).
# 2. tenants_isolation.py: the endpoint x token table, zero rows of another
#    tenant, same site names, an agent key writing another tenant's agent,
#    sessions, CSRF, bad input, revocation on both collectors within 5 s.
# 3. No secret handed out in the run (tokens, enrollment secrets, node
#    keys, session ids) appears in any log line or saved answer body
#    (answers are checked in their body and every header but Set-Cookie,
#    which must carry the session id).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
pid2=
trap 'rc=$?; [ -z "$pid2" ] || kill "$pid2" 2>/dev/null; pf_cleanup "$rc"' EXIT
export PF_HERE=$here

pf_pg_init
pf_make_certs

# ---- 1. an existing database, as it was before tenants ----
# The migrations before sql/030 applied as `migrate` would have, then an
# agent enrolled and reporting: what an install upgrading finds.
src=$here/../../sql
pf_psql -c "create table schema_migrations (version integer primary key, name text not null,
            applied_at timestamptz not null default now())" >/dev/null
for f in "$src"/[0-9]*.sql; do
  n=$(basename "$f")
  v=$((10#${n%%_*}))
  [ "$v" -lt 30 ] || continue
  { echo "begin;"; cat "$f"; echo "insert into schema_migrations (version, name) values ($v, '$n'); commit;"; } |
    pf_psql -q >/dev/null || pf_fail "applying $n"
done
old_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
old_agent=6f1c2a7e-0000-4000-8000-00000000a11d
pf_psql -c "insert into agents (agent_id, node_key_hash, name, site, machine_id)
            values ('$old_agent', sha256('$old_key'::bytea), 'OLD-01', 'hq', 'old')" >/dev/null
pf_migrate
pf_check '[ "$(pf_psql -c "select tenant from agents where agent_id = '"'$old_agent'"'")" = default ]' \
  "the existing agent is the default tenant's after migrate"
pf_check '[ "$(pf_psql -c "select count(*) from schema_migrations where version = 30")" = 1 ]' \
  "sql/030 recorded"
pf_migrate
pf_check 'grep -q "(0 migrations applied now)" "$PF_TMP/migrate.log"' "migrate again is a no-op"

pf_collector_start
url1=$PF_COLLECTOR_URL
python3 - "$old_agent" >"$PF_TMP/old.json" <<'EOF'
import sys
sys.path.insert(0, __import__("os").environ["PF_HERE"])
import json
from collector_client import snapshot
print(json.dumps(snapshot(sys.argv[1], 1)))
EOF
code=$(pf_curl -o "$PF_TMP/old.out" -w '%{http_code}' -H "Authorization: Bearer $old_key" \
  -H 'Content-Type: application/json' --data-binary @"$PF_TMP/old.json" "$url1/v1/snapshots")
pf_check '[ "$code" = 200 ] && grep -q "\"accepted\":1" "$PF_TMP/old.out"' \
  "the agent enrolled before the upgrade posts with its old key ($code)"
read -r new_agent _ < <(pf_enroll NEW-01 hq machine-new)
pf_check '[ "$(pf_psql -c "select tenant from agents where agent_id = '"'$new_agent'"'")" = default ]' \
  "the --enroll-secret option enrolls into the default tenant"
code=$(pf_curl -o "$PF_TMP/hosts0.json" -w '%{http_code}' -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
  "$url1/v1/hosts")
pf_check '[ "$code" = 200 ] && grep -q "$old_agent" "$PF_TMP/hosts0.json" && grep -q "\"tenant\":\"default\"" "$PF_TMP/hosts0.json"' \
  "the --admin-token option reads as before (operator)"
code=$(pf_curl -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$url1/v1/tenants")
pf_check '[ "$code" = 200 ]' "the --admin-token option is an operator token (/v1/tenants: $code)"
pf_log "ok: an existing database migrated; its agent, secret and admin token keep working"

# ---- 2. a second collector on the same database, then the table ----
port2=$(pf_free_port)
"$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$port2" --cert "$PF_CERT" --key "$PF_KEY" \
  --db "$PF_DB" --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" \
  >>"$PF_TMP/collector2.log" 2>&1 &
pid2=$!
url2=https://127.0.0.1:$port2
pf_wait_for '[ "$(pf_curl -o /dev/null -w "%{http_code}" "$url2/readyz" 2>/dev/null)" = 200 ]' 60 \
  "the second collector is ready"
mkdir -p "$PF_TMP/out"
python3 "$here/tenants_isolation.py" "$url1" "$url2" "$PF_CA" "$PF_ADMIN_TOKEN" \
  "$PF_ENROLL_SECRET" "$PF_TMP/out" 2>&1 | tee "$PF_TMP/isolation.log" ||
  { kill "$pid2"; pf_fail "tenants_isolation.py"; }
grep -q "tenants_isolation: all checks passed" "$PF_TMP/isolation.log" ||
  { kill "$pid2"; pf_fail "tenants_isolation.py"; }
kill -TERM "$pid2"
wait "$pid2" || true
pid2=
pf_collector_stop || pf_fail "the collector did not stop on SIGTERM"

# ---- 3. no secret in any log line, page or URL ----
n=$(wc -l <"$PF_TMP/out/secrets.txt")
pf_check '[ "$n" -ge 30 ]' "the run handed out secrets to look for ($n)"
# The answers as the server sent them (not the test's own request line),
# without the places a secret must be: Set-Cookie (the session id) and the
# one answer that hands a new token, secret or node key out.
for f in "$PF_TMP"/out/answers/*; do tail -n +2 "$f"; echo; done |
  grep -v -i '^set-cookie:' |
  sed -E 's/"(token|admin_token|read_token|enroll_secret|node_key)":"[^"]*"//g' >"$PF_TMP/answers.txt"
found=0
while read -r s; do
  for f in "$PF_TMP"/collector.log "$PF_TMP"/collector2.log "$PF_TMP"/postgres.log \
    "$PF_TMP"/migrate.log "$PF_TMP"/answers.txt; do
    if grep -qF -- "$s" "$f"; then
      pf_log "secret ${s:0:8}... found in $(basename "$f")"
      found=$((found + 1))
    fi
  done
done <"$PF_TMP/out/secrets.txt"
pf_check '[ "$found" = 0 ]' "no secret in any log line or page ($found found)"
pf_check '! grep -q "token=" "$PF_TMP/collector.log" "$PF_TMP/collector2.log"' "no token= in the logs"
pf_log "ok: $n secrets, none in $(wc -l <"$PF_TMP/collector.log") + $(wc -l <"$PF_TMP/collector2.log") log lines or $(find "$PF_TMP/out/answers" -type f | wc -l) saved answers"
pf_log "tenants: all checks passed"
