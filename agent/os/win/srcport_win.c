/* SPDX-License-Identifier: MIT */
/* srcport_win.c: the OS half of srcport.h with Winsock. On Windows
 * SO_REUSEADDR lets a second socket bind a port another one holds (both
 * set it here: the placeholder and the connection socket), and the
 * four-tuple check at connect() still refuses a duplicate connection
 * (WSAEADDRINUSE). SO_EXCLUSIVEADDRUSE would lock the agent's own
 * connection socket out, so the placeholder relies on what Windows
 * guarantees without it: bind() to port 0 and connect() never hand out a
 * bound port. SO_PORT_SCALABILITY concerns the OS's own port choice, not
 * a port chosen here. The sockets are not inheritable (a service's child
 * processes must not keep them). */
#include "srcport.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <string.h>

intptr_t srcport_os_open(int family, int socktype, int protocol, uint16_t port, uint16_t *bound,
                         long *os_error)
{
    struct sockaddr_storage ss;
    int len;
    BOOL one = TRUE;
    DWORD v6only = 1;
    SOCKET s;

    *bound = 0;
    *os_error = 0;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

        sa->sin_family = AF_INET;
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        sa->sin_port = htons(port);
        len = (int)sizeof(*sa);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

        sa->sin6_family = AF_INET6;
        sa->sin6_addr = in6addr_any;
        sa->sin6_port = htons(port);
        len = (int)sizeof(*sa);
    } else {
        *os_error = WSAEAFNOSUPPORT;
        return SRCPORT_NONE;
    }
    s = WSASocketW(family, socktype ? socktype : SOCK_STREAM, protocol, NULL, 0,
                   WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET) {
        *os_error = WSAGetLastError();
        return SRCPORT_NONE;
    }
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, (const char *)&one, sizeof(one)) != 0 ||
        (family == AF_INET6 &&
         setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, (const char *)&v6only, sizeof(v6only)) != 0) ||
        bind(s, (struct sockaddr *)&ss, len) != 0 ||
        getsockname(s, (struct sockaddr *)&ss, &len) != 0) {
        *os_error = WSAGetLastError();
        closesocket(s);
        return SRCPORT_NONE;
    }
    *bound = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                     : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return (intptr_t)s;
}

void srcport_os_close(intptr_t s)
{
    if (s != SRCPORT_NONE)
        closesocket((SOCKET)s);
}

bool srcport_os_addr_error(long os_error)
{
    return os_error == WSAEADDRNOTAVAIL || os_error == WSAEADDRINUSE || os_error == WSAENOBUFS;
}

int srcport_os_af_inet(void)
{
    return AF_INET;
}

int srcport_os_af_inet6(void)
{
    return AF_INET6;
}
