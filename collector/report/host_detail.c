/* SPDX-License-Identifier: MIT */
/* host_detail.c: the host page's detail (host_detail.h): freeing it. It is
 * filled by collector/store/host_detail_db.c and, in the unit tests, by
 * hand. */
#include "host_detail.h"

#include <stdlib.h>
#include <string.h>

void host_detail_clear(struct host_detail *d)
{
    if (!d)
        return;
    free(d->hours);
    for (size_t i = 0; i < d->nprocs; i++) {
        free(d->procs[i].held);
        free(d->procs[i].bound);
    }
    memset(d, 0, sizeof(*d));
}
