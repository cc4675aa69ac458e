/* SPDX-License-Identifier: MIT */
/* copyrow.h: rows in PostgreSQL's COPY text format, the way ingest hands
 * its data to the database without an INSERT per row: a row is built
 * column by column into a capped pf_buf (tabs between columns, \N for
 * NULL, COPY's escapes for backslash, newline, carriage return and tab),
 * and the first failure sticks in the row (rc), so a writer checks once
 * at the end. Also the rows of the layout before sql/020 (one row per
 * snapshot, process and remote), which the benchmark's raw-COPY reference
 * writes. */
#ifndef PF_COPYROW_H
#define PF_COPYROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "snapshot.h"

/* One row being written into b. rc is the first failure (PF_TOOBIG when b
 * is full); every call after it does nothing. Start with {b, PF_OK, 0}. */
struct copyrow {
    struct pf_buf *b;
    enum pf_rc rc;
    int ncols;
};

void copyrow_null(struct copyrow *r);
void copyrow_u64(struct copyrow *r, uint64_t v);
void copyrow_bool(struct copyrow *r, bool v);
/* A text value, COPY-escaped (the codec checked the UTF-8). */
void copyrow_text(struct copyrow *r, const char *s);
/* A text[] literal {"a","b"} of n identifiers. */
void copyrow_text_array(struct copyrow *r, const char (*v)[PF_ID_LEN], size_t n);
/* n bytes as one column, as they are: the caller escaped them. */
void copyrow_raw(struct copyrow *r, const char *p, size_t n);
/* Ends the row (newline); the next value starts a new row. */
void copyrow_end(struct copyrow *r);

/* A JSON list of ranges, [{"proto","family","start","count"}], into
 * lit[cap]; false when it does not fit (cannot happen within the model's
 * caps when cap is 64 bytes per range + 3). */
bool copyrow_ranges_json(const struct pf_range *v, size_t n, char *lit, size_t cap);

/* The COPY statements of the layout before sql/020 (snapshots_v1,
 * snapshot_processes_v1, snapshot_remotes_v1), and the rows of one
 * snapshot in it appended to snaps, procs and remotes. PF_OK, PF_INVALID
 * (a time that cannot be written) or PF_TOOBIG (a buffer is full; no half
 * row is left behind). */
extern const char *const copyrow_snapshots_sql;
extern const char *const copyrow_processes_sql;
extern const char *const copyrow_remotes_sql;
enum pf_rc copyrow_snapshot(const struct pf_snapshot *s, struct pf_buf *snaps, struct pf_buf *procs,
                            struct pf_buf *remotes);

#endif
