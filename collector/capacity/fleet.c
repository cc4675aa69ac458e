/* SPDX-License-Identifier: MIT */
/* fleet.c: the analysis model's life cycle and the fold of a snapshot into
 * hourly series (the rules are in fleet.h; sql/010 applies the same). */
#include "fleet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "stats.h"
#include "timeutil.h"

void fleet_params_default(struct fleet_params *p)
{
    p->now = pf_time_now();
    p->window_s = 7 * 86400;
    p->horizon_days = 90;
    p->target_utilization = 0.7;
    p->silent_intervals = 3;
}

struct fleet *fleet_new(const struct fleet_params *p)
{
    struct fleet *f;
    int64_t end, start;

    if (p->window_s <= 0 || p->window_s / FLEET_HOUR > FLEET_HOURS_MAX || p->now < p->window_s)
        return NULL;
    end = (p->now / FLEET_HOUR + 1) * FLEET_HOUR; /* end of the hour holding now */
    start = (p->now - p->window_s) / FLEET_HOUR * FLEET_HOUR;
    f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->start = start;
    f->nhours = (size_t)((end - start) / FLEET_HOUR);
    return f;
}

static void proc_clear(struct fleet_proc *p)
{
    free(p->held);
    free(p->held_min);
    free(p->bound);
}

static void host_clear(struct fleet_host *x)
{
    for (size_t i = 0; i < x->nprocs; i++)
        proc_clear(&x->procs[i]);
    free(x->procs);
    free(x->excluded);
    free(x->tcp);
    free(x->udp);
    free(x->top_dest);
    free(x->vpn_conn);
    free(x->events);
    for (int k = 0; k < SIZING_N; k++)
        free(x->sz[k]);
}

void fleet_free(struct fleet *f)
{
    if (!f)
        return;
    if (f->arena)
        f->arena_free(f->arena, f->arena_ud);
    for (size_t i = 0; !f->arena && i < f->nhosts; i++)
        host_clear(&f->hosts[i]);
    free(f->hosts);
    free(f->index);
    free(f);
}

long fleet_hour(const struct fleet *f, int64_t t)
{
    if (t < f->start)
        return -1;
    int64_t h = (t - f->start) / FLEET_HOUR;
    return h < (int64_t)f->nhours ? (long)h : -1;
}

static double *nan_series(size_t n)
{
    double *v = malloc(n * sizeof(*v));

    if (v)
        for (size_t i = 0; i < n; i++)
            v[i] = NAN;
    return v;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

static enum pf_rc index_grow(struct fleet *f)
{
    size_t ncap = f->index_cap ? f->index_cap * 2 : 64;
    size_t *ni = calloc(ncap, sizeof(*ni));

    if (!ni)
        return PF_NOMEM;
    for (size_t i = 0; i < f->nhosts; i++) {
        size_t k = hash_str(f->hosts[i].agent_id) & (ncap - 1);
        while (ni[k])
            k = (k + 1) & (ncap - 1);
        ni[k] = i + 1;
    }
    free(f->index);
    f->index = ni;
    f->index_cap = ncap;
    return PF_OK;
}

struct fleet_host *fleet_host_find(struct fleet *f, const char *agent_id)
{
    if (!f->index_cap)
        return NULL;
    for (size_t k = hash_str(agent_id) & (f->index_cap - 1); f->index[k];
         k = (k + 1) & (f->index_cap - 1)) {
        struct fleet_host *x = &f->hosts[f->index[k] - 1];
        if (strcmp(x->agent_id, agent_id) == 0)
            return x;
    }
    return NULL;
}

/* Adds host agent_id (not in f) with series when `series`. */
static struct fleet_host *host_add(struct fleet *f, const char *agent_id, bool series)
{
    struct fleet_host *x;
    size_t k;

    if (strlen(agent_id) >= PF_ID_LEN)
        return NULL;
    if (PF_ARRAY_RESERVE(f->hosts, f->cap, f->nhosts + 1, 16))
        return NULL;
    if ((f->nhosts + 1) * 2 > f->index_cap && index_grow(f) != PF_OK)
        return NULL;
    x = &f->hosts[f->nhosts];
    memset(x, 0, sizeof(*x));
    snprintf(x->agent_id, sizeof(x->agent_id), "%s", agent_id);
    snprintf(x->tenant, sizeof(x->tenant), "default");
    if (!series)
        goto indexed;
    x->tcp = nan_series(f->nhours);
    x->udp = nan_series(f->nhours);
    x->top_dest = nan_series(f->nhours);
    x->vpn_conn = nan_series(f->nhours);
    x->events = calloc(f->nhours, sizeof(*x->events));
    if (!x->tcp || !x->udp || !x->top_dest || !x->vpn_conn || !x->events) {
        host_clear(x);
        return NULL;
    }
indexed:
    k = hash_str(agent_id) & (f->index_cap - 1);
    while (f->index[k])
        k = (k + 1) & (f->index_cap - 1);
    f->index[k] = ++f->nhosts;
    return x;
}

struct fleet_host *fleet_host_get(struct fleet *f, const char *agent_id)
{
    struct fleet_host *x = fleet_host_find(f, agent_id);

    return x ? x : host_add(f, agent_id, true);
}

struct fleet_host *fleet_host_add_bare(struct fleet *f, const char *agent_id)
{
    return host_add(f, agent_id, false);
}

struct fleet_proc *fleet_proc_get(struct fleet *f, struct fleet_host *h, const char *name,
                                  const char *service)
{
    struct fleet_proc *p;

    for (size_t i = 0; i < h->nprocs; i++)
        if (strcmp(h->procs[i].name, name) == 0 && strcmp(h->procs[i].service, service) == 0)
            return &h->procs[i];
    if (h->nprocs >= FLEET_PROCS_MAX || strlen(name) >= PF_NAME_LEN ||
        strlen(service) >= PF_NAME_LEN)
        return NULL;
    if (PF_ARRAY_RESERVE(h->procs, h->capprocs, h->nprocs + 1, 1))
        return NULL;
    p = &h->procs[h->nprocs];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->service, sizeof(p->service), "%s", service);
    p->held = nan_series(f->nhours);
    p->held_min = nan_series(f->nhours);
    p->bound = nan_series(f->nhours);
    if (!p->held || !p->held_min || !p->bound) {
        proc_clear(p);
        return NULL;
    }
    h->nprocs++;
    return p;
}

