/* SPDX-License-Identifier: MIT */
/* host_detail_db.c: one host's detail for the report's host page (see
 * host_detail_db.h). Text results, parsed here; the rows are few (one per
 * hour, a few per process and hour, ten remotes). */
#include "host_detail_db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "timeutil.h"

/* The busiest snapshot of each hour (most ephemeral ports; the latest of
 * equals), with its states in tcp_state.h's order. From the tables, not
 * the snapshots view: the compact rows' counts by pf_body_counts()
 * (sql/141, the view's order), those stored before the compact layout as
 * they are. */
static const char states_sql[] =
    "SELECT DISTINCT ON (h) extract(epoch FROM h)::bigint, c[2], c[3], c[4], c[5], c[6], c[7], "
    "c[8], c[9], c[10], c[11], c[12], c[13] "
    "FROM (SELECT date_bin('1 hour', taken_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS h, "
    "taken_at, c FROM (SELECT taken_at, pf_body_counts(body) AS c FROM snapshot_data "
    "WHERE agent_id = $1::uuid AND taken_at >= $2::timestamptz AND taken_at <= $3::timestamptz "
    "UNION ALL SELECT taken_at, ARRAY[interval_s, tcp_listen, tcp_syn_sent, tcp_syn_received, "
    "tcp_established, tcp_fin_wait_1, tcp_fin_wait_2, tcp_close_wait, tcp_closing, tcp_last_ack, "
    "tcp_time_wait, tcp_bound, tcp_ephemeral_in_use]::bigint[] FROM snapshots_v1 "
    "WHERE agent_id = $1::uuid AND taken_at >= $2::timestamptz AND taken_at <= $3::timestamptz) u) s "
    "ORDER BY h, c[13] DESC NULLS LAST, taken_at DESC";

static const char procs_sql[] =
    "SELECT extract(epoch FROM hour)::bigint, name, service, held_max, bound_max, remote_addr, "
    "remote_port, extract(epoch FROM remote_at)::bigint FROM process_hours "
    "WHERE agent_id = $1::uuid AND hour >= $2::timestamptz AND hour <= $3::timestamptz";

static const char remotes_sql[] =
    "SELECT addr, port, max(count) AS peak FROM snapshot_remotes "
    "WHERE agent_id = $1::uuid AND taken_at > $2::timestamptz AND taken_at <= $3::timestamptz "
    "GROUP BY addr, port ORDER BY peak DESC, addr, port LIMIT 10"; /* HOST_DETAIL_REMOTES */

/* The latest snapshot's key from snapshot_seqs (every stored snapshot's),
 * then that one row of the view: sorting the view would decode every
 * body of the host first. */
static const char latest_sql[] =
    "SELECT extract(epoch FROM taken_at)::bigint, agent_version, os_version, interval_s, "
    "array_to_json(unmeasured)::text, spool_depth, spool_dropped, spool_corrupt, "
    "last_push_error, truncated FROM snapshots "
    "WHERE agent_id = $1::uuid AND (taken_at, seq) = (SELECT taken_at, seq FROM snapshot_seqs "
    "WHERE agent_id = $1::uuid AND taken_at <= $2::timestamptz "
    "ORDER BY taken_at DESC, seq DESC LIMIT 1)";

/* From the tables too: the view would decode every body to count them. */
static const char window_sql[] =
    "SELECT count(*), count(last_push_error) FROM (SELECT last_push_error FROM snapshot_data "
    "WHERE agent_id = $1::uuid AND taken_at >= $2::timestamptz AND taken_at <= $3::timestamptz "
    "UNION ALL SELECT last_push_error FROM snapshots_v1 WHERE agent_id = $1::uuid "
    "AND taken_at >= $2::timestamptz AND taken_at <= $3::timestamptz) u";

