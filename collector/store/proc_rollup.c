/* SPDX-License-Identifier: MIT */
/* proc_rollup.c: the process_hours accumulator and its flushes (see
 * proc_rollup.h and sql/012_process_hours_queue.sql). */
#include "proc_rollup.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "db.h"
#include "fleet.h"
#include "fold.h"
#include "log.h"
#include "pgarray.h"
#include "timeutil.h"

#define PROC_COLS 10
#define KEY_COLS 2

/* One process_hours row being folded; name and service live after it. */
struct prow {
    struct prow *next; /* hash chain */
    uint64_t hash;
    int64_t hour;
    int64_t held_max, held_min, bound_max;
    int64_t remote_at; /* -1: no remote seen */
    uint16_t remote_port;
    char remote_addr[PF_ADDR_LEN];
    char agent_id[PF_ID_LEN];
    const char *name, *service;
    char strings[];
};

struct pkey {
    char agent_id[PF_ID_LEN];
    uint64_t seq;
};

/* What was folded since the last flush: rows in a hash table, and the
 * queued keys they cover. */
struct acc {
    struct prow **buckets;
    size_t nbuckets, nrows;
    struct pkey *keys;
    size_t nkeys, capkeys;
};

static pthread_mutex_t acc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct acc acc;
static bool acc_full_logged;

static const char proc_sql[] =
    "INSERT INTO process_hours AS p (agent_id, hour, name, service, held_max, held_min, "
    "bound_max, remote_addr, remote_port, remote_at) "
    "SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::bigint[], "
    "$6::bigint[], $7::bigint[], $8::text[], $9::integer[], $10::timestamptz[]) "
    "ON CONFLICT (agent_id, hour, name, service) DO UPDATE SET " FOLD_PROC_SET_SQL;

static const char unqueue_sql[] =
    "DELETE FROM process_hours_queue q USING unnest($1::uuid[], $2::bigint[]) AS u(a, s) "
    "WHERE q.agent_id = u.a AND q.seq = u.s";

static const char fold_sql[] = "SELECT pf_flush_process_hours($1::integer, $2::bigint, "
                               "make_interval(secs => $3::integer))";

enum pf_rc proc_rollup_prepare(PGconn *pg, PGresult **failed)
{
    static const struct db_statement st[] = {{"proc_rollup", proc_sql},
                                             {"proc_unqueue", unqueue_sql}};

    return db_prepare(pg, st, sizeof(st) / sizeof(st[0]), failed);
}

/* ---- the accumulator ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t key_hash(const char *agent_id, int64_t hour, const char *name, const char *service)
{
    uint64_t h = 0xcbf29ce484222325ull;

    h = fnv(h, agent_id, strlen(agent_id) + 1);
    h = fnv(h, &hour, sizeof(hour));
    h = fnv(h, name, strlen(name) + 1);
    return fnv(h, service, strlen(service) + 1);
}

static void acc_free(struct acc *a)
{
    for (size_t b = 0; b < a->nbuckets; b++) {
        struct prow *r = a->buckets[b];
        while (r) {
            struct prow *next = r->next;
            free(r);
            r = next;
        }
    }
    free(a->buckets);
    free(a->keys);
    memset(a, 0, sizeof(*a));
}

static bool acc_grow(struct acc *a)
{
    size_t n = a->nbuckets ? a->nbuckets * 2 : 1024;
    struct prow **nb = calloc(n, sizeof(*nb));

    if (!nb)
        return false;
    for (size_t b = 0; b < a->nbuckets; b++) {
        struct prow *r = a->buckets[b];
        while (r) {
            struct prow *next = r->next;
            r->next = nb[r->hash & (n - 1)];
            nb[r->hash & (n - 1)] = r;
            r = next;
        }
    }
    free(a->buckets);
    a->buckets = nb;
    a->nbuckets = n;
    return true;
}

/* The row of the key, created when new; NULL when out of memory. */
static struct prow *acc_row(struct acc *a, const char *agent_id, int64_t hour, const char *name,
                            const char *service)
{
    uint64_t h = key_hash(agent_id, hour, name, service);
    size_t nlen = strlen(name) + 1, slen = strlen(service) + 1;
    struct prow *r;

    if (a->nrows >= a->nbuckets && !acc_grow(a))
        return NULL;
    for (r = a->buckets[h & (a->nbuckets - 1)]; r; r = r->next)
        if (r->hash == h && r->hour == hour && strcmp(r->agent_id, agent_id) == 0 &&
            strcmp(r->name, name) == 0 && strcmp(r->service, service) == 0)
            return r;
    r = malloc(sizeof(*r) + nlen + slen);
    if (!r)
        return NULL;
    r->hash = h;
    r->hour = hour;
    r->held_max = -1; /* absent (fold.h) */
    r->held_min = -1;
    r->bound_max = -1;
    r->remote_at = -1;
    r->remote_port = 0;
    r->remote_addr[0] = '\0';
    snprintf(r->agent_id, sizeof(r->agent_id), "%s", agent_id);
    memcpy(r->strings, name, nlen);
    memcpy(r->strings + nlen, service, slen);
    r->name = r->strings;
    r->service = r->strings + nlen;
    r->next = a->buckets[h & (a->nbuckets - 1)];
    a->buckets[h & (a->nbuckets - 1)] = r;
    a->nrows++;
    return r;
}

