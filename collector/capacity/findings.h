/* SPDX-License-Identifier: MIT */
/* findings.h: the advice, one finding kind per function in findings.c,
 * each pure over the fleet's hourly series (fleet.h) and the site plan
 * (plan.h). To add a kind: one enum value and name here, one function and
 * one line in findings_build() there.
 *
 * The model (numbers from docs/domain.md and the seeds):
 *
 * Usable ports = the dynamic range minus the excluded ports inside it.
 * Utilization = ports in use / usable, per protocol (TCP and UDP ranges
 * are separate on Windows; on Linux one range, but separate port spaces);
 * on Linux also the top destination's connections / range size, because
 * connect() shares a local port across destinations, so one (ip, port)
 * can use at most the whole range. "Peak" below is the p99 of the hourly
 * maxima over the window (plan.h says why not the maximum).
 *
 * port_leak, restarted: a process whose held ports climb steadily between
 *   restarts and fall back at each (a scheduled nightly restart hides a
 *   leak without fixing it): at least LEAK_CYCLES_MIN complete cycles of
 *   at least LEAK_CYCLE_MIN_HOURS, each rising steadily (stats_trend) at
 *   rates within LEAK_CYCLE_RATE_SPREAD of their median, their minima
 *   giving back at most LEAK_MAX_RELEASE. Reported with the rate, how
 *   high each cycle goes and how soon the range would fill without the
 *   restart; warning, critical when a cycle took the host past
 *   CRITICAL_UTIL. Its ports are no demand either.
 * port_leak: a process (by name and service) whose held ports rise
 *   steadily (stats_trend: Theil-Sen slope, Kendall tau >= 0.5, still
 *   rising in the last day, not one jump) over at least LEAK_MIN_HOURS
 *   since its last release, whose hourly minima give back at most
 *   LEAK_MAX_RELEASE of what they gained (a leak never releases; a busy
 *   service gives its ports back every evening), at >= LEAK_MIN_RATE
 *   ports/hour. A leak that fills the range only after the horizon is
 *   still one (a warning with the date it would fill: a quarter of a port
 *   a minute fills a widened range in four months, and a restart
 *   schedule nobody wrote down is what keeps it from doing so); its
 *   ports stay out of the demand all the same. The 24 hours are what tell a leak from a business day's
 *   ramp: seed 004's leak ran a week; an office peak ends by the evening.
 *   Reports the process, service, rate, its last remote endpoint (seed
 *   004: 169.254.169.254:80), the host's exhaustion time (host headroom /
 *   rate) and remediation: restart the service, find the ports, contact
 *   the vendor. Critical when the host is full within 7 days.
 * exhaustion_forecast: the host's ports in use (TCP, UDP, Linux top
 *   destination) trend steadily to the limit within the horizon: the
 *   hourly trend (a leak), or the growth of the daily peaks
 *   (stats_growth: compounding load outruns the hourly trend), whichever
 *   fills it sooner. Critical
 *   within 7 days (seed 004: "dark every ~7 days"), else warning. A host
 *   already at the limit gets none: it is no forecast any more, and
 *   exhaustion_events, host_silent or port_leak say what happened.
 * exhaustion_events: Windows logged 4231 (TCP allocation failed) or 4266
 *   (UDP): critical; only 4227 (TIME_WAIT reuse): warning. Says how full
 *   the range was in those hours (hourly maximum / usable).
 * range_too_small: the peak (without what leaking processes hold) is
 *   above target_utilization (70%) of usable
 *   ports (or the Linux top destination above 70% of the range) and the
 *   vendor range is larger; critical above 90%. A cloudflared host below
 *   Cloudflare's 50,000 ports gets it too, as info when the peak is fine.
 *   Remediation: the exact commands of plan_widen_host().
 * add_hosts: the plan recommends more hosts than the site has. Critical
 *   when today's peak already exceeds the widened capacity of the hosts.
 * redundancy: the site has fewer than 2 reporting hosts.
 * snat_ikev2: an RRAS host with >= SNAT_MIN_IKEV2 IKEv2 connections at
 *   its peak, and the clients collapse: <= SNAT_MAX_DISTINCT distinct
 *   addresses or the top one holds >= SNAT_TOP_SHARE of the connections
 *   (seed 001: a load balancer doing source NAT; Windows limits IPsec SAs
 *   per source address; error 809 under load). Critical unless
 *   IkeNumEstablishedForInitialQuery is raised (a partial workaround:
 *   then warning). Remediation: the F5 / Citrix ADC / Kemp /
 *   Loadbalancer.org settings that keep the client address, and the
 *   registry workaround.
 * load_imbalance: among a site's reporting hosts of the same role, the
 *   busiest carries >= IMBALANCE_RATIO times the mean of the others (VPN
 *   connections on RRAS hosts, else ports in use; window averages of the
 *   hourly maxima), and enough to matter. Seed 002: Always On VPN clients
 *   only use the first server of the profile. Remediation: a load
 *   balancer or a traffic manager, not a longer server list.
 * host_silent: no snapshot for more than silent_intervals intervals.
 *   Critical when its last snapshot was >= 90% full (seed 004: a host out
 *   of ports cannot report either), else warning.
 * resource_pressure, vpn_ports, address_pool, sessions_per_host: the
 *   vendors' rules besides ports, in resources.h (and resources.c). */
