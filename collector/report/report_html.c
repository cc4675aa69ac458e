/* SPDX-License-Identifier: MIT */
/* report_html.c: the capacity report as one self-contained HTML page
 * (GET /report, `report --format html`): inline CSS, inline SVG charts,
 * no script, no font or image from anywhere, readable offline. A
 * Content-Security-Policy meta tag forbids scripts and outside resources,
 * and every host-supplied string is escaped. */
#include "report.h"
#include "report_parts.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"
#include "timeutil.h"

/* Chart geometry (SVG user units): the full chart and the small one. */
struct geom {
    double w, h, ml, mr, mt, mb;
    bool labels; /* day ticks' dates, "now", the forecast's date */
};
static const struct geom geoms[] = {
    [RPARTS_CHART_FULL] = {640, 210, 62, 14, 14, 26, true},
    [RPARTS_CHART_SMALL] = {300, 96, 44, 6, 8, 8, false},
};

const char *rparts_when(int64_t t, char buf[PF_TIME_LEN])
{
    if (pf_time_format(t, buf) != PF_OK)
        snprintf(buf, PF_TIME_LEN, "?");
    return buf;
}

const char rparts_style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;"
    "color:#1d2330;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px "
    "solid #d8dde6;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}"
    ".meta{color:#5a6474;font-size:13px}"
    "table{border-collapse:collapse;font-size:13px;margin:4px 0 10px}"
    "th,td{border:1px solid #d8dde6;padding:3px 7px;text-align:left;vertical-align:top}"
    "th{background:#f1f3f7}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".sev{font-weight:600;text-transform:uppercase;font-size:11px}"
    "tr.critical .sev{color:#b3261e}tr.warning .sev{color:#a15c00}tr.info .sev{color:#2f5fa7}"
    "tr.critical{background:#fdf0ef}tr.warning{background:#fff8eb}"
    "ul.rem{margin:4px 0 0 16px;padding:0}ul.rem li{margin:1px 0}"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:#f1f3f7;"
    "padding:0 3px}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}"
    "figure.host-chart{margin:0;border:1px solid #d8dde6;padding:6px}"
    "figcaption{font-size:13px;font-weight:600;margin-bottom:2px}"
    "svg.chart{display:block}"
    "svg .series{fill:none;stroke:#2f5fa7;stroke-width:1.6}"
    "svg .range{stroke:#b3261e;stroke-width:1.4}"
    "svg .forecast{stroke:#a15c00;stroke-width:1.6;stroke-dasharray:6 4}"
    "svg .now{stroke:#5a6474;stroke-width:1;stroke-dasharray:2 3}"
    "svg .axis{stroke:#9aa3b2;stroke-width:1}"
    "svg text{font-size:11px;fill:#5a6474;font-family:system-ui,sans-serif}"
    "svg text.rl{fill:#b3261e}svg text.fl{fill:#a15c00}"
    ".ok{color:#1e7b34}"
    "a{color:#2f5fa7}nav.crumbs{font-size:13px;margin-bottom:8px}"
    ".counts{display:flex;gap:10px;margin:10px 0}"
    ".count{border:1px solid #d8dde6;padding:6px 14px;min-width:90px}"
    ".count b{display:block;font-size:24px}"
    ".count.critical b{color:#b3261e}.count.warning b{color:#a15c00}.count.info b{color:#2f5fa7}"
    ".cols{display:flex;flex-wrap:wrap;gap:24px}.cols>section{flex:1 1 440px;min-width:0}"
    "tr.urgent td{background:#fdf0ef}"
    ".culprit{margin-top:3px}"
    "a.hostfig{text-decoration:none;color:inherit}"
    "figure.host-chart.small figcaption{font-size:12px}"
    ".legend{font-size:12px;display:flex;flex-wrap:wrap;gap:4px 14px;margin:2px 0 8px}"
    ".sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}"
    "svg .eph{fill:none;stroke:#1d2330;stroke-width:1.2;stroke-dasharray:4 3}"
    "svg .pline{fill:none;stroke-width:1.6}"
    ".arith{font-size:13px;line-height:1.6}.muted{color:#5a6474}";

