/* SPDX-License-Identifier: MIT */
/* test_stats.c: percentiles, Theil-Sen, Kendall tau, segmentation and the
 * trend on constructed hourly series: a leak must show its rate, and the
 * decoys (daily peaks, growth that levels off, a one-off jump, a spike)
 * must show no trend at all. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "stats.h"
#include "test.h"

#define H7 (7 * 24)

static uint64_t rng_state = 88172645463325252ULL;

/* Deterministic noise in [-1, 1) (xorshift64). */
static double noise(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ULL << 52) - 1.0;
}

#define T_NEAR(a, b, tol)                                                                          \
    do {                                                                                           \
        double t_a_ = (a), t_b_ = (b);                                                             \
        if (!(fabs(t_a_ - t_b_) <= (tol)))                                                         \
            T_FAIL_("%s ~ %s: %g != %g (tol %g)", #a, #b, t_a_, t_b_, (double)(tol));              \
    } while (0)

/* Office hours: 8..18 high, night low. */
static double office(size_t h, double low, double high)
{
    size_t hod = h % 24;
    return hod >= 8 && hod < 18 ? high : low;
}

TEST(percentile_type7)
{
    double v[] = {10, 1, 9, 2, 8, 3, 7, 4, 6, 5, NAN};
    double p;

    T_EQ_INT(stats_percentile(v, 11, 50, &p), PF_OK);
    T_NEAR(p, 5.5, 1e-9);
    T_EQ_INT(stats_percentile(v, 11, 95, &p), PF_OK);
    T_NEAR(p, 9.55, 1e-9); /* rank 0.95 * 9 = 8.55 between 9 and 10 */
    T_EQ_INT(stats_percentile(v, 11, 100, &p), PF_OK);
    T_NEAR(p, 10, 0);
    T_EQ_INT(stats_percentile(v, 11, 0, &p), PF_OK);
    T_NEAR(p, 1, 0);
    T_NEAR(stats_max(v, 11), 10, 0);
}

TEST(percentile_empty_is_nan)
{
    double v[] = {NAN, NAN};
    double p = 0;

    T_EQ_INT(stats_percentile(v, 2, 50, &p), PF_OK);
    T_ASSERT(!stats_present(p));
    T_ASSERT(!stats_present(stats_max(v, 2)));
}

TEST(theil_sen_ignores_outliers_and_gaps)
{
    double v[40], slope;

    for (size_t i = 0; i < 40; i++)
        v[i] = 100 + 3.0 * (double)i;
    v[5] = 9000; /* wild points least squares would follow */
    v[17] = -500;
    v[30] = 7000;
    v[11] = NAN;
    v[12] = NAN;
    T_EQ_INT(stats_theil_sen(v, 40, &slope), PF_OK);
    T_NEAR(slope, 3.0, 1e-9);
}

TEST(theil_sen_needs_two_points)
{
    double v[] = {NAN, 5, NAN}, slope = 0;

    T_EQ_INT(stats_theil_sen(v, 3, &slope), PF_OK);
    T_ASSERT(!stats_present(slope));
}

TEST(theil_sen_ci_exact_line_and_few_points)
{
    double v[30], lo, hi, few[] = {1, NAN, 3};

    for (size_t i = 0; i < 30; i++)
        v[i] = 10 + 2.5 * (double)i;
    T_EQ_INT(stats_theil_sen_ci(v, 30, &lo, &hi), PF_OK);
    T_NEAR(lo, 2.5, 1e-9);
    T_NEAR(hi, 2.5, 1e-9);
    T_EQ_INT(stats_theil_sen_ci(few, 3, &lo, &hi), PF_OK);
    T_ASSERT(!stats_present(lo) && !stats_present(hi));
}

/* How often the interval holds the true slope over many noisy series:
 * near STATS_CI_PCT for independent noise, and still most of the time for
 * noise that follows itself from hour to hour (AR(1), phi 0.7), which an
 * interval without the widening misses far more often. */
static int ci_cover(double phi, int trials, double *mean_width)
{
    int in = 0;
    double w = 0;

    for (int t = 0; t < trials; t++) {
        double v[H7], e = 0, lo, hi;
        for (size_t i = 0; i < H7; i++) {
            e = phi * e + noise() * 40;
            v[i] = 1000 + 2.0 * (double)i + e;
        }
        if (stats_theil_sen_ci(v, H7, &lo, &hi) != PF_OK)
            return -1;
        in += lo <= 2.0 && 2.0 <= hi;
        w += (hi - lo) / trials;
    }
    *mean_width = w;
    return in;
}

TEST(theil_sen_ci_covers_the_slope)
{
    double w_ind, w_ar;
    int ind = ci_cover(0, 200, &w_ind), ar = ci_cover(0.7, 200, &w_ar);

    T_ASSERT(ind >= 160 && ind <= 196); /* 90% of 200 = 180 */
    T_ASSERT(ar >= 150);
    T_ASSERT(w_ar > 1.5 * w_ind); /* wider where hours follow each other */
    T_ASSERT(w_ind > 0 && w_ind < 1.0);
}

/* Day peaks that grow: the growth's interval holds its rate, and the
 * bounds move the date the limit is reached to either side. */
TEST(growth_interval)
{
    double v[14 * 24], days, early, late;
    struct stats_growth g, b;

    for (size_t i = 0; i < 14 * 24; i++)
        v[i] = office(i, 1000, 6000) * pow(1.02, (double)i / 24) + noise() * 60;
    T_EQ_INT(stats_growth(v, 14 * 24, &g), PF_OK);
    T_ASSERT(g.fit != STATS_GROWTH_NONE);
    T_ASSERT(g.per_day_lo <= g.per_day && g.per_day <= g.per_day_hi);
    T_ASSERT(g.rate_lo <= g.rate && g.rate <= g.rate_hi);
    days = stats_growth_days_to(&g, 16384);
    stats_growth_bound(&g, true, &b);
    early = stats_growth_days_to(&b, 16384);
    stats_growth_bound(&g, false, &b);
    late = stats_growth_days_to(&b, 16384);
    T_ASSERT(early <= days && days <= late);
}

TEST(kendall_and_release)
{
    double up[] = {1, 2, 3, 4, 5}, down[] = {5, 4, 3, 2, 1}, saw[] = {1, 5, 1, 5, 1};

    T_NEAR(stats_kendall_tau(up, 5), 1.0, 1e-12);
    T_NEAR(stats_kendall_tau(down, 5), -1.0, 1e-12);
    T_NEAR(stats_release_ratio(up, 5), 0.0, 1e-12);
    T_NEAR(stats_release_ratio(saw, 5), 1.0, 1e-12);
    T_ASSERT(isinf(stats_release_ratio(down, 5)));
}

/* Kendall's tau from every pair, as stats.c computed it before. */
static double tau_pairs(const double *v, size_t n)
{
    long long up = 0, down = 0, pairs = 0;

    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; stats_present(v[i]) && j < n; j++)
            if (stats_present(v[j])) {
                pairs++;
                up += v[j] > v[i];
                down += v[j] < v[i];
            }
    return pairs ? (double)(up - down) / (double)pairs : 0.0;
}