/* fold.h's process rules for one snapshot. */
static bool acc_fold(struct acc *a, const struct pf_snapshot *s)
{
    int64_t hour = fold_hour(s->taken_at);

    for (size_t i = 0; i < s->nprocesses; i++) {
        const struct pf_process *p = &s->processes[i];
        int64_t held = (int64_t)(p->tcp_ports + p->udp_ports);
        struct prow *r;

        if (held < FOLD_PROC_MIN_HELD)
            continue;
        if (!(r = acc_row(a, s->agent_id, hour, p->name, p->service)))
            return false;
        r->held_max = fold_max_i(r->held_max, held);
        r->held_min = fold_min_i(r->held_min, held);
        r->bound_max = fold_max_i(r->bound_max, (int64_t)p->states[PF_TCP_BOUND]);
        if (p->has_top_remote && fold_remote_newer(r->remote_at, s->taken_at)) {
            r->remote_at = s->taken_at;
            r->remote_port = p->top_remote.port;
            snprintf(r->remote_addr, sizeof(r->remote_addr), "%s", p->top_remote.addr);
        }
    }
    return true;
}

/* Folds the rows and keys of from, folded later, into into; from is
 * emptied. false when out of memory: into is then incomplete and the
 * caller drops it (the keys stay queued, their snapshots are folded from
 * the queue later). */
static bool acc_merge(struct acc *into, struct acc *from)
{
    if (PF_ARRAY_RESERVE(into->keys, into->capkeys, into->nkeys + from->nkeys, 1024))
        return false;
    for (size_t b = 0; b < from->nbuckets; b++)
        for (const struct prow *f = from->buckets[b]; f; f = f->next) {
            struct prow *r = acc_row(into, f->agent_id, f->hour, f->name, f->service);
            if (!r)
                return false;
            r->held_max = fold_max_i(r->held_max, f->held_max);
            r->held_min = fold_min_i(r->held_min, f->held_min);
            r->bound_max = fold_max_i(r->bound_max, f->bound_max);
            if (f->remote_at >= 0 && fold_remote_newer(r->remote_at, f->remote_at)) {
                r->remote_at = f->remote_at;
                r->remote_port = f->remote_port;
                memcpy(r->remote_addr, f->remote_addr, sizeof(r->remote_addr));
            }
        }
    memcpy(into->keys + into->nkeys, from->keys, from->nkeys * sizeof(*from->keys));
    into->nkeys += from->nkeys;
    acc_free(from);
    return true;
}

void proc_rollup_add(const struct pf_snapshot *const *snaps, size_t n)
{
    pthread_mutex_lock(&acc_mu);
    if (acc.nrows >= PROC_ROLLUP_MAX_ROWS) {
        if (!acc_full_logged)
            pf_warn("process_hours: %d rows wait to be written; further snapshots are folded "
                    "from the queue later",
                    PROC_ROLLUP_MAX_ROWS);
        acc_full_logged = true;
        pthread_mutex_unlock(&acc_mu);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pf_snapshot *s = snaps[i];
        if (PF_ARRAY_RESERVE(acc.keys, acc.capkeys, acc.nkeys + 1, 1024))
            break;
        /* A snapshot folded only in part leaves its key queued: it is
         * folded again from the queue, which changes nothing it did. */
        if (!acc_fold(&acc, s))
            break;
        snprintf(acc.keys[acc.nkeys].agent_id, PF_ID_LEN, "%s", s->agent_id);
        acc.keys[acc.nkeys].seq = s->seq;
        acc.nkeys++;
    }
    pthread_mutex_unlock(&acc_mu);
}

/* ---- flushing ---- */

