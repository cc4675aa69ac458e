/* SPDX-License-Identifier: MIT */
/* analysis_db.c: the rollups of sql/010 into a struct fleet (see
 * analysis_db.h). Values arrive as text and are parsed here; every query
 * takes its values as parameters. */
#include "analysis_db.h"
#include "analysis_rows.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "demand.h"
#include "log.h"
#include "pgarray.h"
#include "proc_rollup.h"
#include "stats.h"
#include "timeutil.h"

#define ANALYSIS_DB_WORK_MEM "128MB"

static const char hosts_sql[] =
    "SELECT a.agent_id::text, a.name, a.site, extract(epoch FROM l.taken_at)::bigint, l.name, "
    "l.site, l.os, array_to_json(l.roles)::text, l.cpus, l.memory_mb, l.interval_s, "
    "l.tcp_start, l.tcp_count, l.udp_start, l.udp_count, l.usable_tcp4, l.usable_udp4, "
    "l.excluded_tcp4::text, l.tcp_in_use, l.udp_in_use, l.top_dest_addr, l.top_dest_port, "
    "l.ike_value, a.tenant "
    "FROM agents a LEFT JOIN host_latest l ON l.agent_id = a.agent_id "
    "WHERE a.revoked_at IS NULL AND ($1 = '' OR coalesce(l.site, a.site) = $1) "
    "AND ($3 = '' OR a.tenant = $3) "
    "AND (l.taken_at >= $2::timestamptz OR (l.taken_at IS NULL AND a.enrolled_at >= "
    "$2::timestamptz)) "
    "ORDER BY a.tenant, coalesce(l.site, a.site), coalesce(l.name, a.name), a.agent_id";

/* The two big queries answer in binary (no number formatting on the
 * server, no parsing here): agent ids and names as text, counts as int8,
 * ports as int4, times as timestamptz (microseconds since 2000-01-01). */
/* Followed by the sizing columns (sizing.h), from column HOURS_SZ_COL on:
 * hours_sql() puts them between these two parts. */
#define HOURS_SZ_COL 16
static const char hours_sql_head[] =
    "SELECT h.agent_id::text, h.hour, h.tcp_max, h.udp_max, h.top_dest_max, h.vpn_conn_max, "
    "h.ev_tcpip_4227, h.ev_tcpip_4231, h.ev_tcpip_4266, h.ev_netlogon_5719, h.vpn_ikev2, "
    "h.vpn_connections, h.vpn_distinct, h.vpn_top_addr, h.vpn_top_count, h.vpn_at";
static const char hours_sql_tail[] =
    " FROM host_hours h "
    "WHERE h.hour >= $1::timestamptz AND h.hour < $2::timestamptz "
    "AND ($3 = '' OR h.agent_id IN (SELECT agent_id FROM host_latest WHERE site = $3)) "
    "AND ($4 = '' OR h.agent_id IN (SELECT agent_id FROM agents WHERE tenant = $4))";

/* One site: its hosts' hours along the primary key, host by host (OFFSET
 * 0 as below); the planner would rather scan every host's hours, which
 * costs a 50-host site of a 1,000-host fleet 5 times as much. Follows
 * hours_sql_head and the sizing columns in place of hours_sql_tail. */
static const char site_hours_sql_tail[] =
    " FROM (SELECT l.agent_id FROM host_latest l JOIN agents g ON g.agent_id = l.agent_id "
    "WHERE l.site = $3 AND ($4 = '' OR g.tenant = $4)) a "
    "CROSS JOIN LATERAL (SELECT * FROM host_hours q WHERE q.agent_id = a.agent_id "
    "AND q.hour >= $1::timestamptz AND q.hour < $2::timestamptz OFFSET 0) h";

