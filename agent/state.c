/* SPDX-License-Identifier: MIT */
/* state.c: state.json and status.json in the state directory, as small
 * cJSON objects. Readers accept only what writers produce: known types,
 * integers within 2^53, strings within their fields. */
#include "state.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "osutil.h"

#define STATE_VERSION 1
#define MAX_EXACT 9007199254740992.0 /* 2^53: integers a double holds exactly */

enum pf_rc state_check_token(const char *s, size_t maxlen)
{
    size_t n = strlen(s);

    if (n == 0 || n >= maxlen)
        return PF_INVALID;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return PF_INVALID;
    return PF_OK;
}

/* Reads dir/name as a JSON object; *out is owned by the caller. */
static enum pf_rc read_json(const char *dir, const char *name, cJSON **out)
{
    char path[OSUTIL_PATH_MAX];
    struct pf_buf buf;
    enum pf_rc rc;

    *out = NULL;
    rc = osutil_path_join(path, sizeof(path), dir, name);
    if (rc)
        return rc;
    pf_buf_init(&buf, STATE_MAX_BYTES);
    rc = osutil_read_file(path, &buf);
    if (!rc) {
        *out = buf.len ? cJSON_ParseWithLength(buf.data, buf.len) : NULL;
        if (!*out || !cJSON_IsObject(*out)) {
            cJSON_Delete(*out);
            *out = NULL;
            rc = PF_INVALID;
        }
    } else if (rc == PF_TOOBIG) {
        rc = PF_INVALID;
    }
    pf_buf_free(&buf);
    return rc;
}

static enum pf_rc write_json(const char *dir, const char *name, cJSON *obj)
{
    char *text = cJSON_Print(obj);
    enum pf_rc rc;

    if (!text)
        return PF_NOMEM;
    rc = osutil_write_atomic(dir, name, text, strlen(text));
    cJSON_free(text);
    return rc;
}

/* Copies string member key into out; absent gives "", wrong type or too
 * long gives PF_INVALID. */
static enum pf_rc get_str(const cJSON *obj, const char *key, char *out, size_t outlen)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    size_t n;

    out[0] = '\0';
    if (!it || cJSON_IsNull(it))
        return PF_OK;
    if (!cJSON_IsString(it) || !it->valuestring)
        return PF_INVALID;
    n = strlen(it->valuestring);
    if (n >= outlen)
        return PF_INVALID;
    memcpy(out, it->valuestring, n + 1);
    return PF_OK;
}

static enum pf_rc get_u64(const cJSON *obj, const char *key, uint64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    double d;

    *out = 0;
    if (!it)
        return PF_OK;
    if (!cJSON_IsNumber(it))
        return PF_INVALID;
    d = it->valuedouble;
    if (!(d >= 0 && d <= MAX_EXACT) || d != (double)(uint64_t)d)
        return PF_INVALID;
    *out = (uint64_t)d;
    return PF_OK;
}

static enum pf_rc get_i64(const cJSON *obj, const char *key, int64_t *out)
{
    uint64_t v;
    enum pf_rc rc = get_u64(obj, key, &v);

    *out = (int64_t)v;
    return rc;
}

enum pf_rc state_load(const char *dir, struct agent_state *st)
{
    cJSON *obj;
    enum pf_rc rc;

    memset(st, 0, sizeof(*st));
    rc = read_json(dir, STATE_FILE, &obj);
    if (rc == PF_NOTFOUND)
        return PF_OK;
    if (rc)
        return rc;
    rc = get_str(obj, "agent_id", st->agent_id, sizeof(st->agent_id));
    if (!rc)
        rc = get_str(obj, "node_key", st->node_key, sizeof(st->node_key));
    if (!rc)
        rc = get_u64(obj, "seq", &st->seq);
    /* An identity is both halves or neither. */
    if (!rc && (st->agent_id[0] != '\0') != (st->node_key[0] != '\0'))
        rc = PF_INVALID;
    if (!rc && st->agent_id[0] &&
        (state_check_token(st->agent_id, sizeof(st->agent_id)) ||
         state_check_token(st->node_key, sizeof(st->node_key))))
        rc = PF_INVALID;
    cJSON_Delete(obj);
    if (rc)
        memset(st, 0, sizeof(*st));
    return rc;
}

