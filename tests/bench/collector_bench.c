/* SPDX-License-Identifier: MIT */
/* collector_bench.c: load generator and reference for the collector
 * benchmark (tests/bench/collector_bench.sh runs it).
 *
 *   collector_bench raw CONNINFO SNAPSHOTS
 *       the reference: the rows of SNAPSHOTS realistic snapshots (20
 *       processes, 20 remotes each), formatted beforehand with the
 *       collector's own copyrow_snapshot(), COPYed straight into
 *       snapshot_seqs, snapshots, snapshot_processes and snapshot_remotes,
 *       1000 snapshots per transaction (RAW_TXN=k in the environment: k).
 *       Prints snapshots/s.
 *   collector_bench ingest URL CAFILE KEYS SNAPSHOTS CONNS PER_REQUEST
 *       the same kind of snapshots posted over TLS keep-alive with libcurl
 *       (multi interface, CONNS connections), PER_REQUEST per request, for
 *       the agents listed in KEYS ("agent_id node_key" lines), bodies
 *       encoded beforehand. Prints snapshots/s and the answers.
 *   collector_bench store CONNINFO SNAPSHOTS GROUP
 *       the collector's own store path (store_ingest(), the statements of
 *       one ingest transaction) without TLS or HTTP: SNAPSHOTS snapshots
 *       of 200 agents, GROUP per transaction, on one connection. Tells the
 *       database's cost of a transaction from its cost per snapshot.
 *   collector_bench post URL CAFILE KEYS SNAPSHOTS CONNS PER_REQUEST
 *       the same as ingest with a lean client: whole requests (headers and
 *       body) encoded beforehand, OpenSSL over CONNS sockets driven by
 *       poll(), no HTTP library. The TLS connections are set up before the
 *       clock starts. On a machine where client and collector share the
 *       cores, it leaves the collector the CPU libcurl takes.
 *   collector_bench handshakes URL CAFILE SECONDS CONNS
 *       full TLS handshakes per second: GET /healthz on a fresh connection
 *       each time, no session resumption, CONNS at once.
 *
 * Timing covers only the transfer, never the preparation. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "buf.h"
#include "db.h"
#include "snapshot.h"
#include "snapshot_json.h"
#include "copyrow.h"
#include "store.h"
#include "timeutil.h"

#define PROCS 20
#define REMOTES 20
#define RAW_TXN 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "collector_bench: %s\n", what);
    exit(1);
}

/* A snapshot like a busy connector host's: 20 processes, 20 remotes,
 * events, agent stats; taken seq seconds before now. */