static const char error_sql[] =
    "SELECT extract(epoch FROM taken_at)::bigint, last_push_error FROM snapshots "
    "WHERE agent_id = $1::uuid AND taken_at >= $2::timestamptz AND taken_at <= $3::timestamptz "
    "AND last_push_error IS NOT NULL ORDER BY taken_at DESC, seq DESC LIMIT 1";

static const char site_sql[] =
    "SELECT coalesce(l.site, a.site) FROM agents a LEFT JOIN host_latest l "
    "ON l.agent_id = a.agent_id WHERE a.agent_id = $1::uuid AND a.revoked_at IS NULL "
    "AND ($2 = '' OR a.tenant = $2)";

static bool null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

static double num(const PGresult *r, int row, int col)
{
    return null(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

static long long i64(const PGresult *r, int row, int col, long long absent)
{
    return null(r, row, col) ? absent : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static PGresult *query(PGconn *pg, const char *sql, int n, const char *const *vals, char *err,
                       size_t errlen, const char *what)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static int command(PGconn *pg, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(pg, sql);
    int bad = PQresultStatus(r) != PGRES_COMMAND_OK;

    if (bad && errlen)
        snprintf(err, errlen, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return bad ? -1 : 0;
}

enum pf_rc host_detail_site(PGconn *pg, const char *tenant, const char *agent_id, char *site,
                            size_t sitelen, char *err, size_t errlen)
{
    const char *vals[2] = {agent_id, tenant ? tenant : ""};
    PGresult *r = query(pg, site_sql, 2, vals, err, errlen, "finding the host");

    if (!r)
        return PF_AGAIN;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return PF_NOTFOUND;
    }
    snprintf(site, sitelen, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return PF_OK;
}

static long hour_of(const struct host_detail *d, int64_t t)
{
    if (t < d->start || t >= d->start + (int64_t)d->nhours * 3600)
        return -1;
    return (long)((t - d->start) / 3600);
}

static void load_states(struct host_detail *d, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        long h = hour_of(d, i64(r, i, 0, -1));
        if (h < 0)
            continue;
        for (int s = 0; s < PF_TCP_NSTATES; s++) {
            d->hours[h].states[s] = num(r, i, 1 + s);
            if (!null(r, i, 1 + s))
                d->states_measured[s] = true;
        }
        d->hours[h].ephemeral = num(r, i, 1 + PF_TCP_NSTATES);
    }
}

/* Every (name, service) of the window with its peak; the top ones get
 * their series. */
struct proc_key {
    const char *name, *service;
    double peak;
};

static int by_peak(const void *a, const void *b)
{
    const struct proc_key *x = a, *y = b;
    int c;

    if (x->peak != y->peak)
        return x->peak < y->peak ? 1 : -1;
    c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->service, y->service);
}

static enum pf_rc load_procs(struct host_detail *d, const PGresult *r)
{
    struct proc_key *keys = calloc(HOST_DETAIL_KEYS, sizeof(*keys));
    size_t nkeys = 0;
    int64_t *remote_at;

    if (!keys)
        return PF_NOMEM;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *name = PQgetvalue(r, i, 1), *service = PQgetvalue(r, i, 2);
        double held = num(r, i, 3);
        size_t k;
        for (k = 0; k < nkeys; k++)
            if (strcmp(keys[k].name, name) == 0 && strcmp(keys[k].service, service) == 0)
                break;
        if (k == nkeys) {
            if (nkeys == HOST_DETAIL_KEYS)
                continue;
            keys[nkeys++] = (struct proc_key){name, service, 0};
        }
        if (held > keys[k].peak)
            keys[k].peak = held;
    }
    d->procs_seen = nkeys;
    qsort(keys, nkeys, sizeof(*keys), by_peak);
    d->nprocs = nkeys < HOST_DETAIL_PROCS ? nkeys : HOST_DETAIL_PROCS;
    remote_at = calloc(HOST_DETAIL_PROCS, sizeof(*remote_at));
    if (!remote_at) {
        free(keys);
        d->nprocs = 0;
        return PF_NOMEM;
    }
    for (size_t k = 0; k < d->nprocs; k++) {
        struct host_detail_proc *p = &d->procs[k];
        snprintf(p->name, sizeof(p->name), "%s", keys[k].name);
        snprintf(p->service, sizeof(p->service), "%s", keys[k].service);
        p->held = malloc(d->nhours * sizeof(*p->held));
        p->bound = malloc(d->nhours * sizeof(*p->bound));
        if (!p->held || !p->bound) {
            free(keys);
            free(remote_at);
            return PF_NOMEM;
        }
        for (size_t h = 0; h < d->nhours; h++)
            p->held[h] = p->bound[h] = NAN;
        p->last = NAN;
    }
    free(keys); /* its strings point into r; the names are copied now */
    for (int i = 0; i < PQntuples(r); i++) {
        long h = hour_of(d, i64(r, i, 0, -1));
        struct host_detail_proc *p = NULL;
        for (size_t k = 0; k < d->nprocs && !p; k++)
            if (strcmp(d->procs[k].name, PQgetvalue(r, i, 1)) == 0 &&
                strcmp(d->procs[k].service, PQgetvalue(r, i, 2)) == 0)
                p = &d->procs[k];
        if (!p || h < 0)
            continue;
        p->held[h] = num(r, i, 3);
        p->bound[h] = num(r, i, 4);
        if (p->held[h] > p->peak)
            p->peak = p->held[h];
        if (p->bound[h] > p->peak_bound)
            p->peak_bound = p->bound[h];
        if (!null(r, i, 5) && i64(r, i, 7, 0) >= remote_at[p - d->procs]) {
            remote_at[p - d->procs] = i64(r, i, 7, 0);
            p->has_remote = true;
            snprintf(p->remote.addr, sizeof(p->remote.addr), "%s", PQgetvalue(r, i, 5));
            p->remote.port = (uint16_t)i64(r, i, 6, 0);
        }
    }
    for (size_t k = 0; k < d->nprocs; k++)
        for (size_t h = d->nhours; h > 0; h--)
            if (d->procs[k].held[h - 1] == d->procs[k].held[h - 1]) {
                d->procs[k].last = d->procs[k].held[h - 1];
                break;
            }
    free(remote_at);
    return PF_OK;
}

static void load_remotes(struct host_detail *d, const PGresult *r)
{
    for (int i = 0; i < PQntuples(r) && d->nremotes < HOST_DETAIL_REMOTES; i++) {
        struct pf_endpoint *e = &d->remotes[d->nremotes++].ep;
        snprintf(e->addr, sizeof(e->addr), "%s", PQgetvalue(r, i, 0));
        e->port = (uint16_t)i64(r, i, 1, 0);
        e->count = (uint64_t)i64(r, i, 2, 0);
    }
}

static void load_latest(struct host_detail *d, const PGresult *r)
{
    cJSON *u;

    if (PQntuples(r) != 1)
        return;
    d->has_latest = true;
    d->latest_at = i64(r, 0, 0, 0);
    snprintf(d->agent_version, sizeof(d->agent_version), "%s", PQgetvalue(r, 0, 1));
    snprintf(d->os_version, sizeof(d->os_version), "%s", PQgetvalue(r, 0, 2));
    d->interval_s = (uint32_t)i64(r, 0, 3, 0);
    u = cJSON_Parse(PQgetvalue(r, 0, 4));
    for (cJSON *e = u ? u->child : NULL; e && d->nunmeasured < HOST_DETAIL_UNMEASURED; e = e->next)
        if (cJSON_IsString(e))
            snprintf(d->unmeasured[d->nunmeasured++], PF_ID_LEN, "%s", e->valuestring);
    cJSON_Delete(u);
    d->spool_depth = i64(r, 0, 5, -1);
    d->spool_dropped = i64(r, 0, 6, -1);
    d->spool_corrupt = i64(r, 0, 7, -1);
    snprintf(d->last_error, sizeof(d->last_error), "%s", null(r, 0, 8) ? "" : PQgetvalue(r, 0, 8));
    d->truncated = strcmp(PQgetvalue(r, 0, 9), "t") == 0;
}

enum pf_rc host_detail_load(PGconn *pg, const struct fleet *f, int64_t now, const char *agent_id,
                            struct host_detail *d, char *err, size_t errlen)
{
    char from[PF_TIME_LEN], to[PF_TIME_LEN], day[PF_TIME_LEN];
    const char *vals[3];
    PGresult *r;
    enum pf_rc rc = PF_OK;

    memset(d, 0, sizeof(*d));
    d->start = f->start;
    d->nhours = f->nhours;
    d->remotes_from = now - 86400 > f->start ? now - 86400 : f->start;
    if (pf_time_format(f->start, from) || pf_time_format(now, to) ||
        pf_time_format(d->remotes_from, day)) {
        snprintf(err, errlen, "unusable analysis window");
        return PF_INVALID;
    }
    d->hours = malloc(d->nhours * sizeof(*d->hours));
    if (!d->hours)
        return PF_NOMEM;
    for (size_t h = 0; h < d->nhours; h++) {
        for (int s = 0; s < PF_TCP_NSTATES; s++)
            d->hours[h].states[s] = NAN;
        d->hours[h].ephemeral = NAN;
    }
    /* One host's rows (a few thousand): parallel workers cost more to
     * start than they save (150 ms of the remotes' query on a busy host). */
    if (command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)) {
        host_detail_clear(d);
        return PF_AGAIN;
    }
    if (command(pg, "SET LOCAL max_parallel_workers_per_gather = 0", err, errlen)) {
        command(pg, "ROLLBACK", NULL, 0);
        host_detail_clear(d);
        return PF_AGAIN;
    }
    vals[0] = agent_id;
    vals[1] = from;
    vals[2] = to;
    if ((r = query(pg, states_sql, 3, vals, err, errlen, "loading TCP states"))) {
        load_states(d, r);
        PQclear(r);
    } else {
        rc = PF_AGAIN;
    }
    if (!rc && (r = query(pg, procs_sql, 3, vals, err, errlen, "loading processes"))) {
        rc = load_procs(d, r);
        PQclear(r);
    } else if (!rc) {
        rc = PF_AGAIN;
    }
    if (!rc && (r = query(pg, window_sql, 3, vals, err, errlen, "counting snapshots"))) {
        d->snapshots = (uint64_t)i64(r, 0, 0, 0);
        d->snapshots_with_error = (uint64_t)i64(r, 0, 1, 0);
        PQclear(r);
    } else if (!rc) {
        rc = PF_AGAIN;
    }
    if (!rc && d->snapshots_with_error) {
        if ((r = query(pg, error_sql, 3, vals, err, errlen, "loading the last error"))) {
            if (PQntuples(r) == 1) {
                d->error_at = i64(r, 0, 0, 0);
                snprintf(d->error, sizeof(d->error), "%s", PQgetvalue(r, 0, 1));
            }
            PQclear(r);
        } else {
            rc = PF_AGAIN;
        }
    }
    vals[1] = day;
    if (!rc && (r = query(pg, remotes_sql, 3, vals, err, errlen, "loading remotes"))) {
        load_remotes(d, r);
        PQclear(r);
    } else if (!rc) {
        rc = PF_AGAIN;
    }
    vals[1] = to;
    if (!rc && (r = query(pg, latest_sql, 2, vals, err, errlen, "loading the latest snapshot"))) {
        load_latest(d, r);
        PQclear(r);
    } else if (!rc) {
        rc = PF_AGAIN;
    }
    if (!rc && command(pg, "COMMIT", err, errlen))
        rc = PF_AGAIN;
    if (rc) {
        command(pg, "ROLLBACK", NULL, 0);
        host_detail_clear(d);
    }
    return rc;
}
