#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# quickstart.sh: the whole of portfleet on this machine, in one command. On
# a fresh Debian 12 machine, as root, it installs the packages it needs,
# builds, starts a throwaway PostgreSQL cluster (its own data directory, run
# as the postgres user, loopback only: no system service is touched),
# makes a CA and a collector certificate, runs the migrations, starts the
# collector on 127.0.0.1, enrolls and runs an agent on this machine, puts
# some load on it (a few thousand loopback sockets), posts a simulated
# fleet of 21 hosts (tests/fleetsim: the five field stories, a week each,
# backdated) through the real API, starts a local HTTPS webhook receiver
# that the collector sends its notifications to (docs/protocol.md section
# 4), and prints where the report is, the admin token, the findings, the
# notifications received and how to stop.
#
#   ./deploy/quickstart.sh          start, or start again from an empty database
#   ./deploy/quickstart.sh status   what runs, and the addresses
#   ./deploy/quickstart.sh stop     stop everything it started; checks that no
#                                   process and no listening port is left
#   ./deploy/quickstart.sh clean    stop, then remove .quickstart/ and the data
#
# Everything it makes lives under .quickstart/ (the build in build/). The
# PostgreSQL data go to .quickstart/pg when the postgres user can reach
# that directory, else to /var/tmp/portfleet-quickstart-<hash>/ with a link
# from .quickstart/pg. Secrets (enrollment secret, admin token, database
# passwords) are made at random on the first run, kept in .quickstart/
# (mode 0600) and reused.
#
# For tests: PF_QUICKSTART_DIR replaces .quickstart/; PF_QUICKSTART_BUILD
# names a build directory whose programs are already built (no cmake run).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
qs=${PF_QUICKSTART_DIR:-$root/.quickstart}
build=${PF_QUICKSTART_BUILD:-$root/build}
run=$qs/run
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

say() { printf 'quickstart: %s\n' "$*"; }
die() {
  printf 'quickstart: %s\n' "$*" >&2
  exit 1
}

# ---- processes it starts: one pid file each ----

# alive NAME: the process of run/NAME.pid is running and is ours (its
# command line names a file in $qs), so a reused pid is never signalled.
# Every process the quickstart starts (PostgreSQL too) has $qs in its
# command line: that is how stop checks that none is left.
alive() {
  local pid
  pid=$(cat "$run/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$qs/" || return 1
  echo "$pid"
}

# stop_one NAME: SIGTERM to the process group it leads (started with
# setsid), SIGKILL after 10 s.
stop_one() {
  local pid i
  if pid=$(alive "$1"); then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $1 (pid $pid)"
  fi
  rm -f "$run/$1.pid"
}

# start_bg NAME LOG CMD...: runs CMD in its own session, records its pid.
start_bg() {
  local name=$1 log=$2
  shift 2
  setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$run/$name.pid"
}

# The real path (.quickstart/pg may be a link the postgres user cannot follow).
pg_dir() { readlink -f "$qs/pg"; }
pg_data() { echo "$(pg_dir)/data"; }
as_pg() { (cd / && runuser -u postgres -- "$@"); }
pg_running() {
  [ -n "$pg_bin" ] && [ -f "$(pg_data)/PG_VERSION" ] &&
    as_pg "$pg_bin/pg_ctl" -D "$(pg_data)" status >/dev/null 2>&1
}

# Prints the listening TCP sockets of the ports in $qs/ports, if any.
our_listeners() {
  local p out=""
  [ -f "$qs/ports" ] || return 0
  # shellcheck disable=SC1091
  . "$qs/ports"
  for p in "$collector_port" "$pg_port" $(seq "$load_port" $((load_port + 1))) ${receiver_port:-}; do
    out+=$(ss -ltnH "sport = :$p" 2>/dev/null)
  done
  printf '%s' "$out"
}

stop_all() {
  stop_one agent
  stop_one load
  stop_one collector
  stop_one receiver
  if pg_running; then
    as_pg "$pg_bin/pg_ctl" -D "$(pg_data)" -m fast -w -t 60 stop >/dev/null
    say "stopped PostgreSQL ($(pg_data))"
  fi
}

check_stopped() {
  local left procs
  left=$(our_listeners)
  procs=$(pgrep -af "$qs/|$(readlink -f "$qs/pg" 2>/dev/null || echo "$qs")/" || true)
  if [ -n "$left" ] || [ -n "$procs" ]; then
    printf 'quickstart: still running after stop:\n%s\n%s\n' "$procs" "$left" >&2
    return 1
  fi
  say "nothing left running: no process of $qs, no listening port of the quickstart"
}

# ---- commands other than start ----

case "${1:-start}" in
stop)
  mkdir -p "$run"
  stop_all
  check_stopped
  exit $?
  ;;