static void make_snapshot(struct pf_snapshot *s, const char *agent_id, uint64_t seq, int64_t now)
{
    static const char *const names[] = {"WAPCSvc.exe", "svchost.exe", "cloudflared.exe",
                                        "DnsFilterService.exe", "lsass.exe"};
    pf_snapshot_clear(s);
    snprintf(s->agent_id, sizeof(s->agent_id), "%s", agent_id);
    s->seq = seq;
    s->taken_at = now - (int64_t)(seq % 3600);
    s->interval_s = 60;
    snprintf(s->host.name, sizeof(s->host.name), "CONN-BENCH-%.8s", agent_id);
    snprintf(s->host.site, sizeof(s->host.site), "site-%c", agent_id[0]);
    snprintf(s->host.machine_id, sizeof(s->host.machine_id), "machine-%s", agent_id);
    snprintf(s->host.os, sizeof(s->host.os), "windows");
    snprintf(s->host.os_version, sizeof(s->host.os_version), "10.0.20348");
    pf_snapshot_add_role(s, "entra-connector");
    s->host.cpus = 4;
    s->host.memory_mb = 8192;
    snprintf(s->host.agent_version, sizeof(s->host.agent_version), "0.1.0");
    for (int i = 0; i < 4; i++) {
        s->ranges[i].proto = (uint8_t)(i & 1);
        s->ranges[i].family = (uint8_t)(i >> 1);
        s->ranges[i].start = 49152;
        s->ranges[i].count = 16384;
    }
    s->nranges = 4;
    for (int k = 0; k < PF_TCP_NSTATES; k++)
        s->tcp.states[k] = (seq * 7 + (uint64_t)k * 13) % 5000;
    s->tcp.ephemeral_in_use = 9000 + seq % 1000;
    s->tcp.has_top_destination = true;
    snprintf(s->tcp.top_destination.addr, PF_ADDR_LEN, "10.0.0.5");
    s->tcp.top_destination.port = 443;
    s->tcp.top_destination.count = 4000;
    s->udp.endpoints = 120;
    s->udp.ephemeral_in_use = 80;
    s->has_processes = true;
    s->processes = calloc(PROCS, sizeof(*s->processes));
    s->nprocesses = PROCS;
    for (int i = 0; i < PROCS; i++) {
        struct pf_process *p = &s->processes[i];
        p->pid = 1000u + (uint32_t)i;
        snprintf(p->name, sizeof(p->name), "%s", names[i % 5]);
        snprintf(p->service, sizeof(p->service), "Svc%d", i);
        p->tcp_ports = (uint64_t)(2000 - i * 50);
        p->udp_ports = (uint64_t)i;
        p->states[PF_TCP_ESTABLISHED] = p->tcp_ports / 2;
        p->states[PF_TCP_BOUND] = seq % 100;
        p->has_top_remote = true;
        snprintf(p->top_remote.addr, PF_ADDR_LEN, "169.254.169.%d", i + 1);
        p->top_remote.port = 80;
        p->top_remote.count = 40;
    }
    s->has_remotes = true;
    s->remotes = calloc(REMOTES, sizeof(*s->remotes));
    s->nremotes = REMOTES;
    /* By default every snapshot brings 20 remote endpoints never seen
     * before (the third byte follows seq), each a new agent_strings row;
     * REMOTES_STABLE=1: the same 20 in every snapshot. */
    const char *stable = getenv("REMOTES_STABLE");
    int third = stable && strcmp(stable, "1") == 0 ? 0 : (int)(seq % 250);
    for (int i = 0; i < REMOTES; i++) {
        snprintf(s->remotes[i].addr, PF_ADDR_LEN, "10.%d.%d.%d", i, third, i + 7);
        s->remotes[i].port = (uint16_t)(443 + i);
        s->remotes[i].count = (uint64_t)(500 - i * 10);
    }
    s->has_events = true;
    s->has_agent_stats = true;
}

/* ---- raw COPY reference ---- */

static void copy_in(PGconn *pg, const char *sql, const struct pf_buf *b)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN)
        die(PQerrorMessage(pg));
    PQclear(r);
    if (b->len && PQputCopyData(pg, b->data, (int)b->len) != 1)
        die(PQerrorMessage(pg));
    PQputCopyEnd(pg, NULL);
    while ((r = PQgetResult(pg))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            die(PQresultErrorMessage(r));
        PQclear(r);
    }
}

static void exec_ok(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(PQresultErrorMessage(r));
    PQclear(r);
}

/* Snapshots per raw transaction: RAW_TXN from the environment, or 1000. */
static size_t raw_txn(void)
{
    const char *env = getenv("RAW_TXN");
    char *end = NULL;
    unsigned long k;

    if (!env)
        return RAW_TXN;
    k = strtoul(env, &end, 10);
    if (!*env || *end || k == 0 || k > 1000000)
        die("RAW_TXN must be a number of snapshots per transaction, 1 to 1000000");
    return (size_t)k;
}

