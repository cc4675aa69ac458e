/* SPDX-License-Identifier: MIT */
/* fleet_mirror.c: the fleet mirror (fleet_mirror.h). The mirror is a
 * struct fleet over every host, with per host what a request's copy
 * needs besides (when it was last seen or enrolled, whether the host
 * query still returns it, the VPN columns of each hour) in a parallel
 * array reached through fleet.owner from the row readers. */
#include "fleet_mirror.h"

#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_db.h"
#include "analysis_rows.h"
#include "array.h"
#include "demand.h"
#include "log.h"
#include "pgarray.h"
#include "proc_rollup.h"
#include "stats.h"
#include "timeutil.h"

#define MIRROR_WORK_MEM "128MB"
#define MIRROR_MARGIN_H 2          /* re-read hours from this before the previous refresh */
#define MIRROR_STALE_US (20LL * 3600 * 1000000) /* marks live a day: reload past this */

/* The host query of analysis_db.c without its tenant, site and silence
 * filters (the copy applies them), plus taken_at and enrolled_at in
 * microseconds for the silence filter. Same order. */
static const char hosts_sql[] =
    "SELECT a.agent_id::text, a.name, a.site, extract(epoch FROM l.taken_at)::bigint, l.name, "
    "l.site, l.os, array_to_json(l.roles)::text, l.cpus, l.memory_mb, l.interval_s, "
    "l.tcp_start, l.tcp_count, l.udp_start, l.udp_count, l.usable_tcp4, l.usable_udp4, "
    "l.excluded_tcp4::text, l.tcp_in_use, l.udp_in_use, l.top_dest_addr, l.top_dest_port, "
    "l.ike_value, a.tenant, (extract(epoch FROM l.taken_at) * 1000000)::bigint, "
    "(extract(epoch FROM a.enrolled_at) * 1000000)::bigint "
    "FROM agents a LEFT JOIN host_latest l ON l.agent_id = a.agent_id "
    "WHERE a.revoked_at IS NULL "
    "AND (l.taken_at >= $1::timestamptz OR (l.taken_at IS NULL AND a.enrolled_at >= "
    "$1::timestamptz)) "
    "ORDER BY a.tenant, coalesce(l.site, a.site), coalesce(l.name, a.name), a.agent_id";

/* The database's clock and snapshot, whether Citus is there, and whether
 * sql/150 is. */
static const char clock_sql[] =
    "SELECT (extract(epoch FROM now()) * 1000000)::bigint, "
    "pg_snapshot_xmin(pg_current_snapshot())::text, "
    "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus'), "
    "to_regclass('rollup_late_marks') IS NOT NULL";

static const char marks_sql[] =
    "SELECT DISTINCT agent_id::text, (extract(epoch FROM hour))::bigint FROM rollup_late_marks "
    "WHERE xid >= $1::xid8";

/* Rows of hours [$1, $2) of every host. Plain range conditions, no OR:
 * the partitions are pruned and the hour index used, and the parameters
 * (settings on the COPY path) are read once, not per row. */
static const char hours_range_tail[] =
    " FROM host_hours h WHERE h.hour >= $1::timestamptz AND h.hour < $2::timestamptz";
static const char procs_range_sql[] =
    ANALYSIS_ROWS_PROC_COLS
    "FROM process_hours p WHERE p.hour >= $1::timestamptz AND p.hour < $2::timestamptz";
/* Rows of the given (host, hour) pairs. */
static const char hours_pairs_tail[] =
    " FROM host_hours h JOIN unnest($1::uuid[], $2::timestamptz[]) AS m(agent_id, hour) "
    "ON h.agent_id = m.agent_id AND h.hour = m.hour "
    "WHERE h.hour >= $3::timestamptz AND h.hour <= $4::timestamptz";
static const char procs_pairs_sql[] =
    ANALYSIS_ROWS_PROC_COLS
    "FROM process_hours p JOIN unnest($1::uuid[], $2::timestamptz[]) AS m(agent_id, hour) "
    "ON p.agent_id = m.agent_id AND p.hour = m.hour "
    "WHERE p.hour >= $3::timestamptz AND p.hour <= $4::timestamptz";
/* Every hour of the given hosts in [$2, $3) outside the re-read ranges
 * [$4, $5) and [$6, $7). */
static const char hours_hosts_tail[] =
    " FROM host_hours h WHERE h.agent_id = ANY($1::uuid[]) "
    "AND h.hour >= $2::timestamptz AND h.hour < $3::timestamptz "
    "AND NOT (h.hour >= $4::timestamptz AND h.hour < $5::timestamptz) "
    "AND NOT (h.hour >= $6::timestamptz AND h.hour < $7::timestamptz)";
static const char procs_hosts_sql[] =
    ANALYSIS_ROWS_PROC_COLS
    "FROM process_hours p WHERE p.agent_id = ANY($1::uuid[]) "
    "AND p.hour >= $2::timestamptz AND p.hour < $3::timestamptz "
    "AND NOT (p.hour >= $4::timestamptz AND p.hour < $5::timestamptz) "
    "AND NOT (p.hour >= $6::timestamptz AND p.hour < $7::timestamptz)";

