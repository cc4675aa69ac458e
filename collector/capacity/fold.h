/* SPDX-License-Identifier: MIT */
/* fold.h: the hourly fold, written once. A snapshot becomes one reading
 * per host and hour and one per busy process and hour (fold_read()); two
 * readings of the same hour merge column by column by the kind listed
 * below. Every path applies these lists and nothing else:
 *  - fleet.c folds in memory (fleet_fold_hour(), fleet_fold_proc());
 *  - store/rollup.c folds a batch in C, then upserts host_hours with the
 *    ON CONFLICT clause generated here (FOLD_HOST_SET_SQL);
 *  - store/proc_rollup.c folds process_hours in C and upserts with
 *    FOLD_PROC_SET_SQL;
 *  - the SQL function that folds queued snapshots from the stored rows,
 *    pf_flush_process_hours(), is generated here too (fold_flush_sql) and
 *    installed by `migrate` (store/migrate.c), so its aggregates and its
 *    merge are these lists.
 * tests/integration/collector_fold.sh feeds the same snapshots through
 * every path and compares the rows.
 *
 * The sizing figures (sizing.h's SIZING_FIELDS, host_hours.sz_*) are host
 * columns of kind MAX too: fold_sizing() in C, FOLD_SIZING_SET_ONE in the
 * ON CONFLICT clause.
 *
 * Kinds: MAX and MIN keep the hour's extreme (absent values are ignored),
 * SUM adds. The VPN columns of a host hour are those of its reading with
 * the most IKEv2 connections, then the most connections (fold_vpn_newer);
 * a process's remote is that of its latest reading that had one
 * (fold_remote_newer). */
#ifndef PF_FOLD_H
#define PF_FOLD_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "sizing.h"

#define FOLD_HOUR 3600
#define FOLD_PROC_MIN_HELD 20 /* ports; below this a process is not kept that hour */

/* host_hours: X(column, kind, SQL expression of one snapshot's value) */
#define FOLD_HOST_COLUMNS(X)                                                                       \
    X(tcp_max, MAX, "tcp_ephemeral_in_use")                                                        \
    X(udp_max, MAX, "udp_ephemeral_in_use")                                                        \
    X(top_dest_max, MAX, "top_dest_count")                                                         \
    X(vpn_conn_max, MAX, "vpn_connections")                                                        \
    X(ev_tcpip_4227, SUM, "coalesce(ev_tcpip_4227, 0)")                                            \
    X(ev_tcpip_4231, SUM, "coalesce(ev_tcpip_4231, 0)")                                            \
    X(ev_tcpip_4266, SUM, "coalesce(ev_tcpip_4266, 0)")                                            \
    X(ev_netlogon_5719, SUM, "coalesce(ev_netlogon_5719, 0)")

/* process_hours: X(column, kind, SQL expression of one process reading) */
#define FOLD_PROC_COLUMNS(X)                                                                       \
    X(held_max, MAX, "held")                                                                       \
    X(held_min, MIN, "held")                                                                       \
    X(bound_max, MAX, "st_bound")

/* ---- SQL, generated from the lists (t: the table's alias) ---- */

#define FOLD_SQL_MAX(t, c) #c " = GREATEST(" t "." #c ", EXCLUDED." #c "), "
#define FOLD_SQL_MIN(t, c) #c " = LEAST(" t "." #c ", EXCLUDED." #c "), "
#define FOLD_SQL_SUM(t, c) #c " = " t "." #c " + EXCLUDED." #c ", "
#define FOLD_SQL_AGG_MAX(c, e) "max(" e ") AS " #c ", "
#define FOLD_SQL_AGG_MIN(c, e) "min(" e ") AS " #c ", "
#define FOLD_SQL_AGG_SUM(c, e) "sum(" e ") AS " #c ", "

#define FOLD_SQL_NAME(c, kind, e) #c ", "
#define FOLD_HOST_SET_ONE(c, kind, e) FOLD_SQL_##kind("h", c)
#define FOLD_PROC_SET_ONE(c, kind, e) FOLD_SQL_##kind("p", c)
#define FOLD_PROC_AGG_ONE(c, kind, e) FOLD_SQL_AGG_##kind(c, e)
/* sizing.h's X(ENUM, column suffix, scale): host_hours.sz_<suffix>, MAX
 * (GREATEST ignores NULL, a figure no snapshot reported) */
#define FOLD_SIZING_SET_ONE(e, c, scale) FOLD_SQL_MAX("h", sz_##c)

