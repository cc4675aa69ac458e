/* SPDX-License-Identifier: MIT */
/* plan_resources.c: the hosts each resource besides ports needs, and
 * which binds a site (plan.h; the rules and their sources are in
 * resources.h). Part of the plan. */
#include "plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resources.h"
#include "stats.h"

static const char *const binding_names[PLAN_NBIND] = {"ports",    "cpu",       "memory",
                                                      "sessions", "vpn_ports", "address_pool"};

const char *plan_binding_name(int b)
{
    return b >= 0 && b < PLAN_NBIND ? binding_names[b] : "?";
}

/* One host's contribution to a resource's site sum at hour h (NaN:
 * none): the series value times scale. */
typedef double (*load_fn)(const struct fleet *f, const struct fleet_host *x, size_t h, int k);

static double cpu_cores(const struct fleet *f, const struct fleet_host *x, size_t h, int k)
{
    (void)f;
    (void)k;
    return x->sz[SZ_CPU] ? x->sz[SZ_CPU][h] / 100 * (x->cpus ? x->cpus : 1) : NAN;
}

static double plain(const struct fleet *f, const struct fleet_host *x, size_t h, int k)
{
    (void)f;
    return x->sz[k] ? x->sz[k][h] : NAN;
}

/* Sizes one resource of site s: demand from the hourly sum of load(k)
 * over the site's hosts, per_host given. */
static enum pf_rc need(const struct fleet *f, const struct fleet_params *p,
                       const struct plan_site *s, load_fn load, int k, double per_host,
                       const char *unit, struct plan_need *out)
{
    double *sum = malloc(f->nhours * sizeof(*sum));
    struct stats_trend tr;
    enum pf_rc rc;

    memset(out, 0, sizeof(*out));
    if (!sum)
        return PF_NOMEM;
    for (size_t h = 0; h < f->nhours; h++)
        sum[h] = NAN;
    for (size_t i = 0; i < f->nhosts; i++) {
        const struct fleet_host *x = &f->hosts[i];
        if (!fleet_host_in_site(x, s->tenant, s->site) || !x->sz[k])
            continue;
        out->measured = true;
        for (size_t h = 0; h < f->nhours; h++) {
            double v = load(f, x, h, k);
            if (stats_present(v))
                sum[h] = (stats_present(sum[h]) ? sum[h] : 0) + v;
        }
    }
    if (!out->measured || per_host <= 0) {
        free(sum);
        out->measured = false;
        return PF_OK;
    }
    rc = stats_percentile(sum, f->nhours, 99, &out->p99);
    if (!rc)
        rc = stats_trend(sum, f->nhours, STATS_DAY, &tr);
    free(sum);
    if (rc)
        return rc;
    if (!stats_present(out->p99))
        out->p99 = 0;
    out->growth_per_day = tr.rate * 24;
    out->demand = out->p99 + out->growth_per_day * p->horizon_days;
    out->per_host = per_host;
    out->hosts = (size_t)ceil(out->demand / per_host) + 1;
    if (out->hosts < PLAN_MIN_HOSTS)
        out->hosts = PLAN_MIN_HOSTS;
    snprintf(out->unit, sizeof(out->unit), "%s", unit);
    return PF_OK;
}

/* The smallest value of a per-host figure among the site's hosts that
 * report series k (0 when none). */
static double site_min(const struct fleet *f, const struct plan_site *s, int k,
                       double (*figure)(const struct fleet *, const struct fleet_host *, int))
{
    double m = 0;

    for (size_t i = 0; i < f->nhosts; i++) {
        const struct fleet_host *x = &f->hosts[i];
        double v;
        if (!fleet_host_in_site(x, s->tenant, s->site) || !x->sz[k])
            continue;
        v = figure(f, x, k);
        if (stats_present(v) && v > 0 && (m == 0 || v < m))
            m = v;
    }
    return m;
}

