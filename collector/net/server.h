/* SPDX-License-Identifier: MIT */
/* server.h: the HTTPS front of the collector. One loop thread accepts TLS
 * connections (TCP_NODELAY, a cap on how many), hands their handshakes to
 * TLS threads (offload.h: the CPU-heavy part), reads each request head
 * (capped, with a deadline covering handshake and head against slowloris),
 * refuses what it can from the head alone (431, 413 before any body byte
 * is read, 404/405, missing credentials), reads the body under a deadline
 * and a global memory budget, and hands the request to its route. A route
 * answers at once or defers to a database worker (db.h) and is answered
 * when that job is done. Keep-alive connections wait idle under their own
 * timeout. Timeouts live in one list per kind: every entry of a list has
 * the same timeout, so the list is in deadline order and expiring is O(1).
 *
 * struct exchange is what a route sees: the request, and the answer it
 * fills (status, body, extra headers). */
#ifndef PF_SERVER_H
#define PF_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "buf.h"
#include "compat.h"
#include "db.h"
#include "error.h"
#include "http.h"
#include "options.h"

#define EXCHANGE_OUT_MAX (64u * 1024 * 1024) /* largest answer body (reports) */

struct server;
struct auth_gen;
struct auth_cache;

struct exchange {
    struct server *srv;
    const struct route *route;
    /* The request; valid until the answer has been sent. */
    const struct http_request *req;
    const char *body;
    size_t body_len;
    const char *peer; /* "203.0.113.7:50123" */
    /* Who asks (access.h), decided before the route runs: its role and
     * tenant. Routes filter by it; ROUTE_PUBLIC and ROUTE_NODE leave it
     * zeroed (ACCESS_NONE). */
    struct access_who who;
    /* The answer. */
    int status;
    const char *content_type; /* static string */
    struct pf_buf out;        /* body, capped at EXCHANGE_OUT_MAX */
    char extra[512];          /* extra "Name: value\r\n" header lines */
    bool close;               /* close the connection after answering */
    /* Set by the ingest route for the server's counters. */
    uint64_t accepted, duplicates;
    /* A database job carrying this exchange (see exchange_defer). */
    struct db_job job;
};

/* Counters of the loop thread since start, for logs and /v1/status. */
struct server_stats {
    uint64_t connections_accepted, connections_refused, handshakes_failed, handshakes_resumed;
    uint64_t timeouts_header, timeouts_body, timeouts_idle, timeouts_write;
    uint64_t requests, answers_2xx, answers_4xx, answers_5xx, answers_429;
    uint64_t snapshots_accepted, snapshots_duplicate;
    uint64_t connections_open;
    /* Lingering close after early answers: connections that drained their
     * refused body, were closed at once (too many draining), were cut at
     * the byte or time limit, went quiet (idle timeout). */
    uint64_t drains_started, drains_refused, drains_cut, drains_idle;
    uint64_t connections_draining;
};

/* Builds the server (TLS context, listening socket, database pool) from
 * o, which must outlive it. Returns PF_OK and *out, or an error with *out
 * NULL and a message for the administrator in err. */
enum pf_rc server_new(const struct copts *o, struct server **out, char *err, size_t errlen);
/* Runs until SIGTERM or SIGINT, then stops accepting, lets requests in
 * flight finish (a few seconds at most) and returns PF_OK. */
enum pf_rc server_run(struct server *s);
/* Closes everything; NULL does nothing. */
void server_free(struct server *s);

const struct copts *server_opts(const struct server *s);
struct db *server_db(const struct server *s);
const struct server_stats *server_stats(const struct server *s);
/* The process's revocation generation (kept fresh by the server's watcher)
 * for credential caches of other routes, and the node key cache of
 * ingest (auth_cache.h). */
struct auth_gen *server_auth_gen(const struct server *s);
struct auth_cache *server_node_keys(const struct server *s);

/* Answers {"error": code, "message": <formatted>}; for 503 and 429 it adds
 * Retry-After. Usable on any thread until the exchange is answered. */
void exchange_error(struct exchange *x, int status, const char *code, const char *fmt, ...)
    PF_PRINTF(4, 5);
/* Answers status with a JSON body (already serialised text). */
void exchange_json(struct exchange *x, int status, const char *json);
/* Hands x to a database worker that runs ops->run on it; x is answered
 * when the job is done. When the queue is full, answers 429 at once. Loop
 * thread only. */
void exchange_defer(struct exchange *x, const struct db_job_ops *ops);
/* The exchange a database job belongs to. */
struct exchange *exchange_of(struct db_job *j);
/* The token and session table of this collector (access.h). */
struct access *server_access(const struct server *s);

/* Copies in to out (outlen bytes) with control characters replaced by
 * '?', so untrusted text cannot forge log lines. */
void log_sanitize(const char *in, char *out, size_t outlen);

#endif
