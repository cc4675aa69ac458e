/* SPDX-License-Identifier: MIT */
/* alert.c: the evaluator and sender threads of alert.h, and their
 * counters. */
#include "alert.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "alert_dest.h"
#include "alert_format.h"
#include "capacity.h"
#include "capacity_api.h"
#include "log.h"
#include "report.h"
#include "server.h"
#include "timeutil.h"

#define LOCK_KEY "portfleet.alerts"
#define CHANNEL "portfleet_alerts"
#define RECONNECT_MS 2000
#define SENDER_POLL_MS 1000    /* also picks up rows other collectors made due */
#define PENDING_EVERY_MS 10000 /* refresh of the outbox gauge */
#define GIVE_UP "1 day"        /* docs/protocol.md section 4 */
#define KEEP_DONE "7 days"     /* finished outbox rows kept for inspection */
#define BACKOFF_BASE_S 2.0
#define ANSWER_KEEP 512        /* bytes of a failed answer kept for the log */
#define HEADER_MAX (16 * 1024) /* a receiver's headers, all of them */
#define METRIC_DESTS 64        /* destinations counted by label; the rest as "other" */
#define BODY_MAX (256 * 1024)  /* one rendered message */

struct dest_count {
    char label[ALERT_DEST_LABEL_LEN];
    uint64_t sent, failed;
};

struct alert {
    const struct copts *o;
    char report_base[ALERT_URL_LEN];
    char me[128]; /* claimed_by: host and pid */
    atomic_bool stop;
    int wake_fd; /* eventfd: stop, for the sender's poll */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* the evaluator's sleep */
    pthread_t eval_thread, send_thread;
    bool eval_started, send_started;
    /* counters, under lock */
    struct dest_count dests[METRIC_DESTS + 1];
    size_t ndests;
    uint64_t queued, evaluations;
    int64_t pending;
    bool warned_no_smtp;
};

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static struct alert *global;

/* ---- counters ---- */

static void count_delivery(struct alert *a, const char *dest, bool ok)
{
    char label[ALERT_DEST_LABEL_LEN];
    size_t i;

    alert_dest_label(dest, label);
    pthread_mutex_lock(&a->lock);
    for (i = 0; i < a->ndests; i++)
        if (strcmp(a->dests[i].label, label) == 0)
            break;
    if (i == a->ndests) {
        if (a->ndests < METRIC_DESTS) {
            snprintf(a->dests[i].label, sizeof(a->dests[i].label), "%s", label);
            a->ndests++;
        } else {
            i = METRIC_DESTS;
            snprintf(a->dests[i].label, sizeof(a->dests[i].label), "other");
        }
    }
    if (ok)
        a->dests[i].sent++;
    else
        a->dests[i].failed++;
    pthread_mutex_unlock(&a->lock);
}

static enum pf_rc label_value(struct pf_buf *out, const char *s)
{
    enum pf_rc rc = PF_OK;

    for (; *s && !rc; s++) {
        if (*s == '\\' || *s == '"')
            rc = pf_buf_printf(out, "\\%c", *s);
        else if (*s == '\n')
            rc = pf_buf_puts(out, "\\n");
        else
            rc = pf_buf_append(out, s, 1);
    }
    return rc;
}

enum pf_rc alert_metrics_append(struct pf_buf *out)
{
    enum pf_rc rc = PF_OK;
    struct alert *a;

    pthread_mutex_lock(&global_lock);
    a = global;
    if (!a) {
        pthread_mutex_unlock(&global_lock);
        return PF_OK;
    }
    pthread_mutex_lock(&a->lock);
    size_t n = a->ndests + (a->dests[METRIC_DESTS].label[0] ? 1 : 0);
    static const char *const names[2] = {"portfleet_alert_deliveries_total",
                                         "portfleet_alert_delivery_failures_total"};
    static const char *const helps[2] = {
        "Notifications delivered (2xx, or 250 from SMTP), by destination",
        "Failed delivery attempts (no answer, not 2xx, refused), by destination"};
    for (int k = 0; k < 2 && !rc; k++) {
        rc = pf_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", names[k], helps[k], names[k]);
        for (size_t i = 0; i < n && !rc; i++) {
            const struct dest_count *d = &a->dests[i < a->ndests ? i : METRIC_DESTS];
            rc = pf_buf_printf(out, "%s{destination=\"", names[k]);
            rc = rc ? rc : label_value(out, d->label);
            rc = rc ? rc : pf_buf_printf(out, "\"} %" PRIu64 "\n", k ? d->failed : d->sent);
        }
    }
    rc = rc ? rc
            : pf_buf_printf(out,
                            "# HELP portfleet_alert_notifications_queued_total Notifications "
                            "written to the outbox by this collector (one per destination)\n"
                            "# TYPE portfleet_alert_notifications_queued_total counter\n"
                            "portfleet_alert_notifications_queued_total %" PRIu64 "\n"
                            "# HELP portfleet_alert_outbox_pending Notifications not yet "
                            "delivered nor given up (all collectors; -1 before the first look)\n"
                            "# TYPE portfleet_alert_outbox_pending gauge\n"
                            "portfleet_alert_outbox_pending %" PRId64 "\n",
                            a->queued, a->pending);
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_unlock(&global_lock);
    return rc;
}

