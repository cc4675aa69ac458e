/* SPDX-License-Identifier: MIT */
/* demand.c: the demand/pressure/leak model (demand.h). */
#include "demand.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* The last present hour of v, or -1. */
long demand_last_hour(const double *v, size_t n)
{
    for (size_t i = n; i > 0; i--)
        if (stats_present(v[i - 1]))
            return (long)(i - 1);
    return -1;
}

double demand_ratio(double a, double b)
{
    return stats_present(a) && b > 0 ? a / b : 0;
}

/* The forecast horizon in hours after hour `last` of host x. */
double demand_horizon_hours(const struct fleet *f, const struct fleet_host *x,
                            const struct fleet_params *p, size_t last)
{
    double h = (double)(p->now + (int64_t)(p->horizon_days * 86400) - fleet_hour_time(f, x, last)) /
               FLEET_HOUR;
    return h > 0 ? h : 0;
}

/* ---- per-host demand and pressure ---- */

/* Mean of the present values, 0 when none. */
double demand_mean(const double *v, size_t n)
{
    double s = 0;
    size_t k = 0;

    for (size_t i = 0; i < n; i++)
        if (stats_present(v[i])) {
            s += v[i];
            k++;
        }
    return k ? s / (double)k : 0;
}

enum pf_rc demand_host(const struct fleet *f, const struct fleet_host *x,
                                const struct fleet_params *p, double *out, bool *leaking)
{
    memcpy(out, x->tcp, f->nhours * sizeof(*out));
    if (leaking)
        *leaking = false;
    for (size_t i = 0; i < x->nprocs; i++) {
        const struct fleet_proc *pr = &x->procs[i];
        struct demand_leak lk;
        enum pf_rc rc = demand_leak(f, x, pr, p, &lk);
        if (rc)
            return rc;
        if (!lk.leaks)
            continue;
        if (leaking)
            *leaking = true;
        for (size_t h = 0; h < f->nhours; h++)
            if (stats_present(out[h]) && stats_present(pr->held[h]))
                out[h] = out[h] > pr->held[h] ? out[h] - pr->held[h] : 0;
    }
    return PF_OK;
}

/* hp's interval of a forecast from trend t of v: the same forecast at the
 * slope's upper and lower bounds. */
static enum pf_rc forecast_interval(const struct fleet *f, const struct fleet_host *x,
                                    const struct fleet_params *p, const double *v,
                                    const struct stats_trend *t, double limit,
                                    struct host_pressure *hp)
{
    double early, late = NAN, max_hours = demand_horizon_hours(f, x, p, t->last);
    int64_t last_t = fleet_hour_time(f, x, t->last);
    enum pf_rc rc;

    hp->has_interval = hp->has_late = false;
    if (!stats_present(t->slope_lo) || !stats_present(t->slope_hi))
        return PF_OK;
    rc = stats_forecast(v, t->seg_start, t->last, t->slope_hi, limit, max_hours, &early);
    if (!rc && t->slope_lo > 0)
        rc = stats_forecast(v, t->seg_start, t->last, t->slope_lo, limit, max_hours, &late);
    if (rc || !stats_present(early))
        return rc;
    hp->has_interval = true;
    hp->early_at = last_t + (int64_t)llround(early * FLEET_HOUR);
    if (hp->early_at > hp->exhaustion_at)
        hp->early_at = hp->exhaustion_at;
    hp->has_late = stats_present(late);
    if (hp->has_late) {
        hp->late_at = last_t + (int64_t)llround(late * FLEET_HOUR);
        if (hp->late_at < hp->exhaustion_at)
            hp->late_at = hp->exhaustion_at;
    }
    return PF_OK;
}

/* Folds one series' steady trend into hp when it reaches its limit
 * sooner than what hp holds. */
