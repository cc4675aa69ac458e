/* SPDX-License-Identifier: MIT */
/* report_site.c: one site's page (report_html_site, report.h): its plan
 * and the plan's arithmetic in words, its findings, its hosts with a small
 * chart each. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report_page.h"
#include "report_parts.h"

/* The plan's arithmetic in words, from the plan's own figures. */
static enum pf_rc arithmetic(const struct rpage *pg, const struct plan_site *s)
{
    struct pf_buf *out = pg->out;
    double per_host = s->capacity_per_host;
    double usable = s->nchanges ? s->usable_per_host_widened : s->usable_per_host;
    enum pf_rc rc;

    rc = pf_buf_printf(out,
                       "<div class=\"arith\"><h3>How the plan is computed</h3><ol>"
                       "<li>Demand: the p99 of the site's hourly sum of ports in use, %.0f, ",
                       s->p99);
    /* The growth as the plan fitted it (plan.h): linear, compound, none. */
    if (!rc && s->growth.fit == STATS_GROWTH_COMPOUND)
        rc = pf_buf_printf(out,
                           "grown %.2f%% a day compounded (fitted to %zu daily peaks) over %.0f "
                           "days: %.0f x %.4f^%.0f = <b>%.0f</b> ports.</li>",
                           s->growth.rate * 100, s->growth.days, s->horizon_days, s->p99,
                           1 + s->growth.rate, s->horizon_days, s->demand);
    else if (!rc && s->growth.fit == STATS_GROWTH_LINEAR)
        rc = pf_buf_printf(out,
                           "plus %.1f ports a day (linear, fitted to %zu daily peaks) over %.0f "
                           "days: %.0f + %.1f x %.0f = <b>%.0f</b> ports.</li>",
                           s->growth_per_day, s->growth.days, s->horizon_days, s->p99,
                           s->growth_per_day, s->horizon_days, s->demand);
    else if (!rc)
        rc = pf_buf_printf(out, "no steady growth: <b>%.0f</b> ports.</li>", s->demand);
    if (!rc)
        rc = pf_buf_printf(out,
                           "<li>Capacity of one host: %.0f%% of %u usable ports (the smallest "
                           "host%s) = <b>%.0f</b>.</li>",
                           s->target_utilization * 100, (unsigned)usable,
                           s->nchanges ? ", after widening the ranges below" : "", per_host);
    if (!rc && per_host > 0)
        rc = pf_buf_printf(out,
                           "<li>Hosts for ports: ceil(%.0f / %.0f) + 1 spare = %.0f, at least %d: "
                           "<b>%zu</b>.</li>",
                           s->demand, per_host, ceil(s->demand / per_host) + 1, PLAN_MIN_HOSTS,
                           s->needs[PLAN_BIND_PORTS].hosts);
    /* Every other resource the hosts report, sized the same way. */
    for (int b = 0; !rc && b < PLAN_NBIND; b++) {
        const struct plan_need *n = &s->needs[b];
        if (b == PLAN_BIND_PORTS || !n->measured || !(n->per_host > 0))
            continue;
        rc = pf_buf_printf(out,
                           "<li data-resource=\"%s\">Hosts for %s: p99 %.1f %s, plus %.2f a day "
                           "over %.0f days = %.1f; one host carries %.1f: ceil(%.1f / %.1f) + 1 "
                           "spare = %.0f, at least %d: <b data-hosts=\"%zu\">%zu</b>.</li>",
                           plan_binding_name(b), plan_binding_name(b), n->p99, n->unit,
                           n->growth_per_day, s->horizon_days, n->demand, n->per_host, n->demand,
                           n->per_host, ceil(n->demand / n->per_host) + 1, PLAN_MIN_HOSTS, n->hosts,
                           n->hosts);
    }
    if (!rc)
        rc = pf_buf_printf(out,
                           "<li>Recommended: the largest, set by <b data-binding=\"%s\">%s</b>: "
                           "<b data-recommended=\"%zu\">%zu</b> hosts.</li>",
                           rpage_binding_resource(s), rpage_binding_resource(s),
                           s->recommended_hosts, s->recommended_hosts);
    if (!rc)
        rc = pf_buf_printf(out,
                           "<li>The site has %zu (%zu reporting): add <b>%zu</b>.</li>"
                           "<li>Binding resource: <b>%s</b>; ",
                           s->hosts, s->reporting_hosts, s->add_hosts, rpage_binding_resource(s));
    if (!rc) {
        double h, cap, p99, ph;
        const char *unit = s->binding == PLAN_BIND_PORTS || !s->needs[s->binding].measured
                               ? "ports"
                               : s->needs[s->binding].unit;
        if (rpage_headroom(s, &h) && rpage_headroom_parts(s, &cap, &p99, &ph))
            rc = pf_buf_printf(out,
                               "headroom at the %.0f%% target today: (%zu x %.1f - %.1f) / "
                               "(%zu x %.1f) %s = <b>%.0f%%</b>.</li>",
                               s->target_utilization * 100, s->reporting_hosts, ph, p99,
                               s->reporting_hosts, ph, unit, h * 100);
        else
            rc = pf_buf_puts(out, "no reporting host, no headroom to measure.</li>");
    }
    return rc ? rc : pf_buf_puts(out, "</ol></div>");
}

