/* SPDX-License-Identifier: MIT */
/* auth_cache.c: the revocation generation, its watcher thread and the
 * credential caches that consult it. */
#include "auth_cache.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "compat.h"
#include "log.h"

#define CONNECT_TIMEOUT "5"       /* seconds, unless the conninfo says otherwise */
#define READ_TIMEOUT "5s"         /* statement_timeout of the counter read */

/* ---- the generation ---- */

struct auth_gen {
    /* A local epoch, bumped whenever the database counter is seen to
     * change (and on the first read): entries carry the epoch they were
     * filled under. Written before fresh_ms, so a reader that sees a new
     * fresh_ms also sees the epoch that goes with it. */
    _Atomic uint64_t epoch;
    _Atomic long long fresh_ms; /* start of the last successful read; 0: never */
    int64_t last_n;             /* watcher only */
    bool seen;                  /* watcher only */
};

struct auth_gen *auth_gen_new(void)
{
    struct auth_gen *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    atomic_init(&g->epoch, 0);
    atomic_init(&g->fresh_ms, 0);
    return g;
}

void auth_gen_free(struct auth_gen *g)
{
    free(g);
}

void auth_gen_observe(struct auth_gen *g, int64_t n, long long started_ms)
{
    if (!g->seen || n != g->last_n) {
        atomic_fetch_add(&g->epoch, 1);
        if (g->seen)
            pf_info("credentials revoked or changed (generation %lld -> %lld): cached "
                    "credentials dropped",
                    (long long)g->last_n, (long long)n);
        g->last_n = n;
        g->seen = true;
    }
    if (started_ms > atomic_load(&g->fresh_ms))
        atomic_store(&g->fresh_ms, started_ms);
}

uint64_t auth_gen_changes(struct auth_gen *g)
{
    uint64_t e = atomic_load(&g->epoch);
    return e > 1 ? e - 1 : 0;
}

/* The epoch entries must carry to be used now, or 0 when the generation
 * is not fresh (epochs start at 1 once read, so 0 never matches). Reads
 * fresh_ms before epoch (see struct auth_gen). */
static uint64_t usable_epoch(struct auth_gen *g)
{
    long long fresh = atomic_load(&g->fresh_ms);
    uint64_t e = atomic_load(&g->epoch);

    if (fresh == 0 || pf_mono_ms() - fresh >= AUTH_STALE_MS)
        return 0;
    return e;
}

/* ---- the watcher ---- */

struct auth_watch {
    struct auth_gen *g;
    const char *conninfo;
    PGconn *pg;
    int efd; /* wakes the thread to stop */
    atomic_bool stop;
    bool down_logged;
    pthread_t thread;
};

static const char *pg_msg(PGconn *pg, char *buf, size_t len)
{
    size_t n;

    snprintf(buf, len, "%s", pg ? PQerrorMessage(pg) : "out of memory");
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}

static void watch_down(struct auth_watch *w, const char *what)
{
    char m[256];

    if (!w->down_logged)
        pf_warn("credential watcher: %s: %s; cached credentials are not used until it reads "
                "the revocation counter again",
                what, pg_msg(w->pg, m, sizeof(m)));
    w->down_logged = true;
    PQfinish(w->pg);
    w->pg = NULL;
}

static bool exec_ok(PGconn *pg, const char *sql, ExecStatusType want)
{
    PGresult *r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == want;

    PQclear(r);
    return ok;
}

static bool watch_connect(struct auth_watch *w)
{
    /* Keepalives: a read must not hang for the kernel's TCP timeout when
     * the database host vanishes; the conninfo's own settings come last
     * and win. */
    static const char *const keys[] = {"connect_timeout",   "application_name",
                                       "keepalives_idle",   "keepalives_interval",
                                       "keepalives_count",  "dbname",
                                       NULL};
    const char *vals[] = {CONNECT_TIMEOUT, "portfleet-collector-auth", "5", "2", "3",
                          w->conninfo,     NULL};

    w->pg = PQconnectdbParams(keys, vals, 1);
    if (!w->pg || PQstatus(w->pg) != CONNECTION_OK) {
        watch_down(w, "cannot connect");
        return false;
    }
    if (!exec_ok(w->pg,
                 "SELECT set_config('statement_timeout', '" READ_TIMEOUT "', false), "
                 "set_config('client_min_messages', 'warning', false)",
                 PGRES_TUPLES_OK) ||
        !exec_ok(w->pg, "LISTEN portfleet_auth", PGRES_COMMAND_OK)) {
        watch_down(w, "session set-up failed");
        return false;
    }
    PQsetnonblocking(w->pg, 0);
    return true;
}

static void drain_notifies(PGconn *pg)
{
    PGnotify *n;

    while ((n = PQnotifies(pg)) != NULL)
        PQfreemem(n);
}

