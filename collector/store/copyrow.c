/* SPDX-License-Identifier: MIT */
/* copyrow.c: COPY text rows (copyrow.h), and the rows of the layout before
 * the compact one, which the benchmark's raw-COPY reference and the unit
 * test write. Column lists follow sql/001_schema.sql; the TCP state
 * columns are generated from tcp_state.h's list at compile time. */
#include "copyrow.h"

#include <stdio.h>
#include <string.h>

#include "body.h"
#include "tcp_state.h"
#include "timeutil.h"

_Static_assert(PF_TCP_NSTATES == 11, "sql/001_schema.sql has one column per TCP state: add a "
                                     "migration for the new state, then raise this number");

#define TCP_COL(e, n) "tcp_" #n ", "
#define ST_COL(e, n) "st_" #n ", "

const char *const copyrow_snapshots_sql =
    "COPY snapshots_v1 (agent_id, seq, taken_at, interval_s, host_name, site, machine_id, os, "
    "os_version, roles, cpus, memory_mb, agent_version, ranges, excluded, usable_tcp4, "
    "usable_udp4, usable_tcp6, usable_udp6, " PF_TCP_STATES(TCP_COL)
    "tcp_ephemeral_in_use, top_dest_addr, top_dest_port, top_dest_count, udp_endpoints, "
    "udp_ephemeral_in_use, ev_tcpip_4227, ev_tcpip_4231, ev_tcpip_4266, ev_netlogon_5719, "
    "vpn_connections, vpn_ikev2, vpn_sstp, vpn_l2tp, vpn_pptp, vpn_distinct_clients, "
    "vpn_top_clients, vpn_ike_num_established_for_initial_query, unmeasured, spool_depth, "
    "spool_dropped, spool_corrupt, last_push_error, truncated) FROM STDIN";

const char *const copyrow_processes_sql =
    "COPY snapshot_processes_v1 (agent_id, taken_at, seq, rank, pid, name, service, tcp_ports, "
    "udp_ports, " PF_TCP_STATES(ST_COL) "top_remote_addr, top_remote_port, top_remote_count) "
    "FROM STDIN";

const char *const copyrow_remotes_sql =
    "COPY snapshot_remotes_v1 (agent_id, taken_at, seq, rank, addr, port, count) FROM STDIN";

/* ---- the writer ---- */

/* Most pieces fit the room the buffer already has: copied here, without a
 * call (cap <= max + 1, so the room is within the buffer's limit). */
static void put(struct copyrow *r, const char *p, size_t n)
{
    struct pf_buf *b = r->b;

    if (r->rc)
        return;
    if (b->data && n < b->cap - b->len) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    r->rc = pf_buf_append(b, p, n);
}

static void sep(struct copyrow *r)
{
    if (r->ncols++)
        put(r, "\t", 1);
}

void copyrow_null(struct copyrow *r)
{
    sep(r);
    put(r, "\\N", 2);
}

void copyrow_u64(struct copyrow *r, uint64_t v)
{
    char t[24];
    size_t i = sizeof(t);

    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sep(r);
    put(r, t + i, sizeof(t) - i);
}

void copyrow_bool(struct copyrow *r, bool v)
{
    sep(r);
    put(r, v ? "t" : "f", 1);
}

/* A text value with COPY's escapes for backslash and the line/field
 * separators; everything else passes through (the codec checked UTF-8). */
void copyrow_raw(struct copyrow *r, const char *p, size_t n)
{
    sep(r);
    put(r, p, n);
}

static void put_escaped(struct copyrow *r, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc;
        switch (*s) {
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: continue;
        }
        put(r, run, (size_t)(s - run));
        put(r, esc, 2);
        run = s + 1;
    }
    put(r, run, (size_t)(s - run));
}

void copyrow_text(struct copyrow *r, const char *s)
{
    sep(r);
    put_escaped(r, s);
}

void copyrow_end(struct copyrow *r)
{
    put(r, "\n", 1);
    r->ncols = 0;
}

/* A text[] literal {"a","b"}: elements quoted, '"' and '\' escaped, then
 * the whole literal COPY-escaped as a text value. */