/* The plan of (tenant, site); without a tenant, the first site of that
 * name (the plan is sorted by tenant). */
static const struct plan_site *find_site(const struct plan *pl, const char *tenant,
                                         const char *site)
{
    if (tenant && tenant[0])
        return plan_find(pl, tenant, site);
    for (size_t i = 0; i < pl->nsites; i++)
        if (strcmp(pl->sites[i].site, site) == 0)
            return &pl->sites[i];
    return NULL;
}

enum pf_rc report_html_site(const struct capacity *c, const char *tenant, const char *site,
                            const struct report_links *l, struct pf_buf *out)
{
    struct rpage pg = {c, l, l && l->at_overview ? 0 : 1, out};
    const struct plan_site *s = find_site(c->plan, tenant, site);
    struct rpage_site si;
    enum pf_rc rc;

    if (!s)
        return PF_NOTFOUND;
    rpage_site_info(c, s, &si);
    rc = rpage_head(&pg, "Site", s->site);
    if (!rc)
        rc = pf_buf_puts(out, "<section class=\"site\" data-site=\"");
    if (!rc)
        rc = pf_html_escape(out, s->site);
    if (!rc)
        rc = pf_buf_printf(out,
                           "\"><p>%zu hosts (%zu reporting); findings: %zu critical, %zu "
                           "warning, %zu info; to do: ",
                           s->hosts, s->reporting_hosts, si.sev[SEVERITY_CRITICAL],
                           si.sev[SEVERITY_WARNING], si.sev[SEVERITY_INFO]);
    if (!rc)
        rc = rpage_action(&si, out);
    if (!rc)
        rc = pf_buf_puts(out, ".</p>");
    if (!rc)
        rc = rparts_plan(s, out);
    if (!rc)
        rc = arithmetic(&pg, s);
    if (!rc)
        rc = rparts_findings(c, s, NULL, rpage_host_link, &pg, out);
    if (!rc)
        rc = pf_buf_puts(out, "<h3>Hosts</h3>");
    if (!rc)
        rc = rparts_hosts(c, s, rpage_host_link, &pg, out);
    if (!rc)
        rc = pf_buf_puts(out, "<div class=\"charts\">");
    for (size_t i = 0; !rc && i < c->fleet->nhosts; i++) {
        const struct fleet_host *x = &c->fleet->hosts[i];
        if (!fleet_host_in_site(x, s->tenant, s->site))
            continue;
        rc = pf_buf_puts(out, "<a class=\"hostfig\" href=\"");
        if (!rc)
            rc = rpage_href(&pg, RPAGE_TO_HOST, NULL, x->agent_id);
        if (!rc)
            rc = pf_buf_puts(out, "\"><figure class=\"host-chart small\"><figcaption>");
        if (!rc)
            rc = pf_html_escape(out, x->name);
        if (!rc)
            rc = pf_buf_puts(out, "</figcaption>");
        if (!rc)
            rc = rparts_chart(c, i, RPARTS_CHART_SMALL, out);
        if (!rc)
            rc = pf_buf_puts(out, "</figure></a>");
    }
    if (!rc)
        rc = pf_buf_puts(out, "</div></section>");
    return rc ? rc : rpage_tail(&pg);
}
