/* SPDX-License-Identifier: MIT */
/* server.h: an HTTPS server on one loop thread. It accepts TLS connections
 * (TCP_NODELAY, a cap on how many), hands their handshakes to TLS threads
 * (offload.h: the CPU-heavy part), reads each request head (capped, with
 * a deadline covering handshake and head against slowloris), refuses what
 * it can from the head alone (431, 413 before any body byte is read,
 * 404/405, missing credentials), reads the body under a deadline and a
 * global memory budget, and hands the request to its route. A route
 * answers at once or holds the exchange (work on another thread) and
 * resumes it when done. Keep-alive connections wait idle under their own
 * timeout. Timeouts live in one list per kind: every entry of a list has
 * the same timeout, so the list is in deadline order and expiring is O(1).
 *
 * The application hands in its route table (route.h), a hook that admits
 * requests to credentialed routes, a hook run every loop round, and how
 * many bytes of its own state each exchange carries (x->ctx): the server
 * knows nothing of databases, tokens or what a route does.
 *
 * struct exchange is what a route sees: the request, and the answer it
 * fills (status, body, extra headers). */
#ifndef PF_SERVER_H
#define PF_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "error.h"
#include "http.h"
#include "route.h"

#define EXCHANGE_OUT_MAX (64u * 1024 * 1024) /* largest answer body (reports) */

struct server;

struct exchange {
    struct server *srv;
    const struct route *route;
    /* The request; valid until the answer has been sent. */
    const struct http_request *req;
    const char *body;
    size_t body_len;
    const char *peer; /* "203.0.113.7:50123" */
    /* The application's state of this request: server_conf.ctx_size
     * bytes, zeroed before each request's admit hook and route. */
    void *ctx;
    /* The answer. */
    int status;
    const char *content_type; /* static string */
    struct pf_buf out;        /* body, capped at EXCHANGE_OUT_MAX */
    char extra[512];          /* extra "Name: value\r\n" header lines */
    bool close;               /* close the connection after answering */
    /* Set by the ingest route for the server's counters. */
    uint64_t accepted, duplicates;
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

/* What the application hands to server_new; it must outlive the server. */
struct server_conf {
    const char *listen; /* "ADDR:PORT" */
    const char *cert, *key;
    uint64_t max_connections;
    uint64_t header_timeout_s, body_timeout_s, idle_timeout_s, write_timeout_s;
    uint64_t body_budget_mb; /* request bodies held in memory at once -> 429 beyond */
    uint64_t tls_threads;
    uint64_t retry_after_s;  /* Retry-After of 503 answers */
    const struct route *routes;
    size_t nroutes;
    size_t ctx_size; /* bytes of x->ctx */
    void *ud;        /* handed to the hooks; server_ud() */
    /* Loop thread, for a route of ROUTE_READ or above, head in, body not
     * read: 0 lets the request through; else the status to refuse with,
     * *code and *msg saying why. When the hook filled an answer itself
     * (x->status set, e.g. a sign-in page), that answer is sent instead. */
    int (*admit)(void *ud, struct exchange *x, const char **code, const char **msg);
    /* Loop thread, every round of the loop (at least once a second). */
    void (*tick)(void *ud, long long now_ms);
};

/* Builds the server (TLS context, listening socket, TLS threads) from c.
 * Blocks SIGTERM and SIGINT in the calling thread (threads started later
 * inherit it; the loop reads them from a signalfd). Returns PF_OK and
 * *out, or an error with *out NULL and a message for the administrator in
 * err. */
enum pf_rc server_new(const struct server_conf *c, struct server **out, char *err,
                      size_t errlen);
/* Adds fd to the loop: fn(ud) runs on the loop thread when it is
 * readable (e.g. the eventfd of a worker pool's completions). */
enum pf_rc server_watch(struct server *s, int fd, void (*fn)(void *ud), void *ud);
/* Runs until SIGTERM or SIGINT, then stops accepting, lets requests in
 * flight finish (a few seconds at most) and returns PF_OK. */
enum pf_rc server_run(struct server *s);
/* Closes every connection (those held by a route are freed when resumed):
 * the first step of stopping, before the application's workers are
 * joined. */
void server_close_all(struct server *s);
/* Closes everything; NULL does nothing. Held exchanges must have been
 * resumed. */
void server_free(struct server *s);

void *server_ud(const struct server *s);
const struct server_stats *server_stats(const struct server *s);
/* Connections the descriptor limit allows (<= max_connections). */
size_t server_max_connections(const struct server *s);

/* Answers {"error": code, "message": <formatted>}; for 503 and 429 it adds
 * Retry-After. Usable on any thread until the exchange is answered. */
void exchange_error(struct exchange *x, int status, const char *code, const char *fmt, ...)
    PF_PRINTF(4, 5);
/* Answers status with a JSON body (already serialised text). */
void exchange_json(struct exchange *x, int status, const char *json);
/* Loop thread, from a route's handler: x is not answered when the
 * handler returns, but when exchange_resume(x) is called (on the loop
 * thread, once the work elsewhere filled the answer). */
void exchange_hold(struct exchange *x);
void exchange_resume(struct exchange *x);

/* Copies in to out (outlen bytes) with control characters replaced by
 * '?', so untrusted text cannot forge log lines. */
void log_sanitize(const char *in, char *out, size_t outlen);

#endif
