-- SPDX-License-Identifier: MIT
-- 022_string_counters.sql: strings for Citus and for agents with many.
--
-- The last string number of each agent, kept in a row of its own. Numbering new strings used to look up the largest id of
-- each agent in the batch with max(id) over all of that agent's
-- agent_strings rows: a scan that grows with every string an agent ever
-- sent (remote endpoints churn), on every batch that brings a new one. Now
-- the batch adds its count to the agent's row (an upsert, which also
-- orders two collectors numbering one agent at once) and numbers its
-- strings below the new value.
CREATE TABLE agent_string_next (
    agent_id uuid PRIMARY KEY,
    last     integer NOT NULL
);
INSERT INTO agent_string_next (agent_id, last)
SELECT agent_id, max(id) FROM agent_strings GROUP BY agent_id;

-- The views resolve string ids by joins on the agent (the distribution
-- column), not by pf_string(): on Citus a function that queries a table,
-- called in a query on a shard, is a nested distributed query, which
-- Citus refuses. Same columns, same values.
CREATE OR REPLACE VIEW snapshots AS
SELECT agent_id, seq, taken_at, received_at, interval_s, host_name, site, machine_id, os,
       os_version, roles, cpus, memory_mb, agent_version, ranges, excluded, usable_tcp4,
       usable_udp4, usable_tcp6, usable_udp6, tcp_listen, tcp_syn_sent, tcp_syn_received,
       tcp_established, tcp_fin_wait_1, tcp_fin_wait_2, tcp_close_wait, tcp_closing,
       tcp_last_ack, tcp_time_wait, tcp_bound, tcp_ephemeral_in_use, top_dest_addr,
       top_dest_port, top_dest_count, udp_endpoints, udp_ephemeral_in_use, ev_tcpip_4227,
       ev_tcpip_4231, ev_tcpip_4266, ev_netlogon_5719, vpn_connections, vpn_ikev2, vpn_sstp,
       vpn_l2tp, vpn_pptp, vpn_distinct_clients, vpn_top_clients,
       vpn_ike_num_established_for_initial_query, unmeasured, spool_depth, spool_dropped,
       spool_corrupt, last_push_error, truncated,
       NULL::jsonb AS vpn_ports, NULL::bigint AS vpn_pool_size, NULL::bigint AS vpn_pool_in_use,
       NULL::numeric AS cpu_pct, NULL::numeric AS cpu_pct_peak, NULL::bigint AS memory_used_mb,
       NULL::text AS sessions_source, NULL::bigint AS sessions_tcp_active,
       NULL::bigint AS sessions_udp_active, NULL::bigint AS sessions_users,
       NULL::numeric AS sessions_requests_per_s
FROM snapshots_v1
UNION ALL
SELECT d.agent_id, d.seq, d.taken_at, k.received_at,
       pf_body_count(d.body, l.l, 1)::integer, f.host_name, f.site, f.machine_id, f.os,
       f.os_version, f.roles, f.cpus, f.memory_mb, f.agent_version, f.ranges, f.excluded,
       f.usable_tcp4, f.usable_udp4, f.usable_tcp6, f.usable_udp6,
       pf_body_count(d.body, l.l, 2), pf_body_count(d.body, l.l, 3),
       pf_body_count(d.body, l.l, 4), pf_body_count(d.body, l.l, 5),
       pf_body_count(d.body, l.l, 6), pf_body_count(d.body, l.l, 7),
       pf_body_count(d.body, l.l, 8), pf_body_count(d.body, l.l, 9),
       pf_body_count(d.body, l.l, 10), pf_body_count(d.body, l.l, 11),
       pf_body_count(d.body, l.l, 12), pf_body_count(d.body, l.l, 13),
       split_part(td.value, ' ', 1), split_part(td.value, ' ', 2)::integer,
       pf_body_count(d.body, l.l, 15),
       pf_body_count(d.body, l.l, 16), pf_body_count(d.body, l.l, 17),
       pf_body_count(d.body, l.l, 18), pf_body_count(d.body, l.l, 19),
       pf_body_count(d.body, l.l, 20), pf_body_count(d.body, l.l, 21),
       pf_body_count(d.body, l.l, 22), pf_body_count(d.body, l.l, 23),
       pf_body_count(d.body, l.l, 24), pf_body_count(d.body, l.l, 25),
       pf_body_count(d.body, l.l, 26), pf_body_count(d.body, l.l, 27),
       CASE WHEN get_byte(d.body, 1) & 2 = 2 THEN coalesce(vt.clients, '[]'::jsonb) END,
       pf_body_count(d.body, l.l, 28), coalesce(d.unmeasured, '{}'),
       pf_body_count(d.body, l.l, 29), pf_body_count(d.body, l.l, 30),
       pf_body_count(d.body, l.l, 31), d.last_push_error, get_byte(d.body, 1) & 1 = 1,
       pf_body_vpn_ports(d.body, l.l), pf_body_one(d.body, l.l, 6, 1),
       pf_body_one(d.body, l.l, 6, 2), pf_body_hundredths(pf_body_one(d.body, l.l, 7, 1)),
       pf_body_hundredths(pf_body_one(d.body, l.l, 7, 3)), pf_body_one(d.body, l.l, 7, 2),
       ss.value, pf_body_one(d.body, l.l, 8, 2),
       pf_body_one(d.body, l.l, 8, 3), pf_body_one(d.body, l.l, 8, 4),
       pf_body_hundredths(pf_body_one(d.body, l.l, 8, 5))