/* Does command-looking remediation go into <code>? Lines that start
 * with a lower-case word or a PowerShell verb are commands. */
bool rparts_is_command(const char *s)
{
    static const char *const prefixes[] = {
        "netsh ", "sysctl ",          "echo ",         "ss ",  "netstat ",         "systemctl ",
        "pkill ", "Restart-Service ", "Stop-Process ", "Get-", "New-ItemProperty "};
    for (size_t i = 0; i < PF_ARRAY_LEN(prefixes); i++)
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static enum pf_rc num_cell(struct pf_buf *out, double v)
{
    if (!stats_present(v))
        return pf_buf_puts(out, "<td class=\"n\">-</td>");
    return pf_buf_printf(out, "<td class=\"n\">%.0f</td>", v);
}

/* ---- the chart ---- */

struct frame {
    const struct geom *g;
    double t0, t1, ymax;
};

static double px(const struct frame *fr, double t)
{
    const struct geom *g = fr->g;
    return g->ml + (t - fr->t0) / (fr->t1 - fr->t0) * (g->w - g->ml - g->mr);
}

static double py(const struct frame *fr, double y)
{
    const struct geom *g = fr->g;
    return g->h - g->mb - y / fr->ymax * (g->h - g->mt - g->mb);
}

/* The chart's frame: from the window's start to now plus a quarter of the
 * window, or up to the forecast's exhaustion when that is within two
 * weeks; up to the larger of the peak and the usable range, plus 10%. */
static void chart_frame(const struct capacity *c, size_t i, const struct geom *g,
                        struct frame *fr)
{
    const struct fleet *f = c->fleet;
    const struct fleet_host *x = &f->hosts[i];
    const struct host_pressure *hp = &c->pressure[i];
    double vmax = stats_max(x->tcp, f->nhours), limit = x->tcp_usable, future;

    future = (double)(c->params.now - f->start) / 4;
    if (hp->has_full && hp->full_at - c->params.now < 14 * 86400 &&
        (double)(hp->full_at - c->params.now) * 1.1 > future)
        future = (double)(hp->full_at - c->params.now) * 1.1;
    fr->g = g;
    fr->t0 = (double)f->start;
    fr->t1 = (double)c->params.now + future;
    fr->ymax = (stats_present(vmax) && vmax > limit ? vmax : limit) * 1.1;
    if (fr->ymax <= 0)
        fr->ymax = 1;
}

/* The <svg> head, axes with day ticks, and the usable range line. */
static enum pf_rc chart_axes(const struct fleet *f, const struct fleet_host *x,
                             enum rparts_chart_size size, const struct frame *fr,
                             struct pf_buf *out)
{
    const struct geom *g = fr->g;
    const double CW = g->w, CH = g->h, ML = g->ml, MR = g->mr, MT = g->mt, MB = g->mb;
    double limit = x->tcp_usable;
    char tb[PF_TIME_LEN];
    enum pf_rc rc;

    rc = pf_buf_printf(out,
                       "<svg class=\"chart%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                       "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" data-host=\"",
                       size == RPARTS_CHART_SMALL ? " small" : "", CW, CH, CW, CH);
    if (!rc)
        rc = pf_html_escape(out, x->name);
    if (!rc)
        rc = pf_buf_puts(out, "\"><title>");
    if (!rc)
        rc = pf_html_escape(out, x->name);
    if (!rc)
        rc = pf_buf_puts(out, ": TCP ports in use per hour (maximum), usable range and forecast"
                              "</title>");
    /* Axes, day ticks, y labels. */
    if (!rc)
        rc = pf_buf_printf(out,
                           "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                           "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">0</text>",
                           ML, CH - MB, CW - MR, CH - MB, ML, MT, ML, CH - MB, ML - 4, CH - MB + 4);
    for (int64_t d = (f->start / 86400 + 1) * 86400; !rc && (double)d < fr->t1; d += 86400) {
        rparts_when(d, tb);
        rc = pf_buf_printf(out,
                           "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                           px(fr, (double)d), CH - MB, px(fr, (double)d), CH - MB + 4);
        if (!rc && g->labels)
            rc =
                pf_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.5s</text>",
                              px(fr, (double)d), CH - 8, tb + 5);
    }
    /* The usable range line. */
    if (!rc && limit > 0)
        rc = pf_buf_printf(out,
                           "<line class=\"range\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                           "<text class=\"rl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f"
                           "</text>",
                           ML, py(fr, limit), CW - MR, py(fr, limit), ML - 4, py(fr, limit) + 4,
                           limit);
    return rc;
}

/* The hourly series (one path, a new subpath after each gap) and the
 * line of now. */
static enum pf_rc chart_series(const struct capacity *c, const struct fleet_host *x,
                               const struct frame *fr, struct pf_buf *out)
{
    const struct fleet *f = c->fleet;
    const struct geom *g = fr->g;
    const double CH = g->h, MT = g->mt, MB = g->mb;
    bool pen = false;
    enum pf_rc rc;

    rc = pf_buf_puts(out, "<path class=\"series\" d=\"");
    for (size_t h = 0; !rc && h < f->nhours; h++) {
        double t = (double)fleet_hour_time(f, x, h);
        if (!stats_present(x->tcp[h])) {
            pen = false;
            continue;
        }
        rc = pf_buf_printf(out, "%s%.1f %.1f ", pen ? "L" : "M", px(fr, t), py(fr, x->tcp[h]));
        pen = true;
    }
    if (!rc)
        rc = pf_buf_puts(out, "\"/>");
    /* Now. */
    if (!rc)
        rc = pf_buf_printf(
            out, "<line class=\"now\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
            px(fr, (double)c->params.now), MT, px(fr, (double)c->params.now), CH - MB);
    if (!rc && g->labels)
        rc = pf_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">now</text>",
                           px(fr, (double)c->params.now), MT - 3);
    return rc;
}