/* ---- database helpers ---- */

/* Connects (or reconnects) *pg; NULL while the database is away (logged
 * once per outage). */
static PGconn *connect_db(struct alert *a, PGconn **pg, bool *down, long long *next_try,
                          const char *who)
{
    long long now = pf_mono_ms();

    if (*pg && PQstatus(*pg) == CONNECTION_OK)
        return *pg;
    if (now < *next_try)
        return NULL;
    *next_try = now + RECONNECT_MS;
    PQfinish(*pg);
    *pg = PQconnectdb(a->o->db);
    if (PQstatus(*pg) != CONNECTION_OK) {
        if (!*down) {
            char msg[256];
            log_sanitize(PQerrorMessage(*pg), msg, sizeof(msg));
            pf_warn("alert %s: cannot reach the database (%s); retrying", who, msg);
        }
        *down = true;
        PQfinish(*pg);
        *pg = NULL;
        return NULL;
    }
    if (*down)
        pf_info("alert %s: database connected again", who);
    *down = false;
    return *pg;
}

/* Runs sql with params; returns the result when its status is want (the
 * caller PQclear()s it), else logs and returns NULL. */
static PGresult *q(PGconn *pg, const char *sql, int n, const char *const *vals, ExecStatusType want)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);

    if (PQresultStatus(r) != want) {
        char msg[256];
        log_sanitize(PQresultErrorMessage(r), msg, sizeof(msg));
        pf_warn("alert: query failed: %s", msg);
        PQclear(r);
        return NULL;
    }
    return r;
}

static bool cmd(PGconn *pg, const char *sql, int n, const char *const *vals)
{
    PGresult *r = q(pg, sql, n, vals, PGRES_COMMAND_OK);

    PQclear(r);
    return r != NULL;
}

static int severity_of(const char *s)
{
    return strcmp(s, "critical") == 0  ? SEVERITY_CRITICAL
           : strcmp(s, "warning") == 0 ? SEVERITY_WARNING
                                       : SEVERITY_INFO;
}

/* ---- evaluation ---- */

/* The tenant a finding belongs to: its host's (or site's). */
static const char *finding_tenant(const struct finding *f)
{
    return f->tenant[0] ? f->tenant : "default";
}

struct cur {
    const struct finding *f;
    char id[FINDING_ID_LEN];
    const char *tenant;
    bool seen; /* matched a state row */
};

/* The destinations one notification was written for, so a place named
 * twice (a serve option and a tenant's own destination, or one option
 * given twice) gets it once: the first wins, options before a tenant's. */
struct sent_to {
    char **d;
    size_t n, cap;
    bool nomem;
};

/* True when dest is new for this notification (and remembers it). */
static bool first_time(struct sent_to *s, const char *dest)
{
    for (size_t i = 0; i < s->n; i++)
        if (alert_dest_same(s->d[i], dest))
            return false;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        char **d = realloc(s->d, cap * sizeof(*d));
        if (!d) {
            s->nomem = true; /* sent twice rather than not at all */
            return true;
        }
        s->d = d;
        s->cap = cap;
    }
    if (!(s->d[s->n] = strdup(dest))) {
        s->nomem = true;
        return true;
    }
    s->n++;
    return true;
}

static void sent_to_free(struct sent_to *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->d[i]);
    free(s->d);
}

/* Writes one outbox row per destination of tenant for payload (one per
 * place: see struct sent_to). */
static bool enqueue(struct alert *a, PGconn *pg, const PGresult *dests, const char *tenant,
                    const char *id, const char *status, cJSON *payload, uint64_t *queued)
{
    const struct copts *o = a->o;
    char *text = cJSON_PrintUnformatted(payload);
    char buf[ALERT_DEST_MAX + 8];
    bool ok = text != NULL;
    struct sent_to seen = {0};
    static const char *const ins =
        "INSERT INTO alert_outbox (tenant, destination, alert_id, status, payload) "
        "VALUES ($1, $2, $3, $4, $5)";

    for (size_t i = 0; ok && i < o->nalert_webhooks; i++) {
        const char *v[] = {tenant, o->alert_webhooks[i], id, status, text};
        if (!first_time(&seen, o->alert_webhooks[i]))
            continue;
        ok = cmd(pg, ins, 5, v);
        *queued += ok;
    }
    for (size_t i = 0; ok && o->alert_smtp_url && i < o->nalert_email_to; i++) {
        snprintf(buf, sizeof(buf), "email:%s", o->alert_email_to[i]);
        const char *v[] = {tenant, buf, id, status, text};
        if (!first_time(&seen, buf))
            continue;
        ok = cmd(pg, ins, 5, v);
        *queued += ok;
    }
    for (int i = 0; ok && i < PQntuples(dests); i++) {
        const char *target = PQgetvalue(dests, i, 1);
        if (strcmp(PQgetvalue(dests, i, 0), tenant) != 0)
            continue;
        if (strncmp(target, "email:", 6) == 0 && !o->alert_smtp_url) {
            pthread_mutex_lock(&a->lock);
            bool warn = !a->warned_no_smtp;
            a->warned_no_smtp = true;
            pthread_mutex_unlock(&a->lock);
            if (warn)
                pf_warn("alert: tenant %s has email recipients but this collector has no "
                        "--alert-smtp-url: they get nothing",
                        tenant);
            continue;
        }
        const char *v[] = {tenant, target, id, status, text};
        if (!first_time(&seen, target))
            continue;
        ok = cmd(pg, ins, 5, v);
        *queued += ok;
    }
    if (seen.nomem)
        pf_warn("alert: out of memory comparing destinations: a place named twice may get "
                "\"%s\" twice",
                id);
    sent_to_free(&seen);
    free(text);
    return ok;
}

