#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_strings_race.sh: two collectors on one database numbering the
# same agents' strings (agent_strings, collector/store/compact.h) must
# never give one string two ids or one id two strings, and must store
# every snapshot they answered with 200 with its own strings.
#  1. the race: per agent, two snapshots with the same new strings (other
#     seqs) posted at the same moment, one to each collector, 6 agents x 40;
#  2. a restart: collector B starts again with an empty cache and posts
#     snapshots whose strings A stored (B must find their ids, not number
#     them again), while A posts new ones;
#  3. a counter behind the agent's highest id (as a collector of a release
#     before the counters would leave it): the numbers collide, the
#     collector moves the counter and numbers again.
# Then every snapshot's processes and remotes, read back through the views,
# are the ones posted; no (agent, value) and no (agent, id) twice; each
# counter at or above its agent's highest id. Real PostgreSQL, two real
# collectors over TLS, inside a private network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
race="python3 $here/collector_strings_race.py"

pf_pg_init
pf_make_certs
pf_migrate
# collector A, then B (lib.sh tracks one: A's pid is stopped here)
pf_collector_start --db-workers 2
a_url=$PF_COLLECTOR_URL a_pid=$PF_COLLECTOR_PID
stop_a() { kill -TERM "$a_pid" 2>/dev/null && wait "$a_pid" 2>/dev/null || true; }
trap 'rc=$?; stop_a; pf_cleanup "$rc"' EXIT
PF_COLLECTOR_PID=
pf_collector_start --db-workers 2
b_url=$PF_COLLECTOR_URL

keys=$PF_TMP/keys
for i in $(seq 6); do pf_enroll "RACE-$i" site-r "machine-r$i"; done >"$keys"
log=$PF_TMP/posted

pf_log "1. the race: the same new strings through both collectors at once"
$race race "$a_url" "$b_url" "$PF_CA" "$keys" "$log" 1 40
# A number a collector took for a string the other stored first stays
# unused: there are some, so both collectors met on the same strings.
unused=$(pf_psql -c "select (select sum(last) from agent_string_next)
  - (select count(*) from agent_strings)")
pf_check '[ "$unused" -gt 0 ]' "the collectors numbered strings the other had stored ($unused numbers unused)"

pf_log "2. B restarted (empty cache): strings A stored, while A brings new ones"
pf_collector_stop
pf_collector_start --db-workers 2
b_url=$PF_COLLECTOR_URL
$race post "$b_url" "$PF_CA" "$keys" "$log" 81 30 1 &
p1=$!
$race post "$a_url" "$PF_CA" "$keys" "$log" 111 30 200 &
p2=$!
wait $p1
wait $p2

pf_log "3. a counter behind its agent's highest id"
read -r agent0 _ <"$keys"
before=$(pf_psql -c "select max(id) from agent_strings where agent_id = '$agent0'")
pf_psql -c "update agent_string_next set last = $before - 10 where agent_id = '$agent0'" >/dev/null
$race post "$b_url" "$PF_CA" "$keys" "$log" 141 5 300
pf_check 'grep -q "moving the string counters" "$PF_TMP/collector.log"' \
  "the collector moved the counter that was behind"
after=$(pf_psql -c "select last from agent_string_next where agent_id = '$agent0'")
pf_check '[ "$after" -gt "$before" ]' "the counter moved past the highest id ($before, now $after)"

pf_log "checks"
posted=$(wc -l <"$log")
pf_check '[ "$posted" -eq $((6 * (80 + 60 + 5))) ]' "every post answered 200 ($posted)"
stored=$(pf_psql -c "select count(*) from snapshot_data")
pf_check '[ "$stored" -eq "$posted" ]' "every snapshot answered with 200 is stored ($stored of $posted)"
$race expect "$log" | sort >"$PF_TMP/expected"
{
  pf_psql -F ' ' -c "select 'R', agent_id, seq, coalesce(addr, '?'), coalesce(port, -1), count
    from snapshot_remotes"
  pf_psql -F ' ' -c "select 'P', agent_id, seq, coalesce(name, '?'), coalesce(service, '?')
    from snapshot_processes"
} | sort >"$PF_TMP/stored"
if ! diff "$PF_TMP/expected" "$PF_TMP/stored" >"$PF_TMP/diff"; then
  head -n 20 "$PF_TMP/diff" >&2
  pf_fail "the views give back other strings than were posted ($(grep -c '^[<>]' "$PF_TMP/diff") lines differ)"
fi
rows=$(wc -l <"$PF_TMP/stored")
dups=$(pf_psql -c "select (select count(*) from agent_strings)
  - (select count(*) from (select distinct agent_id, value from agent_strings) v)
  + (select count(*) from agent_strings)
  - (select count(*) from (select distinct agent_id, id from agent_strings) i)")
pf_check '[ "$dups" -eq 0 ]' "no string with two ids, no id with two strings"
behind=$(pf_psql -c "select count(*) from (select agent_id, max(id) m from agent_strings
  group by agent_id) s left join agent_string_next n using (agent_id)
  where n.last is null or n.last < s.m")
pf_check '[ "$behind" -eq 0 ]' "every counter at or above its agent's highest id"
strings=$(pf_psql -c "select count(*) from agent_strings")
pf_log "ok: $posted snapshots through two collectors, $rows rows read back as posted, $strings strings"