/* The forecast: from the level the analysis starts from to the
 * host's one fill time (host_pressure's full_at, the time its findings
 * and the table give), clipped at the chart's end; flat without one. */
static enum pf_rc chart_forecast(const struct capacity *c, size_t i, long last,
                                 const struct frame *fr, struct pf_buf *out)
{
    const struct fleet *f = c->fleet;
    const struct fleet_host *x = &f->hosts[i];
    const struct host_pressure *hp = &c->pressure[i];
    const struct geom *g = fr->g;
    double limit = x->tcp_usable, y0, rate, t_start, t_end, y_end;
    bool tcp_full, full = false;
    char tb[PF_TIME_LEN];
    enum pf_rc rc;

    tcp_full = hp->has_full && limit > 0 &&
               (!hp->has_forecast || strcmp(hp->forecast_what, "TCP ports") == 0);
    t_start = (double)fleet_hour_time(f, x, (size_t)last);
    y0 = tcp_full && hp->has_forecast ? hp->forecast_level : x->tcp[last];
    if (y0 > limit && limit > 0)
        y0 = limit;
    rate = 0;
    t_end = fr->t1;
    y_end = y0;
    if (tcp_full && (double)hp->full_at > t_start) {
        rate = (limit - y0) / ((double)hp->full_at - t_start) * 3600;
        if ((double)hp->full_at <= fr->t1) {
            t_end = (double)hp->full_at;
            y_end = limit;
            full = true;
        } else {
            y_end = y0 + rate * (t_end - t_start) / 3600;
        }
    }
    rc = pf_buf_printf(out,
                       "<line class=\"forecast\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                       "y2=\"%.1f\"><title>forecast: %.1f ports/hour</title></line>",
                       px(fr, t_start), py(fr, y0), px(fr, t_end), py(fr, y_end), rate);
    if (!rc && full && g->labels)
        rc = pf_buf_printf(out,
                           "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#a15c00\"/>"
                           "<text class=\"fl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                           "data-full=\"%s\">full %.16s</text>",
                           px(fr, t_end), py(fr, y_end), px(fr, t_end) - 6,
                           py(fr, y_end) + 14, rparts_when(hp->full_at, tb), tb);
    return rc;
}

