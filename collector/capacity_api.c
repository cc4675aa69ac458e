/* SPDX-License-Identifier: MIT */
/* capacity_api.c: the capacity endpoints and `report` (see capacity_api.h):
 * parameters in, one analysis per request on a database worker, the
 * rendering out. */
#include "capacity_api.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>

#include "access.h"
#include "alert.h"
#include "alert_api.h"
#include "analysis_cache.h"
#include "analysis_db.h"
#include "capacity.h"
#include "config.h"
#include "fleet_mirror.h"
#include "host_detail_db.h"
#include "http.h"
#include "log.h"
#include "report.h"
#include "route.h"
#include "serve.h"
#include "server.h"
#include "signin.h"
#include "timeutil.h"

#define REPORT_OUT_MAX EXCHANGE_OUT_MAX

struct request {
    struct fleet_params p;
    char tenant[PF_TENANT_LEN]; /* "" = every tenant (operators only) */
    char site[PF_ID_LEN];
    char host[PF_NAME_LEN];
    char format[16];
    char page[PF_ID_LEN]; /* /report/site/NAME, /report/host/ID: decoded */
    char link_query[128]; /* the analysis parameters given, for the pages' links */
    bool now_given;       /* ?now= or --now; else p.now is the wall clock */
};

/* ---- parameters ---- */

static int parse_time(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (!errno && *s && !*end && v > 0) {
        *out = v;
        return 0;
    }
    return pf_time_parse(s, out) == PF_OK ? 0 : -1;
}

static int parse_days(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || !*s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* Appends one parameter to the pages' link query. Values are numbers, so
 * they need no encoding. */
static void link_param(struct request *r, const char *fmt, ...) PF_PRINTF(2, 3);
static void link_param(struct request *r, const char *fmt, ...)
{
    size_t n = strlen(r->link_query);
    va_list ap;

    if (n + 2 >= sizeof(r->link_query))
        return;
    r->link_query[n] = n ? '&' : '?';
    n++;
    va_start(ap, fmt);
    vsnprintf(r->link_query + n, sizeof(r->link_query) - n, fmt, ap);
    va_end(ap);
}

/* Fills r from the named values get() finds; on a bad value writes which
 * and why into err and returns -1. */
typedef enum pf_rc (*get_fn)(void *ud, const char *name, char *out, size_t outlen);

static int parse_request(get_fn get, void *ud, struct request *r, char *err, size_t errlen)
{
    char v[PF_NAME_LEN];
    double days;
    enum pf_rc rc;

    memset(r, 0, sizeof(*r));
    fleet_params_default(&r->p);
    snprintf(r->format, sizeof(r->format), "html");
    static const char *const names[] = {"site",        "host",         "format", "now",
                                        "window_days", "horizon_days", "tenant"};
    for (size_t i = 0; i < PF_ARRAY_LEN(names); i++) {
        rc = get(ud, names[i], v, sizeof(v));
        if (rc == PF_NOTFOUND)
            continue;
        if (rc) {
            snprintf(err, errlen, "%s: unreadable value", names[i]);
            return -1;
        }
        switch (i) {
        case 0:
            if (strlen(v) >= sizeof(r->site))
                goto bad;
            snprintf(r->site, sizeof(r->site), "%s", v);
            break;
        case 1:
            snprintf(r->host, sizeof(r->host), "%s", v);
            break;
        case 2:
            if (strcmp(v, "html") && strcmp(v, "csv") && strcmp(v, "json") && strcmp(v, "text"))
                goto bad;
            memcpy(r->format, v, strlen(v) + 1); /* one of the four names above */
            break;
        case 3:
            if (parse_time(v, &r->p.now))
                goto bad;
            r->now_given = true;
            link_param(r, "now=%lld", (long long)r->p.now);
            break;
        case 4:
            if (parse_days(v, 1, 60, &days))
                goto bad;
            r->p.window_s = (int64_t)(days * 86400);
            link_param(r, "window_days=%.17g", days);
            break;
        case 5:
            if (parse_days(v, 1, 730, &r->p.horizon_days))
                goto bad;
            link_param(r, "horizon_days=%.17g", r->p.horizon_days);
            break;
        case 6:
            if (!access_tenant_valid(v)) /* so it fits r->tenant */
                goto bad;
            memcpy(r->tenant, v, strlen(v) + 1);
            break;
        }
        continue;
    bad:
        snprintf(err, errlen, "%s: invalid value", names[i]);
        return -1;
    }
    return 0;
}

static enum pf_rc query_get(void *ud, const char *name, char *out, size_t outlen)
{
    return http_query_get(ud, name, out, outlen);
}

/* ---- the data of every view ---- */

void capacity_data_free(struct capacity_data *d)
{
    if (!d)
        return;
    if (d->cache) {
        acache_release(d->cache, d->held);
        acache_release(d->cache, d->held_detail);
    }
    capacity_free(d->own);
    host_detail_clear(&d->own_detail);
    memset(d, 0, sizeof(*d));
}

/* A UUID's text, as agent ids are: anything else is no host (and must not
 * reach the ::uuid cast as a database error). */
static bool is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        char ch = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? ch != '-'
                 : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                     (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return s[36] == '\0';
}

/* The version of the database an analysis is read from: the text of
 * pg_current_snapshot(), "xmin:xmax:in-progress ids". Every transaction
 * that writes (ingest, rollups, enrolment, revocation, from any collector
 * or tool) is given a transaction id, which moves xmax, and is in the
 * list until it ends; so while the text stays the same, no write has
 * committed or begun since, and an analysis read before is still what a
 * new one would read. Reads assign no id. */
static enum pf_rc db_version(PGconn *pg, char *out, size_t outlen, char *err, size_t errlen)
{
    PGresult *r = PQexec(pg, "SELECT pg_current_snapshot()::text");

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "reading the database's version: %s", PQresultErrorMessage(r));
        PQclear(r);
        return PF_AGAIN;
    }
    snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return PF_OK;
}

