/* SPDX-License-Identifier: MIT */
/* stats.h: the numbers behind the capacity advice, over hourly series.
 *
 * The analysis never looks at single snapshots: ingest folds them into one
 * value per host (or process) and hour, the hour's maximum, and everything
 * here works on such a series, v[0..n) with NaN for an hour without data.
 * Hourly maxima because capacity is about the peak: a range that is full
 * for one minute fails that minute's connections, and an average would
 * hide it. So "p95 of ports in use" is the p95 of the hourly maxima.
 *
 * The trend must tell a leak (seed 004: a service holds 1.75 more ports a
 * minute, every minute, until the range is full a week later) from what
 * also goes up but is harmless. stats_trend() does it in five steps, each
 * answering one of the decoys:
 *
 *  1. Segment. A restart or reboot releases what leaked: the series falls
 *     far below everything of the day before (seed 004: "the ports are
 *     released and the count begins anew"). The trend is measured from the
 *     last such reset: an hour below half the minimum of the 24 present
 *     hours before it. A business-day pattern is not a reset: its night
 *     is no lower than the previous night.
 *     Within it, a rise that began later (a flat week, then a leak after
 *     an update) is measured from its onset (stats_onset()).
 *  2. Daily pattern. With two days or more, the daily profile (each
 *     hour-of-day's median around the trend) is subtracted, so a daily
 *     peak is not a trend.
 *  3. Slope: Theil-Sen (the median of the pairwise slopes). Up to 29% of
 *     the points can be wild (a one-hour spike) without moving it, unlike
 *     least squares.
 *  4. Steadiness: Kendall's tau (concordant minus discordant pairs over all
 *     pairs) >= 0.5; the last 24 hours still rise at least half as fast
 *     as the whole segment (growth that levels off is not a trend); the
 *     last STATS_PLATEAU_HOURS rise at least STATS_PLATEAU_SHARE of it when
 *     the slope would lift them far above the noise (a ramp of a few
 *     hours that has stopped is a plateau, not a trend to the limit,
 *     even while the last day still holds the ramp); and a
 *     single step does not explain the data better than a line (a one-off
 *     jump: the best two-level step leaves less than half the squared
 *     error of the least-squares line).
 *  5. Level: each of the last 24 present hours projected to the last hour
 *     along the slope; the 90th percentile of those (near the day's peak,
 *     robust to one spike). Exhaustion (stats_forecast): with two days of
 *     data, the first future hour whose deseasonalized level + slope *
 *     hours + that hour's daily profile reaches the limit; with less,
 *     level + slope * hours.
 *
 * All functions are pure; those that allocate return PF_NOMEM on failure. */
#ifndef PF_STATS_H
#define PF_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define STATS_DAY 24             /* hours */
#define STATS_RESET_FRACTION 0.5 /* below half of yesterday's minimum: reset */
#define STATS_STEADY_TAU 0.5     /* Kendall tau for "rises steadily" */
#define STATS_RECENT_HOURS 24    /* "still rising" is judged on the last day */
#define STATS_RECENT_SHARE 0.5   /* ...at >= half the segment's slope */
#define STATS_STEP_SSE_SHARE 0.5 /* step model fits 2x better than a line: a jump */
#define STATS_LEVEL_PCT 90.0     /* level: p90 of the projected last day */
#define STATS_PLATEAU_HOURS 6    /* "growth has stopped" is judged on the last hours */
#define STATS_PLATEAU_SHARE 0.25 /* ...rising at under a quarter of the slope */

/* Returns true when x is a present value (not NaN). */
static inline bool stats_present(double x)
{
    return x == x;
}

/* Sets *out to percentile p (0..100) of the present values of v: linear
 * interpolation between closest ranks (Hyndman-Fan type 7, as numpy and
 * PostgreSQL percentile_cont). *out is NaN when no value is present.
 * Returns PF_NOMEM when the scratch copy cannot be allocated. */
enum pf_rc stats_percentile(const double *v, size_t n, double p, double *out);

/* Returns the largest present value of v, NaN when none. */
double stats_max(const double *v, size_t n);

/* Sets *slope to the Theil-Sen slope (per index step) of the present
 * values of v: the median of (v[j]-v[i])/(j-i) over all pairs i<j. NaN
 * with fewer than 2 points. PF_NOMEM when scratch allocation fails. */
enum pf_rc stats_theil_sen(const double *v, size_t n, double *slope);

/* The confidence interval of the Theil-Sen slope (Sen 1968): the order
 * statistics of the pairwise slopes at ranks (N -+ z sqrt(Var S)) / 2,
 * with z = STATS_CI_Z (90% two-sided: each bound is passed with 5%
 * odds) and Var(S) Kendall's, widened by (1 + r) / (1 - r) where r is the
 * lag-1 autocorrelation of the residuals (capped at STATS_CI_MAX_AUTOCORR):
 * hourly maxima that follow each other are not independent, and without
 * it the interval would be far too narrow. NaN with fewer than 3 points.
 * PF_NOMEM when scratch allocation fails. */
