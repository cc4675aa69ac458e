/* SPDX-License-Identifier: MIT */
/* enroll.c: the enrollment route's worker side. */
#include "enroll.h"

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "auth.h"
#include "log.h"
#include "serve.h"
#include "server.h"
#include "snapshot.h"
#include "snapshot_json.h"
#include "store.h"
#include "tenants.h"

static void enroll_run(struct db_conn *dc, struct db_job **jobs, size_t n);

static const struct db_job_ops enroll_ops = {"enroll", 1, 0, enroll_run};

void enroll_handle(struct exchange *x)
{
    exchange_defer(x, &enroll_ops);
}

/* The string member key of obj into out (size bytes), or def when absent.
 * Returns false and answers 400 naming path when it is of the wrong type,
 * too long or (required and) missing. */
static bool get_str(struct exchange *x, const cJSON *obj, const char *key, const char *path,
                    const char *def, char *out, size_t size)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!it || cJSON_IsNull(it)) {
        if (!def) {
            exchange_error(x, 400, "invalid", "%s: required", path);
            return false;
        }
        snprintf(out, size, "%s", def);
        return true;
    }
    if (!cJSON_IsString(it)) {
        exchange_error(x, 400, "invalid", "%s: must be a string", path);
        return false;
    }
    if (strlen(it->valuestring) >= size) {
        exchange_error(x, 400, "invalid", "%s: longer than %zu bytes", path, size - 1);
        return false;
    }
    snprintf(out, size, "%s", it->valuestring);
    return true;
}

static void enroll_one(struct db_conn *dc, struct exchange *x)
{
    char err[PF_ERRMSG_LEN], name[PF_NAME_LEN], site[PF_ID_LEN], machine_id[PF_MACHINE_ID_LEN];
    char agent_id[AUTH_UUID_LEN], key[AUTH_KEY_LEN], json[160], tenant[PF_TENANT_LEN];
    const cJSON *secret, *host;
    cJSON *root;
    enum pf_rc rc;

    if (pf_json_parse(x->body, x->body_len, &root, err)) {
        exchange_error(x, 400, "invalid", "%s", err);
        return;
    }
    if (!cJSON_IsObject(root)) {
        exchange_error(x, 400, "invalid", "body: must be a JSON object");
        goto out;
    }
    secret = cJSON_GetObjectItemCaseSensitive(root, "enroll_secret");
    if (!cJSON_IsString(secret)) {
        exchange_error(x, 400, "invalid", "enroll_secret: required, a string");
        goto out;
    }
    /* The secret decides the tenant: the --enroll-secret option is the
     * default tenant's, every other one is looked up by its hash. */
    if (auth_equal(secret->valuestring, serve_opts(x)->enroll_secret)) {
        snprintf(tenant, sizeof(tenant), "default");
    } else {
        PGconn *pg = db_pg(dc);
        rc = pg ? tenants_of_secret(pg, secret->valuestring, tenant) : PF_AGAIN;
        if (rc == PF_AGAIN) {
            if (pg)
                db_check(dc);
            exchange_error(x, 503, "unavailable", "the database is unavailable; retry later");
            goto out;
        }
        if (rc) {
            pf_warn("enrollment from %s refused: wrong enroll secret", x->peer);
            exchange_error(x, 401, "bad_secret", "wrong enroll secret");
            goto out;
        }
    }
    host = cJSON_GetObjectItemCaseSensitive(root, "host");
    if (!cJSON_IsObject(host)) {
        exchange_error(x, 400, "invalid", "host: required, an object");
        goto out;
    }
    if (!get_str(x, host, "name", "host.name", NULL, name, sizeof(name)) ||
        !get_str(x, host, "site", "host.site", "default", site, sizeof(site)) ||
        !get_str(x, host, "machine_id", "host.machine_id", "", machine_id, sizeof(machine_id)))
        goto out;
    if (!name[0] || !site[0]) {
        exchange_error(x, 400, "invalid", "%s: must not be empty", name[0] ? "host.site" : "host.name");
        goto out;
    }
    if (auth_new_uuid(agent_id) || auth_new_key(key)) {
        exchange_error(x, 500, "internal", "no randomness available");
        goto out;
    }
    rc = store_enroll(dc, agent_id, key, tenant, name, site, machine_id);
    if (rc == PF_AGAIN) {
        exchange_error(x, 503, "unavailable", "the database is unavailable; retry later");
        goto out;
    }
    if (rc) {
        exchange_error(x, 500, "internal", "enrollment could not be stored");
        goto out;
    }
    {
        char n[PF_NAME_LEN], si[PF_ID_LEN], m[PF_MACHINE_ID_LEN];
        log_sanitize(name, n, sizeof(n));
        log_sanitize(site, si, sizeof(si));
        log_sanitize(machine_id, m, sizeof(m));
        pf_info("enrolled agent %s: tenant %s, host \"%s\", site \"%s\", machine id \"%s\", "
                "from %s",
                agent_id, tenant, n, si, m, x->peer);
    }
    snprintf(json, sizeof(json), "{\"agent_id\":\"%s\",\"node_key\":\"%s\"}", agent_id, key);
    exchange_json(x, 200, json);
out:
    cJSON_Delete(root);
}

static void enroll_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        enroll_one(dc, exchange_of(jobs[i]));
}
