/* SPDX-License-Identifier: MIT */
/* json_tree.c: a one-pass builder of cJSON trees in an arena. It follows
 * cJSON 1.7's parse_value/parse_string/parse_number step by step where the
 * result can differ (whitespace is any byte <= 32, the byte order mark is
 * skipped only when 5 bytes can be read, \u escapes and surrogate pairs are
 * unescaped to UTF-8 the same way, a number is strtod of the whole token
 * with the locale's decimal point for '.', valueint saturates), and gives
 * up where it cannot promise the same result. Nodes are taken from the
 * bottom of a block and strings from its top, so neither wastes space on
 * the other's alignment. Plain C11, as the rest of common/. */
#include "json_tree.h"

#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define BLOCK_FIRST (16u << 10)
#define BLOCK_MAX (1u << 20)
#define DEPTH_MAX 64    /* recursion; the strict check allows 16 */
#define EXACT_DIGITS 15 /* an integer of up to 15 digits is exact as a double */

struct block {
    struct block *next;
    size_t size;
    max_align_t data[]; /* size bytes */
};

struct pf_json_tree {
    struct block *blocks; /* newest first */
    char *lo, *hi;        /* free space of the newest block */
    size_t total;         /* bytes in all blocks */
    size_t max;
    size_t next_size;
    char none; /* lo and hi point here until the first block */
};

/* One parse: the text, where it is, and what went wrong. */
struct cur {
    struct pf_json_tree *t;
    const unsigned char *p;
    size_t len, i;
    enum pf_rc rc;
    int point; /* the first byte of the locale's decimal point; -1 until needed */
};

size_t pf_json_tree_bound(size_t len)
{
    /* Twice what the nodes and strings can take, since a block is given up
     * when the next request does not fit in what is left of it, plus the
     * first blocks. Saturates rather than wraps. */
    size_t per = 2 * (sizeof(cJSON) + 1);

    if (len > (SIZE_MAX - 4 * (size_t)BLOCK_MAX) / per)
        return SIZE_MAX;
    return len * per + 4 * (size_t)BLOCK_MAX;
}

struct pf_json_tree *pf_json_tree_new(size_t max)
{
    struct pf_json_tree *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->max = max;
    t->next_size = BLOCK_FIRST;
    t->lo = t->hi = &t->none;
    return t;
}

void pf_json_tree_free(struct pf_json_tree *t)
{
    struct block *b, *next;

    if (!t)
        return;
    for (b = t->blocks; b; b = next) {
        next = b->next;
        free(b);
    }
    free(t);
}

void pf_json_tree_reset(struct pf_json_tree *t)
{
    struct block *b, *next;

    if (!t->blocks)
        return;
    for (b = t->blocks->next; b; b = next) {
        next = b->next;
        free(b);
    }
    b = t->blocks;
    b->next = NULL;
    t->total = b->size;
    t->lo = (char *)b->data;
    t->hi = t->lo + b->size;
}

/* Makes the newest block have room for need bytes. */
static int grow(struct cur *c, size_t need)
{
    struct pf_json_tree *t = c->t;
    size_t size = t->next_size < need ? need : t->next_size;
    struct block *b;

    if (t->total > t->max || size > t->max - t->total) {
        c->rc = PF_TOOBIG;
        return -1;
    }
    b = malloc(sizeof(*b) + size);
    if (!b) {
        c->rc = PF_NOMEM;
        return -1;
    }
    b->next = t->blocks;
    b->size = size;
    t->blocks = b;
    t->total += size;
    t->lo = (char *)b->data;
    t->hi = t->lo + size;
    if (t->next_size < BLOCK_MAX)
        t->next_size *= 2;
    return 0;
}

