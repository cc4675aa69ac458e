/* SPDX-License-Identifier: MIT */
/* analysis_db.c: the rollups of sql/010 into a struct fleet (see
 * analysis_db.h). Values arrive as text and are parsed here; every query
 * takes its values as parameters. */
#include "analysis_db.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "findings.h"
#include "timeutil.h"

static const char hosts_sql[] =
    "SELECT a.agent_id::text, a.name, a.site, extract(epoch FROM l.taken_at)::bigint, l.name, "
    "l.site, l.os, array_to_json(l.roles)::text, l.cpus, l.memory_mb, l.interval_s, "
    "l.tcp_start, l.tcp_count, l.udp_start, l.udp_count, l.usable_tcp4, l.usable_udp4, "
    "l.excluded_tcp4::text, l.tcp_in_use, l.udp_in_use, l.top_dest_addr, l.top_dest_port, "
    "l.ike_value "
    "FROM agents a LEFT JOIN host_latest l ON l.agent_id = a.agent_id "
    "WHERE a.revoked_at IS NULL AND ($1 = '' OR coalesce(l.site, a.site) = $1) "
    "AND (l.taken_at >= $2::timestamptz OR (l.taken_at IS NULL AND a.enrolled_at >= "
    "$2::timestamptz)) "
    "ORDER BY coalesce(l.site, a.site), coalesce(l.name, a.name), a.agent_id";

static const char hours_sql[] =
    "SELECT h.agent_id::text, extract(epoch FROM h.hour)::bigint, h.tcp_max, h.udp_max, "
    "h.top_dest_max, h.vpn_conn_max, h.ev_tcpip_4227, h.ev_tcpip_4231, h.ev_tcpip_4266, "
    "h.ev_netlogon_5719, h.vpn_ikev2, h.vpn_connections, h.vpn_distinct, h.vpn_top_addr, "
    "h.vpn_top_count, extract(epoch FROM h.vpn_at)::bigint "
    "FROM host_hours h "
    "WHERE h.hour >= $1::timestamptz AND h.hour < $2::timestamptz "
    "AND ($3 = '' OR h.agent_id IN (SELECT agent_id FROM host_latest WHERE site = $3))";

/* The processes whose last day (the 24 hours up to the host's last hour
 * with data in the window) holds at least 12 hours, rises by at least 12
 * ports (max - min: looser than findings.c's last - first) and whose
 * hourly minima give back at most LEAK_MAX_RELEASE of what they gain;
 * then their whole series in the window. */
static const char procs_sql[] =
    "WITH anchor AS ("
    "  SELECT agent_id, max(hour) AS last FROM host_hours"
    "  WHERE hour >= $1::timestamptz AND hour < $2::timestamptz AND tcp_max IS NOT NULL"
    "  AND ($3 = '' OR agent_id IN (SELECT agent_id FROM host_latest WHERE site = $3))"
    "  GROUP BY agent_id), "
    "day AS ("
    "  SELECT p.agent_id, p.name, p.service, p.held_max,"
    "         p.held_min - lag(p.held_min) OVER (PARTITION BY p.agent_id, p.name, p.service"
    "                                             ORDER BY p.hour) AS d"
    "  FROM process_hours p JOIN anchor a ON a.agent_id = p.agent_id"
    "  WHERE p.hour > a.last - make_interval(hours => $4::integer) AND p.hour <= a.last), "
    "cand AS ("
    "  SELECT agent_id, name, service FROM day GROUP BY agent_id, name, service"
    "  HAVING count(*) >= $5::integer AND max(held_max) - min(held_max) >= $6::float8"
    "     AND sum(greatest(d, 0)) > 0"
    "     AND sum(greatest(-d, 0)) <= $7::float8 * sum(greatest(d, 0))) "
    "SELECT p.agent_id::text, extract(epoch FROM p.hour)::bigint, p.name, p.service, "
    "p.held_max, p.held_min, p.bound_max, p.remote_addr, p.remote_port, "
    "extract(epoch FROM p.remote_at)::bigint "
    "FROM process_hours p JOIN cand c ON c.agent_id = p.agent_id AND c.name = p.name "
    "AND c.service = p.service "
    "WHERE p.hour >= $1::timestamptz AND p.hour < $2::timestamptz "
    "ORDER BY p.agent_id, p.name, p.service, p.hour";

static bool null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

