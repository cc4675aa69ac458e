# SPDX-License-Identifier: MIT
# tests/integration/lib.sh: plumbing shared by the integration tests. Source
# it from a bash script; it starts real things on loopback and cleans them up:
#
#   pf_netns_reexec "$@"   re-run this script inside a private network
#                          namespace (unshare -n) with lo up; first line of a test
#   pf_tmpdir              make $PF_TMP (removed by pf_cleanup)
#   pf_pg_init             initdb + start a throwaway PostgreSQL (as the postgres
#                          user when root) on a unix socket in $PF_TMP and a free
#                          loopback port; creates database "portfleet"; sets
#                          PF_DB (libpq conninfo), PF_PG_PORT, PF_PG_SOCK
#   pf_pg_stop / pf_pg_start   stop (fast) / start that cluster again
#   pf_psql ARGS...        psql -X -At against $PF_DB
#   pf_make_certs          throwaway CA and server certificate (EC P-256, for
#                          localhost and 127.0.0.1): PF_CA, PF_CERT, PF_KEY
#   pf_migrate             portfleet-collector migrate --db "$PF_DB"
#   pf_collector_start [ARGS...]  start `serve` on a free loopback port with the
#                          above, PF_ENROLL_SECRET and PF_ADMIN_TOKEN, log in
#                          $PF_TMP/collector.log, wait for /readyz; sets
#                          PF_COLLECTOR_URL, PF_COLLECTOR_PORT, PF_COLLECTOR_PID
#   pf_collector_stop      SIGTERM and wait; after 15 s SIGKILL, and fail (returns
#                          1; pf_cleanup then fails the test)
#   pf_wait_ready [SECONDS]  poll /readyz until 200
#   pf_curl ARGS...        curl -sS --cacert $PF_CA (add -w etc. yourself)
#   pf_enroll [NAME [SITE [MACHINE_ID]]]  POST /v1/enroll; prints "agent_id node_key"
#   pf_free_port           print a free TCP port on 127.0.0.1
#   pf_cleanup [RC]        stop everything started here, remove $PF_TMP
#                          (installed as the EXIT trap by pf_tmpdir); exits
#                          with RC (default: the status it was called with).
#                          A trap of its own passes "$rc" on: `(exit $rc);
#                          pf_cleanup` would end a failing test at the
#                          `(exit)` (set -e holds in traps), leaving its
#                          collector and cluster running
#   pf_fail MSG / pf_check COND MSG   report and exit 1 / assert
#   pf_wait_for COND SECONDS MSG  poll the shell condition COND until it holds;
#                          pf_fail MSG after SECONDS. Wait for the event a
#                          check means, with a bound only a hang reaches,
#                          never a fixed sleep that a loaded machine outlasts
#
# The collector binary is $PF_COLLECTOR_BIN (ctest passes it); the tests
# never touch the network outside their namespace.

# Debian's python3 (deploy/install-deps.sh installs it, with aiosmtpd), not
# the first python3 in PATH: a version manager's shim (pyenv) costs 1-5 s
# per start on a loaded machine, and a test starts python up to a hundred
# times (collector_api). The tests use only the standard library and
# Debian's python3-aiosmtpd. Exported, so scripts started from here and
# their `python3` use it too.
PF_SYS_PY=${PF_SYS_PY:-/usr/bin/python3}
[ -x "$PF_SYS_PY" ] || PF_SYS_PY=$(command -v python3)
# A function: started in the background (`python3 x.py &`), $! is the
# subshell running it, not python, and killing it leaves python running:
# start background servers as "$PF_SYS_PY" x.py &.
python3() { "$PF_SYS_PY" "$@"; }
export PF_SYS_PY
export -f python3

PF_ENROLL_SECRET=${PF_ENROLL_SECRET:-enroll-secret-for-tests}
PF_ADMIN_TOKEN=${PF_ADMIN_TOKEN:-admin-token-for-tests}
PF_PG_BIN=${PF_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PF_COLLECTOR_PID=
PF_PG_RUNNING=0

pf_log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
pf_fail() {
  pf_log "FAIL: $*"
  if [ -n "${PF_TMP:-}" ] && [ -f "$PF_TMP/collector.log" ]; then
    echo "---- last collector log lines ----" >&2
    tail -n 30 "$PF_TMP/collector.log" >&2
  fi
  exit 1
}
pf_check() { eval "$1" || pf_fail "$2 (check: $1)"; }
pf_wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1"; do
    [ $SECONDS -lt $deadline ] || pf_fail "$3 (waited $2 s for: $1)"
    sleep 0.2
  done
}

pf_netns_reexec() {
  if [ -z "${PF_IN_NETNS:-}" ]; then
    export PF_IN_NETNS=1
    exec unshare -n -- bash "$0" "$@"
  fi
  ip link set lo up
}

pf_tmpdir() {
  PF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pf-it.XXXXXX")
  chmod 755 "$PF_TMP"
  trap pf_cleanup EXIT
  trap 'exit 130' INT TERM
}

