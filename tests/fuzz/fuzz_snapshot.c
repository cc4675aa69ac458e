/* SPDX-License-Identifier: MIT */
/* fuzz_snapshot.c: libFuzzer harness for the snapshot body decoder, the
 * parser of the most exposed untrusted bytes (POST /v1/snapshots). Besides
 * memory errors it checks the codec's promises and aborts when one breaks:
 * a refusal leaves *out NULL with a message; every accepted snapshot passes
 * pf_snapshot_validate, encodes (compact and pretty), and decodes back to
 * the same snapshot (pf_snapshot_compare); pf_json_check_depth agrees with
 * the decoder about nesting. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "snapshot_json.h"

static void check_round_trip(const struct pf_snapshot *s, int pretty)
{
    struct pf_buf b;
    struct pf_snapshot back = {0};
    char err[PF_ERRMSG_LEN], where[128];
    enum pf_rc rc;

    if (pf_snapshot_validate(s, err) != PF_OK) {
        fprintf(stderr, "decoded snapshot fails validation: %s\n", err);
        abort();
    }
    pf_buf_init(&b, 64u << 20);
    rc = pf_snapshot_encode(s, pretty, &b);
    if (rc) {
        fprintf(stderr, "encode failed: %s\n", pf_strerror(rc));
        abort();
    }
    if (pf_snapshot_decode(b.data, b.len, &back, err) != PF_OK) {
        fprintf(stderr, "re-decode failed: %s\n%s\n", err, b.data);
        abort();
    }
    if (pf_snapshot_compare(s, &back, where, sizeof(where)) != 0) {
        fprintf(stderr, "round trip differs at %s\n", where);
        abort();
    }
    pf_snapshot_clear(&back);
    pf_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    struct pf_snapshot *arr = (struct pf_snapshot *)&arr;
    size_t n = 1;
    char err[PF_ERRMSG_LEN];
    enum pf_rc rc;

    err[0] = '\0';
    rc = pf_snapshot_decode_body(json, size, &arr, &n, err);
    if (rc != PF_OK) {
        if (arr != NULL || n != 0 || err[0] == '\0' || !memchr(err, '\0', sizeof(err)))
            abort();
        /* Too deep for the pre-check means the decoder said so. */
        if (pf_json_check_depth(json, size, PF_JSON_MAX_DEPTH) == PF_TOOBIG &&
            strncmp(err, "body: nested deeper", 19) != 0)
            abort();
        return 0;
    }
    if (!arr || n < 1 || n > PF_JSON_BATCH_MAX)
        abort();
    if (pf_json_check_depth(json, size, PF_JSON_MAX_DEPTH) != PF_OK)
        abort();
    for (size_t i = 0; i < n; i++)
        check_round_trip(&arr[i], (int)(i & 1) ^ (size & 1));
    pf_snapshot_array_free(arr, n);
    return 0;
}
