/* SPDX-License-Identifier: MIT */
/* test_backoff.c: the retry and failover policy, measured over many draws:
 * full-jitter delays stay inside [0, min(cap, base * 2^(k-1))] and fill it
 * (mean near half the ceiling); Retry-After is a floor; the three HTTP-date
 * forms and delay-seconds parse, garbage does not; 10,000 agents started
 * together spread their first snapshot over the interval; failover moves
 * to the next collector at once and returns to the first when its backoff
 * ends. */
#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "test.h"

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

TEST(full_jitter_bounds_and_spread)
{
    struct backoff_rng r;

    backoff_rng_seed(&r, 42);
    for (unsigned k = 1; k <= 14; k++) {
        int64_t ceiling = min64(BACKOFF_CAP_MS, (int64_t)BACKOFF_BASE_MS << (k - 1));
        int64_t lo = INT64_MAX, hi = -1;
        double sum = 0;
        const int n = 20000;

        for (int i = 0; i < n; i++) {
            int64_t d = backoff_delay_ms(k, BACKOFF_BASE_MS, BACKOFF_CAP_MS, &r);

            if (d < lo)
                lo = d;
            if (d > hi)
                hi = d;
            sum += (double)d;
        }
        if (lo < 0 || hi > ceiling)
            T_FAIL_("attempt %u: delays [%lld, %lld] outside [0, %lld]", k, (long long)lo,
                    (long long)hi, (long long)ceiling);
        /* full jitter: uses the whole window */
        if (lo > ceiling / 50 || hi < ceiling - ceiling / 50)
            T_FAIL_("attempt %u: delays [%lld, %lld] do not fill [0, %lld]", k, (long long)lo,
                    (long long)hi, (long long)ceiling);
        if (sum / n < ceiling * 0.47 || sum / n > ceiling * 0.53)
            T_FAIL_("attempt %u: mean %.0f not near %lld/2", k, sum / n, (long long)ceiling);
    }
    /* no overflow far out */
    T_ASSERT(backoff_delay_ms(10000, BACKOFF_BASE_MS, BACKOFF_CAP_MS, &r) <= BACKOFF_CAP_MS);
    T_EQ_INT(backoff_delay_ms(0, BACKOFF_BASE_MS, BACKOFF_CAP_MS, &r), 0);
}

TEST(retry_after_is_a_floor)
{
    struct backoff_rng r;

    backoff_rng_seed(&r, 7);
    for (int i = 0; i < 5000; i++) {
        int64_t d = backoff_retry_after_ms(3, &r);

        T_ASSERT(d >= 3000 && d <= 3000 + 1000 + 300);
        d = backoff_retry_after_ms(0, &r);
        T_ASSERT(d >= 0 && d <= 1000);
        d = backoff_retry_after_ms(120, &r);
        T_ASSERT(d >= 120000 && d <= 120000 + 13000);
    }
    T_ASSERT(backoff_retry_after_ms(99999999, &r) <= BACKOFF_RETRY_AFTER_MAX_S * 1000LL + 30000);
    T_ASSERT(backoff_retry_after_ms(99999999, &r) >= BACKOFF_RETRY_AFTER_MAX_S * 1000LL);
    T_ASSERT(backoff_retry_after_ms(-5, &r) >= 0);
}

