/* SPDX-License-Identifier: MIT */
/* ingest.c: the snapshot route's worker side. */
#include "ingest.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_cache.h"
#include "log.h"
#include "serve.h"
#include "server.h"
#include "snapshot_json.h"
#include "store.h"
#include "timeutil.h"

#define DECODE_MAX 4                  /* requests one worker checks at a time */
#define DECODE_BYTES (4 * 1024 * 1024) /* their bodies, together */
#define WRITE_MAX 256                 /* requests in one transaction */
#define WRITE_SNAPSHOTS 16384         /* their snapshots, about */
/* Two writers at most. A group of requests is one transaction; while one
 * writer's transaction runs, the next group gathers on the ready list, and
 * a second writer takes it only once SECOND_WRITER_MIN requests wait, so
 * groups stay big enough to pay for a transaction. Measured with 16
 * connections posting single snapshots (tests/bench/collector_bench.sh,
 * 2 cores): one writer stored 1,200-1,500 snapshots/s in groups of about 8,
 * its database connection idle while it formatted rows; two writers with
 * this threshold stored 1,700-2,100/s in groups of about 4. */
#define WRITERS_MAX 2
#define SECOND_WRITER_MIN 4
#define FUTURE_MAX_S 86400            /* taken_at may be this far ahead of our clock */
#define KEY_LEN_MAX 128

static void ingest_run(struct db_conn *dc, struct db_job **jobs, size_t n);

static const struct db_job_ops ingest_ops = {"ingest", DECODE_MAX, DECODE_BYTES, ingest_run};

void ingest_handle(struct exchange *x)
{
    exchange_defer(x, &ingest_ops);
}

/* ---- node keys ---- */

/* Resolves a node key to its agent through the server's cache
 * (auth_cache.h: a revoked key stops working within AUTH_STALE_MS). */
static enum pf_rc resolve_key(struct db_conn *dc, struct auth_cache *cache, const char *key,
                              char agent_id[AUTH_UUID_LEN])
{
    uint8_t h[AUTH_HASH_LEN];
    uint64_t ticket;
    enum pf_rc rc;

    if (strlen(key) > KEY_LEN_MAX)
        return PF_NOTFOUND;
    auth_hash(key, strlen(key), h);
    if (auth_cache_get(cache, h, agent_id, AUTH_UUID_LEN))
        return PF_OK;
    ticket = auth_cache_ticket(cache);
    rc = store_agent_by_hash(dc, h, agent_id);
    if (rc == PF_OK)
        auth_cache_put(cache, h, agent_id, ticket);
    return rc;
}

/* ---- one request of a group ---- */

struct req {
    struct exchange *x;
    struct db_job *job;
    char agent_id[AUTH_UUID_LEN];
    struct pf_snapshot *snaps;
    size_t nsnaps;
    size_t first; /* its items in the group's item array */
    size_t nitems;
    size_t expired;
    bool pending; /* valid so far, waiting for the transaction */
    struct req *next;
};

/* Checked requests waiting for the writer, and whether a worker is the
 * writer now (see ingest_run). */
static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static struct req *ready_head, *ready_tail;
static size_t ready_n;
static int writers;

/* True when the body's top-level object has a "snapshots" key: tells a
 * batch of one from a single snapshot, for the paths in messages. The
 * codec has accepted the text, so it is valid JSON. */
static bool body_is_batch(const char *p, size_t n)
{
    int depth = 0;
    bool in_str = false, key_start = false;
    size_t start = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_str = false;
                if (key_start) {
                    size_t j = i + 1;
                    while (j < n && (p[j] == ' ' || p[j] == '\t' || p[j] == '\r' || p[j] == '\n'))
                        j++;
                    if (j < n && p[j] == ':' && i - start == 9 &&
                        memcmp(p + start, "snapshots", 9) == 0)
                        return true;
                }
            }
            continue;
        }
        if (c == '"') {
            in_str = true;
            key_start = depth == 1;
            start = i + 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return false;
}

