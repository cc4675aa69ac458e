/* SPDX-License-Identifier: MIT */
/* report_csv.c: the CSV export: one row per host with its numbers, its
 * site's plan and the kinds of its findings, for a spreadsheet. The
 * first column is the tenant: a site is (tenant, site). */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "resources.h"
#include "stats.h"
#include "timeutil.h"

/* Appends one RFC 4180 cell. A cell a spreadsheet would evaluate (it
 * starts with = + - @ or a control character: CSV injection) gets a
 * leading quote; host names and services come from the hosts. */
static enum pf_rc cell(struct pf_buf *out, const char *s, bool last)
{
    enum pf_rc rc = pf_buf_puts(out, "\"");

    if (!rc &&
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
        rc = pf_buf_puts(out, "'");
    for (const char *p = s; !rc && *p; p++)
        rc = *p == '"' ? pf_buf_puts(out, "\"\"") : pf_buf_append(out, p, 1);
    if (!rc)
        rc = pf_buf_puts(out, last ? "\"\r\n" : "\",");
    return rc;
}

/* An integer cell and its comma; empty when there is no value. */
static enum pf_rc num(struct pf_buf *out, double v)
{
    if (!stats_present(v))
        return pf_buf_puts(out, ",");
    return pf_buf_printf(out, "%.0f,", v);
}

/* A ratio to thousandths, or an empty cell when not measured. */
static enum pf_rc ratio(struct pf_buf *out, double v)
{
    if (!stats_present(v))
        return pf_buf_puts(out, ",");
    return pf_buf_printf(out, "%.3f,", v);
}

/* The sizing peaks (resources.h) and the site's binding resource; ends
 * the row. */
static enum pf_rc sizing_cells(struct pf_buf *out, const struct capacity *c,
                               const struct fleet_host *x, const struct plan_site *ps)
{
    struct res_peaks pk;
    enum pf_rc rc = resources_host_peaks(c->fleet, x, &pk);

    if (!rc)
        rc = stats_present(pk.cpu_pct) ? pf_buf_printf(out, "%.1f,", pk.cpu_pct)
                                       : pf_buf_puts(out, ",");
    if (!rc)
        rc = num(out, pk.mem_mb);
    if (!rc)
        rc = ratio(out, pk.mem_util);
    if (!rc)
        rc = num(out, pk.sessions);
    if (!rc)
        rc = num(out, pk.users);
    if (!rc)
        rc = stats_present(pk.rps) ? pf_buf_printf(out, "%.1f,", pk.rps) : pf_buf_puts(out, ",");
    if (!rc)
        rc = ratio(out, pk.vpn_ports_util);
    if (!rc)
        rc = ratio(out, pk.pool_util);
    if (!rc)
        rc = cell(out, ps ? plan_binding_name(ps->binding) : "", true);
    return rc;
}

enum pf_rc report_csv(const struct capacity *c, const char *site, struct pf_buf *out)
{
    enum pf_rc rc;

    rc = pf_buf_puts(out, "tenant,site,host,agent_id,os,roles,last_snapshot_at,silent,range_start,"
                          "range_count,usable_ports,usable_ports_widened,ports_in_use,"
                          "peak_p99,peak_max,p95,utilization,trend_per_hour,exhaustion_at,"
                          "site_hosts,site_recommended_hosts,site_add_hosts,findings,"
                          "worst_severity,cpu_peak_pct,memory_peak_mb,memory_peak_utilization,"
                          "sessions_peak,users_peak,requests_per_s_peak,"
                          "vpn_ports_peak_utilization,address_pool_peak_utilization,"
                          "site_binding_resource\r\n");
    for (size_t i = 0; !rc && i < c->fleet->nhosts; i++) {
        const struct fleet_host *x = &c->fleet->hosts[i];
        const struct host_pressure *hp = &c->pressure[i];
        const struct plan_site *ps = plan_find(c->plan, x->tenant, x->site);
        struct plan_widen w;
        char roles[PF_ROLES_MAX * PF_ID_LEN] = "", kinds[FINDING_NKINDS * 24] = "";
        char seen[PF_TIME_LEN] = "", exh[PF_TIME_LEN] = "";
        int worst = -1;
        size_t o = 0;

        if (site && site[0] && strcmp(x->site, site) != 0)
            continue;
        for (size_t k = 0; k < x->nroles; k++)
            o += (size_t)snprintf(roles + o, sizeof(roles) - o, "%s%s", k ? ";" : "", x->roles[k]);
        o = 0;
        for (size_t k = 0; k < c->findings->n; k++) {
            const struct finding *f = &c->findings->v[k];
            if (strcmp(f->agent_id, x->agent_id) != 0)
                continue;
            if (o < sizeof(kinds))
                o += (size_t)snprintf(kinds + o, sizeof(kinds) - o, "%s%s", o ? ";" : "",
                                      finding_kind_name(f->kind));
            if ((int)f->severity > worst)
                worst = (int)f->severity;
        }
        if (x->last_seen)
            pf_time_format(x->last_seen, seen);
        if (hp->has_full)
            pf_time_format(hp->full_at, exh);
        plan_widen_host(x, &w);
        rc = cell(out, x->tenant, false);
        if (!rc)
            rc = cell(out, x->site, false);
        if (!rc)
            rc = cell(out, x->name, false);
        if (!rc)
            rc = cell(out, x->agent_id, false);
        if (!rc)
            rc = cell(out, x->os, false);
        if (!rc)
            rc = cell(out, roles, false);
        if (!rc)
            rc = pf_buf_printf(out, "%s,%s,%u,%u,%u,%u,%llu,", seen,
                               plan_host_silent(x, &c->params) ? "true" : "false",
                               (unsigned)x->tcp_range.start, (unsigned)x->tcp_range.count,
                               (unsigned)x->tcp_usable, (unsigned)w.usable,
                               (unsigned long long)x->last_tcp_in_use);
        if (!rc)
            rc = num(out, hp->tcp_peak);
        if (!rc)
            rc = num(out, hp->tcp_max);
        if (!rc)
            rc = num(out, hp->tcp_p95);
        if (!rc)
            rc = pf_buf_printf(out, "%.3f,%.1f,%s,%zu,%zu,%zu,", hp->utilization, hp->tcp_trend,
                               exh, ps ? ps->hosts : 0, ps ? ps->recommended_hosts : 0,
                               ps ? ps->add_hosts : 0);
        if (!rc)
            rc = cell(out, kinds, false);
        if (!rc)
            rc = cell(out, worst < 0 ? "" : finding_severity_name((enum finding_severity)worst),
                      false);
        if (!rc)
            rc = sizing_cells(out, c, x, ps);
    }
    return rc;
}
