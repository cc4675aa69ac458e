/* SPDX-License-Identifier: MIT */
/* capacity.h: one run of the capacity analysis and what the reports read.
 * It takes a loaded fleet (fleet.h: from the rollups, or folded from
 * snapshots), builds the site plan (plan.h), every host's pressure and the
 * findings (findings.h); the renderers (report.h) only read the result.
 * `now` is a parameter, never the clock read inside: the API passes the
 * wall clock or ?now=, tests pass theirs. */
#ifndef PF_CAPACITY_H
#define PF_CAPACITY_H

#include "error.h"
#include "findings.h"
#include "fleet.h"
#include "plan.h"

struct capacity {
    struct fleet_params params;
    struct fleet *fleet;
    struct plan *plan;
    struct findings *findings;
    struct host_pressure *pressure; /* [fleet->nhosts] */
    /* Acknowledgements in force (GET /v1/findings shows them); filled by
     * the caller after capacity_analyze(), freed with the result. */
    struct finding_ack *acks;
    size_t nacks;
};

/* Analyses f with p. Takes ownership of f (freed with the result, or on
 * error). On success *out is the result (free with capacity_free); on
 * error *out is NULL. PF_OK or PF_NOMEM. */
enum pf_rc capacity_analyze(struct fleet *f, const struct fleet_params *p, struct capacity **out);
/* Frees c and the fleet it owns; NULL does nothing. */
void capacity_free(struct capacity *c);

#endif
