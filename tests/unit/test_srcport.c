/* SPDX-License-Identifier: MIT */
/* test_srcport.c: the reserve source ports (agent/srcport.h): parsing
 * --reserve-ports, and the pool over real loopback sockets - the ports are
 * held against other programs, handed out in turn, shared by the
 * connection sockets, and a four-tuple still taken is reported as an
 * address error that moves on to the next port, then to one plain
 * connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "srcport.h"
#include "test.h"

TEST(parse_spec)
{
    struct srcport_spec s;
    char err[256];

    T_EQ_INT(srcport_parse("auto", &s, err, sizeof(err)), PF_OK);
    T_ASSERT(!s.off && s.n == 0);
    T_EQ_INT(srcport_parse(NULL, &s, err, sizeof(err)), PF_OK);
    T_ASSERT(!s.off && s.n == 0);
    T_EQ_INT(srcport_parse("off", &s, err, sizeof(err)), PF_OK);
    T_ASSERT(s.off);
    T_EQ_INT(srcport_parse("40001,40002,65535", &s, err, sizeof(err)), PF_OK);
    T_EQ_INT(s.n, 3);
    T_EQ_INT(s.port[0], 40001);
    T_EQ_INT(s.port[2], 65535);
    T_EQ_INT(srcport_parse("1,2,3,4,5,6,7,8", &s, err, sizeof(err)), PF_OK);
    T_EQ_INT(srcport_parse("1,2,3,4,5,6,7,8,9", &s, err, sizeof(err)), PF_INVALID);
    T_CONTAINS(err, "at most 8");
    T_EQ_INT(srcport_parse("40001,40001", &s, err, sizeof(err)), PF_INVALID);
    T_CONTAINS(err, "listed twice");
    const char *bad[] = {"", "0", "65536", "99999999999", "1,,2", "1,", ",1", "a", "12a", "1 2", "-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (srcport_parse(bad[i], &s, err, sizeof(err)) != PF_INVALID)
            T_FAIL_("\"%s\" accepted", bad[i]);
        T_CONTAINS(err, "--reserve-ports");
    }
}

/* A listener on 127.0.0.1, its port in *port. */
static int listener(uint16_t *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&sa, &len))
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

/* connect()s fd to 127.0.0.1:port; returns 0 or errno. */
static int connect_to(int fd, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);

    return getsockname(fd, (struct sockaddr *)&sa, &len) ? 0 : ntohs(sa.sin_port);
}

TEST(pool_holds_and_hands_out_in_turn)
{
    struct srcport_spec spec = {0};
    struct srcport *p = NULL;
    uint16_t held[SRCPORT_MAX], lport = 0, got;
    int lfd = listener(&lport), fds[SRCPORT_AUTO_COUNT], other;
    size_t n;

    T_ASSERT(lfd >= 0);
    T_EQ_INT(srcport_new(&spec, &p), PF_OK);
    n = srcport_held(p, held);
    T_EQ_INT(n, SRCPORT_AUTO_COUNT);
    /* another program cannot bind a held port (no SO_REUSEADDR) */
    other = socket(AF_INET, SOCK_STREAM, 0);
    {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(held[0])};

        T_ASSERT(bind(other, (struct sockaddr *)&sa, sizeof(sa)) != 0);
        T_EQ_INT(errno, EADDRINUSE);
    }
    close(other);
    /* each new socket takes the next port, and connects from it */
    for (size_t i = 0; i < n; i++) {
        fds[i] = (int)srcport_socket(p, AF_INET, SOCK_STREAM, 0, &got);
        T_ASSERT(fds[i] >= 0);
        T_EQ_INT(got, held[i]);
        T_EQ_INT(connect_to(fds[i], lport), 0);
        T_EQ_INT(local_port(fds[i]), held[i]);
        T_ASSERT(!srcport_result(p, got, false));
    }
    /* back to the first port: its four-tuple to this listener is taken */
    {
        int fd = (int)srcport_socket(p, AF_INET, SOCK_STREAM, 0, &got);
        int e;

        T_ASSERT(fd >= 0);
        T_EQ_INT(got, held[0]);
        e = connect_to(fd, lport);
        T_ASSERT(srcport_os_addr_error(e));
        close(fd);
        T_ASSERT(srcport_result(p, got, true)); /* try another port at once */
    }
    /* every port fails in a row: one plain socket, then the ports again */
    T_ASSERT(srcport_result(p, held[1], true));
    T_ASSERT(srcport_result(p, held[2], true));
    T_EQ_INT(srcport_socket(p, AF_INET, SOCK_STREAM, 0, &got), SRCPORT_NONE);
    T_EQ_INT(got, 0);
    {
        int fd = (int)srcport_socket(p, AF_INET, SOCK_STREAM, 0, &got);

        T_ASSERT(fd >= 0 && got != 0);
        close(fd);
    }
    /* a second listener is a different four-tuple: the same port connects */
    {
        uint16_t l2port = 0;
        int l2 = listener(&l2port), fd;

        T_ASSERT(l2 >= 0);
        fd = (int)srcport_socket(p, AF_INET, SOCK_STREAM, 0, &got);
        T_ASSERT(fd >= 0);
        T_EQ_INT(connect_to(fd, l2port), 0);
        T_EQ_INT(local_port(fd), got);
        close(fd);
        close(l2);
    }
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
    srcport_free(p);
    close(lfd);
    srcport_free(NULL);
}

TEST(fixed_ports_and_off)
{
    struct srcport_spec spec;
    struct srcport *p = NULL, *q = NULL;
    uint16_t held[SRCPORT_MAX], probe[SRCPORT_MAX], lport = 0, got;
    int lfd = listener(&lport);
    char err[128];
    size_t n;

    T_ASSERT(lfd >= 0);
    /* two ports the OS has free now */
    T_EQ_INT(srcport_parse("auto", &spec, err, sizeof(err)), PF_OK);
    T_EQ_INT(srcport_new(&spec, &q), PF_OK);
    n = srcport_held(q, probe);
    T_ASSERT(n >= 2);
    srcport_free(q);
    /* the listener's port cannot be held: skipped, not fatal */
    spec.n = 3;
    spec.port[0] = probe[0];
    spec.port[1] = lport;
    spec.port[2] = probe[1];
    T_EQ_INT(srcport_new(&spec, &p), PF_OK);
    T_EQ_INT(srcport_held(p, held), 2);
    T_EQ_INT(held[0], probe[0]);
    T_EQ_INT(held[1], probe[1]);
    got = 0;
    {
        int fd = (int)srcport_socket(p, AF_INET, SOCK_STREAM, 0, &got);

        T_ASSERT(fd >= 0);
        T_EQ_INT(got, probe[0]);
        close(fd);
    }
    srcport_free(p);
    T_EQ_INT(srcport_parse("off", &spec, err, sizeof(err)), PF_OK);
    T_EQ_INT(srcport_new(&spec, &p), PF_OK);
    T_EQ_INT(srcport_held(p, held), 0);
    T_EQ_INT(srcport_socket(p, AF_INET, SOCK_STREAM, 0, &got), SRCPORT_NONE);
    T_ASSERT(!srcport_result(p, 0, true));
    srcport_free(p);
    close(lfd);
}

int main(void)
{
    RUN(parse_spec);
    RUN(pool_holds_and_hands_out_in_turn);
    RUN(fixed_ports_and_off);
    return T_DONE();
}