#define STATS_CI_Z 1.6449
#define STATS_CI_PCT 90
#define STATS_CI_MAX_AUTOCORR 0.9
enum pf_rc stats_theil_sen_ci(const double *v, size_t n, double *lo, double *hi);

/* Returns Kendall's tau-a of the present values of v against time: (pairs
 * rising - pairs falling) / pairs, in -1..1; 0 with fewer than 2 points. */
double stats_kendall_tau(const double *v, size_t n);

/* Returns (sum of falls) / (sum of rises) between consecutive present
 * values of v: 0 for a series that never gives anything back, about 1 for
 * one that returns to where it was. INFINITY when it never rises. */
double stats_release_ratio(const double *v, size_t n);

/* Returns the index of the first hour of the current segment: 0, or the
 * last hour that is below STATS_RESET_FRACTION times the minimum of the
 * STATS_DAY present hours before it (a restart released what was held). */
size_t stats_segment_start(const double *v, size_t n);

/* Writes into out[0..n) the series with its daily pattern removed. The
 * trend is taken out first with the seasonal Sen slope (pairs 24, 48, ...
 * hours apart only, which a daily pattern cannot move); the median of what
 * is left at each hour-of-day is the daily profile, subtracted around its
 * own median so the level stays. Missing stays missing. PF_NOMEM on
 * failure. */
enum pf_rc stats_deseasonalize(const double *v, size_t n, double *out);

/* As stats_deseasonalize(), and writes the daily profile it removed into
 * shape: for each index mod 24, the value's usual offset from the day's
 * median (0 where no data). PF_NOMEM on failure. */
enum pf_rc stats_daily_profile(const double *v, size_t n, double *out, double shape[STATS_DAY]);

/* Returns true when the best two-level step (split anywhere between
 * present values) leaves less than STATS_STEP_SSE_SHARE of the squared
 * error of the least-squares line: the rise is one jump, not a trend. */
bool stats_is_step(const double *v, size_t n);

/* Returns where the current rise began: the k of the best "flat, then
 * rising from k" (broken-stick) least-squares fit, when that leaves less
 * than STATS_STEP_SSE_SHARE of a straight line's squared error; else 0.
 * A leak that started with an update (seed 004: "7 days before the
 * servers first went down") is then measured from its start, not
 * diluted by the flat days before it. */
size_t stats_onset(const double *v, size_t n);

struct stats_trend {
    size_t seg_start; /* first hour of the current segment */
    size_t first;     /* first present hour of the segment */
    size_t last;      /* last present hour */
    size_t npoints;   /* present hours in the segment */
    bool seasonal;    /* daily pattern removed (segment >= 2 days) */
    double tau;       /* Kendall tau over the segment */
    /* Only computed when tau >= STATS_STEADY_TAU and there are min_points
     * (else NaN / false: nothing rises steadily, no need to measure it). */
    double slope;        /* Theil-Sen over the segment, per hour */
    double recent_slope; /* Theil-Sen over the segment's last 24 hours */
    bool step;           /* a one-off jump explains it better */
    bool plateau;        /* the last hours no longer rise (see step 4) */
    bool steady;         /* slope > 0 and all steadiness tests passed */
    double rate;         /* slope when steady, else 0: what forecasts use */
    double slope_lo, slope_hi; /* its interval (stats_theil_sen_ci) when steady, else NaN */
    double level;        /* value reached at hour `last` (see step 5) */
};

/* Analyses v[0..n) as described above. min_points: fewer present hours in
 * the segment give a trend with rate 0 (nothing to forecast with).
 * Returns PF_OK, PF_NOMEM. */
enum pf_rc stats_trend(const double *v, size_t n, size_t min_points, struct stats_trend *out);

/* Sets *level to step 5's level: the STATS_LEVEL_PCT percentile of the
 * last STATS_DAY present values of v[from..last] projected to `last`
 * along rate. NaN when none is present. PF_OK or PF_NOMEM. */
enum pf_rc stats_level(const double *v, size_t from, size_t last, double rate, double *level);

/* Sets *hours to the hours after index `last` at which v, rising at rate
 * per hour from its segment [seg_start, last], first reaches limit; NaN
 * when not within max_hours (or never). With two days or more in the
 * segment, the forecast is the deseasonalized level (the median of the
 * last day projected along rate) plus each future hour's daily profile:
 * a leak on top of office hours fills the range at an office-hours peak,
 * not earlier at the p90 level and not at night. With less, it is
 * stats_level() + rate * hours. 0 when already there. PF_OK or PF_NOMEM. */
