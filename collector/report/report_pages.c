/* SPDX-License-Identifier: MIT */
/* report_pages.c: the HTML report at fleet scale (report.h): an overview
 * that fits a fleet of thousands of hosts in one screen, and a page per
 * site and per host. Each page is self-contained like the single page
 * (inline CSS and SVG, no script, nothing from outside), so the same
 * pages work served by the collector and as files; only the links differ
 * (struct report_links).
 *
 * Every figure comes from the analysis (plan, findings, host pressure) or,
 * on the host page, from the stored detail (host_detail.h); the pages
 * order and arrange them but compute no forecast or peak of their own, so
 * they cannot disagree with /v1/findings and /v1/plan. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_detail.h"
#include "report_parts.h"
#include "resources.h"
#include "stats.h"
#include "timeutil.h"

#define OVERVIEW_HOSTS 20  /* hosts nearest exhaustion listed */
#define OVERVIEW_SITES 100 /* sites with a full row; the rest as links */

/* ---- links ---- */

enum target { TO_OVERVIEW, TO_SITE, TO_HOST };

struct page {
    const struct capacity *c;
    const struct report_links *l;
    int depth; /* 0: the overview; 1: a site or host page */
    struct pf_buf *out;
};

static bool safe_byte(unsigned char ch, bool first, bool files)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_')
        return true;
    if (ch == '.')
        return !first;
    return !files && ch == '~';
}

/* A name as one path segment: percent-encoded for the collector's pages,
 * ~XX for files (a file name needs no decoding to be its own link). */
static enum pf_rc segment(struct pf_buf *out, const char *name, bool files)
{
    enum pf_rc rc = PF_OK;

    for (const unsigned char *p = (const unsigned char *)name; !rc && *p; p++) {
        if (safe_byte(*p, p == (const unsigned char *)name, files))
            rc = pf_buf_append(out, p, 1);
        else
            rc = pf_buf_printf(out, files ? "~%02X" : "%%%02X", *p);
    }
    return rc;
}

/* A site of a tenant other than the default one: its file name starts
 * with the tenant and "~~", which no encoded name contains (an encoded '~'
 * is followed by hex digits), so (tenant, site) is one file. */
static bool other_tenant(const char *tenant)
{
    return tenant && tenant[0] && strcmp(tenant, "default") != 0;
}

static enum pf_rc site_file(struct pf_buf *b, const char *tenant, const char *name)
{
    enum pf_rc rc = PF_OK;

    if (other_tenant(tenant)) {
        rc = segment(b, tenant, true);
        if (!rc)
            rc = pf_buf_puts(b, "~~");
    }
    return rc ? rc : segment(b, name, true);
}

enum pf_rc report_page_path(bool host, const char *tenant, const char *name, char *out,
                            size_t outlen)
{
    struct pf_buf b;
    enum pf_rc rc;

    pf_buf_init(&b, outlen ? outlen - 1 : 0);
    rc = pf_buf_puts(&b, host ? "host/" : "site/");
    if (!rc)
        rc = host ? segment(&b, name, true) : site_file(&b, tenant, name);
    if (!rc)
        rc = pf_buf_puts(&b, ".html");
    if (!rc && outlen)
        snprintf(out, outlen, "%s", b.data);
    pf_buf_free(&b);
    return outlen ? rc : PF_TOOBIG;
}

/* tenant: a site's (TO_SITE), else NULL. */
static enum pf_rc href(const struct page *pg, enum target t, const char *tenant, const char *name)
{
    static const char *const files[2][3] = {{"index.html", "site/", "host/"},
                                            {"../index.html", "../site/", "../host/"}};
    static const char *const served[2][3] = {{"report", "report/site/", "report/host/"},
                                             {"../../report", "../site/", "../host/"}};
    bool f = pg->l && pg->l->files;
    enum pf_rc rc = pf_buf_puts(pg->out, (f ? files : served)[pg->depth][t]);

    bool q = !f && pg->l && pg->l->query && pg->l->query[0];

    if (!rc && t == TO_SITE && f)
        rc = site_file(pg->out, tenant, name);
    else if (!rc && t != TO_OVERVIEW)
        rc = segment(pg->out, name, f);
    if (!rc && t != TO_OVERVIEW && f)
        rc = pf_buf_puts(pg->out, ".html");
    if (!rc && q)
        rc = rparts_esc(pg->out, pg->l->query);
    /* Served: the tenant as a parameter (tenant names are [a-z0-9-]); an
     * operator sees every tenant, whose sites may share a name. */
    if (!rc && !f && t == TO_SITE && other_tenant(tenant))
        rc = pf_buf_printf(pg->out, "%stenant=%s", q ? "&amp;" : "?", tenant);
    return rc;
}

/* <a class="cls" href="...">text</a> */
static enum pf_rc anchor(const struct page *pg, enum target t, const char *tenant, const char *name,
                         const char *text, const char *cls)
{
    enum pf_rc rc = pf_buf_printf(pg->out, "<a class=\"%s\" href=\"", cls);

    if (!rc)
        rc = href(pg, t, tenant, name);
    if (!rc)
        rc = pf_buf_puts(pg->out, "\">");
    if (!rc)
        rc = rparts_esc(pg->out, text);
    return rc ? rc : pf_buf_puts(pg->out, "</a>");
}

static enum pf_rc host_link(void *ud, struct pf_buf *out, const char *agent_id, const char *text)
{
    const struct page *pg = ud;
    (void)out; /* pg->out is the same buffer */
    return anchor(pg, TO_HOST, NULL, agent_id, text, "host-link");
}

/* ---- the frame of a page ---- */

static enum pf_rc head(const struct page *pg, const char *title, const char *title2)
{
    const struct capacity *c = pg->c;
    char now[PF_TIME_LEN], from[PF_TIME_LEN];
    enum pf_rc rc;

