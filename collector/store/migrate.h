/* SPDX-License-Identifier: MIT */
/* migrate.h: `portfleet-collector migrate`. The numbered files of sql/ are
 * compiled into the binary (embed_sql.cmake), so the schema a collector
 * needs always travels with it. Each file is applied once, in its own
 * transaction, and recorded in schema_migrations(version, name,
 * applied_at); a session advisory lock keeps two concurrent runs from
 * interleaving. Running it again changes nothing. It also creates the
 * partitions of the next days, so a fresh database can take snapshots. */
#ifndef PF_MIGRATE_H
#define PF_MIGRATE_H

#include <stddef.h>

#include "error.h"

struct migration {
    int version;      /* from the file name's leading digits: 1 for 001_schema.sql */
    const char *name; /* "001_schema.sql" */
    const char *sql;  /* the whole file (static; several statements) */
};

/* The embedded migrations in version order (generated at build time). */
extern const struct migration migrations[];
extern const size_t nmigrations;

/* The highest embedded version: what `serve` requires of the database. */
int migrate_latest(void);

/* Connects to conninfo and applies what is missing. Returns PF_OK and
 * writes how many were applied into *applied; on error a message for the
 * administrator in err (PF_AGAIN: cannot connect; PF_INVALID: a migration
 * failed and was rolled back). */
enum pf_rc migrate_run(const char *conninfo, int *applied, char *err, size_t errlen);

#endif
