/* SPDX-License-Identifier: MIT */
/* stats.c: percentiles, Theil-Sen, Kendall tau, segmentation and the
 * trend of hourly series (the reasoning is in stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copies the present values of v into a new array; *m gets their count.
 * Returns NULL with *m = 0 when there are none or no memory (*nomem). */
static double *present_copy(const double *v, size_t n, size_t *m, bool *nomem)
{
    double *c;
    size_t k = 0;

    *m = 0;
    *nomem = false;
    for (size_t i = 0; i < n; i++)
        k += stats_present(v[i]);
    if (k == 0)
        return NULL;
    c = malloc(k * sizeof(*c));
    if (!c) {
        *nomem = true;
        return NULL;
    }
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (stats_present(v[i]))
            c[k++] = v[i];
    *m = k;
    return c;
}

/* k-th smallest of a[0..n) (0-based), reordering a (N. Wirth's selection:
 * after it, a[k] holds that value, nothing left of k is larger and nothing
 * right of it smaller). */
static double select_kth(double *a, size_t n, size_t k)
{
    ptrdiff_t l = 0, m = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;

    while (l < m) {
        double x = a[kk];
        ptrdiff_t i = l, j = m;
        do {
            while (a[i] < x)
                i++;
            while (x < a[j])
                j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < kk)
            l = i;
        if (kk < i)
            m = j;
    }
    return a[kk];
}

/* Median of a[0..n), n > 0, reordering a. */
static double median_inplace(double *a, size_t n)
{
    double hi = select_kth(a, n, n / 2);
    double lo;

    if (n % 2)
        return hi;
    /* The lower middle is the largest of the elements left of n/2. */
    lo = a[0];
    for (size_t i = 1; i < n / 2; i++)
        if (a[i] > lo)
            lo = a[i];
    return (lo + hi) / 2;
}

enum pf_rc stats_percentile(const double *v, size_t n, double p, double *out)
{
    size_t m;
    bool nomem;
    double *c = present_copy(v, n, &m, &nomem);
    double rank, frac;
    size_t lo;

    *out = NAN;
    if (!c)
        return nomem ? PF_NOMEM : PF_OK;
    /* The two order statistics around the rank by selection, not a sort
     * (the analysis asks for hundreds of percentiles a host): after
     * select_kth(lo), the next one up is the least of what lies right of
     * lo. The same values a sort would give, so the same result. */
    if (p <= 0) {
        *out = select_kth(c, m, 0);
    } else if (p >= 100) {
        *out = select_kth(c, m, m - 1);
    } else {
        rank = p / 100.0 * (double)(m - 1);
        lo = (size_t)rank;
        frac = rank - (double)lo;
        double a = select_kth(c, m, lo), b = a;
        if (lo + 1 < m) {
            b = c[lo + 1];
            for (size_t i = lo + 2; i < m; i++)
                if (c[i] < b)
                    b = c[i];
        }
        *out = lo + 1 < m ? a + frac * (b - a) : a;
    }
    free(c);
    return PF_OK;
}

double stats_max(const double *v, size_t n)
{
    double m = NAN;

    for (size_t i = 0; i < n; i++)
        if (stats_present(v[i]) && (!stats_present(m) || v[i] > m))
            m = v[i];
    return m;
}

/* Theil-Sen over the pairs whose distance is a multiple of lag (lag 24:
 * the seasonal Sen slope, which a daily pattern does not move). */
static enum pf_rc theil_sen_lag(const double *v, size_t n, size_t lag, double *slope)
{
    size_t npresent = 0, k = 0;
    double *s;

    *slope = NAN;
    for (size_t i = 0; i < n; i++)
        npresent += stats_present(v[i]);
    if (npresent < 2)
        return PF_OK;
    s = malloc(npresent * (npresent - 1) / 2 * sizeof(*s));
    if (!s)
        return PF_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        for (size_t j = i + lag; j < n; j += lag)
            if (stats_present(v[j]))
                s[k++] = (v[j] - v[i]) / (double)(j - i);
    }
    if (k)
        *slope = median_inplace(s, k);
    free(s);
    return PF_OK;
}

enum pf_rc stats_theil_sen(const double *v, size_t n, double *slope)
{
    return theil_sen_lag(v, n, 1, slope);
}

