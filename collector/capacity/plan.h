/* SPDX-License-Identifier: MIT */
/* plan.h: the site plan: how many hosts each site needs, and which ranges
 * to widen first.
 *
 * Demand. A site's demand is the p99 over the window's hours of the sum
 * of its hosts' hourly peaks (ports in use), grown over the horizon by the
 * growth of the sum's daily peaks (stats_growth(): quiet days such as a
 * closed weekend left out): linear, demand = p99 + growth_per_day *
 * horizon_days; compound (the troughs grow by the peaks' share, as a
 * growing user base does), demand = p99 * (1 + rate)^horizon_days. The
 * plan names the fit (growth_fit) and says it in a note. Summing
 * hourly maxima over-states the simultaneous peak a little (hosts need
 * not peak in the same minute), which errs on the safe side; p99 rather
 * than the maximum so one hour of a storm is not a need (at a week's
 * window the p99 ignores the two highest hours; a daily peak recurs seven
 * times and stays in). Growth is 0 unless the daily peaks rise steadily
 * and still rise in the last days. What a leaking process
 * holds (demand_leak()) is left out of the sum: a leak is a defect to
 * fix, and sizing for it would buy hosts to feed it.
 *
 * Capacity. One host carries target_utilization (0.7: Microsoft's "keep
 * peak CPU and memory under 70%", the same headroom for ports) times its
 * usable ports. Widening the range comes first, because it is free: the
 * widened range is the vendors' (docs/domain.md, seeds 000 and 003):
 *   Windows:             netsh ... start=10000 num=55535 (seed 000)
 *   Windows cloudflared: netsh ... start=11000 num=50000 (seed 003)
 *   Linux:               ip_local_port_range 11000 60999 = 50,000 ports
 *                        (Cloudflare's cloudflared sizing)
 * minus the excluded blocks that fall inside the new range. Past that,
 * seed 000: "if you need more than 50,000 ports per server, it's probably
 * time to deploy additional connector servers": hosts are added, ranges
 * are not widened further.
 *
 * Protocols. TCP and UDP are separate port spaces (per protocol on
 * Windows; on Linux one range but separate spaces), so demand and hosts
 * are worked out for each, UDP ports in use summed like TCP, and the site
 * is sized by the protocol that needs more hosts (binding_protocol):
 * cloudflared proxying DNS holds a UDP port per query for about 5 s
 * (Cloudflare), so such a site runs out of UDP with TCP to spare.
 *
 * Hosts. recommended = ceil(demand / capacity) + 1 (one host may fail or
 * be patched), and at least 2 per site (Cloudflare: 2 hosts per network
 * location; Microsoft: at least 2 connectors per group). Capacity is the
 * smallest host's. When the current ranges already give enough hosts the
 * plan changes no range; otherwise it widens every host below the vendor
 * range (range_changes) and sizes with the widened capacity.
 *
 * Vendor minimums the snapshot can check (cores, memory) become notes:
 * cloudflared >= 4 cores and 4 GB, Entra connector >= 4 cores and 8 GB.
 *
 * Other resources. The hosts each other resource needs are computed the
 * same way (p99 of the site's hourly sum, growth over the horizon, one
 * spare, at least 2) by resources.h; the plan recommends the largest and
 * names it in binding_resource (docs/protocol.md section 3). */
#ifndef PF_PLAN_H
#define PF_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fleet.h"
#include "stats.h"

#define PLAN_TEXT_LEN 512
#define PLAN_COMMANDS_MAX 6
#define PLAN_NOTES_MAX 16
#define PLAN_MAX_PORTS_PER_HOST 50000 /* seed 000: past this, add hosts */
#define PLAN_MIN_HOSTS 2

/* The vendor range for one host. */
struct plan_widen {
    bool needed;     /* the host's usable ports are below the vendor range */
    uint32_t start;  /* first port of the vendor range */
    uint32_t num;    /* its size */
    uint32_t usable; /* num minus excluded ports inside it; the current
                      * usable when not needed */
    char commands[PLAN_COMMANDS_MAX][PLAN_TEXT_LEN];
    size_t ncommands;
};

