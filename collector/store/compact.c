/* SPDX-License-Identifier: MIT */
/* compact.c: the write side of the compact layout (compact.h): strings as
 * agent_strings ids, host facts once per change, snapshot_data by COPY.
 * The process-wide cache holds only what is committed, so it is never
 * wrong; a transaction's own ids wait in its struct compact until COMMIT. */
#include "compact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "body.h"
#include "copyrow.h"
#include "log.h"
#include "pgarray.h"
#include "strmap.h"
#include "timeutil.h"

#define CACHE_MAX (1u << 20) /* strings and facts remembered per process */
/* A string's last_day is written this many days past the batch's day, so
 * a string in steady use is written again once a week, not every day. */
#define LAST_DAY_SLACK 7
#define BATCH_STRINGS_MAX (1u << 20)
#define RESOLVE_ROUNDS 3 /* a lookup, then twice: move the counter, number again */
#define COPY_CHUNK (256 * 1024) /* bytes handed to libpq at a time */
#define FACTS_COLS 18 /* columns of the facts statement */
#define SIGHTED_SLOTS (1u << 18) /* endpoints remembered as seen once (2 MiB) */

static const struct {
    const char *name, *sql;
} statements[] = {
    /* Numbers the strings the process-wide cache lacks, each agent's after
     * its counter (sql/022), and stores them. The counter's row stays
     * locked until COMMIT, so the transactions numbering one agent's
     * strings, in this collector or another, take turns: the numbers
     * last - n + 1 .. last are this batch's alone. A string stored before
     * (by another collector, or before this process started) conflicts on
     * (agent_id, value) and is not returned; its number stays unused and
     * compact_resolve() looks the string up. No lookup here: a join of the
     * batch against agent_strings was planned as a scan of the whole table
     * (9-25 ms a call at 30,000 strings, growing with every string).
     * last_day (sql/131): the day of the batch's latest snapshot plus
     * LAST_DAY_SLACK. */
    {"strings",
     "WITH u AS (SELECT DISTINCT a, v FROM unnest($1::uuid[], $2::text[]) AS u(a, v)), "
     "k AS (SELECT a, v, row_number() OVER (PARTITION BY a ORDER BY v) AS k FROM u), "
     "cnt AS (SELECT a, count(*)::integer AS n FROM u GROUP BY a), "
     "bump AS (INSERT INTO agent_string_next AS t (agent_id, last) SELECT a, n FROM cnt "
     "ORDER BY a ON CONFLICT (agent_id) DO UPDATE SET last = t.last + EXCLUDED.last "
     "RETURNING agent_id, last), "
     "ins AS (INSERT INTO agent_strings (agent_id, id, value, last_day) "
     "SELECT k.a, b.last - c.n + k.k, k.v, $3::date FROM k JOIN cnt c ON c.a = k.a "
     "JOIN bump b ON b.agent_id = k.a ORDER BY 1, 2 ON CONFLICT DO NOTHING "
     "RETURNING agent_id, value, id) "
     "SELECT agent_id::text, value, id FROM ins"},
    /* The ids of strings stored before: an index scan of (agent_id, value)
     * whatever the table's size (a few agents times the batch's strings;
     * a pair that was not asked for is still a true id). */
    {"string_ids",
     "SELECT agent_id::text, value, id FROM agent_strings "
     "WHERE agent_id = ANY($1::uuid[]) AND value = ANY($2::text[])"},
    /* A counter behind the agent's highest id (rows numbered by a collector
     * of a release before sql/022): moved past it. */
    {"string_heal",
     "UPDATE agent_string_next t SET last = m.id FROM (SELECT agent_id, max(id) AS id "
     "FROM agent_strings WHERE agent_id = ANY($1::uuid[]) GROUP BY agent_id) m "
     "WHERE t.agent_id = m.agent_id AND t.last < m.id"},
    /* Strings whose last_day this process knows only for a day before the
     * batch's (sql/131): their last_day moves up, and the rows stay locked until
     * COMMIT, so a retention pass deleting them waits and then sees the
     * new day. Every row is returned: one missing was deleted. */
    {"string_touch",
     "UPDATE agent_strings s SET last_day = greatest(s.last_day, $3::date) "
     "FROM unnest($1::uuid[], $2::integer[]) AS u(a, i) WHERE s.agent_id = u.a AND s.id = u.i "
     "RETURNING s.id"},
    /* A host's facts, the first time they are seen (compact_facts_hash()). */
    {"facts",
     "INSERT INTO host_facts (agent_id, facts, first_seen, host_name, site, machine_id, os, "
     "os_version, roles, cpus, memory_mb, agent_version, ranges, excluded, usable_tcp4, "
     "usable_udp4, usable_tcp6, usable_udp6) "
     "SELECT a, f, t, n, si, m, o, ov, r::text[], c, mem, av, rg::jsonb, ex::jsonb, u1, u2, u3, "
     "u4 FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], "
     "$6::text[], $7::text[], $8::text[], $9::text[], $10::integer[], $11::bigint[], "
     "$12::text[], $13::text[], $14::text[], $15::integer[], $16::integer[], $17::integer[], "
     "$18::integer[]) AS u(a, f, t, n, si, m, o, ov, r, c, mem, av, rg, ex, u1, u2, u3, u4) "
     "ORDER BY a, f ON CONFLICT DO NOTHING"},
};

