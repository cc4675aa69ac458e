/* SPDX-License-Identifier: MIT */
/* snapshot_batch.c: a POST /v1/snapshots body, one snapshot or
 * {"snapshots": [...]}, to an array of snapshots (snapshot_json.h). A
 * batch as agents send it is built and decoded one snapshot at a time in
 * one arena; anything else goes through the whole tree. */
#include "snapshot_json.h"

#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_strict.h"
#include "json_tree.h"

void pf_snapshot_array_free(struct pf_snapshot *arr, size_t n)
{
    if (!arr)
        return;
    for (size_t i = 0; i < n; i++)
        pf_snapshot_clear(&arr[i]);
    free(arr);
}

/* The messages of a batch's shape, shared by both ways of decoding one. */
enum batch_err { BATCH_TWICE, BATCH_NOT_ARRAY, BATCH_COUNT };

static enum pf_rc batch_fail(char err[PF_ERRMSG_LEN], enum batch_err e)
{
    if (e == BATCH_TWICE)
        snprintf(err, PF_ERRMSG_LEN, "snapshots: given twice");
    else if (e == BATCH_NOT_ARRAY)
        snprintf(err, PF_ERRMSG_LEN, "snapshots: must be an array");
    else
        snprintf(err, PF_ERRMSG_LEN, "snapshots: must hold 1 to %d snapshots", PF_JSON_BATCH_MAX);
    return PF_INVALID;
}

/* Room for one more snapshot in *arr (*cap of them, zeroed past the ones in
 * use). */
static int batch_room(struct pf_snapshot **arr, size_t *cap, size_t used, size_t len)
{
    size_t n = *cap ? 2 * *cap : len / 4096 + 1; /* a guess from the size of the body */
    struct pf_snapshot *p;

    if (used < *cap)
        return 0;
    if (n > PF_JSON_BATCH_MAX)
        n = PF_JSON_BATCH_MAX;
    if (!(p = realloc(*arr, n * sizeof(*p))))
        return -1;
    memset(p + *cap, 0, (n - *cap) * sizeof(*p));
    *arr = p;
    *cap = n;
    return 0;
}

/* A body whose first key is "snapshots", decoded one snapshot at a time as
 * the text is read: each snapshot's tree is built in the arena block the
 * one before it used, so a batch of a thousand never holds a thousand trees
 * (tens of megabytes of nodes) and the walk reads nodes still in cache.
 * The outcome is the whole-tree path's: after the first snapshot that
 * fails, the rest are only counted, the rest of the root is read for a
 * second "snapshots", and "given twice", "must be an array" and the count
 * take precedence over a snapshot's message as they do there. Returns
 * PF_UNSUPPORTED for other bodies (one snapshot), and when the arena or
 * the array fails, having freed what it decoded: the whole-tree path (with
 * its fall-back to cJSON) then decodes the body. */
