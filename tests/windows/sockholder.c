/* SPDX-License-Identifier: MIT */
/* sockholder.c: a small Windows program for the Wine test. It opens known
 * numbers of loopback sockets, writes what it holds to a manifest, signals
 * ready, and keeps them open until a stop file appears (or a time limit):
 *   - LISTEN: --listen N listeners on 127.0.0.1 (and N on ::1 with --ipv6)
 *     plus the one server the connections below go to;
 *   - ESTABLISHED: --connect M client/server pairs (2M sockets);
 *   - TIME_WAIT: --time-wait T connections closed client side first;
 *   - UDP: --udp K sockets bound to 127.0.0.1;
 *   - one TCP socket bound and neither listening nor connected (BOUND).
 * Ports are the OS's choice (bind to port 0); the manifest lists them.
 *
 *   sockholder.exe --dir Z:\tmp\x --listen 5 --connect 7 --time-wait 3 --udp 4
 * writes <dir>\manifest.txt, then <dir>\ready, waits for <dir>\stop. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOCKS 1024
#define WAIT_LIMIT_MS 120000

static SOCKET socks[MAX_SOCKS];
static int nsocks;
static unsigned tcp_ports[MAX_SOCKS], udp_ports[MAX_SOCKS];
static int ntcp_ports, nudp_ports;
static unsigned bound_port;

static void die(const char *what)
{
    fprintf(stderr, "sockholder: %s: error %d\n", what, WSAGetLastError());
    exit(1);
}

static SOCKET keep(SOCKET s)
{
    if (s == INVALID_SOCKET)
        die("socket");
    if (nsocks == MAX_SOCKS) {
        fprintf(stderr, "sockholder: too many sockets\n");
        exit(1);
    }
    socks[nsocks++] = s;
    return s;
}

static unsigned local_port(SOCKET s)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0)
        die("getsockname");
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* Adds a port to a distinct-port list. */
static void note(unsigned *list, int *n, unsigned port)
{
    for (int i = 0; i < *n; i++)
        if (list[i] == port)
            return;
    list[(*n)++] = port;
}

static void loopback(int family, struct sockaddr_storage *ss, int *len)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        *len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*a);
    }
}

static SOCKET tcp_bound(int family)
{
    struct sockaddr_storage ss;
    int len;
    SOCKET s = keep(socket(family, SOCK_STREAM, IPPROTO_TCP));

    loopback(family, &ss, &len);
    if (bind(s, (struct sockaddr *)&ss, len) != 0)
        die("bind");
    note(tcp_ports, &ntcp_ports, local_port(s));
    return s;
}

static SOCKET tcp_listener(int family)
{
    SOCKET s = tcp_bound(family);

    if (listen(s, 256) != 0)
        die("listen");
    return s;
}

/* Connects a client to server (listening on family loopback) and accepts
 * it; returns the client, *accepted the server side. */
static SOCKET connect_pair(SOCKET server, int family, SOCKET *accepted, bool keep_them)
{
    struct sockaddr_storage ss;
    int len;
    SOCKET c = socket(family, SOCK_STREAM, IPPROTO_TCP), a;

    if (c == INVALID_SOCKET)
        die("socket");
    loopback(family, &ss, &len);
    if (family == AF_INET6)
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons((u_short)local_port(server));
    else
        ((struct sockaddr_in *)&ss)->sin_port = htons((u_short)local_port(server));
    if (connect(c, (struct sockaddr *)&ss, len) != 0)
        die("connect");
    a = accept(server, NULL, NULL);
    if (a == INVALID_SOCKET)
        die("accept");
    if (keep_them) {
        keep(c);
        keep(a);
    }
    note(tcp_ports, &ntcp_ports, local_port(c));
    *accepted = a;
    return c;
}

static int arg_int(int argc, char **argv, const char *name, int def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return (int)strtol(argv[i + 1], NULL, 10);
    return def;
}

static const char *arg_str(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static int has_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    const char *dir = arg_str(argc, argv, "--dir");
    int nlisten = arg_int(argc, argv, "--listen", 3);
    int nconnect = arg_int(argc, argv, "--connect", 4);
    int ntimewait = arg_int(argc, argv, "--time-wait", 2);
    int nudp = arg_int(argc, argv, "--udp", 2);
    int ipv6 = has_flag(argc, argv, "--ipv6");
    int families = ipv6 ? 2 : 1;
    char path[1024];
    SOCKET server;
    FILE *f;
    DWORD t0;

    if (!dir) {
        fprintf(stderr, "usage: sockholder --dir DIR [--listen N] [--connect M] "
                        "[--time-wait T] [--udp K] [--ipv6]\n");
        return 2;
    }
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        die("WSAStartup");

    for (int fam = 0; fam < families; fam++)
        for (int i = 0; i < nlisten; i++)
            tcp_listener(fam ? AF_INET6 : AF_INET);
    server = tcp_listener(AF_INET);
    for (int i = 0; i < nconnect; i++) {
        SOCKET a;
        connect_pair(server, AF_INET, &a, true);
    }
    /* Active close on the client side: its socket goes to TIME_WAIT, which
     * no process owns; the server side is closed after it. */
    for (int i = 0; i < ntimewait; i++) {
        SOCKET a, c = connect_pair(server, AF_INET, &a, false);
        shutdown(c, SD_SEND);
        Sleep(20);
        closesocket(c);
        Sleep(20);
        closesocket(a);
    }
    Sleep(300); /* let the FIN/ACK exchanges finish */
    bound_port = local_port(tcp_bound(AF_INET)); /* never listening or connected */
    for (int i = 0; i < nudp; i++) {
        struct sockaddr_storage ss;
        int len;
        SOCKET s = keep(socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
        loopback(AF_INET, &ss, &len);
        if (bind(s, (struct sockaddr *)&ss, len) != 0)
            die("bind udp");
        note(udp_ports, &nudp_ports, local_port(s));
    }

    snprintf(path, sizeof(path), "%s\\manifest.txt", dir);
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sockholder: cannot write %s\n", path);
        return 1;
    }
    fprintf(f, "pid %lu\n", (unsigned long)GetCurrentProcessId());
    fprintf(f, "listen %d\n", nlisten * families + 1);
    fprintf(f, "established %d\n", 2 * nconnect);
    fprintf(f, "time_wait %d\n", ntimewait);
    fprintf(f, "bound 1\n");
    fprintf(f, "bound_port %u\n", bound_port);
    fprintf(f, "udp %d\n", nudp);
    fprintf(f, "tcp_ports");
    for (int i = 0; i < ntcp_ports; i++)
        fprintf(f, " %u", tcp_ports[i]);
    fprintf(f, "\nudp_ports");
    for (int i = 0; i < nudp_ports; i++)
        fprintf(f, " %u", udp_ports[i]);
    fprintf(f, "\n");
    fclose(f);
    snprintf(path, sizeof(path), "%s\\ready", dir);
    f = fopen(path, "w");
    if (f)
        fclose(f);

    snprintf(path, sizeof(path), "%s\\stop", dir);
    t0 = GetTickCount();
    while (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES) {
        if (GetTickCount() - t0 > WAIT_LIMIT_MS) {
            fprintf(stderr, "sockholder: no stop file after %d s\n", WAIT_LIMIT_MS / 1000);
            break;
        }
        Sleep(50);
    }
    for (int i = 0; i < nsocks; i++)
        closesocket(socks[i]);
    WSACleanup();
    return 0;
}