enum pf_rc stats_theil_sen_ci(const double *v, size_t n, double *lo, double *hi)
{
    size_t m = 0, k = 0, prev = 0;
    double *s, b, var, c, m1, m2, r, mean = 0, num = 0, den = 0, rprev = NAN;
    bool have_prev = false;

    *lo = *hi = NAN;
    for (size_t i = 0; i < n; i++)
        m += stats_present(v[i]);
    if (m < 3)
        return PF_OK;
    s = malloc(m * (m - 1) / 2 * sizeof(*s));
    if (!s)
        return PF_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        for (size_t j = i + 1; j < n; j++)
            if (stats_present(v[j]))
                s[k++] = (v[j] - v[i]) / (double)(j - i);
    }
    b = median_inplace(s, k);
    /* Residuals around the line through the median of v - b * i: their
     * lag-1 autocorrelation (between consecutive present hours). */
    for (size_t i = 0; i < n; i++)
        if (stats_present(v[i]))
            mean += (v[i] - b * (double)i) / (double)m;
    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        r = v[i] - b * (double)i - mean;
        den += r * r;
        if (have_prev && i == prev + 1)
            num += r * rprev;
        rprev = r;
        prev = i;
        have_prev = true;
    }
    r = den > 0 ? num / den : 0;
    if (r > STATS_CI_MAX_AUTOCORR)
        r = STATS_CI_MAX_AUTOCORR;
    /* Var(S) of Kendall's S without ties (ties only narrow it), widened
     * by (1 + r) / (1 - r) for autocorrelated hours: n points that follow
     * each other count as fewer independent ones. */
    var = (double)m * (double)(m - 1) * (double)(2 * m + 5) / 18;
    if (r > 0)
        var *= (1 + r) / (1 - r);
    c = STATS_CI_Z * sqrt(var);
    m1 = ((double)k - c) / 2; /* 1-based ranks of the bounds */
    m2 = ((double)k + c) / 2 + 1;
    m1 = m1 < 1 ? 1 : ceil(m1);
    m2 = m2 > (double)k ? (double)k : floor(m2);
    *lo = select_kth(s, k, (size_t)m1 - 1);
    *hi = select_kth(s, k, (size_t)m2 - 1);
    free(s);
    return PF_OK;
}

/* Sorts a[0..n) ascending (tmp: n more) and returns the number of pairs
 * i < j of the input with a[i] > a[j] (strictly: equal values are no
 * inversion). */
static long long sort_inversions(double *a, double *tmp, size_t n)
{
    long long inv = 0;

    /* Bottom-up merge sort: counts, for each value taken from the right
     * run, the values of the left run still waiting (all larger). */
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (a[j] < a[i]) {
                    inv += (long long)(mid - i);
                    tmp[k++] = a[j++];
                } else {
                    tmp[k++] = a[i++];
                }
            }
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof(*a));
    }
    return inv;
}

/* Pairs rising minus pairs falling over time, counted exactly in
 * O(n log n): falling pairs are the inversions of the present values in
 * time order, tied pairs come from runs of equal values once sorted, and
 * the rest rise. The same integers as comparing every pair, so the same
 * tau to the last bit. */
double stats_kendall_tau(const double *v, size_t n)
{
    double stack[2 * 256], *a = stack;
    long long up, down, ties = 0, pairs;
    size_t m = 0;

    if (n > 256) {
        a = malloc(2 * n * sizeof(*a));
        if (!a) {
            /* No memory: every pair, as before. */
            long long u = 0, d = 0, p = 0;
            for (size_t i = 0; i < n; i++) {
                if (!stats_present(v[i]))
                    continue;
                for (size_t j = i + 1; j < n; j++) {
                    if (!stats_present(v[j]))
                        continue;
                    p++;
                    u += v[j] > v[i];
                    d += v[j] < v[i];
                }
            }
            return p ? (double)(u - d) / (double)p : 0.0;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (stats_present(v[i]))
            a[m++] = v[i];
    pairs = (long long)m * (long long)(m > 0 ? m - 1 : 0) / 2;
    down = sort_inversions(a, a + (n > 256 ? n : 256), m);
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && a[j] == a[i])
            j++;
        ties += (long long)(j - i) * (long long)(j - i - 1) / 2;
        i = j;
    }
    up = pairs - down - ties;
    if (a != stack)
        free(a);
    return pairs ? (double)(up - down) / (double)pairs : 0.0;
}

