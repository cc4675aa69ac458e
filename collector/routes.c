/* SPDX-License-Identifier: MIT */
/* routes.c: the endpoint table, and the handlers too small for a module. */
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alert_api.h"
#include "auth_cache.h"
#include "capacity_api.h"
#include "enroll.h"
#include "fleet_mirror.h"
#include "ingest.h"
#include "serve.h"
#include "signin.h"
#include "store.h"
#include "tenants.h"

#define KIB 1024

static void healthz(struct exchange *x);
static void readyz(struct exchange *x);
static void status(struct exchange *x);

static const struct route table[] = {
    /* method  path             auth          form   max body        handler  arg */
    {"GET", "/healthz", ROUTE_PUBLIC, false, 0, healthz, 0},
    {"GET", "/readyz", ROUTE_PUBLIC, false, 0, readyz, 0},
    {"POST", "/v1/enroll", ROUTE_PUBLIC, false, 16 * KIB, enroll_handle, 0},
    {"POST", "/v1/snapshots", ROUTE_NODE, false, HTTP_BODY_MAX, ingest_handle, 0},
    {"GET", "/v1/status", ROUTE_OPERATOR, false, 0, status, 0},
    /* the capacity engine (capacity_api.h), each tenant's own */
    {"GET", "/v1/findings", ROUTE_READ, false, 0, capacity_api_handle, CAPACITY_FINDINGS},
    {"GET", "/v1/plan", ROUTE_READ, false, 0, capacity_api_handle, CAPACITY_PLAN},
    {"GET", "/v1/hosts", ROUTE_READ, false, 0, capacity_api_handle, CAPACITY_HOSTS},
    {"GET", "/report", ROUTE_READ, true, 0, capacity_api_handle, CAPACITY_REPORT},
    {"GET", "/report/site/", ROUTE_READ, true, 0, capacity_api_handle, CAPACITY_SITE_PAGE},
    {"GET", "/report/host/", ROUTE_READ, true, 0, capacity_api_handle, CAPACITY_HOST_PAGE},
    {"GET", "/report.csv", ROUTE_READ, false, 0, capacity_api_handle, CAPACITY_REPORT_CSV},
    {"GET", "/metrics", ROUTE_READ, false, 0, capacity_api_handle, CAPACITY_METRICS},
    /* the report in a browser (signin.h) */
    {"POST", "/report/signin", ROUTE_PUBLIC, false, 4 * KIB, signin_handle, 0},
    {"POST", "/report/signout", ROUTE_READ, false, 0, signout_handle, 0},
    /* tenants, tokens, enrollment secrets (tenants.h) */
    {"GET", "/v1/tenants", ROUTE_OPERATOR, false, 0, tenants_handle, 0},
    {"POST", "/v1/tenants", ROUTE_OPERATOR, false, 4 * KIB, tenants_handle, 0},
    {"GET", "/v1/tokens", ROUTE_ADMIN, false, 0, tenants_handle, 0},
    {"POST", "/v1/tokens", ROUTE_ADMIN, false, 4 * KIB, tenants_handle, 0},
    {"POST", "/v1/tokens/revoke", ROUTE_ADMIN, false, 4 * KIB, tenants_handle, 0},
    {"GET", "/v1/secrets", ROUTE_ADMIN, false, 0, tenants_handle, 0},
    {"POST", "/v1/secrets", ROUTE_ADMIN, false, 4 * KIB, tenants_handle, 0},
    {"POST", "/v1/secrets/revoke", ROUTE_ADMIN, false, 4 * KIB, tenants_handle, 0},
    {"POST", "/v1/agents/revoke", ROUTE_ADMIN, false, 4 * KIB, tenants_handle, 0},
    /* notifications: acknowledge a finding (alert_api.h); its tenant's admin */
    {"POST", "/v1/findings/ack", ROUTE_ADMIN, false, 16 * KIB, alert_ack_handle, 0},
};

const struct route *routes_table(size_t *n)
{
    *n = PF_ARRAY_LEN(table);
    return table;
}