/* The last day of every process of the given hosts (their last hour with
 * data and the LEAK_MIN_HOURS - 1 before it); then, for the leak
 * candidates among them (demand_leak_candidate), their whole series in
 * the window. Plain joins of process_hours with the unnest()ed keys, the
 * hours also bounded by constants ($4, $5: the earliest and latest of the
 * keys) so one PostgreSQL prunes the monthly partitions and reads one
 * index range, and Citus pushes the join down to every worker as it is
 * (no LATERAL subquery with OFFSET, which it cannot push down). */
static const char proc_day_sql[] =
    ANALYSIS_ROWS_PROC_COLS "FROM process_hours p "
    "JOIN unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS a(agent_id, lo, hi) "
    "ON p.agent_id = a.agent_id AND p.hour >= a.lo AND p.hour <= a.hi "
    "WHERE p.hour >= $4::timestamptz AND p.hour <= $5::timestamptz";

static const char proc_series_sql[] =
    ANALYSIS_ROWS_PROC_COLS "FROM process_hours p "
    "JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS c(agent_id, name, service) "
    "ON p.agent_id = c.agent_id AND p.name = c.name AND p.service = c.service "
    "WHERE p.hour >= $4::timestamptz AND p.hour < $5::timestamptz";

/* Citus present: its planner is the one to read the queries (load_rows). */
const char analysis_rows_citus_sql[] = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')";

static bool null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