double stats_release_ratio(const double *v, size_t n)
{
    double rises = 0, falls = 0, prev = NAN;

    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        if (stats_present(prev)) {
            if (v[i] > prev)
                rises += v[i] - prev;
            else
                falls += prev - v[i];
        }
        prev = v[i];
    }
    if (rises <= 0)
        return INFINITY;
    return falls / rises;
}

size_t stats_segment_start(const double *v, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        double lo = INFINITY;
        size_t seen = 0;

        if (!stats_present(v[i]))
            continue;
        /* The minimum of the STATS_DAY present hours before i. */
        for (size_t j = i; j > 0 && seen < STATS_DAY; j--) {
            if (!stats_present(v[j - 1]))
                continue;
            if (v[j - 1] < lo)
                lo = v[j - 1];
            seen++;
        }
        if (seen == STATS_DAY && v[i] < STATS_RESET_FRACTION * lo)
            start = i;
    }
    return start;
}

enum pf_rc stats_deseasonalize(const double *v, size_t n, double *out)
{
    double shape[STATS_DAY];

    return stats_daily_profile(v, n, out, shape);
}

enum pf_rc stats_daily_profile(const double *v, size_t n, double *out, double shape[STATS_DAY])
{
    enum pf_rc rc;
    double profile[STATS_DAY], *col, slope, mid;
    size_t nprof = 0;

    /* The trend first (same-hour pairs only, so the pattern cannot move
     * it), then each hour-of-day's median of what the trend leaves. */
    rc = theil_sen_lag(v, n, STATS_DAY, &slope);
    if (rc)
        return rc;
    if (!stats_present(slope))
        slope = 0;
    col = malloc((n / STATS_DAY + 1) * sizeof(*col));
    if (!col)
        return PF_NOMEM;
    for (size_t h = 0; h < STATS_DAY; h++) {
        size_t k = 0;
        for (size_t i = h; i < n; i += STATS_DAY)
            if (stats_present(v[i]))
                col[k++] = v[i] - slope * (double)i;
        profile[h] = k ? median_inplace(col, k) : NAN;
    }
    free(col);
    /* Subtract the profile around its own median, so the level stays. */
    {
        double tmp[STATS_DAY];
        for (size_t h = 0; h < STATS_DAY; h++)
            if (stats_present(profile[h]))
                tmp[nprof++] = profile[h];
        mid = nprof ? median_inplace(tmp, nprof) : 0;
    }
    for (size_t h = 0; h < STATS_DAY; h++)
        shape[h] = stats_present(profile[h]) ? profile[h] - mid : 0;
    for (size_t i = 0; i < n; i++) {
        double p = profile[i % STATS_DAY];
        out[i] = stats_present(v[i]) && stats_present(p) ? v[i] - p + mid : v[i];
    }
    return PF_OK;
}

bool stats_is_step(const double *v, size_t n)
{
    /* Prefix sums over the present points in order. */
    double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
    double pre_y = 0, pre_yy = 0, best = INFINITY, line_sse, cnt, beta, alpha;
    size_t m = 0, k = 0;

    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        double x = (double)i;
        sx += x;
        sy += v[i];
        sxx += x * x;
        sxy += x * v[i];
        syy += v[i] * v[i];
        m++;
    }
    if (m < 4)
        return false;
    cnt = (double)m;
    {
        double varx = sxx - sx * sx / cnt;
        beta = varx > 0 ? (sxy - sx * sy / cnt) / varx : 0;
        alpha = (sy - beta * sx) / cnt;
    }
    line_sse = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        double r = v[i] - (alpha + beta * (double)i);
        line_sse += r * r;
    }
    /* Best split: left = first k present points, right = the rest; each
     * side's SSE from sums: sum(y^2) - sum(y)^2 / count. */
    for (size_t i = 0; i < n; i++) {
        if (!stats_present(v[i]))
            continue;
        pre_y += v[i];
        pre_yy += v[i] * v[i];
        k++;
        if (k < 2 || m - k < 2)
            continue;
        double left = pre_yy - pre_y * pre_y / (double)k;
        double ry = sy - pre_y, ryy = syy - pre_yy;
        double right = ryy - ry * ry / (double)(m - k);
        if (left + right < best)
            best = left + right;
    }
    if (line_sse <= 0)
        return false; /* a perfect line (or a constant) is not a jump */
    return best < STATS_STEP_SSE_SHARE * line_sse;
}

