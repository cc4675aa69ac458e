/* SPDX-License-Identifier: MIT */
/* server.c: connections, their state machine and timeouts, the listening
 * socket, signals, periodic work. Everything here runs on the loop thread;
 * database workers only touch an exchange between exchange_defer() and
 * the job's done(). */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "listen.h"
#include "log.h"
#include "loop.h"
#include "offload.h"
#include "timeutil.h"
#include "tls.h"

#define ACCEPT_BATCH 256
#define ACCEPT_PAUSE_MS 1000      /* after EMFILE */
#define STOP_GRACE_MS 10000       /* requests in flight may finish within */
#define OUT_KEEP (64 * 1024)      /* answer buffers larger than this are freed after use */
#define WATCH_MAX 4               /* descriptors of the application (server_watch) */
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

static void conn_read_head(struct conn *c);
static void conn_read_body(struct conn *c);
static void conn_write(struct conn *c);
static void conn_drain(struct conn *c);
static void conn_close(struct conn *c, const char *why);
static void conn_event(void *ud, unsigned events);

/* ---- small helpers ---- */

static bool ratelog_ok(struct ratelog *r, long long now)
{
    if (now - r->window >= 10000) {
        if (r->suppressed)
            pf_warn("(%u similar messages suppressed in the last 10 s)", r->suppressed);
        r->window = now;
        r->count = 0;
        r->suppressed = 0;
    }
    if (r->count < 10) {
        r->count++;
        return true;
    }
    r->suppressed++;
    return false;
}

void log_sanitize(const char *in, char *out, size_t outlen)
{
    size_t o = 0;

    for (; *in && o + 1 < outlen; in++)
        out[o++] = ((unsigned char)*in < 0x20 || *in == 0x7f) ? '?' : *in;
    if (outlen)
        out[o] = '\0';
}

static void tq_unlink(struct conn *c)
{
    struct server *s = c->srv;

    if (c->tq == TQ_NONE)
        return;
    if (c->tq_prev)
        c->tq_prev->tq_next = c->tq_next;
    else
        s->tqs[c->tq].head = c->tq_next;
    if (c->tq_next)
        c->tq_next->tq_prev = c->tq_prev;
    else
        s->tqs[c->tq].tail = c->tq_prev;
    c->tq_prev = c->tq_next = NULL;
    c->tq = TQ_NONE;
}

/* Enters state st; with q != TQ_NONE its deadline restarts now. */
static void set_state(struct conn *c, enum cstate st, int q)
{
    struct server *s = c->srv;

    c->st = st;
    tq_unlink(c);
    if (q == TQ_NONE)
        return;
    c->tq = q;
    c->deadline = pf_mono_ms() + s->tqs[q].timeout_ms;
    c->tq_prev = s->tqs[q].tail;
    c->tq_next = NULL;
    if (s->tqs[q].tail)
        s->tqs[q].tail->tq_next = c;
    else
        s->tqs[q].head = c;
    s->tqs[q].tail = c;
}

static void want(struct conn *c, unsigned events)
{
    if (loop_set(c->srv->loop, &c->w, events))
        conn_close(c, "epoll_ctl failed");
}

static struct conn *conn_of(struct exchange *x)
{
    return (struct conn *)((char *)x - offsetof(struct conn, x));
}

/* ---- answers ---- */

void exchange_json(struct exchange *x, int status, const char *json)
{
    x->status = status;
    x->content_type = "application/json";
    pf_buf_reset(&x->out);
    if (pf_buf_puts(&x->out, json)) {
        x->status = 500;
        pf_buf_reset(&x->out);
    }
}

void exchange_error(struct exchange *x, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    cJSON *o;
    char *text = NULL;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "error", code) && cJSON_AddStringToObject(o, "message", msg))
        text = cJSON_PrintUnformatted(o);
    exchange_json(x, status, text ? text : "{\"error\":\"internal\",\"message\":\"out of memory\"}");
    cJSON_free(text);
    cJSON_Delete(o);
    if (status == 503)
        snprintf(x->extra, sizeof(x->extra), "Retry-After: %llu\r\n",
                 (unsigned long long)x->srv->o->retry_after_s);
    else if (status == 429)
        snprintf(x->extra, sizeof(x->extra), "Retry-After: 1\r\n");
}

