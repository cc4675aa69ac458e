/* SPDX-License-Identifier: MIT */
/* plan.c: per-site demand, capacity and recommended hosts (the model is
 * in plan.h). */
#include "plan.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "demand.h"
#include "stats.h"

/* Vendor ranges (plan.h). */
#define WIN_START 10000
#define WIN_NUM 55535
#define CLOUDFLARED_START 11000
#define CLOUDFLARED_NUM 50000
#define LINUX_START 11000
#define LINUX_NUM 50000 /* 11000..60999 */

static uint32_t excluded_inside(const struct fleet_host *x, uint32_t start, uint32_t num)
{
    unsigned char seen[65536 / 8];
    uint32_t n = 0, end = start + num;

    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < x->nexcluded; i++) {
        const struct pf_range *e = &x->excluded[i];
        for (uint32_t p = e->start; p < (uint32_t)e->start + e->count && p < 65536; p++) {
            if (p < start || p >= end || (seen[p / 8] & (1u << (p % 8))))
                continue;
            seen[p / 8] |= (unsigned char)(1u << (p % 8));
            n++;
        }
    }
    return n;
}

void plan_widen_host(const struct fleet_host *x, struct plan_widen *w)
{
    memset(w, 0, sizeof(*w));
    if (fleet_host_is_windows(x)) {
        bool cf = fleet_host_has_role(x, "cloudflared");
        w->start = cf ? CLOUDFLARED_START : WIN_START;
        w->num = cf ? CLOUDFLARED_NUM : WIN_NUM;
    } else {
        w->start = LINUX_START;
        w->num = LINUX_NUM;
    }
    w->needed = !x->has_tcp_range || x->tcp_range.count < w->num;
    if (!w->needed) {
        w->usable = x->tcp_usable;
        return;
    }
    w->usable = w->num - excluded_inside(x, w->start, w->num);
    if (fleet_host_is_windows(x)) {
        static const char *const fam[] = {"ipv4", "ipv6"};
        static const char *const proto[] = {"tcp", "udp"};
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 2; j++)
                snprintf(w->commands[w->ncommands++], PLAN_TEXT_LEN,
                         "netsh int %s set dynamicport %s start=%u num=%u", fam[i], proto[j],
                         (unsigned)w->start, (unsigned)w->num);
    } else {
        unsigned last = (unsigned)(w->start + w->num - 1);
        snprintf(w->commands[w->ncommands++], PLAN_TEXT_LEN,
                 "sysctl -w net.ipv4.ip_local_port_range=\"%u %u\"", (unsigned)w->start, last);
        snprintf(w->commands[w->ncommands++], PLAN_TEXT_LEN,
                 "echo 'net.ipv4.ip_local_port_range = %u %u' > "
                 "/etc/sysctl.d/90-portfleet-port-range.conf",
                 (unsigned)w->start, last);
    }
}

bool plan_host_silent(const struct fleet_host *x, const struct fleet_params *p)
{
    int64_t interval = x->interval_s ? x->interval_s : 60;

    return x->last_seen == 0 || p->now - x->last_seen > (int64_t)p->silent_intervals * interval;
}

const struct plan_site *plan_find(const struct plan *pl, const char *tenant, const char *site)
{
    for (size_t i = 0; i < pl->nsites; i++)
        if (strcmp(pl->sites[i].site, site) == 0 && strcmp(pl->sites[i].tenant, tenant) == 0)
            return &pl->sites[i];
    return NULL;
}

void plan_free(struct plan *pl)
{
    if (!pl)
        return;
    for (size_t i = 0; i < pl->nsites; i++)
        free(pl->sites[i].changes);
    free(pl->sites);
    free(pl);
}

static int cmp_site(const void *a, const void *b)
{
    const struct plan_site *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);

    return c ? c : strcmp(x->site, y->site);
}

