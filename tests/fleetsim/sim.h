/* SPDX-License-Identifier: MIT */
/* sim.h: fleetsim's model of a fleet. A scenario (JSON, see
 * tests/fleetsim/README.md) describes hosts: sites, roles, ranges, a base
 * load with office hours, growth, noise, and planted problems (a leaking
 * process that may restart or level off, a one-off jump, a one-hour
 * spike, Windows events, VPN clients behind source NAT, a host that went
 * silent). sim_snapshot() turns the model into the snapshot an agent would
 * have sent at time t, so the whole product path (JSON codec, TLS, ingest,
 * rollups, analysis) sees what a real fleet sends.
 *
 * The noise is a hash of (seed, host, t): the same scenario and `now`
 * give the same snapshots in any order, on any machine. Times in the
 * scenario are hours before `now`. */
#ifndef PF_SIM_H
#define PF_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

#define SIM_PROCS_MAX 40
#define SIM_EVENTS_MAX 16
#define SIM_EXCLUDED_MAX 64

struct sim_leak {
    bool present;
    double per_min;         /* ports per minute */
    double since_h;         /* the current cycle began this many hours before now */
    double restart_every_h; /* > 0: a sawtooth, earlier cycles of this length */
    double plateau_after_h; /* > 0: stops growing this long after a cycle began */
    bool bound;             /* the held ports are BOUND sockets (seed 004) */
};

struct sim_proc {
    char name[PF_NAME_LEN];
    char service[PF_NAME_LEN];
    double share; /* of the host's base + office + growth load */
    double base;  /* ports held regardless */
    struct sim_leak leak;
    double jump_at_h, jump; /* a one-off jump that stays */
    bool has_remote;
    struct pf_endpoint remote;
};

struct sim_event {
    double at_h;
    struct pf_events counts;
};

struct sim_host {
    char name[PF_NAME_LEN];
    char site[PF_ID_LEN];
    char os[PF_ID_LEN];
    char roles[PF_ROLES_MAX][PF_ID_LEN];
    size_t nroles;
    uint32_t cpus;
    uint64_t memory_mb;
    uint16_t range_start;
    uint32_t range_count;
    struct pf_range excluded[SIM_EXCLUDED_MAX]; /* proto/family ignored: all four */
    size_t nexcluded;
    double base, office, noise, growth_per_day, udp_base;
    double growth_compound; /* > 0: the load grows this fraction a day, compounded */
    double weekend;         /* office load on Saturday and Sunday (UTC): this fraction */
    double udp_office;      /* UDP ports added in office hours (ramped like office) */
    double time_wait;       /* unowned TIME_WAIT sockets on top (a host's own storm) */
    double silent_for_h; /* last snapshot this long before now */
    double start_h;      /* first snapshot this long before now (0: the scenario's days) */
    struct sim_proc procs[SIM_PROCS_MAX];
    size_t nprocs;
    double jump_at_h, jump;   /* host-level one-off jump (unowned sockets) */
    double spike_at_h, spike; /* one hour of a storm (unowned sockets) */
    struct sim_event events[SIM_EVENTS_MAX];
    size_t nevents;
    bool has_vpn;
    double vpn_connections, vpn_office, vpn_ikev2_share;
    uint64_t vpn_clients;
    char vpn_top_addr[PF_ADDR_LEN];
    bool vpn_has_ike;
    uint32_t vpn_ike;
    bool has_top_dest;
    struct pf_endpoint top_dest;
    double top_dest_share; /* of the connections */
    double distinct_ratio; /* Linux: distinct local ports / connections (default 1) */
    /* Sizing figures besides ports; each absent (not reported) unless the
     * scenario gives it. Values follow base + office x office hours. */
    bool has_cpu;
    double cpu, cpu_office, cpu_noise; /* % of all cores; the peak adds cpu_noise */
    bool has_mem;
    double mem_mb, mem_office_mb;
    char sess_source[PF_ID_LEN]; /* "" when no sessions section */
    bool has_users, has_rps;
    double users, users_office, sessions_per_user, rps, rps_office;
    uint64_t vpn_ports[PF_VPN_NPROTO]; /* configured WAN miniport ports; 0: none */
    bool has_vpn_ports;
    uint64_t vpn_pool; /* static pool size; 0: no pool section */
    uint32_t usable;       /* range minus excluded ports inside it */
    uint64_t seed;
};

struct sim_scenario {
    char name[PF_ID_LEN];
    double days;
    uint32_t interval_s;
    uint64_t seed;
    struct sim_host *hosts;
    size_t nhosts;
    struct cJSON *json; /* the parsed file (expect lives here) */
};

/* Loads a scenario file. Host entries with "replicate": N become N hosts
 * (NAME-0001...; with "hosts_per_site": K the site gets a -001... suffix
 * per K hosts); "extra_processes": N adds N small services. Returns PF_OK
 * and *out (free with sim_free), or PF_INVALID with a message in err. */
enum pf_rc sim_load(const char *path, struct sim_scenario **out, char *err, size_t errlen);
void sim_free(struct sim_scenario *sc);

/* The first and last snapshot times of host h for `now` (multiples of the
 * interval). *last < *first when the host sends nothing. */
void sim_times(const struct sim_scenario *sc, const struct sim_host *h, int64_t now, int64_t *first,
               int64_t *last);

/* Fills s (cleared first; the caller clears it after) with host h's
 * snapshot at time t. agent_id may be "" (filled later). seq numbers the
 * snapshots from 1. PF_OK or PF_NOMEM. */
enum pf_rc sim_snapshot(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                        int64_t t, uint64_t seq, const char *agent_id, struct pf_snapshot *s);

/* The host's TCP ports in use at t without noise, spikes, events: the
 * model's truth. future_restarts false keeps a leak growing after now
 * (what a forecast assumes). */
double sim_tcp_truth(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                     int64_t t);
/* Usable TCP/IPv4 ports of host h (range minus excluded inside it). */
uint32_t sim_usable(const struct sim_host *h);
/* The first time >= now at which sim_tcp_truth reaches the usable ports,
 * searched up to now + max_days; -1 when never. */
int64_t sim_exhaustion_truth(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                             double max_days);

#endif