clean)
  mkdir -p "$run"
  stop_all
  check_stopped
  target=$(readlink -f "$qs/pg" 2>/dev/null || true)
  case "$target" in /var/tmp/portfleet-quickstart-*) rm -rf "$(dirname "$target")" ;; esac
  rm -rf "$qs"
  say "removed $qs"
  exit 0
  ;;
status)
  for n in collector agent load receiver; do
    if pid=$(alive $n); then say "$n runs (pid $pid)"; else say "$n: not running"; fi
  done
  if pg_running; then say "PostgreSQL runs ($(pg_data))"; else say "PostgreSQL: not running"; fi
  [ -f "$qs/summary.txt" ] && cat "$qs/summary.txt"
  exit 0
  ;;
start) ;;
*)
  echo "usage: $0 [start|status|stop|clean]" >&2
  exit 2
  ;;
esac

# ---- start ----

[ "$(id -u)" -eq 0 ] || die "run me as root: I install packages and run PostgreSQL as the postgres user"
t_start=$SECONDS
mkdir -p "$qs" "$run"
chmod 0755 "$qs"
stop_all >/dev/null # a second run starts from a clean slate

./deploy/install-deps.sh run
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

if [ -z "${PF_QUICKSTART_BUILD:-}" ]; then
  say "building (Release) in build/ ..."
  t0=$SECONDS
  if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >"$qs/build.log" 2>&1 &&
    cmake --build "$build" -j"$(nproc)" --target portfleet-agent portfleet-collector fleetsim \
      sockhold >>"$qs/build.log" 2>&1; }; then
    tail -n 30 "$qs/build.log" >&2
    die "build failed (log: $qs/build.log)"
  fi
  say "built in $((SECONDS - t0)) s"
fi
agent=$build/agent/portfleet-agent
collector=$build/collector/portfleet-collector
for p in "$agent" "$collector" "$build/tests/fleetsim" "$build/tests/sockhold"; do
  [ -x "$p" ] || die "$p is missing"
done

# -- ports: the ones of the last run when still free, else free ones --
port_free() { [ -z "$(ss -ltnH "sport = :$1" 2>/dev/null)" ]; }
pick_port() { # pick_port PREFERRED [COUNT]: first port p >= PREFERRED with p..p+COUNT-1 free
  local p=$1 n=${2:-1} k ok
  while [ "$p" -lt 65000 ]; do
    ok=1
    for k in $(seq 0 $((n - 1))); do port_free $((p + k)) || ok=0; done
    [ $ok = 1 ] && { echo "$p"; return; }
    p=$((p + n))
  done
  die "no free port found from $1"
}
collector_port=8443 pg_port=55432 load_port=55480 receiver_port=55490
# shellcheck disable=SC1091
[ -f "$qs/ports" ] && . "$qs/ports"
collector_port=$(pick_port "$collector_port")
pg_port=$(pick_port "$pg_port")
load_port=$(pick_port "$load_port" 2)
receiver_port=$(pick_port "$receiver_port")
printf 'collector_port=%s\npg_port=%s\nload_port=%s\nreceiver_port=%s\n' "$collector_port" \
  "$pg_port" "$load_port" "$receiver_port" >"$qs/ports"