size_t stats_onset(const double *v, size_t n)
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
    /* The sums over the present hours after each k, from sums over i
     * gathered in one pass from the end (O(n) instead of O(n^2)): with z =
     * i - k, sum z = S1 - k C, sum z^2 = S2 - 2k S1 + k^2 C (integers,
     * exact), sum z v = SIY - k SY (in long double: the same value as the
     * pairwise sums to within rounding). */
    struct {
        double sz, szz, szy;
    } onset_sums[256]; /* step > n / 200: at most 200 values of k */
    int64_t c_after = 0, s1 = 0, s2 = 0;
    long double sy_after = 0, siy = 0;
    size_t next = n, nk = n >= 3 ? (n - 3) / step + 1 : 0; /* sums cover i >= next */

    if (nk > sizeof(onset_sums) / sizeof(onset_sums[0]))
        return 0; /* cannot happen (see above) */
    for (size_t j = nk; j-- > 0;) {
        size_t k = j * step;
        while (next > k + 1) {
            next--;
            if (!stats_present(v[next]))
                continue;
            c_after++;
            s1 += (int64_t)next;
            s2 += (int64_t)next * (int64_t)next;
            sy_after += v[next];
            siy += (long double)next * v[next];
        }
        onset_sums[k / step].sz = (double)(s1 - (int64_t)k * c_after);
        onset_sums[k / step].szz =
            (double)(s2 - 2 * (int64_t)k * s1 + (int64_t)k * (int64_t)k * c_after);
        onset_sums[k / step].szy = (double)(siy - (long double)k * sy_after);
    }
    for (size_t k = 0; k + 2 < n; k += step) {
        double sz = onset_sums[k / step].sz, szz = onset_sums[k / step].szz,
               szy = onset_sums[k / step].szy, cov, varz, b, sse;
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

enum pf_rc stats_forecast(const double *v, size_t seg_start, size_t last, double rate, double limit,
                          double max_hours, double *hours)
{
    size_t len = last + 1 - seg_start;
    double *x, shape[STATS_DAY], proj[STATS_DAY], base;
    size_t k = 0;
    enum pf_rc rc;

    *hours = NAN;
    if (len < 2 * STATS_DAY) {
        double level;
        rc = stats_level(v, seg_start, last, rate, &level);
        if (!rc && stats_present(level)) {
            double h = stats_hours_to_limit(level, rate, limit);
            *hours = stats_present(h) && h <= max_hours ? h : NAN;
        }
        return rc;
    }
    x = malloc(len * sizeof(*x));
    if (!x)
        return PF_NOMEM;
    rc = stats_daily_profile(v + seg_start, len, x, shape);
    if (rc) {
        free(x);
        return rc;
    }
    /* The level without the daily pattern: the median of the last day's
     * adjusted values projected to `last`. */
    for (size_t i = len; i > 0 && k < STATS_DAY; i--)
        if (stats_present(x[i - 1]))
            proj[k++] = x[i - 1] + rate * (double)(len - i);
    free(x);
    if (k == 0)
        return PF_OK;
    rc = stats_percentile(proj, k, 50, &base);
    if (rc)
        return rc;
    /* Hour by hour: the line plus that hour's place in the day. */
    for (double h = 0; h <= max_hours; h++) {
        size_t hod = (len - 1 + (size_t)h) % STATS_DAY;
        if (base + rate * h + shape[hod] >= limit) {
            *hours = h;
            break;
        }
        if (!(rate > 0) && h >= STATS_DAY)
            break; /* flat: if no hour of a day reaches it, none will */
    }
    return PF_OK;
}

double stats_hours_to_limit(double level, double rate, double limit)
{
    if (level >= limit)
        return 0;
    if (!(rate > 0))
        return NAN;
    return (limit - level) / rate;
}

enum pf_rc stats_level(const double *v, size_t from, size_t last, double rate, double *level)
{
    double proj[STATS_DAY];
    size_t k = 0;

    for (size_t i = last + 1; i > from && k < STATS_DAY; i--) {
        if (stats_present(v[i - 1]))
            proj[k++] = v[i - 1] + rate * (double)(last - (i - 1));
    }
    return stats_percentile(proj, k, STATS_LEVEL_PCT, level);
}

/* Growth that has stopped: over the last STATS_PLATEAU_HOURS present
 * hours of x[0..n) the Theil-Sen slope is under STATS_PLATEAU_SHARE of
 * slope, and at slope those hours would have risen more than four times the
 * series' hour-to-hour noise (the median absolute change around the
 * slope), so flat hours are a fact, not noise hiding a slow rise. */
static enum pf_rc plateau(const double *x, size_t n, double slope, bool *out)
{
    size_t from = n, seen = 0, k = 0;
    double last_slope, noise, prev = NAN, *d;
    enum pf_rc rc;

    *out = false;
    while (from > 0 && seen < STATS_PLATEAU_HOURS) {
        from--;
        seen += stats_present(x[from]);
    }
    if (seen < STATS_PLATEAU_HOURS || !(slope > 0))
        return PF_OK;
    d = malloc(n * sizeof(*d));
    if (!d)
        return PF_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (!stats_present(x[i]))
            continue;
        if (stats_present(prev))
            d[k++] = fabs(x[i] - prev - slope);
        prev = x[i];
    }
    noise = k ? median_inplace(d, k) : 0;
    free(d);
    rc = stats_theil_sen(x + from, n - from, &last_slope);
    if (rc)
        return rc;
    *out = slope * (STATS_PLATEAU_HOURS - 1) > 4 * noise &&
           last_slope < STATS_PLATEAU_SHARE * slope;
    return PF_OK;
}