enum pf_rc rparts_chart(const struct capacity *c, size_t i, enum rparts_chart_size size,
                        struct pf_buf *out)
{
    const struct fleet *f = c->fleet;
    const struct fleet_host *x = &f->hosts[i];
    struct frame fr;
    long last = -1;
    enum pf_rc rc;

    for (size_t h = f->nhours; h > 0 && last < 0; h--)
        if (stats_present(x->tcp[h - 1]))
            last = (long)(h - 1);
    chart_frame(c, i, &geoms[size], &fr);
    rc = chart_axes(f, x, size, &fr, out);
    if (!rc)
        rc = chart_series(c, x, &fr, out);
    if (!rc && last >= 0)
        rc = chart_forecast(c, i, last, &fr, out);
    if (!rc)
        rc = pf_buf_puts(out, "</svg>");
    return rc;
}

/* ---- the page ---- */

enum pf_rc rparts_hosts(const struct capacity *c, const struct plan_site *s, rparts_link_fn link,
                        void *ud, struct pf_buf *out)
{
    enum pf_rc rc;
    char tb[PF_TIME_LEN];

    rc = pf_buf_puts(out, "<table class=\"summary\"><tr><th>host</th><th>OS</th><th>roles</th>"
                          "<th>range</th><th>usable</th><th>in use now</th>"
                          "<th>max in use (all)</th><th>peak in use (p99, all)</th>"
                          "<th>peak demand (p99, leaks left out)</th><th>max use (all)</th>"
                          "<th>peak use (demand)</th><th>trend /h</th><th>full at</th>"
                          "<th>last snapshot</th></tr>");
    for (size_t i = 0; !rc && i < c->fleet->nhosts; i++) {
        const struct fleet_host *x = &c->fleet->hosts[i];
        const struct host_pressure *hp = &c->pressure[i];
        if (!fleet_host_in_site(x, s->tenant, s->site))
            continue;
        rc = pf_buf_puts(out, "<tr class=\"host\"><td>");
        if (!rc)
            rc = link ? link(ud, out, x->agent_id, x->name) : pf_html_escape(out, x->name);
        if (!rc)
            rc = pf_buf_puts(out, "</td><td>");
        if (!rc)
            rc = pf_html_escape(out, x->os);
        if (!rc)
            rc = pf_buf_puts(out, "</td><td>");
        for (size_t k = 0; !rc && k < x->nroles; k++) {
            rc = k ? pf_buf_puts(out, ", ") : PF_OK;
            if (!rc)
                rc = pf_html_escape(out, x->roles[k]);
        }
        if (!rc)
            rc = pf_buf_printf(out,
                               "</td><td>%u-%u</td><td class=\"n\">%u</td>"
                               "<td class=\"n\">%llu</td>",
                               (unsigned)x->tcp_range.start,
                               (unsigned)(x->tcp_range.start + x->tcp_range.count - 1),
                               (unsigned)x->tcp_usable, (unsigned long long)x->last_tcp_in_use);
        /* Two peaks, each named: what the host went through (a leak
         * that filled it included) and the demand the plan sizes for. */
        if (!rc)
            rc = num_cell(out, hp->inuse_max);
        if (!rc)
            rc = num_cell(out, hp->inuse_peak);
        if (!rc)
            rc = num_cell(out, hp->tcp_peak);
        if (!rc)
            rc = pf_buf_printf(out,
                               "<td class=\"n\">%.0f%%</td><td class=\"n\">%.0f%%</td>"
                               "<td class=\"n\">%.1f</td><td data-full=\"%s\">%s</td>",
                               hp->inuse_utilization * 100, hp->utilization * 100, hp->tcp_trend,
                               hp->has_full ? rparts_when(hp->full_at, tb) : "",
                               hp->has_full ? tb : "-");
        if (!rc)
            rc = pf_buf_printf(out, "<td>%s%s</td></tr>",
                               x->last_seen ? rparts_when(x->last_seen, tb) : "never",
                               plan_host_silent(x, &c->params) ? " (silent)" : "");
    }
    return rc ? rc : pf_buf_puts(out, "</table>");
}

