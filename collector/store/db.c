/* SPDX-License-Identifier: MIT */
/* db.c: the worker pool, its queue and the completion list. */
#include "db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "compat.h"
#include "log.h"

#define GROUP_CAP 256       /* jobs one worker takes at once, whatever the ops say */
#define GROUP_SCAN 1024     /* queued jobs looked at to fill a group */
#define RECONNECT_MS 1000
#define CONNECT_TIMEOUT "5" /* seconds, unless the conninfo says otherwise */

struct db_conn {
    struct db *db;
    int index;
    PGconn *pg;
    long long retry_at; /* no reconnection attempt before this (pf_mono_ms) */
    bool down_logged;
    void *state;
    void (*state_free)(void *);
    pthread_t thread;
    struct db_job *held[GROUP_CAP]; /* jobs of the current run() kept back */
    size_t nheld;
};

struct db {
    struct db_opts opts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct db_job *head, *tail; /* queued */
    size_t depth;
    struct db_job *done_head, *done_tail;
    bool stop;
    int efd;
    atomic_bool up;
    struct db_conn *conns;
    int started;
};

static void disconnect(struct db_conn *dc)
{
    if (dc->state_free)
        dc->state_free(dc->state);
    dc->state = NULL;
    dc->state_free = NULL;
    PQfinish(dc->pg);
    dc->pg = NULL;
}

/* Strips the trailing newline libpq puts on its messages. */
static const char *msg(PGconn *pg)
{
    static _Thread_local char m[256];
    size_t n;

    snprintf(m, sizeof(m), "%s", pg ? PQerrorMessage(pg) : "out of memory");
    n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
    return m;
}

PGconn *db_pg(struct db_conn *dc)
{
    static const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {CONNECT_TIMEOUT, "portfleet-collector", dc->db->opts.conninfo, NULL};
    long long now = pf_mono_ms();
    char err[256];

    if (dc->pg && PQstatus(dc->pg) == CONNECTION_OK)
        return dc->pg;
    if (dc->pg)
        disconnect(dc);
    if (now < dc->retry_at)
        return NULL;
    /* Later keywords win, and the conninfo comes last: its own
     * connect_timeout or application_name take precedence over ours. */
    dc->pg = PQconnectdbParams(keys, vals, 1);
    if (!dc->pg || PQstatus(dc->pg) != CONNECTION_OK) {
        if (!dc->down_logged)
            pf_warn("database connection %d: cannot connect: %s; answering 503 and retrying "
                    "every %d ms",
                    dc->index, msg(dc->pg), RECONNECT_MS);
        goto down;
    }
    if (dc->db->opts.on_connect && dc->db->opts.on_connect(dc, dc->pg, err, sizeof(err))) {
        if (!dc->down_logged)
            pf_error("database connection %d: %s; answering 503 and retrying every %d ms",
                     dc->index, err, RECONNECT_MS);
        goto down;
    }
    if (dc->down_logged)
        pf_info("database connection %d: connected again", dc->index);
    else
        pf_debug("database connection %d: connected", dc->index);
    dc->down_logged = false;
    atomic_store(&dc->db->up, true);
    return dc->pg;
down:
    dc->down_logged = true;
    disconnect(dc);
    dc->retry_at = now + RECONNECT_MS;
    atomic_store(&dc->db->up, false);
    return NULL;
}

bool db_check(struct db_conn *dc)
{
    if (!dc->pg || PQstatus(dc->pg) == CONNECTION_OK)
        return false;
    pf_warn("database connection %d: lost: %s", dc->index, msg(dc->pg));
    dc->down_logged = true;
    disconnect(dc);
    atomic_store(&dc->db->up, false);
    return true;
}

void db_drop(struct db_conn *dc, const char *why)
{
    if (!dc->pg)
        return;
    pf_warn("database connection %d: dropped: %s", dc->index, why);
    disconnect(dc);
}

void *db_conn_state(struct db_conn *dc)
{
    return dc->state;
}

void db_conn_set_state(struct db_conn *dc, void *state, void (*free_fn)(void *))
{
    if (dc->state_free)
        dc->state_free(dc->state);
    dc->state = state;
    dc->state_free = free_fn;
}

const char *db_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

enum pf_rc db_prepare(PGconn *pg, const struct db_statement *st, size_t n, PGresult **failed)
{
    *failed = NULL;
    for (size_t i = 0; i < n; i++) {
        PGresult *r = PQprepare(pg, st[i].name, st[i].sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            *failed = r;
            return PF_INVALID;
        }
        PQclear(r);
    }
    return PF_OK;
}

enum pf_rc db_run(PGconn *pg, bool prepared, const char *sql, int n, const char *const *vals,
                  ExecStatusType want, PGresult **failed)
{
    PGresult *r = prepared ? PQexecPrepared(pg, sql, n, vals, NULL, NULL, 0)
                           : PQexecParams(pg, sql, n, NULL, vals, NULL, NULL, 0);

    if (PQresultStatus(r) == want) {
        PQclear(r);
        return PF_OK;
    }
    *failed = r;
    return PF_INVALID;
}

/* Pops the first queued job and, when its ops allow, more of the same kind
 * from further back (keeping the order of the rest). Called locked. */
