/* SPDX-License-Identifier: MIT */
/* error.h: the one error enum of portfleet. Zero is success; every function
 * that can fail returns an enum pf_rc, and callers write
 * `rc = f(); if(rc) goto out;`. OS errors are translated where they occur. */
#ifndef PF_ERROR_H
#define PF_ERROR_H

enum pf_rc {
    PF_OK = 0,
    PF_AGAIN,       /* temporary: try again later (network, 5xx, busy) */
    PF_NOMEM,       /* allocation failed */
    PF_TOOBIG,      /* input exceeds a cap */
    PF_INVALID,     /* malformed input; a message says where */
    PF_NOTFOUND,    /* no such file, key or entry */
    PF_UNSUPPORTED, /* not available on this OS or kernel */
    PF_IO,          /* read, write or fsync failed */
    PF_PERM,        /* not allowed: permission, authentication */
    PF_PROTO,       /* the peer broke the protocol */
    PF_INTERNAL     /* a bug: should not happen */
};

/* Returns a static English description of rc; never NULL. */
const char *pf_strerror(enum pf_rc rc);

/* Returns non-zero when rc is worth retrying later (PF_AGAIN, PF_IO). */
int pf_rc_retryable(enum pf_rc rc);

#endif
