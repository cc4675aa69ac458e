/* SPDX-License-Identifier: MIT */
/* buf.c: capped growable buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pf_buf_init(struct pf_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void pf_buf_free(struct pf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void pf_buf_reset(struct pf_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

char *pf_buf_reserve(struct pf_buf *b, size_t n, enum pf_rc *rc)
{
    size_t need, ncap;
    char *p;

    if (n > b->max || b->len > b->max - n) {
        *rc = PF_TOOBIG;
        return NULL;
    }
    need = b->len + n + 1;
    if (need > b->cap) {
        ncap = b->cap ? b->cap : 64;
        while (ncap < need)
            ncap = ncap > ((size_t)-1) / 2 ? need : ncap * 2;
        if (ncap > b->max + 1)
            ncap = b->max + 1;
        p = realloc(b->data, ncap);
        if (!p) {
            *rc = PF_NOMEM;
            return NULL;
        }
        b->data = p;
        b->cap = ncap;
    }
    *rc = PF_OK;
    return b->data + b->len;
}

enum pf_rc pf_buf_append(struct pf_buf *b, const void *p, size_t n)
{
    enum pf_rc rc;
    char *dst = pf_buf_reserve(b, n, &rc);

    if (!dst)
        return rc;
    if (n)
        memcpy(dst, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return PF_OK;
}

enum pf_rc pf_buf_puts(struct pf_buf *b, const char *s)
{
    return pf_buf_append(b, s, strlen(s));
}

enum pf_rc pf_buf_printf(struct pf_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    enum pf_rc rc;
    char *dst;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PF_INVALID;
    dst = pf_buf_reserve(b, (size_t)n, &rc);
    if (!dst)
        return rc;
    va_start(ap, fmt);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return PF_OK;
}

void pf_buf_consume(struct pf_buf *b, size_t n)
{
    if (n >= b->len) {
        pf_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *pf_buf_detach(struct pf_buf *b, size_t *len)
{
    char *p = b->data;

    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
