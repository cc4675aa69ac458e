/* SPDX-License-Identifier: MIT */
/* test_aggregate.c: socket records -> counts, on constructed tables (the
 * same aggregation serves Linux and Windows). Range 1000..1999 throughout. */
#include <stdlib.h>

#include "aggregate.h"
#include "test.h"

static void set_ranges(struct pf_snapshot *s, uint16_t start, uint32_t count)
{
    s->nranges = 0;
    for (int p = 0; p < 2; p++)
        for (int f = 0; f < 2; f++) {
            struct pf_range *r = &s->ranges[s->nranges++];
            r->proto = (uint8_t)p;
            r->family = (uint8_t)f;
            r->start = start;
            r->count = count;
        }
}

/* Adds a record; raddr4 is an IPv4 address as a 32-bit number (host order),
 * or for IPv6 the last byte of 2001:db8::N. */
static uint32_t add(struct sockrec_vec *v, int proto, int fam, int state, int lport,
                    uint32_t raddr, int rport, uint32_t pid)
{
    struct sockrec *r = sockrec_vec_push(v);
    uint32_t idx = (uint32_t)(v->n - 1);

    r->proto = (uint8_t)proto;
    r->family = (uint8_t)fam;
    r->state = (uint8_t)state;
    r->lport = (uint16_t)lport;
    r->rport = (uint16_t)rport;
    if (fam == PF_FAMILY_IPV4) {
        r->raddr[0] = (uint8_t)(raddr >> 24);
        r->raddr[1] = (uint8_t)(raddr >> 16);
        r->raddr[2] = (uint8_t)(raddr >> 8);
        r->raddr[3] = (uint8_t)raddr;
    } else if (rport) {
        r->raddr[0] = 0x20;
        r->raddr[1] = 0x01;
        r->raddr[2] = 0x0d;
        r->raddr[3] = 0xb8;
        r->raddr[15] = (uint8_t)raddr;
    }
    if (pid)
        sockrec_vec_add_owner(v, idx, pid);
    return idx;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define T PF_PROTO_TCP
#define U PF_PROTO_UDP
#define V4 PF_FAMILY_IPV4
#define V6 PF_FAMILY_IPV6

static int name_calls;
static enum pf_rc fake_names(uint32_t pid, char *name, size_t nl, char *svc, size_t sl)
{
    name_calls++;
    snprintf(name, nl, "proc%u", pid);
    snprintf(svc, sl, pid == 10 ? "Dns Svc" : "");
    return PF_OK;
}

static const struct pf_process *proc(const struct pf_snapshot *s, uint32_t pid)
{
    for (size_t i = 0; i < s->nprocesses; i++)
        if (s->processes[i].pid == pid)
            return &s->processes[i];
    return NULL;
}

TEST(host_counts_and_ports)
{
    struct pf_snapshot s = {0};
    struct sockrec_vec v;

    set_ranges(&s, 1000, 1000);
    sockrec_vec_init(&v);
    add(&v, T, V4, PF_TCP_LISTEN, 443, 0, 0, 1);                 /* outside the range */
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1000, IP(10, 0, 0, 5), 443, 10); /* first port */
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1999, IP(10, 0, 0, 5), 443, 10); /* last port */
    add(&v, T, V4, PF_TCP_ESTABLISHED, 2000, IP(10, 0, 0, 5), 443, 10); /* just past */
    add(&v, T, V4, PF_TCP_ESTABLISHED, 999, IP(10, 0, 0, 5), 443, 10);  /* just before */
    /* Linux: one local port towards two destinations counts once */
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1500, IP(10, 0, 0, 6), 80, 10);
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1500, IP(10, 0, 0, 7), 80, 10);
    add(&v, T, V6, PF_TCP_ESTABLISHED, 1500, 9, 443, 11); /* and across families */
    add(&v, T, V4, PF_TCP_TIME_WAIT, 1600, IP(10, 0, 0, 5), 443, 0); /* no owner */
    add(&v, T, V4, PF_TCP_BOUND, 1700, 0, 0, 10);
    add(&v, T, V4, PF_TCP_BOUND, 1701, 0, 0, 10);
    add(&v, T, V4, PF_TCP_CLOSE_WAIT, 1800, IP(10, 0, 0, 8), 8080, 11);
    add(&v, U, V4, 0, 1000, 0, 0, 11);
    add(&v, U, V6, 0, 1000, 0, 0, 11); /* same UDP port in both families: once */
    add(&v, U, V4, 0, 53, 0, 0, 12);
    T_EQ_INT(aggregate_sockets(&s, &v, NULL), PF_OK);

    T_EQ_INT(s.tcp.states[PF_TCP_LISTEN], 1);
    T_EQ_INT(s.tcp.states[PF_TCP_ESTABLISHED], 7);
    T_EQ_INT(s.tcp.states[PF_TCP_TIME_WAIT], 1);
    T_EQ_INT(s.tcp.states[PF_TCP_BOUND], 2);
    T_EQ_INT(s.tcp.states[PF_TCP_CLOSE_WAIT], 1);
    /* 1000, 1999, 1500, 1600, 1700, 1701, 1800 */
    T_EQ_INT(s.tcp.ephemeral_in_use, 7);
    T_EQ_INT(s.udp.endpoints, 3);
    T_EQ_INT(s.udp.ephemeral_in_use, 1);
    /* 10.0.0.5:443 has 4 established + 1 TIME_WAIT */
    T_ASSERT(s.tcp.has_top_destination);
    T_EQ_STR(s.tcp.top_destination.addr, "10.0.0.5");
    T_EQ_INT(s.tcp.top_destination.port, 443);
    T_EQ_INT(s.tcp.top_destination.count, 5);
    T_ASSERT(s.has_remotes);
    T_EQ_INT(s.nremotes, 5);
    T_EQ_STR(s.remotes[0].addr, "10.0.0.5");
    T_EQ_INT(s.remotes[1].count, 1);
    T_EQ_INT(s.remotes[1].port, 80); /* ties: lower port first */
    T_EQ_STR(s.remotes[1].addr, "10.0.0.6");
    T_EQ_STR(s.remotes[2].addr, "10.0.0.7");
    T_EQ_STR(s.remotes[3].addr, "2001:db8::9");
    T_EQ_INT(s.remotes[4].port, 8080);
    T_ASSERT(!s.truncated);
    sockrec_vec_free(&v);
    pf_snapshot_clear(&s);
}

