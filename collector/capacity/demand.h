/* SPDX-License-Identifier: MIT */
/* demand.h: the model beneath the findings, the plan, the loader and the
 * capacity engine: which processes leak ports (port_leak's test,
 * findings.h says what it looks for), the demand a host is sized for (its
 * TCP ports in use without what leaks hold), and each host's pressure
 * (peaks, utilization, the soonest fill time). Pure over the fleet's
 * hourly series (fleet.h, stats.h); it knows no finding and no plan. */
#ifndef PF_DEMAND_H
#define PF_DEMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fleet.h"
#include "stats.h"

#define LEAK_MIN_HOURS 24    /* a leak keeps going through the night */
#define LEAK_MAX_RELEASE 0.2 /* hourly minima give back at most 20% */
#define LEAK_MIN_RATE 1.0    /* ports per hour */
#define LEAK_CYCLES_MIN 2
#define LEAK_CYCLE_MIN_HOURS 6
#define LEAK_CYCLE_RATE_SPREAD 0.5 /* each cycle's rate within 50% of the median */
#define LEAK_CYCLE_TAU 0.7         /* a cycle's floor rises nearly every hour */
#define CRITICAL_DAYS 7.0    /* seed 004's week */
#define LEAK_FORECAST_DAYS 3650.0 /* a leak's fill date is searched this far, past the horizon */

/* A cheap necessary condition of a leak, checked first so the full test
 * runs on few processes: in the host's last day (the LEAK_MIN_HOURS hours
 * up to its last hour with data) the process was seen in at least half
 * the hours, gained at least half a day of LEAK_MIN_RATE, and its hourly
 * minima gave back at most LEAK_MAX_RELEASE. It reads only that day, so
 * analysis_db.c loads the last day of every process, asks this, and loads
 * whole series only for the candidates. */
bool demand_leak_candidate(const struct fleet *f, const struct fleet_host *x,
                             const struct fleet_proc *pr);

/* port_leak's test for one process of one host. */
struct demand_leak {
    bool leaks;
    struct stats_trend trend; /* of the process's held ports */
    double host_level;        /* host's TCP ports in use at its last hour */
    double hours;             /* until host_level + rate reaches usable */
    /* The same at the upper and lower bound of the rate's interval (NaN:
     * none, or never within LEAK_FORECAST_DAYS). */
    double hours_early, hours_late;
    int64_t exhaustion_at;
    bool beyond_horizon;      /* fills, but after params' horizon */
    /* A leak that restarts hide (demand_cycle_leak): it climbs between
     * restarts at trend.rate and falls back at each; no exhaustion_at
     * unless a cycle filled the range. */
    bool restarts;
    size_t cycles;         /* complete cycles seen */
    double cycle_hours;    /* their median length */
    double cycle_peak;     /* median of the ports it held before each restart */
    double cycle_host_max; /* the host's most ports in use in those cycles */
};
/* Runs port_leak's test (above) on process pr of host x; out->leaks says
 * whether it is one. The plan uses it too: a leak is a defect to fix, not
 * demand to size for. PF_OK or PF_NOMEM. */
enum pf_rc demand_leak(const struct fleet *f, const struct fleet_host *x,
                         const struct fleet_proc *pr, const struct fleet_params *p,
                         struct demand_leak *out);

/* Writes into out[0..nhours) host x's TCP ports in use per hour without
 * what its leaking processes (demand_leak) hold: the demand that ranges
 * and hosts are sized for. *leaking (may be NULL) tells whether any
 * process leaks. PF_OK or PF_NOMEM. */
enum pf_rc demand_host(const struct fleet *f, const struct fleet_host *x,
                                const struct fleet_params *p, double *out, bool *leaking);

/* Per-host numbers the findings, the reports and /metrics share. The TCP
 * peaks are of the demand (demand_host): a leak is not a reason
 * to widen the range or to add hosts; port_leak says what it is. */
struct host_pressure {
    bool leaking;              /* some process leaks (its ports are left out) */
    double tcp_peak, udp_peak; /* p99 of hourly maxima; NaN without data */
    double tcp_max;            /* maximum of hourly maxima (of the demand) */
    double udp_max;            /* maximum of hourly maxima, UDP */
    double tcp_p95;
    double demand_mean;   /* mean of the hourly demand (load_imbalance) */
    double top_dest_peak; /* Linux only, else NaN */
    double utilization;   /* the worst of the ratios of findings.h; 0 without data */
    enum { PRESSURE_TCP, PRESSURE_UDP, PRESSURE_DEST } worst; /* which one it is */
    double last_utilization;                                  /* of the latest snapshot (TCP) */
    double tcp_trend; /* TCP ports/hour (stats_trend rate: 0 unless steady) */
    /* The soonest steady trend to its limit within the horizon. */
    bool has_forecast;
    int64_t exhaustion_at;
    const char *forecast_what; /* "TCP ports", "UDP ports", "connections to one destination" */
    double forecast_rate;      /* per hour */
    double forecast_level;     /* where it starts from */
    double forecast_limit;
    int64_t forecast_since; /* start of the rising segment */
    /* STATS_GROWTH_NONE: the hourly trend (stats_trend); else the daily
     * peaks' growth (stats_growth), which a compounding load needs. */
    struct stats_growth forecast_growth;
    /* The forecast's STATS_CI_PCT% interval: full at early_at when the
     * rise is at its interval's upper bound, at late_at at the lower one;
     * has_late false: the lower bound does not fill the range within the
     * horizon (or does not rise). has_interval false: too few points. */
    bool has_interval;
    int64_t early_at;
    bool has_late;
    int64_t late_at;
    /* The host's one fill time, which every view shows (findings, tables,
     * charts): its forecast, else when its soonest leak fills the range
     * (a leak past the horizon). */
    bool has_full;
    int64_t full_at;
    /* All TCP ports in use, leaks included (what the host went through;
     * tcp_peak and tcp_max are the demand, what it is sized for). */
    double inuse_peak, inuse_max; /* p99 and maximum of hourly maxima */
    double inuse_utilization;     /* inuse_max / usable */
};
/* Fills hp for host x. PF_OK or PF_NOMEM. */
enum pf_rc demand_host_pressure(const struct fleet *f, const struct fleet_host *x,
                                  const struct fleet_params *p, struct host_pressure *hp);

/* Series helpers the findings share: the last hour of v with data (-1:
 * none); a / b when a is present and b > 0, else 0; the forecast horizon
 * in hours after hour `last` of host x; the mean of the present values (0
 * when none). */
long demand_last_hour(const double *v, size_t n);
double demand_ratio(double a, double b);
double demand_horizon_hours(const struct fleet *f, const struct fleet_host *x,
                            const struct fleet_params *p, size_t last);
double demand_mean(const double *v, size_t n);

#endif