static long long i64(const PGresult *r, int row, int col)
{
    return null(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static double dbl(const PGresult *r, int row, int col)
{
    return null(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

static void text(const PGresult *r, int row, int col, char *dst, size_t len)
{
    snprintf(dst, len, "%s", null(r, row, col) ? "" : PQgetvalue(r, row, col));
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

/* The host row's configuration (the latest snapshot's) into x. */
static enum pf_rc host_config(const PGresult *r, int i, struct fleet_host *x)
{
    cJSON *roles, *ex, *e;

    snprintf(x->name, sizeof(x->name), "%s", PQgetvalue(r, i, 1));
    snprintf(x->site, sizeof(x->site), "%s", PQgetvalue(r, i, 2));
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
            x->excluded[x->nexcluded++] = (struct pf_range){
                PF_PROTO_TCP, PF_FAMILY_IPV4,
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

static void host_hour(struct fleet *f, const PGresult *r, int i)
{
    struct fleet_host *x = fleet_host_find(f, PQgetvalue(r, i, 0));
    long h = x ? fleet_hour(f, i64(r, i, 1)) : -1;
    struct fleet_hour_row row;

    if (h < 0)
        return;
    row.tcp = dbl(r, i, 2);
    row.udp = dbl(r, i, 3);
    row.top_dest = dbl(r, i, 4);
    row.vpn_conn = dbl(r, i, 5);
    row.events.tcpip_4227 = (uint64_t)i64(r, i, 6);
    row.events.tcpip_4231 = (uint64_t)i64(r, i, 7);
    row.events.tcpip_4266 = (uint64_t)i64(r, i, 8);
    row.events.netlogon_5719 = (uint64_t)i64(r, i, 9);
    fleet_fold_hour(x, (size_t)h, &row);
    if (!null(r, i, 10)) {
        struct fleet_vpn v;
        memset(&v, 0, sizeof(v));
        v.ikev2 = (uint64_t)i64(r, i, 10);
        v.connections = (uint64_t)i64(r, i, 11);
        v.distinct_clients = (uint64_t)i64(r, i, 12);
        text(r, i, 13, v.top.addr, sizeof(v.top.addr));
        v.top.count = (uint64_t)i64(r, i, 14);
        v.at = i64(r, i, 15);
        fleet_fold_vpn(x, &v);
    }
}

static enum pf_rc proc_hour(struct fleet *f, const PGresult *r, int i)
{
    struct fleet_host *x = fleet_host_find(f, PQgetvalue(r, i, 0));
    long h = x ? fleet_hour(f, i64(r, i, 1)) : -1;
    struct fleet_proc *p;

    if (h < 0)
        return PF_OK;
    p = fleet_proc_get(f, x, PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
    if (!p)
        return PF_OK; /* FLEET_PROCS_MAX reached, as in the fold */
    fleet_fold_proc(p, (size_t)h, dbl(r, i, 4), dbl(r, i, 5), dbl(r, i, 6));
    if (!null(r, i, 7) && i64(r, i, 9) >= p->remote_at) {
        p->has_remote = true;
        text(r, i, 7, p->remote.addr, sizeof(p->remote.addr));
        p->remote.port = (uint16_t)i64(r, i, 8);
        p->remote_at = i64(r, i, 9);
    }
    return PF_OK;
}

enum pf_rc analysis_db_load(PGconn *pg, const struct fleet_params *p, const char *site,
                            struct fleet **out, char *err, size_t errlen)
{
    struct fleet *f;
    PGresult *r = NULL;
    char from[PF_TIME_LEN], to[PF_TIME_LEN], forget[PF_TIME_LEN];
    char hours[16], minseen[16], minrise[32], release[32];
    const char *vals[7];
    enum pf_rc rc = PF_OK;
    int64_t forget_t = p->now - (int64_t)ANALYSIS_DB_FORGET_DAYS * 86400;

    *out = NULL;
    if (!site)
        site = "";
    f = fleet_new(p);
    if (!f) {
        snprintf(err, errlen, "unusable analysis window");
        return PF_INVALID;
    }
    if (forget_t > f->start)
        forget_t = f->start;
    if (pf_time_format(f->start, from) || pf_time_format(f->start + (int64_t)f->nhours * 3600, to) ||
        pf_time_format(forget_t, forget)) {
        fleet_free(f);
        snprintf(err, errlen, "unusable analysis window");
        return PF_INVALID;
    }

    vals[0] = site;
    vals[1] = forget;
    r = query(pg, hosts_sql, 2, vals, err, errlen, "loading hosts");
    if (!r) {
        rc = PF_AGAIN;
        goto fail;
    }
    for (int i = 0; i < PQntuples(r) && !rc; i++) {
        struct fleet_host *x = fleet_host_get(f, PQgetvalue(r, i, 0));
        rc = x ? host_config(r, i, x) : PF_NOMEM;
    }
    PQclear(r);
    if (rc)
        goto fail;

    vals[0] = from;
    vals[1] = to;
    vals[2] = site;
    r = query(pg, hours_sql, 3, vals, err, errlen, "loading host hours");
    if (!r) {
        rc = PF_AGAIN;
        goto fail;
    }
    for (int i = 0; i < PQntuples(r); i++)
        host_hour(f, r, i);
    PQclear(r);

    snprintf(hours, sizeof(hours), "%d", LEAK_MIN_HOURS);
    snprintf(minseen, sizeof(minseen), "%d", LEAK_MIN_HOURS / 2);
    snprintf(minrise, sizeof(minrise), "%.17g", LEAK_MIN_RATE * LEAK_MIN_HOURS / 2);
    snprintf(release, sizeof(release), "%.17g", LEAK_MAX_RELEASE);
    vals[3] = hours;
    vals[4] = minseen;
    vals[5] = minrise;
    vals[6] = release;
    r = query(pg, procs_sql, 7, vals, err, errlen, "loading process hours");
    if (!r) {
        rc = PF_AGAIN;
        goto fail;
    }
    for (int i = 0; i < PQntuples(r) && !rc; i++)
        rc = proc_hour(f, r, i);
    PQclear(r);
    if (rc)
        goto fail;
    *out = f;
    return PF_OK;
fail:
    fleet_free(f);
    return rc;
}