enum pf_rc fleet_host_set_config(struct fleet_host *x, const struct pf_snapshot *s)
{
    const struct pf_range *r;
    size_t n = 0;

    snprintf(x->name, sizeof(x->name), "%s", s->host.name);
    snprintf(x->site, sizeof(x->site), "%s", s->host.site);
    snprintf(x->os, sizeof(x->os), "%s", s->host.os);
    x->nroles = s->host.nroles;
    memcpy(x->roles, s->host.roles, sizeof(x->roles));
    x->cpus = s->host.cpus;
    x->memory_mb = s->host.memory_mb;
    x->last_seen = s->taken_at;
    x->interval_s = s->interval_s;
    r = pf_snapshot_range(s, PF_PROTO_TCP, PF_FAMILY_IPV4);
    x->has_tcp_range = r != NULL;
    if (r)
        x->tcp_range = *r;
    r = pf_snapshot_range(s, PF_PROTO_UDP, PF_FAMILY_IPV4);
    x->has_udp_range = r != NULL;
    if (r)
        x->udp_range = *r;
    x->tcp_usable = pf_snapshot_usable_ports(s, PF_PROTO_TCP, PF_FAMILY_IPV4);
    x->udp_usable = pf_snapshot_usable_ports(s, PF_PROTO_UDP, PF_FAMILY_IPV4);
    free(x->excluded);
    x->excluded = NULL;
    x->nexcluded = 0;
    for (size_t i = 0; i < s->nexcluded; i++)
        n += s->excluded[i].proto == PF_PROTO_TCP && s->excluded[i].family == PF_FAMILY_IPV4;
    if (n) {
        x->excluded = malloc(n * sizeof(*x->excluded));
        if (!x->excluded)
            return PF_NOMEM;
        for (size_t i = 0; i < s->nexcluded; i++)
            if (s->excluded[i].proto == PF_PROTO_TCP && s->excluded[i].family == PF_FAMILY_IPV4)
                x->excluded[x->nexcluded++] = s->excluded[i];
    }
    x->has_top_dest = s->tcp.has_top_destination;
    if (x->has_top_dest)
        x->top_dest_last = s->tcp.top_destination;
    x->last_tcp_in_use = s->tcp.ephemeral_in_use;
    x->last_udp_in_use = s->udp.ephemeral_in_use;
    x->has_ike_value = s->has_vpn && s->vpn.has_ike_value;
    x->ike_value = x->has_ike_value ? s->vpn.ike_num_established_for_initial_query : 0;
    return PF_OK;
}

void fleet_fold_hour(struct fleet_host *x, size_t h, const struct fleet_hour_row *r)
{
    x->tcp[h] = fold_max_d(x->tcp[h], r->tcp);
    x->udp[h] = fold_max_d(x->udp[h], r->udp);
    x->top_dest[h] = fold_max_d(x->top_dest[h], r->top_dest);
    x->vpn_conn[h] = fold_max_d(x->vpn_conn[h], r->vpn_conn);
    x->events[h].tcpip_4227 += r->events.tcpip_4227;
    x->events[h].tcpip_4231 += r->events.tcpip_4231;
    x->events[h].tcpip_4266 += r->events.tcpip_4266;
    x->events[h].netlogon_5719 += r->events.netlogon_5719;
}