struct mhost {
    int64_t taken_us, enrolled_us; /* taken_us meaningful when reported */
    bool reported, present, whole;
    struct fleet_vpn *vpn; /* [nhours] each hour's VPN columns, or NULL */
    bool *has_vpn;
};

/* One mirror generation: a full load makes a new one. */
struct mstate {
    struct fleet *f;
    struct mhost *ext; /* [f->nhosts] */
    size_t extcap;
    size_t *order; /* host numbers in the host query's order, present ones */
    size_t norder, ordercap;
};

struct fmirror {
    pthread_mutex_t lock;
    int64_t window_s;
    struct mstate *st;
    int64_t db_us;  /* now() of the last refresh */
    char xmin[32];  /* its snapshot's xmin */
    bool disabled;
    long long full_ms, refresh_ms;
    unsigned long long fulls, refreshes;
    struct block *pool[2]; /* copies' blocks given back (POOL_BLOCKS) */
};

/* ---- state ---- */

static void state_free(struct mstate *s)
{
    if (!s)
        return;
    if (s->f)
        for (size_t i = 0; i < s->f->nhosts; i++) {
            free(s->ext[i].vpn);
            free(s->ext[i].has_vpn);
        }
    fleet_free(s->f);
    free(s->ext);
    free(s->order);
    free(s);
}

static struct mstate *state_new(int64_t start, int64_t window_s)
{
    struct fleet_params p;
    struct mstate *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    fleet_params_default(&p);
    p.window_s = window_s;
    p.now = start + window_s; /* fleet_new puts the window start back at start */
    s->f = fleet_new(&p);
    if (!s->f) {
        free(s);
        return NULL;
    }
    s->f->owner = s;
    return s;
}

/* The start of the window holding now (fleet_new()'s). */
static int64_t window_start(int64_t now, int64_t window_s)
{
    return (now - window_s) / FLEET_HOUR * FLEET_HOUR;
}

static void blank_hour(struct mstate *s, size_t i, size_t h)
{
    struct fleet_host *x = &s->f->hosts[i];

    x->tcp[h] = x->udp[h] = x->top_dest[h] = x->vpn_conn[h] = NAN;
    memset(&x->events[h], 0, sizeof(x->events[h]));
    for (int k = 0; k < SIZING_N; k++)
        if (x->sz[k])
            x->sz[k][h] = NAN;
    if (s->ext[i].has_vpn)
        s->ext[i].has_vpn[h] = false;
    for (size_t k = 0; k < x->nprocs; k++)
        x->procs[k].held[h] = x->procs[k].held_min[h] = x->procs[k].bound[h] = NAN;
}

/* Moves series v[n] of elements of size sz by k hours (k > 0: toward the
 * start, the window slid forward), filling what is exposed with fill. */
static void shift(void *v, size_t n, size_t sz, long k, const void *fill)
{
    unsigned char *p = v;
    size_t m = (size_t)(k > 0 ? k : -k);

    if (!v)
        return;
    if (k > 0)
        memmove(p, p + m * sz, (n - m) * sz);
    else
        memmove(p + m * sz, p, (n - m) * sz);
    for (size_t h = 0; h < m; h++)
        memcpy(p + (k > 0 ? n - m + h : h) * sz, fill, sz);
}

static void slide(struct mstate *s, long k)
{
    struct fleet *f = s->f;
    const double nan = NAN;
    const struct fleet_events zero = {0};
    const bool no = false;
    struct fleet_vpn novpn;

    memset(&novpn, 0, sizeof(novpn));
    for (size_t i = 0; i < f->nhosts; i++) {
        struct fleet_host *x = &f->hosts[i];
        shift(x->tcp, f->nhours, sizeof(double), k, &nan);
        shift(x->udp, f->nhours, sizeof(double), k, &nan);
        shift(x->top_dest, f->nhours, sizeof(double), k, &nan);
        shift(x->vpn_conn, f->nhours, sizeof(double), k, &nan);
        shift(x->events, f->nhours, sizeof(*x->events), k, &zero);
        for (int j = 0; j < SIZING_N; j++)
            shift(x->sz[j], f->nhours, sizeof(double), k, &nan);
        shift(s->ext[i].vpn, f->nhours, sizeof(novpn), k, &novpn);
        shift(s->ext[i].has_vpn, f->nhours, sizeof(bool), k, &no);
        for (size_t j = 0; j < x->nprocs; j++) {
            shift(x->procs[j].held, f->nhours, sizeof(double), k, &nan);
            shift(x->procs[j].held_min, f->nhours, sizeof(double), k, &nan);
            shift(x->procs[j].bound, f->nhours, sizeof(double), k, &nan);
        }
    }
    f->start += (int64_t)k * FLEET_HOUR;
    /* A process's remote is the latest in the window: one from an hour
     * that left it must be found again among the rows left. */
    for (size_t i = 0; i < f->nhosts; i++) {
        struct fleet_host *x = &f->hosts[i];
        for (size_t j = 0; j < x->nprocs; j++)
            if (x->procs[j].has_remote && fleet_hour(f, x->procs[j].remote_at) < 0)
                s->ext[i].whole = true;
    }
}

