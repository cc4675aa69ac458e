/* SPDX-License-Identifier: MIT */
/* pgarray.h: PostgreSQL array literals ("{1,NULL,\"a b\"}") built in a capped
 * buffer, to pass many rows as a few array parameters of one statement
 * (SELECT ... FROM unnest($1::uuid[], $2::bigint[], ...)): one round trip,
 * no SQL text built from values. Elements are quoted and escaped as the
 * array input syntax wants; the first error sticks and is returned by
 * pgarray_end(). */
#ifndef PF_PGARRAY_H
#define PF_PGARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

struct pgarray {
    struct pf_buf b;
    bool any;
    enum pf_rc rc;
};

/* Starts an empty array; free with pgarray_free(). */
void pgarray_init(struct pgarray *a);
void pgarray_free(struct pgarray *a);
void pgarray_null(struct pgarray *a);
void pgarray_i64(struct pgarray *a, int64_t v);
/* A string element: double quotes and backslashes escaped. */
void pgarray_str(struct pgarray *a, const char *s);
/* A timestamptz element from Unix seconds ("2026-11-22T10:00:00Z"). */
void pgarray_time(struct pgarray *a, int64_t t);
/* Closes the array. Returns the literal (owned by a) or NULL with *rc set
 * to the first error (PF_TOOBIG, PF_NOMEM); *rc is left alone on success. */
const char *pgarray_end(struct pgarray *a, enum pf_rc *rc);

#endif
