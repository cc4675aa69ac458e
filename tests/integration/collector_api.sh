#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_api.sh: the collector's API over real TLS (curl, OpenSSL) into
# a throwaway PostgreSQL, inside a private network namespace:
# migrate (twice), enrollment (clones get distinct ids, bad secret 401),
# ingest (rows read back, NULL for unmeasured, resend = duplicates, batch
# with an in-batch repeat, late snapshot lands in its day's partition,
# expired and future snapshots), a row the database refuses inside the
# transaction (500 for that request alone, nothing of it kept, the others
# of its group stored), 401/403, every validation rejection with
# its field path, 404/405/411/413/431, admin token, keep-alive reuse, and
# garbage / plain HTTP on the TLS port while the server keeps serving.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
pid2= pid3=
trap 'rc=$?; for p in $pid2 $pid3; do kill "$p" 2>/dev/null; done; pf_cleanup "$rc"' EXIT
client="python3 $here/collector_client.py"

pf_pg_init
pf_make_certs
pf_migrate
pf_migrate
pf_check '[ "$(grep -c "applied now" "$PF_TMP/migrate.log")" = 2 ]' "migrate ran twice"
pf_check 'grep -q "(0 migrations applied now)" "$PF_TMP/migrate.log"' "second migrate is a no-op"
pf_check '[ "$(pf_psql -c "select count(*) from schema_migrations")" -ge 2 ]' "versions recorded"
# retention: an old day's partitions and keys exist before the collector
# starts; its first maintenance pass drops them and creates the days ahead
old_day=$(date -u -d '40 days ago' +%Y-%m-%d)
pf_psql -c "select pf_ensure_partition('$old_day')" >/dev/null
pf_psql -c "insert into snapshot_seqs values (gen_random_uuid(), 1, '$old_day 12:00Z')" >/dev/null
pf_collector_start --retention-days 30
url=$PF_COLLECTOR_URL
old_part=snapshot_data_p$(date -u -d '40 days ago' +%Y%m%d)
ahead_part=snapshot_data_p$(date -u -d '3 days' +%Y%m%d)
# the log line comes once the pass has dropped and deleted what it drops
pf_wait_for 'grep -q "retention: dropped 1 partition tables" "$PF_TMP/collector.log"' 60 \
  "retention's first pass logged"
pf_check '[ -z "$(pf_psql -c "select to_regclass('"'"'$old_part'"'"')")" ]' "retention dropped $old_part"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_seqs where taken_at < now() - interval '"'"'35 days'"'"'")" = 0 ]' \
  "retention deleted the old dedup keys"
pf_check '[ -n "$(pf_psql -c "select to_regclass('"'"'$ahead_part'"'"')")" ]' "partition $ahead_part ready"
pf_check 'grep -q "retention: dropped 1 partition tables" "$PF_TMP/collector.log"' "retention logged"
pf_log "ok: retention dropped $old_part, $ahead_part is ready"

# post PATH BODYFILE [BEARER] -> sets $code and $body
post() {
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' -X POST "${auth[@]}" \
    -H 'Content-Type: application/json' --data-binary "@$2" "$url$1")
  body=$(cat "$PF_TMP/resp")
}
expect() { # STATUS SUBSTRING WHAT
  [ "$code" = "$1" ] || pf_fail "$3: status $code, expected $1 (body: $body)"
  case "$body" in *"$2"*) ;; *) pf_fail "$3: body lacks '$2': $body" ;; esac
  pf_log "ok: $3 -> $code $body"
}

# ---- health ----
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' "$url/healthz"); body=$(cat "$PF_TMP/resp")
expect 200 '"ok"' "GET /healthz"

# ---- enrollment ----
printf '{"enroll_secret":"wrong-secret-wrong-secret","host":{"name":"H","site":"s","machine_id":"m"}}' \
  >"$PF_TMP/bad_enroll.json"
