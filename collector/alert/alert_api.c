/* SPDX-License-Identifier: MIT */
/* alert_api.c: POST /v1/findings/ack and the acknowledgements /v1/findings
 * shows (alert_api.h). */
#include "alert_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "access.h"
#include "auth.h"
#include "serve.h"
#include "server.h"
#include "timeutil.h"

#define ACK_MAX_DAYS 366 /* a longer mute is a forgotten one */

static bool plain_text(const char *s, bool allow_newline)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && !(allow_newline && *s == '\n')) || *s == 0x7f)
            return false;
    return true;
}

/* A host finding's id names its agent (kind/AGENT_ID[/...]): it exists
 * only in that agent's tenant, so acknowledging it in another tenant
 * answers 404, like anything of another tenant. Site findings (kind/SITE)
 * are the named tenant's by their site name. False only when the id names
 * an agent that is not tenant's (a failed query lets the INSERT report). */
static bool agent_in_tenant(PGconn *pg, const char *id, const char *tenant)
{
    const char *s = strchr(id, '/');
    char agent[AUTH_UUID_LEN];
    const char *v[2] = {agent, tenant};
    PGresult *r;
    bool ok;

    if (!s || strlen(s + 1) < AUTH_UUID_LEN - 1 ||
        (s[AUTH_UUID_LEN] != '\0' && s[AUTH_UUID_LEN] != '/'))
        return true;
    memcpy(agent, s + 1, AUTH_UUID_LEN - 1);
    agent[AUTH_UUID_LEN - 1] = '\0';
    if (!auth_uuid_valid(agent))
        return true;
    r = PQexecParams(pg, "SELECT 1 FROM agents WHERE agent_id = $1::uuid AND tenant = $2", 2, NULL,
                     v, NULL, NULL, 0);
    ok = PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 1;
    PQclear(r);
    return ok;
}

