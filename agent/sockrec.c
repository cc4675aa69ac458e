/* SPDX-License-Identifier: MIT */
/* sockrec.c: growable arrays of socket records and owners. */
#include "sockrec.h"

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
    if (vec->n == vec->cap) {
        size_t ncap = vec->cap ? vec->cap * 2 : 1024;
        struct sockrec *p = realloc(vec->v, ncap * sizeof(*p));
        if (!p)
            return NULL;
        vec->v = p;
        vec->cap = ncap;
    }
    memset(&vec->v[vec->n], 0, sizeof(vec->v[0]));
    return &vec->v[vec->n++];
}

enum pf_rc sockrec_vec_add_owner(struct sockrec_vec *vec, uint32_t rec, uint32_t pid)
{
    if (vec->nown == vec->owncap) {
        size_t ncap = vec->owncap ? vec->owncap * 2 : 1024;
        struct sockown *p = realloc(vec->own, ncap * sizeof(*p));
        if (!p)
            return PF_NOMEM;
        vec->own = p;
        vec->owncap = ncap;
    }
    vec->own[vec->nown].rec = rec;
    vec->own[vec->nown].pid = pid;
    vec->nown++;
    return PF_OK;
}
