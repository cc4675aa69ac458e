/* SPDX-License-Identifier: MIT */
/* test_mib.c: the IP Helper table parsers on constructed tables laid out
 * byte for byte as Windows fills them (little-endian DWORDs, ports in
 * network order in the low 16 bits with junk above), IPv4 and IPv6, every
 * MIB state, PID 0 TIME_WAIT rows, truncated buffers, and the bound table
 * overlapping the connection table; then through aggregate_sockets to the
 * snapshot counts. */
#include <stdlib.h>

#include "aggregate.h"
#include "compat.h"
#include "mib.h"
#include "snapshot.h"
#include "test.h"

struct tb {
    uint8_t b[16384];
    size_t len;
    uint32_t n;
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Port as Windows stores it: network order in the low word; the high word
 * is documented as possibly uninitialised, so put junk there. */
static void put_port(uint8_t *p, uint16_t port)
{
    p[0] = (uint8_t)(port >> 8);
    p[1] = (uint8_t)port;
    p[2] = 0xab;
    p[3] = 0xcd;
}

static void tb_init(struct tb *t)
{
    memset(t, 0, sizeof(*t));
    t->len = MIB_ROWS_OFFSET;
}

static uint8_t *tb_row(struct tb *t, size_t size)
{
    uint8_t *r = t->b + t->len;
    memset(r, 0, size);
    t->len += size;
    put32(t->b, ++t->n);
    return r;
}

static const uint8_t lo4[4] = {127, 0, 0, 1};
static const uint8_t peer4[4] = {10, 0, 0, 5};
static const uint8_t lo6[16] = {[15] = 1};
static const uint8_t peer6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 5};

/* MIB_TCPROW_OWNER_PID, or MIB_TCPROW2 when row2 (offload state after). */
static void tcp4(struct tb *t, bool row2, uint32_t state, uint16_t lport, const uint8_t *raddr,
                 uint16_t rport, uint32_t pid)
{
    uint8_t *r = tb_row(t, row2 ? MIB_TCP4_ROW2_SIZE : MIB_TCP4_ROW_SIZE);
    put32(r, state);
    memcpy(r + 4, lo4, 4);
    put_port(r + 8, lport);
    if (raddr)
        memcpy(r + 12, raddr, 4);
    put_port(r + 16, rport);
    put32(r + 20, pid);
    if (row2)
        put32(r + 24, 1); /* TcpConnectionOffloadStateInHost */
}

/* MIB_TCP6ROW_OWNER_PID, or MIB_TCP6ROW2. */
static void tcp6(struct tb *t, bool row2, uint32_t state, uint16_t lport, const uint8_t *raddr,
                 uint16_t rport, uint32_t pid)
{
    uint8_t *r = tb_row(t, row2 ? MIB_TCP6_ROW2_SIZE : MIB_TCP6_ROW_SIZE);
    memcpy(r, lo6, 16);
    put32(r + 16, 7); /* local scope id */
    put_port(r + 20, lport);
    if (raddr)
        memcpy(r + 24, raddr, 16);
    put32(r + 40, 9); /* remote scope id */
    put_port(r + 44, rport);
    put32(r + 48, state);
    put32(r + 52, pid);
    if (row2)
        put32(r + 56, 1);
}

static void udp4(struct tb *t, uint16_t lport, uint32_t pid)
{
    uint8_t *r = tb_row(t, MIB_UDP4_ROW_SIZE);
    memcpy(r, lo4, 4);
    put_port(r + 4, lport);
    put32(r + 8, pid);
}

static void udp6(struct tb *t, uint16_t lport, uint32_t pid)
{
    uint8_t *r = tb_row(t, MIB_UDP6_ROW_SIZE);
    memcpy(r, lo6, 16);
    put32(r + 16, 0);
    put_port(r + 20, lport);
    put32(r + 24, pid);
}

/* Owner PID of record i, 0 when it has none, -1 when it has several. */
static long long owner_of(const struct sockrec_vec *v, size_t i)
{
    long long pid = 0;
    for (size_t k = 0; k < v->nown; k++) {
        if (v->own[k].rec != i)
            continue;
        if (pid)
            return -1;
        pid = v->own[k].pid;
    }
    return pid;
}

static struct tb t1, t2, t3;

