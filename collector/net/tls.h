/* SPDX-License-Identifier: MIT */
/* tls.h: the collector's TLS server side, on mbedTLS 2.28 (Debian's
 * libmbedtls-dev). Policy, fixed here rather than left to options: TLS 1.2
 * only, ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only (forward
 * secrecy, AEAD), curves P-256/P-384 (see tls.c), session tickets (AES-256-GCM,
 * key rotated by mbedTLS) so a reconnecting agent skips the full handshake,
 * ALPN "http/1.1". Connections are non-blocking: mbedTLS reads and writes
 * the socket through our BIO callbacks, and every call may answer
 * TLS_WANT_READ or TLS_WANT_WRITE, after which the caller waits for that
 * readiness and repeats the same call. One connection is used by one
 * thread at a time; the server configuration is shared (its random
 * generator and ticket keys lock themselves: MBEDTLS_THREADING_C). */
#ifndef PF_TLS_H
#define PF_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Results of the non-blocking calls below (bytes are >= 0). */
#define TLS_WANT_READ (-1)
#define TLS_WANT_WRITE (-2)
#define TLS_EOF (-3)   /* the peer closed (close_notify or TCP FIN) */
#define TLS_ERROR (-4) /* handshake failure, bad record, socket error */

struct tls_server;
struct tls_conn;

/* Loads the PEM certificate chain and private key and builds the server
 * configuration. Returns PF_OK and *out, or an error with *out NULL and a
 * message naming the file and the reason in err. Free with
 * tls_server_free(). */
enum pf_rc tls_server_new(const char *cert_file, const char *key_file, struct tls_server **out,
                          char *err, size_t errlen);
void tls_server_free(struct tls_server *t);

/* Starts a server-side session on the connected non-blocking socket fd
 * (not owned: the caller closes it after tls_conn_free). PF_NOMEM. */
enum pf_rc tls_conn_new(struct tls_server *t, int fd, struct tls_conn **out);
void tls_conn_free(struct tls_conn *c);

/* Runs the handshake: 0 when done, else TLS_WANT_* or TLS_ERROR/TLS_EOF. */
int tls_handshake(struct tls_conn *c);
/* Reads up to n decrypted bytes: the count (> 0), or TLS_WANT_*, TLS_EOF,
 * TLS_ERROR. */
ssize_t tls_read(struct tls_conn *c, void *buf, size_t n);
/* Writes up to n bytes: the count written (> 0), or TLS_WANT_*, TLS_ERROR.
 * After TLS_WANT_* call again with the same buf and n. */
ssize_t tls_write(struct tls_conn *c, const void *buf, size_t n);
/* Sends close_notify once, best effort (never blocks). */
void tls_close_notify(struct tls_conn *c);
/* Decrypted bytes already buffered inside mbedTLS (epoll cannot see them). */
size_t tls_pending(struct tls_conn *c);
/* The last mbedTLS error as text, for logs ("" when none). */
const char *tls_last_error(struct tls_conn *c);
/* Whether the finished handshake resumed a session (ticket). */
int tls_resumed(struct tls_conn *c);

#endif
