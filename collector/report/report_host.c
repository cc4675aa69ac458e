/* SPDX-License-Identifier: MIT */
/* report_host.c: one host's page (report_html_host, report.h): its
 * findings and forecast, ports in use, TCP sockets by state per hour
 * (BOUND apart), the top processes over time, top remotes, events and the
 * agent's own health, from the analysis and the stored detail
 * (host_detail.h). */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_detail.h"
#include "report_page.h"
#include "report_parts.h"
#include "resources.h"
#include "stats.h"
#include "timeutil.h"

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
static enum pf_rc states_chart(const struct rpage *pg, const struct fleet_host *x,
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
        rc = pf_html_escape(out, x->name);
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

static enum pf_rc procs_section(const struct rpage *pg, const struct fleet_host *x,
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
            rc = pf_html_escape(out, p->name);
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
            rc = pf_html_escape(out, p->name);
        if (!rc)
            rc = pf_buf_puts(out, "</td><td>");
        if (!rc)
            rc = pf_html_escape(out, p->service);
        if (!rc)
            rc = pf_buf_printf(out, "</td><td class=\"n\">%.0f</td>", p->peak);
        if (!rc)
            rc = stats_present(p->last) ? pf_buf_printf(out, "<td class=\"n\">%.0f</td>", p->last)
                                        : pf_buf_puts(out, "<td class=\"n\">-</td>");
        if (!rc)
            rc = pf_buf_printf(out, "<td class=\"n\">%.0f</td><td>", p->peak_bound);
        if (!rc && p->has_remote) {
            rc = pf_html_escape(out, p->remote.addr);
            if (!rc)
                rc = pf_buf_printf(out, ":%u", (unsigned)p->remote.port);
        }
        if (!rc)
            rc = pf_buf_printf(out, "</td><td>%s</td></tr>", f ? finding_kind_name(f->kind) : "");
    }
    return rc ? rc : pf_buf_puts(out, "</table>");
}

static enum pf_rc remotes_section(const struct rpage *pg, const struct host_detail *d)
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
            rc = pf_html_escape(out, d->remotes[i].ep.addr);
        if (!rc)
            rc = pf_buf_printf(out, "</td><td class=\"n\">%u</td><td class=\"n\">%llu</td></tr>",
                               (unsigned)d->remotes[i].ep.port,
                               (unsigned long long)d->remotes[i].ep.count);
    }
    return rc ? rc : pf_buf_puts(out, "</table>");
}