static int cmp_row(const void *pa, const void *pb)
{
    const struct prow *x = *(const struct prow *const *)pa, *y = *(const struct prow *const *)pb;
    int c = strcmp(x->agent_id, y->agent_id);

    if (c)
        return c;
    if (x->hour != y->hour)
        return x->hour < y->hour ? -1 : 1;
    if ((c = strcmp(x->name, y->name)) != 0)
        return c;
    return strcmp(x->service, y->service);
}

/* The accumulator's rows and the deletion of their keys, in one
 * transaction that holds the process_hours writers' lock (sql/012). */
static enum pf_rc write_acc(PGconn *pg, struct acc *a, size_t *written, PGresult **failed)
{
    struct pgarray c[PROC_COLS], k[KEY_COLS];
    const char *vals[PROC_COLS], *kvals[KEY_COLS];
    struct prow **rows = malloc((a->nrows ? a->nrows : 1) * sizeof(*rows));
    enum pf_rc rc = PF_OK;
    size_t n = 0;

    if (!rows)
        return PF_NOMEM;
    for (size_t b = 0; b < a->nbuckets; b++)
        for (struct prow *r = a->buckets[b]; r; r = r->next)
            rows[n++] = r;
    qsort(rows, n, sizeof(*rows), cmp_row);
    for (int i = 0; i < PROC_COLS; i++)
        pgarray_init(&c[i]);
    for (int i = 0; i < KEY_COLS; i++)
        pgarray_init(&k[i]);
    for (size_t i = 0; i < n; i++) {
        const struct prow *r = rows[i];
        pgarray_str(&c[0], r->agent_id);
        pgarray_time(&c[1], r->hour);
        pgarray_str(&c[2], r->name);
        pgarray_str(&c[3], r->service);
        pgarray_i64(&c[4], r->held_max);
        pgarray_i64(&c[5], r->held_min);
        pgarray_i64(&c[6], r->bound_max);
        if (r->remote_at >= 0) {
            pgarray_str(&c[7], r->remote_addr);
            pgarray_i64(&c[8], r->remote_port);
            pgarray_time(&c[9], r->remote_at);
        } else {
            pgarray_null(&c[7]);
            pgarray_null(&c[8]);
            pgarray_null(&c[9]);
        }
    }
    for (size_t i = 0; i < a->nkeys; i++) {
        pgarray_str(&k[0], a->keys[i].agent_id);
        pgarray_i64(&k[1], (int64_t)a->keys[i].seq);
    }
    for (int i = 0; i < PROC_COLS; i++)
        vals[i] = pgarray_end(&c[i], &rc);
    for (int i = 0; i < KEY_COLS; i++)
        kvals[i] = pgarray_end(&k[i], &rc);
    if (!rc && !(rc = db_run(pg, false, "BEGIN", 0, NULL, PGRES_COMMAND_OK, failed))) {
        /* Behind another writer for long (a fold of the queue), give up
         * and keep the rows for the next flush rather than hold a worker. */
        rc = db_run(pg, false, "SET LOCAL lock_timeout = " PROC_ROLLUP_LOCK_WAIT, 0, NULL,
                    PGRES_COMMAND_OK, failed);
        if (!rc)
            rc = db_run(pg, false,
                        "SELECT pg_advisory_xact_lock(hashtext('portfleet.process_hours'))", 0,
                        NULL, PGRES_TUPLES_OK, failed);
        if (!rc && n)
            rc = db_run(pg, true, "proc_rollup", PROC_COLS, vals, PGRES_COMMAND_OK, failed);
        if (!rc)
            rc = db_run(pg, true, "proc_unqueue", KEY_COLS, kvals, PGRES_COMMAND_OK, failed);
        if (!rc)
            rc = db_run(pg, false, "COMMIT", 0, NULL, PGRES_COMMAND_OK, failed);
        if (rc)
            PQclear(PQexecParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0));
    }
    if (!rc)
        *written = n;
    for (int i = 0; i < PROC_COLS; i++)
        pgarray_free(&c[i]);
    for (int i = 0; i < KEY_COLS; i++)
        pgarray_free(&k[i]);
    free(rows);
    return rc;
}

/* One pf_flush_process_hours() call in a transaction of its own, waiting
 * at most PROC_ROLLUP_LOCK_WAIT for the writers' lock: PF_OK and *n, or
 * PF_INVALID with *failed. */
static enum pf_rc fold_batch(PGconn *pg, const char *const vals[3], size_t *n, PGresult **failed)
{
    PGresult *r;
    enum pf_rc rc;

