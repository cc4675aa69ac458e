/* SPDX-License-Identifier: MIT */
/* json_tree.h: cJSON trees built in an arena, for the decoder's hot path.
 * The nodes are ordinary struct cJSON, linked as cJSON links them (child,
 * next, prev, the first child's prev pointing at the last), holding the
 * keys, strings, types, valuedouble and valueint that
 * cJSON_ParseWithLengthOpts would give for the same text. They come from a
 * few big blocks freed at once, instead of one malloc per node, key and
 * string and a cJSON_Delete of every one. Never pass them to cJSON_Delete
 * or to a cJSON function that adds, detaches or frees items.
 *
 * This is not a validator: run the strict byte check of json_strict.c
 * first. It is safe on any bytes, and refuses (PF_UNSUPPORTED) what it does
 * not reproduce cJSON on, so callers can hand that text to cJSON. */
#ifndef PF_JSON_TREE_H
#define PF_JSON_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

struct cJSON;
struct pf_json_tree; /* an arena holding trees */

/* The most arena a tree of len bytes of JSON text can take (every node
 * stands for at least one byte of text, every string for at least its
 * length + 1): the cap to give pf_json_tree_new for such text. */
size_t pf_json_tree_bound(size_t len);

/* Returns an empty arena that will never hold more than max bytes, or NULL
 * when out of memory. The caller frees it with pf_json_tree_free. */
struct pf_json_tree *pf_json_tree_new(size_t max);
/* Frees t and every tree in it; NULL does nothing. */
void pf_json_tree_free(struct pf_json_tree *t);
/* Forgets every tree in t but keeps its newest block for the next ones. */
void pf_json_tree_reset(struct pf_json_tree *t);

/* Builds in t the tree of the JSON value at json[*pos] (len bytes in all;
 * need not be NUL-terminated). Whitespace before it is skipped, and at
 * offset 0 a UTF-8 byte order mark, both as cJSON skips them; what follows
 * the value is not looked at. On success *root is the value, owned by t
 * (valid until t is reset or freed), and *pos is just past it. Errors, with
 * *root NULL and *pos unchanged (what was built stays in t until reset):
 * PF_UNSUPPORTED when cJSON might not give the same tree: a syntax error,
 * nesting deeper than 64, a number strtod does not read to its end (as
 * with a locale whose decimal point is not one byte; never in the C
 * locale); PF_TOOBIG when the tree would pass t's cap; PF_NOMEM. On text
 * the strict check accepted, while the decimal point is ".", only the last
 * two can happen. */
enum pf_rc pf_json_tree_parse(struct pf_json_tree *t, const char *json, size_t len, size_t *pos,
                              struct cJSON **root);

/* Moves *pos past the JSON value at json[*pos] (and the whitespace before
 * it) without building anything. Returns PF_OK, or PF_UNSUPPORTED when the
 * text ends first or something there is not JSON; *pos is then unchanged.
 * Made for text the strict byte check accepted: it does not validate. */
enum pf_rc pf_json_tree_skip(const char *json, size_t len, size_t *pos);

/* Returns the index of the first byte from p[i] on (i <= len) that a JSON
 * string scanner must look at: a control character, '"', '\\', or a byte
 * of a multi-byte UTF-8 sequence; len when there is none. Takes eight
 * bytes a step (most bytes of most strings are plain). Shared by the
 * strict check and the builder. */
static inline size_t pf_json_plain_end(const unsigned char *p, size_t i, size_t len)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;

    while (len - i >= 8) {
        uint64_t v, q, b;
        memcpy(&v, p + i, 8);
        q = v ^ (ones * '"');
        b = v ^ (ones * '\\');
        /* Any byte of v below 0x20 or with its high bit set, and any zero
         * byte of q or b (a quote or a backslash), sets a high bit here.
         * One mask serves all three subtractions: when no byte of v has
         * its high bit set, neither has any byte of q or b. */
        if ((((v - ones * 0x20) | (q - ones) | (b - ones)) & ~v & high) | (v & high))
            break;
        i += 8;
    }
    while (i < len && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
        i++;
    return i;
}

#endif
