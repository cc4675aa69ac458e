/* SPDX-License-Identifier: MIT */
/* report_metrics.c: GET /metrics, Prometheus text exposition 0.0.4. Per
 * host gauges carry site, host and agent_id labels; findings are counted
 * by kind and severity (every pair, zeros too, so alerts can use them).
 * Sizing gauges (CPU, memory, sessions, RRAS ports and pool) appear only
 * for hosts that report the figure: an unmeasured value is no zero. */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "resources.h"
#include "stats.h"

/* Appends v as a label value: backslash, double quote and newline
 * escaped, as the exposition format says. */
static enum pf_rc label(struct pf_buf *out, const char *v)
{
    enum pf_rc rc = PF_OK;

    for (const char *p = v; !rc && *p; p++) {
        if (*p == '\\')
            rc = pf_buf_puts(out, "\\\\");
        else if (*p == '"')
            rc = pf_buf_puts(out, "\\\"");
        else if (*p == '\n')
            rc = pf_buf_puts(out, "\\n");
        else
            rc = pf_buf_append(out, p, 1);
    }
    return rc;
}

static enum pf_rc head(struct pf_buf *out, const char *name, const char *help, const char *type)
{
    return pf_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static enum pf_rc host_sample(struct pf_buf *out, const char *name, const struct fleet_host *x,
                              double v)
{
    enum pf_rc rc = pf_buf_printf(out, "%s{tenant=\"", name);

    if (!rc)
        rc = label(out, x->tenant);
    if (!rc)
        rc = pf_buf_puts(out, "\",site=\"");
    if (!rc)
        rc = label(out, x->site);
    if (!rc)
        rc = pf_buf_puts(out, "\",host=\"");
    if (!rc)
        rc = label(out, x->name);
    if (!rc)
        rc = pf_buf_puts(out, "\",agent_id=\"");
    if (!rc)
        rc = label(out, x->agent_id);
    if (!rc)
        rc = pf_buf_printf(out, "\"} %.6g\n", v);
    return rc;
}

enum host_gauge {
    G_UTIL,
    G_PEAK_UTIL,
    G_IN_USE,
    G_RANGE,
    G_USABLE,
    G_EXHAUST,
    G_LAST,
    G_CPU,
    G_MEM,
    G_SESSIONS,
    G_USERS,
    G_RPS,
    G_VPN_PORTS,
    G_POOL,
    G_N
};

static const struct {
    const char *name, *help;
} gauges[G_N] = {
    {"portfleet_host_utilization", "Ports in use / usable ports at the host's latest snapshot"},
    {"portfleet_host_peak_utilization",
     "Peak (p99 of hourly maxima) / usable ports over the window, worst protocol"},
    {"portfleet_host_ports_in_use", "Ephemeral TCP ports in use at the latest snapshot"},
    {"portfleet_host_range_size", "Size of the dynamic TCP/IPv4 port range"},
    {"portfleet_host_usable_ports", "Range minus excluded ports inside it"},
    {"portfleet_host_exhaustion_seconds",
     "Seconds until a steady trend fills the range (only hosts with a forecast)"},
    {"portfleet_host_last_snapshot_timestamp_seconds", "taken_at of the latest snapshot"},
    {"portfleet_host_cpu_peak_percent",
     "CPU peak (p99 of the hourly peaks of short samples), % of all cores"},
    {"portfleet_host_memory_peak_utilization", "Memory in use at peak / the host's memory"},
    {"portfleet_host_sessions_peak", "Connector sessions (TCP + UDP) at peak"},
    {"portfleet_host_users_peak", "Connector users at peak"},
    {"portfleet_host_requests_per_second_peak", "Connector requests/s at peak"},
    {"portfleet_host_vpn_ports_peak_utilization",
     "RRAS WAN miniport ports in use at peak / configured, worst protocol"},
    {"portfleet_host_address_pool_peak_utilization",
     "RRAS client address pool in use at peak / its size"},
};

static bool present(double x, double *v)
{
    *v = x;
    return stats_present(x);
}

static bool gauge_value(const struct capacity *c, const struct res_peaks *pk, size_t i,
                        enum host_gauge g, double *v)
{
    const struct fleet_host *x = &c->fleet->hosts[i];
    const struct host_pressure *hp = &c->pressure[i];