TEST(processes)
{
    struct pf_snapshot s = {0};
    struct sockrec_vec v;
    const struct pf_process *p;
    uint32_t shared;

    set_ranges(&s, 1000, 1000);
    sockrec_vec_init(&v);
    /* pid 10: 3 bound + 2 established towards 169.254.169.254:80 */
    for (int i = 0; i < 3; i++)
        add(&v, T, V4, PF_TCP_BOUND, 1100 + i, 0, 0, 10);
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1200, IP(169, 254, 169, 254), 80, 10);
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1201, IP(169, 254, 169, 254), 80, 10);
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1202, IP(10, 1, 1, 1), 443, 10);
    /* pid 20: 1 listener outside the range and 3 accepted, no ephemeral port */
    add(&v, T, V4, PF_TCP_LISTEN, 443, 0, 0, 20);
    for (int i = 0; i < 3; i++)
        add(&v, T, V4, PF_TCP_ESTABLISHED, 443, IP(10, 9, 9, 9), 50000 + i, 20);
    /* pid 30: 2 UDP in range, 1 TCP in range */
    add(&v, U, V4, 0, 1300, 0, 0, 30);
    add(&v, U, V4, 0, 1301, 0, 0, 30);
    add(&v, T, V4, PF_TCP_SYN_SENT, 1302, IP(10, 2, 2, 2), 443, 30);
    /* a socket inherited across fork: pids 40 and 41 both hold it */
    shared = add(&v, T, V4, PF_TCP_ESTABLISHED, 1400, IP(10, 3, 3, 3), 22, 40);
    sockrec_vec_add_owner(&v, shared, 41);
    /* pid 40 sees it through two fds (dup): counted once */
    sockrec_vec_add_owner(&v, shared, 40);

    name_calls = 0;
    T_EQ_INT(aggregate_sockets(&s, &v, fake_names), PF_OK);
    T_EQ_INT(name_calls, 5);
    T_EQ_INT(s.nprocesses, 5);
    /* ranked: 10 (6 ports), 30 (3), 40 and 41 (1 each, 1 socket: by pid), 20 (0) */
    T_EQ_INT(s.processes[0].pid, 10);
    T_EQ_INT(s.processes[1].pid, 30);
    T_EQ_INT(s.processes[2].pid, 40);
    T_EQ_INT(s.processes[3].pid, 41);
    T_EQ_INT(s.processes[4].pid, 20);

    p = proc(&s, 10);
    T_EQ_STR(p->name, "proc10");
    T_EQ_STR(p->service, "Dns Svc");
    T_EQ_INT(p->tcp_ports, 6);
    T_EQ_INT(p->udp_ports, 0);
    T_EQ_INT(p->states[PF_TCP_BOUND], 3);
    T_EQ_INT(p->states[PF_TCP_ESTABLISHED], 3);
    T_ASSERT(p->has_top_remote);
    T_EQ_STR(p->top_remote.addr, "169.254.169.254");
    T_EQ_INT(p->top_remote.port, 80);
    T_EQ_INT(p->top_remote.count, 2);

    p = proc(&s, 20);
    T_EQ_INT(p->tcp_ports, 0);
    T_EQ_INT(p->states[PF_TCP_LISTEN], 1);
    T_EQ_INT(p->states[PF_TCP_ESTABLISHED], 3);
    T_EQ_INT(p->top_remote.count, 1);
    T_EQ_INT(p->top_remote.port, 50000); /* ties: lower port */

    p = proc(&s, 30);
    T_EQ_INT(p->tcp_ports, 1);
    T_EQ_INT(p->udp_ports, 2);
    T_EQ_INT(p->states[PF_TCP_SYN_SENT], 1);

    p = proc(&s, 40);
    T_EQ_INT(p->tcp_ports, 1);
    T_EQ_INT(p->states[PF_TCP_ESTABLISHED], 1);
    p = proc(&s, 41);
    T_EQ_INT(p->tcp_ports, 1);
    /* the shared socket is one socket for the host */
    T_EQ_INT(s.tcp.states[PF_TCP_ESTABLISHED], 7);
    sockrec_vec_free(&v);
    pf_snapshot_clear(&s);
}

