/* SPDX-License-Identifier: MIT */
/* textview.c: the console view of a snapshot (see textview.h). */
#include "textview.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "timeutil.h"

static double pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* "10.0.0.5:443" or "[2001:db8::1]:443" */
static void endpoint_text(char *out, size_t len, const char *addr, unsigned port)
{
    if (strchr(addr, ':'))
        snprintf(out, len, "[%s]:%u", addr, port);
    else
        snprintf(out, len, "%s:%u", addr, port);
}

static enum pf_rc render_ranges(const struct pf_snapshot *s, struct pf_buf *b)
{
    enum pf_rc rc = PF_OK;

    for (size_t i = 0; i < s->nranges && !rc; i++) {
        const struct pf_range *r = &s->ranges[i];
        rc = pf_buf_printf(b, "  %s/%s  %u-%u  %u ports, %u usable\n", pf_proto_name(r->proto),
                           pf_family_name(r->family), r->start, r->start + r->count - 1, r->count,
                           pf_snapshot_usable_ports(s, r->proto, r->family));
    }
    return rc;
}

static enum pf_rc render_processes(const struct pf_snapshot *s, struct pf_buf *b)
{
    enum pf_rc rc;

    rc = pf_buf_printf(b, "\n%-8s %-22s %-22s %6s %5s %6s %6s %6s  %s\n", "PID", "PROCESS",
                       "SERVICE", "TCP", "UDP", "ESTAB", "BOUND", "LISTEN", "TOP REMOTE");
    for (size_t i = 0; i < s->nprocesses && !rc; i++) {
        const struct pf_process *p = &s->processes[i];
        char ep[PF_ADDR_LEN + 8], remote[PF_ADDR_LEN + 32] = "-";
        if (p->has_top_remote) {
            endpoint_text(ep, sizeof(ep), p->top_remote.addr, p->top_remote.port);
            snprintf(remote, sizeof(remote), "%s (%" PRIu64 ")", ep, p->top_remote.count);
        }
        rc = pf_buf_printf(b, "%-8u %-22.22s %-22.22s %6" PRIu64 " %5" PRIu64 " %6" PRIu64
                              " %6" PRIu64 " %6" PRIu64 "  %s\n",
                           p->pid, p->name[0] ? p->name : "?", p->service[0] ? p->service : "-",
                           p->tcp_ports, p->udp_ports, p->states[PF_TCP_ESTABLISHED],
                           p->states[PF_TCP_BOUND], p->states[PF_TCP_LISTEN], remote);
    }
    return rc;
}

/* The figures of one section of snapshot_fields.h that carry a text
 * label, " label value" each. */
static enum pf_rc render_fields(const struct pf_snapshot *s, enum pf_field_section section,
                                struct pf_buf *b)
{
    enum pf_rc rc = PF_OK;

    for (size_t i = 0; i < PF_NFIELDS && !rc; i++) {
        const struct pf_field *f = &pf_fields[i];

        if (f->section != section || !f->text[0] || !pf_field_has(s, f))
            continue;
        if (f->kind == PF_FIELD_COUNT)
            rc = pf_buf_printf(b, " %s %" PRIu64, f->text, pf_field_count(s, f));
        else
            rc = pf_buf_printf(b, " %s %.1f", f->text, pf_field_value(s, f));
    }
    return rc;
}

/* CPU, memory, sessions, RRAS ports and address pool: what the vendors
 * size hosts by besides ports. */
static enum pf_rc render_sizing(const struct pf_snapshot *s, struct pf_buf *b)
{
    const struct pf_resources *r = &s->resources;
    const struct pf_sessions *se = &s->sessions;
    enum pf_rc rc = PF_OK;

    if (s->has_resources) {
        rc = pf_buf_puts(b, "\nresources:");
        if (!rc && r->has_cpu_pct)
            rc = pf_buf_printf(b, " CPU %.1f%% (peak %.1f%%)", r->cpu_pct,
                               r->has_cpu_pct_peak ? r->cpu_pct_peak : r->cpu_pct);
        if (!rc && r->has_memory_used_mb)
            rc = pf_buf_printf(b, " memory in use %" PRIu64 " of %" PRIu64 " MB (%.1f%%)",
                               r->memory_used_mb, s->host.memory_mb,
                               pct(r->memory_used_mb, s->host.memory_mb));
        if (!rc)
            rc = render_fields(s, PF_SECTION_resources, b);
        if (!rc)
            rc = pf_buf_puts(b, "\n");
    }
    if (!rc && s->has_sessions) {
        rc = pf_buf_printf(b, "sessions (%s):", se->source);
        if (!rc && se->has_tcp_active)
            rc = pf_buf_printf(b, " TCP %" PRIu64, se->tcp_active);
        if (!rc && se->has_udp_active)
            rc = pf_buf_printf(b, " UDP %" PRIu64, se->udp_active);
        if (!rc && se->has_users)
            rc = pf_buf_printf(b, " users %" PRIu64, se->users);
        if (!rc && se->has_requests_per_s)
            rc = pf_buf_printf(b, " %.1f requests/s", se->requests_per_s);
        if (!rc)
            rc = render_fields(s, PF_SECTION_sessions, b);
        if (!rc)
            rc = pf_buf_puts(b, "\n");
    }
    if (!rc && s->has_vpn && s->vpn.has_ports)
        for (size_t i = 0; i < s->vpn.nports && !rc; i++)
            rc = pf_buf_printf(b, "RRAS %s ports: %" PRIu64 " of %" PRIu64 " in use\n",
                               pf_vpn_proto_name(s->vpn.ports[i].proto), s->vpn.ports[i].in_use,
                               s->vpn.ports[i].configured);
    if (!rc && s->has_vpn && s->vpn.has_address_pool)
        rc = pf_buf_printf(b, "RRAS address pool: %" PRIu64 " of %" PRIu64 " addresses in use\n",
                           s->vpn.pool_in_use, s->vpn.pool_size);
    return rc;
}

