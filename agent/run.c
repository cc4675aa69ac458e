/* SPDX-License-Identifier: MIT */
/* run.c: the agent's long-running command (docs/cli.md): `run` snapshots
 * every interval, spools each snapshot on disk before anything else, and
 * drains the spool to the first collector that answers. Its options are
 * opts.h's; `install`/`uninstall` (install.c) and `status` (status.c) share
 * them and the state directory.
 *
 * Delivery in one paragraph: a snapshot gets its seq (persisted first,
 * state.h), is encoded with agent_id "" and written to the spool. Draining
 * reads up to 1000 records in seq order (under the collector's 1 MiB body
 * cap), stamps the current agent_id into each at send time (so snapshots
 * taken before enrollment, or before a re-enrollment, carry the identity
 * that sends them), and POSTs them over the one kept-alive connection.
 * The answer decides (transport.h): 2xx deletes them; 5xx/408/429/no
 * answer keeps them and backs that collector off (backoff.h), moving to
 * the next collector at once; 401 enrolls again and resends; 413 halves
 * the batch; other 4xx drop the batch with a log line.
 *
 * Portable: OS calls go through osutil.h, service.h and collect.h. */
#include "commands.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "buf.h"
#include "collect.h"
#include "compat.h"
#include "config.h"
#include "log.h"
#include "opts.h"
#include "osutil.h"
#include "service.h"
#include "snapshot_json.h"
#include "spool.h"
#include "srcport.h"
#include "state.h"
#include "sysinfo.h"
#include "timeutil.h"
#include "transport.h"

#define BODY_MAX (1024 * 1024) /* the collector's body cap (docs/protocol.md: 413 beyond) */
#define BATCH_MAX PF_JSON_BATCH_MAX
#define SLEEP_SLICE_MS 1000 /* the stop flag is polled at least this often */
#define JOB_POLL_MS 20      /* ... and a snapshot being collected this often */
#define STOP_GRACE_MS 5000  /* a request in flight may end after a stop request */

/* ---- the run loop ---- */

/* The snapshot being collected, by a thread of its own: collect_snapshot
 * reads only the OS (the seq, the spool, the state and the delivery stay
 * with the loop's thread), and a slow collection then delays no answer
 * of a collector, nor a slow collector a snapshot. */
struct job {
    bool running;
    bool threaded;         /* else collected inline (no thread could be made) */
    intptr_t thread;
    struct collect_opts co;
    struct pf_snapshot *s; /* filled by the worker */
    enum pf_rc rc;
    atomic_int done;       /* set by the worker once s and rc are final */
};

/* The delivery step in flight (at most one): what was sent, to whom. */
enum step_kind { STEP_NONE = 0, STEP_ENROLL, STEP_PUSH };

struct step {
    enum step_kind kind;
    int idx;                 /* collector */
    struct spool_batch b;    /* STEP_PUSH: the records read */
    size_t used;             /* ... of which this many went in the body */
    size_t nbad;             /* ... of which this many were dropped as undecodable */
    struct pf_buf body;
    struct transport_result res;
};


struct agent {
    struct opts o;
    char spool_dir[OSUTIL_PATH_MAX];
    struct agent_state st;
    struct agent_status status;
    struct spool *spool;
    struct transport *tr;
    struct failover fo;
    struct backoff_rng rng;
    struct pf_host host; /* for enrollment */
    bool have_host;
    struct resmon resmon; /* CPU over the interval since the last snapshot */
    size_t batch_limit;  /* lowered by 413, back to BATCH_MAX after a success */
    unsigned auth_fails; /* consecutive 401s */
    int current;         /* collector of the last success; -1 none yet */
    char last_error[PF_NAME_LEN];
    struct step step;    /* the delivery step in flight */
    struct job job;      /* the snapshot being collected */
    uint64_t skipped;    /* ticks skipped: the last snapshot was still being taken */
};

/* snprintf that truncates on purpose (log and status text). */
static void text(char *dst, size_t n, const char *fmt, ...) PF_PRINTF(3, 4);
static void text(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(dst, n, fmt, ap) < 0 && n > 0)
        dst[0] = '\0';
    va_end(ap);
}

