/* SPDX-License-Identifier: MIT */
/* srcport_linux.c: the OS half of srcport.h with POSIX sockets. SO_REUSEADDR
 * lets the placeholder and the connection socket share the reserve port
 * (Linux allows it while neither listens); SO_REUSEPORT is not used, as it
 * would let another user's process with the same option share the port.
 * IP_BIND_ADDRESS_NO_PORT does not apply: the port is chosen here, not at
 * connect(). */
#include "srcport.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

intptr_t srcport_os_open(int family, int socktype, int protocol, uint16_t port, uint16_t *bound,
                         long *os_error)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1, fd;

    *bound = 0;
    *os_error = 0;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

        sa->sin_family = AF_INET;
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        sa->sin_port = htons(port);
        len = sizeof(*sa);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

        sa->sin6_family = AF_INET6;
        sa->sin6_addr = in6addr_any;
        sa->sin6_port = htons(port);
        len = sizeof(*sa);
    } else {
        *os_error = EAFNOSUPPORT;
        return SRCPORT_NONE;
    }
    fd = socket(family, (socktype ? socktype : SOCK_STREAM) | SOCK_CLOEXEC, protocol);
    if (fd < 0) {
        *os_error = errno;
        return SRCPORT_NONE;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
        *os_error = errno;
        close(fd);
        return SRCPORT_NONE;
    }
    *bound = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                     : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

void srcport_os_close(intptr_t s)
{
    if (s >= 0)
        close((int)s);
}

bool srcport_os_addr_error(long os_error)
{
    return os_error == EADDRNOTAVAIL || os_error == EADDRINUSE;
}

int srcport_os_af_inet(void)
{
    return AF_INET;
}

int srcport_os_af_inet6(void)
{
    return AF_INET6;
}
