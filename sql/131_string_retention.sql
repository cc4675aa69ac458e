-- SPDX-License-Identifier: MIT
-- 131_string_retention.sql: agent_strings no longer grows forever.
--
-- Each string now carries last_day: the latest day (UTC, of taken_at) of
-- a snapshot whose body may refer to it, or later. The collector inserts a
-- string with the day of its batch's latest snapshot plus a week and,
-- before storing a body of a day past the last_day it knows for a string,
-- moves the string's last_day up again to that day plus a week (in the
-- same transaction, the row locked until COMMIT; a string found gone then
-- is numbered again, collector/store/compact.c): a string in steady use
-- is written once a week, and kept at most a week longer than its last
-- body. So every body stored in
-- the partition of day D refers only to strings with last_day >= D, and
-- when the partitions of days before a cutoff are dropped, the strings
-- with last_day before it can go too, in the same transaction: no body
-- still stored refers to them. Ids are never reused (agent_string_next
-- only grows), so an id that is gone can never name another string.
-- Strings stored before this migration get today: kept for one more
-- retention period, then dropped unless used again.
ALTER TABLE agent_strings ADD COLUMN last_day date NOT NULL DEFAULT current_date;

-- As sql/020's, and the strings no body still stored refers to.
CREATE OR REPLACE FUNCTION pf_drop_partitions_before(cutoff date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
    t timestamptz := cutoff::timestamp AT TIME ZONE 'UTC';
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('portfleet.partitions'));
    FOR r IN
        SELECT c.relname
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
          JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname IN ('snapshot_data', 'snapshots_v1', 'snapshot_processes_v1',
                             'snapshot_remotes_v1')
           AND p.relnamespace = c.relnamespace
           AND pg_table_is_visible(p.oid)
           AND c.relname ~ '_p[0-9]{8}$'
           AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        n := n + 1;
    END LOOP;
    DELETE FROM snapshot_seqs WHERE taken_at < t;
    DELETE FROM process_hours_queue WHERE taken_at < t;
    -- the strings only the dropped days' bodies referred to
    DELETE FROM agent_strings WHERE last_day < cutoff;
    RETURN n;
END
$$;
