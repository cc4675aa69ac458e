/* SPDX-License-Identifier: MIT */
/* serve.c: the collector's server, put together (serve.h). */
#include "serve.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alert.h"
#include "auth_cache.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"
#include "upkeep.h"

#define SUMMARY_MS 60000     /* a counters line in the log */
#define NODE_KEY_SLOTS 4096  /* node keys cached (auth_cache.h) */

struct serve {
    const struct copts *o;
    struct server_conf conf;
    struct server *srv;
    struct db *db;
    struct access *access;         /* tokens and sessions */
    struct auth_gen *auth_gen;     /* revocation generation (auth_cache.h) */
    struct auth_watch *auth_watch; /* keeps it fresh */
    struct auth_cache *node_keys;  /* node key hash -> agent id */
    struct alert *alert;           /* notifications: threads of their own */
    struct upkeep upkeep;
    void (*signin_page)(struct exchange *x, const char *why); /* serve_app's */
    struct server_stats last;
    long long next_summary;
};

/* x->ctx: what the collector keeps per request. */
struct serve_ctx {
    struct access_who who;
    struct db_job job;
    struct exchange *x;
};

static struct serve *serve_of(const struct exchange *x)
{
    return server_ud(x->srv);
}

struct access_who *serve_who(struct exchange *x)
{
    return &((struct serve_ctx *)x->ctx)->who;
}

const struct copts *serve_opts(const struct exchange *x)
{
    return serve_of(x)->o;
}

struct db *serve_db(const struct exchange *x)
{
    return serve_of(x)->db;
}

struct access *serve_access(const struct exchange *x)
{
    return serve_of(x)->access;
}

struct auth_cache *serve_node_keys(const struct exchange *x)
{
    return serve_of(x)->node_keys;
}

struct exchange *exchange_of(struct db_job *j)
{
    return ((struct serve_ctx *)((char *)j - offsetof(struct serve_ctx, job)))->x;
}

static void job_done(struct db_job *j)
{
    exchange_resume(exchange_of(j));
}

void exchange_defer(struct exchange *x, const struct db_job_ops *ops)
{
    struct serve_ctx *ctx = x->ctx;
    struct db *db = serve_db(x);

    ctx->x = x;
    ctx->job.ops = ops;
    ctx->job.weight = x->body_len;
    ctx->job.done = job_done;
    if (db_submit(db, &ctx->job) != PF_OK) {
        pf_warn("%s: %s request refused, %zu requests already wait for the database",
                x->peer, ops->name, db_queue_depth(db));
        exchange_error(x, 429, "overloaded", "too many requests wait for the database");
        return;
    }
    exchange_hold(x);
}

/* The gate of every route of ROUTE_READ and above (server.h's admit). */
static int admit(void *ud, struct exchange *x, const char **code, const char **msg)
{
    struct serve *sv = ud;
    int verdict = access_decide(sv->access, x->req, access_route_role(x->route->auth),
                                pf_time_now(), serve_who(x), code, msg);

    if (verdict == 401 && x->route->signin_form && strcmp(x->req->method, "GET") == 0)
        sv->signin_page(x, *code);
    return verdict;
}

static void summary(struct serve *sv, long long now)
{
    const struct server_stats *a = server_stats(sv->srv), *b = &sv->last;

    if (a->requests != b->requests || a->connections_accepted != b->connections_accepted)
        pf_info("last %d s: %llu connections, %llu requests, %llu snapshots accepted, %llu "
                "duplicates, answers 4xx %llu, 5xx %llu, 429 %llu; %zu connections open, "
                "database %s, %zu requests queued",
                SUMMARY_MS / 1000,
                (unsigned long long)(a->connections_accepted - b->connections_accepted),
                (unsigned long long)(a->requests - b->requests),
                (unsigned long long)(a->snapshots_accepted - b->snapshots_accepted),
                (unsigned long long)(a->snapshots_duplicate - b->snapshots_duplicate),
                (unsigned long long)(a->answers_4xx - b->answers_4xx),
                (unsigned long long)(a->answers_5xx - b->answers_5xx),
                (unsigned long long)(a->answers_429 - b->answers_429),
                (size_t)a->connections_open, db_up(sv->db) ? "up" : "down",
                db_queue_depth(sv->db));
    sv->last = *a;
    sv->next_summary = now + SUMMARY_MS;
}

static void tick(void *ud, long long now)
{
    struct serve *sv = ud;

    upkeep_tick(&sv->upkeep, sv->db, now);
    if (now >= sv->next_summary)
        summary(sv, now);
}

