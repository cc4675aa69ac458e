-- SPDX-License-Identifier: MIT
-- 010_capacity_rollups.sql: what the capacity analysis reads.
--
-- Answering /v1/findings for 1,000 hosts over 7 days must not scan two
-- million snapshots, so ingest keeps, in the same transaction that stores
-- the snapshots (collector/rollup.c), one row per host and hour, one row
-- per process and hour, and each host's latest configuration. The rules
-- are those of collector/fleet.c's fleet_add_snapshot():
-- * hours are taken_at truncated to the hour (UTC), never arrival time;
-- * counts keep the hour's maximum; Windows events are summed;
-- * the VPN columns are those of the hour's snapshot with the most IKEv2
--   connections (then the most connections);
-- * a process (name, service) is kept for an hour only when it holds at
--   least 20 ports (tcp_ports + udp_ports) in a snapshot of it; held_min is
--   the hour's lowest such value (the floor a leak keeps raising); its
--   remote is the top_remote of its latest snapshot that had one;
-- * host_latest holds the configuration of the snapshot with the latest
--   taken_at (a spool drained late does not overwrite it).
-- Only snapshots stored for the first time are rolled up (a resent
-- duplicate counts once). Keys start with agent_id like the other tables.

CREATE TABLE host_hours (
    agent_id         uuid NOT NULL,
    hour             timestamptz NOT NULL,
    samples          integer NOT NULL,
    tcp_max          bigint,
    udp_max          bigint,
    top_dest_max     bigint,
    vpn_conn_max     bigint,
    ev_tcpip_4227    bigint NOT NULL DEFAULT 0,
    ev_tcpip_4231    bigint NOT NULL DEFAULT 0,
    ev_tcpip_4266    bigint NOT NULL DEFAULT 0,
    ev_netlogon_5719 bigint NOT NULL DEFAULT 0,
    vpn_ikev2        bigint,
    vpn_connections  bigint,
    vpn_distinct     bigint,
    vpn_top_addr     text,
    vpn_top_count    bigint,
    vpn_at           timestamptz,
    PRIMARY KEY (agent_id, hour)
);
CREATE INDEX host_hours_hour ON host_hours (hour);

CREATE TABLE process_hours (
    agent_id    uuid NOT NULL,
    hour        timestamptz NOT NULL,
    name        text NOT NULL,
    service     text NOT NULL,
    held_max    bigint NOT NULL,
    held_min    bigint NOT NULL,
    bound_max   bigint NOT NULL,
    remote_addr text,
    remote_port integer,
    remote_at   timestamptz,
    PRIMARY KEY (agent_id, hour, name, service)
);
CREATE INDEX process_hours_hour ON process_hours (hour);

CREATE TABLE host_latest (
    agent_id       uuid PRIMARY KEY,
    taken_at       timestamptz NOT NULL,
    name           text NOT NULL,
    site           text NOT NULL,
    os             text NOT NULL,
    roles          text[] NOT NULL,
    cpus           integer NOT NULL,
    memory_mb      bigint NOT NULL,
    interval_s     integer NOT NULL,
    tcp_start      integer,
    tcp_count      integer,
    udp_start      integer,
    udp_count      integer,
    usable_tcp4    integer NOT NULL,
    usable_udp4    integer NOT NULL,
    -- TCP/IPv4 excluded blocks: [[start, count], ...]
    excluded_tcp4  jsonb NOT NULL,
    tcp_in_use     bigint NOT NULL,
    udp_in_use     bigint NOT NULL,
    top_dest_addr  text,
    top_dest_port  integer,
    ike_value      bigint
);
CREATE INDEX host_latest_site ON host_latest (site);

-- Retention of the rollups (they outlive the raw partitions by design):
-- deletes hours before cutoff. Returns the rows deleted.
CREATE FUNCTION pf_drop_rollups_before(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    m bigint;
BEGIN
    DELETE FROM host_hours WHERE hour < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM process_hours WHERE hour < cutoff;
    GET DIAGNOSTICS m = ROW_COUNT;
    RETURN n + m;
END
$$;