static int cmd_raw(const char *conninfo, size_t n)
{
    size_t per = raw_txn();
    size_t ntx = (n + per - 1) / per;
    struct pf_buf *seqs = calloc(ntx, sizeof(*seqs)), *snaps = calloc(ntx, sizeof(*snaps));
    struct pf_buf *procs = calloc(ntx, sizeof(*procs)), *rems = calloc(ntx, sizeof(*rems));
    struct pf_snapshot s = {0};
    char agents[100][AUTH_UUID_LEN];
    int64_t now = pf_time_now();
    PGconn *pg;
    double t0, dt;

    for (int a = 0; a < 100; a++)
        auth_new_uuid(agents[a]);
    for (size_t t = 0; t < ntx; t++) {
        pf_buf_init(&seqs[t], 1u << 30);
        pf_buf_init(&snaps[t], 1u << 30);
        pf_buf_init(&procs[t], 1u << 30);
        pf_buf_init(&rems[t], 1u << 30);
    }
    for (size_t i = 0; i < n; i++) {
        size_t t = i / per;
        char ts[PF_TIME_LEN];
        make_snapshot(&s, agents[i % 100], i / 100 + 1, now);
        pf_time_format(s.taken_at, ts);
        pf_buf_printf(&seqs[t], "%s\t%" PRIu64 "\t%s\n", s.agent_id, s.seq, ts);
        if (copyrow_snapshot(&s, &snaps[t], &procs[t], &rems[t]))
            die("formatting rows");
    }
    pf_snapshot_clear(&s);
    pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK)
        die(PQerrorMessage(pg));
    t0 = now_s();
    for (size_t t = 0; t < ntx; t++) {
        exec_ok(pg, "BEGIN");
        copy_in(pg, "COPY snapshot_seqs (agent_id, seq, taken_at) FROM STDIN", &seqs[t]);
        copy_in(pg, copyrow_snapshots_sql, &snaps[t]);
        copy_in(pg, copyrow_processes_sql, &procs[t]);
        copy_in(pg, copyrow_remotes_sql, &rems[t]);
        exec_ok(pg, "COMMIT");
    }
    dt = now_s() - t0;
    PQfinish(pg);
    printf("raw COPY: %zu snapshots (%d processes, %d remotes each) in %.2f s: %.0f snapshots/s\n",
           n, PROCS, REMOTES, dt, (double)n / dt);
    for (size_t t = 0; t < ntx; t++) {
        pf_buf_free(&seqs[t]);
        pf_buf_free(&snaps[t]);
        pf_buf_free(&procs[t]);
        pf_buf_free(&rems[t]);
    }
    free(seqs);
    free(snaps);
    free(procs);
    free(rems);
    return 0;
}

/* ---- the store path alone ---- */

struct store_run {
    struct db_job job;
    size_t n, group;
    int rc;
    double seconds;
};

static void store_job(struct db_conn *dc, struct db_job **jobs, size_t njobs)
{
    struct store_run *sr = (struct store_run *)jobs[0];
    struct pf_snapshot *snaps = calloc(sr->n, sizeof(*snaps));
    struct store_item *items = calloc(sr->group, sizeof(*items));
    char agents[200][AUTH_UUID_LEN];
    int64_t now = pf_time_now();
    double t0;

    (void)njobs;
    sr->rc = 1;
    if (!snaps || !items)
        die("out of memory");
    for (int a = 0; a < 200; a++) {
        char name[32], key[64];
        auth_new_uuid(agents[a]);
        snprintf(name, sizeof(name), "STORE-%d", a);
        snprintf(key, sizeof(key), "bench-key-%d-%s", a, agents[a]);
        if (store_enroll(dc, agents[a], key, "default", name, "site-store", agents[a]) != PF_OK)
            die("enrolling the bench agents");
    }
    /* Agent a sends seq 1, 2, ...; consecutive snapshots are different
     * agents, like requests from many connections. */
    for (size_t i = 0; i < sr->n; i++)
        make_snapshot(&snaps[i], agents[i % 200], i / 200 + 1, now);
    t0 = now_s();
    for (size_t i = 0; i < sr->n; i += sr->group) {
        size_t k = sr->n - i < sr->group ? sr->n - i : sr->group;
        for (size_t j = 0; j < k; j++)
            items[j].s = &snaps[i + j];
        if (store_ingest(dc, items, k) != PF_OK)
            die("store_ingest failed (see the log above)");
    }
    sr->seconds = now_s() - t0;
    sr->rc = 0;
    for (size_t i = 0; i < sr->n; i++)
        pf_snapshot_clear(&snaps[i]);
    free(snaps);
    free(items);
}

static void store_done(struct db_job *j)
{
    (void)j;
}

