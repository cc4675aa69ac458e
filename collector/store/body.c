/* SPDX-License-Identifier: MIT */
/* body.c: encodes the compact body of a snapshot (body.h, sql/020). Each
 * column gets the narrowest width its largest value needs, so columns
 * that are all zero (most TCP states of most processes) cost one byte. */
#include "body.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "addr.h"
#include "tcp_state.h"

#define W_NULL 255

struct col {
    bool null;
    uint64_t v[PF_LIST_MAX];
};

struct enc {
    uint8_t *out;
    size_t len;
};

/* The inline endpoints of a body (section 9), in the order met. */
struct inl {
    size_t n;
    uint64_t v[BODY_NINLINE][BODY_INLINE_MAX];
};

static unsigned width(const uint64_t *v, size_t n)
{
    uint64_t m = 0;
    unsigned w = 0;

    for (size_t i = 0; i < n; i++)
        m |= v[i];
    while (m) {
        w++;
        m >>= 8;
    }
    return w;
}

/* "addr port": a remote endpoint is one agent_strings id. */
static const char *endpoint(const char *addr, unsigned port, char *buf, size_t len)
{
    snprintf(buf, len, "%s %u", addr, port);
    return buf;
}

static uint64_t be64(const uint8_t *b, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | b[i];
    return v;
}

bool body_inline_ok(const char *addr, unsigned port, uint64_t *pf, uint64_t *hi, uint64_t *lo)
{
    static const uint8_t zero[10];
    uint8_t a[16];
    char back[PF_ADDR_LEN];

    if (port > 65535)
        return false;
    if (inet_pton(AF_INET, addr, a) == 1) {
        pf_addr_format(PF_FAMILY_IPV4, a, back);
        if (strcmp(back, addr) != 0)
            return false;
        *pf = (uint64_t)BODY_INLINE_V4 << 16 | port;
        *hi = be64(a, 4);
        *lo = 0;
        return true;
    }
    /* the decoder writes RFC 5952 text, never the dotted tail of a mapped
     * or compatible address: those (and anything not in that text) keep
     * the dictionary */
    if (inet_pton(AF_INET6, addr, a) != 1 || memcmp(a, zero, sizeof(zero)) == 0)
        return false;
    pf_addr_format(PF_FAMILY_IPV6, a, back);
    if (strcmp(back, addr) != 0)
        return false;
    *pf = (uint64_t)BODY_INLINE_V6 << 16 | port;
    *hi = be64(a, 8);
    *lo = be64(a + 8, 8);
    return true;
}

/* Endpoint addr:port of row i: its id in idc, or, when it has none, an
 * inline row where "at" in in. False when it has neither. */
static bool endpoint_ref(body_id_fn id, void *ctx, const char *addr, unsigned port,
                         struct col *idc, size_t i, struct inl *in, unsigned at)
{
    char ep[BODY_ENDPOINT_LEN];
    int64_t v;
    size_t k = in->n;

    if (id(ctx, endpoint(addr, port, ep, sizeof(ep)), &v)) {
        idc->v[i] = (uint64_t)v;
        return true;
    }
    if (k >= BODY_INLINE_MAX ||
        !body_inline_ok(addr, port, &in->v[1][k], &in->v[2][k], &in->v[3][k]))
        return false;
    in->v[0][k] = at;
    in->n++;
    idc->v[i] = 0;
    return true;
}

/* A column of n > 0 values: its width, then the values. */
static void put_vals(struct enc *e, const uint64_t *v, size_t n)
{
    unsigned w = width(v, n);

    e->out[e->len++] = (uint8_t)w;
    for (size_t i = 0; i < n; i++)
        for (unsigned b = w; b-- > 0;)
            e->out[e->len++] = (uint8_t)(v[i] >> (8 * b));
}

static void put_col(struct enc *e, const struct col *c, size_t n)
{
    if (n == 0)
        return; /* an empty section has no column widths */
    if (c->null) {
        e->out[e->len++] = W_NULL;
        return;
    }
    put_vals(e, c->v, n);
}

bool body_unmeasured(const struct pf_snapshot *s, const char *path)
{
    for (size_t i = 0; i < s->nunmeasured; i++) {
        size_t n = strlen(s->unmeasured[i]);
        if (strncmp(path, s->unmeasured[i], n) == 0 && (path[n] == '\0' || path[n] == '.'))
            return true;
    }
    return false;
}