#ifndef PF_FINDINGS_H
#define PF_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fleet.h"
#include "plan.h"
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
#define CRITICAL_UTIL 0.9
#define SNAT_MIN_IKEV2 20
#define SNAT_MAX_DISTINCT 3
#define SNAT_TOP_SHARE 0.8
#define IMBALANCE_RATIO 3.0
#define IMBALANCE_MIN_VPN 20.0 /* connections on the busiest host */
#define IMBALANCE_MIN_UTIL 0.1 /* or this share of its usable ports */

#define FINDING_TEXT_LEN 512
#define FINDING_REMEDIATION_MAX 12

/* X(ENUM_SUFFIX, wire name) in docs/protocol.md section 3's order. */
#define FINDING_KINDS(X)                                                                           \
    X(PORT_LEAK, port_leak)                                                                        \
    X(EXHAUSTION_FORECAST, exhaustion_forecast)                                                    \
    X(EXHAUSTION_EVENTS, exhaustion_events)                                                        \
    X(RANGE_TOO_SMALL, range_too_small)                                                            \
    X(ADD_HOSTS, add_hosts)                                                                        \
    X(REDUNDANCY, redundancy)                                                                      \
    X(SNAT_IKEV2, snat_ikev2)                                                                      \
    X(LOAD_IMBALANCE, load_imbalance)                                                              \
    X(HOST_SILENT, host_silent)                                                                    \
    X(RESOURCE_PRESSURE, resource_pressure)                                                        \
    X(VPN_PORTS, vpn_ports)                                                                        \
    X(ADDRESS_POOL, address_pool)                                                                  \
    X(SESSIONS_PER_HOST, sessions_per_host)

enum finding_kind {
#define FINDING_X_ENUM(e, n) FINDING_##e,
    FINDING_KINDS(FINDING_X_ENUM)
#undef FINDING_X_ENUM
        FINDING_NKINDS
};

enum finding_severity { SEVERITY_INFO = 0, SEVERITY_WARNING, SEVERITY_CRITICAL };

struct finding {
    enum finding_kind kind;
    enum finding_severity severity;
    char tenant[PF_TENANT_LEN];
    char site[PF_ID_LEN];
    char host[PF_NAME_LEN]; /* "" for site findings */
    char agent_id[PF_ID_LEN];
    char summary[FINDING_TEXT_LEN];
    bool has_process;
    char process_name[PF_NAME_LEN];
    char process_service[PF_NAME_LEN];
    bool has_rate;
    double rate_per_hour;
    bool has_exhaustion; /* exhaustion_at is null otherwise */
    int64_t exhaustion_at;
    bool has_remote;
    struct pf_endpoint remote;
    bool has_utilization; /* added field: the host's (or site's) pressure */
    double utilization;
    char resource[PF_ID_LEN]; /* resource_pressure: "cpu" or "memory"; "" elsewhere */
    char protocol[PF_ID_LEN]; /* vpn_ports: "ikev2", "sstp", ...; "" elsewhere */
    char remediation[FINDING_REMEDIATION_MAX][FINDING_TEXT_LEN];
    size_t nremediation;
};

