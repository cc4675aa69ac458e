/* SPDX-License-Identifier: MIT */
/* error.c: descriptions of enum pf_rc. */
#include "error.h"

const char *pf_strerror(enum pf_rc rc)
{
    switch (rc) {
    case PF_OK: return "ok";
    case PF_AGAIN: return "temporary failure, try again";
    case PF_NOMEM: return "out of memory";
    case PF_TOOBIG: return "input too large";
    case PF_INVALID: return "invalid input";
    case PF_NOTFOUND: return "not found";
    case PF_UNSUPPORTED: return "not supported here";
    case PF_IO: return "input/output error";
    case PF_PERM: return "permission denied";
    case PF_PROTO: return "protocol error";
    case PF_INTERNAL: return "internal error";
    }
    return "unknown error";
}

int pf_rc_retryable(enum pf_rc rc)
{
    return rc == PF_AGAIN || rc == PF_IO;
}
