/* SPDX-License-Identifier: MIT */
/* capacity_api.c: the capacity endpoints and `report` (see capacity_api.h):
 * parameters in, one analysis per request on a database worker, the
 * rendering out. */
#include "capacity_api.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "access.h"
#include "alert.h"
#include "alert_api.h"
#include "analysis_db.h"
#include "capacity.h"
#include "config.h"
#include "log.h"
#include "report.h"
#include "routes.h"
#include "server.h"
#include "signin.h"
#include "timeutil.h"

#define REPORT_OUT_MAX EXCHANGE_OUT_MAX

enum what { W_FINDINGS, W_PLAN, W_HOSTS, W_REPORT, W_CSV, W_METRICS };

struct request {
    struct fleet_params p;
    char tenant[PF_TENANT_LEN]; /* "" = every tenant (operators only) */
    char site[PF_ID_LEN];
    char host[PF_NAME_LEN];
    char format[16];
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
    static const char *const names[] = {"site", "host",        "format",       "now",
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
            break;
        case 4:
            if (parse_days(v, 1, 60, &days))
                goto bad;
            r->p.window_s = (int64_t)(days * 86400);
            break;
        case 5:
            if (parse_days(v, 1, 730, &r->p.horizon_days))
                goto bad;
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

/* ---- one analysis ---- */

/* The ingest counters for /metrics, copied on the loop thread (where the
 * server updates them) and read by the worker. */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct server_stats stats_copy;
static size_t queue_copy;
static bool db_up_copy;

/* Fills m (12 entries) with the collector's own counters; db_up >= 0
 * overrides portfleet_db_up. Returns how many. */
static size_t own_metrics(struct report_metric *m, int db_up)
{
    size_t n = 0;

    pthread_mutex_lock(&stats_lock);
#define M(name_, help_, type_, v_)                                                                 \
    m[n++] = (struct report_metric){name_, help_, type_, (double)(v_)}
    M("portfleet_snapshots_accepted_total", "Snapshots stored (first time)", "counter",
      stats_copy.snapshots_accepted);
    M("portfleet_snapshots_duplicate_total", "Snapshots received again (already stored)",
      "counter", stats_copy.snapshots_duplicate);
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
#undef M
    pthread_mutex_unlock(&stats_lock);
    return n;
}

/* /metrics while the database is away: the collector's own counters with
 * portfleet_db_up 0 (what an alert on it needs), no host series; for an
 * operator (a tenant's token gets the 503). */
static void metrics_without_db(struct exchange *x)
{
    struct report_metric m[12];
    size_t n = own_metrics(m, 0);
    enum pf_rc rc = x->who.role == ACCESS_OPERATOR ? PF_OK : PF_AGAIN;

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

static enum pf_rc render(const struct capacity *c, enum what w, const struct request *r,
                         bool own_counters, struct pf_buf *out, const char **type)
{
    *type = "application/json";
    switch (w) {
    case W_FINDINGS:
        return report_findings_json(c, r->site, r->host, out);
    case W_PLAN:
        return report_plan_json(c, r->site, out);
    case W_HOSTS:
        return report_hosts_json(c, r->site, out);
    case W_CSV:
        *type = "text/csv; charset=utf-8";
        return report_csv(c, r->site, out);
    case W_METRICS: {
        struct report_metric m[12];
        size_t n = own_metrics(m, -1);
        *type = "text/plain; version=0.0.4; charset=utf-8";
        /* The collector's own counters are every tenant's traffic (the
         * notification counters too: destinations of all tenants): for
         * operators only. */
        enum pf_rc rc = report_metrics(c, m, own_counters ? n : 0, out);
        return rc || !own_counters ? rc : alert_metrics_append(out);
    }
    case W_REPORT:
    default:
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
        return report_html(c, r->site, out);
    }
}

/* Loads, analyses, renders. PF_AGAIN: database (err says why). */
static enum pf_rc analyse(PGconn *pg, enum what w, const struct request *r, bool own_counters,
                          struct pf_buf *out, const char **type, char *err, size_t errlen)
{
    struct fleet *f = NULL;
    struct capacity *c = NULL;
    enum pf_rc rc;
    long long t0 = pf_mono_ms(), t1, t2;

    /* /metrics covers every site; the report filters when rendering. */
    rc = analysis_db_load(pg, &r->p, r->tenant, w == W_METRICS ? "" : r->site, &f, err, errlen);
    t1 = pf_mono_ms();
    if (!rc)
        rc = capacity_analyze(f, &r->p, &c);
    t2 = pf_mono_ms();
    if (!rc && (w == W_FINDINGS || w == W_REPORT) &&
        alert_acks_load(pg, r->tenant, &c->acks, &c->nacks) != PF_OK)
        pf_warn("capacity: acknowledgements could not be read; shown without them");
    if (!rc)
        rc = render(c, w, r, own_counters, out, type);
    if (!rc)
        pf_debug("capacity: %zu hosts: load %lld ms, analysis %lld ms, render %lld ms",
                 c->fleet->nhosts, t1 - t0, t2 - t1, pf_mono_ms() - t2);
    capacity_free(c);
    return rc;
}

/* ---- HTTP ---- */

static enum what job_what(const struct exchange *x)
{
    const char *path = x->route->path;

    if (strcmp(path, "/v1/findings") == 0)
        return W_FINDINGS;
    if (strcmp(path, "/v1/plan") == 0)
        return W_PLAN;
    if (strcmp(path, "/v1/hosts") == 0)
        return W_HOSTS;
    if (strcmp(path, "/report.csv") == 0)
        return W_CSV;
    if (strcmp(path, "/metrics") == 0)
        return W_METRICS;
    return W_REPORT;
}

static void run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct exchange *x = exchange_of(jobs[i]);
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
        if (x->who.role != ACCESS_OPERATOR) {
            if (r.tenant[0] && strcmp(r.tenant, x->who.tenant) != 0) {
                exchange_error(x, 404, "not_found", "no such tenant");
                continue;
            }
            snprintf(r.tenant, sizeof(r.tenant), "%s", x->who.tenant);
        }
        pg = db_pg(dc);
        if (!pg && job_what(x) == W_METRICS) {
            metrics_without_db(x);
            continue;
        }
        if (!pg) {
            exchange_error(x, 503, "unavailable", "the database does not answer");
            continue;
        }
        pf_buf_reset(&x->out);
        rc = analyse(pg, job_what(x), &r, x->who.role == ACCESS_OPERATOR, &x->out, &type, err,
                     sizeof(err));
        if (rc == PF_OK && x->who.by_session && strncmp(type, "text/html", 9) == 0)
            rc = signin_add_signout(&x->out);
        if (rc == PF_OK) {
            x->status = 200;
            x->content_type = type;
            if (strncmp(type, "text/html", 9) == 0)
                snprintf(x->extra, sizeof(x->extra),
                         "Content-Security-Policy: default-src 'none'; style-src "
                         "'unsafe-inline'; form-action 'self'; frame-ancestors 'none'\r\n"
                         "Cache-Control: no-store\r\n");
        } else if (rc == PF_AGAIN) {
            db_check(dc);
            pf_warn("capacity: %s", err);
            if (job_what(x) == W_METRICS)
                metrics_without_db(x);
            else
                exchange_error(x, 503, "unavailable", "the database failed: try again");
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
    if (job_what(x) == W_METRICS) {
        pthread_mutex_lock(&stats_lock);
        stats_copy = *server_stats(x->srv);
        queue_copy = db_queue_depth(server_db(x->srv));
        db_up_copy = db_up(server_db(x->srv));
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
    {"out", 1, 0, "FILE", NULL, "write here instead of stdout"},
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
               "[--format text|json|csv|html] [--out FILE]\n"
               "                                  [--now T] [--window-days N] "
               "[--horizon-days N]\n");
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
    pf_buf_init(&out, REPORT_OUT_MAX);
    rc = analyse(pg, W_REPORT, &r, false, &out, &type, err, sizeof(err));
    PQfinish(pg);
    if (rc) {
        fprintf(stderr, "portfleet-collector report: %s\n", rc == PF_AGAIN ? err : pf_strerror(rc));
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