/* Fills w with the vendor range of host x and the exact commands that set
 * it (netsh for Windows: ipv4/ipv6 x tcp/udp; Linux: sysctl -w and the
 * persistent /etc/sysctl.d file). */
void plan_widen_host(const struct fleet_host *x, struct plan_widen *w);

struct plan_range_change {
    char host[PF_NAME_LEN];
    char agent_id[PF_ID_LEN];
    struct plan_widen widen;
};

/* What sets recommended_hosts (binding_resource, docs/protocol.md section 3). */
enum plan_binding {
    PLAN_BIND_PORTS = 0,
    PLAN_BIND_CPU,
    PLAN_BIND_MEMORY,
    PLAN_BIND_SESSIONS,
    PLAN_BIND_VPN_PORTS,
    PLAN_BIND_ADDRESS_POOL,
    PLAN_NBIND
};

/* "ports", "cpu", "memory", "sessions", "vpn_ports", "address_pool". */
const char *plan_binding_name(int b);

/* The hosts one resource needs (resources.h says each one's units). */
struct plan_need {
    bool measured;         /* some host of the site reports it */
    double p99;            /* of the site's hourly sum */
    double growth_per_day; /* stats_trend's rate * 24 */
    double demand;         /* p99 + growth over the horizon */
    double per_host;       /* what one host carries at the vendor's ceiling */
    size_t hosts;          /* ceil(demand / per_host) + 1, at least 2 */
    char unit[32];         /* "cores", "MB", "users", "IKEv2 ports", ... */
};

struct plan_site {
    char tenant[PF_TENANT_LEN]; /* a site is (tenant, site) */
    char site[PF_ID_LEN];
    size_t hosts;                     /* hosts known in the site */
    size_t reporting_hosts;           /* of them, not silent */
    double peak;                      /* max of the hourly site sum */
    double p95, p99;                  /* of the hourly site sum */
    uint32_t usable_per_host;         /* smallest host's usable ports now */
    uint32_t usable_per_host_widened; /* ... after the vendor range */
    double target_utilization;
    const char *binding_protocol; /* "tcp" or "udp": the one that needs more hosts; the
                                   * figures of this struct are its */
    double proto_p99[2], proto_demand[2]; /* [0] TCP, [1] UDP */
    double growth_per_day;      /* ports a day now (stats_growth's per_day) */
    struct stats_growth growth; /* the fit behind it (growth_fit) */
    double horizon_days;
    double demand;            /* p99 + growth over the horizon */
    double capacity_per_host; /* target * usable used for sizing */
    size_t recommended_hosts;
    size_t add_hosts;
    bool overloaded_now; /* even widened, today's p99 exceeds the hosts' capacity */
    struct plan_range_change *changes;
    size_t nchanges;
    struct plan_need needs[PLAN_NBIND]; /* needs[PLAN_BIND_PORTS]: the port sizing above */
    enum plan_binding binding;          /* the need that set recommended_hosts */
    char notes[PLAN_NOTES_MAX][PLAN_TEXT_LEN];
    size_t nnotes;
};

struct plan {
    struct plan_site *sites; /* sorted by tenant, then site name */
    size_t nsites;
};

/* Builds the plan of every site in f. On success *out is the plan (free
 * with plan_free); on error *out is NULL. Returns PF_OK or PF_NOMEM. */
enum pf_rc plan_build(const struct fleet *f, const struct fleet_params *p, struct plan **out);
/* Frees pl; NULL does nothing. */
void plan_free(struct plan *pl);

/* True when host x has not reported for params' silent_intervals. */
bool plan_host_silent(const struct fleet_host *x, const struct fleet_params *p);

/* Returns the plan of site (tenant, site), or NULL. */
const struct plan_site *plan_find(const struct plan *pl, const char *tenant, const char *site);

/* plan_resources.c: fills s->needs[] for every resource but ports (already sized in
 * needs[PLAN_BIND_PORTS]), and raises s->recommended_hosts to the largest
 * need, setting s->binding. PF_OK or PF_NOMEM. */
enum pf_rc plan_resources_site(const struct fleet *f, const struct fleet_params *p,
                               struct plan_site *s);

#endif
