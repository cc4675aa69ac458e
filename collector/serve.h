/* SPDX-License-Identifier: MIT */
/* serve.h: `portfleet-collector serve`, the collector as an HTTPS server:
 * the server of net/ (server.h) with the route table main.c hands in
 * (routes.c's), the
 * database workers (db.h), the tokens and sessions (access.h) that admit
 * requests to credentialed routes, the node key cache of ingest
 * (auth_cache.h), notifications (alert.h) and the database upkeep
 * (upkeep.h).
 *
 * Route handlers reach these through their exchange: serve_db(x) and the
 * others below, and exchange_defer() to run database work. */
#ifndef PF_SERVE_H
#define PF_SERVE_H

#include "access.h"
#include "db.h"
#include "options.h"
#include "server.h"

struct auth_cache;

/* What the collector serves, handed in by main.c so that serve.c includes
 * no handler: the routes (static, routes.h) and the page answering a
 * browser without credentials on a route marked signin_form (signin.h's
 * signin_form). */
struct serve_app {
    const struct route *routes;
    size_t nroutes;
    void (*signin_page)(struct exchange *x, const char *why);
    /* Run on a database worker at start and then every warm_every_ms
     * (capacity_api.h's capacity_warm); NULL: nothing. */
    void (*warm)(PGconn *pg, void *options);
    long long warm_every_ms;
};

/* Runs the collector with options o serving app until SIGTERM or SIGINT.
 * Returns the exit code: 0, 1 runtime failure, 2 bad configuration
 * (logged). */
int serve_main(const struct copts *o, const struct serve_app *app);

/* Hands x to a database worker that runs ops->run on it; x is answered
 * when the job is done. When the queue is full, answers 429 at once. Loop
 * thread only. */
void exchange_defer(struct exchange *x, const struct db_job_ops *ops);
/* The exchange a database job of exchange_defer belongs to. */
struct exchange *exchange_of(struct db_job *j);

/* Who asks (access.h), decided before the route runs: its role and
 * tenant. Routes filter by it; ROUTE_PUBLIC and ROUTE_NODE leave it
 * zeroed (ACCESS_NONE). */
struct access_who *serve_who(struct exchange *x);
const struct copts *serve_opts(const struct exchange *x);
struct db *serve_db(const struct exchange *x);
/* The token and session table of this collector (access.h). */
struct access *serve_access(const struct exchange *x);
/* The node key cache of ingest (auth_cache.h), kept fresh by the
 * collector's revocation watcher. */
struct auth_cache *serve_node_keys(const struct exchange *x);

#endif