static void on_db(void *ud)
{
    db_complete(((struct serve *)ud)->db);
}

static void serve_free(struct serve *sv)
{
    alert_free(sv->alert);
    /* Connections first; joining the database workers then runs the done()
     * of their last jobs, which frees the connections those jobs held. */
    server_close_all(sv->srv);
    db_free(sv->db);
    access_free(sv->access);
    server_free(sv->srv);
    auth_watch_stop(sv->auth_watch);
    auth_cache_free(sv->node_keys);
    auth_gen_free(sv->auth_gen);
}

static enum pf_rc serve_new(struct serve *sv, const struct copts *o, const struct serve_app *app,
                            char *err, size_t errlen)
{
    struct db_opts dbo;
    enum pf_rc rc;

    memset(sv, 0, sizeof(*sv));
    sv->o = o;
    sv->conf = (struct server_conf){
        .listen = o->listen,
        .cert = o->cert,
        .key = o->key,
        .max_connections = o->max_connections,
        .header_timeout_s = o->header_timeout_s,
        .body_timeout_s = o->body_timeout_s,
        .idle_timeout_s = o->idle_timeout_s,
        .write_timeout_s = o->write_timeout_s,
        .body_budget_mb = o->body_budget_mb,
        .tls_threads = o->tls_threads,
        .retry_after_s = o->retry_after_s,
        .ctx_size = sizeof(struct serve_ctx),
        .ud = sv,
        .admit = admit,
        .tick = tick,
    };
    sv->conf.routes = app->routes;
    sv->conf.nroutes = app->nroutes;
    sv->signin_page = app->signin_page;
    /* The server first: it blocks the stop signals for the threads below. */
    if ((rc = server_new(&sv->conf, &sv->srv, err, errlen)))
        return rc;
    dbo.conninfo = o->db;
    dbo.workers = (int)o->db_workers;
    dbo.queue_max = (size_t)o->queue_max;
    dbo.on_connect = store_on_connect;
    if ((rc = db_new(&dbo, &sv->db))) {
        snprintf(err, errlen, "cannot start the database workers: %s", pf_strerror(rc));
        return rc;
    }
    if ((rc = access_new(o->db, o->admin_token, &sv->access))) {
        snprintf(err, errlen, "cannot start the token cache: %s", pf_strerror(rc));
        return rc;
    }
    sv->auth_gen = auth_gen_new();
    sv->node_keys = sv->auth_gen ? auth_cache_new(sv->auth_gen, NODE_KEY_SLOTS) : NULL;
    if (!sv->node_keys) {
        snprintf(err, errlen, "out of memory");
        return PF_NOMEM;
    }
    if ((rc = auth_watch_start(sv->auth_gen, o->db, &sv->auth_watch))) {
        snprintf(err, errlen, "cannot start the credential watcher: %s", pf_strerror(rc));
        return rc;
    }
    if ((rc = alert_new(o, &sv->alert, err, errlen)))
        return rc;
    if (server_watch(sv->srv, db_event_fd(sv->db), on_db, sv)) {
        snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
        return PF_IO;
    }
    return PF_OK;
}

int serve_main(const struct copts *o, const struct serve_app *app)
{
    struct serve sv;
    char err[512];
    long long now;
    enum pf_rc rc = serve_new(&sv, o, app, err, sizeof(err));

    if (rc) {
        serve_free(&sv);
        pf_error("%s", err);
        return rc == PF_INVALID ? 2 : 1;
    }
    now = pf_mono_ms();
    sv.next_summary = now + SUMMARY_MS;
    upkeep_init(&sv.upkeep, (int)o->retention_days, (int)o->rollup_retention_days, now);
    if (app->warm)
        upkeep_set_warm(&sv.upkeep, app->warm, (void *)o, app->warm_every_ms, now);
    pf_info("serving on %s: at most %zu connections, timeouts head %llus body %llus idle %llus, "
            "%llu database workers, %llu TLS threads, retention %llu days",
            o->listen, server_max_connections(sv.srv), (unsigned long long)o->header_timeout_s,
            (unsigned long long)o->body_timeout_s, (unsigned long long)o->idle_timeout_s,
            (unsigned long long)o->db_workers, (unsigned long long)o->tls_threads,
            (unsigned long long)o->retention_days);
    rc = server_run(sv.srv);
    serve_free(&sv);
    pf_info("stopped");
    return rc ? 1 : 0;
}
