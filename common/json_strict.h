/* SPDX-License-Identifier: MIT */
/* json_strict.h: untrusted JSON text, checked strictly before any tree is
 * built: an RFC 8259 check over the raw bytes (nesting, UTF-8, control
 * characters, and \u0000, which would silently cut a C string short),
 * then the tree in an arena (json_tree.h), or cJSON's where the arena
 * cannot promise cJSON's tree. */
#ifndef PF_JSON_STRICT_H
#define PF_JSON_STRICT_H

#include <stddef.h>

#include "error.h"

#define PF_JSON_MAX_DEPTH 16      /* nesting accepted by every decoder */
#define PF_ERRMSG_LEN 256

struct cJSON;
struct pf_json_tree;

/* Strict parse of untrusted JSON text (len bytes, need not be
 * NUL-terminated): first pf_json_check_depth(PF_JSON_MAX_DEPTH), then an
 * RFC 8259 check of the raw bytes (no trailing data, no raw control
 * characters in strings, valid UTF-8, no \u0000, no lone surrogates, no
 * leading zeros), then cJSON. On success *out is the tree (the caller
 * cJSON_Delete()s it); on error *out is NULL, PF_INVALID, and err says
 * "body: invalid JSON near byte N" (or what else is wrong, and where). */
enum pf_rc pf_json_parse(const char *json, size_t len, struct cJSON **out, char err[PF_ERRMSG_LEN]);

/* Returns PF_OK when the JSON text nests at most max_depth arrays/objects
 * (strings are skipped correctly), PF_TOOBIG otherwise. Cheap pre-check
 * before handing untrusted text to cJSON. */
enum pf_rc pf_json_check_depth(const char *json, size_t len, int max_depth);

/* The strict check of pf_json_parse alone: PF_OK, or PF_INVALID with its
 * message in err. */
enum pf_rc pf_json_check_text(const char *json, size_t len, char err[PF_ERRMSG_LEN]);

/* A parsed body for the decoders: the same tree pf_json_parse gives, built
 * in an arena (json_tree.h), or by cJSON for what the arena builder does
 * not reproduce or when it runs out of memory. */
struct pf_json_doc {
    struct pf_json_tree *arena;
    struct cJSON *cj;
    const struct cJSON *root;
};

/* The tree of text pf_json_check_text accepted, in *d (free with
 * pf_json_doc_free, also after an error). PF_OK, or PF_INVALID with err. */
enum pf_rc pf_json_doc_build(const char *json, size_t len, struct pf_json_doc *d,
                             char err[PF_ERRMSG_LEN]);
void pf_json_doc_free(struct pf_json_doc *d);

/* The index of the first byte at or after i that is not JSON white space. */
size_t pf_json_skip_ws(const char *p, size_t len, size_t i);

#endif