static int cmd_store(const char *conninfo, size_t n, size_t group)
{
    static const struct db_job_ops ops = {"store", 1, 1, store_job};
    struct db_opts o = {conninfo, 1, 4, store_on_connect};
    struct store_run sr = {{&ops, 1, store_done, NULL}, n, group ? group : 1, 1, 0};
    struct db *d;

    if (db_new(&o, &d) != PF_OK || db_submit(d, &sr.job) != PF_OK)
        die("starting the database worker");
    db_free(d); /* lets the worker finish the job */
    if (sr.rc)
        return 1;
    printf("store path: %zu snapshots, %zu per transaction, in %.2f s: %.0f snapshots/s\n", n,
           sr.group, sr.seconds, (double)n / sr.seconds);
    return 0;
}

/* ---- ingest over TLS ---- */

struct agent {
    char id[AUTH_UUID_LEN];
    char key[128];
    struct curl_slist *headers;
};

struct req {
    char *body;
    size_t len;
    size_t nsnaps;
    int agent;
};

struct slot {
    CURL *h;
    char resp[256];
    size_t resp_len;
    size_t req;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct slot *sl = ud;
    size_t len = size * n, room = sizeof(sl->resp) - 1 - sl->resp_len;
    if (len < room)
        room = len;
    memcpy(sl->resp + sl->resp_len, p, room);
    sl->resp_len += room;
    sl->resp[sl->resp_len] = '\0';
    return len;
}

static void start(CURLM *m, struct slot *sl, struct req *reqs, size_t i, struct agent *agents,
                  const char *url)
{
    sl->req = i;
    sl->resp_len = 0;
    sl->resp[0] = '\0';
    curl_easy_setopt(sl->h, CURLOPT_URL, url);
    curl_easy_setopt(sl->h, CURLOPT_POSTFIELDS, reqs[i].body);
    curl_easy_setopt(sl->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)reqs[i].len);
    curl_easy_setopt(sl->h, CURLOPT_HTTPHEADER, agents[reqs[i].agent].headers);
    curl_multi_add_handle(m, sl->h);
}

/* The agents of a keys file ("agent_id node_key" lines). */
static void load_agents(const char *keys, struct agent **out, size_t *nout)
{
    struct agent *agents = NULL;
    size_t nagents = 0, cap = 0;
    char line[256];
    FILE *f = fopen(keys, "r");

    if (!f)
        die("cannot read the keys file");
    while (fgets(line, sizeof(line), f)) {
        char id[AUTH_UUID_LEN], key[128], auth[200];
        if (sscanf(line, "%36s %127s", id, key) != 2)
            continue;
        if (nagents == cap) {
            cap = cap ? 2 * cap : 64;
            agents = realloc(agents, cap * sizeof(*agents));
            if (!agents)
                die("out of memory");
        }
        snprintf(agents[nagents].id, AUTH_UUID_LEN, "%s", id);
        snprintf(agents[nagents].key, sizeof(agents[nagents].key), "%s", key);
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
        agents[nagents].headers = curl_slist_append(NULL, auth);
        agents[nagents].headers =
            curl_slist_append(agents[nagents].headers, "Content-Type: application/json");
        /* agents send the body at once, not after a 100-continue round trip */
        agents[nagents].headers = curl_slist_append(agents[nagents].headers, "Expect:");
        nagents++;
    }
    fclose(f);
    if (!nagents)
        die("no agents in the keys file");
    *out = agents;
    *nout = nagents;
}

static void free_agents(struct agent *agents, size_t n)
{
    for (size_t a = 0; a < n; a++)
        curl_slist_free_all(agents[a].headers);
    free(agents);
}

/* Every request body, encoded before the clock starts. Agent a sends seq
 * 1, 2, ... in order across its requests. */
