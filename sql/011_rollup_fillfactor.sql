-- SPDX-License-Identifier: MIT
-- 011_rollup_fillfactor.sql: room on every page for the rows ingest keeps
-- updating. Each stored snapshot updates its host's host_hours and
-- host_latest rows, the process_hours rows of its busy processes, and its
-- agent's last_seen. With full pages every such update moves the row to
-- another page and adds an entry to each of the table's indexes; with
-- free room on the page it is a heap-only (HOT) update that touches no
-- index, and the old versions are pruned from the page as it goes.
-- (Existing pages keep their layout until the table is rewritten, e.g. by
-- VACUUM FULL; new pages get the room at once.)

ALTER TABLE host_hours SET (fillfactor = 50);
ALTER TABLE process_hours SET (fillfactor = 50);
ALTER TABLE host_latest SET (fillfactor = 50);
ALTER TABLE agents SET (fillfactor = 70);
