-- SPDX-License-Identifier: MIT
-- 150_rollup_late_marks.sql: which old hours of the rollups changed, so a
-- collector's fleet mirror (collector/store/fleet_mirror.h) can keep the
-- analysis's week of host_hours and process_hours in memory and re-read
-- only what changed instead of the whole week per request.
--
-- Steady ingest writes the current hour and the one before (a snapshot of
-- 12:59:59 stored at 13:00:05); the mirror re-reads every host's last few
-- hours at each refresh anyway. Anything older that changes (a spool
-- drained after an outage, the process_hours queue caught up late, a
-- seed, a migration) is marked here by a row trigger whose WHEN clause
-- keeps steady ingest away from the trigger function entirely. The mark
-- carries the writing transaction's id: a refresh reads the marks of
-- every transaction from the xmin of its previous snapshot on, so a
-- transaction committing after that snapshot is never missed whatever
-- its commit order (reading a mark twice is harmless: the mirror re-reads
-- those rows and sets, not folds, their values). TRUNCATE marks the whole
-- table (agent_id NULL: the mirror reloads everything).
--
-- clock_timestamp(), not now(): the mark decision is about the hour the
-- row is written in, whatever time its transaction began. A transaction
-- that stays open longer than the mirror's re-read margin (one hour past
-- this trigger's) could write an unmarked row the mirror misses; ingest
-- transactions last seconds.
--
-- Marks older than a day are deleted by the collector's maintenance; a
-- mirror not refreshed for that long reloads in full.
-- Under Citus, row triggers on distributed tables are refused; see
-- deploy/SCALING.md (drop these triggers before distributing; the mirror
-- is then not used and every analysis loads in full).

CREATE TABLE rollup_late_marks (
    xid       xid8 NOT NULL,
    agent_id  uuid,
    hour      timestamptz,
    marked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollup_late_marks_xid ON rollup_late_marks (xid);

CREATE FUNCTION pf_mark_late_hour() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO rollup_late_marks (xid) VALUES (pg_current_xact_id());
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO rollup_late_marks (xid, agent_id, hour)
        VALUES (pg_current_xact_id(), OLD.agent_id, OLD.hour);
    ELSE
        INSERT INTO rollup_late_marks (xid, agent_id, hour)
        VALUES (pg_current_xact_id(), NEW.agent_id, NEW.hour);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER host_hours_late AFTER INSERT OR UPDATE ON host_hours FOR EACH ROW
    WHEN (NEW.hour < date_trunc('hour', clock_timestamp()) - interval '1 hour')
    EXECUTE FUNCTION pf_mark_late_hour();
CREATE TRIGGER host_hours_late_delete AFTER DELETE ON host_hours FOR EACH ROW
    WHEN (OLD.hour < date_trunc('hour', clock_timestamp()) - interval '1 hour')
    EXECUTE FUNCTION pf_mark_late_hour();
CREATE TRIGGER host_hours_truncate AFTER TRUNCATE ON host_hours
    FOR EACH STATEMENT EXECUTE FUNCTION pf_mark_late_hour();
CREATE TRIGGER process_hours_late AFTER INSERT OR UPDATE ON process_hours FOR EACH ROW
    WHEN (NEW.hour < date_trunc('hour', clock_timestamp()) - interval '1 hour')
    EXECUTE FUNCTION pf_mark_late_hour();
CREATE TRIGGER process_hours_late_delete AFTER DELETE ON process_hours FOR EACH ROW
    WHEN (OLD.hour < date_trunc('hour', clock_timestamp()) - interval '1 hour')
    EXECUTE FUNCTION pf_mark_late_hour();
CREATE TRIGGER process_hours_truncate AFTER TRUNCATE ON process_hours
    FOR EACH STATEMENT EXECUTE FUNCTION pf_mark_late_hour();
