/* SPDX-License-Identifier: MIT */
/* capacity_fixture.h: a constructed host for the capacity engine's unit
 * tests (test_findings.c, test_plan.c): configuration set by hand, hourly
 * series left empty (NaN) for the test to fill. */
#ifndef PF_CAPACITY_FIXTURE_H
#define PF_CAPACITY_FIXTURE_H

#include <stdint.h>
#include <stdio.h>

#include "fleet.h"

#define FIXTURE_NOW 1795343400 /* 2026-11-22T10:30:00Z */

/* Host id (also its name) of site with os, one role (or NULL) and the
 * same TCP/UDP range; 4 cores, 8 GB, every 5 minutes, last snapshot 100 s
 * before FIXTURE_NOW. Returns the host (owned by f). */
static inline struct fleet_host *fixture_host(struct fleet *f, const char *id, const char *site,
                                              const char *os, const char *role, uint32_t start,
                                              uint32_t count)
{
    struct fleet_host *x = fleet_host_get(f, id);

    snprintf(x->name, sizeof(x->name), "%s", id);
    snprintf(x->site, sizeof(x->site), "%s", site);
    snprintf(x->os, sizeof(x->os), "%s", os);
    if (role) {
        snprintf(x->roles[0], sizeof(x->roles[0]), "%s", role);
        x->nroles = 1;
    }
    x->cpus = 4;
    x->memory_mb = 8192;
    x->interval_s = 300;
    x->last_seen = FIXTURE_NOW - 100;
    x->has_tcp_range = x->has_udp_range = true;
    x->tcp_range.start = x->udp_range.start = (uint16_t)start;
    x->tcp_range.count = x->udp_range.count = count;
    x->tcp_usable = x->udp_usable = count;
    return x;
}

#endif
