/* SPDX-License-Identifier: MIT */
/* sessions.c: cloudflared's sessions (see sessions.h), and the plain
 * HTTP/1.0 GET over loopback that reads them: a few socket calls that
 * POSIX and Winsock share, with the differences in the shims below. */
#include "sessions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#ifndef _WIN32
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#else
#include <ws2tcpip.h>
#endif

#include "cfmetrics.h"
#include "log.h"

static bool is_cloudflared(const char *name)
{
    return strcmp(name, "cloudflared") == 0 || strcmp(name, "cloudflared.exe") == 0;
}

/* Fetches and parses one endpoint; true when it gave the gauges. */
static bool try_endpoint(struct pf_snapshot *s, const char *host, uint16_t port)
{
    char *body = NULL;
    size_t len = 0;
    bool ok = false;

    if (sessions_fetch(host, port, SESSIONS_TIMEOUT_MS, &body, &len) == PF_OK)
        ok = cfmetrics_parse(body, len, &s->sessions) == PF_OK;
    free(body);
    if (ok)
        pf_debug("cloudflared metrics at %s port %u", host, (unsigned)port);
    return ok;
}

void sessions_collect(struct pf_snapshot *s, const char *metrics_addr)
{
    bool role = false;
    uint32_t pids[8];
    size_t npids = 0;
    char addr[128], host[CFMETRICS_HOST_LEN];
    uint16_t port;

    for (size_t i = 0; i < s->host.nroles; i++)
        role |= strcmp(s->host.roles[i], "cloudflared") == 0;
    if (!role && !(metrics_addr && *metrics_addr))
        return;
    for (size_t i = 0; i < s->nprocesses && npids < 8; i++)
        if (is_cloudflared(s->processes[i].name))
            pids[npids++] = s->processes[i].pid;
    if (metrics_addr && *metrics_addr) {
        snprintf(addr, sizeof(addr), "%s", metrics_addr);
    } else if (!sessions_os_metrics_addr(pids, npids, addr, sizeof(addr))) {
        addr[0] = '\0';
    }
    if (addr[0]) {
        if (!cfmetrics_loopback(addr, host, &port))
            pf_warn("cloudflared metrics address %s is not a loopback address with a port: "
                    "sessions not measured",
                    addr);
        else if (try_endpoint(s, host, port))
            goto done;
    } else {
        for (port = CFMETRICS_DEFAULT_PORT_FIRST; port <= CFMETRICS_DEFAULT_PORT_LAST; port++)
            if (try_endpoint(s, "127.0.0.1", port))
                goto done;
    }
    memset(&s->sessions, 0, sizeof(s->sessions));
    pf_snapshot_add_unmeasured(s, "sessions");
    return;
done:
    s->has_sessions = true;
}

/* ---- the fetch ---- */

#ifdef _WIN32
typedef SOCKET sock_t;
#define BAD_SOCK INVALID_SOCKET
#define sock_close closesocket
#define poll_fn WSAPoll
static void sock_init(void)
{
    static bool done;
    WSADATA wsa;
    if (!done && WSAStartup(MAKEWORD(2, 2), &wsa) == 0)
        done = true;
}
static bool in_progress(void)
{
    return WSAGetLastError() == WSAEWOULDBLOCK;
}
static void nonblock(sock_t s)
{
    u_long on = 1;
    ioctlsocket(s, FIONBIO, &on);
}
#else
typedef int sock_t;
#define BAD_SOCK (-1)
#define sock_close close
#define poll_fn poll
static void sock_init(void)
{
}
static bool in_progress(void)
{
    return errno == EINPROGRESS;
}
static void nonblock(sock_t s)
{
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
}
#endif

static bool wait_for(sock_t s, short ev, unsigned timeout_ms)
{
    struct pollfd p;

    p.fd = s;
    p.events = ev;
    p.revents = 0;
    return poll_fn(&p, 1, (int)timeout_ms) == 1 && (p.revents & (ev | POLLHUP));
}

enum pf_rc sessions_fetch(const char *host, uint16_t port, unsigned timeout_ms, char **body,
                           size_t *len)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    sock_t s;
    char req[128], *buf = NULL, *p;
    size_t used = 0, cap = 65536;
    int n, err = 0;
    socklen_t el = sizeof(err);
    enum pf_rc rc = PF_IO;

    *body = NULL;
    *len = 0;
    sock_init();
    memset(&ss, 0, sizeof(ss));
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return PF_INVALID;
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return PF_INVALID;
        sl = sizeof(*a);
    }
    s = socket(ss.ss_family, SOCK_STREAM, 0);
    if (s == BAD_SOCK)
        return PF_IO;
    nonblock(s);
    if (connect(s, (struct sockaddr *)&ss, sl) != 0 &&
        (!in_progress() || !wait_for(s, POLLOUT, timeout_ms) ||
         getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &el) != 0 || err != 0))
        goto out;
    n = snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: %s%s%s:%u\r\n\r\n",
                 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
                 (unsigned)port);
    if (n <= 0 || send(s, req, n, 0) != n)
        goto out;
    if (!(buf = malloc(cap + 1)))
        goto out;
    for (;;) {
        if (used == cap) {
            if (cap >= CFMETRICS_BODY_MAX + 4096) {
                rc = PF_TOOBIG;
                goto out;
            }
            cap *= 2;
            if (!(p = realloc(buf, cap + 1)))
                goto out;
            buf = p;
        }
        if (!wait_for(s, POLLIN, timeout_ms))
            goto out;
        n = (int)recv(s, buf + used, (int)(cap - used), 0);
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    /* "HTTP/1.x 200", then the body after the blank line. */
    if (used < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 200", 4) != 0 ||
        !(p = strstr(buf, "\r\n\r\n")))
        goto out;
    p += 4;
    *len = used - (size_t)(p - buf);
    if (*len > CFMETRICS_BODY_MAX) {
        rc = PF_TOOBIG;
        goto out;
    }
    memmove(buf, p, *len + 1);
    *body = buf;
    buf = NULL;
    rc = PF_OK;
out:
    free(buf);
    sock_close(s);
    if (rc)
        *len = 0;
    return rc;
}