static void healthz(struct exchange *x)
{
    exchange_json(x, 200, "{\"status\":\"ok\"}");
}

static void ping_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct exchange *x = exchange_of(jobs[i]);
        if (store_ping(dc) == PF_OK)
            exchange_json(x, 200, "{\"status\":\"ready\"}");
        else
            exchange_error(x, 503, "unavailable", "the database does not answer");
    }
}

static const struct db_job_ops ping_ops = {"ping", 1, 0, ping_run};

/* Ready when the database answers and the tokens are known (a collector
 * that cannot tell a valid token from a revoked one yet is not ready). */
static void readyz(struct exchange *x)
{
    if (!access_loaded(serve_access(x))) {
        exchange_error(x, 503, "unavailable", "tokens not loaded from the database yet");
        return;
    }
    exchange_defer(x, &ping_ops);
}

/* The collector's own counters, for operators. */
static void status(struct exchange *x)
{
    const struct server_stats *st = server_stats(x->srv);
    struct auth_cache_stats nk = {0, 0, 0};
    struct fmirror_status ms;
    char json[1536], mj[300];
    size_t n;

    if (serve_node_keys(x))
        auth_cache_stats(serve_node_keys(x), &nk);

    snprintf(json, sizeof(json),
             "{\"database_up\":%s,\"queue_depth\":%zu,\"connections_open\":%" PRIu64
             ",\"connections_accepted\":%" PRIu64 ",\"connections_refused\":%" PRIu64
             ",\"handshakes_failed\":%" PRIu64 ",\"handshakes_resumed\":%" PRIu64
             ",\"timeouts\":{\"header\":%" PRIu64 ",\"body\":%" PRIu64 ",\"idle\":%" PRIu64
             ",\"write\":%" PRIu64 "},\"requests\":%" PRIu64 ",\"answers\":{\"2xx\":%" PRIu64
             ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64 ",\"429\":%" PRIu64
             "},\"snapshots_accepted\":%" PRIu64 ",\"snapshots_duplicate\":%" PRIu64
             ",\"drain\":{\"open\":%" PRIu64 ",\"started\":%" PRIu64 ",\"refused\":%" PRIu64
             ",\"cut\":%" PRIu64 ",\"idle\":%" PRIu64 "},\"node_keys\":{\"hits\":%" PRIu64
             ",\"misses\":%" PRIu64 ",\"misses_stale\":%" PRIu64 "}}",
             db_up(serve_db(x)) ? "true" : "false", db_queue_depth(serve_db(x)),
             st->connections_open, st->connections_accepted, st->connections_refused,
             st->handshakes_failed, st->handshakes_resumed, st->timeouts_header,
             st->timeouts_body, st->timeouts_idle, st->timeouts_write, st->requests,
             st->answers_2xx, st->answers_4xx, st->answers_5xx, st->answers_429,
             st->snapshots_accepted, st->snapshots_duplicate, st->connections_draining,
             st->drains_started, st->drains_refused, st->drains_cut, st->drains_idle, nk.hits,
             nk.misses, nk.misses_stale);
    /* The fleet mirror (store/fleet_mirror.h): whether the first full load
     * is done, and what refreshes cost. */
    if (capacity_mirror_status(&ms))
        snprintf(mj, sizeof(mj),
                 ",\"analysis_mirror\":{\"ready\":%s,\"off\":%s,\"hosts\":%zu,\"full_load_ms\":%lld,"
                 "\"refresh_ms\":%lld,\"full_loads\":%llu,\"refreshes\":%llu}}",
                 ms.ready ? "true" : "false", ms.disabled ? "true" : "false", ms.hosts, ms.full_ms,
                 ms.refresh_ms, ms.fulls, ms.refreshes);
    else
        snprintf(mj, sizeof(mj), ",\"analysis_mirror\":null}");
    n = strlen(json);
    if (n > 0 && n - 1 + strlen(mj) < sizeof(json))
        snprintf(json + n - 1, sizeof(json) - (n - 1), "%s", mj);
    exchange_json(x, 200, json);
}
