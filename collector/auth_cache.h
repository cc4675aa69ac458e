/* SPDX-License-Identifier: MIT */
/* auth_cache.h: caches of credentials checked against the database (node
 * keys; any other bearer secret the same way), which stop honouring a
 * revoked credential within AUTH_STALE_MS on every collector without a
 * database round trip per request.
 *
 * The database keeps one counter, auth_generation.n (sql/060), that every
 * revocation changes in its own transaction (the trigger function
 * pf_auth_bump(); a new credential table adds a trigger calling it). Each
 * collector runs one watcher (auth_watch_start) that reads the counter
 * every AUTH_POLL_MS on a connection of its own, and at once when the
 * database sends NOTIFY portfleet_auth, and records it in an auth_gen.
 * A cache entry is used only while
 *   (a) the generation it was filled under is still the current one, and
 *   (b) the last successful read of the counter started less than
 *       AUTH_STALE_MS ago.
 * So a revocation committed at time T is seen by every read that starts
 * after T; until one has succeeded, (b) stops every hit by T +
 * AUTH_STALE_MS at the latest, and the request pays a database lookup that
 * sees the revocation. A database that cannot be reached makes every
 * request a lookup (which fails as the request would have anyway), never a
 * stale hit.
 *
 * Filling races a revocation: take a ticket (auth_cache_ticket) BEFORE the
 * database lookup and pass it to auth_cache_put; an entry filled under a
 * generation that has moved on is never returned.
 *
 * The read side's tokens and sessions do not use this cache: access.c
 * keeps them all in memory and counts every change of them, additions
 * included, in auth_epoch (sql/030; why that is another counter:
 * access.h).
 *
 * Use, e.g. for API tokens:
 *     uint8_t h[AUTH_HASH_LEN];   auth_hash(token, strlen(token), h);
 *     if (auth_cache_get(c, h, who, sizeof(who))) -> good
 *     t = auth_cache_ticket(c);
 *     rc = <SELECT ... WHERE hash = h AND revoked_at IS NULL>;
 *     if (found) auth_cache_put(c, h, who, t);
 * Every function is thread-safe. Only positive answers are cached: an
 * unknown credential is looked up every time (callers rate-limit). */
#ifndef PF_AUTH_CACHE_H
#define PF_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "error.h"

#define AUTH_POLL_MS 1000          /* the watcher reads the counter this often */
#define AUTH_STALE_MS 3000         /* no cache hit when the last read is older */
#define AUTH_CACHE_VALUE_MAX 96    /* bytes of a cached value, with its NUL */
/* What an administrator is promised: AUTH_STALE_MS, plus a request that
 * was already past its credential check. */
#define AUTH_REVOKED_WITHIN_S 5

/* The current generation and how fresh it is; shared by every cache of a
 * process and written by its watcher. */
struct auth_gen;

/* Returns a generation that is not fresh yet (no hit until the first
 * auth_gen_observe), or NULL when out of memory. Free with auth_gen_free. */
struct auth_gen *auth_gen_new(void);
void auth_gen_free(struct auth_gen *g);
/* Records that a read of the counter that started at started_ms
 * (pf_mono_ms) returned n. One thread at a time (the watcher; tests call
 * it directly). */
void auth_gen_observe(struct auth_gen *g, int64_t n, long long started_ms);
/* Times the generation changed since start (for logs and tests). */
uint64_t auth_gen_changes(struct auth_gen *g);

/* The thread that keeps g fresh from the database. */
struct auth_watch;

/* Starts a watcher thread on its own connection to conninfo (both must
 * outlive it). It connects lazily and retries every AUTH_POLL_MS while the
 * database is down (logged once per outage). PF_OK and *out, or PF_NOMEM /
 * PF_IO with *out NULL. Stop with auth_watch_stop (NULL does nothing). */
enum pf_rc auth_watch_start(struct auth_gen *g, const char *conninfo, struct auth_watch **out);
void auth_watch_stop(struct auth_watch *w);

/* A fixed-size cache of (SHA-256 of a secret) -> value (a short string:
 * an agent id, "tenant:role"...). A slot holds one entry; a colliding
 * entry replaces it. */
struct auth_cache;

/* slots > 0. NULL when out of memory. g must outlive the cache. */
struct auth_cache *auth_cache_new(struct auth_gen *g, size_t slots);
void auth_cache_free(struct auth_cache *c);
/* True and the value copied into value (len bytes, NUL-terminated,
 * truncated if smaller than what was put) when key is cached and the
 * entry is still good (see above). */
bool auth_cache_get(struct auth_cache *c, const uint8_t key[AUTH_HASH_LEN], char *value,
                    size_t len);
/* The generation to fill under: take it before asking the database. */
uint64_t auth_cache_ticket(const struct auth_cache *c);
/* Caches key -> value (at most AUTH_CACHE_VALUE_MAX - 1 bytes; longer is
 * not cached) under ticket. Does nothing when the generation has moved on
 * since the ticket was taken. */
void auth_cache_put(struct auth_cache *c, const uint8_t key[AUTH_HASH_LEN], const char *value,
                    uint64_t ticket);
/* Forgets every entry (e.g. after a local revocation). */
void auth_cache_clear(struct auth_cache *c);

/* Counts of auth_cache_get since start: hits, misses (each one a database
 * lookup for the caller), and the misses because the generation was not
 * fresh (every entry unusable then, by design): /v1/status shows them, so
 * a test tells a cache that misses from one whose watcher was late. */
struct auth_cache_stats {
    uint64_t hits, misses, misses_stale;
};
void auth_cache_stats(struct auth_cache *c, struct auth_cache_stats *out);

#endif