void *server_ud(const struct server *s)
{
    return s->o->ud;
}

const struct server_stats *server_stats(const struct server *s)
{
    return &s->stats;
}

size_t server_max_connections(const struct server *s)
{
    return s->max_conns;
}

/* Sends x's answer (head and body) and goes on to ST_WRITE. */
static void respond(struct conn *c)
{
    struct exchange *x = &c->x;
    struct server *s = c->srv;
    enum pf_rc rc;

    if (!x->status)
        exchange_error(x, 500, "internal", "the route gave no answer");
    if (x->status >= 500)
        s->stats.answers_5xx++;
    else if (x->status == 429)
        s->stats.answers_429++;
    else if (x->status >= 400)
        s->stats.answers_4xx++;
    else
        s->stats.answers_2xx++;
    s->stats.snapshots_accepted += x->accepted;
    s->stats.snapshots_duplicate += x->duplicates;
    c->keep = c->req.keep_alive && !x->close && !s->stopping;
    pf_debug("%s %s %s -> %d (%zu bytes)%s", c->peer, c->req.method ? c->req.method : "-",
             c->req.path ? c->req.path : "-", x->status, x->out.len, c->keep ? "" : ", closing");
    pf_buf_reset(&c->out);
    c->out_off = 0;
    rc = http_write_head(&c->out, x->status, x->content_type, x->out.len, c->keep,
                         x->extra[0] ? x->extra : NULL);
    if (!rc && x->out.len)
        rc = pf_buf_append(&c->out, x->out.data, x->out.len);
    if (rc) {
        conn_close(c, "cannot build the answer");
        return;
    }
    set_state(c, ST_WRITE, TQ_WRITE);
    conn_write(c);
}

/* Answers from the loop thread before any route ran (the head alone
 * decided). A body that was announced but not read makes the connection
 * unusable afterwards, so it is closed after the answer. */
static void respond_early(struct conn *c, int status, const char *code, const char *msg,
                          const char *extra)
{
    struct exchange *x = &c->x;

    exchange_error(x, status, code, "%s", msg);
    if (extra)
        snprintf(x->extra, sizeof(x->extra), "%s", extra);
    if (c->req.content_length > c->body_have || !c->req.method)
        x->close = true;
    if (c->req.method && c->req.content_length > c->body_have) {
        c->drain = true;
        c->drain_left = c->req.content_length;
    }
    respond(c);
}

void exchange_hold(struct exchange *x)
{
    conn_of(x)->in_job = true;
}

/* ---- connection life ---- */

static void release_body(struct conn *c)
{
    c->srv->body_used -= c->budget;
    c->budget = 0;
    free(c->body);
    c->body = NULL;
    c->body_len = c->body_have = c->body_from_in = 0;
}

static void conn_free(struct conn *c)
{
    release_body(c);
    tls_conn_free(c->tls);
    pf_buf_free(&c->in);
    pf_buf_free(&c->out);
    pf_buf_free(&c->x.out);
    free(c);
}

static void conn_close(struct conn *c, const char *why)
{
    struct server *s = c->srv;

    if (c->st == ST_CLOSED)
        return;
    if (c->in_hs) {
        /* An offload thread has the socket: close when it gives it back.
         * A step still waiting in the queue is skipped (a flood of stale
         * handshakes must not delay fresh ones). */
        if (!c->close_after)
            c->close_after = why;
        atomic_store(&c->hs_cancel, true);
        tq_unlink(c);
        return;
    }
    pf_debug("%s: connection closed: %s", c->peer, why);
    if (c->st == ST_DRAIN)
        s->stats.connections_draining = --s->ndraining;
    tq_unlink(c);
    loop_del(s->loop, &c->w);
    close(c->fd);
    c->fd = -1;
    c->st = ST_CLOSED;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    s->stats.connections_open--;
    if (c->in_job) {
        c->dead = true; /* the job still uses x: job_done frees it */
    } else {
        c->grave = s->graveyard;
        s->graveyard = c;
    }
}