void copyrow_text_array(struct copyrow *r, const char (*v)[PF_ID_LEN], size_t n)
{
    char lit[PF_UNMEASURED_MAX * (2 * PF_ID_LEN + 3) + 3];
    size_t o = 0;

    lit[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            lit[o++] = ',';
        lit[o++] = '"';
        for (const char *p = v[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                lit[o++] = '\\';
            lit[o++] = *p;
        }
        lit[o++] = '"';
    }
    lit[o++] = '}';
    lit[o] = '\0';
    copyrow_text(r, lit);
}

bool copyrow_ranges_json(const struct pf_range *v, size_t n, char *lit, size_t cap)
{
    size_t o = 0;

    lit[o++] = '[';
    for (size_t i = 0; i < n && o < cap - 1; i++)
        o += (size_t)snprintf(lit + o, cap - o,
                              "%s{\"proto\":\"%s\",\"family\":\"%s\",\"start\":%u,\"count\":%u}",
                              i ? "," : "", pf_proto_name(v[i].proto), pf_family_name(v[i].family),
                              (unsigned)v[i].start, (unsigned)v[i].count);
    if (o > cap - 2)
        return false;
    snprintf(lit + o, cap - o, "]");
    return true;
}

static void col_ranges_json(struct copyrow *r, const struct pf_range *v, size_t n)
{
    char lit[PF_EXCLUDED_MAX * 64 + 3];

    if (!copyrow_ranges_json(v, n, lit, sizeof(lit))) {
        r->rc = PF_TOOBIG;
        return;
    }
    copyrow_text(r, lit);
}

static void col_clients_json(struct copyrow *r, const struct pf_client_addr *v, size_t n)
{
    char lit[PF_LIST_MAX * (PF_ADDR_LEN + 40) + 3];
    size_t o = 0;

    lit[o++] = '[';
    for (size_t i = 0; i < n && o < sizeof(lit) - 1; i++)
        o += (size_t)snprintf(lit + o, sizeof(lit) - o, "%s{\"addr\":\"%s\",\"count\":%llu}",
                              i ? "," : "", v[i].addr, (unsigned long long)v[i].count);
    if (o > sizeof(lit) - 2) {
        r->rc = PF_TOOBIG; /* cannot happen within the model's caps */
        return;
    }
    snprintf(lit + o, sizeof(lit) - o, "]");
    copyrow_text(r, lit);
}

static void col_measured(struct copyrow *r, const struct pf_snapshot *s, const char *path, bool present,
                         uint64_t v)
{
    if (present && !body_unmeasured(s, path))
        copyrow_u64(r, v);
    else
        copyrow_null(r);
}

static void rows_snapshot(const struct pf_snapshot *s, const char *taken, struct copyrow *r)
{
    static const int usable[4][2] = {{PF_PROTO_TCP, PF_FAMILY_IPV4},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV4},
                                     {PF_PROTO_TCP, PF_FAMILY_IPV6},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV6}};
    char path[PF_ID_LEN + 16];
    bool ev = s->has_events, vpn = s->has_vpn && !body_unmeasured(s, "vpn");

    copyrow_text(r, s->agent_id);
    copyrow_u64(r, s->seq);
    copyrow_text(r, taken);
    copyrow_u64(r, s->interval_s);
    copyrow_text(r, s->host.name);
    copyrow_text(r, s->host.site);
    copyrow_text(r, s->host.machine_id);
    copyrow_text(r, s->host.os);
    copyrow_text(r, s->host.os_version);
    copyrow_text_array(r, s->host.roles, s->host.nroles);
    copyrow_u64(r, s->host.cpus);
    copyrow_u64(r, s->host.memory_mb);
    copyrow_text(r, s->host.agent_version);
    col_ranges_json(r, s->ranges, s->nranges);
    if (s->has_excluded)
        col_ranges_json(r, s->excluded, s->nexcluded);
    else
        copyrow_null(r);
    for (int i = 0; i < 4; i++) {
        if (pf_snapshot_range(s, usable[i][0], usable[i][1]))
            copyrow_u64(r, pf_snapshot_usable_ports(s, usable[i][0], usable[i][1]));
        else
            copyrow_null(r);
    }
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        snprintf(path, sizeof(path), "tcp.states.%s", pf_tcp_state_name(i));
        col_measured(r, s, path, true, s->tcp.states[i]);
    }
    col_measured(r, s, "tcp.ephemeral_in_use", true, s->tcp.ephemeral_in_use);
    if (s->tcp.has_top_destination) {
        copyrow_text(r, s->tcp.top_destination.addr);
        copyrow_u64(r, s->tcp.top_destination.port);
        copyrow_u64(r, s->tcp.top_destination.count);
    } else {
        copyrow_null(r);
        copyrow_null(r);
        copyrow_null(r);
    }
    col_measured(r, s, "udp.endpoints", true, s->udp.endpoints);
    col_measured(r, s, "udp.ephemeral_in_use", true, s->udp.ephemeral_in_use);
    col_measured(r, s, "events.tcpip_4227", ev, s->events.tcpip_4227);
    col_measured(r, s, "events.tcpip_4231", ev, s->events.tcpip_4231);
    col_measured(r, s, "events.tcpip_4266", ev, s->events.tcpip_4266);
    col_measured(r, s, "events.netlogon_5719", ev, s->events.netlogon_5719);
    col_measured(r, s, "vpn.connections", vpn, s->vpn.connections);
    col_measured(r, s, "vpn.by_protocol.ikev2", vpn, s->vpn.by_protocol[PF_VPN_IKEV2]);
    col_measured(r, s, "vpn.by_protocol.sstp", vpn, s->vpn.by_protocol[PF_VPN_SSTP]);
    col_measured(r, s, "vpn.by_protocol.l2tp", vpn, s->vpn.by_protocol[PF_VPN_L2TP]);
    col_measured(r, s, "vpn.by_protocol.pptp", vpn, s->vpn.by_protocol[PF_VPN_PPTP]);
    col_measured(r, s, "vpn.client_addresses.distinct", vpn, s->vpn.distinct_clients);
    if (vpn && !body_unmeasured(s, "vpn.client_addresses"))
        col_clients_json(r, s->vpn.top, s->vpn.ntop);
    else
        copyrow_null(r);
    col_measured(r, s, "vpn.ike_num_established_for_initial_query", vpn && s->vpn.has_ike_value,
                 s->vpn.ike_num_established_for_initial_query);
    copyrow_text_array(r, s->unmeasured, s->nunmeasured);
    if (s->has_agent_stats) {
        copyrow_u64(r, s->agent_stats.spool_depth);
        copyrow_u64(r, s->agent_stats.spool_dropped);
        copyrow_u64(r, s->agent_stats.spool_corrupt);
        if (s->agent_stats.has_last_push_error)
            copyrow_text(r, s->agent_stats.last_push_error);
        else
            copyrow_null(r);
    } else {
        for (int i = 0; i < 4; i++)
            copyrow_null(r);
    }
    copyrow_bool(r, s->truncated);
    copyrow_end(r);
}

