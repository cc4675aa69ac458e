/* SPDX-License-Identifier: MIT */
/* upkeep.c: the collector's own database schedule (upkeep.h). */
#include "upkeep.h"

#include <stddef.h>

#include "log.h"
#include "store.h"

#define MAINTAIN_MS (3600 * 1000) /* partitions and retention */
#define ROLLUP_MS 1000            /* process_hours (proc_rollup.h) */

static void maint_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct upkeep *u = (struct upkeep *)((char *)jobs[i] - offsetof(struct upkeep, maint.job));
        if (store_maintain(dc, u->retention_days, u->rollup_retention_days) != PF_OK)
            pf_warn("partition maintenance failed; will try again");
    }
}

static const struct db_job_ops maint_ops = {"maintenance", 1, 0, maint_run};

static void rollup_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    (void)jobs;
    (void)n;
    if (store_flush_rollups(dc) != PF_OK)
        pf_debug("process_hours: flush failed; its snapshots stay queued");
}

static const struct db_job_ops rollup_ops = {"rollup", 1, 0, rollup_run};

static void warm_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct upkeep *u = (struct upkeep *)((char *)jobs[i] - offsetof(struct upkeep, warm.job));
        PGconn *pg = db_pg(dc);
        if (pg && u->warm_fn)
            u->warm_fn(pg, u->warm_ud);
    }
}

static const struct db_job_ops warm_ops = {"warm", 1, 0, warm_run};

static void job_done(struct db_job *j)
{
    ((struct upkeep_job *)j)->pending = false;
}

static void submit(struct db *db, struct upkeep_job *p, long long now)
{
    if (now < p->next || p->pending)
        return;
    p->job.weight = 0;
    p->job.done = job_done;
    if (db_submit(db, &p->job) == PF_OK)
        p->pending = true;
    p->next = now + p->every_ms;
}

void upkeep_init(struct upkeep *u, int retention_days, int rollup_retention_days, long long now)
{
    u->retention_days = retention_days;
    u->rollup_retention_days = rollup_retention_days;
    u->warm_fn = NULL;
    u->maint = (struct upkeep_job){.job = {.ops = &maint_ops}, .every_ms = MAINTAIN_MS, .next = now};
    u->rollup = (struct upkeep_job){
        .job = {.ops = &rollup_ops}, .every_ms = ROLLUP_MS, .next = now + ROLLUP_MS};
}

void upkeep_set_warm(struct upkeep *u, void (*fn)(PGconn *pg, void *ud), void *ud,
                     long long every_ms, long long now)
{
    u->warm_fn = fn;
    u->warm_ud = ud;
    u->warm = (struct upkeep_job){.job = {.ops = &warm_ops}, .every_ms = every_ms, .next = now};
}

void upkeep_tick(struct upkeep *u, struct db *db, long long now)
{
    if (u->warm_fn)
        submit(db, &u->warm, now);
    submit(db, &u->rollup, now);
    submit(db, &u->maint, now);
}
