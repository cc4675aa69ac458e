#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_spool_cap.sh BUILD_DIR: the agent (interval 1 s, --spool-max-mb
# 0.0625 = 64 KiB, room for about 14 snapshots) runs 35 s with no collector
# reachable, so the cap is passed about twice over; then the collector
# (real, with PostgreSQL) comes up and the spool drains. Checks:
#  - the spool directory's disk use (du, allocated blocks, sampled every
#    0.1 s) never exceeds the cap;
#  - the drop count the agent reports (status.json and agent_stats of the
#    snapshots it sends) equals the number of seqs that never arrived, and
#    those are the oldest ones.
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_spool_cap.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=agent_lib.sh
. "$here/agent_lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
sampler=
stop_sampler() { [ -n "$sampler" ] && kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; sampler=; }
trap 'stop_sampler; pfa_cleanup' EXIT
pf_make_certs
pf_pg_init
pf_migrate

cap_mb=0.0625
cap=65536
port=$(pf_free_port)
state=$PF_TMP/state
mkdir -p "$state/spool"
# sample the spool's disk use: allocated bytes, and apparent bytes
(while :; do
   printf '%s %s\n' "$(du -sB1 "$state/spool" 2>/dev/null | cut -f1)" \
     "$(du -sb "$state/spool" 2>/dev/null | cut -f1)"
   sleep 0.1
 done) >"$PF_TMP/du.txt" &
sampler=$!

pfa_agent_start agent --collector "https://127.0.0.1:$port" --enroll-secret "$PF_ENROLL_SECRET" \
  --ca-file "$PF_CA" --state-dir "$state" --interval 1 --spool-max-mb "$cap_mb"
sleep 35
# past the cap by ten snapshots (a loaded machine may skip a tick now and then)
pfa_wait_for '[ "$(pfa_status "$state" spool_dropped)" -ge 10 ]' 120 "the cap was not passed"
dropped_down=$(pfa_status "$state" spool_dropped)
depth_down=$(pfa_status "$state" spool_depth)
pf_log "after 35 s without a collector: spool depth $depth_down, dropped $dropped_down"
pf_check '[ "$dropped_down" -ge 10 ]' "the cap was not passed"

pfa_collector_on "$port"
pfa_wait_for '[ "$(pfa_status "$state" spool_depth)" -le 1 ] && [ "$(pfa_db_seqs | wc -l)" -ge '"$depth_down"' ]' 330 \
  "the spool did not drain"
sleep 2
pfa_agent_stop
stop_sampler

last=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seq"])' "$state/state.json")
spooled=$(ls "$state/spool" | sed -n 's/^0*\([0-9][0-9]*\)\.snap$/\1/p' | tr '\n' ' ')
python3 - "$cap" "$PF_TMP/du.txt" "$last" "$(pfa_db_seqs | tr '\n' ' ')" "$spooled" \
  "$(pfa_status "$state" spool_dropped)" \
  "$(pf_psql -c "SELECT spool_dropped FROM snapshots ORDER BY seq DESC LIMIT 1")" \
  "$(pf_psql -c "SELECT count(*) - count(DISTINCT seq) FROM snapshots")" <<'EOF' ||
import sys
cap = int(sys.argv[1])
samples = [l.split() for l in open(sys.argv[2]) if len(l.split()) == 2]
alloc = [int(a) for a, _ in samples]
appar = [int(b) for _, b in samples]
last = int(sys.argv[3])
db = set(int(x) for x in sys.argv[4].split())
spool = set(int(x) for x in sys.argv[5].split())
dropped_status, dropped_snapshot, dups = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
missing = sorted(set(range(1, last + 1)) - db - spool)
print("cap %d bytes; %d samples of du: max allocated %d bytes, max apparent %d bytes"
      % (cap, len(alloc), max(alloc), max(appar)))
print("seqs 1..%d: stored %d, spooled at stop %d, never arrived %d; drop count in status.json %d, "
      "in the last stored snapshot %d; duplicates %d"
      % (last, len(db), len(spool), len(missing), dropped_status, dropped_snapshot, dups))
ok = True
if max(alloc) > cap:
    print("FAIL the spool took more disk than the cap"); ok = False
if len(missing) != dropped_status or len(missing) != dropped_snapshot:
    print("FAIL the drop count differs from what was dropped"); ok = False
if missing != list(range(1, len(missing) + 1)):
    print("FAIL the dropped ones are not the oldest:", missing[:40]); ok = False
if dups:
    print("FAIL duplicates"); ok = False
sys.exit(0 if ok else 1)
EOF
  pf_fail "spool cap not kept or drops miscounted"
echo "agent_spool_cap: passed"
