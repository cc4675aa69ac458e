/* SPDX-License-Identifier: MIT */
/* sizing.h: the figures besides ports that the vendors size hosts by, as
 * hourly series: CPU and memory (resources), the connector's sessions and
 * users and requests/s (sessions), RRAS WAN miniport ports per protocol
 * in use and configured (vpn.ports), and the client address pool
 * (vpn.address_pool). One list, SIZING_FIELDS, gives the enum, the
 * rollup columns (host_hours.sz_*, sql/050_sizing.sql), the loader and the
 * fold; every figure keeps its hour's maximum, like the port counts
 * (fleet.h), and is NaN where no snapshot reported it (an unmeasured value
 * is never a zero). Fractions travel as integers of 1/scale. */
#ifndef PF_SIZING_H
#define PF_SIZING_H

#include <stdint.h>

#include "snapshot.h"

/* X(ENUM, column suffix, scale) */
#define SIZING_FIELDS(X)                                                                           \
    X(CPU, cpu_pct, 100)       /* resources.cpu_pct_peak, else cpu_pct */                          \
    X(MEM, mem_mb, 1)          /* resources.memory_used_mb */                                      \
    X(SESSIONS, sessions, 1)   /* sessions.tcp_active + udp_active */                              \
    X(USERS, users, 1)         /* sessions.users */                                                \
    X(RPS, rps, 100)           /* sessions.requests_per_s */                                       \
    X(PORTS_IKEV2, ports_ikev2, 1) /* vpn.ports[ikev2].in_use ... */                               \
    X(PORTS_SSTP, ports_sstp, 1)                                                                   \
    X(PORTS_L2TP, ports_l2tp, 1)                                                                   \
    X(PORTS_PPTP, ports_pptp, 1)                                                                   \
    X(CONF_IKEV2, conf_ikev2, 1) /* vpn.ports[ikev2].configured ... */                             \
    X(CONF_SSTP, conf_sstp, 1)                                                                     \
    X(CONF_L2TP, conf_l2tp, 1)                                                                     \
    X(CONF_PPTP, conf_pptp, 1)                                                                     \
    X(POOL_USED, pool_used, 1) /* vpn.address_pool.in_use */                                       \
    X(POOL_SIZE, pool_size, 1) /* vpn.address_pool.size */

/* Then, after SIZING_FIELDS, every figure of common/snapshot_fields.h
 * marked rollup, as it is: SZ_SNAP_<section>_<name>, column
 * sz_<section>_<name>, scale 1 for a COUNT and 100 for the others. Adding
 * such a figure adds its series here, its host_hours column (migrate adds
 * what the list names and the table lacks: rollup_ensure_columns), the
 * rollup and the loader, with no edit in these files. */
#define SIZING_SNAP_0(section, name)
#define SIZING_SNAP_1(section, name) SZ_SNAP_##section##_##name,
#define SIZING_X_SNAP(section, name, kind, text, rollup) SIZING_SNAP_##rollup(section, name)

enum sizing_field {
#define SIZING_X_ENUM(e, c, s) SZ_##e,
    SIZING_FIELDS(SIZING_X_ENUM)
#undef SIZING_X_ENUM
        SIZING_BASE_N,
    SIZING_SNAP_BEFORE_ = SIZING_BASE_N - 1,
    PF_SNAPSHOT_FIELDS(SIZING_X_SNAP)
        SIZING_N
};

/* The host_hours column of field k ("sz_cpu_pct"), or "?". */
const char *sizing_column(int k);
/* The field's scale: stored integer = value * scale. */
int64_t sizing_scale(int k);

/* Fills v[0..SIZING_N) with snapshot s's readings, NaN where s has none. */
void sizing_from_snapshot(const struct pf_snapshot *s, double v[SIZING_N]);

#endif