static void capacity_free_v(void *c)
{
    capacity_free(c);
}

static void host_detail_free_v(void *d)
{
    host_detail_clear(d);
    free(d);
}

static void cache_key(struct acache_key *k, enum acache_kind kind, const struct fleet_params *p,
                      const struct capacity_scope *s, const char *site, const char *agent_id)
{
    memset(k, 0, sizeof(*k));
    k->kind = kind;
    snprintf(k->tenant, sizeof(k->tenant), "%s", s->tenant ? s->tenant : "");
    snprintf(k->site, sizeof(k->site), "%s", site);
    snprintf(k->agent_id, sizeof(k->agent_id), "%s", agent_id ? agent_id : "");
    k->p = *p;
    k->wall_clock = s->wall_clock;
}

/* The fleet mirror of the server's requests (store/fleet_mirror.h), made
 * at start by capacity_warm() when --analysis-mirror is 1; NULL: none. */
static pthread_mutex_t mirror_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fmirror *mirror;

static struct fmirror *shared_mirror(void)
{
    struct fmirror *m;

    pthread_mutex_lock(&mirror_lock);
    m = mirror;
    pthread_mutex_unlock(&mirror_lock);
    return m;
}

void capacity_warm(PGconn *pg, void *options)
{
    const struct copts *o = options;
    struct fleet_params p;
    struct fmirror *m;
    char err[512];
    enum pf_rc rc;

    if (!o->analysis_mirror)
        return;
    pthread_mutex_lock(&mirror_lock);
    if (!mirror) {
        fleet_params_default(&p);
        mirror = fmirror_new(p.window_s);
        if (!mirror)
            pf_warn("fleet mirror: no memory; every analysis loads in full");
    }
    m = mirror;
    pthread_mutex_unlock(&mirror_lock);
    if (!m)
        return;
    rc = fmirror_refresh(m, pg, 0, err, sizeof(err));
    if (rc && rc != PF_NOTFOUND)
        pf_warn("fleet mirror: %s", rc == PF_AGAIN ? err : pf_strerror(rc));
}

bool capacity_mirror_status(struct fmirror_status *st)
{
    struct fmirror *m = shared_mirror();

    if (m)
        fmirror_status(m, st);
    return m != NULL;
}

/* The analysis of (tenant, site) at p: the cache's, or loaded and put
 * there. */
static enum pf_rc load_analysis(PGconn *pg, const struct fleet_params *p,
                                const struct capacity_scope *s, const char *site,
                                const char *version, struct capacity_data *out, char *err,
                                size_t errlen)
{
    struct acache_key k;
    struct fleet *f = NULL;
    struct capacity *c;
    enum pf_rc rc;
    long long t0 = pf_mono_ms(), t1;
    bool from_mirror;

    if (out->cache) {
        cache_key(&k, ACACHE_ANALYSIS, p, s, site, NULL);
        out->c = acache_get(out->cache, &k, version, t0, &out->held);
        if (out->c) {
            out->hit = true;
            return PF_OK;
        }
    }
    rc = PF_NOTFOUND;
    if (out->cache && shared_mirror())
        rc = fmirror_view(shared_mirror(), pg, p, s->tenant, site, &f, err, errlen);
    from_mirror = rc != PF_NOTFOUND;
    if (rc == PF_NOTFOUND)
        rc = analysis_db_load(pg, p, s->tenant, site, &f, err, errlen);
    t1 = pf_mono_ms();
    if (!rc)
        rc = capacity_analyze(f, p, &c);
    if (rc)
        return rc;
    pf_debug("capacity: %zu hosts: load %lld ms (%s), analysis %lld ms", c->fleet->nhosts,
             t1 - t0, from_mirror ? "mirror" : "full", pf_mono_ms() - t1);
    if (!out->cache) {
        out->c = out->own = c;
        return PF_OK;
    }
    out->c = acache_put(out->cache, &k, version, c, acache_analysis_bytes(c), capacity_free_v,
                        pf_mono_ms(), &out->held);
    return out->c ? PF_OK : PF_NOMEM;
}