static struct req *make_requests(const struct agent *agents, size_t nagents, size_t n, size_t per,
                                 size_t *nreq_out, size_t *bytes)
{
    size_t nreq = (n + per - 1) / per;
    struct req *reqs = calloc(nreq, sizeof(*reqs));
    struct pf_snapshot s = {0};
    int64_t now = pf_time_now();

    if (!reqs)
        die("out of memory");
    *bytes = 0;
    for (size_t r = 0; r < nreq; r++) {
        struct pf_buf b;
        int a = (int)(r % nagents);
        size_t first = (r / nagents) * per + 1;
        size_t k = per;
        if (r == nreq - 1 && n % per)
            k = n % per;
        pf_buf_init(&b, 1u << 20);
        if (per > 1)
            pf_buf_puts(&b, "{\"snapshots\":[");
        for (size_t i = 0; i < k; i++) {
            make_snapshot(&s, agents[a].id, first + i, now);
            if (i)
                pf_buf_puts(&b, ",");
            if (pf_snapshot_encode(&s, 0, &b))
                die("encoding (body over 1 MiB?)");
        }
        if (per > 1)
            pf_buf_puts(&b, "]}");
        reqs[r].agent = a;
        reqs[r].nsnaps = k;
        reqs[r].body = pf_buf_detach(&b, &reqs[r].len);
        *bytes += reqs[r].len;
    }
    pf_snapshot_clear(&s);
    *nreq_out = nreq;
    return reqs;
}

/* The answers of one ingest run, whichever client sent it. */
struct tally {
    size_t ok200, failed, accepted, duplicates;
};

/* Counts one answer: ok (a 200) with its body, or a failure described by
 * why (printed for the first five). */
static void tally_answer(struct tally *t, bool ok, const char *body, const char *why)
{
    const char *p;

    if (!ok) {
        if (++t->failed <= 5)
            fprintf(stderr, "request failed: %.300s\n", why);
        return;
    }
    t->ok200++;
    if ((p = strstr(body, "\"accepted\":")))
        t->accepted += strtoull(p + 11, NULL, 10);
    if ((p = strstr(body, "\"duplicates\":")))
        t->duplicates += strtoull(p + 13, NULL, 10);
}

/* Prints the run's line (collector_bench.sh reads its snapshots/s); 0 when
 * every snapshot was accepted. */
static int tally_report(const struct tally *t, size_t n, size_t nreq, size_t per, size_t bytes,
                        int conns, double dt)
{
    printf("collector: %zu snapshots in %zu requests (%zu per request, %.1f KiB JSON per "
           "snapshot) over %d TLS keep-alive connections in %.2f s: %.0f snapshots/s; "
           "answers: %zu x 200, %zu failed; accepted %zu, duplicates %zu\n",
           n, nreq, per, (double)bytes / (double)n / 1024.0, conns, dt, (double)n / dt, t->ok200,
           t->failed, t->accepted, t->duplicates);
    return t->failed || t->accepted != n ? 1 : 0;
}

static int cmd_ingest(const char *base, const char *ca, const char *keys, size_t n, int conns,
                      size_t per)
{
    struct agent *agents = NULL;
    size_t nagents = 0, nreq, next = 0, done = 0;
    struct tally t = {0};
    char url[512];
    struct req *reqs;
    struct slot *slots;
    size_t bytes = 0;
    CURLM *m;
    double t0;
    int rc;
    int running = 0;

    load_agents(keys, &agents, &nagents);
    snprintf(url, sizeof(url), "%s/v1/snapshots", base);
    reqs = make_requests(agents, nagents, n, per, &nreq, &bytes);

    m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)conns);
    slots = calloc((size_t)conns, sizeof(*slots));
    for (int i = 0; i < conns; i++) {
        slots[i].h = curl_easy_init();
        curl_easy_setopt(slots[i].h, CURLOPT_CAINFO, ca);
        curl_easy_setopt(slots[i].h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(slots[i].h, CURLOPT_WRITEDATA, &slots[i]);
        curl_easy_setopt(slots[i].h, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(slots[i].h, CURLOPT_TCP_NODELAY, 1L);
    }
    t0 = now_s();
    for (int i = 0; i < conns && next < nreq; i++)
        start(m, &slots[i], reqs, next++, agents, url);
    while (done < nreq) {
        CURLMsg *msg;
        int left;
        bool added = false;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left))) {
            struct slot *sl;
            long code = 0;
            char why[400] = "";
            bool ok;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, msg->easy_handle);
            ok = msg->data.result == CURLE_OK && code == 200;
            if (!ok)
                snprintf(why, sizeof(why), "%s, HTTP %ld: %s", curl_easy_strerror(msg->data.result),
                         code, sl->resp);
            tally_answer(&t, ok, sl->resp, why);
            done++;
            if (next < nreq) {
                start(m, sl, reqs, next++, agents, url);
                added = true;
            }
        }
        /* a handle just added must be driven by perform, not waited for */
        if (done < nreq && !added)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    rc = tally_report(&t, n, nreq, per, bytes, conns, now_s() - t0);
    for (int i = 0; i < conns; i++)
        curl_easy_cleanup(slots[i].h);
    curl_multi_cleanup(m);
    for (size_t r = 0; r < nreq; r++)
        free(reqs[r].body);
    free_agents(agents, nagents);
    free(reqs);
    free(slots);
    return rc;
}