static void set_error(struct agent *a, const char *url, const char *what)
{
    text(a->last_error, sizeof(a->last_error), "%s: %s", url, what);
}

static void write_status(struct agent *a)
{
    struct spool_stats ss;

    spool_get_stats(a->spool, &ss);
    a->status.updated_at = pf_time_now();
    a->status.spool_depth = ss.depth;
    a->status.spool_bytes = ss.bytes;
    a->status.spool_dropped = ss.dropped;
    a->status.spool_corrupt = ss.corrupt;
    a->status.connections = transport_connections(a->tr);
    snprintf(a->status.last_error, sizeof(a->status.last_error), "%s", a->last_error);
    if (state_write_status(a->o.state_dir, &a->status))
        pf_debug("cannot write %s", STATUS_FILE);
}

/* Host identity for enrollment, before the first snapshot of this run. */
static void read_host(struct agent *a)
{
    struct pf_snapshot *s = pf_snapshot_new();

    if (s && sysinfo_collect(s) == PF_OK) {
        a->host = s->host;
        a->have_host = true;
    }
    pf_snapshot_free(s);
}

static void collect_worker(void *arg)
{
    struct job *j = arg;

    j->rc = collect_snapshot(j->s, &j->co);
    atomic_store(&j->done, 1);
}

/* Starts taking a snapshot (collect_worker). */
static void snapshot_start(struct agent *a)
{
    struct job *j = &a->job;

    j->s = pf_snapshot_new();
    if (!j->s) {
        pf_error("snapshot: out of memory");
        return;
    }
    /* the worker owns resmon until the snapshot ends (no collect_tick) */
    j->co = (struct collect_opts){.site = a->o.site,
                                  .interval_s = a->o.interval_s,
                                  .resmon = &a->resmon,
                                  .cloudflared_metrics = a->o.cloudflared_metrics,
                                  .entra_counter = a->o.entra_counter};
    atomic_store(&j->done, 0);
    j->running = true;
    j->threaded = osutil_thread_start(collect_worker, j, &j->thread) == PF_OK;
    if (!j->threaded)
        collect_worker(j); /* late answers rather than no snapshot */
}

/* The snapshot collected (or failed): gives it the next seq and spools
 * it. Waits for the worker if it is still going. */
static void snapshot_end(struct agent *a)
{
    struct job *j = &a->job;
    struct pf_snapshot *s = j->s;
    struct spool_stats ss;
    struct pf_buf out;
    uint64_t seq = 0;
    enum pf_rc rc;

    if (!j->running)
        return;
    if (j->threaded)
        osutil_thread_join(j->thread);
    j->running = false;
    j->s = NULL;
    pf_buf_init(&out, SPOOL_RECORD_MAX);
    rc = j->rc;
    if (rc) {
        pf_error("snapshot failed: %s", pf_strerror(rc));
        goto out;
    }
    a->host = s->host;
    a->have_host = true;
    /* The seq is on disk before the snapshot exists anywhere. */
    rc = state_next_seq(a->o.state_dir, &a->st, &seq);
    if (rc) {
        pf_error("cannot persist the seq counter in %s: %s; snapshot not taken", a->o.state_dir,
                 pf_strerror(rc));
        goto out;
    }
    s->seq = seq;
    s->agent_id[0] = '\0'; /* stamped when sent */
    spool_get_stats(a->spool, &ss);
    s->has_agent_stats = true;
    s->agent_stats.spool_depth = ss.depth;
    s->agent_stats.spool_dropped = ss.dropped;
    s->agent_stats.spool_corrupt = ss.corrupt;
    s->agent_stats.has_last_push_error = a->last_error[0] != '\0';
    snprintf(s->agent_stats.last_push_error, sizeof(s->agent_stats.last_push_error), "%s",
             a->last_error);
    rc = pf_snapshot_encode(s, 0, &out);
    if (rc) {
        pf_error("snapshot %llu: cannot encode: %s", (unsigned long long)seq, pf_strerror(rc));
        goto out;
    }
    rc = spool_put(a->spool, seq, out.data, out.len);
    if (rc) {
        pf_error("snapshot %llu: cannot spool: %s", (unsigned long long)seq, pf_strerror(rc));
        goto out;
    }
    pf_debug("spooled seq=%llu bytes=%llu", (unsigned long long)seq, (unsigned long long)out.len);
out:
    pf_buf_free(&out);
    pf_snapshot_free(s);
}

