/* SPDX-License-Identifier: MIT */
/* store.c: the collector's SQL: session set-up, enrollment, key lookup,
 * the ingest transaction, partitions and retention. The ingest
 * transaction's parts live beside it: the COPY text rows in copyrow.c,
 * what a failure means and the pipelines in fault.c, the compact layout's
 * string ids, host facts and snapshot_data rows in compact.c. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "fault.h"
#include "log.h"
#include "migrate.h"
#include "proc_rollup.h"
#include "rollup.h"
#include "timeutil.h"

#define PARAM_MAX (64u * 1024 * 1024) /* array parameters of one group */
#define KNOWN_DAYS 64
#define ATTEMPTS 3

static const struct {
    const char *name, *sql;
} statements[] = {
    {"key", "SELECT agent_id::text FROM agents WHERE node_key_hash = $1 AND revoked_at IS NULL"},
    {"enroll", "INSERT INTO agents (agent_id, node_key_hash, name, site, machine_id, tenant) "
               "VALUES ($1::uuid, $2, $3, $4, $5, $6)"},
    /* The ingest transaction's first statement: the agents' last contact,
     * duplicates or not, after locking their rows in agent_id order. Every
     * row the transaction writes later belongs to one of these agents, so
     * two transactions sharing an agent take turns from here, and lock no
     * row in opposite orders. A plain UPDATE ... WHERE agent_id = ANY()
     * is planned as a scan of agents in physical order, which moves with
     * every update and differs between two transactions' snapshots: two
     * writers then locked the same two agents in opposite orders
     * (deadlock, tests/integration/collector_deadlock.sh). */
    {"seen", "UPDATE agents a SET last_seen = now() FROM (SELECT agent_id FROM agents "
             "WHERE agent_id = ANY($1::uuid[]) ORDER BY agent_id FOR NO KEY UPDATE) l "
             "WHERE a.agent_id = l.agent_id"},
    /* The keys stored for the first time, also queued for process_hours
     * (proc_rollup.h). */
    {"seqs", "WITH ins AS (INSERT INTO snapshot_seqs (agent_id, seq, taken_at) "
             "SELECT a, s, t FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS u(a, s, t) "
             "ORDER BY a, s ON CONFLICT DO NOTHING RETURNING agent_id, seq, taken_at), "
             "queued AS (INSERT INTO process_hours_queue (agent_id, seq, taken_at) "
             "SELECT agent_id, seq, taken_at FROM ins) "
             "SELECT agent_id::text, seq FROM ins"},
    {"part", "SELECT pf_ensure_partition($1::date)"},
    {"parts", "SELECT pf_ensure_partitions($1::date, $2::date)"},
    {"drop", "SELECT pf_drop_partitions_before($1::date)"},
    {"drop_rollups", "SELECT pf_drop_rollups_before($1::timestamptz)"},
};

/* Per connection: the days whose partitions this connection has seen
 * exist, so ingest asks for a partition only on a day's first snapshot. */
struct sstate {
    int64_t days[KNOWN_DAYS];
    size_t ndays, next;
};

/* ---- connection set-up ---- */

static void sstate_free(void *p)
{
    free(p);
}

enum pf_rc store_on_connect(struct db_conn *dc, PGconn *pg, char *err, size_t errlen)
{
    PGresult *r;
    int version = 0;
    struct sstate *st;