enum pf_rc stats_trend(const double *v, size_t n, size_t min_points, struct stats_trend *out)
{
    enum pf_rc rc = PF_OK;
    double *adj = NULL;
    const double *x;
    size_t len, recent_from, seen;

    memset(out, 0, sizeof(*out));
    out->slope = out->recent_slope = out->level = out->slope_lo = out->slope_hi = NAN;
    out->seg_start = stats_segment_start(v, n);
    for (size_t i = out->seg_start; i < n; i++) {
        if (stats_present(v[i])) {
            out->npoints++;
            out->last = i;
        }
    }
    if (out->npoints == 0)
        return PF_OK;
    len = out->last + 1 - out->seg_start;
    x = v + out->seg_start;
    if (len >= 2 * STATS_DAY) {
        adj = malloc(len * sizeof(*adj));
        if (!adj)
            return PF_NOMEM;
        rc = stats_deseasonalize(x, len, adj);
        if (rc)
            goto out;
        x = adj;
        out->seasonal = true;
    }
    /* A rise that started inside the segment (a leak after an update)
     * is measured from its onset. */
    {
        size_t k = stats_onset(x, len);
        out->seg_start += k;
        x += k;
        len -= k;
        out->npoints = 0;
        for (size_t i = len; i > 0; i--) {
            if (stats_present(x[i - 1])) {
                out->npoints++;
                out->first = out->seg_start + i - 1;
            }
        }
    }
    /* Kendall's tau first: below STATS_STEADY_TAU nothing rises steadily,
     * and the slopes (the costly part: a median over all pairs) are not
     * needed. Most hosts of a fleet stop here. */
    out->tau = stats_kendall_tau(x, len);
    if (out->npoints >= min_points && out->tau >= STATS_STEADY_TAU) {
        rc = stats_theil_sen(x, len, &out->slope);
        if (rc)
            goto out;
        /* The last STATS_RECENT_HOURS present hours of the segment. */
        recent_from = len;
        seen = 0;
        while (recent_from > 0 && seen < STATS_RECENT_HOURS) {
            recent_from--;
            seen += stats_present(x[recent_from]);
        }
        rc = stats_theil_sen(x + recent_from, len - recent_from, &out->recent_slope);
        if (rc)
            goto out;
        out->step = stats_is_step(x, len);
        rc = plateau(x, len, out->slope, &out->plateau);
        if (rc)
            goto out;
        out->steady = out->slope > 0 && !out->step && !out->plateau &&
                      out->recent_slope >= STATS_RECENT_SHARE * out->slope;
        if (out->steady)
            rc = stats_theil_sen_ci(x, len, &out->slope_lo, &out->slope_hi);
        if (rc)
            goto out;
    }
    out->rate = out->steady ? out->slope : 0;
    rc = stats_level(v, out->seg_start, out->last, out->rate, &out->level);
out:
    free(adj);
    return rc;
}

