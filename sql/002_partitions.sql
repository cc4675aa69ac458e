-- SPDX-License-Identifier: MIT
-- 002_partitions.sql: daily partitions of the time-series tables, created
-- ahead and dropped for retention. DDL cannot take bind parameters, so the
-- names and bounds are built here with format(%I, %L) and the collector
-- calls these functions with parameters.
--
-- A partition is <table>_pYYYYMMDD and holds [day 00:00 UTC, day+1 00:00 UTC).

CREATE FUNCTION pf_ensure_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t    text;
    name text;
    lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    -- Several collector workers (or collectors) may ask for the same day at
    -- once; one lock for the whole check-and-create keeps them from racing.
    PERFORM pg_advisory_xact_lock(hashtext('portfleet.partitions'));
    FOREACH t IN ARRAY ARRAY['snapshots', 'snapshot_processes', 'snapshot_remotes'] LOOP
        name := t || '_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(quote_ident(name)) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           name, t, lo, hi);
        END IF;
    END LOOP;
END
$$;

-- Creates the partitions of every day in [first, last].
CREATE FUNCTION pf_ensure_partitions(first date, last date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d date := first;
BEGIN
    WHILE d <= last LOOP
        PERFORM pf_ensure_partition(d);
        d := d + 1;
    END LOOP;
END
$$;

-- Drops every daily partition of a day before cutoff, and the dedup keys of
-- snapshots taken before it (the collector no longer stores such snapshots,
-- so a resend cannot come back). Returns the number of tables dropped.
CREATE FUNCTION pf_drop_partitions_before(cutoff date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('portfleet.partitions'));
    FOR r IN
        SELECT c.relname
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
          JOIN pg_class p ON p.oid = i.inhparent
         WHERE p.relname IN ('snapshots', 'snapshot_processes', 'snapshot_remotes')
           AND p.relnamespace = c.relnamespace
           AND pg_table_is_visible(p.oid)
           AND c.relname ~ '_p[0-9]{8}$'
           AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        n := n + 1;
    END LOOP;
    DELETE FROM snapshot_seqs WHERE taken_at < cutoff::timestamp AT TIME ZONE 'UTC';
    RETURN n;
END
$$;
