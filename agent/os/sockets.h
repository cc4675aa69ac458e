/* SPDX-License-Identifier: MIT */
/* sockets.h: list every TCP and UDP socket of the host (IPv4 and IPv6)
 * with its owners. Implemented by sockets_linux.c (sock_diag + /proc fd
 * scan) and sockets_win.c (IP Helper tables + the bound-endpoint tables). */
#ifndef PF_SOCKETS_H
#define PF_SOCKETS_H

#include <stdbool.h>

#include "error.h"
#include "sockrec.h"

struct sockets_info {
    bool bound_measured; /* false: bound-only TCP sockets could not be listed */
    bool owners_measured; /* false: sockets could not be tied to processes */
};

/* Appends every socket to out (initialised by the caller) and fills info.
 * Returns PF_OK, or an error when the socket list itself failed. */
enum pf_rc sockets_collect(struct sockrec_vec *out, struct sockets_info *info);

#endif