static enum pf_rc consider_forecast(const struct fleet *f, const struct fleet_host *x,
                                    const struct fleet_params *p, const double *v, double limit,
                                    const char *what, struct host_pressure *hp, double *rate)
{
    struct stats_trend t;
    enum pf_rc rc;
    double hours;
    int64_t at;

    if (rate)
        *rate = 0;
    if (limit <= 0)
        return PF_OK;
    rc = stats_trend(v, f->nhours, STATS_DAY / 2, &t);
    if (rc || !t.steady)
        return rc;
    if (rate)
        *rate = t.rate;
    rc = stats_forecast(v, t.seg_start, t.last, t.rate, limit, demand_horizon_hours(f, x, p, t.last),
                        &hours);
    if (rc || !stats_present(hours) || hours <= 0)
        return rc; /* never, or already full: exhaustion_events and host_silent say it */
    at = fleet_hour_time(f, x, t.last) + (int64_t)llround(hours * FLEET_HOUR);
    if (hp->has_forecast && at >= hp->exhaustion_at)
        return PF_OK;
    hp->has_forecast = true;
    hp->exhaustion_at = at;
    hp->forecast_what = what;
    hp->forecast_rate = t.rate;
    hp->forecast_level = t.level;
    hp->forecast_limit = limit;
    hp->forecast_since = f->start + (int64_t)t.seg_start * FLEET_HOUR;
    memset(&hp->forecast_growth, 0, sizeof(hp->forecast_growth));
    return forecast_interval(f, x, p, v, &t, limit, hp);
}

/* As consider_forecast(), with the growth of the daily peaks: a load that
 * compounds fills the range at an office-hours peak sooner than the
 * hourly trend says. */
static enum pf_rc consider_growth(const struct fleet *f, const struct fleet_host *x,
                                  const struct fleet_params *p, const double *v, double limit,
                                  const char *what, struct host_pressure *hp)
{
    struct stats_growth g;
    enum pf_rc rc;
    long last = demand_last_hour(v, f->nhours);
    double days;
    int64_t at;

    if (limit <= 0 || last < 0)
        return PF_OK;
    rc = stats_growth(v, f->nhours, &g);
    if (rc || g.fit == STATS_GROWTH_NONE)
        return rc;
    days = stats_growth_days_to(&g, limit);
    if (!stats_present(days) || days <= 0 || days * 24 > demand_horizon_hours(f, x, p, (size_t)last))
        return PF_OK;
    at = fleet_hour_time(f, x, (size_t)last) + (int64_t)llround(days * 86400);
    if (hp->has_forecast && at >= hp->exhaustion_at)
        return PF_OK;
    hp->has_forecast = true;
    hp->exhaustion_at = at;
    hp->forecast_what = what;
    hp->forecast_rate = g.per_day / 24;
    hp->forecast_level = g.level;
    hp->forecast_limit = limit;
    hp->forecast_since = f->start;
    hp->forecast_growth = g;
    /* The interval: the same days at the growth's bounds. */
    hp->has_interval = hp->has_late = false;
    if (stats_present(g.per_day_hi) && stats_present(g.per_day_lo)) {
        struct stats_growth b;
        double early, late, max_hours = demand_horizon_hours(f, x, p, (size_t)last);
        stats_growth_bound(&g, true, &b);
        early = stats_growth_days_to(&b, limit);
        stats_growth_bound(&g, false, &b);
        late = stats_growth_days_to(&b, limit);
        if (stats_present(early) && early <= days) {
            hp->has_interval = true;
            hp->early_at = fleet_hour_time(f, x, (size_t)last) + (int64_t)llround(early * 86400);
            hp->has_late = stats_present(late) && late >= days && late * 24 <= max_hours;
            if (hp->has_late)
                hp->late_at = fleet_hour_time(f, x, (size_t)last) + (int64_t)llround(late * 86400);
        }
    }
    return PF_OK;
}

/* hp's one fill time: the forecast, else the soonest leak's (in the
 * future: a leak that already filled the range is no fill time). */
static enum pf_rc host_full(const struct fleet *f, const struct fleet_host *x,
                            const struct fleet_params *p, struct host_pressure *hp)
{
    hp->has_full = hp->has_forecast;
    hp->full_at = hp->exhaustion_at;
    if (hp->has_full || !hp->leaking)
        return PF_OK;
    for (size_t i = 0; i < x->nprocs; i++) {
        struct demand_leak lk;
        enum pf_rc rc = demand_leak(f, x, &x->procs[i], p, &lk);
        if (rc)
            return rc;
        if (!lk.leaks || !(lk.hours > 0) || (hp->has_full && lk.exhaustion_at >= hp->full_at))
            continue;
        hp->has_full = true;
        hp->full_at = lk.exhaustion_at;
    }
    return PF_OK;
}

