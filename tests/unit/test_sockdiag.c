/* SPDX-License-Identifier: MIT */
/* test_sockdiag.c: the sock_diag parser on replies recorded from a real
 * kernel (tests/tools/record_sockdiag.py says what the sockets were). */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "snapshot.h"
#include "sockdiag.h"
#include "test.h"

static int count_state(const struct sockrec_vec *v, int state)
{
    int n = 0;
    for (size_t i = 0; i < v->n; i++)
        n += v->v[i].state == state;
    return n;
}

static const struct sockrec *find_lport(const struct sockrec_vec *v, uint16_t port, int state)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->v[i].lport == port && v->v[i].state == state)
            return &v->v[i];
    return NULL;
}

TEST(tcp4_recorded)
{
    size_t len;
    char *buf = t_read_data("sockdiag_tcp4.bin", &len);
    struct sockrec_vec v;
    int done = 0, kerr = 0;
    const struct sockrec *r;
    static const uint8_t lo4[4] = {127, 0, 0, 1};

    T_ASSERT(buf != NULL);
    sockrec_vec_init(&v);
    T_EQ_INT(sockdiag_parse(buf, len, PF_PROTO_TCP, &v, &done, &kerr), PF_OK);
    free(buf);
    T_EQ_INT(done, 1);
    T_EQ_INT(v.n, 7);
    T_EQ_INT(count_state(&v, PF_TCP_LISTEN), 1);
    T_EQ_INT(count_state(&v, PF_TCP_ESTABLISHED), 4);
    T_EQ_INT(count_state(&v, PF_TCP_BOUND), 1);
    T_EQ_INT(count_state(&v, PF_TCP_TIME_WAIT), 1);
    r = find_lport(&v, 7100, PF_TCP_BOUND);
    T_ASSERT(r != NULL);
    T_EQ_INT(r->rport, 0);
    T_ASSERT(r->inode != 0);
    r = find_lport(&v, 7000, PF_TCP_LISTEN);
    T_ASSERT(r != NULL);
    T_EQ_INT(r->family, PF_FAMILY_IPV4);
    for (size_t i = 0; i < v.n; i++) {
        T_EQ_INT(v.v[i].proto, PF_PROTO_TCP);
        if (v.v[i].state == PF_TCP_TIME_WAIT) {
            T_EQ_INT(v.v[i].inode, 0); /* no owner: counts in host totals only */
            T_EQ_INT(v.v[i].rport, 7000);
            T_ASSERT(memcmp(v.v[i].raddr, lo4, 4) == 0);
        }
        if (v.v[i].state == PF_TCP_ESTABLISHED && v.v[i].lport != 7000)
            T_EQ_INT(v.v[i].rport, 7000);
    }
    sockrec_vec_free(&v);
}

TEST(tcp6_recorded)
{
    size_t len;
    char *buf = t_read_data("sockdiag_tcp6.bin", &len);
    struct sockrec_vec v;
    int done = 0;
    uint8_t lo6[16] = {0};

    lo6[15] = 1;
    T_ASSERT(buf != NULL);
    sockrec_vec_init(&v);
    T_EQ_INT(sockdiag_parse(buf, len, PF_PROTO_TCP, &v, &done, NULL), PF_OK);
    free(buf);
    T_EQ_INT(done, 1);
    T_EQ_INT(v.n, 3);
    T_EQ_INT(count_state(&v, PF_TCP_LISTEN), 1);
    T_EQ_INT(count_state(&v, PF_TCP_ESTABLISHED), 2);
    for (size_t i = 0; i < v.n; i++) {
        T_EQ_INT(v.v[i].family, PF_FAMILY_IPV6);
        if (v.v[i].state == PF_TCP_ESTABLISHED)
            T_ASSERT(memcmp(v.v[i].raddr, lo6, 16) == 0);
    }
    sockrec_vec_free(&v);
}

TEST(udp4_recorded)
{
    size_t len;
    char *buf = t_read_data("sockdiag_udp4.bin", &len);
    struct sockrec_vec v;
    int done = 0, connected = 0;

    T_ASSERT(buf != NULL);
    sockrec_vec_init(&v);
    T_EQ_INT(sockdiag_parse(buf, len, PF_PROTO_UDP, &v, &done, NULL), PF_OK);
    free(buf);
    T_EQ_INT(v.n, 2);
    for (size_t i = 0; i < v.n; i++) {
        T_EQ_INT(v.v[i].proto, PF_PROTO_UDP);
        T_EQ_INT(v.v[i].state, 0);
        connected += v.v[i].rport == 7201;
    }
    T_EQ_INT(connected, 1);
    T_ASSERT(find_lport(&v, 7200, 0) != NULL);
    sockrec_vec_free(&v);
}

