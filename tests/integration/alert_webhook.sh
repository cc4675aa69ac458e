#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# alert_webhook.sh: notifications end to end with real components: a
# throwaway PostgreSQL, the real collector over TLS, real HTTPS receivers on
# loopback (tests/integration/alert_receiver.py) for the generic JSON, the
# Slack and the Teams format. A host posts snapshots whose interval is 2 s,
# so findings come and go within seconds:
#   1. posting starts: `redundancy` (one reporting host) fires, in all three
#      formats; the delay from the snapshot's 200 to the receiver is measured;
#   2. the host goes silent while the receiver refuses 3 attempts: host_silent
#      fires and redundancy rises to critical (previous_severity warning),
#      delivered after the refusals; /metrics counts the failures;
#   3. the receiver is down while the host comes back and goes silent again:
#      once it is up, it gets every notification, oldest first, none lost;
#   4. a receiver that hangs, answers 64 MiB, or trickles its answer: cut
#      off within --alert-timeout; ingest and /v1/findings stay fast
#      meanwhile (under 3 s by the collector's own clock: its log gives the
#      time from the whole request read to the answer);
#   5. POST /v1/findings/ack mutes an id (/v1/findings shows it): its
#      resolution is not sent; a bad ack answers 400.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/alert_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
trap 'rc=$?; alert_cleanup_receivers; pf_cleanup "$rc"' EXIT

pf_pg_init
pf_make_certs
pf_migrate
alert_receiver_start A
base=https://127.0.0.1:$RX_A_PORT
# the JSON receiver is the default tenant's own destination too: named
# twice, it must get each notification once
"$PF_COLLECTOR_BIN" alert add --db "$PF_DB" "$base/json" >>"$PF_TMP/alert-add.log" 2>&1 ||
  { cat "$PF_TMP/alert-add.log" >&2; pf_fail "alert add"; }
pf_collector_start --alert-interval 1 --alert-ca-file "$PF_CA" --alert-timeout 3 \
  --alert-retry-max 2 --alert-report-url https://portfleet.example:8443 \
  --alert-webhook "$base/json" --alert-webhook "slack:$base/slack" \
  --alert-webhook "teams:$base/teams" --log-level debug
RX=$PF_TMP/rx-A.jsonl
# no notification left to send, and (with SINCE, a database timestamp) an
# evaluation that began after SINCE committed: nothing more is coming
undone() { pf_psql -c "select count(*) from alert_outbox where done_at is null"; }
settled() {
  [ "$(undone)" = 0 ] &&
    { [ -z "${1:-}" ] || [ "$(pf_psql -c "select count(*) from alert_runs where evaluated_at > '$1'")" = 1 ]; }
}

# ---- 1. latency, then firing in three formats ----
# A finding appears the moment a host enrolls into a new site (redundancy:
# one host). From just before the enrollment to the receiver's clock.
for i in 1 2 3 4 5; do
  t0=$(date +%s.%N)
  pf_enroll LAT-$i lat-$i machine-lat-$i >/dev/null
  alert_wait_count "$RX" 'r["path"]=="/json" and b["id"]=="redundancy/lat-'$i'"' 1 30 >/dev/null
  python3 - "$RX" "$t0" "$i" >>"$PF_TMP/latency" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == "/json" and r["body"]["id"] == "redundancy/lat-" + sys.argv[3]:
        print(round(r["t"] - float(sys.argv[2]), 3)); break
PY
done
latency=$(sort -n "$PF_TMP/latency" | tr '\n' ' ')
# the rows of one notification are written in one transaction: all there
lat_rows() {
  pf_psql -c "select count(*) from alert_outbox where alert_id like 'redundancy/lat-%' and
              status = 'firing' and destination like '%/json' $1"
}
pf_check '[ "$(lat_rows "")" = 5 ]' \
  "a webhook that is a serve option and the tenant's destination: one row per notification ($(lat_rows "") for 5)"
pf_wait_for '[ "$(lat_rows "and done_at is null")" = 0 ]' 60 "the five notifications sent"
got=$(alert_count "$RX" 'r["path"]=="/json" and b["id"].startswith("redundancy/lat-") and b["status"]=="firing"')
pf_check '[ "$got" = 5 ]' "the receiver named twice got each of 5 notifications once ($got)"
pf_log "latency: finding appeared -> receiver saw it, 5 times (alert-interval 1 s): $latency s"

