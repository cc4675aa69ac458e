/* SPDX-License-Identifier: MIT */
/* snapshot_validate.c: pf_snapshot_validate (snapshot_json.h): whether a
 * model snapshot is one the decoder would accept, so the agent never
 * sends what the collector refuses. */
#include "snapshot_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "compat.h"
#include "snapshot_codec.h"

struct vctx {
    char *err;
};

static enum pf_rc vfail(struct vctx *v, const char *fmt, ...) PF_PRINTF(2, 3);
static enum pf_rc vfail(struct vctx *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v->err, PF_ERRMSG_LEN, fmt, ap);
    va_end(ap);
    return PF_INVALID;
}

#define VSTR(field, what)                                                                          \
    do {                                                                                           \
        if (codec_bounded_len((field), sizeof(field)) >= sizeof(field))                                  \
            return vfail(v, "%s: not NUL-terminated", what);                                       \
    } while (0)
#define VCOUNT(value, what)                                                                        \
    do {                                                                                           \
        if ((uint64_t)(value) > JSON_INT_MAX)                                                      \
            return vfail(v, "%s: must be at most %llu", what, JSON_INT_MAX);                       \
    } while (0)

static enum pf_rc vrange(struct vctx *v, const struct pf_range *r, const char *list, size_t i)
{
    if (r->proto > PF_PROTO_UDP)
        return vfail(v, "%s[%zu].proto: must be \"tcp\" or \"udp\"", list, i);
    if (r->family > PF_FAMILY_IPV6)
        return vfail(v, "%s[%zu].family: must be \"ipv4\" or \"ipv6\"", list, i);
    if (r->start < 1)
        return vfail(v, "%s[%zu].start: must be an integer 1..65535", list, i);
    if (r->count < 1 || r->count > PORT_MAX)
        return vfail(v, "%s[%zu].count: must be an integer 1..65535", list, i);
    if ((uint32_t)r->start + r->count - 1 > PORT_MAX)
        return vfail(v, "%s[%zu].count: range ends past port 65535", list, i);
    return PF_OK;
}

static enum pf_rc vendpoint(struct vctx *v, const struct pf_endpoint *e, const char *what)
{
    if (codec_bounded_len(e->addr, sizeof(e->addr)) >= sizeof(e->addr) || !codec_addr_valid(e->addr))
        return vfail(v, "%s.addr: must be a numeric IPv4 or IPv6 address", what);
    if (e->port < 1)
        return vfail(v, "%s.port: must be an integer 1..65535", what);
    if (e->count > JSON_INT_MAX)
        return vfail(v, "%s.count: must be at most %llu", what, JSON_INT_MAX);
    return PF_OK;
}

/* A percentage of all cores: 0..100 (NaN fails both comparisons). */
static bool pct_valid(double x)
{
    return x >= 0 && x <= 100;
}

static enum pf_rc vvpn_sizing(struct vctx *v, const struct pf_vpn *vp)
{
    if (vp->has_ports) {
        if (vp->nports > PF_VPN_NPROTO)
            return vfail(v, "vpn.ports: more than %d entries", PF_VPN_NPROTO);
        for (size_t i = 0; i < vp->nports; i++) {
            const struct pf_vpn_port *p = &vp->ports[i];
            if (p->proto >= PF_VPN_NPROTO)
                return vfail(v, "vpn.ports[%zu].protocol: must be ikev2, sstp, l2tp or pptp", i);
            for (size_t j = 0; j < i; j++)
                if (vp->ports[j].proto == p->proto)
                    return vfail(v, "vpn.ports[%zu].protocol: a second %s entry", i,
                                 pf_vpn_proto_name(p->proto));
            if (p->configured > JSON_INT_MAX)
                return vfail(v, "vpn.ports[%zu].configured: must be at most %llu", i,
                             JSON_INT_MAX);
            if (p->in_use > p->configured)
                return vfail(v, "vpn.ports[%zu].in_use: above configured (%llu)", i,
                             (unsigned long long)p->configured);
        }
    }
    if (vp->has_address_pool) {
        if (vp->pool_size > JSON_INT_MAX)
            return vfail(v, "vpn.address_pool.size: must be at most %llu", JSON_INT_MAX);
        if (vp->pool_in_use > vp->pool_size)
            return vfail(v, "vpn.address_pool.in_use: above size (%llu)",
                         (unsigned long long)vp->pool_size);
    }
    return PF_OK;
}

static enum pf_rc vresources(struct vctx *v, const struct pf_resources *r,
                             const struct pf_host *h)
{
    if (r->has_memory_used_mb && h->memory_mb && r->memory_used_mb > h->memory_mb)
        return vfail(v, "resources.memory_used_mb: above host.memory_mb (%llu)",
                     (unsigned long long)h->memory_mb);
    return PF_OK;
}