static enum pf_rc events_section(const struct rpage *pg, const struct fleet_host *x,
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

static enum pf_rc health_section(const struct rpage *pg, const struct fleet_host *x,
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
        rc = pf_html_escape(out, d->agent_version);
    if (!rc)
        rc = pf_buf_puts(out, "</td></tr><tr><th>OS version</th><td>");
    if (!rc)
        rc = pf_html_escape(out, d->os_version);
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
        rc = pf_html_escape(out, d->last_error);
    else if (!rc)
        rc = pf_buf_puts(out, "none in the latest snapshot");
    if (!rc && d->error_at) {
        rc = pf_buf_printf(out,
                           "<br><span class=\"muted\">%llu snapshots of the window carried "
                           "an error; the last at %s: ",
                           (unsigned long long)d->snapshots_with_error,
                           rparts_when(d->error_at, tb));
        if (!rc)
            rc = pf_html_escape(out, d->error);
        if (!rc)
            rc = pf_buf_puts(out, "</span>");
    }
    if (!rc)
        rc = pf_buf_puts(out, "</td></tr><tr><th>unmeasured fields</th><td class=\"unmeasured\">");
    for (size_t i = 0; !rc && i < d->nunmeasured; i++) {
        rc = pf_buf_puts(out, i ? ", <code>" : "<code>");
        if (!rc)
            rc = pf_html_escape(out, d->unmeasured[i]);
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

/* A date's STATS_CI_PCT% interval (findings.h): from the full date at the
 * upper bound of the rise to the one at its lower bound, or past the
 * horizon. */
static enum pf_rc interval(const struct rpage *pg, bool has, int64_t early, bool has_late,
                           int64_t late)
{
    const struct capacity *c = pg->c;
    char a[PF_TIME_LEN], b[PF_TIME_LEN];
    double now = (double)c->params.now;

    if (!has)
        return pf_buf_puts(pg->out, "<br><span class=\"interval muted\">no interval: too few "
                                    "hours to tell how sure the rise is</span>");
    rparts_when(early, a);
    if (!has_late)
        return pf_buf_printf(pg->out,
                             "<br><span class=\"interval\" data-early=\"%lld\">%d%% interval: "
                             "from <b>%s</b> (%.1f days) to <b>beyond the %.0f-day horizon</b> "
                             "(the rise may be slower, or stop)</span>",
                             (long long)early, STATS_CI_PCT, a, ((double)early - now) / 86400,
                             c->params.horizon_days);
    rparts_when(late, b);
    return pf_buf_printf(pg->out,
                         "<br><span class=\"interval\" data-early=\"%lld\" "
                         "data-late=\"%lld\">%d%% interval: from <b>%s</b> to <b>%s</b> (%.1f "
                         "to %.1f days from now)</span>",
                         (long long)early, (long long)late, STATS_CI_PCT, a, b,
                         ((double)early - now) / 86400, ((double)late - now) / 86400);
}

static enum pf_rc forecast_section(const struct rpage *pg, size_t i)
{
    const struct capacity *c = pg->c;
    const struct fleet_host *x = &c->fleet->hosts[i];
    const struct host_pressure *hp = &c->pressure[i];
    struct pf_buf *out = pg->out;
    char tb[PF_TIME_LEN], tb2[PF_TIME_LEN];
    size_t n = 0;
    enum pf_rc rc = pf_buf_printf(out,
                                  "<h2>Forecast</h2><p class=\"muted\">Each date with its %d%% "
                                  "interval: the date at the upper and the lower bound of the "
                                  "rise's rate (Sen's interval of the Theil-Sen slope, widened "
                                  "for hours that follow each other).</p><ul class=\"forecast\">",
                                  STATS_CI_PCT);

    for (size_t k = 0; !rc && k < c->findings->n; k++) {
        const struct finding *f = &c->findings->v[k];
        if (strcmp(f->agent_id, x->agent_id) != 0 || !f->has_exhaustion ||
            f->kind == FINDING_EXHAUSTION_FORECAST)
            continue; /* the forecast itself is the line below */
        n++;
        rc = pf_buf_printf(out, "<li class=\"dated\" data-at=\"%lld\"><b>full at %s</b> (%s",
                           (long long)f->exhaustion_at, rparts_when(f->exhaustion_at, tb),
                           finding_kind_name(f->kind));
        if (!rc && f->has_process) {
            rc = pf_buf_puts(out, ": ");
            if (!rc)
                rc = pf_html_escape(out, f->process_name);
        }
        if (!rc && f->has_rate)
            rc = pf_buf_printf(out, ", %+.1f ports/hour", f->rate_per_hour);
        if (!rc)
            rc = pf_buf_puts(out, ")");
        if (!rc && f->kind == FINDING_PORT_LEAK)
            rc = interval(pg, f->has_interval, f->early_at, f->has_late, f->late_at);
        if (!rc)
            rc = pf_buf_puts(out, "</li>");
    }
    if (!rc && hp->has_forecast && hp->forecast_growth.fit != STATS_GROWTH_NONE) {
        n++;
        rc = pf_buf_printf(out,
                           "<li class=\"dated forecast\" data-at=\"%lld\">%s: daily peaks grow "
                           "%s (%.1f a day now, fitted to %zu days, %zu quiet left out): full at "
                           "<b>%s</b>",
                           (long long)hp->exhaustion_at, hp->forecast_what,
                           stats_growth_fit_name(hp->forecast_growth.fit),
                           hp->forecast_growth.per_day, hp->forecast_growth.days,
                           hp->forecast_growth.quiet_days, rparts_when(hp->exhaustion_at, tb));
    } else if (!rc && hp->has_forecast) {
        n++;
        rc = pf_buf_printf(out,
                           "<li class=\"dated forecast\" data-at=\"%lld\">%s rise %+.1f per "
                           "hour, measured from %s to the last hour (level %.0f, limit %.0f): "
                           "full at <b>%s</b>",
                           (long long)hp->exhaustion_at, hp->forecast_what, hp->forecast_rate,
                           rparts_when(hp->forecast_since, tb2), hp->forecast_level,
                           hp->forecast_limit, rparts_when(hp->exhaustion_at, tb));
    }
    if (!rc && hp->has_forecast)
        rc = interval(pg, hp->has_interval, hp->early_at, hp->has_late, hp->late_at);
    if (!rc && hp->has_forecast)
        rc = pf_buf_puts(out, "</li>");
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
static enum pf_rc resources_section(const struct rpage *pg, const struct fleet_host *x)
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
    struct rpage pg = {c, l, 1, out};
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
    rc = rpage_head(&pg, "Host", x->name);
    if (!rc)
        rc = pf_buf_puts(out, "<section class=\"host\" data-agent=\"");
    if (!rc)
        rc = pf_html_escape(out, x->agent_id);
    if (!rc)
        rc = pf_buf_puts(out, "\"><p>site ");
    if (!rc)
        rc = rpage_anchor(&pg, RPAGE_TO_SITE, x->tenant, x->site, x->site, "site-link");
    if (!rc)
        rc = pf_buf_puts(out, "; agent <code>");
    if (!rc)
        rc = pf_html_escape(out, x->agent_id);
    if (!rc)
        rc = pf_buf_puts(out, "</code>; ");
    if (!rc)
        rc = pf_html_escape(out, x->os);
    for (size_t k = 0; !rc && k < x->nroles; k++) {
        rc = pf_buf_puts(out, k ? ", " : "; roles ");
        if (!rc)
            rc = pf_html_escape(out, x->roles[k]);
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
            rc = rpage_anchor(&pg, RPAGE_TO_SITE, x->tenant, x->site, x->site, "site-link");
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
    return rc ? rc : rpage_tail(&pg);
}