/* After an early answer (see DRAIN_BYTES): discards what the client still
 * sends of its body, then closes. c->in holds what came after the head. */
static void start_drain(struct conn *c)
{
    struct server *s = c->srv;
    uint64_t have = c->in.len;

    c->drain = false;
    if (s->stopping) {
        conn_close(c, "answered before its body; collector stopping");
        return;
    }
    if (s->ndraining >= s->max_draining) {
        s->stats.drains_refused++;
        conn_close(c, "answered before its body; too many connections draining to wait for it");
        return;
    }
    pf_buf_free(&c->in);
    if (c->drain_left != DRAIN_UNKNOWN)
        c->drain_left = c->drain_left > have ? c->drain_left - have : 0;
    if (c->drain_left == 0) {
        tls_close_notify(c->tls);
        conn_close(c, "answered before its body; the body had arrived");
        return;
    }
    s->stats.drains_started++;
    s->stats.connections_draining = ++s->ndraining;
    c->drain_got = 0;
    c->drain_end = pf_mono_ms() + DRAIN_TIME_MS;
    set_state(c, ST_DRAIN, TQ_DRAIN);
    want(c, LOOP_READ);
    if (c->st != ST_CLOSED)
        conn_drain(c);
}

/* After an answer: drops this request's bytes and either closes or waits
 * for the next request (which may already be buffered). */
static void finish_request(struct conn *c)
{
    pf_buf_consume(&c->in, c->head_len + c->body_from_in);
    release_body(c);
    c->head_len = 0;
    c->scanned = 0;
    memset(&c->req, 0, sizeof(c->req));
    if (c->x.out.cap > OUT_KEEP)
        pf_buf_free(&c->x.out);
    if (c->out.cap > OUT_KEEP)
        pf_buf_free(&c->out);
    if (!c->keep) {
        if (c->drain) {
            start_drain(c);
            return;
        }
        tls_close_notify(c->tls);
        conn_close(c, "answered, not keep-alive");
        return;
    }
    if (c->in.len == 0)
        pf_buf_free(&c->in); /* idle connections hold no head buffer */
    set_state(c, ST_IDLE, TQ_IDLE);
    want(c, LOOP_READ);
    if (c->st != ST_CLOSED && (c->in.len > 0 || tls_pending(c->tls) > 0))
        conn_read_head(c);
}

void exchange_resume(struct exchange *x)
{
    struct conn *c = conn_of(x);

    c->in_job = false;
    if (c->dead) {
        conn_free(c);
        return;
    }
    respond(c);
}

static void run_route(struct conn *c)
{
    struct exchange *x = &c->x;

    x->body = c->body;
    x->body_len = c->body_len;
    set_state(c, ST_WAIT, TQ_NONE);
    want(c, 0);
    if (c->st == ST_CLOSED)
        return;
    x->route->handle(x);
    if (!c->in_job)
        respond(c);
}

static const char *code_of(int status)
{
    switch (status) {
    case 411: return "length_required";
    case 413: return "too_large";
    case 417: return "expectation_failed";
    case 431: return "headers_too_large";
    case 505: return "http_version";
    }
    return "bad_request";
}

