/* SPDX-License-Identifier: MIT */
/* json_strict.c: the strict check of untrusted JSON text and the tree
 * built from it (json_strict.h). */
#include "json_strict.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_tree.h"
#include "snapshot_codec.h"

enum jcheck { J_OK = 0, J_SYNTAX, J_DEPTH, J_NUL, J_UTF8, J_TRAILING };

size_t pf_json_skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;

    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static bool is_hex4(const char *p, size_t left)
{
    if (left < 4)
        return false;
    for (int k = 0; k < 4; k++)
        if (!codec_hexdigit(p[k]))
            return false;
    return true;
}

/* p[*i] is the opening quote; on success *i is just past the closing one. */
static enum jcheck scan_string(const char *p, size_t len, size_t *i)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t k = *i + 1;

    for (;;) {
        k = pf_json_plain_end(u, k, len);
        if (k >= len)
            goto syntax;
        if (u[k] == '"') {
            *i = k + 1;
            return J_OK;
        }
        if (u[k] < 0x20)
            goto syntax; /* raw control characters must be escaped */
        if (u[k] == '\\') {
            unsigned cp;
            if (k + 1 >= len)
                goto syntax;
            if (strchr("\"\\/bfnrt", p[k + 1]) && p[k + 1] != '\0') {
                k += 2;
                continue;
            }
            if (p[k + 1] != 'u' || !is_hex4(p + k + 2, len - k - 2))
                goto syntax;
            cp = hex4(p + k + 2);
            if (cp == 0) {
                *i = k;
                return J_NUL;
            }
            if (cp >= 0xdc00 && cp <= 0xdfff)
                goto syntax; /* a low surrogate alone */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (k + 12 > len || p[k + 6] != '\\' || p[k + 7] != 'u' ||
                    !is_hex4(p + k + 8, len - k - 8))
                    goto syntax;
                lo = hex4(p + k + 8);
                if (lo < 0xdc00 || lo > 0xdfff)
                    goto syntax;
                k += 12;
                continue;
            }
            k += 6;
            continue;
        }
        if (u[k] >= 0x80) {
            size_t n = codec_utf8_seq(u + k, len - k);
            if (!n) {
                *i = k;
                return J_UTF8;
            }
            k += n;
            continue;
        }
        k++;
    }
syntax:
    *i = k;
    return J_SYNTAX;
}

