/* SPDX-License-Identifier: MIT */
/* report_page.h: what the report's pages at fleet scale share (report.h:
 * report_html_overview in report_overview.c, report_html_site in
 * report_site.c, report_html_host in report_host.c): the links between
 * them, served or as files, the frame of a page and the per-site figures
 * the overview and the site page both show (report_page.c). Internal to
 * the report.
 *
 * Every figure comes from the analysis (plan, findings, host pressure) or,
 * on the host page, from the stored detail (host_detail.h); the pages
 * order and arrange them but compute no forecast or peak of their own, so
 * they cannot disagree with /v1/findings and /v1/plan. */
#ifndef PF_REPORT_PAGE_H
#define PF_REPORT_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "capacity.h"
#include "error.h"
#include "report.h"

/* The page being written. */
struct rpage {
    const struct capacity *c;
    const struct report_links *l;
    int depth; /* 0: the overview; 1: a site or host page */
    struct pf_buf *out;
};

enum rpage_target { RPAGE_TO_OVERVIEW, RPAGE_TO_SITE, RPAGE_TO_HOST };

/* The relative link from pg to the overview, a site (of tenant) or a host
 * (name: its agent id), with the served pages' query. */
enum pf_rc rpage_href(const struct rpage *pg, enum rpage_target t, const char *tenant,
                      const char *name);
/* <a class="cls" href="...">text</a> */
enum pf_rc rpage_anchor(const struct rpage *pg, enum rpage_target t, const char *tenant,
                        const char *name, const char *text, const char *cls);
/* An rparts_link_fn (report_parts.h) to host pages; ud is the struct rpage. */
enum pf_rc rpage_host_link(void *ud, struct pf_buf *out, const char *agent_id, const char *text);

/* The page up to its heading and the analysis's parameters; title2 (a site
 * or host name, may be NULL) adds a link back to the overview. */
enum pf_rc rpage_head(const struct rpage *pg, const char *title, const char *title2);
enum pf_rc rpage_tail(const struct rpage *pg);

/* One site's figures for ranking and its summary line. */
struct rpage_site {
    const struct plan_site *s;
    size_t sev[3]; /* findings by severity */
    int worst;     /* -1: no finding */
    bool has_full; /* first_full: the earliest date a host is full */
    int64_t first_full;
    size_t leaks;
    bool has_headroom;
    double headroom;
};

void rpage_site_info(const struct capacity *c, const struct plan_site *s, struct rpage_site *si);
/* qsort order of struct rpage_site: most urgent first. */
int rpage_by_urgency(const void *a, const void *b);
/* The resource that limits the site, as its plan names it. */
const char *rpage_binding_resource(const struct plan_site *s);
/* The share of the reporting hosts' capacity at the target utilization
 * that the binding resource leaves at today's p99 (negative past the
 * target); false: no reporting host. */
bool rpage_headroom(const struct plan_site *s, double *out);
/* What rpage_headroom() compares: the capacity of the reporting hosts, the
 * p99, and what one host carries, in the binding resource's unit. */
bool rpage_headroom_parts(const struct plan_site *s, double *cap, double *p99, double *per_host);
/* A host's date of exhaustion from one of its findings; false: it dates
 * nothing. */
bool rpage_finding_date(const struct capacity *c, const struct finding *f, int64_t *at);
/* <td> with how long until at: "now" or "N.N days". */
enum pf_rc rpage_days_cell(struct pf_buf *out, int64_t at, int64_t now);
/* What the site should do, from its plan and findings ("fix 1 leak; add 2
 * hosts"). */
enum pf_rc rpage_action(const struct rpage_site *si, struct pf_buf *out);

#endif