static enum pf_rc vsessions(struct vctx *v, const struct pf_sessions *se)
{
    if (codec_bounded_len(se->source, sizeof(se->source)) >= sizeof(se->source))
        return vfail(v, "sessions.source: not NUL-terminated");
    if (!se->source[0])
        return vfail(v, "sessions.source: must not be empty");
    return PF_OK;
}

/* Every figure of snapshot_fields.h that s has, by its kind. */
static enum pf_rc vfields(struct vctx *v, const struct pf_snapshot *s)
{
    for (size_t i = 0; i < PF_NFIELDS; i++) {
        const struct pf_field *f = &pf_fields[i];
        double x = pf_field_value(s, f);

        if (!pf_field_has(s, f))
            continue;
        if (f->kind == PF_FIELD_COUNT && pf_field_count(s, f) > JSON_INT_MAX)
            return vfail(v, "%s: must be at most %llu", f->path, JSON_INT_MAX);
        if (f->kind == PF_FIELD_PCT && !pct_valid(x))
            return vfail(v, "%s: must be a number 0..100", f->path);
        if (f->kind == PF_FIELD_RATE && !(x >= 0 && x <= (double)JSON_INT_MAX))
            return vfail(v, "%s: must be a number >= 0", f->path);
    }
    return PF_OK;
}

/* The processes and remotes lists, when measured. */
static enum pf_rc vlists(struct vctx *v, const struct pf_snapshot *s)
{
    char what[96];
    enum pf_rc rc;

    if (s->has_processes) {
        if (s->nprocesses > PF_LIST_MAX)
            return vfail(v, "processes: more than %d entries", PF_LIST_MAX);
        for (size_t i = 0; i < s->nprocesses; i++) {
            const struct pf_process *p = &s->processes[i];
            snprintf(what, sizeof(what), "processes[%zu]", i);
            if (codec_bounded_len(p->name, sizeof(p->name)) >= sizeof(p->name) ||
                codec_bounded_len(p->service, sizeof(p->service)) >= sizeof(p->service))
                return vfail(v, "%s: name or service not NUL-terminated", what);
            if (p->tcp_ports > JSON_INT_MAX || p->udp_ports > JSON_INT_MAX)
                return vfail(v, "%s: port count above %llu", what, JSON_INT_MAX);
            for (int k = 0; k < PF_TCP_NSTATES; k++)
                if (p->states[k] > JSON_INT_MAX)
                    return vfail(v, "%s.states.%s: must be at most %llu", what,
                                 pf_tcp_state_name(k), JSON_INT_MAX);
            if (p->has_top_remote) {
                snprintf(what, sizeof(what), "processes[%zu].top_remote", i);
                if ((rc = vendpoint(v, &p->top_remote, what)))
                    return rc;
            }
        }
    }
    if (s->has_remotes) {
        if (s->nremotes > PF_LIST_MAX)
            return vfail(v, "remotes: more than %d entries", PF_LIST_MAX);
        for (size_t i = 0; i < s->nremotes; i++) {
            snprintf(what, sizeof(what), "remotes[%zu]", i);
            if ((rc = vendpoint(v, &s->remotes[i], what)))
                return rc;
        }
    }
    return PF_OK;
}

/* vpn's connections and client addresses (vvpn_sizing: its ports and
 * address pool). */
static enum pf_rc vvpn_clients(struct vctx *v, const struct pf_vpn *vp)
{
    VCOUNT(vp->connections, "vpn.connections");
    for (int i = 0; i < PF_VPN_NPROTO; i++)
        VCOUNT(vp->by_protocol[i], "vpn.by_protocol");
    VCOUNT(vp->distinct_clients, "vpn.client_addresses.distinct");
    if (vp->ntop > PF_LIST_MAX)
        return vfail(v, "vpn.client_addresses.top: more than %d entries", PF_LIST_MAX);
    for (size_t i = 0; i < vp->ntop; i++) {
        if (codec_bounded_len(vp->top[i].addr, PF_ADDR_LEN) >= PF_ADDR_LEN ||
            !codec_addr_valid(vp->top[i].addr))
            return vfail(v,
                         "vpn.client_addresses.top[%zu].addr: must be a numeric IPv4 or "
                         "IPv6 address",
                         i);
        if (vp->top[i].count > JSON_INT_MAX)
            return vfail(v, "vpn.client_addresses.top[%zu].count: must be at most %llu", i,
                         JSON_INT_MAX);
    }
    return PF_OK;
}