TEST(lists_are_capped)
{
    struct pf_snapshot s = {0};
    struct sockrec_vec v;

    set_ranges(&s, 1000, 1000);
    sockrec_vec_init(&v);
    /* 60 processes, process i holding i+1 ports towards remote 10.0.0.i:443 */
    for (uint32_t pid = 0; pid < 60; pid++)
        for (uint32_t k = 0; k <= pid; k++)
            add(&v, T, V4, PF_TCP_ESTABLISHED, 1000 + (int)(v.n % 1000), IP(10, 0, 0, pid), 443,
                100 + pid);
    T_EQ_INT(aggregate_sockets(&s, &v, NULL), PF_OK);
    T_ASSERT(s.truncated);
    T_EQ_INT(s.nprocesses, PF_LIST_MAX);
    T_EQ_INT(s.nremotes, PF_LIST_MAX);
    T_EQ_INT(s.processes[0].pid, 159);
    T_EQ_INT(s.processes[0].tcp_ports, 60);
    T_EQ_INT(s.processes[49].pid, 110);
    T_EQ_STR(s.remotes[0].addr, "10.0.0.59");
    T_EQ_INT(s.remotes[0].count, 60);
    T_EQ_INT(s.remotes[49].count, 11);
    T_EQ_INT(s.tcp.top_destination.count, 60);
    sockrec_vec_free(&v);
    pf_snapshot_clear(&s);
}

TEST(no_range_no_ephemeral)
{
    struct pf_snapshot s = {0};
    struct sockrec_vec v;

    sockrec_vec_init(&v);
    add(&v, T, V4, PF_TCP_ESTABLISHED, 1500, IP(10, 0, 0, 1), 443, 1);
    T_EQ_INT(aggregate_sockets(&s, &v, NULL), PF_OK);
    T_EQ_INT(s.tcp.ephemeral_in_use, 0);
    T_EQ_INT(s.tcp.states[PF_TCP_ESTABLISHED], 1);
    sockrec_vec_free(&v);
    pf_snapshot_clear(&s);
}

TEST(empty_host)
{
    struct pf_snapshot s = {0};
    struct sockrec_vec v;

    set_ranges(&s, 1000, 1000);
    sockrec_vec_init(&v);
    T_EQ_INT(aggregate_sockets(&s, &v, NULL), PF_OK);
    T_EQ_INT(s.tcp.ephemeral_in_use, 0);
    T_ASSERT(!s.tcp.has_top_destination);
    T_ASSERT(s.has_processes);
    T_EQ_INT(s.nprocesses, 0);
    T_EQ_INT(s.nremotes, 0);
    /* run twice on the same snapshot: old lists are replaced, not leaked */
    T_EQ_INT(aggregate_sockets(&s, &v, NULL), PF_OK);
    sockrec_vec_free(&v);
    pf_snapshot_clear(&s);
}

int main(void)
{
    RUN(host_counts_and_ports);
    RUN(processes);
    RUN(lists_are_capped);
    RUN(no_range_no_ephemeral);
    RUN(empty_host);
    return T_DONE();
}
