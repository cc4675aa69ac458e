/* SPDX-License-Identifier: MIT */
/* cfmetrics.h: the pure half of the sessions probe for cloudflared, which
 * serves Prometheus text on its metrics endpoint (cloudflared's "Tunnel
 * metrics" documentation): cloudflared_tcp_active_sessions and
 * cloudflared_udp_active_sessions are the sessions it proxies now. Where
 * the endpoint is: `--metrics ADDR` on cloudflared's command line (or
 * TUNNEL_METRICS), `metrics: ADDR` in its config.yml, else the first
 * answering port of 127.0.0.1:20241..20245 (its default since 2024.x).
 * The agent only ever connects to loopback: an address that is not
 * loopback (or the any-address, which cloudflared also serves on
 * loopback) is refused. */
#ifndef PF_CFMETRICS_H
#define PF_CFMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

#define CFMETRICS_DEFAULT_PORT_FIRST 20241
#define CFMETRICS_DEFAULT_PORT_LAST 20245
#define CFMETRICS_BODY_MAX (4u * 1024 * 1024) /* a scrape is ~20 KB */
#define CFMETRICS_HOST_LEN 48

/* Sums the values of every sample of metric (any labels) in Prometheus
 * text exposition: lines "name value" or "name{labels} value [ts]";
 * comments and other metrics are skipped; the name must match exactly.
 * Returns false when there is no such sample or a value is not a finite
 * number >= 0. */
bool cfmetrics_sum(const char *buf, size_t len, const char *metric, double *out);

/* Fills se from a scrape: source "cloudflared", tcp_active and
 * udp_active (each only when its gauge is present). PF_INVALID when
 * neither is (not cloudflared's endpoint, or a version without them). */
enum pf_rc cfmetrics_parse(const char *buf, size_t len, struct pf_sessions *se);

/* Turns a listen address ("127.0.0.1:20241", "localhost:2000",
 * "[::1]:2000", "0.0.0.0:2000", ":2000") into the loopback host to
 * connect to ("127.0.0.1" or "::1") and its port. Returns false for a
 * random port ("localhost:"), a malformed address, or one that is not
 * loopback. */
bool cfmetrics_loopback(const char *addr, char host[CFMETRICS_HOST_LEN], uint16_t *port);

/* The --metrics value of a cloudflared command line (argv of argc
 * strings; "--metrics ADDR", "--metrics=ADDR", "-metrics ..."), copied
 * into out; false when absent. */
bool cfmetrics_from_args(const char *const *argv, size_t argc, char *out, size_t outlen);

/* The top-level "metrics:" value of a cloudflared config.yml (quotes and
 * a trailing comment removed), copied into out; false when absent. */
bool cfmetrics_from_config(const char *buf, size_t len, char *out, size_t outlen);

#endif
