/* SPDX-License-Identifier: MIT */
/* conn.h: the insides of the server (server.h), shared by its three files
 * and by nothing outside net/: server.c owns the server (set-up, accepting,
 * the timeout lists' expiry, stopping), conn.c one connection's life (its
 * states, TLS handshake steps on the offload threads, reading, writing,
 * lingering close) and exchange.c one request on it (the decision from the
 * head, running the route, the answer). Everything here runs on the loop
 * thread; a route's worker only touches an exchange between
 * exchange_hold() and exchange_resume(). */
#ifndef PF_CONN_H
#define PF_CONN_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "http.h"
#include "loop.h"
#include "offload.h"
#include "server.h"

#define WATCH_MAX 4 /* descriptors of the application (server_watch) */

/* Lingering close (nginx's): after an answer given before the request's
 * body was read (413, 401, 429 ...), the client may still be sending that
 * body and reads nothing until it is done; closing at once would reset the
 * connection and lose the answer. So the collector reads and discards what
 * follows, up to the announced length, then closes; at most DRAIN_BYTES
 * and DRAIN_TIME_MS in all, DRAIN_IDLE_MS without a byte, and at most a
 * quarter of the connection limit (DRAIN_CONNS_MAX at most) drain at once:
 * the others are closed right after their answer. A draining connection
 * counts in --max-connections like any other. */
#define DRAIN_BYTES (16u * 1024 * 1024)
#define DRAIN_TIME_MS 10000
#define DRAIN_IDLE_MS 2000
#define DRAIN_CONNS_MAX 64
#define DRAIN_UNKNOWN UINT64_MAX  /* a body of unknown length (chunked): until EOF or a limit */

enum cstate {
    ST_HANDSHAKE, /* TLS handshake */
    ST_IDLE,      /* keep-alive, waiting for the first byte of a request */
    ST_HEAD,      /* reading the request head */
    ST_BODY,      /* reading the body */
    ST_CONTINUE,  /* writing "100 Continue", then ST_BODY */
    ST_WAIT,      /* the route (a database job) is working */
    ST_WRITE,     /* writing the answer */
    ST_DRAIN,     /* answered early: discarding the rest of the body, then close */
    ST_CLOSED
};

/* Timeout lists: every entry of one has the same timeout, so appending on
 * entry keeps each list sorted by deadline. */
enum tq { TQ_HEADER, TQ_BODY, TQ_IDLE, TQ_WRITE, TQ_DRAIN, TQ_N, TQ_NONE = -1 };

struct conn {
    struct server *srv;
    struct loop_watch w;
    int fd;
    struct tls_conn *tls;
    enum cstate st;
    int tq;
    long long deadline;
    struct conn *tq_prev, *tq_next;
    struct conn *prev, *next; /* every open connection */
    struct pf_buf in;         /* the head, and whatever followed it */
    size_t scanned;           /* how far http_head_end looked */
    size_t head_len;          /* > 0 once the head is complete */
    struct http_request req;
    char *body;
    size_t body_len, body_have, body_from_in, budget;
    struct pf_buf out; /* bytes of the answer being written */
    size_t out_off;
    bool keep;    /* keep the connection after this answer */
    bool drain;   /* after this answer, drain before closing (see DRAIN_BYTES) */
    uint64_t drain_left;  /* body bytes still announced (DRAIN_UNKNOWN: unknown) */
    size_t drain_got;     /* discarded so far */
    long long drain_end;  /* pf_mono_ms by which draining stops in any case */
    bool in_hs;   /* a handshake step runs on an offload thread */
    atomic_bool hs_cancel; /* closed meanwhile: the step need not run */
    int hs_rc;    /* its result */
    const char *close_after; /* closed while in_hs: close when it returns */
    struct offload_job hs;
    long long run_ms; /* pf_mono_ms when the whole request was read; 0: not yet */
    bool in_job;  /* held by its route (exchange_hold) */
    bool dead;    /* closed while in_job: freed when resumed */
    struct exchange x;
    struct conn *grave; /* closed, to free after this loop round */
    char peer[64];
};

/* A connection and, after it, the application's x->ctx (server_conf.ctx_size). */
#define CONN_SIZE                                                                               \
    ((sizeof(struct conn) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) *                \
     _Alignof(max_align_t))

struct ratelog {
    long long window;
    unsigned count, suppressed;
};

/* A descriptor of the application's (server_watch). */
struct watch {
    struct loop_watch w;
    void (*fn)(void *ud);
    void *ud;
};

struct server {
    const struct server_conf *o;
    struct loop *loop;
    struct tls_server *tls;
    struct offload *hs;            /* TLS handshakes */
    int lfd, sfd;
    struct loop_watch lw, sw, hsw;
    struct watch watches[WATCH_MAX];
    size_t nwatches;
    bool accepting;
    long long accept_resume;
    bool stopping;
    long long stop_deadline;
    struct {
        struct conn *head, *tail;
        long long timeout_ms;
    } tqs[TQ_N];
    struct conn *conns;
    size_t nconns, max_conns;
    size_t ndraining, max_draining;
    size_t body_used, body_budget;
    struct conn *graveyard;
    struct server_stats stats;
    struct ratelog rl_tls, rl_refused;
};

/* ---- conn.c ---- */

/* Accepts fd (non-blocking, from sa) as a new connection in its TLS
 * handshake; on failure fd is closed and the failure logged. */
void conn_new(struct server *s, int fd, const struct sockaddr_storage *sa);
/* Closes c (why goes to the debug log); it is freed after this loop round
 * (server.c buries it), or by exchange_resume when a route holds it. A
 * connection whose handshake step runs on an offload thread is closed
 * when the step returns. Closing twice does nothing. */
void conn_close(struct conn *c, const char *why);
void conn_free(struct conn *c);
/* Enters state st; with q != TQ_NONE its deadline restarts now. */
void conn_set_state(struct conn *c, enum cstate st, int q);
/* Asks the loop for events (LOOP_READ, LOOP_WRITE or 0) on c; closes c
 * if that fails, so callers check c->st != ST_CLOSED afterwards. */
void conn_want(struct conn *c, unsigned events);
/* Reads the rest of the body, then runs the route. */
void conn_read_body(struct conn *c);
/* Writes c->out from c->out_off, then goes on with the request. */
void conn_write(struct conn *c);

/* ---- exchange.c ---- */

/* The head of c's request is in (c->head_len): decides from it alone,
 * then reads the body or runs the route. */
void exchange_dispatch(struct conn *c);
/* The body is in: runs the route, and answers unless the route holds. */
void exchange_run(struct conn *c);
/* Sends c->x's answer and goes on to ST_WRITE. */
void exchange_respond(struct conn *c);
/* Answers before any route ran (the head alone decided); see exchange.c. */
void exchange_refuse(struct conn *c, int status, const char *code, const char *msg,
                     const char *extra);

/* ---- server.c ---- */

/* At most 10 messages per 10 s through r; then counts the suppressed ones. */
bool server_ratelog_ok(struct ratelog *r, long long now);

#endif