/* Builds {"snapshots":[...]} from the batch with agent_id stamped in. Sets
 * *used to the number of records that went in (the body cap may stop it
 * early) and lists undecodable records in bad/nbad (to be dropped). */
static enum pf_rc build_body(struct agent *a, const struct spool_batch *b, struct pf_buf *body,
                             size_t *used, uint64_t *bad, size_t *nbad)
{
    struct pf_snapshot s;
    struct pf_buf one;
    char err[PF_ERRMSG_LEN];
    size_t nin = 0;
    enum pf_rc rc = PF_OK;

    *used = 0;
    *nbad = 0;
    pf_buf_init(&one, SPOOL_RECORD_MAX + 1024);
    rc = pf_buf_puts(body, "{\"snapshots\":[");
    for (size_t i = 0; !rc && i < b->n; i++) {
        size_t mark = body->len;

        memset(&s, 0, sizeof(s));
        pf_buf_reset(&one);
        if (pf_snapshot_decode(b->data[i], b->lens[i], &s, err) != PF_OK) {
            pf_warn("spooled seq %llu does not decode (%s); dropped",
                    (unsigned long long)b->seqs[i], err);
            bad[(*nbad)++] = b->seqs[i];
            *used = i + 1;
            continue;
        }
        snprintf(s.agent_id, sizeof(s.agent_id), "%s", a->st.agent_id);
        rc = pf_snapshot_encode(&s, 0, &one);
        pf_snapshot_clear(&s);
        if (rc) {
            pf_warn("spooled seq %llu does not encode (%s); dropped",
                    (unsigned long long)b->seqs[i], pf_strerror(rc));
            bad[(*nbad)++] = b->seqs[i];
            *used = i + 1;
            rc = PF_OK;
            continue;
        }
        if (nin > 0)
            rc = pf_buf_puts(body, ",");
        if (!rc)
            rc = pf_buf_append(body, one.data, one.len);
        /* room for the closing "]}" */
        if (!rc && body->len + 2 > body->max)
            rc = PF_TOOBIG;
        if (rc == PF_TOOBIG && nin > 0) {
            body->len = mark; /* this one goes in the next batch */
            body->data[mark] = '\0';
            rc = PF_OK;
            break;
        }
        if (rc)
            break;
        nin++;
        *used = i + 1;
    }
    if (!rc)
        rc = pf_buf_puts(body, "]}");
    pf_buf_free(&one);
    if (!rc && nin == 0)
        return PF_NOTFOUND; /* nothing sendable in this batch */
    return rc;
}

/* Starts enrolling at collector idx. Returns true when a request is in
 * flight. */
static bool enroll_start(struct agent *a, int idx)
{
    const char *url = a->o.collectors[idx];
    enum pf_rc rc;

    if (!a->o.enroll_secret || !*a->o.enroll_secret) {
        set_error(a, url, "not enrolled and no --enroll-secret given");
        pf_error("cannot enroll: option --enroll-secret is not set; snapshots stay spooled");
        failover_failure(&a->fo, (size_t)idx, pf_mono_ms(), -1, &a->rng);
        return false;
    }
    if (!a->have_host && !a->job.running)
        read_host(a); /* not beside the worker: sysinfo is not meant for two threads */
    rc = transport_enroll_begin(a->tr, url, a->o.enroll_secret, a->host.name, a->o.site,
                                a->host.machine_id, &a->step.res);
    if (rc) {
        set_error(a, url, pf_strerror(rc));
        pf_error("enrollment at %s cannot start: %s", url, pf_strerror(rc));
        failover_failure(&a->fo, (size_t)idx, pf_mono_ms(), -1, &a->rng);
        return false;
    }
    a->step.kind = STEP_ENROLL;
    a->step.idx = idx;
    return true;
}

