/* SPDX-License-Identifier: MIT */
/* castore_linux.c: castore.h on Linux, where libcurl's OpenSSL reads the
 * system's CA bundle itself: nothing to load. */
#include "castore.h"

enum pf_rc castore_load_system(struct pf_buf *pem, struct castore_counts *counts)
{
    (void)pem;
    (void)counts;
    return PF_UNSUPPORTED;
}