TEST(row_sizes)
{
    T_EQ_INT(mib_row_size(MIB_KIND_TCP4), 24);
    T_EQ_INT(mib_row_size(MIB_KIND_TCP6), 56);
    T_EQ_INT(mib_row_size(MIB_KIND_UDP4), 12);
    T_EQ_INT(mib_row_size(MIB_KIND_UDP6), 28);
    T_EQ_INT(mib_row_size(MIB_KIND_TCP4_BOUND), 28);
    T_EQ_INT(mib_row_size(MIB_KIND_TCP6_BOUND), 60);
    T_EQ_INT(mib_row_size((enum mib_kind)42), 0);
}

/* Every MIB_TCP_STATE value 1..12 in IPv4, the expected model state. */
TEST(tcp4_every_state)
{
    static const int want[13] = {
        0, PF_TCP_BOUND, PF_TCP_LISTEN, PF_TCP_SYN_SENT, PF_TCP_SYN_RECEIVED,
        PF_TCP_ESTABLISHED, PF_TCP_FIN_WAIT_1, PF_TCP_FIN_WAIT_2, PF_TCP_CLOSE_WAIT,
        PF_TCP_CLOSING, PF_TCP_LAST_ACK, PF_TCP_TIME_WAIT, PF_TCP_UNKNOWN,
    };
    struct sockrec_vec v;

    tb_init(&t1);
    for (uint32_t st = 1; st <= 12; st++)
        tcp4(&t1, false, st, (uint16_t)(50000 + st), st == 2 ? NULL : peer4,
             (uint16_t)(443 + st), 1000 + st);
    sockrec_vec_init(&v);
    T_EQ_INT(mib_parse(MIB_KIND_TCP4, t1.b, t1.len, &v), PF_OK);
    T_EQ_INT(v.n, 12);
    T_EQ_INT(v.nown, 12);
    for (size_t i = 0; i < v.n; i++) {
        const struct sockrec *r = &v.v[i];
        T_EQ_INT(r->proto, PF_PROTO_TCP);
        T_EQ_INT(r->family, PF_FAMILY_IPV4);
        T_EQ_INT(r->state, want[i + 1]);
        T_EQ_INT(r->lport, 50001 + i);
        T_EQ_INT(owner_of(&v, i), 1001 + i);
        if (pf_tcp_state_has_remote(r->state)) {
            T_EQ_INT(r->rport, 444 + i);
            T_ASSERT(memcmp(r->raddr, peer4, 4) == 0);
        } else {
            T_EQ_INT(r->rport, 0);
        }
    }
    sockrec_vec_free(&v);
}

TEST(tcp6_rows)
{
    struct sockrec_vec v;

    tb_init(&t1);
    tcp6(&t1, false, 2, 8443, NULL, 0, 600);          /* LISTEN */
    tcp6(&t1, false, 5, 50123, peer6, 443, 600);      /* ESTABLISHED */
    tcp6(&t1, false, 11, 50124, peer6, 443, 0);       /* TIME_WAIT, no owner */
    tcp6(&t1, false, 3, 50125, peer6, 8080, 601);     /* SYN_SENT */
    sockrec_vec_init(&v);
    T_EQ_INT(mib_parse(MIB_KIND_TCP6, t1.b, t1.len, &v), PF_OK);
    T_EQ_INT(v.n, 4);
    T_EQ_INT(v.v[0].family, PF_FAMILY_IPV6);
    T_EQ_INT(v.v[0].state, PF_TCP_LISTEN);
    T_EQ_INT(v.v[0].lport, 8443);
    T_EQ_INT(v.v[1].state, PF_TCP_ESTABLISHED);
    T_EQ_INT(v.v[1].rport, 443);
    T_ASSERT(memcmp(v.v[1].raddr, peer6, 16) == 0);
    T_EQ_INT(v.v[2].state, PF_TCP_TIME_WAIT);
    T_EQ_INT(owner_of(&v, 2), 0);
    T_EQ_INT(v.v[3].state, PF_TCP_SYN_SENT);
    T_EQ_INT(v.v[3].rport, 8080);
    T_EQ_INT(v.nown, 3);
    sockrec_vec_free(&v);
}