enum pf_rc demand_host_pressure(const struct fleet *f, const struct fleet_host *x,
                                  const struct fleet_params *p, struct host_pressure *hp)
{
    enum pf_rc rc;
    bool linux_host = !fleet_host_is_windows(x);

    double *demand = malloc(f->nhours * sizeof(*demand));

    memset(hp, 0, sizeof(*hp));
    hp->top_dest_peak = NAN;
    if (!demand)
        return PF_NOMEM;
    rc = demand_host(f, x, p, demand, &hp->leaking);
    hp->tcp_max = stats_max(demand, f->nhours);
    if (!rc)
        rc = stats_percentile(demand, f->nhours, 99, &hp->tcp_peak);
    if (!rc)
        rc = stats_percentile(demand, f->nhours, 95, &hp->tcp_p95);
    hp->demand_mean = demand_mean(demand, f->nhours);
    free(demand);
    if (!rc)
        rc = stats_percentile(x->udp, f->nhours, 99, &hp->udp_peak);
    hp->udp_max = stats_max(x->udp, f->nhours);
    hp->inuse_max = stats_max(x->tcp, f->nhours);
    if (!rc)
        rc = stats_percentile(x->tcp, f->nhours, 99, &hp->inuse_peak);
    hp->inuse_utilization = demand_ratio(hp->inuse_max, x->tcp_usable);
    if (!rc && linux_host)
        rc = stats_percentile(x->top_dest, f->nhours, 99, &hp->top_dest_peak);
    if (rc)
        return rc;
    hp->utilization = demand_ratio(hp->tcp_peak, x->tcp_usable);
    hp->worst = PRESSURE_TCP;
    if (demand_ratio(hp->udp_peak, x->udp_usable) > hp->utilization) {
        hp->utilization = demand_ratio(hp->udp_peak, x->udp_usable);
        hp->worst = PRESSURE_UDP;
    }
    if (linux_host && demand_ratio(hp->top_dest_peak, x->tcp_range.count) > hp->utilization) {
        hp->utilization = demand_ratio(hp->top_dest_peak, x->tcp_range.count);
        hp->worst = PRESSURE_DEST;
    }
    hp->last_utilization = demand_ratio((double)x->last_tcp_in_use, x->tcp_usable);

    rc = consider_forecast(f, x, p, x->tcp, x->tcp_usable, "TCP ports", hp, &hp->tcp_trend);
    if (!rc)
        rc = consider_forecast(f, x, p, x->udp, x->udp_usable, "UDP ports", hp, NULL);
    if (!rc && linux_host && x->has_tcp_range)
        rc = consider_forecast(f, x, p, x->top_dest, x->tcp_range.count,
                               "connections to its top destination", hp, NULL);
    if (!rc)
        rc = consider_growth(f, x, p, x->tcp, x->tcp_usable, "TCP ports", hp);
    if (!rc)
        rc = consider_growth(f, x, p, x->udp, x->udp_usable, "UDP ports", hp);
    if (!rc)
        rc = host_full(f, x, p, hp);
    return rc;
}

/* ---- the leak model ---- */

/* Hour h is a restart of pr: its floor fell below half of the hour
 * before's floor (what was held was given back at once). */
static bool restart_hour(const struct fleet_proc *pr, size_t h)
{
    return h > 0 && stats_present(pr->held_min[h]) && stats_present(pr->held_min[h - 1]) &&
           pr->held_min[h - 1] >= LEAK_MIN_RATE * LEAK_CYCLE_MIN_HOURS &&
           pr->held_min[h] < STATS_RESET_FRACTION * pr->held_min[h - 1];
}

/* The climb of [a, b) of pr: seen hours, gain of the floor, and whether
 * the floor gave back at most LEAK_MAX_RELEASE. */
