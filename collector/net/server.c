/* SPDX-License-Identifier: MIT */
/* server.c: the server as a whole, on its loop thread: set-up (TLS
 * context, listening socket, TLS threads, the signalfd), accepting under
 * the connection limit (pausing after EMFILE), the loop with its periodic
 * work, expiring the timeout lists, freeing closed connections after each
 * round, and stopping: on SIGTERM or SIGINT no new connections, idle ones
 * closed, requests in flight given STOP_GRACE_MS to finish. One
 * connection's life is conn.c's, one request's exchange.c's. */
#include "conn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "timeutil.h"
#include "tls.h"

#define ACCEPT_BATCH 256
#define ACCEPT_PAUSE_MS 1000      /* after EMFILE */
#define STOP_GRACE_MS 10000       /* requests in flight may finish within */

/* ---- small helpers ---- */

bool server_ratelog_ok(struct ratelog *r, long long now)
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

/* ---- accepting ---- */

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
            if (server_ratelog_ok(&s->rl_refused, pf_mono_ms()))
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
