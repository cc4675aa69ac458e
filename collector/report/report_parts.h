/* SPDX-License-Identifier: MIT */
/* report_parts.h: the pieces the HTML renderings share (report_html.c,
 * the single page; report_overview.c, report_site.c and report_host.c,
 * the pages): times, the style sheet, the ports chart and the
 * plan and findings tables. Internal to the report. */
#ifndef PF_REPORT_PARTS_H
#define PF_REPORT_PARTS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "capacity.h"
#include "error.h"
#include "html.h" /* pf_html_escape: every host-supplied string */
#include "timeutil.h"

/* t as RFC 3339 in buf, "?" when it cannot be formatted; returns buf. */
const char *rparts_when(int64_t t, char buf[PF_TIME_LEN]);
/* The inline style sheet of every page. */
extern const char rparts_style[];
/* True when a remediation line is a command (shown as code). */
bool rparts_is_command(const char *s);

/* Chart sizes: the host page's and the single page's, and the site page's
 * small multiple (no day labels). */
enum rparts_chart_size { RPARTS_CHART_FULL, RPARTS_CHART_SMALL };
/* The SVG chart of host i's TCP ports in use per hour (maximum), its
 * usable range and the forecast of the analysis. */
enum pf_rc rparts_chart(const struct capacity *c, size_t i, enum rparts_chart_size size,
                        struct pf_buf *out);

/* How a finding's host cell or a site name becomes a link; NULL: plain
 * text. ud is the caller's. */
typedef enum pf_rc (*rparts_link_fn)(void *ud, struct pf_buf *out, const char *agent_id,
                                     const char *text);
/* The table of site s's hosts: range, usage, peaks, forecast, last seen;
 * names through link (may be NULL). */
enum pf_rc rparts_hosts(const struct capacity *c, const struct plan_site *s, rparts_link_fn link,
                        void *ud, struct pf_buf *out);
/* The plan table of a site, its range changes and notes. */
enum pf_rc rparts_plan(const struct plan_site *s, struct pf_buf *out);
/* The findings table of site s (agent_id: only the findings of that agent id,
 * NULL for all of the site's); host cells through link (may be NULL). */
enum pf_rc rparts_findings(const struct capacity *c, const struct plan_site *s,
                           const char *agent_id, rparts_link_fn link, void *ud, struct pf_buf *out);

#endif
