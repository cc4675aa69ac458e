-- SPDX-License-Identifier: MIT
-- 130_inline_endpoints.sql: remote endpoints in the body, not the dictionary.
--
-- Every remote endpoint ("addr port") was an agent_strings row, numbered
-- and inserted the first time an agent sent it: a host whose remotes churn
-- (clients from ever new addresses) paid, on every snapshot, a dictionary
-- row and two index entries per new endpoint, the most expensive part of
-- ingest, and the dictionary grew forever. Now an endpoint the collector
-- has no id for, seen for the first time, is stored in the body itself
-- when its address is plain IPv4 or IPv6; one seen again gets its id as
-- before (collector/store/compact.c: a recurring endpoint costs one or two
-- bytes per body as an id, fewer than inline).
--
-- body, version 2: as version 1 (sql/020), then a ninth section, the
-- inline endpoints, one row each (the ids of their rows hold 0), columns:
--   at   where the endpoint belongs: 0 the top destination (counts), 1 + i
--        process i's top remote, 64 + i remote i
--   pf   port | family << 16 (family 4: IPv4, 6: IPv6)
--   hi   IPv4: the address; IPv6: its first 64 bits
--   lo   IPv6: its last 64 bits (IPv4: 0)
-- The collector writes version 2 only for a body with an inline endpoint:
-- every other body stays version 1, byte for byte, and version 1 bodies
-- decode as before. IPv6 text is RFC 5952 (common/addr.h); the collector
-- inlines only addresses whose text is exactly that, never an IPv4-mapped
-- or -compatible one.

CREATE OR REPLACE FUNCTION pf_body_cols() RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY[31, 18, 2, 2, 3, 2, 3, 5, 4] $$;

