#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# capacity_cache.sh: the analyses the collector shares between requests
# (collector/capacity/analysis_cache.h) never answer after the data
# changed, whoever changed it, and never across tenants. A throwaway
# PostgreSQL, two collectors A and B on it over real TLS; every read goes
# to A, every write to B (or the `agent revoke` command), so A learns of
# no change from its own traffic. capacity_cache.py checks, for the
# analyses at an explicit ?now= and as of the wall clock, and for a host
# page's detail: a repeated question is shared (the cache's hit counter in
# /metrics moves, the answer is the same), then a new host, a new
# snapshot, a revoked agent and a new last push error each show in A's
# next answer; a tenant's token after the operator's request sees only
# its tenant, and the operator still sees all.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start --log-level debug
url_a=$PF_COLLECTOR_URL
port_b=$(pf_free_port)
url_b=https://127.0.0.1:$port_b
"$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$port_b" --cert "$PF_CERT" --key "$PF_KEY" \
  --db "$PF_DB" --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" \
  >>"$PF_TMP/collector_b.log" 2>&1 &
pid_b=$!
trap 'rc=$?; kill -TERM "$pid_b" 2>/dev/null || true; wait "$pid_b" 2>/dev/null || true; pf_cleanup "$rc"' EXIT
for _ in $(seq 150); do
  [ "$(pf_curl -o /dev/null -w '%{http_code}' "$url_b/readyz" 2>/dev/null)" = 200 ] && break
  sleep 0.2
done
pf_check '[ "$(pf_curl -o /dev/null -w "%{http_code}" "$url_b/readyz")" = 200 ]' "collector B ready"

export PF_DB PF_COLLECTOR_BIN
python3 "$here/capacity_cache.py" "$url_a" "$url_b" "$PF_CA" "$PF_ADMIN_TOKEN" \
  "$PF_ENROLL_SECRET" || { tail -n 30 "$PF_TMP/collector.log" >&2; pf_fail "capacity_cache.py"; }
pf_check 'grep -q "shared analysis" "$PF_TMP/collector.log"' "A's log names shared analyses"
pf_log "ok: shared analyses answer only while the data is unchanged, per tenant"