/* The key columns every child row starts with. */
static void child_key(struct copyrow *r, const struct pf_snapshot *s, const char *taken, size_t rank)
{
    copyrow_text(r, s->agent_id);
    copyrow_text(r, taken);
    copyrow_u64(r, s->seq);
    copyrow_u64(r, rank);
}

static void rows_processes(const struct pf_snapshot *s, const char *taken, struct copyrow *r)
{
    for (size_t i = 0; s->has_processes && i < s->nprocesses; i++) {
        const struct pf_process *p = &s->processes[i];
        child_key(r, s, taken, i);
        copyrow_u64(r, p->pid);
        copyrow_text(r, p->name);
        copyrow_text(r, p->service);
        copyrow_u64(r, p->tcp_ports);
        copyrow_u64(r, p->udp_ports);
        for (int k = 0; k < PF_TCP_NSTATES; k++)
            copyrow_u64(r, p->states[k]);
        if (p->has_top_remote) {
            copyrow_text(r, p->top_remote.addr);
            copyrow_u64(r, p->top_remote.port);
            copyrow_u64(r, p->top_remote.count);
        } else {
            copyrow_null(r);
            copyrow_null(r);
            copyrow_null(r);
        }
        copyrow_end(r);
    }
}

static void rows_remotes(const struct pf_snapshot *s, const char *taken, struct copyrow *r)
{
    for (size_t i = 0; s->has_remotes && i < s->nremotes; i++) {
        child_key(r, s, taken, i);
        copyrow_text(r, s->remotes[i].addr);
        copyrow_u64(r, s->remotes[i].port);
        copyrow_u64(r, s->remotes[i].count);
        copyrow_end(r);
    }
}

/* ---- the layout before sql/020 ---- */

typedef void (*rows_fn)(const struct pf_snapshot *s, const char *taken, struct copyrow *r);

static enum pf_rc append_rows(rows_fn fn, const struct pf_snapshot *s, struct pf_buf *out)
{
    char taken[PF_TIME_LEN];
    struct copyrow r = {out, PF_OK, 0};
    size_t before = out->len;

    if (pf_time_format(s->taken_at, taken))
        return PF_INVALID;
    fn(s, taken, &r);
    if (r.rc) {
        out->len = before; /* leave no half row behind */
        if (out->data)
            out->data[before] = '\0';
    }
    return r.rc;
}

enum pf_rc copyrow_snapshot(const struct pf_snapshot *s, struct pf_buf *snaps, struct pf_buf *procs,
                           struct pf_buf *remotes)
{
    enum pf_rc rc = append_rows(rows_snapshot, s, snaps);

    if (!rc)
        rc = append_rows(rows_processes, s, procs);
    if (!rc)
        rc = append_rows(rows_remotes, s, remotes);
    return rc;
}
