-- SPDX-License-Identifier: MIT
-- 020_compact_snapshots.sql: a snapshot in under 1 KB of database.
--
-- Until now a snapshot cost about 60 rows: one in snapshots carrying the
-- host's facts again (name, site, OS, roles, ranges ...), one per process
-- and one per remote, each with its key, its tuple header and its index
-- entries: about 14 KB of PostgreSQL for 7 KB of JSON. Now:
-- * host_facts: the facts of a host, one row per distinct set of facts
--   (keyed by a 64-bit hash of them that the collector computes), written
--   only when a host's facts change;
-- * agent_strings: per agent, each process name, service name and remote
--   endpoint ("addr port") once, with a small number (1, 2, ...) that the
--   snapshots use instead;
-- * snapshot_data: one row per snapshot, daily partitions like before; its
--   counts, processes, remotes, VPN clients, ports and pool, resources and
--   sessions in one bytea, body (format below); the rare text values
--   (unmeasured, the last push error) stay columns, NULL when absent.
-- The views snapshots, snapshot_processes and snapshot_remotes give back
-- every column of the old tables (and the sections the old tables never
-- kept: resources, sessions, vpn.ports, vpn.address_pool), for forensics,
-- tests and reports; rows stored before this migration stay where they
-- were (renamed *_v1, still partitioned, dropped by the same retention)
-- and the views show both.
--
-- body, version 1 (integers big-endian, unsigned):
--   byte 0       format version (1)
--   byte 1       flags: bit 0 = the snapshot was truncated; bit 1 = the
--                VPN client list is stored (vpn_top_clients, maybe []);
--                bit 2 = vpn.ports is stored (maybe []); bit 3 = the
--                remotes' counts, bit 4 = the VPN clients' counts are
--                stored as differences: each row's count minus the next
--                row's, the last row's as it is (the agent sends them
--                largest first, so these are small; a list out of that
--                order is stored as it is)
--   then eight sections, in this order:
--     1 counts     1 row, 31 columns (the order of the snapshots view below)
--     2 processes  one row per process, 18 columns, in the agent's order
--     3 remotes    one row per remote, 2 columns (endpoint, count), in order
--     4 vpn_top    one row per VPN client: address, count, in order
--     5 vpn_ports  one row per vpn.ports entry: protocol (0 ikev2, 1 sstp,
--                  2 l2tp, 3 pptp), configured, in_use, in order
--     6 vpn_pool   0 or 1 row: size, in_use
--     7 resources  0 or 1 row: the resources figures of
--                  common/snapshot_fields.h in its order (cpu_pct,
--                  memory_used_mb, cpu_pct_peak; percentages and rates
--                  in 1/100)
--     8 sessions   0 or 1 row: source, then the sessions figures of that
--                  list (tcp_active, udp_active, users, requests_per_s)
--   sections 7 and 8, when n > 0, have one more byte before the column
--   widths: their number of columns (a longer list stores more)
--   a section is: n (1 byte, rows), then, when n > 0, per column: w
--   (1 byte), then n values of w bytes each. w is the width the column's
--   largest value needs (0 when all are 0); 255 means the column is NULL
--   (no values: a figure the agent did not send).
--   A string column holds agent_strings ids; id 0 is "absent" (NULL).
-- Any snapshot the collector accepts fits (at most 50 entries per list,
-- values up to 2^63 - 1, fractions kept to hundredths by the decoder), so
-- nothing is truncated or refused.

ALTER TABLE snapshots RENAME TO snapshots_v1;
ALTER TABLE snapshot_processes RENAME TO snapshot_processes_v1;
ALTER TABLE snapshot_remotes RENAME TO snapshot_remotes_v1;

CREATE TABLE agent_strings (
    agent_id uuid NOT NULL,
    id       integer NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (agent_id, id),
    UNIQUE (agent_id, value)
);

CREATE TABLE host_facts (
    agent_id      uuid NOT NULL,
    facts         bigint NOT NULL, -- the collector's hash of the columns below
    first_seen    timestamptz NOT NULL,
    host_name     text NOT NULL,
    site          text NOT NULL,
    machine_id    text NOT NULL,
    os            text NOT NULL,
    os_version    text NOT NULL,
    roles         text[] NOT NULL,
    cpus          integer NOT NULL,
    memory_mb     bigint NOT NULL,
    agent_version text NOT NULL,
    ranges        jsonb NOT NULL,
    excluded      jsonb,
    usable_tcp4   integer,
    usable_udp4   integer,
    usable_tcp6   integer,
    usable_udp6   integer,
    PRIMARY KEY (agent_id, facts)
);