static void measured(struct col *c, const struct pf_snapshot *s, const char *path, bool present,
                     uint64_t v)
{
    c->null = !present || body_unmeasured(s, path);
    c->v[0] = c->null ? 0 : v;
}

/* The counts section, in the column order of the snapshots view. */
static bool counts(const struct pf_snapshot *s, body_id_fn id, void *ctx, struct col *c,
                   struct inl *in)
{
    char path[PF_ID_LEN + 16];
    bool ev = s->has_events, vpn = s->has_vpn && !body_unmeasured(s, "vpn");
    int k = 0;

    memset(c, 0, BODY_NCOUNTS * sizeof(*c));
    c[k++].v[0] = s->interval_s;
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        snprintf(path, sizeof(path), "tcp.states.%s", pf_tcp_state_name(i));
        measured(&c[k++], s, path, true, s->tcp.states[i]);
    }
    measured(&c[k++], s, "tcp.ephemeral_in_use", true, s->tcp.ephemeral_in_use);
    if (s->tcp.has_top_destination) {
        if (!endpoint_ref(id, ctx, s->tcp.top_destination.addr, s->tcp.top_destination.port,
                          &c[k++], 0, in, 0))
            return false;
        c[k++].v[0] = s->tcp.top_destination.count;
    } else {
        c[k++].null = true;
        c[k++].null = true;
    }
    measured(&c[k++], s, "udp.endpoints", true, s->udp.endpoints);
    measured(&c[k++], s, "udp.ephemeral_in_use", true, s->udp.ephemeral_in_use);
    measured(&c[k++], s, "events.tcpip_4227", ev, s->events.tcpip_4227);
    measured(&c[k++], s, "events.tcpip_4231", ev, s->events.tcpip_4231);
    measured(&c[k++], s, "events.tcpip_4266", ev, s->events.tcpip_4266);
    measured(&c[k++], s, "events.netlogon_5719", ev, s->events.netlogon_5719);
    measured(&c[k++], s, "vpn.connections", vpn, s->vpn.connections);
    measured(&c[k++], s, "vpn.by_protocol.ikev2", vpn, s->vpn.by_protocol[PF_VPN_IKEV2]);
    measured(&c[k++], s, "vpn.by_protocol.sstp", vpn, s->vpn.by_protocol[PF_VPN_SSTP]);
    measured(&c[k++], s, "vpn.by_protocol.l2tp", vpn, s->vpn.by_protocol[PF_VPN_L2TP]);
    measured(&c[k++], s, "vpn.by_protocol.pptp", vpn, s->vpn.by_protocol[PF_VPN_PPTP]);
    measured(&c[k++], s, "vpn.client_addresses.distinct", vpn, s->vpn.distinct_clients);
    measured(&c[k++], s, "vpn.ike_num_established_for_initial_query", vpn && s->vpn.has_ike_value,
             s->vpn.ike_num_established_for_initial_query);
    c[k].null = !s->has_agent_stats;
    c[k++].v[0] = s->has_agent_stats ? s->agent_stats.spool_depth : 0;
    c[k].null = !s->has_agent_stats;
    c[k++].v[0] = s->has_agent_stats ? s->agent_stats.spool_dropped : 0;
    c[k].null = !s->has_agent_stats;
    c[k++].v[0] = s->has_agent_stats ? s->agent_stats.spool_corrupt : 0;
    return k == BODY_NCOUNTS;
}

/* A fraction kept to hundredths (the codec rounds to them) as an integer
 * of 1/100; the view divides by 100 again. */
static uint64_t hundredths(double v)
{
    return (uint64_t)llround(v * 100.0);
}

/* A count column sorted from the largest down (remotes, VPN clients, as
 * the agent sends them) is stored as each value's excess over the next
 * one, the last as itself: small numbers, a byte where the counts need
 * two. True when it was; a column out of order stays as it is. */
static bool descending(struct col *c, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (c->v[i] < c->v[i + 1])
            return false;
    for (size_t i = 0; i + 1 < n; i++)
        c->v[i] -= c->v[i + 1];
    return n > 1;
}

static void opt(struct col *c, bool has, uint64_t v)
{
    c->null = !has;
    c->v[0] = has ? v : 0;
}