/* A payload for finding JSON fj (taken). */
static cJSON *payload_of(struct alert *a, const char *status, const char *id, const char *prev,
                         cJSON *fj, const char *tenant)
{
    char url[ALERT_URL_LEN];

    if (!fj)
        return NULL;
    alert_report_url(a->report_base, fj, url);
    return alert_payload_new(status, id, prev, fj, tenant, url);
}

static bool acked(const PGresult *acks, const char *tenant, const char *id)
{
    for (int i = 0; i < PQntuples(acks); i++)
        if (strcmp(PQgetvalue(acks, i, 0), tenant) == 0 && strcmp(PQgetvalue(acks, i, 1), id) == 0)
            return true;
    return false;
}

/* The findings at or above --alert-min-severity, one per tenant and id,
 * in *n entries of a new array (the caller frees it); NULL when out of
 * memory. */
static struct cur *current_findings(const struct alert *a, const struct capacity *c, size_t *n)
{
    const struct copts *o = a->o;
    struct cur *cur = calloc(c->findings->n ? c->findings->n : 1, sizeof(*cur));
    size_t ncur = 0;

    *n = 0;
    if (!cur)
        return NULL;
    for (size_t i = 0; i < c->findings->n; i++) {
        const struct finding *f = &c->findings->v[i];
        if ((int)f->severity < (int)o->alert_min_severity)
            continue;
        cur[ncur].f = f;
        finding_id(f, cur[ncur].id);
        cur[ncur].tenant = finding_tenant(f);
        /* Two findings with one id (should not happen): the first, the
         * most severe by findings_build()'s order, speaks for both. */
        bool dup = false;
        for (size_t k = 0; k < ncur && !dup; k++)
            dup = strcmp(cur[k].id, cur[ncur].id) == 0 &&
                  strcmp(cur[k].tenant, cur[ncur].tenant) == 0;
        if (!dup)
            ncur++;
    }
    *n = ncur;
    return cur;
}

/* Row r of alert_state, an id that was notified: still there (rose,
 * repeat, or just a newer form: its entry of cur is marked seen) or gone
 * (resolved); left alone while acknowledged. Counts into *queued and
 * *notes. false: a database or memory failure (logged). */
static bool update_notified(struct alert *a, PGconn *pg, const PGresult *state, int r,
                            const PGresult *acks, const PGresult *dests, struct cur *cur,
                            size_t ncur, uint64_t *queued, uint64_t *notes)
{
    const struct copts *o = a->o;
    const char *tenant = PQgetvalue(state, r, 0), *id = PQgetvalue(state, r, 1);
    const char *old_sev = PQgetvalue(state, r, 2);
    double age = strtod(PQgetvalue(state, r, 4), NULL);
    struct cur *k = NULL;
    char sev[16];
    bool ok;

    for (size_t i = 0; i < ncur && !k; i++)
        if (strcmp(cur[i].id, id) == 0 && strcmp(cur[i].tenant, tenant) == 0)
            k = &cur[i];
    bool muted = acked(acks, tenant, id);
    if (k)
        k->seen = true;
    if (muted)
        return true; /* left as it is: the mute's end shows what changed */
    if (!k) {
        cJSON *fj = cJSON_Parse(PQgetvalue(state, r, 3));
        cJSON *p = payload_of(a, "resolved", id, NULL, fj, tenant);
        const char *v[] = {tenant, id};
        ok = p && enqueue(a, pg, dests, tenant, id, "resolved", p, queued) &&
             cmd(pg, "DELETE FROM alert_state WHERE tenant = $1 AND id = $2", 2, v);
        cJSON_Delete(p);
        (*notes)++;
        return ok;
    }
    const char *status = NULL, *prev = NULL;
    int ns = (int)k->f->severity, os = severity_of(old_sev);
    if (ns > os) {
        status = "firing";
        prev = old_sev;
    } else if (ns == SEVERITY_CRITICAL && o->alert_repeat_hours > 0 &&
               age >= (double)o->alert_repeat_hours * 3600.0) {
        status = "repeat";
    }
    cJSON *fj = report_finding_json(k->f);
    char *ftext = fj ? cJSON_PrintUnformatted(fj) : NULL;
    snprintf(sev, sizeof(sev), "%s", finding_severity_name(k->f->severity));
    const char *v[] = {tenant, id, sev, ftext};
    if (!ftext) {
        ok = false;
    } else if (status) {
        cJSON *p = payload_of(a, status, id, prev, fj, tenant);
        fj = NULL;
        ok = p && enqueue(a, pg, dests, tenant, id, status, p, queued) &&
             cmd(pg,
                 "UPDATE alert_state SET severity = $3, finding = $4, notified_at = now() "
                 "WHERE tenant = $1 AND id = $2",
                 4, v);
        cJSON_Delete(p);
        (*notes)++;
    } else {
        /* Lower severity or a newer form: remembered, not sent (a
         * resolved message carries the last form). */
        ok = cmd(pg,
                 "UPDATE alert_state SET severity = $3, finding = $4 "
                 "WHERE tenant = $1 AND id = $2 AND (severity <> $3 OR finding <> $4)",
                 4, v);
    }
    cJSON_Delete(fj);
    free(ftext);
    return ok;
}

