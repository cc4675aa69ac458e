/* SPDX-License-Identifier: MIT */
/* report_text.c: `portfleet-collector report --format text`: what an
 * administrator reads in a terminal, site by site. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "timeutil.h"

static const char *when(int64_t t, char buf[PF_TIME_LEN])
{
    if (pf_time_format(t, buf) != PF_OK)
        snprintf(buf, PF_TIME_LEN, "?");
    return buf;
}

static enum pf_rc site_text(const struct capacity *c, const struct plan_site *s, struct pf_buf *out)
{
    enum pf_rc rc;
    char t[PF_TIME_LEN];

    rc = pf_buf_printf(out,
                       "\n== site %s%s%s ==\n"
                       "hosts %zu (%zu reporting), recommended %zu, add %zu\n"
                       "peak %.0f ports (p95 %.0f, p99 %.0f) of the site's hourly sum; growth "
                       "%.1f/day; demand in %.0f days %.0f\n"
                       "per host: %u usable now, %u after widening; capacity %.0f at %.0f%%\n",
                       s->site, strcmp(s->tenant, "default") ? " of tenant " : "",
                       strcmp(s->tenant, "default") ? s->tenant : "", s->hosts, s->reporting_hosts, s->recommended_hosts, s->add_hosts,
                       s->peak, s->p95, s->p99, s->growth_per_day, s->horizon_days, s->demand,
                       (unsigned)s->usable_per_host, (unsigned)s->usable_per_host_widened,
                       s->capacity_per_host, s->target_utilization * 100);
    /* What each measured resource needs; the binding one sets the count. */
    if (!rc)
        rc = pf_buf_printf(out, "binding resource: %s; hosts needed:", plan_binding_name(s->binding));
    for (int b = 0; !rc && b < PLAN_NBIND; b++)
        if (s->needs[b].measured)
            rc = pf_buf_printf(out, " %s %zu (%.0f %s, %.0f per host)", plan_binding_name(b),
                               s->needs[b].hosts, s->needs[b].demand, s->needs[b].unit,
                               s->needs[b].per_host);
    if (!rc)
        rc = pf_buf_puts(out, "\n");
    for (size_t i = 0; !rc && i < s->nchanges; i++) {
        rc = pf_buf_printf(out, "widen %s:\n", s->changes[i].host);
        for (size_t j = 0; !rc && j < s->changes[i].widen.ncommands; j++)
            rc = pf_buf_printf(out, "    %s\n", s->changes[i].widen.commands[j]);
    }
    for (size_t i = 0; !rc && i < s->nnotes; i++)
        rc = pf_buf_printf(out, "note: %s\n", s->notes[i]);

    if (!rc)
        rc = pf_buf_puts(out, "\nfindings:\n");
    for (size_t i = 0; !rc && i < c->findings->n; i++) {
        const struct finding *f = &c->findings->v[i];
        if (strcmp(f->site, s->site) != 0 || strcmp(f->tenant, s->tenant) != 0)
            continue;
        rc = pf_buf_printf(out, "  [%s] %s%s%s: %s\n", finding_severity_name(f->severity),
                           finding_kind_name(f->kind), f->host[0] ? " " : "", f->host, f->summary);
        if (!rc && f->has_exhaustion)
            rc = pf_buf_printf(out, "      exhaustion at %s\n", when(f->exhaustion_at, t));
        for (size_t j = 0; !rc && j < f->nremediation; j++)
            rc = pf_buf_printf(out, "      > %s\n", f->remediation[j]);
    }

    if (!rc)
        rc = pf_buf_printf(out, "\n  %-24s %-8s %7s %7s %7s %6s %7s %6s %8s  %s\n", "host", "os",
                           "usable", "now", "max", "max%", "demand", "dem%", "trend/h",
                           "exhaustion");
    for (size_t i = 0; !rc && i < c->fleet->nhosts; i++) {
        const struct fleet_host *x = &c->fleet->hosts[i];
        const struct host_pressure *hp = &c->pressure[i];
        if (!fleet_host_in_site(x, s->tenant, s->site))
            continue;
        /* max: all ports in use (leaks included); demand: the p99 the
         * plan sizes for (leaks left out). */
        rc = pf_buf_printf(out, "  %-24.24s %-8.8s %7u %7llu %7.0f %5.0f%% %7.0f %5.0f%% %8.1f  %s%s\n",
                           x->name, x->os, (unsigned)x->tcp_usable,
                           (unsigned long long)x->last_tcp_in_use,
                           stats_present(hp->inuse_max) ? hp->inuse_max : 0,
                           hp->inuse_utilization * 100,
                           stats_present(hp->tcp_peak) ? hp->tcp_peak : 0, hp->utilization * 100,
                           hp->tcp_trend, hp->has_full ? when(hp->full_at, t) : "-",
                           plan_host_silent(x, &c->params) ? " (silent)" : "");
    }
    return rc;
}

enum pf_rc report_text(const struct capacity *c, const char *site, struct pf_buf *out)
{
    char t[PF_TIME_LEN], w[PF_TIME_LEN];
    enum pf_rc rc;

    rc = pf_buf_printf(out, "portfleet capacity report, %s (window from %s, horizon %.0f days)\n",
                       when(c->params.now, t), when(c->fleet->start, w), c->params.horizon_days);
    for (size_t i = 0; !rc && i < c->plan->nsites; i++) {
        const struct plan_site *s = &c->plan->sites[i];
        if (site && site[0] && strcmp(s->site, site) != 0)
            continue;
        rc = site_text(c, s, out);
    }
    return rc;
}
