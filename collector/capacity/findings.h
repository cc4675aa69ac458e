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

#include "compat.h"
#include "error.h"
#include "fleet.h"
#include "demand.h"
#include "plan.h"
#include "stats.h"

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
    /* Its STATS_CI_PCT% interval (host_pressure's): early_at .. late_at;
     * has_late false: not within the horizon at the slow end. */
    bool has_interval, has_late;
    int64_t early_at, late_at;
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

/* Builds every finding for f with its plan pl. pressure is the hosts'
 * demand_host_pressure() (demand.h) in f's order, or NULL to compute it here. On
 * success *out holds them (free with findings_free); on error *out is
 * NULL. PF_OK or PF_NOMEM. */
enum pf_rc findings_build(const struct fleet *f, const struct plan *pl,
                          const struct fleet_params *p, const struct host_pressure *pressure,
                          struct findings **out);
/* Frees fs; NULL does nothing. */
void findings_free(struct findings *fs);

/* Building blocks shared by findings.c and findings_resources.c. */
/* Appends a zeroed finding of site (tenant, site) for host x (NULL: a site
 * finding). NULL when out of memory. */
struct finding *findings_append(struct findings *fs, enum finding_kind kind,
                                enum finding_severity sev, const char *tenant, const char *site,
                                const struct fleet_host *x);
/* Sets f's summary. */
void finding_summary(struct finding *f, const char *fmt, ...) PF_PRINTF(2, 3);
/* Adds one remediation line to f; past FINDING_REMEDIATION_MAX it does nothing. */
void finding_remedy(struct finding *f, const char *fmt, ...) PF_PRINTF(2, 3);

/* findings_resources.c: adds host x's resource_pressure, vpn_ports, address_pool and
 * sessions_per_host findings to fs. PF_OK or PF_NOMEM. */
enum pf_rc findings_resources_host(struct findings *fs, const struct fleet *f,
                              const struct fleet_params *p, const struct fleet_host *x);

/* add_hosts for a site whose binding resource is not ports: what binds,
 * its demand and what a host carries; hosts_word says what to add. */
enum pf_rc findings_resources_add_hosts(struct findings *fs, const struct fleet *f,
                               const struct plan_site *s, const char *hosts_word);

#endif