static void put_section(struct enc *e, const struct col *c, int ncols, size_t n)
{
    e->out[e->len++] = (uint8_t)n;
    for (int k = 0; k < ncols; k++)
        put_col(e, &c[k], n);
}

/* Sections 7 (resources) and 8 (sessions): the figures of
 * snapshot_fields.h in that section, in the list's order (sessions after
 * its source's id), preceded by their number of columns, so a body from a
 * build with a longer list still parses where the SQL knows fewer. */
static void put_fields(struct enc *e, const struct pf_snapshot *s, enum pf_field_section sec,
                       bool present, const struct col *first)
{
    struct col c[1 + PF_NFIELDS];
    int k = 0;

    memset(c, 0, sizeof(c));
    if (first)
        c[k++] = *first;
    for (int i = 0; i < PF_NFIELDS; i++) {
        const struct pf_field *f = &pf_fields[i];
        if (f->section != sec)
            continue;
        opt(&c[k++], present && pf_field_has(s, f),
            f->kind == PF_FIELD_COUNT ? pf_field_count(s, f) : hundredths(pf_field_value(s, f)));
    }
    e->out[e->len++] = present ? 1 : 0;
    if (!present)
        return;
    e->out[e->len++] = (uint8_t)k;
    for (int j = 0; j < k; j++)
        put_col(e, &c[j], 1);
}

/* The sections after the remotes: VPN clients, VPN ports, the address
 * pool, resources, sessions (the order of sql/020's layout). */
static enum pf_rc sizing(struct enc *e, const struct pf_snapshot *s, bool vpn_top, body_id_fn id,
                         void *ctx, uint8_t *flags)
{
    struct col c[BODY_NVPN_PORTS];
    const struct pf_vpn *v = &s->vpn;
    size_t n = vpn_top ? v->ntop : 0;
    int64_t x;

    memset(c, 0, sizeof(c));
    for (size_t i = 0; i < n; i++) {
        if (!id(ctx, v->top[i].addr, &x))
            return PF_NOTFOUND;
        c[0].v[i] = (uint64_t)x;
        c[1].v[i] = v->top[i].count;
    }
    if (descending(&c[1], n))
        *flags |= BODY_F_VPN_TOP_DESC;
    put_section(e, c, BODY_NVPN_TOP, n);

    memset(c, 0, sizeof(c));
    n = s->has_vpn && v->has_ports ? v->nports : 0;
    for (size_t i = 0; i < n; i++) {
        c[0].v[i] = v->ports[i].proto;
        c[1].v[i] = v->ports[i].configured;
        c[2].v[i] = v->ports[i].in_use;
    }
    put_section(e, c, BODY_NVPN_PORTS, n);

    memset(c, 0, sizeof(c));
    c[0].v[0] = v->pool_size;
    c[1].v[0] = v->pool_in_use;
    put_section(e, c, BODY_NVPN_POOL, s->has_vpn && v->has_address_pool ? 1 : 0);

    put_fields(e, s, PF_SECTION_resources, s->has_resources, NULL);
    if (s->has_sessions) {
        struct col src = {0};
        if (!id(ctx, s->sessions.source, &x))
            return PF_NOTFOUND;
        src.v[0] = (uint64_t)x;
        put_fields(e, s, PF_SECTION_sessions, true, &src);
    } else {
        put_fields(e, s, PF_SECTION_sessions, false, NULL);
    }
    return PF_OK;
}

/* The VPN client list is stored when the old layout stored it
 * (vpn_top_clients): VPN measured and its client addresses too. */
static bool has_vpn_top(const struct pf_snapshot *s)
{
    return s->has_vpn && !body_unmeasured(s, "vpn") &&
           !body_unmeasured(s, "vpn.client_addresses");
}