    *n = 0;
    if ((rc = db_run(pg, false, "BEGIN", 0, NULL, PGRES_COMMAND_OK, failed)))
        return rc;
    rc = db_run(pg, false, "SET LOCAL lock_timeout = " PROC_ROLLUP_LOCK_WAIT, 0, NULL,
                PGRES_COMMAND_OK, failed);
    if (!rc) {
        r = PQexecParams(pg, fold_sql, 3, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
            *failed = r;
            rc = PF_INVALID;
        } else {
            *n = (size_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
    }
    if (!rc)
        rc = db_run(pg, false, "COMMIT", 0, NULL, PGRES_COMMAND_OK, failed);
    if (rc) {
        *n = 0;
        PQclear(PQexecParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0));
    }
    return rc;
}

/* Batches of pf_flush_process_hours() until one finds fewer than a batch
 * or budget_ms have passed. Each batch commits on its own, so the
 * writers' lock is held a batch at a time and what was folded stays
 * folded when a later batch fails. */
static enum pf_rc fold_queued(PGconn *pg, int min_age_s, long long budget_ms, size_t *taken,
                              bool *done, PGresult **failed)
{
    char max[16], held[16], age[16];
    const char *vals[3] = {max, held, age};
    long long until = pf_mono_ms() + budget_ms;

    *taken = 0;
    *done = false;
    snprintf(max, sizeof(max), "%d", PROC_ROLLUP_SQL_BATCH);
    snprintf(held, sizeof(held), "%d", FLEET_PROC_MIN_HELD);
    snprintf(age, sizeof(age), "%d", min_age_s);
    for (;;) {
        size_t n;
        enum pf_rc rc = fold_batch(pg, vals, &n, failed);
        if (rc)
            return rc;
        *taken += n;
        if (n < PROC_ROLLUP_SQL_BATCH) {
            *done = true;
            return PF_OK;
        }
        if (pf_mono_ms() >= until)
            return PF_OK;
    }
}

bool proc_rollup_lock_busy(const PGresult *r)
{
    return strcmp(db_sqlstate(r), "55P03") == 0; /* lock_not_available: lock_timeout */
}

enum pf_rc proc_rollup_flush(PGconn *pg, size_t *written, PGresult **failed)
{
    struct acc mine;
    size_t orphans = 0;
    bool done;
    enum pf_rc rc = PF_OK;

    *written = 0;
    *failed = NULL;
    pthread_mutex_lock(&acc_mu);
    mine = acc;
    memset(&acc, 0, sizeof(acc));
    acc_full_logged = false;
    pthread_mutex_unlock(&acc_mu);
    if (mine.nkeys)
        rc = write_acc(pg, &mine, written, failed);
    if (rc && mine.nkeys) {
        /* Not written: the rows go back, under what was folded since (the
         * later snapshots), and are written by the next flush; dropping
         * them would leave their snapshots to be folded again from the
         * stored rows, at a fraction of the speed. */
        size_t nrows = mine.nrows, nkeys = mine.nkeys;
        bool kept;
        pthread_mutex_lock(&acc_mu);
        kept = acc_merge(&mine, &acc);
        if (kept)
            acc = mine;
        else
            acc_free(&acc);
        pthread_mutex_unlock(&acc_mu);
        if (!kept) {
            acc_free(&mine);
            pf_warn("process_hours: no memory to keep %zu rows that could not be written; "
                    "their %zu snapshots stay queued and are folded from the stored rows",
                    nrows, nkeys);
        } else if (proc_rollup_lock_busy(*failed)) {
            pf_debug("process_hours: another writer holds the lock; %zu rows of %zu snapshots "
                     "wait in memory for the next flush",
                     nrows, nkeys);
        } else {
            pf_info("process_hours: writing %zu rows of %zu snapshots failed; they wait in "
                    "memory for the next flush",
                    nrows, nkeys);
        }
        return rc;
    }
    acc_free(&mine);
    if (!rc)
        rc = fold_queued(pg, PROC_ROLLUP_ORPHAN_S, PROC_ROLLUP_ORPHAN_MS, &orphans, &done,
                         failed);
    if (orphans)
        pf_info("process_hours: folded %zu snapshots queued over %d s ago from the stored "
                "rows%s",
                orphans, PROC_ROLLUP_ORPHAN_S, done ? "" : " (more wait)");
    return rc;
}

enum pf_rc proc_rollup_catch_up(PGconn *pg, long long budget_ms, size_t *taken, bool *done,
                                PGresult **failed)
{
    *failed = NULL;
    return fold_queued(pg, 0, budget_ms, taken, done, failed);
}