TEST(error_in_done_payload)
{
    size_t len;
    char *buf = t_read_data("sockdiag_error.bin", &len);
    struct sockrec_vec v;
    int done = 0, kerr = 0;

    T_ASSERT(buf != NULL);
    sockrec_vec_init(&v);
    T_EQ_INT(sockdiag_parse(buf, len, PF_PROTO_TCP, &v, &done, &kerr), PF_PROTO);
    free(buf);
    T_EQ_INT(kerr, 2); /* ENOENT: no such protocol */
    T_EQ_INT(v.n, 0);
    sockrec_vec_free(&v);
}

TEST(nlmsg_error)
{
    unsigned char buf[NLMSG_LENGTH(sizeof(struct nlmsgerr))];
    struct nlmsghdr h = {.nlmsg_len = sizeof(buf), .nlmsg_type = NLMSG_ERROR};
    struct nlmsgerr e = {.error = -13};
    struct sockrec_vec v;
    int done = 0, kerr = 0;

    memcpy(buf, &h, sizeof(h));
    memcpy(buf + NLMSG_HDRLEN, &e, sizeof(e));
    sockrec_vec_init(&v);
    T_EQ_INT(sockdiag_parse(buf, sizeof(buf), PF_PROTO_TCP, &v, &done, &kerr), PF_PROTO);
    T_EQ_INT(kerr, 13);
    sockrec_vec_free(&v);
}

TEST(truncated_and_garbage)
{
    size_t len;
    char *buf = t_read_data("sockdiag_tcp4.bin", &len);
    struct sockrec_vec v;
    int done = 0;
    uint32_t bad = 8; /* nlmsg_len shorter than a header */

    T_ASSERT(buf != NULL && len > 100);
    sockrec_vec_init(&v);
    /* a message cut in the middle */
    T_EQ_INT(sockdiag_parse(buf, 100, PF_PROTO_TCP, &v, &done, NULL), PF_PROTO);
    T_EQ_INT(done, 0);
    /* a header claiming an impossible length */
    memcpy(buf, &bad, sizeof(bad));
    T_EQ_INT(sockdiag_parse(buf, len, PF_PROTO_TCP, &v, &done, NULL), PF_PROTO);
    /* trailing bytes too short for a header */
    T_EQ_INT(sockdiag_parse("\x01\x02\x03", 3, PF_PROTO_TCP, &v, &done, NULL), PF_PROTO);
    /* an empty buffer is fine: nothing in it */
    T_EQ_INT(sockdiag_parse(buf, 0, PF_PROTO_TCP, &v, &done, NULL), PF_OK);
    free(buf);
    sockrec_vec_free(&v);
}

TEST(request_layout)
{
    unsigned char buf[128];
    struct nlmsghdr h;
    struct inet_diag_req_v2 req;
    size_t n = sockdiag_request(buf, sizeof(buf), AF_INET6, IPPROTO_UDP, SOCKDIAG_ALL_STATES, 7);

    T_EQ_INT(n, sizeof(h) + sizeof(req));
    memcpy(&h, buf, sizeof(h));
    memcpy(&req, buf + sizeof(h), sizeof(req));
    T_EQ_INT(h.nlmsg_len, n);
    T_EQ_INT(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    T_EQ_INT(h.nlmsg_seq, 7);
    T_EQ_INT(req.sdiag_family, AF_INET6);
    T_EQ_INT(req.sdiag_protocol, IPPROTO_UDP);
    T_ASSERT((req.idiag_states & (1u << 13)) != 0); /* bound-inactive */
    T_EQ_INT(sockdiag_request(buf, 10, AF_INET, IPPROTO_TCP, 0, 1), 0);
}

int main(void)
{
    RUN(tcp4_recorded);
    RUN(tcp6_recorded);
    RUN(udp4_recorded);
    RUN(error_in_done_payload);
    RUN(nlmsg_error);
    RUN(truncated_and_garbage);
    RUN(request_layout);
    return T_DONE();
}