/* Host agent_id's detail: the cache's, or loaded and put there. */
static enum pf_rc load_detail(PGconn *pg, const struct fleet_params *p,
                              const struct capacity_scope *s, const char *site, const char *version,
                              struct capacity_data *out, char *err, size_t errlen)
{
    struct acache_key k;
    struct host_detail *d;
    enum pf_rc rc;
    size_t bytes;

    if (!out->cache) {
        rc =
            host_detail_load(pg, out->c->fleet, p->now, s->agent_id, &out->own_detail, err, errlen);
        out->detail = rc ? NULL : &out->own_detail;
        return rc;
    }
    cache_key(&k, ACACHE_HOST_DETAIL, p, s, site, s->agent_id);
    out->detail = acache_get(out->cache, &k, version, pf_mono_ms(), &out->held_detail);
    if (out->detail)
        return PF_OK;
    d = calloc(1, sizeof(*d));
    if (!d)
        return PF_NOMEM;
    rc = host_detail_load(pg, out->c->fleet, p->now, s->agent_id, d, err, errlen);
    if (rc) {
        free(d);
        return rc;
    }
    bytes = sizeof(*d) + d->nhours * (sizeof(*d->hours) + d->nprocs * 2 * sizeof(double));
    out->detail = acache_put(out->cache, &k, version, d, bytes, host_detail_free_v, pf_mono_ms(),
                             &out->held_detail);
    return out->detail ? PF_OK : PF_NOMEM;
}

enum pf_rc capacity_load(PGconn *pg, struct acache *cache, const struct fleet_params *p,
                         const struct capacity_scope *s, struct capacity_data *out, char *err,
                         size_t errlen)
{
    char site[PF_ID_LEN], version[ACACHE_VERSION_LEN + 1] = "";
    enum pf_rc rc = PF_OK;
    long long t0 = pf_mono_ms();

    memset(out, 0, sizeof(*out));
    out->cache = cache;
    snprintf(site, sizeof(site), "%s", s->site ? s->site : "");
    /* The version first: what is read after it is at least as new. */
    if (cache)
        rc = db_version(pg, version, sizeof(version), err, errlen);
    memcpy(out->version, version, sizeof(out->version));
    if (!rc && s->agent_id) {
        if (!is_uuid(s->agent_id))
            return PF_NOTFOUND;
        rc = host_detail_site(pg, s->tenant, s->agent_id, site, sizeof(site), err, errlen);
    }
    if (!rc)
        rc = load_analysis(pg, p, s, site, version, out, err, errlen);
    if (!rc && s->agent_id) {
        if (!fleet_host_find(out->c->fleet, s->agent_id))
            rc = PF_NOTFOUND; /* enrolled, but silent past the analysis's memory */
        else
            rc = load_detail(pg, p, s, site, version, out, err, errlen);
    }
    if (!rc)
        pf_debug("capacity: %zu hosts%s: %s, %lld ms", out->c->fleet->nhosts,
                 s->agent_id ? " and a host's detail" : "",
                 out->hit ? "shared analysis" : "analysed", pf_mono_ms() - t0);
    if (rc)
        capacity_data_free(out);
    return rc;
}

/* pg_current_snapshot()'s text: xmin, xmax and where the list of
 * transactions in progress starts. */
static bool snapshot_parse(const char *s, unsigned long long *xmin, unsigned long long *xmax,
                           const char **xip)
{
    char *end;

    errno = 0;
    *xmin = strtoull(s, &end, 10);
    if (end == s || *end != ':' || errno)
        return false;
    s = end + 1;
    *xmax = strtoull(s, &end, 10);
    if (end == s || *end != ':' || errno)
        return false;
    *xip = end + 1;
    return true;
}

