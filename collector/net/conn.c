/* SPDX-License-Identifier: MIT */
/* conn.c: one connection's life on the loop thread, as a state machine
 * (conn.h's enum cstate): its TLS handshake, run step by step on the
 * offload threads while the socket is out of epoll; reading the request
 * head and body; writing the answer; keep-alive or close; the lingering
 * close after an early answer (conn.h, DRAIN_BYTES); and the timeout lists
 * a connection moves between (server.c expires them). What a request
 * means is exchange.c's: conn.c hands it a complete head and a complete
 * body. */
#include "conn.h"

#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "listen.h"
#include "timeutil.h"
#include "tls.h"

#define OUT_KEEP (64 * 1024) /* answer buffers larger than this are freed after use */

static void conn_read_head(struct conn *c);
static void conn_drain(struct conn *c);
static void conn_event(void *ud, unsigned events);

/* ---- timeout lists and events ---- */

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

void conn_set_state(struct conn *c, enum cstate st, int q)
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

void conn_want(struct conn *c, unsigned events)
{
    if (loop_set(c->srv->loop, &c->w, events))
        conn_close(c, "epoll_ctl failed");
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

void conn_free(struct conn *c)
{
    release_body(c);
    tls_conn_free(c->tls);
    pf_buf_free(&c->in);
    pf_buf_free(&c->out);
    pf_buf_free(&c->x.out);
    free(c);
}

void conn_close(struct conn *c, const char *why)
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
        c->dead = true; /* the route still uses x: exchange_resume frees it */
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
    conn_set_state(c, ST_DRAIN, TQ_DRAIN);
    conn_want(c, LOOP_READ);
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
    conn_set_state(c, ST_IDLE, TQ_IDLE);
    conn_want(c, LOOP_READ);
    if (c->st != ST_CLOSED && (c->in.len > 0 || tls_pending(c->tls) > 0))
        conn_read_head(c);
}

/* ---- reading and writing ---- */

/* Handles the results of tls_read/tls_write that are not data. */
static void tls_wait_or_close(struct conn *c, ssize_t r, const char *doing)
{
    if (r == TLS_WANT_READ) {
        conn_want(c, LOOP_READ);
    } else if (r == TLS_WANT_WRITE) {
        conn_want(c, LOOP_WRITE);
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
                conn_set_state(c, ST_HEAD, TQ_HEADER); /* the header deadline starts now */
            end = http_head_end(c->in.data, c->in.len, c->scanned);
            c->scanned = c->in.len;
            if (end) {
                c->head_len = end;
                exchange_dispatch(c);
                return;
            }
        }
        space = HTTP_HEAD_MAX - c->in.len;
        if (space == 0) {
            pf_warn("%s: request head over %d bytes; answering 431", c->peer, HTTP_HEAD_MAX);
            c->head_len = c->in.len;
            memset(&c->req, 0, sizeof(c->req));
            exchange_refuse(c, 431, "headers_too_large", "request head too large", NULL);
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

void conn_read_body(struct conn *c)
{
    while (c->body_have < c->body_len) {
        ssize_t n = tls_read(c->tls, c->body + c->body_have, c->body_len - c->body_have);
        if (n <= 0) {
            tls_wait_or_close(c, n, "reading a request body");
            return;
        }
        c->body_have += (size_t)n;
    }
    exchange_run(c);
}

void conn_write(struct conn *c)
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
        conn_want(c, LOOP_READ);
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
            conn_want(c, n == TLS_WANT_READ ? LOOP_READ : LOOP_WRITE);
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
        conn_set_state(c, ST_DRAIN, TQ_DRAIN); /* the idle deadline restarts */
}

/* ---- the TLS handshake, on the offload threads ---- */

/* What to do after a handshake step (loop thread). */
static void handshake_result(struct conn *c, int r)
{
    struct server *s = c->srv;

    if (r == 0) {
        if (tls_resumed(c->tls))
            s->stats.handshakes_resumed++;
        c->st = ST_HEAD; /* same deadline: handshake and head share it */
        conn_want(c, LOOP_READ);
        if (c->st != ST_CLOSED)
            conn_read_head(c);
        return;
    }
    if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
        conn_want(c, r == TLS_WANT_READ ? LOOP_READ : LOOP_WRITE);
        return;
    }
    s->stats.handshakes_failed++;
    if (server_ratelog_ok(&s->rl_tls, pf_mono_ms()))
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

/* ---- a new connection ---- */

void conn_new(struct server *s, int fd, const struct sockaddr_storage *sa)
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
    conn_set_state(c, ST_HANDSHAKE, TQ_HEADER);
}
