-- SPDX-License-Identifier: MIT
-- 012_process_hours_queue.sql: process_hours (sql/010) is no longer
-- updated inside the ingest transaction, row by row for every snapshot
-- (collector/proc_rollup.h tells the whole path).
--
-- Ingest adds the key of every snapshot it stores for the first time to
-- process_hours_queue, in the transaction that stores the snapshot, so a
-- queued key always has its rows. The collector folds the snapshots it
-- stored from memory and deletes their keys; pf_flush_process_hours()
-- folds queued keys from the stored rows instead: those older than
-- min_age (orphans: their collector died before folding them) every
-- second, and all of them before an analysis. It takes up to
-- max_snapshots keys, folds their snapshot_processes rows into one row
-- per agent, hour, name and service, merges those with the stored rows and
-- deletes the keys, in one statement. The merge is idempotent, so a
-- snapshot folded from memory and from the queue counts once. The rules
-- are those of sql/010 (collector/fleet.c):
-- * hour: taken_at truncated to the hour (UTC);
-- * a process is kept for an hour when it holds at least min_held ports
--   (tcp_ports + udp_ports) in a snapshot; held_max and held_min are the
--   hour's highest and lowest such values, bound_max the most BOUND;
-- * its remote is the top_remote of its latest snapshot that had one (the
--   last in the agent's list when one snapshot lists it twice).
-- Returns the number of queued keys taken.

CREATE TABLE process_hours_queue (
    agent_id  uuid NOT NULL,
    seq       bigint NOT NULL,
    taken_at  timestamptz NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, seq)
);

CREATE FUNCTION pf_flush_process_hours(max_snapshots integer, min_held bigint,
                                       min_age interval)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    -- One writer of process_hours at a time (this function, or a
    -- collector writing what it folded in memory), until commit: they take
    -- queue rows and process_hours rows in opposite orders, and an
    -- analysis waits here for a write in flight, then sees it.
    PERFORM pg_advisory_xact_lock(hashtext('portfleet.process_hours'));
    WITH q AS (
        DELETE FROM process_hours_queue
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM process_hours_queue
                                WHERE queued_at <= now() - min_age
                                LIMIT max_snapshots FOR UPDATE SKIP LOCKED))
        RETURNING agent_id, seq, taken_at
    ), p AS (
        SELECT sp.agent_id,
               date_bin('1 hour', sp.taken_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour,
               sp.name, sp.service, sp.tcp_ports + sp.udp_ports AS held, sp.st_bound,
               sp.top_remote_addr, sp.top_remote_port, sp.taken_at, sp.rank
        FROM q
        JOIN snapshot_processes sp
          ON sp.agent_id = q.agent_id AND sp.taken_at = q.taken_at AND sp.seq = q.seq
        WHERE sp.tcp_ports + sp.udp_ports >= min_held
    ), merged AS (
        INSERT INTO process_hours AS ph (agent_id, hour, name, service, held_max, held_min,
                                         bound_max, remote_addr, remote_port, remote_at)
        SELECT agent_id, hour, name, service, max(held), min(held), max(st_bound),
               (array_agg(top_remote_addr ORDER BY taken_at DESC, rank DESC)
                   FILTER (WHERE top_remote_addr IS NOT NULL))[1],
               (array_agg(top_remote_port ORDER BY taken_at DESC, rank DESC)
                   FILTER (WHERE top_remote_addr IS NOT NULL))[1],
               max(taken_at) FILTER (WHERE top_remote_addr IS NOT NULL)
        FROM p
        GROUP BY agent_id, hour, name, service
        -- the order of every writer of process_hours (the collector sorts with
        -- strcmp), so they lock rows in the same order
        ORDER BY agent_id, hour, name COLLATE "C", service COLLATE "C"
        ON CONFLICT (agent_id, hour, name, service) DO UPDATE SET
            held_max = GREATEST(ph.held_max, EXCLUDED.held_max),
            held_min = LEAST(ph.held_min, EXCLUDED.held_min),
            bound_max = GREATEST(ph.bound_max, EXCLUDED.bound_max),
            remote_addr = CASE WHEN EXCLUDED.remote_at >= ph.remote_at OR ph.remote_at IS NULL
                               THEN coalesce(EXCLUDED.remote_addr, ph.remote_addr)
                               ELSE ph.remote_addr END,
            remote_port = CASE WHEN EXCLUDED.remote_at >= ph.remote_at OR ph.remote_at IS NULL
                               THEN coalesce(EXCLUDED.remote_port, ph.remote_port)
                               ELSE ph.remote_port END,
            remote_at = GREATEST(ph.remote_at, EXCLUDED.remote_at)
    )
    SELECT count(*)::integer INTO n FROM q;
    RETURN n;
END
$$;