TEST(kendall_fast_equals_every_pair)
{
    static double v[1200];
    unsigned seed = 12345;
    size_t lens[] = {0, 1, 2, 3, 7, 24, 169, 256, 257, 1200};

    /* Random series of every length class (the stack and the heap path),
     * with gaps, ties (few distinct values), trends and noise: the tau
     * must be the same double, not only close. */
    for (int round = 0; round < 400; round++) {
        size_t n = lens[round % 10];
        int levels = 1 + round % 13, trend = round % 3 - 1;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 9 == 0)
                v[i] = NAN;
            else
                v[i] = (double)((seed >> 8) % (unsigned)levels) + trend * (double)i * 0.01 +
                       (round % 5 == 0 ? 0.5 * (double)((seed >> 20) % 3) : 0);
        }
        double a = stats_kendall_tau(v, n), b = tau_pairs(v, n);
        T_ASSERT(a == b);
    }
}

/* stats_onset as it was, O(n^2): the reference of the fast one. */
static size_t onset_pairs(const double *v, size_t n)
{
    double sy = 0, syy = 0, m = 0, line_sse, best = INFINITY;
    size_t best_k = 0, step = n / 200 + 1;

    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        sy += v[i];
        syy += v[i] * v[i];
        m++;
    }
    if (m < 4)
        return 0;
    line_sse = INFINITY;
    for (size_t k = 0; k + 2 < n; k += step) {
        double sz = 0, szz = 0, szy = 0, cov, varz, b, sse;
        for (size_t i = k + 1; i < n; i++) {
            if (!stats_present(v[i]))
                continue;
            double z = (double)(i - k);
            sz += z;
            szz += z * z;
            szy += z * v[i];
        }
        varz = szz - sz * sz / m;
        if (varz <= 0)
            continue;
        cov = szy - sz * sy / m;
        b = cov / varz;
        sse = syy - sy * sy / m - b * cov;
        if (k == 0)
            line_sse = sse;
        if (b > 0 && sse < best) {
            best = sse;
            best_k = k;
        }
    }
    return best < STATS_STEP_SSE_SHARE * line_sse ? best_k : 0;
}