FROM snapshot_data d
CROSS JOIN LATERAL pf_body_layout(d.body) AS l(l)
JOIN host_facts f ON f.agent_id = d.agent_id AND f.facts = d.facts
LEFT JOIN snapshot_seqs k ON k.agent_id = d.agent_id AND k.seq = d.seq
LEFT JOIN agent_strings td ON td.agent_id = d.agent_id AND td.id = pf_body_count(d.body, l.l, 14)
LEFT JOIN agent_strings ss ON ss.agent_id = d.agent_id AND ss.id = pf_body_one(d.body, l.l, 8, 1)
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('addr', a.value, 'count', t.count) ORDER BY t.rank)
           AS clients
      FROM pf_body_vpn_top(d.body, l.l) t
      LEFT JOIN agent_strings a ON a.agent_id = d.agent_id AND a.id = t.addr_id) vt ON true;

CREATE OR REPLACE VIEW snapshot_processes AS
SELECT agent_id, taken_at, seq, rank, pid, name, service, tcp_ports, udp_ports, st_listen,
       st_syn_sent, st_syn_received, st_established, st_fin_wait_1, st_fin_wait_2,
       st_close_wait, st_closing, st_last_ack, st_time_wait, st_bound, top_remote_addr,
       top_remote_port, top_remote_count
FROM snapshot_processes_v1
UNION ALL
SELECT d.agent_id, d.taken_at, d.seq, p.rank, p.pid, n.value, s.value, p.tcp_ports, p.udp_ports, p.st_listen,
       p.st_syn_sent, p.st_syn_received, p.st_established, p.st_fin_wait_1, p.st_fin_wait_2,
       p.st_close_wait, p.st_closing, p.st_last_ack, p.st_time_wait, p.st_bound,
       split_part(e.value, ' ', 1), split_part(e.value, ' ', 2)::integer,
       CASE WHEN p.remote_id <> 0 THEN p.top_remote_count END
FROM snapshot_data d CROSS JOIN LATERAL pf_body_processes(d.body) p
LEFT JOIN agent_strings n ON n.agent_id = d.agent_id AND n.id = p.name_id
LEFT JOIN agent_strings s ON s.agent_id = d.agent_id AND s.id = p.service_id
LEFT JOIN agent_strings e ON e.agent_id = d.agent_id AND e.id = p.remote_id;

CREATE OR REPLACE VIEW snapshot_remotes AS
SELECT agent_id, taken_at, seq, rank, addr, port, count FROM snapshot_remotes_v1
UNION ALL
SELECT d.agent_id, d.taken_at, d.seq, r.rank, split_part(e.value, ' ', 1),
       split_part(e.value, ' ', 2)::integer, r.count
FROM snapshot_data d CROSS JOIN LATERAL pf_body_remotes(d.body) r
LEFT JOIN agent_strings e ON e.agent_id = d.agent_id AND e.id = r.endpoint_id;

