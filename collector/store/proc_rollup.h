/* SPDX-License-Identifier: MIT */
/* proc_rollup.h: process_hours (sql/010), a row per busy process and hour,
 * kept off the ingest transaction's path.
 *
 * A snapshot lists up to 50 processes; updating their process_hours rows
 * in the ingest transaction cost as much as storing the processes
 * themselves. Instead:
 *  - ingest queues the key of every snapshot it stores for the first time
 *    in process_hours_queue, in the same transaction (store.c);
 *  - after the COMMIT, proc_rollup_add() folds those snapshots into an
 *    accumulator in memory, one row per agent, hour, name and service;
 *  - proc_rollup_flush(), every second, writes the accumulator in one
 *    statement and deletes the queued keys it covered, in one
 *    transaction. When that fails (the database away, or another writer
 *    holding the lock for longer than PROC_ROLLUP_LOCK_WAIT) the rows go
 *    back into the accumulator, merged with what was folded since, for
 *    the next flush. Then it folds orphans for up to PROC_ROLLUP_ORPHAN_MS:
 *    keys queued over a minute ago (their collector died, or the
 *    accumulator was full) are folded from the stored rows by
 *    pf_flush_process_hours() (sql/012, collector/capacity/fold.c);
 *  - before every analysis, proc_rollup_catch_up() folds queued keys from
 *    the stored rows the same way, for up to PROC_ROLLUP_CATCH_UP_MS, so
 *    an answer includes every stored snapshot, or, behind a backlog (a
 *    bulk import), is not held up by it: the analysis then reads what is
 *    folded, and the flushes fold the rest.
 * Every fold of the queue takes PROC_ROLLUP_SQL_BATCH snapshots per
 * transaction, so a writer waits at most one batch for the lock.
 * The merge is idempotent (maxima, minima, the remote of the latest
 * snapshot), so a snapshot folded twice, from memory and from the queue,
 * changes nothing; none is lost while its key is queued. Every writer of
 * process_hours holds one advisory lock until its commit, so writers never
 * deadlock and an analysis waits for a write in flight. The rules are
 * fleet_add_snapshot()'s (fleet.c). */
#ifndef PF_PROC_ROLLUP_H
#define PF_PROC_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "error.h"
#include "snapshot.h"

/* Snapshots one pf_flush_process_hours() call takes from the queue: a
 * fraction of a second (about 0.2 ms a snapshot, sql/140). */
#define PROC_ROLLUP_SQL_BATCH 500
/* Rows the accumulator holds at most; beyond, snapshots are left to the
 * queue (and folded from it a minute later). */
#define PROC_ROLLUP_MAX_ROWS 1000000
/* Age after which a queued key is an orphan. */
#define PROC_ROLLUP_ORPHAN_S 60
/* How long one flush folds orphans (it runs every second), and an
 * analysis the queue, at most (a batch started is finished). */
#define PROC_ROLLUP_ORPHAN_MS 1000
#define PROC_ROLLUP_CATCH_UP_MS 2000
/* How long a writer waits for the writers' lock (SQL text). */
#define PROC_ROLLUP_LOCK_WAIT "'5s'"

/* Prepares this module's statements on a new connection. PF_OK, or
 * PF_INVALID with *failed (the caller PQclear()s it). */
enum pf_rc proc_rollup_prepare(PGconn *pg, PGresult **failed);

/* Folds committed, freshly stored snapshots into the accumulator.
 * Thread-safe. */
void proc_rollup_add(const struct pf_snapshot *const *snaps, size_t n);

/* Writes the accumulator and folds the orphans (see above), on a pooled
 * connection (prepared) that is not in a transaction. PF_OK; PF_NOMEM; or
 * PF_INVALID with *failed (caller PQclear()s it). Rows that could not be
 * written wait in the accumulator for the next call. */
enum pf_rc proc_rollup_flush(PGconn *pg, size_t *written, PGresult **failed);

/* Folds queued keys from the stored rows (any connection, not in a
 * transaction) until none is left (*done) or budget_ms have passed;
 * *taken: how many. Errors as proc_rollup_flush(); what was folded before
 * a failure stays folded. */
enum pf_rc proc_rollup_catch_up(PGconn *pg, long long budget_ms, size_t *taken, bool *done,
                                PGresult **failed);

/* True when failed is a writer giving up on the lock (PROC_ROLLUP_LOCK_WAIT):
 * the database is fine, another writer is busy. */
bool proc_rollup_lock_busy(const PGresult *failed);

#endif