enum pf_rc stats_forecast(const double *v, size_t seg_start, size_t last, double rate, double limit,
                          double max_hours, double *hours);

/* Hours until level + rate * h reaches limit: 0 when already there, NaN
 * when rate <= 0 (never). */
double stats_hours_to_limit(double level, double rate, double limit);

/* Growth of a load over days: how fast its daily peaks rise, and whether
 * they rise by a steady number of ports a day (linear) or a steady share
 * (compound: a user base that grows 2% a day). stats_trend() is the wrong
 * tool for it: its Theil-Sen slope is the median over all hour pairs, so
 * under office hours it measures the growth of the typical hour, and when
 * the load compounds the peak (office load x growth) grows faster than
 * that (about 2.5 times at a 9,000 peak over a 3,000 night).
 *
 * Day peaks: the maximum of each 24-hour block ending at the last present
 * hour (blocks with fewer than STATS_GROWTH_MIN_HOURS hours are left out).
 * Quiet days, whose peak is under STATS_GROWTH_QUIET of the median day's
 * (a weekend with the office closed), are left out too: a weekly cycle
 * then neither hides growth nor fakes it. Theil-Sen over the days that
 * are left, on the peaks (linear) and on their logarithm (compound), the
 * same for the day troughs (minimum of the block). Compound load scales
 * night and day alike, so the troughs grow by the peaks' share; linear
 * growth adds the same ports to both. The fit whose troughs agree
 * clearly better is used (a tie is linear: the cautious extrapolation;
 * so is a share above STATS_GROWTH_MAX_COMPOUND, which no load keeps up).
 * Without quiet days stats_trend() must also find the hourly rise no
 * step (ramps of a few hosts that each stopped); with them the day peaks
 * must not be one step.
 * Steady as in stats_trend: Kendall tau of the peaks >= STATS_STEADY_TAU,
 * at least STATS_GROWTH_MIN_DAYS days, and the last
 * STATS_GROWTH_RECENT_DAYS still rise at half the slope (growth that
 * levelled off is none); and the rise over the days is more than three
 * times the peaks' median distance from the line and at least
 * STATS_GROWTH_MIN_RATE of the level a day (else it is noise); and it is
 * spread over the days: the peak rises from at least two days in three
 * to the next, and no one day's rise is STATS_GROWTH_MAX_DAY_SHARE of the
 * whole (ramps that stopped lift the peaks in jumps). */
#define STATS_GROWTH_MIN_HOURS 18
#define STATS_GROWTH_QUIET 0.6
#define STATS_GROWTH_MIN_DAYS 4
#define STATS_GROWTH_RECENT_DAYS 4
#define STATS_GROWTH_DAYS_MAX 400
#define STATS_GROWTH_MIN_RATE 0.001 /* 0.1% a day: 9% in 90 days, below it noise */
#define STATS_GROWTH_MAX_DAY_SHARE 0.5 /* no one day's rise is half of the whole */
#define STATS_GROWTH_MAX_COMPOUND 0.05 /* 5% a day is x80 in 90 days: no steady load does it */

enum stats_growth_fit { STATS_GROWTH_NONE = 0, STATS_GROWTH_LINEAR, STATS_GROWTH_COMPOUND };

struct stats_growth {
    enum stats_growth_fit fit;
    size_t days;       /* day peaks used */
    size_t quiet_days; /* left out as quiet */
    double per_day;    /* ports a day at the last day (0 without growth) */
    double rate;       /* compound: share a day (0.02); linear: per_day / level */
    double level;      /* the fitted peak of the last day */
    /* The interval of per_day and rate (stats_theil_sen_ci over the day
     * peaks, or their logarithm when compound); NaN with too few days. */
    double per_day_lo, per_day_hi, rate_lo, rate_hi;
};

/* Fits v[0..n) (hourly, NaN = absent) as described above. PF_OK or
 * PF_NOMEM. */
enum pf_rc stats_growth(const double *v, size_t n, struct stats_growth *out);

/* from grown by g over days: from + per_day * days (linear), from *
 * (1 + rate)^days (compound), from (none). */
double stats_growth_project(const struct stats_growth *g, double from, double days);

/* Days after the last day until g's fitted peak reaches limit: 0 when it
 * is there, NaN without growth. */
double stats_growth_days_to(const struct stats_growth *g, double limit);

/* g with its growth at the lower (upper false) or upper bound of its
 * interval, for stats_growth_days_to(). */
void stats_growth_bound(const struct stats_growth *g, bool upper, struct stats_growth *out);

/* "none", "linear" or "compound". */
const char *stats_growth_fit_name(enum stats_growth_fit fit);

#endif
