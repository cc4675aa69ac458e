/* SPDX-License-Identifier: MIT */
/* report_overview.c: the fleet in one screen (report_html_overview,
 * report.h): findings by severity and kind, the hosts nearest exhaustion
 * with their date and cause, the sites ranked by urgency with their
 * binding resource and headroom. Its size does not grow with the fleet:
 * OVERVIEW_HOSTS hosts, OVERVIEW_SITES full site rows, the other sites as
 * links. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_page.h"
#include "report_parts.h"
#include "timeutil.h"

#define OVERVIEW_HOSTS 20  /* hosts nearest exhaustion listed */
#define OVERVIEW_SITES 100 /* sites with a full row; the rest as links */

struct urgent {
    size_t host;             /* index in the fleet */
    const struct finding *f; /* the finding that dates it */
    int64_t at;
};

static int by_date(const void *a, const void *b)
{
    const struct urgent *x = a, *y = b;

    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->f->severity != y->f->severity)
        return x->f->severity > y->f->severity ? -1 : 1;
    return x->host < y->host ? -1 : x->host > y->host;
}

static enum pf_rc cause(const struct rpage *pg, const struct finding *f)
{
    struct pf_buf *out = pg->out;
    enum pf_rc rc = pf_buf_printf(out, "<b>%s</b>", finding_kind_name(f->kind));

    if (!rc && f->has_process) {
        rc = pf_buf_puts(out, ": <span class=\"process\">");
        if (!rc)
            rc = pf_html_escape(out, f->process_name);
        if (!rc)
            rc = pf_buf_puts(out, "</span>");
        if (!rc && f->process_service[0]) {
            rc = pf_buf_puts(out, " (");
            if (!rc)
                rc = pf_html_escape(out, f->process_service);
            if (!rc)
                rc = pf_buf_puts(out, ")");
        }
        if (!rc && f->has_rate)
            rc = pf_buf_printf(out, ", %+.1f ports/hour", f->rate_per_hour);
    }
    if (!rc)
        rc = pf_buf_puts(out, "<br><span class=\"muted\">");
    if (!rc)
        rc = pf_html_escape(out, f->summary);
    return rc ? rc : pf_buf_puts(out, "</span>");
}

static enum pf_rc nearest_hosts(const struct rpage *pg)
{
    const struct capacity *c = pg->c;
    const struct fleet *fl = c->fleet;
    struct urgent *u = calloc(fl->nhosts ? fl->nhosts : 1, sizeof(*u));
    size_t n = 0;
    enum pf_rc rc;
    char tb[PF_TIME_LEN];

    if (!u)
        return PF_NOMEM;
    /* One row per host: its earliest date (the findings are few). */
    for (size_t i = 0; i < c->findings->n; i++) {
        const struct finding *f = &c->findings->v[i];
        struct fleet_host *x;
        int64_t at;
        size_t k;
        if (!f->agent_id[0] || !rpage_finding_date(c, f, &at))
            continue;
        x = fleet_host_find(c->fleet, f->agent_id);
        if (!x)
            continue;
        for (k = 0; k < n && u[k].host != (size_t)(x - fl->hosts); k++)
            ;
        if (k == n)
            u[n++] = (struct urgent){(size_t)(x - fl->hosts), f, at};
        else if (at < u[k].at || (at == u[k].at && f->severity > u[k].f->severity))
            u[k] = (struct urgent){(size_t)(x - fl->hosts), f, at};
    }
    qsort(u, n, sizeof(*u), by_date);
    rc = pf_buf_printf(pg->out, "<section class=\"nearest\"><h2>Hosts nearest exhaustion</h2>");
    if (!rc && n == 0)
        rc = pf_buf_puts(pg->out, "<p class=\"ok\">No host is forecast to run out of ports "
                                  "within the horizon.</p>");
    if (!rc && n)
        rc = pf_buf_puts(pg->out, "<table class=\"nearest\"><tr><th>#</th><th>host</th>"
                                  "<th>site</th><th>full at</th><th>in</th><th>cause</th></tr>");
    for (size_t k = 0; !rc && k < n && k < OVERVIEW_HOSTS; k++) {
        const struct fleet_host *x = &fl->hosts[u[k].host];
        const char *sev = finding_severity_name(u[k].f->severity);
        rc = pf_buf_printf(pg->out, "<tr class=\"%s%s\" data-agent=\"", sev,
                           u[k].f->severity == SEVERITY_CRITICAL ? " urgent" : "");
        if (!rc)
            rc = pf_html_escape(pg->out, x->agent_id);
        if (!rc)
            rc = pf_buf_printf(pg->out, "\"><td class=\"n\">%zu</td><td>", k + 1);
        if (!rc)
            rc = rpage_anchor(pg, RPAGE_TO_HOST, NULL, x->agent_id, x->name, "host-link");
        if (!rc)
            rc = pf_buf_puts(pg->out, "</td><td>");
        if (!rc)
            rc = rpage_anchor(pg, RPAGE_TO_SITE, x->tenant, x->site, x->site, "site-link");
        if (!rc)
            rc = pf_buf_printf(pg->out, "</td><td>%s</td>",
                               u[k].at <= c->params.now ? "already" : rparts_when(u[k].at, tb));
        if (!rc)
            rc = rpage_days_cell(pg->out, u[k].at, c->params.now);
        if (!rc)
            rc = pf_buf_puts(pg->out, "<td>");
        if (!rc)
            rc = cause(pg, u[k].f);
        /* The culprit named by another finding of the host (a leak behind
         * a forecast that dates it earlier). */
        for (size_t j = 0; !rc && !u[k].f->has_process && j < c->findings->n; j++) {
            const struct finding *g = &c->findings->v[j];
            if (!g->has_process || strcmp(g->agent_id, x->agent_id) != 0)
                continue;
            rc = pf_buf_printf(pg->out, "<br>%s: <span class=\"process\">",
                               finding_kind_name(g->kind));
            if (!rc)
                rc = pf_html_escape(pg->out, g->process_name);
            if (!rc)
                rc = pf_buf_puts(pg->out, "</span>");
        }
        if (!rc)
            rc = pf_buf_puts(pg->out, "</td></tr>");
    }
    if (!rc && n)
        rc = pf_buf_puts(pg->out, "</table>");
    if (!rc && n > OVERVIEW_HOSTS)
        rc = pf_buf_printf(pg->out,
                           "<p class=\"muted\">%zu more hosts have a date; their sites are "
                           "ranked below.</p>",
                           n - OVERVIEW_HOSTS);
    free(u);
    return rc ? rc : pf_buf_puts(pg->out, "</section>");
}