enum pf_rc compact_prepare(PGconn *pg, PGresult **bad)
{
    *bad = NULL;
    for (size_t i = 0; i < PF_ARRAY_LEN(statements); i++) {
        PGresult *r = PQprepare(pg, statements[i].name, statements[i].sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            *bad = r;
            return PF_INTERNAL;
        }
        PQclear(r);
    }
    return PF_OK;
}

/* What this process knows is committed: agent_strings ids (with a day the
 * string's last_day is known to be at or past, packed: CACHE_ID, CACHE_DAY),
 * and each agent's facts hashes. Ids never change once committed; a string
 * deleted by retention is found by the touch (compact_touch()), which
 * empties the cache. A full cache is emptied and refilled as agents post. */
#define CACHE_ID(v) ((v) & 0xffffffff)
#define CACHE_DAY(v) ((v) >> 32)
#define CACHE_PACK(id, day) ((id) | (int64_t)(day) << 32)
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct strmap *cache_ids, *cache_facts;

/* Endpoints (agent and "addr port") this process saw once without giving
 * them an id: a direct-mapped table of their hashes. An endpoint without
 * an id goes into the body inline (body.h) the first time, and gets an id
 * the next time it is seen: a remote that churns (a client seen once)
 * costs a few bytes in one body instead of a dictionary row and its two
 * index entries, and its insert; one that recurs gets its small id. A
 * collision or an overwritten slot only gives an endpoint its id one
 * sighting early or late. */
static uint64_t *sighted;

static bool cache_ready(void)
{
    if (!cache_ids)
        cache_ids = strmap_new(CACHE_MAX);
    if (!cache_facts)
        cache_facts = strmap_new(CACHE_MAX);
    if (!sighted)
        sighted = calloc(SIGHTED_SLOTS, sizeof(*sighted));
    return cache_ids && cache_facts && sighted;
}

/* True when (agent, str) was seen before; remembers it (cache_mu held). */
static bool seen_before(const char *agent, const char *str)
{
    uint64_t h = strmap_fnv(strmap_fnv(STRMAP_FNV_SEED, agent, strlen(agent) + 1), str, strlen(str));
    uint64_t *slot = &sighted[h & (SIGHTED_SLOTS - 1)];

    h |= 1; /* 0 is an empty slot */
    if (*slot == h)
        return true;
    *slot = h;
    return false;
}

/* A transaction's view of the ids: its own (what it was answered, and
 * the cache's ids it took while collecting), nothing else, so that the
 * bodies use exactly the ids and inline endpoints collect() decided on. */
struct idctx {
    const char *agent;
    const struct strmap *mine;
};

static bool id_of(void *ctx, const char *str, int64_t *id)
{
    const struct idctx *c = ctx;

    int64_t v;

    if (!strmap_get(c->mine, c->agent, str, &v))
        return false;
    *id = CACHE_ID(v);
    return true;
}

/* The strings of a batch that have no id yet (in the cache, or in mine),
 * each pair once: agents[i], values[i]; and the distinct agents among
 * them (the candidates come sorted by agent). The first walk of a batch
 * (first) copies the cache's ids it meets into mine and decides which
 * endpoints go inline (inl); later walks only find what is still without
 * an id. */