enum pf_rc state_save(const char *dir, const struct agent_state *st)
{
    cJSON *obj = cJSON_CreateObject();
    enum pf_rc rc = PF_NOMEM;

    if (!obj)
        return PF_NOMEM;
    if (cJSON_AddNumberToObject(obj, "version", STATE_VERSION) &&
        cJSON_AddStringToObject(obj, "agent_id", st->agent_id) &&
        cJSON_AddStringToObject(obj, "node_key", st->node_key) &&
        cJSON_AddNumberToObject(obj, "seq", (double)st->seq))
        rc = write_json(dir, STATE_FILE, obj);
    cJSON_Delete(obj);
    return rc;
}

enum pf_rc state_next_seq(const char *dir, struct agent_state *st, uint64_t *seq)
{
    enum pf_rc rc;

    if ((double)(st->seq + 1) > MAX_EXACT)
        return PF_TOOBIG;
    st->seq++;
    rc = state_save(dir, st);
    if (rc) {
        st->seq--;
        return rc;
    }
    *seq = st->seq;
    return PF_OK;
}

enum pf_rc state_write_status(const char *dir, const struct agent_status *s)
{
    cJSON *obj = cJSON_CreateObject();
    enum pf_rc rc = PF_NOMEM;

    if (!obj)
        return PF_NOMEM;
    if (cJSON_AddNumberToObject(obj, "updated_at", (double)s->updated_at) &&
        cJSON_AddNumberToObject(obj, "pid", (double)s->pid) &&
        cJSON_AddNumberToObject(obj, "started_at", (double)s->started_at) &&
        cJSON_AddNumberToObject(obj, "last_push_at", (double)s->last_push_at) &&
        cJSON_AddNumberToObject(obj, "last_ok_at", (double)s->last_ok_at) &&
        cJSON_AddStringToObject(obj, "last_error", s->last_error) &&
        cJSON_AddStringToObject(obj, "collector", s->collector) &&
        cJSON_AddNumberToObject(obj, "spool_depth", (double)s->spool_depth) &&
        cJSON_AddNumberToObject(obj, "spool_bytes", (double)s->spool_bytes) &&
        cJSON_AddNumberToObject(obj, "spool_dropped", (double)s->spool_dropped) &&
        cJSON_AddNumberToObject(obj, "spool_corrupt", (double)s->spool_corrupt) &&
        cJSON_AddNumberToObject(obj, "delivered", (double)s->delivered) &&
        cJSON_AddNumberToObject(obj, "connections", (double)s->connections))
        rc = write_json(dir, STATUS_FILE, obj);
    cJSON_Delete(obj);
    return rc;
}

enum pf_rc state_read_status(const char *dir, struct agent_status *s)
{
    cJSON *obj;
    uint64_t pid = 0;
    enum pf_rc rc;

    memset(s, 0, sizeof(*s));
    rc = read_json(dir, STATUS_FILE, &obj);
    if (rc)
        return rc;
    rc = get_i64(obj, "updated_at", &s->updated_at);
    if (!rc)
        rc = get_u64(obj, "pid", &pid);
    if (!rc)
        rc = get_i64(obj, "started_at", &s->started_at);
    if (!rc)
        rc = get_i64(obj, "last_push_at", &s->last_push_at);
    if (!rc)
        rc = get_i64(obj, "last_ok_at", &s->last_ok_at);
    if (!rc)
        rc = get_str(obj, "last_error", s->last_error, sizeof(s->last_error));
    if (!rc)
        rc = get_str(obj, "collector", s->collector, sizeof(s->collector));
    if (!rc)
        rc = get_u64(obj, "spool_depth", &s->spool_depth);
    if (!rc)
        rc = get_u64(obj, "spool_bytes", &s->spool_bytes);
    if (!rc)
        rc = get_u64(obj, "spool_dropped", &s->spool_dropped);
    if (!rc)
        rc = get_u64(obj, "spool_corrupt", &s->spool_corrupt);
    if (!rc)
        rc = get_u64(obj, "delivered", &s->delivered);
    if (!rc)
        rc = get_u64(obj, "connections", &s->connections);
    s->pid = (unsigned long)pid;
    cJSON_Delete(obj);
    if (rc)
        memset(s, 0, sizeof(*s));
    return rc;
}
