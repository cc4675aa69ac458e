/* SPDX-License-Identifier: MIT */
/* store.h: every SQL statement of the collector's write path, run on a
 * database worker's connection (db.h). Statements are prepared once per
 * connection; values travel as parameters or as COPY data, never inside
 * SQL text.
 *
 * Ingest, in one transaction per group of requests (store_ingest), in
 * three round trips besides the COPYs (libpq pipeline mode):
 *   1. BEGIN, lock the batch's agents rows in agent_id order and set
 *      their last_seen (two transactions sharing an agent take turns from
 *      there: no deadlock), and INSERT the (agent_id, seq, taken_at) keys
 *      into snapshot_seqs with ON CONFLICT DO NOTHING RETURNING: the keys
 *      that come back are new (the same statement queues them for
 *      process_hours);
 *   2. COPY only those snapshots' rows straight into the partitioned
 *      snapshots, snapshot_processes and snapshot_remotes;
 *   3. the hourly rollup upserts of the new snapshots (rollup.h), so
 *      rollups never count a snapshot that was not stored, and COMMIT.
 *      Only then does anyone answer 200.
 * Compared with COPY into a staging table and INSERT ... SELECT from it,
 * this writes each data row once, not twice, and still decides duplicates
 * inside the database (the unique index of snapshot_seqs), so two
 * collectors or two workers racing on one key cannot both store it. */
#ifndef PF_STORE_H
#define PF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "auth.h"
#include "buf.h"
#include "db.h"
#include "error.h"
#include "snapshot.h"

#define STORE_DAYS_AHEAD 3 /* partitions kept ready beyond today */

/* db_opts.on_connect: session settings (UTC, timeouts), checks that the
 * schema is at migrate_latest() (else the reason in err), prepares the
 * statements. */
enum pf_rc store_on_connect(struct db_conn *dc, PGconn *pg, char *err, size_t errlen);

/* The agent whose node key has this SHA-256 (auth_hash) and is not
 * revoked: PF_OK and agent_id, PF_NOTFOUND, or PF_AGAIN when the database
 * is unavailable. */
enum pf_rc store_agent_by_hash(struct db_conn *dc, const uint8_t hash[AUTH_HASH_LEN],
                               char agent_id[AUTH_UUID_LEN]);

/* Records a new agent with the hash of its node key. PF_OK, PF_AGAIN
 * (database unavailable), PF_INTERNAL (logged). */
enum pf_rc store_enroll(struct db_conn *dc, const char *agent_id, const char *node_key,
                        const char *tenant, const char *name, const char *site,
                        const char *machine_id);

struct store_item {
    const struct pf_snapshot *s; /* agent_id is a valid UUID */
    bool fresh;                  /* out: stored now (false: a duplicate) */
};

/* Stores the snapshots of items in one transaction (see above) and sets
 * each item's fresh flag. A key repeated inside items is stored once (the
 * first item is fresh). Retries by itself after a deadlock, a
 * serialisation failure or a partition that vanished. Returns PF_OK;
 * PF_AGAIN when the database is unavailable (nothing stored); PF_INVALID
 * when the database refused the data (nothing stored; logged) */
enum pf_rc store_ingest(struct db_conn *dc, struct store_item *items, size_t n);

/* Creates the partitions of yesterday .. today + STORE_DAYS_AHEAD (and
 * their rollup months), drops those of days before today - retention_days
 * (and their dedup and queued keys), and the monthly rollup partitions
 * that end before today - rollup_retention_days. PF_OK or PF_AGAIN. */
enum pf_rc store_maintain(struct db_conn *dc, int retention_days, int rollup_retention_days);

/* Writes the process_hours accumulator and folds orphaned queue entries
 * (proc_rollup_flush()). PF_OK, PF_AGAIN when the database is unavailable,
 * or another error (logged). */
enum pf_rc store_flush_rollups(struct db_conn *dc);

/* SELECT 1. PF_OK or PF_AGAIN. */
enum pf_rc store_ping(struct db_conn *dc);

#endif
