/* SPDX-License-Identifier: MIT */
/* sockrec.h: one socket as every platform's collector reports it, before
 * aggregation. Linux fills these from sock_diag and owners from the /proc
 * fd scan; Windows from the IP Helper tables, whose rows carry the PID. */
#ifndef PF_SOCKREC_H
#define PF_SOCKREC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct sockrec {
    uint8_t proto;     /* enum pf_proto */
    uint8_t family;    /* enum pf_family */
    uint8_t state;     /* enum pf_tcp_state for TCP; 0 for UDP */
    uint8_t pad;
    uint16_t lport;    /* host byte order */
    uint16_t rport;    /* host byte order; 0 when not connected */
    uint8_t raddr[16]; /* network order; IPv4 in the first 4 bytes */
    uint64_t inode;    /* Linux socket inode (0: none, e.g. TIME_WAIT) */
};

/* Who holds a socket: records[rec] is held by pid. A socket shared by
 * several processes (inherited across fork) has one entry per process. */
struct sockown {
    uint32_t rec;
    uint32_t pid;
};

struct sockrec_vec {
    struct sockrec *v;
    size_t n, cap;
    struct sockown *own;
    size_t nown, owncap;
};

void sockrec_vec_init(struct sockrec_vec *vec);
void sockrec_vec_free(struct sockrec_vec *vec);
/* Appends a record; returns a pointer to it (zeroed) or NULL when out of
 * memory. The pointer is valid until the next push. */
struct sockrec *sockrec_vec_push(struct sockrec_vec *vec);
enum pf_rc sockrec_vec_add_owner(struct sockrec_vec *vec, uint32_t rec, uint32_t pid);

#endif