/* The head is in: decide from it alone, then read the body or run. */
static void dispatch(struct conn *c)
{
    struct server *s = c->srv;
    struct exchange *x = &c->x;
    const struct route *route;
    const char *why;
    char allow[64], extra[96];
    bool known;
    size_t avail;
    int st;

    s->stats.requests++;
    x->status = 0;
    x->content_type = NULL;
    x->extra[0] = '\0';
    x->close = false;
    x->accepted = x->duplicates = 0;
    x->route = NULL;
    x->body = NULL;
    x->body_len = 0;
    if (s->o->ctx_size)
        memset(x->ctx, 0, s->o->ctx_size);
    pf_buf_reset(&x->out);
    st = http_parse_head(c->in.data, c->head_len, HTTP_BODY_MAX, &c->req, &why);
    if (st) {
        /* Framing the parser understood: a body over the limit (its length
         * is known) or a chunked one (until the client stops): drain it
         * after the answer. Anything else is closed at once. */
        uint64_t announced = st == 413 ? c->req.content_length : st == 411 ? DRAIN_UNKNOWN : 0;
        pf_debug("%s: bad request head (%d): %s", c->peer, st, why);
        memset(&c->req, 0, sizeof(c->req));
        if (announced) {
            c->drain = true;
            c->drain_left = announced;
        }
        respond_early(c, st, code_of(st), why, NULL);
        return;
    }
    route = route_find(s->o->routes, s->o->nroutes, c->req.method, c->req.path, &known, allow,
                       sizeof(allow));
    if (!route) {
        if (known) {
            snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
            respond_early(c, 405, "method_not_allowed", "method not allowed on this path", extra);
        } else {
            respond_early(c, 404, "not_found", "no such endpoint", NULL);
        }
        return;
    }
    x->route = route;
    if (route->auth >= ROUTE_READ) {
        const char *code = "forbidden", *msg = "";
        int verdict = s->o->admit(s->o->ud, x, &code, &msg);
        if (verdict) {
            /* The path only: no query string, header or body (a token
             * may be in any of them) reaches the log. */
            pf_warn("%s: %s %s refused: %s; answering %d", c->peer, c->req.method, c->req.path,
                    code, verdict);
            if (x->status) {
                if (c->req.content_length > c->body_have)
                    x->close = true;
                respond(c);
            } else {
                respond_early(c, verdict, code, msg, NULL);
            }
            return;
        }
    }
    if (route->auth == ROUTE_NODE && !http_bearer(&c->req)) {
        respond_early(c, 401, "node_invalid", "Authorization: Bearer <node key> is required",
                      NULL);
        return;
    }
    if (c->req.content_length > route->max_body) {
        pf_warn("%s: %s %s with a %llu-byte body refused unread (limit %zu)", c->peer,
                c->req.method, c->req.path, (unsigned long long)c->req.content_length,
                route->max_body);
        respond_early(c, 413, "too_large", "request body too large", NULL);
        return;
    }
    c->body_len = (size_t)c->req.content_length;
    if (c->body_len == 0) {
        run_route(c);
        return;
    }
    if (s->body_used + c->body_len > s->body_budget) {
        pf_warn("%s: %zu bytes of request bodies in memory already; answering 429", c->peer,
                s->body_used);
        respond_early(c, 429, "overloaded", "too many request bodies in flight", NULL);
        return;
    }
    c->body = malloc(c->body_len);
    if (!c->body) {
        c->body_len = 0;
        respond_early(c, 503, "unavailable", "out of memory", NULL);
        return;
    }
    c->budget = c->body_len;
    s->body_used += c->budget;
    avail = c->in.len - c->head_len;
    c->body_from_in = avail < c->body_len ? avail : c->body_len;
    memcpy(c->body, c->in.data + c->head_len, c->body_from_in);
    c->body_have = c->body_from_in;
    if (c->body_have == c->body_len) {
        run_route(c);
        return;
    }
    set_state(c, ST_BODY, TQ_BODY);
    if (c->req.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        pf_buf_reset(&c->out);
        c->out_off = 0;
        if (pf_buf_append(&c->out, cont, sizeof(cont) - 1)) {
            conn_close(c, "out of memory");
            return;
        }
        c->st = ST_CONTINUE;
        conn_write(c);
        return;
    }
    want(c, LOOP_READ);
    if (c->st != ST_CLOSED)
        conn_read_body(c);
}

/* Handles the results of tls_read/tls_write that are not data. */
static void tls_wait_or_close(struct conn *c, ssize_t r, const char *doing)
{
    if (r == TLS_WANT_READ) {
        want(c, LOOP_READ);
    } else if (r == TLS_WANT_WRITE) {
        want(c, LOOP_WRITE);
    } else if (r == TLS_EOF) {
        conn_close(c, c->st == ST_IDLE ? "client closed the keep-alive connection"
                                       : "client closed mid-request");
    } else {
        char m[160];
        snprintf(m, sizeof(m), "TLS error while %s: %s", doing, tls_last_error(c->tls));
        conn_close(c, m);
    }
}