static bool digit(const char *p, size_t len, size_t i)
{
    return i < len && p[i] >= '0' && p[i] <= '9';
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static enum jcheck scan_number(const char *p, size_t len, size_t *i)
{
    size_t k = *i;

    if (k < len && p[k] == '-')
        k++;
    if (!digit(p, len, k))
        goto syntax;
    if (p[k] == '0') {
        k++;
    } else {
        while (digit(p, len, k))
            k++;
    }
    if (k < len && p[k] == '.') {
        k++;
        if (!digit(p, len, k))
            goto syntax;
        while (digit(p, len, k))
            k++;
    }
    if (k < len && (p[k] == 'e' || p[k] == 'E')) {
        k++;
        if (k < len && (p[k] == '+' || p[k] == '-'))
            k++;
        if (!digit(p, len, k))
            goto syntax;
        while (digit(p, len, k))
            k++;
    }
    *i = k;
    return J_OK;
syntax:
    *i = k;
    return J_SYNTAX;
}

/* Checks that p[0..len) is exactly one JSON value (RFC 8259), with only
 * whitespace around it, nesting at most max_depth (<= 64) levels. An
 * iterative state machine with its own small stack: no recursion, linear
 * time. On failure *pos is the byte offset of the problem. */
static enum jcheck check_json(const char *p, size_t len, int max_depth, size_t *pos)
{
    enum { VALUE, KEY, AFTER } state = VALUE;
    char stack[64];
    int depth = 0;
    size_t i = 0;
    enum jcheck r;

    if (max_depth > (int)sizeof(stack))
        max_depth = (int)sizeof(stack);
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        i = 3; /* a UTF-8 byte order mark, which RFC 8259 lets readers ignore */
    for (;;) {
        i = pf_json_skip_ws(p, len, i);
        if (state == AFTER) {
            if (depth == 0) {
                *pos = i;
                return i == len ? J_OK : J_TRAILING;
            }
            if (i < len && p[i] == ',') {
                i++;
                state = stack[depth - 1] == '{' ? KEY : VALUE;
            } else if (i < len && p[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
                i++;
                depth--;
            } else {
                break;
            }
            continue;
        }
        if (state == KEY) {
            if (i >= len || p[i] != '"')
                break;
            if ((r = scan_string(p, len, &i))) {
                *pos = i;
                return r;
            }
            i = pf_json_skip_ws(p, len, i);
            if (i >= len || p[i] != ':')
                break;
            i++;
            state = VALUE;
            continue;
        }
        /* VALUE */
        if (i >= len)
            break;
        switch (p[i]) {
        case '{':
        case '[':
            if (depth >= max_depth) {
                *pos = i;
                return J_DEPTH;
            }
            stack[depth++] = p[i++];
            i = pf_json_skip_ws(p, len, i);
            if (i < len && p[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
                i++;
                depth--;
                state = AFTER;
            } else {
                state = stack[depth - 1] == '{' ? KEY : VALUE;
            }
            continue;
        case '"':
            r = scan_string(p, len, &i);
            break;
        case 't':
        case 'f':
        case 'n': {
            const char *lit = p[i] == 't' ? "true" : p[i] == 'f' ? "false" : "null";
            size_t n = strlen(lit);
            r = len - i >= n && memcmp(p + i, lit, n) == 0 ? J_OK : J_SYNTAX;
            if (!r)
                i += n;
            break;
        }
        default:
            r = scan_number(p, len, &i);
            break;
        }
        if (r) {
            *pos = i;
            return r;
        }
        state = AFTER;
    }
    *pos = i;
    return J_SYNTAX;
}

enum pf_rc pf_json_check_depth(const char *json, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return PF_TOOBIG;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return PF_OK;
}

/* The strict check of pf_json_parse: PF_OK, or PF_INVALID with its message
 * in err. */
enum pf_rc pf_json_check_text(const char *json, size_t len, char err[PF_ERRMSG_LEN])
{
    size_t pos = 0;
    enum jcheck r = check_json(json, len, PF_JSON_MAX_DEPTH, &pos);

    if (r == J_OK)
        return PF_OK;
    /* Text check_json accepts nests at most PF_JSON_MAX_DEPTH levels, and
     * pf_json_check_depth counts the same brackets in it, so the pre-check
     * only has to run on text that fails, where its message comes first. */
    if (r == J_DEPTH || pf_json_check_depth(json, len, PF_JSON_MAX_DEPTH)) {
        snprintf(err, PF_ERRMSG_LEN, "body: nested deeper than %d levels", PF_JSON_MAX_DEPTH);
        return PF_INVALID;
    }
    switch (r) {
    case J_NUL:
        snprintf(err, PF_ERRMSG_LEN, "body: string holds \\u0000 near byte %zu", pos);
        break;
    case J_UTF8:
        snprintf(err, PF_ERRMSG_LEN, "body: invalid UTF-8 near byte %zu", pos);
        break;
    case J_TRAILING:
        snprintf(err, PF_ERRMSG_LEN, "body: trailing data after the JSON value near byte %zu", pos);
        break;
    case J_SYNTAX:
    default:
        snprintf(err, PF_ERRMSG_LEN, "body: invalid JSON near byte %zu", pos);
        break;
    }
    return PF_INVALID;
}

/* cJSON's tree of checked text. */
static enum pf_rc cjson_parse(const char *json, size_t len, cJSON **out, char err[PF_ERRMSG_LEN])
{
    const char *end = NULL;
    size_t pos;

    *out = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!*out) {
        /* The text is valid JSON, so cJSON ran out of memory or hit one of
         * its own limits (numbers longer than 63 characters). */
        pos = end && end >= json ? (size_t)(end - json) : 0;
        snprintf(err, PF_ERRMSG_LEN, "body: invalid JSON near byte %zu", pos);
        return PF_INVALID;
    }
    return PF_OK;
}

enum pf_rc pf_json_parse(const char *json, size_t len, struct cJSON **out, char err[PF_ERRMSG_LEN])
{
    enum pf_rc rc;

    *out = NULL;
    err[0] = '\0';
    if ((rc = pf_json_check_text(json, len, err)))
        return rc;
    return cjson_parse(json, len, out, err);
}

/* The tree of text check_text accepted. */
enum pf_rc pf_json_doc_build(const char *json, size_t len, struct pf_json_doc *t, char err[PF_ERRMSG_LEN])
{
    cJSON *root;
    size_t pos = 0;
    enum pf_rc rc;

    memset(t, 0, sizeof(*t));
    t->arena = pf_json_tree_new(pf_json_tree_bound(len));
    if (t->arena && pf_json_tree_parse(t->arena, json, len, &pos, &root) == PF_OK) {
        t->root = root;
        return PF_OK;
    }
    pf_json_tree_free(t->arena);
    t->arena = NULL;
    if ((rc = cjson_parse(json, len, &t->cj, err)))
        return rc;
    t->root = t->cj;
    return PF_OK;
}

void pf_json_doc_free(struct pf_json_doc *t)
{
    pf_json_tree_free(t->arena);
    cJSON_Delete(t->cj);
    memset(t, 0, sizeof(*t));
}