pf_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs a PostgreSQL binary as the cluster owner.
pf_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pf_pg_init() {
  PF_PG_DATA=$PF_TMP/pgdata
  PF_PG_SOCK=$PF_TMP/pgsock
  PF_PG_PORT=$(pf_free_port)
  mkdir -p "$PF_PG_DATA" "$PF_PG_SOCK"
  : >"$PF_TMP/postgres.log"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PF_PG_DATA" "$PF_PG_SOCK" "$PF_TMP/postgres.log"
  fi
  pf_as_pg "$PF_PG_BIN/initdb" -D "$PF_PG_DATA" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$PF_TMP/initdb.log" 2>&1 || { cat "$PF_TMP/initdb.log" >&2; pf_fail "initdb"; }
  cat >>"$PF_PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PF_PG_PORT
unix_socket_directories = '$PF_PG_SOCK'
max_connections = 50
logging_collector = off
EOF
  pf_pg_start
  PF_DB="host=$PF_PG_SOCK port=$PF_PG_PORT user=postgres dbname=portfleet"
  pf_as_pg "$PF_PG_BIN/createdb" -h "$PF_PG_SOCK" -p "$PF_PG_PORT" -U postgres portfleet ||
    pf_fail "createdb"
  export PF_DB PF_PG_PORT PF_PG_SOCK
}

pf_pg_start() {
  pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PF_PG_DATA" -l "$PF_TMP/postgres.log" -w -t 60 start \
    >/dev/null || { tail -n 20 "$PF_TMP/postgres.log" >&2; pf_fail "pg_ctl start"; }
  PF_PG_RUNNING=1
}

pf_pg_stop() {
  pf_as_pg "$PF_PG_BIN/pg_ctl" -D "$PF_PG_DATA" -m fast -w -t 60 stop >/dev/null
  PF_PG_RUNNING=0
}

pf_psql() {
  psql -X -At -v ON_ERROR_STOP=1 "$PF_DB" "$@"
}

pf_make_certs() {
  local d=$PF_TMP/certs
  mkdir -p "$d"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
    -subj "/CN=portfleet test CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null ||
    pf_fail "CA certificate"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null ||
    pf_fail "server key"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    >"$d/ext.cnf"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null ||
    pf_fail "server certificate"
  PF_CA=$d/ca.pem PF_CERT=$d/server.pem PF_KEY=$d/server.key
  export PF_CA PF_CERT PF_KEY
}

pf_migrate() {
  "$PF_COLLECTOR_BIN" migrate --db "$PF_DB" >>"$PF_TMP/migrate.log" 2>&1 ||
    { cat "$PF_TMP/migrate.log" >&2; pf_fail "migrate"; }
}

pf_curl() {
  curl -sS --cacert "$PF_CA" "$@"
}

pf_wait_ready() {
  local deadline=$((SECONDS + ${1:-30}))
  while [ $SECONDS -lt $deadline ]; do
    if [ "$(pf_curl -o /dev/null -w '%{http_code}' "$PF_COLLECTOR_URL/readyz" 2>/dev/null)" = 200 ]; then
      return 0
    fi
    if [ -n "$PF_COLLECTOR_PID" ] && ! kill -0 "$PF_COLLECTOR_PID" 2>/dev/null; then
      pf_fail "collector exited during start-up"
    fi
    sleep 0.2
  done
  pf_fail "collector not ready after ${1:-30}s"
}

pf_collector_start() {
  PF_COLLECTOR_PORT=$(pf_free_port)
  PF_COLLECTOR_URL=https://127.0.0.1:$PF_COLLECTOR_PORT
  "$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$PF_COLLECTOR_PORT" --cert "$PF_CERT" \
    --key "$PF_KEY" --db "$PF_DB" --enroll-secret "$PF_ENROLL_SECRET" \
    --admin-token "$PF_ADMIN_TOKEN" "$@" >>"$PF_TMP/collector.log" 2>&1 &
  PF_COLLECTOR_PID=$!
  export PF_COLLECTOR_URL PF_COLLECTOR_PORT PF_COLLECTOR_PID
  pf_wait_ready 30
}

pf_collector_stop() {
  local i
  if [ -n "$PF_COLLECTOR_PID" ]; then
    kill -TERM "$PF_COLLECTOR_PID" 2>/dev/null
    for i in $(seq 150); do
      kill -0 "$PF_COLLECTOR_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$PF_COLLECTOR_PID" 2>/dev/null; then
      pf_log "collector did not stop within 15 s of SIGTERM: killing it"
      kill -KILL "$PF_COLLECTOR_PID" 2>/dev/null
      wait "$PF_COLLECTOR_PID" 2>/dev/null
      PF_COLLECTOR_PID=
      return 1
    fi
    wait "$PF_COLLECTOR_PID" 2>/dev/null
    PF_COLLECTOR_PID=
  fi
}

pf_enroll() {
  local body
  body=$(printf '{"enroll_secret":"%s","host":{"name":"%s","site":"%s","machine_id":"%s"}}' \
    "$PF_ENROLL_SECRET" "${1:-HOST-1}" "${2:-default}" "${3:-machine-1}")
  pf_curl -X POST -H 'Content-Type: application/json' --data-binary "$body" \
    "$PF_COLLECTOR_URL/v1/enroll" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["agent_id"], d["node_key"])'
}

pf_cleanup() {
  local rc=${1:-$?}
  pf_collector_stop || rc=1
  if [ "$PF_PG_RUNNING" = 1 ]; then
    pf_pg_stop
  fi
  if [ -n "${PF_TMP:-}" ] && [ -d "$PF_TMP" ]; then
    if [ $rc -ne 0 ] && [ -n "${PF_KEEP_TMP:-}" ]; then
      pf_log "kept $PF_TMP"
    else
      rm -rf "$PF_TMP"
    fi
  fi
  exit $rc
}