post /v1/enroll "$PF_TMP/bad_enroll.json"
expect 401 '"bad_secret"' "enroll with a wrong secret"
printf '{"enroll_secret":"%s","host":{"site":"s"}}' "$PF_ENROLL_SECRET" >"$PF_TMP/noname.json"
post /v1/enroll "$PF_TMP/noname.json"
expect 400 'host.name' "enroll without host.name"

read -r A1 K1 < <(pf_enroll CONN-NYC-01 nyc clone-machine-id)
read -r A2 K2 < <(pf_enroll CONN-NYC-01 nyc clone-machine-id)
pf_check '[ "$A1" != "$A2" ] && [ "$K1" != "$K2" ]' "cloned hosts get distinct agent ids and keys"
pf_check '[ ${#K1} -ge 32 ]' "node key has at least 128 bits of hex"
pf_check '[ "$(pf_psql -c "select count(*) from agents where machine_id = '"'"'clone-machine-id'"'"'")" = 2 ]' \
  "both clones stored"
pf_check '[ "$(pf_psql -c "select count(*) from agents where encode(node_key_hash, '"'"'hex'"'"') = '"'"'$K1'"'"'")" = 0 ]' \
  "the node key itself is not stored"
pf_log "ok: clones enrolled as $A1 and $A2"

# ---- ingest ----
$client make "$A1" 1 --procs 20 --remotes 20 >"$PF_TMP/s1.json"
post /v1/snapshots "$PF_TMP/s1.json" "$K1"
expect 200 '{"accepted":1,"duplicates":0}' "first snapshot"
post /v1/snapshots "$PF_TMP/s1.json" "$K1"
expect 200 '{"accepted":0,"duplicates":1}' "the same snapshot again"
pf_check '[ "$(pf_psql -c "select count(*) from snapshots where agent_id = '"'"'$A1'"'"'")" = 1 ]' \
  "one snapshot row"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_processes where agent_id = '"'"'$A1'"'"'")" = 20 ]' \
  "20 process rows"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_remotes where agent_id = '"'"'$A1'"'"'")" = 20 ]' \
  "20 remote rows"
row=$(pf_psql -c "select host_name, site, seq, usable_tcp4, tcp_time_wait, tcp_bound is null, \
  roles[1], top_dest_addr, ev_tcpip_4227 is null from snapshots where agent_id = '$A1'")
pf_check '[ "$row" = "CONN-NYC-01|nyc|1|16284|0|f|entra-connector|10.0.0.5|f" ]' "row read back: $row"
row=$(pf_psql -c "select name, tcp_ports, pid from snapshot_processes where agent_id = '$A1' and rank = 3")
pf_check '[ "$row" = "proc3.exe|97|1003" ]' "process row read back: $row"
pf_log "ok: rows read back"

# unmeasured values are stored as NULL, not 0
python3 - "$A1" >"$PF_TMP/s2.json" <<EOF
import json, sys
sys.path.insert(0, "$here")
from collector_client import snapshot
d = snapshot(sys.argv[1], 2)
del d["tcp"]["states"]["bound"]
d.pop("events")
d["unmeasured"] = ["tcp.states.bound", "events"]
print(json.dumps(d))
EOF
post /v1/snapshots "$PF_TMP/s2.json" "$K1"
expect 200 '"accepted":1' "snapshot with unmeasured fields"
row=$(pf_psql -c "select tcp_bound is null, ev_tcpip_4231 is null, tcp_listen is null, \
  array_to_string(unmeasured, ',') from snapshots where agent_id = '$A1' and seq = 2")
pf_check '[ "$row" = "t|t|f|tcp.states.bound,events" ]' "unmeasured stored as NULL: $row"

# a batch: two new, one already stored, one repeated inside the batch, and
# a late one (5 days old) that must land in its own day's partition
python3 - "$A1" >"$PF_TMP/batch.json" <<EOF
import json, sys, datetime
sys.path.insert(0, "$here")
from collector_client import snapshot
a = sys.argv[1]
late = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=5)
print(json.dumps({"snapshots": [snapshot(a, 3), snapshot(a, 1), snapshot(a, 4), snapshot(a, 3),
                                snapshot(a, 5, taken_at=late)]}))
