/* SPDX-License-Identifier: MIT */
/* fleet.h: what the capacity analysis knows about the fleet: per host, its
 * identity and configuration as of its latest snapshot, and hourly series
 * over the analysis window (per host, and per process on the host).
 *
 * Hour h covers [start + h*3600, start + (h+1)*3600) of taken_at, never of
 * arrival time: a snapshot drained from a spool hours late lands in its
 * own hour. Each hour keeps the maximum of what was seen in it (capacity
 * is about peaks), the sum of the Windows event counts, and for processes
 * also the minimum (what was never released that hour: the leak floor).
 *
 * Two producers fill it the same way: fleet_add_snapshot() folds decoded
 * snapshots (tests, fleetsim's offline mode), and analysis_db.c loads the
 * hourly rollups the collector keeps in PostgreSQL (sql/010). Both apply
 * the one fold of fold.h; the integration tests compare the two.
 *
 * Processes are keyed by (name, service), not PID: a restart gets a new
 * PID and is exactly the event that releases a leak. Only processes that
 * hold at least FLEET_PROC_MIN_HELD ports in an hour are kept for it; a
 * leak that matters passes that within minutes. */
#ifndef PF_FLEET_H
#define PF_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "fold.h"
#include "sizing.h"
#include "snapshot.h"

#define FLEET_HOUR FOLD_HOUR
#define FLEET_PROC_MIN_HELD FOLD_PROC_MIN_HELD /* below this a process is not tracked that hour */
#define FLEET_PROCS_MAX 256    /* tracked (name, service) keys per host */
#define FLEET_HOURS_MAX (400 * 24)

/* What the analysis is asked: the defaults are the issue's. */
struct fleet_params {
    int64_t now;               /* "now" for host_silent and forecasts */
    int64_t window_s;          /* analysis window, default 7 days */
    double horizon_days;       /* forecast and plan horizon, default 90 */
    double target_utilization; /* vendor 70% ceiling, default 0.7 */
    unsigned silent_intervals; /* host_silent after this many missed, default 3 */
};

/* Fills p with the defaults and now = pf_time_now(). */
void fleet_params_default(struct fleet_params *p);

struct fleet_events {
    uint64_t tcpip_4227, tcpip_4231, tcpip_4266, netlogon_5719;
};

struct fleet_proc {
    char name[PF_NAME_LEN];
    char service[PF_NAME_LEN];
    double *held;     /* [nhours] max tcp_ports + udp_ports; NaN = not seen */
    double *held_min; /* [nhours] min of the same */
    double *bound;    /* [nhours] max BOUND sockets */
    bool has_remote;  /* top_remote of the latest snapshot that had one */
    struct pf_endpoint remote;
    int64_t remote_at;
};

/* The RRAS picture at the hour with the most IKEv2 connections. */
struct fleet_vpn {
    uint64_t connections;
    uint64_t ikev2;
    uint64_t distinct_clients;
    struct pf_client_addr top; /* the most frequent client address */
    int64_t at;
};

struct fleet_host {
    char agent_id[PF_ID_LEN];
    /* The tenant owning the agent (decided at enrollment, agents.tenant):
     * a site is (tenant, site), so the same site name in two tenants is
     * two sites. "default" when folded from snapshots alone. */
    char tenant[PF_TENANT_LEN];
    /* As of the latest snapshot (by taken_at). */
    char name[PF_NAME_LEN];
    char site[PF_ID_LEN];
    char os[PF_ID_LEN];
    char roles[PF_ROLES_MAX][PF_ID_LEN];
    size_t nroles;
    uint32_t cpus;
    uint64_t memory_mb;
    int64_t last_seen; /* taken_at of the latest snapshot; 0 = never */
    uint32_t interval_s;
    bool has_tcp_range, has_udp_range;
    struct pf_range tcp_range, udp_range; /* IPv4 ranges */
    uint32_t tcp_usable, udp_usable;      /* range minus excluded inside it */
    struct pf_range *excluded;            /* TCP/IPv4 excluded blocks */
    size_t nexcluded;
    uint64_t last_tcp_in_use, last_udp_in_use;
    bool has_top_dest; /* tcp.top_destination of the latest snapshot */
    struct pf_endpoint top_dest_last;
    bool has_ike_value; /* IkeNumEstablishedForInitialQuery is set */
    uint32_t ike_value;

    /* Hourly series, [nhours] each; NaN where no snapshot that hour. */
    double *tcp;                 /* max tcp.ephemeral_in_use */
    double *udp;                 /* max udp.ephemeral_in_use */
    double *top_dest;            /* max tcp.top_destination.count */
    double *vpn_conn;            /* max vpn.connections */
    struct fleet_events *events; /* summed per hour */

    bool has_vpn;
    struct fleet_vpn vpn;

