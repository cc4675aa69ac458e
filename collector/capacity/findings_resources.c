/* SPDX-License-Identifier: MIT */
/* findings_resources.c: the findings of the resources besides ports
 * (resource_pressure, vpn_ports, address_pool, sessions_per_host) and
 * add_hosts where one of them binds; the rules and their sources are in
 * resources.h. Part of the findings (findings.h). */
#include "findings.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "array.h"
#include "compat.h"
#include "resources.h"
#include "stats.h"

static const char *const proto_device[PF_VPN_NPROTO] = {
    "WAN Miniport (IKEv2)", "WAN Miniport (SSTP)", "WAN Miniport (L2TP)", "WAN Miniport (PPTP)"};

static enum finding_severity severity(double util, double warn, double crit)
{
    return util > crit ? SEVERITY_CRITICAL : util > warn ? SEVERITY_WARNING : SEVERITY_INFO;
}

/* "add a connector to the group" in the words of the host's role. */
static void add_capacity_remedy(struct finding *fi, const struct fleet_host *x)
{
    if (fleet_host_has_role(x, "entra"))
        finding_remedy(
            fi,
            "Add a connector to the connector group of %s: install the private network "
            "connector on another server (>= 4 cores, >= 8 GB RAM) and assign it to the same "
            "group (Microsoft: at least 2 connectors per group, 3 for high availability)",
            x->name);
    else if (fleet_host_has_role(x, "cloudflared"))
        finding_remedy(
            fi, "Add a cloudflared replica: run the same tunnel (cloudflared tunnel run <tunnel>) "
                "on another host (>= 4 cores, >= 4 GB RAM); Cloudflare spreads requests over the "
                "replicas, or split the tunnel by CIDR");
    else if (x->has_vpn || fleet_host_has_role(x, "rras"))
        finding_remedy(fi, "Add an RRAS VPN server behind the load balancer to take part of the "
                           "clients");
    else
        finding_remedy(fi, "Add a host to site %s to share the load", x->site);
}

static enum pf_rc pressure(struct findings *fs, const struct fleet *f,
                           const struct fleet_params *p, const struct fleet_host *x)
{
    double cpu, mem, ceil_pct = p->target_utilization * 100;
    struct finding *fi;
    enum pf_rc rc;

    if ((rc = resources_peak(f, x->sz[SZ_CPU], &cpu)))
        return rc;
    if (stats_present(cpu) && cpu > ceil_pct) {
        fi = findings_append(fs, FINDING_RESOURCE_PRESSURE,
                             severity(cpu / 100, p->target_utilization, RES_CRITICAL), x->tenant,
                             x->site, x);
        if (!fi)
            return PF_NOMEM;
        snprintf(fi->resource, sizeof(fi->resource), "cpu");
        fi->has_utilization = true;
        fi->utilization = cpu / 100;
        finding_summary(
            fi,
            "%s: CPU peaks at %.0f%% (p99 of the hourly peaks of its %u cores); Microsoft "
            "keeps a connector under %.0f%% at peak",
            x->name, cpu, (unsigned)x->cpus, ceil_pct);
        add_capacity_remedy(fi, x);
        finding_remedy(fi, "Or give %s more cores (it has %u)", x->name, (unsigned)x->cpus);
    }
    if ((rc = resources_peak(f, x->sz[SZ_MEM], &mem)))
        return rc;
    if (stats_present(mem) && x->memory_mb && mem > p->target_utilization * (double)x->memory_mb) {
        double util = mem / (double)x->memory_mb;
        fi = findings_append(fs, FINDING_RESOURCE_PRESSURE,
                             severity(util, p->target_utilization, RES_CRITICAL), x->tenant,
                             x->site, x);
        if (!fi)
            return PF_NOMEM;
        snprintf(fi->resource, sizeof(fi->resource), "memory");
        fi->has_utilization = true;
        fi->utilization = util;
        finding_summary(fi,
                        "%s: memory in use peaks at %.0f MB of %llu MB (%.0f%%); Microsoft keeps a "
                        "connector under %.0f%% at peak",
                        x->name, mem, (unsigned long long)x->memory_mb, util * 100, ceil_pct);
        add_capacity_remedy(fi, x);
        finding_remedy(fi, "Or give %s more memory (it has %llu MB)", x->name,
                       (unsigned long long)x->memory_mb);
    }
    return PF_OK;
}

