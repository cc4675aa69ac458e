/* SPDX-License-Identifier: MIT */
/* strmap.h: a hash map from (agent_id, string) to a 64-bit value, for the
 * compact snapshot layout (sql/020): the agent_strings ids a transaction
 * looked up, and the process-wide cache of ids and host-facts hashes
 * already committed, so ingest sends a string or a host's facts to the
 * database only the first time. Open addressing, keys copied; a map is
 * capped (strmap_put() answers PF_TOOBIG when full) and not thread-safe
 * (the cache wraps it in a mutex, compact.c). */
#ifndef PF_STRMAP_H
#define PF_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct strmap;

/* A map holding at most max entries. NULL when out of memory; free with
 * strmap_free(). */
struct strmap *strmap_new(size_t max);
void strmap_free(struct strmap *m);
/* Forgets every entry. */
void strmap_clear(struct strmap *m);
size_t strmap_count(const struct strmap *m);

/* True and *v when (agent, s) is in the map. */
bool strmap_get(const struct strmap *m, const char *agent, const char *s, int64_t *v);
/* Sets (agent, s) to v. PF_OK, PF_NOMEM, PF_TOOBIG (the map is full). */
enum pf_rc strmap_put(struct strmap *m, const char *agent, const char *s, int64_t v);

/* Calls fn for every entry, in no particular order; the map must not
 * change meanwhile. */
void strmap_foreach(const struct strmap *m,
                    void (*fn)(void *ctx, const char *agent, const char *s, int64_t v), void *ctx);

/* FNV-1a over n bytes, continuing from h (start with STRMAP_FNV_SEED). */
#define STRMAP_FNV_SEED 0xcbf29ce484222325ULL
uint64_t strmap_fnv(uint64_t h, const void *p, size_t n);

#endif