EOF
post /v1/snapshots "$PF_TMP/batch.json" "$K1"
expect 200 '{"accepted":3,"duplicates":2}' "batch with repeats"
part=$(pf_psql -c "select tableoid::regclass from snapshot_data where agent_id = '$A1' and seq = 5")
want_part=snapshot_data_p$(date -u -d '5 days ago' +%Y%m%d)
pf_check '[ "$part" = "$want_part" ]' "late snapshot in partition $want_part (got $part)"
pf_log "ok: late snapshot stored in $part"

# older than the retention window: counted as expired, not stored
$client make "$A1" 6 --age-days 40 >"$PF_TMP/old.json"
post /v1/snapshots "$PF_TMP/old.json" "$K1"
expect 200 '"expired":1' "snapshot older than retention"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_seqs where agent_id = '"'"'$A1'"'"' and seq = 6")" = 0 ]' \
  "expired snapshot not stored"

# ---- the database refuses a row in the transaction's last step ----
# A trigger on host_latest (written with COMMIT, in one pipeline) refuses
# host REFUSE-ME. That request gets 500 and nothing of it stays; the
# connection is rolled back and serves the next request; requests that
# shared its transaction are stored again without it.
read -r A9 K9 < <(pf_enroll REFUSE-ME nyc refuse-machine-id)
pf_psql -c "create function test_refuse() returns trigger language plpgsql as \$\$
  begin if new.name = 'REFUSE-ME' then raise exception 'test: refused' using errcode = '22023';
  end if; return new; end \$\$" >/dev/null
pf_psql -c "create trigger test_refuse before insert or update on host_latest for each row
  execute function test_refuse()" >/dev/null
refuse_body() { # SEQ
  python3 - "$A9" "$1" <<EOF
import json, sys
sys.path.insert(0, "$here")
from collector_client import snapshot
d = snapshot(sys.argv[1], int(sys.argv[2]))
d["host"]["name"] = "REFUSE-ME"
print(json.dumps(d))
EOF
}
stored_of() { # AGENT: rows of it in every table ingest writes
  pf_psql -c "select (select count(*) from snapshot_seqs where agent_id = '$1') || '/' ||
    (select count(*) from snapshots where agent_id = '$1') || '/' ||
    (select count(*) from snapshot_processes where agent_id = '$1') || '/' ||
    (select count(*) from process_hours_queue where agent_id = '$1') || '/' ||
    (select count(*) from host_hours where agent_id = '$1')"
}
refuse_body 1 >"$PF_TMP/refuse1.json"
post /v1/snapshots "$PF_TMP/refuse1.json" "$K9"
expect 500 '"internal"' "a row the database refuses"
pf_check '[ "$(stored_of "$A9")" = 0/0/0/0/0 ]' "nothing of the refused request stored ($(stored_of "$A9"))"
pf_check 'grep -q "test: refused" "$PF_TMP/collector.log"' "the refusal logged"
$client make "$A1" 20 >"$PF_TMP/s20.json"
post /v1/snapshots "$PF_TMP/s20.json" "$K1"
expect 200 '{"accepted":1,"duplicates":0}' "the next request after a refusal"
# eight at once, one refused: whatever groups they form, seven are stored
refuse_body 2 >"$PF_TMP/refuse2.json"
pids=()
for q in 21 22 23 24 25 26 27; do
  $client make "$A1" "$q" >"$PF_TMP/g$q.json"
done
for q in 21 22 23 24 25 26 27; do
  pf_curl -o "$PF_TMP/gr$q" -w '%{http_code}' -X POST -H "Authorization: Bearer $K1" \
    -H 'Content-Type: application/json' --data-binary "@$PF_TMP/g$q.json" \
    "$url/v1/snapshots" >"$PF_TMP/gc$q" &
  pids+=($!)
done
pf_curl -o "$PF_TMP/grr" -w '%{http_code}' -X POST -H "Authorization: Bearer $K9" \
  -H 'Content-Type: application/json' --data-binary "@$PF_TMP/refuse2.json" \
  "$url/v1/snapshots" >"$PF_TMP/gcr" &