/* TIME_WAIT rows come with PID 0: no owner entry, but a record. */
TEST(time_wait_pid0_has_no_owner)
{
    struct sockrec_vec v;

    tb_init(&t1);
    for (int i = 0; i < 100; i++)
        tcp4(&t1, false, 11, (uint16_t)(49152 + i), peer4, 80, 0);
    tcp4(&t1, false, 5, 60000, peer4, 80, 4242);
    sockrec_vec_init(&v);
    T_EQ_INT(mib_parse(MIB_KIND_TCP4, t1.b, t1.len, &v), PF_OK);
    T_EQ_INT(v.n, 101);
    T_EQ_INT(v.nown, 1);
    T_EQ_INT(v.own[0].rec, 100);
    T_EQ_INT(v.own[0].pid, 4242);
    sockrec_vec_free(&v);
}

TEST(udp_rows)
{
    struct sockrec_vec v;

    tb_init(&t1);
    udp4(&t1, 53, 1500);
    udp4(&t1, 55000, 0);
    udp4(&t1, 0, 1501); /* no port: skipped */
    tb_init(&t2);
    udp6(&t2, 5353, 1600);
    sockrec_vec_init(&v);
    T_EQ_INT(mib_parse(MIB_KIND_UDP4, t1.b, t1.len, &v), PF_OK);
    T_EQ_INT(mib_parse(MIB_KIND_UDP6, t2.b, t2.len, &v), PF_OK);
    T_EQ_INT(v.n, 3);
    T_EQ_INT(v.v[0].proto, PF_PROTO_UDP);
    T_EQ_INT(v.v[0].state, 0);
    T_EQ_INT(v.v[0].lport, 53);
    T_EQ_INT(owner_of(&v, 0), 1500);
    T_EQ_INT(owner_of(&v, 1), 0);
    T_EQ_INT(v.v[2].family, PF_FAMILY_IPV6);
    T_EQ_INT(v.v[2].lport, 5353);
    T_EQ_INT(owner_of(&v, 2), 1600);
    sockrec_vec_free(&v);
}

TEST(empty_and_truncated)
{
    struct sockrec_vec v;
    uint8_t zero[4] = {0};
    uint8_t huge[8];

    sockrec_vec_init(&v);
    T_EQ_INT(mib_parse(MIB_KIND_TCP4, zero, sizeof(zero), &v), PF_OK);
    T_EQ_INT(v.n, 0);
    T_EQ_INT(mib_parse(MIB_KIND_TCP4, zero, 3, &v), PF_INVALID);
    T_EQ_INT(mib_parse(MIB_KIND_TCP4, NULL, 0, &v), PF_INVALID);
    put32(huge, 0xffffffffu); /* count * row size overflows 32 bits */
    T_EQ_INT(mib_parse(MIB_KIND_TCP6, huge, sizeof(huge), &v), PF_INVALID);

    tb_init(&t1);
    tcp4(&t1, false, 5, 50000, peer4, 443, 7);
    tcp4(&t1, false, 5, 50001, peer4, 443, 7);
    T_EQ_INT(mib_parse(MIB_KIND_TCP4, t1.b, t1.len - 1, &v), PF_INVALID);
    T_EQ_INT(v.n, 0);
    T_EQ_INT(v.nown, 0);
    /* A bound table is not a connection table. */
    T_EQ_INT(mib_parse(MIB_KIND_TCP4_BOUND, t1.b, t1.len, &v), PF_INVALID);
    sockrec_vec_free(&v);
}

/* The connection tables of the bound tests: PID 100 has an established
 * socket on 50000 (IPv4) and listens on 50001 (IPv6); a PID 0 TIME_WAIT
 * socket holds 50002; PID 300 a CLOSED row on 50020. */
static void connections(struct sockrec_vec *v)
{
    tb_init(&t1);
    tcp4(&t1, false, 5, 50000, peer4, 443, 100);
    tcp4(&t1, false, 11, 50002, peer4, 443, 0);
    tcp4(&t1, false, 1, 50020, NULL, 0, 300);
    tb_init(&t2);
    tcp6(&t2, false, 2, 50001, NULL, 0, 100);
    T_ASSERT(mib_parse(MIB_KIND_TCP4, t1.b, t1.len, v) == PF_OK);
    T_ASSERT(mib_parse(MIB_KIND_TCP6, t2.b, t2.len, v) == PF_OK);
}

