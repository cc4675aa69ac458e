/* SPDX-License-Identifier: MIT */
/* listen.h: the server's listening socket and descriptor limit, and a
 * peer's address as text for its log lines. */
#ifndef PF_LISTEN_H
#define PF_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include "error.h"

/* A non-blocking listening TCP socket on spec ("ADDR:PORT" or "[v6]:PORT")
 * in *out. PF_OK; PF_INVALID or PF_IO with a
 * message naming --listen in err, *out -1. */
enum pf_rc listen_tcp(const char *spec, int *out, char *err, size_t errlen);

/* Raises the descriptor limit to what want_conns connections need (and
 * a reserve for the database, logs, files); returns how many connections
 * the limit allows (logged when fewer). */
size_t listen_raise_nofile(size_t want_conns);

/* "203.0.113.7:50123" or "[2001:db8::1]:50123" into out. */
void listen_peer_text(const struct sockaddr_storage *sa, char *out, size_t outlen);

#endif
