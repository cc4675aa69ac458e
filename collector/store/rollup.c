/* SPDX-License-Identifier: MIT */
/* rollup.c: folds a batch of fresh snapshots into host-hour and
 * latest-configuration rows and upserts them (see rollup.h and
 * sql/010_capacity_rollups.sql; process_hours: proc_rollup.h). */
#include "rollup.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "fleet.h"
#include "fold.h"
#include "pgarray.h"
#include "sizing.h"
#include "timeutil.h"

#define PARAM_MAX (64u * 1024 * 1024)

/* ---- the fold ---- */

struct host_row {
    const char *agent_id;
    int64_t hour;
    int64_t samples;
    int64_t tcp, udp, top_dest, vpn_conn; /* -1: absent */
    struct fleet_events ev;
    bool has_vpn;
    int64_t vpn_ikev2, vpn_connections, vpn_distinct, vpn_top_count, vpn_at;
    const char *vpn_top_addr;
    double sz[SIZING_N]; /* sizing.h's figures; NaN: absent */
};

static int cmp_snap(const void *a, const void *b)
{
    const struct pf_snapshot *x = *(const struct pf_snapshot *const *)a;
    const struct pf_snapshot *y = *(const struct pf_snapshot *const *)b;
    int c = strcmp(x->agent_id, y->agent_id);

    if (c)
        return c;
    return x->taken_at < y->taken_at ? -1 : x->taken_at > y->taken_at;
}

/* fold.h's host rules for one snapshot. */
static void fold_host(struct host_row *r, const struct pf_snapshot *s)
{
    r->samples++;
    r->tcp = fold_max_i(r->tcp, (int64_t)s->tcp.ephemeral_in_use);
    r->udp = fold_max_i(r->udp, (int64_t)s->udp.ephemeral_in_use);
    if (s->tcp.has_top_destination)
        r->top_dest = fold_max_i(r->top_dest, (int64_t)s->tcp.top_destination.count);
    fold_sizing_snapshot(r->sz, s);
    if (s->has_events) {
        r->ev.tcpip_4227 += s->events.tcpip_4227;
        r->ev.tcpip_4231 += s->events.tcpip_4231;
        r->ev.tcpip_4266 += s->events.tcpip_4266;
        r->ev.netlogon_5719 += s->events.netlogon_5719;
    }
    if (s->has_vpn) {
        uint64_t ikev2 = s->vpn.by_protocol[PF_VPN_IKEV2];
        r->vpn_conn = fold_max_i(r->vpn_conn, (int64_t)s->vpn.connections);
        if (fold_vpn_newer(r->has_vpn, (uint64_t)r->vpn_ikev2, (uint64_t)r->vpn_connections,
                           ikev2, s->vpn.connections)) {
            r->has_vpn = true;
            r->vpn_ikev2 = (int64_t)ikev2;
            r->vpn_connections = (int64_t)s->vpn.connections;
            r->vpn_distinct = (int64_t)s->vpn.distinct_clients;
            r->vpn_top_addr = s->vpn.ntop ? s->vpn.top[0].addr : "";
            r->vpn_top_count = s->vpn.ntop ? (int64_t)s->vpn.top[0].count : 0;
            r->vpn_at = s->taken_at;
        }
    }
}

/* ---- the statements ---- */

/* INSERT INTO host_hours ... ON CONFLICT: the columns of fold.h's host
 * list, the VPN peak, then sizing.h's (HOST_COLS in all), one array each. */
#define HOST_FIXED 17
#define HOST_COLS (HOST_FIXED + SIZING_N)
static const char host_sql_head[] =
    "INSERT INTO host_hours AS h (agent_id, hour, samples, tcp_max, udp_max, top_dest_max, "
    "vpn_conn_max, ev_tcpip_4227, ev_tcpip_4231, ev_tcpip_4266, ev_netlogon_5719, vpn_ikev2, "
    "vpn_connections, vpn_distinct, vpn_top_addr, vpn_top_count, vpn_at";
static const char host_sql_types[HOST_FIXED][12] = {
    "uuid", "timestamptz", "integer", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint",
    "bigint", "bigint", "bigint", "bigint", "bigint", "text", "bigint", "timestamptz"};

