#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# alert_smtp.sh: email notifications through libcurl's SMTP against a real
# SMTP server (Debian's python3-aiosmtpd, tests/integration/alert_smtp_server.py),
# a tenant's own destinations (`portfleet-collector alert`), and the bad
# options that must exit 2:
#   1. loopback SMTP without TLS (allowed on loopback): each --alert-email-to
#      and the tenant's `alert add --email` recipient gets a multipart/alternative
#      message (text + HTML) saying what, where, when full, the first step and
#      the link;
#   2. a server on a non-loopback address (192.0.2.10 on this namespace's lo)
#      that does not offer STARTTLS gets nothing (no mail in the clear; the
#      failure is counted), and one that offers it gets the mail over TLS;
#   3. `alert add|list|remove` for a tenant's webhook: the webhook receives
#      the tenant's notifications; bad input exits 2 naming what is wrong;
#   4. serve with a non-https webhook, a bad severity or SMTP URL: exit 2,
#      the message names the option.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/alert_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
SMTP_PIDS=()
trap 'rc=$?; alert_cleanup_receivers; for p in "${SMTP_PIDS[@]}"; do kill $p 2>/dev/null; done; pf_cleanup "$rc"' EXIT

# ---- 4. bad options: exit 2 naming the option (no database needed) ----
bad() {
  local want=$1; shift
  set +e
  "$PF_COLLECTOR_BIN" serve --cert x --key y --db "dbname=none" --enroll-secret enroll-secret-0123456789 \
    --admin-token admin-token-0123456789 "$@" >"$PF_TMP/bad.out" 2>&1
  local code=$?
  set -e
  [ $code = 2 ] || { cat "$PF_TMP/bad.out" >&2; pf_fail "serve $* exited $code, not 2"; }
  grep -q -- "$want" "$PF_TMP/bad.out" || { cat "$PF_TMP/bad.out" >&2; pf_fail "message of serve $* lacks $want"; }
  pf_log "ok: serve $* -> 2: $(head -c 200 "$PF_TMP/bad.out")"
}
bad "option --alert-webhook" --alert-webhook http://hooks.example.com/x
bad "option --alert-webhook" --alert-webhook slack:hooks.example.com/x
bad "option --alert-min-severity" --alert-min-severity urgent
bad "option --alert-smtp-url" --alert-smtp-url mail.example.com:25 --alert-email-from a@example.com
bad "option --alert-smtp-url" --alert-smtp-url http://mail.example.com --alert-email-from a@example.com
bad "option --alert-email-to" --alert-smtp-url smtp://127.0.0.1 --alert-email-from a@example.com \
  --alert-email-to "not an address"
bad "option --alert-email-to needs --alert-smtp-url" --alert-email-to ops@example.com

pf_pg_init
pf_make_certs
pf_migrate
ip addr add 192.0.2.10/32 dev lo # this namespace only: a "remote" SMTP server
d=$PF_TMP/certs
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=192.0.2.10" \
  -keyout "$d/mx.key" -out "$d/mx.csr" 2>/dev/null
printf 'subjectAltName=IP:192.0.2.10\nextendedKeyUsage=serverAuth\n' >"$d/mx.cnf"
openssl x509 -req -in "$d/mx.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
  -extfile "$d/mx.cnf" -out "$d/mx.pem" 2>/dev/null

smtp_start() { # NAME ADDR [--starttls CERT KEY]; sets SMTP_<NAME>_PORT
  local name=$1 addr=$2 port
  shift 2
  port=$(pf_free_port)
  printf -v "SMTP_${name}_PORT" '%s' "$port"
  : >"$PF_TMP/smtp-$name.jsonl"
  "$PF_SYS_PY" "$here/alert_smtp_server.py" "$addr" "$port" "$PF_TMP/smtp-$name.jsonl" "$@" \
    >"$PF_TMP/smtp-$name.out" 2>&1 &
  SMTP_PIDS+=($!)
  local i
  for i in $(seq 100); do
    grep -q listening "$PF_TMP/smtp-$name.out" && return 0
    sleep 0.1
  done
  cat "$PF_TMP/smtp-$name.out" >&2
  pf_fail "SMTP server $name did not start"
}
smtp_start LO 127.0.0.1
smtp_start CLEAR 192.0.2.10
smtp_start TLS 192.0.2.10 --starttls "$d/mx.pem" "$d/mx.key"
alert_receiver_start T

# ---- 3. a tenant's own destinations, by command ----
C="$PF_COLLECTOR_BIN"
"$C" alert add --db "$PF_DB" --tenant default "teams:https://127.0.0.1:$RX_T_PORT/tenant-teams" | grep -q "^added teams:127.0.0.1#" ||
  pf_fail "alert add webhook"
