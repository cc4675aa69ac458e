/* SPDX-License-Identifier: MIT */
/* fault.h: what the write path does when the database is down, slow or
 * says no. A failed statement is classified once (fault_classify(), by
 * SQLSTATE) into what the caller does next: give up for now and answer 503
 * (F_UNAVAILABLE), run the transaction again (F_RETRY: deadlock,
 * serialisation failure, a partition dropped under it), refuse the data
 * (F_DATA) or report a bug (F_BUG). And pipelines: several statements
 * sent in one round trip (libpq pipeline mode), their results read in
 * order, the first failure being the fault, and a connection that cannot
 * finish a pipeline dropped rather than reused in an unknown state. */
#ifndef PF_FAULT_H
#define PF_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"
#include "error.h"

enum fault { F_NONE = 0, F_UNAVAILABLE, F_RETRY, F_DATA, F_BUG };

/* What the failed result r (NULL: none came) of the statement described
 * by what means for the caller; logs it (retries at info, unavailability
 * at warning, the rest as errors). Does not free r. */
enum fault fault_classify(struct db_conn *dc, PGresult *r, const char *what);

/* The caller's return code for f: PF_OK, PF_AGAIN (unavailable, or retries
 * spent), PF_INVALID (data refused), PF_INTERNAL. */
enum pf_rc fault_rc(enum fault f);

/* Ends the open transaction, unless the connection is gone (then the
 * server ended it). */
void fault_rollback(struct db_conn *dc, PGconn *pg);

#define FAULT_PIPE_MAX 4 /* statements of one pipeline */

/* One pipeline: begin, send statements and note each, end. */
struct fault_pipe {
    size_t n;
    bool sent;                           /* every send went out */
    const char *what[FAULT_PIPE_MAX];    /* for the log */
    ExecStatusType want[FAULT_PIPE_MAX]; /* the status of success */
    PGresult **keep[FAULT_PIPE_MAX];     /* takes the result when not NULL */
};

/* Enters pipeline mode (p->sent false when libpq refused). */
void fault_pipe_begin(PGconn *pg, struct fault_pipe *p);
/* Notes the statement just sent (sent: what the PQsend*() returned): its
 * result must have status want; keep, when not NULL, takes the result
 * (the caller frees it). More than FAULT_PIPE_MAX statements make the
 * pipeline fail as unsent. */
void fault_pipe_note(struct fault_pipe *p, bool sent, const char *what, ExecStatusType want,
                     PGresult **keep);
/* Sends a statement without parameters (BEGIN, COMMIT) and notes it. */
void fault_pipe_command(PGconn *pg, struct fault_pipe *p, const char *sql);
/* Syncs and reads every result; F_NONE when each had its wanted status,
 * else the first failure's fault (kept results are then freed and NULL
 * only when the pipeline broke). Leaves pipeline mode, or drops the
 * connection (F_UNAVAILABLE). */
enum fault fault_pipe_end(struct db_conn *dc, PGconn *pg, struct fault_pipe *p);

#endif