static long long i64(const PGresult *r, int row, int col)
{
    return null(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void text(const PGresult *r, int row, int col, char *dst, size_t len)
{
    snprintf(dst, len, "%s", null(r, row, col) ? "" : PQgetvalue(r, row, col));
}

_Static_assert(HOURS_SZ_COL + SIZING_N <= AROW_COLS, "host hours have more columns than a row holds");

static bool rnull(const struct arow *r, int col)
{
    return col >= r->n || r->v[col] == NULL;
}

/* Big-endian integers of 2, 4 or 8 bytes; 0 when NULL. */
static int64_t bin_int(const struct arow *r, int col)
{
    const unsigned char *p = r->v[col];
    int len = rnull(r, col) ? 0 : r->len[col];
    uint64_t v = 0;

    for (int i = 0; i < len && i < 8; i++)
        v = v << 8 | p[i];
    if (len == 4)
        return (int32_t)(uint32_t)v;
    if (len == 2)
        return (int16_t)(uint16_t)v;
    return (int64_t)v;
}

static double bin_dbl(const struct arow *r, int col)
{
    return rnull(r, col) ? NAN : (double)bin_int(r, col);
}

/* timestamptz: microseconds since 2000-01-01 UTC -> Unix seconds. */
static int64_t bin_time(const struct arow *r, int col)
{
    int64_t us = bin_int(r, col), s = us / 1000000;

    if (us % 1000000 < 0)
        s--;
    return s + 946684800;
}

/* A text value (not NUL-terminated in a binary answer). */
static void bin_text(const struct arow *r, int col, char *dst, size_t len)
{
    size_t n = rnull(r, col) ? 0 : (size_t)r->len[col];

    if (n >= len)
        n = len - 1;
    if (n)
        memcpy(dst, r->v[col], n);
    dst[n] = '\0';
}

static PGresult *query(PGconn *pg, const char *sql, int n, const char *const *vals, int binary,
                       char *err, size_t errlen, const char *what)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, binary);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

/* Runs a binary query in single-row mode and hands each row to fn as it
 * arrives. libpq would otherwise build the whole answer (a 1,000-host
 * week is 170,000 rows of 30 columns) into one result before returning,
 * which costs three times the query itself; row by row, each row is
 * folded and freed while the server sends the next. Reads every result
 * to the end, even after fn failed, so the connection stays usable.
 * PF_OK; PF_AGAIN with err when the database failed; else fn's error. */
static enum pf_rc stream(PGconn *pg, const char *sql, int n, const char *const *vals,
                         struct fleet *f, row_fn fn, char *err, size_t errlen, const char *what)
{
    PGresult *r;
    enum pf_rc rc = PF_OK;

    if (!PQsendQueryParams(pg, sql, n, NULL, vals, NULL, NULL, 1)) {
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
        return PF_AGAIN;
    }
    if (!PQsetSingleRowMode(pg)) {
        snprintf(err, errlen, "%s: single-row mode refused", what);
        rc = PF_AGAIN;
    }
    while ((r = PQgetResult(pg)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            struct arow row;
            row.n = PQnfields(r) < AROW_COLS ? PQnfields(r) : AROW_COLS;
            for (int c = 0; c < row.n; c++) {
                row.v[c] = PQgetisnull(r, 0, c) ? NULL
                                                 : (const unsigned char *)PQgetvalue(r, 0, c);
                row.len[c] = PQgetlength(r, 0, c);
            }
            if (!rc)
                rc = fn(f, &row);
        } else if (st != PGRES_TUPLES_OK && !rc) {
            snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
            rc = PF_AGAIN;
        }
        PQclear(r);
    }
    return rc;
}

/* Splits the tuples of one COPY ... (FORMAT binary) message (after the
 * header, which *header_done says was read) and hands each to fn.
 * PF_INVALID when the message is not that format. */
static enum pf_rc copy_message(const unsigned char *p, size_t n, bool *header_done,
                               bool *trailer, struct fleet *f, row_fn fn)
{
    static const unsigned char sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    size_t o = 0;

    if (!*header_done) {
        uint32_t ext;
        if (n < 19 || memcmp(p, sig, sizeof(sig)) != 0)
            return PF_INVALID;
        ext = (uint32_t)p[15] << 24 | (uint32_t)p[16] << 16 | (uint32_t)p[17] << 8 | p[18];
        if (ext > n - 19)
            return PF_INVALID;
        o = 19 + ext;
        *header_done = true;
    }
    while (o < n) {
        struct arow row;
        int16_t nf;
        enum pf_rc rc;
        if (n - o < 2)
            return PF_INVALID;
        nf = (int16_t)((uint16_t)p[o] << 8 | p[o + 1]);
        o += 2;
        if (nf == -1) {
            *trailer = true;
            return PF_OK;
        }
        if (nf < 0 || nf > AROW_COLS)
            return PF_INVALID;
        row.n = nf;
        for (int c = 0; c < nf; c++) {
            int32_t len;
            if (n - o < 4)
                return PF_INVALID;
            len = (int32_t)((uint32_t)p[o] << 24 | (uint32_t)p[o + 1] << 16 |
                            (uint32_t)p[o + 2] << 8 | p[o + 3]);
            o += 4;
            if (len < 0) {
                row.v[c] = NULL;
                row.len[c] = 0;
                continue;
            }
            if ((size_t)len > n - o)
                return PF_INVALID;
            row.v[c] = p + o;
            row.len[c] = len;
            o += (size_t)len;
        }
        if ((rc = fn(f, &row)))
            return rc;
    }
    return PF_OK;
}

/* Runs COPY (query) TO STDOUT (FORMAT binary) and hands each row to fn as
 * it arrives: no result is built at all (single-row mode builds one per
 * row, copying the column descriptions each time: a 10,000-host fleet
 * loads with a quarter less CPU this way). COPY takes no parameters: the
 * query reads them from settings of the transaction (analysis_rows_load()). Reads
 * to the end, even after fn failed. */
static enum pf_rc copy_stream(PGconn *pg, const char *sql, struct fleet *f, row_fn fn,
                              char *err, size_t errlen, const char *what)
{
    PGresult *r = PQexec(pg, sql);
    enum pf_rc rc = PF_OK;
    bool header_done = false, trailer = false;
    char *buf;
    int k;

    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        while ((r = PQgetResult(pg)) != NULL)
            PQclear(r);
        return PF_AGAIN;
    }
    PQclear(r);
    while ((k = PQgetCopyData(pg, &buf, 0)) > 0) {
        if (!rc && !trailer) {
            rc = copy_message((const unsigned char *)buf, (size_t)k, &header_done, &trailer, f,
                              fn);
            if (rc == PF_INVALID)
                snprintf(err, errlen, "%s: unreadable COPY data", what);
        }
        PQfreemem(buf);
    }
    if (k == -2 && !rc) {
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
        rc = PF_AGAIN;
    }
    while ((r = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) {
            snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
            rc = PF_AGAIN;
        }
        PQclear(r);
    }
    if (rc == PF_INVALID)
        rc = PF_AGAIN;
    return rc;
}

