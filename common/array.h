/* SPDX-License-Identifier: MIT */
/* array.h: the grow-by-doubling array every module needs (socket records,
 * the spool index, findings, fleet hosts), written once with its overflow
 * check. An array is three fields of the caller's struct: a pointer, a
 * count and a capacity; pf_array_reserve makes room for one more. */
#ifndef PF_ARRAY_H
#define PF_ARRAY_H

#include <stddef.h>

#include "error.h"

/* Makes room for at least need elements of elem bytes in *v, whose
 * capacity is *cap: doubles the capacity (first when it is 0) until it
 * holds need. On success *v and *cap are updated (existing elements kept);
 * PF_NOMEM when out of memory or the size would overflow, with *v and *cap
 * unchanged. The caller frees *v. */
enum pf_rc pf_array_reserve(void **v, size_t *cap, size_t need, size_t elem, size_t first);

/* pf_array_reserve for a typed pointer field: PF_ARRAY_RESERVE(s->v, s->cap,
 * s->n + 1, 16). */
#define PF_ARRAY_RESERVE(ptr, cap, need, first)                                                    \
    pf_array_reserve((void **)&(ptr), &(cap), (need), sizeof(*(ptr)), (first))

#endif