enum pf_rc rparts_plan(const struct plan_site *s, struct pf_buf *out)
{
    enum pf_rc rc;

    rc = pf_buf_printf(out,
                       "<h3>Plan</h3><table class=\"plan\">"
                       "<tr><th>hosts</th><td class=\"n\">%zu (%zu reporting)</td></tr>"
                       "<tr><th>peak ports, site sum (max / p95 / p99 of hours)</th><td "
                       "class=\"n\">%.0f / %.0f / %.0f</td></tr>"
                       "<tr><th>growth per day</th><td class=\"n\">%.1f</td></tr>"
                       "<tr><th>demand in %.0f days</th><td class=\"n\">%.0f</td></tr>"
                       "<tr><th>usable ports per host (now / widened)</th><td class=\"n\">%u / "
                       "%u</td></tr>"
                       "<tr><th>capacity per host at %.0f%%</th><td class=\"n\">%.0f</td></tr>"
                       "<tr class=\"rec\"><th>recommended hosts</th><td class=\"n\" "
                       "data-recommended=\"%zu\">%zu</td></tr>"
                       "<tr><th>hosts to add</th><td class=\"n\">%zu</td></tr>",
                       s->hosts, s->reporting_hosts, s->peak, s->p95, s->p99, s->growth_per_day,
                       s->horizon_days, s->demand, (unsigned)s->usable_per_host,
                       (unsigned)s->usable_per_host_widened, s->target_utilization * 100,
                       s->capacity_per_host, s->recommended_hosts, s->recommended_hosts,
                       s->add_hosts);
    /* The hosts each measured resource needs; the binding one is marked. */
    for (int b = 0; !rc && b < PLAN_NBIND; b++)
        if (s->needs[b].measured)
            rc = pf_buf_printf(out,
                               "<tr%s><th>hosts for %s (%.0f %s, %.0f per host)</th><td "
                               "class=\"n\" data-binding=\"%s\">%zu</td></tr>",
                               (int)s->binding == b ? " class=\"binding\"" : "",
                               plan_binding_name(b), s->needs[b].demand, s->needs[b].unit,
                               s->needs[b].per_host, (int)s->binding == b ? "true" : "false",
                               s->needs[b].hosts);
    if (!rc)
        rc = pf_buf_puts(out, "</table>");
    for (size_t i = 0; !rc && i < s->nchanges; i++) {
        rc = pf_buf_puts(out, "<p>Widen the range of <b>");
        if (!rc)
            rc = pf_html_escape(out, s->changes[i].host);
        if (!rc)
            rc = pf_buf_puts(out, "</b>:</p><ul class=\"rem\">");
        for (size_t j = 0; !rc && j < s->changes[i].widen.ncommands; j++) {
            rc = pf_buf_puts(out, "<li><code>");
            if (!rc)
                rc = pf_html_escape(out, s->changes[i].widen.commands[j]);
            if (!rc)
                rc = pf_buf_puts(out, "</code></li>");
        }
        if (!rc)
            rc = pf_buf_puts(out, "</ul>");
    }
    for (size_t i = 0; !rc && i < s->nnotes; i++) {
        rc = pf_buf_puts(out, "<p class=\"note\">");
        if (!rc)
            rc = pf_html_escape(out, s->notes[i]);
        if (!rc)
            rc = pf_buf_puts(out, "</p>");
    }
    return rc;
}

static bool in_site(const struct finding *f, const struct plan_site *s)
{
    return strcmp(f->site, s->site) == 0 && strcmp(f->tenant, s->tenant) == 0;
}