static void ack_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct exchange *x = exchange_of(jobs[i]);
        cJSON *root = cJSON_ParseWithLength(x->body ? x->body : "", x->body_len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
        const cJSON *until = cJSON_GetObjectItemCaseSensitive(root, "until");
        const cJSON *comment = cJSON_GetObjectItemCaseSensitive(root, "comment");
        const cJSON *tj = cJSON_GetObjectItemCaseSensitive(root, "tenant");
        /* The acknowledgement is the finding's tenant's: a tenant admin's
         * own; an operator names it ("default" when not). */
        const char *tenant = serve_who(x)->role == ACCESS_OPERATOR
                                 ? (cJSON_IsString(tj) ? tj->valuestring : "default")
                                 : serve_who(x)->tenant;
        int64_t t, now = pf_time_now();
        char ts[PF_TIME_LEN];
        PGconn *pg;
        PGresult *r;

        if (!cJSON_IsObject(root)) {
            exchange_error(x, 400, "invalid", "the body is not a JSON object");
        } else if (tj && !cJSON_IsString(tj)) {
            exchange_error(x, 400, "invalid", "tenant: a tenant name");
        } else if (serve_who(x)->role != ACCESS_OPERATOR && cJSON_IsString(tj) &&
                   strcmp(tj->valuestring, serve_who(x)->tenant) != 0) {
            exchange_error(x, 404, "not_found", "no such tenant");
        } else if (!access_tenant_valid(tenant)) {
            exchange_error(x, 400, "invalid", "tenant: a tenant name is [a-z0-9-]{1,64}");
        } else if (!cJSON_IsString(id) || !id->valuestring[0] ||
                   strlen(id->valuestring) >= FINDING_ID_LEN ||
                   !plain_text(id->valuestring, false)) {
            exchange_error(x, 400, "invalid",
                           "id: a finding id as /v1/findings shows it (1..%d bytes, no control "
                           "characters)",
                           FINDING_ID_LEN - 1);
        } else if (!cJSON_IsString(until) || pf_time_parse(until->valuestring, &t) != PF_OK) {
            exchange_error(x, 400, "invalid", "until: an RFC 3339 time, e.g. 2026-11-23T08:00:00Z");
        } else if (t > now + ACK_MAX_DAYS * 86400LL) {
            exchange_error(x, 400, "invalid", "until: at most %d days ahead", ACK_MAX_DAYS);
        } else if (comment && !cJSON_IsNull(comment) &&
                   (!cJSON_IsString(comment) || strlen(comment->valuestring) >= FINDING_TEXT_LEN ||
                    !plain_text(comment->valuestring, true))) {
            exchange_error(x, 400, "invalid", "comment: a string of at most %d bytes",
                           FINDING_TEXT_LEN - 1);
        } else if (!(pg = db_pg(dc))) {
            exchange_error(x, 503, "unavailable", "the database does not answer");
        } else if (!agent_in_tenant(pg, id->valuestring, tenant)) {
            exchange_error(x, 404, "not_found", "no such finding");
        } else {
            pf_time_format(t, ts);
            const char *v[] = {tenant, id->valuestring, ts,
                               cJSON_IsString(comment) ? comment->valuestring : ""};
            r = PQexecParams(pg,
                             "INSERT INTO alert_acks (tenant, id, until, comment) "
                             "VALUES ($1, $2, $3::timestamptz, $4) ON CONFLICT (tenant, id) DO "
                             "UPDATE SET until = EXCLUDED.until, comment = EXCLUDED.comment, "
                             "acked_at = now() RETURNING extract(epoch FROM acked_at)::bigint",
                             4, NULL, v, NULL, NULL, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                db_check(dc);
                exchange_error(x, 503, "unavailable", "the database failed: try again");
            } else {
                char acked[PF_TIME_LEN];
                cJSON *o = cJSON_CreateObject();
                char *text;
                pf_time_format(strtoll(PQgetvalue(r, 0, 0), NULL, 10), acked);
                cJSON_AddStringToObject(o, "id", id->valuestring);
                cJSON_AddStringToObject(o, "tenant", tenant);
                cJSON_AddStringToObject(o, "until", ts);
                cJSON_AddStringToObject(o, "acked_at", acked);
                cJSON_AddStringToObject(o, "comment", v[3]);
                cJSON_AddBoolToObject(o, "muted", t > now);
                text = cJSON_PrintUnformatted(o);
                if (text)
                    exchange_json(x, 200, text);
                else
                    exchange_error(x, 500, "internal", "out of memory");
                free(text);
                cJSON_Delete(o);
            }
            PQclear(r);
        }
        cJSON_Delete(root);
    }
}

static const struct db_job_ops ack_ops = {"ack", 1, 0, ack_run};

void alert_ack_handle(struct exchange *x)
{
    exchange_defer(x, &ack_ops);
}

enum pf_rc alert_acks_load(PGconn *pg, const char *tenant, struct finding_ack **out, size_t *n)
{
    const char *v[] = {tenant};
    PGresult *r;
    struct finding_ack *a;
    int rows;

    *out = NULL;
    *n = 0;
    r = PQexecParams(pg,
                     "SELECT id, extract(epoch FROM until)::bigint, "
                     "extract(epoch FROM acked_at)::bigint, comment, tenant FROM alert_acks "
                     "WHERE ($1 = '' OR tenant = $1) AND until > now() ORDER BY tenant, id",
                     1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        bool missing = strcmp(db_sqlstate(r), "42P01") == 0; /* undefined_table */
        PQclear(r);
        return missing ? PF_OK : PF_AGAIN;
    }
    rows = PQntuples(r);
    a = rows ? calloc((size_t)rows, sizeof(*a)) : NULL;
    if (rows && !a) {
        PQclear(r);
        return PF_NOMEM;
    }
    for (int i = 0; i < rows; i++) {
        snprintf(a[i].id, sizeof(a[i].id), "%s", PQgetvalue(r, i, 0));
        a[i].until = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        a[i].acked_at = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        snprintf(a[i].comment, sizeof(a[i].comment), "%s", PQgetvalue(r, i, 3));
        snprintf(a[i].tenant, sizeof(a[i].tenant), "%s", PQgetvalue(r, i, 4));
    }
    PQclear(r);
    *out = a;
    *n = (size_t)rows;
    return PF_OK;
}