static enum pf_rc host_sql(char *sql, size_t len)
{
    size_t o = 0;
    int n;

#define APPEND(...)                                                                                \
    do {                                                                                           \
        n = snprintf(sql + o, len - o, __VA_ARGS__);                                               \
        if (n < 0 || (size_t)n >= len - o)                                                         \
            return PF_TOOBIG;                                                                      \
        o += (size_t)n;                                                                            \
    } while (0)
    APPEND("%s", host_sql_head);
    for (int k = 0; k < SIZING_N; k++)
        APPEND(", %s", sizing_column(k));
    APPEND(") SELECT * FROM unnest(");
    for (int c = 0; c < HOST_COLS; c++)
        APPEND("%s$%d::%s[]", c ? ", " : "", c + 1, c < HOST_FIXED ? host_sql_types[c] : "bigint");
    APPEND(") ON CONFLICT (agent_id, hour) DO UPDATE SET %s", FOLD_HOST_SET_SQL);
#undef APPEND
    return PF_OK;
}

static const char latest_sql[] =
    "INSERT INTO host_latest AS l (agent_id, taken_at, name, site, os, roles, cpus, memory_mb, "
    "interval_s, tcp_start, tcp_count, udp_start, udp_count, usable_tcp4, usable_udp4, "
    "excluded_tcp4, tcp_in_use, udp_in_use, top_dest_addr, top_dest_port, ike_value) "
    "SELECT a, t, n, si, o, r::text[], c, m, iv, ts, tc, us, uc, u4, uu4, ex::jsonb, ti, ui, da, "
    "dp, ik FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], "
    "$6::text[], $7::integer[], $8::bigint[], $9::integer[], $10::integer[], $11::integer[], "
    "$12::integer[], $13::integer[], $14::integer[], $15::integer[], $16::text[], $17::bigint[], "
    "$18::bigint[], $19::text[], $20::integer[], $21::bigint[]) "
    "AS u(a, t, n, si, o, r, c, m, iv, ts, tc, us, uc, u4, uu4, ex, ti, ui, da, dp, ik) "
    "ON CONFLICT (agent_id) DO UPDATE SET taken_at = EXCLUDED.taken_at, name = EXCLUDED.name, "
    "site = EXCLUDED.site, os = EXCLUDED.os, roles = EXCLUDED.roles, cpus = EXCLUDED.cpus, "
    "memory_mb = EXCLUDED.memory_mb, interval_s = EXCLUDED.interval_s, "
    "tcp_start = EXCLUDED.tcp_start, tcp_count = EXCLUDED.tcp_count, "
    "udp_start = EXCLUDED.udp_start, udp_count = EXCLUDED.udp_count, "
    "usable_tcp4 = EXCLUDED.usable_tcp4, usable_udp4 = EXCLUDED.usable_udp4, "
    "excluded_tcp4 = EXCLUDED.excluded_tcp4, tcp_in_use = EXCLUDED.tcp_in_use, "
    "udp_in_use = EXCLUDED.udp_in_use, top_dest_addr = EXCLUDED.top_dest_addr, "
    "top_dest_port = EXCLUDED.top_dest_port, ike_value = EXCLUDED.ike_value "
    "WHERE l.taken_at <= EXCLUDED.taken_at";

/* Prepared once per connection by rollup_prepare(). */
static const struct db_statement statements[] = {
    {"rollup_latest", latest_sql},
};

enum pf_rc rollup_prepare(PGconn *pg, PGresult **failed)
{
    char sql[4096];
    struct db_statement st = {"rollup_hosts", sql};
    enum pf_rc rc = host_sql(sql, sizeof(sql));

    if (!rc)
        rc = db_prepare(pg, &st, 1, failed);
    if (!rc)
        rc = db_prepare(pg, statements, sizeof(statements) / sizeof(statements[0]), failed);
    return rc;
}

/* Queues one prepared statement (libpq copies the values at once). */
static enum pf_rc send_prepared(PGconn *pg, const char *stmt, int n, const char *const *vals,
                                size_t *nsent)
{
    if (PQsendQueryPrepared(pg, stmt, n, vals, NULL, NULL, 0) != 1)
        return PF_AGAIN;
    (*nsent)++;
    return PF_OK;
}

static enum pf_rc send_hosts(PGconn *pg, const struct host_row *rows, size_t n, size_t *nsent)
{
    struct pgarray a[HOST_COLS];
    const char *vals[HOST_COLS];
    enum pf_rc rc = PF_OK;