/* ---- growth over days ---- */

const char *stats_growth_fit_name(enum stats_growth_fit fit)
{
    switch (fit) {
    case STATS_GROWTH_LINEAR:
        return "linear";
    case STATS_GROWTH_COMPOUND:
        return "compound";
    default:
        return "none";
    }
}

double stats_growth_project(const struct stats_growth *g, double from, double days)
{
    switch (g->fit) {
    case STATS_GROWTH_LINEAR:
        return from + g->per_day * days;
    case STATS_GROWTH_COMPOUND:
        return from * pow(1 + g->rate, days);
    default:
        return from;
    }
}

double stats_growth_days_to(const struct stats_growth *g, double limit)
{
    if (g->fit == STATS_GROWTH_NONE || !stats_present(g->level))
        return NAN;
    if (g->level >= limit)
        return 0;
    if (g->fit == STATS_GROWTH_LINEAR)
        return g->per_day > 0 ? (limit - g->level) / g->per_day : NAN;
    return g->rate > 0 && g->level > 0 ? log(limit / g->level) / log(1 + g->rate) : NAN;
}

/* Theil-Sen slope of log(v) (NaN where v <= 0 or absent). */
static enum pf_rc log_slope(const double *v, size_t n, double *slope)
{
    double lv[STATS_GROWTH_DAYS_MAX];

    for (size_t i = 0; i < n; i++)
        lv[i] = stats_present(v[i]) && v[i] > 0 ? log(v[i]) : NAN;
    return stats_theil_sen(lv, n, slope);
}

/* The peak and trough of each 24-hour block ending at the last present
 * hour of v, oldest first, NaN for a block with fewer than
 * STATS_GROWTH_MIN_HOURS present hours. Returns the number of blocks (0
 * when v has no present value); *npeaks counts those with a peak. */
static size_t day_extremes(const double *v, size_t n, double *peak, double *trough,
                           size_t *npeaks)
{
    size_t nd, last = 0, k = 0;
    bool any = false;

    *npeaks = 0;
    for (size_t i = n; i > 0 && !any; i--)
        if (stats_present(v[i - 1])) {
            last = i - 1;
            any = true;
        }
    if (!any)
        return 0;
    nd = (last + 1) / STATS_DAY;
    if (nd > STATS_GROWTH_DAYS_MAX)
        nd = STATS_GROWTH_DAYS_MAX;
    for (size_t d = 0; d < nd; d++) {
        size_t end = last + 1 - (nd - 1 - d) * STATS_DAY, cnt = 0;
        double hi = NAN, lo = NAN;
        for (size_t i = end - STATS_DAY; i < end; i++) {
            if (!stats_present(v[i]))
                continue;
            cnt++;
            hi = stats_present(hi) && hi >= v[i] ? hi : v[i];
            lo = stats_present(lo) && lo <= v[i] ? lo : v[i];
        }
        peak[d] = cnt >= STATS_GROWTH_MIN_HOURS ? hi : NAN;
        trough[d] = cnt >= STATS_GROWTH_MIN_HOURS ? lo : NAN;
        if (stats_present(peak[d]))
            k++;
    }
    *npeaks = k;
    return nd;
}

/* Days whose peak is under STATS_GROWTH_QUIET of the median peak are quiet
 * (weekends, holidays): taken out of the fit (NaN) and counted in
 * out->quiet_days; out->days counts the others. Returns whether all the
 * others' troughs are positive (the compound model needs it). */