CREATE OR REPLACE FUNCTION pf_body_base(s integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (ARRAY[1, 64, 101, 106, 111, 118, 123, 130, 141])[s]
$$;

-- As sql/020's, and section 9 of version 2 (no rows in version 1).
CREATE OR REPLACE FUNCTION pf_body_layout(b bytea) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    cols integer[] := pf_body_cols();
    res integer[] := array_fill(0, ARRAY[149]);
    nsec integer;
    o integer := 2;
    k integer := 1;
    n integer;
    nc integer;
    w integer;
BEGIN
    CASE get_byte(b, 0)
    WHEN 1 THEN nsec := 8;
    WHEN 2 THEN nsec := 9;
    ELSE RAISE EXCEPTION 'snapshot body format % is not known', get_byte(b, 0);
    END CASE;
    FOR s IN 1..9 LOOP
        n := CASE WHEN s <= nsec THEN get_byte(b, o) ELSE 0 END;
        IF s <= nsec THEN
            o := o + 1;
        END IF;
        res[k] := n;
        k := k + 1;
        -- sections 7 and 8 say how many columns they have (sql/020)
        nc := cols[s];
        IF s IN (7, 8) AND n > 0 THEN
            nc := get_byte(b, o);
            o := o + 1;
        END IF;
        FOR c IN 1..greatest(cols[s], nc) LOOP
            IF n = 0 OR c > nc THEN
                w := 255;
            ELSE
                w := get_byte(b, o);
                o := o + 1;
            END IF;
            IF c <= cols[s] THEN
                res[k] := o;
                res[k + 1] := w;
                k := k + 2;
            END IF;
            IF w <> 255 THEN
                o := o + n * w;
            END IF;
        END LOOP;
    END LOOP;
    RETURN res;
END
$$;

-- The inline endpoints of a body (section 9).
CREATE FUNCTION pf_body_inline(b bytea, l integer[])
RETURNS TABLE (at integer, pf bigint, hi bigint, lo bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT pf_body_cell(b, l, 9, i, 1)::integer, pf_body_cell(b, l, 9, i, 2),
           pf_body_cell(b, l, 9, i, 3), pf_body_cell(b, l, 9, i, 4)
    FROM generate_series(0, l[141] - 1) AS i
$$;

-- The address of an inline endpoint (NULL when pf says there is none):
-- IPv4 dotted, IPv6 as RFC 5952 text (lower case hex, no leading zeros,
-- the first longest run of two or more zero groups as "::").
CREATE FUNCTION pf_inline_addr(pf bigint, hi bigint, lo bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    g bigint[];
    best integer := 0;
    blen integer := 0;
    cur integer := 0;
    out text := '';
BEGIN
    IF pf IS NULL OR pf >> 16 = 0 THEN
        RETURN NULL;
    END IF;
    IF pf >> 16 = 4 THEN
        RETURN ((hi >> 24) & 255) || '.' || ((hi >> 16) & 255) || '.' || ((hi >> 8) & 255)
               || '.' || (hi & 255);
    END IF;
    g := ARRAY[(hi >> 48) & 65535, (hi >> 32) & 65535, (hi >> 16) & 65535, hi & 65535,
               (lo >> 48) & 65535, (lo >> 32) & 65535, (lo >> 16) & 65535, lo & 65535];
    FOR i IN 1..8 LOOP
        IF g[i] = 0 THEN
            IF cur = 0 THEN
                cur := i;
            END IF;
            IF i - cur + 1 > blen THEN
                best := cur;
                blen := i - cur + 1;
            END IF;
        ELSE
            cur := 0;
        END IF;
    END LOOP;
    IF blen < 2 THEN
        best := 0;
    END IF;
    FOR i IN 1..8 LOOP
        IF best > 0 AND i >= best AND i < best + blen THEN
            IF i = best THEN
                out := out || '::';
            END IF;
        ELSE
            IF out <> '' AND right(out, 1) <> ':' THEN
                out := out || ':';
            END IF;
            out := out || to_hex(g[i]);
        END IF;
    END LOOP;
    RETURN out;
END
$$;

-- The port of an inline endpoint, or of a dictionary one ("addr port").
CREATE FUNCTION pf_remote_port(pf bigint, value text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pf >> 16 > 0 THEN (pf & 65535)::integer
                ELSE split_part(value, ' ', 2)::integer END
$$;

CREATE FUNCTION pf_remote_addr(pf bigint, hi bigint, lo bigint, value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pf >> 16 > 0 THEN pf_inline_addr(pf, hi, lo)
                ELSE split_part(value, ' ', 1) END
$$;

-- The processes and remotes functions gain the inline columns: their row
-- types change, so they (and the views over them) are made again.
DROP VIEW snapshot_processes;
DROP VIEW snapshot_remotes;
DROP FUNCTION pf_body_processes(bytea);
DROP FUNCTION pf_body_remotes(bytea);

CREATE FUNCTION pf_body_processes(b bytea)
RETURNS TABLE (rank smallint, pid bigint, name_id integer, service_id integer,
               tcp_ports bigint, udp_ports bigint, st_listen bigint, st_syn_sent bigint,
               st_syn_received bigint, st_established bigint, st_fin_wait_1 bigint,
               st_fin_wait_2 bigint, st_close_wait bigint, st_closing bigint,
               st_last_ack bigint, st_time_wait bigint, st_bound bigint,
               remote_id integer, top_remote_count bigint,
               remote_pf bigint, remote_hi bigint, remote_lo bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT i::smallint, pf_body_cell(b, l, 2, i, 1), pf_body_cell(b, l, 2, i, 2)::integer,
           pf_body_cell(b, l, 2, i, 3)::integer, pf_body_cell(b, l, 2, i, 4),
           pf_body_cell(b, l, 2, i, 5), pf_body_cell(b, l, 2, i, 6),
           pf_body_cell(b, l, 2, i, 7), pf_body_cell(b, l, 2, i, 8),
           pf_body_cell(b, l, 2, i, 9), pf_body_cell(b, l, 2, i, 10),
           pf_body_cell(b, l, 2, i, 11), pf_body_cell(b, l, 2, i, 12),
           pf_body_cell(b, l, 2, i, 13), pf_body_cell(b, l, 2, i, 14),
           pf_body_cell(b, l, 2, i, 15), pf_body_cell(b, l, 2, i, 16),
           pf_body_cell(b, l, 2, i, 17)::integer, pf_body_cell(b, l, 2, i, 18),
           e.pf, e.hi, e.lo
    FROM (SELECT pf_body_layout(b) AS l) x CROSS JOIN generate_series(0, l[64] - 1) AS i
    LEFT JOIN pf_body_inline(b, l) e ON e.at = 1 + i
$$;

CREATE FUNCTION pf_body_remotes(b bytea)
RETURNS TABLE (rank smallint, endpoint_id integer, count bigint,
               pf bigint, hi bigint, lo bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT i::smallint, e::integer,
           CASE WHEN get_byte(b, 1) & 8 = 8 THEN (sum(c) OVER (ORDER BY i DESC))::bigint ELSE c END,
           pf, hi, lo
    FROM (SELECT i, pf_body_cell(b, l, 3, i, 1) AS e, pf_body_cell(b, l, 3, i, 2) AS c,
                 n.pf, n.hi, n.lo
          FROM (SELECT pf_body_layout(b) AS l) x CROSS JOIN generate_series(0, l[101] - 1) AS i
          LEFT JOIN pf_body_inline(b, l) n ON n.at = 64 + i) r
$$;

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
       pf_remote_addr(ti.pf, ti.hi, ti.lo, td.value), pf_remote_port(ti.pf, td.value),
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
LEFT JOIN LATERAL (SELECT i.pf, i.hi, i.lo FROM pf_body_inline(d.body, l.l) i WHERE i.at = 0) ti
    ON true
LEFT JOIN agent_strings ss ON ss.agent_id = d.agent_id AND ss.id = pf_body_one(d.body, l.l, 8, 1)
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_object('addr', a.value, 'count', t.count) ORDER BY t.rank)
           AS clients
      FROM pf_body_vpn_top(d.body, l.l) t
      LEFT JOIN agent_strings a ON a.agent_id = d.agent_id AND a.id = t.addr_id) vt ON true;

CREATE VIEW snapshot_processes AS
SELECT agent_id, taken_at, seq, rank, pid, name, service, tcp_ports, udp_ports, st_listen,
       st_syn_sent, st_syn_received, st_established, st_fin_wait_1, st_fin_wait_2,
       st_close_wait, st_closing, st_last_ack, st_time_wait, st_bound, top_remote_addr,
       top_remote_port, top_remote_count
FROM snapshot_processes_v1
UNION ALL
SELECT d.agent_id, d.taken_at, d.seq, p.rank, p.pid, n.value, s.value, p.tcp_ports, p.udp_ports, p.st_listen,
       p.st_syn_sent, p.st_syn_received, p.st_established, p.st_fin_wait_1, p.st_fin_wait_2,
       p.st_close_wait, p.st_closing, p.st_last_ack, p.st_time_wait, p.st_bound,
       pf_remote_addr(p.remote_pf, p.remote_hi, p.remote_lo, e.value),
       pf_remote_port(p.remote_pf, e.value),
       CASE WHEN p.remote_id <> 0 OR p.remote_pf >> 16 > 0 THEN p.top_remote_count END
FROM snapshot_data d CROSS JOIN LATERAL pf_body_processes(d.body) p
LEFT JOIN agent_strings n ON n.agent_id = d.agent_id AND n.id = p.name_id
LEFT JOIN agent_strings s ON s.agent_id = d.agent_id AND s.id = p.service_id
LEFT JOIN agent_strings e ON e.agent_id = d.agent_id AND e.id = p.remote_id;

CREATE VIEW snapshot_remotes AS
SELECT agent_id, taken_at, seq, rank, addr, port, count FROM snapshot_remotes_v1
UNION ALL
SELECT d.agent_id, d.taken_at, d.seq, r.rank, pf_remote_addr(r.pf, r.hi, r.lo, e.value),
       pf_remote_port(r.pf, e.value), r.count
FROM snapshot_data d CROSS JOIN LATERAL pf_body_remotes(d.body) r
LEFT JOIN agent_strings e ON e.agent_id = d.agent_id AND e.id = r.endpoint_id;