/* A finding not notified before: sent as firing and remembered. false: a
 * database or memory failure (logged). */
static bool add_firing(struct alert *a, PGconn *pg, const PGresult *dests, const struct cur *k,
                       uint64_t *queued, uint64_t *notes)
{
    cJSON *fj = report_finding_json(k->f);
    char *ftext = fj ? cJSON_PrintUnformatted(fj) : NULL;
    cJSON *p = ftext ? payload_of(a, "firing", k->id, NULL, fj, k->tenant) : NULL;
    char sev[16];
    bool ok;

    if (!p)
        cJSON_Delete(fj);
    snprintf(sev, sizeof(sev), "%s", finding_severity_name(k->f->severity));
    const char *v[] = {k->tenant, k->id, sev, ftext};
    ok = p && enqueue(a, pg, dests, k->tenant, k->id, "firing", p, queued) &&
         cmd(pg, "INSERT INTO alert_state (tenant, id, severity, finding) VALUES ($1, $2, $3, $4)",
             4, v);
    cJSON_Delete(p);
    free(ftext);
    (*notes)++;
    return ok;
}

/* The diff of alert.h in one transaction. false: rolled back (logged). */
static bool apply(struct alert *a, PGconn *pg, const struct capacity *c)
{
    const struct copts *o = a->o;
    PGresult *state = NULL, *acks = NULL, *dests = NULL;
    struct cur *cur = NULL;
    size_t ncur = 0;
    uint64_t queued = 0, notes = 0;
    bool ok;

    ok = cmd(pg, "BEGIN", 0, NULL);
    if (!ok)
        return false;
    state = q(pg,
              "SELECT tenant, id, severity, finding, "
              "extract(epoch FROM now() - notified_at)::float8 FROM alert_state",
              0, NULL, PGRES_TUPLES_OK);
    acks = state ? q(pg, "SELECT tenant, id FROM alert_acks WHERE until > now()", 0, NULL,
                     PGRES_TUPLES_OK)
                 : NULL;
    dests = acks ? q(pg, "SELECT tenant, target FROM alert_destinations ORDER BY tenant, target", 0,
                     NULL, PGRES_TUPLES_OK)
                 : NULL;
    ok = dests != NULL;
    if (ok) {
        cur = current_findings(a, c, &ncur);
        ok = cur != NULL;
    }
    /* Ids that were notified: still there (rose, repeat, or just a newer
     * form), or gone (resolved). */
    for (int r = 0; ok && r < PQntuples(state); r++)
        ok = update_notified(a, pg, state, r, acks, dests, cur, ncur, &queued, &notes);
    /* New ids. */
    for (size_t i = 0; ok && i < ncur; i++)
        if (!cur[i].seen && !acked(acks, cur[i].tenant, cur[i].id))
            ok = add_firing(a, pg, dests, &cur[i], &queued, &notes);
    ok = ok && cmd(pg,
                   "INSERT INTO alert_runs (one, evaluated_at) VALUES (true, now()) "
                   "ON CONFLICT (one) DO UPDATE SET evaluated_at = now()",
                   0, NULL);
    if (ok && queued)
        ok = cmd(pg, "NOTIFY " CHANNEL, 0, NULL);
    ok = ok && cmd(pg, "COMMIT", 0, NULL);
    if (!ok) {
        PGresult *r = PQexec(pg, "ROLLBACK");
        PQclear(r);
    }
    PQclear(state);
    PQclear(acks);
    PQclear(dests);
    free(cur);
    if (ok && notes)
        pf_info("alert: %" PRIu64 " notification%s for %zu finding%s at or above %s "
                "(%" PRIu64 " outbox rows)",
                notes, notes == 1 ? "" : "s", ncur, ncur == 1 ? "" : "s",
                finding_severity_name((enum finding_severity)o->alert_min_severity), queued);
    if (ok) {
        pthread_mutex_lock(&a->lock);
        a->queued += queued;
        a->evaluations++;
        pthread_mutex_unlock(&a->lock);
    }
    return ok;
}

