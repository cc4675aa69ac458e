#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_crash.sh BUILD_DIR [KILLS]: the agent (interval 1 s) is killed with
# SIGKILL at random moments KILLS times (default 200), 20..1500 ms after
# each start, while it produces and drains: the first quarter with the
# collector down (the spool fills), the rest with it up (the spool drains
# while new snapshots are taken). Then it runs once more until the spool is
# empty. Checks, against the real collector and PostgreSQL:
#  - every start got as far as being killed: it never exited by itself;
#  - every snapshot the agent logged as spooled ("spooled seq=N", written
#    after the record is on disk) is in the database exactly once;
#  - nothing is stored twice, no seq beyond the last one handed out;
#  - a garbage and a torn record put in the spool are skipped and counted
#    (status.json and the agent_stats of the snapshots sent).
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_crash.sh BUILD_DIR [KILLS]}" && pwd)
kills=${2:-200}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=agent_lib.sh
. "$here/agent_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
trap pfa_cleanup EXIT
pf_make_certs
pf_pg_init
pf_migrate

port=$(pf_free_port)
state=$PF_TMP/state
args=(--collector "https://127.0.0.1:$port" --enroll-secret "$PF_ENROLL_SECRET"
      --ca-file "$PF_CA" --state-dir "$state" --interval 1 --log-level debug)
down=$((kills / 4))
t0=$SECONDS
for i in $(seq 1 "$kills"); do
  if [ "$i" -eq $((down + 1)) ]; then
    pfa_collector_on "$port"
    pf_log "collector up after $down kills; spool holds $(ls "$state/spool" | grep -c snap || true)"
  fi
  pfa_agent_start crash "${args[@]}"
  ms=$((20 + RANDOM % 1481))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  if ! kill -0 "$PFA_AGENT" 2>/dev/null; then
    rc=0
    wait "$PFA_AGENT" || rc=$?
    pf_fail "start $i: the agent exited by itself (status $rc): $(tail -3 "$PF_TMP/crash.log")"
  fi
  kill -KILL "$PFA_AGENT"
  rc=0
  wait "$PFA_AGENT" 2>/dev/null || rc=$?
  PFA_AGENT=
  [ "$rc" -eq 137 ] || pf_fail "start $i: exit status $rc, not SIGKILL's 137"
done
pf_log "$kills SIGKILLs in $((SECONDS - t0)) s"

# A damaged spool must not stop a start either: a garbage record and a torn
# one (valid header, body cut) are skipped, counted and reported.
printf 'not a spool record' >"$state/spool/00000000000009999998.snap"
printf 'PFSP\001\000\000\000\377\347\230\000\000\000\000\000\020\000\000\000\000\000\000\000{"tor' \
  >"$state/spool/00000000000009999999.snap"
# One clean run drains what is left.
pfa_agent_start final "${args[@]}"
pfa_wait_for '[ "$(ls "$state/spool" | grep -c snap || true)" -eq 0 ] &&
  [ "$(pfa_status "$state" delivered)" -gt 0 ]' 180 "the spool was not drained after the kills"
corrupt_status=$(pfa_status "$state" spool_corrupt)
corrupt_sent=$(pf_psql -c "SELECT spool_corrupt FROM snapshots ORDER BY seq DESC LIMIT 1")
pfa_agent_stop
pf_log "damaged records at the last start: status.json says $corrupt_status skipped, the last snapshot's agent_stats $corrupt_sent"
pf_check '[ "$corrupt_status" -eq 2 ] && [ "$corrupt_sent" -eq 2 ]' "damaged records not counted as 2"

last=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$state/state.json")
logged=$(cat "$PF_TMP/crash.log" "$PF_TMP/final.log" | sed -n 's/.*spooled seq=\([0-9]*\) .*/\1/p' | tr '\n' ' ')
starts=$(grep -c ' started (pid' "$PF_TMP/crash.log" || true)
corrupt=$(cat "$PF_TMP/crash.log" "$PF_TMP/final.log" | grep -c 'corrupt or torn' || true)
python3 - "$last" "$logged" "$(pfa_db_seqs | tr '\n' ' ')" \
  "$(pf_psql -c "SELECT count(*) - count(DISTINCT (agent_id, seq)) FROM snapshots")" \
  "$(pf_psql -c "SELECT count(*) - count(DISTINCT seq) FROM snapshots")" \
  "$kills" "$starts" "$corrupt" <<'EOF' || pf_fail "a spooled snapshot is missing or stored twice"
import sys
last = int(sys.argv[1])
logged = [int(x) for x in sys.argv[2].split()]
db = [int(x) for x in sys.argv[3].split()]
dups_pair, dups_seq = int(sys.argv[4]), int(sys.argv[5])
kills, starts, corrupt = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
lost = sorted(set(logged) - set(db))
never = sorted(set(range(1, last + 1)) - set(db))
print("kills %d, starts that logged 'started' %d, seqs handed out %d, logged as spooled %d, "
      "in the database %d, duplicates %d/%d, seqs never spooled (killed between seq and "
      "spool write) %d, corrupt records skipped %d"
      % (kills, starts, last, len(set(logged)), len(db), dups_pair, dups_seq, len(never),
         corrupt))
ok = True
if lost:
    print("FAIL spooled but not stored:", lost[:50]); ok = False
if dups_pair or dups_seq or len(db) != len(set(db)):
    print("FAIL stored twice"); ok = False
if db and max(db) > last:
    print("FAIL a stored seq beyond the counter"); ok = False
if len(set(logged)) < 20:
    print("FAIL too few snapshots to mean anything"); ok = False
sys.exit(0 if ok else 1)
EOF
echo "agent_crash: passed"