/* How the big queries answer: COPY (copy_stream()), or, where COPY of a
 * query over distributed tables is not what Citus pushes down, the query
 * with its parameters in single-row mode (stream()). */
/* sql with each $N replaced by current_setting('portfleet.analysis_N'),
 * inside COPY ( ... ) TO STDOUT (FORMAT binary). Only this file's
 * constant queries come here. PF_TOOBIG when out does not hold it. */
static enum pf_rc copy_sql(const char *sql, char *out, size_t len)
{
    size_t o = 0;
    int n = snprintf(out, len, "COPY (");

    if (n < 0 || (size_t)n >= len)
        return PF_TOOBIG;
    o = (size_t)n;
    for (const char *p = sql; *p;) {
        if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
            char *end;
            long k = strtol(p + 1, &end, 10);
            n = snprintf(out + o, len - o, "current_setting('portfleet.analysis_%ld')", k);
            p = end;
        } else {
            n = snprintf(out + o, len - o, "%c", *p);
            p++;
        }
        if (n < 0 || (size_t)n >= len - o)
            return PF_TOOBIG;
        o += (size_t)n;
    }
    n = snprintf(out + o, len - o, ") TO STDOUT (FORMAT binary)");
    return n < 0 || (size_t)n >= len - o ? PF_TOOBIG : PF_OK;
}

/* Runs sql (binary, parameters vals[0..n)) and hands each row to fn. On
 * the COPY path the parameters go into settings local to the
 * transaction first, as parameters (never into the SQL text). */
enum pf_rc analysis_rows_load(const struct loader *ld, const char *sql, int n,
                            const char *const *vals, struct fleet *f, row_fn fn, char *err,
                            size_t errlen, const char *what)
{
    char set[512], *csql;
    size_t o = 0, clen;
    PGresult *r;
    enum pf_rc rc;

    if (!ld->copy)
        return stream(ld->pg, sql, n, vals, f, fn, err, errlen, what);
    o = (size_t)snprintf(set, sizeof(set), "SELECT 1");
    for (int k = 1; k <= n && o < sizeof(set); k++)
        o += (size_t)snprintf(set + o, sizeof(set) - o,
                              ", set_config('portfleet.analysis_%d', $%d, true)", k, k);
    if (o >= sizeof(set))
        return PF_TOOBIG;
    r = PQexecParams(ld->pg, set, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
        PQclear(r);
        return PF_AGAIN;
    }
    PQclear(r);
    clen = strlen(sql) * 2 + 256;
    csql = malloc(clen);
    if (!csql)
        return PF_NOMEM;
    rc = copy_sql(sql, csql, clen);
    if (!rc)
        rc = copy_stream(ld->pg, csql, f, fn, err, errlen, what);
    free(csql);
    return rc;
}

/* Runs a parameterless command; -1 with the reason in err on failure. */
int analysis_rows_command(PGconn *pg, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);
    int bad = PQresultStatus(r) != PGRES_COMMAND_OK;

    if (bad && errlen)
        snprintf(err, errlen, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return bad ? -1 : 0;
}

/* The host row's configuration (the latest snapshot's) into x. */
enum pf_rc analysis_rows_host_config(const PGresult *r, int i, struct fleet_host *x)
{
    cJSON *roles, *ex, *e;