CREATE TABLE snapshot_data (
    agent_id        uuid NOT NULL,
    taken_at        timestamptz NOT NULL,
    seq             bigint NOT NULL,
    facts           bigint NOT NULL,
    body            bytea NOT NULL,
    unmeasured      text[],
    last_push_error text,
    PRIMARY KEY (agent_id, taken_at, seq)
) PARTITION BY RANGE (taken_at);
-- Bodies are a few hundred bytes: never worth a TOAST lookup.
ALTER TABLE snapshot_data ALTER COLUMN body SET STORAGE MAIN;

-- The dedup keys are read by (agent_id, seq) and dropped by taken_at in
-- bulk once a day: a BRIN index (a few pages) does for the latter.
DROP INDEX snapshot_seqs_taken_at;
CREATE INDEX snapshot_seqs_taken_at ON snapshot_seqs USING brin (taken_at);

-- ---- decoding ----

-- Value i (0-based) of a column at byte offset off, w bytes wide.
CREATE FUNCTION pf_body_u(b bytea, off integer, w integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN w = 255 THEN NULL WHEN w = 0 THEN 0::bigint
                ELSE ('x' || lpad(encode(substring(b FROM off + 1 FOR w), 'hex'), 16, '0'))
                     ::bit(64)::bigint END
$$;

-- The sections of a body: their number of columns, and where each
-- section's entry starts in pf_body_layout()'s array (1-based).
CREATE FUNCTION pf_body_cols() RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT ARRAY[31, 18, 2, 2, 3, 2, 3, 5] $$;

CREATE FUNCTION pf_body_base(s integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (ARRAY[1, 64, 101, 106, 111, 118, 123, 130])[s]
$$;

-- Where every column of a body is: per section (from pf_body_base), n,
-- then off, w per column; offsets are 0-based byte positions. The
-- columns of an empty section are NULL (w 255).
CREATE FUNCTION pf_body_layout(b bytea) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    cols integer[] := pf_body_cols();
    res integer[] := array_fill(0, ARRAY[140]);
    o integer := 2;
    k integer := 1;
    n integer;
    nc integer;
    w integer;
BEGIN
    IF get_byte(b, 0) <> 1 THEN
        RAISE EXCEPTION 'snapshot body format % is not known', get_byte(b, 0);
    END IF;
    FOR s IN 1..8 LOOP
        n := get_byte(b, o);
        o := o + 1;
        res[k] := n;
        k := k + 1;
        -- sections 7 and 8 say how many columns they have: a newer build
        -- may store more figures than this layout names (skipped), an
        -- older one fewer (NULL)
        nc := cols[s];
        IF s >= 7 AND n > 0 THEN
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

-- Count column c (1-based, the order of the snapshots view) of a layout.
CREATE FUNCTION pf_body_count(b bytea, l integer[], c integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pf_body_u(b, l[2 * c], l[2 * c + 1])
$$;

-- Row i (0-based) of column c (1-based) of section s (1-based, above).
CREATE FUNCTION pf_body_cell(b bytea, l integer[], s integer, i integer, c integer)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pf_body_u(b, l[base + 2 * c - 1] + i * l[base + 2 * c], l[base + 2 * c])
    FROM (SELECT pf_body_base(s) AS base) x
$$;

-- Column c of the one-row section s (6 and up), NULL when it has no row.
CREATE FUNCTION pf_body_one(b bytea, l integer[], s integer, c integer)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN l[pf_body_base(s)] > 0 THEN pf_body_cell(b, l, s, 0, c) END
$$;

-- A figure kept in 1/100 (cpu_pct, requests_per_s) as the number sent.
CREATE FUNCTION pf_body_hundredths(v bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT round(v / 100.0, 2) $$;

-- The processes of a body, ids not yet resolved.
CREATE FUNCTION pf_body_processes(b bytea)
RETURNS TABLE (rank smallint, pid bigint, name_id integer, service_id integer,
               tcp_ports bigint, udp_ports bigint, st_listen bigint, st_syn_sent bigint,
               st_syn_received bigint, st_established bigint, st_fin_wait_1 bigint,
               st_fin_wait_2 bigint, st_close_wait bigint, st_closing bigint,
               st_last_ack bigint, st_time_wait bigint, st_bound bigint,
               remote_id integer, top_remote_count bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT i::smallint, pf_body_cell(b, l, 2, i, 1), pf_body_cell(b, l, 2, i, 2)::integer,
           pf_body_cell(b, l, 2, i, 3)::integer, pf_body_cell(b, l, 2, i, 4),
           pf_body_cell(b, l, 2, i, 5), pf_body_cell(b, l, 2, i, 6),
           pf_body_cell(b, l, 2, i, 7), pf_body_cell(b, l, 2, i, 8),
           pf_body_cell(b, l, 2, i, 9), pf_body_cell(b, l, 2, i, 10),
           pf_body_cell(b, l, 2, i, 11), pf_body_cell(b, l, 2, i, 12),
           pf_body_cell(b, l, 2, i, 13), pf_body_cell(b, l, 2, i, 14),
           pf_body_cell(b, l, 2, i, 15), pf_body_cell(b, l, 2, i, 16),
           pf_body_cell(b, l, 2, i, 17)::integer, pf_body_cell(b, l, 2, i, 18)
    FROM (SELECT pf_body_layout(b) AS l) x, generate_series(0, l[64] - 1) AS i
$$;

-- A count column stored as differences (flags bit 3 for the remotes, bit
-- 4 for the VPN clients): each value is its own difference plus those of
-- the rows after it.
CREATE FUNCTION pf_body_remotes(b bytea)
RETURNS TABLE (rank smallint, endpoint_id integer, count bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT i::smallint, e::integer,
           CASE WHEN get_byte(b, 1) & 8 = 8 THEN (sum(c) OVER (ORDER BY i DESC))::bigint ELSE c END
    FROM (SELECT i, pf_body_cell(b, l, 3, i, 1) AS e, pf_body_cell(b, l, 3, i, 2) AS c
          FROM (SELECT pf_body_layout(b) AS l) x, generate_series(0, l[101] - 1) AS i) r
$$;

-- The VPN clients of a body (section 4), ids not yet resolved.
CREATE FUNCTION pf_body_vpn_top(b bytea, l integer[])
RETURNS TABLE (rank smallint, addr_id integer, count bigint)
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT i::smallint, a::integer,
           CASE WHEN get_byte(b, 1) & 16 = 16 THEN (sum(c) OVER (ORDER BY i DESC))::bigint ELSE c END
    FROM (SELECT i, pf_body_cell(b, l, 4, i, 1) AS a, pf_body_cell(b, l, 4, i, 2) AS c
          FROM generate_series(0, l[106] - 1) AS i) r
$$;

-- vpn.ports of a body (section 5) as the JSON the agent sent, NULL when
-- it sent none.
CREATE FUNCTION pf_body_vpn_ports(b bytea, l integer[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN get_byte(b, 1) & 4 = 4 THEN coalesce(
        (SELECT jsonb_agg(jsonb_build_object(
                    'protocol', (ARRAY['ikev2', 'sstp', 'l2tp', 'pptp'])
                                [pf_body_cell(b, l, 5, i, 1) + 1],
                    'configured', pf_body_cell(b, l, 5, i, 2),
                    'in_use', pf_body_cell(b, l, 5, i, 3)) ORDER BY i)
           FROM generate_series(0, l[111] - 1) AS i), '[]'::jsonb) END
$$;

-- The string an id stands for (NULL for id 0, "absent").
CREATE FUNCTION pf_string(a uuid, i bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT value FROM agent_strings WHERE agent_id = a AND id = i AND i <> 0
$$;

-- The address and port of an endpoint id ("addr port").
CREATE FUNCTION pf_endpoint_addr(a uuid, i bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT split_part(pf_string(a, i), ' ', 1)
$$;

CREATE FUNCTION pf_endpoint_port(a uuid, i bigint) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT split_part(pf_string(a, i), ' ', 2)::integer
$$;

-- ---- the old tables' columns, old rows and new ----

CREATE VIEW snapshots AS
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
       pf_endpoint_addr(d.agent_id, pf_body_count(d.body, l.l, 14)),
       pf_endpoint_port(d.agent_id, pf_body_count(d.body, l.l, 14)),
       pf_body_count(d.body, l.l, 15),
       pf_body_count(d.body, l.l, 16), pf_body_count(d.body, l.l, 17),
       pf_body_count(d.body, l.l, 18), pf_body_count(d.body, l.l, 19),
       pf_body_count(d.body, l.l, 20), pf_body_count(d.body, l.l, 21),
       pf_body_count(d.body, l.l, 22), pf_body_count(d.body, l.l, 23),
       pf_body_count(d.body, l.l, 24), pf_body_count(d.body, l.l, 25),
       pf_body_count(d.body, l.l, 26), pf_body_count(d.body, l.l, 27),
       CASE WHEN get_byte(d.body, 1) & 2 = 2 THEN coalesce(
           (SELECT jsonb_agg(jsonb_build_object('addr', pf_string(d.agent_id, t.addr_id),
                                                'count', t.count) ORDER BY t.rank)
              FROM pf_body_vpn_top(d.body, l.l) t), '[]'::jsonb) END,
       pf_body_count(d.body, l.l, 28), coalesce(d.unmeasured, '{}'),
       pf_body_count(d.body, l.l, 29), pf_body_count(d.body, l.l, 30),
       pf_body_count(d.body, l.l, 31), d.last_push_error, get_byte(d.body, 1) & 1 = 1,
       pf_body_vpn_ports(d.body, l.l), pf_body_one(d.body, l.l, 6, 1),
       pf_body_one(d.body, l.l, 6, 2), pf_body_hundredths(pf_body_one(d.body, l.l, 7, 1)),
       pf_body_hundredths(pf_body_one(d.body, l.l, 7, 3)), pf_body_one(d.body, l.l, 7, 2),
       pf_string(d.agent_id, pf_body_one(d.body, l.l, 8, 1)), pf_body_one(d.body, l.l, 8, 2),
       pf_body_one(d.body, l.l, 8, 3), pf_body_one(d.body, l.l, 8, 4),
       pf_body_hundredths(pf_body_one(d.body, l.l, 8, 5))
FROM snapshot_data d
CROSS JOIN LATERAL pf_body_layout(d.body) AS l(l)
JOIN host_facts f ON f.agent_id = d.agent_id AND f.facts = d.facts
LEFT JOIN snapshot_seqs k ON k.agent_id = d.agent_id AND k.seq = d.seq;

CREATE VIEW snapshot_processes AS
SELECT agent_id, taken_at, seq, rank, pid, name, service, tcp_ports, udp_ports, st_listen,
       st_syn_sent, st_syn_received, st_established, st_fin_wait_1, st_fin_wait_2,
       st_close_wait, st_closing, st_last_ack, st_time_wait, st_bound, top_remote_addr,
       top_remote_port, top_remote_count
FROM snapshot_processes_v1
UNION ALL
SELECT d.agent_id, d.taken_at, d.seq, p.rank, p.pid, pf_string(d.agent_id, p.name_id),
       pf_string(d.agent_id, p.service_id), p.tcp_ports, p.udp_ports, p.st_listen,
       p.st_syn_sent, p.st_syn_received, p.st_established, p.st_fin_wait_1, p.st_fin_wait_2,
       p.st_close_wait, p.st_closing, p.st_last_ack, p.st_time_wait, p.st_bound,
       pf_endpoint_addr(d.agent_id, p.remote_id), pf_endpoint_port(d.agent_id, p.remote_id),
       CASE WHEN p.remote_id <> 0 THEN p.top_remote_count END
FROM snapshot_data d CROSS JOIN LATERAL pf_body_processes(d.body) p;

CREATE VIEW snapshot_remotes AS
SELECT agent_id, taken_at, seq, rank, addr, port, count FROM snapshot_remotes_v1
UNION ALL
SELECT d.agent_id, d.taken_at, d.seq, r.rank, pf_endpoint_addr(d.agent_id, r.endpoint_id),
       pf_endpoint_port(d.agent_id, r.endpoint_id), r.count
FROM snapshot_data d CROSS JOIN LATERAL pf_body_remotes(d.body) r;

-- ---- partitions and retention ----

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
END
$$;

-- Drops the daily partitions (new layout and the *_v1 tables of earlier
-- releases) of days before cutoff, and the dedup keys and queued
-- process_hours keys of snapshots taken before it. Returns the number of
-- tables dropped.
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
    RETURN n;
END
$$;

-- ---- process_hours from the queue ----
-- pf_flush_process_hours() (sql/012) now reads the layout above; its new
-- definition is generated from the fold rules (collector/capacity/fold.h)
-- and installed by `migrate` after the sql/ files.
