#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fleet_mirror.sh: analyses served from the fleet mirror
# (collector/store/fleet_mirror.h) are the same bytes as analyses loaded in
# full. A throwaway PostgreSQL and two collectors on it over real TLS: A as
# deployed (the mirror on), R with --analysis-mirror 0. Every write goes
# through R, psql or the commands. fleet_mirror.py compares A's and R's
# /v1/findings, /v1/plan and /v1/hosts after: 40 hours of history posted
# late, the current hour ingested, a spool drained 9 hours late, old host
# and process hours rewritten in SQL, an old hour deleted, a late
# snapshot's queued processes, a revoked agent, a second tenant (scoped
# requests, its own token), the window sliding an hour forward and three
# back, a TRUNCATE (a full reload); then drops sql/150's trigger and checks
# that the comparison now fails on a late change.
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
port_r=$(pf_free_port)
url_r=https://127.0.0.1:$port_r
"$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$port_r" --cert "$PF_CERT" --key "$PF_KEY" \
  --db "$PF_DB" --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" \
  --analysis-mirror 0 --log-level debug >>"$PF_TMP/collector_r.log" 2>&1 &
pid_r=$!
trap 'rc=$?; kill -TERM "$pid_r" 2>/dev/null || true; wait "$pid_r" 2>/dev/null || true; pf_cleanup "$rc"' EXIT
for _ in $(seq 150); do
  [ "$(pf_curl -o /dev/null -w '%{http_code}' "$url_r/readyz" 2>/dev/null)" = 200 ] && break
  sleep 0.2
done
pf_check '[ "$(pf_curl -o /dev/null -w "%{http_code}" "$url_r/readyz")" = 200 ]' "collector R ready"

export PF_DB PF_COLLECTOR_BIN PF_TMP
python3 "$here/fleet_mirror.py" "$url_a" "$url_r" "$PF_CA" "$PF_ADMIN_TOKEN" \
  "$PF_ENROLL_SECRET" || { tail -n 30 "$PF_TMP/collector.log" >&2; pf_fail "fleet_mirror.py"; }
pf_check '! grep -q "(mirror)" "$PF_TMP/collector_r.log"' "R (--analysis-mirror 0) never used a mirror"
pf_log "ok: the mirror's analyses equal full loads through ingest, late rows, revocation, tenants and hour slides"