void fleet_fold_proc(struct fleet_proc *p, size_t h, double held_max, double held_min, double bound)
{
    p->held[h] = fold_max_d(p->held[h], held_max);
    p->bound[h] = fold_max_d(p->bound[h], bound);
    p->held_min[h] = fold_min_d(p->held_min[h], held_min);
}

enum pf_rc fleet_fold_sizing(const struct fleet *f, struct fleet_host *x, size_t h,
                             const double v[SIZING_N])
{
    double cur[SIZING_N];

    for (int k = 0; k < SIZING_N; k++) {
        if (!stats_present(v[k]))
            continue;
        if (!x->sz[k] && !(x->sz[k] = nan_series(f->nhours)))
            return PF_NOMEM;
    }
    for (int k = 0; k < SIZING_N; k++)
        cur[k] = x->sz[k] ? x->sz[k][h] : NAN;
    fold_sizing(cur, v); /* fold.h, the rule of every path */
    for (int k = 0; k < SIZING_N; k++)
        if (x->sz[k])
            x->sz[k][h] = cur[k];
    return PF_OK;
}

void fleet_fold_vpn(struct fleet_host *x, const struct fleet_vpn *v)
{
    if (fold_vpn_newer(x->has_vpn, x->vpn.ikev2, x->vpn.connections, v->ikev2, v->connections)) {
        x->vpn = *v;
        x->has_vpn = true;
    }
}

enum pf_rc fleet_add_snapshot(struct fleet *f, const struct pf_snapshot *s)
{
    struct fleet_host *x;
    struct fleet_hour_row row;
    enum pf_rc rc;
    long h;

    if (!s->agent_id[0])
        return PF_INVALID;
    x = fleet_host_get(f, s->agent_id);
    if (!x)
        return PF_NOMEM;
    if (s->taken_at >= x->last_seen) {
        rc = fleet_host_set_config(x, s);
        if (rc)
            return rc;
    }
    h = fleet_hour(f, s->taken_at);
    if (h < 0)
        return PF_OK;
    row.tcp = (double)s->tcp.ephemeral_in_use;
    row.udp = (double)s->udp.ephemeral_in_use;
    row.top_dest = s->tcp.has_top_destination ? (double)s->tcp.top_destination.count : NAN;
    row.vpn_conn = s->has_vpn ? (double)s->vpn.connections : NAN;
    memset(&row.events, 0, sizeof(row.events));
    if (s->has_events) {
        row.events.tcpip_4227 = s->events.tcpip_4227;
        row.events.tcpip_4231 = s->events.tcpip_4231;
        row.events.tcpip_4266 = s->events.tcpip_4266;
        row.events.netlogon_5719 = s->events.netlogon_5719;
    }
    fleet_fold_hour(x, (size_t)h, &row);
    {
        double sz[SIZING_N];
        sizing_from_snapshot(s, sz);
        if ((rc = fleet_fold_sizing(f, x, (size_t)h, sz)))
            return rc;
    }
    if (s->has_vpn) {
        struct fleet_vpn v;
        memset(&v, 0, sizeof(v));
        v.connections = s->vpn.connections;
        v.ikev2 = s->vpn.by_protocol[PF_VPN_IKEV2];
        v.distinct_clients = s->vpn.distinct_clients;
        if (s->vpn.ntop)
            v.top = s->vpn.top[0];
        v.at = s->taken_at;
        fleet_fold_vpn(x, &v);
    }
    for (size_t i = 0; i < s->nprocesses; i++) {
        const struct pf_process *sp = &s->processes[i];
        double held = (double)(sp->tcp_ports + sp->udp_ports);
        struct fleet_proc *p;
        if (held < FLEET_PROC_MIN_HELD)
            continue;
        p = fleet_proc_get(f, x, sp->name, sp->service);
        if (!p)
            continue; /* FLEET_PROCS_MAX reached: the rest stay untracked */
        fleet_fold_proc(p, (size_t)h, held, held, (double)sp->states[PF_TCP_BOUND]);
        if (sp->has_top_remote && fold_remote_newer(p->has_remote ? p->remote_at : -1, s->taken_at)) {
            p->has_remote = true;
            p->remote = sp->top_remote;
            p->remote_at = s->taken_at;
        }
    }
    return PF_OK;
}

int64_t fleet_hour_time(const struct fleet *f, const struct fleet_host *x, size_t h)
{
    int64_t end = f->start + (int64_t)(h + 1) * FLEET_HOUR;

    return x->last_seen && x->last_seen < end ? x->last_seen : end;
}

bool fleet_host_in_site(const struct fleet_host *x, const char *tenant, const char *site)
{
    return strcmp(x->site, site) == 0 && strcmp(x->tenant, tenant) == 0;
}

bool fleet_host_has_role(const struct fleet_host *x, const char *word)
{
    for (size_t i = 0; i < x->nroles; i++)
        if (strstr(x->roles[i], word))
            return true;
    return false;
}

bool fleet_host_is_windows(const struct fleet_host *x)
{
    return strcmp(x->os, "windows") == 0;
}