enum pf_rc pf_snapshot_validate(const struct pf_snapshot *s, char err[PF_ERRMSG_LEN])
{
    struct vctx ctx = {err}, *v = &ctx;
    const struct pf_host *h = &s->host;
    enum pf_rc rc;

    err[0] = '\0';
    VSTR(s->agent_id, "agent_id");
    VCOUNT(s->seq, "seq");
    if (s->taken_at < 0 || s->taken_at > TIME_MAX)
        return vfail(v, "taken_at: outside years 1970..9999");
    if (s->interval_s < 1)
        return vfail(v, "interval_s: must be an integer 1..4294967295");
    VSTR(h->name, "host.name");
    VSTR(h->site, "host.site");
    VSTR(h->machine_id, "host.machine_id");
    VSTR(h->os, "host.os");
    VSTR(h->os_version, "host.os_version");
    VSTR(h->agent_version, "host.agent_version");
    if (h->nroles > PF_ROLES_MAX)
        return vfail(v, "host.roles: more than %d entries", PF_ROLES_MAX);
    for (size_t i = 0; i < h->nroles; i++)
        if (codec_bounded_len(h->roles[i], PF_ID_LEN) >= PF_ID_LEN)
            return vfail(v, "host.roles[%zu]: not NUL-terminated", i);
    VCOUNT(h->memory_mb, "host.memory_mb");
    if (s->nranges > PF_RANGES_MAX)
        return vfail(v, "ranges: more than %d entries", PF_RANGES_MAX);
    for (size_t i = 0; i < s->nranges; i++) {
        if ((rc = vrange(v, &s->ranges[i], "ranges", i)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (s->ranges[j].proto == s->ranges[i].proto &&
                s->ranges[j].family == s->ranges[i].family)
                return vfail(v, "ranges[%zu]: a second %s/%s range", i,
                             pf_proto_name(s->ranges[i].proto),
                             pf_family_name(s->ranges[i].family));
    }
    if (s->has_excluded) {
        if (s->nexcluded > PF_EXCLUDED_MAX)
            return vfail(v, "excluded: more than %d entries", PF_EXCLUDED_MAX);
        for (size_t i = 0; i < s->nexcluded; i++)
            if ((rc = vrange(v, &s->excluded[i], "excluded", i)))
                return rc;
    }
    for (int i = 0; i < PF_TCP_NSTATES; i++)
        if (s->tcp.states[i] > JSON_INT_MAX)
            return vfail(v, "tcp.states.%s: must be at most %llu", pf_tcp_state_name(i),
                         JSON_INT_MAX);
    VCOUNT(s->tcp.ephemeral_in_use, "tcp.ephemeral_in_use");
    if (s->tcp.has_top_destination &&
        (rc = vendpoint(v, &s->tcp.top_destination, "tcp.top_destination")))
        return rc;
    VCOUNT(s->udp.endpoints, "udp.endpoints");
    VCOUNT(s->udp.ephemeral_in_use, "udp.ephemeral_in_use");
    if ((rc = vlists(v, s)))
        return rc;
    if (s->has_events) {
        VCOUNT(s->events.tcpip_4227, "events.tcpip_4227");
        VCOUNT(s->events.tcpip_4231, "events.tcpip_4231");
        VCOUNT(s->events.tcpip_4266, "events.tcpip_4266");
        VCOUNT(s->events.netlogon_5719, "events.netlogon_5719");
    }
    if (s->has_vpn && ((rc = vvpn_clients(v, &s->vpn)) || (rc = vvpn_sizing(v, &s->vpn))))
        return rc;
    if ((rc = vfields(v, s)))
        return rc;
    if (s->has_resources && (rc = vresources(v, &s->resources, h)))
        return rc;
    if (s->has_sessions && (rc = vsessions(v, &s->sessions)))
        return rc;
    if (s->nunmeasured > PF_UNMEASURED_MAX)
        return vfail(v, "unmeasured: more than %d entries", PF_UNMEASURED_MAX);
    for (size_t i = 0; i < s->nunmeasured; i++)
        if (codec_bounded_len(s->unmeasured[i], PF_ID_LEN) >= PF_ID_LEN)
            return vfail(v, "unmeasured[%zu]: not NUL-terminated", i);
    if (s->has_agent_stats) {
        const struct pf_agent_stats *a = &s->agent_stats;
        VCOUNT(a->spool_depth, "agent_stats.spool_depth");
        VCOUNT(a->spool_dropped, "agent_stats.spool_dropped");
        VCOUNT(a->spool_corrupt, "agent_stats.spool_corrupt");
        VSTR(a->last_push_error, "agent_stats.last_push_error");
    }
    return PF_OK;
}
