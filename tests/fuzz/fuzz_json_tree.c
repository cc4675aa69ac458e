/* SPDX-License-Identifier: MIT */
/* fuzz_json_tree.c: differential libFuzzer harness for the arena tree
 * builder (common/json_tree.h) and the decoders built on it. On every
 * input it aborts when one of these breaks:
 * - when pf_json_tree_parse builds a tree, cJSON_ParseWithLengthOpts builds
 *   the same one (shape, types, keys, strings, valuedouble bit for bit,
 *   valueint, prev links) and stops at the same byte;
 * - when the strict check accepts the text (pf_json_parse succeeds), the
 *   builder builds it, and pf_json_tree_skip ends where the builder ends;
 * - pf_snapshot_decode_body and pf_snapshot_decode give what decoding
 *   pf_json_parse's cJSON tree gives (the decoders as they were before the
 *   arena, kept here as the reference): the same return code, message and
 *   snapshots.
 * Runs in the C locale, where the builder must read every number. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_tree.h"
#include "snapshot.h"
#include "snapshot_json.h"

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_json_tree: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* a (arena) against b (cJSON), node by node. */
static void same_tree(const cJSON *a, const cJSON *b)
{
    const cJSON *ca, *cb, *pa = NULL, *pb = NULL;

    if (a->type != b->type)
        fail("type differs", b->string);
    if (!same_str(a->string, b->string))
        fail("key differs", b->string);
    if (!same_str(a->valuestring, b->valuestring))
        fail("string differs", b->string);
    if (memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0)
        fail("valuedouble differs", b->string);
    if (a->valueint != b->valueint)
        fail("valueint differs", b->string);
    for (ca = a->child, cb = b->child; ca && cb; pa = ca, ca = ca->next, pb = cb, cb = cb->next) {
        if (pa && (ca->prev == pa) != (cb->prev == pb))
            fail("prev link differs", b->string);
        same_tree(ca, cb);
    }
    if (ca || cb)
        fail("member count differs", b->string);
    /* cJSON points the first member's prev at the last one. */
    if (a->child && (a->child->prev == pa) != (b->child->prev == pb))
        fail("first member's prev differs", b->string);
}