pids+=($!)
wait "${pids[@]}"
for q in 21 22 23 24 25 26 27; do
  pf_check '[ "$(cat "$PF_TMP/gc$q")" = 200 ]' "grouped request seq $q: $(cat "$PF_TMP/gc$q") $(cat "$PF_TMP/gr$q")"
done
pf_check '[ "$(cat "$PF_TMP/gcr")" = 500 ]' "the refused one of the eight: $(cat "$PF_TMP/gcr")"
pf_check '[ "$(pf_psql -c "select count(*) from snapshots where agent_id = '"'"'$A1'"'"' and seq between 20 and 27")" = 8 ]' \
  "the other seven stored"
pf_check '[ "$(stored_of "$A9")" = 0/0/0/0/0 ]' "still nothing of the refused host"
pf_psql -c "drop trigger test_refuse on host_latest" >/dev/null
post /v1/snapshots "$PF_TMP/refuse1.json" "$K9"
expect 200 '{"accepted":1,"duplicates":0}' "the refused snapshot once the database takes it"
pf_check '[ "$(stored_of "$A9")" = 1/1/1/1/1 ] || [ "$(stored_of "$A9")" = 1/1/1/0/1 ]' \
  "stored whole now ($(stored_of "$A9"))"

# ---- authentication of snapshots ----
post /v1/snapshots "$PF_TMP/s1.json"
expect 401 '"node_invalid"' "no bearer"
post /v1/snapshots "$PF_TMP/s1.json" "0123456789abcdef0123456789abcdef"
expect 401 '"node_invalid"' "unknown node key"
post /v1/snapshots "$PF_TMP/s1.json" "$K2"
expect 403 '"wrong_agent"' "A1's snapshot with A2's key"
python3 - "$A1" "$A2" >"$PF_TMP/mixed.json" <<EOF
import json, sys
sys.path.insert(0, "$here")
from collector_client import snapshot
print(json.dumps({"snapshots": [snapshot(sys.argv[1], 10), snapshot(sys.argv[2], 11)]}))
EOF
post /v1/snapshots "$PF_TMP/mixed.json" "$K1"
expect 403 'snapshots[1].agent_id' "batch with another agent's snapshot"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_seqs where seq in (10, 11)")" = 0 ]' \
  "nothing of a refused batch stored"
# a revoked key never used before its revocation (a cached one:
# collector_revoke.sh)
read -r A3 K3 < <(pf_enroll CONN-NYC-03 nyc machine-3)
pf_psql -c "update agents set revoked_at = now() where agent_id = '$A3'" >/dev/null
$client make "$A3" 1 >"$PF_TMP/a3.json"
post /v1/snapshots "$PF_TMP/a3.json" "$K3"
expect 401 '"node_invalid"' "revoked key"