    snprintf(x->name, sizeof(x->name), "%s", PQgetvalue(r, i, 1));
    snprintf(x->site, sizeof(x->site), "%s", PQgetvalue(r, i, 2));
    snprintf(x->tenant, sizeof(x->tenant), "%s", PQgetvalue(r, i, 23));
    if (null(r, i, 3))
        return PF_OK; /* enrolled, never reported */
    x->last_seen = i64(r, i, 3);
    text(r, i, 4, x->name, sizeof(x->name));
    text(r, i, 5, x->site, sizeof(x->site));
    text(r, i, 6, x->os, sizeof(x->os));
    roles = cJSON_Parse(PQgetvalue(r, i, 7));
    cJSON_ArrayForEach(e, roles)
    {
        if (cJSON_IsString(e) && x->nroles < PF_ROLES_MAX)
            snprintf(x->roles[x->nroles++], PF_ID_LEN, "%s", e->valuestring);
    }
    cJSON_Delete(roles);
    x->cpus = (uint32_t)i64(r, i, 8);
    x->memory_mb = (uint64_t)i64(r, i, 9);
    x->interval_s = (uint32_t)i64(r, i, 10);
    x->has_tcp_range = !null(r, i, 11);
    x->tcp_range = (struct pf_range){PF_PROTO_TCP, PF_FAMILY_IPV4, (uint16_t)i64(r, i, 11),
                                     (uint32_t)i64(r, i, 12)};
    x->has_udp_range = !null(r, i, 13);
    x->udp_range = (struct pf_range){PF_PROTO_UDP, PF_FAMILY_IPV4, (uint16_t)i64(r, i, 13),
                                     (uint32_t)i64(r, i, 14)};
    x->tcp_usable = (uint32_t)i64(r, i, 15);
    x->udp_usable = (uint32_t)i64(r, i, 16);
    ex = cJSON_Parse(PQgetvalue(r, i, 17));
    if (cJSON_GetArraySize(ex) > 0) {
        x->excluded = calloc((size_t)cJSON_GetArraySize(ex), sizeof(*x->excluded));
        if (!x->excluded) {
            cJSON_Delete(ex);
            return PF_NOMEM;
        }
        cJSON_ArrayForEach(e, ex)
        {
            x->excluded[x->nexcluded++] =
                (struct pf_range){PF_PROTO_TCP, PF_FAMILY_IPV4,
                                  (uint16_t)cJSON_GetNumberValue(cJSON_GetArrayItem(e, 0)),
                                  (uint32_t)cJSON_GetNumberValue(cJSON_GetArrayItem(e, 1))};
        }
    }
    cJSON_Delete(ex);
    x->last_tcp_in_use = (uint64_t)i64(r, i, 18);
    x->last_udp_in_use = (uint64_t)i64(r, i, 19);
    x->has_top_dest = !null(r, i, 20);
    if (x->has_top_dest) {
        text(r, i, 20, x->top_dest_last.addr, sizeof(x->top_dest_last.addr));
        x->top_dest_last.port = (uint16_t)i64(r, i, 21);
    }
    x->has_ike_value = !null(r, i, 22);
    x->ike_value = (uint32_t)i64(r, i, 22);
    return PF_OK;
}

struct fleet_host *analysis_rows_row_host(struct fleet *f, const struct arow *r, long *h)
{
    char id[PF_ID_LEN];
    struct fleet_host *x;

    bin_text(r, 0, id, sizeof(id));
    x = fleet_host_find(f, id);
    *h = x ? fleet_hour(f, bin_time(r, 1)) : -1;
    return *h < 0 ? NULL : x;
}

bool analysis_rows_vpn(const struct arow *r, struct fleet_vpn *v)
{
    if (rnull(r, 10))
        return false;
    memset(v, 0, sizeof(*v));
    v->ikev2 = (uint64_t)bin_int(r, 10);
    v->connections = (uint64_t)bin_int(r, 11);
    v->distinct_clients = (uint64_t)bin_int(r, 12);
    bin_text(r, 13, v->top.addr, sizeof(v->top.addr));
    v->top.count = (uint64_t)bin_int(r, 14);
    v->at = bin_time(r, 15);
    return true;
}