static enum pf_rc headroom_cell(struct pf_buf *out, const struct rpage_site *si)
{
    if (!si->has_headroom)
        return pf_buf_puts(out, "<td class=\"n\">-</td>");
    return pf_buf_printf(out, "<td class=\"n%s\">%.0f%%</td>", si->headroom < 0 ? " over" : "",
                         si->headroom * 100);
}

/* Demand and capacity of the binding resource, in its unit. */
static enum pf_rc demand_cell(struct pf_buf *out, const struct plan_site *s)
{
    const struct plan_need *n = &s->needs[s->binding];

    if (s->binding == PLAN_BIND_PORTS || !n->measured)
        return pf_buf_printf(out, "<td class=\"n\">%.0f / %.0f ports</td></tr>", s->demand,
                             s->capacity_per_host * (double)s->hosts);
    return pf_buf_printf(out, "<td class=\"n\">%.0f / %.0f %s</td></tr>", n->demand,
                         n->per_host * (double)s->hosts, n->unit);
}

static enum pf_rc sites_ranked(const struct rpage *pg)
{
    const struct capacity *c = pg->c;
    size_t n = c->plan->nsites;
    struct rpage_site *si = calloc(n ? n : 1, sizeof(*si));
    enum pf_rc rc;
    char tb[PF_TIME_LEN];

