/* SPDX-License-Identifier: MIT */
/* test_array.c: pf_array_reserve (array.h): doubling, kept contents, the
 * overflow check. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>

#include "array.h"

TEST(doubles_and_keeps)
{
    int *v = NULL;
    size_t cap = 0;

    for (size_t n = 0; n < 1000; n++) {
        T_EQ_INT(PF_ARRAY_RESERVE(v, cap, n + 1, 16), PF_OK);
        T_ASSERT(cap >= n + 1);
        v[n] = (int)n;
    }
    T_EQ_INT(cap, 1024); /* 16, 32, ... 1024 */
    for (size_t n = 0; n < 1000; n++)
        T_EQ_INT(v[n], n);
    T_EQ_INT(PF_ARRAY_RESERVE(v, cap, 10, 16), PF_OK); /* enough room: unchanged */
    T_EQ_INT(cap, 1024);
    free(v);
}

TEST(overflow_refused)
{
    int *v = NULL;
    size_t cap = 0;

    T_EQ_INT(PF_ARRAY_RESERVE(v, cap, SIZE_MAX / 2, 16), PF_NOMEM);
    T_ASSERT(v == NULL);
    T_EQ_INT(cap, 0);
}

int main(void)
{
    RUN(doubles_and_keeps);
    RUN(overflow_refused);
    return T_DONE();
}