enum pf_rc analysis_rows_host_hour(struct fleet *f, const struct arow *r)
{
    struct fleet_host *x;
    struct fleet_hour_row row;
    struct fleet_vpn v;
    long h;

    x = analysis_rows_row_host(f, r, &h);
    if (!x)
        return PF_OK;
    row.tcp = bin_dbl(r, 2);
    row.udp = bin_dbl(r, 3);
    row.top_dest = bin_dbl(r, 4);
    row.vpn_conn = bin_dbl(r, 5);
    row.events.tcpip_4227 = (uint64_t)bin_int(r, 6);
    row.events.tcpip_4231 = (uint64_t)bin_int(r, 7);
    row.events.tcpip_4266 = (uint64_t)bin_int(r, 8);
    row.events.netlogon_5719 = (uint64_t)bin_int(r, 9);
    fleet_fold_hour(x, (size_t)h, &row);
    {
        double sz[SIZING_N];
        for (int k = 0; k < SIZING_N; k++)
            sz[k] = rnull(r, HOURS_SZ_COL + k) ? NAN
                                                 : (double)bin_int(r, HOURS_SZ_COL + k) /
                                                       (double)sizing_scale(k);
        if (fleet_fold_sizing(f, x, (size_t)h, sz))
            return PF_NOMEM;
    }
    if (analysis_rows_vpn(r, &v))
        fleet_fold_vpn(x, &v);
    return PF_OK;
}

/* hours_sql_head, the sizing columns, then hours_sql_tail, or
 * site_hours_sql_tail when one site is asked for. */
enum pf_rc analysis_rows_hours_sql(char *sql, size_t len, const char *tail)
{
    size_t o = 0;
    int n = snprintf(sql, len, "%s", hours_sql_head);

    if (n < 0 || (size_t)n >= len)
        return PF_TOOBIG;
    o = (size_t)n;
    for (int k = 0; k < SIZING_N; k++) {
        n = snprintf(sql + o, len - o, ", h.%s", sizing_column(k));
        if (n < 0 || (size_t)n >= len - o)
            return PF_TOOBIG;
        o += (size_t)n;
    }
    n = snprintf(sql + o, len - o, "%s", tail);
    return n < 0 || (size_t)n >= len - o ? PF_TOOBIG : PF_OK;
}

enum pf_rc analysis_rows_proc_hour(struct fleet *f, const struct arow *r)
{
    char id[PF_ID_LEN], name[PF_NAME_LEN], service[PF_NAME_LEN];
    struct fleet_host *x;
    struct fleet_proc *p;
    long h;

    bin_text(r, 0, id, sizeof(id));
    x = fleet_host_find(f, id);
    h = x ? fleet_hour(f, bin_time(r, 1)) : -1;
    if (h < 0)
        return PF_OK;
    bin_text(r, 2, name, sizeof(name));
    bin_text(r, 3, service, sizeof(service));
    p = fleet_proc_get(f, x, name, service);
    if (!p)
        return PF_OK; /* FLEET_PROCS_MAX reached, as in the fold */
    fleet_fold_proc(p, (size_t)h, bin_dbl(r, 4), bin_dbl(r, 5), bin_dbl(r, 6));
    if (!rnull(r, 7) && bin_time(r, 9) >= p->remote_at) {
        p->has_remote = true;
        bin_text(r, 7, p->remote.addr, sizeof(p->remote.addr));
        p->remote.port = (uint16_t)bin_int(r, 8);
        p->remote_at = bin_time(r, 9);
    }
    return PF_OK;
}