/* One round: lock, space, analyse, apply, unlock. */
static void evaluate(struct alert *a, PGconn *pg)
{
    struct fleet_params p;
    char err[512], min_age[32];
    PGresult *r;
    bool mine;
    enum pf_rc rc;

    r = q(pg, "SELECT pg_try_advisory_lock(hashtext('" LOCK_KEY "'))", 0, NULL, PGRES_TUPLES_OK);
    if (!r)
        return;
    mine = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!mine)
        return; /* another collector evaluates now */
    /* Another collector evaluated less than most of an interval ago. */
    snprintf(min_age, sizeof(min_age), "%.3f", (double)a->o->alert_interval_s * 0.8);
    const char *v[] = {min_age};
    r = q(pg,
          "SELECT count(*) FROM alert_runs WHERE evaluated_at > now() - make_interval(secs => "
          "$1::float8)",
          1, v, PGRES_TUPLES_OK);
    if (r && strcmp(PQgetvalue(r, 0, 0), "0") == 0) {
        /* Every tenant's fleet as of now: the analysis an operator's
         * /report or /v1/findings makes, shared with them through the
         * server's cache (capacity_api.h) while the database is unchanged;
         * this round's own bookkeeping leaves it current. */
        struct capacity_scope sc = {"", "", NULL, true};
        struct acache *cache = capacity_shared_cache(a->o);
        struct capacity_data d;
        fleet_params_default(&p);
        rc = capacity_load(pg, cache, &p, &sc, &d, err, sizeof(err));
        if (rc) {
            pf_warn("alert: analysis failed (%s); nothing changes until the next round",
                    rc == PF_AGAIN || rc == PF_INVALID ? err : pf_strerror(rc));
        } else {
            if (apply(a, pg, d.c))
                capacity_cache_own_write(pg, cache, d.version);
            capacity_data_free(&d);
        }
    }
    PQclear(r);
    r = PQexec(pg, "SELECT pg_advisory_unlock(hashtext('" LOCK_KEY "'))");
    PQclear(r);
    /* A row no sender could take for a day (an email destination while no
     * collector has --alert-smtp-url, say) is given up like a failed one. */
    r = PQexec(pg, "UPDATE alert_outbox SET done_at = now(), delivered = false, "
                   "last_error = coalesce(last_error, 'no collector could send it') "
                   "WHERE done_at IS NULL AND created_at < now() - interval '" GIVE_UP "' "
                   "AND (claimed_until IS NULL OR claimed_until < now())");
    PQclear(r);
    /* Finished rows are kept a week, then dropped (cheap: an index). */
    r = PQexec(pg, "DELETE FROM alert_outbox WHERE done_at < now() - interval '" KEEP_DONE "'");
    PQclear(r);
}

static void *eval_main(void *ud)
{
    struct alert *a = ud;
    PGconn *pg = NULL;
    bool down = false;
    long long next_try = 0;
    struct timespec until;

    while (!atomic_load(&a->stop)) {
        long long t0 = pf_mono_ms();
        if (connect_db(a, &pg, &down, &next_try, "evaluator")) {
            evaluate(a, pg);
            if (PQstatus(pg) != CONNECTION_OK) {
                PQfinish(pg);
                pg = NULL;
            }
        }
        long long wait = (long long)a->o->alert_interval_s * 1000 - (pf_mono_ms() - t0);
        if (!pg && wait > RECONNECT_MS)
            wait = RECONNECT_MS;
        if (wait < 100)
            wait = 100;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait / 1000;
        until.tv_nsec += (wait % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&a->lock);
        while (!atomic_load(&a->stop) &&
               pthread_cond_timedwait(&a->cond, &a->lock, &until) != ETIMEDOUT)
            ;
        pthread_mutex_unlock(&a->lock);
    }
    PQfinish(pg);
    return NULL;
}

/* ---- sending ---- */

struct answer {
    struct alert *a;
    long status;         /* from the status line(s) */
    size_t header_bytes; /* all header lines so far */
    bool done_2xx;       /* a final 2xx status: stop reading */
    char keep[ANSWER_KEEP + 1];
    size_t kept;
};

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct answer *an = ud;
    size_t len = size * n;

    an->header_bytes += len;
    if (an->header_bytes > HEADER_MAX)
        return 0; /* a receiver's endless headers: cut off */
    if (len >= 12 && strncmp(p, "HTTP/", 5) == 0) {
        const char *sp = memchr(p, ' ', len);
        if (sp && (size_t)(sp - p) + 4 <= len)
            an->status = strtol(sp + 1, NULL, 10);
    }
    if ((len == 2 && p[0] == '\r' && p[1] == '\n') || (len == 1 && p[0] == '\n')) {
        /* End of a header block: for a final 2xx the notification is taken;
         * the body is not waited for (a huge or slow one would hold us). */
        if (an->status >= 200 && an->status < 300) {
            an->done_2xx = true;
            return 0;
        }
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct answer *an = ud;
    size_t len = size * n, room = ANSWER_KEEP - an->kept;

    if (len > room)
        len = room;
    memcpy(an->keep + an->kept, p, len);
    an->kept += len;
    an->keep[an->kept] = '\0';
    return an->kept >= ANSWER_KEEP ? 0 : size * n; /* enough for the log */
}