/* ---- rows ---- */

static enum pf_rc mirror_host_hour(struct fleet *f, const struct arow *r)
{
    struct mstate *s = f->owner;
    struct fleet_vpn v;
    struct fleet_host *x;
    struct mhost *e;
    long h;
    enum pf_rc rc = analysis_rows_host_hour(f, r);

    if (rc || !analysis_rows_vpn(r, &v))
        return rc;
    x = analysis_rows_row_host(f, r, &h);
    if (!x)
        return PF_OK;
    e = &s->ext[x - f->hosts];
    if (!e->vpn) {
        e->vpn = calloc(f->nhours, sizeof(*e->vpn));
        e->has_vpn = calloc(f->nhours, sizeof(*e->has_vpn));
        if (!e->vpn || !e->has_vpn)
            return PF_NOMEM;
    }
    e->vpn[h] = v;
    e->has_vpn[h] = true;
    return PF_OK;
}

/* The host query into s: hosts added (new ones marked whole when
 * new_whole), present flags and order. */
static enum pf_rc load_hosts(PGconn *pg, struct mstate *s, bool new_whole, char *err,
                             size_t errlen)
{
    char forget[PF_TIME_LEN];
    const char *vals[1] = {forget};
    PGresult *r;
    enum pf_rc rc = PF_OK;
    int n;

    /* Earlier than any request's silence limit (analysis_db_load's). */
    if (pf_time_format(s->f->start - (int64_t)(ANALYSIS_DB_FORGET_DAYS + 1) * 86400, forget))
        return PF_INTERNAL;
    r = PQexecParams(pg, hosts_sql, 1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "fleet mirror: loading hosts: %s", PQresultErrorMessage(r));
        PQclear(r);
        return PF_AGAIN;
    }
    n = PQntuples(r);
    for (size_t i = 0; i < s->f->nhosts; i++)
        s->ext[i].present = false;
    s->norder = 0;
    if (PF_ARRAY_RESERVE(s->order, s->ordercap, (size_t)n, 16)) {
        PQclear(r);
        return PF_NOMEM;
    }
    for (int i = 0; i < n && !rc; i++) {
        size_t before = s->f->nhosts, k;
        struct fleet_host *x = fleet_host_get(s->f, PQgetvalue(r, i, 0)), keep;
        struct mhost *e;
        if (!x || PF_ARRAY_RESERVE(s->ext, s->extcap, s->f->nhosts, 64)) {
            rc = PF_NOMEM;
            break;
        }
        k = (size_t)(x - s->f->hosts);
        e = &s->ext[k];
        if (s->f->nhosts > before) {
            memset(e, 0, sizeof(*e));
            e->whole = new_whole;
        }
        /* A fresh configuration over the host's series. */
        keep = *x;
        free(x->excluded);
        memset(x, 0, sizeof(*x));
        memcpy(x->agent_id, keep.agent_id, sizeof(x->agent_id));
        x->tcp = keep.tcp;
        x->udp = keep.udp;
        x->top_dest = keep.top_dest;
        x->vpn_conn = keep.vpn_conn;
        x->events = keep.events;
        memcpy(x->sz, keep.sz, sizeof(x->sz));
        x->procs = keep.procs;
        x->nprocs = keep.nprocs;
        x->capprocs = keep.capprocs;
        rc = analysis_rows_host_config(r, i, x);
        e->present = true;
        e->reported = !PQgetisnull(r, i, 24);
        e->taken_us = e->reported ? strtoll(PQgetvalue(r, i, 24), NULL, 10) : 0;
        e->enrolled_us = PQgetisnull(r, i, 25) ? INT64_MIN : strtoll(PQgetvalue(r, i, 25), NULL, 10);
        s->order[s->norder++] = k;
    }
    PQclear(r);
    return rc;
}

/* ---- full load and refresh ---- */

static enum pf_rc full_load(PGconn *pg, struct fmirror *m, int64_t start, const struct loader *ld,
                            char *err, size_t errlen)
{
    struct mstate *s = state_new(start, m->window_s);
    char from[PF_TIME_LEN], to[PF_TIME_LEN], hsql[2048];
    const char *vals[2] = {from, to};
    enum pf_rc rc;

    if (!s)
        return PF_NOMEM;
    if (pf_time_format(s->f->start, from) ||
        pf_time_format(s->f->start + (int64_t)s->f->nhours * FLEET_HOUR, to)) {
        state_free(s);
        return PF_INTERNAL;
    }
    rc = load_hosts(pg, s, false, err, errlen);
    if (!rc)
        rc = analysis_rows_hours_sql(hsql, sizeof(hsql), hours_range_tail);
    if (!rc)
        rc = analysis_rows_load(ld, hsql, 2, vals, s->f, mirror_host_hour, err, errlen,
                                "fleet mirror: loading host hours");
    if (!rc)
        rc = analysis_rows_load(ld, procs_range_sql, 2, vals, s->f, analysis_rows_proc_hour, err,
                                errlen, "fleet mirror: loading process hours");
    if (rc) {
        state_free(s);
        return rc;
    }
    state_free(m->st);
    m->st = s;
    m->fulls++;
    return PF_OK;
}

