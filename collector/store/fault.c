/* SPDX-License-Identifier: MIT */
/* fault.c: the write path's failures and pipelines (fault.h). The SQLSTATE
 * classes decide: 40 (transaction rollback) and 23514 (a check failed:
 * the row fits no partition, one was dropped under us) are worth another
 * attempt; 08, 53, 57 and 58 (connection, resources, operator, system) and
 * no state at all mean the database is unavailable for now; 22 and 23 are
 * data it refuses; anything else is a bug of ours. */
#include "fault.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

enum fault fault_classify(struct db_conn *dc, PGresult *r, const char *what)
{
    const char *st = db_sqlstate(r);
    char m[300];
    size_t n;

    snprintf(m, sizeof(m), "%s", r ? PQresultErrorMessage(r) : "no result");
    n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
    if (db_check(dc))
        return F_UNAVAILABLE; /* the connection is gone (db_check logged it) */
    if (strncmp(st, "40", 2) == 0 || strcmp(st, "23514") == 0) {
        pf_info("database: %s: %s (SQLSTATE %s), retrying", what, m, st);
        return F_RETRY;
    }
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
        strncmp(st, "58", 2) == 0 || strcmp(st, "") == 0) {
        pf_warn("database: %s: %s (SQLSTATE %s)", what, m, st);
        return F_UNAVAILABLE;
    }
    pf_error("database: %s: %s (SQLSTATE %s)", what, m, st);
    return strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 ? F_DATA : F_BUG;
}

enum pf_rc fault_rc(enum fault f)
{
    switch (f) {
    case F_NONE: return PF_OK;
    case F_UNAVAILABLE:
    case F_RETRY: return PF_AGAIN;
    case F_DATA: return PF_INVALID;
    case F_BUG: break;
    }
    return PF_INTERNAL;
}

void fault_rollback(struct db_conn *dc, PGconn *pg)
{
    if (!db_check(dc))
        PQclear(PQexecParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0));
}

/* ---- pipelines: several statements in one round trip ---- */

void fault_pipe_begin(PGconn *pg, struct fault_pipe *p)
{
    memset(p, 0, sizeof(*p));
    p->sent = PQenterPipelineMode(pg) == 1;
}

void fault_pipe_note(struct fault_pipe *p, bool sent, const char *what, ExecStatusType want,
                     PGresult **keep)
{
    if (!sent || p->n == FAULT_PIPE_MAX) {
        p->sent = false;
        return;
    }
    p->what[p->n] = what;
    p->want[p->n] = want;
    p->keep[p->n] = keep;
    p->n++;
}

void fault_pipe_command(PGconn *pg, struct fault_pipe *p, const char *sql)
{
    if (p->sent)
        fault_pipe_note(p, PQsendQueryParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0) == 1, sql,
                        PGRES_COMMAND_OK, NULL);
}

/* Syncs and reads every result, in order. The first statement that failed
 * is the fault (the server skipped the ones after it); results are read to
 * the end before classifying it, since fault_classify() may close the
 * connection. Leaves pipeline mode, or drops a connection that cannot. */
enum fault fault_pipe_end(struct db_conn *dc, PGconn *pg, struct fault_pipe *p)
{
    PGresult *bad = NULL, *r;
    const char *bad_what = NULL;
    bool broken = !p->sent || PQpipelineSync(pg) != 1;
    enum fault f = F_NONE;

    for (size_t i = 0; i < p->n && !broken; i++) {
        if (!(r = PQgetResult(pg))) {
            broken = true;
            break;
        }
        if (PQresultStatus(r) == p->want[i] && p->keep[i]) {
            *p->keep[i] = r;
        } else if (PQresultStatus(r) != p->want[i] && !bad &&
                   PQresultStatus(r) != PGRES_PIPELINE_ABORTED) {
            bad = r;
            bad_what = p->what[i];
        } else {
            PQclear(r);
        }
        while ((r = PQgetResult(pg)) != NULL) /* the end of statement i */
            PQclear(r);
    }
    if (!broken) {
        r = PQgetResult(pg);
        broken = PQresultStatus(r) != PGRES_PIPELINE_SYNC;
        PQclear(r);
    }
    if (broken || PQexitPipelineMode(pg) != 1) {
        for (size_t i = 0; i < p->n; i++)
            if (p->keep[i] && *p->keep[i]) {
                PQclear(*p->keep[i]);
                *p->keep[i] = NULL;
            }
        PQclear(bad);
        if (!db_check(dc))
            db_drop(dc, "a pipeline of statements did not complete");
        return F_UNAVAILABLE;
    }
    if (bad) {
        f = fault_classify(dc, bad, bad_what);
        PQclear(bad);
    }
    return f;
}
