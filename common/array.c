/* SPDX-License-Identifier: MIT */
/* array.c: see array.h. */
#include "array.h"

#include <stdint.h>
#include <stdlib.h>

enum pf_rc pf_array_reserve(void **v, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t ncap = *cap ? *cap : (first ? first : 1);
    void *p;

    if (need <= *cap)
        return PF_OK;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return PF_NOMEM;
        ncap *= 2;
    }
    if (elem && ncap > SIZE_MAX / elem)
        return PF_NOMEM;
    p = realloc(*v, ncap * elem);
    if (!p)
        return PF_NOMEM;
    *v = p;
    *cap = ncap;
    return PF_OK;
}
