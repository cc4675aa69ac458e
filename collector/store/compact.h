/* SPDX-License-Identifier: MIT */
/* compact.h: the write side of the compact layout (sql/020), one ingest
 * transaction at a time: the agent_strings ids of the strings a snapshot's
 * body refers to (body.h), host facts stored once per change (host_facts),
 * and the snapshot_data rows by COPY. A process-wide cache remembers what
 * is committed (ids never change once committed), so a string or a host's
 * facts go to the database only the first time this process sees them.
 * Used by store.c's ingest transaction, in its order: compact_missing()
 * and compact_send_strings() with the keys, compact_take_ids() and
 * compact_resolve(), then compact_copy(), compact_send_facts() before
 * COMMIT, compact_commit() after it.
 *
 * Numbering: each agent's strings are numbered 1, 2, ... after its
 * counter (agent_string_next, sql/022), whose row the transaction locks
 * until COMMIT; agent_strings' keys, (agent_id, id) and (agent_id, value),
 * guarantee that no string ever has two ids and no id two strings, even
 * with several collectors on one database.
 *
 * A remote endpoint without an id, seen for the first time (by this
 * process, in one snapshot of the batch), is stored inline in the body
 * instead (body.h, sql/130); the bodies use exactly the ids and inline
 * endpoints compact_missing() decided on. Every string a body uses has a
 * last_day at or past the body's day (sql/131), so retention can drop
 * the strings no kept body uses: compact_touch(). */
#ifndef PF_COMPACT_H
#define PF_COMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "db.h"
#include "error.h"
#include "fault.h"
#include "snapshot.h"
#include "store.h"

/* Prepares the statements of this module on a new connection. PF_OK, or
 * PF_INTERNAL with the failed result in *bad (the caller frees it). */
enum pf_rc compact_prepare(PGconn *pg, PGresult **bad);

/* One transaction's ids and facts. NULL when out of memory; free with
 * compact_free() (NULL does nothing). */
struct compact *compact_new(void);
void compact_free(struct compact *c);

/* Collects the strings of the snapshots items[cand[0..ncand)] that the
 * cache lacks; *n is how many. PF_OK or PF_NOMEM. */
enum pf_rc compact_missing(struct compact *c, const struct store_item *items, const size_t *cand,
                           size_t ncand, size_t *n);
/* Sends the statement that numbers the missing strings (in the caller's
 * pipeline; its result has PGRES_TUPLES_OK). True when it went out. */
bool compact_send_strings(struct compact *c, PGconn *pg);
/* Takes the numbering's result (and frees it). PF_OK or PF_NOMEM. */
enum pf_rc compact_take_ids(struct compact *c, PGresult *strings);
/* After compact_take_ids(), inside the same transaction: gives an id to
 * every string of the candidates that the numbering did not return
 * (stored before by another collector, or before this process started):
 * looks them up, and when some are still unknown (their numbers collided
 * with rows the counter did not cover), moves the agents' counters past
 * their highest id and numbers them again. F_NONE, F_RETRY when strings
 * are still without an id after that, or the fault of a statement. */
enum fault compact_resolve(struct compact *c, struct db_conn *dc, PGconn *pg,
                           const struct store_item *items, const size_t *cand, size_t ncand);

/* After compact_resolve(), before the bodies are stored: moves up the
 * last_day (sql/131) of the strings the batch uses that this process
 * last wrote for an earlier day (or found stored). F_NONE; F_RETRY when
 * one was deleted by retention meanwhile (the cache is then emptied, so
 * the next attempt numbers it again); or the statement's fault. */
enum fault compact_touch(struct compact *c, struct db_conn *dc, PGconn *pg);

/* The hash of a host's facts: host_facts keeps one row per agent and hash. */
int64_t compact_facts_hash(const struct pf_snapshot *s);

/* COPYs the snapshot_data rows of fresh[0..n), whose facts hashes are
 * fh[0..n). F_RETRY when a string has no id (another transaction
 * numbered the same agent's strings at the same time). */
enum fault compact_copy(struct compact *c, struct db_conn *dc, PGconn *pg,
                        const struct pf_snapshot *const *fresh, const int64_t *fh, size_t n);
/* Sends the host_facts rows of those of fresh[0..n) whose facts the
 * process has not seen committed, in the caller's pipeline; *sent is true
 * when a statement went out (its result has PGRES_COMMAND_OK). PF_OK, or
 * an error with nothing sent. */
enum pf_rc compact_send_facts(struct compact *c, PGconn *pg, const struct pf_snapshot *const *fresh,
                              const int64_t *fh, size_t n, bool *sent);
/* After COMMIT: the ids taken and the facts of fresh[0..n) are committed;
 * the cache remembers them. */
void compact_commit(struct compact *c, const struct pf_snapshot *const *fresh, const int64_t *fh,
                    size_t n);

#endif