    rc =
        pf_buf_printf(pg->out, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                               "'none'; style-src 'unsafe-inline'\">"
                               "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    if (!rc)
        rc = rparts_esc(pg->out, title);
    if (!rc && title2) {
        rc = pf_buf_puts(pg->out, " ");
        if (!rc)
            rc = rparts_esc(pg->out, title2);
    }
    if (!rc)
        rc = pf_buf_printf(pg->out, " - portfleet</title><style>%s</style></head><body>",
                           rparts_style);
    if (!rc && title2) { /* a site or host page */
        rc = pf_buf_puts(pg->out, "<nav class=\"crumbs\">");
        if (!rc)
            rc = anchor(pg, TO_OVERVIEW, NULL, "", "fleet overview", "overview-link");
        if (!rc)
            rc = pf_buf_puts(pg->out, "</nav>");
    }
    if (!rc) {
        rc = pf_buf_puts(pg->out, "<h1>");
        if (!rc)
            rc = rparts_esc(pg->out, title);
        if (!rc && title2) {
            rc = pf_buf_puts(pg->out, " ");
            if (!rc)
                rc = rparts_esc(pg->out, title2);
        }
    }
    if (!rc)
        rc = pf_buf_printf(pg->out,
                           "</h1><p class=\"meta\">generated %s; window from %s; horizon %.0f "
                           "days; target utilization %.0f%%</p>",
                           rparts_when(c->params.now, now), rparts_when(c->fleet->start, from),
                           c->params.horizon_days, c->params.target_utilization * 100);
    return rc;
}

static enum pf_rc tail(const struct page *pg)
{
    return pf_buf_puts(pg->out, "</body></html>\n");
}

/* ---- per-site figures ---- */

/* What limits the site: the plan's binding resource (plan.h), the one
 * whose hosts set recommended_hosts. Headroom is the share of the
 * reporting hosts' capacity at the target utilization that the binding
 * resource leaves at today's p99: negative past the target. For ports
 * that capacity is the usable ports of today's ranges (not widened); for
 * the others, what the plan says one host carries (resources.h). */
static const char *binding_resource(const struct plan_site *s)
{
    return plan_binding_name(s->binding);
}

/* The capacity and p99 headroom() compares. */
static bool headroom_parts(const struct plan_site *s, double *cap, double *p99, double *per_host)
{
    if (s->binding == PLAN_BIND_PORTS || !s->needs[s->binding].measured) {
        *per_host = s->target_utilization * s->usable_per_host;
        *p99 = s->p99;
    } else {
        *per_host = s->needs[s->binding].per_host;
        *p99 = s->needs[s->binding].p99;
    }
    *cap = *per_host * (double)s->reporting_hosts;
    return *cap > 0 && stats_present(*p99);
}

static bool headroom(const struct plan_site *s, double *out)
{
    double cap, p99, per_host;

    if (!headroom_parts(s, &cap, &p99, &per_host))
        return false;
    *out = (cap - p99) / cap;
    return true;
}

struct site_info {
    const struct plan_site *s;
    size_t sev[3];
    int worst; /* -1: no finding */
    bool has_full;
    int64_t first_full;
    size_t leaks;
    bool has_headroom;
    double headroom;
};

static bool finding_date(const struct capacity *c, const struct finding *f, int64_t *at);

static void site_info(const struct capacity *c, const struct plan_site *s, struct site_info *si)
{
    int64_t at;

    memset(si, 0, sizeof(*si));
    si->s = s;
    si->worst = -1;
    for (size_t i = 0; i < c->findings->n; i++) {
        const struct finding *f = &c->findings->v[i];
        if (strcmp(f->site, s->site) != 0 || strcmp(f->tenant, s->tenant) != 0)
            continue;
        si->sev[f->severity]++;
        if ((int)f->severity > si->worst)
            si->worst = (int)f->severity;
        if (finding_date(c, f, &at) && (!si->has_full || at < si->first_full)) {
            si->has_full = true;
            si->first_full = at;
        }
        si->leaks += f->kind == FINDING_PORT_LEAK;
    }
    si->has_headroom = headroom(s, &si->headroom);
}

/* Most urgent first: worst severity, then the earliest date a host is
 * full, more critical findings, more hosts to add, less headroom, name. */
static int by_urgency(const void *a, const void *b)
{
    const struct site_info *x = a, *y = b;

    if (x->worst != y->worst)
        return x->worst > y->worst ? -1 : 1;
    if (x->has_full != y->has_full)
        return x->has_full ? -1 : 1;
    if (x->has_full && x->first_full != y->first_full)
        return x->first_full < y->first_full ? -1 : 1;
    if (x->sev[SEVERITY_CRITICAL] != y->sev[SEVERITY_CRITICAL])
        return x->sev[SEVERITY_CRITICAL] > y->sev[SEVERITY_CRITICAL] ? -1 : 1;
    if (x->s->add_hosts != y->s->add_hosts)
        return x->s->add_hosts > y->s->add_hosts ? -1 : 1;
    if (x->has_headroom && y->has_headroom && x->headroom != y->headroom)
        return x->headroom < y->headroom ? -1 : 1;
    return strcmp(x->s->site, y->s->site);
}

static enum pf_rc days_cell(struct pf_buf *out, int64_t at, int64_t now)
{
    double d = (double)(at - now) / 86400;
    if (d <= 0)
        return pf_buf_puts(out, "<td class=\"n\">now</td>");
    return pf_buf_printf(out, "<td class=\"n\">%.1f days</td>", d);
}

/* What the site should do, from its plan and findings. */
static enum pf_rc action(const struct site_info *si, struct pf_buf *out)
{
    const struct plan_site *s = si->s;
    enum pf_rc rc = PF_OK;
    bool any = false;

    if (si->leaks) {
        rc = pf_buf_printf(out, "fix %zu leak%s", si->leaks, si->leaks == 1 ? "" : "s");
        any = true;
    }
    if (!rc && s->nchanges) {
        rc = pf_buf_printf(out, "%swiden %zu range%s", any ? "; " : "", s->nchanges,
                           s->nchanges == 1 ? "" : "s");
        any = true;
    }
    if (!rc && s->add_hosts) {
        rc = pf_buf_printf(out, "%sadd %zu host%s", any ? "; " : "", s->add_hosts,
                           s->add_hosts == 1 ? "" : "s");
        any = true;
    }
    if (!rc && !any)
        rc = pf_buf_puts(out, si->worst >= 0 ? "see findings" : "none");
    return rc;
}

/* ---- overview ---- */

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

/* A host's date of exhaustion from its findings: a leak's or a forecast's
 * date (past: it is full already), or now when it went silent while full.
 * The date of exhaustion_events is when the range was full in the past,
 * a history that does not date what comes next. */
static bool finding_date(const struct capacity *c, const struct finding *f, int64_t *at)
{
    if (f->kind == FINDING_EXHAUSTION_EVENTS)
        return false;
    if (f->has_exhaustion) {
        *at = f->exhaustion_at;
        return true;
    }
    if (f->severity == SEVERITY_CRITICAL && f->kind == FINDING_HOST_SILENT) {
        *at = c->params.now;
        return true;
    }
    return false;
}

static enum pf_rc cause(const struct page *pg, const struct finding *f)
{
    struct pf_buf *out = pg->out;
    enum pf_rc rc = pf_buf_printf(out, "<b>%s</b>", finding_kind_name(f->kind));

