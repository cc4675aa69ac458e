/* SPDX-License-Identifier: MIT */
/* analysis_rows.h: the row readers analysis_db.c loads a fleet with,
 * shared with the fleet mirror (fleet_mirror.h) so both read the rollups
 * into a struct fleet the same way: the big answers as COPY (FORMAT
 * binary) or, under Citus, single-row results, each row handed to a
 * row_fn as it arrives. Not an interface for anything else. */
#ifndef PF_ANALYSIS_ROWS_H
#define PF_ANALYSIS_ROWS_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "error.h"
#include "fleet.h"

/* One row of a binary answer, wherever it came from: a single-row result
 * or a COPY ... (FORMAT binary) message. v[c] NULL: the value is NULL. */
#define AROW_COLS 128
struct arow {
    int n;
    const unsigned char *v[AROW_COLS];
    int len[AROW_COLS];
};

typedef enum pf_rc (*row_fn)(struct fleet *f, const struct arow *r);

/* How the big queries answer: COPY, or (Citus) single-row mode. */
struct loader {
    PGconn *pg;
    bool copy;
};

/* SELECT EXISTS (the citus extension): its one value is "t" or "f". */
extern const char analysis_rows_citus_sql[];

/* Runs sql (binary, parameters vals[0..n)) and hands each row to fn. On
 * the COPY path the parameters become settings local to the transaction
 * (one must be open). PF_OK; PF_AGAIN with err when the database failed;
 * else fn's error. */
enum pf_rc analysis_rows_load(const struct loader *ld, const char *sql, int n,
                              const char *const *vals, struct fleet *f, row_fn fn, char *err,
                              size_t errlen, const char *what);
/* Runs a parameterless command; -1 with the reason in err on failure. */
int analysis_rows_command(PGconn *pg, const char *sql, char *err, size_t errlen);

/* Row i of a result with analysis_db.c's host columns into x's
 * configuration (x's series untouched). */
enum pf_rc analysis_rows_host_config(const PGresult *r, int i, struct fleet_host *x);
/* The host of a host_hours or process_hours row (agent id in column 0,
 * hour in column 1) and the row's hour in *h; NULL when the host is not
 * in f or the hour outside its window. */
struct fleet_host *analysis_rows_row_host(struct fleet *f, const struct arow *r, long *h);
/* The VPN columns of a host_hours row into v; false when it has none. */
bool analysis_rows_vpn(const struct arow *r, struct fleet_vpn *v);
/* One host_hours row (the columns of analysis_rows_hours_sql()) folded
 * into its host's hour; rows of hosts not in f or hours outside its
 * window are skipped. */
enum pf_rc analysis_rows_host_hour(struct fleet *f, const struct arow *r);
/* One process_hours row (analysis_db.c's process columns) folded into
 * its process's hour, likewise. */
enum pf_rc analysis_rows_proc_hour(struct fleet *f, const struct arow *r);
/* The host_hours columns analysis_rows_host_hour() reads (alias h), then
 * tail (FROM ...) into sql. PF_TOOBIG when it does not fit. */
enum pf_rc analysis_rows_hours_sql(char *sql, size_t len, const char *tail);

/* The process_hours columns analysis_rows_proc_hour() reads (alias p),
 * to be followed by FROM process_hours p ... */
#define ANALYSIS_ROWS_PROC_COLS                                                                    \
    "SELECT p.agent_id::text, p.hour, p.name, p.service, p.held_max, p.held_min, p.bound_max, "   \
    "p.remote_addr, p.remote_port, p.remote_at "

#endif