/* One read of the counter; false when the connection must be dropped. */
static bool watch_read(struct auth_watch *w)
{
    long long started = pf_mono_ms();
    PGresult *r = PQexecParams(w->pg, "SELECT n FROM auth_generation", 0, NULL, NULL, NULL,
                               NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

    if (ok) {
        char *end;
        long long n = strtoll(PQgetvalue(r, 0, 0), &end, 10);
        ok = *end == '\0';
        if (ok)
            auth_gen_observe(w->g, n, started);
    }
    PQclear(r);
    drain_notifies(w->pg);
    if (!ok) {
        watch_down(w, "reading auth_generation failed");
        return false;
    }
    if (w->down_logged)
        pf_info("credential watcher: reading the revocation counter again");
    w->down_logged = false;
    return true;
}

/* Sleeps until deadline, the stop signal or a notification (returns true
 * for a notification: read again now). */
static bool watch_wait(struct auth_watch *w, long long deadline)
{
    for (;;) {
        struct pollfd p[2] = {{w->efd, POLLIN, 0}, {w->pg ? PQsocket(w->pg) : -1, POLLIN, 0}};
        long long left = deadline - pf_mono_ms();
        int n;

        if (atomic_load(&w->stop) || left <= 0)
            return false;
        n = poll(p, w->pg ? 2 : 1, (int)left);
        if (n < 0 && errno != EINTR)
            return false;
        if (n <= 0 || !(p[1].revents & (POLLIN | POLLERR | POLLHUP)) || !w->pg)
            continue;
        if (!PQconsumeInput(w->pg)) {
            watch_down(w, "connection lost");
            return false;
        }
        if (PQnotifies(w->pg)) {
            drain_notifies(w->pg);
            return true;
        }
    }
}

static void *watch_main(void *arg)
{
    struct auth_watch *w = arg;

    while (!atomic_load(&w->stop)) {
        long long next = pf_mono_ms() + AUTH_POLL_MS;
        if (w->pg || watch_connect(w))
            watch_read(w);
        while (watch_wait(w, next))
            if (w->pg)
                watch_read(w);
    }
    PQfinish(w->pg);
    w->pg = NULL;
    return NULL;
}

enum pf_rc auth_watch_start(struct auth_gen *g, const char *conninfo, struct auth_watch **out)
{
    struct auth_watch *w = calloc(1, sizeof(*w));

    *out = NULL;
    if (!w)
        return PF_NOMEM;
    w->g = g;
    w->conninfo = conninfo;
    atomic_init(&w->stop, false);
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->efd < 0) {
        free(w);
        return PF_IO;
    }
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        close(w->efd);
        free(w);
        return PF_IO;
    }
    *out = w;
    return PF_OK;
}

void auth_watch_stop(struct auth_watch *w)
{
    uint64_t one = 1;

    if (!w)
        return;
    atomic_store(&w->stop, true);
    if (write(w->efd, &one, sizeof(one)) < 0)
        pf_debug("credential watcher: wake-up failed: %s", strerror(errno));
    pthread_join(w->thread, NULL);
    close(w->efd);
    free(w);
}

/* ---- caches ---- */

struct slot {
    uint64_t epoch; /* 0: empty */
    uint8_t key[AUTH_HASH_LEN];
    char value[AUTH_CACHE_VALUE_MAX];
};

struct auth_cache {
    struct auth_gen *g;
    _Atomic uint64_t hits, misses, misses_stale;
    pthread_mutex_t mu;
    size_t nslots;
    struct slot slots[];
};

struct auth_cache *auth_cache_new(struct auth_gen *g, size_t slots)
{
    struct auth_cache *c;

    if (!g || slots == 0 || slots > ((size_t)1 << 24))
        return NULL;
    c = calloc(1, sizeof(*c) + slots * sizeof(struct slot));
    if (!c)
        return NULL;
    c->g = g;
    c->nslots = slots;
    atomic_init(&c->hits, 0);
    atomic_init(&c->misses, 0);
    atomic_init(&c->misses_stale, 0);
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void auth_cache_free(struct auth_cache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The key is a SHA-256: its first bytes are as good as any hash of it. */
static struct slot *slot_of(struct auth_cache *c, const uint8_t key[AUTH_HASH_LEN])
{
    uint64_t h = 0;

    for (int i = 0; i < 8; i++)
        h = h << 8 | key[i];
    return &c->slots[h % c->nslots];
}

bool auth_cache_get(struct auth_cache *c, const uint8_t key[AUTH_HASH_LEN], char *value,
                    size_t len)
{
    uint64_t e = usable_epoch(c->g);
    struct slot *s;
    bool hit;

    if (e == 0) {
        atomic_fetch_add(&c->misses_stale, 1);
        atomic_fetch_add(&c->misses, 1);
        return false;
    }
    pthread_mutex_lock(&c->mu);
    s = slot_of(c, key);
    hit = s->epoch == e && memcmp(s->key, key, AUTH_HASH_LEN) == 0;
    if (hit && len)
        snprintf(value, len, "%s", s->value);
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
    return hit;
}

void auth_cache_stats(struct auth_cache *c, struct auth_cache_stats *out)
{
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->misses_stale = atomic_load(&c->misses_stale);
}

uint64_t auth_cache_ticket(const struct auth_cache *c)
{
    return atomic_load(&c->g->epoch);
}

void auth_cache_put(struct auth_cache *c, const uint8_t key[AUTH_HASH_LEN], const char *value,
                    uint64_t ticket)
{
    size_t n = strlen(value);
    struct slot *s;

    if (ticket == 0 || n >= AUTH_CACHE_VALUE_MAX || ticket != atomic_load(&c->g->epoch))
        return;
    pthread_mutex_lock(&c->mu);
    s = slot_of(c, key);
    s->epoch = ticket;
    memcpy(s->key, key, AUTH_HASH_LEN);
    memcpy(s->value, value, n + 1);
    pthread_mutex_unlock(&c->mu);
}

void auth_cache_clear(struct auth_cache *c)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nslots; i++)
        c->slots[i].epoch = 0;
    pthread_mutex_unlock(&c->mu);
}