    if (!rc && f->has_process) {
        rc = pf_buf_puts(out, ": <span class=\"process\">");
        if (!rc)
            rc = rparts_esc(out, f->process_name);
        if (!rc)
            rc = pf_buf_puts(out, "</span>");
        if (!rc && f->process_service[0]) {
            rc = pf_buf_puts(out, " (");
            if (!rc)
                rc = rparts_esc(out, f->process_service);
            if (!rc)
                rc = pf_buf_puts(out, ")");
        }
        if (!rc && f->has_rate)
            rc = pf_buf_printf(out, ", %+.1f ports/hour", f->rate_per_hour);
    }
    if (!rc)
        rc = pf_buf_puts(out, "<br><span class=\"muted\">");
    if (!rc)
        rc = rparts_esc(out, f->summary);
    return rc ? rc : pf_buf_puts(out, "</span>");
}

static enum pf_rc nearest_hosts(const struct page *pg)
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
        if (!f->agent_id[0] || !finding_date(c, f, &at))
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
            rc = rparts_esc(pg->out, x->agent_id);
        if (!rc)
            rc = pf_buf_printf(pg->out, "\"><td class=\"n\">%zu</td><td>", k + 1);
        if (!rc)
            rc = anchor(pg, TO_HOST, NULL, x->agent_id, x->name, "host-link");
        if (!rc)
            rc = pf_buf_puts(pg->out, "</td><td>");
        if (!rc)
            rc = anchor(pg, TO_SITE, x->tenant, x->site, x->site, "site-link");
        if (!rc)
            rc = pf_buf_printf(pg->out, "</td><td>%s</td>",
                               u[k].at <= c->params.now ? "already" : rparts_when(u[k].at, tb));
        if (!rc)
            rc = days_cell(pg->out, u[k].at, c->params.now);
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
                rc = rparts_esc(pg->out, g->process_name);
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

static enum pf_rc headroom_cell(struct pf_buf *out, const struct site_info *si)
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

static enum pf_rc sites_ranked(const struct page *pg)
{
    const struct capacity *c = pg->c;
    size_t n = c->plan->nsites;
    struct site_info *si = calloc(n ? n : 1, sizeof(*si));
    enum pf_rc rc;
    char tb[PF_TIME_LEN];

    if (!si)
        return PF_NOMEM;
    for (size_t i = 0; i < n; i++)
        site_info(c, &c->plan->sites[i], &si[i]);
    qsort(si, n, sizeof(*si), by_urgency);
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
            rc = rparts_esc(pg->out, s->site);
        if (!rc)
            rc = pf_buf_printf(pg->out, "\"><td class=\"n\">%zu</td><td>", i + 1);
        if (!rc)
            rc = anchor(pg, TO_SITE, s->tenant, s->site, s->site, "site-link");
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
            rc = action(&si[i], pg->out);
        if (!rc)
            rc = pf_buf_printf(pg->out, "</td><td data-binding=\"%s\">%s</td>",
                               binding_resource(s), binding_resource(s));
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
                rc =
                    anchor(pg, TO_SITE, si[i].s->tenant, si[i].s->site, si[i].s->site, "site-link");
        }
        if (!rc)
            rc = pf_buf_puts(pg->out, "</p>");
    }
    free(si);
    return rc ? rc : pf_buf_puts(pg->out, "</section>");
}

static enum pf_rc counts(const struct page *pg)
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
    struct page pg = {c, l, 0, out};
    enum pf_rc rc = head(&pg, "portfleet capacity report", NULL);

    if (!rc)
        rc = counts(&pg);
    if (!rc)
        rc = nearest_hosts(&pg);
    if (!rc)
        rc = sites_ranked(&pg);
    return rc ? rc : tail(&pg);
}

/* ---- site ---- */

/* The plan's arithmetic in words, from the plan's own figures. */
static enum pf_rc arithmetic(const struct page *pg, const struct plan_site *s)
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
                           n->per_host, ceil(n->demand / n->per_host) + 1, PLAN_MIN_HOSTS,
                           n->hosts, n->hosts);
    }
    if (!rc)
        rc = pf_buf_printf(out,
                           "<li>Recommended: the largest, set by <b data-binding=\"%s\">%s</b>: "
                           "<b data-recommended=\"%zu\">%zu</b> hosts.</li>",
                           binding_resource(s), binding_resource(s), s->recommended_hosts,
                           s->recommended_hosts);
    if (!rc)
        rc = pf_buf_printf(out,
                           "<li>The site has %zu (%zu reporting): add <b>%zu</b>.</li>"
                           "<li>Binding resource: <b>%s</b>; ",
                           s->hosts, s->reporting_hosts, s->add_hosts, binding_resource(s));
    if (!rc) {
        double h, cap, p99, ph;
        const char *unit = s->binding == PLAN_BIND_PORTS || !s->needs[s->binding].measured
                               ? "ports"
                               : s->needs[s->binding].unit;
        if (headroom(s, &h) && headroom_parts(s, &cap, &p99, &ph))
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
    struct page pg = {c, l, l && l->at_overview ? 0 : 1, out};
    const struct plan_site *s = find_site(c->plan, tenant, site);
    struct site_info si;
    enum pf_rc rc;

    if (!s)
        return PF_NOTFOUND;
    site_info(c, s, &si);
    rc = head(&pg, "Site", s->site);
    if (!rc)
        rc = pf_buf_puts(out, "<section class=\"site\" data-site=\"");
    if (!rc)
        rc = rparts_esc(out, s->site);
    if (!rc)
        rc = pf_buf_printf(out,
                           "\"><p>%zu hosts (%zu reporting); findings: %zu critical, %zu "
                           "warning, %zu info; to do: ",
                           s->hosts, s->reporting_hosts, si.sev[SEVERITY_CRITICAL],
                           si.sev[SEVERITY_WARNING], si.sev[SEVERITY_INFO]);
    if (!rc)
        rc = action(&si, out);
    if (!rc)
        rc = pf_buf_puts(out, ".</p>");
    if (!rc)
        rc = rparts_plan(s, out);
    if (!rc)
        rc = arithmetic(&pg, s);
    if (!rc)
        rc = rparts_findings(c, s, NULL, host_link, &pg, out);
    if (!rc)
        rc = pf_buf_puts(out, "<h3>Hosts</h3>");
    if (!rc)
        rc = rparts_hosts(c, s, host_link, &pg, out);
    if (!rc)
        rc = pf_buf_puts(out, "<div class=\"charts\">");
    for (size_t i = 0; !rc && i < c->fleet->nhosts; i++) {
        const struct fleet_host *x = &c->fleet->hosts[i];
        if (!fleet_host_in_site(x, s->tenant, s->site))
            continue;
        rc = pf_buf_puts(out, "<a class=\"hostfig\" href=\"");
        if (!rc)
            rc = href(&pg, TO_HOST, NULL, x->agent_id);
        if (!rc)
            rc = pf_buf_puts(out, "\"><figure class=\"host-chart small\"><figcaption>");
        if (!rc)
            rc = rparts_esc(out, x->name);
        if (!rc)
            rc = pf_buf_puts(out, "</figcaption>");
        if (!rc)
            rc = rparts_chart(c, i, RPARTS_CHART_SMALL, out);
        if (!rc)
            rc = pf_buf_puts(out, "</figure></a>");
    }
    if (!rc)
        rc = pf_buf_puts(out, "</div></section>");
    return rc ? rc : tail(&pg);
}