    for (int c = 0; c < HOST_COLS; c++)
        pgarray_init(&a[c]);
    for (size_t i = 0; i < n; i++) {
        const struct host_row *r = &rows[i];
        const int64_t opt[4] = {r->tcp, r->udp, r->top_dest, r->vpn_conn};
        pgarray_str(&a[0], r->agent_id);
        pgarray_time(&a[1], r->hour);
        pgarray_i64(&a[2], r->samples);
        for (int c = 0; c < 4; c++) {
            if (opt[c] < 0)
                pgarray_null(&a[3 + c]);
            else
                pgarray_i64(&a[3 + c], opt[c]);
        }
        pgarray_i64(&a[7], (int64_t)r->ev.tcpip_4227);
        pgarray_i64(&a[8], (int64_t)r->ev.tcpip_4231);
        pgarray_i64(&a[9], (int64_t)r->ev.tcpip_4266);
        pgarray_i64(&a[10], (int64_t)r->ev.netlogon_5719);
        if (r->has_vpn) {
            pgarray_i64(&a[11], r->vpn_ikev2);
            pgarray_i64(&a[12], r->vpn_connections);
            pgarray_i64(&a[13], r->vpn_distinct);
            pgarray_str(&a[14], r->vpn_top_addr);
            pgarray_i64(&a[15], r->vpn_top_count);
            pgarray_time(&a[16], r->vpn_at);
        } else {
            for (int c = 11; c < HOST_FIXED; c++)
                pgarray_null(&a[c]);
        }
        for (int k = 0; k < SIZING_N; k++) {
            if (isnan(r->sz[k]))
                pgarray_null(&a[HOST_FIXED + k]);
            else
                pgarray_i64(&a[HOST_FIXED + k], llround(r->sz[k] * (double)sizing_scale(k)));
        }
    }
    for (int c = 0; c < HOST_COLS; c++)
        vals[c] = pgarray_end(&a[c], &rc);
    if (!rc)
        rc = send_prepared(pg, "rollup_hosts", HOST_COLS, vals, nsent);
    for (int c = 0; c < HOST_COLS; c++)
        pgarray_free(&a[c]);
    return rc;
}

#define LATEST_COLS 21

/* One host_latest row per snapshot of latest[0..n) (one per agent, in
 * agent order). roles and excluded_tcp4 travel as text elements (an array
 * literal, a JSON text) cast per row: unnest() would flatten an array of
 * arrays. */
static enum pf_rc send_latest(PGconn *pg, const struct pf_snapshot *const *latest, size_t n,
                              size_t *nsent)
{
    struct pgarray a[LATEST_COLS], roles;
    const char *vals[LATEST_COLS];
    struct pf_buf ex;
    enum pf_rc rc = PF_OK;

    if (n == 0)
        return PF_OK;
    for (int c = 0; c < LATEST_COLS; c++)
        pgarray_init(&a[c]);
    pf_buf_init(&ex, PARAM_MAX);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct pf_snapshot *s = latest[i];
        const struct pf_range *tr = pf_snapshot_range(s, PF_PROTO_TCP, PF_FAMILY_IPV4);
        const struct pf_range *ur = pf_snapshot_range(s, PF_PROTO_UDP, PF_FAMILY_IPV4);
        bool first = true;

        pgarray_str(&a[0], s->agent_id);
        pgarray_time(&a[1], s->taken_at);
        pgarray_str(&a[2], s->host.name);
        pgarray_str(&a[3], s->host.site);
        pgarray_str(&a[4], s->host.os);
        pgarray_init(&roles);
        for (size_t k = 0; k < s->host.nroles; k++)
            pgarray_str(&roles, s->host.roles[k]);
        {
            const char *lit = pgarray_end(&roles, &rc);
            if (lit)
                pgarray_str(&a[5], lit);
        }
        pgarray_free(&roles);
        pgarray_i64(&a[6], (int64_t)s->host.cpus);
        pgarray_i64(&a[7], (int64_t)s->host.memory_mb);
        pgarray_i64(&a[8], (int64_t)s->interval_s);
        if (tr) {
            pgarray_i64(&a[9], tr->start);
            pgarray_i64(&a[10], tr->count);
        } else {
            pgarray_null(&a[9]);
            pgarray_null(&a[10]);
        }
        if (ur) {
            pgarray_i64(&a[11], ur->start);
            pgarray_i64(&a[12], ur->count);
        } else {
            pgarray_null(&a[11]);
            pgarray_null(&a[12]);
        }
        pgarray_i64(&a[13], pf_snapshot_usable_ports(s, PF_PROTO_TCP, PF_FAMILY_IPV4));
        pgarray_i64(&a[14], pf_snapshot_usable_ports(s, PF_PROTO_UDP, PF_FAMILY_IPV4));
        pf_buf_reset(&ex);
        if (!rc)
            rc = pf_buf_puts(&ex, "[");
        for (size_t k = 0; k < s->nexcluded && !rc; k++) {
            const struct pf_range *e = &s->excluded[k];
            if (e->proto != PF_PROTO_TCP || e->family != PF_FAMILY_IPV4)
                continue;
            rc = pf_buf_printf(&ex, "%s[%u,%u]", first ? "" : ",", (unsigned)e->start,
                               (unsigned)e->count);
            first = false;
        }
        if (!rc)
            rc = pf_buf_puts(&ex, "]");
        if (!rc)
            pgarray_str(&a[15], ex.data);
        pgarray_i64(&a[16], (int64_t)s->tcp.ephemeral_in_use);
        pgarray_i64(&a[17], (int64_t)s->udp.ephemeral_in_use);
        if (s->tcp.has_top_destination) {
            pgarray_str(&a[18], s->tcp.top_destination.addr);
            pgarray_i64(&a[19], s->tcp.top_destination.port);
        } else {
            pgarray_null(&a[18]);
            pgarray_null(&a[19]);
        }
        if (s->has_vpn && s->vpn.has_ike_value)
            pgarray_i64(&a[20], (int64_t)s->vpn.ike_num_established_for_initial_query);
        else
            pgarray_null(&a[20]);
    }
    for (int c = 0; c < LATEST_COLS; c++)
        vals[c] = pgarray_end(&a[c], &rc);
    if (!rc)
        rc = send_prepared(pg, "rollup_latest", LATEST_COLS, vals, nsent);
    for (int c = 0; c < LATEST_COLS; c++)
        pgarray_free(&a[c]);
    pf_buf_free(&ex);
    return rc;
}