static int on_progress(void *ud, curl_off_t a1, curl_off_t a2, curl_off_t a3, curl_off_t a4)
{
    struct answer *an = ud;
    (void)a1, (void)a2, (void)a3, (void)a4;
    return atomic_load(&an->a->stop) ? 1 : 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p, (void)ud;
    return size * n;
}

struct reader {
    const char *p;
    size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct reader *r = ud;
    size_t len = size * n < r->left ? size * n : r->left;

    memcpy(buf, r->p, len);
    r->p += len;
    r->left -= len;
    return len;
}

static void common_opts(struct alert *a, CURL *h, struct answer *an)
{
    long timeout_ms = (long)a->o->alert_timeout_s * 1000;

    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (a->o->alert_ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, a->o->alert_ca_file);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, an);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, an);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, an);
}

/* Sends one rendered message. PF_OK when taken; otherwise why in err. */
static enum pf_rc send_webhook(struct alert *a, CURL *h, const char *url, const struct pf_buf *body,
                               char *err, size_t errlen)
{
    struct answer an = {.a = a};
    struct curl_slist *hdr = NULL, *tmp;
    CURLcode cc;

    curl_easy_reset(h);
    common_opts(a, h, &an);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    tmp = curl_slist_append(hdr, "Content-Type: application/json");
    hdr = tmp ? tmp : hdr;
    tmp = hdr ? curl_slist_append(hdr, "User-Agent: portfleet-collector/" PF_VERSION) : NULL;
    hdr = tmp ? tmp : hdr;
    tmp = hdr ? curl_slist_append(hdr, "Expect:") : NULL; /* no 100-continue round trip */
    hdr = tmp ? tmp : hdr;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    cc = curl_easy_perform(h);
    curl_slist_free_all(hdr);
    if (an.done_2xx || (cc == CURLE_OK && an.status >= 200 && an.status < 300))
        return PF_OK;
    if (an.status > 0) {
        char msg[ANSWER_KEEP + 1];
        log_sanitize(an.keep, msg, sizeof(msg));
        snprintf(err, errlen, "HTTP %ld%s%.200s", an.status, msg[0] ? ": " : "", msg);
    } else {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
    }
    return PF_AGAIN;
}

static enum pf_rc send_email(struct alert *a, CURL *h, const char *to, const struct pf_buf *msg,
                             char *err, size_t errlen)
{
    const struct copts *o = a->o;
    struct answer an = {.a = a};
    struct reader rd = {msg->data, msg->len};
    struct curl_slist *rcpt = NULL;
    char from[300], rcp[300];
    CURLcode cc;

    curl_easy_reset(h);
    common_opts(a, h, &an);
    /* SMTP replies come through the header callback: not for us. */
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_URL, o->alert_smtp_url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    /* STARTTLS is required unless the server is on this machine; a
     * loopback server still gets TLS when it offers it. */
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     o->alert_smtp_loopback ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL);
    snprintf(from, sizeof(from), "<%s>", o->alert_email_from);
    snprintf(rcp, sizeof(rcp), "<%s>", to);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    rcpt = curl_slist_append(NULL, rcp);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &rd);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg->len);
    cc = curl_easy_perform(h);
    curl_slist_free_all(rcpt);
    if (cc == CURLE_OK)
        return PF_OK;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    snprintf(err, errlen, "SMTP: %s%s%ld", curl_easy_strerror(cc), code ? ", reply " : "", code);
    if (!code)
        err[strlen(err) - 1] = '\0'; /* drop the 0 */
    return PF_AGAIN;
}

/* Seconds until the next attempt after `attempts` failures: exponential
 * from BACKOFF_BASE_S, capped at alert-retry-max, times a random factor
 * in [0.5, 1) so receivers coming back are not hit by every collector at
 * once. */
static double backoff(const struct alert *a, int attempts, unsigned *seed)
{
    double d = BACKOFF_BASE_S * pow(2.0, attempts > 1 ? attempts - 1 : 0);
    double cap = (double)a->o->alert_retry_max_s;

    if (d > cap)
        d = cap;
    return d * (0.5 + 0.5 * ((double)rand_r(seed) / ((double)RAND_MAX + 1.0)));
}

