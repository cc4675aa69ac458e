/* SPDX-License-Identifier: MIT */
/* tenants.c: tenants, enrollment secrets and tokens (see tenants.h): the
 * operations over one connection, scoped by who asks, then the HTTP
 * handler and the command line on top of them. */
#include "tenants.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "serve.h"
#include "server.h"
#include "snapshot_json.h"

/* What an operation answers: an HTTP status, and a JSON body (2xx) or a
 * message naming what is wrong. */
struct result {
    int status;
    cJSON *json;
    const char *code;
    char msg[256];
};

static int fail(struct result *r, int status, const char *code, const char *fmt, ...)
    PF_PRINTF(4, 5);
static int fail(struct result *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
    r->status = status;
    r->code = code;
    return status;
}

static int ok(struct result *r, int status, cJSON *json)
{
    if (!json)
        return fail(r, 500, "internal", "out of memory");
    r->status = status;
    r->json = json;
    return status;
}

/* Runs sql with text parameters (a NULL value is SQL NULL; the length of
 * a hash parameter is given in blen, else 0). */
static PGresult *run(PGconn *pg, const char *sql, int n, const char *const *vals, const int *blen)
{
    int lens[8] = {0}, fmts[8] = {0};

    for (int i = 0; blen && i < n; i++) {
        lens[i] = blen[i];
        fmts[i] = blen[i] ? 1 : 0;
    }
    return PQexecParams(pg, sql, n, NULL, vals, lens, fmts, 0);
}

static bool good(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static const char *sqlstate(const PGresult *res)
{
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return s ? s : "";
}

static int db_fail(struct result *r, PGresult *res, const char *what)
{
    pf_warn("%s: %s", what, PQresultErrorMessage(res));
    PQclear(res);
    return fail(r, 503, "unavailable", "the database failed while %s: try again", what);
}

/* The tenant an operation acts on: for an operator the one named (want;
 * required when need), for anyone else their own (want must be absent or
 * theirs: another tenant's name answers 404 as if it did not exist). */
static int scope(const struct access_who *who, const char *want, bool need, char *out,
                 struct result *r)
{
    if (who->role != ACCESS_OPERATOR) {
        if (want && strcmp(want, who->tenant) != 0)
            return fail(r, 404, "not_found", "no such tenant");
        snprintf(out, PF_TENANT_LEN, "%s", who->tenant);
        return 0;
    }
    if (want && !access_tenant_valid(want))
        return fail(r, 400, "invalid", "tenant: must be 1 to 64 characters of a-z, 0-9 and '-'");
    if (!want && need)
        return fail(r, 400, "invalid", "tenant: required for an operator");
    snprintf(out, PF_TENANT_LEN, "%s", want ? want : "");
    return 0;
}

/* Stores a new secret (token or enrollment secret) for tenant; its clear
 * text into secret, its row id into *id. */
static int insert_secret(PGconn *pg, bool token, const char *tenant, enum access_role role,
                         char secret[ACCESS_SECRET_LEN], long long *id, struct result *r)
{
    uint8_t hash[AUTH_HASH_LEN];
    const char *vals[3];
    int blen[3] = {0, 0, 0};
    PGresult *res;

    if (access_new_secret(token ? "pft_" : "pfe_", secret))
        return fail(r, 500, "internal", "no randomness available");
    auth_hash(secret, strlen(secret), hash);
    vals[0] = (const char *)hash;
    blen[0] = AUTH_HASH_LEN;
    vals[1] = tenant[0] ? tenant : NULL;
    vals[2] = access_role_name(role);
    res = token ? run(pg,
                      "INSERT INTO tokens (token_hash, tenant, role) VALUES ($1, $2, $3) "
                      "RETURNING id",
                      3, vals, blen)
                : run(pg,
                      "INSERT INTO enroll_secrets (secret_hash, tenant) VALUES ($1, $2) "
                      "RETURNING id",
                      2, vals, blen);
    if (!good(res)) {
        if (strcmp(sqlstate(res), "23503") == 0) { /* the tenant does not exist */
            PQclear(res);
            return fail(r, 404, "not_found", "no tenant \"%s\"", tenant);
        }
        return db_fail(r, res, token ? "storing a token" : "storing an enrollment secret");
    }
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* ---- operations ---- */

static int tenant_add(PGconn *pg, const char *name, struct result *r)
{
    char secret[ACCESS_SECRET_LEN], admin[ACCESS_SECRET_LEN], reader[ACCESS_SECRET_LEN];
    const char *vals[1] = {name};
    long long id;
    PGresult *res;
    cJSON *o;

    if (!name || !access_tenant_valid(name))
        return fail(r, 400, "invalid",
                    "tenant name: must be 1 to 64 characters of a-z, 0-9 and '-'");
    res = run(pg, "BEGIN", 0, NULL, NULL);
    if (!good(res))
        return db_fail(r, res, "starting a transaction");
    PQclear(res);
    res = run(pg, "INSERT INTO tenants (name) VALUES ($1)", 1, vals, NULL);
    if (!good(res)) {
        bool dup = strcmp(sqlstate(res), "23505") == 0;
        PQclear(res);
        PQclear(run(pg, "ROLLBACK", 0, NULL, NULL));
        return dup ? fail(r, 409, "exists", "tenant \"%s\" exists already", name)
                   : fail(r, 503, "unavailable", "the database failed while adding a tenant");
    }
    PQclear(res);
    if (insert_secret(pg, false, name, ACCESS_NONE, secret, &id, r) ||
        insert_secret(pg, true, name, ACCESS_ADMIN, admin, &id, r) ||
        insert_secret(pg, true, name, ACCESS_READ, reader, &id, r)) {
        PQclear(run(pg, "ROLLBACK", 0, NULL, NULL));
        return r->status;
    }
    res = run(pg, "COMMIT", 0, NULL, NULL);
    if (!good(res))
        return db_fail(r, res, "committing a new tenant");
    PQclear(res);
    o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "tenant", name) ||
              !cJSON_AddStringToObject(o, "enroll_secret", secret) ||
              !cJSON_AddStringToObject(o, "admin_token", admin) ||
              !cJSON_AddStringToObject(o, "read_token", reader))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return ok(r, 201, o);
}