    r = PQexecParams(pg,
                     "SELECT set_config('TimeZone', 'UTC', false), "
                     "set_config('statement_timeout', '60s', false), "
                     "set_config('client_min_messages', 'warning', false)",
                     0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "session set-up: %s", PQresultErrorMessage(r));
        PQclear(r);
        return PF_AGAIN;
    }
    PQclear(r);
    r = PQexecParams(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, NULL,
                     NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (version < migrate_latest()) {
        snprintf(err, errlen,
                 "the database schema is at version %d, this collector needs %d: run "
                 "`portfleet-collector migrate --db ...`",
                 version, migrate_latest());
        return PF_INVALID;
    }
    for (size_t i = 0; i < PF_ARRAY_LEN(statements); i++) {
        r = PQprepare(pg, statements[i].name, statements[i].sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "preparing %s: %s", statements[i].name,
                     PQresultErrorMessage(r));
            PQclear(r);
            return PF_INTERNAL;
        }
        PQclear(r);
    }
    if (compact_prepare(pg, &r) != PF_OK) {
        snprintf(err, errlen, "preparing the compact layout's statements: %s",
                 PQresultErrorMessage(r));
        PQclear(r);
        return PF_INTERNAL;
    }
    if (rollup_prepare(pg, &r) != PF_OK) {
        snprintf(err, errlen, "preparing the rollup statements: %s", PQresultErrorMessage(r));
        PQclear(r);
        return PF_INTERNAL;
    }
    if (proc_rollup_prepare(pg, &r) != PF_OK) {
        snprintf(err, errlen, "preparing the process_hours statements: %s",
                 PQresultErrorMessage(r));
        PQclear(r);
        return PF_INTERNAL;
    }
    st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return PF_NOMEM;
    }
    db_conn_set_state(dc, st, sstate_free);
    return PF_OK;
}

/* ---- lookups, enrollment, maintenance ---- */

enum pf_rc store_agent_by_hash(struct db_conn *dc, const uint8_t hash[AUTH_HASH_LEN],
                               char agent_id[AUTH_UUID_LEN])
{
    const char *vals[1] = {(const char *)hash};
    int lens[1] = {AUTH_HASH_LEN}, fmts[1] = {1};
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc;

    if (!pg)
        return PF_AGAIN;
    r = PQexecPrepared(pg, "key", 1, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = fault_rc(fault_classify(dc, r, "node key lookup"));
    } else if (PQntuples(r) == 0) {
        rc = PF_NOTFOUND;
    } else {
        snprintf(agent_id, AUTH_UUID_LEN, "%s", PQgetvalue(r, 0, 0));
        rc = PF_OK;
    }
    PQclear(r);
    return rc == PF_INVALID ? PF_INTERNAL : rc;
}

enum pf_rc store_enroll(struct db_conn *dc, const char *agent_id, const char *node_key,
                        const char *tenant, const char *name, const char *site,
                        const char *machine_id)
{
    uint8_t hash[AUTH_HASH_LEN];
    const char *vals[6] = {agent_id, (const char *)hash, name, site, machine_id, tenant};
    int lens[6] = {0, AUTH_HASH_LEN, 0, 0, 0, 0}, fmts[6] = {0, 1, 0, 0, 0, 0};
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc = PF_OK;

    if (!pg)
        return PF_AGAIN;
    auth_hash(node_key, strlen(node_key), hash);
    r = PQexecPrepared(pg, "enroll", 6, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = fault_rc(fault_classify(dc, r, "enrolling an agent"));
    PQclear(r);
    return rc == PF_INVALID ? PF_INTERNAL : rc;
}

/* "YYYY-MM-DD" of a day number (days since the epoch). */
static void day_text(int64_t day, char out[PF_TIME_LEN])
{
    if (pf_time_format(day * 86400, out))
        snprintf(out, PF_TIME_LEN, "1970-01-01");
    out[10] = '\0';
}

static enum pf_rc prepared_select(struct db_conn *dc, PGconn *pg, const char *stmt, int n,
                                  const char *const *vals, const char *what, PGresult **out)
{
    PGresult *r = PQexecPrepared(pg, stmt, n, vals, NULL, NULL, 0);

    *out = NULL;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        enum pf_rc rc = fault_rc(fault_classify(dc, r, what));
        PQclear(r);
        return rc;
    }
    *out = r;
    return PF_OK;
}

enum pf_rc store_maintain(struct db_conn *dc, int retention_days, int rollup_retention_days)
{
    int64_t now = pf_time_now(), today = now / 86400;
    char first[PF_TIME_LEN], last[PF_TIME_LEN], cutoff[PF_TIME_LEN], rcutoff[PF_TIME_LEN];
    const char *p2[2] = {first, last}, *p1[1] = {cutoff}, *pr[1] = {rcutoff};
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc;
    int dropped;

