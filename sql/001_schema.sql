-- SPDX-License-Identifier: MIT
-- 001_schema.sql: agents, the snapshot dedup keys, and the snapshots with
-- their per-process and per-remote rows (docs/protocol.md section 2).
--
-- Layout decisions:
-- * Time-series tables are natively partitioned by RANGE (taken_at), one
--   partition per UTC day (002_partitions.sql creates and drops them), so
--   retention is DROP TABLE, not DELETE, and a late snapshot from a spool
--   lands in the day it was taken.
-- * Every key starts with agent_id, the future Citus distribution column:
--   snapshots, snapshot_processes and snapshot_remotes are co-located by
--   agent_id; agents is small and would be a reference table.
-- * Dedup of (agent_id, seq) must hold across partitions, but a unique index
--   on a partitioned table has to include the partition key (taken_at), and
--   (agent_id, seq, taken_at) would let a resent snapshot with a different
--   taken_at slip through. So the unique key lives in snapshot_seqs, a plain
--   (non-partitioned) table: the collector INSERTs the keys of a batch there
--   with ON CONFLICT DO NOTHING RETURNING, and writes the data rows only for
--   the keys that came back. Two collectors racing on one key serialise on
--   that unique index; exactly one of them writes the rows.
-- * Counts are columns, not a JSON blob, so analysis is plain SQL. A value
--   the agent listed in "unmeasured" is stored as NULL, never as 0.

CREATE TABLE agents (
    agent_id      uuid PRIMARY KEY,
    -- SHA-256 of the node key: the key is 256 random bits, so a plain hash
    -- is enough (nothing to brute-force) and the database never holds it.
    node_key_hash bytea NOT NULL UNIQUE,
    name          text NOT NULL,
    site          text NOT NULL,
    machine_id    text NOT NULL,
    enrolled_at   timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz,
    revoked_at    timestamptz
);
-- Clones share a machine id; finding them is a query, never an identity.
CREATE INDEX agents_machine_id ON agents (machine_id);

CREATE TABLE snapshot_seqs (
    agent_id    uuid NOT NULL,
    seq         bigint NOT NULL,
    taken_at    timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, seq)
);
-- Retention deletes keys older than the oldest kept partition.
CREATE INDEX snapshot_seqs_taken_at ON snapshot_seqs (taken_at);

CREATE TABLE snapshots (
    agent_id             uuid NOT NULL,
    seq                  bigint NOT NULL,
    taken_at             timestamptz NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    interval_s           integer NOT NULL,
    host_name            text NOT NULL,
    site                 text NOT NULL,
    machine_id           text NOT NULL,
    os                   text NOT NULL,
    os_version           text NOT NULL,
    roles                text[] NOT NULL,
    cpus                 integer NOT NULL,
    memory_mb            bigint NOT NULL,
    agent_version        text NOT NULL,
    -- [{"proto","family","start","count"}], as sent
    ranges               jsonb NOT NULL,
    excluded             jsonb,
    -- range minus excluded ports inside it; NULL when there is no such range
    usable_tcp4          integer,
    usable_udp4          integer,
    usable_tcp6          integer,
    usable_udp6          integer,
    tcp_listen           bigint,
    tcp_syn_sent         bigint,
    tcp_syn_received     bigint,
    tcp_established      bigint,
    tcp_fin_wait_1       bigint,
    tcp_fin_wait_2       bigint,
    tcp_close_wait       bigint,
    tcp_closing          bigint,
    tcp_last_ack         bigint,
    tcp_time_wait        bigint,
    tcp_bound            bigint,
    tcp_ephemeral_in_use bigint,
    top_dest_addr        text,
    top_dest_port        integer,
    top_dest_count       bigint,
    udp_endpoints        bigint,
    udp_ephemeral_in_use bigint,
    -- Windows event counts since the previous snapshot; NULL when absent
    ev_tcpip_4227        bigint,
    ev_tcpip_4231        bigint,
    ev_tcpip_4266        bigint,
    ev_netlogon_5719     bigint,
    -- RRAS hosts only; NULL elsewhere
    vpn_connections      bigint,
    vpn_ikev2            bigint,
    vpn_sstp             bigint,
    vpn_l2tp             bigint,
    vpn_pptp             bigint,
    vpn_distinct_clients bigint,
    vpn_top_clients      jsonb,
    vpn_ike_num_established_for_initial_query bigint,
    unmeasured           text[] NOT NULL,
    spool_depth          bigint,
    spool_dropped        bigint,
    spool_corrupt        bigint,
    last_push_error      text,
    truncated            boolean NOT NULL,
    PRIMARY KEY (agent_id, taken_at, seq)
) PARTITION BY RANGE (taken_at);

CREATE TABLE snapshot_processes (
    agent_id         uuid NOT NULL,
    taken_at         timestamptz NOT NULL,
    seq              bigint NOT NULL,
    rank             smallint NOT NULL, -- position in the agent's list, 0 = top
    pid              bigint NOT NULL,
    name             text NOT NULL,
    service          text NOT NULL,
    tcp_ports        bigint NOT NULL,
    udp_ports        bigint NOT NULL,
    st_listen        bigint NOT NULL,
    st_syn_sent      bigint NOT NULL,
    st_syn_received  bigint NOT NULL,
    st_established   bigint NOT NULL,
    st_fin_wait_1    bigint NOT NULL,
    st_fin_wait_2    bigint NOT NULL,
    st_close_wait    bigint NOT NULL,
    st_closing       bigint NOT NULL,
    st_last_ack      bigint NOT NULL,
    st_time_wait     bigint NOT NULL,
    st_bound         bigint NOT NULL,
    top_remote_addr  text,
    top_remote_port  integer,
    top_remote_count bigint,
    PRIMARY KEY (agent_id, taken_at, seq, rank)
) PARTITION BY RANGE (taken_at);

CREATE TABLE snapshot_remotes (
    agent_id uuid NOT NULL,
    taken_at timestamptz NOT NULL,
    seq      bigint NOT NULL,
    rank     smallint NOT NULL,
    addr     text NOT NULL,
    port     integer NOT NULL,
    count    bigint NOT NULL,
    PRIMARY KEY (agent_id, taken_at, seq, rank)
) PARTITION BY RANGE (taken_at);