struct pair {
    size_t host;
    int64_t hour;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;

    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    return x->hour < y->hour ? -1 : x->hour > y->hour;
}

/* The marks since the previous refresh, as (host, hour) pairs inside the
 * window outside [a1, b1) and [a2, b2), of hosts not re-read whole.
 * *truncated: a TRUNCATE mark (reload everything). */
static enum pf_rc read_marks(PGconn *pg, struct fmirror *m, int64_t a1, int64_t b1, int64_t a2,
                             int64_t b2, struct pair **out, size_t *nout, bool *truncated,
                             char *err, size_t errlen)
{
    struct mstate *s = m->st;
    const char *vals[1] = {m->xmin};
    PGresult *r = PQexecParams(pg, marks_sql, 1, NULL, vals, NULL, NULL, 0);
    struct pair *v = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    *nout = 0;
    *truncated = false;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "fleet mirror: reading late marks: %s", PQresultErrorMessage(r));
        PQclear(r);
        return PF_AGAIN;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        struct fleet_host *x;
        int64_t t;
        if (PQgetisnull(r, i, 0)) {
            *truncated = true;
            break;
        }
        x = fleet_host_find(s->f, PQgetvalue(r, i, 0));
        t = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        if (!x || s->ext[x - s->f->hosts].whole || fleet_hour(s->f, t) < 0 ||
            (t >= a1 && t < b1) || (t >= a2 && t < b2))
            continue;
        if (PF_ARRAY_RESERVE(v, cap, n + 1, 64)) {
            free(v);
            PQclear(r);
            return PF_NOMEM;
        }
        v[n++] = (struct pair){(size_t)(x - s->f->hosts), t};
    }
    PQclear(r);
    if (n)
        qsort(v, n, sizeof(*v), cmp_pair);
    *out = v;
    *nout = n;
    return PF_OK;
}