void capacity_cache_own_write(PGconn *pg, struct acache *cache, const char *before)
{
    char now[ACACHE_VERSION_LEN + 1], expect[ACACHE_VERSION_LEN + 1], err[256];
    unsigned long long xmin, xmax;
    const char *xip;
    size_t moved;

    if (!cache || !before[0] || !snapshot_parse(before, &xmin, &xmax, &xip) ||
        db_version(pg, now, sizeof(now), err, sizeof(err)))
        return;
    /* One more transaction, the caller's, took the next id (xmax) and
     * committed; the ones in progress are the same: xmax is one more, xmin
     * too when none was in progress. Any other write since moved xmax
     * further or changed the list. */
    snprintf(expect, sizeof(expect), "%llu:%llu:%s", *xip ? xmin : xmax + 1, xmax + 1, xip);
    if (strcmp(expect, now) != 0)
        return;
    moved = acache_advance(cache, before, now);
    if (moved)
        pf_debug("capacity: %zu shared analyses and details still current after a write "
                 "that does not touch them",
                 moved);
}

/* ---- one analysis ---- */

/* The cache the server's requests share (capacity/analysis_cache.h),
 * made on first use with the server's options; NULL: none. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct acache *cache;
static bool cache_made;

struct acache *capacity_shared_cache(const struct copts *o)
{
    pthread_mutex_lock(&cache_lock);
    if (!cache_made && o->analysis_cache_mb) {
        cache = acache_new(o->analysis_cache_mb, (unsigned)o->analysis_reuse_s);
        if (!cache)
            pf_warn("capacity: no memory for the analysis cache; every request analyses");
    }
    cache_made = true;
    pthread_mutex_unlock(&cache_lock);
    return cache;
}

/* The ingest counters for /metrics, copied on the loop thread (where the
 * server updates them) and read by the worker. */
#define OWN_METRICS 16
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct server_stats stats_copy;
static size_t queue_copy;
static bool db_up_copy;

/* Fills m (OWN_METRICS entries) with the collector's own counters; db_up >= 0
 * overrides portfleet_db_up. Returns how many. */
static size_t own_metrics(struct report_metric *m, int db_up)
{
    size_t n = 0;

    pthread_mutex_lock(&stats_lock);
#define M(name_, help_, type_, v_)                                                                 \
    m[n++] = (struct report_metric){name_, help_, type_, (double)(v_)}
    M("portfleet_snapshots_accepted_total", "Snapshots stored (first time)", "counter",
      stats_copy.snapshots_accepted);
    M("portfleet_snapshots_duplicate_total", "Snapshots received again (already stored)", "counter",
      stats_copy.snapshots_duplicate);
    M("portfleet_http_requests_total", "HTTP requests answered", "counter", stats_copy.requests);
    M("portfleet_http_answers_4xx_total", "Answers 4xx", "counter", stats_copy.answers_4xx);
    M("portfleet_http_answers_5xx_total", "Answers 5xx", "counter", stats_copy.answers_5xx);
    M("portfleet_http_answers_429_total", "Answers 429 (overloaded)", "counter",
      stats_copy.answers_429);
    M("portfleet_connections_open", "TLS connections open", "gauge", stats_copy.connections_open);
    M("portfleet_connections_accepted_total", "TLS connections accepted", "counter",
      stats_copy.connections_accepted);
    M("portfleet_db_queue_depth", "Requests waiting for a database worker", "gauge", queue_copy);
    M("portfleet_db_up", "1 when the database answered last time", "gauge",
      db_up >= 0 ? db_up : db_up_copy);
    pthread_mutex_unlock(&stats_lock);
    pthread_mutex_lock(&cache_lock);
    if (cache) {
        struct acache_stats st;
        acache_stats(cache, &st);
        M("portfleet_analysis_cache_hits_total",
          "Answers from an analysis shared with earlier requests", "counter", st.hits);
        M("portfleet_analysis_cache_misses_total", "Answers that loaded and analysed", "counter",
          st.misses);
        M("portfleet_analysis_cache_entries", "Analyses and host details kept", "gauge",
          st.entries);
        M("portfleet_analysis_cache_bytes", "Their estimated size", "gauge", st.bytes);
    }
    pthread_mutex_unlock(&cache_lock);
#undef M
    return n;
}

/* /metrics while the database is away: the collector's own counters with
 * portfleet_db_up 0 (what an alert on it needs), no host series; for an
 * operator (a tenant's token gets the 503). */
