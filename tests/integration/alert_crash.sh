#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# alert_crash.sh: notifications with two collectors on one database, one of
# them killed while it sends, and a destination that never answers:
#   1. two collectors (both evaluating every second, both sending): every
#      notification reaches the receiver exactly once, and one destination
#      that refuses connections (nothing listens) is retried and counted in
#      /metrics without stopping either collector;
#   2. the receiver hangs; the collector holding the claimed row is killed
#      (SIGKILL) while its request is in flight; the other takes the row over
#      when the claim's lease ends: the notification arrives once or twice
#      (the hung request counted), never lost, and the rows behind it follow
#      in order;
#   3. both collectors restart: nothing is sent again, and a finding that
#      resolves afterwards is resolved (the state was not forgotten);
#   4. a critical finding last sent 25 hours ago (set in alert_state) is sent
#      again as `repeat`, once; a warning is not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/alert_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
C2_PID=
trap 'rc=$?; alert_cleanup_receivers; [ -n "$C2_PID" ] && kill -9 $C2_PID 2>/dev/null; pf_cleanup "$rc"' EXIT

pf_pg_init
pf_make_certs
pf_migrate
alert_receiver_start A
base=https://127.0.0.1:$RX_A_PORT
dead_port=$(pf_free_port) # nothing listens there
alert_opts=(--alert-interval 1 --alert-ca-file "$PF_CA" --alert-timeout 10 --alert-retry-max 3
  --alert-webhook "$base/json" --alert-webhook "https://127.0.0.1:$dead_port/nobody")
RX=$PF_TMP/rx-A.jsonl