static enum pf_rc incremental(PGconn *pg, struct fmirror *m, int64_t start, int64_t db_us,
                              const struct loader *ld, bool *reload, char *err, size_t errlen)
{
    struct mstate *s = m->st;
    struct fleet *f = s->f;
    int64_t end, a1, b1, a2 = 0, b2 = 0, old_start = f->start, old_end;
    char t[7][PF_TIME_LEN], hsql[2048];
    const char *vals[7];
    struct pair *pairs = NULL;
    size_t npairs = 0, nwhole = 0;
    struct pgarray ids, hours;
    bool truncated;
    enum pf_rc rc;

    long long t0 = pf_mono_ms(), t_hosts, t_ranges, t_late;

    *reload = false;
    old_end = old_start + (int64_t)f->nhours * FLEET_HOUR;
    if (start != old_start)
        slide(s, (long)((start - old_start) / FLEET_HOUR));
    end = f->start + (int64_t)f->nhours * FLEET_HOUR;
    rc = load_hosts(pg, s, true, err, errlen);
    if (rc)
        return rc;
    t_hosts = pf_mono_ms();
    /* Range 1: every host's recent hours, and what a slide forward exposed;
     * range 2: what a slide back exposed. */
    a1 = (m->db_us / 1000000) / FLEET_HOUR * FLEET_HOUR - MIRROR_MARGIN_H * FLEET_HOUR;
    if (start > old_start && old_end < a1)
        a1 = old_end;
    if (a1 < f->start)
        a1 = f->start;
    b1 = end;
    if (start < old_start) {
        a2 = f->start;
        b2 = old_start < a1 ? old_start : a1;
    }
    rc = read_marks(pg, m, a1, b1, a2, b2, &pairs, &npairs, &truncated, err, errlen);
    if (rc)
        return rc;
    if (truncated) {
        free(pairs);
        *reload = true;
        return PF_OK;
    }
    for (size_t i = 0; i < f->nhosts; i++) {
        long h0 = fleet_hour(f, a1);
        if (s->ext[i].whole) {
            nwhole++;
            for (size_t h = 0; h < f->nhours; h++)
                blank_hour(s, i, h);
            continue;
        }
        for (long h = h0; h >= 0 && h < (long)f->nhours; h++)
            blank_hour(s, i, (size_t)h);
    }
    for (size_t k = 0; k < npairs; k++)
        blank_hour(s, pairs[k].host, (size_t)fleet_hour(f, pairs[k].hour));

    /* The ranges. */
    if (pf_time_format(a1, t[0]) || pf_time_format(b1, t[1]) || pf_time_format(a2, t[2]) ||
        pf_time_format(b2, t[3])) {
        free(pairs);
        return PF_INTERNAL;
    }
    for (int k = 0; k < 4; k++)
        vals[k] = t[k];
    rc = analysis_rows_hours_sql(hsql, sizeof(hsql), hours_range_tail);
    for (int k = 0; !rc && k < 4; k += 2) {
        if (k == 0 ? a1 >= b1 : a2 >= b2)
            continue; /* an empty range */
        rc = analysis_rows_load(ld, hsql, 2, vals + k, f, mirror_host_hour, err, errlen,
                                "fleet mirror: recent host hours");
        if (!rc)
            rc = analysis_rows_load(ld, procs_range_sql, 2, vals + k, f,
                                    analysis_rows_proc_hour, err, errlen,
                                    "fleet mirror: recent process hours");
    }
    t_ranges = pf_mono_ms();
    /* The marked hours. */
    if (!rc && npairs) {
        char lo[PF_TIME_LEN], hi[PF_TIME_LEN];
        pgarray_init(&ids);
        pgarray_init(&hours);
        for (size_t k = 0; k < npairs; k++) {
            pgarray_str(&ids, f->hosts[pairs[k].host].agent_id);
            pgarray_time(&hours, pairs[k].hour);
        }
        vals[0] = pgarray_end(&ids, &rc);
        vals[1] = pgarray_end(&hours, &rc);
        if (!rc && (pf_time_format(f->start, lo) || pf_time_format(end, hi)))
            rc = PF_INTERNAL;
        vals[2] = lo;
        vals[3] = hi;
        if (!rc)
            rc = analysis_rows_hours_sql(hsql, sizeof(hsql), hours_pairs_tail);
        if (!rc)
            rc = analysis_rows_load(ld, hsql, 4, vals, f, mirror_host_hour, err, errlen,
                                    "fleet mirror: late host hours");
        if (!rc)
            rc = analysis_rows_load(ld, procs_pairs_sql, 4, vals, f, analysis_rows_proc_hour, err,
                                    errlen, "fleet mirror: late process hours");
        pgarray_free(&ids);
        pgarray_free(&hours);
    }
    t_late = pf_mono_ms();
    /* Hosts read whole: new ones, and those whose remote left the window. */
    if (!rc && nwhole) {
        pgarray_init(&ids);
        for (size_t i = 0; i < f->nhosts; i++)
            if (s->ext[i].whole)
                pgarray_str(&ids, f->hosts[i].agent_id);
        vals[0] = pgarray_end(&ids, &rc);
        if (!rc && (pf_time_format(f->start, t[4]) || pf_time_format(end, t[5])))
            rc = PF_INTERNAL;
        vals[1] = t[4];
        vals[2] = t[5];
        vals[3] = t[0];
        vals[4] = t[1];
        vals[5] = t[2];
        vals[6] = t[3];
        if (!rc)
            rc = analysis_rows_hours_sql(hsql, sizeof(hsql), hours_hosts_tail);
        if (!rc)
            rc = analysis_rows_load(ld, hsql, 7, vals, f, mirror_host_hour, err, errlen,
                                    "fleet mirror: hosts' host hours");
        if (!rc)
            rc = analysis_rows_load(ld, procs_hosts_sql, 7, vals, f, analysis_rows_proc_hour, err,
                                    errlen, "fleet mirror: hosts' process hours");
        pgarray_free(&ids);
        for (size_t i = 0; i < f->nhosts; i++)
            s->ext[i].whole = false;
    }
    free(pairs);
    (void)db_us;
    pf_debug("fleet mirror: hosts %lld ms, hours since %lld s ago %lld ms, %zu late hours %lld "
             "ms, %zu hosts whole %lld ms",
             t_hosts - t0, (long long)(db_us / 1000000 - a1), t_ranges - t_hosts, npairs,
             t_late - t_ranges, nwhole, pf_mono_ms() - t_late);
    return rc;
}