    if (!si)
        return PF_NOMEM;
    for (size_t i = 0; i < n; i++)
        rpage_site_info(c, &c->plan->sites[i], &si[i]);
    qsort(si, n, sizeof(*si), rpage_by_urgency);
    rc = pf_buf_puts(pg->out, "<section class=\"sites\"><h2>Sites by urgency</h2>");
    if (!rc && n == 0)
        rc = pf_buf_puts(pg->out, "<p>No host has reported yet.</p>");
    if (!rc && n)
        rc = pf_buf_puts(pg->out, "<table class=\"sites\"><tr><th>#</th><th>site</th><th>hosts "
                                  "(reporting)</th><th>critical</th><th>warning</th><th>info</th>"
                                  "<th>first host full</th><th>to do</th><th>binding resource</th>"
                                  "<th>headroom at target</th><th>demand / capacity</th></tr>");
    for (size_t i = 0; !rc && i < n && i < OVERVIEW_SITES; i++) {
        const struct plan_site *s = si[i].s;
        const char *cls = si[i].worst < 0 ? "none" : finding_severity_name(si[i].worst);
        rc = pf_buf_printf(pg->out, "<tr class=\"site-row %s\" data-site=\"", cls);
        if (!rc)
            rc = pf_html_escape(pg->out, s->site);
        if (!rc)
            rc = pf_buf_printf(pg->out, "\"><td class=\"n\">%zu</td><td>", i + 1);
        if (!rc)
            rc = rpage_anchor(pg, RPAGE_TO_SITE, s->tenant, s->site, s->site, "site-link");
        if (!rc)
            rc = pf_buf_printf(pg->out,
                               "</td><td class=\"n\">%zu (%zu)</td><td class=\"n\">%zu</td>"
                               "<td class=\"n\">%zu</td><td class=\"n\">%zu</td><td>%s</td><td>",
                               s->hosts, s->reporting_hosts, si[i].sev[SEVERITY_CRITICAL],
                               si[i].sev[SEVERITY_WARNING], si[i].sev[SEVERITY_INFO],
                               !si[i].has_full ? "-"
                               : si[i].first_full <= c->params.now
                                   ? "already"
                                   : rparts_when(si[i].first_full, tb));
        if (!rc)
            rc = rpage_action(&si[i], pg->out);
        if (!rc)
            rc = pf_buf_printf(pg->out, "</td><td data-binding=\"%s\">%s</td>",
                               rpage_binding_resource(s), rpage_binding_resource(s));
        if (!rc)
            rc = headroom_cell(pg->out, &si[i]);
        if (!rc)
            rc = demand_cell(pg->out, s);
    }
    if (!rc && n)
        rc = pf_buf_puts(pg->out, "</table>");
    if (!rc && n > OVERVIEW_SITES) {
        rc = pf_buf_printf(
            pg->out, "<p class=\"more-sites\">%zu more sites, less urgent: ", n - OVERVIEW_SITES);
        for (size_t i = OVERVIEW_SITES; !rc && i < n; i++) {
            rc = i > OVERVIEW_SITES ? pf_buf_puts(pg->out, ", ") : PF_OK;
            if (!rc)
                rc = rpage_anchor(pg, RPAGE_TO_SITE, si[i].s->tenant, si[i].s->site, si[i].s->site,
                                  "site-link");
        }
        if (!rc)
            rc = pf_buf_puts(pg->out, "</p>");
    }
    free(si);
    return rc ? rc : pf_buf_puts(pg->out, "</section>");
}

static enum pf_rc counts(const struct rpage *pg)
{
    const struct capacity *c = pg->c;
    size_t sev[3] = {0, 0, 0}, kinds[FINDING_NKINDS][3], silent = 0;
    enum pf_rc rc;

    memset(kinds, 0, sizeof(kinds));
    for (size_t i = 0; i < c->findings->n; i++) {
        sev[c->findings->v[i].severity]++;
        kinds[c->findings->v[i].kind][c->findings->v[i].severity]++;
    }
    for (size_t i = 0; i < c->fleet->nhosts; i++)
        silent += plan_host_silent(&c->fleet->hosts[i], &c->params);
    rc = pf_buf_printf(pg->out,
                       "<div class=\"counts\"><div class=\"count critical\" "
                       "data-critical=\"%zu\"><b>%zu</b>critical</div><div class=\"count "
                       "warning\" data-warning=\"%zu\"><b>%zu</b>warning</div><div "
                       "class=\"count info\" data-info=\"%zu\"><b>%zu</b>info</div><div "
                       "class=\"count\"><b>%zu</b>hosts in %zu sites</div><div "
                       "class=\"count\"><b>%zu</b>silent</div></div>",
                       sev[SEVERITY_CRITICAL], sev[SEVERITY_CRITICAL], sev[SEVERITY_WARNING],
                       sev[SEVERITY_WARNING], sev[SEVERITY_INFO], sev[SEVERITY_INFO],
                       c->fleet->nhosts, c->plan->nsites, silent);
    if (!rc && c->findings->n)
        rc = pf_buf_puts(pg->out, "<table class=\"kinds\"><tr><th>finding</th><th>critical</th>"
                                  "<th>warning</th><th>info</th></tr>");
    for (int k = 0; !rc && c->findings->n && k < FINDING_NKINDS; k++)
        if (kinds[k][0] + kinds[k][1] + kinds[k][2])
            rc = pf_buf_printf(pg->out,
                               "<tr><td>%s</td><td class=\"n\">%zu</td><td class=\"n\">%zu</td>"
                               "<td class=\"n\">%zu</td></tr>",
                               finding_kind_name((enum finding_kind)k), kinds[k][SEVERITY_CRITICAL],
                               kinds[k][SEVERITY_WARNING], kinds[k][SEVERITY_INFO]);
    if (!rc && c->findings->n)
        rc = pf_buf_puts(pg->out, "</table>");
    return rc;
}

enum pf_rc report_html_overview(const struct capacity *c, const struct report_links *l,
                                struct pf_buf *out)
{
    struct rpage pg = {c, l, 0, out};
    enum pf_rc rc = rpage_head(&pg, "portfleet capacity report", NULL);

    if (!rc)
        rc = counts(&pg);
    if (!rc)
        rc = nearest_hosts(&pg);
    if (!rc)
        rc = sites_ranked(&pg);
    return rc ? rc : rpage_tail(&pg);
}