static void note(struct plan_site *s, const char *fmt, ...) PF_PRINTF(2, 3);
static void note(struct plan_site *s, const char *fmt, ...)
{
    va_list ap;

    if (s->nnotes >= PLAN_NOTES_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(s->notes[s->nnotes++], PLAN_TEXT_LEN, fmt, ap);
    va_end(ap);
}

/* Vendor minimums that the snapshot's cpus and memory_mb can check. */
static void vendor_notes(struct plan_site *s, const struct fleet_host *x)
{
    if (fleet_host_has_role(x, "cloudflared") && (x->cpus < 4 || x->memory_mb < 4096))
        note(s,
             "%s: %u cores, %llu MB: Cloudflare sizes a cloudflared host at >= 4 cores and "
             ">= 4 GB RAM (about 4,000 users per host)",
             x->name, (unsigned)x->cpus, (unsigned long long)x->memory_mb);
    if (fleet_host_has_role(x, "entra") && (x->cpus < 4 || x->memory_mb < 8192))
        note(s,
             "%s: %u cores, %llu MB: Microsoft asks >= 4 cores and >= 8 GB RAM for a private "
             "network connector, peak CPU and memory under 70%%",
             x->name, (unsigned)x->cpus, (unsigned long long)x->memory_mb);
}

/* Adds host x's hourly demand to sum: TCP ports in use without what
 * leaking processes hold (demand_host), or UDP ports in use. */
static enum pf_rc add_demand(const struct fleet *f, const struct fleet_host *x,
                             const struct fleet_params *p, bool udp, double *sum)
{
    double *v = malloc(f->nhours * sizeof(*v));
    enum pf_rc rc = PF_OK;

    if (!v)
        return PF_NOMEM;
    if (udp)
        memcpy(v, x->udp, f->nhours * sizeof(*v));
    else
        rc = demand_host(f, x, p, v, NULL);
    for (size_t h = 0; !rc && h < f->nhours; h++)
        if (stats_present(v[h]))
            sum[h] = (stats_present(sum[h]) ? sum[h] : 0) + v[h];
    free(v);
    return rc;
}

/* Demand over the horizon from the site's growth fit, and the note that
 * says which fit it is. */
static void site_growth(struct plan_site *s)
{
    const struct stats_growth *g = &s->growth;
    const char *proto = s->binding_protocol;

    s->growth_per_day = g->per_day;
    s->demand = stats_growth_project(g, s->p99, s->horizon_days);
    if (g->fit == STATS_GROWTH_COMPOUND)
        note(s,
             "growth (%s): compound, %.1f%% a day (%.0f ports a day now), fitted to %zu daily "
             "peaks%s: the nights grow by the same share as the peaks; demand in %.0f days = "
             "p99 %.0f x %.2f = %.0f",
             proto, g->rate * 100, g->per_day, g->days,
             g->quiet_days ? " (quiet days left out)" : "", s->horizon_days, s->p99,
             pow(1 + g->rate, s->horizon_days), s->demand);
    else if (g->fit == STATS_GROWTH_LINEAR)
        note(s,
             "growth (%s): linear, %.0f ports a day (%.1f%% of the peak), fitted to %zu daily "
             "peaks%s; demand in %.0f days = p99 %.0f + %.0f x %.0f = %.0f",
             proto, g->per_day, g->rate * 100, g->days,
             g->quiet_days ? " (quiet days left out)" : "", s->horizon_days, s->p99, g->per_day,
             s->horizon_days, s->demand);
}

/* One protocol's side of a site: its hourly sum's figures, growth and
 * how many hosts it needs now and with the vendor ranges. */
struct plan_side {
    double peak, p95, p99, demand;
    struct stats_growth growth;
    uint32_t usable_now, usable_wide; /* smallest host's */
    double cap_now, cap_wide;
    size_t rec;         /* hosts it needs */
    bool widen;         /* ... after widening the ranges */
    double capacity;    /* per host used for rec */
};

static size_t hosts_for(double demand, double cap)
{
    size_t n = cap > 0 ? (size_t)ceil(demand / cap) + 1 : PLAN_MIN_HOSTS;

    return n < PLAN_MIN_HOSTS ? PLAN_MIN_HOSTS : n;
}

static enum pf_rc site_side(const struct fleet *f, const struct fleet_params *p,
                            const struct plan_site *s, size_t nhosts, bool udp,
                            struct plan_side *o)
{
    enum pf_rc rc = PF_OK;
    double *sum = malloc(f->nhours * sizeof(*sum));
    uint32_t min_now = UINT32_MAX, min_wide = UINT32_MAX;
    size_t rec_now;

    memset(o, 0, sizeof(*o));
    if (!sum)
        return PF_NOMEM;
    for (size_t h = 0; h < f->nhours; h++)
        sum[h] = NAN;
    for (size_t i = 0; i < f->nhosts && !rc; i++) {
        const struct fleet_host *x = &f->hosts[i];
        struct plan_widen w;
        uint32_t now = udp ? x->udp_usable : x->tcp_usable, wide;
        if (!fleet_host_in_site(x, s->tenant, s->site))
            continue;
        rc = add_demand(f, x, p, udp, sum);
        plan_widen_host(x, &w);
        /* The vendor range is set for both protocols (netsh tcp and udp;
         * one Linux range), minus the same excluded blocks. */
        wide = w.needed ? w.usable : now;
        if (now && now < min_now)
            min_now = now;
        if (wide && wide < min_wide)
            min_wide = wide;
    }
    o->peak = stats_max(sum, f->nhours);
    if (!rc)
        rc = stats_percentile(sum, f->nhours, 95, &o->p95);
    if (!rc)
        rc = stats_percentile(sum, f->nhours, 99, &o->p99);
    if (!rc)
        rc = stats_growth(sum, f->nhours, &o->growth);
    free(sum);
    if (rc)
        return rc;
    if (!stats_present(o->peak))
        o->peak = o->p95 = o->p99 = 0;
    o->demand = stats_growth_project(&o->growth, o->p99, p->horizon_days);
    o->usable_now = min_now == UINT32_MAX ? 0 : min_now;
    o->usable_wide = min_wide == UINT32_MAX ? o->usable_now : min_wide;
    o->cap_now = p->target_utilization * o->usable_now;
    o->cap_wide = p->target_utilization * o->usable_wide;
    rec_now = hosts_for(o->demand, o->cap_now);
    if (rec_now <= nhosts || o->cap_wide <= o->cap_now) {
        o->capacity = o->cap_now;
        o->rec = rec_now;
    } else {
        o->capacity = o->cap_wide;
        o->rec = hosts_for(o->demand, o->cap_wide);
        o->widen = true;
    }
    return PF_OK;
}

/* Sizes the site by the protocol that needs more hosts (TCP and UDP are
 * separate port spaces: a DNS-heavy cloudflared site runs out of UDP
 * ports with TCP to spare). */
static enum pf_rc build_site(const struct fleet *f, const struct fleet_params *p,
                             struct plan_site *s)
{
    enum pf_rc rc;
    struct plan_side tcp, udp;
    const struct plan_side *b;
    size_t n = 0;

    for (size_t i = 0; i < f->nhosts; i++) {
        const struct fleet_host *x = &f->hosts[i];
        if (!fleet_host_in_site(x, s->tenant, s->site))
            continue;
        n++;
        s->reporting_hosts += !plan_host_silent(x, p);
        vendor_notes(s, x);
    }
    s->hosts = n;
    s->target_utilization = p->target_utilization;
    s->horizon_days = p->horizon_days;
    rc = site_side(f, p, s, n, false, &tcp);
    if (!rc)
        rc = site_side(f, p, s, n, true, &udp);
    if (rc)
        return rc;
    b = udp.rec > tcp.rec || (udp.rec == tcp.rec && udp.widen && !tcp.widen) ? &udp : &tcp;
    s->binding_protocol = b == &udp ? "udp" : "tcp";
    s->proto_p99[0] = tcp.p99;
    s->proto_p99[1] = udp.p99;
    s->proto_demand[0] = tcp.demand;
    s->proto_demand[1] = udp.demand;
    s->peak = b->peak;
    s->p95 = b->p95;
    s->p99 = b->p99;
    s->growth = b->growth;
    site_growth(s);
    s->usable_per_host = b->usable_now;
    s->usable_per_host_widened = b->usable_wide;
    s->capacity_per_host = b->capacity;
    s->recommended_hosts = b->rec;
    if (b == &udp)
        note(s,
             "sized by UDP: %.0f UDP ports at the site's p99 (demand %.0f) against %.0f TCP "
             "(demand %.0f); TCP and UDP are separate port spaces",
             udp.p99, udp.demand, tcp.p99, tcp.demand);
    if (tcp.widen || udp.widen) {
        /* Widen every host of the site that is below the vendor range. */
        s->changes = calloc(n ? n : 1, sizeof(*s->changes));
        if (!s->changes)
            return PF_NOMEM;
        for (size_t i = 0; i < f->nhosts; i++) {
            const struct fleet_host *x = &f->hosts[i];
            struct plan_range_change *c = &s->changes[s->nchanges];
            if (!fleet_host_in_site(x, s->tenant, s->site))
                continue;
            plan_widen_host(x, &c->widen);
            if (!c->widen.needed)
                continue;
            snprintf(c->host, sizeof(c->host), "%s", x->name);
            snprintf(c->agent_id, sizeof(c->agent_id), "%s", x->agent_id);
            s->nchanges++;
        }
    }
    rc = plan_resources_site(f, p, s);
    if (rc)
        return rc;
    s->add_hosts = s->recommended_hosts > s->hosts ? s->recommended_hosts - s->hosts : 0;
    /* Today's peak alone, without growth and without the spare host. */
    s->overloaded_now = (tcp.cap_wide > 0 && tcp.p99 > tcp.cap_wide * (double)s->hosts) ||
                        (udp.cap_wide > 0 && udp.p99 > udp.cap_wide * (double)s->hosts);
    return PF_OK;
}

enum pf_rc plan_build(const struct fleet *f, const struct fleet_params *p, struct plan **out)
{
    struct plan *pl;
    enum pf_rc rc = PF_OK;

    *out = NULL;
    pl = calloc(1, sizeof(*pl));
    if (!pl)
        return PF_NOMEM;
    pl->sites = calloc(f->nhosts ? f->nhosts : 1, sizeof(*pl->sites));
    if (!pl->sites) {
        free(pl);
        return PF_NOMEM;
    }
    for (size_t i = 0; i < f->nhosts; i++) {
        bool seen = false;
        for (size_t j = 0; j < pl->nsites && !seen; j++)
            seen = fleet_host_in_site(&f->hosts[i], pl->sites[j].tenant, pl->sites[j].site);
        if (!seen) {
            struct plan_site *s = &pl->sites[pl->nsites++];
            snprintf(s->tenant, sizeof(s->tenant), "%s", f->hosts[i].tenant);
            snprintf(s->site, sizeof(s->site), "%s", f->hosts[i].site);
        }
    }
    qsort(pl->sites, pl->nsites, sizeof(*pl->sites), cmp_site);
    for (size_t j = 0; j < pl->nsites && !rc; j++)
        rc = build_site(f, p, &pl->sites[j]);
    if (rc) {
        plan_free(pl);
        return rc;
    }
    *out = pl;
    return PF_OK;
}
