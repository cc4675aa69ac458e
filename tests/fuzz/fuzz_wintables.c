/* SPDX-License-Identifier: MIT */
/* fuzz_wintables.c: the Windows adapters' pure parsers on arbitrary bytes:
 * netsh dynamicport / excludedportrange text and the IP Helper table
 * buffers (connection tables, then the bound tables de-duplicated against
 * them). They read OS output, not network input, but a parser that can be
 * driven out of bounds by a truncated or odd buffer is a bug either way.
 * The first byte picks the parser; the rest is its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mib.h"
#include "netsh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockrec_vec v;
    struct portblock blocks[16];
    uint16_t start;
    uint32_t count;
    size_t n, half;
    uint8_t *copy;

    if (size < 2)
        return 0;
    /* A heap copy of exactly the input, so reads past it are caught. */
    copy = malloc(size - 2 ? size - 2 : 1);
    if (!copy)
        return 0;
    memcpy(copy, data + 2, size - 2);
    sockrec_vec_init(&v);
    switch (data[0] % 4) {
    case 0:
        netsh_parse_dynamicport((const char *)copy, size - 2, &start, &count);
        break;
    case 1:
        netsh_parse_excluded((const char *)copy, size - 2, blocks, 16, &n);
        break;
    case 2:
        mib_parse((enum mib_kind)(data[1] % 4), copy, size - 2, &v);
        break;
    case 3:
        /* data[1] splits the rest: a connection table, then a bound table. */
        half = (size - 2) * data[1] / 255;
        if (mib_parse((data[1] & 1) ? MIB_KIND_TCP6 : MIB_KIND_TCP4, copy, half, &v) == PF_OK)
            mib_parse_bound((data[1] & 2) ? NULL : copy + half, size - 2 - half,
                            (data[1] & 2) ? copy + half : NULL, size - 2 - half, &v, &n);
        break;
    }
    sockrec_vec_free(&v);
    free(copy);
    return 0;
}