/* ---- ingest with a lean client ---- */

struct lconn {
    int fd;
    SSL *ssl;
    size_t req;    /* the request in flight */
    char in[4096]; /* the answer so far */
    size_t in_len;
};

/* "https://HOST:PORT" (an IPv4 literal, as the bench scripts give it). */
static void parse_url(const char *url, struct sockaddr_in *sa, char *host, size_t hostlen)
{
    const char *h = strstr(url, "://"), *colon;
    size_t n;

    h = h ? h + 3 : url;
    colon = strrchr(h, ':');
    if (!colon)
        die("the URL has no port");
    n = (size_t)(colon - h);
    if (n >= hostlen)
        die("the URL's host is too long");
    memcpy(host, h, n);
    host[n] = '\0';
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        die("the URL's host is not an IPv4 address");
}

static void lconn_open(struct lconn *c, SSL_CTX *ctx, const struct sockaddr_in *sa)
{
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
        die("cannot connect to the collector");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->ssl = SSL_new(ctx);
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {
        ERR_print_errors_fp(stderr);
        die("TLS handshake with the collector failed");
    }
}

/* Sends request i whole (a blocking socket: loopback takes it at once). */
static void lconn_send(struct lconn *c, const struct req *reqs, size_t i)
{
    c->req = i;
    c->in_len = 0;
    if (SSL_write(c->ssl, reqs[i].body, (int)reqs[i].len) != (int)reqs[i].len) {
        ERR_print_errors_fp(stderr);
        die("sending a request failed");
    }
}

/* Reads what is there; returns true once the whole answer is in. */
static bool lconn_read(struct lconn *c)
{
    for (;;) {
        const char *end;
        int k;
        if (c->in_len == sizeof(c->in) - 1)
            die("an answer over 4 KiB");
        k = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof(c->in) - 1 - c->in_len));
        if (k <= 0)
            die("the collector closed a connection");
        c->in_len += (size_t)k;
        c->in[c->in_len] = '\0';
        end = strstr(c->in, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(c->in, "Content-Length: ");
            size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
            if (c->in_len >= (size_t)(end + 4 - c->in) + body)
                return true;
        }
        if (!SSL_pending(c->ssl))
            return false;
    }
}

static int cmd_post(const char *url, const char *ca, const char *keys, size_t n, int conns,
                    size_t per)
{
    struct agent *agents = NULL;
    size_t nagents = 0, nreq, next = 0, done = 0, bytes = 0;
    struct tally t = {0};
    struct req *reqs;
    struct lconn *c;
    struct pollfd *pf;
    struct sockaddr_in sa;
    char host[256];
    SSL_CTX *ctx;
    double t0;
    int rc;

    load_agents(keys, &agents, &nagents);
    parse_url(url, &sa, host, sizeof(host));
    reqs = make_requests(agents, nagents, n, per, &nreq, &bytes);
    /* Each body becomes the whole request. */
    for (size_t r = 0; r < nreq; r++) {
        struct pf_buf b;
        pf_buf_init(&b, 2u << 20);
        if (pf_buf_printf(&b,
                          "POST /v1/snapshots HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                          "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                          host, agents[reqs[r].agent].key, reqs[r].len) ||
            pf_buf_append(&b, reqs[r].body, reqs[r].len))
            die("out of memory");
        free(reqs[r].body);
        reqs[r].body = pf_buf_detach(&b, &reqs[r].len);
    }
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        die("cannot load the CA file");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    c = calloc((size_t)conns, sizeof(*c));
    pf = calloc((size_t)conns, sizeof(*pf));
    for (int i = 0; i < conns; i++) {
        lconn_open(&c[i], ctx, &sa);
        pf[i].fd = c[i].fd;
        pf[i].events = POLLIN;
    }
    t0 = now_s();
    for (int i = 0; i < conns; i++) {
        if (next < nreq)
            lconn_send(&c[i], reqs, next++);
        else
            pf[i].fd = -1;
    }
    while (done < nreq) {
        if (poll(pf, (nfds_t)conns, 10000) <= 0)
            die("no answer from the collector for 10 s");
        for (int i = 0; i < conns; i++) {
            if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLERR | POLLHUP)))
                continue;
            if (!lconn_read(&c[i]))
                continue;
            tally_answer(&t, strncmp(c[i].in, "HTTP/1.1 200 ", 13) == 0, c[i].in, c[i].in);
            done++;
            if (next < nreq)
                lconn_send(&c[i], reqs, next++);
            else
                pf[i].fd = -1;
        }
    }
    rc = tally_report(&t, n, nreq, per, bytes, conns, now_s() - t0);
    for (int i = 0; i < conns; i++) {
        SSL_free(c[i].ssl);
        close(c[i].fd);
    }
    SSL_CTX_free(ctx);
    for (size_t r = 0; r < nreq; r++)
        free(reqs[r].body);
    free_agents(agents, nagents);
    free(reqs);
    free(c);
    free(pf);
    return rc;
}