/* The enrollment ended with rc. Returns true when enrolled. */
static bool enroll_end(struct agent *a, enum pf_rc rc)
{
    int idx = a->step.idx;
    const char *url = a->o.collectors[idx];
    struct transport_result *res = &a->step.res;
    char id[PF_ID_LEN], key[STATE_KEY_LEN];

    rc = transport_enroll_end(rc, res, id, key, sizeof(key));
    if (rc == PF_OK) {
        snprintf(a->st.agent_id, sizeof(a->st.agent_id), "%s", id);
        snprintf(a->st.node_key, sizeof(a->st.node_key), "%s", key);
        rc = state_save(a->o.state_dir, &a->st);
        if (rc) {
            pf_error("enrolled as %s but cannot save the identity in %s: %s", id, a->o.state_dir,
                     pf_strerror(rc));
            a->st.agent_id[0] = a->st.node_key[0] = '\0';
            set_error(a, url, "cannot save the identity");
            failover_failure(&a->fo, (size_t)idx, pf_mono_ms(), -1, &a->rng);
        } else {
            pf_info("enrolled at %s as agent %s", url, id);
        }
    } else {
        int64_t wait =
            failover_failure(&a->fo, (size_t)idx, pf_mono_ms(), res->retry_after_s, &a->rng);

        set_error(a, url, res->error[0] ? res->error : pf_strerror(rc));
        if (rc == PF_PERM)
            pf_error("enrollment at %s refused (%s): check --enroll-secret; retry in %lld ms", url,
                     res->error, (long long)wait);
        else
            pf_warn("enrollment at %s failed (%s); retry in %lld ms", url, res->error,
                    (long long)wait);
    }
    return rc == PF_OK;
}

/* Frees what the step holds and marks it idle. */
static void step_clear(struct step *st)
{
    spool_batch_clear(&st->b);
    pf_buf_reset(&st->body);
    st->kind = STEP_NONE;
    st->used = st->nbad = 0;
}

/* Starts one delivery step at collector idx: enrolls if needed, or sends
 * one batch. Returns true when a request is in flight; else *progress says
 * whether the next step may go on at once. */
static bool deliver_start(struct agent *a, int idx, bool *progress)
{
    const char *url = a->o.collectors[idx];
    struct step *st = &a->step;
    uint64_t *bad = NULL;
    enum pf_rc rc;

    *progress = false;
    if (!a->st.agent_id[0])
        return enroll_start(a, idx);

    rc = spool_peek(a->spool, a->batch_limit, BODY_MAX - 64, &st->b);
    if (rc || st->b.n == 0) {
        if (rc)
            pf_error("cannot read the spool: %s", pf_strerror(rc));
        step_clear(st);
        return false;
    }
    pf_buf_reset(&st->body);
    bad = calloc(st->b.n, sizeof(*bad));
    rc = bad ? build_body(a, &st->b, &st->body, &st->used, bad, &st->nbad) : PF_NOMEM;
    if (st->nbad) {
        spool_remove(a->spool, bad, st->nbad);
        *progress = true;
    }
    free(bad);
    if (!rc) {
        a->status.last_push_at = pf_time_now();
        snprintf(a->status.collector, sizeof(a->status.collector), "%s", url);
        rc = transport_begin(a->tr, url, "/v1/snapshots", a->st.node_key, st->body.data,
                             st->body.len, &st->res);
        if (rc)
            pf_error("push to %s cannot start: %s", url, pf_strerror(rc));
    } else if (rc != PF_NOTFOUND) {
        pf_error("cannot build a batch: %s", pf_strerror(rc));
    }
    if (rc) {
        step_clear(st);
        return false;
    }
    st->kind = STEP_PUSH;
    st->idx = idx;
    return true;
}

/* The push in flight ended with rc (transport_poll): the answer decides
 * (see the top of this file). Returns true when the next step may go on
 * at once. */