TEST(bound_deduplicated_against_connections)
{
    struct sockrec_vec v;
    size_t dropped = 99;

    sockrec_vec_init(&v);
    connections(&v);
    T_EQ_INT(v.n, 4);
    /* Bound IPv4 (MIB_TCPROW2; bound rows report state 100, "Bound"). */
    tb_init(&t1);
    tcp4(&t1, true, 100, 50000, NULL, 0, 100); /* PID 100 connected it: drop */
    tcp4(&t1, true, 100, 50000, NULL, 0, 200); /* other PID, same port: keep */
    tcp4(&t1, true, 100, 50001, NULL, 0, 100); /* listens in IPv6: drop */
    tcp4(&t1, true, 100, 50002, NULL, 0, 300); /* port of a PID 0 TIME_WAIT: keep */
    tcp4(&t1, true, 5, 50003, peer4, 443, 100); /* row says ESTABLISHED: drop */
    tcp4(&t1, true, 2, 50004, NULL, 0, 100);    /* row says LISTEN: drop */
    tcp4(&t1, true, 100, 50010, NULL, 0, 100);  /* really bound: keep */
    tcp4(&t1, true, 1, 50011, NULL, 0, 100);    /* CLOSED: bound, keep */
    tcp4(&t1, true, 100, 50012, NULL, 0, 0);    /* no owner: keep, no owner */
    tcp4(&t1, true, 100, 50020, NULL, 0, 300);  /* the CLOSED row again: drop */
    /* Bound IPv6 (MIB_TCP6ROW2). */
    tb_init(&t2);
    tcp6(&t2, true, 100, 50000, NULL, 0, 100); /* connected in IPv4: drop */
    tcp6(&t2, true, 100, 50010, NULL, 0, 100); /* same port as the IPv4 bound one: keep */
    tcp6(&t2, true, 100, 50030, NULL, 0, 400); /* keep */
    T_EQ_INT(mib_parse_bound(t1.b, t1.len, t2.b, t2.len, &v, &dropped), PF_OK);
    T_EQ_INT(dropped, 6);
    T_EQ_INT(v.n, 4 + 7);

    {
        static const struct {
            uint16_t port;
            uint8_t family;
            long long pid;
        } want[] = {
            {50000, PF_FAMILY_IPV4, 200}, {50002, PF_FAMILY_IPV4, 300},
            {50010, PF_FAMILY_IPV4, 100}, {50011, PF_FAMILY_IPV4, 100},
            {50012, PF_FAMILY_IPV4, 0},   {50010, PF_FAMILY_IPV6, 100},
            {50030, PF_FAMILY_IPV6, 400},
        };
        for (size_t i = 0; i < PF_ARRAY_LEN(want); i++) {
            const struct sockrec *r = &v.v[4 + i];
            T_EQ_INT(r->proto, PF_PROTO_TCP);
            T_EQ_INT(r->state, PF_TCP_BOUND);
            T_EQ_INT(r->lport, want[i].port);
            T_EQ_INT(r->family, want[i].family);
            T_EQ_INT(r->rport, 0);
            T_EQ_INT(owner_of(&v, 4 + i), want[i].pid);
        }
    }
    sockrec_vec_free(&v);
}

TEST(bound_missing_or_truncated)
{
    struct sockrec_vec v;
    size_t dropped = 5;

    sockrec_vec_init(&v);
    connections(&v);
    /* No bound tables at all (Wine, older Windows). */
    T_EQ_INT(mib_parse_bound(NULL, 0, NULL, 0, &v, &dropped), PF_OK);
    T_EQ_INT(dropped, 0);
    T_EQ_INT(v.n, 4);
    /* Only the IPv4 one. */
    tb_init(&t1);
    tcp4(&t1, true, 100, 51000, NULL, 0, 100);
    T_EQ_INT(mib_parse_bound(t1.b, t1.len, NULL, 0, &v, NULL), PF_OK);
    T_EQ_INT(v.n, 5);
    /* A good IPv4 table and a truncated IPv6 one: nothing is added. */
    tb_init(&t2);
    tcp6(&t2, true, 100, 51001, NULL, 0, 100);
    tcp6(&t2, true, 100, 51002, NULL, 0, 100);
    T_EQ_INT(mib_parse_bound(t1.b, t1.len, t2.b, t2.len - 4, &v, NULL), PF_INVALID);
    T_EQ_INT(v.n, 5);
    T_EQ_INT(v.nown, 4);
    sockrec_vec_free(&v);
}

