#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_schedule.sh BUILD_DIR: the schedule never stalls. The agent
# (interval 2 s) sends through stall_proxy.py to the real collector. The
# proxy first answers normally, then holds requests 65 s without a word
# (a collector that accepts and never answers: longer than the agent waits
# for an answer, 60 s, so it gives up and tries again), then answers one byte a
# second until the agent has read such an answer to its end, then normally
# again. Checks, on what the database stored:
#   - no seq is missing (none skipped, none lost: seq contiguous 1..N);
#   - taken_at of consecutive snapshots are at most 3 s apart (the 2 s
#     interval, 1 s of rounding: every snapshot within 1 s of schedule),
#     also while the delivery waited, and one every 2 s was taken then
#     (2 s, not 1: on a loaded test machine a snapshot itself may take a
#     second, and a tick the snapshot overran is skipped by design);
#   - the agent reads an answer sent one byte a second (38 s) to its end;
#   - everything spooled meanwhile is delivered once the proxy answers
#     normally (a request begun in the slow mode still takes its 38 s).
# Prints the largest gap and how many snapshots were taken while the
# proxy stalled (the figures of the README).
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_schedule.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=agent_lib.sh
. "$here/agent_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
proxy=
stop_proxy() { [ -n "$proxy" ] && kill "$proxy" 2>/dev/null; wait "$proxy" 2>/dev/null || true; proxy=; }
trap 'rc=$?; stop_proxy; pfa_cleanup "$rc"' EXIT
pf_make_certs
pf_pg_init
pf_migrate
max_seq() { pf_psql -c "SELECT coalesce(max(seq), 0) FROM snapshots"; }
n_stored() { pf_psql -c "SELECT count(DISTINCT seq) FROM snapshots"; }
max_gap() { # largest distance in s between consecutive taken_at
  pf_psql -c "SELECT coalesce(max(d), 0) FROM (SELECT extract(epoch FROM taken_at - lag(taken_at)
    OVER (ORDER BY seq))::int AS d FROM snapshots) g"
}
answered() { grep -c "\"event\": \"answered\".*\"mode\": \"$1\"" "$PF_TMP/proxy.log" || true; }

c=$(pf_free_port)
p=$(pf_free_port)
while [ "$p" = "$c" ]; do p=$(pf_free_port); done
pfa_collector_on "$c"
modef=$PF_TMP/mode
echo pass >"$modef"
"$PF_SYS_PY" "$here/stall_proxy.py" --port "$p" --upstream "$c" --cert "$PF_CERT" --key "$PF_KEY" \
  --ca "$PF_CA" --mode-file "$modef" --log "$PF_TMP/proxy.log" >"$PF_TMP/proxy.out" 2>&1 &
proxy=$!
pfa_wait_for 'grep -q listening "$PF_TMP/proxy.log" 2>/dev/null' 30 "stall_proxy.py did not start"
state=$PF_TMP/state
pfa_agent_start agent --collector "https://127.0.0.1:$p" --enroll-secret "$PF_ENROLL_SECRET" \
  --ca-file "$PF_CA" --state-dir "$state" --interval 2
pfa_wait_for '[ "$(n_stored)" -ge 3 ]' 30 "no snapshots through the proxy"

echo silent >"$modef"
t_stall=$(date +%s)
pf_log "proxy silent (stored up to seq $(max_seq))"
sleep 65
delivered() { grep -c 'delivered [0-9]* snapshot' "$PF_TMP/agent.log" || true; }
d0=$(delivered)
echo trickle >"$modef"
pf_log "proxy answers one byte a second"
# the agent must read a slow answer to its end (an agent that waits in the
# request instead of taking snapshots only shows it in the gaps below)
t=$SECONDS
while [ "$(delivered)" -le "$d0" ] && [ $((SECONDS - t)) -lt 100 ]; do sleep 0.5; done
slow=$(( $(delivered) - d0 ))
pf_log "the agent read $slow answer(s) sent one byte a second, $((SECONDS - t)) s after they began" \
  "($(answered trickle) sent)"
t_switch=$(date +%s)
echo pass >"$modef"
pf_log "proxy answers normally again (stored up to seq $(max_seq))"
# drained: every seq up to the newest stored, the newest taken after the switch
drained() {
  [ "$(pf_psql -c "SELECT count(DISTINCT seq) = max(seq) AND max(taken_at) > to_timestamp($t_switch)
    FROM snapshots")" = t ]
}
t=$SECONDS
until drained || [ $((SECONDS - t)) -ge 60 ]; do sleep 0.5; done
pf_log "$(drained && echo "drained $((SECONDS - t)) s after the switch" || echo "NOT drained after 60 s")"

# one query: the agent goes on adding snapshots meanwhile
read -r n last <<<"$(pf_psql -F ' ' -c "SELECT count(DISTINCT seq), max(seq) FROM snapshots")"
gap=$(max_gap)
# snapshots taken from the stall to the switch: one every 2 s is due
span=$((t_switch - t_stall))
during=$(pf_psql -c "SELECT count(*) FROM snapshots
  WHERE taken_at >= to_timestamp($t_stall) AND taken_at < to_timestamp($t_switch)")
missing=$(pf_psql -c "SELECT string_agg(g::text, ' ') FROM generate_series(1, $last) g
  WHERE g NOT IN (SELECT seq FROM snapshots)")
pf_log "stored $n snapshot(s), seq 1..$last${missing:+, missing: $missing}; largest gap between taken_at: $gap s;" \
  "$during snapshot(s) taken in the $span s from the stall to the end of the first slow answer"
pf_check '[ "$slow" -ge 1 ]' "the agent read no answer sent one byte a second to its end"
pf_check '[ -z "$missing" ] && [ "$n" -eq "$last" ]' "seqs are missing: $missing"
pf_check drained "the spool was not drained within 60 s of the collector answering again"
# taken_at is the agent's own clock: no delay of this test is in the gap.
# When the agent itself said a snapshot overran its interval (a tick
# skipped by design, e.g. on a loaded machine), the failure says so.
overran=$(grep -c 'a snapshot takes longer than --interval' "$PF_TMP/agent.log" || true)
pf_check '[ "$gap" -le 3 ]' "the schedule stalled: $gap s between two snapshots$(
  [ "$overran" = 0 ] || echo " (the agent logged snapshots overrunning the interval: ticks skipped)")"
pf_check '[ "$during" -ge "$((span / 2 - 1))" ]' "snapshots were skipped while the delivery waited: $during in $span s"
pfa_agent_stop
echo "agent_schedule: passed (largest gap $gap s, $during snapshots in $span s of stall)"
