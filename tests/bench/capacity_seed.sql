-- SPDX-License-Identifier: MIT
-- capacity_seed.sql: a fleet of :hosts hosts x 7 days of hourly rollups,
-- written straight into the tables the analysis reads (agents, host_latest,
-- host_hours, process_hours), for capacity_bench.sh's large-fleet mode:
-- posting 20 million snapshots through the API would take hours on a small
-- machine, and the analysis reads only these tables. 100 sites; load with an
-- office-hours bump and noise. Most hosts are healthy, a few percent have
-- each kind of problem, as in a real fleet (a seed where every host trips a
-- finding measures the rendering of findings, not the analysis):
--   ports:  1 host in 50 grows 150 ports a day (i % 50 = 3), 1 in 50 runs
--           near its range (i % 50 = 17, about 75% of it at peak), 1 in 40
--           has a leaking process (i % 40 = 5), 1 in 100 went silent a day
--           ago (i % 100 = 7);
--   sizing: CPU, memory, users and requests/s (host_hours.sz_*) for every
--           host: CPU 5-45% at peak, memory 25-55% of 8 GB, 20-220
--           requests/s; 1 host in 33 runs hot (CPU 80-95%, i % 33 = 4), 1 in
--           50 short of memory (75-90%, i % 50 = 9), 1 in 50 over the
--           connector's requests/s (i % 50 = 13).
-- The rows go in in time order, hour after hour, as ingest writes them (host
-- by host, the last day of every host would be spread over every page of
-- its partition, which no collector ever produces). :now is Unix time.
\set ON_ERROR_STOP on
BEGIN;
-- The collector starts after the seed and loads its fleet mirror in full:
-- sql/150's late-row marks (one per row here) would only slow the seed.
SET LOCAL session_replication_role = replica;
SELECT pf_ensure_partitions((to_timestamp(:now) - interval '8 days')::date,
                            to_timestamp(:now)::date);
CREATE TEMP TABLE seed_hosts AS
SELECT i, gen_random_uuid() AS agent_id, 'H' || lpad(i::text, 5, '0') AS name,
       'site-' || lpad((i % 100)::text, 3, '0') AS site,
       CASE WHEN i % 100 = 7 THEN to_timestamp(:now) - interval '1 day'
            ELSE to_timestamp(:now) - interval '2 minutes' END AS last_seen,
       CASE WHEN i % 50 = 17 THEN 10500 ELSE 1500 + (i * 7919) % 3000 END AS base
FROM generate_series(1, :hosts) AS i;
INSERT INTO agents (agent_id, node_key_hash, name, site, machine_id, enrolled_at, last_seen)
SELECT agent_id, sha256(agent_id::text::bytea), name, site, 'm-' || i,
       to_timestamp(:now) - interval '30 days', last_seen
FROM seed_hosts;
INSERT INTO host_latest (agent_id, taken_at, name, site, os, roles, cpus, memory_mb, interval_s,
                         tcp_start, tcp_count, udp_start, udp_count, usable_tcp4, usable_udp4,
                         excluded_tcp4, tcp_in_use, udp_in_use, top_dest_addr, top_dest_port,
                         ike_value)
SELECT agent_id, last_seen, name, site, 'windows', ARRAY['entra-connector'], 4, 8192, 60,
       49152, 16384, 49152, 16384, 16384, 16384, '[]', base, 40, '10.0.0.5', 443, NULL
FROM seed_hosts;
INSERT INTO host_hours (agent_id, hour, samples, tcp_max, udp_max, top_dest_max, vpn_conn_max,
                        sz_cpu_pct, sz_mem_mb, sz_users, sz_rps)
SELECT h.agent_id, hr, 60,
       h.base + CASE WHEN extract(hour FROM hr) BETWEEN 8 AND 17 THEN 1200 ELSE 0 END
              + (abs(hashtext(h.i || '/' || hr)) % 300)
              + CASE WHEN h.i % 50 = 3
                     THEN (150 * extract(epoch FROM hr - (to_timestamp(:now) - interval '7 days'))
                           / 86400)::bigint ELSE 0 END,
       40 + abs(hashtext(hr::text || h.i)) % 20, 200 + abs(hashtext(h.i || 'd' || hr)) % 50, NULL,
       -- the sizing figures (1/100 for CPU and requests/s): busier in office hours
       CASE WHEN h.i % 33 = 4 THEN 6500 + abs(hashtext(h.i || 'c' || hr)) % 1500
                                       + CASE WHEN extract(hour FROM hr) BETWEEN 8 AND 17
                                              THEN 1500 ELSE 0 END
            ELSE 500 + abs(hashtext(h.i || 'c' || hr)) % 2500
                 + CASE WHEN extract(hour FROM hr) BETWEEN 8 AND 17 THEN 1500 ELSE 0 END END,
       CASE WHEN h.i % 50 = 9 THEN 6150 + abs(hashtext(h.i || 'm' || hr)) % 1200
            ELSE 2000 + abs(hashtext(h.i || 'm' || hr)) % 2500 END,
       50 + abs(hashtext(h.i || 'u' || hr)) % 200,
       CASE WHEN h.i % 50 = 13 THEN 85000 + abs(hashtext(h.i || 'r' || hr)) % 25000
            ELSE 2000 + abs(hashtext(h.i || 'r' || hr)) % 20000 END
FROM seed_hosts h,
     generate_series(date_trunc('hour', to_timestamp(:now) - interval '7 days'),
                     date_trunc('hour', h.last_seen), interval '1 hour') AS hr
ORDER BY hr, h.i; -- in time order, as ingest writes them
INSERT INTO process_hours (agent_id, hour, name, service, held_max, held_min, bound_max,
                           remote_addr, remote_port, remote_at)
SELECT h.agent_id, hr, p.name, p.service,
       CASE WHEN p.k = 1 AND h.i % 40 = 5
            THEN 100 + (40 * extract(epoch FROM hr - (to_timestamp(:now) - interval '7 days'))
                        / 3600)::bigint
            ELSE 50 + abs(hashtext(h.i || p.name || hr)) % 400 END,
       CASE WHEN p.k = 1 AND h.i % 40 = 5
            THEN 90 + (40 * extract(epoch FROM hr - (to_timestamp(:now) - interval '7 days'))
                       / 3600)::bigint
            ELSE 30 END,
       0, '10.0.0.' || p.k, 443, hr
FROM seed_hosts h,
     generate_series(date_trunc('hour', to_timestamp(:now) - interval '7 days'),
                     date_trunc('hour', h.last_seen), interval '1 hour') AS hr,
     (VALUES (1, 'MicrosoftEntraConnector.exe', 'WAPCSvc'), (2, 'svchost.exe', 'Dnscache'),
             (3, 'lsass.exe', '')) AS p(k, name, service)
ORDER BY hr, h.i, p.k;
COMMIT;
VACUUM ANALYZE agents;
VACUUM ANALYZE host_latest;
VACUUM ANALYZE host_hours;
VACUUM ANALYZE process_hours;