static enum pf_rc load_processes(const struct loader *ld, struct fleet *f, const char *from,
                                 const char *to, char *err, size_t errlen)
{
    struct pgarray a[3];
    const char *vals[5];
    char lo_min[PF_TIME_LEN], hi_max[PF_TIME_LEN];
    int64_t lo_first = INT64_MAX, hi_last = INT64_MIN;
    enum pf_rc rc = PF_OK;
    size_t ncand = 0;

    /* 1. The last day of every process. */
    for (int c = 0; c < 3; c++)
        pgarray_init(&a[c]);
    for (size_t i = 0; i < f->nhosts; i++) {
        long h = demand_last_hour(f->hosts[i].tcp, f->nhours);
        if (h < 0)
            continue;
        int64_t lo = f->start +
                     (int64_t)(h >= LEAK_MIN_HOURS - 1 ? h - (LEAK_MIN_HOURS - 1) : 0) * FLEET_HOUR;
        int64_t hi = f->start + (int64_t)h * FLEET_HOUR;
        pgarray_str(&a[0], f->hosts[i].agent_id);
        pgarray_time(&a[1], lo);
        pgarray_time(&a[2], hi);
        lo_first = lo < lo_first ? lo : lo_first;
        hi_last = hi > hi_last ? hi : hi_last;
    }
    for (int c = 0; c < 3; c++)
        vals[c] = pgarray_end(&a[c], &rc);
    if (hi_last == INT64_MIN)
        lo_first = hi_last = f->start; /* no host has data: the arrays are empty */
    if (pf_time_format(lo_first, lo_min) || pf_time_format(hi_last, hi_max))
        rc = PF_INTERNAL;
    vals[3] = lo_min;
    vals[4] = hi_max;
    if (!rc)
        rc = analysis_rows_load(ld, proc_day_sql, 5, vals, f, analysis_rows_proc_hour, err, errlen,
                       "loading the last day of processes");
    for (int c = 0; c < 3; c++)
        pgarray_free(&a[c]);
    if (rc)
        return rc;

    /* 2. The whole series of the leak candidates. */
    for (int c = 0; c < 3; c++)
        pgarray_init(&a[c]);
    for (size_t i = 0; i < f->nhosts; i++) {
        const struct fleet_host *x = &f->hosts[i];
        for (size_t k = 0; k < x->nprocs; k++) {
            if (!demand_leak_candidate(f, x, &x->procs[k]))
                continue;
            pgarray_str(&a[0], x->agent_id);
            pgarray_str(&a[1], x->procs[k].name);
            pgarray_str(&a[2], x->procs[k].service);
            ncand++;
        }
    }
    for (int c = 0; c < 3; c++)
        vals[c] = pgarray_end(&a[c], &rc);
    vals[3] = from;
    vals[4] = to;
    if (!rc && ncand)
        rc = analysis_rows_load(ld, proc_series_sql, 5, vals, f, analysis_rows_proc_hour, err, errlen,
                       "loading process series");
    for (int c = 0; c < 3; c++)
        pgarray_free(&a[c]);
    return rc;
}