static cJSON *new_node(struct cur *c)
{
    struct pf_json_tree *t = c->t;
    cJSON *n;

    if ((size_t)(t->hi - t->lo) < sizeof(cJSON) && grow(c, sizeof(cJSON)))
        return NULL;
    n = (cJSON *)(void *)t->lo; /* blocks are max_align_t aligned; nodes fill from there */
    t->lo += sizeof(cJSON);
    memset(n, 0, sizeof(*n));
    return n;
}

static char *new_bytes(struct cur *c, size_t n)
{
    struct pf_json_tree *t = c->t;

    if ((size_t)(t->hi - t->lo) < n && grow(c, n))
        return NULL;
    t->hi -= n;
    return t->hi;
}

static int unsupported(struct cur *c)
{
    c->rc = PF_UNSUPPORTED;
    return -1;
}

static size_t skip_space(const unsigned char *p, size_t len, size_t i)
{
    while (i < len && p[i] <= 32)
        i++;
    return i;
}

/* Four hex digits as cJSON's parse_hex4 reads them: 0 when one is not. */
static unsigned hex4(const unsigned char *p)
{
    unsigned v = 0;

    for (int k = 0; k < 4; k++) {
        unsigned ch = p[k], d;
        if (ch >= '0' && ch <= '9')
            d = ch - '0';
        else if (ch >= 'a' && ch <= 'f')
            d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F')
            d = ch - 'A' + 10;
        else
            return 0;
        v = v << 4 | d;
    }
    return v;
}

/* \uXXXX (or a surrogate pair of them) at s, with end the closing quote:
 * writes its UTF-8 to *out and returns how many input bytes it took, or 0
 * where cJSON's utf16_literal_to_utf8 fails. */
static size_t unescape_u(const unsigned char *s, const unsigned char *end, unsigned char **out)
{
    unsigned long cp;
    unsigned first, second;
    size_t taken = 6, n;
    unsigned char *o = *out, mark;

    if (end - s < 6)
        return 0;
    first = hex4(s + 2);
    if (first >= 0xdc00 && first <= 0xdfff)
        return 0;
    if (first >= 0xd800 && first <= 0xdbff) {
        if (end - (s + 6) < 6 || s[6] != '\\' || s[7] != 'u')
            return 0;
        second = hex4(s + 8);
        if (second < 0xdc00 || second > 0xdfff)
            return 0;
        cp = 0x10000 + (((unsigned long)(first & 0x3ff) << 10) | (second & 0x3ff));
        taken = 12;
    } else {
        cp = first;
    }
    if (cp < 0x80) {
        o[0] = (unsigned char)cp; /* \u0000 too, which ends the C string as in cJSON */
        *out = o + 1;
        return taken;
    }
    n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    mark = n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0;
    for (size_t k = n - 1; k > 0; k--) {
        o[k] = (unsigned char)((cp & 0x3f) | 0x80);
        cp >>= 6;
    }
    o[0] = (unsigned char)(cp | mark);
    *out = o + n;
    return taken;
}

/* The string whose opening quote is at c->i: returns it unescaped and
 * NUL-terminated in the arena, with c->i just past its closing quote. */
static char *parse_string(struct cur *c)
{
    const unsigned char *s = c->p + c->i + 1, *end;
    size_t left = c->len - c->i - 1, k = 0;
    bool escapes = false;
    unsigned char *out, *o;

    /* Where cJSON looks for the end: the first quote not after a backslash. */
    for (;;) {
        k = pf_json_plain_end(s, k, left);
        if (k >= left || s[k] == '"')
            break;
        if (s[k] == '\\') {
            if (k + 1 >= left)
                return unsupported(c), NULL;
            escapes = true;
            k++;
        }
        k++;
    }
    if (k >= left)
        return unsupported(c), NULL;
    end = s + k;
    out = (unsigned char *)new_bytes(c, k + 1);
    if (!out)
        return NULL;
    if (!escapes) {
        memcpy(out, s, k);
        out[k] = '\0';
        c->i += k + 2;
        return (char *)out;
    }
    for (o = out; s < end;) {
        size_t taken = 2;
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        switch (s[1]) {
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case '"':
        case '\\':
        case '/':
            *o++ = s[1];
            break;
        case 'u':
            taken = unescape_u(s, end, &o);
            if (!taken)
                return unsupported(c), NULL;
            break;
        default:
            return unsupported(c), NULL;
        }
        s += taken;
    }
    *o = '\0';
    c->i += k + 2;
    return (char *)out;
}

