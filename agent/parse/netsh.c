/* SPDX-License-Identifier: MIT */
/* netsh.c: netsh port-range output -> numbers (see netsh.h). The text is
 * first folded to one byte per character: ASCII stays, the full-width
 * colon becomes ':', anything else becomes 0x80, which is neither a digit
 * nor white space, so a translated word can never read as a number. */
#include "netsh.h"

#include <stdlib.h>
#include <string.h>

#define OTHER 0x80

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* UTF-16LE when it starts with a BOM, or when most odd bytes of the first
 * 64 are zero (ASCII text in UTF-16). */
static bool looks_utf16le(const unsigned char *p, size_t len)
{
    size_t zeros = 0, pairs = 0;

    if (len >= 2 && p[0] == 0xff && p[1] == 0xfe)
        return true;
    for (size_t i = 1; i < len && i < 64; i += 2, pairs++)
        zeros += p[i] == 0;
    return pairs >= 2 && zeros * 4 >= pairs * 3;
}

/* Folds buf into a malloc'd one-byte-per-character copy; *outlen its size. */
static unsigned char *fold(const char *buf, size_t len, size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)buf;
    unsigned char *out = malloc(len + 1);
    size_t n = 0;

    if (!out)
        return NULL;
    if (looks_utf16le(p, len)) {
        size_t i = (len >= 2 && p[0] == 0xff && p[1] == 0xfe) ? 2 : 0;
        for (; i + 1 < len; i += 2) {
            unsigned u = p[i] | (unsigned)p[i + 1] << 8;
            out[n++] = u < 0x80 ? (unsigned char)u : u == 0xff1a ? ':' : OTHER;
        }
    } else {
        size_t i = (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) ? 3 : 0;
        for (; i < len; i++) {
            if (p[i] == 0xef && i + 2 < len && p[i + 1] == 0xbc && p[i + 2] == 0x9a) {
                out[n++] = ':'; /* U+FF1A in UTF-8 */
                i += 2;
            } else {
                out[n++] = p[i] < 0x80 ? p[i] : OTHER;
            }
        }
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

/* Calls fn(line, len, ud) for each line of the folded text; stops when fn
 * returns non-zero and returns that. */
typedef int (*line_fn)(const unsigned char *line, size_t len, void *ud);

static int each_line(const unsigned char *t, size_t len, line_fn fn, void *ud)
{
    size_t start = 0;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || t[i] == '\n') {
            int r = fn(t + start, i - start, ud);
            if (r)
                return r;
            start = i + 1;
        }
    }
    return 0;
}

/* Reads a decimal number of at most 5 digits from [*i, len); -1 if none. */
static long read_num(const unsigned char *s, size_t len, size_t *i)
{
    long v = 0;
    size_t k = *i, digits = 0;

    while (k < len && is_digit(s[k])) {
        if (++digits > 5)
            return -1;
        v = v * 10 + (s[k] - '0');
        k++;
    }
    if (digits == 0)
        return -1;
    *i = k;
    return v;
}

bool netsh_range_valid(uint32_t start, uint32_t count)
{
    return start >= 1 && start <= 65535 && count >= 1 && count <= 65535 &&
           start + count - 1 <= 65535;
}

struct dyn {
    long v[2];
    int n;
};

/* "<anything> : <number>": the text after the last colon is one number
 * between blanks (non-ASCII characters count as blanks there: some
 * languages put a no-break space around the colon). */
static int dyn_line(const unsigned char *line, size_t len, void *ud)
{
    struct dyn *d = ud;
    size_t colon = len, i;
    long v;

    for (size_t k = 0; k < len; k++)
        if (line[k] == ':')
            colon = k;
    if (colon == len)
        return 0;
    i = colon + 1;
    while (i < len && (is_blank(line[i]) || line[i] == OTHER))
        i++;
    if ((v = read_num(line, len, &i)) < 0)
        return 0;
    while (i < len && (is_blank(line[i]) || line[i] == OTHER))
        i++;
    if (i != len)
        return 0;
    d->v[d->n++] = v;
    return d->n == 2;
}

enum pf_rc netsh_parse_dynamicport(const char *buf, size_t len, uint16_t *start, uint32_t *count)
{
    struct dyn d = {{0, 0}, 0};
    unsigned char *t;
    size_t tlen;

    if (len > NETSH_OUTPUT_MAX)
        return PF_TOOBIG;
    t = fold(buf, len, &tlen);
    if (!t)
        return PF_NOMEM;
    each_line(t, tlen, dyn_line, &d);
    free(t);
    if (d.n < 2 || !netsh_range_valid((uint32_t)d.v[0], (uint32_t)d.v[1]))
        return PF_INVALID;
    *start = (uint16_t)d.v[0];
    *count = (uint32_t)d.v[1];
    return PF_OK;
}

struct excl {
    struct portblock *out;
    size_t max, n;
    bool table;   /* the dashed line has been seen */
    bool bad;     /* a block was not a valid range */
    bool toomany; /* more than max blocks */
};

/* A line of '-' and blanks only (at least three dashes). */
static bool dashed(const unsigned char *line, size_t len)
{
    size_t dashes = 0;

    for (size_t i = 0; i < len; i++) {
        if (line[i] == '-')
            dashes++;
        else if (!is_blank(line[i]))
            return false;
    }
    return dashes >= 3;
}

static int excl_line(const unsigned char *line, size_t len, void *ud)
{
    struct excl *e = ud;
    long v[2];
    size_t i = 0;

    if (!e->table) {
        e->table = dashed(line, len);
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        while (i < len && is_blank(line[i]))
            i++;
        if ((v[k] = read_num(line, len, &i)) < 0)
            return 0;
        if (i < len && !is_blank(line[i]) && line[i] != '*')
            return 0; /* "123abc": not a number */
    }
    while (i < len && (is_blank(line[i]) || line[i] == '*'))
        i++;
    if (i != len)
        return 0;
    if (v[0] < 1 || v[1] < v[0] || v[1] > 65535) {
        e->bad = true;
        return 1;
    }
    if (e->n == e->max) {
        e->toomany = true;
        return 1;
    }
    e->out[e->n].start = (uint16_t)v[0];
    e->out[e->n].count = (uint32_t)(v[1] - v[0] + 1);
    e->n++;
    return 0;
}

enum pf_rc netsh_parse_excluded(const char *buf, size_t len, struct portblock *out, size_t max,
                                size_t *n)
{
    struct excl e = {out, max, 0, false, false, false};
    unsigned char *t;
    size_t tlen;

    *n = 0;
    if (len > NETSH_OUTPUT_MAX)
        return PF_TOOBIG;
    t = fold(buf, len, &tlen);
    if (!t)
        return PF_NOMEM;
    each_line(t, tlen, excl_line, &e);
    free(t);
    if (!e.table || e.bad) {
        *n = 0;
        return PF_INVALID;
    }
    *n = e.n;
    return e.toomany ? PF_TOOBIG : PF_OK;
}
