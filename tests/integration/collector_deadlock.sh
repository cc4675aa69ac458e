#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_deadlock.sh: two collectors writing one database must not
# deadlock each other. Each collector runs two writers, and each writer's
# transaction holds the snapshots of several agents (collector/ingest.c
# groups the requests that wait). Here every agent posts to both
# collectors at once (its own seqs on each: an agent resending to the
# other collector while the first still writes, cloned hosts sharing a
# key), PF_DEADLOCK_AGENTS agents (default 8: most of them in every
# transaction, so concurrent transactions share agents; with many more
# they rarely do) for PF_DEADLOCK_SECONDS (default 30). The collector
# retries a deadlock (nothing is lost), so the test counts them:
# PostgreSQL's own count (pg_stat_database.deadlocks) and the collectors'
# "SQLSTATE 40P01" log lines must both stay 0, while every snapshot
# answered 200 is stored exactly once and every agent's last_seen is set.
# Before the agents' rows were locked in agent_id order (store.c, "seen"),
# two runs of this test had 8 and 12 deadlocks. Real PostgreSQL, two real
# collectors over TLS, inside a private network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
agents=${PF_DEADLOCK_AGENTS:-8}
seconds=${PF_DEADLOCK_SECONDS:-30}

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
for i in $(seq "$agents"); do pf_enroll "DL-$i" "site-$((i % 5))" "machine-dl$i"; done >"$keys"
deadlocks() {
  pf_psql -c "select deadlocks from pg_stat_database where datname = current_database()"
}
before=$(deadlocks)

pf_log "$agents agents post through both collectors at once for $seconds s"
out=$(python3 "$here/collector_deadlock.py" post "$PF_CA" "$keys" "$PF_TMP/posted" \
  "$seconds" "$a_url" "$b_url")
pf_log "$out"

pf_log "checks"
# A backend reports its counts to the statistics when it goes idle, at
# most once a second: wait for the count to settle (a deadlock reported
# late would otherwise be missed; a bound only a hang reaches).
settle() { local n; n=$(deadlocks); sleep 1.5; [ "$(deadlocks)" = "$n" ]; }
pf_wait_for settle 30 "pg_stat_database.deadlocks did not settle"
pg_deadlocks=$(($(deadlocks) - before))
log_deadlocks=$(grep -c 'SQLSTATE 40P01' "$PF_TMP/collector.log" || true)
retried=$(grep -c 'retrying' "$PF_TMP/collector.log" || true)
pf_log "deadlocks: $pg_deadlocks (pg_stat_database), $log_deadlocks (collector logs); retried transactions: $retried"
grep 'SQLSTATE 40P01' "$PF_TMP/collector.log" | head -n 3 >&2 || true
posted=$(wc -l <"$PF_TMP/posted")
pf_check '[ "$posted" -ge $((agents * 5)) ]' "the agents posted at least 5 snapshots each ($posted)"
stored=$(pf_psql -c "select count(*) from snapshot_data")
pf_check '[ "$stored" -eq "$posted" ]' "every snapshot answered 200 is stored once ($stored of $posted)"
unseen=$(pf_psql -c "select count(*) from agents where last_seen is null")
pf_check '[ "$unseen" -eq 0 ]' "every agent's last_seen is set ($unseen not)"
pf_check '[ "$pg_deadlocks" -eq 0 ]' "PostgreSQL detected no deadlock ($pg_deadlocks)"
pf_check '[ "$log_deadlocks" -eq 0 ]' "the collectors logged no deadlock ($log_deadlocks)"
pf_log "ok: $posted snapshots of $agents agents through two collectors, no deadlock"
