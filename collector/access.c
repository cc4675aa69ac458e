/* SPDX-License-Identifier: MIT */
/* access.c: roles, the in-memory table of valid tokens and sessions and
 * its refresh thread, and the verdict on a request (see access.h). The
 * table is honoured only while it is fresh (ACCESS_STALE_MS): a collector
 * cut off from the database answers 503 rather than go on accepting a
 * token that may have been revoked since. */
#include "access.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "timeutil.h"

#define LOCAL_MAX 256 /* sessions opened or closed here since the last reload */
#define CONNECT_TIMEOUT "5" /* seconds, unless the conninfo says otherwise */

struct entry {
    uint8_t hash[AUTH_HASH_LEN];
    struct access_who who;
    int64_t expires_at; /* sessions; 0 for tokens */
    long long added_ms; /* local entries: when (monotonic), which they are fresh from */
};

struct table {
    struct entry *tokens, *sessions; /* sorted by hash */
    size_t ntokens, nsessions;
};

struct access {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool started, stop, poke, loaded;
    char *conninfo;
    char *operator_token;
    struct table *cur;
    struct entry added[LOCAL_MAX];
    size_t nadded;
    struct entry dropped[LOCAL_MAX];
    size_t ndropped;
    long long epoch;
    PGconn *pg;   /* the refresh thread's */
    bool failing; /* the last tick failed: said once in the log, not every second */
    /* Start (pf_mono_ms) of the last tick that found the table current,
     * reloaded or not; 0: never. The table is as new as the database was
     * then, so its age bounds how long a revocation can go unseen. */
    long long fresh_ms;
    bool stale_logged; /* the refusals for staleness were logged */
};

static const char *const role_names[] = {"none", "read", "admin", "operator"};

const char *access_role_name(enum access_role r)
{
    return (unsigned)r < PF_ARRAY_LEN(role_names) ? role_names[r] : "none";
}

enum access_role access_route_role(enum route_auth a)
{
    switch (a) {
    case ROUTE_READ: return ACCESS_READ;
    case ROUTE_ADMIN: return ACCESS_ADMIN;
    case ROUTE_OPERATOR: return ACCESS_OPERATOR;
    default: return ACCESS_NONE;
    }
}

enum access_role access_role_parse(const char *s)
{
    for (size_t i = 1; s && i < PF_ARRAY_LEN(role_names); i++)
        if (strcmp(s, role_names[i]) == 0)
            return (enum access_role)i;
    return ACCESS_NONE;
}

bool access_tenant_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= PF_TENANT_LEN - 1 ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return n > 0;
}

bool access_sees(const struct access_who *who, const char *tenant)
{
    return who->role == ACCESS_OPERATOR || strcmp(who->tenant, tenant) == 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex1(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* n bytes from 2n lower-case hex digits; false when s is not exactly that. */
static bool unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int h = unhex1(s[2 * i]), l = h < 0 ? -1 : unhex1(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return false;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return s[2 * n] == '\0';
}

enum pf_rc access_new_secret(const char *prefix, char out[ACCESS_SECRET_LEN])
{
    uint8_t b[ACCESS_SECRET_BYTES];

    if (strlen(prefix) != 4 || auth_random(b, sizeof(b)))
        return PF_IO;
    memcpy(out, prefix, 4);
    hex(b, sizeof(b), out + 4);
    return PF_OK;
}

/* ---- the table ---- */

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const struct entry *)a)->hash, ((const struct entry *)b)->hash, AUTH_HASH_LEN);
}

static const struct entry *find(const struct entry *v, size_t n, const uint8_t *hash)
{
    struct entry key;

    if (!n)
        return NULL;
    memcpy(key.hash, hash, AUTH_HASH_LEN);
    return bsearch(&key, v, n, sizeof(*v), cmp_entry);
}

static void table_free(struct table *t)
{
    if (!t)
        return;
    free(t->tokens);
    free(t->sessions);
    free(t);
}