static bool number_byte(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == 'e' || ch == 'E' ||
           ch == '.';
}

/* The number token at c->i: the bytes cJSON's parse_number takes, read as
 * it reads them: strtod after replacing '.' by the locale's decimal point
 * (looked up once per parse, not once per number as cJSON does). */
static int parse_number(struct cur *c, cJSON *item)
{
    const unsigned char *s = c->p + c->i;
    size_t left = c->len - c->i, n = 0, digits = 0;
    bool neg = s[0] == '-', plain = true, point = false;
    double v;

    for (n = 0; n < left && number_byte(s[n]); n++) {
        if (s[n] >= '0' && s[n] <= '9')
            digits++;
        else if (!(n == 0 && neg))
            plain = false;
        point |= s[n] == '.';
    }
    if (plain && digits >= 1 && digits <= EXACT_DIGITS) {
        /* Exact in a double, so strtod would give the same value. */
        uint64_t u = 0;
        for (size_t k = neg; k < n; k++)
            u = u * 10 + (uint64_t)(s[k] - '0');
        v = (double)u;
        if (neg)
            v = -v; /* "-0" is -0.0, as strtod reads it */
    } else {
        char small[64], *buf = small, *after;
        if (n >= sizeof(small) && !(buf = new_bytes(c, n + 1)))
            return -1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (point) {
            if (c->point < 0) {
                const struct lconv *lc = localeconv();
                c->point = lc && lc->decimal_point ? (unsigned char)lc->decimal_point[0] : '.';
            }
            for (size_t k = 0; k < n; k++)
                if (buf[k] == '.')
                    buf[k] = (char)c->point;
        }
        v = strtod(buf, &after);
        if (after != buf + n)
            return unsupported(c); /* cJSON would go on after what strtod took */
    }
    item->valuedouble = v;
    if (v >= INT_MAX)
        item->valueint = INT_MAX;
    else if (v <= (double)INT_MIN)
        item->valueint = INT_MIN;
    else
        item->valueint = (int)v;
    item->type = cJSON_Number;
    c->i += n;
    return 0;
}

static bool literal(struct cur *c, const char *word, size_t n)
{
    if (c->len - c->i < n || memcmp(c->p + c->i, word, n) != 0)
        return false;
    c->i += n;
    return true;
}

static int parse_value(struct cur *c, cJSON *item, int depth);

/* The array or object at c->i: its members are linked as cJSON links them. */
static int parse_container(struct cur *c, cJSON *item, int depth)
{
    bool object = c->p[c->i] == '{';
    unsigned char close = object ? '}' : ']';
    cJSON *head = NULL, *tail = NULL, *n;

    if (depth >= DEPTH_MAX)
        return unsupported(c);
    c->i = skip_space(c->p, c->len, c->i + 1);
    if (c->i < c->len && c->p[c->i] == close) {
        c->i++;
    } else {
        for (;;) {
            if (!(n = new_node(c)))
                return -1;
            if (!head) {
                head = n;
            } else {
                tail->next = n;
                n->prev = tail;
            }
            tail = n;
            if (object) {
                if (c->i >= c->len || c->p[c->i] != '"' || !(n->string = parse_string(c)))
                    return c->rc ? -1 : unsupported(c);
                c->i = skip_space(c->p, c->len, c->i);
                if (c->i >= c->len || c->p[c->i] != ':')
                    return unsupported(c);
                c->i = skip_space(c->p, c->len, c->i + 1);
            }
            if (parse_value(c, n, depth + 1))
                return -1;
            c->i = skip_space(c->p, c->len, c->i);
            if (c->i < c->len && c->p[c->i] == ',') {
                c->i = skip_space(c->p, c->len, c->i + 1);
                continue;
            }
            if (c->i < c->len && c->p[c->i] == close) {
                c->i++;
                break;
            }
            return unsupported(c);
        }
        head->prev = tail;
    }
    item->type = object ? cJSON_Object : cJSON_Array;
    item->child = head;
    return 0;
}