/* Claims and sends one row. true when there was one (look again at once). */
static bool send_one(struct alert *a, PGconn *pg, CURL *h, unsigned *seed)
{
    const struct copts *o = a->o;
    char lease[32], err[768], nid[32], title[300], label[ALERT_DEST_LABEL_LEN], msgid[96];
    const char *emails = o->alert_smtp_url ? "true" : "false";
    const char *target;
    enum alert_dest_kind kind;
    struct pf_buf body;
    PGresult *r;
    cJSON *payload;
    enum pf_rc rc;
    int attempts;

    snprintf(lease, sizeof(lease), "%" PRIu64, o->alert_timeout_s * 2 + 10);
    const char *cv[] = {a->me, lease, emails};
    r = q(pg,
          "UPDATE alert_outbox SET claimed_by = $1, "
          "claimed_until = now() + make_interval(secs => $2::float8), attempts = attempts + 1 "
          "WHERE nid = (SELECT o.nid FROM alert_outbox o "
          " WHERE o.done_at IS NULL AND o.next_at <= now() "
          "   AND (o.claimed_until IS NULL OR o.claimed_until < now()) "
          "   AND ($3::boolean OR o.destination NOT LIKE 'email:%') "
          "   AND NOT EXISTS (SELECT 1 FROM alert_outbox p WHERE p.destination = o.destination "
          "                   AND p.done_at IS NULL AND p.nid < o.nid) "
          " ORDER BY o.nid LIMIT 1 FOR UPDATE SKIP LOCKED) "
          "RETURNING nid, destination, payload, attempts, "
          "extract(epoch FROM now())::bigint",
          3, cv, PGRES_TUPLES_OK);
    if (!r)
        return false;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return false;
    }
    snprintf(nid, sizeof(nid), "%s", PQgetvalue(r, 0, 0));
    const char *dest = PQgetvalue(r, 0, 1);
    attempts = (int)strtol(PQgetvalue(r, 0, 3), NULL, 10);
    int64_t now = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    alert_dest_label(dest, label);
    payload = cJSON_Parse(PQgetvalue(r, 0, 2));
    pf_buf_init(&body, BODY_MAX);
    err[0] = '\0';
    rc = alert_dest_parse(dest, &kind, &target, err, sizeof(err));
    if (!rc && !payload) {
        rc = PF_INVALID;
        snprintf(err, sizeof(err), "unreadable payload");
    }
    if (!rc) {
        alert_format_title(payload, title, sizeof(title));
        if (kind == ALERT_DEST_EMAIL) {
            snprintf(msgid, sizeof(msgid), "%s.%" PRId64, nid, now);
            rc = alert_format_email(payload, now, o->alert_email_from, target, msgid, &body);
        } else {
            rc = alert_format_body(kind, payload, now, &body);
        }
        if (rc)
            snprintf(err, sizeof(err), "cannot render: %s", pf_strerror(rc));
    }
    if (!rc) {
        long long t0 = pf_mono_ms();
        rc = kind == ALERT_DEST_EMAIL ? send_email(a, h, target, &body, err, sizeof(err))
                                      : send_webhook(a, h, target, &body, err, sizeof(err));
        if (!rc)
            pf_info("alert: sent \"%s\" to %s in %lld ms (attempt %d)", title, label,
                    pf_mono_ms() - t0, attempts);
    }
    count_delivery(a, dest, rc == PF_OK);
    PQclear(r);
    cJSON_Delete(payload);
    pf_buf_free(&body);
    if (rc == PF_OK) {
        const char *v[] = {nid};
        if (!cmd(pg,
                 "UPDATE alert_outbox SET done_at = now(), delivered = true, claimed_until = NULL, "
                 "last_error = NULL WHERE nid = $1::bigint",
                 1, v))
            pf_warn("alert: row %s was delivered but could not be marked so: it may be sent "
                    "again",
                    nid);
        return true;
    }
    char delay[32];
    snprintf(delay, sizeof(delay), "%.3f", backoff(a, attempts, seed));
    const char *v[] = {nid, err, delay, a->me};
    r = q(pg,
          "UPDATE alert_outbox SET claimed_until = NULL, last_error = $2, "
          "next_at = now() + make_interval(secs => $3::float8), "
          "done_at = CASE WHEN created_at < now() - interval '" GIVE_UP "' THEN now() END, "
          "delivered = CASE WHEN created_at < now() - interval '" GIVE_UP "' THEN false END "
          "WHERE nid = $1::bigint AND claimed_by = $4 AND done_at IS NULL "
          "RETURNING done_at IS NOT NULL",
          4, v, PGRES_TUPLES_OK);
    if (r && PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't')
        pf_warn("alert: %s failed for a day (last: %s): gave up on row %s", label, err, nid);
    else
        pf_warn("alert: %s failed (attempt %d): %s; next try in %s s", label, attempts, err, delay);
    PQclear(r);
    return true;
}