/* Fills e from a row: hash (hex), tenant, role, token id[, expiry]. */
static bool row_entry(const PGresult *r, int i, struct entry *e, bool session)
{
    memset(e, 0, sizeof(*e));
    if (!unhex(PQgetvalue(r, i, 0), e->hash, AUTH_HASH_LEN))
        return false;
    snprintf(e->who.tenant, sizeof(e->who.tenant), "%s", PQgetvalue(r, i, 1));
    e->who.role = access_role_parse(PQgetvalue(r, i, 2));
    e->who.token_id = strtoll(PQgetvalue(r, i, 3), NULL, 10);
    if (session) {
        e->expires_at = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        e->who.by_session = true;
        memcpy(e->who.session, e->hash, AUTH_HASH_LEN);
    }
    return e->who.role != ACCESS_NONE;
}

static PGresult *select_rows(PGconn *pg, const char *sql, bool quiet)
{
    PGresult *r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        if (!quiet)
            pf_warn("tokens and sessions cannot be read (only --admin-token works until they "
                    "can): %s",
                    PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    return r;
}

static struct entry *load_entries(PGconn *pg, const char *sql, bool session, size_t *n)
{
    PGresult *r = select_rows(pg, sql, false);
    struct entry *v;
    size_t k = 0;

    *n = 0;
    if (!r)
        return NULL;
    v = calloc(PQntuples(r) ? (size_t)PQntuples(r) : 1, sizeof(*v));
    for (int i = 0; v && i < PQntuples(r); i++)
        k += row_entry(r, i, &v[k], session);
    PQclear(r);
    if (v) {
        qsort(v, k, sizeof(*v), cmp_entry);
        *n = k;
    }
    return v;
}

static struct table *load_table(PGconn *pg)
{
    struct table *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->tokens = load_entries(pg,
                             "SELECT encode(token_hash, 'hex'), coalesce(tenant, ''), role, id "
                             "FROM tokens WHERE revoked_at IS NULL",
                             false, &t->ntokens);
    if (t->tokens)
        t->sessions =
            load_entries(pg,
                         "SELECT encode(s.id_hash, 'hex'), coalesce(s.tenant, ''), s.role, "
                         "coalesce(s.token_id, 0), extract(epoch FROM s.expires_at)::bigint "
                         "FROM sessions s LEFT JOIN tokens t ON t.id = s.token_id "
                         "WHERE s.expires_at > now() AND (s.token_id IS NULL OR t.revoked_at IS "
                         "NULL)",
                         true, &t->nsessions);
    if (!t->tokens || !t->sessions) {
        table_free(t);
        return NULL;
    }
    return t;
}

/* Keeps the local entries made after start (a reload that began before
 * them may not hold them). */
static void prune_local(struct entry *v, size_t *n, long long start)
{
    size_t k = 0;

    for (size_t i = 0; i < *n; i++)
        if (v[i].added_ms >= start)
            v[k++] = v[i];
    *n = k;
}

/* The table was found current at start: fresh from then (never older). */
static void mark_fresh(struct access *a, long long start)
{
    long long was;

    pthread_mutex_lock(&a->lock);
    was = a->fresh_ms;
    if (start > a->fresh_ms)
        a->fresh_ms = start;
    if (a->stale_logged)
        pf_info("tokens and sessions read from the database again (%.1f s after the read "
                "before): accepted again",
                (double)(start - was) / 1000);
    a->stale_logged = false;
    pthread_mutex_unlock(&a->lock);
}

/* The refresh connection: a connect that is not answered (a database host
 * gone, a server that is stopped) gives up after CONNECT_TIMEOUT instead of
 * holding the thread; keepalives end a read from a host that vanished.
 * The conninfo's own settings come last and win. */
static PGconn *refresh_connect(const char *conninfo)
{
    static const char *const keys[] = {"connect_timeout",  "application_name",
                                       "keepalives_idle",  "keepalives_interval",
                                       "keepalives_count", "dbname",
                                       NULL};
    const char *vals[] = {CONNECT_TIMEOUT, "portfleet-collector-access", "5", "2", "3",
                          conninfo,        NULL};

    return PQconnectdbParams(keys, vals, 1);
}

/* One refresh: reconnect when needed, read the epoch, reload when it moved. */
static void tick(struct access *a)
{
    PGresult *r;
    long long n, start = pf_mono_ms();
    struct table *t, *old;
    bool poke;

    if (!a->pg || PQstatus(a->pg) != CONNECTION_OK) {
        PQfinish(a->pg);
        a->pg = refresh_connect(a->conninfo);
        if (PQstatus(a->pg) != CONNECTION_OK) {
            PQfinish(a->pg);
            a->pg = NULL;
            return;
        }
    }
    r = select_rows(a->pg, "SELECT n FROM auth_epoch", a->failing);
    a->failing = !r || PQntuples(r) != 1;
    if (a->failing) {
        PQclear(r);
        PQfinish(a->pg); /* reconnect next time: the database may be back */
        a->pg = NULL;
        return;
    }
    n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    pthread_mutex_lock(&a->lock);
    poke = a->poke;
    a->poke = false;
    pthread_mutex_unlock(&a->lock);
    if (a->loaded && n == a->epoch && !poke) {
        mark_fresh(a, start);
        return;
    }
    t = load_table(a->pg);
    if (!t)
        return;
    pthread_mutex_lock(&a->lock);
    old = a->cur;
    a->cur = t;
    a->epoch = n;
    a->loaded = true;
    prune_local(a->added, &a->nadded, start);
    prune_local(a->dropped, &a->ndropped, start);
    pthread_mutex_unlock(&a->lock);
    table_free(old);
    mark_fresh(a, start);
}

static void *refresh_thread(void *arg)
{
    struct access *a = arg;

    pthread_mutex_lock(&a->lock);
    while (!a->stop) {
        struct timespec ts;
        pthread_mutex_unlock(&a->lock);
        tick(a);
        pthread_mutex_lock(&a->lock);
        if (a->stop || a->poke)
            continue;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)ACCESS_REFRESH_MS % 1000 * 1000000;
        ts.tv_sec += ACCESS_REFRESH_MS / 1000 + ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&a->wake, &a->lock, &ts);
    }
    pthread_mutex_unlock(&a->lock);
    PQfinish(a->pg);
    a->pg = NULL;
    return NULL;
}