static void metrics_without_db(struct exchange *x)
{
    struct report_metric m[OWN_METRICS];
    size_t n = own_metrics(m, 0);
    enum pf_rc rc = serve_who(x)->role == ACCESS_OPERATOR ? PF_OK : PF_AGAIN;

    pf_buf_reset(&x->out);
    for (size_t i = 0; i < n && !rc; i++)
        rc = pf_buf_printf(&x->out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", m[i].name, m[i].help,
                           m[i].name, m[i].type, m[i].name, m[i].value);
    rc = rc ? rc : alert_metrics_append(&x->out);
    if (rc) {
        exchange_error(x, 503, "unavailable", "the database does not answer");
        return;
    }
    x->status = 200;
    x->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static enum pf_rc render(const struct capacity *c, const struct capacity_data *d,
                         enum capacity_view v, const struct request *r, bool own_counters,
                         struct pf_buf *out, const char **type)
{
    struct report_links links = {false, r->link_query, false};

    *type = "application/json";
    switch (v) {
    case CAPACITY_FINDINGS:
        return report_findings_json(c, r->site, r->host, out);
    case CAPACITY_PLAN:
        return report_plan_json(c, r->site, out);
    case CAPACITY_HOSTS:
        return report_hosts_json(c, r->site, out);
    case CAPACITY_REPORT_CSV:
        *type = "text/csv; charset=utf-8";
        return report_csv(c, r->site, out);
    case CAPACITY_METRICS: {
        struct report_metric m[OWN_METRICS];
        size_t n = own_metrics(m, -1);
        enum pf_rc rc;
        *type = "text/plain; version=0.0.4; charset=utf-8";
        /* The collector's own counters are every tenant's traffic (the
         * notification counters too: destinations of all tenants): for
         * operators only. */
        rc = report_metrics(c, m, own_counters ? n : 0, out);
        return rc || !own_counters ? rc : alert_metrics_append(out);
    }
    case CAPACITY_SITE_PAGE:
        *type = "text/html; charset=utf-8";
        return report_html_site(c, r->tenant, r->page, &links, out);
    case CAPACITY_HOST_PAGE:
        *type = "text/html; charset=utf-8";
        return report_html_host(c, r->page, d->detail, &links, out);
    case CAPACITY_REPORT:
        if (strcmp(r->format, "csv") == 0) {
            *type = "text/csv; charset=utf-8";
            return report_csv(c, r->site, out);
        }
        if (strcmp(r->format, "json") == 0)
            return report_json(c, r->site, out);
        if (strcmp(r->format, "text") == 0) {
            *type = "text/plain; charset=utf-8";
            return report_text(c, r->site, out);
        }
        *type = "text/html; charset=utf-8";
        if (r->site[0]) {
            /* ?site= of the single page: that site's page now, its links
             * made from where it is served. */
            links.at_overview = true;
            return report_html_site(c, r->tenant, r->site, &links, out);
        }
        return report_html_overview(c, &links, out);
    }
    return PF_INVALID;
}

/* Loads (or shares), analyses, renders. PF_AGAIN: database (err says
 * why); PF_NOTFOUND: no such site or host. own_counters: /metrics may
 * show the collector's own counters (every tenant's traffic: operators
 * only). */
static enum pf_rc analyse(PGconn *pg, struct acache *ac, enum capacity_view v,
                          const struct request *r, bool own_counters, struct pf_buf *out,
                          const char **type, char *err, size_t errlen)
{
    struct capacity_scope sc = {r->tenant, r->site, NULL, !r->now_given};
    struct capacity_data d;
    struct capacity view;
    enum pf_rc rc;
    long long t0;

    if (v == CAPACITY_METRICS)
        sc.site = ""; /* /metrics covers every site */
    else if (v == CAPACITY_SITE_PAGE)
        sc.site = r->page;
    else if (v == CAPACITY_HOST_PAGE)
        sc.agent_id = r->page;
    rc = capacity_load(pg, ac, &r->p, &sc, &d, err, errlen);
    if (rc)
        return rc;
    /* The analysis may be shared: this request's acknowledgements go into
     * a copy of its head, not into it. */
    view = *d.c;
    view.acks = NULL;
    view.nacks = 0;
    if (v != CAPACITY_PLAN && v != CAPACITY_HOSTS && v != CAPACITY_REPORT_CSV &&
        v != CAPACITY_METRICS && alert_acks_load(pg, r->tenant, &view.acks, &view.nacks) != PF_OK)
        pf_warn("capacity: acknowledgements could not be read; shown without them");
    t0 = pf_mono_ms();
    rc = render(&view, &d, v, r, own_counters, out, type);
    pf_debug("capacity: render %lld ms, %zu bytes", pf_mono_ms() - t0, out->len);
    free(view.acks);
    capacity_data_free(&d);
    return rc;
}

/* ---- HTTP ---- */

static void run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct exchange *x = exchange_of(jobs[i]);
        enum capacity_view v = (enum capacity_view)x->route->arg;
        struct request r;
        char err[512];
        const char *type = NULL;
        PGconn *pg;
        enum pf_rc rc;

        if (parse_request(query_get, (void *)x->req->query, &r, err, sizeof(err))) {
            exchange_error(x, 400, "invalid", "%s", err);
            continue;
        }
        /* A tenant's token sees its own tenant; naming another answers as
         * a tenant that does not exist would. */
        if (serve_who(x)->role != ACCESS_OPERATOR) {
            if (r.tenant[0] && strcmp(r.tenant, serve_who(x)->tenant) != 0) {
                exchange_error(x, 404, "not_found", "no such tenant");
                continue;
            }
            snprintf(r.tenant, sizeof(r.tenant), "%s", serve_who(x)->tenant);
        }
        if ((v == CAPACITY_SITE_PAGE || v == CAPACITY_HOST_PAGE) &&
            http_path_decode(route_segment(x->route, x->req->path), r.page, sizeof(r.page))) {
            exchange_error(x, 404, "not_found", "no such %s",
                           v == CAPACITY_SITE_PAGE ? "site" : "host");
            continue;
        }
        pg = db_pg(dc);
        if (!pg && v == CAPACITY_METRICS) {
            metrics_without_db(x);
            continue;
        }
        if (!pg) {
            exchange_error(x, 503, "unavailable", "the database does not answer");
            continue;
        }
        pf_buf_reset(&x->out);
        rc = analyse(pg, capacity_shared_cache(serve_opts(x)), v, &r, serve_who(x)->role == ACCESS_OPERATOR,
                     &x->out, &type, err, sizeof(err));
        if (rc == PF_OK && serve_who(x)->by_session && strncmp(type, "text/html", 9) == 0)
            rc = signin_add_signout(&x->out);
        if (rc == PF_OK) {
            x->status = 200;
            x->content_type = type;
            if (strncmp(type, "text/html", 9) == 0)
                snprintf(x->extra, sizeof(x->extra),
                         "Content-Security-Policy: default-src 'none'; style-src "
                         "'unsafe-inline'; form-action 'self'; frame-ancestors 'none'\r\n"
                         "Cache-Control: no-store\r\n");
        } else if (rc == PF_NOTFOUND) {
            exchange_error(x, 404, "not_found", "no such %s",
                           v == CAPACITY_HOST_PAGE ? "host" : "site");
        } else if (rc == PF_AGAIN) {
            db_check(dc);
            pf_warn("capacity: %s", err);
            if (v == CAPACITY_METRICS)
                metrics_without_db(x);
            else
                exchange_error(x, 503, "unavailable", "the database failed: try again");
        } else if (rc == PF_INVALID) {
            exchange_error(x, 400, "invalid", "%s", err);
        } else if (rc == PF_TOOBIG) {
            exchange_error(x, 500, "too_big", "the answer is over %u bytes: ask for one site",
                           (unsigned)REPORT_OUT_MAX);
        } else {
            exchange_error(x, 500, "internal", "analysis failed: %s", pf_strerror(rc));
        }
    }
}