static void conn_read_head(struct conn *c)
{
    for (;;) {
        size_t end, space;
        enum pf_rc rc;
        char *p;
        ssize_t n;

        if (c->in.len > 0) {
            if (c->st == ST_IDLE)
                set_state(c, ST_HEAD, TQ_HEADER); /* the header deadline starts now */
            end = http_head_end(c->in.data, c->in.len, c->scanned);
            c->scanned = c->in.len;
            if (end) {
                c->head_len = end;
                dispatch(c);
                return;
            }
        }
        space = HTTP_HEAD_MAX - c->in.len;
        if (space == 0) {
            pf_warn("%s: request head over %d bytes; answering 431", c->peer, HTTP_HEAD_MAX);
            c->head_len = c->in.len;
            memset(&c->req, 0, sizeof(c->req));
            respond_early(c, 431, "headers_too_large", "request head too large", NULL);
            return;
        }
        p = pf_buf_reserve(&c->in, space, &rc);
        if (!p) {
            conn_close(c, "out of memory");
            return;
        }
        n = tls_read(c->tls, p, space);
        if (n <= 0) {
            tls_wait_or_close(c, n, "reading a request head");
            return;
        }
        c->in.len += (size_t)n;
        c->in.data[c->in.len] = '\0';
    }
}

static void conn_read_body(struct conn *c)
{
    while (c->body_have < c->body_len) {
        ssize_t n = tls_read(c->tls, c->body + c->body_have, c->body_len - c->body_have);
        if (n <= 0) {
            tls_wait_or_close(c, n, "reading a request body");
            return;
        }
        c->body_have += (size_t)n;
    }
    run_route(c);
}

static void conn_write(struct conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = tls_write(c->tls, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n <= 0) {
            tls_wait_or_close(c, n, "writing an answer");
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->st == ST_CONTINUE) {
        c->st = ST_BODY; /* still under the body deadline set at the head */
        want(c, LOOP_READ);
        if (c->st != ST_CLOSED)
            conn_read_body(c);
        return;
    }
    finish_request(c);
}

static void conn_drain(struct conn *c)
{
    struct server *s = c->srv;
    char sink[16384];
    bool got = false;

    for (;;) {
        size_t ask = c->drain_left < sizeof(sink) ? (size_t)c->drain_left : sizeof(sink);
        ssize_t n = tls_read(c->tls, sink, ask);
        if (n == TLS_WANT_READ || n == TLS_WANT_WRITE) {
            want(c, n == TLS_WANT_READ ? LOOP_READ : LOOP_WRITE);
            break;
        }
        if (n <= 0) {
            conn_close(c, n == TLS_EOF ? "client closed after its early answer"
                                       : "TLS error while draining a refused body");
            return;
        }
        got = true;
        c->drain_got += (size_t)n;
        if (c->drain_left != DRAIN_UNKNOWN)
            c->drain_left -= (uint64_t)n;
        if (c->drain_left == 0) {
            /* All of it read: our FIN now comes after the client's last
             * byte, so its kernel has no reason to reset. */
            tls_close_notify(c->tls);
            conn_close(c, "early answer given, the rest of the body drained");
            return;
        }
        if (c->drain_got >= DRAIN_BYTES || pf_mono_ms() >= c->drain_end) {
            s->stats.drains_cut++;
            conn_close(c, "early answer given; stopped draining its body (size or time limit)");
            return;
        }
    }
    if (got)
        set_state(c, ST_DRAIN, TQ_DRAIN); /* the idle deadline restarts */
}