# -- secrets, made once --
secret() { openssl rand -hex 24; }
if [ ! -f "$qs/secrets" ]; then
  (
    umask 077
    printf 'enroll_secret=%s\nadmin_token=%s\npg_superuser_password=%s\npg_password=%s\n' \
      "$(secret)" "$(secret)" "$(secret)" "$(secret)" >"$qs/secrets"
  )
fi
# shellcheck disable=SC1091
. "$qs/secrets"

# -- certificates: a throwaway CA and the collector's certificate --
certs=$qs/certs
if [ ! -f "$certs/collector.pem" ]; then
  say "making a throwaway CA and the collector's certificate (localhost, 127.0.0.1)"
  mkdir -p "$certs"
  (
    umask 077
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 825 \
      -subj "/CN=portfleet quickstart CA" -keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
      -subj "/CN=localhost" -keyout "$certs/collector.key" -out "$certs/collector.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
      >"$certs/ext.cnf"
    openssl x509 -req -in "$certs/collector.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
      -CAcreateserial -days 825 -extfile "$certs/ext.cnf" -out "$certs/collector.pem" 2>/dev/null
  ) || die "openssl could not make the certificates"
  chmod 0644 "$certs/ca.pem"
fi

# -- PostgreSQL: a cluster of our own, run as the postgres user --
if [ ! -e "$qs/pg" ]; then
  if runuser -u postgres -- test -x "$qs"; then
    mkdir -p "$qs/pg"
  else # e.g. a clone under /root (0700): the postgres user cannot reach it
    alt=/var/tmp/portfleet-quickstart-$(printf '%s' "$root" | sha256sum | cut -c1-12)
    mkdir -p "$alt/pg"
    ln -s "$alt/pg" "$qs/pg"
    say "PostgreSQL data in $alt/pg (the postgres user cannot reach $qs)"
  fi
fi
chown postgres: "$qs/pg/"
if [ ! -f "$(pg_data)/PG_VERSION" ]; then
  say "initdb: a throwaway PostgreSQL cluster in $(pg_data)"
  pwfile=$(runuser -u postgres -- mktemp)
  printf '%s\n' "$pg_superuser_password" >"$pwfile"
  as_pg "$pg_bin/initdb" -D "$(pg_data)" -U postgres --auth=scram-sha-256 --pwfile="$pwfile" \
    -E UTF8 --locale=C.UTF-8 >"$qs/initdb.log" 2>&1 || {
    rm -f "$pwfile"
    cat "$qs/initdb.log" >&2
    die "initdb failed"
  }
  rm -f "$pwfile"
  echo "include = 'quickstart.conf'" | as_pg sh -c "cat >>'$(pg_data)/postgresql.conf'"
fi
# the port may have changed since the last run: the settings are rewritten
as_pg sh -c "cat >'$(pg_data)/quickstart.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = ''
max_connections = 50
EOF
(
  umask 077
  printf '127.0.0.1:%s:*:postgres:%s\n127.0.0.1:%s:*:portfleet:%s\n' "$pg_port" \
    "$pg_superuser_password" "$pg_port" "$pg_password" >"$qs/pgpass"
)
export PGPASSFILE=$qs/pgpass
as_pg "$pg_bin/pg_ctl" -D "$(pg_data)" -l "$(pg_dir)/postgres.log" -w -t 60 start >/dev/null || {
  tail -n 20 "$(pg_dir)/postgres.log" >&2
  die "PostgreSQL did not start"
}
say "PostgreSQL runs on 127.0.0.1:$pg_port"
admin_db="host=127.0.0.1 port=$pg_port user=postgres dbname=postgres"
db="host=127.0.0.1 port=$pg_port user=portfleet dbname=portfleet"
psql -X -q -v ON_ERROR_STOP=1 "$admin_db" >/dev/null <<EOF
SET client_min_messages = warning;
DROP DATABASE IF EXISTS portfleet;
DROP ROLE IF EXISTS portfleet;
CREATE ROLE portfleet LOGIN PASSWORD '$pg_password';
CREATE DATABASE portfleet OWNER portfleet;
EOF