static bool climbs(const struct fleet_proc *pr, size_t a, size_t b, size_t min_hours)
{
    size_t seen = 0;
    double first_v = NAN, last_v = NAN;

    for (size_t h = a; h < b; h++) {
        if (!stats_present(pr->held_min[h]))
            continue;
        if (!stats_present(first_v))
            first_v = pr->held_min[h];
        last_v = pr->held_min[h];
        seen++;
    }
    return seen >= min_hours && last_v - first_v >= LEAK_MIN_RATE * (double)min_hours &&
           stats_release_ratio(pr->held_min + a, b - a) <= LEAK_MAX_RELEASE &&
           stats_kendall_tau(pr->held_min + a, b - a) >= LEAK_CYCLE_TAU;
}

/* The cheap test of a restarted leak on the last day [from, last]: a
 * restart in it, and a climb of LEAK_CYCLE_MIN_HOURS before or after. */
static bool cycle_candidate(const struct fleet_proc *pr, size_t from, size_t last)
{
    for (size_t h = last; h > from; h--)
        if (restart_hour(pr, h))
            return climbs(pr, h, last + 1, LEAK_CYCLE_MIN_HOURS) ||
                   climbs(pr, from, h, LEAK_CYCLE_MIN_HOURS);
    return false;
}

bool demand_leak_candidate(const struct fleet *f, const struct fleet_host *x,
                             const struct fleet_proc *pr)
{
    long last = demand_last_hour(x->tcp, f->nhours);
    size_t from, seen = 0;
    double first_v = NAN, last_v = NAN;

    if (last < 0)
        return false;
    from = last >= LEAK_MIN_HOURS - 1 ? (size_t)last - (LEAK_MIN_HOURS - 1) : 0;
    for (size_t h = from; h <= (size_t)last; h++) {
        if (!stats_present(pr->held[h]))
            continue;
        if (!stats_present(first_v))
            first_v = pr->held[h];
        last_v = pr->held[h];
        seen++;
    }
    if (seen >= LEAK_MIN_HOURS / 2 && last_v - first_v >= LEAK_MIN_RATE * LEAK_MIN_HOURS / 2 &&
        stats_release_ratio(pr->held_min + from, (size_t)last + 1 - from) <= LEAK_MAX_RELEASE)
        return true;
    return cycle_candidate(pr, from, (size_t)last);
}

static enum pf_rc steady_leak(const struct fleet *f, const struct fleet_host *x,
                              const struct fleet_proc *pr, const struct fleet_params *p,
                              long hlast, struct demand_leak *out);

/* port_leak, restarted (findings.h): the complete cycles of pr between
 * its restarts each climb steadily at about the same rate. */
static enum pf_rc cycle_leak(const struct fleet *f, const struct fleet_host *x,
                             const struct fleet_proc *pr, struct demand_leak *out)
{
    size_t starts[64], ns = 0;
    double rates[64], lens[64], peaks[64], rate, host_max = 0;
    size_t nc = 0;
    enum pf_rc rc;

    for (size_t h = 1; h < f->nhours && ns < 64; h++)
        if (restart_hour(pr, h))
            starts[ns++] = h;
    for (size_t k = 0; k + 1 < ns; k++) {
        size_t a = starts[k], b = starts[k + 1];
        struct stats_trend t;
        double peak = stats_max(pr->held + a, b - a), hm = stats_max(x->tcp + a, b - a);
        if (b - a < LEAK_CYCLE_MIN_HOURS)
            return PF_OK;
        rc = stats_trend(pr->held + a, b - a, LEAK_CYCLE_MIN_HOURS, &t);
        if (rc)
            return rc;
        /* Each complete cycle must climb; the whole climb, not its last
         * day (a cycle ends at its restart, not at a plateau). */
        if (!(t.slope >= LEAK_MIN_RATE) || t.tau < STATS_STEADY_TAU || t.step ||
            !climbs(pr, a, b, LEAK_CYCLE_MIN_HOURS))
            return PF_OK;
        rates[nc] = t.slope;
        lens[nc] = (double)(b - a);
        peaks[nc++] = peak;
        if (stats_present(hm) && hm > host_max)
            host_max = hm;
    }
    if (nc < LEAK_CYCLES_MIN)
        return PF_OK;
    rc = stats_percentile(rates, nc, 50, &rate);
    for (size_t k = 0; !rc && k < nc; k++)
        if (fabs(rates[k] - rate) > LEAK_CYCLE_RATE_SPREAD * rate)
            return PF_OK;
    if (!rc)
        rc = stats_percentile(lens, nc, 50, &out->cycle_hours);
    if (!rc)
        rc = stats_percentile(peaks, nc, 50, &out->cycle_peak);
    if (rc)
        return rc;
    out->leaks = out->restarts = true;
    out->cycles = nc;
    out->cycle_host_max = host_max;
    out->trend.rate = out->trend.slope = rate;
    out->trend.steady = true;
    out->trend.first = starts[ns - 1];
    out->trend.last = (size_t)demand_last_hour(pr->held, f->nhours);
    out->hours = NAN;
    return PF_OK;
}