/* Under m->lock. */
static enum pf_rc refresh_locked(struct fmirror *m, PGconn *pg, int64_t now, char *err,
                                 size_t errlen)
{
    PGresult *r;
    struct loader ld = {pg, true};
    int64_t db_us, start;
    char xmin[32];
    bool citus, marks, reload;
    enum pf_rc rc;
    long long t0 = pf_mono_ms();
    PGresult *bad = NULL;
    size_t taken;

    if (m->disabled)
        return PF_NOTFOUND;
    /* process_hours from the snapshots stored so far, within the bound a
     * full load has (analysis_db.c): what is folded later is marked by
     * sql/150 (old hours) or re-read as recent, so the mirror gets it at
     * a later refresh. Only a lost connection fails. */
    {
        bool done;
        enum pf_rc crc = proc_rollup_catch_up(pg, PROC_ROLLUP_CATCH_UP_MS, &taken, &done, &bad);
        if (crc && PQstatus(pg) != CONNECTION_OK) {
            snprintf(err, errlen, "folding queued snapshots into process_hours: %s",
                     bad ? PQresultErrorMessage(bad) : "out of memory");
            PQclear(bad);
            return PF_AGAIN;
        }
        if (crc)
            pf_debug("fleet mirror: folding queued snapshots: %s",
                     bad ? PQresultErrorMessage(bad) : "out of memory");
        PQclear(bad);
    }
    if (analysis_rows_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen))
        return PF_AGAIN;
    if (analysis_rows_command(pg, "SET LOCAL work_mem = '" MIRROR_WORK_MEM "'", err, errlen)) {
        rc = PF_AGAIN;
        goto fail;
    }
    r = PQexecParams(pg, clock_sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "fleet mirror: reading the clock: %s", PQresultErrorMessage(r));
        PQclear(r);
        rc = PF_AGAIN;
        goto fail;
    }
    db_us = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    snprintf(xmin, sizeof(xmin), "%s", PQgetvalue(r, 0, 1));
    citus = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
    marks = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    PQclear(r);
    if (citus || !marks) {
        /* Citus refuses sql/150's triggers: without marks, late rows would
         * be missed. Every analysis loads in full. */
        m->disabled = true;
        pf_info("fleet mirror: off (%s); every analysis loads in full",
                citus ? "Citus" : "no rollup_late_marks table: run migrate");
        rc = PF_NOTFOUND;
        goto fail;
    }
    start = window_start(now ? now : db_us / 1000000, m->window_s);
    if (m->st && start < m->st->f->start - m->window_s / 2) {
        rc = PF_NOTFOUND; /* far back: not the mirror's business */
        goto fail;
    }
    reload = !m->st || db_us - m->db_us > MIRROR_STALE_US ||
             llabs(start - m->st->f->start) >= (long long)m->st->f->nhours * FLEET_HOUR;
    if (!reload)
        rc = incremental(pg, m, start, db_us, &ld, &reload, err, errlen);
    else
        rc = PF_OK;
    if (!rc && reload) {
        long long t1 = pf_mono_ms();
        rc = full_load(pg, m, start, &ld, err, errlen);
        m->full_ms = pf_mono_ms() - t1;
        if (!rc)
            pf_info("fleet mirror: %zu hosts loaded in full in %lld ms", m->st->f->nhosts,
                    m->full_ms);
    }
    if (rc)
        goto fail;
    if (analysis_rows_command(pg, "COMMIT", err, errlen)) {
        rc = PF_AGAIN;
        goto drop;
    }
    m->db_us = db_us;
    snprintf(m->xmin, sizeof(m->xmin), "%s", xmin);
    m->refresh_ms = pf_mono_ms() - t0;
    m->refreshes++;
    pf_debug("fleet mirror: refreshed in %lld ms", m->refresh_ms);
    return PF_OK;
fail:
    analysis_rows_command(pg, "ROLLBACK", NULL, 0);
    if (rc == PF_NOTFOUND)
        return rc;
drop:
    /* Half refreshed is not a mirror: the next refresh loads in full. */
    state_free(m->st);
    m->st = NULL;
    return rc;
}

/* ---- the request's copy ---- */

/* A copy lives in one block (fleet.arena) taken from, and given back to,
 * a pool of the last blocks freed: at 10,000 hosts a copy is 200,000
 * series, and getting them from malloc one by one, in memory the
 * allocator had just given back to the system, cost more than the copy
 * (page faults and heap growth: seconds on a loaded machine). */
#define POOL_BLOCKS 2