/* What to do after a handshake step (loop thread). */
static void handshake_result(struct conn *c, int r)
{
    struct server *s = c->srv;

    if (r == 0) {
        if (tls_resumed(c->tls))
            s->stats.handshakes_resumed++;
        c->st = ST_HEAD; /* same deadline: handshake and head share it */
        want(c, LOOP_READ);
        if (c->st != ST_CLOSED)
            conn_read_head(c);
        return;
    }
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
        want(c, r == TLS_WANT_READ ? LOOP_READ : LOOP_WRITE);
        return;
    }
    s->stats.handshakes_failed++;
    if (ratelog_ok(&s->rl_tls, pf_mono_ms()))
        pf_info("%s: TLS handshake failed: %s", c->peer,
                r == TLS_EOF ? "client closed the connection" : tls_last_error(c->tls));
    conn_close(c, "TLS handshake failed");
}

static void hs_run(struct offload_job *j)
{
    struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, hs));
    c->hs_rc = atomic_load(&c->hs_cancel) ? TLS_ERROR : tls_handshake(c->tls);
}

static void hs_done(struct offload_job *j)
{
    struct conn *c = (struct conn *)((char *)j - offsetof(struct conn, hs));

    c->in_hs = false;
    if (c->close_after) {
        conn_close(c, c->close_after);
        return;
    }
    if (c->srv->stopping) {
        conn_close(c, "collector stopping");
        return;
    }
    c->w.fn = conn_event;
    if (loop_add(c->srv->loop, &c->w, 0)) {
        conn_close(c, "epoll_ctl failed");
        return;
    }
    handshake_result(c, c->hs_rc);
}

/* The socket has handshake bytes: run the next step on an offload thread.
 * Meanwhile the socket is out of epoll altogether: a hang-up is reported
 * even for a quiet registration, and must not start a second step. */
static void conn_handshake(struct conn *c)
{
    loop_del(c->srv->loop, &c->w);
    c->in_hs = true;
    offload_submit(c->srv->hs, &c->hs);
}

static void conn_event(void *ud, unsigned events)
{
    struct conn *c = ud;

    switch (c->st) {
    case ST_HANDSHAKE:
        conn_handshake(c);
        break;
    case ST_IDLE:
    case ST_HEAD:
        conn_read_head(c);
        break;
    case ST_BODY:
        conn_read_body(c);
        break;
    case ST_CONTINUE:
    case ST_WRITE:
        conn_write(c);
        break;
    case ST_DRAIN:
        conn_drain(c);
        break;
    case ST_WAIT:
        /* Nothing is asked for while a route works, so this is an error
         * or a hang-up: nobody is left to answer. */
        conn_close(c, "client went away while its request was processed");
        break;
    case ST_CLOSED:
        break;
    }
}

/* ---- accepting ---- */