TEST(onset_fast_equals_pairs)
{
    static double v[24 * 60];
    unsigned seed = 777;
    size_t lens[] = {0, 3, 5, 24, 48, 169, 170, 400, 24 * 60};
    int found = 0;

    /* Flat-then-rising series with noise, gaps, fractions (deseasonalized
     * series are not whole numbers) and pure noise, at every length class
     * (step 1 and the strided steps of long windows): the same onset. */
    for (int round = 0; round < 900; round++) {
        size_t n = lens[round % 9], k0;
        seed = seed * 1103515245u + 12345u;
        k0 = n ? (seed >> 8) % n : 0;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            double noise = (double)((seed >> 10) % 1000) / (round % 2 ? 7.3 : 1.0);
            double rise = i > k0 && round % 4 ? (double)(i - k0) * (1 + round % 5) : 0;
            v[i] = (seed >> 24) % 11 == 0 ? NAN : 500 + rise + noise;
        }
        size_t a = stats_onset(v, n), b = onset_pairs(v, n);
        T_EQ_INT((long long)a, (long long)b);
        found += a > 0;
    }
    T_ASSERT(found > 50); /* onsets were found (98 of 900), not only 0 */
}

TEST(segment_after_restart_not_after_night)
{
    double v[H7];

    /* Seed 004's sawtooth: a leak from 500, the service restarted at hour 100. */
    for (size_t i = 0; i < H7; i++)
        v[i] = i < 100 ? 500 + 105.0 * (double)i : 500 + 105.0 * (double)(i - 100);
    T_EQ_INT(stats_segment_start(v, H7), 100);
    /* Office hours drop every evening to the same night level: no reset. */
    for (size_t i = 0; i < H7; i++)
        v[i] = office(i, 400, 6000) + 20 * noise();
    T_EQ_INT(stats_segment_start(v, H7), 0);
}

TEST(deseasonalize_flattens_daily_pattern)
{
    double v[H7], d[H7], slope;

    for (size_t i = 0; i < H7; i++)
        v[i] = office(i, 400, 6000) + 10.0 * (double)i; /* 10/h growth under it */
    T_EQ_INT(stats_deseasonalize(v, H7, d), PF_OK);
    T_EQ_INT(stats_theil_sen(d, H7, &slope), PF_OK);
    T_NEAR(slope, 10.0, 0.5);
    T_ASSERT(stats_kendall_tau(d, H7) > 0.9);
}

TEST(step_versus_line)
{
    double v[60];

    for (size_t i = 0; i < 60; i++)
        v[i] = (i < 31 ? 1000 : 4000) + 30 * noise();
    T_ASSERT(stats_is_step(v, 60));
    for (size_t i = 0; i < 60; i++)
        v[i] = 1000 + 50.0 * (double)i + 30 * noise();
    T_ASSERT(!stats_is_step(v, 60));
    for (size_t i = 0; i < 60; i++)
        v[i] = 1000 + 30 * noise();
    T_ASSERT(!stats_is_step(v, 60));
}

/* Seed 004: 1.75 ports a minute = 105 an hour, 8-9 per 5 minutes with
 * bursts to 20: hourly maxima rise by 105 +- a burst. */
TEST(trend_leak_rate_and_level)
{
    double v[72];
    struct stats_trend t;

    for (size_t i = 0; i < 72; i++)
        v[i] = 2000 + 105.0 * (double)(i + 1) + 15 * noise();
    T_EQ_INT(stats_trend(v, 72, 12, &t), PF_OK);
    T_ASSERT(t.steady);
    T_NEAR(t.rate, 105.0, 105.0 * 0.02);
    T_NEAR(t.level, 2000 + 105.0 * 72, 40);
    T_EQ_INT(t.seg_start, 0);
    T_EQ_INT(t.last, 71);
    T_ASSERT(t.seasonal);
}

TEST(trend_leak_after_restart_uses_last_segment)
{
    double v[H7];
    struct stats_trend t;

    for (size_t i = 0; i < H7; i++) {
        size_t age = i < 90 ? i + 60 : i - 90; /* restart at hour 90 */
        v[i] = 800 + 105.0 * (double)age + 20 * noise();
    }
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_EQ_INT(t.seg_start, 90);
    T_ASSERT(t.steady);
    T_NEAR(t.rate, 105.0, 105.0 * 0.02);
}