static int parse_value(struct cur *c, cJSON *item, int depth)
{
    if (c->i >= c->len)
        return unsupported(c);
    switch (c->p[c->i]) {
    case '{':
    case '[':
        return parse_container(c, item, depth);
    case '"':
        if (!(item->valuestring = parse_string(c)))
            return -1;
        item->type = cJSON_String;
        return 0;
    case 't':
        if (!literal(c, "true", 4))
            return unsupported(c);
        item->type = cJSON_True;
        item->valueint = 1;
        return 0;
    case 'f':
        if (!literal(c, "false", 5))
            return unsupported(c);
        item->type = cJSON_False;
        return 0;
    case 'n':
        if (!literal(c, "null", 4))
            return unsupported(c);
        item->type = cJSON_NULL;
        return 0;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(c, item);
    default:
        return unsupported(c);
    }
}

enum pf_rc pf_json_tree_parse(struct pf_json_tree *t, const char *json, size_t len, size_t *pos,
                              struct cJSON **root)
{
    struct cur c = {t, (const unsigned char *)json, len, *pos, PF_OK, -1};
    cJSON *item;

    *root = NULL;
    /* cJSON skips a byte order mark only when it can read 5 bytes. */
    if (c.i == 0 && len >= 5 && memcmp(json, "\xef\xbb\xbf", 3) == 0)
        c.i = 3;
    c.i = skip_space(c.p, len, c.i);
    if (!(item = new_node(&c)) || parse_value(&c, item, 0))
        return c.rc;
    *pos = c.i;
    *root = item;
    return PF_OK;
}

/* Past the closing quote of the string opening at i, or 0 when it has none. */
static size_t string_end(const unsigned char *p, size_t len, size_t i)
{
    for (i++; i < len; i++) {
        i = pf_json_plain_end(p, i, len);
        if (i >= len)
            break;
        if (p[i] == '"')
            return i + 1;
        if (p[i] == '\\')
            i++; /* the escaped byte */
    }
    return 0;
}

/* Bytes that end a literal or number: whitespace and JSON's punctuation. */
static bool scalar_end(unsigned char ch)
{
    switch (ch) {
    case ',':
    case ':':
    case '[':
    case ']':
    case '{':
    case '}':
    case '"':
        return true;
    default:
        return ch <= 32;
    }
}

enum pf_rc pf_json_tree_skip(const char *json, size_t len, size_t *pos)
{
    const unsigned char *p = (const unsigned char *)json;
    size_t i = skip_space(p, len, *pos), depth = 0;

    do {
        unsigned char ch;
        if (i >= len)
            return PF_UNSUPPORTED;
        ch = p[i];
        if (ch == '"') {
            if (!(i = string_end(p, len, i)))
                return PF_UNSUPPORTED;
        } else if (ch == '{' || ch == '[') {
            depth++;
            i++;
        } else if (ch == '}' || ch == ']') {
            if (!depth)
                return PF_UNSUPPORTED;
            depth--;
            i++;
        } else if (ch == ',' || ch == ':' || ch <= 32) {
            if (!depth)
                return PF_UNSUPPORTED;
            i++;
        } else {
            /* A literal or a number: up to the next structural byte. */
            while (i < len && !scalar_end(p[i]))
                i++;
        }
    } while (depth);
    *pos = i;
    return PF_OK;
}
