/* SPDX-License-Identifier: MIT */
/* body.c: encodes the compact body of a snapshot (body.h, sql/020). Each
 * column gets the narrowest width its largest value needs, so columns
 * that are all zero (most TCP states of most processes) cost one byte. */
#include "body.h"

#include <stdio.h>
#include <string.h>

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

static void put_col(struct enc *e, const struct col *c, size_t n)
{
    unsigned w;

    if (c->null) {
        e->out[e->len++] = W_NULL;
        return;
    }
    w = width(c->v, n);
    e->out[e->len++] = (uint8_t)w;
    for (size_t i = 0; i < n; i++)
        for (unsigned b = w; b-- > 0;)
            e->out[e->len++] = (uint8_t)(c->v[i] >> (8 * b));
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
static bool counts(const struct pf_snapshot *s, body_id_fn id, void *ctx, struct col *c)
{
    char path[PF_ID_LEN + 16];
    bool ev = s->has_events, vpn = s->has_vpn && !body_unmeasured(s, "vpn");
    char ep[BODY_ENDPOINT_LEN];
    int k = 0;
    int64_t v;

    memset(c, 0, BODY_NCOUNTS * sizeof(*c));
    c[k++].v[0] = s->interval_s;
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        snprintf(path, sizeof(path), "tcp.states.%s", pf_tcp_state_name(i));
        measured(&c[k++], s, path, true, s->tcp.states[i]);
    }
    measured(&c[k++], s, "tcp.ephemeral_in_use", true, s->tcp.ephemeral_in_use);
    if (s->tcp.has_top_destination) {
        if (!id(ctx,
                endpoint(s->tcp.top_destination.addr, s->tcp.top_destination.port, ep, sizeof(ep)),
                &v))
            return false;
        c[k++].v[0] = (uint64_t)v;
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

enum pf_rc body_encode(const struct pf_snapshot *s, body_id_fn id, void *ctx, uint8_t *out,
                       size_t *len)
{
    struct col c[BODY_NPROC > BODY_NCOUNTS ? BODY_NPROC : BODY_NCOUNTS];
    struct enc e = {out, 0};
    char ep[BODY_ENDPOINT_LEN];
    size_t np = s->has_processes ? s->nprocesses : 0, nr = s->has_remotes ? s->nremotes : 0;
    int64_t v;

    *len = 0;
    if (np > PF_LIST_MAX || nr > PF_LIST_MAX)
        return PF_TOOBIG; /* the codec's cap: cannot happen */
    out[e.len++] = BODY_VERSION;
    out[e.len++] = s->truncated ? 1 : 0;
    if (!counts(s, id, ctx, c))
        return PF_NOTFOUND;
    out[e.len++] = 1;
    for (int k = 0; k < BODY_NCOUNTS; k++)
        put_col(&e, &c[k], 1);

    memset(c, 0, BODY_NPROC * sizeof(*c));
    for (size_t i = 0; i < np; i++) {
        const struct pf_process *p = &s->processes[i];
        int k = 0;
        c[k++].v[i] = p->pid;
        if (!id(ctx, p->name, &v))
            return PF_NOTFOUND;
        c[k++].v[i] = (uint64_t)v;
        if (!id(ctx, p->service, &v))
            return PF_NOTFOUND;
        c[k++].v[i] = (uint64_t)v;
        c[k++].v[i] = p->tcp_ports;
        c[k++].v[i] = p->udp_ports;
        for (int t = 0; t < PF_TCP_NSTATES; t++)
            c[k++].v[i] = p->states[t];
        if (p->has_top_remote) {
            if (!id(ctx, endpoint(p->top_remote.addr, p->top_remote.port, ep, sizeof(ep)), &v))
                return PF_NOTFOUND;
            c[k++].v[i] = (uint64_t)v;
            c[k++].v[i] = p->top_remote.count;
        } /* else id 0: absent */
    }
    out[e.len++] = (uint8_t)np;
    for (int k = 0; k < BODY_NPROC; k++)
        put_col(&e, &c[k], np);

    memset(c, 0, BODY_NREMOTE * sizeof(*c));
    for (size_t i = 0; i < nr; i++) {
        if (!id(ctx, endpoint(s->remotes[i].addr, s->remotes[i].port, ep, sizeof(ep)), &v))
            return PF_NOTFOUND;
        c[0].v[i] = (uint64_t)v;
        c[1].v[i] = s->remotes[i].count;
    }
    out[e.len++] = (uint8_t)nr;
    for (int k = 0; k < BODY_NREMOTE; k++)
        put_col(&e, &c[k], nr);
    *len = e.len;
    return PF_OK;
}

void body_strings(const struct pf_snapshot *s, void (*fn)(void *ctx, const char *str), void *ctx)
{
    char ep[BODY_ENDPOINT_LEN];

    if (s->tcp.has_top_destination)
        fn(ctx, endpoint(s->tcp.top_destination.addr, s->tcp.top_destination.port, ep, sizeof(ep)));
    for (size_t i = 0; s->has_processes && i < s->nprocesses; i++) {
        const struct pf_process *p = &s->processes[i];
        fn(ctx, p->name);
        fn(ctx, p->service);
        if (p->has_top_remote)
            fn(ctx, endpoint(p->top_remote.addr, p->top_remote.port, ep, sizeof(ep)));
    }
    for (size_t i = 0; s->has_remotes && i < s->nremotes; i++)
        fn(ctx, endpoint(s->remotes[i].addr, s->remotes[i].port, ep, sizeof(ep)));
}