/* ---- host ---- */

/* Stacking order, bottom up: BOUND first so the leak is the band on the
 * axis, then the states that hold ports longest. */
static const struct {
    enum pf_tcp_state st;
    const char *color;
} stack[] = {
    {PF_TCP_BOUND, "#c2185b"},      {PF_TCP_ESTABLISHED, "#2f5fa7"},
    {PF_TCP_TIME_WAIT, "#e59866"},  {PF_TCP_CLOSE_WAIT, "#8e44ad"},
    {PF_TCP_SYN_SENT, "#f2b134"},   {PF_TCP_FIN_WAIT_1, "#7fb3d5"},
    {PF_TCP_FIN_WAIT_2, "#a9cce3"}, {PF_TCP_CLOSING, "#bfa2db"},
    {PF_TCP_LAST_ACK, "#d7bde2"},   {PF_TCP_SYN_RECEIVED, "#e8d06a"},
    {PF_TCP_LISTEN, "#9aa3b2"},
};

static const char *const proc_colors[HOST_DETAIL_PROCS] = {"#c2185b", "#2f5fa7", "#1e7b34",
                                                           "#a15c00", "#8e44ad", "#5a6474"};

#define SW 640.0
#define SH 220.0
#define SL 62.0
#define SR 14.0
#define ST 10.0
#define SB 24.0

static double sx(const struct host_detail *d, double h)
{
    return SL + (h + 0.5) / (double)d->nhours * (SW - SL - SR);
}

static double sy(double v, double ymax)
{
    return SH - SB - v / ymax * (SH - ST - SB);
}

static bool hour_present(const struct host_detail_hour *hr)
{
    if (stats_present(hr->ephemeral))
        return true;
    for (int s = 0; s < PF_TCP_NSTATES; s++)
        if (stats_present(hr->states[s]))
            return true;
    return false;
}

static double v0(double v)
{
    return stats_present(v) ? v : 0;
}

static enum pf_rc axes(struct pf_buf *out, const struct host_detail *d, double ymax)
{
    char tb[PF_TIME_LEN];
    enum pf_rc rc =
        pf_buf_printf(out,
                      "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>",
                      SL, SH - SB, SW - SR, SH - SB, SL, ST, SL, SH - SB, SL - 4, SH - SB + 4,
                      SL - 4, ST + 8, ymax);

    for (size_t h = 0; !rc && h < d->nhours; h++) {
        int64_t t = d->start + (int64_t)h * 3600;
        if (t % 86400)
            continue;
        rparts_when(t, tb);
        rc = pf_buf_printf(out,
                           "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.5s</text>",
                           sx(d, (double)h - 0.5), SH - SB, sx(d, (double)h - 0.5), SH - SB + 4,
                           sx(d, (double)h - 0.5), SH - 8, tb + 5);
    }
    return rc;
}

static bool unmeasured(const struct host_detail *d, const char *path)
{
    for (size_t i = 0; i < d->nunmeasured; i++)
        if (strcmp(d->unmeasured[i], path) == 0)
            return true;
    return false;
}

/* TCP sockets by state per hour, stacked, at each hour's busiest
 * snapshot, with the ephemeral ports in use of that snapshot dashed. */
static enum pf_rc states_chart(const struct page *pg, const struct fleet_host *x,
                               const struct host_detail *d)
{
    struct pf_buf *out = pg->out;
    double ymax = 0, peak[PF_TCP_NSTATES] = {0};
    char path[48];
    enum pf_rc rc;
    bool pen;

    for (size_t h = 0; h < d->nhours; h++) {
        double sum = 0;
        for (int s = 0; s < PF_TCP_NSTATES; s++) {
            sum += v0(d->hours[h].states[s]);
            if (v0(d->hours[h].states[s]) > peak[s])
                peak[s] = d->hours[h].states[s];
        }
        if (sum > ymax)
            ymax = sum;
        if (v0(d->hours[h].ephemeral) > ymax)
            ymax = d->hours[h].ephemeral;
    }
    ymax = ymax > 0 ? ymax * 1.1 : 1;
    rc = pf_buf_puts(out, "<h2>TCP sockets by state</h2><p class=\"muted\">Per hour, the states "
                          "of the hour's busiest snapshot (most ephemeral ports in use), "
                          "stacked; dashed: ephemeral ports in use. BOUND sockets (bound, "
                          "neither listening nor connected) are the classic leak.</p>"
                          "<div class=\"legend\">");
    for (size_t k = 0; !rc && k < PF_ARRAY_LEN(stack); k++) {
        const char *name = pf_tcp_state_name(stack[k].st);
        snprintf(path, sizeof(path), "tcp.states.%s", name);
        if (!d->states_measured[stack[k].st] || unmeasured(d, path))
            rc = pf_buf_printf(out,
                               "<span class=\"state-key unmeasured\" data-state=\"%s\"><i "
                               "class=\"sw\" style=\"background:%s\"></i>%s: not measured</span>",
                               name, stack[k].color, name);
        else
            rc = pf_buf_printf(out,
                               "<span class=\"state-key\" data-state=\"%s\"><i class=\"sw\" "
                               "style=\"background:%s\"></i>%s (peak %.0f)</span>",
                               name, stack[k].color, name, peak[stack[k].st]);
    }
    if (!rc)
        rc = pf_buf_puts(out, "</div>");
    if (!rc)
        rc = pf_buf_printf(out,
                           "<svg class=\"states-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                           "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                           "role=\"img\"><title>",
                           SW, SH, SW, SH);
    if (!rc)
        rc = rparts_esc(out, x->name);
    if (!rc)
        rc = pf_buf_puts(out, ": TCP sockets by state per hour</title>");
    if (!rc)
        rc = axes(out, d, ymax);
    /* One polygon per state and run of hours with data: the top edge left
     * to right, the bottom edge back. */
    for (size_t k = 0; !rc && k < PF_ARRAY_LEN(stack); k++) {
        enum pf_tcp_state st = stack[k].st;
        size_t h = 0;
        if (!(peak[st] > 0))
            continue;
        rc = pf_buf_printf(out, "<path class=\"state %s\" fill=\"%s\" d=\"", pf_tcp_state_name(st),
                           stack[k].color);
        while (!rc && h < d->nhours) {
            size_t a, b;
            while (h < d->nhours && !hour_present(&d->hours[h]))
                h++;
            if (h == d->nhours)
                break;
            a = h;
            while (h < d->nhours && hour_present(&d->hours[h]))
                h++;
            b = h; /* run [a, b) */
            for (size_t i = a; !rc && i < b; i++) {
                double lo = 0;
                for (size_t j = 0; j < k; j++)
                    lo += v0(d->hours[i].states[stack[j].st]);
                rc = pf_buf_printf(out, "%s%.1f %.1f ", i == a ? "M" : "L", sx(d, (double)i),
                                   sy(lo + v0(d->hours[i].states[st]), ymax));
            }
            for (size_t i = b; !rc && i > a; i--) {
                double lo = 0;
                for (size_t j = 0; j < k; j++)
                    lo += v0(d->hours[i - 1].states[stack[j].st]);
                rc = pf_buf_printf(out, "L%.1f %.1f ", sx(d, (double)(i - 1)), sy(lo, ymax));
            }
            if (!rc)
                rc = pf_buf_puts(out, "Z ");
        }
        if (!rc)
            rc = pf_buf_printf(out, "\"><title>%s</title></path>", pf_tcp_state_name(st));
    }
    if (!rc)
        rc = pf_buf_puts(out, "<path class=\"eph\" d=\"");
    pen = false;
    for (size_t h = 0; !rc && h < d->nhours; h++) {
        if (!stats_present(d->hours[h].ephemeral)) {
            pen = false;
            continue;
        }
        rc = pf_buf_printf(out, "%s%.1f %.1f ", pen ? "L" : "M", sx(d, (double)h),
                           sy(d->hours[h].ephemeral, ymax));
        pen = true;
    }
    if (!rc)
        rc = pf_buf_puts(out, "\"/>");
    if (!rc && x->tcp_usable && x->tcp_usable < ymax)
        rc = pf_buf_printf(out,
                           "<line class=\"range\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                           "y2=\"%.1f\"/><text class=\"rl\" x=\"%.1f\" y=\"%.1f\" "
                           "text-anchor=\"end\">%u</text>",
                           SL, sy(x->tcp_usable, ymax), SW - SR, sy(x->tcp_usable, ymax), SL - 4,
                           sy(x->tcp_usable, ymax) + 4, (unsigned)x->tcp_usable);
    return rc ? rc : pf_buf_puts(out, "</svg>");
}