static enum pf_rc decode_batch(const char *json, size_t len, struct pf_snapshot **out, size_t *n,
                               char err[PF_ERRMSG_LEN])
{
    const struct lconv *lc = localeconv();
    struct pf_json_tree *arena = NULL;
    struct pf_snapshot *arr = NULL;
    cJSON *key, *snap;
    size_t i = 0, count = 0, cap = 0, seen = 0;
    bool array = false;
    enum pf_rc rc = PF_UNSUPPORTED, failed = PF_OK;

    /* The arena reads every number of checked text while '.' is the
     * decimal point; elsewhere it could refuse one after the snapshots
     * before it were decoded. As in pf_json_tree_parse (and cJSON), a byte
     * order mark is skipped when 5 bytes can be read. */
    if (!lc || !lc->decimal_point || strcmp(lc->decimal_point, ".") != 0)
        return PF_UNSUPPORTED;
    if (len >= 5 && memcmp(json, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    i = pf_json_skip_ws(json, len, i);
    if (i >= len || json[i] != '{')
        return PF_UNSUPPORTED;
    i = pf_json_skip_ws(json, len, i + 1);
    if (i >= len || json[i] != '"' || !(arena = pf_json_tree_new(pf_json_tree_bound(len))))
        return PF_UNSUPPORTED;
    /* The text passed check_text: members are a key, ':' and a value,
     * followed by ',' or the closing bracket. */
    while (i < len && json[i] != '}') {
        pf_json_tree_reset(arena);
        if (pf_json_tree_parse(arena, json, len, &i, &key))
            goto out;
        if (!seen && strcmp(key->valuestring, "snapshots") != 0)
            goto out; /* not a batch, or not as agents send them */
        i = pf_json_skip_ws(json, len, pf_json_skip_ws(json, len, i) + 1);
        if (strcmp(key->valuestring, "snapshots") == 0 && ++seen == 1 && json[i] == '[') {
            array = true;
            for (i = pf_json_skip_ws(json, len, i + 1); i < len && json[i] != ']'; count++) {
                if (failed || count >= PF_JSON_BATCH_MAX) {
                    if (pf_json_tree_skip(json, len, &i))
                        goto out;
                } else {
                    char path[32];
                    pf_json_tree_reset(arena);
                    if (pf_json_tree_parse(arena, json, len, &i, &snap) ||
                        batch_room(&arr, &cap, count, len))
                        goto out;
                    snprintf(path, sizeof(path), "snapshots[%zu]", count);
                    failed = pf_snapshot_from_cjson(snap, path, &arr[count], err);
                }
                i = pf_json_skip_ws(json, len, i);
                if (i < len && json[i] == ',')
                    i = pf_json_skip_ws(json, len, i + 1);
            }
            i++; /* past ']' */
        } else if (pf_json_tree_skip(json, len, &i)) {
            goto out;
        }
        i = pf_json_skip_ws(json, len, i);
        if (i < len && json[i] == ',')
            i = pf_json_skip_ws(json, len, i + 1);
    }
    if (seen > 1)
        rc = batch_fail(err, BATCH_TWICE);
    else if (!array)
        rc = batch_fail(err, BATCH_NOT_ARRAY);
    else if (count < 1 || count > PF_JSON_BATCH_MAX)
        rc = batch_fail(err, BATCH_COUNT);
    else
        rc = failed;
    if (!rc) {
        *out = arr;
        *n = count;
        arr = NULL;
    }
out:
    pf_snapshot_array_free(arr, cap);
    pf_json_tree_free(arena);
    return rc;
}

enum pf_rc pf_snapshot_decode_body(const char *json, size_t len, struct pf_snapshot **out,
                                   size_t *n, char err[PF_ERRMSG_LEN])
{
    struct pf_json_doc t;
    const cJSON *root, *batch = NULL, *c;
    struct pf_snapshot *arr = NULL;
    size_t count = 0, i = 0;
    enum pf_rc rc;

    *out = NULL;
    *n = 0;
    err[0] = '\0';
    if ((rc = pf_json_check_text(json, len, err)))
        return rc;
    if ((rc = decode_batch(json, len, out, n, err)) != PF_UNSUPPORTED)
        return rc;
    if ((rc = pf_json_doc_build(json, len, &t, err)))
        return rc;
    root = t.root;
    if (!cJSON_IsObject(root)) {
        snprintf(err, PF_ERRMSG_LEN, "body: must be a JSON object");
        rc = PF_INVALID;
        goto out;
    }
    for (c = root->child; c; c = c->next) {
        if (c->string && strcmp(c->string, "snapshots") == 0) {
            if (batch) {
                rc = batch_fail(err, BATCH_TWICE);
                goto out;
            }
            batch = c;
        }
    }
    if (batch) {
        if (!cJSON_IsArray(batch)) {
            rc = batch_fail(err, BATCH_NOT_ARRAY);
            goto out;
        }
        for (c = batch->child; c && count <= PF_JSON_BATCH_MAX; c = c->next)
            count++;
        if (count < 1 || count > PF_JSON_BATCH_MAX) {
            rc = batch_fail(err, BATCH_COUNT);
            goto out;
        }
    } else {
        count = 1;
    }
    arr = calloc(count, sizeof(*arr));
    if (!arr) {
        snprintf(err, PF_ERRMSG_LEN, "body: out of memory");
        rc = PF_NOMEM;
        goto out;
    }
    if (!batch) {
        rc = pf_snapshot_from_cjson(root, "", &arr[0], err);
    } else {
        for (c = batch->child; c; c = c->next, i++) {
            char path[32];
            snprintf(path, sizeof(path), "snapshots[%zu]", i);
            if ((rc = pf_snapshot_from_cjson(c, path, &arr[i], err)))
                break;
        }
    }
    if (rc) {
        pf_snapshot_array_free(arr, count);
        goto out;
    }
    *out = arr;
    *n = count;
out:
    pf_json_doc_free(&t);
    return rc;
}