enum pf_rc textview_render(const struct pf_snapshot *s, struct pf_buf *b)
{
    char when[PF_TIME_LEN] = "?";
    uint32_t usable = pf_snapshot_usable_ports(s, PF_PROTO_TCP, PF_FAMILY_IPV4);
    const struct pf_range *r = pf_snapshot_range(s, PF_PROTO_TCP, PF_FAMILY_IPV4);
    enum pf_rc rc;

    pf_time_format(s->taken_at, when);
    rc = pf_buf_printf(b, "%s (%s %s, site %s) at %s\n", s->host.name, s->host.os,
                       s->host.os_version, s->host.site, when);
    if (!rc && s->host.nroles) {
        rc = pf_buf_puts(b, "roles:");
        for (size_t i = 0; i < s->host.nroles && !rc; i++)
            rc = pf_buf_printf(b, " %s", s->host.roles[i]);
        if (!rc)
            rc = pf_buf_puts(b, "\n");
    }
    if (!rc)
        rc = pf_buf_puts(b, "\ndynamic port ranges:\n");
    if (!rc)
        rc = render_ranges(s, b);
    if (!rc)
        rc = pf_buf_printf(b, "\nephemeral TCP ports in use: %" PRIu64 " of %u usable (%.1f%%)\n",
                           s->tcp.ephemeral_in_use, usable, pct(s->tcp.ephemeral_in_use, usable));
    if (!rc)
        rc = pf_buf_printf(b, "UDP: %" PRIu64 " endpoints, %" PRIu64 " ephemeral ports in use\n",
                           s->udp.endpoints, s->udp.ephemeral_in_use);
    if (!rc)
        rc = pf_buf_puts(b, "TCP sockets by state:");
    for (int i = 0; i < PF_TCP_NSTATES && !rc; i++) {
        if (s->tcp.states[i] == 0)
            continue;
        rc = pf_buf_printf(b, " %s %" PRIu64, pf_tcp_state_name(i), s->tcp.states[i]);
    }
    if (!rc)
        rc = pf_buf_puts(b, "\n");
    if (!rc && s->tcp.has_top_destination && r) {
        char ep[PF_ADDR_LEN + 8];
        endpoint_text(ep, sizeof(ep), s->tcp.top_destination.addr, s->tcp.top_destination.port);
        rc = pf_buf_printf(b,
                           "top destination: %s with %" PRIu64 " connections (%.1f%% of the "
                           "range; on Linux one destination can use at most the whole range)\n",
                           ep, s->tcp.top_destination.count,
                           pct(s->tcp.top_destination.count, r->count));
    }
    if (!rc && s->has_processes)
        rc = render_processes(s, b);
    if (!rc && s->nremotes) {
        rc = pf_buf_puts(b, "\nremote endpoints by connections:\n");
        for (size_t i = 0; i < s->nremotes && i < 10 && !rc; i++) {
            char ep[PF_ADDR_LEN + 8];
            endpoint_text(ep, sizeof(ep), s->remotes[i].addr, s->remotes[i].port);
            rc = pf_buf_printf(b, "  %-48s %" PRIu64 "\n", ep, s->remotes[i].count);
        }
    }
    if (!rc && s->has_events)
        rc = pf_buf_printf(b,
                           "\nevents since the last snapshot: Tcpip 4227 %" PRIu64
                           ", 4231 %" PRIu64 ", 4266 %" PRIu64 ", NETLOGON 5719 %" PRIu64 "\n",
                           s->events.tcpip_4227, s->events.tcpip_4231, s->events.tcpip_4266,
                           s->events.netlogon_5719);
    if (!rc && s->has_vpn)
        rc = pf_buf_printf(b, "\nRRAS: %" PRIu64 " VPN connections from %" PRIu64
                              " distinct client addresses\n",
                           s->vpn.connections, s->vpn.distinct_clients);
    if (!rc)
        rc = render_sizing(s, b);
    if (!rc && s->nunmeasured) {
        rc = pf_buf_puts(b, "\nnot measured on this host:");
        for (size_t i = 0; i < s->nunmeasured && !rc; i++)
            rc = pf_buf_printf(b, " %s", s->unmeasured[i]);
        if (!rc)
            rc = pf_buf_puts(b, "\n");
    }
    if (!rc && s->truncated)
        rc = pf_buf_puts(b, "(lists cut to their first 50 entries)\n");
    return rc;
}