static bool drop_quiet_days(double *peak, double *trough, size_t nd, struct stats_growth *out)
{
    double tmp[STATS_GROWTH_DAYS_MAX], mid;
    size_t k = 0;
    bool troughs_pos = true;

    for (size_t d = 0; d < nd; d++)
        if (stats_present(peak[d]))
            tmp[k++] = peak[d];
    mid = median_inplace(tmp, k);
    for (size_t d = 0; d < nd; d++) {
        if (stats_present(peak[d]) && peak[d] < STATS_GROWTH_QUIET * mid) {
            peak[d] = trough[d] = NAN;
            out->quiet_days++;
        }
        if (stats_present(peak[d])) {
            out->days++;
            troughs_pos = troughs_pos && trough[d] > 0;
        }
    }
    return troughs_pos;
}

/* Growth the noise could make is none: over the days it must lift the
 * peaks by more than three times their median distance from the line of
 * slope b_p, and by at least STATS_GROWTH_MIN_RATE of the level a day. */
static bool above_noise(const double *peak, size_t nd, double b_p)
{
    double res[STATS_GROWTH_DAYS_MAX], lvl0[STATS_GROWTH_DAYS_MAX], c, spread;
    size_t m = 0, first = nd, lastd = 0;

    for (size_t d = 0; d < nd; d++)
        if (stats_present(peak[d])) {
            lvl0[m++] = peak[d] - b_p * (double)d;
            first = d < first ? d : first;
            lastd = d;
        }
    c = median_inplace(lvl0, m);
    m = 0;
    for (size_t d = 0; d < nd; d++)
        if (stats_present(peak[d]))
            res[m++] = fabs(peak[d] - c - b_p * (double)d);
    spread = median_inplace(res, m);
    return !(b_p * (double)(lastd - first) <= 3 * spread ||
             b_p < STATS_GROWTH_MIN_RATE * (c + b_p * (double)lastd));
}

/* Growth is spread over the days: the peaks rise from most days to the
 * next, and no one day's rise is half of the whole (a few ramps that each
 * stopped lift the day peaks in jumps). */
static bool spread_over_days(const double *peak, size_t nd)
{
    double prev = NAN, first_v = NAN, last_v = NAN, biggest = 0;
    size_t ups = 0, pairs = 0, prev_d = 0;

    for (size_t d = 0; d < nd; d++) {
        if (!stats_present(peak[d]))
            continue;
        if (stats_present(prev)) {
            /* A rise across quiet days is that many days' rise. */
            double per_day = (peak[d] - prev) / (double)(d - prev_d);
            pairs++;
            ups += peak[d] > prev;
            if (per_day > biggest)
                biggest = per_day;
        } else {
            first_v = peak[d];
        }
        prev = last_v = peak[d];
        prev_d = d;
    }
    return !(3 * ups < 2 * pairs || biggest > STATS_GROWTH_MAX_DAY_SHARE * (last_v - first_v));
}

/* The compound fit: a rate of exp(l_p) - 1 a day (l_p: the slope of the
 * log peaks) from the fitted peak of the last day (median intercept, as
 * Theil-Sen), with the slope's confidence interval. */
static enum pf_rc fit_compound(const double *peak, size_t nd, double l_p,
                               struct stats_growth *out)
{
    double lvl[STATS_GROWTH_DAYS_MAX], lv[STATS_GROWTH_DAYS_MAX], a, b;
    size_t k = 0;
    enum pf_rc rc;

    out->fit = STATS_GROWTH_COMPOUND;
    out->rate = exp(l_p) - 1;
    for (size_t d = 0; d < nd; d++)
        if (stats_present(peak[d]) && peak[d] > 0)
            lvl[k++] = log(peak[d]) + l_p * (double)(nd - 1 - d);
    out->level = k ? exp(median_inplace(lvl, k)) : NAN;
    out->per_day = out->rate * out->level;
    for (size_t d = 0; d < nd; d++)
        lv[d] = stats_present(peak[d]) && peak[d] > 0 ? log(peak[d]) : NAN;
    rc = stats_theil_sen_ci(lv, nd, &a, &b);
    out->rate_lo = exp(a) - 1;
    out->rate_hi = exp(b) - 1;
    out->per_day_lo = out->rate_lo * out->level;
    out->per_day_hi = out->rate_hi * out->level;
    return rc;
}

/* The linear fit: b_p a day from the fitted peak of the last day, with
 * the slope's confidence interval. */