struct block {
    size_t size; /* bytes after this header */
    max_align_t align;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

static void *block_get(struct fmirror *m, size_t need)
{
    struct block *b = NULL;
    int best = -1;

    pthread_mutex_lock(&pool_lock);
    for (int k = 0; k < POOL_BLOCKS; k++)
        if (m->pool[k] && m->pool[k]->size >= need &&
            (best < 0 || m->pool[k]->size < m->pool[best]->size))
            best = k;
    if (best >= 0) {
        b = m->pool[best];
        m->pool[best] = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!b) {
        size_t size = need + need / 8; /* room for the fleet to grow a little */
        b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->size = size;
    }
    return b + 1;
}

static void block_put(void *arena, void *ud)
{
    struct fmirror *m = ud;
    struct block *b = (struct block *)arena - 1, *drop = b;

    pthread_mutex_lock(&pool_lock);
    for (int k = 0; k < POOL_BLOCKS && drop == b; k++) {
        if (!m->pool[k]) {
            m->pool[k] = b;
            drop = NULL;
        }
    }
    if (drop) { /* keep the larger blocks */
        for (int k = 0; k < POOL_BLOCKS; k++)
            if (m->pool[k]->size < drop->size) {
                struct block *t = m->pool[k];
                m->pool[k] = drop;
                drop = t;
            }
    }
    pthread_mutex_unlock(&pool_lock);
    free(drop);
}

static bool any_present(const double *v, size_t from, size_t to)
{
    for (size_t h = from; h < to; h++)
        if (stats_present(v[h]))
            return true;
    return false;
}

/* The processes of x a load would read: those with a row in the host's
 * last day [*lo, last] (the others are skipped). Returns how many (at
 * most FLEET_PROCS_MAX, as a load keeps). */
static size_t day_procs(const struct fleet *mf, const struct fleet_host *x, bool *keep, size_t *lo)
{
    long last = demand_last_hour(x->tcp, mf->nhours);
    size_t n = 0;

    *lo = 0;
    for (size_t k = 0; k < x->nprocs; k++)
        keep[k] = false;
    if (last < 0)
        return 0;
    *lo = last >= LEAK_MIN_HOURS - 1 ? (size_t)last - (LEAK_MIN_HOURS - 1) : 0;
    for (size_t k = 0; k < x->nprocs && n < FLEET_PROCS_MAX; k++) {
        const struct fleet_proc *pr = &x->procs[k];
        for (size_t h = *lo; h <= (size_t)last && !keep[k]; h++)
            keep[k] = stats_present(pr->held[h]) || stats_present(pr->held_min[h]) ||
                      stats_present(pr->bound[h]);
        n += keep[k];
    }
    return n;
}

/* Bytes of x's copy (each piece rounded to 16). */
#define ROUND16(n) (((n) + 15) & ~(size_t)15)
static size_t host_bytes(const struct fleet *mf, const struct fleet_host *x, bool *keep)
{
    size_t n = mf->nhours, lo, series = ROUND16(n * sizeof(double)), b, np;

    b = 4 * series + ROUND16(n * sizeof(struct fleet_events));
    for (int k = 0; k < SIZING_N; k++)
        if (x->sz[k] && any_present(x->sz[k], 0, n))
            b += series;
    b += ROUND16(x->nexcluded * sizeof(*x->excluded));
    np = day_procs(mf, x, keep, &lo);
    b += ROUND16(np * sizeof(struct fleet_proc)) + np * 3 * series;
    return b;
}

static void *carve(unsigned char **p, size_t bytes)
{
    void *v = *p;

    *p += ROUND16(bytes);
    return v;
}

/* Host x of the mirror (with e) into the copy v, as analysis_db_load
 * would have loaded it, its pieces carved from *p. */
static enum pf_rc copy_host(const struct fleet *mf, const struct fleet_host *x,
                            const struct mhost *e, struct fleet *v, unsigned char **p,
                            bool *keep)
{
    struct fleet_host *y = fleet_host_add_bare(v, x->agent_id);
    size_t n = mf->nhours, lo, np;
    long last;

    if (!y)
        return PF_NOMEM;
    *y = *x;
    y->procs = NULL;
    y->nprocs = y->capprocs = 0;
    y->excluded = NULL;
    y->has_vpn = false;
    memset(&y->vpn, 0, sizeof(y->vpn));
    memset(y->sz, 0, sizeof(y->sz));
    y->tcp = memcpy(carve(p, n * sizeof(double)), x->tcp, n * sizeof(double));
    y->udp = memcpy(carve(p, n * sizeof(double)), x->udp, n * sizeof(double));
    y->top_dest = memcpy(carve(p, n * sizeof(double)), x->top_dest, n * sizeof(double));
    y->vpn_conn = memcpy(carve(p, n * sizeof(double)), x->vpn_conn, n * sizeof(double));
    y->events = memcpy(carve(p, n * sizeof(*x->events)), x->events, n * sizeof(*x->events));
    if (x->nexcluded)
        y->excluded = memcpy(carve(p, x->nexcluded * sizeof(*x->excluded)), x->excluded,
                             x->nexcluded * sizeof(*x->excluded));
    for (int k = 0; k < SIZING_N; k++)
        if (x->sz[k] && any_present(x->sz[k], 0, n))
            y->sz[k] = memcpy(carve(p, n * sizeof(double)), x->sz[k], n * sizeof(double));
    /* The VPN peak, folded hour by hour as a load folds its rows. */
    for (size_t h = 0; e->has_vpn && h < n; h++)
        if (e->has_vpn[h])
            fleet_fold_vpn(y, &e->vpn[h]);
    /* Processes: those with a row in the host's last day, the whole series
     * of the leak candidates, the day of the others. */
    np = day_procs(mf, x, keep, &lo);
    if (!np)
        return PF_OK;
    last = demand_last_hour(x->tcp, mf->nhours);
    y->procs = carve(p, np * sizeof(*y->procs));
    y->capprocs = np;
    for (size_t k = 0; k < x->nprocs; k++) {
        const struct fleet_proc *pr = &x->procs[k];
        size_t a = lo, b = (size_t)last + 1;
        struct fleet_proc *q;
        if (!keep[k])
            continue;
        if (demand_leak_candidate(mf, x, pr)) {
            a = 0;
            b = n;
        }
        q = &y->procs[y->nprocs++];
        memset(q, 0, sizeof(*q));
        memcpy(q->name, pr->name, sizeof(q->name));
        memcpy(q->service, pr->service, sizeof(q->service));
        q->held = carve(p, n * sizeof(double));
        q->held_min = carve(p, n * sizeof(double));
        q->bound = carve(p, n * sizeof(double));
        for (size_t h = 0; h < n; h++) {
            bool in = h >= a && h < b;
            q->held[h] = in ? pr->held[h] : NAN;
            q->held_min[h] = in ? pr->held_min[h] : NAN;
            q->bound[h] = in ? pr->bound[h] : NAN;
        }
        if (pr->has_remote && pr->remote_at >= mf->start + (int64_t)a * FLEET_HOUR) {
            q->has_remote = true;
            q->remote = pr->remote;
            q->remote_at = pr->remote_at;
        }
    }
    return PF_OK;
}

/* Host i of the mirror is in the copy for (tenant, site) at forget. */
static bool selected(const struct mstate *s, size_t i, const char *tenant, const char *site,
                     int64_t forget)
{
    const struct fleet_host *x = &s->f->hosts[i];
    const struct mhost *e = &s->ext[i];

    if (!e->present || (tenant[0] && strcmp(x->tenant, tenant) != 0) ||
        (site[0] && strcmp(x->site, site) != 0))
        return false;
    return e->reported ? e->taken_us >= forget * 1000000 : e->enrolled_us >= forget * 1000000;
}

static enum pf_rc make_view(struct fmirror *m, const struct fleet_params *p, const char *tenant,
                            const char *site, struct fleet **out)
{
    struct mstate *s = m->st;
    struct fleet *v = fleet_new(p);
    int64_t forget = p->now - (int64_t)ANALYSIS_DB_FORGET_DAYS * 86400;
    size_t need = 16;
    unsigned char *at;
    bool keep[FLEET_PROCS_MAX * 4];
    enum pf_rc rc = PF_OK;

    *out = NULL;
    if (!v)
        return PF_NOMEM;
    if (v->start != s->f->start || v->nhours != s->f->nhours) {
        fleet_free(v);
        return PF_NOTFOUND;
    }
    if (forget > v->start)
        forget = v->start;
    for (size_t o = 0; o < s->norder; o++) {
        size_t i = s->order[o];
        if (selected(s, i, tenant, site, forget)) {
            if (s->f->hosts[i].nprocs > PF_ARRAY_LEN(keep)) {
                fleet_free(v);
                return PF_NOTFOUND; /* more processes than a copy takes: load in full */
            }
            need += host_bytes(s->f, &s->f->hosts[i], keep);
        }
    }
    v->arena = block_get(m, need);
    if (!v->arena) {
        fleet_free(v);
        return PF_NOMEM;
    }
    v->arena_free = block_put;
    v->arena_ud = m;
    at = v->arena;
    for (size_t o = 0; o < s->norder && !rc; o++) {
        size_t i = s->order[o];
        if (selected(s, i, tenant, site, forget))
            rc = copy_host(s->f, &s->f->hosts[i], &s->ext[i], v, &at, keep);
    }
    if (rc) {
        fleet_free(v);
        return rc;
    }
    *out = v;
    return PF_OK;
}

/* ---- interface ---- */

struct fmirror *fmirror_new(int64_t window_s)
{
    struct fmirror *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL)) {
        free(m);
        return NULL;
    }
    m->window_s = window_s;
    return m;
}