enum pf_rc demand_leak(const struct fleet *f, const struct fleet_host *x,
                         const struct fleet_proc *pr, const struct fleet_params *p,
                         struct demand_leak *out)
{
    enum pf_rc rc;
    long hlast = demand_last_hour(x->tcp, f->nhours);

    memset(out, 0, sizeof(*out));
    if (hlast < 0 || x->tcp_usable == 0 || !demand_leak_candidate(f, x, pr))
        return PF_OK;
    rc = stats_trend(pr->held, f->nhours, LEAK_MIN_HOURS, &out->trend);
    if (rc)
        return rc;
    rc = steady_leak(f, x, pr, p, hlast, out);
    if (!rc && !out->leaks) {
        memset(out, 0, sizeof(*out));
        rc = cycle_leak(f, x, pr, out);
    }
    return rc;
}

/* The test of a leak that is not restarted (findings.h's port_leak), on
 * out->trend. */
static enum pf_rc steady_leak(const struct fleet *f, const struct fleet_host *x,
                              const struct fleet_proc *pr, const struct fleet_params *p,
                              long hlast, struct demand_leak *out)
{
    enum pf_rc rc;
    double release;
    struct stats_trend host;

    if (!out->trend.steady || out->trend.rate < LEAK_MIN_RATE)
        return PF_OK;
    release = stats_release_ratio(pr->held_min + out->trend.seg_start,
                                  out->trend.last + 1 - out->trend.seg_start);
    if (!(release <= LEAK_MAX_RELEASE))
        return PF_OK;
    /* The host's headroom at its last hour, eaten at the leak's rate, with
     * the host's daily pattern on top (stats_forecast) over the host's own
     * segment (since its last restart or the onset of its rise). */
    rc = stats_trend(x->tcp, f->nhours, STATS_DAY / 2, &host);
    if (!rc)
        rc = stats_level(x->tcp, host.seg_start, (size_t)hlast, out->trend.rate, &out->host_level);
    /* A leak fills the range however long it takes: searched well past
     * the horizon, so a slow one still gets its date. */
    if (!rc)
        rc = stats_forecast(x->tcp, host.seg_start, (size_t)hlast, out->trend.rate, x->tcp_usable,
                            LEAK_FORECAST_DAYS * 24, &out->hours);
    out->hours_early = out->hours_late = NAN;
    if (!rc && stats_present(out->hours) && stats_present(out->trend.slope_hi))
        rc = stats_forecast(x->tcp, host.seg_start, (size_t)hlast, out->trend.slope_hi,
                            x->tcp_usable, LEAK_FORECAST_DAYS * 24, &out->hours_early);
    if (!rc && stats_present(out->hours) && out->trend.slope_lo > 0)
        rc = stats_forecast(x->tcp, host.seg_start, (size_t)hlast, out->trend.slope_lo,
                            x->tcp_usable, LEAK_FORECAST_DAYS * 24, &out->hours_late);
    if (rc || !stats_present(out->hours))
        return rc;
    out->leaks = true;
    out->beyond_horizon = out->hours > demand_horizon_hours(f, x, p, (size_t)hlast);
    out->exhaustion_at =
        fleet_hour_time(f, x, (size_t)hlast) + (int64_t)llround(out->hours * FLEET_HOUR);
    return PF_OK;
}
