/* SPDX-License-Identifier: MIT */
/* fold.c: the SQL function that folds queued snapshots into process_hours
 * from the stored rows (sql/012's queue; the layout of sql/020 and the
 * earlier *_v1 tables), generated from fold.h's lists so it cannot drift
 * from the C folds. `migrate` installs it after the sql/ files. */
#include "fold.h"

const char fold_flush_sql[] =
    "CREATE OR REPLACE FUNCTION pf_flush_process_hours(max_snapshots integer, min_held bigint, "
    "min_age interval) RETURNS integer LANGUAGE plpgsql AS $fold$\n"
    "DECLARE n integer;\n"
    "BEGIN\n"
    /* one writer of process_hours at a time (proc_rollup.h) */
    "PERFORM pg_advisory_xact_lock(hashtext('portfleet.process_hours'));\n"
    /* Keys, not ctids (a ctid names a row only within one table, and on
     * Citus the queue is many); no row locks: every writer of the queue's
     * deletions and of process_hours holds the advisory lock above. */
    "WITH k AS (SELECT agent_id, seq FROM process_hours_queue WHERE queued_at <= now() - min_age "
    "LIMIT max_snapshots), "
    "q AS (DELETE FROM process_hours_queue d USING k WHERE d.agent_id = k.agent_id "
    "AND d.seq = k.seq RETURNING d.agent_id, d.seq, d.taken_at), "
    /* strings by joins on the agent, not pf_string(): a function that
     * queries a table is a nested distributed query on Citus */
    "sp AS (SELECT d.agent_id, d.taken_at, n.value AS name, s.value AS service, "
    "x.tcp_ports + x.udp_ports AS held, x.st_bound, "
    /* an endpoint is an id or inline in the body (sql/130) */
    "pf_remote_addr(x.remote_pf, x.remote_hi, x.remote_lo, e.value) AS top_remote_addr, "
    "pf_remote_port(x.remote_pf, e.value) AS top_remote_port, x.rank "
    "FROM q JOIN snapshot_data d ON d.agent_id = q.agent_id AND d.taken_at = q.taken_at "
    "AND d.seq = q.seq CROSS JOIN LATERAL pf_body_processes(d.body) x "
    "LEFT JOIN agent_strings n ON n.agent_id = d.agent_id AND n.id = x.name_id "
    "LEFT JOIN agent_strings s ON s.agent_id = d.agent_id AND s.id = x.service_id "
    "LEFT JOIN agent_strings e ON e.agent_id = d.agent_id AND e.id = x.remote_id "
    "UNION ALL SELECT v.agent_id, v.taken_at, v.name, v.service, v.tcp_ports + v.udp_ports, "
    "v.st_bound, v.top_remote_addr, v.top_remote_port, v.rank FROM q "
    "JOIN snapshot_processes_v1 v ON v.agent_id = q.agent_id AND v.taken_at = q.taken_at "
    "AND v.seq = q.seq), "
    "p AS (SELECT agent_id, date_bin('1 hour', taken_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') "
    "AS hour, name, service, held, st_bound, top_remote_addr, top_remote_port, taken_at, rank "
    "FROM sp WHERE held >= min_held), "
    "merged AS (INSERT INTO process_hours AS p (agent_id, hour, name, service, "
    FOLD_PROC_COLUMNS(FOLD_SQL_NAME) "remote_addr, remote_port, remote_at) "
    "SELECT agent_id, hour, name, service, " FOLD_PROC_COLUMNS(FOLD_PROC_AGG_ONE)
    /* the remote of the latest reading that had one (the later entry of
     * one snapshot) */
    "(array_agg(top_remote_addr ORDER BY taken_at DESC, rank DESC) FILTER (WHERE "
    "top_remote_addr IS NOT NULL))[1], "
    "(array_agg(top_remote_port ORDER BY taken_at DESC, rank DESC) FILTER (WHERE "
    "top_remote_addr IS NOT NULL))[1], "
    "max(taken_at) FILTER (WHERE top_remote_addr IS NOT NULL) "
    "FROM p GROUP BY agent_id, hour, name, service "
    /* every writer's row order (the collector sorts with strcmp) */
    "ORDER BY agent_id, hour, name COLLATE \"C\", service COLLATE \"C\" "
    "ON CONFLICT (agent_id, hour, name, service) DO UPDATE SET " FOLD_PROC_SET_SQL ") "
    "SELECT count(*)::integer INTO n FROM q;\n"
    "RETURN n;\n"
    "END\n"
    "$fold$";
