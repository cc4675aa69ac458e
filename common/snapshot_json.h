/* SPDX-License-Identifier: MIT */
/* snapshot_json.h: the JSON codec of PROTOCOL.md section 2, over cJSON.
 * Encoding is total for a valid snapshot. Decoding is strict: wrong types,
 * negative or fractional counts, ports outside 1..65535, overlong strings,
 * lists over their caps, an unknown schema or a missing required field are
 * rejected with a message that names the field path
 * ("processes[3].tcp_ports: must be an integer >= 0"). Unknown fields are
 * ignored (receivers ignore what they do not know). */
#ifndef PF_SNAPSHOT_JSON_H
#define PF_SNAPSHOT_JSON_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "snapshot.h"

#define PF_JSON_MAX_DEPTH 16      /* nesting accepted by every decoder */
#define PF_JSON_BATCH_MAX 1000    /* snapshots in one {"snapshots": [...]} */
#define PF_ERRMSG_LEN 256

struct cJSON;

/* Appends the JSON of s to out (pretty: indented, for people). */
enum pf_rc pf_snapshot_encode(const struct pf_snapshot *s, int pretty, struct pf_buf *out);

/* Decodes one snapshot object from an already parsed cJSON item. path is
 * the prefix for messages ("" or "snapshots[3]"). On error returns
 * PF_INVALID with a message in err, and s is cleared. The caller owns s
 * (zeroed or from pf_snapshot_new) and clears/frees it. */
enum pf_rc pf_snapshot_from_cjson(const struct cJSON *obj, const char *path, struct pf_snapshot *s,
                                  char err[PF_ERRMSG_LEN]);

/* Parses len bytes of JSON text (need not be NUL-terminated) holding one
 * snapshot object. Checks nesting depth (PF_JSON_MAX_DEPTH) before parsing. */
enum pf_rc pf_snapshot_decode(const char *json, size_t len, struct pf_snapshot *s,
                              char err[PF_ERRMSG_LEN]);

/* Parses a POST /v1/snapshots body: one snapshot object, or
 * {"snapshots": [ ... ]} with 1..PF_JSON_BATCH_MAX of them. On success *out
 * is an array of *n snapshots (free with pf_snapshot_array_free). On error
 * *out is NULL and err names the path ("snapshots[3].seq: ..."). */
enum pf_rc pf_snapshot_decode_body(const char *json, size_t len, struct pf_snapshot **out,
                                   size_t *n, char err[PF_ERRMSG_LEN]);
void pf_snapshot_array_free(struct pf_snapshot *arr, size_t n);

/* Returns PF_OK when the JSON text nests at most max_depth arrays/objects
 * (strings are skipped correctly), PF_TOOBIG otherwise. Cheap pre-check
 * before handing untrusted text to cJSON. */
enum pf_rc pf_json_check_depth(const char *json, size_t len, int max_depth);

#endif