static enum pf_rc vpn_ports(struct findings *fs, const struct fleet *f,
                            const struct fleet_params *p, const struct fleet_host *x)
{
    for (int k = 0; k < PF_VPN_NPROTO; k++) {
        double used, conf = resources_latest(f, x->sz[SZ_CONF_IKEV2 + k]), util;
        unsigned need;
        struct finding *fi;
        enum pf_rc rc = resources_peak(f, x->sz[SZ_PORTS_IKEV2 + k], &used);

        if (rc)
            return rc;
        if (!stats_present(used) || !stats_present(conf) || conf <= 0)
            continue;
        util = used / conf;
        if (util <= p->target_utilization)
            continue;
        fi = findings_append(fs, FINDING_VPN_PORTS,
                             severity(util, p->target_utilization, RES_CRITICAL), x->tenant,
                             x->site, x);
        if (!fi)
            return PF_NOMEM;
        snprintf(fi->protocol, sizeof(fi->protocol), "%s", pf_vpn_proto_name(k));
        fi->has_utilization = true;
        fi->utilization = util;
        /* Enough that the peak sits at the ceiling, in blocks of 64; a
         * peak at the configured number hides the real demand (clients
         * were refused), so then at least twice as many. */
        need = (unsigned)ceil(used / p->target_utilization / 64) * 64;
        if (used >= conf && need < 2 * (unsigned)conf)
            need = 2 * (unsigned)conf;
        if (need <= (unsigned)conf)
            need = (unsigned)conf + 64;
        finding_summary(fi,
                        "%s: %s ports in use peak at %.0f of the %.0f configured (%.0f%%); new %s "
                        "clients are refused when they run out, before ephemeral ports do",
                        x->name, resources_proto_label(k), used, conf, util * 100,
                        resources_proto_label(k));
        finding_remedy(
            fi,
            "netsh ras set wanports device = \"%s\" rasinout = enabled ddinout = disabled "
            "maxports = %u",
            proto_device[k], need);
        finding_remedy(fi,
                       "Restart-Service RemoteAccess (in a maintenance window: connected clients "
                       "are dropped)");
        finding_remedy(fi, "Or add an RRAS VPN server behind the load balancer");
    }
    return PF_OK;
}

static enum pf_rc address_pool(struct findings *fs, const struct fleet *f,
                               const struct fleet_params *p, const struct fleet_host *x)
{
    double used, size = resources_latest(f, x->sz[SZ_POOL_SIZE]), util;
    unsigned more;
    struct finding *fi;
    enum pf_rc rc = resources_peak(f, x->sz[SZ_POOL_USED], &used);

    if (rc)
        return rc;
    if (!stats_present(used) || !stats_present(size) || size <= 0)
        return PF_OK;
    util = used / size;
    if (util <= p->target_utilization)
        return PF_OK;
    fi =
        findings_append(fs, FINDING_ADDRESS_POOL,
                        severity(util, p->target_utilization, RES_CRITICAL), x->tenant, x->site, x);
    if (!fi)
        return PF_NOMEM;
    fi->has_utilization = true;
    fi->utilization = util;
    more = (unsigned)ceil(used / p->target_utilization - size);
    if (more < 10)
        more = 10;
    finding_summary(
        fi,
        "%s: the VPN client address pool is %.0f%% used at peak (%.0f of %.0f addresses); "
        "a client that gets no address cannot connect",
        x->name, util * 100, used, size);
    finding_remedy(
        fi,
        "Widen the pool by at least %u addresses: netsh ras ip add range from=<first free "
        "address> to=<last> (a block routed to this server)",
        more);
    finding_remedy(fi, "Or let RRAS take client addresses from DHCP: netsh ras ip set addrassign "
                       "method = auto");
    return PF_OK;
}

