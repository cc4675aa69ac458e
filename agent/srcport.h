/* SPDX-License-Identifier: MIT */
/* srcport.h: local TCP ports the agent holds in reserve so that it can
 * still open a connection to a collector when the host has no ephemeral
 * port left - the moment a port-exhaustion monitor exists for.
 *
 * At start the agent binds a few ports (by default 3 the OS picks; or the
 * ports given with --reserve-ports, best placed outside the dynamic range
 * or excluded from it) with SO_REUSEADDR and keeps these "placeholder"
 * sockets for its whole life: no other process can take the ports (the
 * kernel's port-0 allocation and connect() never pick a bound port) and
 * they stay free for the agent even while a leaking service grabs every
 * port that comes free. Every new connection to a collector comes from one
 * of them: a fresh socket, SO_REUSEADDR too, bound to the reserve port
 * before curl connects it (libcurl's CURLOPT_OPENSOCKETFUNCTION). Two
 * sockets with SO_REUSEADDR may share a port as long as neither listens
 * (Linux and Windows); the kernel still refuses a second connection with
 * the same four-tuple (EADDRNOTAVAIL / WSAEADDRINUSE).
 *
 * TIME_WAIT: when the collector closes first (its restart, its idle
 * timeout) the TIME_WAIT state is on its side and a new SYN from the same
 * port is accepted (RFC 6191, timestamps). When the agent closes first (a
 * request that timed out) the four-tuple stays in TIME_WAIT on this host
 * for 60 s (Linux) to 240 s (Windows); therefore the ports are used in
 * turn, one per new connection, and a connect that fails for an address
 * reason moves on to the next port at once. Connections to different
 * collectors (the failover list) have different four-tuples and share the
 * ports freely. When every reserve port failed in a row, one plain
 * ephemeral connection is tried.
 *
 * The pool logic is portable (srcport.c); opening a socket bound to a
 * port and telling an address error are OS calls (srcport_linux.c,
 * srcport_win.c). */
#ifndef PF_SRCPORT_H
#define PF_SRCPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SRCPORT_MAX 8        /* ports in a pool at most */
#define SRCPORT_AUTO_COUNT 3 /* ports picked by the OS for "auto" */
#define SRCPORT_NONE ((intptr_t)-1)

/* What --reserve-ports asks for: "auto" (n == 0, !off), "off", or a list. */
struct srcport_spec {
    bool off;
    size_t n;
    uint16_t port[SRCPORT_MAX];
};

/* Pure: parses "auto", "off" or "PORT[,PORT...]" (1..65535, at most
 * SRCPORT_MAX, no repeats) into *spec. Returns PF_OK, or PF_INVALID with
 * err saying what is wrong. */
enum pf_rc srcport_parse(const char *text, struct srcport_spec *spec, char *err, size_t errlen);

struct srcport;

/* Binds the placeholders the spec asks for (IPv4, and IPv6 where the host
 * has it). Ports that cannot be held are logged and skipped: a pool may
 * hold fewer ports than asked, even none (then every connection is a
 * plain one). "off" gives a pool that holds nothing. On success *out is
 * the pool (srcport_free); PF_NOMEM otherwise. Call after the socket
 * library is initialised (curl_global_init does it on Windows). */
enum pf_rc srcport_new(const struct srcport_spec *spec, struct srcport **out);

/* Closes the placeholders and frees p. NULL does nothing. */
void srcport_free(struct srcport *p);

/* A new socket for a connection to a peer of this family (AF_INET or
 * AF_INET6), bound to the next reserve port in turn; *port is set to it.
 * Returns SRCPORT_NONE (and *port 0) when the pool has no port for the
 * family, or when every port failed in a row: then the caller opens a
 * plain socket. The caller owns the socket. */
intptr_t srcport_socket(struct srcport *p, int family, int socktype, int protocol,
                        uint16_t *port);

/* Tells the pool how the connection from port (0: a plain one) ended:
 * addr_error when connect failed for an address reason (the four-tuple is
 * taken, no local port). Returns true when trying again at once from
 * another port makes sense. */
bool srcport_result(struct srcport *p, uint16_t port, bool addr_error);

/* Copies the ports held (IPv4) into ports (room for SRCPORT_MAX) and
 * returns how many. */
size_t srcport_held(const struct srcport *p, uint16_t *ports);

/* ---- OS half (srcport_linux.c, srcport_win.c) ---- */

/* Opens a TCP socket of family with SO_REUSEADDR (IPv6: IPV6_V6ONLY),
 * bound to the wildcard address and port (0: the OS picks); *bound gets
 * the port. Returns the socket, or SRCPORT_NONE with *os_error set. */
intptr_t srcport_os_open(int family, int socktype, int protocol, uint16_t port, uint16_t *bound,
                         long *os_error);

/* Closes a socket from srcport_os_open. */
void srcport_os_close(intptr_t s);

/* True when os_error (errno, or WSAGetLastError on Windows) from bind or
 * connect means "no such local address/port is free": EADDRNOTAVAIL,
 * EADDRINUSE (Windows: WSAEADDRNOTAVAIL, WSAEADDRINUSE, WSAENOBUFS). */
bool srcport_os_addr_error(long os_error);

/* The address families, as the OS numbers them. */
int srcport_os_af_inet(void);
int srcport_os_af_inet6(void);

#endif