    switch (g) {
    case G_CPU:
        return present(pk->cpu_pct, v);
    case G_MEM:
        return present(pk->mem_util, v);
    case G_SESSIONS:
        return present(pk->sessions, v);
    case G_USERS:
        return present(pk->users, v);
    case G_RPS:
        return present(pk->rps, v);
    case G_VPN_PORTS:
        return present(pk->vpn_ports_util, v);
    case G_POOL:
        return present(pk->pool_util, v);
    case G_UTIL:
        *v = hp->last_utilization;
        return true;
    case G_PEAK_UTIL:
        *v = hp->utilization;
        return true;
    case G_IN_USE:
        *v = (double)x->last_tcp_in_use;
        return true;
    case G_RANGE:
        *v = x->tcp_range.count;
        return x->has_tcp_range;
    case G_USABLE:
        *v = x->tcp_usable;
        return x->has_tcp_range;
    case G_EXHAUST:
        *v = (double)(hp->full_at - c->params.now);
        return hp->has_full;
    case G_LAST:
        *v = (double)x->last_seen;
        return x->last_seen != 0;
    default:
        return false;
    }
}

enum pf_rc report_metrics(const struct capacity *c, const struct report_metric *extra,
                          size_t nextra, struct pf_buf *out)
{
    enum pf_rc rc = PF_OK;
    size_t count[FINDING_NKINDS][3];
    struct res_peaks *pk = calloc(c->fleet->nhosts ? c->fleet->nhosts : 1, sizeof(*pk));

    if (!pk)
        return PF_NOMEM;
    for (size_t i = 0; !rc && i < c->fleet->nhosts; i++)
        rc = resources_host_peaks(c->fleet, &c->fleet->hosts[i], &pk[i]);
    for (int g = 0; !rc && g < G_N; g++) {
        rc = head(out, gauges[g].name, gauges[g].help, "gauge");
        for (size_t i = 0; !rc && i < c->fleet->nhosts; i++) {
            double v;
            if (gauge_value(c, &pk[i], i, (enum host_gauge)g, &v))
                rc = host_sample(out, gauges[g].name, &c->fleet->hosts[i], v);
        }
    }
    free(pk);

    /* Per tenant (in the plan's order, which is by tenant): the same kind
     * in two tenants is two customers' problems. */
    if (!rc)
        rc = head(out, "portfleet_findings", "Current findings by kind and severity", "gauge");
    for (size_t i = 0; !rc && i < c->plan->nsites; i++) {
        const char *t = c->plan->sites[i].tenant;
        if (i > 0 && strcmp(c->plan->sites[i - 1].tenant, t) == 0)
            continue;
        memset(count, 0, sizeof(count));
        for (size_t j = 0; j < c->findings->n; j++)
            if (strcmp(c->findings->v[j].tenant, t) == 0)
                count[c->findings->v[j].kind][c->findings->v[j].severity]++;
        for (int k = 0; !rc && k < FINDING_NKINDS; k++)
            for (int sv = 0; !rc && sv < 3; sv++) {
                rc = pf_buf_puts(out, "portfleet_findings{tenant=\"");
                if (!rc)
                    rc = label(out, t);
                if (!rc)
                    rc = pf_buf_printf(out, "\",kind=\"%s\",severity=\"%s\"} %zu\n",
                                       finding_kind_name((enum finding_kind)k),
                                       finding_severity_name((enum finding_severity)sv),
                                       count[k][sv]);
            }
    }

    if (!rc)
        rc = head(out, "portfleet_site_hosts", "Hosts known in the site", "gauge");
    for (size_t i = 0; !rc && i < c->plan->nsites; i++) {
        rc = pf_buf_puts(out, "portfleet_site_hosts{tenant=\"");
        if (!rc)
            rc = label(out, c->plan->sites[i].tenant);
        if (!rc)
            rc = pf_buf_puts(out, "\",site=\"");
        if (!rc)
            rc = label(out, c->plan->sites[i].site);
        if (!rc)
            rc = pf_buf_printf(out, "\"} %zu\n", c->plan->sites[i].hosts);
    }
    if (!rc)
        rc = head(out, "portfleet_site_recommended_hosts",
                  "Hosts the site plan recommends (demand / capacity + 1, at least 2)", "gauge");
    for (size_t i = 0; !rc && i < c->plan->nsites; i++) {
        rc = pf_buf_puts(out, "portfleet_site_recommended_hosts{tenant=\"");
        if (!rc)
            rc = label(out, c->plan->sites[i].tenant);
        if (!rc)
            rc = pf_buf_puts(out, "\",site=\"");
        if (!rc)
            rc = label(out, c->plan->sites[i].site);
        if (!rc)
            rc = pf_buf_printf(out, "\"} %zu\n", c->plan->sites[i].recommended_hosts);
    }

    if (!rc)
        rc = head(out, "portfleet_site_hosts_needed",
                  "Hosts each resource needs (p99 of the site's hourly sum, growth, one spare); "
                  "binding=\"true\" on the one that sets recommended_hosts",
                  "gauge");
    for (size_t i = 0; !rc && i < c->plan->nsites; i++) {
        const struct plan_site *ps = &c->plan->sites[i];
        for (int b = 0; !rc && b < PLAN_NBIND; b++) {
            if (!ps->needs[b].measured)
                continue;
            rc = pf_buf_puts(out, "portfleet_site_hosts_needed{tenant=\"");
            if (!rc)
                rc = label(out, ps->tenant);
            if (!rc)
                rc = pf_buf_puts(out, "\",site=\"");
            if (!rc)
                rc = label(out, ps->site);
            if (!rc)
                rc = pf_buf_printf(out, "\",resource=\"%s\",binding=\"%s\"} %zu\n",
                                   plan_binding_name(b), (int)ps->binding == b ? "true" : "false",
                                   ps->needs[b].hosts);
        }
    }

    for (size_t i = 0; !rc && i < nextra; i++) {
        rc = head(out, extra[i].name, extra[i].help, extra[i].type);
        if (!rc)
            rc = pf_buf_printf(out, "%s %.17g\n", extra[i].name, extra[i].value);
    }
    return rc;
}