enum pf_rc body_encode(const struct pf_snapshot *s, body_id_fn id, void *ctx, uint8_t *out,
                       size_t *len)
{
    struct col cc[BODY_NCOUNTS], pc[BODY_NPROC], rc_[BODY_NREMOTE];
    struct inl in;
    struct enc e = {out, 0};
    size_t np = s->has_processes ? s->nprocesses : 0, nr = s->has_remotes ? s->nremotes : 0;
    bool vpn_top = has_vpn_top(s), ports = s->has_vpn && s->vpn.has_ports;
    int64_t v;
    enum pf_rc rc;

    *len = 0;
    if (np > PF_LIST_MAX || nr > PF_LIST_MAX || (vpn_top && s->vpn.ntop > PF_LIST_MAX) ||
        (ports && s->vpn.nports > PF_VPN_NPROTO))
        return PF_TOOBIG; /* the codec's caps: cannot happen */
    in.n = 0;
    if (!counts(s, id, ctx, cc, &in))
        return PF_NOTFOUND;

    memset(pc, 0, sizeof(pc));
    for (size_t i = 0; i < np; i++) {
        const struct pf_process *p = &s->processes[i];
        int k = 0;
        pc[k++].v[i] = p->pid;
        if (!id(ctx, p->name, &v))
            return PF_NOTFOUND;
        pc[k++].v[i] = (uint64_t)v;
        if (!id(ctx, p->service, &v))
            return PF_NOTFOUND;
        pc[k++].v[i] = (uint64_t)v;
        pc[k++].v[i] = p->tcp_ports;
        pc[k++].v[i] = p->udp_ports;
        for (int t = 0; t < PF_TCP_NSTATES; t++)
            pc[k++].v[i] = p->states[t];
        if (p->has_top_remote) {
            if (!endpoint_ref(id, ctx, p->top_remote.addr, p->top_remote.port, &pc[k++], i, &in,
                              (unsigned)(1 + i)))
                return PF_NOTFOUND;
            pc[k++].v[i] = p->top_remote.count;
        } /* else id 0 and no inline endpoint: absent */
    }

    memset(rc_, 0, sizeof(rc_));
    for (size_t i = 0; i < nr; i++) {
        if (!endpoint_ref(id, ctx, s->remotes[i].addr, s->remotes[i].port, &rc_[0], i, &in,
                          (unsigned)(BODY_AT_REMOTE + i)))
            return PF_NOTFOUND;
        rc_[1].v[i] = s->remotes[i].count;
    }

    /* version 1 unless an endpoint is inline: a body without one is the
     * same bytes as before */
    out[e.len++] = in.n ? BODY_VERSION_INLINE : BODY_VERSION;
    out[e.len++] = (uint8_t)((s->truncated ? BODY_F_TRUNCATED : 0) |
                             (vpn_top ? BODY_F_VPN_TOP : 0) | (ports ? BODY_F_VPN_PORTS : 0));
    put_section(&e, cc, BODY_NCOUNTS, 1);
    put_section(&e, pc, BODY_NPROC, np);
    if (descending(&rc_[1], nr))
        out[1] |= BODY_F_REMOTES_DESC;
    put_section(&e, rc_, BODY_NREMOTE, nr);
    if ((rc = sizing(&e, s, vpn_top, id, ctx, &out[1])))
        return rc;
    if (in.n) {
        out[e.len++] = (uint8_t)in.n;
        for (int k = 0; k < BODY_NINLINE; k++)
            put_vals(&e, in.v[k], in.n);
    }
    *len = e.len;
    return PF_OK;
}

void body_strings(const struct pf_snapshot *s, void (*fn)(void *ctx, const char *str, bool inline_ok),
                  void *ctx)
{
    char ep[BODY_ENDPOINT_LEN];
    uint64_t a, b, c;

#define EP(addr, port) fn(ctx, endpoint(addr, port, ep, sizeof(ep)), body_inline_ok(addr, port, &a, &b, &c))
    if (s->tcp.has_top_destination)
        EP(s->tcp.top_destination.addr, s->tcp.top_destination.port);
    for (size_t i = 0; s->has_processes && i < s->nprocesses; i++) {
        const struct pf_process *p = &s->processes[i];
        fn(ctx, p->name, false);
        fn(ctx, p->service, false);
        if (p->has_top_remote)
            EP(p->top_remote.addr, p->top_remote.port);
    }
    for (size_t i = 0; s->has_remotes && i < s->nremotes; i++)
        EP(s->remotes[i].addr, s->remotes[i].port);
#undef EP
    for (size_t i = 0; has_vpn_top(s) && i < s->vpn.ntop; i++)
        fn(ctx, s->vpn.top[i].addr, false);
    if (s->has_sessions)
        fn(ctx, s->sessions.source, false);
}
