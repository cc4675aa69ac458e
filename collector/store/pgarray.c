/* SPDX-License-Identifier: MIT */
/* pgarray.c: array literals for unnest() parameters (see pgarray.h). */
#include "pgarray.h"

#include <inttypes.h>
#include <string.h>

#include "timeutil.h"

#define PGARRAY_MAX (64u * 1024 * 1024)

void pgarray_init(struct pgarray *a)
{
    pf_buf_init(&a->b, PGARRAY_MAX);
    a->any = false;
    a->rc = PF_OK;
}

void pgarray_free(struct pgarray *a)
{
    pf_buf_free(&a->b);
}

static void sep(struct pgarray *a)
{
    if (!a->rc)
        a->rc = pf_buf_puts(&a->b, a->any ? "," : "{");
    a->any = true;
}

void pgarray_null(struct pgarray *a)
{
    sep(a);
    if (!a->rc)
        a->rc = pf_buf_puts(&a->b, "NULL");
}

void pgarray_i64(struct pgarray *a, int64_t v)
{
    sep(a);
    if (!a->rc)
        a->rc = pf_buf_printf(&a->b, "%" PRId64, v);
}

void pgarray_str(struct pgarray *a, const char *s)
{
    sep(a);
    if (!a->rc)
        a->rc = pf_buf_puts(&a->b, "\"");
    while (!a->rc && *s) {
        size_t run = strcspn(s, "\"\\");
        a->rc = pf_buf_append(&a->b, s, run);
        s += run;
        if (!a->rc && *s) {
            const char esc[2] = {'\\', *s++};
            a->rc = pf_buf_append(&a->b, esc, 2);
        }
    }
    if (!a->rc)
        a->rc = pf_buf_puts(&a->b, "\"");
}

void pgarray_time(struct pgarray *a, int64_t t)
{
    char buf[PF_TIME_LEN];

    if (pf_time_format(t, buf) != PF_OK)
        pgarray_null(a);
    else
        pgarray_str(a, buf);
}

const char *pgarray_end(struct pgarray *a, enum pf_rc *rc)
{
    if (!a->rc)
        a->rc = pf_buf_puts(&a->b, a->any ? "}" : "{}");
    if (a->rc) {
        *rc = a->rc;
        return NULL;
    }
    return a->b.data;
}
