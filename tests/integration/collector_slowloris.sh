#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_slowloris.sh: 1,000 TLS connections each send one byte of a
# request head per second (at most 100 of them shaking hands at once). The
# collector must close every one of them within the header timeout (10 s,
# the default; measured from the client's TCP connect, with 2 s and the
# client's own event-loop lag as slack), while an agent-like client on a
# keep-alive connection keeps getting every answer. A client that opens a
# new TLS connection every second is reported too; once the burst is over
# it must succeed again, five times in a row.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
ulimit -n 8192

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start --header-timeout 10

# the agent-like client, its own process: curl, one connection, two
# requests a second for 24 s
args=()
for _ in $(seq 48); do args+=(-o /dev/null "$PF_COLLECTOR_URL/healthz"); done
pf_curl --rate 2/s -w '%{http_code} %{time_total} %{num_connects}\n' "${args[@]}" \
  >"$PF_TMP/keepalive" &
curl_pid=$!
sleep 1
python3 "$here/collector_client.py" slowloris "$PF_COLLECTOR_URL" "$PF_CA" 1000 10 ||
  pf_fail "slow connections not all closed in time, or the new-connection client failed"
wait $curl_pid || pf_fail "keep-alive client: curl failed"
read -r ok connects p50 max < <(sort -k2 -n "$PF_TMP/keepalive" | awk '
  {n++; ok += $1 == 200; c += $3; t[n] = $2} END {print ok, c, t[int((n + 1) / 2)], t[n]}')
pf_log "keep-alive client: $ok of 48 answered 200 over $connects connection(s); latency median ${p50} s, max ${max} s"
pf_check '[ "$ok" = 48 ] && [ "$connects" = 1 ]' "every keep-alive request answered on one connection"
timeouts=$(pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/v1/status" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["timeouts"]["header"])')
pf_check '[ "$timeouts" -ge 1000 ]' "the collector counted 1000 header timeouts (got $timeouts)"
pf_log "collector_slowloris: passed ($timeouts header timeouts counted)"