static size_t take_group(struct db *d, struct db_job **jobs)
{
    struct db_job *first = d->head, *prev, *j;
    size_t n = 1, weight, max, scanned = 0;

    d->head = first->next;
    if (!d->head)
        d->tail = NULL;
    d->depth--;
    first->next = NULL;
    jobs[0] = first;
    max = first->ops->group_max < GROUP_CAP ? first->ops->group_max : GROUP_CAP;
    weight = first->weight;
    prev = NULL;
    j = d->head;
    while (j && n < max && scanned++ < GROUP_SCAN) {
        struct db_job *next = j->next;
        if (j->ops == first->ops && weight + j->weight <= first->ops->group_weight) {
            if (prev)
                prev->next = next;
            else
                d->head = next;
            if (d->tail == j)
                d->tail = prev;
            d->depth--;
            j->next = NULL;
            jobs[n++] = j;
            weight += j->weight;
        } else {
            prev = j;
        }
        j = next;
    }
    return n;
}

/* Moves j to the completion list and wakes the loop. Called locked. */
static void finish(struct db *d, struct db_job *j)
{
    uint64_t one = 1;

    j->next = NULL;
    if (d->done_tail)
        d->done_tail->next = j;
    else
        d->done_head = j;
    d->done_tail = j;
    if (write(d->efd, &one, sizeof(one)) < 0) {
        /* the counter is far from overflowing; EAGAIN cannot happen */
    }
}

void db_hold(struct db_conn *dc, struct db_job *j)
{
    if (dc->nheld < GROUP_CAP)
        dc->held[dc->nheld++] = j;
}

void db_release(struct db_conn *dc, struct db_job *j)
{
    struct db *d = dc->db;

    pthread_mutex_lock(&d->mu);
    finish(d, j);
    pthread_mutex_unlock(&d->mu);
}

static bool was_held(const struct db_conn *dc, const struct db_job *j)
{
    for (size_t i = 0; i < dc->nheld; i++)
        if (dc->held[i] == j)
            return true;
    return false;
}

static void *worker(void *arg)
{
    struct db_conn *dc = arg;
    struct db *d = dc->db;
    struct db_job *jobs[GROUP_CAP];

    pthread_mutex_lock(&d->mu);
    for (;;) {
        size_t n;
        while (!d->head && !d->stop)
            pthread_cond_wait(&d->cv, &d->mu);
        if (!d->head)
            break;
        n = take_group(d, jobs);
        pthread_mutex_unlock(&d->mu);

        dc->nheld = 0;
        jobs[0]->ops->run(dc, jobs, n);

        pthread_mutex_lock(&d->mu);
        for (size_t i = 0; i < n; i++)
            if (!was_held(dc, jobs[i]))
                finish(d, jobs[i]);
    }
    pthread_mutex_unlock(&d->mu);
    disconnect(dc);
    return NULL;
}

enum pf_rc db_new(const struct db_opts *opts, struct db **out)
{
    struct db *d;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return PF_NOMEM;
    d->opts = *opts;
    if (d->opts.workers < 1)
        d->opts.workers = 1;
    d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    d->conns = calloc((size_t)d->opts.workers, sizeof(*d->conns));
    if (d->efd < 0 || !d->conns) {
        enum pf_rc rc = d->efd < 0 ? PF_IO : PF_NOMEM;
        if (d->efd >= 0)
            close(d->efd);
        free(d->conns);
        free(d);
        return rc;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    atomic_init(&d->up, false);
    for (int i = 0; i < d->opts.workers; i++) {
        d->conns[i].db = d;
        d->conns[i].index = i;
        if (pthread_create(&d->conns[i].thread, NULL, worker, &d->conns[i]) != 0) {
            pf_error("cannot start database worker %d", i);
            db_free(d);
            return PF_NOMEM;
        }
        d->started++;
    }
    *out = d;
    return PF_OK;
}

void db_free(struct db *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < d->started; i++)
        pthread_join(d->conns[i].thread, NULL);
    db_complete(d);
    close(d->efd);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d->conns);
    free(d);
}

enum pf_rc db_submit(struct db *d, struct db_job *j)
{
    pthread_mutex_lock(&d->mu);
    if (d->depth >= d->opts.queue_max || d->stop) {
        pthread_mutex_unlock(&d->mu);
        return PF_AGAIN;
    }
    j->next = NULL;
    if (d->tail)
        d->tail->next = j;
    else
        d->head = j;
    d->tail = j;
    d->depth++;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    return PF_OK;
}

int db_event_fd(const struct db *d)
{
    return d->efd;
}

void db_complete(struct db *d)
{
    struct db_job *j;
    uint64_t v;

    if (read(d->efd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing signalled since the last call; drain anyway */
    }
    pthread_mutex_lock(&d->mu);
    j = d->done_head;
    d->done_head = d->done_tail = NULL;
    pthread_mutex_unlock(&d->mu);
    while (j) {
        struct db_job *next = j->next;
        j->next = NULL;
        j->done(j);
        j = next;
    }
}

size_t db_queue_depth(struct db *d)
{
    size_t n;

    pthread_mutex_lock(&d->mu);
    n = d->depth;
    pthread_mutex_unlock(&d->mu);
    return n;
}

bool db_up(struct db *d)
{
    return atomic_load(&d->up);
}