enum pf_rc access_new(const char *conninfo, const char *operator_token, struct access **out)
{
    struct access *a = calloc(1, sizeof(*a));

    *out = NULL;
    if (!a)
        return PF_NOMEM;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    a->conninfo = strdup(conninfo ? conninfo : "");
    a->operator_token = operator_token && operator_token[0] ? strdup(operator_token) : NULL;
    if (!a->conninfo || (operator_token && operator_token[0] && !a->operator_token)) {
        access_free(a);
        return PF_NOMEM;
    }
    if (pthread_create(&a->thread, NULL, refresh_thread, a) != 0) {
        access_free(a);
        return PF_IO;
    }
    a->started = true;
    *out = a;
    return PF_OK;
}

void access_free(struct access *a)
{
    if (!a)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->stop = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        pthread_join(a->thread, NULL);
    }
    PQfinish(a->pg);
    table_free(a->cur);
    free(a->conninfo);
    if (a->operator_token) {
        memset(a->operator_token, 0, strlen(a->operator_token));
        free(a->operator_token);
    }
    pthread_cond_destroy(&a->wake);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void access_poke(struct access *a)
{
    pthread_mutex_lock(&a->lock);
    a->poke = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
}

bool access_loaded(struct access *a)
{
    bool l;

    pthread_mutex_lock(&a->lock);
    l = a->loaded;
    pthread_mutex_unlock(&a->lock);
    return l;
}

/* ---- lookups ---- */

/* True when what was known at since (pf_mono_ms; 0: never) may still be
 * used; else ACCESS_STALE, said once in the log (a->lock held). */