read -r AID KEY < <(pf_enroll ALERT-1 lab machine-alert-1)
alert_post "$AID" "$KEY" 1 2
alert_wait_count "$RX" 'r["path"]=="/json" and b["status"]=="firing" and b["id"]=="redundancy/lab"' 1 30 >/dev/null
alert_wait_count "$RX" 'r["path"]=="/slack" and "blocks" in b' 1 10 >/dev/null
alert_wait_count "$RX" 'r["path"]=="/teams" and b["type"]=="message"' 1 10 >/dev/null
python3 - "$RX" "$AID" <<'PY' || pf_fail "message contents"
import json, sys
rx, aid = sys.argv[1], sys.argv[2]
recs = [json.loads(l) for l in open(rx)]
j = next(r["body"] for r in recs if r["path"] == "/json" and r["body"]["id"] == "redundancy/lab")
assert j["status"] == "firing" and j["previous_severity"] is None, j
assert j["id"] == "redundancy/lab", j["id"]
assert j["tenant"] == "default"
assert j["report_url"] == "https://portfleet.example:8443/report/site/lab", j["report_url"]
assert j["finding"]["site"] == "lab" and j["finding"]["severity"] in ("warning", "critical")
assert j["sent_at"].endswith("Z")
s = next(r["body"] for r in recs if r["path"] == "/slack" and "redundancy on lab" in r["body"]["text"])
txt = json.dumps(s)
assert s["blocks"][0]["type"] == "header" and "redundancy" in s["blocks"][0]["text"]["text"]
for want in ("*Where*", "*Range full*", "*First step*", "Open the report", "report/site/lab"):
    assert want in txt, want
t = next(r["body"] for r in recs if r["path"] == "/teams" and "/site/lab" in json.dumps(r["body"]))
card = t["attachments"][0]
assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
c = card["content"]
assert c["type"] == "AdaptiveCard" and c["actions"][0]["url"].endswith("/report/site/lab")
facts = {f["title"]: f["value"] for f in c["body"][2]["facts"]}
for k in ("Where", "Range full", "First step"):
    assert k in facts, k
print("formats ok")
PY
for p in json slack teams; do
  python3 - "$RX" "$p" >"$PF_TMP/example-$p.json" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] == "/" + sys.argv[2] and "/site/lab" in json.dumps(r["body"]):
        print(json.dumps(r["body"], indent=1)); break
PY
done

# PF_ALERT_EXAMPLES=DIR keeps one message of each format there (for docs)
if [ -n "${PF_ALERT_EXAMPLES:-}" ]; then cp "$PF_TMP"/example-*.json "$PF_ALERT_EXAMPLES"/; fi

