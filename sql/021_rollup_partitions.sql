-- SPDX-License-Identifier: MIT
-- 021_rollup_partitions.sql: tiered retention. Snapshots keep their full
-- detail for retention-days (daily partitions, sql/020); the hourly
-- rollups the analysis reads (host_hours, process_hours) are kept for
-- rollup-retention-days, and dropped the same way: whole partitions, one
-- per calendar month (UTC), never DELETE. A month is dropped once all of
-- it is older than the cutoff, so rollups are kept at least
-- rollup-retention-days and less than a month longer.
--
-- host_hours and process_hours become partitioned by RANGE (hour); their
-- rows move into the new tables here, in the migration's transaction.
-- pf_ensure_partition(day) (called by ingest for every new day it sees,
-- and by maintenance ahead of time) now also makes that day's rollup
-- month.

CREATE FUNCTION pf_ensure_rollup_month(day date, suffix text DEFAULT '') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', day)::date;
    t text;
    name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('portfleet.partitions'));
    FOREACH t IN ARRAY ARRAY['host_hours', 'process_hours'] LOOP
        name := t || '_p' || to_char(m, 'YYYYMM');
        IF to_regclass(quote_ident(name)) IS NULL THEN
            -- room on every page for the updates ingest keeps making (sql/011)
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L) '
                           'WITH (fillfactor = 50)', name, t || suffix,
                           m::timestamp AT TIME ZONE 'UTC',
                           (m + interval '1 month')::timestamp AT TIME ZONE 'UTC');
        END IF;
    END LOOP;
END
$$;

-- ---- the rollups, partitioned; their rows moved over ----

CREATE TABLE host_hours_new (LIKE host_hours INCLUDING DEFAULTS) PARTITION BY RANGE (hour);
CREATE TABLE process_hours_new (LIKE process_hours INCLUDING DEFAULTS) PARTITION BY RANGE (hour);

DO $$
DECLARE
    d date;
BEGIN
    FOR d IN
        SELECT DISTINCT date_trunc('month', hour AT TIME ZONE 'UTC')::date
        FROM (SELECT hour FROM host_hours UNION SELECT hour FROM process_hours) h
        UNION SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date
    LOOP
        PERFORM pf_ensure_rollup_month(d, '_new');
    END LOOP;
END
$$;

INSERT INTO host_hours_new SELECT * FROM host_hours;
INSERT INTO process_hours_new SELECT * FROM process_hours;
DROP TABLE host_hours;
DROP TABLE process_hours;
ALTER TABLE host_hours_new RENAME TO host_hours;
ALTER TABLE process_hours_new RENAME TO process_hours;
ALTER TABLE host_hours ADD PRIMARY KEY (agent_id, hour);
ALTER TABLE process_hours ADD PRIMARY KEY (agent_id, hour, name, service);
CREATE INDEX host_hours_hour ON host_hours (hour);
CREATE INDEX process_hours_hour ON process_hours (hour);

-- ---- the days and months ingest needs ----

CREATE OR REPLACE FUNCTION pf_ensure_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'snapshot_data_p' || to_char(day, 'YYYYMMDD');
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('portfleet.partitions'));
    IF to_regclass(quote_ident(name)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF snapshot_data FOR VALUES FROM (%L) TO (%L)',
                       name, day::timestamp AT TIME ZONE 'UTC',
                       (day + 1)::timestamp AT TIME ZONE 'UTC');
    END IF;
    PERFORM pf_ensure_rollup_month(day);
END
$$;

-- Drops the monthly rollup partitions that end at or before cutoff.
-- Returns the number of tables dropped. (Replaces the row-by-row DELETE of
-- sql/010, which nothing called.)
DROP FUNCTION pf_drop_rollups_before(timestamptz);
CREATE FUNCTION pf_drop_rollups_before(cutoff timestamptz) RETURNS integer
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
         WHERE p.relname IN ('host_hours', 'process_hours')
           AND p.relnamespace = c.relnamespace
           AND pg_table_is_visible(p.oid)
           AND c.relname ~ '_p[0-9]{6}$'
           AND (to_date(right(c.relname, 6), 'YYYYMM') + interval '1 month')::timestamp
               AT TIME ZONE 'UTC' <= cutoff
    LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
