# SPDX-License-Identifier: MIT
# tests/integration/agent_lib.sh: helpers of the agent delivery tests, on
# top of lib.sh (source lib.sh first). BUILD must be set.
#
#   pfa_collector_on PORT [ARGS...]  start the collector on 127.0.0.1:PORT
#                        (fixed, so a restart keeps the agent's URL); sets
#                        PFA_COLL_PID[PORT]; waits for /readyz (curl gets
#                        the extra arguments in PFA_CURL_ARGS, e.g.
#                        --local-port when no ephemeral port is left)
#   pfa_collector_kill PORT          SIGTERM it and wait; after 15 s SIGKILL
#                        and fail the test
#   pfa_agent_start NAME ARGS...     start `portfleet-agent run ARGS` in the
#                        background, log in $PF_TMP/NAME.log; sets PFA_AGENT
#   pfa_agent_stop                   SIGTERM the agent and wait (must exit 0)
#   pfa_db_seqs                      every stored seq of every agent, one a line
#   pfa_wait_for COND SECONDS MSG    poll `eval COND` every 0.2 s
#   pfa_status DIR FIELD             a value from status.json in state dir DIR
#   pfa_cleanup [RC]                 stop agent and collectors, then pf_cleanup;
#                        RC is the test's exit status (default $?), for an
#                        EXIT trap that runs other commands first

declare -A PFA_COLL_PID=()
PFA_AGENT=

pfa_collector_on() {
  local port=$1
  shift
  "$PF_COLLECTOR_BIN" serve --listen "127.0.0.1:$port" --cert "$PF_CERT" --key "$PF_KEY" \
    --db "$PF_DB" --enroll-secret "$PF_ENROLL_SECRET" --admin-token "$PF_ADMIN_TOKEN" "$@" \
    >>"$PF_TMP/collector-$port.log" 2>&1 &
  PFA_COLL_PID[$port]=$!
  local deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    # shellcheck disable=SC2086
    if [ "$(curl -sS ${PFA_CURL_ARGS:-} --cacert "$PF_CA" -o /dev/null -w '%{http_code}' \
      "https://127.0.0.1:$port/readyz" 2>/dev/null)" = 200 ]; then
      return 0
    fi
    kill -0 "${PFA_COLL_PID[$port]}" 2>/dev/null ||
      pf_fail "collector on $port exited: $(tail -5 "$PF_TMP/collector-$port.log")"
    sleep 0.2
  done
  pf_fail "collector on $port not ready"
}

pfa_collector_kill() {
  local pid=${PFA_COLL_PID[$1]:-} i
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    unset "PFA_COLL_PID[$1]"
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      pf_fail "collector on $1 did not stop within 15 s of SIGTERM (killed)"
    fi
    wait "$pid" 2>/dev/null || true
  fi
}

pfa_agent_start() {
  local name=$1
  shift
  "$BUILD/agent/portfleet-agent" run "$@" >>"$PF_TMP/$name.log" 2>&1 &
  PFA_AGENT=$!
}

pfa_agent_stop() {
  local rc=0
  if [ -n "$PFA_AGENT" ]; then
    kill -TERM "$PFA_AGENT" 2>/dev/null || true
    wait "$PFA_AGENT" || rc=$?
    PFA_AGENT=
  fi
  [ $rc -eq 0 ] || pf_fail "agent exited with $rc after SIGTERM"
}

pfa_db_seqs() {
  pf_psql -c "SELECT seq FROM snapshots ORDER BY seq"
}

pfa_wait_for() {
  local cond=$1 deadline=$((SECONDS + $2))
  while [ $SECONDS -lt $deadline ]; do
    if eval "$cond"; then
      return 0
    fi
    sleep 0.2
  done
  pf_fail "$3 (waited $2 s for: $cond)"
}

pfa_status() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$1/status.json" "$2" 2>/dev/null || echo 0
}

pfa_cleanup() {
  local rc=${1:-$?} f
  if [ $rc -ne 0 ] && [ -n "${PF_TMP:-}" ]; then
    for f in "$PF_TMP"/collector-*.log "$PF_TMP"/*agent*.log "$PF_TMP"/final.log; do
      [ -f "$f" ] || continue
      echo "---- last lines of $(basename "$f") ----" >&2
      tail -n 15 "$f" >&2
    done
  fi
  if [ -n "$PFA_AGENT" ]; then
    kill -KILL "$PFA_AGENT" 2>/dev/null || true
    wait "$PFA_AGENT" 2>/dev/null || true
  fi
  for port in "${!PFA_COLL_PID[@]}"; do
    (pfa_collector_kill "$port") || rc=1
  done
  pf_cleanup "$rc"
}