/* Whether a finding of this host names process p. */
static const struct finding *culprit(const struct capacity *c, const char *agent_id,
                                     const char *name, const char *service)
{
    for (size_t i = 0; i < c->findings->n; i++) {
        const struct finding *f = &c->findings->v[i];
        if (f->has_process && strcmp(f->agent_id, agent_id) == 0 &&
            strcmp(f->process_name, name) == 0 && strcmp(f->process_service, service) == 0)
            return f;
    }
    return NULL;
}

static enum pf_rc procs_section(const struct page *pg, const struct fleet_host *x,
                                const struct host_detail *d)
{
    struct pf_buf *out = pg->out;
    double ymax = 0;
    enum pf_rc rc;

    rc = pf_buf_printf(out,
                       "<h2>Top processes over time</h2><p class=\"muted\">Ports each process "
                       "held per hour (hourly maximum of TCP + UDP ports in the dynamic range; "
                       "tracked from %d ports). %zu processes tracked in the window; the %zu "
                       "with the highest peak:</p>",
                       FLEET_PROC_MIN_HELD, d->procs_seen, d->nprocs);
    if (!rc && d->nprocs == 0)
        return pf_buf_puts(out, "<p>No process held enough ports to be tracked.</p>");
    for (size_t k = 0; k < d->nprocs; k++)
        if (d->procs[k].peak > ymax)
            ymax = d->procs[k].peak;
    ymax = ymax > 0 ? ymax * 1.1 : 1;
    if (!rc)
        rc = pf_buf_printf(out,
                           "<svg class=\"procs-chart\" xmlns=\"http://www.w3.org/2000/svg\" "
                           "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                           "role=\"img\"><title>top processes: ports held per hour</title>",
                           SW, SH, SW, SH);
    if (!rc)
        rc = axes(out, d, ymax);
    for (size_t k = 0; !rc && k < d->nprocs; k++) {
        const struct host_detail_proc *p = &d->procs[k];
        bool pen = false;
        rc = pf_buf_printf(out, "<path class=\"pline\" stroke=\"%s\" d=\"", proc_colors[k]);
        for (size_t h = 0; !rc && h < d->nhours; h++) {
            if (!stats_present(p->held[h])) {
                pen = false;
                continue;
            }
            rc = pf_buf_printf(out, "%s%.1f %.1f ", pen ? "L" : "M", sx(d, (double)h),
                               sy(p->held[h], ymax));
            pen = true;
        }
        if (!rc)
            rc = pf_buf_puts(out, "\"><title>");
        if (!rc)
            rc = rparts_esc(out, p->name);
        if (!rc)
            rc = pf_buf_puts(out, "</title></path>");
    }
    if (!rc)
        rc = pf_buf_puts(out, "</svg><table class=\"procs\"><tr><th></th><th>process</th>"
                              "<th>service</th><th>peak ports</th><th>last hour</th><th>peak "
                              "BOUND</th><th>last remote</th><th>finding</th></tr>");
    for (size_t k = 0; !rc && k < d->nprocs; k++) {
        const struct host_detail_proc *p = &d->procs[k];
        const struct finding *f = culprit(pg->c, x->agent_id, p->name, p->service);
        rc = pf_buf_printf(out,
                           "<tr class=\"proc%s\"><td><i class=\"sw\" style=\"background:%s\">"
                           "</i></td><td class=\"process\">",
                           f ? " culprit" : "", proc_colors[k]);
        if (!rc)
            rc = rparts_esc(out, p->name);
        if (!rc)
            rc = pf_buf_puts(out, "</td><td>");
        if (!rc)
            rc = rparts_esc(out, p->service);
        if (!rc)
            rc = pf_buf_printf(out, "</td><td class=\"n\">%.0f</td>", p->peak);
        if (!rc)
            rc = stats_present(p->last) ? pf_buf_printf(out, "<td class=\"n\">%.0f</td>", p->last)
                                        : pf_buf_puts(out, "<td class=\"n\">-</td>");
        if (!rc)
            rc = pf_buf_printf(out, "<td class=\"n\">%.0f</td><td>", p->peak_bound);
        if (!rc && p->has_remote) {
            rc = rparts_esc(out, p->remote.addr);
            if (!rc)
                rc = pf_buf_printf(out, ":%u", (unsigned)p->remote.port);
        }
        if (!rc)
            rc = pf_buf_printf(out, "</td><td>%s</td></tr>", f ? finding_kind_name(f->kind) : "");
    }
    return rc ? rc : pf_buf_puts(out, "</table>");
}

static enum pf_rc remotes_section(const struct page *pg, const struct host_detail *d)
{
    struct pf_buf *out = pg->out;
    char tb[PF_TIME_LEN];
    enum pf_rc rc = pf_buf_printf(out,
                                  "<h2>Top remote endpoints</h2><p class=\"muted\">Most "
                                  "connections at once to each remote endpoint since %s.</p>",
                                  rparts_when(d->remotes_from, tb));

