#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_slowloris.sh: 1,000 TLS connections each send one byte of a
# request head per second. The collector must close every one of them
# within the header timeout (10 s, the default), while an agent-like
# client on a keep-alive connection keeps getting every answer. A client
# that opens a new TLS connection every second is reported too; it must
# succeed again once the burst of handshakes is over.
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
python3 "$here/collector_client.py" slowloris "$PF_COLLECTOR_URL" "$PF_CA" 1000 10 ||
  pf_fail "slow connections not all closed in time, or the normal client failed"
timeouts=$(pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/v1/status" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["timeouts"]["header"])')
pf_check '[ "$timeouts" -ge 1000 ]' "the collector counted 1000 header timeouts (got $timeouts)"
pf_log "collector_slowloris: passed ($timeouts header timeouts counted)"
