# SPDX-License-Identifier: MIT
# tests/integration/alert_lib.sh: helpers of the notification tests (source
# after lib.sh).
#
#   alert_receiver_start NAME        HTTPS receiver (alert_receiver.py) on a free
#                                    loopback port; sets RX_<NAME>_PORT, its log is
#                                    $PF_TMP/rx-NAME.jsonl, its mode file
#                                    $PF_TMP/rx-NAME.mode
#   alert_receiver_stop NAME         stop it (a receiver that is down)
#   alert_post AGENT KEY SEQ [INTERVAL [NAME [SITE]]]  post one snapshot taken
#                                    now whose interval_s is INTERVAL (default 60),
#                                    for host NAME (ALERT-1) in site SITE (lab);
#                                    ALERT_POST_S: seconds the POST took (curl's
#                                    clock: the test's own delays are in it)
#   alert_answer_ms METHOD PATH      the milliseconds the collector itself took
#                                    for its last answer to METHOD PATH, from its
#                                    log (--log-level debug): from the whole
#                                    request read to the answer
#   alert_wait_count FILE FILTER N SECONDS  wait until python FILTER (over each
#                                    record r) matches N lines of FILE; prints the
#                                    seconds it took
#   alert_count FILE FILTER          how many records of FILE match FILTER
# python3 is Debian's (lib.sh): it has aiosmtpd.

alert_receiver_start() {
  local name=$1 port var
  var=RX_${name}_PORT
  port=${!var:-$(pf_free_port)}
  printf -v "$var" '%s' "$port"
  : >>"$PF_TMP/rx-$name.jsonl"
  [ -f "$PF_TMP/rx-$name.mode" ] || echo ok >"$PF_TMP/rx-$name.mode"
  "$PF_SYS_PY" "$here/alert_receiver.py" "$port" "$PF_CERT" "$PF_KEY" "$PF_TMP/rx-$name.jsonl" \
    "$PF_TMP/rx-$name.mode" >"$PF_TMP/rx-$name.out" 2>&1 &
  printf -v "RX_${name}_PID" '%s' "$!"
  local i
  for i in $(seq 100); do
    grep -q listening "$PF_TMP/rx-$name.out" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$PF_TMP/rx-$name.out" >&2
  pf_fail "receiver $name did not start"
}

alert_receiver_stop() {
  local var=RX_${1}_PID
  if [ -n "${!var:-}" ]; then
    kill "${!var}" 2>/dev/null || true
    wait "${!var}" 2>/dev/null || true
    printf -v "$var" '%s' ""
  fi
}

alert_post() {
  local agent=$1 key=$2 seq=$3 interval=${4:-60} name=${5:-ALERT-1} site=${6:-lab}
  python3 "$here/collector_client.py" make "$agent" "$seq" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); d["interval_s"]=int(sys.argv[1])
d["host"]["name"]=sys.argv[2]; d["host"]["site"]=sys.argv[3]; print(json.dumps(d))' \
      "$interval" "$name" "$site" >"$PF_TMP/snap.json"
  local code
  read -r code ALERT_POST_S < <(pf_curl -o "$PF_TMP/post.out" -w '%{http_code} %{time_total}\n' -X POST -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary @"$PF_TMP/snap.json" \
    "$PF_COLLECTOR_URL/v1/snapshots")
  [ "$code" = 200 ] || { cat "$PF_TMP/post.out" >&2; pf_fail "snapshot $seq answered $code"; }
}

alert_answer_ms() {
  local ms
  ms=$(grep " $1 $2 -> " "$PF_TMP/collector.log" | tail -n 1 |
    sed -n 's/.* -> [0-9]* ([0-9]* bytes, \([0-9]*\) ms).*/\1/p')
  [ -n "$ms" ] || pf_fail "no answer to $1 $2 with its time in the collector's log"
  echo "$ms"
}

alert_count() {
  python3 - "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = r.get("body", {})
    try:
        if eval(sys.argv[2]):
            n += 1
    except Exception:
        pass
print(n)
PY
}

alert_wait_count() {
  local file=$1 filter=$2 want=$3 limit=$4 t0=$SECONDS
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    if [ "$(alert_count "$file" "$filter")" -ge "$want" ]; then
      echo $((SECONDS - t0))
      return 0
    fi
    sleep 0.2
  done
  pf_fail "waited ${limit}s for $want records matching [$filter] in $(basename "$file") (have $(alert_count "$file" "$filter"))"
}

alert_cleanup_receivers() {
  local v
  for v in $(compgen -v | grep '^RX_.*_PID$'); do
    [ -n "${!v}" ] && kill "${!v}" 2>/dev/null
  done
  return 0
}
