/* SPDX-License-Identifier: MIT */
/* report.h: the renderings of one capacity analysis (capacity.h): the JSON
 * of docs/protocol.md section 3 (findings, plan, hosts), the text, CSV and HTML
 * capacity report of docs/cli.md, and the Prometheus exposition of /metrics.
 * They only read the analysis; each appends to a capped pf_buf and returns
 * PF_TOOBIG when the cap is hit (the output is then incomplete).
 *
 * Filters: site (NULL or "" = every site) keeps one site; host (NULL or
 * "") keeps the findings of one host, by name or agent id (site findings
 * of its site stay, they concern it too).
 *
 * Everything a host sent (names, services, addresses) is untrusted: JSON
 * goes through cJSON, HTML through an escaper (and the page carries a
 * Content-Security-Policy that forbids scripts and outside resources), CSV
 * cells are quoted and cells that a spreadsheet would run as a formula are
 * prefixed with a quote, Prometheus label values are escaped. */
#ifndef PF_REPORT_H
#define PF_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "capacity.h"
#include "error.h"

/* One finding as docs/protocol.md section 3 has it, with its "id"
 * (finding_id()); NULL when out of memory. The caller cJSON_Delete()s it.
 * Notifications embed it. */
struct cJSON;
struct cJSON *report_finding_json(const struct finding *f);

/* {"generated_at": ..., "findings": [...]}; each finding also carries its
 * "acknowledgement" (c->acks) or null. */
enum pf_rc report_findings_json(const struct capacity *c, const char *site, const char *host,
                                struct pf_buf *out);
/* {"generated_at": ..., "sites": [...]} */
enum pf_rc report_plan_json(const struct capacity *c, const char *site, struct pf_buf *out);
/* {"generated_at": ..., "hosts": [...]} */
enum pf_rc report_hosts_json(const struct capacity *c, const char *site, struct pf_buf *out);
/* The whole report as one JSON object: {"generated_at", "window_start",
 * "horizon_days", "sites": [plan...], "hosts": [...], "findings": [...]}. */
enum pf_rc report_json(const struct capacity *c, const char *site, struct pf_buf *out);

/* Plain text for a terminal: per site the plan, the findings by severity
 * with their remediation, and the hosts. */
enum pf_rc report_text(const struct capacity *c, const char *site, struct pf_buf *out);

/* CSV (RFC 4180, header row): one row per host with its numbers, its
 * site's plan and its findings. */
enum pf_rc report_csv(const struct capacity *c, const char *site, struct pf_buf *out);

/* A self-contained HTML page (inline CSS and SVG, no script, no outside
 * resource): per site a summary table, the plan, the findings sorted by
 * severity, and per host a chart of ports in use over the window with the
 * usable-range line and the forecast line. */
enum pf_rc report_html(const struct capacity *c, const char *site, struct pf_buf *out);

/* The report at fleet scale: an overview and a page per site and per
 * host (report_overview.c, report_site.c, report_host.c), linked to each
 * other. */
struct host_detail;
struct report_links {
    /* false: the collector's pages /report, /report/site/NAME and
     * /report/host/AGENT_ID; true: files written by `report --out DIR`
     * (index.html, site/NAME.html, host/AGENT_ID.html, names made safe by
     * report_page_path()). Links are relative either way. */
    bool files;
    /* Served pages: appended to every link ("?now=...&window_days=..."),
     * so the pages one follows show the same analysis; NULL or "": none. */
    const char *query;
    /* A site page served at /report itself (?site=): its links are made
     * as the overview's. */
    bool at_overview;
};
/* The fleet in one screen: findings by severity and kind, the hosts
 * nearest exhaustion (date and cause), the sites ranked by urgency with
 * their binding resource and headroom; every host and site a link. */
enum pf_rc report_html_overview(const struct capacity *c, const struct report_links *l,
                                struct pf_buf *out);
/* One site (tenant, site): its plan and the plan's arithmetic, its
 * findings, its hosts with a small chart each. tenant NULL or "": the
 * first site of that name. PF_NOTFOUND when c has no such site. */
enum pf_rc report_html_site(const struct capacity *c, const char *tenant, const char *site,
                            const struct report_links *l, struct pf_buf *out);
/* One host (by agent id): its findings and forecast, ports in use, TCP
 * sockets by state (BOUND apart), top processes over time, top remotes,
 * events, and the agent's health. d (host_detail.h) may be NULL: the
 * sections that need it say so. PF_NOTFOUND when c has no such host. */
enum pf_rc report_html_host(const struct capacity *c, const char *agent_id,
                            const struct host_detail *d, const struct report_links *l,
                            struct pf_buf *out);
/* The path of a site's (host false; of tenant) or host's page under the
 * report's directory, "site/NAME.html" ("site/TENANT~~NAME.html" outside
 * the default tenant): bytes other than letters, digits, '-', '_' and a
 * '.' that is not first are written as ~XX, so any name is one safe file
 * name and its own link. PF_TOOBIG when outlen is too small. */
enum pf_rc report_page_path(bool host, const char *tenant, const char *name, char *out,
                            size_t outlen);

/* One counter or gauge of the collector itself for /metrics. */
struct report_metric {
    const char *name; /* "portfleet_snapshots_accepted_total" */
    const char *help;
    const char *type; /* "counter" or "gauge" */
    double value;
};
/* Prometheus text exposition 0.0.4: per host utilization, ports in use,
 * range size, usable ports, seconds to exhaustion; findings by kind and
 * severity; per site hosts and recommended hosts; then extra (the
 * collector's own ingest counters; may be NULL). */
enum pf_rc report_metrics(const struct capacity *c, const struct report_metric *extra,
                          size_t nextra, struct pf_buf *out);

#endif