/* Checks one request: on success marks it pending, otherwise answers it. */
static void check_request(struct db_conn *dc, struct req *q, int64_t now)
{
    struct exchange *x = q->x;
    const char *key = http_bearer(x->req);
    char err[PF_ERRMSG_LEN];
    enum pf_rc rc;

    rc = key ? resolve_key(dc, serve_node_keys(x), key, q->agent_id) : PF_NOTFOUND;
    if (rc == PF_NOTFOUND) {
        pf_warn("snapshots from %s: unknown or revoked node key; answering 401", x->peer);
        exchange_error(x, 401, "node_invalid", "unknown or revoked node key: enroll again");
        return;
    }
    if (rc) {
        exchange_error(x, 503, "unavailable", "the database is unavailable; retry later");
        return;
    }
    rc = pf_snapshot_decode_body(x->body, x->body_len, &q->snaps, &q->nsnaps, err);
    if (rc == PF_INVALID) {
        pf_warn("snapshots from agent %s (%s): rejected as invalid: %s", q->agent_id, x->peer,
                err);
        exchange_error(x, 400, "invalid", "%s", err);
        return;
    }
    if (rc) {
        exchange_error(x, 500, "internal", "%s", pf_strerror(rc));
        return;
    }
    for (size_t i = 0; i < q->nsnaps; i++) {
        const struct pf_snapshot *s = &q->snaps[i];
        bool wrong_agent = strcmp(s->agent_id, q->agent_id) != 0;
        char where[40] = "";
        if (!wrong_agent && s->taken_at <= now + FUTURE_MAX_S)
            continue;
        /* Refused: name the snapshot the way the body did (the scan of the
         * body is only paid here). */
        if (q->nsnaps > 1 || body_is_batch(x->body, x->body_len))
            snprintf(where, sizeof(where), "snapshots[%zu].", i);
        if (wrong_agent) {
            char claimed[PF_ID_LEN];
            log_sanitize(s->agent_id, claimed, sizeof(claimed));
            pf_warn("snapshots from agent %s (%s): %sagent_id is \"%s\"; answering 403",
                    q->agent_id, x->peer, where, claimed);
            exchange_error(x, 403, "wrong_agent", "%sagent_id: \"%s\" is not the agent of this key",
                           where, s->agent_id);
            return;
        }
        pf_warn("snapshots from agent %s (%s): %staken_at is more than a day ahead; "
                "rejected as invalid",
                q->agent_id, x->peer, where);
        exchange_error(x, 400, "invalid",
                       "%staken_at: more than 24 hours ahead of the collector's clock", where);
        return;
    }
    q->pending = true;
}

/* Appends the pending requests' snapshots that are within the retention
 * window to items (sized for all of them). */
static size_t collect_items(struct req *reqs, size_t n, struct store_item *items, int64_t cutoff)
{
    size_t nitems = 0;

    for (size_t i = 0; i < n; i++) {
        struct req *q = &reqs[i];
        if (!q->pending)
            continue;
        q->first = nitems;
        for (size_t k = 0; k < q->nsnaps; k++) {
            if (q->snaps[k].taken_at < cutoff) {
                q->expired++;
                continue;
            }
            items[nitems].s = &q->snaps[k];
            items[nitems].fresh = false;
            nitems++;
        }
        q->nitems = nitems - q->first;
    }
    return nitems;
}

static void answer(struct req *q, const struct store_item *items)
{
    struct exchange *x = q->x;
    char json[96];
    size_t accepted = 0;

    for (size_t i = 0; i < q->nitems; i++)
        accepted += items[q->first + i].fresh;
    x->accepted = accepted;
    x->duplicates = q->nsnaps - accepted - q->expired;
    if (q->expired) {
        pf_info("agent %s (%s): %zu snapshots older than the retention window were not stored",
                q->agent_id, x->peer, q->expired);
        snprintf(json, sizeof(json), "{\"accepted\":%zu,\"duplicates\":%llu,\"expired\":%zu}",
                 accepted, (unsigned long long)x->duplicates, q->expired);
    } else {
        snprintf(json, sizeof(json), "{\"accepted\":%zu,\"duplicates\":%llu}", accepted,
                 (unsigned long long)x->duplicates);
    }
    pf_debug("agent %s (%s): %zu accepted, %llu duplicates", q->agent_id, x->peer, accepted,
             (unsigned long long)x->duplicates);
    exchange_json(x, 200, json);
}

static void fail_pending(struct req *reqs, size_t n, enum pf_rc rc)
{
    for (size_t i = 0; i < n; i++) {
        if (!reqs[i].pending)
            continue;
        reqs[i].pending = false;
        if (rc == PF_AGAIN)
            exchange_error(reqs[i].x, 503, "unavailable",
                           "the database is unavailable; retry later");
        else
            exchange_error(reqs[i].x, 500, "internal", "storing the snapshots failed: %s",
                           pf_strerror(rc));
    }
}

/* Stores the pending requests of reqs together; when the database refuses
 * the data of the group, stores them one by one so only the request that
 * carries the bad row fails. */