struct missing {
    const char *agent, *last_agent;
    struct strmap *mine, *inl, *touch;
    int64_t day, last;
    bool first;
    size_t item; /* the candidate walked, 1 .. */
    struct strmap *pending;
    struct pgarray agents, values, distinct;
    enum pf_rc rc;
    size_t n;
};

struct compact {
    struct strmap *mine; /* the ids this transaction uses */
    struct strmap *inl;  /* the endpoints it stores inline */
    struct strmap *touch; /* the ids whose last_day it moves up */
    int64_t day;          /* the day of its latest snapshot (days since 1970) */
    int64_t last;         /* the last_day it writes: day + LAST_DAY_SLACK */
    char day_text[PF_TIME_LEN]; /* last as text */
    struct strmap *seen; /* the facts it sends */
    struct missing m;    /* the strings it asks for */
    const char *vals[3]; /* their parameters */
};

static void missing_init(struct missing *m, struct strmap *mine, struct strmap *inl)
{
    memset(m, 0, sizeof(*m));
    m->mine = mine;
    m->inl = inl;
    pgarray_init(&m->agents);
    pgarray_init(&m->values);
    pgarray_init(&m->distinct);
    m->pending = strmap_new(BATCH_STRINGS_MAX);
    if (!m->pending)
        m->rc = PF_NOMEM;
}

static void missing_free(struct missing *m)
{
    strmap_free(m->pending);
    pgarray_free(&m->agents);
    pgarray_free(&m->values);
    pgarray_free(&m->distinct);
}

static void note_missing(void *ctx, const char *str, bool inline_ok)
{
    struct missing *m = ctx;
    int64_t v;

    if (m->rc || strmap_get(m->mine, m->agent, str, &v) ||
        strmap_get(m->pending, m->agent, str, &v))
        return;
    if (strmap_get(cache_ids, m->agent, str, &v)) {
        /* last_day known to cover the batch, or moved up by the touch */
        if (m->first && CACHE_DAY(v) >= m->day)
            m->rc = strmap_put(m->mine, m->agent, str, v);
        else if (m->first && !(m->rc = strmap_put(m->mine, m->agent, str,
                                                  CACHE_PACK(CACHE_ID(v), m->last))))
            m->rc = strmap_put(m->touch, m->agent, str, CACHE_ID(v));
        return;
    }
    /* inline: an endpoint seen for the first time, in one snapshot of the
     * batch only (one in several gets an id, which all of them use) */
    if (inline_ok && !m->first && strmap_get(m->inl, m->agent, str, &v))
        return;
    if (inline_ok && m->first &&
        (strmap_get(m->inl, m->agent, str, &v) ? v == (int64_t)m->item
                                               : !seen_before(m->agent, str))) {
        m->rc = strmap_put(m->inl, m->agent, str, (int64_t)m->item);
        return;
    }
    if ((m->rc = strmap_put(m->pending, m->agent, str, 0)))
        return;
    pgarray_str(&m->agents, m->agent);
    pgarray_str(&m->values, str);
    if (!m->last_agent || strcmp(m->last_agent, m->agent) != 0)
        pgarray_str(&m->distinct, m->agent);
    m->last_agent = m->agent;
    m->n++;
}

/* Walks the candidates' strings into m. PF_OK or PF_NOMEM. */
static enum pf_rc collect(struct missing *m, const struct store_item *items, const size_t *cand,
                          size_t ncand)
{
    pthread_mutex_lock(&cache_mu);
    if (!m->rc && !cache_ready())
        m->rc = PF_NOMEM;
    for (size_t i = 0; i < ncand && !m->rc; i++) {
        m->agent = items[cand[i]].s->agent_id;
        m->item = i + 1;
        body_strings(items[cand[i]].s, note_missing, m);
    }
    pthread_mutex_unlock(&cache_mu);
    return m->rc ? PF_NOMEM : PF_OK;
}

/* Keeps the (agent, value, id) rows of r in mine, with the last_day the
 * transaction writes for them. */