/* ---- full handshakes ---- */

static int cmd_handshakes(const char *base, const char *ca, double seconds, int conns)
{
    char url[512];
    CURLM *m = curl_multi_init();
    struct slot *slots = calloc((size_t)conns, sizeof(*slots));
    size_t ok = 0, failed = 0;
    double t0, end;
    int running;

    snprintf(url, sizeof(url), "%s/healthz", base);
    for (int i = 0; i < conns; i++) {
        CURL *h = slots[i].h = curl_easy_init();
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &slots[i]);
        curl_easy_setopt(h, CURLOPT_PRIVATE, &slots[i]);
        curl_multi_add_handle(m, h);
    }
    t0 = now_s();
    end = t0 + seconds;
    while (now_s() < end) {
        CURLMsg *msg;
        int left;
        bool added = false;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left))) {
            struct slot *sl;
            long code = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, msg->easy_handle);
            if (msg->data.result == CURLE_OK && code == 200)
                ok++;
            else
                failed++;
            sl->resp_len = 0;
            curl_multi_add_handle(m, msg->easy_handle);
            added = true;
        }
        if (!added)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    printf("full TLS handshakes (new connection + GET /healthz, no resumption, %d at once): "
           "%zu in %.1f s: %.0f handshakes/s, %zu failed\n",
           conns, ok, seconds, (double)ok / seconds, failed);
    for (int i = 0; i < conns; i++) {
        curl_multi_remove_handle(m, slots[i].h);
        curl_easy_cleanup(slots[i].h);
    }
    curl_multi_cleanup(m);
    free(slots);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    int rc = 2;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc == 4 && strcmp(argv[1], "raw") == 0)
        rc = cmd_raw(argv[2], strtoul(argv[3], NULL, 10));
    else if (argc == 8 && strcmp(argv[1], "ingest") == 0)
        rc = cmd_ingest(argv[2], argv[3], argv[4], strtoul(argv[5], NULL, 10),
                        (int)strtol(argv[6], NULL, 10), strtoul(argv[7], NULL, 10));
    else if (argc == 8 && strcmp(argv[1], "post") == 0)
        rc = cmd_post(argv[2], argv[3], argv[4], strtoul(argv[5], NULL, 10),
                      (int)strtol(argv[6], NULL, 10), strtoul(argv[7], NULL, 10));
    else if (argc == 5 && strcmp(argv[1], "store") == 0)
        rc = cmd_store(argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
    else if (argc == 6 && strcmp(argv[1], "handshakes") == 0)
        rc =
            cmd_handshakes(argv[2], argv[3], strtod(argv[4], NULL), (int)strtol(argv[5], NULL, 10));
    else
        fprintf(stderr, "usage: see the comment at the top of tests/bench/collector_bench.c\n");
    curl_global_cleanup();
    return rc;
}