static double fig_cores(const struct fleet *f, const struct fleet_host *x, int k)
{
    (void)k;
    (void)f;
    return x->cpus ? x->cpus : 1;
}

static double fig_memory(const struct fleet *f, const struct fleet_host *x, int k)
{
    (void)k;
    (void)f;
    return (double)x->memory_mb;
}

static double fig_entra(const struct fleet *f, const struct fleet_host *x, int k)
{
    (void)k;
    (void)f;
    return resources_entra_rps(x->cpus);
}

/* k: the in-use series of a protocol; its configured series follows. */
static double fig_conf(const struct fleet *f, const struct fleet_host *x, int k)
{
    return resources_latest(f, x->sz[SZ_CONF_IKEV2 + (k - SZ_PORTS_IKEV2)]);
}

static double fig_pool(const struct fleet *f, const struct fleet_host *x, int k)
{
    (void)k;
    return resources_latest(f, x->sz[SZ_POOL_SIZE]);
}

enum pf_rc plan_resources_site(const struct fleet *f, const struct fleet_params *p,
                               struct plan_site *s)
{
    const double t = p->target_utilization;
    struct plan_need *n = s->needs;
    enum pf_rc rc;

    n[PLAN_BIND_PORTS].measured = true;
    n[PLAN_BIND_PORTS].p99 = s->p99;
    n[PLAN_BIND_PORTS].growth_per_day = s->growth_per_day;
    n[PLAN_BIND_PORTS].demand = s->demand;
    n[PLAN_BIND_PORTS].per_host = s->capacity_per_host;
    n[PLAN_BIND_PORTS].hosts = s->recommended_hosts;
    snprintf(n[PLAN_BIND_PORTS].unit, sizeof(n[0].unit), "ports");
    s->binding = PLAN_BIND_PORTS;

    if ((rc = need(f, p, s, cpu_cores, SZ_CPU, t * site_min(f, s, SZ_CPU, fig_cores), "cores",
                   &n[PLAN_BIND_CPU])) ||
        (rc = need(f, p, s, plain, SZ_MEM, t * site_min(f, s, SZ_MEM, fig_memory), "MB",
                   &n[PLAN_BIND_MEMORY])))
        return rc;
    /* Sessions: users where cloudflared reports them, else requests/s. */
    if ((rc = need(f, p, s, plain, SZ_USERS, RES_CF_USERS_PER_HOST, "users",
                   &n[PLAN_BIND_SESSIONS])))
        return rc;
    if (!n[PLAN_BIND_SESSIONS].measured &&
        (rc = need(f, p, s, plain, SZ_RPS, t * site_min(f, s, SZ_RPS, fig_entra), "requests/s",
                   &n[PLAN_BIND_SESSIONS])))
        return rc;
    /* VPN ports: the protocol that needs the most hosts. */
    for (int k = 0; k < PF_VPN_NPROTO; k++) {
        struct plan_need one;
        char unit[32];
        snprintf(unit, sizeof(unit), "%s ports", resources_proto_label(k));
        if ((rc = need(f, p, s, plain, SZ_PORTS_IKEV2 + k,
                       t * site_min(f, s, SZ_PORTS_IKEV2 + k, fig_conf), unit, &one)))
            return rc;
        if (one.measured && (!n[PLAN_BIND_VPN_PORTS].measured ||
                             one.hosts > n[PLAN_BIND_VPN_PORTS].hosts))
            n[PLAN_BIND_VPN_PORTS] = one;
    }
    if ((rc = need(f, p, s, plain, SZ_POOL_USED, t * site_min(f, s, SZ_POOL_USED, fig_pool),
                   "pool addresses", &n[PLAN_BIND_ADDRESS_POOL])))
        return rc;
    for (int b = PLAN_BIND_PORTS + 1; b < PLAN_NBIND; b++)
        if (n[b].measured && n[b].hosts > s->recommended_hosts) {
            s->recommended_hosts = n[b].hosts;
            s->binding = (enum plan_binding)b;
        }
    return PF_OK;
}
