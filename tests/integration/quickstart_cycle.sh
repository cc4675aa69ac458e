#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# quickstart_cycle.sh: ./deploy/quickstart.sh as an admin runs it, in a
# private network namespace, with the programs of this build
# (PF_QUICKSTART_BUILD, so it does not build again) and its state in a
# temporary directory (PF_QUICKSTART_DIR):
#  - start: the text report has the simulated sites with plans and
#    findings (seed 004's port_leak on DC-APP-01 among them) and this
#    host's site "quickstart"; the HTML report file is written; the local
#    webhook receiver got the notification of that leak; the live
#    /report answers the sign-in form without a token, 200 after signing in
#    with the printed read token, 401 with a token in the URL;
#    the agent of this host enrolled and pushed;
#  - start again (without stop): works, from an empty database again;
#  - stop: no process whose command line names the state directory, no
#    listening port of the quickstart, and PostgreSQL is down;
#  - stop again: still fine (nothing to stop).
# Needs root (PostgreSQL runs as the postgres user). PF_SOURCE_DIR is the
# checkout, PF_BUILD_DIR the build (ctest passes both).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
[ "$(id -u)" -eq 0 ] || { echo "quickstart_cycle: needs root" >&2; exit 77; }

src=${PF_SOURCE_DIR:?}
export PF_QUICKSTART_BUILD=${PF_BUILD_DIR:?}
qs=$(mktemp -d /tmp/pf-quickstart.XXXXXX)
chmod 755 "$qs"
export PF_QUICKSTART_DIR=$qs
cleanup() {
  local rc=$?
  "$src/deploy/quickstart.sh" stop >/dev/null 2>&1 || true
  if [ $rc -eq 0 ] || [ -z "${PF_KEEP_TMP:-}" ]; then rm -rf "$qs"; else pf_log "kept $qs"; fi
  return $rc
}
trap cleanup EXIT

check_report() { # the output of a start
  local out=$1
  pf_check 'grep -q "^== site dal ==" "$out" && grep -q "^== site quickstart ==" "$out"' \
    "the report names the simulated site dal and this host's site"
  pf_check 'grep -q "\[critical\] port_leak DC-APP-01: DnsFilterService.exe" "$out"' \
    "seed 004's leak is found on DC-APP-01"
  pf_check '[ "$(grep -c "^hosts [0-9]* ([0-9]* reporting), recommended" "$out")" -ge 10 ]' \
    "ten or more sites with a plan"
  pf_check 'grep -q "^  HTML report (file):  $qs/report.html" "$out"' "the report file is named"
  pf_check 'grep -q "Site dal" "$qs/report.html"' "the HTML report has the site"
  pf_check 'grep -q "href=\"site/dal.html\"" "$qs/report/index.html" && [ -f "$qs/report/site/dal.html" ]' \
    "the HTML pages are written, the overview links the site's page"
  pf_check 'grep -q "^  admin token:" "$out" && grep -q "quickstart.sh stop" "$out"' \
    "the admin token and the stop command are printed"
  pf_check 'grep -q "notifications sent to the local webhook receiver; firing now" "$out"' \
    "the notifications that arrived are printed"
  pf_check 'grep -q "\"kind\": \"port_leak\".*\"host\": \"DC-APP-01\"" "$qs/notifications.jsonl"' \
    "the local receiver got the notification of seed 004's leak"
}

t0=$SECONDS
"$src/deploy/quickstart.sh" >"$qs.out1" 2>&1 || { cat "$qs.out1" >&2; pf_fail "first start"; }
pf_log "first start: $((SECONDS - t0)) s"
mv "$qs.out1" "$qs/out1"
check_report "$qs/out1"

token=$(sed -n 's/^  admin token: *\([^ ]*\).*/\1/p' "$qs/out1")
read_token=$(sed -n 's/^  read token: *//p' "$qs/out1")
url=$(sed -n 's|^  HTML report (live): *\(https://[^/]*\)/report.*|\1|p' "$qs/out1")
pf_check '! grep -q "token=" "$qs/out1"' "no token in a printed URL"
# the browser's way: the sign-in form, then the session cookie
code=$(curl -s -o "$qs/form.html" -w '%{http_code}' --cacert "$qs/certs/ca.pem" "$url/report")
pf_check '[ "$code" = 401 ] && grep -q "action=\"/report/signin\"" "$qs/form.html"' \
  "GET /report without a token: the sign-in form (got $code)"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$qs/certs/ca.pem" -c "$qs/jar" \
  --data-urlencode "token=$read_token" "$url/report/signin")
pf_check '[ "$code" = 303 ]' "sign-in with the printed read token: 303 (got $code)"
code=$(curl -s -o "$qs/live.html" -w '%{http_code}' --cacert "$qs/certs/ca.pem" -b "$qs/jar" \
  "$url/report")
pf_check '[ "$code" = 200 ] && grep -q "data-site=\"dal\"" "$qs/live.html"' \
  "GET /report with the session: 200, the overview lists site dal"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$qs/certs/ca.pem" "$url/report?token=$token")
pf_check '[ "$code" = 401 ]' "GET /report?token=: refused (got $code)"
curl -s --cacert "$qs/certs/ca.pem" -H "Authorization: Bearer $token" "$url/v1/hosts" >"$qs/hosts.json"
pf_check 'grep -q "\"site\": *\"quickstart\"" "$qs/hosts.json"' "this host's agent reported"

t0=$SECONDS
"$src/deploy/quickstart.sh" >"$qs/out2" 2>&1 || { cat "$qs/out2" >&2; pf_fail "second start"; }
pf_log "second start: $((SECONDS - t0)) s"
check_report "$qs/out2"
pf_check '[ "$(sed -n "s/^  admin token: *\([^ ]*\).*/\1/p" "$qs/out2")" = "$token" ]' \
  "the second start keeps the secrets"

"$src/deploy/quickstart.sh" stop >"$qs/stop1" 2>&1 || { cat "$qs/stop1" >&2; pf_fail "stop"; }
pf_check '[ -z "$(pgrep -f "$qs/" || true)" ]' "no process names $qs after stop"
pf_check '[ -z "$(ss -ltnH)" ]' "no listening TCP port left in the namespace: $(ss -ltnH)"
pf_check '! runuser -u postgres -- /usr/lib/postgresql/*/bin/pg_ctl -D "$qs/pg/data" status >/dev/null' \
  "PostgreSQL is down"
"$src/deploy/quickstart.sh" stop >"$qs/stop2" 2>&1 || { cat "$qs/stop2" >&2; pf_fail "second stop"; }
pf_log "ok: start, start again, stop, stop again"