static enum pf_rc fit_linear(const double *peak, size_t nd, double b_p, struct stats_growth *out)
{
    double lvl[STATS_GROWTH_DAYS_MAX];
    size_t k = 0;
    enum pf_rc rc;

    out->fit = STATS_GROWTH_LINEAR;
    out->per_day = b_p;
    for (size_t d = 0; d < nd; d++)
        if (stats_present(peak[d]))
            lvl[k++] = peak[d] + b_p * (double)(nd - 1 - d);
    out->level = k ? median_inplace(lvl, k) : NAN;
    out->rate = out->level > 0 ? b_p / out->level : 0;
    rc = stats_theil_sen_ci(peak, nd, &out->per_day_lo, &out->per_day_hi);
    out->rate_lo = out->level > 0 ? out->per_day_lo / out->level : NAN;
    out->rate_hi = out->level > 0 ? out->per_day_hi / out->level : NAN;
    return rc;
}

enum pf_rc stats_growth(const double *v, size_t n, struct stats_growth *out)
{
    double peak[STATS_GROWTH_DAYS_MAX], trough[STATS_GROWTH_DAYS_MAX];
    double b_p, b_t, l_p, l_t, recent, g_p, g_t, lin_off, cmp_off;
    size_t nd, npeaks, recent_from, seen;
    bool troughs_pos;
    enum pf_rc rc;

    memset(out, 0, sizeof(*out));
    nd = day_extremes(v, n, peak, trough, &npeaks);
    if (npeaks < STATS_GROWTH_MIN_DAYS)
        return PF_OK;
    troughs_pos = drop_quiet_days(peak, trough, nd, out);
    if (out->days < STATS_GROWTH_MIN_DAYS || stats_kendall_tau(peak, nd) < STATS_STEADY_TAU)
        return PF_OK;
    rc = stats_theil_sen(peak, nd, &b_p);
    if (!rc)
        rc = stats_theil_sen(trough, nd, &b_t);
    if (!rc)
        rc = log_slope(peak, nd, &l_p);
    if (!rc)
        rc = log_slope(trough, nd, &l_t);
    /* Still rising: the last days' slope. */
    recent_from = nd;
    seen = 0;
    while (recent_from > 0 && seen < STATS_GROWTH_RECENT_DAYS) {
        recent_from--;
        seen += stats_present(peak[recent_from]);
    }
    if (!rc)
        rc = stats_theil_sen(peak + recent_from, nd - recent_from, &recent);
    if (rc)
        return rc;
    if (!(b_p > 0) || !(recent >= STATS_RECENT_SHARE * b_p))
        return PF_OK;
    if (!above_noise(peak, nd, b_p) || !spread_over_days(peak, nd))
        return PF_OK;
    /* Steps are not growth: without quiet days the hourly trend must see a
     * steady rise too (its step and plateau tests: a few ramps that
     * stopped lift the day peaks as well); with them (the hourly series
     * is bent by the weekly cycle) the day peaks must not be one step. */
    if (out->quiet_days == 0) {
        struct stats_trend t;
        rc = stats_trend(v, n, STATS_DAY, &t);
        /* Only its step test: a compounding peak bends the deseasonalized
         * last day and the office ramp of the last hours can look flat
         * there; the day peaks' own recent test says whether it stopped. */
        if (rc || !(t.slope > 0) || t.step) {
            out->days = 0;
            return rc;
        }
    } else if (stats_is_step(peak, nd)) {
        return PF_OK;
    }
    g_p = exp(l_p) - 1;
    g_t = exp(l_t) - 1;
    /* How far the troughs are from each model's prediction. */
    lin_off = stats_present(b_t) ? fabs(b_t / b_p - 1) : INFINITY;
    cmp_off = troughs_pos && g_p > 0 && stats_present(g_t) ? fabs(g_t / g_p - 1) : INFINITY;
    if (cmp_off < 0.5 * lin_off && g_p <= STATS_GROWTH_MAX_COMPOUND)
        return fit_compound(peak, nd, l_p, out);
    return fit_linear(peak, nd, b_p, out);
}

void stats_growth_bound(const struct stats_growth *g, bool upper, struct stats_growth *out)
{
    *out = *g;
    out->per_day = upper ? g->per_day_hi : g->per_day_lo;
    out->rate = upper ? g->rate_hi : g->rate_lo;
}
