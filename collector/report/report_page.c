/* SPDX-License-Identifier: MIT */
/* report_page.c: what the report's pages share (report_page.h): links
 * served or as files, a page's frame, and the per-site figures. */
#include "report_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_parts.h"
#include "stats.h"
#include "timeutil.h"

/* ---- links ---- */

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

/* tenant: a site's (RPAGE_TO_SITE), else NULL. */
enum pf_rc rpage_href(const struct rpage *pg, enum rpage_target t, const char *tenant,
                      const char *name)
{
    static const char *const files[2][3] = {{"index.html", "site/", "host/"},
                                            {"../index.html", "../site/", "../host/"}};
    static const char *const served[2][3] = {{"report", "report/site/", "report/host/"},
                                             {"../../report", "../site/", "../host/"}};
    bool f = pg->l && pg->l->files;
    enum pf_rc rc = pf_buf_puts(pg->out, (f ? files : served)[pg->depth][t]);

    bool q = !f && pg->l && pg->l->query && pg->l->query[0];

    if (!rc && t == RPAGE_TO_SITE && f)
        rc = site_file(pg->out, tenant, name);
    else if (!rc && t != RPAGE_TO_OVERVIEW)
        rc = segment(pg->out, name, f);
    if (!rc && t != RPAGE_TO_OVERVIEW && f)
        rc = pf_buf_puts(pg->out, ".html");
    if (!rc && q)
        rc = pf_html_escape(pg->out, pg->l->query);
    /* Served: the tenant as a parameter (tenant names are [a-z0-9-]); an
     * operator sees every tenant, whose sites may share a name. */
    if (!rc && !f && t == RPAGE_TO_SITE && other_tenant(tenant))
        rc = pf_buf_printf(pg->out, "%stenant=%s", q ? "&amp;" : "?", tenant);
    return rc;
}

/* <a class="cls" href="...">text</a> */
enum pf_rc rpage_anchor(const struct rpage *pg, enum rpage_target t, const char *tenant,
                        const char *name, const char *text, const char *cls)
{
    enum pf_rc rc = pf_buf_printf(pg->out, "<a class=\"%s\" href=\"", cls);

    if (!rc)
        rc = rpage_href(pg, t, tenant, name);
    if (!rc)
        rc = pf_buf_puts(pg->out, "\">");
    if (!rc)
        rc = pf_html_escape(pg->out, text);
    return rc ? rc : pf_buf_puts(pg->out, "</a>");
}

enum pf_rc rpage_host_link(void *ud, struct pf_buf *out, const char *agent_id, const char *text)
{
    const struct rpage *pg = ud;
    (void)out; /* pg->out is the same buffer */
    return rpage_anchor(pg, RPAGE_TO_HOST, NULL, agent_id, text, "host-link");
}
/* ---- the frame of a page ---- */

enum pf_rc rpage_head(const struct rpage *pg, const char *title, const char *title2)
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
        rc = pf_html_escape(pg->out, title);
    if (!rc && title2) {
        rc = pf_buf_puts(pg->out, " ");
        if (!rc)
            rc = pf_html_escape(pg->out, title2);
    }
    if (!rc)
        rc = pf_buf_printf(pg->out, " - portfleet</title><style>%s</style></head><body>",
                           rparts_style);
    if (!rc && title2) { /* a site or host page */
        rc = pf_buf_puts(pg->out, "<nav class=\"crumbs\">");
        if (!rc)
            rc = rpage_anchor(pg, RPAGE_TO_OVERVIEW, NULL, "", "fleet overview", "overview-link");
        if (!rc)
            rc = pf_buf_puts(pg->out, "</nav>");
    }
    if (!rc) {
        rc = pf_buf_puts(pg->out, "<h1>");
        if (!rc)
            rc = pf_html_escape(pg->out, title);
        if (!rc && title2) {
            rc = pf_buf_puts(pg->out, " ");
            if (!rc)
                rc = pf_html_escape(pg->out, title2);
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

enum pf_rc rpage_tail(const struct rpage *pg)
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
const char *rpage_binding_resource(const struct plan_site *s)
{
    return plan_binding_name(s->binding);
}

/* The capacity and p99 rpage_headroom() compares. */
bool rpage_headroom_parts(const struct plan_site *s, double *cap, double *p99, double *per_host)
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

bool rpage_headroom(const struct plan_site *s, double *out)
{
    double cap, p99, per_host;

    if (!rpage_headroom_parts(s, &cap, &p99, &per_host))
        return false;
    *out = (cap - p99) / cap;
    return true;
}

void rpage_site_info(const struct capacity *c, const struct plan_site *s, struct rpage_site *si)
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
        if (rpage_finding_date(c, f, &at) && (!si->has_full || at < si->first_full)) {
            si->has_full = true;
            si->first_full = at;
        }
        si->leaks += f->kind == FINDING_PORT_LEAK;
    }
    si->has_headroom = rpage_headroom(s, &si->headroom);
}

/* Most urgent first: worst severity, then the earliest date a host is
 * full, more critical findings, more hosts to add, less headroom, name. */
int rpage_by_urgency(const void *a, const void *b)
{
    const struct rpage_site *x = a, *y = b;

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

enum pf_rc rpage_days_cell(struct pf_buf *out, int64_t at, int64_t now)
{
    double d = (double)(at - now) / 86400;
    if (d <= 0)
        return pf_buf_puts(out, "<td class=\"n\">now</td>");
    return pf_buf_printf(out, "<td class=\"n\">%.1f days</td>", d);
}

/* What the site should do, from its plan and findings. */
enum pf_rc rpage_action(const struct rpage_site *si, struct pf_buf *out)
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

/* A host's date of exhaustion from its findings: a leak's or a forecast's
 * date (past: it is full already), or now when it went silent while full.
 * The date of exhaustion_events is when the range was full in the past,
 * a history that does not date what comes next. */
bool rpage_finding_date(const struct capacity *c, const struct finding *f, int64_t *at)
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
