/* SPDX-License-Identifier: MIT */
/* sizing.c: a snapshot's sizing figures (see sizing.h). */
#include "sizing.h"

#include <math.h>

#define SNAP_COL_0(section, name)
#define SNAP_COL_1(section, name) "sz_" #section "_" #name,
#define SNAP_COL(section, name, kind, text, rollup) SNAP_COL_##rollup(section, name)
#define SNAP_SCALE_COUNT 1
#define SNAP_SCALE_PCT 100
#define SNAP_SCALE_RATE 100
#define SNAP_SCALE_0(kind)
#define SNAP_SCALE_1(kind) SNAP_SCALE_##kind,
#define SNAP_SCALE(section, name, kind, text, rollup) SNAP_SCALE_##rollup(kind)
#define SNAP_ID_0(section, name)
#define SNAP_ID_1(section, name) [SZ_SNAP_##section##_##name] = PF_FIELD_##section##_##name,
#define SNAP_ID(section, name, kind, text, rollup) SNAP_ID_##rollup(section, name)

static const char *const columns[SIZING_N] = {
#define SIZING_X_COL(e, c, s) "sz_" #c,
    SIZING_FIELDS(SIZING_X_COL)
#undef SIZING_X_COL
    PF_SNAPSHOT_FIELDS(SNAP_COL)
};

static const int64_t scales[SIZING_N] = {
#define SIZING_X_SCALE(e, c, s) s,
    SIZING_FIELDS(SIZING_X_SCALE)
#undef SIZING_X_SCALE
    PF_SNAPSHOT_FIELDS(SNAP_SCALE)
};

/* The snapshot figure of each SZ_SNAP_ series (pf_fields' index). */
static const int snap_field[SIZING_N + 1] = {PF_SNAPSHOT_FIELDS(SNAP_ID)[SIZING_N] = -1};

const char *sizing_column(int k)
{
    return k >= 0 && k < SIZING_N ? columns[k] : "?";
}

int64_t sizing_scale(int k)
{
    return k >= 0 && k < SIZING_N ? scales[k] : 1;
}

void sizing_from_snapshot(const struct pf_snapshot *s, double v[SIZING_N])
{
    for (int k = 0; k < SIZING_N; k++)
        v[k] = NAN;
    if (s->has_resources) {
        const struct pf_resources *r = &s->resources;
        if (r->has_cpu_pct_peak)
            v[SZ_CPU] = r->cpu_pct_peak;
        else if (r->has_cpu_pct)
            v[SZ_CPU] = r->cpu_pct;
        if (r->has_memory_used_mb)
            v[SZ_MEM] = (double)r->memory_used_mb;
    }
    if (s->has_sessions) {
        const struct pf_sessions *se = &s->sessions;
        if (se->has_tcp_active || se->has_udp_active)
            v[SZ_SESSIONS] = (double)(se->tcp_active + se->udp_active);
        if (se->has_users)
            v[SZ_USERS] = (double)se->users;
        if (se->has_requests_per_s)
            v[SZ_RPS] = se->requests_per_s;
    }
    if (s->has_vpn && s->vpn.has_ports)
        for (size_t i = 0; i < s->vpn.nports; i++) {
            int p = s->vpn.ports[i].proto;
            if (p >= PF_VPN_NPROTO)
                continue;
            v[SZ_PORTS_IKEV2 + p] = (double)s->vpn.ports[i].in_use;
            v[SZ_CONF_IKEV2 + p] = (double)s->vpn.ports[i].configured;
        }
    if (s->has_vpn && s->vpn.has_address_pool) {
        v[SZ_POOL_USED] = (double)s->vpn.pool_in_use;
        v[SZ_POOL_SIZE] = (double)s->vpn.pool_size;
    }
    for (int k = SIZING_BASE_N; k < SIZING_N; k++) {
        const struct pf_field *f = &pf_fields[snap_field[k]];
        if (pf_field_has(s, f))
            v[k] = pf_field_value(s, f);
    }
}