    /* Sizing series (sizing.h), [nhours] each; NULL until the host
     * reports the figure at all, then NaN where an hour has none. */
    double *sz[SIZING_N];

    struct fleet_proc *procs;
    size_t nprocs, capprocs;
};

struct fleet {
    int64_t start; /* taken_at of hour 0 (a multiple of 3600) */
    size_t nhours;
    struct fleet_host *hosts;
    size_t nhosts, cap;
    size_t *index; /* open addressing over agent_id: host number + 1, 0 = free */
    size_t index_cap;
    void *owner; /* a loader's own bookkeeping (fleet_mirror.c); NULL elsewhere */
    /* A fleet built in one block (fleet_mirror.c's copies): every host's
     * series, sizing series, excluded blocks, process array and process
     * series point into arena, which fleet_free() hands to
     * arena_free(arena, arena_ud) instead of freeing them one by one.
     * NULL: each is its own allocation. */
    void *arena;
    void (*arena_free)(void *arena, void *ud);
    void *arena_ud;
};

/* Returns an empty fleet whose window ends at the hour holding p->now and
 * reaches back p->window_s, or NULL when out of memory or the window is
 * over FLEET_HOURS_MAX hours. Free with fleet_free(). */
struct fleet *fleet_new(const struct fleet_params *p);
/* Frees f and everything it holds; NULL does nothing. */
void fleet_free(struct fleet *f);

/* Returns the hour index of time t, or -1 when t is outside the window. */
long fleet_hour(const struct fleet *f, int64_t t);

/* Returns the host with that agent id, adding an empty one (series all
 * NaN) when new; NULL when out of memory. The pointer is valid until the
 * next fleet_host_get() that adds a host. */
struct fleet_host *fleet_host_get(struct fleet *f, const char *agent_id);
/* Adds a host with that agent id (not yet in f) with no series at all
 * (NULL), for a loader that points them into f->arena itself; NULL when
 * out of memory or the id is too long. */
struct fleet_host *fleet_host_add_bare(struct fleet *f, const char *agent_id);
/* Returns the host with that agent id, or NULL (never adds one). */
struct fleet_host *fleet_host_find(struct fleet *f, const char *agent_id);
/* Returns the host's process (name, service), adding it when new; NULL
 * when out of memory or the host already tracks FLEET_PROCS_MAX. */
struct fleet_proc *fleet_proc_get(struct fleet *f, struct fleet_host *h, const char *name,
                                  const char *service);

/* Replaces h's configuration with that of s (newer than what h holds):
 * name, site, os, roles, hardware, ranges, usable ports, excluded blocks,
 * last counts and the IKE registry value. */
enum pf_rc fleet_host_set_config(struct fleet_host *h, const struct pf_snapshot *s);

/* Folds one snapshot into the fleet as ingest's rollup does. Snapshots
 * outside the window only update the host's configuration when newer.
 * Returns PF_OK, PF_NOMEM, or PF_INVALID when s has no agent_id. */
enum pf_rc fleet_add_snapshot(struct fleet *f, const struct pf_snapshot *s);

/* The reading of one host hour that fleet_fold_hour() merges (also what a
 * rollup row holds). */
struct fleet_hour_row {
    double tcp, udp, top_dest, vpn_conn; /* NaN = absent */
    struct fleet_events events;
};
/* Merges one reading into hour h of host x: max of each value, sum of
 * the events. h must be inside the window. */
void fleet_fold_hour(struct fleet_host *x, size_t h, const struct fleet_hour_row *r);
/* Merges one process reading into hour h of p. */
void fleet_fold_proc(struct fleet_proc *p, size_t h, double held_max, double held_min,
                     double bound);
/* Merges sizing readings v[SIZING_N] (NaN = absent) into hour h of host
 * x: the maximum of each. PF_OK or PF_NOMEM. */
enum pf_rc fleet_fold_sizing(const struct fleet *f, struct fleet_host *x, size_t h,
                             const double v[SIZING_N]);
/* Takes v as the host's VPN peak when it has more IKEv2 connections (then
 * more connections) than the one held. */
void fleet_fold_vpn(struct fleet_host *x, const struct fleet_vpn *v);

/* Time reference of hour h's maximum: the end of the hour, or the host's
 * last snapshot when that is earlier (the current, partial hour). */
int64_t fleet_hour_time(const struct fleet *f, const struct fleet_host *x, size_t h);

/* True when host x belongs to site (tenant, site). */
bool fleet_host_in_site(const struct fleet_host *x, const char *tenant, const char *site);

/* True when any of the host's roles contains word ("cloudflared"). */
bool fleet_host_has_role(const struct fleet_host *x, const char *word);
/* True for os "windows". */
bool fleet_host_is_windows(const struct fleet_host *x);

#endif
