/* SPDX-License-Identifier: MIT */
/* buf.h: a growable byte buffer with a hard cap (after curl's dynbuf). Every
 * buffer that untrusted input can grow is a pf_buf with a cap; growing past
 * it fails with PF_TOOBIG and leaves the contents as they were. The data is
 * always NUL-terminated (the NUL is not counted in len). */
#ifndef PF_BUF_H
#define PF_BUF_H

#include <stddef.h>

#include "compat.h"
#include "error.h"

struct pf_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap; /* allocated, including room for the NUL */
    size_t max; /* largest len allowed */
};

/* Initialises an empty buffer that may hold at most max bytes. */
void pf_buf_init(struct pf_buf *b, size_t max);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void pf_buf_free(struct pf_buf *b);
/* Empties the buffer but keeps its storage. */
void pf_buf_reset(struct pf_buf *b);
/* Appends n bytes. PF_TOOBIG past max, PF_NOMEM when allocation fails. */
enum pf_rc pf_buf_append(struct pf_buf *b, const void *p, size_t n);
enum pf_rc pf_buf_puts(struct pf_buf *b, const char *s);
enum pf_rc pf_buf_printf(struct pf_buf *b, const char *fmt, ...) PF_PRINTF(2, 3);
/* Makes room for n more bytes without changing len; returns a pointer to
 * the free space (valid until the next call), or NULL with *rc set. */
char *pf_buf_reserve(struct pf_buf *b, size_t n, enum pf_rc *rc);
/* Drops the first n bytes (n <= len). */
void pf_buf_consume(struct pf_buf *b, size_t n);
/* Hands the storage to the caller (free() it) and empties the buffer. */
char *pf_buf_detach(struct pf_buf *b, size_t *len);

#endif