c2_start() {
  C2_PORT=$(pf_free_port)
  "$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$C2_PORT" --cert "$PF_CERT" --key "$PF_KEY" \
    --db "$PF_DB" --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" \
    "${alert_opts[@]}" >>"$PF_TMP/collector2.log" 2>&1 &
  C2_PID=$!
  local i
  for i in $(seq 100); do
    [ "$(pf_curl -o /dev/null -w '%{http_code}' "https://127.0.0.1:$C2_PORT/readyz" 2>/dev/null)" = 200 ] && return 0
    sleep 0.2
  done
  pf_fail "second collector not ready"
}
pf_collector_start "${alert_opts[@]}"
c2_start
pf_log "collectors $PF_COLLECTOR_PID and $C2_PID on one database"

# The negative checks ("nothing more is sent") wait for the events that
# would send it, not for a time: an evaluation that began after SINCE (a
# database timestamp) committed, and no row for the receiver left unsent.
settled() {
  [ "$(pf_psql -c "select count(*) from alert_runs where evaluated_at > '$1'")" = 1 ] &&
    [ "$(pf_psql -c "select count(*) from alert_outbox where done_at is null and destination like '%/json'")" = 0 ]
}
db_now() { pf_psql -c "select now()"; }

# ---- 1. two collectors: each notification once ----
for i in 1 2 3 4; do
  pf_enroll TWO-$i two-$i machine-two-$i >/dev/null
done
alert_wait_count "$RX" 'b["status"]=="firing" and b["id"].startswith("redundancy/two-")' 4 60 >/dev/null
# redundancy, add_hosts and host_silent for each of four sites
distinct() {
  python3 -c 'import json,sys; print(len({(json.loads(l)["body"]["id"], json.loads(l)["body"]["status"]) for l in open(sys.argv[1])}))' "$RX"
}
pf_wait_for '[ "$(distinct)" -ge 12 ]' 60 "twelve notifications"
since=$(db_now)
pf_wait_for 'settled "$since"' 60 "an evaluation after the twelve notifications, and the outbox sent"
python3 - "$RX" <<'PY' || pf_fail "each notification exactly once with two collectors"
import collections, json, sys
c = collections.Counter((json.loads(l)["body"]["id"], json.loads(l)["body"]["status"]) for l in open(sys.argv[1]))
dup = {k: v for k, v in c.items() if v != 1}
assert not dup, dup
assert len(c) >= 12, c  # redundancy, add_hosts and host_silent for each of four sites
print("once each:", len(c), "notifications")
PY
evaluators=$(grep -h "alert: [0-9]* notification" "$PF_TMP/collector.log" "$PF_TMP/collector2.log" | wc -l)
senders1=$(grep -c 'alert: sent' "$PF_TMP/collector.log" || true)
senders2=$(grep -c 'alert: sent' "$PF_TMP/collector2.log" || true)
pf_log "deliveries by collector 1: $senders1, by collector 2: $senders2"
m=$(pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$PF_COLLECTOR_URL/metrics"; \
    pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "https://127.0.0.1:$C2_PORT/metrics")
dead_fail=$(echo "$m" | awk '/^portfleet_alert_delivery_failures_total\{destination="json:127.0.0.1#/ {s += $2} END {print s + 0}')
pf_check '[ "$dead_fail" -ge 1 ]' "/metrics counts the failures of the destination nobody listens on ($dead_fail)"
grep -q "alert: json:127.0.0.1#.* failed (attempt [0-9]*): Couldn't connect\|failed (attempt [0-9]*): .*onnect" \
  "$PF_TMP/collector.log" "$PF_TMP/collector2.log" || pf_fail "the unreachable destination is logged"
pf_check 'kill -0 $PF_COLLECTOR_PID && kill -0 $C2_PID' "an unreachable destination stops neither collector"

# ---- 2. killed while sending ----
echo hang >"$PF_TMP/rx-A.mode"
pf_enroll CRASH-1 crash machine-crash-1 >/dev/null
alert_wait_count "$RX" 'r["answer"]=="hang"' 1 60 >/dev/null
holder=$(pf_psql -c "select claimed_by from alert_outbox where done_at is null and claimed_until > now() and destination like '%/json' order by nid limit 1")
hung_id=$(pf_psql -c "select alert_id || ' ' || status from alert_outbox where done_at is null and claimed_until > now() and destination like '%/json' order by nid limit 1")
pid=${holder##*:}
[ -n "$pid" ] || pf_fail "no claimed row while the receiver hangs"
pf_log "collector $pid holds \"$hung_id\" and waits for the hung receiver: SIGKILL"
kill -9 "$pid"
if [ "$pid" = "$PF_COLLECTOR_PID" ]; then
  wait "$PF_COLLECTOR_PID" 2>/dev/null || true
  PF_COLLECTOR_PID=
  survivor=C2
else
  wait "$C2_PID" 2>/dev/null || true
  C2_PID=
  survivor=C1
fi
echo ok >"$PF_TMP/rx-A.mode"
t_kill=$SECONDS
for i in $(seq 240); do
  [ "$(pf_psql -c "select count(*) from alert_outbox where done_at is null and destination like '%/json'")" = 0 ] && break
  sleep 0.5
done
pf_check '[ "$(pf_psql -c "select count(*) from alert_outbox where done_at is null and destination like '"'%/json'"'")" = 0 ]' \
  "the surviving collector ($survivor) delivered the rows of the killed one"
pf_log "the survivor delivered everything $((SECONDS - t_kill)) s after the kill (claim lease 2 x 10 + 10 s)"
python3 - "$RX" "$hung_id" <<'PY' || pf_fail "the killed collector's notification: once or twice, never lost"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
aid, status = sys.argv[2].split(" ")
mine = [r for r in recs if r["body"]["id"] == aid and r["body"]["status"] == status]
ok = [r for r in mine if r["answer"] == "ok"]
assert len(ok) == 1 and 1 <= len(mine) <= 2, [(r["answer"]) for r in mine]
crash = [r["body"]["id"] for r in recs if r["answer"] == "ok" and "crash" in json.dumps(r["body"])]
print("seen %d times (%d answered); crash site notifications after it: %s" % (len(mine), len(ok), crash))
PY

# ---- 3. restart: no repeat, no forgetting ----
[ -n "$PF_COLLECTOR_PID" ] && pf_collector_stop
[ -n "$C2_PID" ] && { kill "$C2_PID"; wait "$C2_PID" 2>/dev/null || true; C2_PID=; }
n_before=$(wc -l <"$RX")
pf_collector_start "${alert_opts[@]}"
c2_start
since=$(db_now)
pf_wait_for 'settled "$since"' 60 "an evaluation after the restart"
n_after=$(wc -l <"$RX")
pf_check '[ "$n_before" = "$n_after" ]' "a restart sends nothing again ($n_before -> $n_after records)"
read -r AID KEY < <(pf_enroll LATE-1 late machine-late-1)
alert_wait_count "$RX" 'b["id"]=="host_silent/'"$AID"'" and b["status"]=="firing"' 1 30 >/dev/null
pf_collector_stop
kill "$C2_PID"; wait "$C2_PID" 2>/dev/null || true; C2_PID=
pf_collector_start "${alert_opts[@]}"
alert_post "$AID" "$KEY" 1 60 LATE-1 late
alert_wait_count "$RX" 'b["id"]=="host_silent/'"$AID"'" and b["status"]=="resolved"' 1 30 >/dev/null
# ---- 4. repeat: a critical finding last sent 25 hours ago is sent again ----
pf_psql -c "update alert_state set notified_at = now() - interval '25 hours' where id in ('redundancy/two-1', 'add_hosts/two-1')" >/dev/null
sev=$(pf_psql -c "select severity from alert_state where id = 'redundancy/two-1'")
pf_check '[ "$sev" = critical ]' "redundancy/two-1 is critical ($sev)"
alert_wait_count "$RX" 'b["id"]=="redundancy/two-1" and b["status"]=="repeat"' 1 30 >/dev/null
since=$(db_now)
pf_wait_for 'settled "$since"' 60 "an evaluation after the repeat"
warn_repeat=$(alert_count "$RX" 'b["id"]=="add_hosts/two-1" and b["status"]=="repeat"')
pf_check '[ "$warn_repeat" = 0 ]' "a warning is not repeated ($warn_repeat)"
repeats=$(alert_count "$RX" 'b["id"]=="redundancy/two-1" and b["status"]=="repeat"')
pf_check '[ "$repeats" = 1 ]' "the repeat is sent once, then the clock starts again ($repeats)"
pf_log "alert_crash: once each with two collectors; killed sender's row delivered by the other; restart neither repeats nor forgets"
