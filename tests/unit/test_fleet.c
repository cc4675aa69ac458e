/* SPDX-License-Identifier: MIT */
/* test_fleet.c: folding snapshots into hourly series (what sql/010's
 * rollup must match): hourly maxima, summed events, process floors,
 * the latest configuration wins by taken_at (not by arrival), snapshots
 * outside the window, the VPN peak, and the agent-id index. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fleet.h"
#include "stats.h"
#include "test.h"

#define NOW 1795343400 /* 2026-11-22T10:30:00Z */

static void base(struct pf_snapshot *s, const char *agent, int64_t t, uint64_t in_use)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->agent_id, sizeof(s->agent_id), "%s", agent);
    s->taken_at = t;
    s->interval_s = 300;
    snprintf(s->host.name, sizeof(s->host.name), "HOST-%s", agent);
    snprintf(s->host.site, sizeof(s->host.site), "nyc");
    snprintf(s->host.os, sizeof(s->host.os), "windows");
    s->nranges = 2;
    s->ranges[0] = (struct pf_range){PF_PROTO_TCP, PF_FAMILY_IPV4, 49152, 16384};
    s->ranges[1] = (struct pf_range){PF_PROTO_UDP, PF_FAMILY_IPV4, 49152, 16384};
    s->tcp.ephemeral_in_use = in_use;
    s->udp.ephemeral_in_use = in_use / 10;
}

static struct fleet *new_fleet(void)
{
    struct fleet_params p;

    fleet_params_default(&p);
    p.now = NOW;
    return fleet_new(&p);
}

TEST(window_geometry)
{
    struct fleet *f = new_fleet();

    T_ASSERT(f);
    T_EQ_INT(f->start % 3600, 0);
    T_EQ_INT(f->start, (NOW - 7 * 86400) / 3600 * 3600);
    T_EQ_INT(f->nhours, 169); /* 7 days and the current, partial hour */
    T_EQ_INT(fleet_hour(f, NOW), 168);
    T_EQ_INT(fleet_hour(f, f->start - 1), -1);
    T_EQ_INT(fleet_hour(f, f->start + 169 * 3600), -1);
    fleet_free(f);
    fleet_free(NULL);
}

TEST(hourly_max_events_and_processes)
{
    struct fleet *f = new_fleet();
    struct pf_snapshot s;
    struct pf_process procs[2];
    struct fleet_host *x;
    long h = fleet_hour(f, NOW - 2 * 3600);
    int64_t t = f->start + h * 3600;

    memset(procs, 0, sizeof(procs));
    snprintf(procs[0].name, sizeof(procs[0].name), "DnsFilterService.exe");
    snprintf(procs[0].service, sizeof(procs[0].service), "DnsFilterSvc");
    procs[0].states[PF_TCP_BOUND] = 90;
    snprintf(procs[1].name, sizeof(procs[1].name), "tiny.exe");
    procs[1].tcp_ports = FLEET_PROC_MIN_HELD - 1; /* below the floor: not tracked */

    base(&s, "a1", t + 600, 5000);
    s.has_events = true;
    s.events.tcpip_4231 = 2;
    s.processes = procs;
    s.nprocesses = 2;
    s.has_processes = true;
    procs[0].tcp_ports = 100;
    procs[0].has_top_remote = true;
    snprintf(procs[0].top_remote.addr, sizeof(procs[0].top_remote.addr), "169.254.169.254");
    procs[0].top_remote.port = 80;
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    base(&s, "a1", t + 1200, 7000);
    s.has_events = true;
    s.events.tcpip_4231 = 3;
    s.events.tcpip_4227 = 1;
    s.processes = procs;
    s.nprocesses = 2;
    procs[0].tcp_ports = 140;
    procs[0].has_top_remote = false;
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    base(&s, "a1", t + 1800, 6000); /* same hour, lower: max stays */
    s.processes = procs;
    s.nprocesses = 1;
    procs[0].tcp_ports = 120;
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);

    T_EQ_INT(f->nhosts, 1);
    x = &f->hosts[0];
    T_EQ_INT((long long)x->tcp[h], 7000);
    T_EQ_INT((long long)x->udp[h], 700);
    T_ASSERT(!stats_present(x->tcp[h - 1]));
    T_EQ_INT(x->events[h].tcpip_4231, 5);
    T_EQ_INT(x->events[h].tcpip_4227, 1);
    T_EQ_INT(x->nprocs, 1);
    T_EQ_STR(x->procs[0].name, "DnsFilterService.exe");
    T_EQ_INT((long long)x->procs[0].held[h], 140);
    T_EQ_INT((long long)x->procs[0].held_min[h], 100);
    T_EQ_INT((long long)x->procs[0].bound[h], 90);
    T_ASSERT(x->procs[0].has_remote);
    T_EQ_STR(x->procs[0].remote.addr, "169.254.169.254");
    T_EQ_INT(x->last_seen, t + 1800);
    T_EQ_INT(x->last_tcp_in_use, 6000);
    T_EQ_INT(x->tcp_usable, 16384);
    fleet_free(f);
}