    if (!rc && d->nremotes == 0)
        return pf_buf_puts(out, "<p>No remote endpoint was reported.</p>");
    if (!rc)
        rc = pf_buf_puts(out, "<table class=\"remotes\"><tr><th>remote</th><th>port</th>"
                              "<th>connections</th></tr>");
    for (size_t i = 0; !rc && i < d->nremotes; i++) {
        rc = pf_buf_puts(out, "<tr><td>");
        if (!rc)
            rc = rparts_esc(out, d->remotes[i].ep.addr);
        if (!rc)
            rc = pf_buf_printf(out, "</td><td class=\"n\">%u</td><td class=\"n\">%llu</td></tr>",
                               (unsigned)d->remotes[i].ep.port,
                               (unsigned long long)d->remotes[i].ep.count);
    }
    return rc ? rc : pf_buf_puts(out, "</table>");
}

static enum pf_rc events_section(const struct page *pg, const struct fleet_host *x,
                                 const struct host_detail *d)
{
    const struct fleet *f = pg->c->fleet;
    struct pf_buf *out = pg->out;
    struct fleet_events day = {0, 0, 0, 0};
    bool any = false;
    char tb[PF_TIME_LEN];
    enum pf_rc rc = pf_buf_puts(out, "<h2>Events</h2>");

    if (!rc && (!fleet_host_is_windows(x) || (d && unmeasured(d, "events"))))
        return pf_buf_puts(out, "<p class=\"muted\">Not measured on this host (Windows "
                                "event log counts only).</p>");
    if (!rc)
        rc = pf_buf_puts(out, "<table class=\"events\"><tr><th>day</th><th>4227 (TIME_WAIT "
                              "reuse)</th><th>4231 (TCP allocation failed)</th><th>4266 (UDP "
                              "allocation failed)</th><th>5719 (Netlogon)</th></tr>");
    for (size_t h = 0; !rc && h < f->nhours; h++) {
        const struct fleet_events *e = &x->events[h];
        int64_t t = f->start + (int64_t)h * 3600;
        day.tcpip_4227 += e->tcpip_4227;
        day.tcpip_4231 += e->tcpip_4231;
        day.tcpip_4266 += e->tcpip_4266;
        day.netlogon_5719 += e->netlogon_5719;
        if ((t + 3600) % 86400 != 0 && h + 1 < f->nhours)
            continue;
        if (day.tcpip_4227 + day.tcpip_4231 + day.tcpip_4266 + day.netlogon_5719) {
            any = true;
            rparts_when(t, tb);
            rc = pf_buf_printf(
                out,
                "<tr%s><td>%.10s</td><td class=\"n\">%llu</td><td "
                "class=\"n\">%llu</td><td class=\"n\">%llu</td><td "
                "class=\"n\">%llu</td></tr>",
                day.tcpip_4231 + day.tcpip_4266 ? " class=\"critical\"" : "", tb,
                (unsigned long long)day.tcpip_4227, (unsigned long long)day.tcpip_4231,
                (unsigned long long)day.tcpip_4266, (unsigned long long)day.netlogon_5719);
        }
        memset(&day, 0, sizeof(day));
    }
    if (!rc && !any)
        rc = pf_buf_puts(out, "<tr><td colspan=\"5\" class=\"ok\">none logged in the window"
                              "</td></tr>");
    return rc ? rc : pf_buf_puts(out, "</table>");
}

static enum pf_rc count_cell(struct pf_buf *out, const char *what, int64_t v)
{
    if (v < 0)
        return pf_buf_printf(out, "<tr><th>%s</th><td>not sent</td></tr>", what);
    return pf_buf_printf(out, "<tr><th>%s</th><td class=\"n\">%lld</td></tr>", what, (long long)v);
}

static enum pf_rc health_section(const struct page *pg, const struct fleet_host *x,
                                 const struct host_detail *d)
{
    const struct capacity *c = pg->c;
    struct pf_buf *out = pg->out;
    char tb[PF_TIME_LEN];
    double expected;
    enum pf_rc rc = pf_buf_puts(out, "<h2>Agent health</h2>");

    if (!rc && !d->has_latest)
        return pf_buf_puts(out, "<p>No snapshot stored up to now (older ones may have passed "
                                "retention).</p>");
    expected = d->interval_s ? (double)(c->params.now - c->fleet->start) / d->interval_s : 0;
    if (!rc)
        rc = pf_buf_printf(out,
                           "<table class=\"health\"><tr><th>last snapshot</th><td>%s%s</td></tr>"
                           "<tr><th>agent version</th><td>",
                           rparts_when(d->latest_at, tb),
                           plan_host_silent(x, &c->params) ? " (silent)" : "");
    if (!rc)
        rc = rparts_esc(out, d->agent_version);
    if (!rc)
        rc = pf_buf_puts(out, "</td></tr><tr><th>OS version</th><td>");
    if (!rc)
        rc = rparts_esc(out, d->os_version);
    if (!rc)
        rc = pf_buf_printf(out,
                           "</td></tr><tr><th>interval</th><td class=\"n\">%u s</td></tr>"
                           "<tr><th>snapshots stored in the window</th><td class=\"n\">%llu "
                           "(about %.0f expected)</td></tr>",
                           (unsigned)d->interval_s, (unsigned long long)d->snapshots, expected);
    if (!rc)
        rc = count_cell(out, "spool depth (snapshots waiting)", d->spool_depth);
    if (!rc)
        rc = count_cell(out, "dropped by the spool cap", d->spool_dropped);
    if (!rc)
        rc = count_cell(out, "corrupt spool entries skipped", d->spool_corrupt);
    if (!rc)
        rc = pf_buf_puts(out, "<tr><th>last push error</th><td class=\"last-error\">");
    if (!rc && d->last_error[0])
        rc = rparts_esc(out, d->last_error);
    else if (!rc)
        rc = pf_buf_puts(out, "none in the latest snapshot");
    if (!rc && d->error_at) {
        rc = pf_buf_printf(out,
                           "<br><span class=\"muted\">%llu snapshots of the window carried "
                           "an error; the last at %s: ",
                           (unsigned long long)d->snapshots_with_error,
                           rparts_when(d->error_at, tb));
        if (!rc)
            rc = rparts_esc(out, d->error);
        if (!rc)
            rc = pf_buf_puts(out, "</span>");
    }
    if (!rc)
        rc = pf_buf_puts(out, "</td></tr><tr><th>unmeasured fields</th><td class=\"unmeasured\">");
    for (size_t i = 0; !rc && i < d->nunmeasured; i++) {
        rc = pf_buf_puts(out, i ? ", <code>" : "<code>");
        if (!rc)
            rc = rparts_esc(out, d->unmeasured[i]);
        if (!rc)
            rc = pf_buf_puts(out, "</code>");
    }
    if (!rc && d->nunmeasured == 0)
        rc = pf_buf_puts(out, "none");
    if (!rc)
        rc = pf_buf_printf(out, "</td></tr><tr><th>lists truncated</th><td>%s</td></tr></table>",
                           d->truncated ? "yes (over 50 processes or remotes)" : "no");
    return rc;
}