static void conn_new(struct server *s, int fd, const struct sockaddr_storage *sa)
{
    struct conn *c = calloc(1, CONN_SIZE + s->o->ctx_size);
    int one = 1;

    if (!c || tls_conn_new(s->tls, fd, &c->tls) != PF_OK) {
        free(c);
        close(fd);
        pf_warn("out of memory: connection refused");
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->srv = s;
    c->fd = fd;
    c->tq = TQ_NONE;
    c->w.fd = fd;
    c->w.fn = conn_event;
    c->w.ud = c;
    pf_buf_init(&c->in, HTTP_HEAD_MAX);
    pf_buf_init(&c->out, EXCHANGE_OUT_MAX + 4096);
    pf_buf_init(&c->x.out, EXCHANGE_OUT_MAX);
    c->x.srv = s;
    c->x.req = &c->req;
    c->x.peer = c->peer;
    c->x.ctx = s->o->ctx_size ? (char *)c + CONN_SIZE : NULL;
    c->hs.run = hs_run;
    c->hs.done = hs_done;
    atomic_init(&c->hs_cancel, false);
    listen_peer_text(sa, c->peer, sizeof(c->peer));
    if (loop_add(s->loop, &c->w, LOOP_READ)) {
        conn_free(c);
        close(fd);
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->stats.connections_open++;
    s->stats.connections_accepted++;
    set_state(c, ST_HANDSHAKE, TQ_HEADER);
}

static void on_accept(void *ud, unsigned events)
{
    struct server *s = ud;

    for (int i = 0; i < ACCEPT_BATCH && s->accepting; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int fd = accept4(s->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                pf_warn("accept: %s; pausing new connections for %d ms", strerror(errno),
                        ACCEPT_PAUSE_MS);
                s->accepting = false;
                s->accept_resume = pf_mono_ms() + ACCEPT_PAUSE_MS;
                loop_set(s->loop, &s->lw, 0);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                pf_warn("accept: %s", strerror(errno));
            }
            return;
        }
        if (s->nconns >= s->max_conns) {
            s->stats.connections_refused++;
            if (ratelog_ok(&s->rl_refused, pf_mono_ms()))
                pf_warn("connection limit (%zu) reached: refusing a new connection",
                        s->max_conns);
            close(fd);
            continue;
        }
        conn_new(s, fd, &sa);
    }
}

/* ---- periodic work ---- */

static void periodic(struct server *s, long long now)
{
    if (s->o->tick)
        s->o->tick(s->o->ud, now);
    if (!s->accepting && !s->stopping && now >= s->accept_resume) {
        s->accepting = true;
        loop_set(s->loop, &s->lw, LOOP_READ);
    }
}

/* Closes every connection whose deadline passed; returns the ms until the
 * next deadline (or limit). */
static long long expire(struct server *s, long long now, long long limit)
{
    static const char *const why[TQ_N] = {"header timeout (handshake and head too slow)",
                                          "body timeout", "idle keep-alive timeout",
                                          "write timeout",
                                          "early answer given; the client stopped sending its body"};
    long long next = limit;

    for (int q = 0; q < TQ_N; q++) {
        struct conn *c;
        while ((c = s->tqs[q].head) && c->deadline <= now) {
            uint64_t *counter = q == TQ_HEADER  ? &s->stats.timeouts_header
                                : q == TQ_BODY  ? &s->stats.timeouts_body
                                : q == TQ_IDLE  ? &s->stats.timeouts_idle
                                : q == TQ_WRITE ? &s->stats.timeouts_write
                                                : &s->stats.drains_idle;
            (*counter)++;
            if (q == TQ_IDLE || q == TQ_DRAIN)
                tls_close_notify(c->tls); /* nothing unread: a clean end */
            conn_close(c, why[q]);
        }
        if (c && c->deadline - now < next)
            next = c->deadline - now;
    }
    return next;
}

static void bury(struct server *s)
{
    while (s->graveyard) {
        struct conn *c = s->graveyard;
        s->graveyard = c->grave;
        conn_free(c);
    }
}

/* ---- signals and the database's completions ---- */

static void begin_stop(struct server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_deadline = pf_mono_ms() + STOP_GRACE_MS;
    pf_info("stopping: no new connections; %zu open, waiting up to %d s for requests in flight",
            s->nconns, STOP_GRACE_MS / 1000);
    loop_del(s->loop, &s->lw);
    close(s->lfd);
    s->lfd = -1;
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->st == ST_IDLE || c->st == ST_HANDSHAKE || c->st == ST_HEAD || c->st == ST_DRAIN)
            conn_close(c, "collector stopping");
    }
}

static void on_signal(void *ud, unsigned events)
{
    struct server *s = ud;
    struct signalfd_siginfo si;

    while (read(s->sfd, &si, sizeof(si)) == sizeof(si)) {
        pf_info("signal %u received", si.ssi_signo);
        begin_stop(s);
    }
}

static void on_watch(void *ud, unsigned events)
{
    struct watch *w = ud;
    w->fn(w->ud);
}

static void on_handshakes(void *ud, unsigned events)
{
    struct server *s = ud;
    offload_complete(s->hs);
}

static void close_all(struct server *s, const char *why)
{
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c, why);
    }
}

/* ---- set-up ---- */