# ---- 2. refusals: severity rises while the receiver answers 503 ----
echo "refuse 3" >"$PF_TMP/rx-A.mode"
# no more snapshots: after 3 intervals (6 s) the host is silent
alert_wait_count "$RX" 'r["path"]=="/json" and r["answer"]=="ok" and b["finding"]["kind"]=="redundancy" and b.get("previous_severity")=="warning"' 1 60 >/dev/null
alert_wait_count "$RX" 'r["path"]=="/json" and r["answer"]=="ok" and b["finding"]["kind"]=="host_silent" and b["status"]=="firing"' 1 30 >/dev/null
refused=$(alert_count "$RX" 'r["answer"]=="refuse"')
pf_check '[ "$refused" = 3 ]' "three attempts refused ($refused)"
metrics=$(pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/metrics")
failures=$(echo "$metrics" | awk '/^portfleet_alert_delivery_failures_total/ {s += $2} END {print s + 0}')
pf_check '[ "$failures" -ge 3 ]' "/metrics counts the refused attempts ($failures)"
echo "$metrics" | grep -q 'portfleet_alert_delivery_failures_total{destination="json:127.0.0.1#' ||
  pf_fail "failures are labelled by destination without the URL"
echo "$metrics" | grep -q "$base/json" && pf_fail "a metric label shows the webhook URL"

# ---- 3. receiver down: nothing lost, oldest first ----
# section 2's slack and teams copies may still wait for their retry: the
# outbox must hold only this section's rows when the receiver stops
pf_wait_for '[ "$(undone)" = 0 ]' 60 "section 2's notifications delivered"
alert_receiver_stop A
pf_log "receiver down"
n_before=$(wc -l <"$RX")
seq=2
alert_post "$AID" "$KEY" $seq 2 # back: host_silent resolved, redundancy back to warning (not sent)
# silent again 6 s later: host_silent fires again; resolved and firing,
# three formats each, wait in the outbox
pf_wait_for '[ "$(undone)" -ge 6 ]' 60 "notifications wait in the outbox while the receiver is down"
down_rows=$(undone)
alert_receiver_start A
pf_log "receiver up again"
t_up=$SECONDS
for i in $(seq 60); do
  [ "$(pf_psql -c "select count(*) from alert_outbox where done_at is null")" = 0 ] && break
  sleep 0.5
done
pf_check '[ "$(pf_psql -c "select count(*) from alert_outbox where done_at is null")" = 0 ]' \
  "the outbox drains after the receiver is back"
pf_log "drained $down_rows rows within $((SECONDS - t_up)) s of the receiver coming back"
python3 - "$RX" "$n_before" <<'PY' || pf_fail "order after the outage"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
for path in ("/json", "/slack", "/teams"):
    got = [r for r in recs if r["path"] == path and r["answer"] == "ok"]
    assert len(got) >= 2, (path, len(got))
jsons = [r["body"] for r in recs if r["path"] == "/json" and r["answer"] == "ok"]
seq = [(b["status"], b["id"]) for b in jsons]
# resolved host_silent comes before its second firing
i = seq.index(("resolved", next(i for s, i in seq if i.startswith("host_silent/"))))
j = max(k for k, (s, i2) in enumerate(seq) if s == "firing" and i2.startswith("host_silent/"))
assert i < j, seq
print("order ok", seq)
PY
# every row delivered, each exactly as often as the receiver said 200 for it
undelivered=$(pf_psql -c "select count(*) from alert_outbox where delivered is not true")
pf_check '[ "$undelivered" = 0 ]' "every notification delivered ($undelivered not)"
rows=$(pf_psql -c "select count(*) from alert_outbox")
oks=$(alert_count "$RX" 'r["answer"]=="ok"')
pf_check '[ "$rows" = "$oks" ]' "each outbox row reached the receiver once ($rows rows, $oks answered 200)"

# ---- 4. hung, huge and slow answers ----
for mode in hang huge slow; do
  post_times=""
  nid0=$(pf_psql -c "select coalesce(max(nid), 0) from alert_outbox")
  echo "$mode" >"$PF_TMP/rx-A.mode"
  seq=$((seq + 1))
  alert_post "$AID" "$KEY" $seq 2   # host_silent resolves: 3 notifications
  t0=$(date +%s.%N)
  # meanwhile ingest and analysis answer as usual
  for k in 1 2 3; do
    seq=$((seq + 1))
    alert_post "$AID" "$KEY" $seq 2
    # the collector's own time (its log): curl's also holds this test's
    # and curl's scheduling, which a loaded machine stretches past 3 s
    ms=$(alert_answer_ms POST /v1/snapshots)
    [ "$ms" -lt 3000 ] ||
      pf_fail "the collector took $ms ms (over 3 s) to store a snapshot while the receiver is $mode"
    post_times="$post_times ${ms}ms(curl ${ALERT_POST_S}s)"
    sleep 0.5
  done
  ft=$(pf_curl -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
    "$PF_COLLECTOR_URL/v1/findings")
  fms=$(alert_answer_ms GET /v1/findings)
  [ "$fms" -lt 3000 ] || pf_fail "the collector took $fms ms for /v1/findings while $mode"
  ft="${fms}ms(curl ${ft}s)"
  if [ $mode = hang ]; then
    # the hung request is cut off by --alert-timeout, then the receiver answers
    pf_wait_for 'grep -q "Operation timed out\|Timeout was reached" "$PF_TMP/collector.log"' 60 \
      "the hung receiver was cut off by the timeout (log)"
    echo ok >"$PF_TMP/rx-A.mode"
  fi
  for i in $(seq 60); do
    [ "$(pf_psql -c "select count(*) from alert_outbox where done_at is null")" = 0 ] && break
    sleep 0.5
  done
  left=$(pf_psql -c "select count(*) from alert_outbox where done_at is null")
  took=$(pf_psql -c "select round(max(extract(epoch from done_at - created_at))::numeric, 2) from alert_outbox where nid > $nid0")
  pf_check '[ "$left" = 0 ]' "delivered despite a receiver that answers $mode ($left left)"
  pf_log "receiver $mode: its notifications delivered within ${took} s of being queued; meanwhile snapshots took$post_times, /v1/findings $ft"
  # silent again before the next round (its snapshot resolves host_silent)
  pf_wait_for '[ "$(pf_psql -c "select count(*) from alert_state where id = '"'host_silent/\$AID'"'")" = 1 ]' \
    60 "host_silent fires again before the next round"
done
grep -q "Operation timed out\|Timeout was reached" "$PF_TMP/collector.log" ||
  pf_fail "the hung receiver was cut off by the timeout (log)"

# ---- 5. acknowledgement ----
id=$(pf_psql -c "select id from alert_state where id = 'host_silent/$AID'")
[ -n "$id" ] || pf_fail "host_silent is firing before the ack"
until=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
code=$(pf_curl -o "$PF_TMP/ack.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
  -H 'Content-Type: application/json' --data-binary "{\"id\":\"$id\",\"until\":\"$until\",\"comment\":\"rebooting\"}" \
  "$PF_COLLECTOR_URL/v1/findings/ack")
pf_check '[ "$code" = 200 ]' "ack answers 200 ($code: $(cat "$PF_TMP/ack.json"))"
code=$(pf_curl -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer wrong-token-wrong-token" \
  -H 'Content-Type: application/json' --data-binary "{\"id\":\"$id\",\"until\":\"$until\"}" \
  "$PF_COLLECTOR_URL/v1/findings/ack")
pf_check '[ "$code" = 401 ]' "ack without the admin token: 401 ($code)"
for bad in '{"id":"x"}' '{"id":"","until":"2030-01-01T00:00:00Z"}' '{"id":"x","until":"tomorrow"}' '[1]' \
  '{"id":"x","until":"2030-01-01T00:00:00Z","comment":7}'; do
  code=$(pf_curl -o "$PF_TMP/bad.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
    -H 'Content-Type: application/json' --data-binary "$bad" "$PF_COLLECTOR_URL/v1/findings/ack")
  pf_check '[ "$code" = 400 ]' "bad ack $bad answers 400 ($code)"
done
pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/v1/findings" >"$PF_TMP/findings.json"
python3 - "$PF_TMP/findings.json" "$id" <<'PY' || pf_fail "/v1/findings shows the acknowledgement"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["id"] == sys.argv[2]]
assert f and f[0]["acknowledgement"]["comment"] == "rebooting", f
others = [f for f in d["findings"] if f["id"] != sys.argv[2]]
assert all(o["acknowledgement"] is None for o in others)
PY
n_before=$(alert_count "$RX" 'b.get("id")=="'"$id"'"')
seq=$((seq + 1))
since=$(pf_psql -c "select now()")
alert_post "$AID" "$KEY" $seq 2 # host_silent would resolve: muted
pf_wait_for 'settled "$since"' 60 "an evaluation after the snapshot, and the outbox sent"
n_after=$(alert_count "$RX" 'b.get("id")=="'"$id"'"')
pf_check '[ "$n_before" = "$n_after" ]' "an acknowledged id sends nothing ($n_before -> $n_after)"
pf_check 'kill -0 $PF_COLLECTOR_PID' "the collector kept running"

# ---- 6. the metrics deploy/prometheus/portfleet-rules.yml reads exist ----
pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/metrics" >"$PF_TMP/metrics.txt"
for name in $(grep -o 'portfleet_[a-z_]*' "$here/../../deploy/prometheus/portfleet-rules.yml" | sort -u); do
  grep -Eq "^(# TYPE )?$name[{ ]" "$PF_TMP/metrics.txt" || pf_fail "the rules read $name, which /metrics lacks"
done
# and with the database down /metrics still answers, saying so
pf_wait_for settled 60 "every notification sent before the outage"
n0=$(alert_count "$RX" 'b.get("id")=="redundancy/lab" and b["status"]=="firing"')
pf_pg_stop
pf_wait_for 'code=$(pf_curl -o "$PF_TMP/metrics-down.txt" -w "%{http_code}" -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/metrics"); [ "$code" = 200 ] && grep -q "^portfleet_db_up 0$" "$PF_TMP/metrics-down.txt"' \
  60 "/metrics answers portfleet_db_up 0 while the database is down"
pf_pg_start
pf_wait_ready 30
seq=$((seq + 1))
alert_post "$AID" "$KEY" $seq 2
# silent again 6 s later: redundancy rises again, sent after the outage
alert_wait_count "$RX" 'b.get("id")=="redundancy/lab" and b["status"]=="firing"' $((n0 + 1)) 30 >/dev/null
pf_log "alert_webhook: latency ${latency} s; refusals, outage, hang/huge/slow, ack: ok"