"$C" alert add --db "$PF_DB" --tenant default --email tenant-ops@example.com >/dev/null || pf_fail "alert add --email"
"$C" alert add --db "$PF_DB" --tenant acme "https://127.0.0.1:$RX_T_PORT/acme" >/dev/null || pf_fail "alert add for acme"
"$C" alert add --db "$PF_DB" --tenant default "https://127.0.0.1:$RX_T_PORT/removed" >/dev/null
"$C" alert remove --db "$PF_DB" --tenant default "https://127.0.0.1:$RX_T_PORT/removed" | grep -q removed ||
  pf_fail "alert remove"
list=$("$C" alert list --db "$PF_DB")
pf_check '[ "$(echo "$list" | wc -l)" = 3 ]' "alert list shows the three destinations ($list)"
echo "$list" | grep -q "^acme	https://127.0.0.1:$RX_T_PORT/acme	" || pf_fail "alert list shows acme's webhook"
for args in "add --tenant default http://127.0.0.1/x" "add --tenant Bad_Name https://127.0.0.1/x" \
  "add --tenant default --email nope" "add --tenant default" "remove --tenant default https://127.0.0.1/none" \
  "frobnicate"; do
  set +e
  # shellcheck disable=SC2086
  "$C" alert $args --db "$PF_DB" >"$PF_TMP/cmd.out" 2>&1
  code=$?
  set -e
  want=2
  [ "${args%% *}" = remove ] && want=1
  [ $code = $want ] || { cat "$PF_TMP/cmd.out" >&2; pf_fail "alert $args exited $code, not $want"; }
  pf_log "ok: alert $args -> $code: $(head -c 160 "$PF_TMP/cmd.out")"
done

# ---- 1 + 2. email ----
pf_collector_start --alert-interval 1 --alert-ca-file "$PF_CA" --alert-timeout 4 --alert-retry-max 2 \
  --alert-smtp-url "smtp://127.0.0.1:$SMTP_LO_PORT" --alert-email-from portfleet@example.com \
  --alert-email-to ops@example.com --alert-email-to oncall@example.com
pid_lo=$PF_COLLECTOR_PID
pf_enroll MAIL-1 mail machine-mail-1 >/dev/null
alert_wait_count "$PF_TMP/smtp-LO.jsonl" '"redundancy" in r["data"]' 3 60 >/dev/null
alert_wait_count "$PF_TMP/rx-T.jsonl" 'r["path"]=="/tenant-teams" and "redundancy on mail" in json.dumps(b)' 1 30 >/dev/null
acme=$(alert_count "$PF_TMP/rx-T.jsonl" 'r["path"]=="/acme"')
pf_check '[ "$acme" = 0 ]' "another tenant's webhook gets none of the default tenant's notifications ($acme)"
python3 - "$PF_TMP/smtp-LO.jsonl" <<'PY' || pf_fail "the mails"
import email, email.policy, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
rcpts = sorted(r["to"][0] for r in recs if "redundancy" in r["data"])
assert rcpts[:3] == ["oncall@example.com", "ops@example.com", "tenant-ops@example.com"], rcpts
r = next(r for r in recs if "redundancy" in r["data"])
assert r["from"] == "portfleet@example.com"
m = email.message_from_string(r["data"], policy=email.policy.default)
assert m.get_content_type() == "multipart/alternative", m.get_content_type()
assert str(m["Subject"]).startswith("FIRING "), m["Subject"]
assert "redundancy on mail" in str(m["Subject"])
text = m.get_body(("plain",)).get_content()
html = m.get_body(("html",)).get_content()
for want in ("Where:", "site mail", "Range full:", "First step:", "/report/site/mail"):
    assert want in text, want
for want in ("<h2>", "Range full", "First step", 'href="https://'):
    assert want in html, want
