/* SPDX-License-Identifier: MIT */
/* capacity_api.h: the capacity engine's read side over HTTP (docs/protocol.md
 * section 3, docs/cli.md) and `portfleet-collector report`.
 *
 *   GET /v1/findings  ?site= &host=        findings JSON
 *   GET /v1/plan      ?site=               site plans JSON
 *   GET /v1/hosts     ?site=               hosts JSON
 *   GET /report       ?format=html|csv|json|text &site= (admin token or ?token=):
 *                     HTML: the fleet overview (with ?site=, that site's page)
 *   GET /report/site/NAME                  one site's page (NAME percent-encoded)
 *   GET /report/host/AGENT_ID              one host's page
 *   GET /report.csv   ?site=               the CSV export
 *   GET /metrics                           Prometheus text (admin token or ?token=)
 *
 * Every endpoint also takes ?now= (RFC 3339 or epoch seconds; default the
 * wall clock), ?window_days= (1..60, default 7) and ?horizon_days=
 * (1..730, default 90): analysis time is a parameter, never read inside
 * the analysis, and all of it is taken_at. Each request runs on a database
 * worker: load the rollups (analysis_db.h), analyse (capacity.h), render
 * (report.h); the analysis and a host's detail are shared between requests
 * until the database changes (capacity/analysis_cache.h, --analysis-cache-mb,
 * --analysis-reuse). */
#ifndef PF_CAPACITY_API_H
#define PF_CAPACITY_API_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "analysis_cache.h"
#include "capacity.h"
#include "error.h"
#include "host_detail.h"

struct exchange;

/* What a capacity route answers: the route's arg (routes.c). */
enum capacity_view {
    CAPACITY_FINDINGS,
    CAPACITY_PLAN,
    CAPACITY_HOSTS,
    CAPACITY_REPORT,
    CAPACITY_REPORT_CSV,
    CAPACITY_METRICS,
    CAPACITY_SITE_PAGE,
    CAPACITY_HOST_PAGE
};

/* The route handler of the capacity routes (loop thread): defers to a
 * database worker, which answers what the route's arg names. */
void capacity_api_handle(struct exchange *x);

/* What one answer shows, and where every view takes its data from: the
 * analysis of a scope, and for a host page the host's stored detail. */
struct capacity_scope {
    /* The tenant filter: NULL or "" for every tenant (operators); else
     * only that tenant's agents are read, a host of another is PF_NOTFOUND. */
    const char *tenant;
    const char *site;     /* NULL or "": every site */
    const char *agent_id; /* a host: its whole site is analysed (site
                             findings and the plan need the peers), and
                             its detail loaded; site is then ignored */
    bool wall_clock;      /* p->now is the wall clock, not asked for */
};
struct acache;
struct acache_entry;
struct capacity_data {
    const struct capacity *c;         /* read-only: it may be shared */
    const struct host_detail *detail; /* agent_id was given; else NULL */
    /* Where they live: the cache (held until capacity_data_free), or
     * here. */
    struct acache *cache;
    struct acache_entry *held, *held_detail;
    struct capacity *own;
    struct host_detail own_detail;
    bool hit; /* the analysis came from the cache */
    /* the database's version it was read at (cache given; else "") */
    char version[ACACHE_VERSION_LEN + 1];
};
/* Loads and analyses scope s at p, or takes both from cache (may be NULL:
 * capacity/analysis_cache.h) when the database has not changed since.
 * PF_OK and *out (free with capacity_data_free); PF_NOTFOUND: no such host
 * (a site with no host is an empty analysis, which its page turns into
 * 404); PF_AGAIN: the database (why in err); PF_INVALID (why in err);
 * PF_NOMEM. */
enum pf_rc capacity_load(PGconn *pg, struct acache *cache, const struct fleet_params *p,
                         const struct capacity_scope *s, struct capacity_data *out, char *err,
                         size_t errlen);
void capacity_data_free(struct capacity_data *d);

/* The analysis cache the server's requests share, made on first use with
 * o's --analysis-cache-mb and --analysis-reuse; NULL when it has none.
 * The alert evaluator analyses through it too (alert.h). */
struct copts;
struct acache *capacity_shared_cache(const struct copts *o);

/* After a transaction of the caller's own on pg that wrote nothing an
 * analysis reads (the alert evaluator's state): when the database's
 * version now is what before (capacity_data.version) becomes with that one
 * transaction and no other write, the cache's entries read at before are
 * still current and move to the new version, so the next request shares
 * them instead of analysing the fleet again. */
void capacity_cache_own_write(PGconn *pg, struct acache *cache, const char *before);

/* Every CAPACITY_WARM_MS on a database worker (serve.h's warm): loads
 * the fleet mirror at start (--analysis-mirror), then refreshes it so a
 * request finds little to read. options: the server's struct copts. */
#define CAPACITY_WARM_MS 30000
void capacity_warm(PGconn *pg, void *options);
/* The mirror's state into st; false when there is none. */
struct fmirror_status;
bool capacity_mirror_status(struct fmirror_status *st);

/* `portfleet-collector report --db CONNINFO [--site S] [--format
 * text|json|csv|html] [--out FILE|DIR] [--now T] [--window-days N]
 * [--horizon-days N]`; argv[0] is "report". --db may come from
 * PORTFLEET_DB. HTML into a FILE (or stdout) is the single page with
 * every site; into a DIR (an existing directory, a path ending in '/', or
 * one not ending in .html or .htm) it is the overview (index.html), a
 * page per site and per host, linked as the collector serves them.
 * Returns the exit code: 0, 1 runtime failure, 2 usage. */
int capacity_report_main(int argc, char **argv);

#endif