static const struct db_job_ops capacity_ops = {"capacity", 1, 0, run};

void capacity_api_handle(struct exchange *x)
{
    if (x->route->arg == CAPACITY_METRICS) {
        pthread_mutex_lock(&stats_lock);
        stats_copy = *server_stats(x->srv);
        queue_copy = db_queue_depth(serve_db(x));
        db_up_copy = db_up(serve_db(x));
        pthread_mutex_unlock(&stats_lock);
    }
    exchange_defer(x, &capacity_ops);
}

/* ---- portfleet-collector report ---- */

/* The command's options, read with common/config.h as serve's are:
 * "--opt value" and "--opt=value", the last one wins. Flags only: the
 * command reads no config file, and of the environment only PORTFLEET_DB. */
static const struct pf_option_spec report_specs[] = {
    {"db", 1, 0, "CONNINFO", NULL, "libpq connection string or URI (or PORTFLEET_DB)"},
    {"tenant", 1, 0, "T", NULL, "one tenant only"},
    {"site", 1, 0, "S", NULL, "one site only"},
    {"format", 1, 0, "FORMAT", NULL, "text, json, csv or html (default text)"},
    {"out", 1, 0, "FILE|DIR", NULL,
     "write here instead of stdout; html into a DIR: the overview, site and host pages"},
    {"now", 1, 0, "T", NULL, "analyse as of T (RFC 3339 or epoch seconds)"},
    {"window-days", 1, 0, "N", NULL, "days of history to analyse (1-60, default 7)"},
    {"horizon-days", 1, 0, "N", NULL, "days ahead to forecast (1-730, default 90)"},
};