/* Rows as an array of objects, one member per column ("" -> null for the
 * columns named in nulls, numbers for the columns named in nums). */
static cJSON *rows_json(const PGresult *res, const char *const *nums)
{
    cJSON *a = cJSON_CreateArray();

    for (int i = 0; a && i < PQntuples(res); i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            return NULL;
        }
        for (int c = 0; c < PQnfields(res); c++) {
            const char *name = PQfname(res, c);
            bool num = false;
            cJSON *v;
            for (size_t k = 0; nums && nums[k]; k++)
                num = num || strcmp(nums[k], name) == 0;
            if (PQgetisnull(res, i, c))
                v = cJSON_CreateNull();
            else if (num)
                v = cJSON_CreateNumber(strtod(PQgetvalue(res, i, c), NULL));
            else
                v = cJSON_CreateString(PQgetvalue(res, i, c));
            if (!v || !cJSON_AddItemToObject(o, name, v)) {
                cJSON_Delete(v);
                cJSON_Delete(a);
                return NULL;
            }
        }
    }
    return a;
}

static int list(PGconn *pg, const char *sql, const char *tenant, const char *key,
                const char *const *nums, struct result *r)
{
    const char *vals[1] = {tenant};
    PGresult *res = run(pg, sql, 1, vals, NULL);
    cJSON *o, *a;

    if (!good(res))
        return db_fail(r, res, "listing");
    a = rows_json(res, nums);
    PQclear(res);
    o = cJSON_CreateObject();
    if (!o || !a || !cJSON_AddItemToObject(o, key, a)) {
        cJSON_Delete(o);
        cJSON_Delete(a);
        return fail(r, 500, "internal", "out of memory");
    }
    return ok(r, 200, o);
}

static int tenant_list(PGconn *pg, const struct access_who *who, const char *want, struct result *r)
{
    static const char *const nums[] = {"agents", "tokens", "enroll_secrets", NULL};
    char t[PF_TENANT_LEN];

    if (scope(who, want, false, t, r))
        return r->status;
    return list(pg,
                "SELECT t.name, to_char(t.created_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, "
                "(SELECT count(*) FROM agents a WHERE a.tenant = t.name AND a.revoked_at IS NULL) "
                "AS agents, (SELECT count(*) FROM tokens k WHERE k.tenant = t.name AND "
                "k.revoked_at IS NULL) AS tokens, (SELECT count(*) FROM enroll_secrets s WHERE "
                "s.tenant = t.name AND s.revoked_at IS NULL) AS enroll_secrets "
                "FROM tenants t WHERE $1 = '' OR t.name = $1 ORDER BY t.name",
                t, "tenants", nums, r);
}

