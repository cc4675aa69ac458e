/* SPDX-License-Identifier: MIT */
/* sessions.h: the sessions section on a cloudflared host, from
 * cloudflared's own metrics endpoint on loopback (cfmetrics.h says how it
 * is found). The Entra connector's performance counters are read by
 * probes_sessions() (probes.h) on Windows. */
#ifndef PF_SESSIONS_H
#define PF_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#include "snapshot.h"

#define SESSIONS_TIMEOUT_MS 1000 /* connect and each read, per port tried */

/* On a host with the cloudflared role (or when metrics_addr is given:
 * the --cloudflared-metrics option), fills s->sessions from the metrics
 * endpoint: metrics_addr, else --metrics on a cloudflared command line,
 * else metrics: in its config.yml, else the default ports. When none
 * answers with the session gauges, adds "sessions" to s->unmeasured. */
void sessions_collect(struct pf_snapshot *s, const char *metrics_addr);

/* OS part (sessions_linux.c, sessions_win.c): the metrics address from a
 * running cloudflared's command line or the config file it names or the
 * usual places; false when none says. pids are the cloudflared processes
 * of s->processes (npids of them). */
bool sessions_os_metrics_addr(const uint32_t *pids, size_t npids, char *out, size_t outlen);

/* GETs http://host:port/metrics (host "127.0.0.1" or "::1") with a
 * timeout of timeout_ms for connecting and for each read; *body is
 * malloc'd and NUL-terminated (the caller frees it), at most
 * CFMETRICS_BODY_MAX. PF_IO when nothing answers or the answer is not a
 * 200; PF_TOOBIG over the cap. */
enum pf_rc sessions_fetch(const char *host, uint16_t port, unsigned timeout_ms, char **body,
                           size_t *len);

#endif
