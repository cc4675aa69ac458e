/* SPDX-License-Identifier: MIT */
/* sockrec.c: growable arrays of socket records and owners. */
#include "sockrec.h"
#include "array.h"

#include <stdlib.h>
#include <string.h>

void sockrec_vec_init(struct sockrec_vec *vec)
{
    memset(vec, 0, sizeof(*vec));
}

void sockrec_vec_free(struct sockrec_vec *vec)
{
    free(vec->v);
    free(vec->own);
    memset(vec, 0, sizeof(*vec));
}

struct sockrec *sockrec_vec_push(struct sockrec_vec *vec)
{
    if (PF_ARRAY_RESERVE(vec->v, vec->cap, vec->n + 1, 1024))
        return NULL;
    memset(&vec->v[vec->n], 0, sizeof(vec->v[0]));
    return &vec->v[vec->n++];
}

enum pf_rc sockrec_vec_add_owner(struct sockrec_vec *vec, uint32_t rec, uint32_t pid)
{
    if (PF_ARRAY_RESERVE(vec->own, vec->owncap, vec->nown + 1, 1024))
        return PF_NOMEM;
    vec->own[vec->nown].rec = rec;
    vec->own[vec->nown].pid = pid;
    vec->nown++;
    return PF_OK;
}