enum pf_rc rparts_findings(const struct capacity *c, const struct plan_site *s,
                           const char *agent_id, rparts_link_fn link, void *ud, struct pf_buf *out)
{
    enum pf_rc rc;
    size_t n = 0;
    char tb[PF_TIME_LEN];

    rc = pf_buf_puts(out, "<h3>Findings</h3>");
    for (size_t i = 0; i < c->findings->n; i++)
        n += in_site(&c->findings->v[i], s) &&
             (!agent_id || strcmp(c->findings->v[i].agent_id, agent_id) == 0);
    if (!rc && n == 0)
        return pf_buf_puts(out, "<p class=\"ok\">No findings.</p>");
    if (!rc)
        rc = pf_buf_puts(out, "<table class=\"findings\"><tr><th>severity</th><th>kind</th>"
                              "<th>host</th><th>finding and remediation</th></tr>");
    /* c->findings is sorted by severity already. */
    for (size_t i = 0; !rc && i < c->findings->n; i++) {
        const struct finding *f = &c->findings->v[i];
        const char *sev = finding_severity_name(f->severity);
        if (!in_site(f, s) || (agent_id && strcmp(f->agent_id, agent_id) != 0))
            continue;
        rc = pf_buf_printf(out,
                           "<tr class=\"finding %s\" data-kind=\"%s\" data-severity=\"%s\"><td "
                           "class=\"sev\">%s</td><td>%s</td><td>",
                           sev, finding_kind_name(f->kind), sev, sev, finding_kind_name(f->kind));
        if (!rc && f->host[0] && link)
            rc = link(ud, out, f->agent_id, f->host);
        else if (!rc)
            rc = pf_html_escape(out, f->host[0] ? f->host : "(site)");
        if (!rc)
            rc = pf_buf_puts(out, "</td><td>");
        if (!rc)
            rc = pf_html_escape(out, f->summary);
        if (!rc && f->has_exhaustion)
            rc = pf_buf_printf(out, " <b>(full at %s)</b>", rparts_when(f->exhaustion_at, tb));
        if (!rc && f->has_process) {
            rc = pf_buf_puts(out, "<div class=\"culprit\">culprit: <b class=\"process\">");
            if (!rc)
                rc = pf_html_escape(out, f->process_name);
            if (!rc && f->process_service[0]) {
                rc = pf_buf_puts(out, "</b> (service <b class=\"service\">");
                if (!rc)
                    rc = pf_html_escape(out, f->process_service);
                if (!rc)
                    rc = pf_buf_puts(out, "</b>)");
            } else if (!rc) {
                rc = pf_buf_puts(out, "</b>");
            }
            if (!rc && f->has_rate)
                rc = pf_buf_printf(out, ", %.1f ports/hour", f->rate_per_hour);
            if (!rc && f->has_remote) {
                rc = pf_buf_puts(out, ", talking to ");
                if (!rc)
                    rc = pf_html_escape(out, f->remote.addr);
                if (!rc)
                    rc = pf_buf_printf(out, ":%u", (unsigned)f->remote.port);
            }
            if (!rc)
                rc = pf_buf_puts(out, "</div>");
        }
        if (!rc && f->nremediation)
            rc = pf_buf_puts(out, "<ul class=\"rem\">");
        for (size_t j = 0; !rc && j < f->nremediation; j++) {
            bool cmd = rparts_is_command(f->remediation[j]);
            rc = pf_buf_puts(out, cmd ? "<li><code>" : "<li>");
            if (!rc)
                rc = pf_html_escape(out, f->remediation[j]);
            if (!rc)
                rc = pf_buf_puts(out, cmd ? "</code></li>" : "</li>");
        }
        if (!rc && f->nremediation)
            rc = pf_buf_puts(out, "</ul>");
        if (!rc)
            rc = pf_buf_puts(out, "</td></tr>");
    }
    return rc ? rc : pf_buf_puts(out, "</table>");
}

static enum pf_rc site_section(const struct capacity *c, const struct plan_site *s,
                               struct pf_buf *out)
{
    enum pf_rc rc;