# ---- validation: each rejection names its field path ----
# NAME | python mutation of d (a single snapshot) or b (a batch) | expected path
# (one python process posts them all: collector_client.py rejections)
rejected() { cat "$PF_TMP/rejections.log" >&2; pf_fail "a rejection without its field path"; }
$client rejections "$url" "$PF_CA" "$K1" "$A1" <<'CASES' >"$PF_TMP/rejections.log" 2>&1 || rejected
negative bound|d["tcp"]["states"]["bound"] = -1|tcp.states.bound:
fractional ports|d["processes"][0]["tcp_ports"] = 1.5|processes[0].tcp_ports:
missing seq|del d["seq"]|seq:
wrong schema|d["schema"] = "portfleet.snapshot.v0"|schema:
bad taken_at|d["taken_at"] = "yesterday"|taken_at:
port zero|d["remotes"][0]["port"] = 0|remotes[0].port:
address not numeric|d["tcp"]["top_destination"]["addr"] = "example.com"|tcp.top_destination.addr:
range past 65535|d["ranges"][0]["count"] = 20000|ranges[0]
host name missing|del d["host"]["name"]|host.name:
string for a count|d["udp"]["endpoints"] = "12"|udp.endpoints:
too many processes|d["processes"] = d["processes"] * 51|processes:
batch element invalid|b["snapshots"][2]["interval_s"] = 0; out = b|snapshots[2].interval_s:
batch over 1000|m = {k: v for k, v in d.items() if k not in ("processes", "remotes", "vpn", "events", "excluded", "agent_stats")}; out = {"snapshots": [m] * 1001}|snapshots:
empty batch|out = {"snapshots": []}|snapshots:
future taken_at|d["taken_at"] = "2099-01-01T00:00:00Z"|taken_at:
batch future taken_at|b["snapshots"][1]["taken_at"] = "2099-01-01T00:00:00Z"; out = b|snapshots[1].taken_at:
not an object|out = [1, 2]|body:
null seq (required)|d["seq"] = None|seq:
null host name (required)|d["host"]["name"] = None|host.name:
null tcp (required section)|d["tcp"] = None|tcp:
null process pid (required)|d["processes"][0]["pid"] = None|processes[0].pid:
null batch element|b["snapshots"][1] = None; out = b|snapshots[1]:
null role|d["host"]["roles"] = ["a", None]|host.roles[1]:
negative CPU|d["resources"] = {"cpu_pct": -1}|resources.cpu_pct:
CPU over 100|d["resources"] = {"cpu_pct": 50, "cpu_pct_peak": 100.5}|resources.cpu_pct_peak:
CPU average over 100|d["resources"] = {"cpu_pct": 101}|resources.cpu_pct:
memory above the host's|d["host"]["memory_mb"] = 8192; d["resources"] = {"memory_used_mb": 9000}|resources.memory_used_mb: above host.memory_mb (8192)
VPN ports in use above configured|d["vpn"]["ports"] = [{"protocol": "ikev2", "configured": 128, "in_use": 129}]|vpn.ports[0].in_use: above configured (128)
pool in use above its size|d["vpn"]["address_pool"] = {"size": 500, "in_use": 501}|vpn.address_pool.in_use: above size (500)
sessions without a source|d["sessions"] = {"tcp_active": 5}|sessions.source:
CASES
sed "s/^/$(date -u +%H:%M:%S) /" "$PF_TMP/rejections.log" >&2
printf '{"schema": "portfleet.snapshot.v1", ' >"$PF_TMP/bad.json"
post /v1/snapshots "$PF_TMP/bad.json" "$K1"
expect 400 '"invalid"' "truncated JSON"
python3 -c 'print("[" * 100 + "]" * 100)' >"$PF_TMP/bad.json"
post /v1/snapshots "$PF_TMP/bad.json" "$K1"
expect 400 '"invalid"' "nesting 100 deep"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_seqs where seq >= 100")" = 0 ]' \
  "no rejected snapshot stored"

# ---- JSON null: an optional field or section sent as null is absent ----
# (docs/protocol.md section 2), at any depth, in a single snapshot and a batch.
python3 - "$A1" >"$PF_TMP/nulls.json" <<EOF
import json, sys
sys.path.insert(0, "$here")
from collector_client import snapshot
d = snapshot(sys.argv[1], 90)
h = d["host"]
h["machine_id"] = h["os_version"] = h["cpus"] = h["memory_mb"] = None
d["excluded"] = None
d["tcp"]["top_destination"] = None
p = d["processes"][0]
p["service"] = p["top_remote"] = None
p["states"] = {"established": None, "bound": 3}
d["remotes"] = d["events"] = d["unmeasured"] = None
d["vpn"]["ike_num_established_for_initial_query"] = None
d["agent_stats"]["last_push_error"] = None
d["resources"] = d["sessions"] = None
e = snapshot(sys.argv[1], 91)
e["vpn"] = e["agent_stats"] = e["processes"] = None
print(json.dumps(d))
open("$PF_TMP/nulls_batch.json", "w").write(json.dumps({"snapshots": [e]}))
EOF
post /v1/snapshots "$PF_TMP/nulls.json" "$K1"
expect 200 '"accepted":1' "snapshot with optional fields null at every depth"
post /v1/snapshots "$PF_TMP/nulls_batch.json" "$K1"
expect 200 '"accepted":1' "batch with null sections"
row=$(pf_psql -c "select excluded is null, usable_tcp4, cpus, memory_mb, machine_id from snapshots where agent_id = '$A1' and seq = 90")
pf_check '[ "$row" = "t|16384|0|0|" ]' "null host fields and excluded stored as absent (got $row)"
row=$(pf_psql -c "select service, st_established, st_bound, tcp_ports from snapshot_processes where agent_id = '$A1' and seq = 90")
pf_check '[ "$row" = "|0|3|0" ]' "null service and state stored as absent (got $row)"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_remotes where agent_id = '"'"'$A1'"'"' and seq = 90")" = 0 ]' \
  "null remotes: none stored"