/* A snapshot from a spool arrives late: it lands in its own hour and does
 * not replace a newer configuration. */
TEST(late_snapshot_lands_in_its_hour)
{
    struct fleet *f = new_fleet();
    struct pf_snapshot s;
    struct fleet_host *x;
    long h_now = fleet_hour(f, NOW - 60), h_old = fleet_hour(f, NOW - 30 * 3600);

    base(&s, "b2", NOW - 60, 1000);
    snprintf(s.host.name, sizeof(s.host.name), "NEW-NAME");
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    base(&s, "b2", NOW - 30 * 3600, 9000);
    snprintf(s.host.name, sizeof(s.host.name), "OLD-NAME");
    s.ranges[0].count = 255;
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    x = fleet_host_get(f, "b2");
    T_EQ_STR(x->name, "NEW-NAME");
    T_EQ_INT(x->tcp_range.count, 16384);
    T_EQ_INT((long long)x->tcp[h_old], 9000);
    T_EQ_INT((long long)x->tcp[h_now], 1000);
    /* Older than the window: configuration only if newer (it is not). */
    base(&s, "b2", NOW - 30 * 86400, 50);
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    T_EQ_INT(x->last_seen, NOW - 60);
    /* No agent id: refused. */
    base(&s, "", NOW, 1);
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_INVALID);
    fleet_free(f);
}

TEST(excluded_and_vpn_peak)
{
    struct fleet *f = new_fleet();
    struct pf_snapshot s;
    struct pf_range ex[2] = {{PF_PROTO_TCP, PF_FAMILY_IPV4, 50000, 100},
                             {PF_PROTO_UDP, PF_FAMILY_IPV4, 50000, 300}};
    struct pf_client_addr top[1] = {{"203.0.113.10", 400}};
    struct fleet_host *x;

    base(&s, "c3", NOW - 7200, 100);
    s.excluded = ex;
    s.nexcluded = 2;
    s.has_excluded = true;
    s.has_vpn = true;
    s.vpn.connections = 410;
    s.vpn.by_protocol[PF_VPN_IKEV2] = 400;
    s.vpn.distinct_clients = 1;
    s.vpn.top = top;
    s.vpn.ntop = 1;
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    base(&s, "c3", NOW - 60, 100); /* fewer IKEv2 later: the peak stays */
    s.has_vpn = true;
    s.vpn.connections = 20;
    s.vpn.by_protocol[PF_VPN_IKEV2] = 10;
    s.vpn.distinct_clients = 18;
    s.vpn.has_ike_value = true;
    s.vpn.ike_num_established_for_initial_query = 50000;
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    x = fleet_host_get(f, "c3");
    T_EQ_INT(x->tcp_usable, 16384); /* the latest snapshot had no exclusions */
    T_ASSERT(x->has_vpn);
    T_EQ_INT(x->vpn.ikev2, 400);
    T_EQ_STR(x->vpn.top.addr, "203.0.113.10");
    T_ASSERT(x->has_ike_value);
    T_EQ_INT(x->ike_value, 50000);
    T_EQ_INT((long long)x->vpn_conn[fleet_hour(f, NOW - 7200)], 410);
    /* The first snapshot's exclusions counted while it was the latest. */
    fleet_free(f);
    f = new_fleet();
    base(&s, "c4", NOW - 60, 100);
    s.excluded = ex;
    s.nexcluded = 2;
    s.has_excluded = true; /* without it the blocks are not this snapshot's */
    T_EQ_INT(fleet_add_snapshot(f, &s), PF_OK);
    x = fleet_host_get(f, "c4");
    T_EQ_INT(x->tcp_usable, 16384 - 100);
    T_EQ_INT(x->udp_usable, 16384 - 300);
    T_EQ_INT(x->nexcluded, 1);
    fleet_free(f);
}

TEST(many_hosts_index)
{
    struct fleet *f = new_fleet();
    char id[32];

    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof(id), "agent-%d", i);
        T_ASSERT(fleet_host_get(f, id));
    }
    T_EQ_INT(f->nhosts, 3000);
    for (int i = 0; i < 3000; i += 7) {
        snprintf(id, sizeof(id), "agent-%d", i);
        T_EQ_STR(fleet_host_get(f, id)->agent_id, id);
    }
    T_EQ_INT(f->nhosts, 3000);
    fleet_free(f);
}

int main(void)
{
    RUN(window_geometry);
    RUN(hourly_max_events_and_processes);
    RUN(late_snapshot_lands_in_its_hour);
    RUN(excluded_and_vpn_peak);
    RUN(many_hosts_index);
    return T_DONE();
}