struct findings {
    struct finding *v; /* sorted: severity (critical first), tenant, site, host, kind */
    size_t n, cap;
};

#define FINDING_ID_LEN 640 /* kind/agent_id/process name, or kind/site */

/* Writes the stable id of f into out (FINDING_ID_LEN bytes): kind, then
 * the host's agent id (or the site, for site findings), then the process
 * name or the remote "addr:port" where the kind has one (resource_pressure:
 * the resource, cpu or memory; vpn_ports: the protocol), joined by '/'.
 * It names the problem, not its numbers, so the same leak keeps its id as
 * its rate changes; notifications and acknowledgements key on it. */
void finding_id(const struct finding *f, char out[FINDING_ID_LEN]);

/* An acknowledgement (POST /v1/findings/ack): notifications of that id are
 * muted until `until`. */
struct finding_ack {
    char tenant[PF_TENANT_LEN];
    char id[FINDING_ID_LEN];
    int64_t until, acked_at;
    char comment[FINDING_TEXT_LEN];
};

/* Returns the wire name of kind ("port_leak"), or "?". */
const char *finding_kind_name(enum finding_kind kind);
/* Returns "critical", "warning" or "info". */
const char *finding_severity_name(enum finding_severity s);

struct host_pressure;
/* Builds every finding for f with its plan pl. pressure is the hosts'
 * findings_host_pressure() in f's order, or NULL to compute it here. On
 * success *out holds them (free with findings_free); on error *out is
 * NULL. PF_OK or PF_NOMEM. */
enum pf_rc findings_build(const struct fleet *f, const struct plan *pl,
                          const struct fleet_params *p, const struct host_pressure *pressure,
                          struct findings **out);
/* Frees fs; NULL does nothing. */
void findings_free(struct findings *fs);

/* A cheap necessary condition of a leak, checked first so the full test
 * runs on few processes: in the host's last day (the LEAK_MIN_HOURS hours
 * up to its last hour with data) the process was seen in at least half
 * the hours, gained at least half a day of LEAK_MIN_RATE, and its hourly
 * minima gave back at most LEAK_MAX_RELEASE. It reads only that day, so
 * analysis_db.c loads the last day of every process, asks this, and loads
 * whole series only for the candidates. */
bool findings_leak_candidate(const struct fleet *f, const struct fleet_host *x,
                             const struct fleet_proc *pr);

/* port_leak's test for one process of one host. */
struct findings_leak {
    bool leaks;
    struct stats_trend trend; /* of the process's held ports */
    double host_level;        /* host's TCP ports in use at its last hour */
    double hours;             /* until host_level + rate reaches usable */
    int64_t exhaustion_at;
    bool beyond_horizon;      /* fills, but after params' horizon */
    /* A leak that restarts hide (findings_cycle_leak): it climbs between
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
enum pf_rc findings_leak(const struct fleet *f, const struct fleet_host *x,
                         const struct fleet_proc *pr, const struct fleet_params *p,
                         struct findings_leak *out);

/* Writes into out[0..nhours) host x's TCP ports in use per hour without
 * what its leaking processes (findings_leak) hold: the demand that ranges
 * and hosts are sized for. *leaking (may be NULL) tells whether any
 * process leaks. PF_OK or PF_NOMEM. */
enum pf_rc findings_host_demand(const struct fleet *f, const struct fleet_host *x,
                                const struct fleet_params *p, double *out, bool *leaking);

/* Per-host numbers the findings, the reports and /metrics share. The TCP
 * peaks are of the demand (findings_host_demand): a leak is not a reason
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
enum pf_rc findings_host_pressure(const struct fleet *f, const struct fleet_host *x,
                                  const struct fleet_params *p, struct host_pressure *hp);

#endif