pf_check '[ "$(pf_psql -c "select count(*) from snapshot_processes where agent_id = '"'"'$A1'"'"' and seq = 91")" = 0 ]' \
  "null processes in a batch: none stored"
pf_log "ok: nulls read back as absent"

# ---- HTTP-level refusals ----
head -c 1100000 /dev/zero | tr '\0' 'x' >"$PF_TMP/big.json"
post /v1/snapshots "$PF_TMP/big.json" "$K1"
expect 413 '"too_large"' "1.1 MB body (curl waits for 100-continue)"
$client unread-body "$url" "$PF_CA" || pf_fail "413 must come before the body is sent"
pf_log "ok: 413 answered without reading the body"
hdr=$(head -c 9000 /dev/zero | tr '\0' 'h')
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' -H "X-Big: $hdr" "$url/healthz"); body=$(cat "$PF_TMP/resp")
expect 431 '"headers_too_large"' "9000-byte header"
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $K1" \
  -H 'Transfer-Encoding: chunked' --data-binary "@$PF_TMP/s1.json" "$url/v1/snapshots")
body=$(cat "$PF_TMP/resp")
expect 411 '"length_required"' "chunked body"
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' "$url/nope"); body=$(cat "$PF_TMP/resp")
expect 404 '"not_found"' "unknown path"
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' -D "$PF_TMP/hdrs" "$url/v1/snapshots"); body=$(cat "$PF_TMP/resp")
expect 405 '"method_not_allowed"' "GET on a POST endpoint"
pf_check 'grep -qi "^Allow: POST" "$PF_TMP/hdrs"' "405 carries Allow"
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' "$url/v1/status"); body=$(cat "$PF_TMP/resp")
expect 401 '"unauthorized"' "status without the admin token"
code=$(pf_curl -o "$PF_TMP/resp" -w '%{http_code}' -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
  "$url/v1/status"); body=$(cat "$PF_TMP/resp")
expect 200 '"snapshots_accepted":' "status with the admin token"

# ---- TLS policy: 1.2 only, ECDHE with AEAD only, session tickets ----
tls() { echo | openssl s_client -connect "127.0.0.1:$PF_COLLECTOR_PORT" -CAfile "$PF_CA" "$@" 2>&1; }
for c in ECDHE-ECDSA-CHACHA20-POLY1305 ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384; do
  tls -tls1_2 -cipher "$c" | grep -q "Cipher is $c" || pf_fail "TLS 1.2 with $c refused"
done
for c in AES128-GCM-SHA256 ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES128-SHA; do
  ! tls -tls1_2 -cipher "$c" | grep -q "New, TLSv1" || pf_fail "$c (no ECDHE or no AEAD) accepted"
done
! tls -tls1_1 | grep -q "New, TLSv1" || pf_fail "TLS 1.1 accepted"
! tls -tls1_3 | grep -q "New, TLSv1" || pf_fail "TLS 1.3 accepted"
tls -sess_out "$PF_TMP/tls.sess" | grep -q "Verify return code: 0" || pf_fail "certificate not verified"
tls -sess_in "$PF_TMP/tls.sess" | grep -q "^Reused, TLSv1.2" || pf_fail "session ticket not resumed"
pf_log "ok: TLS 1.2 with ECDHE+AEAD only, certificate verified, session ticket resumed"