static bool fresh_from(struct access *a, long long since)
{
    long long age = pf_mono_ms() - since;

    if (since > 0 && age < ACCESS_STALE_MS)
        return true;
    if (!a->stale_logged && a->fresh_ms) {
        pf_warn("tokens and sessions last read from the database %lld ms ago (the bound is "
                "%d ms): requests with them get 503 until a read succeeds (one revoked "
                "meanwhile must not keep working here)",
                pf_mono_ms() - a->fresh_ms, ACCESS_STALE_MS);
        a->stale_logged = true;
    }
    return false;
}

enum access_check access_token(struct access *a, const char *token, struct access_who *who)
{
    uint8_t h[AUTH_HASH_LEN];
    const struct entry *e;
    enum access_check c = ACCESS_INVALID;

    memset(who, 0, sizeof(*who));
    if (!token || !token[0])
        return ACCESS_INVALID;
    if (a->operator_token && auth_equal(token, a->operator_token)) {
        who->role = ACCESS_OPERATOR; /* an option, not in the database: never stale */
        return ACCESS_VALID;
    }
    /* Looked up by its SHA-256: what the search takes time over is the
     * hash, which says nothing about the token. */
    auth_hash(token, strlen(token), h);
    pthread_mutex_lock(&a->lock);
    if (!fresh_from(a, a->fresh_ms)) {
        c = ACCESS_STALE; /* known or not: it may have been made or revoked since */
    } else if ((e = a->cur ? find(a->cur->tokens, a->cur->ntokens, h) : NULL)) {
        *who = e->who;
        c = ACCESS_VALID;
    }
    pthread_mutex_unlock(&a->lock);
    return c;
}

static const struct entry *find_local(const struct entry *v, size_t n, const uint8_t *hash)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(v[i].hash, hash, AUTH_HASH_LEN) == 0)
            return &v[i];
    return NULL;
}

enum access_check access_session(struct access *a, const char *id, int64_t now,
                                 struct access_who *who)
{
    uint8_t raw[AUTH_HASH_LEN], h[AUTH_HASH_LEN];
    const struct entry *e = NULL;
    enum access_check c = ACCESS_INVALID;
    long long since = 0;

    memset(who, 0, sizeof(*who));
    if (!id || !unhex(id, raw, sizeof(raw)))
        return ACCESS_INVALID; /* not one of ours: 64 lower-case hex digits */
    auth_hash(id, strlen(id), h);
    pthread_mutex_lock(&a->lock);
    /* Dropped here, or expired: invalid whatever the database says. A
     * session opened here is known good from its opening on. */
    if (!find_local(a->dropped, a->ndropped, h)) {
        e = find_local(a->added, a->nadded, h);
        if (e)
            since = e->added_ms;
        else if (a->cur)
            e = find(a->cur->sessions, a->cur->nsessions, h);
        if (!e || e->expires_at > now) {
            if (!fresh_from(a, since > a->fresh_ms ? since : a->fresh_ms))
                c = ACCESS_STALE;
            else if (e)
                c = ACCESS_VALID;
        }
    }
    if (c == ACCESS_VALID)
        *who = e->who;
    pthread_mutex_unlock(&a->lock);
    return c;
}

static void local_add(struct entry *v, size_t *n, const struct entry *e)
{
    if (*n == LOCAL_MAX) { /* a burst: the oldest is in the next reload anyway */
        memmove(v, v + 1, (LOCAL_MAX - 1) * sizeof(*v));
        (*n)--;
    }
    v[(*n)++] = *e;
}

void access_session_add(struct access *a, const struct access_who *who, int64_t expires_at)
{
    struct entry e;

    memset(&e, 0, sizeof(e));
    memcpy(e.hash, who->session, AUTH_HASH_LEN);
    e.who = *who;
    e.who.by_session = true;
    e.expires_at = expires_at;
    e.added_ms = pf_mono_ms();
    pthread_mutex_lock(&a->lock);
    local_add(a->added, &a->nadded, &e);
    pthread_mutex_unlock(&a->lock);
}