/* Finds option name (underscores as dashes) in the parsed flags. */
static enum pf_rc argv_get(void *ud, const char *name, char *out, size_t outlen)
{
    const struct pf_config *c = ud;
    char flag[64];
    const char *v;

    snprintf(flag, sizeof(flag), "%s", name);
    for (char *p = flag; *p; p++)
        if (*p == '_')
            *p = '-';
    v = pf_config_get(c, flag);
    if (!v)
        return PF_NOTFOUND;
    if (strlen(v) >= outlen)
        return PF_TOOBIG;
    snprintf(out, outlen, "%s", v);
    return PF_OK;
}

static void report_usage(FILE *f)
{
    fprintf(f, "usage: portfleet-collector report --db CONNINFO [--tenant T] [--site S] "
               "[--format text|json|csv|html] [--out FILE|DIR]\n"
               "                                  [--now T] [--window-days N] "
               "[--horizon-days N]\n");
}

/* --out names a directory of pages (see capacity_api.h). */
static bool out_is_dir(const char *path)
{
    struct stat st;
    size_t n = strlen(path);

    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode);
    if (n && path[n - 1] == '/')
        return true;
    return !(n > 5 && strcmp(path + n - 5, ".html") == 0) &&
           !(n > 4 && strcmp(path + n - 4, ".htm") == 0);
}

static int write_file(const char *path, const struct pf_buf *b)
{
    FILE *f = fopen(path, "wb");

    if (!f) {
        fprintf(stderr, "portfleet-collector report: %s: %s\n", path, strerror(errno));
        return -1;
    }
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    if (fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "portfleet-collector report: writing %s failed\n", path);
    return ok ? 0 : -1;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "portfleet-collector report: %s: %s\n", path, strerror(errno));
    return -1;
}

/* One page into dir/name; -1 (said why) on failure. */
static int write_page(const char *dir, const char *name, struct pf_buf *b, enum pf_rc rc)
{
    char path[8192];

    if (rc) {
        fprintf(stderr, "portfleet-collector report: %s: %s\n", name, pf_strerror(rc));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return write_file(path, b);
}

/* The overview, a page per site and per host, as files under dir. */
static int write_pages(PGconn *pg, const struct request *r, const char *dir)
{
    struct capacity_scope sc = {r->tenant, r->site, NULL, !r->now_given};
    struct capacity_data d;
    struct report_links links = {true, NULL, false};
    struct pf_buf b;
    char err[512], sub[4200], name[1024];
    size_t pages = 0;
    int bad;
    enum pf_rc rc;

    snprintf(sub, sizeof(sub), "%s", dir);
    for (size_t n = strlen(sub); n > 1 && sub[n - 1] == '/'; n--)
        sub[n - 1] = '\0';
    rc = capacity_load(pg, NULL, &r->p, &sc, &d, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "portfleet-collector report: %s\n",
                rc == PF_AGAIN || rc == PF_INVALID ? err : pf_strerror(rc));
        return 1;
    }
    bad = make_dir(sub);
    if (!bad) {
        char s2[4300];
        snprintf(s2, sizeof(s2), "%s/site", sub);
        bad = make_dir(s2);
        snprintf(s2, sizeof(s2), "%s/host", sub);
        bad = bad || make_dir(s2);
    }
    pf_buf_init(&b, REPORT_OUT_MAX);
    if (!bad) {
        bad = write_page(sub, "index.html", &b, report_html_overview(d.c, &links, &b));
        pages++;
    }
    for (size_t i = 0; !bad && i < d.c->plan->nsites; i++) {
        const struct plan_site *s = &d.c->plan->sites[i];
        pf_buf_reset(&b);
        rc = report_page_path(false, s->tenant, s->site, name, sizeof(name));
        if (!rc)
            rc = report_html_site(d.c, s->tenant, s->site, &links, &b);
        bad = write_page(sub, name, &b, rc);
        pages++;
    }
    for (size_t i = 0; !bad && i < d.c->fleet->nhosts; i++) {
        const char *id = d.c->fleet->hosts[i].agent_id;
        struct host_detail hd;
        pf_buf_reset(&b);
        rc = host_detail_load(pg, d.c->fleet, r->p.now, id, &hd, err, sizeof(err));
        if (rc) {
            fprintf(stderr, "portfleet-collector report: host %s: %s\n", id,
                    rc == PF_AGAIN ? err : pf_strerror(rc));
            bad = 1;
            break;
        }
        rc = report_page_path(true, NULL, id, name, sizeof(name));
        if (!rc)
            rc = report_html_host(d.c, id, &hd, &links, &b);
        host_detail_clear(&hd);
        bad = write_page(sub, name, &b, rc);
        pages++;
    }
    pf_buf_free(&b);
    capacity_data_free(&d);
    if (bad)
        return 1;
    fprintf(stderr, "portfleet-collector report: %zu pages in %s (open %s/index.html)\n", pages,
            sub, sub);
    return 0;
}

