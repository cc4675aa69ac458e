/* SPDX-License-Identifier: MIT */
/* resources.h: sizing by what the vendors size by besides ports, over the
 * sizing series of fleet.h (sizing.h). "Peak" is, as for ports, the p99
 * of a host's hourly maxima over the window (plan.h says why).
 *
 * resource_pressure: a host's CPU (the hourly peak of its short samples)
 *   or memory in use (of host.memory_mb) peaks above target_utilization
 *   (70%); critical above 90%. Rule: Microsoft's connector capacity
 *   planning, "keep peak CPU and memory under 70%" (Entra private network
 *   connectors; the same headroom for every role). resource says which.
 *   Remediation in the admin's words per role: add a connector to the
 *   connector group / a cloudflared replica / a VPN server, or more cores
 *   and memory for this one.
 * vpn_ports: an RRAS protocol's WAN miniport ports in use peak above 70%
 *   of the ports configured for it; critical above 90% (then new clients
 *   of that protocol are refused before any ephemeral port runs out).
 *   Rule: RRAS allots ports per protocol (`netsh ras set wanports`; common
 *   Always On VPN deployment scripts configure 128). Remediation: the
 *   exact `netsh ras set wanports` with the ports the peak needs at 70%
 *   (twice the configured number when the peak reached it: the refused
 *   clients are not seen), and the RemoteAccess restart it takes.
 * address_pool: the static client address pool's addresses in use peak
 *   above 70% of its size; critical above 90% (clients connect and get no
 *   address). Rule: RRAS hands out addresses from its static pool (or
 *   DHCP blocks of 10, InitialAddressPoolSize); an exhausted pool refuses
 *   the connection. Remediation: `netsh ras ip add range` with the
 *   addresses needed, or DHCP.
 * sessions_per_host: a cloudflared host's users peak above Cloudflare's
 *   "about 4,000 users per host" (critical above 5,000); an Entra
 *   connector's requests/s above 70% of Microsoft's published throughput
 *   for its size (586 requests/s at 2 cores, 1,150 at 4, 1,190 at 8,
 *   1,200 at 16; critical above that figure). Remediation: another
 *   cloudflared replica on the same tunnel (or split the tunnel by CIDR) /
 *   another connector in the connector group.
 *
 * Plan (resources_plan_site): per resource, demand = p99 of the site's
 * hourly sum + growth (stats_trend) over the horizon; one host carries:
 *   cpu:          70% of the smallest host's cores (CPU % x cores / 100);
 *   memory:       70% of the smallest host's memory (MB);
 *   sessions:     4,000 users per cloudflared host, or 70% of the Entra
 *                 throughput figure for the smallest host's cores;
 *   vpn_ports:    70% of the smallest host's configured ports, per
 *                 protocol (the protocol that needs most hosts counts);
 *   address_pool: 70% of the smallest host's pool;
 * hosts = ceil(demand / per host) + 1 spare, at least 2 (as for ports).
 * The site's recommended_hosts is the largest of all, ports included;
 * binding says which (ties go to ports, then this order). */
#ifndef PF_RESOURCES_H
#define PF_RESOURCES_H

#include <stdint.h>

#include "error.h"
#include "fleet.h"

#define RES_CRITICAL 0.9            /* share of the limit */
#define RES_CF_USERS_PER_HOST 4000  /* Cloudflare: about 4,000 users per host */
#define RES_CF_USERS_CRITICAL 5000

/* A host's sizing peaks (p99 of hourly maxima over the window) for the
 * reports and /metrics; NaN where the host reports no such figure. */
struct res_peaks {
    double cpu_pct;      /* CPU, % of all cores */
    double mem_mb;       /* memory in use */
    double mem_util;     /* of host.memory_mb */
    double sessions;     /* TCP + UDP sessions */
    double users;
    double rps;          /* requests/s */
    double vpn_ports_util; /* in use / configured, the worst protocol */
    int vpn_proto;         /* that protocol (enum pf_vpn_proto), -1 none */
    double pool_util;      /* address pool in use / size */
};
/* Fills out for host x. PF_OK or PF_NOMEM. */
enum pf_rc resources_host_peaks(const struct fleet *f, const struct fleet_host *x,
                                struct res_peaks *out);

/* Microsoft's throughput for a connector of this many cores (requests/s). */
double resources_entra_rps(uint32_t cpus);

/* p99 of a host's hourly series into *out (NaN when it has none); PF_OK
 * or PF_NOMEM. The latest present value of a series (configured ports,
 * pool size), NaN when none. */
enum pf_rc resources_peak(const struct fleet *f, const double *v, double *out);
double resources_latest(const struct fleet *f, const double *v);
/* "IKEv2", "SSTP", "L2TP", "PPTP"; "?" for others. */
const char *resources_proto_label(int proto);

#endif