static void store_group(struct db_conn *dc, struct req *reqs, size_t n, struct store_item *items,
                        size_t nitems)
{
    enum pf_rc rc = store_ingest(dc, items, nitems);
    size_t npending = 0;

    for (size_t i = 0; i < n; i++)
        npending += reqs[i].pending;
    if (rc == PF_INVALID && npending > 1) {
        for (size_t i = 0; i < n; i++)
            if (reqs[i].pending)
                store_group(dc, &reqs[i], 1, items + reqs[i].first, reqs[i].nitems);
        return;
    }
    if (rc) {
        if (rc == PF_AGAIN)
            pf_debug("database unavailable: answering 503 to %zu snapshot requests", npending);
        fail_pending(reqs, n, rc);
        return;
    }
}

/* Stores a batch of checked requests in one transaction, answers each and
 * hands its job back to the pool. */
static void write_batch(struct db_conn *dc, struct req *reqs, size_t n)
{
    int64_t keep_days = (int64_t)serve_opts(reqs[0].x)->retention_days;
    int64_t cutoff = (pf_time_now() / 86400 - keep_days) * 86400;
    struct store_item *items;
    size_t total = 0;

    for (size_t i = 0; i < n; i++)
        total += reqs[i].nsnaps;
    items = malloc((total ? total : 1) * sizeof(*items));
    if (!items)
        fail_pending(reqs, n, PF_AGAIN);
    else
        store_group(dc, reqs, n, items, collect_items(reqs, n, items, cutoff));
    /* Requests still pending were stored: each gets its own counts. */
    for (size_t i = 0; i < n; i++) {
        if (reqs[i].pending)
            answer(&reqs[i], items);
        pf_snapshot_array_free(reqs[i].snaps, reqs[i].nsnaps);
        db_release(dc, reqs[i].job);
    }
    free(items);
}

/* Group commit with shared writers: every worker checks (decodes,
 * authenticates) the requests it took, in parallel, and puts the valid ones
 * on the ready list. Up to WRITERS_MAX workers at a time are writers: each
 * stores what is on the list in one transaction, and again while more
 * arrived meanwhile. So while a transaction runs, the next group grows, and
 * a transaction holds the work of many connections, not of one. A second
 * writer starts, or goes on, only while SECOND_WRITER_MIN requests wait;
 * the last writer never leaves requests behind (the checks and the count
 * are under ready_mu, so a request added after a writer left finds
 * writers < WRITERS_MAX and writes itself). */
static void ingest_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    struct req *mine = NULL, *last = NULL;
    size_t nmine = 0;
    struct req batch[WRITE_MAX];
    int64_t now = pf_time_now();

    for (size_t i = 0; i < n; i++) {
        struct req *q = calloc(1, sizeof(*q));
        if (!q) {
            exchange_error(exchange_of(jobs[i]), 503, "unavailable", "out of memory; retry later");
            continue;
        }
        q->x = exchange_of(jobs[i]);
        q->job = jobs[i];
        check_request(dc, q, now);
        if (!q->pending) {
            pf_snapshot_array_free(q->snaps, q->nsnaps);
            free(q);
            continue;
        }
        db_hold(dc, jobs[i]);
        if (last)
            last->next = q;
        else
            mine = q;
        last = q;
        nmine++;
    }
    pthread_mutex_lock(&ready_mu);
    if (mine) {
        if (ready_tail)
            ready_tail->next = mine;
        else
            ready_head = mine;
        ready_tail = last;
        ready_n += nmine;
    }
    if (writers >= WRITERS_MAX || (writers > 0 && ready_n < SECOND_WRITER_MIN)) {
        pthread_mutex_unlock(&ready_mu);
        return; /* a writer will store them */
    }
    writers++;
    for (;;) {
        size_t nb = 0, snaps = 0;
        /* Few waiting while another writer works: leave them to it. */
        if (writers > 1 && ready_n < SECOND_WRITER_MIN)
            break;
        while (ready_head && nb < WRITE_MAX && snaps < WRITE_SNAPSHOTS) {
            struct req *q = ready_head;
            ready_head = q->next;
            ready_n--;
            snaps += q->nsnaps;
            batch[nb++] = *q;
            free(q);
        }
        if (!ready_head) {
            ready_tail = NULL;
            ready_n = 0;
        }
        if (nb == 0)
            break;
        pthread_mutex_unlock(&ready_mu);
        write_batch(dc, batch, nb);
        pthread_mutex_lock(&ready_mu);
    }
    writers--;
    pthread_mutex_unlock(&ready_mu);
}