static bool push_end(struct agent *a, enum pf_rc rc)
{
    struct step *st = &a->step;
    int idx = st->idx;
    const char *url = a->o.collectors[idx];
    struct transport_result *res = &st->res;
    size_t used = st->used, nbad = st->nbad;
    const uint64_t *seqs = st->b.seqs;
    bool progress = false;

    (void)rc; /* the verdict says it all: RETRY when there was no answer */
    if (res->new_connection)
        pf_info("opened a connection to %s (local port %ld%s; %llu since start)", url,
                res->local_port, res->reserve_port ? " reserve" : "",
                (unsigned long long)transport_connections(a->tr));

    switch (res->verdict) {
    case TRANSPORT_OK:
        if (a->current != idx)
            pf_info("delivering to %s%s", url, a->current >= 0 ? " (collector changed)" : "");
        a->current = idx;
        a->auth_fails = 0;
        a->batch_limit = BATCH_MAX;
        failover_success(&a->fo, (size_t)idx);
        spool_remove(a->spool, seqs, used);
        a->status.delivered += used - nbad;
        a->status.last_ok_at = a->status.last_push_at;
        a->last_error[0] = '\0';
        pf_info("delivered %llu snapshot(s) seq %llu..%llu to %s",
                (unsigned long long)(used - nbad), (unsigned long long)seqs[0],
                (unsigned long long)seqs[used - 1], url);
        progress = true;
        break;
    case TRANSPORT_RETRY: {
        int64_t wait =
            failover_failure(&a->fo, (size_t)idx, pf_mono_ms(), res->retry_after_s, &a->rng);

        set_error(a, url, res->error);
        pf_warn("push to %s failed (%s); %llu snapshot(s) kept, retry in %lld ms%s", url,
                res->error, (unsigned long long)st->b.n, (long long)wait,
                res->retry_after_s >= 0 ? " (Retry-After)" : "");
        /* another collector may be usable right away */
        progress = true;
        break;
    }
    case TRANSPORT_REENROLL:
        set_error(a, url, res->error);
        a->auth_fails++;
        pf_warn("push to %s: node key refused (%s); enrolling again", url, res->error);
        a->st.agent_id[0] = a->st.node_key[0] = '\0';
        if (state_save(a->o.state_dir, &a->st))
            pf_warn("cannot clear the identity in %s", a->o.state_dir);
        if (a->auth_fails >= 2) {
            /* refused right after a fresh enrollment: do not spin */
            failover_failure(&a->fo, (size_t)idx, pf_mono_ms(), -1, &a->rng);
        } else {
            progress = true;
        }
        break;
    case TRANSPORT_SPLIT:
        if (used > 1) {
            a->batch_limit = used / 2;
            pf_warn("push to %s: batch of %llu too large (%s); retrying with %llu", url,
                    (unsigned long long)used, res->error, (unsigned long long)a->batch_limit);
            progress = true;
            break;
        }
        /* a single snapshot too large is dropped */
        /* fall through */
    case TRANSPORT_DROP:
        set_error(a, url, res->error);
        pf_error("push to %s refused (%s); dropped %llu snapshot(s) seq %llu..%llu, not retried",
                 url, res->error, (unsigned long long)used, (unsigned long long)seqs[0],
                 (unsigned long long)seqs[used - 1]);
        spool_remove(a->spool, seqs, used);
        failover_success(&a->fo, (size_t)idx); /* it answered: it is up */
        progress = true;
        break;
    }
    return progress;
}

/* Drives the step in flight for at most timeout_ms. Returns true when it
 * ended and the next step may go on at once. */
static bool step_poll(struct agent *a, int timeout_ms, bool *ended)
{
    bool progress = false;
    enum pf_rc rc;

    *ended = false;
    if (!transport_poll(a->tr, timeout_ms, &rc))
        return false;
    *ended = true;
    if (a->step.kind == STEP_ENROLL)
        progress = enroll_end(a, rc);
    else if (a->step.kind == STEP_PUSH)
        progress = push_end(a, rc);
    step_clear(&a->step);
    return progress;
}

/* Runs until the OS asks to stop. Returns the exit code. Snapshots are
 * taken on their schedule whatever the delivery is doing: the collection
 * runs in a thread of its own (struct job), and a request in flight is
 * driven in slices, so a collector that is slow or silent delays only the
 * delivery (the snapshots wait in the spool), never a snapshot. */