static enum pf_rc take(struct strmap *mine, const PGresult *r, int64_t last)
{
    for (int i = 0; i < PQntuples(r); i++)
        if (strmap_put(mine, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                       CACHE_PACK(strtoll(PQgetvalue(r, i, 2), NULL, 10), last)) != PF_OK)
            return PF_NOMEM;
    return PF_OK;
}

struct compact *compact_new(void)
{
    struct compact *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->mine = strmap_new(BATCH_STRINGS_MAX);
    c->inl = strmap_new(BATCH_STRINGS_MAX);
    c->touch = strmap_new(BATCH_STRINGS_MAX);
    c->seen = strmap_new(BATCH_STRINGS_MAX);
    missing_init(&c->m, c->mine, c->inl);
    c->m.first = true;
    c->m.touch = c->touch;
    if (c->m.rc || !c->mine || !c->inl || !c->touch || !c->seen) {
        compact_free(c);
        return NULL;
    }
    return c;
}

void compact_free(struct compact *c)
{
    if (!c)
        return;
    missing_free(&c->m);
    strmap_free(c->mine);
    strmap_free(c->inl);
    strmap_free(c->touch);
    strmap_free(c->seen);
    free(c);
}

static void facts_texts(const struct pf_snapshot *s, char *ranges, size_t rlen, char *excluded,
                        size_t elen)
{
    if (!copyrow_ranges_json(s->ranges, s->nranges, ranges, rlen))
        ranges[0] = '\0';
    if (!s->has_excluded || !copyrow_ranges_json(s->excluded, s->nexcluded, excluded, elen))
        excluded[0] = '\0';
}

/* FNV-1a of a host's facts. */
int64_t compact_facts_hash(const struct pf_snapshot *s)
{
    char ranges[PF_RANGES_MAX * 64 + 3], excluded[PF_EXCLUDED_MAX * 64 + 3], num[64];
    uint64_t h = STRMAP_FNV_SEED;
    const char *texts[] = {s->host.name, s->host.site, s->host.machine_id, s->host.os,
                           s->host.os_version, s->host.agent_version, ranges, excluded};

    facts_texts(s, ranges, sizeof(ranges), excluded, sizeof(excluded));
    for (size_t i = 0; i < PF_ARRAY_LEN(texts); i++)
        h = strmap_fnv(h, texts[i], strlen(texts[i]) + 1);
    for (size_t i = 0; i < s->host.nroles; i++)
        h = strmap_fnv(h, s->host.roles[i], strlen(s->host.roles[i]) + 1);
    snprintf(num, sizeof(num), "%zu/%u/%llu/%d", s->host.nroles, (unsigned)s->host.cpus,
             (unsigned long long)s->host.memory_mb, s->has_excluded ? 1 : 0);
    h = strmap_fnv(h, num, strlen(num));
    return (int64_t)(h & 0x7fffffffffffffffULL); /* fits bigint, never negative */
}

enum pf_rc compact_missing(struct compact *c, const struct store_item *items, const size_t *cand,
                           size_t ncand, size_t *n)
{
    struct missing *m = &c->m;

    /* the latest day of the batch: a string's last_day may be later than
     * the bodies that use it (kept longer), never earlier */
    c->day = 0;
    for (size_t i = 0; i < ncand; i++)
        if (items[cand[i]].s->taken_at / 86400 > c->day)
            c->day = items[cand[i]].s->taken_at / 86400;
    c->last = c->day + LAST_DAY_SLACK;
    if (pf_time_format(c->last * 86400, c->day_text))
        return PF_INVALID;
    c->day_text[10] = '\0';
    m->day = c->day;
    m->last = c->last;
    if (collect(m, items, cand, ncand))
        return PF_NOMEM;
    c->vals[0] = pgarray_end(&m->agents, &m->rc);
    c->vals[1] = pgarray_end(&m->values, &m->rc);
    c->vals[2] = c->day_text;
    *n = m->n;
    return m->rc ? PF_NOMEM : PF_OK;
}

bool compact_send_strings(struct compact *c, PGconn *pg)
{
    return PQsendQueryPrepared(pg, "strings", 3, c->vals, NULL, NULL, 0) == 1;
}

enum pf_rc compact_take_ids(struct compact *c, PGresult *strings)
{
    enum pf_rc rc = strings ? take(c->mine, strings, c->last) : PF_OK;