static enum pf_rc forecast_section(const struct page *pg, size_t i)
{
    const struct capacity *c = pg->c;
    const struct fleet_host *x = &c->fleet->hosts[i];
    const struct host_pressure *hp = &c->pressure[i];
    struct pf_buf *out = pg->out;
    char tb[PF_TIME_LEN], tb2[PF_TIME_LEN];
    size_t n = 0;
    enum pf_rc rc = pf_buf_puts(out, "<h2>Forecast</h2><ul class=\"forecast\">");

    for (size_t k = 0; !rc && k < c->findings->n; k++) {
        const struct finding *f = &c->findings->v[k];
        if (strcmp(f->agent_id, x->agent_id) != 0 || !f->has_exhaustion)
            continue;
        n++;
        rc = pf_buf_printf(out, "<li><b>full at %s</b> (%s", rparts_when(f->exhaustion_at, tb),
                           finding_kind_name(f->kind));
        if (!rc && f->has_process) {
            rc = pf_buf_puts(out, ": ");
            if (!rc)
                rc = rparts_esc(out, f->process_name);
        }
        if (!rc && f->has_rate)
            rc = pf_buf_printf(out, ", %+.1f ports/hour", f->rate_per_hour);
        if (!rc)
            rc = pf_buf_puts(out, ")</li>");
    }
    if (!rc && hp->has_forecast && hp->forecast_growth.fit != STATS_GROWTH_NONE) {
        n++;
        rc = pf_buf_printf(out,
                           "<li>%s: daily peaks grow %s (%.1f a day now, fitted to %zu days, %zu "
                           "quiet left out): full at <b>%s</b></li>",
                           hp->forecast_what, stats_growth_fit_name(hp->forecast_growth.fit),
                           hp->forecast_growth.per_day, hp->forecast_growth.days,
                           hp->forecast_growth.quiet_days, rparts_when(hp->exhaustion_at, tb));
    } else if (!rc && hp->has_forecast) {
        n++;
        rc = pf_buf_printf(out,
                           "<li>%s rise %+.1f per hour, measured from %s to the last hour "
                           "(level %.0f, limit %.0f): full at <b>%s</b></li>",
                           hp->forecast_what, hp->forecast_rate,
                           rparts_when(hp->forecast_since, tb2), hp->forecast_level,
                           hp->forecast_limit, rparts_when(hp->exhaustion_at, tb));
    }
    if (!rc && n == 0)
        rc = pf_buf_printf(out,
                           "<li class=\"ok\">No steady rise to the limit within %.0f days "
                           "(TCP trend %+.1f ports/hour).</li>",
                           c->params.horizon_days, hp->tcp_trend);
    return rc ? rc : pf_buf_puts(out, "</ul>");
}

/* The latest hour's value of sizing series k, NaN when never reported. */
static double last_sizing(const struct fleet *f, const struct fleet_host *x, int k)
{
    for (size_t h = f->nhours; x->sz[k] && h-- > 0;)
        if (stats_present(x->sz[k][h]))
            return x->sz[k][h];
    return NAN;
}

/* One row of the resources table: data-sizing names the /v1/hosts field
 * (host.sizing) whose value data-value repeats, at the API's rounding. */
static enum pf_rc sizing_row(struct pf_buf *out, const char *field, double v, double scale,
                             const char *what, const char *text)
{
    return pf_buf_printf(out,
                         "<tr data-sizing=\"%s\" data-value=\"%.3f\"><th>%s</th><td>%s</td>"
                         "</tr>",
                         field, round(v * scale) / scale, what, text);
}

/* CPU, memory, sessions, VPN ports and the address pool where the host
 * reports them: the peaks the findings and the plan use (resources.h). */
static enum pf_rc resources_section(const struct page *pg, const struct fleet_host *x)
{
    const struct capacity *c = pg->c;
    struct pf_buf *out = pg->out;
    struct res_peaks pk;
    char t[256];
    enum pf_rc rc = resources_host_peaks(c->fleet, x, &pk);
    double tu = c->params.target_utilization * 100;
    bool any = stats_present(pk.cpu_pct) || stats_present(pk.mem_mb) ||
               stats_present(pk.sessions) || stats_present(pk.users) || stats_present(pk.rps) ||
               stats_present(pk.vpn_ports_util) || stats_present(pk.pool_util);