# -- the collector --
(
  umask 077
  cat >"$qs/collector.conf" <<EOF
# written by deploy/quickstart.sh (see deploy/collector.conf.sample)
listen = 127.0.0.1:$collector_port
cert = $certs/collector.pem
key = $certs/collector.key
db = $db
enroll-secret = $enroll_secret
admin-token = $admin_token
# notifications to the local receiver below (a real one: Slack, Teams, ...)
alert-webhook = https://127.0.0.1:$receiver_port/quickstart
alert-ca-file = $certs/ca.pem
alert-interval = 5
alert-report-url = https://127.0.0.1:$collector_port
EOF
)
# -- a webhook receiver on loopback: what a chat or an on-call tool would get --
: >"$qs/notifications.jsonl"
echo ok >"$run/receiver.mode"
start_bg receiver "$qs/receiver.log" python3 "$root/tests/integration/alert_receiver.py" \
  "$receiver_port" "$certs/collector.pem" "$certs/collector.key" "$qs/notifications.jsonl" \
  "$run/receiver.mode"
say "webhook receiver on https://127.0.0.1:$receiver_port (log $qs/notifications.jsonl)"
"$collector" migrate --config "$qs/collector.conf" >"$qs/migrate.log" 2>&1 || {
  cat "$qs/migrate.log" >&2
  die "migrate failed"
}
say "$(tail -n 1 "$qs/migrate.log")"
start_bg collector "$qs/collector.log" "$collector" serve --config "$qs/collector.conf"
url=https://127.0.0.1:$collector_port
for i in $(seq 1 150); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$certs/ca.pem" "$url/readyz")" = 200 ] &&
    break
  alive collector >/dev/null || {
    tail -n 20 "$qs/collector.log" >&2
    die "the collector exited"
  }
  sleep 0.2
done
say "collector ready at $url (pid $(cat "$run/collector.pid"), log $qs/collector.log)"

# -- some load on this host: listeners, established, bound-only, TIME_WAIT, UDP --
start_bg load "$qs/load.log" "$build/tests/sockhold" --out "$run/load.json" \
  --listen-base "$load_port" --listeners 2 \
  --client est=1200,to=0,tw=150,udp=20 --client est=800,to=1,bound=120 \
  --client est=400,to=0,fam=6,bound=30
for i in $(seq 1 300); do
  [ -f "$run/load.json" ] && break
  alive load >/dev/null || die "the load generator exited (log: $qs/load.log)"
  sleep 0.1
done
say "load: $(grep -o '"state"' "$run/load.json" | wc -l) sockets held on loopback (sockhold, pid $(cat "$run/load.pid"))"

# -- the agent on this machine, enrolled with the CA file --
rm -rf "$qs/agent"
(
  umask 077
  cat >"$qs/agent.conf" <<EOF
# written by deploy/quickstart.sh (see deploy/agent.conf.sample)
collector = $url
enroll-secret = $enroll_secret
ca-file = $certs/ca.pem
site = quickstart
state-dir = $qs/agent
interval = 10
EOF
)
start_bg agent "$qs/agent.log" "$agent" run --config "$qs/agent.conf"

# -- a simulated fleet through the real API --
now=$(($(date -u +%s) / 300 * 300))
say "posting a simulated fleet (tests/fleetsim: the five field stories, 7 days each) ..."
t0=$SECONDS
for s in tests/fleetsim/scenarios/seed*.json; do
  "$build/tests/fleetsim" post --scenario "$s" --collector "$url" --ca-file "$certs/ca.pem" \
    --enroll-secret "$enroll_secret" --now "$now" --jobs 2 >>"$qs/fleetsim.log" 2>&1 ||
    die "fleetsim post $s failed (log: $qs/fleetsim.log)"