int capacity_report_main(int argc, char **argv)
{
    struct pf_config *a = pf_config_new(report_specs, PF_ARRAY_LEN(report_specs));
    struct request r;
    char err[512], cerr[PF_CONFIG_ERR_LEN], db[4096] = "", out_path[4096] = "";
    const char *const *pos;
    const char *type;
    struct pf_buf out;
    PGconn *pg;
    enum pf_rc rc;
    FILE *f = stdout;
    int code;

    if (!a) {
        fprintf(stderr, "portfleet-collector report: out of memory\n");
        return 1;
    }
    if (pf_config_parse_args(a, argc - 1, argv + 1, cerr)) {
        fprintf(stderr, "portfleet-collector report: %s\n", cerr);
        report_usage(stderr);
        pf_config_free(a);
        return 2;
    }
    if (pf_config_args(a, &pos) > 0) {
        fprintf(stderr, "portfleet-collector report: unexpected argument \"%s\"\n", pos[0]);
        report_usage(stderr);
        pf_config_free(a);
        return 2;
    }
    if (parse_request(argv_get, a, &r, err, sizeof(err))) {
        fprintf(stderr, "portfleet-collector report: --%s\n", err);
        pf_config_free(a);
        return 2;
    }
    if (argv_get(a, "format", out_path, sizeof(out_path)) == PF_NOTFOUND)
        snprintf(r.format, sizeof(r.format), "text"); /* a terminal's default */
    out_path[0] = '\0';
    if (argv_get(a, "db", db, sizeof(db)) != PF_OK && getenv("PORTFLEET_DB"))
        snprintf(db, sizeof(db), "%s", getenv("PORTFLEET_DB"));
    if (!db[0]) {
        fprintf(stderr, "portfleet-collector report: --db is required (or PORTFLEET_DB)\n");
        report_usage(stderr);
        pf_config_free(a);
        return 2;
    }
    argv_get(a, "out", out_path, sizeof(out_path));
    pf_config_free(a);
    if (getenv("PORTFLEET_LOG_LEVEL") && pf_log_level_parse(getenv("PORTFLEET_LOG_LEVEL")) >= 0)
        pf_log_set_level((enum pf_log_level)pf_log_level_parse(getenv("PORTFLEET_LOG_LEVEL")));
    pg = PQconnectdb(db);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "portfleet-collector report: cannot connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    if (out_path[0] && strcmp(r.format, "html") == 0 && out_is_dir(out_path)) {
        code = write_pages(pg, &r, out_path);
        PQfinish(pg);
        return code;
    }
    pf_buf_init(&out, REPORT_OUT_MAX);
    if (strcmp(r.format, "html") == 0) {
        /* One page with every site, as a file to mail or archive. */
        struct capacity_scope sc = {r.tenant, r.site, NULL, !r.now_given};
        struct capacity_data d;
        rc = capacity_load(pg, NULL, &r.p, &sc, &d, err, sizeof(err));
        if (!rc)
            rc = report_html(d.c, r.site, &out);
        capacity_data_free(&d);
    } else {
        rc = analyse(pg, NULL, CAPACITY_REPORT, &r, false, &out, &type, err, sizeof(err));
    }
    PQfinish(pg);
    if (rc) {
        fprintf(stderr, "portfleet-collector report: %s\n",
                rc == PF_AGAIN || rc == PF_INVALID ? err : pf_strerror(rc));
        pf_buf_free(&out);
        return 1;
    }
    if (out_path[0] && !(f = fopen(out_path, "wb"))) {
        fprintf(stderr, "portfleet-collector report: %s: %s\n", out_path, strerror(errno));
        pf_buf_free(&out);
        return 1;
    }
    if (fwrite(out.data, 1, out.len, f) != out.len || (f != stdout && fclose(f) != 0)) {
        fprintf(stderr, "portfleet-collector report: writing failed\n");
        pf_buf_free(&out);
        return 1;
    }
    pf_buf_free(&out);
    return 0;
}