static void check_builder(const char *json, size_t size)
{
    struct pf_json_tree *t = pf_json_tree_new(pf_json_tree_bound(size));
    cJSON *root = NULL, *ref, *checked = NULL;
    const char *end = NULL;
    char err[PF_ERRMSG_LEN];
    size_t pos = 0, skipped = 0;
    enum pf_rc rc;

    if (!t)
        fail("pf_json_tree_new", NULL);
    rc = pf_json_tree_parse(t, json, size, &pos, &root);
    ref = cJSON_ParseWithLengthOpts(json, size, &end, 0);
    (void)pf_json_tree_skip(json, size, &skipped); /* any bytes: for the sanitizers */
    if (rc == PF_OK) {
        if (!ref)
            fail("the builder took text cJSON refuses", NULL);
        if (pos != (size_t)(end - json))
            fail("the builder stopped elsewhere than cJSON", NULL);
        same_tree(root, ref);
    } else if (rc != PF_UNSUPPORTED) {
        fail("the builder failed", pf_strerror(rc));
    } else if (root || pos != 0) {
        fail("a refusal left outputs set", NULL);
    }
    if (pf_json_parse(json, size, &checked, err) == PF_OK) {
        size_t start = size >= 5 && memcmp(json, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
        if (rc != PF_OK)
            fail("the builder refused checked text", NULL);
        skipped = start;
        if (pf_json_tree_skip(json, size, &skipped) != PF_OK || skipped != pos)
            fail("pf_json_tree_skip ended elsewhere than the builder", NULL);
    }
    cJSON_Delete(checked);
    cJSON_Delete(ref);
    /* Reuse after a reset must work as well as a fresh arena. */
    pf_json_tree_reset(t);
    pos = 0;
    if (pf_json_tree_parse(t, json, size, &pos, &root) != rc)
        fail("a reset arena gave another answer", NULL);
    pf_json_tree_free(t);
}

/* pf_snapshot_decode_body as it was: pf_json_parse's cJSON tree, walked
 * whole. */
static enum pf_rc ref_decode_body(const char *json, size_t len, struct pf_snapshot **out, size_t *n,
                                  char err[PF_ERRMSG_LEN])
{
    cJSON *root;
    const cJSON *batch = NULL, *c;
    struct pf_snapshot *arr = NULL;
    size_t count = 0, i = 0;
    enum pf_rc rc;

    *out = NULL;
    *n = 0;
    if ((rc = pf_json_parse(json, len, &root, err)))
        return rc;
    if (!cJSON_IsObject(root)) {
        snprintf(err, PF_ERRMSG_LEN, "body: must be a JSON object");
        rc = PF_INVALID;
        goto out;
    }
    for (c = root->child; c; c = c->next) {
        if (c->string && strcmp(c->string, "snapshots") == 0) {
            if (batch) {
                snprintf(err, PF_ERRMSG_LEN, "snapshots: given twice");
                rc = PF_INVALID;
                goto out;
            }
            batch = c;
        }
    }
    if (batch) {
        if (!cJSON_IsArray(batch)) {
            snprintf(err, PF_ERRMSG_LEN, "snapshots: must be an array");
            rc = PF_INVALID;
            goto out;
        }
        for (c = batch->child; c && count <= PF_JSON_BATCH_MAX; c = c->next)
            count++;
        if (count < 1 || count > PF_JSON_BATCH_MAX) {
            snprintf(err, PF_ERRMSG_LEN, "snapshots: must hold 1 to %d snapshots",
                     PF_JSON_BATCH_MAX);
            rc = PF_INVALID;
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
    cJSON_Delete(root);
    return rc;
}

static void same_outcome(const char *what, enum pf_rc rc, enum pf_rc ref_rc, const char *err,
                         const char *ref_err)
{
    if (rc != ref_rc || strcmp(err, ref_err) != 0) {
        fprintf(stderr, "%s: %s \"%s\", the reference %s \"%s\"\n", what, pf_strerror(rc), err,
                pf_strerror(ref_rc), ref_err);
        abort();
    }
}

static void check_decoders(const char *json, size_t size)
{
    struct pf_snapshot *arr, *ref_arr, one = {0}, ref_one = {0};
    size_t n, ref_n;
    char err[PF_ERRMSG_LEN], ref_err[PF_ERRMSG_LEN], where[128];
    enum pf_rc rc, ref_rc;
    cJSON *root;

    memset(err, 'x', sizeof(err));
    memset(ref_err, 'y', sizeof(ref_err));
    err[sizeof(err) - 1] = ref_err[sizeof(ref_err) - 1] = '\0';
    rc = pf_snapshot_decode_body(json, size, &arr, &n, err);
    ref_rc = ref_decode_body(json, size, &ref_arr, &ref_n, ref_err);
    same_outcome("pf_snapshot_decode_body", rc, ref_rc, err, ref_err);
    if (n != ref_n || (!arr) != (!ref_arr))
        fail("pf_snapshot_decode_body gave another count", NULL);
    for (size_t i = 0; i < n; i++)
        if (pf_snapshot_compare(&arr[i], &ref_arr[i], where, sizeof(where)) != 0)
            fail("pf_snapshot_decode_body gave another snapshot at", where);
    pf_snapshot_array_free(arr, n);
    pf_snapshot_array_free(ref_arr, ref_n);

    rc = pf_snapshot_decode(json, size, &one, err);
    ref_rc = pf_json_parse(json, size, &root, ref_err);
    if (!ref_rc) {
        ref_rc = pf_snapshot_from_cjson(root, "", &ref_one, ref_err);
        cJSON_Delete(root);
    }
    same_outcome("pf_snapshot_decode", rc, ref_rc, err, ref_err);
    if (pf_snapshot_compare(&one, &ref_one, where, sizeof(where)) != 0)
        fail("pf_snapshot_decode gave another snapshot at", where);
    pf_snapshot_clear(&one);
    pf_snapshot_clear(&ref_one);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_builder((const char *)data, size);
    check_decoders((const char *)data, size);
    return 0;
}