    rc = pf_buf_puts(out, "<section class=\"site\" data-tenant=\"");
    if (!rc)
        rc = pf_html_escape(out, s->tenant);
    if (!rc)
        rc = pf_buf_puts(out, "\" data-site=\"");
    if (!rc)
        rc = pf_html_escape(out, s->site);
    if (!rc)
        rc = pf_buf_puts(out, "\"><h2>Site ");
    if (!rc)
        rc = pf_html_escape(out, s->site);
    /* The same site name in two tenants is two sites: say whose. */
    if (!rc && strcmp(s->tenant, "default") != 0) {
        rc = pf_buf_puts(out, " <small>(tenant ");
        if (!rc)
            rc = pf_html_escape(out, s->tenant);
        if (!rc)
            rc = pf_buf_puts(out, ")</small>");
    }
    if (!rc)
        rc = pf_buf_puts(out, "</h2>");
    if (!rc)
        rc = rparts_hosts(c, s, NULL, NULL, out);
    if (!rc)
        rc = rparts_plan(s, out);
    if (!rc)
        rc = rparts_findings(c, s, NULL, NULL, NULL, out);
    if (!rc)
        rc = pf_buf_puts(out, "<h3>Ports in use</h3><div class=\"charts\">");
    for (size_t i = 0; !rc && i < c->fleet->nhosts; i++) {
        if (!fleet_host_in_site(&c->fleet->hosts[i], s->tenant, s->site))
            continue;
        rc = pf_buf_puts(out, "<figure class=\"host-chart\"><figcaption>");
        if (!rc)
            rc = pf_html_escape(out, c->fleet->hosts[i].name);
        if (!rc)
            rc = pf_buf_puts(out, "</figcaption>");
        if (!rc)
            rc = rparts_chart(c, i, RPARTS_CHART_FULL, out);
        if (!rc)
            rc = pf_buf_puts(out, "</figure>");
    }
    return rc ? rc : pf_buf_puts(out, "</div></section>");
}

/* The worst severity among the site's findings, -1 when none. */
static int worst(const struct capacity *c, const struct plan_site *s)
{
    int w = -1;

    for (size_t i = 0; i < c->findings->n; i++)
        if (in_site(&c->findings->v[i], s) && (int)c->findings->v[i].severity > w)
            w = (int)c->findings->v[i].severity;
    return w;
}

enum pf_rc report_html(const struct capacity *c, const char *site, struct pf_buf *out)
{
    enum pf_rc rc;
    char now[PF_TIME_LEN], from[PF_TIME_LEN];
    size_t sev[3] = {0, 0, 0};

    for (size_t i = 0; i < c->findings->n; i++)
        if (!site || !site[0] || strcmp(c->findings->v[i].site, site) == 0)
            sev[c->findings->v[i].severity]++;
    rc = pf_buf_printf(out,
                       "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                       "'none'; style-src 'unsafe-inline'\">"
                       "<title>portfleet capacity report</title><style>%s</style></head><body>"
                       "<h1>portfleet capacity report</h1><p class=\"meta\">generated %s; window "
                       "from %s; horizon %.0f days; target utilization %.0f%%; findings: %zu "
                       "critical, %zu warning, %zu info</p>",
                       rparts_style, rparts_when(c->params.now, now),
                       rparts_when(c->fleet->start, from), c->params.horizon_days,
                       c->params.target_utilization * 100, sev[SEVERITY_CRITICAL],
                       sev[SEVERITY_WARNING], sev[SEVERITY_INFO]);
    /* Sites with the worst findings first, then by name. */
    for (int level = SEVERITY_CRITICAL; !rc && level >= -1; level--) {
        for (size_t i = 0; !rc && i < c->plan->nsites; i++) {
            const struct plan_site *s = &c->plan->sites[i];
            if ((site && site[0] && strcmp(s->site, site) != 0) || worst(c, s) != level)
                continue;
            rc = site_section(c, s, out);
        }
    }
    if (!rc && c->plan->nsites == 0)
        rc = pf_buf_puts(out, "<p>No host has reported yet.</p>");
    return rc ? rc : pf_buf_puts(out, "</body></html>\n");
}