TEST(parse_retry_after)
{
    /* 784111777 is Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example) */
    const int64_t t = 784111777;
    int64_t d = -1;

    T_EQ_INT(backoff_parse_retry_after("120", 0, &d), PF_OK);
    T_EQ_INT(d, 120);
    T_EQ_INT(backoff_parse_retry_after(" 5\r\n", 0, &d), PF_OK);
    T_EQ_INT(d, 5);
    T_EQ_INT(backoff_parse_retry_after("0", 0, &d), PF_OK);
    T_EQ_INT(d, 0);
    T_EQ_INT(backoff_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t - 10, &d), PF_OK);
    T_EQ_INT(d, 10);
    T_EQ_INT(backoff_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t - 11, &d), PF_OK);
    T_EQ_INT(d, 11);
    T_EQ_INT(backoff_parse_retry_after("Sun Nov  6 08:49:37 1994", t - 12, &d), PF_OK);
    T_EQ_INT(d, 12);
    T_EQ_INT(backoff_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 100, &d), PF_OK);
    T_EQ_INT(d, 0); /* a date in the past: now */
    T_EQ_INT(backoff_parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", 0, &d), PF_OK);
    T_EQ_INT(d, 0);
    T_EQ_INT(backoff_parse_retry_after("Tue, 29 Feb 2028 12:00:00 GMT", 1835438400 - 60, &d),
             PF_OK);
    T_EQ_INT(d, 60);

    static const char *bad[] = {"",
                                " ",
                                "-5",
                                "1.5",
                                "5s",
                                "abc",
                                "Sun, 06 Nov 1994 08:49:37",
                                "Sun, 06 Nov 1994 08:49:37 UTC",
                                "Sun, 6 Nov 1994 08:49:37 GMT",
                                "Sun, 06 Foo 1994 08:49:37 GMT",
                                "Sun, 06 Nov 1994 25:49:37 GMT",
                                "Sun, 32 Nov 1994 08:49:37 GMT"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (backoff_parse_retry_after(bad[i], t, &d) == PF_OK)
            T_FAIL_("accepted \"%s\"", bad[i]);
}

TEST(startup_spreads_ten_thousand_agents)
{
    /* 10,000 agents restarted in the same second, interval 60 s: count how
     * many take their first snapshot in each second */
    int per_second[60] = {0};
    int worst = 0;

    for (uint64_t agent = 0; agent < 10000; agent++) {
        struct backoff_rng r;
        int64_t d;

        /* seeds as osutil_random_seed would give: unrelated per process */
        backoff_rng_seed(&r, agent * 7919 + 1);
        d = backoff_startup_ms(60000, &r);
        T_ASSERT(d >= 0 && d < 60000);
        per_second[d / 1000]++;
    }
    for (int s = 0; s < 60; s++)
        if (per_second[s] > worst)
            worst = per_second[s];
    printf("startup jitter: busiest second holds %d of 10000 agents (uniform: 167)\n", worst);
    T_ASSERT(worst < 250);
    /* a 1 s interval still jitters within it */
    {
        struct backoff_rng r;

        backoff_rng_seed(&r, 3);
        for (int i = 0; i < 1000; i++) {
            int64_t d = backoff_startup_ms(1000, &r);

            T_ASSERT(d >= 0 && d < 1000);
        }
    }
}

TEST(next_tick_jitter_and_no_bunching)
{
    struct backoff_rng r;
    int64_t lo = INT64_MAX, hi = 0;

    backoff_rng_seed(&r, 11);
    for (int i = 0; i < 10000; i++) {
        int64_t n = backoff_next_tick_ms(100000, 60000, 100000, &r);

        if (n < lo)
            lo = n;
        if (n > hi)
            hi = n;
    }
    T_ASSERT(lo >= 160000 - 3000 && hi <= 160000 + 3000);
    T_ASSERT(lo < 160000 - 2500 && hi > 160000 + 2500); /* it does move */
    /* far behind (a long push): next tick is now, not a burst of old ones */
    T_EQ_INT(backoff_next_tick_ms(1000, 1000, 50000, &r), 50000);
}

TEST(failover_moves_on_and_comes_back)
{
    struct failover f;
    struct backoff_rng r;
    int64_t now = 1000000, wait = -1, w;

    backoff_rng_seed(&r, 5);
    failover_init(&f, 2, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    T_EQ_INT(failover_pick(&f, now, &wait), 0);
    /* the first fails: the second is used at once, no waiting */
    w = failover_failure(&f, 0, now, -1, &r);
    T_ASSERT(w >= 0 && w <= 1000);
    T_EQ_INT(failover_pick(&f, now, &wait), w > 0 ? 1 : 0);
    failover_success(&f, 1);
    /* the first stays down a long time: its probes stay within the
     * failback cap, so the agent notices its return within a minute */
    for (int i = 0; i < 30; i++) {
        w = failover_failure(&f, 0, now, -1, &r);
        T_ASSERT(w <= BACKOFF_FAILBACK_CAP_MS);
        if (w > 0)
            T_EQ_INT(failover_pick(&f, now, &wait), 1);
    }
    /* its backoff ends: it is tried first again */
    T_EQ_INT(failover_pick(&f, now + BACKOFF_FAILBACK_CAP_MS, &wait), 0);
    failover_success(&f, 0);
    T_EQ_INT(failover_pick(&f, now, &wait), 0);
    T_EQ_INT(f.c[0].failures, 0);
}

TEST(failover_success_clears_stale_fallback_backoff)
{
    struct failover f;
    struct backoff_rng r;
    int64_t now = 1000, wait = -1;

    backoff_rng_seed(&r, 11);
    failover_init(&f, 3, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    /* an outage of all three: the fallbacks pile up failures */
    for (int i = 0; i < 12; i++) {
        failover_failure(&f, 0, now, -1, &r);
        failover_failure(&f, 1, now, -1, &r);
    }
    failover_failure(&f, 2, now, 600, &r); /* the last one said: 10 min */
    T_ASSERT(f.c[1].failures == 12);
    /* the first is back: the second's backoff is from the outage, cleared;
     * the third's Retry-After stands */
    failover_success(&f, 0);
    T_EQ_INT(f.c[1].failures, 0);
    T_EQ_INT(f.c[2].failures, 1);
    /* the first fails again: the second is used at once */
    failover_failure(&f, 0, now + 5000, -1, &r);
    T_EQ_INT(failover_pick(&f, now + 5000, &wait), f.c[0].not_before <= now + 5000 ? 0 : 1);
    T_ASSERT(f.c[1].not_before <= now + 5000);
    T_ASSERT(f.c[2].not_before >= now + 600000);
    /* a success of a later one leaves an earlier one's backoff alone, so
     * the agent keeps probing it at the failback cap */
    failover_failure(&f, 0, now, -1, &r);
    failover_success(&f, 1);
    T_EQ_INT(f.c[0].failures, 2);
}

TEST(failover_all_down_waits_for_earliest)
{
    struct failover f;
    struct backoff_rng r;
    int64_t now = 5000, wait = -1;

    backoff_rng_seed(&r, 9);
    failover_init(&f, 3, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    failover_failure(&f, 0, now, 30, &r); /* Retry-After: 30 */
    failover_failure(&f, 1, now, 10, &r);
    failover_failure(&f, 2, now, 20, &r);
    T_EQ_INT(failover_pick(&f, now, &wait), -1);
    T_ASSERT(wait >= 10000 && wait <= 10000 + 2000);
    T_EQ_INT(failover_pick(&f, now + wait, &wait), 1);
}

TEST(last_collector_uses_full_cap)
{
    struct failover f;
    struct backoff_rng r;
    int64_t hi = 0;

    backoff_rng_seed(&r, 13);
    failover_init(&f, 1, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    for (int i = 0; i < 2000; i++) {
        int64_t w = failover_failure(&f, 0, 0, -1, &r);

        T_ASSERT(w <= BACKOFF_CAP_MS);
        if (w > hi)
            hi = w;
    }
    T_ASSERT(hi > BACKOFF_FAILBACK_CAP_MS); /* not held to the failback cap */
}

TEST(rng_upto_uniform)
{
    struct backoff_rng r;
    int bins[10] = {0};

    backoff_rng_seed(&r, 1);
    for (int i = 0; i < 100000; i++) {
        int64_t v = backoff_rng_upto(&r, 9);

        T_ASSERT(v >= 0 && v <= 9);
        bins[v]++;
    }
    for (int i = 0; i < 10; i++)
        T_ASSERT(bins[i] > 9500 && bins[i] < 10500);
    T_EQ_INT(backoff_rng_upto(&r, 0), 0);
}

int main(void)
{
    RUN(full_jitter_bounds_and_spread);
    RUN(retry_after_is_a_floor);
    RUN(parse_retry_after);
    RUN(startup_spreads_ten_thousand_agents);
    RUN(next_tick_jitter_and_no_bunching);
    RUN(failover_moves_on_and_comes_back);
    RUN(failover_success_clears_stale_fallback_backoff);
    RUN(failover_all_down_waits_for_earliest);
    RUN(last_collector_uses_full_cap);
    RUN(rng_upto_uniform);
    return T_DONE();
}