    if (!pg)
        return PF_AGAIN;
    day_text(today - 1, first);
    day_text(today + STORE_DAYS_AHEAD, last);
    day_text(today - retention_days, cutoff);
    if (pf_time_format((today - rollup_retention_days) * 86400, rcutoff))
        return PF_INTERNAL;
    if ((rc = prepared_select(dc, pg, "parts", 2, p2, "creating partitions", &r)))
        return rc;
    PQclear(r);
    if ((rc = prepared_select(dc, pg, "drop", 1, p1, "dropping old partitions", &r)))
        return rc;
    dropped = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (dropped)
        pf_info("retention: dropped %d partition tables of days before %s (%d days kept)",
                dropped, cutoff, retention_days);
    if ((rc = prepared_select(dc, pg, "drop_rollups", 1, pr, "dropping old rollups", &r)))
        return rc;
    dropped = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (dropped)
        pf_info("retention: dropped %d rollup partition tables of months before %.10s (%d days "
                "kept)",
                dropped, rcutoff, rollup_retention_days);
    /* The fleet mirror's marks (sql/150) live a day: a mirror older than
     * that reloads in full. */
    r = PQexecParams(pg,
                     "DELETE FROM rollup_late_marks WHERE marked_at < now() - interval '1 day'", 0,
                     NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        pf_warn("retention: late marks not deleted: %s", PQresultErrorMessage(r));
    PQclear(r);
    pf_debug("partitions ready through %s", last);
    return PF_OK;
}

enum pf_rc store_flush_rollups(struct db_conn *dc)
{
    PGconn *pg = db_pg(dc);
    PGresult *bad = NULL;
    size_t written;
    enum pf_rc rc;

    if (!pg)
        return PF_AGAIN;
    rc = proc_rollup_flush(pg, &written, &bad);
    /* Behind a fold of the queue: the rows wait in memory (proc_rollup.h). */
    if (rc == PF_INVALID && proc_rollup_lock_busy(bad))
        rc = PF_OK;
    else if (rc == PF_INVALID)
        rc = fault_rc(fault_classify(dc, bad, "writing process_hours"));
    PQclear(bad);
    if (!rc && written)
        pf_debug("process_hours: %zu rows written", written);
    return rc;
}

enum pf_rc store_ping(struct db_conn *dc)
{
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc = PF_OK;