enum pf_rc rollup_send(PGconn *pg, const struct pf_snapshot *const *snaps, size_t n, size_t *nsent)
{
    const struct pf_snapshot **sorted = NULL, **latest = NULL;
    struct host_row *hosts = NULL;
    size_t nhosts = 0, nlatest = 0;
    enum pf_rc rc = PF_OK;

    *nsent = 0;
    if (n == 0)
        return PF_OK;
    sorted = malloc(n * sizeof(*sorted));
    latest = malloc(n * sizeof(*latest));
    hosts = malloc(n * sizeof(*hosts));
    if (!sorted || !latest || !hosts) {
        rc = PF_NOMEM;
        goto out;
    }
    memcpy(sorted, snaps, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_snap);
    for (size_t i = 0; i < n; i++) {
        const struct pf_snapshot *s = sorted[i];
        int64_t hour = fold_hour(s->taken_at);
        struct host_row *r = nhosts ? &hosts[nhosts - 1] : NULL;

        if (!r || r->hour != hour || strcmp(r->agent_id, s->agent_id) != 0) {
            r = &hosts[nhosts++];
            memset(r, 0, sizeof(*r));
            r->agent_id = s->agent_id;
            r->hour = hour;
            r->tcp = r->udp = r->top_dest = r->vpn_conn = -1;
            for (int k = 0; k < SIZING_N; k++)
                r->sz[k] = NAN;
        }
        fold_host(r, s);
        /* The last snapshot of each agent carries its latest configuration. */
        if (i + 1 == n || strcmp(sorted[i + 1]->agent_id, s->agent_id) != 0)
            latest[nlatest++] = s;
    }
    rc = send_latest(pg, latest, nlatest, nsent);
    if (!rc)
        rc = send_hosts(pg, hosts, nhosts, nsent);
out:
    free(sorted);
    free(latest);
    free(hosts);
    return rc;
}

enum pf_rc rollup_ensure_columns(PGconn *pg, char *err, size_t errlen)
{
    struct pf_buf sql;
    enum pf_rc rc = PF_OK;

    /* The names come from this build's lists (sizing.h, which takes the
     * figures of common/snapshot_fields.h marked rollup), never from
     * input; quoted all the same. */
    pf_buf_init(&sql, 64 * 1024);
    rc = pf_buf_puts(&sql, "ALTER TABLE host_hours");
    for (int k = 0; k < SIZING_N && !rc; k++) {
        char *id = PQescapeIdentifier(pg, sizing_column(k), strlen(sizing_column(k)));
        if (!id) {
            rc = PF_NOMEM;
            break;
        }
        rc = pf_buf_printf(&sql, "%s ADD COLUMN IF NOT EXISTS %s bigint", k ? "," : "", id);
        PQfreemem(id);
    }
    if (!rc) {
        PGresult *r = PQexecParams(pg, sql.data, 0, NULL, NULL, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "adding the sizing columns of host_hours: %s",
                     PQresultErrorMessage(r));
            rc = PF_INVALID;
        }
        PQclear(r);
    } else {
        snprintf(err, errlen, "adding the sizing columns of host_hours: %s", pf_strerror(rc));
    }
    pf_buf_free(&sql);
    return rc;
}
