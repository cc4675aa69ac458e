/* SPDX-License-Identifier: MIT */
/* capacity.c: plan, pressure and findings of one loaded fleet. The
 * hosts' pressure (most of the work: each host's trends, forecasts and
 * leak tests) is computed on one thread per CPU: every host's is a
 * function of the fleet alone, written to its own slot, so the result is
 * the same as in one thread. */
#include "capacity.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define PRESSURE_CHUNK 64   /* hosts a thread takes at a time */
#define PRESSURE_THREADS 8 /* at most */

struct pressure_work {
    const struct fleet *f;
    const struct fleet_params *p;
    struct host_pressure *out;
    atomic_size_t next;
    atomic_int rc;
};

static void *pressure_thread(void *arg)
{
    struct pressure_work *w = arg;

    for (;;) {
        size_t from = atomic_fetch_add(&w->next, PRESSURE_CHUNK);
        if (from >= w->f->nhosts || atomic_load(&w->rc) != PF_OK)
            return NULL;
        for (size_t i = from; i < from + PRESSURE_CHUNK && i < w->f->nhosts; i++) {
            enum pf_rc rc = demand_host_pressure(w->f, &w->f->hosts[i], w->p, &w->out[i]);
            if (rc) {
                int ok = PF_OK;
                atomic_compare_exchange_strong(&w->rc, &ok, (int)rc);
                return NULL;
            }
        }
    }
}

/* demand_host_pressure() of every host into out[]. */
static enum pf_rc all_pressure(const struct fleet *f, const struct fleet_params *p,
                               struct host_pressure *out)
{
    struct pressure_work w = {f, p, out, 0, PF_OK};
    pthread_t t[PRESSURE_THREADS];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cpus > 1 ? (size_t)cpus : 1, started = 0;

    if (n > PRESSURE_THREADS)
        n = PRESSURE_THREADS;
    if (n > f->nhosts / PRESSURE_CHUNK + 1)
        n = f->nhosts / PRESSURE_CHUNK + 1;
    /* This thread works too; the others are helpers (none started: it
     * does everything itself). */
    for (size_t k = 1; k < n; k++)
        if (pthread_create(&t[started], NULL, pressure_thread, &w) == 0)
            started++;
    pressure_thread(&w);
    for (size_t k = 0; k < started; k++)
        pthread_join(t[k], NULL);
    return (enum pf_rc)atomic_load(&w.rc);
}

enum pf_rc capacity_analyze(struct fleet *f, const struct fleet_params *p, struct capacity **out)
{
    struct capacity *c;
    enum pf_rc rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c) {
        fleet_free(f);
        return PF_NOMEM;
    }
    c->params = *p;
    c->fleet = f;
    c->pressure = calloc(f->nhosts ? f->nhosts : 1, sizeof(*c->pressure));
    if (!c->pressure) {
        capacity_free(c);
        return PF_NOMEM;
    }
    rc = plan_build(f, p, &c->plan);
    if (!rc)
        rc = all_pressure(f, p, c->pressure);
    if (!rc)
        rc = findings_build(f, c->plan, p, c->pressure, &c->findings);
    if (rc) {
        capacity_free(c);
        return rc;
    }
    *out = c;
    return PF_OK;
}

void capacity_free(struct capacity *c)
{
    if (!c)
        return;
    findings_free(c->findings);
    free(c->acks);
    plan_free(c->plan);
    free(c->pressure);
    fleet_free(c->fleet);
    free(c);
}
