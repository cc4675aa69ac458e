/* SPDX-License-Identifier: MIT */
/* analysis_cache.h: analyses (capacity.h) and host details kept between
 * requests, so /report, /v1/findings, /v1/plan, /v1/hosts and /metrics
 * share one whole-fleet analysis instead of each loading and analysing
 * the fleet again (seconds at 1,000 hosts), and a site or host page
 * reuses its site's analysis.
 *
 * An entry answers only the exact question it was made for: the tenant
 * ("" is an operator's view of every tenant, which never answers a
 * tenant's request), the site, the host (detail), the analysis
 * parameters, and the version of the database it was read from. The
 * caller derives the version from the database (capacity_api.c: the text
 * of pg_current_snapshot(), which changes with every write that commits
 * or starts, whichever collector made it), so an entry made before any
 * change is never served after it. Analyses "as of now" (no explicit
 * time) match on everything but the time and are served while younger
 * than reuse_s seconds; an explicit time must match exactly.
 *
 * Values are read-only once put: readers on several threads share them.
 * Each lookup that hits holds its entry until acache_release(); an entry
 * evicted (least recently used first, to stay under the byte budget) or
 * found stale while held is freed by its last release. Thread-safe. */
#ifndef PF_ANALYSIS_CACHE_H
#define PF_ANALYSIS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capacity.h"
#include "error.h"

#define ACACHE_VERSION_LEN 256 /* longer versions (many writes in flight): not cached */
#define ACACHE_ENTRIES_MAX 32

enum acache_kind { ACACHE_ANALYSIS, ACACHE_HOST_DETAIL };

struct acache_key {
    enum acache_kind kind;
    char tenant[PF_TENANT_LEN]; /* "": every tenant (an operator's view) */
    char site[PF_ID_LEN];       /* "": every site */
    char agent_id[PF_ID_LEN];   /* ACACHE_HOST_DETAIL: the host; else "" */
    struct fleet_params p;      /* p.now is not compared when wall_clock */
    bool wall_clock;            /* p.now was the wall clock, not asked for */
};

struct acache;
struct acache_entry;

/* A cache of at most budget_mb MB (by acache_put's estimates); reuse_s:
 * how long a wall-clock entry answers (0: never). NULL when out of
 * memory. budget_mb 0: a cache that keeps nothing (every put is freed at
 * its release). */
struct acache *acache_new(size_t budget_mb, unsigned reuse_s);
/* Frees c and every entry; no entry may be held. NULL does nothing. */
void acache_free(struct acache *c);

/* The value for k read at version, or NULL; a hit is held in *held until
 * acache_release(). now_ms: a monotonic clock in milliseconds. An entry
 * for k at another version is dropped. */
const void *acache_get(struct acache *c, const struct acache_key *k, const char *version,
                       long long now_ms, struct acache_entry **held);

/* Puts value (of bytes, freed with free_fn) for k at version, replacing
 * what k had, and holds it in *held for the caller, who reads it until
 * acache_release(). The cache owns value from now on, even on failure:
 * NULL (value freed) when out of memory. A value over the budget or with
 * too long a version is only held, not kept. */
const void *acache_put(struct acache *c, const struct acache_key *k, const char *version,
                       void *value, size_t bytes, void (*free_fn)(void *), long long now_ms,
                       struct acache_entry **held);

/* Lets go of an entry from acache_get() or acache_put(); NULL does nothing. */
void acache_release(struct acache *c, struct acache_entry *e);

/* Moves every entry read at version from to version to: the caller knows
 * the only writes between them changed nothing an entry holds (the alert
 * evaluator's own bookkeeping, say). Returns how many moved. */
size_t acache_advance(struct acache *c, const char *from, const char *to);

struct acache_stats {
    uint64_t hits, misses, stale; /* stale: dropped for a newer version */
    size_t entries, bytes;
};
void acache_stats(struct acache *c, struct acache_stats *out);

/* A rough size in bytes of analysis a (its hourly series, processes and
 * findings), for acache_put(). */
size_t acache_analysis_bytes(const struct capacity *a);

#endif