enum pf_rc server_new(const struct server_conf *o, struct server **out, char *err,
                      size_t errlen)
{
    struct server *s;
    sigset_t mask;
    enum pf_rc rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return PF_NOMEM;
    }
    s->o = o;
    s->lfd = s->sfd = -1;
    s->tqs[TQ_HEADER].timeout_ms = (long long)o->header_timeout_s * 1000;
    s->tqs[TQ_BODY].timeout_ms = (long long)o->body_timeout_s * 1000;
    s->tqs[TQ_IDLE].timeout_ms = (long long)o->idle_timeout_s * 1000;
    s->tqs[TQ_WRITE].timeout_ms = (long long)o->write_timeout_s * 1000;
    s->tqs[TQ_DRAIN].timeout_ms = DRAIN_IDLE_MS;
    s->body_budget = (size_t)o->body_budget_mb * 1024 * 1024;
    signal(SIGPIPE, SIG_IGN);
    /* Blocked before any worker thread starts, so they inherit the mask
     * and the signals arrive only through the signalfd. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    s->max_conns = listen_raise_nofile((size_t)o->max_connections);
    s->max_draining = s->max_conns / 4 < DRAIN_CONNS_MAX ? s->max_conns / 4 : DRAIN_CONNS_MAX;
    if (s->max_draining == 0)
        s->max_draining = 1;

    if ((rc = tls_server_new(o->cert, o->key, &s->tls, err, errlen)))
        goto bad;
    if ((rc = listen_tcp(o->listen, &s->lfd, err, errlen)))
        goto bad;
    if (loop_new(&s->loop)) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        rc = PF_IO;
        goto bad;
    }
    s->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sfd < 0) {
        snprintf(err, errlen, "signalfd: %s", strerror(errno));
        rc = PF_IO;
        goto bad;
    }
    if ((rc = offload_new((int)o->tls_threads, &s->hs))) {
        snprintf(err, errlen, "cannot start the TLS threads: %s", pf_strerror(rc));
        goto bad;
    }
    s->lw = (struct loop_watch){.fd = s->lfd, .fn = on_accept, .ud = s};
    s->sw = (struct loop_watch){.fd = s->sfd, .fn = on_signal, .ud = s};
    s->hsw = (struct loop_watch){.fd = offload_event_fd(s->hs), .fn = on_handshakes, .ud = s};
    if (loop_add(s->loop, &s->lw, LOOP_READ) || loop_add(s->loop, &s->sw, LOOP_READ) ||
        loop_add(s->loop, &s->hsw, LOOP_READ)) {
        snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
        rc = PF_IO;
        goto bad;
    }
    s->accepting = true;
    *out = s;
    return PF_OK;
bad:
    server_free(s);
    return rc;
}

enum pf_rc server_watch(struct server *s, int fd, void (*fn)(void *ud), void *ud)
{
    struct watch *w;

    if (s->nwatches == WATCH_MAX)
        return PF_TOOBIG;
    w = &s->watches[s->nwatches];
    *w = (struct watch){.w = {.fd = fd, .fn = on_watch, .ud = w}, .fn = fn, .ud = ud};
    if (loop_add(s->loop, &w->w, LOOP_READ))
        return PF_IO;
    s->nwatches++;
    return PF_OK;
}

enum pf_rc server_run(struct server *s)
{
    for (;;) {
        long long wait, now = pf_mono_ms();
        periodic(s, now);
        wait = expire(s, now, 1000);
        bury(s);
        if (s->stopping && (s->nconns == 0 || now >= s->stop_deadline))
            break;
        if (loop_wait(s->loop, wait < 0 ? 0 : (int)wait) < 0) {
            pf_error("epoll_wait: %s", strerror(errno));
            break;
        }
        bury(s);
    }
    close_all(s, "collector stopped");
    bury(s);
    return PF_OK;
}

void server_close_all(struct server *s)
{
    if (!s)
        return;
    close_all(s, "collector stopped");
    /* Joining the TLS threads runs the done() of their last steps, which
     * closes the connections they held. */
    offload_free(s->hs);
    s->hs = NULL;
}

void server_free(struct server *s)
{
    if (!s)
        return;
    server_close_all(s);
    bury(s);
    for (size_t i = 0; i < s->nwatches; i++)
        loop_del(s->loop, &s->watches[i].w);
    loop_free(s->loop);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->sfd >= 0)
        close(s->sfd);
    tls_server_free(s->tls);
    free(s);
}