static int run_loop(struct agent *a)
{
    int64_t interval_ms = (int64_t)a->o.interval_s * 1000;
    int64_t next_tick, start_at, now = pf_mono_ms();

    /* The first snapshot and the first contact with a collector (also to
     * drain what an earlier run spooled) wait a random part of the
     * interval: a fleet restarted at once spreads out. */
    next_tick = start_at = now + backoff_startup_ms(interval_ms, &a->rng);
    collect_resmon_start(&a->resmon, a->o.interval_s);
    pf_info("first snapshot in %lld ms, then every %u s", (long long)(next_tick - now),
            a->o.interval_s);
    while (!service_stop_requested()) {
        struct spool_stats ss;
        int64_t wake, wait = 0, slice;
        bool busy = false, go_on = false, ended = false;
        int idx;

        /* resmon belongs to the worker while it collects */
        if (!a->job.running)
            collect_tick(&a->resmon); /* the loop wakes at least every SLEEP_SLICE_MS */
        if (a->job.running && atomic_load(&a->job.done)) {
            snapshot_end(a);
            busy = true;
        }
        now = pf_mono_ms();
        if (now >= next_tick) {
            if (!a->job.running)
                snapshot_start(a);
            else if (a->skipped++ % 100 == 0) /* the first, then every 100th */
                pf_warn("a snapshot takes longer than --interval: %llu tick(s) skipped so far",
                        (unsigned long long)a->skipped);
            next_tick = backoff_next_tick_ms(next_tick, interval_ms, now, &a->rng);
        }
        wake = next_tick;
        if (a->step.kind == STEP_NONE) {
            spool_get_stats(a->spool, &ss);
            if (ss.depth > 0 && now >= start_at) {
                idx = failover_pick(&a->fo, now, &wait);
                if (idx >= 0) {
                    bool progress = false;

                    if (!deliver_start(a, idx, &progress) && progress)
                        go_on = true;
                    busy = true;
                } else if (now + wait < wake) {
                    wake = now + wait;
                }
            }
        }
        /* the loop looks at a collection in progress this often */
        if (a->job.running && wake > now + JOB_POLL_MS)
            wake = now + JOB_POLL_MS;
        if (a->step.kind != STEP_NONE) {
            slice = wake - pf_mono_ms();
            if (slice > SLEEP_SLICE_MS)
                slice = SLEEP_SLICE_MS; /* the stop flag is polled this often */
            if (step_poll(a, (int)(slice > 0 ? slice : 0), &ended))
                go_on = true;
            if (ended)
                busy = true;
            if (go_on || a->step.kind != STEP_NONE)
                wake = pf_mono_ms();
        } else if (go_on) {
            wake = pf_mono_ms();
        }
        if (busy)
            write_status(a);
        now = pf_mono_ms();
        if (wake > now)
            osutil_sleep_ms((unsigned)(wake - now < SLEEP_SLICE_MS ? wake - now : SLEEP_SLICE_MS));
    }
    /* Stop: a snapshot still being collected is dropped (it has no seq
     * yet: nothing is skipped), and a request in flight gets a few seconds
     * to end, so that what it carries is not sent again after a restart. */
    if (a->job.running) {
        if (a->job.threaded)
            osutil_thread_join(a->job.thread);
        a->job.running = false;
        pf_snapshot_free(a->job.s);
        a->job.s = NULL;
    }
    for (int64_t until = pf_mono_ms() + STOP_GRACE_MS;
         a->step.kind != STEP_NONE && pf_mono_ms() < until;) {
        bool ended = false;

        step_poll(a, 100, &ended);
    }
    pf_info("stopping");
    write_status(a);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct pf_config *cfg = NULL;
    struct agent a;
    char lockpath[OSUTIL_PATH_MAX];
    intptr_t lock = -1;
    struct spool_stats ss;
    int code;
    enum pf_rc rc;

    (void)service_stop_requested(); /* installs the stop handlers early */
    memset(&a, 0, sizeof(a));
    pf_buf_init(&a.step.body, BODY_MAX);
    transport_result_init(&a.step.res);
    code = opts_load("run", argc, argv, OPTS_NEED_COLLECTOR, &cfg, &a.o);
    if (code) {
        code = code < 0 ? 0 : code;
        goto out;
    }
    code = 1;
    rc = osutil_mkdirs(a.o.state_dir);
    if (rc) {
        pf_error("cannot create the state directory %s: %s", a.o.state_dir, pf_strerror(rc));
        goto out;
    }
    osutil_path_join(lockpath, sizeof(lockpath), a.o.state_dir, LOCK_FILE);
    for (int i = 0; i < 20; i++) {
        rc = osutil_lock(lockpath, &lock);
        if (rc != PF_AGAIN)
            break;
        osutil_sleep_ms(100); /* `status` may hold it for a moment */
    }
    if (rc == PF_AGAIN) {
        pf_error("another agent is running with the state directory %s", a.o.state_dir);
        goto out;
    }
    if (rc) {
        pf_error("cannot lock the state directory %s: %s: %s", a.o.state_dir, LOCK_FILE,
                 pf_strerror(rc));
        goto out;
    }

    rc = state_load(a.o.state_dir, &a.st);
    if (rc) {
        char from[OSUTIL_PATH_MAX], to[OSUTIL_PATH_MAX];

        /* Never a crash loop: set the bad file aside and start over. The
         * seq restarts above the spool's newest, and a new identity comes
         * with enrollment. */
        osutil_path_join(from, sizeof(from), a.o.state_dir, STATE_FILE);
        osutil_path_join(to, sizeof(to), a.o.state_dir, STATE_FILE ".corrupt");
        pf_error("%s is damaged (%s); moved to %s.corrupt, enrolling again", from, pf_strerror(rc),
                 STATE_FILE);
        osutil_rename(from, to);
    }
    osutil_path_join(a.spool_dir, sizeof(a.spool_dir), a.o.state_dir, SPOOL_SUBDIR);
    rc = spool_open(a.spool_dir, a.o.spool_max_bytes, &a.spool);
    if (rc) {
        pf_error("cannot open the spool in %s: %s", a.spool_dir, pf_strerror(rc));
        goto out;
    }
    spool_get_stats(a.spool, &ss);
    if (ss.newest_seq > a.st.seq) {
        /* state.json lost or older than the spool: never reuse a seq */
        a.st.seq = ss.newest_seq;
        if (state_save(a.o.state_dir, &a.st))
            pf_warn("cannot save the seq counter");
    }
    rc = transport_new(a.o.ca_file, &a.tr);
    if (rc) {
        pf_error("cannot set up HTTPS: %s", pf_strerror(rc));
        goto out;
    }
    rc = transport_reserve(a.tr, &a.o.reserve);
    if (rc) {
        pf_error("cannot set up the reserve source ports: %s", pf_strerror(rc));
        goto out;
    }
    if (!a.st.agent_id[0] && !a.o.enroll_secret)
        pf_warn("not enrolled and no --enroll-secret: snapshots will be spooled but not sent");

    backoff_rng_seed(&a.rng, osutil_random_seed());
    failover_init(&a.fo, a.o.ncollectors, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
    a.batch_limit = BATCH_MAX;
    a.current = -1;
    a.status.pid = osutil_pid();
    a.status.started_at = pf_time_now();
    read_host(&a);
    pf_info("started (pid %lu, version %s): state %s, %llu spooled, %llu corrupt skipped, "
            "%s%s, first collector %s",
            a.status.pid, PF_VERSION, a.o.state_dir, (unsigned long long)ss.depth,
            (unsigned long long)ss.corrupt, a.st.agent_id[0] ? "enrolled as " : "not enrolled",
            a.st.agent_id, a.o.collectors[0]);
    write_status(&a);
    code = run_loop(&a);
out:
    transport_free(a.tr); /* first: a request in flight points into a.step */
    step_clear(&a.step);
    pf_buf_free(&a.step.body);
    transport_result_free(&a.step.res);
    spool_free(a.spool);
    osutil_unlock(lock);
    pf_config_free(cfg);
    return code;
}
