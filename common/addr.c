/* SPDX-License-Identifier: MIT */
/* addr.c: numeric address formatting (RFC 5952 for IPv6). */
#include "addr.h"

#include <stdio.h>
#include <string.h>

static size_t format_v4(const uint8_t *a, char *out, size_t len)
{
    int n = snprintf(out, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    return n > 0 ? (size_t)n : 0;
}

size_t pf_addr_format(int family, const uint8_t *addr, char out[PF_ADDR_LEN])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned groups[8];
    int best = -1, bestlen = 0, cur = -1, curlen = 0;
    size_t n = 0;

    if (family == PF_FAMILY_IPV4)
        return format_v4(addr, out, PF_ADDR_LEN);

    if (memcmp(addr, mapped, 12) == 0) {
        memcpy(out, "::ffff:", 7);
        return 7 + format_v4(addr + 12, out + 7, PF_ADDR_LEN - 7);
    }
    for (int i = 0; i < 8; i++) {
        groups[i] = (unsigned)addr[2 * i] << 8 | addr[2 * i + 1];
        if (groups[i] == 0) {
            if (cur < 0) {
                cur = i;
                curlen = 0;
            }
            curlen++;
            if (curlen > bestlen) {
                best = cur;
                bestlen = curlen;
            }
        } else {
            cur = -1;
        }
    }
    if (bestlen < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            n += (size_t)snprintf(out + n, PF_ADDR_LEN - n, "::");
            i += bestlen - 1;
            continue;
        }
        if (i > 0 && !(best >= 0 && i == best + bestlen))
            out[n++] = ':';
        n += (size_t)snprintf(out + n, PF_ADDR_LEN - n, "%x", groups[i]);
    }
    out[n] = '\0';
    return n;
}
