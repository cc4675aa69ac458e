/* SPDX-License-Identifier: MIT */
/* listen.c: the server's sockets set up (listen.h). */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

#define FD_RESERVE 64 /* descriptors kept for the database, logs, files */

enum pf_rc listen_tcp(const char *spec, int *out, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    struct addrinfo hints = {0}, *ai = NULL;
    int fd, one = 1, g;
    size_t hl;

    *out = -1;
    if (!colon || colon == spec || !colon[1]) {
        snprintf(err, errlen, "option --listen: expected ADDR:PORT, not \"%s\"", spec);
        return PF_INVALID;
    }
    hl = (size_t)(colon - spec);
    if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
        spec++;
        hl -= 2;
    }
    if (hl >= sizeof(host)) {
        snprintf(err, errlen, "option --listen: address too long");
        return PF_INVALID;
    }
    memcpy(host, spec, hl);
    host[hl] = '\0';
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if ((g = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai)) != 0) {
        snprintf(err, errlen, "option --listen: %s: %s", spec, gai_strerror(g));
        return PF_INVALID;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        snprintf(err, errlen, "option --listen: cannot listen on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return PF_IO;
    }
    freeaddrinfo(ai);
    *out = fd;
    return PF_OK;
}

size_t listen_raise_nofile(size_t want_conns)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)want_conns + FD_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want_conns;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = need <= rl.rlim_max ? need : rl.rlim_max;
        if (rl.rlim_cur < need && setrlimit(RLIMIT_NOFILE, &(struct rlimit){need, need}) == 0)
            rl.rlim_cur = need; /* root may raise the hard limit too */
        else
            setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < need) {
        size_t can = rl.rlim_cur > FD_RESERVE ? (size_t)(rl.rlim_cur - FD_RESERVE) : 1;
        pf_warn("the open-file limit is %llu: serving at most %zu connections, not %zu",
                (unsigned long long)rl.rlim_cur, can, want_conns);
        return can;
    }
    return want_conns;
}

void listen_peer_text(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;

    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(out, outlen, "%s:%u", host, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(out, outlen, "[%s]:%u", host, port);
    } else {
        snprintf(out, outlen, "?");
    }
}
