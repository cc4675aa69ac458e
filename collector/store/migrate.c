/* SPDX-License-Identifier: MIT */
/* migrate.c: applies the embedded sql/ files. Migration files are static
 * multi-statement scripts that ship inside the binary, so they go through
 * PQexec (PQexecParams takes one statement); every value that varies
 * (versions, names, dates) goes through parameters. */
#include "migrate.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "fold.h"
#include "log.h"
#include "rollup.h"
#include "timeutil.h"

#define PARTITION_DAYS_AHEAD 3

int migrate_latest(void)
{
    return nmigrations ? migrations[nmigrations - 1].version : 0;
}

/* Runs one parameterless statement; on failure writes what and why. */
static enum pf_rc exec(PGconn *pg, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    enum pf_rc rc = PF_OK;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", what, PQresultErrorMessage(r));
        rc = PF_INVALID;
    }
    PQclear(r);
    return rc;
}

static bool applied_already(PGconn *pg, int version, enum pf_rc *rc, char *err, size_t errlen)
{
    char v[16];
    const char *params[1] = {v};
    PGresult *r;
    bool found;

    snprintf(v, sizeof(v), "%d", version);
    r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1::integer", 1, NULL,
                     params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "reading schema_migrations: %s", PQresultErrorMessage(r));
        *rc = PF_INVALID;
        PQclear(r);
        return false;
    }
    found = PQntuples(r) > 0;
    PQclear(r);
    *rc = PF_OK;
    return found;
}

static enum pf_rc apply(PGconn *pg, const struct migration *m, char *err, size_t errlen)
{
    char v[16];
    const char *params[2] = {v, m->name};
    PGresult *r;
    enum pf_rc rc;

    snprintf(v, sizeof(v), "%d", m->version);
    if ((rc = exec(pg, "BEGIN", "BEGIN", err, errlen)))
        return rc;
    r = PQexec(pg, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    r = PQexecParams(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1::integer, $2)",
                     2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(err, errlen, "recording %s: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    return exec(pg, "COMMIT", "COMMIT", err, errlen);
fail:
    PQclear(PQexec(pg, "ROLLBACK"));
    return PF_INVALID;
}

static enum pf_rc ensure_partitions(PGconn *pg, char *err, size_t errlen)
{
    int64_t today = pf_time_now() / 86400 * 86400;
    char first[PF_TIME_LEN], last[PF_TIME_LEN];
    const char *params[2] = {first, last};
    PGresult *r;
    enum pf_rc rc = PF_OK;

    pf_time_format(today - 86400, first);
    pf_time_format(today + PARTITION_DAYS_AHEAD * 86400, last);
    first[10] = last[10] = '\0'; /* "YYYY-MM-DD" */
    r = PQexecParams(pg, "SELECT pf_ensure_partitions($1::date, $2::date)", 2, NULL, params, NULL,
                     NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "creating partitions: %s", PQresultErrorMessage(r));
        rc = PF_INVALID;
    }
    PQclear(r);
    return rc;
}

enum pf_rc migrate_run(const char *conninfo, int *applied, char *err, size_t errlen)
{
    PGconn *pg;
    enum pf_rc rc;

    *applied = 0;
    for (size_t i = 1; i < nmigrations; i++)
        if (migrations[i].version <= migrations[i - 1].version) {
            snprintf(err, errlen, "sql/%s and sql/%s have the same version",
                     migrations[i - 1].name, migrations[i].name);
            return PF_INTERNAL;
        }
    pg = PQconnectdb(conninfo);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the database: %s",
                 pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return PF_AGAIN;
    }
    if ((rc = exec(pg, "SET client_min_messages = warning", "session", err, errlen)) ||
        (rc = exec(pg, "SELECT pg_advisory_lock(hashtext('portfleet.migrate'))", "locking",
                   err, errlen)) ||
        (rc = exec(pg,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version integer PRIMARY KEY,"
                   " name text NOT NULL,"
                   " applied_at timestamptz NOT NULL DEFAULT now())",
                   "creating schema_migrations", err, errlen)))
        goto out;
    for (size_t i = 0; i < nmigrations; i++) {
        const struct migration *m = &migrations[i];
        if (applied_already(pg, m->version, &rc, err, errlen))
            continue;
        if (rc || (rc = apply(pg, m, err, errlen)))
            goto out;
        pf_info("migrate: applied %s", m->name);
        (*applied)++;
    }
    /* generated from this build's lists of figures (sizing.h), not a file */
    if ((rc = rollup_ensure_columns(pg, err, errlen)))
        goto out;
    /* generated from the fold rules of this build (fold.h), not a file */
    if ((rc = exec(pg, fold_flush_sql, "installing pf_flush_process_hours()", err, errlen)))
        goto out;
    rc = ensure_partitions(pg, err, errlen);
out:
    PQfinish(pg); /* ends the session, and with it the advisory lock */
    return rc;
}