/* The whole path on one constructed host: tables -> records -> counts. */
TEST(tables_to_snapshot_counts)
{
    struct sockrec_vec v;
    struct pf_snapshot s;

    memset(&s, 0, sizeof(s));
    s.nranges = 4;
    for (int i = 0; i < 4; i++) {
        s.ranges[i].proto = (uint8_t)(i / 2);
        s.ranges[i].family = (uint8_t)(i % 2);
        s.ranges[i].start = 49152;
        s.ranges[i].count = 16384;
    }
    sockrec_vec_init(&v);
    tb_init(&t1);
    tcp4(&t1, false, 2, 443, NULL, 0, 4);           /* LISTEN outside the range */
    for (int i = 0; i < 20; i++)                     /* PID 4242: 20 established */
        tcp4(&t1, false, 5, (uint16_t)(50000 + i), peer4, 443, 4242);
    for (int i = 0; i < 30; i++)                     /* 30 TIME_WAIT, no owner */
        tcp4(&t1, false, 11, (uint16_t)(51000 + i), peer4, 443, 0);
    tb_init(&t2);
    tcp6(&t2, false, 5, 52000, peer6, 443, 4242);
    tb_init(&t3);
    for (int i = 0; i < 10; i++)                     /* PID 4242 leaks 10 bound ports */
        tcp4(&t3, true, 100, (uint16_t)(53000 + i), NULL, 0, 4242);
    tcp4(&t3, true, 100, 50000, NULL, 0, 4242);      /* ...and one is the connected 50000 */
    T_EQ_INT(mib_parse(MIB_KIND_TCP4, t1.b, t1.len, &v), PF_OK);
    T_EQ_INT(mib_parse(MIB_KIND_TCP6, t2.b, t2.len, &v), PF_OK);
    T_EQ_INT(mib_parse_bound(t3.b, t3.len, NULL, 0, &v, NULL), PF_OK);
    tb_init(&t1);
    udp4(&t1, 55555, 4242);
    udp4(&t1, 53, 900);
    T_EQ_INT(mib_parse(MIB_KIND_UDP4, t1.b, t1.len, &v), PF_OK);

    T_EQ_INT(aggregate_sockets(&s, &v, NULL), PF_OK);
    T_EQ_INT(s.tcp.states[PF_TCP_LISTEN], 1);
    T_EQ_INT(s.tcp.states[PF_TCP_ESTABLISHED], 21);
    T_EQ_INT(s.tcp.states[PF_TCP_TIME_WAIT], 30);
    T_EQ_INT(s.tcp.states[PF_TCP_BOUND], 10);
    T_EQ_INT(s.tcp.ephemeral_in_use, 20 + 30 + 1 + 10);
    T_EQ_INT(s.udp.endpoints, 2);
    T_EQ_INT(s.udp.ephemeral_in_use, 1);
    T_ASSERT(s.has_processes);
    T_ASSERT(s.nprocesses >= 1);
    T_EQ_INT(s.processes[0].pid, 4242);
    T_EQ_INT(s.processes[0].tcp_ports, 20 + 1 + 10);
    T_EQ_INT(s.processes[0].udp_ports, 1);
    T_EQ_INT(s.processes[0].states[PF_TCP_BOUND], 10);
    T_EQ_INT(s.processes[0].states[PF_TCP_ESTABLISHED], 21);
    T_ASSERT(s.tcp.has_top_destination);
    T_EQ_STR(s.tcp.top_destination.addr, "10.0.0.5");
    T_EQ_INT(s.tcp.top_destination.port, 443);
    T_EQ_INT(s.tcp.top_destination.count, 50);
    pf_snapshot_clear(&s);
    sockrec_vec_free(&v);
}

int main(void)
{
    RUN(row_sizes);
    RUN(tcp4_every_state);
    RUN(tcp6_rows);
    RUN(time_wait_pid0_has_no_owner);
    RUN(udp_rows);
    RUN(empty_and_truncated);
    RUN(bound_deduplicated_against_connections);
    RUN(bound_missing_or_truncated);
    RUN(tables_to_snapshot_counts);
    return T_DONE();
}
