/* SPDX-License-Identifier: MIT */
/* backoff.h: when the agent tries again, and where. Pure functions over
 * explicit state and an explicit random generator, so the policy is tested
 * without clocks or sockets:
 *  - exponential backoff with full jitter: the k-th consecutive failure
 *    waits a uniform random time in [0, min(cap, base * 2^k)] (base 1 s,
 *    cap 5 min), so a fleet that failed together spreads out;
 *  - a Retry-After from the collector is a floor: the wait is at least
 *    that long (plus a little jitter, so agents told the same number do not
 *    come back in the same second), clamped to BACKOFF_RETRY_AFTER_MAX;
 *  - failover: collectors are tried in the configured order; one that
 *    fails is put in backoff and the next one that is not in backoff is
 *    used at once; when an earlier one's backoff ends it is tried again
 *    first, so the agent returns to it by itself when it is back;
 *  - start-up and interval jitter, so agents restarted together spread
 *    their first snapshots and pushes over the interval. */
#ifndef PF_BACKOFF_H
#define PF_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS 300000
#define BACKOFF_RETRY_AFTER_MAX_S 3600
#define BACKOFF_MAX_COLLECTORS 8
/* Cap of the backoff of a collector that has a fallback after it: the agent
 * probes it again at least this often, to return to it soon after it is
 * back. The last collector in the list uses the full cap. */
#define BACKOFF_FAILBACK_CAP_MS 60000

/* xorshift64* generator; seed it from osutil_random_seed(). */
struct backoff_rng {
    uint64_t s;
};

void backoff_rng_seed(struct backoff_rng *r, uint64_t seed);
/* Returns the next 64 random bits. */
uint64_t backoff_rng_next(struct backoff_rng *r);
/* Returns a uniform integer in [0, n] (n >= 0). */
int64_t backoff_rng_upto(struct backoff_rng *r, int64_t n);

/* The wait before retry number attempt+1 after attempt consecutive
 * failures (attempt >= 1): uniform in [0, min(cap_ms, base_ms * 2^(attempt-1))].
 * Returns milliseconds. */
int64_t backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms,
                         struct backoff_rng *r);

/* The wait when the collector sent Retry-After: retry_after_s seconds
 * (clamped to [0, BACKOFF_RETRY_AFTER_MAX_S]) plus a uniform jitter in
 * [0, 1 s + 10 % of it] (at most 30 s); never less than retry_after_s.
 * Returns ms. */
int64_t backoff_retry_after_ms(int64_t retry_after_s, struct backoff_rng *r);

/* Parses a Retry-After header value (RFC 9110 10.2.3): delay-seconds
 * ("120") or an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), given the
 * current time now_s. Leading/trailing blanks are ignored. *delay_s is
 * >= 0 (a date in the past gives 0). Returns PF_INVALID otherwise. */
enum pf_rc backoff_parse_retry_after(const char *value, int64_t now_s, int64_t *delay_s);

/* Start-up delay: uniform in [0, min(interval_ms, 60 s)). */
int64_t backoff_startup_ms(int64_t interval_ms, struct backoff_rng *r);

/* The next tick after the one planned at prev_ms: prev_ms + interval_ms
 * moved by up to +-5 % (at most +-3 s), and never before now_ms (ticks
 * missed while busy are skipped, not bunched). */
int64_t backoff_next_tick_ms(int64_t prev_ms, int64_t interval_ms, int64_t now_ms,
                             struct backoff_rng *r);

/* Failover over n collectors (in the configured order). Times are from
 * pf_mono_ms(). */
struct failover {
    size_t n;
    int64_t base_ms, cap_ms;
    struct {
        unsigned failures;   /* consecutive */
        int64_t not_before;  /* do not try before this time */
        bool told;           /* not_before came from the collector's Retry-After */
    } c[BACKOFF_MAX_COLLECTORS];
};

/* Starts with every collector usable. n is clamped to
 * BACKOFF_MAX_COLLECTORS. */
void failover_init(struct failover *f, size_t n, int64_t base_ms, int64_t cap_ms);

/* Returns the collector to try at now_ms: the first, in order, whose
 * backoff has ended. When all are in backoff returns -1 and sets *wait_ms
 * to the time until the earliest one ends. */
int failover_pick(const struct failover *f, int64_t now_ms, int64_t *wait_ms);

/* Collector i answered: its backoff is cleared, and so is the backoff of
 * every fallback after it that it earned by failing (not one it was told
 * by a Retry-After): that verdict dates from the last outage, and a
 * fallback must be tried at once when i fails next, not when a stale
 * backoff of up to BACKOFF_CAP_MS ends. */
void failover_success(struct failover *f, size_t i);

/* Collector i failed in a retryable way at now_ms: it waits the backoff for
 * its number of consecutive failures (capped at BACKOFF_FAILBACK_CAP_MS
 * when a later collector can take over), or the Retry-After wait when
 * retry_after_s >= 0 (the collector said when to come back). Returns the
 * wait in ms. */
int64_t failover_failure(struct failover *f, size_t i, int64_t now_ms, int64_t retry_after_s,
                         struct backoff_rng *r);

#endif
