#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collector_fold.sh: one fold rule (collector/capacity/fold.h), every path
# the same rows. 60 snapshots of one host over two hours (counts, VPN and
# events varying; processes repeating a (name, service), some below 20
# ports, some without a remote; posted out of order, some twice) are
# folded by
#  1. fleet_add_snapshot() in memory (tests/tools/fold_rows.c),
#  2. ingest: rollup.c's upsert of host_hours, proc_rollup.c's accumulator
#     and upsert of process_hours,
#  3. the queue: process_hours emptied, every key queued again, and the SQL
#     function generated from fold.h (pf_flush_process_hours()) folding them
#     from the stored rows before GET /v1/findings;
# host_hours and process_hours (with each process's latest remote) must be
# the same rows by every path. Real PostgreSQL, real collector over TLS,
# inside a private network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
pf_netns_reexec "$@"
pf_tmpdir
fold_rows=${PF_FOLD_ROWS_BIN:-$(dirname "$PF_COLLECTOR_BIN")/../tests/fold_rows}
rollup="python3 $here/collector_rollup.py"

pf_pg_init
pf_make_certs
pf_migrate
pf_collector_start
read -r agent key < <(pf_enroll FOLD-1 site-f machine-f)
d=$PF_TMP/snaps
$rollup gen "$agent" 1 60 "$d"
# host values that vary: counts, a top destination, VPN, events
python3 - "$d" <<'PY'
import glob, json, random, sys
rnd = random.Random(7)
for path in sorted(glob.glob(sys.argv[1] + "/*.json")):
    s = json.load(open(path))
    s["tcp"]["ephemeral_in_use"] = rnd.randint(0, 5000)
    s["udp"]["ephemeral_in_use"] = rnd.randint(0, 300)
    s["tcp"]["top_destination"]["count"] = rnd.randint(0, 900)
    s["vpn"]["connections"] = rnd.randint(0, 400)
    s["vpn"]["by_protocol"]["ikev2"] = rnd.randint(0, 3)
    s["events"]["tcpip_4227"] = rnd.choice([0, 0, 1, 5])
    s["events"]["netlogon_5719"] = rnd.choice([0, 2])
    # sizing (sizing.h): each section, and each figure in it, now and then absent
    if rnd.random() < 0.8:
        r = {"cpu_pct": round(rnd.uniform(0, 100), 2), "memory_used_mb": rnd.randint(0, 8192)}
        if rnd.random() < 0.5:
            r["cpu_pct_peak"] = round(rnd.uniform(r["cpu_pct"], 100), 2)
        if rnd.random() < 0.2:
            del r["memory_used_mb"]
        s["resources"] = r
    if rnd.random() < 0.8:
        se = {"source": "entra-connector", "tcp_active": rnd.randint(0, 900),
              "udp_active": rnd.randint(0, 90), "users": rnd.randint(0, 300),
              "requests_per_s": round(rnd.uniform(0, 500), 2)}
        for k in ("udp_active", "users", "requests_per_s"):
            if rnd.random() < 0.2:
                del se[k]
        s["sessions"] = se
    if rnd.random() < 0.7:
        s["vpn"]["ports"] = [{"protocol": p, "configured": c, "in_use": rnd.randint(0, c)}
                             for p, c in (("ikev2", 128), ("sstp", rnd.choice([64, 128])))
                             if rnd.random() < 0.8]
    if rnd.random() < 0.7:
        size = rnd.choice([250, 500])
        s["vpn"]["address_pool"] = {"size": size, "in_use": rnd.randint(0, size)}
    json.dump(s, open(path, "w"))
PY
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$d"
$rollup post "$PF_COLLECTOR_URL" "$PF_CA" "$key" "$d" 4 11 12 40 59
pf_wait_for '[ "$(pf_psql -c "select count(*) from process_hours_queue")" = 0 ]' 60 \
  "the collector folded every queued key"

"$fold_rows" "$(date -u +%s)" "$d"/*.json | sort >"$PF_TMP/memory.txt"
dump() { # FILE: the rows in fold_rows' form
  {
    pf_psql -F '|' -c "select 'H', extract(epoch from hour)::bigint, tcp_max, udp_max,
        top_dest_max, vpn_conn_max, ev_tcpip_4227, ev_tcpip_4231, ev_tcpip_4266,
        ev_netlogon_5719 from host_hours where agent_id = '$agent'"
    pf_psql -F '|' -c "select 'S', extract(epoch from hour)::bigint, sz_cpu_pct, sz_mem_mb,
        sz_sessions, sz_users, sz_rps, sz_ports_ikev2, sz_ports_sstp, sz_ports_l2tp,
        sz_ports_pptp, sz_conf_ikev2, sz_conf_sstp, sz_conf_l2tp, sz_conf_pptp, sz_pool_used,
        sz_pool_size from host_hours where agent_id = '$agent'"
    pf_psql -F '|' -c "select 'P', extract(epoch from hour)::bigint, name, service, held_max,
        held_min, bound_max from process_hours where agent_id = '$agent'"
    pf_psql -F '|' -c "select distinct on (name, service) 'R', name, service, remote_addr,
        remote_port, extract(epoch from remote_at)::bigint from process_hours
        where agent_id = '$agent' and remote_at is not null
        order by name, service, remote_at desc"
  } | sort >"$1"
}
dump "$PF_TMP/ingest.txt"
pf_check '[ "$(grep -c "^P" "$PF_TMP/memory.txt")" -ge 4 ]' "the memory fold kept processes"
pf_check '[ "$(grep -c "^S|[0-9]*|[0-9]" "$PF_TMP/memory.txt")" -ge 2 ]' \
  "the memory fold kept sizing figures"
diff "$PF_TMP/memory.txt" "$PF_TMP/ingest.txt" ||
  pf_fail "ingest (rollup.c, proc_rollup.c) and the memory fold (fleet.c) differ"
pf_log "ok: ingest rows = memory fold ($(wc -l <"$PF_TMP/ingest.txt") rows)"

pf_psql -c "delete from process_hours" >/dev/null
pf_psql -c "insert into process_hours_queue (agent_id, seq, taken_at)
  select agent_id, seq, taken_at from snapshot_seqs" >/dev/null
pf_curl -fsS -o /dev/null -H "Authorization: Bearer $PF_ADMIN_TOKEN" \
  "$PF_COLLECTOR_URL/v1/findings" || pf_fail "GET /v1/findings"
pf_check '[ "$(pf_psql -c "select count(*) from process_hours_queue")" = 0 ]' "queue folded"
dump "$PF_TMP/queue.txt"
diff "$PF_TMP/memory.txt" "$PF_TMP/queue.txt" ||
  pf_fail "the queue's SQL fold and the memory fold differ"
pf_log "collector_fold: all checks passed"