print("mail ok:", m["Subject"])
PY
# ---- tenants: a tenant's destination gets its tenant's only; acks are per tenant ----
"$C" tenant add acme --db "$PF_DB" >"$PF_TMP/acme.json" || pf_fail "tenant add acme"
acme_secret=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["enroll_secret"])' "$PF_TMP/acme.json")
acme_admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' "$PF_TMP/acme.json")
PF_ENROLL_SECRET=$acme_secret pf_enroll ACME-1 mail machine-acme-1 >/dev/null # same site name as default's
alert_wait_count "$PF_TMP/rx-T.jsonl" 'r["path"]=="/acme" and b["id"]=="redundancy/mail" and b["tenant"]=="acme"' 1 60 >/dev/null
alert_wait_count "$PF_TMP/smtp-LO.jsonl" '"tenant acme" in r["data"]' 3 30 >/dev/null # the options' recipients get every tenant's
leak=$(alert_count "$PF_TMP/rx-T.jsonl" 'r["path"]!="/acme" and "acme" in json.dumps(b)')
pf_check '[ "$leak" = 0 ]' "the default tenant's webhook gets nothing of acme ($leak)"
other=$(alert_count "$PF_TMP/rx-T.jsonl" 'r["path"]=="/acme" and b["tenant"]!="acme"')
pf_check '[ "$other" = 0 ]' "acme's webhook gets nothing of the default tenant ($other)"
until=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
ack() { # TOKEN BODY -> status code
  pf_curl -o "$PF_TMP/ack.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' --data-binary "$2" "$PF_COLLECTOR_URL/v1/findings/ack"
}
code=$(ack "$acme_admin" '{"id":"redundancy/mail","until":"'"$until"'","comment":"acme only"}')
pf_check '[ "$code" = 200 ] && grep -q "\"tenant\":\"acme\"" "$PF_TMP/ack.out"' "acme's admin acknowledges in acme ($code)"
code=$(ack "$acme_admin" '{"id":"redundancy/mail","until":"'"$until"'","tenant":"default"}')
pf_check '[ "$code" = 404 ]' "acme's admin cannot acknowledge for the default tenant ($code)"
pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/v1/findings" >"$PF_TMP/findings-all.json"
python3 - "$PF_TMP/findings-all.json" <<'PY' || pf_fail "the acknowledgement is acme's finding's only"
import json, sys
fs = [f for f in json.load(open(sys.argv[1]))["findings"] if f["id"] == "redundancy/mail"]
by = {f["tenant"]: f["acknowledgement"] for f in fs}
assert by["acme"] and by["acme"]["comment"] == "acme only", by
assert by["default"] is None, by
PY
pf_log "ok: tenants: acme's webhook gets acme's, the options' recipients every tenant's; acks per tenant"

pf_collector_stop
python3 - "$PF_TMP/smtp-LO.jsonl" >"$PF_TMP/example-email.txt" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if "redundancy" in r["data"]:
        print(r["data"]); break
PY

if [ -n "${PF_ALERT_EXAMPLES:-}" ]; then cp "$PF_TMP/example-email.txt" "$PF_ALERT_EXAMPLES"/; fi

# no STARTTLS on a remote server: nothing sent in the clear
pf_collector_start --alert-interval 1 --alert-ca-file "$PF_CA" --alert-timeout 4 --alert-retry-max 2 \
  --alert-smtp-url "smtp://192.0.2.10:$SMTP_CLEAR_PORT" --alert-email-from portfleet@example.com \
  --alert-email-to ops@example.com
pf_enroll MAIL-2 mail2 machine-mail-2 >/dev/null
for i in $(seq 60); do
  grep -q "alert: email:ops@example.com failed" "$PF_TMP/collector.log" && break
  sleep 0.5
done
grep "alert: email:ops@example.com failed" "$PF_TMP/collector.log" | head -1 >&2 ||
  pf_fail "a remote SMTP server without STARTTLS is refused"
pf_check '[ ! -s "$PF_TMP/smtp-CLEAR.jsonl" ]' "no mail went to the server without STARTTLS"
fails=$(pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/metrics" |
  awk '/^portfleet_alert_delivery_failures_total\{destination="email:ops@example.com"\}/ {print $2}')
pf_check '[ "${fails:-0}" -ge 1 ]' "/metrics counts the refused SMTP deliveries ($fails)"
pf_collector_stop
pf_psql -c "update alert_outbox set done_at = now(), delivered = false where done_at is null" >/dev/null

# STARTTLS offered: the mail goes over TLS
pf_collector_start --alert-interval 1 --alert-ca-file "$PF_CA" --alert-timeout 4 --alert-retry-max 2 \
  --alert-smtp-url "smtp://192.0.2.10:$SMTP_TLS_PORT" --alert-email-from portfleet@example.com \
  --alert-email-to ops@example.com
pf_enroll MAIL-3 mail3 machine-mail-3 >/dev/null
alert_wait_count "$PF_TMP/smtp-TLS.jsonl" '"redundancy" in r["data"] and "mail3" in r["data"] and r["tls"]' 1 60 >/dev/null
clear=$(alert_count "$PF_TMP/smtp-TLS.jsonl" 'not r["tls"]')
pf_check '[ "$clear" = 0 ]' "every mail to the remote server went over STARTTLS ($clear did not)"
pf_log "alert_smtp: loopback plain, remote STARTTLS, remote without STARTTLS refused; tenant destinations; exit 2 on bad options"