done
n=$(psql -X -At "$db" -c "select count(*) from snapshots")
say "simulated fleet posted in $((SECONDS - t0)) s ($n snapshots stored)"

# -- the agent's first pushes --
for i in $(seq 1 60); do
  [ "$(psql -X -At "$db" -c "select count(*) from agents a join snapshots s using (agent_id)
        where a.site = 'quickstart'")" -gt 0 ] && break
  alive agent >/dev/null || {
    tail -n 20 "$qs/agent.log" >&2
    die "the agent exited"
  }
  sleep 1
done
"$agent" status --config "$qs/agent.conf" >"$qs/agent_status.txt" 2>&1 || true

# -- a read token for the browser (the admin token is an operator's) --
read_token=$("$collector" token add --db "$db" --tenant default --role read |
  sed -n 's/^[[:space:]]*"token":[[:space:]]*"\([^"]*\)".*/\1/p')
[ -n "$read_token" ] || die "token add gave no token"
# -- notifications: the collector evaluates every 5 s and sends what fired --
for i in $(seq 1 60); do
  [ "$(wc -l <"$qs/notifications.jsonl")" -gt 0 ] && sleep 5 && break
  sleep 1
done
notes=$(wc -l <"$qs/notifications.jsonl")
# What is firing now, by the last notification of each id (the simulated
# week arrives backdated, so some findings fire and resolve while it posts).
python3 - "$qs/notifications.jsonl" >"$qs/notifications.txt" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    b = json.loads(line)["body"]
    last[b["id"]] = b
rank = {"critical": 0, "warning": 1, "info": 2}
firing = [b for b in last.values() if b["status"] != "resolved"]
firing.sort(key=lambda b: (rank.get(b["finding"]["severity"], 3), b["id"]))
for b in firing:
    f = b["finding"]
    print("  %-8s %-20s %-14s %s" % (f["severity"], f["kind"], f.get("host") or "site " + f["site"],
                                     b["report_url"]))
PY

# -- the report --
"$collector" report --db "$db" --format html --out "$qs/report.html"
rm -rf "$qs/report" # the pages of an earlier run's hosts would linger
"$collector" report --db "$db" --format html --out "$qs/report/" 2>/dev/null
"$collector" report --db "$db" --format text >"$qs/findings.txt"

umask 077 # the summary holds the admin token
cat >"$qs/summary.txt" <<EOF

  portfleet quickstart: running
  -----------------------------
  HTML report (file):  $qs/report.html
  HTML pages (files):  $qs/report/index.html
  HTML report (live):  $url/report  (sign in with the read token; no token in the URL)
  read token:          $read_token
  admin token:         $admin_token  (operator: every tenant, tenants and tokens)
  enrollment secret:   $enroll_secret
  collector CA:        $certs/ca.pem
  API, e.g.:           curl --cacert $certs/ca.pem -H "Authorization: Bearer $admin_token" $url/v1/findings
  this host, live:     $agent snapshot --text
  agent status:        $agent status --config $qs/agent.conf
  findings again:      PGPASSFILE=$qs/pgpass $collector report --db "$db" --format text
  notifications:       $notes received by the local webhook receiver: $qs/notifications.jsonl
                       (firing now: $qs/notifications.txt)
  logs:                $qs/{collector,agent,fleetsim,load,receiver}.log, $(pg_dir)/postgres.log
  stop everything:     ./deploy/quickstart.sh stop

  The simulated hosts were posted up to $(date -u -d "@$now" +%FT%TZ); after 15 minutes
  without new snapshots they are reported as silent (host_silent). Run
  ./deploy/quickstart.sh again for a fresh week.
EOF

echo
say "findings and site plans (portfleet-collector report --format text):"
echo
cat "$qs/findings.txt"
echo
say "$notes notifications sent to the local webhook receiver; firing now (first 15 of $(wc -l <"$qs/notifications.txt")):"
head -n 15 "$qs/notifications.txt"
cat "$qs/summary.txt"
say "done in $((SECONDS - t_start)) s"