    PQclear(strings);
    return rc;
}

/* Runs one of the statements above on parameters vals; keeps the rows in
 * mine when it returns any (and in touch: strings stored before, whose
 * last_day is not known). */
static enum fault run(struct compact *c, struct db_conn *dc, PGconn *pg, const char *stmt,
                      int nvals, const char *const *vals, const char *what, bool touch)
{
    PGresult *r = PQexecPrepared(pg, stmt, nvals, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    enum fault f = F_NONE;

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        f = fault_classify(dc, r, what);
    else if (st == PGRES_TUPLES_OK &&
             (take(c->mine, r, c->last) != PF_OK ||
              (touch && take(c->touch, r, c->last) != PF_OK)))
        f = F_UNAVAILABLE;
    PQclear(r);
    return f;
}

enum fault compact_resolve(struct compact *c, struct db_conn *dc, PGconn *pg,
                           const struct store_item *items, const size_t *cand, size_t ncand)
{
    enum fault f = F_NONE;

    for (int round = 0; f == F_NONE; round++) {
        struct missing m;
        const char *pairs[3], *lookup[2], *agents;

        missing_init(&m, c->mine, c->inl);
        if (collect(&m, items, cand, ncand) == PF_OK) {
            pairs[0] = pgarray_end(&m.agents, &m.rc);
            pairs[1] = lookup[1] = pgarray_end(&m.values, &m.rc);
            lookup[0] = agents = pgarray_end(&m.distinct, &m.rc);
            pairs[2] = c->day_text;
        }
        if (m.rc) {
            f = F_UNAVAILABLE;
        } else if (!m.n) {
            missing_free(&m);
            return F_NONE; /* every string has its id */
        } else if (round == RESOLVE_ROUNDS) {
            pf_info("database: %zu strings still without an id, retrying", m.n);
            f = F_RETRY;
        } else if (round == 0) {
            /* stored before, by another collector or before this process
             * started: look them up */
            f = run(c, dc, pg, "string_ids", 2, lookup, "looking up strings", true);
        } else {
            /* still unknown: their numbers collided with rows the counter
             * does not cover; move it past them and number again */
            pf_warn("database: %zu strings got no id, moving the string counters", m.n);
            f = run(c, dc, pg, "string_heal", 1, &agents, "moving string counters", false);
            if (f == F_NONE)
                f = run(c, dc, pg, "strings", 3, pairs, "numbering strings", false);
        }
        missing_free(&m);
    }
    return f;
}

struct touch_arrays {
    struct pgarray agents, ids;
};

static void touch_row(void *ctx, const char *agent, const char *str, int64_t id)
{
    struct touch_arrays *t = ctx;

    (void)str;
    pgarray_str(&t->agents, agent);
    pgarray_i64(&t->ids, CACHE_ID(id));
}

enum fault compact_touch(struct compact *c, struct db_conn *dc, PGconn *pg)
{
    struct touch_arrays t;
    const char *vals[3];
    size_t n = strmap_count(c->touch);
    enum pf_rc rc = PF_OK;
    enum fault f = F_NONE;
    PGresult *r;

    if (!n)
        return F_NONE;
    pgarray_init(&t.agents);
    pgarray_init(&t.ids);
    strmap_foreach(c->touch, touch_row, &t);
    vals[0] = pgarray_end(&t.agents, &rc);
    vals[1] = pgarray_end(&t.ids, &rc);
    vals[2] = c->day_text;
    if (rc) {
        f = F_UNAVAILABLE;
    } else {
        r = PQexecPrepared(pg, "string_touch", 3, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            f = fault_classify(dc, r, "moving strings' last day");
        } else if ((size_t)PQntuples(r) != n) {
            /* deleted by retention since this process cached them: forget
             * every cached id and store the batch again (the strings are
             * numbered anew) */
            pf_info("database: %zu of %zu cached strings were dropped by retention, retrying",
                    n - (size_t)PQntuples(r), n);
            pthread_mutex_lock(&cache_mu);
            strmap_clear(cache_ids);
            pthread_mutex_unlock(&cache_mu);
            f = F_RETRY;
        }
        PQclear(r);
    }
    pgarray_free(&t.agents);
    pgarray_free(&t.ids);
    return f;
}

/* One row per agent and hash. */
enum pf_rc compact_send_facts(struct compact *c, PGconn *pg, const struct pf_snapshot *const *fresh,
                              const int64_t *fh, size_t n, bool *sent)
{
    static const int usable[4][2] = {{PF_PROTO_TCP, PF_FAMILY_IPV4},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV4},
                                     {PF_PROTO_TCP, PF_FAMILY_IPV6},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV6}};
    char ranges[PF_RANGES_MAX * 64 + 3], excluded[PF_EXCLUDED_MAX * 64 + 3];
    struct pgarray a[FACTS_COLS], roles;
    const char *vals[FACTS_COLS];
    struct strmap *seen = c->seen;
    enum pf_rc rc = PF_OK;
    size_t rows = 0;

    *sent = false;
    for (int k = 0; k < FACTS_COLS; k++)
        pgarray_init(&a[k]);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct pf_snapshot *s = fresh[i];
        int64_t h = fh[i], known;
        char hs[24];
        bool have;

        snprintf(hs, sizeof(hs), "%lld", (long long)h);
        pthread_mutex_lock(&cache_mu);
        have = strmap_get(cache_facts, s->agent_id, "", &known) && known == h;
        pthread_mutex_unlock(&cache_mu);
        if (have || strmap_get(seen, s->agent_id, hs, &known))
            continue;
        if ((rc = strmap_put(seen, s->agent_id, hs, h)))
            break;
        facts_texts(s, ranges, sizeof(ranges), excluded, sizeof(excluded));
        pgarray_str(&a[0], s->agent_id);
        pgarray_i64(&a[1], h);
        pgarray_time(&a[2], s->taken_at);
        pgarray_str(&a[3], s->host.name);
        pgarray_str(&a[4], s->host.site);
        pgarray_str(&a[5], s->host.machine_id);
        pgarray_str(&a[6], s->host.os);
        pgarray_str(&a[7], s->host.os_version);
        pgarray_init(&roles);
        for (size_t k = 0; k < s->host.nroles; k++)
            pgarray_str(&roles, s->host.roles[k]);
        {
            const char *lit = pgarray_end(&roles, &rc);
            if (lit)
                pgarray_str(&a[8], lit);
        }
        pgarray_free(&roles);
        pgarray_i64(&a[9], (int64_t)s->host.cpus);
        pgarray_i64(&a[10], (int64_t)s->host.memory_mb);
        pgarray_str(&a[11], s->host.agent_version);
        pgarray_str(&a[12], ranges);
        if (s->has_excluded)
            pgarray_str(&a[13], excluded);
        else
            pgarray_null(&a[13]);
        for (int u = 0; u < 4; u++) {
            if (pf_snapshot_range(s, usable[u][0], usable[u][1]))
                pgarray_i64(&a[14 + u], (int64_t)pf_snapshot_usable_ports(s, usable[u][0],
                                                                          usable[u][1]));
            else
                pgarray_null(&a[14 + u]);
        }
        rows++;
    }
    for (int k = 0; k < FACTS_COLS; k++)
        vals[k] = pgarray_end(&a[k], &rc);
    if (!rc && rows) {
        if (PQsendQueryPrepared(pg, "facts", FACTS_COLS, vals, NULL, NULL, 0) == 1)
            *sent = true;
        else
            rc = PF_AGAIN;
    }
    for (int k = 0; k < FACTS_COLS; k++)
        pgarray_free(&a[k]);
    return rc;
}