static enum pf_rc sessions_per_host(struct findings *fs, const struct fleet *f,
                                    const struct fleet_params *p, const struct fleet_host *x)
{
    double users, rps;
    struct finding *fi;
    enum pf_rc rc;

    if ((rc = resources_peak(f, x->sz[SZ_USERS], &users)))
        return rc;
    if (stats_present(users) && users > RES_CF_USERS_PER_HOST) {
        fi = findings_append(fs, FINDING_SESSIONS_PER_HOST,
                             users > RES_CF_USERS_CRITICAL ? SEVERITY_CRITICAL : SEVERITY_WARNING,
                             x->tenant, x->site, x);
        if (!fi)
            return PF_NOMEM;
        fi->has_utilization = true;
        fi->utilization = users / RES_CF_USERS_PER_HOST;
        finding_summary(
            fi,
            "%s carries %.0f users at peak; Cloudflare sizes one cloudflared host for about "
            "%d",
            x->name, users, RES_CF_USERS_PER_HOST);
        add_capacity_remedy(fi, x);
    }
    if ((rc = resources_peak(f, x->sz[SZ_RPS], &rps)))
        return rc;
    if (stats_present(rps) && rps > p->target_utilization * resources_entra_rps(x->cpus)) {
        double top = resources_entra_rps(x->cpus);
        fi = findings_append(fs, FINDING_SESSIONS_PER_HOST,
                             rps > top ? SEVERITY_CRITICAL : SEVERITY_WARNING, x->tenant, x->site,
                             x);
        if (!fi)
            return PF_NOMEM;
        fi->has_utilization = true;
        fi->utilization = rps / top;
        finding_summary(
            fi,
            "%s serves %.0f requests/s at peak; Microsoft measured about %.0f for a connector "
            "of %u cores, and keeps it under %.0f%% at peak",
            x->name, rps, top, (unsigned)x->cpus, p->target_utilization * 100);
        add_capacity_remedy(fi, x);
    }
    return PF_OK;
}

enum pf_rc findings_resources_host(struct findings *fs, const struct fleet *f,
                              const struct fleet_params *p, const struct fleet_host *x)
{
    enum pf_rc rc;

    if (plan_host_silent(x, p))
        return PF_OK; /* host_silent says what matters first */
    if ((rc = pressure(fs, f, p, x)) || (rc = vpn_ports(fs, f, p, x)) ||
        (rc = address_pool(fs, f, p, x)))
        return rc;
    return sessions_per_host(fs, f, p, x);
}

enum pf_rc findings_resources_add_hosts(struct findings *fs, const struct fleet *f,
                               const struct plan_site *s, const char *hosts_word)
{
    const struct plan_need *n = &s->needs[s->binding];
    struct finding *fi;

    (void)f;
    fi = findings_append(fs, FINDING_ADD_HOSTS,
                         n->p99 > n->per_host / s->target_utilization * (double)s->hosts
                             ? SEVERITY_CRITICAL
                             : SEVERITY_WARNING,
                         s->tenant, s->site, NULL);
    if (!fi)
        return PF_NOMEM;
    snprintf(fi->resource, sizeof(fi->resource), "%s", plan_binding_name(s->binding));
    fi->has_utilization = true;
    fi->utilization = n->per_host > 0 && s->hosts
                          ? n->p99 / (n->per_host / s->target_utilization * (double)s->hosts)
                          : 0;
    finding_summary(
        fi,
        "site %s needs %zu hosts, has %zu: %s binds, not ports: demand %.0f %s (p99 of the "
        "site's hourly sum %.0f, growing %.1f a day over %.0f days); one host carries %.0f, "
        "plus one spare (ports alone would need %zu)",
        s->site, s->recommended_hosts, s->hosts, plan_binding_name(s->binding), n->demand, n->unit,
        n->p99, n->growth_per_day, s->horizon_days, n->per_host, s->needs[PLAN_BIND_PORTS].hosts);
    finding_remedy(fi, "Add %zu %s to site %s", s->add_hosts, hosts_word, s->site);
    if (s->binding == PLAN_BIND_VPN_PORTS)
        finding_remedy(fi,
                       "Or raise the WAN miniport ports first (free): see the vpn_ports findings");
    if (s->binding == PLAN_BIND_ADDRESS_POOL)
        finding_remedy(fi,
                       "Or widen the address pools first (free): see the address_pool findings");
    return PF_OK;
}