static int token_add(PGconn *pg, const struct access_who *who, const char *want,
                     const char *role_name, struct result *r)
{
    enum access_role role = access_role_parse(role_name);
    char t[PF_TENANT_LEN], secret[ACCESS_SECRET_LEN];
    long long id;
    cJSON *o;

    if (role == ACCESS_NONE)
        return fail(r, 400, "invalid", "role: must be read, admin or operator");
    if (role == ACCESS_OPERATOR) {
        if (who->role != ACCESS_OPERATOR)
            return fail(r, 403, "forbidden", "an operator token is made by an operator");
        if (want)
            return fail(r, 400, "invalid",
                        "tenant: an operator token has none (it sees every tenant)");
        t[0] = '\0';
    } else if (scope(who, want, true, t, r)) {
        return r->status;
    }
    if (insert_secret(pg, true, t, role, secret, &id, r))
        return r->status;
    o = cJSON_CreateObject();
    if (o &&
        (!cJSON_AddNumberToObject(o, "id", (double)id) ||
         !(t[0] ? cJSON_AddStringToObject(o, "tenant", t) : cJSON_AddNullToObject(o, "tenant")) ||
         !cJSON_AddStringToObject(o, "role", access_role_name(role)) ||
         !cJSON_AddStringToObject(o, "token", secret))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return ok(r, 201, o);
}

static int token_list(PGconn *pg, const struct access_who *who, const char *want, struct result *r)
{
    static const char *const nums[] = {"id", NULL};
    char t[PF_TENANT_LEN];

    if (scope(who, want, false, t, r))
        return r->status;
    return list(pg,
                "SELECT id, tenant, role, to_char(created_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, to_char(revoked_at AT TIME "
                "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked_at FROM tokens "
                "WHERE $1 = '' OR tenant = $1 ORDER BY id",
                t, "tokens", nums, r);
}

static int secret_add(PGconn *pg, const struct access_who *who, const char *want, struct result *r)
{
    char t[PF_TENANT_LEN], secret[ACCESS_SECRET_LEN];
    long long id;
    cJSON *o;

    if (scope(who, want, true, t, r))
        return r->status;
    if (insert_secret(pg, false, t, ACCESS_NONE, secret, &id, r))
        return r->status;
    o = cJSON_CreateObject();
    if (o && (!cJSON_AddNumberToObject(o, "id", (double)id) ||
              !cJSON_AddStringToObject(o, "tenant", t) ||
              !cJSON_AddStringToObject(o, "enroll_secret", secret))) {
        cJSON_Delete(o);
        o = NULL;
    }
    return ok(r, 201, o);
}

static int secret_list(PGconn *pg, const struct access_who *who, const char *want, struct result *r)
{
    static const char *const nums[] = {"id", NULL};
    char t[PF_TENANT_LEN];

    if (scope(who, want, false, t, r))
        return r->status;
    return list(pg,
                "SELECT id, tenant, to_char(created_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, to_char(revoked_at AT TIME "
                "ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked_at FROM enroll_secrets "
                "WHERE $1 = '' OR tenant = $1 ORDER BY id",
                t, "enroll_secrets", nums, r);
}

/* Revokes token or secret number id, or the token whose clear text is
 * token (id 0), within who's tenant. */
static int revoke(PGconn *pg, const struct access_who *who, bool is_token, long long id,
                  const char *token, struct result *r)
{
    char idtext[32], t[PF_TENANT_LEN];
    uint8_t hash[AUTH_HASH_LEN];
    const char *vals[3];
    int blen[3] = {0, 0, 0};
    PGresult *res;
    cJSON *o;

    snprintf(t, sizeof(t), "%s", who->role == ACCESS_OPERATOR ? "" : who->tenant);
    snprintf(idtext, sizeof(idtext), "%lld", id);
    vals[0] = idtext;
    vals[1] = t;
    vals[2] = (const char *)hash;
    blen[2] = AUTH_HASH_LEN;
    if (token)
        auth_hash(token, strlen(token), hash);
    else
        memset(hash, 0, sizeof(hash));
    res = is_token ? run(pg,
                         "UPDATE tokens SET revoked_at = now() WHERE (id = $1::bigint OR "
                         "token_hash = $3) AND ($2 = '' OR tenant = $2) AND revoked_at IS NULL "
                         "RETURNING id, coalesce(tenant, ''), role",
                         3, vals, blen)
                   : run(pg,
                         "UPDATE enroll_secrets SET revoked_at = now() WHERE id = $1::bigint AND "
                         "($2 = '' OR tenant = $2) AND revoked_at IS NULL "
                         "RETURNING id, tenant, ''",
                         2, vals, NULL);
    if (!good(res))
        return db_fail(r, res, "revoking");
    if (PQntuples(res) == 0) {
        PQclear(res);
        return fail(r, 404, "not_found", "no such %s (or revoked already)",
                    is_token ? "token" : "enrollment secret");
    }
    o = cJSON_CreateObject();
    if (o && (!cJSON_AddNumberToObject(o, "revoked", strtod(PQgetvalue(res, 0, 0), NULL)) ||
              !cJSON_AddStringToObject(o, "tenant", PQgetvalue(res, 0, 1)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    PQclear(res);
    return ok(r, 200, o);
}

/* Revokes agent agent_id of who's tenant: its node key is refused from
 * then on and it drops out of the analysis. Another tenant's agent is 404. */
static int agent_revoke(PGconn *pg, const struct access_who *who, const char *agent_id,
                        struct result *r)
{
    char t[PF_TENANT_LEN];
    const char *vals[2] = {agent_id, t};
    PGresult *res;
    cJSON *o;

    if (!agent_id || !auth_uuid_valid(agent_id))
        return fail(r, 400, "invalid", "agent_id: required, an agent id as /v1/hosts lists it");
    snprintf(t, sizeof(t), "%s", who->role == ACCESS_OPERATOR ? "" : who->tenant);
    res = run(pg,
              "UPDATE agents SET revoked_at = now() WHERE agent_id = $1::uuid AND ($2 = '' OR "
              "tenant = $2) AND revoked_at IS NULL RETURNING tenant",
              2, vals, NULL);
    if (!good(res))
        return db_fail(r, res, "revoking an agent");
    if (PQntuples(res) == 0) {
        PQclear(res);
        return fail(r, 404, "not_found", "no such agent (or revoked already)");
    }
    o = cJSON_CreateObject();
    if (o && (!cJSON_AddStringToObject(o, "revoked", agent_id) ||
              !cJSON_AddStringToObject(o, "tenant", PQgetvalue(res, 0, 0)))) {
        cJSON_Delete(o);
        o = NULL;
    }
    PQclear(res);
    return ok(r, 200, o);
}

enum pf_rc tenants_of_secret(PGconn *pg, const char *secret, char tenant[PF_TENANT_LEN])
{
    uint8_t hash[AUTH_HASH_LEN];
    const char *vals[1] = {(const char *)hash};
    int blen[1] = {AUTH_HASH_LEN};
    PGresult *res;
    enum pf_rc rc = PF_NOTFOUND;

    auth_hash(secret, strlen(secret), hash);
    res = run(pg, "SELECT tenant FROM enroll_secrets WHERE secret_hash = $1 AND revoked_at IS NULL",
              1, vals, blen);
    if (!good(res)) {
        pf_warn("looking up an enrollment secret: %s", PQresultErrorMessage(res));
        rc = PF_AGAIN;
    } else if (PQntuples(res) == 1) {
        snprintf(tenant, PF_TENANT_LEN, "%s", PQgetvalue(res, 0, 0));
        rc = PF_OK;
    }
    PQclear(res);
    return rc;
}

/* ---- HTTP ---- */

static const char *str_member(const cJSON *o, const char *key, bool *bad)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    if (!it || cJSON_IsNull(it))
        return NULL;
    if (!cJSON_IsString(it)) {
        *bad = true;
        return NULL;
    }
    return it->valuestring;
}

static void http_one(struct db_conn *dc, struct exchange *x)
{
    const char *path = x->route->path, *method = x->route->method;
    struct result r;
    cJSON *body = NULL;
    char err[PF_ERRMSG_LEN], want[PF_TENANT_LEN + 1];
    const char *tenant = NULL, *role = NULL, *name = NULL, *agent = NULL;
    bool bad = false, get = strcmp(method, "GET") == 0;
    long long id = 0;
    PGconn *pg;

    memset(&r, 0, sizeof(r));
    if (get) {
        enum pf_rc rc = http_query_get(x->req->query, "tenant", want, sizeof(want));
        if (rc == PF_OK)
            tenant = want;
        else if (rc != PF_NOTFOUND) {
            exchange_error(x, 400, "invalid",
                           "tenant: must be 1 to 64 characters of a-z, 0-9 and '-'");
            return;
        }
    } else {
        const cJSON *idv;
        if (pf_json_parse(x->body ? x->body : "{}", x->body ? x->body_len : 2, &body, err)) {
            exchange_error(x, 400, "invalid", "%s", err);
            return;
        }
        if (!cJSON_IsObject(body)) {
            cJSON_Delete(body);
            exchange_error(x, 400, "invalid", "body: must be a JSON object");
            return;
        }
        tenant = str_member(body, "tenant", &bad);
        role = str_member(body, "role", &bad);
        name = str_member(body, "name", &bad);
        agent = str_member(body, "agent_id", &bad);
        idv = cJSON_GetObjectItemCaseSensitive(body, "id");
        if (idv && (!cJSON_IsNumber(idv) || idv->valuedouble < 1 || idv->valuedouble > 9e15))
            bad = true;
        else if (idv)
            id = (long long)idv->valuedouble;
        if (bad) {
            cJSON_Delete(body);
            exchange_error(x, 400, "invalid",
                           "tenant and role must be strings, id a positive integer");
            return;
        }
    }
    pg = db_pg(dc);
    if (!pg) {
        cJSON_Delete(body);
        exchange_error(x, 503, "unavailable", "the database does not answer");
        return;
    }
    if (strcmp(path, "/v1/tenants") == 0)
        get ? tenant_list(pg, serve_who(x), tenant, &r) : tenant_add(pg, name, &r);
    else if (strcmp(path, "/v1/tokens") == 0)
        get ? token_list(pg, serve_who(x), tenant, &r) : token_add(pg, serve_who(x), tenant, role, &r);
    else if (strcmp(path, "/v1/secrets") == 0)
        get ? secret_list(pg, serve_who(x), tenant, &r) : secret_add(pg, serve_who(x), tenant, &r);
    else if (strcmp(path, "/v1/agents/revoke") == 0)
        agent_revoke(pg, serve_who(x), agent, &r);
    else if (!id)
        fail(&r, 400, "invalid", "id: required, the number a list shows");
    else
        revoke(pg, serve_who(x), strcmp(path, "/v1/tokens/revoke") == 0, id, NULL, &r);
    cJSON_Delete(body);
    if (r.status == 503)
        db_check(dc);
    if (r.json) {
        char *text = cJSON_PrintUnformatted(r.json);
        exchange_json(x, r.status, text ? text : "{}");
        cJSON_free(text);
        cJSON_Delete(r.json);
        /* A change made here counts here at once, not after the next tick. */
        if (!get)
            access_poke(serve_access(x));
    } else {
        exchange_error(x, r.status, r.code, "%s", r.msg);
    }
}

static void http_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        http_one(dc, exchange_of(jobs[i]));
}

static const struct db_job_ops tenants_ops = {"tenants", 1, 0, http_run};

void tenants_handle(struct exchange *x)
{
    exchange_defer(x, &tenants_ops);
}

/* ---- command line ---- */

static const char *flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static void cli_usage(FILE *f)
{
    fprintf(f, "usage: portfleet-collector tenant add NAME | tenant list [--tenant NAME]\n"
               "       portfleet-collector token add --tenant NAME --role read|admin\n"
               "       portfleet-collector token add --role operator\n"
               "       portfleet-collector token list [--tenant NAME] | token revoke TOKEN | "
               "token revoke --id N\n"
               "       portfleet-collector secret add --tenant NAME | secret list [--tenant NAME] "
               "| secret revoke ID\n"
               "each with --db CONNINFO (or PORTFLEET_DB)\n");
}

/* The options after "NOUN VERB [ARG]" must be known flags with values. */
static bool cli_flags_ok(int argc, char **argv, int first)
{
    static const char *const known[] = {"--db", "--tenant", "--role", "--id"};

    for (int i = first; i < argc; i += 2) {
        bool okf = false;
        for (size_t k = 0; k < PF_ARRAY_LEN(known) && !okf; k++)
            okf = strcmp(argv[i], known[k]) == 0 && i + 1 < argc;
        if (!okf) {
            fprintf(stderr, "portfleet-collector %s %s: unknown or incomplete option \"%s\"\n",
                    argv[0], argv[1], argv[i]);
            return false;
        }
    }
    return true;
}

static bool parse_id(const char *s, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || !*s || *end || v < 1)
        return false;
    *out = v;
    return true;
}

int tenants_cli_main(int argc, char **argv)
{
    const char *noun = argv[0], *verb = argc > 1 ? argv[1] : "";
    const char *db, *tenant, *arg = NULL;
    struct access_who op;
    struct result r;
    long long id = 0;
    PGconn *pg;
    int first = 2;

    memset(&op, 0, sizeof(op));
    op.role = ACCESS_OPERATOR; /* the command line is the database's owner */
    memset(&r, 0, sizeof(r));
    if (argc > 2 && strncmp(argv[2], "--", 2) != 0) {
        arg = argv[2];
        first = 3;
    }
    if (!cli_flags_ok(argc, argv, first)) {
        cli_usage(stderr);
        return 2;
    }
    tenant = flag(argc, argv, "--tenant");
    if (tenant && !access_tenant_valid(tenant)) {
        fprintf(stderr,
                "portfleet-collector %s %s: --tenant: must be 1 to 64 characters of a-z, "
                "0-9 and '-'\n",
                noun, verb);
        return 2;
    }
    db = flag(argc, argv, "--db");
    if (!db)
        db = getenv("PORTFLEET_DB");
    if (!db || !db[0]) {
        fprintf(stderr, "portfleet-collector %s: --db is required (or PORTFLEET_DB)\n", noun);
        cli_usage(stderr);
        return 2;
    }
    /* Checked before connecting: usage errors need no database. */
    if (strcmp(noun, "tenant") == 0 && strcmp(verb, "add") == 0) {
        if (!arg) {
            cli_usage(stderr);
            return 2;
        }
    } else if (strcmp(noun, "token") == 0 && strcmp(verb, "revoke") == 0) {
        if (!arg && !parse_id(flag(argc, argv, "--id"), &id)) {
            fprintf(stderr, "portfleet-collector token revoke: give the token, or --id N\n");
            return 2;
        }
    } else if (strcmp(noun, "secret") == 0 && strcmp(verb, "revoke") == 0) {
        if (!parse_id(arg, &id)) {
            fprintf(stderr,
                    "portfleet-collector secret revoke: give the secret's id (secret list)\n");
            return 2;
        }
    } else if (!((strcmp(verb, "list") == 0 && !arg) ||
                 (strcmp(noun, "token") == 0 && strcmp(verb, "add") == 0 && !arg) ||
                 (strcmp(noun, "secret") == 0 && strcmp(verb, "add") == 0 && !arg))) {
        cli_usage(stderr);
        return 2;
    }
    pg = PQconnectdb(db);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "portfleet-collector %s: cannot connect: %s", noun, PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    if (strcmp(noun, "tenant") == 0)
        strcmp(verb, "add") == 0 ? tenant_add(pg, arg, &r) : tenant_list(pg, &op, tenant, &r);
    else if (strcmp(noun, "token") == 0 && strcmp(verb, "add") == 0)
        token_add(pg, &op, tenant, flag(argc, argv, "--role") ? flag(argc, argv, "--role") : "",
                  &r);
    else if (strcmp(noun, "token") == 0 && strcmp(verb, "list") == 0)
        token_list(pg, &op, tenant, &r);
    else if (strcmp(noun, "token") == 0)
        revoke(pg, &op, true, id, arg, &r);
    else if (strcmp(verb, "add") == 0)
        secret_add(pg, &op, tenant, &r);
    else if (strcmp(verb, "list") == 0)
        secret_list(pg, &op, tenant, &r);
    else
        revoke(pg, &op, false, id, NULL, &r);
    PQfinish(pg);
    if (r.json) {
        char *text = cJSON_Print(r.json);
        printf("%s\n", text ? text : "{}");
        cJSON_free(text);
        cJSON_Delete(r.json);
        return 0;
    }
    fprintf(stderr, "portfleet-collector %s %s: %s\n", noun, verb, r.msg);
    return r.status >= 500 ? 1 : 2;
}