/* A full cache starts over (it only saves round trips). v: the id and
 * the day its last_day is at or past now. */
static void cache_id(void *ctx, const char *agent, const char *value, int64_t v)
{
    int64_t old;

    (void)ctx;
    if (strmap_get(cache_ids, agent, value, &old) && CACHE_ID(old) == CACHE_ID(v) &&
        CACHE_DAY(old) > CACHE_DAY(v))
        v = old;
    if (strmap_put(cache_ids, agent, value, v) == PF_TOOBIG) {
        strmap_clear(cache_ids);
        (void)strmap_put(cache_ids, agent, value, v);
    }
}

void compact_commit(struct compact *c, const struct pf_snapshot *const *fresh, const int64_t *fh,
                    size_t n)
{
    pthread_mutex_lock(&cache_mu);
    strmap_foreach(c->mine, cache_id, NULL);
    for (size_t i = 0; i < n; i++)
        if (strmap_put(cache_facts, fresh[i]->agent_id, "", fh[i]) == PF_TOOBIG) {
            strmap_clear(cache_facts);
            (void)strmap_put(cache_facts, fresh[i]->agent_id, "", fh[i]);
        }
    pthread_mutex_unlock(&cache_mu);
}

/* The snapshot_data row of s (COPY text), its strings resolved by ids. */
static enum pf_rc rows_data(const struct pf_snapshot *s, int64_t facts, const struct strmap *mine,
                            struct pf_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t body[BODY_MAX];
    char taken[PF_TIME_LEN], hx[2 * BODY_MAX + 4];
    struct idctx ic = {s->agent_id, mine};
    struct copyrow r = {out, PF_OK, 0};
    size_t len, before = out->len;
    enum pf_rc rc;

    if (pf_time_format(s->taken_at, taken))
        return PF_INVALID;
    rc = body_encode(s, id_of, &ic, body, &len);
    if (rc)
        return rc;
    copyrow_text(&r, s->agent_id);
    copyrow_text(&r, taken);
    copyrow_u64(&r, s->seq);
    copyrow_u64(&r, (uint64_t)facts);
    /* bytea in hex: \x... (the backslash doubled for COPY) */
    hx[0] = '\\';
    hx[1] = '\\';
    hx[2] = 'x';
    for (size_t i = 0; i < len; i++) {
        hx[3 + 2 * i] = hex[body[i] >> 4];
        hx[4 + 2 * i] = hex[body[i] & 15];
    }
    copyrow_raw(&r, hx, 3 + 2 * len);
    if (s->nunmeasured)
        copyrow_text_array(&r, s->unmeasured, s->nunmeasured);
    else
        copyrow_null(&r);
    if (s->has_agent_stats && s->agent_stats.has_last_push_error)
        copyrow_text(&r, s->agent_stats.last_push_error);
    else
        copyrow_null(&r);
    copyrow_end(&r);
    if (r.rc) {
        out->len = before;
        if (out->data)
            out->data[before] = '\0';
    }
    return r.rc;
}