# ---- keep-alive: three requests, one connection, one handshake ----
n=$(pf_curl -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' \
  "$url/healthz" "$url/healthz" "$url/healthz" | awk '{n += $1} END {print n}')
pf_check '[ "$n" = 1 ]' "curl reused one connection for three requests (connects: $n)"
pf_log "ok: keep-alive reuse"

# ---- not TLS at all: closed, and the server keeps serving ----
$client garbage "$url" || pf_fail "garbage and plain HTTP must be closed"
post /v1/snapshots "$PF_TMP/s1.json" "$K1"
expect 200 '"duplicates":1' "serving after garbage"

# ---- clients that reset mid-handshake: the server stays responsive and idle ----
$client abort-handshakes "$url" 300
# the TLS threads may still be busy with the hellos on a loaded machine:
# idle means idle once every aborted connection is closed (the only one
# open is the status request's own)
open_conns() {
  pf_curl -H "Authorization: Bearer $PF_ADMIN_TOKEN" "$url/v1/status" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["connections_open"])'
}
pf_wait_for '[ "$(open_conns)" = 1 ]' 60 "the aborted handshakes' connections closed"
t0=$(awk '{print $14 + $15}' "/proc/$PF_COLLECTOR_PID/stat")
sleep 2
busy=$(( $(awk '{print $14 + $15}' "/proc/$PF_COLLECTOR_PID/stat") - t0 ))
pf_check '[ "$busy" -lt 20 ]' "collector idle after aborted handshakes ($busy CPU ticks in 2 s)"
post /v1/snapshots "$PF_TMP/s1.json" "$K1"
expect 200 '"duplicates":1' "serving after 300 aborted handshakes"

# ---- hard limits: body memory budget (429), connection cap, body and idle timeouts ----
port3=$(pf_free_port)
"$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$port3" --cert "$PF_CERT" --key "$PF_KEY" \
  --db "$PF_DB" --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" \
  --body-budget-mb 1 --max-connections 4 --body-timeout 2 --idle-timeout 2 \
  >"$PF_TMP/c3.log" 2>&1 &
pid3=$!
pf_wait_for '[ "$(pf_curl -o /dev/null -w "%{http_code}" "https://127.0.0.1:$port3/healthz" 2>/dev/null)" = 200 ]' \
  60 "the collector with hard limits answers /healthz"
$client limits "https://127.0.0.1:$port3" "$PF_CA" || { kill $pid3; pf_fail "limits"; }
kill -TERM $pid3; wait $pid3 || true; pid3=
pf_check 'grep -q "connection limit (4) reached" "$PF_TMP/c3.log"' "the refusal is logged"
pf_log "ok: 429 beyond the body budget, connections beyond the cap closed, body and idle timeouts"

# ---- an unmigrated database: not ready, and the log says what to do ----
pf_psql -c "create database unmigrated" >/dev/null
port2=$(pf_free_port)
"$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$port2" --cert "$PF_CERT" --key "$PF_KEY" \
  --db "host=$PF_PG_SOCK port=$PF_PG_PORT user=postgres dbname=unmigrated" \
  --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" >"$PF_TMP/c2.log" 2>&1 &
pid2=$!
code=
pf_wait_for 'code=$(pf_curl -o /dev/null -w "%{http_code}" "https://127.0.0.1:$port2/readyz" 2>/dev/null || true); [ "$code" = 503 ]' \
  60 "readyz is 503 on an unmigrated database"
kill -TERM $pid2; wait $pid2 || true; pid2=
pf_check 'grep -q "run .portfleet-collector migrate" "$PF_TMP/c2.log"' "the log says to migrate"
pf_log "ok: unmigrated database -> 503 and a log line saying to run migrate"

pf_check 'kill -0 $PF_COLLECTOR_PID' "collector still running"
pf_collector_stop || pf_fail "the collector did not stop on SIGTERM"
pf_log "collector_api: all checks passed"
