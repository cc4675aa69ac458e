/* SPDX-License-Identifier: MIT */
/* upkeep.h: the database work the collector schedules for itself, each
 * kind at most one job at a time on the database workers (db.h): every
 * hour the partitions and retention (store_maintain), every second the
 * process_hours accumulator (store_flush_rollups). The loop calls
 * upkeep_tick; the work runs on a worker. */
#ifndef PF_UPKEEP_H
#define PF_UPKEEP_H

#include <stdbool.h>

#include "db.h"

/* Database work submitted every `every_ms`, one at a time. */
struct upkeep_job {
    struct db_job job; /* first: the done() casts back */
    long long every_ms, next;
    bool pending;
};

struct upkeep {
    struct upkeep_job maint, rollup, warm;
    int retention_days, rollup_retention_days;
    void (*warm_fn)(PGconn *pg, void *ud);
    void *warm_ud;
};

/* Starts the schedule at now (pf_mono_ms): maintenance at once, the
 * first rollup flush a second later. */
void upkeep_init(struct upkeep *u, int retention_days, int rollup_retention_days, long long now);
/* Also runs fn(pg, ud) on a worker at once and then every every_ms (the
 * fleet mirror's warm-up and keep-warm refresh). */
void upkeep_set_warm(struct upkeep *u, void (*fn)(PGconn *pg, void *ud), void *ud,
                     long long every_ms, long long now);
/* Loop thread: submits to db what is due at now (a full queue tries again
 * at the next due time). */
void upkeep_tick(struct upkeep *u, struct db *db, long long now);

#endif