void access_session_drop(struct access *a, const uint8_t hash[AUTH_HASH_LEN])
{
    struct entry e;

    memset(&e, 0, sizeof(e));
    memcpy(e.hash, hash, AUTH_HASH_LEN);
    e.added_ms = pf_mono_ms();
    pthread_mutex_lock(&a->lock);
    local_add(a->dropped, &a->ndropped, &e);
    pthread_mutex_unlock(&a->lock);
}

/* ---- requests ---- */

enum pf_rc access_cookie(const struct http_request *req, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);

    for (size_t i = 0; i < req->nheaders; i++) {
        const char *p = req->headers[i].value;
        if (strcasecmp(req->headers[i].name, "Cookie") != 0)
            continue;
        while (*p) {
            const char *end;
            while (*p == ' ' || *p == ';')
                p++;
            end = strchr(p, ';');
            if (!end)
                end = p + strlen(p);
            if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
                size_t vl = (size_t)(end - p) - nl - 1;
                if (vl >= outlen)
                    return PF_TOOBIG;
                memcpy(out, p + nl + 1, vl);
                out[vl] = '\0';
                return PF_OK;
            }
            p = end;
        }
    }
    return PF_NOTFOUND;
}

bool access_same_origin(const struct http_request *req)
{
    const char *host = http_header(req, "Host");
    const char *origin = http_header(req, "Origin");
    const char *referer = http_header(req, "Referer");
    size_t hl;

    if (!host || !host[0])
        return false;
    hl = strlen(host);
    if (origin)
        return strncasecmp(origin, "https://", 8) == 0 && strcasecmp(origin + 8, host) == 0;
    return referer && strncasecmp(referer, "https://", 8) == 0 &&
           strncasecmp(referer + 8, host, hl) == 0 && referer[8 + hl] == '/';
}

static int stale(const char **code, const char **msg)
{
    *code = "unavailable";
    *msg = "tokens and sessions cannot be checked: this collector has not read them from the "
           "database recently (a revoked one must not keep working); try again later";
    return 503;
}

int access_decide(struct access *a, const struct http_request *req, enum access_role min,
                  int64_t now, struct access_who *who, const char **code, const char **msg)
{
    char q[8], id[2 * AUTH_HASH_LEN + 2];
    const char *bearer = http_bearer(req);
    enum access_check c = ACCESS_INVALID;
    enum pf_rc rc;

    memset(who, 0, sizeof(*who));
    /* Whatever its value: a token in a URL lands in histories, proxy logs
     * and screenshots, so it is refused even when it is valid. */
    if (http_query_get(req->query, "token", q, sizeof(q)) != PF_NOTFOUND) {
        *code = "token_in_url";
        *msg = "a token in the URL is not accepted: send it as Authorization: Bearer, or sign "
               "in at /report";
        return 401;
    }
    if (bearer) {
        if ((c = access_token(a, bearer, who)) == ACCESS_STALE)
            return stale(code, msg);
        if (c != ACCESS_VALID) {
            *code = "unauthorized";
            *msg = "the token is not valid (unknown or revoked)";
            return 401;
        }
    } else if ((rc = access_cookie(req, ACCESS_COOKIE, id, sizeof(id))) != PF_NOTFOUND) {
        if (!rc && (c = access_session(a, id, now, who)) == ACCESS_STALE)
            return stale(code, msg);
        if (rc || c != ACCESS_VALID) {
            *code = "session_invalid";
            *msg = "the session is unknown or has expired: sign in again at /report";
            return 401;
        }
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
            !access_same_origin(req)) {
            *code = "cross_origin";
            *msg = "a request that changes something must come from the collector's own pages "
                   "(Origin)";
            return 403;
        }
    } else {
        *code = "unauthorized";
        *msg = "a token is required: Authorization: Bearer <token>, or sign in at /report";
        return 401;
    }
    if (who->role < min) {
        *code = "forbidden";
        *msg = min == ACCESS_OPERATOR ? "this needs an operator token"
                                      : "this needs a token with the admin role";
        return 403;
    }
    return 0;
}