/* The VPN peak of a host hour: the newer reading wins when it has more
 * IKEv2 connections, then more connections. */
#define FOLD_VPN_NEWER                                                                             \
    "EXCLUDED.vpn_ikev2 IS NOT NULL AND (h.vpn_ikev2 IS NULL OR EXCLUDED.vpn_ikev2 > "             \
    "h.vpn_ikev2 OR (EXCLUDED.vpn_ikev2 = h.vpn_ikev2 AND EXCLUDED.vpn_connections > "             \
    "h.vpn_connections))"
#define FOLD_VPN_COL(c) #c " = CASE WHEN " FOLD_VPN_NEWER " THEN EXCLUDED." #c " ELSE h." #c " END"

/* ON CONFLICT (agent_id, hour) DO UPDATE SET ... of host_hours AS h */
#define FOLD_HOST_SET_SQL                                                                          \
    "samples = h.samples + EXCLUDED.samples, " FOLD_HOST_COLUMNS(FOLD_HOST_SET_ONE)                \
        SIZING_FIELDS(FOLD_SIZING_SET_ONE)                                                         \
        FOLD_VPN_COL(vpn_connections) ", " FOLD_VPN_COL(vpn_distinct) ", " FOLD_VPN_COL(           \
            vpn_top_addr) ", " FOLD_VPN_COL(vpn_top_count) ", " FOLD_VPN_COL(vpn_at) ", "          \
            FOLD_VPN_COL(vpn_ikev2)

/* The remote of the latest reading that had one. */
#define FOLD_REMOTE_COL(c)                                                                         \
    #c " = CASE WHEN EXCLUDED.remote_at >= p.remote_at OR p.remote_at IS NULL THEN coalesce("      \
       "EXCLUDED." #c ", p." #c ") ELSE p." #c " END"

/* ON CONFLICT (agent_id, hour, name, service) DO UPDATE SET ... of
 * process_hours AS p */
#define FOLD_PROC_SET_SQL                                                                          \
    FOLD_PROC_COLUMNS(FOLD_PROC_SET_ONE)                                                           \
    FOLD_REMOTE_COL(remote_addr) ", " FOLD_REMOTE_COL(remote_port) ", "                            \
        "remote_at = GREATEST(p.remote_at, EXCLUDED.remote_at)"

/* CREATE OR REPLACE FUNCTION pf_flush_process_hours(...): see fold.c. */
extern const char fold_flush_sql[];

/* ---- C, the same rules ---- */

/* Absent: NaN (fleet.c's series) */
static inline double fold_max_d(double cur, double v)
{
    return isnan(v) || (!isnan(cur) && cur >= v) ? cur : v;
}

static inline double fold_min_d(double cur, double v)
{
    return isnan(v) || (!isnan(cur) && cur <= v) ? cur : v;
}

/* Absent: negative */
static inline int64_t fold_max_i(int64_t cur, int64_t v)
{
    return v < 0 || cur >= v ? cur : v;
}

static inline int64_t fold_min_i(int64_t cur, int64_t v)
{
    return v < 0 || (cur >= 0 && cur <= v) ? cur : v;
}

/* The sizing figures of a host hour (sizing.h; NaN: absent) merged with a
 * reading's: each keeps its maximum. */
static inline void fold_sizing(double cur[SIZING_N], const double v[SIZING_N])
{
    for (int k = 0; k < SIZING_N; k++)
        cur[k] = fold_max_d(cur[k], v[k]);
}

/* One snapshot's sizing figures into a host hour's. */
static inline void fold_sizing_snapshot(double cur[SIZING_N], const struct pf_snapshot *s)
{
    double v[SIZING_N];

    sizing_from_snapshot(s, v);
    fold_sizing(cur, v);
}

/* True when a reading (ikev2, conn) replaces the held VPN peak. */
static inline bool fold_vpn_newer(bool held, uint64_t held_ikev2, uint64_t held_conn,
                                  uint64_t ikev2, uint64_t conn)
{
    return !held || ikev2 > held_ikev2 || (ikev2 == held_ikev2 && conn > held_conn);
}

/* True when a remote seen at time at replaces the one held since held_at
 * (held_at < 0: none); equal times: the later reading wins. */
static inline bool fold_remote_newer(int64_t held_at, int64_t at)
{
    return held_at < 0 || at >= held_at;
}

/* The hour of a snapshot: taken_at truncated to the hour, never arrival. */
static inline int64_t fold_hour(int64_t taken_at)
{
    return taken_at / FOLD_HOUR * FOLD_HOUR;
}

#endif