    if (!pg)
        return PF_AGAIN;
    r = PQexecParams(pg, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = fault_rc(fault_classify(dc, r, "ping")) == PF_OK ? PF_OK : PF_AGAIN;
    PQclear(r);
    return rc;
}

/* ---- ingest ---- */

static int cmp_key(const struct pf_snapshot *a, const struct pf_snapshot *b)
{
    int c = strcmp(a->agent_id, b->agent_id);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Orders item indices by key, then by position (so the first of equal keys
 * comes first). qsort has no context argument in C11: the items are
 * reached through tl_items, which is per thread. */
static _Thread_local const struct store_item *tl_items;

static int cmp_index(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = cmp_key(tl_items[a].s, tl_items[b].s);
    return c ? c : (a < b ? -1 : a > b);
}

/* Makes sure the partitions of every day in cand exist (outside the ingest
 * transaction: DDL takes locks a long transaction should not hold). */
static enum fault ensure_days(struct db_conn *dc, PGconn *pg, struct store_item *items,
                              const size_t *cand, size_t ncand)
{
    struct sstate *st = db_conn_state(dc);

    for (size_t i = 0; i < ncand; i++) {
        int64_t day = items[cand[i]].s->taken_at / 86400;
        char d[PF_TIME_LEN];
        const char *vals[1] = {d};
        bool known = false;
        PGresult *r;

        for (size_t k = 0; k < st->ndays && !known; k++)
            known = st->days[k] == day;
        if (known)
            continue;
        day_text(day, d);
        r = PQexecPrepared(pg, "part", 1, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            enum fault f = fault_classify(dc, r, "creating a partition");
            PQclear(r);
            return f;
        }
        PQclear(r);
        st->days[st->next] = day;
        st->next = (st->next + 1) % KNOWN_DAYS;
        if (st->ndays < KNOWN_DAYS)
            st->ndays++;
    }
    return F_NONE;
}

/* Array parameters of the candidate keys: {uuid,...}, {seq,...},
 * {time,...}; and of their distinct agents. */
static enum pf_rc key_params(struct store_item *items, const size_t *cand, size_t ncand,
                             struct pf_buf *ids, struct pf_buf *seqs, struct pf_buf *times,
                             struct pf_buf *agents)
{
    enum pf_rc rc = PF_OK;
    const char *last_agent = NULL;

    rc = pf_buf_puts(ids, "{");
    if (!rc)
        rc = pf_buf_puts(seqs, "{");
    if (!rc)
        rc = pf_buf_puts(times, "{");
    if (!rc)
        rc = pf_buf_puts(agents, "{");
    for (size_t i = 0; i < ncand && !rc; i++) {
        const struct pf_snapshot *s = items[cand[i]].s;
        char t[PF_TIME_LEN];
        const char *comma = i ? "," : "";
        if ((rc = pf_time_format(s->taken_at, t)))
            break;
        rc = pf_buf_printf(ids, "%s%s", comma, s->agent_id);
        if (!rc)
            rc = pf_buf_printf(seqs, "%s%llu", comma, (unsigned long long)s->seq);
        if (!rc)
            rc = pf_buf_printf(times, "%s%s", comma, t);
        if (!rc && (!last_agent || strcmp(last_agent, s->agent_id) != 0)) {
            rc = pf_buf_printf(agents, "%s%s", last_agent ? "," : "", s->agent_id);
            last_agent = s->agent_id;
        }
    }
    if (!rc)
        rc = pf_buf_puts(ids, "}");
    if (!rc)
        rc = pf_buf_puts(seqs, "}");
    if (!rc)
        rc = pf_buf_puts(times, "}");
    if (!rc)
        rc = pf_buf_puts(agents, "}");
    return rc;
}

/* Marks the candidates whose keys the INSERT returned. */
static void mark_fresh(PGresult *r, struct store_item *items, const size_t *cand, size_t ncand)
{
    for (int row = 0; row < PQntuples(r); row++) {
        struct pf_snapshot key;
        size_t lo = 0, hi = ncand;
        snprintf(key.agent_id, sizeof(key.agent_id), "%s", PQgetvalue(r, row, 0));
        key.seq = strtoull(PQgetvalue(r, row, 1), NULL, 10);
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = cmp_key(items[cand[mid]].s, &key);
            if (c == 0) {
                items[cand[mid]].fresh = true;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
}


/* One transaction in three steps, each one round trip but the COPYs:
 * BEGIN with the agents' rows (locked first: "seen"), the keys (which are
 * new: the dedup) and the ids of strings this process has not seen, the
 * new snapshots' rows by COPY, then the hourly rollups (rollup.h) and new
 * host facts with COMMIT. */
static enum fault ingest_once(struct db_conn *dc, PGconn *pg, struct store_item *items,
                              const size_t *cand, size_t ncand)
{
    struct pf_buf ids, seqs, times, agents;
    const char *vals[4];
    const struct pf_snapshot **fresh = NULL; /* stored for the first time */
    int64_t *fh = NULL;                      /* their facts hashes */
    size_t nfresh = 0, nrollup = 0, nmissing = 0;
    PGresult *keys = NULL, *strings = NULL;
    struct compact *c = NULL;
    struct fault_pipe p;
    enum fault f;

    for (size_t i = 0; i < ncand; i++)
        items[cand[i]].fresh = false;
    if ((f = ensure_days(dc, pg, items, cand, ncand)) != F_NONE)
        return f;
    pf_buf_init(&ids, PARAM_MAX);
    pf_buf_init(&seqs, PARAM_MAX);
    pf_buf_init(&times, PARAM_MAX);
    pf_buf_init(&agents, PARAM_MAX);
    if (!(c = compact_new()) ||
        key_params(items, cand, ncand, &ids, &seqs, &times, &agents) != PF_OK ||
        !(fresh = malloc((ncand ? ncand : 1) * sizeof(*fresh))) ||
        !(fh = malloc((ncand ? ncand : 1) * sizeof(*fh))) ||
        compact_missing(c, items, cand, ncand, &nmissing) != PF_OK) {
        f = F_UNAVAILABLE;
        goto out;
    }
    vals[0] = ids.data;
    vals[1] = seqs.data;
    vals[2] = times.data;
    vals[3] = agents.data;
    fault_pipe_begin(pg, &p);
    fault_pipe_command(pg, &p, "BEGIN");
    if (p.sent)
        fault_pipe_note(&p, PQsendQueryPrepared(pg, "seen", 1, vals + 3, NULL, NULL, 0) == 1,
                        "locking the agents", PGRES_COMMAND_OK, NULL);
    if (p.sent)
        fault_pipe_note(&p, PQsendQueryPrepared(pg, "seqs", 3, vals, NULL, NULL, 0) == 1,
                        "inserting snapshot keys", PGRES_TUPLES_OK, &keys);
    if (p.sent && nmissing)
        fault_pipe_note(&p, compact_send_strings(c, pg), "numbering strings", PGRES_TUPLES_OK,
                        &strings);
    if ((f = fault_pipe_end(dc, pg, &p)) != F_NONE)
        goto fail;
    mark_fresh(keys, items, cand, ncand);
    PQclear(keys);
    keys = NULL;
    f = compact_take_ids(c, strings) == PF_OK ? F_NONE : F_UNAVAILABLE;
    strings = NULL; /* freed */
    if (f == F_NONE && nmissing)
        f = compact_resolve(c, dc, pg, items, cand, ncand);
    if (f == F_NONE)
        f = compact_touch(c, dc, pg);
    if (f != F_NONE)
        goto fail;
    for (size_t i = 0; i < ncand; i++)
        if (items[cand[i]].fresh) {
            fh[nfresh] = compact_facts_hash(items[cand[i]].s);
            fresh[nfresh++] = items[cand[i]].s;
        }
    if (nfresh && (f = compact_copy(c, dc, pg, fresh, fh, nfresh)) != F_NONE)
        goto fail;
    fault_pipe_begin(pg, &p);
    if (p.sent) {
        /* Unsent (out of memory, or libpq failed): fault_pipe_end() drops
         * the connection, which ends the transaction. */
        bool ok = rollup_send(pg, fresh, nfresh, &nrollup) == PF_OK, facts = false;
        for (size_t i = 0; i < nrollup; i++)
            fault_pipe_note(&p, true, "updating the hourly rollups", PGRES_COMMAND_OK, NULL);
        ok = ok && compact_send_facts(c, pg, fresh, fh, nfresh, &facts) == PF_OK;
        if (facts)
            fault_pipe_note(&p, true, "storing host facts", PGRES_COMMAND_OK, NULL);
        p.sent = p.sent && ok;
    }
    fault_pipe_command(pg, &p, "COMMIT");
    if ((f = fault_pipe_end(dc, pg, &p)) == F_NONE) {
        compact_commit(c, fresh, fh, nfresh);
        proc_rollup_add(fresh, nfresh);
        goto out;
    }
fail:
    fault_rollback(dc, pg);
out:
    if (f != F_NONE)
        for (size_t i = 0; i < ncand; i++)
            items[cand[i]].fresh = false;
    PQclear(keys);
    PQclear(strings);
    compact_free(c);
    free(fresh);
    free(fh);
    pf_buf_free(&ids);
    pf_buf_free(&seqs);
    pf_buf_free(&times);
    pf_buf_free(&agents);
    return f;
}

enum pf_rc store_ingest(struct db_conn *dc, struct store_item *items, size_t n)
{
    size_t *order, *cand, ncand = 0;
    enum fault f = F_UNAVAILABLE;
    PGconn *pg;

    for (size_t i = 0; i < n; i++)
        items[i].fresh = false;
    if (n == 0)
        return PF_OK;
    order = malloc(2 * n * sizeof(*order));
    if (!order)
        return PF_NOMEM;
    cand = order + n;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    tl_items = items;
    qsort(order, n, sizeof(*order), cmp_index);
    tl_items = NULL;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || cmp_key(items[order[i - 1]].s, items[order[i]].s) != 0)
            cand[ncand++] = order[i];
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        pg = db_pg(dc);
        if (!pg) {
            f = F_UNAVAILABLE;
            break;
        }
        f = ingest_once(dc, pg, items, cand, ncand);
        if (f != F_RETRY)
            break;
        /* A partition may have been dropped under us: ask again. */
        if (db_conn_state(dc))
            ((struct sstate *)db_conn_state(dc))->ndays = 0;
    }
    free(order);
    return fault_rc(f);
}