enum pf_rc analysis_db_load(PGconn *pg, const struct fleet_params *p, const char *tenant,
                            const char *site, struct fleet **out, char *err, size_t errlen)
{
    struct fleet *f;
    PGresult *r = NULL;
    char from[PF_TIME_LEN], to[PF_TIME_LEN], forget[PF_TIME_LEN], hsql[2048];
    const char *vals[4];
    enum pf_rc rc = PF_OK;
    int64_t forget_t = p->now - (int64_t)ANALYSIS_DB_FORGET_DAYS * 86400;
    struct loader ld = {pg, false};

    *out = NULL;
    if (!site)
        site = "";
    if (!tenant)
        tenant = "";
    f = fleet_new(p);
    if (!f) {
        snprintf(err, errlen, "unusable analysis window");
        return PF_INVALID;
    }
    if (forget_t > f->start)
        forget_t = f->start;
    if (pf_time_format(f->start, from) ||
        pf_time_format(f->start + (int64_t)f->nhours * 3600, to) ||
        pf_time_format(forget_t, forget)) {
        fleet_free(f);
        snprintf(err, errlen, "unusable analysis window");
        return PF_INVALID;
    }

    /* process_hours from every snapshot stored so far (proc_rollup.h),
     * within a bound: behind a backlog the answer reads what is folded
     * rather than wait for it (or fail); only a lost connection fails. */
    {
        PGresult *bad = NULL;
        size_t taken;
        bool done;
        enum pf_rc crc = proc_rollup_catch_up(pg, PROC_ROLLUP_CATCH_UP_MS, &taken, &done, &bad);
        if (crc && PQstatus(pg) != CONNECTION_OK) {
            snprintf(err, errlen, "folding queued snapshots into process_hours: %s",
                     bad ? PQresultErrorMessage(bad) : "out of memory");
            PQclear(bad);
            fleet_free(f);
            return PF_AGAIN;
        }
        if (crc) {
            char why[256];
            size_t n;
            snprintf(why, sizeof(why), "%s", bad ? PQresultErrorMessage(bad) : "out of memory");
            n = strlen(why);
            while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
                why[--n] = '\0';
            pf_info("analysis: folding queued snapshots into process_hours: %s; answering with "
                    "the %zu folded now and those folded before",
                    why, taken);
        }
        else if (!done)
            pf_info("analysis: %zu queued snapshots folded into process_hours in %d ms, more "
                    "wait; answering with what is folded",
                    taken, PROC_ROLLUP_CATCH_UP_MS);
        PQclear(bad);
    }
    /* One snapshot of the database for the three queries, while ingest
     * goes on. */
    if (analysis_rows_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, errlen)) {
        fleet_free(f);
        return PF_AGAIN;
    }
    /* The last day of every process is joined by hash with the hosts'
     * windows: at 10,000 hosts the table is about 100 MB, which the
     * default 4 MB of work_mem splits into 16 batches on disk (3.1 s
     * against 1.8 s in one). For this transaction only; it assigns no
     * transaction id, so the analysis cache's version does not move. */
    if (analysis_rows_command(pg, "SET LOCAL work_mem = '" ANALYSIS_DB_WORK_MEM "'", err, errlen)) {
        rc = PF_AGAIN;
        goto fail;
    }
    r = query(pg, analysis_rows_citus_sql, 0, NULL, 0, err, errlen, "looking for Citus");
    if (!r) {
        rc = PF_AGAIN;
        goto fail;
    }
    ld.copy = strcmp(PQgetvalue(r, 0, 0), "f") == 0;
    PQclear(r);
    vals[0] = site;
    vals[1] = forget;
    vals[2] = tenant;
    r = query(pg, hosts_sql, 3, vals, 0, err, errlen, "loading hosts");
    if (!r) {
        rc = PF_AGAIN;
        goto fail;
    }
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        struct fleet_host *x = fleet_host_get(f, PQgetvalue(r, i, 0));
        rc = x ? analysis_rows_host_config(r, i, x) : PF_NOMEM;
    }
    PQclear(r);
    if (rc)
        goto fail;

    vals[0] = from;
    vals[1] = to;
    vals[2] = site;
    vals[3] = tenant;
    if ((rc = analysis_rows_hours_sql(hsql, sizeof(hsql),
                                      site[0] != 0 ? site_hours_sql_tail : hours_sql_tail)))
        goto fail;
    rc = analysis_rows_load(&ld, hsql, 4, vals, f, analysis_rows_host_hour, err, errlen, "loading host hours");
    if (rc)
        goto fail;

    rc = load_processes(&ld, f, from, to, err, errlen);
    if (rc)
        goto fail;
    if (analysis_rows_command(pg, "COMMIT", err, errlen)) {
        fleet_free(f);
        return PF_AGAIN;
    }
    *out = f;
    return PF_OK;
fail:
    analysis_rows_command(pg, "ROLLBACK", NULL, 0); /* err already says why */
    fleet_free(f);
    return rc;
}