TEST(trend_leak_on_top_of_office_hours)
{
    double v[H7];
    struct stats_trend t;

    for (size_t i = 0; i < H7; i++)
        v[i] = office(i, 1500, 5000) + 40.0 * (double)i + 50 * noise();
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_ASSERT(t.seasonal);
    T_ASSERT(t.steady);
    T_NEAR(t.rate, 40.0, 4.0);
    /* Level is near the day's peak, not the night's floor. */
    T_ASSERT(t.level > 5000 + 40.0 * 160);
}

TEST(decoy_daily_peaks_no_trend)
{
    double v[H7];
    struct stats_trend t;

    for (size_t i = 0; i < H7; i++)
        v[i] = office(i, 300, 9000) + 200 * noise();
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_ASSERT(!t.steady);
    T_NEAR(t.rate, 0, 0);
}

TEST(decoy_plateau_no_trend)
{
    double v[H7];
    struct stats_trend t;

    /* Grows 60/h for three days, then stays. */
    for (size_t i = 0; i < H7; i++)
        v[i] = 1000 + 60.0 * (double)(i < 72 ? i : 72) + 30 * noise();
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_ASSERT(t.slope > 0); /* the whole window does go up ... */
    T_ASSERT(!t.steady);   /* ... but it has levelled off */
    T_NEAR(t.rate, 0, 0);
}

TEST(decoy_one_off_jump_no_trend)
{
    double v[H7];
    struct stats_trend t;

    /* Jumps once, by 3000, a day ago, and stays: the recent day is flat
     * and a step explains the rest. Also a jump in the middle. */
    for (size_t i = 0; i < H7; i++)
        v[i] = (i < H7 - 20 ? 2000 : 5000) + 30 * noise();
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_ASSERT(!t.steady);
    for (size_t i = 0; i < H7; i++)
        v[i] = (i < 84 ? 2000 : 5000) + 30 * noise();
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_ASSERT(t.step);
    T_ASSERT(!t.steady);
}

TEST(decoy_spike_no_trend)
{
    double v[H7];
    struct stats_trend t;

    for (size_t i = 0; i < H7; i++)
        v[i] = 2000 + 30 * noise();
    v[150] = 15000; /* one hour of a storm */
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_ASSERT(!t.steady);
    T_NEAR(t.rate, 0, 0);
    /* A slow steady rise keeps its slope with the storm in it. */
    for (size_t i = 0; i < H7; i++)
        v[i] = 2000 + 5.0 * (double)i + 3 * noise();
    v[150] = 15000;
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_ASSERT(t.steady);
    T_NEAR(t.rate, 5.0, 0.25);
}

TEST(trend_needs_min_points)
{
    double v[H7];
    struct stats_trend t;

    for (size_t i = 0; i < H7; i++)
        v[i] = i >= H7 - 6 ? 100.0 * (double)i : NAN;
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_EQ_INT(t.npoints, 6);
    T_ASSERT(!t.steady);
    for (size_t i = 0; i < H7; i++)
        v[i] = NAN;
    T_EQ_INT(stats_trend(v, H7, 12, &t), PF_OK);
    T_EQ_INT(t.npoints, 0);
    T_ASSERT(!t.steady);
}

TEST(hours_to_limit)
{
    T_NEAR(stats_hours_to_limit(16000, 100, 16384), 3.84, 1e-9);
    T_NEAR(stats_hours_to_limit(17000, 100, 16384), 0, 0);
    T_ASSERT(!stats_present(stats_hours_to_limit(1000, 0, 16384)));
}

int main(void)
{
    RUN(percentile_type7);
    RUN(percentile_empty_is_nan);
    RUN(theil_sen_ignores_outliers_and_gaps);
    RUN(theil_sen_needs_two_points);
    RUN(theil_sen_ci_exact_line_and_few_points);
    RUN(theil_sen_ci_covers_the_slope);
    RUN(growth_interval);
    RUN(kendall_and_release);
    RUN(kendall_fast_equals_every_pair);
    RUN(onset_fast_equals_pairs);
    RUN(segment_after_restart_not_after_night);
    RUN(deseasonalize_flattens_daily_pattern);
    RUN(step_versus_line);
    RUN(trend_leak_rate_and_level);
    RUN(trend_leak_after_restart_uses_last_segment);
    RUN(trend_leak_on_top_of_office_hours);
    RUN(decoy_daily_peaks_no_trend);
    RUN(decoy_plateau_no_trend);
    RUN(decoy_one_off_jump_no_trend);
    RUN(decoy_spike_no_trend);
    RUN(trend_needs_min_points);
    RUN(hours_to_limit);
    return T_DONE();
}
