#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_drain.sh: a body over the limit gets a 413 the client can read.
# The collector answers from the head alone, then drains what the client
# still sends (lingering close) within bounds. Real clients over real TLS
# that send the whole body before reading: Python's http.client and
# urllib, curl without Expect: 100-continue; each must read the 413 JSON,
# not a reset or an SSL EOF. Then the bounds: an endless body is cut at
# 16 MiB, a trickling one at 10 s, a silent one after 2 s without a byte;
# with --max-connections 4 only one connection drains at a time (the
# others are closed after their answer), and the collector keeps serving.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
client="python3 $here/collector_client.py"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start --max-connections 4
url=$PF_COLLECTOR_URL
read -r A1 K1 < <(pf_enroll HOST-1 nyc m-1)

# curl sends the body without waiting for 100 Continue.
head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$PF_TMP/big.json"
set +e
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' -H 'Expect:' -H "Authorization: Bearer $K1" \
  -H 'Content-Type: application/json' --data-binary "@$PF_TMP/big.json" "$url/v1/snapshots" \
  2>"$PF_TMP/curl.err")
rc=$?
set -e
pf_log "curl, 3 MiB body, no Expect: exit $rc, status $code, body $(cat "$PF_TMP/resp" 2>/dev/null) $(cat "$PF_TMP/curl.err")"
pf_check '[ $rc = 0 ] && [ "$code" = 413 ] && grep -q "\"too_large\"" "$PF_TMP/resp"' \
  "curl reads the 413 of a 3 MiB body it sent in full"

$client oversize "$url" "$PF_CA" "$K1" "$PF_ADMIN_TOKEN" --drain-cap-mib 16 --drain-time-s 10 \
  --drain-conns 1 --many 3 >&2 || pf_fail "oversize bodies: see above"

# Still serving, and a snapshot posted now is stored.
$client make "$A1" 1 >"$PF_TMP/s1.json"
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' -H "Authorization: Bearer $K1" \
  --data-binary "@$PF_TMP/s1.json" "$url/v1/snapshots")
pf_check '[ "$code" = 200 ]' "a normal snapshot after the drains"
pf_log "status: $(pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$url/v1/status")"
pf_log "PASS collector_drain"