static const char copy_data_sql[] =
    "COPY snapshot_data (agent_id, taken_at, seq, facts, body, unmeasured, last_push_error) "
    "FROM STDIN";

enum fault compact_copy(struct compact *c, struct db_conn *dc, PGconn *pg,
                        const struct pf_snapshot *const *fresh, const int64_t *fh, size_t n)
{
    struct pf_buf b;
    PGresult *r;
    enum fault f = F_NONE;
    bool sent_ok = true;
    enum pf_rc rc = PF_OK;

    r = PQexecParams(pg, copy_data_sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        f = fault_classify(dc, r, "COPY");
        PQclear(r);
        return f;
    }
    PQclear(r);
    pf_buf_init(&b, 4 * COPY_CHUNK);
    for (size_t i = 0; i < n && sent_ok; i++) {
        if ((rc = rows_data(fresh[i], fh[i], c->mine, &b)) != PF_OK) {
            sent_ok = false;
            break;
        }
        if (b.len >= COPY_CHUNK) {
            sent_ok = PQputCopyData(pg, b.data, (int)b.len) == 1;
            pf_buf_reset(&b);
        }
    }
    if (sent_ok && b.len)
        sent_ok = PQputCopyData(pg, b.data, (int)b.len) == 1;
    pf_buf_free(&b);
    PQputCopyEnd(pg, sent_ok ? NULL : "row formatting failed");
    while ((r = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && f == F_NONE)
            f = fault_classify(dc, r, "COPY snapshot_data");
        PQclear(r);
    }
    if (f == F_NONE && !sent_ok) {
        if (rc == PF_NOTFOUND) {
            /* a string id went missing: another transaction numbered the
             * same agent's strings at the same time */
            pf_info("database: agent_strings ids raced, retrying");
            f = F_RETRY;
        } else {
            f = db_check(dc) ? F_UNAVAILABLE : F_BUG;
        }
    }
    return f;
}
