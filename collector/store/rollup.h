/* SPDX-License-Identifier: MIT */
/* rollup.h: the host rollups of sql/010 (host_hours, host_latest)
 * maintained at ingest, so the capacity analysis reads one row per host and
 * hour instead of every snapshot (process_hours: proc_rollup.h).
 * store_ingest() calls rollup_send() inside its transaction with the
 * snapshots stored for the first time, so a rollup never counts a snapshot
 * that was not committed, nor a duplicate twice.
 *
 * The batch is folded in memory first (one row per host-hour, per host),
 * with fleet_add_snapshot()'s rules, then written with two prepared
 * statements whose values travel as array parameters (unnest) and merge
 * with the stored rows by ON CONFLICT DO UPDATE: GREATEST for maxima, + for
 * event counts, the newer taken_at for the latest configuration. Rows are
 * sent in key order, so two transactions touching the same hours lock them
 * in the same order. */
#ifndef PF_ROLLUP_H
#define PF_ROLLUP_H

#include <stddef.h>

#include <libpq-fe.h>

#include "error.h"
#include "snapshot.h"

/* Prepares rollup_send()'s statements on a new connection. PF_OK, or
 * PF_INVALID with *failed (the caller PQclear()s it). */
enum pf_rc rollup_prepare(PGconn *pg, PGresult **failed);

/* Folds snaps[0..n) into host_hours and host_latest rows and sends their
 * statements on pg, which is in pipeline mode inside the caller's
 * transaction; *nsent tells how many (0 to 2). The caller syncs and reads
 * their results (PGRES_COMMAND_OK each), so they cost no round trip of
 * their own. Returns PF_OK; PF_NOMEM; PF_AGAIN when libpq could not send
 * (the connection is gone). */
enum pf_rc rollup_send(PGconn *pg, const struct pf_snapshot *const *snaps, size_t n,
                       size_t *nsent);

/* Adds to host_hours each sizing column (sizing.h: its own figures and the
 * figures of common/snapshot_fields.h marked rollup) it lacks, so a
 * figure added to those lists needs no migration file. `migrate` calls it
 * after the sql/ files. PF_OK, or an error with err saying why. */
enum pf_rc rollup_ensure_columns(PGconn *pg, char *err, size_t errlen);

#endif