static void refresh_pending(struct alert *a, PGconn *pg)
{
    PGresult *r =
        q(pg, "SELECT count(*) FROM alert_outbox WHERE done_at IS NULL", 0, NULL, PGRES_TUPLES_OK);

    if (!r)
        return;
    pthread_mutex_lock(&a->lock);
    a->pending = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    pthread_mutex_unlock(&a->lock);
    PQclear(r);
}

static void *send_main(void *ud)
{
    struct alert *a = ud;
    PGconn *pg = NULL;
    bool down = false, listening = false;
    long long next_try = 0, next_pending = 0;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    CURL *h = curl_easy_init();

    if (!h) {
        pf_error("alert sender: out of memory; notifications are not sent");
        return NULL;
    }
    while (!atomic_load(&a->stop)) {
        if (!connect_db(a, &pg, &down, &next_try, "sender")) {
            listening = false;
            struct pollfd pf = {.fd = a->wake_fd, .events = POLLIN};
            poll(&pf, 1, RECONNECT_MS);
            continue;
        }
        if (!listening)
            listening = cmd(pg, "LISTEN " CHANNEL, 0, NULL);
        while (!atomic_load(&a->stop) && send_one(a, pg, h, &seed))
            ;
        if (pf_mono_ms() >= next_pending) {
            refresh_pending(a, pg);
            next_pending = pf_mono_ms() + PENDING_EVERY_MS;
        }
        if (PQstatus(pg) != CONNECTION_OK) {
            PQfinish(pg);
            pg = NULL;
            continue;
        }
        /* Sleep until a NOTIFY (an evaluator committed rows), the stop
         * signal, or the poll interval (retries coming due). */
        struct pollfd pf[2] = {{.fd = PQsocket(pg), .events = POLLIN},
                               {.fd = a->wake_fd, .events = POLLIN}};
        if (poll(pf, 2, SENDER_POLL_MS) > 0 && (pf[0].revents & POLLIN)) {
            PGnotify *nt;
            PQconsumeInput(pg);
            while ((nt = PQnotifies(pg)) != NULL)
                PQfreemem(nt);
        }
    }
    curl_easy_cleanup(h);
    PQfinish(pg);
    return NULL;
}

/* ---- life cycle ---- */

enum pf_rc alert_new(const struct copts *o, struct alert **out, char *err, size_t errlen)
{
    struct alert *a = calloc(1, sizeof(*a));
    char host[64] = "";
    const char *port;

    *out = NULL;
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return PF_NOMEM;
    }
    a->o = o;
    a->wake_fd = -1;
    gethostname(host, sizeof(host) - 1);
    snprintf(a->me, sizeof(a->me), "%s:%d", host, (int)getpid());
    a->pending = -1;
    if (o->alert_report_url) {
        snprintf(a->report_base, sizeof(a->report_base), "%s", o->alert_report_url);
    } else {
        port = o->listen ? strrchr(o->listen, ':') : NULL;
        snprintf(a->report_base, sizeof(a->report_base), "https://%s%s",
                 host[0] ? host : "localhost", port ? port : "");
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    a->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->wake_fd < 0) {
        snprintf(err, errlen, "alert: eventfd: %s", strerror(errno));
        alert_free(a);
        return PF_IO;
    }
    if (pthread_create(&a->eval_thread, NULL, eval_main, a) != 0) {
        snprintf(err, errlen, "alert: cannot start the evaluator thread");
        alert_free(a);
        return PF_NOMEM;
    }
    a->eval_started = true;
    if (pthread_create(&a->send_thread, NULL, send_main, a) != 0) {
        snprintf(err, errlen, "alert: cannot start the sender thread");
        alert_free(a);
        return PF_NOMEM;
    }
    a->send_started = true;
    pthread_mutex_lock(&global_lock);
    global = a;
    pthread_mutex_unlock(&global_lock);
    pf_info(
        "alert: %zu webhook%s, %zu email recipient%s from the options; evaluating every %" PRIu64
        " s at or above %s; report links under %s",
        o->nalert_webhooks, o->nalert_webhooks == 1 ? "" : "s",
        o->alert_smtp_url ? o->nalert_email_to : 0,
        o->alert_smtp_url && o->nalert_email_to == 1 ? "" : "s", o->alert_interval_s,
        finding_severity_name((enum finding_severity)o->alert_min_severity), a->report_base);
    *out = a;
    return PF_OK;
}

void alert_free(struct alert *a)
{
    uint64_t one = 1;

    if (!a)
        return;
    pthread_mutex_lock(&global_lock);
    if (global == a)
        global = NULL;
    pthread_mutex_unlock(&global_lock);
    atomic_store(&a->stop, true);
    pthread_mutex_lock(&a->lock);
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    if (a->wake_fd >= 0 && write(a->wake_fd, &one, sizeof(one)) < 0)
        pf_debug("alert: wake: %s", strerror(errno));
    if (a->eval_started)
        pthread_join(a->eval_thread, NULL);
    if (a->send_started)
        pthread_join(a->send_thread, NULL);
    if (a->wake_fd >= 0)
        close(a->wake_fd);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
