/* SPDX-License-Identifier: MIT */
/* host_detail.h: what the host page of the report shows beyond the
 * capacity analysis (capacity.h): the TCP sockets by state per hour, the
 * top processes over the window, the top remote endpoints and the agent's
 * own health. The analysis keeps only what its findings need (one maximum
 * per host and hour, a day of processes); this is read for one host at a
 * time (host_detail_db.h), so it may come from the raw snapshots.
 *
 * Hours are those of the analysis's fleet (fleet.h): hour h covers
 * [start + h*3600, start + (h+1)*3600) of taken_at. */
#ifndef PF_HOST_DETAIL_H
#define PF_HOST_DETAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"
#include "tcp_state.h"

#define HOST_DETAIL_PROCS 6    /* processes drawn over time */
#define HOST_DETAIL_REMOTES 10 /* remote endpoints listed */
#define HOST_DETAIL_UNMEASURED 16
#define HOST_DETAIL_KEYS 256 /* distinct processes counted (FLEET_PROCS_MAX) */

/* One hour: the states of the hour's busiest snapshot (most ephemeral
 * ports in use), so the stack adds up to one real moment. NaN: no
 * snapshot that hour, or the agent could not measure that state. */
struct host_detail_hour {
    double states[PF_TCP_NSTATES]; /* sockets per state */
    double ephemeral;              /* tcp.ephemeral_in_use of that snapshot */
};

struct host_detail_proc {
    char name[PF_NAME_LEN];
    char service[PF_NAME_LEN];
    double *held;  /* [nhours] hourly maximum of tcp + udp ports; NaN = not tracked */
    double *bound; /* [nhours] hourly maximum of its BOUND sockets */
    double peak, peak_bound, last;
    bool has_remote; /* its most recent top remote endpoint */
    struct pf_endpoint remote;
};

struct host_detail_remote {
    struct pf_endpoint ep; /* count: the most connections at once */
};

struct host_detail {
    int64_t start; /* hour 0, as the fleet's */
    size_t nhours;
    struct host_detail_hour *hours;       /* [nhours] */
    bool states_measured[PF_TCP_NSTATES]; /* some snapshot of the window measured it */

    struct host_detail_proc procs[HOST_DETAIL_PROCS]; /* by peak, largest first */
    size_t nprocs;
    size_t procs_seen; /* distinct (name, service) tracked in the window */

    struct host_detail_remote remotes[HOST_DETAIL_REMOTES]; /* by count */
    size_t nremotes;
    int64_t remotes_from; /* they cover (remotes_from, now] */

    /* The latest snapshot up to now. */
    bool has_latest;
    int64_t latest_at;
    char agent_version[PF_ID_LEN];
    char os_version[PF_ID_LEN];
    uint32_t interval_s;
    int64_t spool_depth, spool_dropped, spool_corrupt; /* -1: not sent */
    char last_error[PF_NAME_LEN];                      /* "" when none */
    bool truncated;
    char unmeasured[HOST_DETAIL_UNMEASURED][PF_ID_LEN];
    size_t nunmeasured;
    /* Over the window. */
    uint64_t snapshots; /* stored */
    uint64_t snapshots_with_error;
    int64_t error_at;        /* latest snapshot that carried an error; 0 = none */
    char error[PF_NAME_LEN]; /* its text */
};

/* Frees what d holds (not d); NULL does nothing. */
void host_detail_clear(struct host_detail *d);

#endif