void fmirror_free(struct fmirror *m)
{
    if (!m)
        return;
    state_free(m->st);
    for (int k = 0; k < 2; k++)
        if (m->pool[k])
            free(m->pool[k]);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

enum pf_rc fmirror_refresh(struct fmirror *m, PGconn *pg, int64_t now, char *err, size_t errlen)
{
    enum pf_rc rc;

    pthread_mutex_lock(&m->lock);
    rc = refresh_locked(m, pg, now, err, errlen);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

enum pf_rc fmirror_view(struct fmirror *m, PGconn *pg, const struct fleet_params *p,
                        const char *tenant, const char *site, struct fleet **out, char *err,
                        size_t errlen)
{
    enum pf_rc rc;

    *out = NULL;
    if (p->window_s != m->window_s)
        return PF_NOTFOUND;
    pthread_mutex_lock(&m->lock);
    rc = refresh_locked(m, pg, p->now, err, errlen);
    if (!rc)
        rc = make_view(m, p, tenant ? tenant : "", site ? site : "", out);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void fmirror_status(struct fmirror *m, struct fmirror_status *st)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&m->lock);
    st->ready = m->st != NULL;
    st->disabled = m->disabled;
    st->hosts = m->st ? m->st->f->nhosts : 0;
    st->full_ms = m->full_ms;
    st->refresh_ms = m->refresh_ms;
    st->fulls = m->fulls;
    st->refreshes = m->refreshes;
    pthread_mutex_unlock(&m->lock);
}
