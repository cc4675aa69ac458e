-- SPDX-License-Identifier: MIT
-- 050_sizing.sql: the hourly sizing figures besides ports (CPU, memory,
-- sessions, RRAS ports per protocol, the client address pool), one column
-- each in host_hours, as collector/capacity/sizing.h lists them. Each
-- keeps its hour's maximum (rollup.c folds like fleet_fold_sizing()); a
-- figure no snapshot of the hour reported stays NULL, never 0. Fractions
-- are integers of 1/100 (sz_cpu_pct, sz_rps).
ALTER TABLE host_hours
    ADD COLUMN sz_cpu_pct bigint,
    ADD COLUMN sz_mem_mb bigint,
    ADD COLUMN sz_sessions bigint,
    ADD COLUMN sz_users bigint,
    ADD COLUMN sz_rps bigint,
    ADD COLUMN sz_ports_ikev2 bigint,
    ADD COLUMN sz_ports_sstp bigint,
    ADD COLUMN sz_ports_l2tp bigint,
    ADD COLUMN sz_ports_pptp bigint,
    ADD COLUMN sz_conf_ikev2 bigint,
    ADD COLUMN sz_conf_sstp bigint,
    ADD COLUMN sz_conf_l2tp bigint,
    ADD COLUMN sz_conf_pptp bigint,
    ADD COLUMN sz_pool_used bigint,
    ADD COLUMN sz_pool_size bigint;
