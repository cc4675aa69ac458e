/* SPDX-License-Identifier: MIT */
/* analysis_cache.c: the shared analyses and host details (see
 * analysis_cache.h). A few dozen entries at most, so a plain array under
 * one mutex: a lookup is a handful of string compares, nothing next to
 * the analysis it saves. */
#include "analysis_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acache_entry {
    struct acache_key key;
    char version[ACACHE_VERSION_LEN];
    void *value;
    void (*free_fn)(void *);
    size_t bytes;
    long long made_ms, used_ms;
    unsigned refs;
    bool kept; /* in the table; false: freed at the last release */
};

struct acache {
    pthread_mutex_t lock;
    size_t budget, bytes;
    unsigned reuse_s;
    struct acache_entry *v[ACACHE_ENTRIES_MAX];
    size_t n;
    uint64_t hits, misses, stale;
};

struct acache *acache_new(size_t budget_mb, unsigned reuse_s)
{
    struct acache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    c->budget = budget_mb * 1024 * 1024;
    c->reuse_s = reuse_s;
    return c;
}

static void entry_free(struct acache_entry *e)
{
    if (e->free_fn)
        e->free_fn(e->value);
    free(e);
}

void acache_free(struct acache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_free(c->v[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The question, without the version: same kind, tenant, site, host and
 * parameters; the time only when it was asked for. */
static bool same_question(const struct acache_key *a, const struct acache_key *b)
{
    return a->kind == b->kind && a->wall_clock == b->wall_clock &&
           strcmp(a->tenant, b->tenant) == 0 && strcmp(a->site, b->site) == 0 &&
           strcmp(a->agent_id, b->agent_id) == 0 && (a->wall_clock || a->p.now == b->p.now) &&
           a->p.window_s == b->p.window_s && a->p.horizon_days == b->p.horizon_days &&
           a->p.target_utilization == b->p.target_utilization &&
           a->p.silent_intervals == b->p.silent_intervals;
}

/* Takes entry i out of the table (under the lock); freed now when no one
 * holds it, else by the last release. */
static void drop(struct acache *c, size_t i)
{
    struct acache_entry *e = c->v[i];

    c->bytes -= e->bytes;
    c->v[i] = c->v[--c->n];
    e->kept = false;
    if (e->refs == 0)
        entry_free(e);
}

const void *acache_get(struct acache *c, const struct acache_key *k, const char *version,
                       long long now_ms, struct acache_entry **held)
{
    const void *v = NULL;

    *held = NULL;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        struct acache_entry *e = c->v[i];
        if (!same_question(&e->key, k))
            continue;
        if (strcmp(e->version, version) != 0) {
            c->stale++;
            drop(c, i);
            break;
        }
        /* As of now: only as long as reuse_s allows. */
        if (k->wall_clock && now_ms - e->made_ms > (long long)c->reuse_s * 1000)
            break;
        e->refs++;
        e->used_ms = now_ms;
        *held = e;
        v = e->value;
        break;
    }
    if (v)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->lock);
    return v;
}

const void *acache_put(struct acache *c, const struct acache_key *k, const char *version,
                       void *value, size_t bytes, void (*free_fn)(void *), long long now_ms,
                       struct acache_entry **held)
{
    struct acache_entry *e = calloc(1, sizeof(*e));

    *held = NULL;
    if (!e) {
        if (free_fn)
            free_fn(value);
        return NULL;
    }
    e->key = *k;
    e->value = value;
    e->free_fn = free_fn;
    e->bytes = bytes;
    e->made_ms = e->used_ms = now_ms;
    e->refs = 1;
    *held = e;
    if (strlen(version) >= sizeof(e->version) || bytes > c->budget)
        return value; /* only held: freed at its release */
    snprintf(e->version, sizeof(e->version), "%s", version);
    pthread_mutex_lock(&c->lock);
    /* What k had (another version, or an older "now"), then the least
     * recently used until it fits. */
    for (size_t i = 0; i < c->n; i++)
        if (same_question(&c->v[i]->key, k)) {
            drop(c, i);
            break;
        }
    while (c->n && (c->n == ACACHE_ENTRIES_MAX || c->bytes + bytes > c->budget)) {
        size_t old = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->v[i]->used_ms < c->v[old]->used_ms)
                old = i;
        drop(c, old);
    }
    e->kept = true;
    c->v[c->n++] = e;
    c->bytes += bytes;
    pthread_mutex_unlock(&c->lock);
    return value;
}

void acache_release(struct acache *c, struct acache_entry *e)
{
    bool gone;

    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    e->refs--;
    gone = e->refs == 0 && !e->kept;
    pthread_mutex_unlock(&c->lock);
    if (gone)
        entry_free(e);
}

size_t acache_advance(struct acache *c, const char *from, const char *to)
{
    size_t n = 0;

    if (strlen(to) >= ACACHE_VERSION_LEN)
        return 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i]->version, from) == 0) {
            snprintf(c->v[i]->version, sizeof(c->v[i]->version), "%s", to);
            n++;
        }
    pthread_mutex_unlock(&c->lock);
    return n;
}

void acache_stats(struct acache *c, struct acache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    out->hits = c->hits;
    out->misses = c->misses;
    out->stale = c->stale;
    out->entries = c->n;
    out->bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}

size_t acache_analysis_bytes(const struct capacity *a)
{
    const struct fleet *f = a->fleet;
    size_t per_hour = 4 * sizeof(double) + sizeof(struct fleet_events);
    size_t n = sizeof(*a) + f->nhosts * (sizeof(struct fleet_host) + f->nhours * per_hour +
                                         sizeof(struct host_pressure));

    for (size_t i = 0; i < f->nhosts; i++)
        n += f->hosts[i].nprocs * (sizeof(struct fleet_proc) + 3 * f->nhours * sizeof(double));
    n += a->findings->n * sizeof(struct finding);
    n += a->plan->nsites * sizeof(struct plan_site);
    return n;
}
