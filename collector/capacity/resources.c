/* SPDX-License-Identifier: MIT */
/* resources.c: a host's CPU, memory, sessions, RRAS ports and address
 * pool, read from its sizing series (resources.h). */
#include "resources.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "compat.h"
#include "stats.h"

double resources_entra_rps(uint32_t cpus)
{
    /* Microsoft's connector page, throughput by machine size. */
    return cpus <= 2 ? 586 : cpus <= 4 ? 1150 : cpus <= 8 ? 1190 : 1200;
}

/* p99 of a host's hourly series; NaN when it has none. */
enum pf_rc resources_peak(const struct fleet *f, const double *v, double *out)
{
    *out = NAN;
    if (!v)
        return PF_OK;
    return stats_percentile(v, f->nhours, 99, out);
}

/* The latest present value of v (configured ports, pool size). */
double resources_latest(const struct fleet *f, const double *v)
{
    for (size_t h = f->nhours; v && h-- > 0;)
        if (stats_present(v[h]))
            return v[h];
    return NAN;
}

enum pf_rc resources_host_peaks(const struct fleet *f, const struct fleet_host *x,
                                struct res_peaks *out)
{
    double used, size;
    enum pf_rc rc;

    out->mem_util = out->vpn_ports_util = out->pool_util = NAN;
    out->vpn_proto = -1;
    if ((rc = resources_peak(f, x->sz[SZ_CPU], &out->cpu_pct)) || (rc = resources_peak(f, x->sz[SZ_MEM], &out->mem_mb)) ||
        (rc = resources_peak(f, x->sz[SZ_SESSIONS], &out->sessions)) ||
        (rc = resources_peak(f, x->sz[SZ_USERS], &out->users)) || (rc = resources_peak(f, x->sz[SZ_RPS], &out->rps)))
        return rc;
    if (stats_present(out->mem_mb) && x->memory_mb)
        out->mem_util = out->mem_mb / (double)x->memory_mb;
    for (int k = 0; k < PF_VPN_NPROTO; k++) {
        double conf = resources_latest(f, x->sz[SZ_CONF_IKEV2 + k]);
        if ((rc = resources_peak(f, x->sz[SZ_PORTS_IKEV2 + k], &used)))
            return rc;
        if (stats_present(used) && stats_present(conf) && conf > 0 &&
            (!stats_present(out->vpn_ports_util) || used / conf > out->vpn_ports_util)) {
            out->vpn_ports_util = used / conf;
            out->vpn_proto = k;
        }
    }
    size = resources_latest(f, x->sz[SZ_POOL_SIZE]);
    if ((rc = resources_peak(f, x->sz[SZ_POOL_USED], &used)))
        return rc;
    if (stats_present(used) && stats_present(size) && size > 0)
        out->pool_util = used / size;
    return PF_OK;
}

const char *resources_proto_label(int proto)
{
    static const char *const labels[PF_VPN_NPROTO] = {"IKEv2", "SSTP", "L2TP", "PPTP"};

    return proto >= 0 && proto < PF_VPN_NPROTO ? labels[proto] : "?";
}