    if (rc)
        return rc;
    rc = pf_buf_puts(out, "<h2>Resources</h2>");
    if (!rc && !any)
        return pf_buf_puts(out, "<p class=\"muted\">The host reports no CPU, memory, "
                                "sessions, VPN ports or address pool.</p>");
    if (!rc)
        rc = pf_buf_printf(out,
                           "<p class=\"muted\">Peaks: the p99 of the hourly maxima over the "
                           "window; the target is %.0f%% of each limit.</p><table "
                           "class=\"resources\">",
                           tu);
    if (!rc && stats_present(pk.cpu_pct)) {
        snprintf(t, sizeof(t), "%.1f%% of %u cores (%.1f cores)", pk.cpu_pct, (unsigned)x->cpus,
                 pk.cpu_pct * x->cpus / 100);
        rc = sizing_row(out, "cpu_peak_pct", pk.cpu_pct, 10, "CPU peak", t);
    }
    if (!rc && stats_present(pk.mem_mb)) {
        if (stats_present(pk.mem_util))
            snprintf(t, sizeof(t), "%.0f MB of %llu MB (%.0f%%)", pk.mem_mb,
                     (unsigned long long)x->memory_mb, pk.mem_util * 100);
        else
            snprintf(t, sizeof(t), "%.0f MB", pk.mem_mb);
        rc = sizing_row(out, "memory_peak_mb", pk.mem_mb, 1, "memory in use, peak", t);
    }
    if (!rc && stats_present(pk.mem_util)) {
        snprintf(t, sizeof(t), "%.1f%% of %llu MB", pk.mem_util * 100,
                 (unsigned long long)x->memory_mb);
        rc = sizing_row(out, "memory_peak_utilization", pk.mem_util, 1000, "memory, peak share", t);
    }
    if (!rc && stats_present(pk.sessions)) {
        snprintf(t, sizeof(t), "%.0f TCP and UDP sessions", pk.sessions);
        rc = sizing_row(out, "sessions_peak", pk.sessions, 1, "sessions, peak", t);
    }
    if (!rc && stats_present(pk.users)) {
        snprintf(t, sizeof(t), "%.0f (Cloudflare: about %d per host)", pk.users,
                 RES_CF_USERS_PER_HOST);
        rc = sizing_row(out, "users_peak", pk.users, 1, "users, peak", t);
    }
    if (!rc && stats_present(pk.rps)) {
        snprintf(t, sizeof(t), "%.1f (Microsoft: %.0f for %u cores)", pk.rps,
                 resources_entra_rps(x->cpus), (unsigned)x->cpus);
        rc = sizing_row(out, "requests_per_s_peak", pk.rps, 10, "requests/s, peak", t);
    }
    if (!rc && stats_present(pk.vpn_ports_util)) {
        size_t o = 0;
        int n = snprintf(t, sizeof(t), "%.0f%% of the %s ports configured (configured now:",
                         pk.vpn_ports_util * 100, pf_vpn_proto_name(pk.vpn_proto));
        o = n > 0 && (size_t)n < sizeof(t) ? (size_t)n : sizeof(t) - 1;
        for (int k = 0; k < PF_VPN_NPROTO && o < sizeof(t) - 1; k++) {
            double conf = last_sizing(c->fleet, x, SZ_CONF_IKEV2 + k);
            double used = last_sizing(c->fleet, x, SZ_PORTS_IKEV2 + k);
            if (!stats_present(conf))
                continue;
            n = snprintf(t + o, sizeof(t) - o, " %s %.0f in use of %.0f", pf_vpn_proto_name(k),
                         stats_present(used) ? used : 0, conf);
            o = n > 0 && (size_t)n < sizeof(t) - o ? o + (size_t)n : sizeof(t) - 1;
        }
        if (o < sizeof(t) - 1)
            snprintf(t + o, sizeof(t) - o, ")");
        rc = sizing_row(out, "vpn_ports_peak_utilization", pk.vpn_ports_util, 1000,
                        "VPN ports, peak", t);
    }
    if (!rc && stats_present(pk.pool_util)) {
        double used = last_sizing(c->fleet, x, SZ_POOL_USED);
        double size = last_sizing(c->fleet, x, SZ_POOL_SIZE);
        snprintf(t, sizeof(t), "%.0f%% of the pool (now %.0f of %.0f addresses)",
                 pk.pool_util * 100, stats_present(used) ? used : 0,
                 stats_present(size) ? size : 0);
        rc = sizing_row(out, "address_pool_peak_utilization", pk.pool_util, 1000,
                        "client address pool, peak", t);
    }
    return rc ? rc : pf_buf_puts(out, "</table>");
}

enum pf_rc report_html_host(const struct capacity *c, const char *agent_id,
                            const struct host_detail *d, const struct report_links *l,
                            struct pf_buf *out)
{
    struct page pg = {c, l, 1, out};
    struct fleet_host *x = fleet_host_find(c->fleet, agent_id);
    const struct host_pressure *hp;
    const struct plan_site *site;
    size_t i, site_findings = 0;
    char tb[PF_TIME_LEN];
    enum pf_rc rc;

    if (!x)
        return PF_NOTFOUND;
    site = plan_find(c->plan, x->tenant, x->site);
    i = (size_t)(x - c->fleet->hosts);
    hp = &c->pressure[i];
    for (size_t k = 0; k < c->findings->n; k++)
        site_findings += !c->findings->v[k].agent_id[0] &&
                         strcmp(c->findings->v[k].site, x->site) == 0 &&
                         strcmp(c->findings->v[k].tenant, x->tenant) == 0;
    rc = head(&pg, "Host", x->name);
    if (!rc)
        rc = pf_buf_puts(out, "<section class=\"host\" data-agent=\"");
    if (!rc)
        rc = rparts_esc(out, x->agent_id);
    if (!rc)
        rc = pf_buf_puts(out, "\"><p>site ");
    if (!rc)
        rc = anchor(&pg, TO_SITE, x->tenant, x->site, x->site, "site-link");
    if (!rc)
        rc = pf_buf_puts(out, "; agent <code>");
    if (!rc)
        rc = rparts_esc(out, x->agent_id);
    if (!rc)
        rc = pf_buf_puts(out, "</code>; ");
    if (!rc)
        rc = rparts_esc(out, x->os);
    for (size_t k = 0; !rc && k < x->nroles; k++) {
        rc = pf_buf_puts(out, k ? ", " : "; roles ");
        if (!rc)
            rc = rparts_esc(out, x->roles[k]);
    }
    if (!rc)
        rc = pf_buf_printf(out,
                           "; %u CPUs, %llu MB; TCP range %u-%u, %u usable; in use %llu at "
                           "%s%s; peak demand (p99) %.0f, %.0f%% of usable.</p>",
                           (unsigned)x->cpus, (unsigned long long)x->memory_mb,
                           (unsigned)x->tcp_range.start,
                           (unsigned)(x->tcp_range.start + x->tcp_range.count - 1),
                           (unsigned)x->tcp_usable, (unsigned long long)x->last_tcp_in_use,
                           x->last_seen ? rparts_when(x->last_seen, tb) : "never",
                           plan_host_silent(x, &c->params) ? " (silent)" : "",
                           stats_present(hp->tcp_peak) ? hp->tcp_peak : 0, hp->utilization * 100);
    if (!rc)
        rc = site ? rparts_findings(c, site, x->agent_id, NULL, NULL, out) : PF_OK;
    if (!rc && site_findings) {
        rc = pf_buf_printf(out, "<p>%zu finding%s about the whole site: see ", site_findings,
                           site_findings == 1 ? "" : "s");
        if (!rc)
            rc = anchor(&pg, TO_SITE, x->tenant, x->site, x->site, "site-link");
        if (!rc)
            rc = pf_buf_puts(out, ".</p>");
    }
    if (!rc)
        rc = forecast_section(&pg, i);
    if (!rc)
        rc = resources_section(&pg, x);
    if (!rc)
        rc = pf_buf_puts(out, "<h2>Ports in use</h2><p class=\"muted\">TCP ports in use per "
                              "hour (maximum), the usable range (red) and the forecast "
                              "(dashed).</p>");
    if (!rc)
        rc = rparts_chart(c, i, RPARTS_CHART_FULL, out);
    if (!rc && d)
        rc = states_chart(&pg, x, d);
    if (!rc && d)
        rc = procs_section(&pg, x, d);
    if (!rc && d)
        rc = remotes_section(&pg, d);
    if (!rc)
        rc = events_section(&pg, x, d);
    if (!rc && d)
        rc = health_section(&pg, x, d);
    if (!rc && !d)
        rc = pf_buf_puts(out, "<p class=\"muted\">The stored detail (states, processes, "
                              "remotes, agent health) was not loaded.</p>");
    if (!rc)
        rc = pf_buf_puts(out, "</section>");
    return rc ? rc : tail(&pg);
}
