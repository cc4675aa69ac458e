/* SPDX-License-Identifier: MIT */
/* db.h: PostgreSQL work off the event loop. A few worker threads, each
 * with its own PGconn, take jobs from one queue. A job's ops may let a
 * worker take several queued jobs of the same kind at once (group commit:
 * ingest writes many requests' snapshots in one transaction, so the fsync
 * of COMMIT is paid once per group, not per request). Finished jobs go to a
 * completion list and an eventfd wakes the loop, which calls each job's
 * done() on its own thread: only the loop touches connections and sockets.
 *
 * A worker connects lazily and reconnects by itself after the database
 * went away, at most once a second; while it cannot connect, db_pg()
 * returns NULL and jobs answer 503 at once instead of queueing up. */
#ifndef PF_DB_H
#define PF_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "error.h"

struct db;
struct db_conn;
struct db_job;

struct db_job_ops {
    const char *name;
    /* A worker takes up to group_max queued jobs of these ops together
     * (1: one at a time), adding jobs while their weights sum to at most
     * group_weight (the first job is always taken). */
    size_t group_max;
    size_t group_weight;
    /* Runs on a worker thread. Must fill every job's result. */
    void (*run)(struct db_conn *dc, struct db_job **jobs, size_t n);
};

struct db_job {
    const struct db_job_ops *ops;
    size_t weight;                  /* e.g. body bytes */
    void (*done)(struct db_job *j); /* on the loop thread, after run */
    struct db_job *next;            /* private to db.c */
};

struct db_opts {
    const char *conninfo; /* libpq connection string or URI */
    int workers;          /* threads and connections, >= 1 */
    size_t queue_max;     /* db_submit() refuses beyond this many queued jobs */
    /* Called on the worker right after each (re)connection; returns PF_OK,
     * or an error with the reason in err (logged once per outage) to drop
     * the connection and retry later. */
    enum pf_rc (*on_connect)(struct db_conn *dc, PGconn *pg, char *err, size_t errlen);
};

/* Starts the workers. Returns PF_OK and *out, or an error with *out NULL.
 * opts->conninfo must outlive the pool. Free with db_free(). */
enum pf_rc db_new(const struct db_opts *opts, struct db **out);
/* Stops taking jobs, lets workers finish the queue, joins them, calls the
 * done() of every finished job, frees the pool. NULL does nothing. */
void db_free(struct db *d);

/* Queues j. PF_AGAIN when the queue is full (answer 429), PF_OK otherwise;
 * j->done() will be called exactly once after PF_OK. */
enum pf_rc db_submit(struct db *d, struct db_job *j);
/* The fd the loop watches for readability; then call db_complete(). */
int db_event_fd(const struct db *d);
/* On the loop thread: calls done() of every job finished so far. */
void db_complete(struct db *d);
/* Jobs waiting for a worker, and whether the last connection attempt or
 * query of any worker succeeded (for logs and /v1/status). */
size_t db_queue_depth(struct db *d);
bool db_up(struct db *d);

/* For run() and on_connect: this worker's connection, connecting first if
 * needed. NULL when the database cannot be reached right now (already
 * logged; answer 503). */
PGconn *db_pg(struct db_conn *dc);
/* After a failed query: drops the connection if libpq says it is broken,
 * so the next db_pg() reconnects. Returns true when it was dropped. */
bool db_check(struct db_conn *dc);
/* Drops the connection whatever libpq says (a protocol state the caller
 * cannot recover, e.g. a pipeline that did not end); logs why. The next
 * db_pg() reconnects. */
void db_drop(struct db_conn *dc, const char *why);
/* In run(), for one of its own jobs: j is not finished when run() returns;
 * whoever holds it then passes it to db_release(), from this or another
 * worker. Lets one worker finish jobs that others took (ingest's shared
 * writer). The worker remembers what it held, so a job released by another
 * thread before run() returns is never finished twice. */
void db_hold(struct db_conn *dc, struct db_job *j);
void db_release(struct db_conn *dc, struct db_job *j);

/* A per-connection slot for the store's own state (freed with the
 * connection through the free function given when setting it). */
void *db_conn_state(struct db_conn *dc);
void db_conn_set_state(struct db_conn *dc, void *state, void (*free_fn)(void *));

/* The SQLSTATE of a failed result ("" when none). */
const char *db_sqlstate(const PGresult *res);

/* A statement prepared on every new connection (in on_connect). */
struct db_statement {
    const char *name, *sql;
};

/* PQprepare()s st[0..n) on pg. PF_OK, or PF_INVALID with *failed (the
 * caller PQclear()s it). */
enum pf_rc db_prepare(PGconn *pg, const struct db_statement *st, size_t n, PGresult **failed);

/* Runs sql with n text parameters, or, when prepared, the prepared
 * statement of that name. PF_OK when the result has status want (it is
 * cleared), else PF_INVALID with *failed (the caller PQclear()s it). */
enum pf_rc db_run(PGconn *pg, bool prepared, const char *sql, int n, const char *const *vals,
                  ExecStatusType want, PGresult **failed);

#endif
