/* SPDX-License-Identifier: MIT */
/* collector_bench.c: load generator and reference for the collector
 * benchmark (tests/bench/collector_bench.sh runs it).
 *
 *   collector_bench raw CONNINFO SNAPSHOTS
 *       the reference: the rows of SNAPSHOTS realistic snapshots (20
 *       processes, 20 remotes each), formatted beforehand with the
 *       collector's own store_copy_rows(), COPYed straight into
 *       snapshot_seqs, snapshots, snapshot_processes and snapshot_remotes,
 *       1000 snapshots per transaction. Prints snapshots/s.
 *   collector_bench ingest URL CAFILE KEYS SNAPSHOTS CONNS PER_REQUEST
 *       the same kind of snapshots posted over TLS keep-alive with libcurl
 *       (multi interface, CONNS connections), PER_REQUEST per request, for
 *       the agents listed in KEYS ("agent_id node_key" lines), bodies
 *       encoded beforehand. Prints snapshots/s and the answers.
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

#include <curl/curl.h>
#include <libpq-fe.h>

#include "auth.h"
#include "buf.h"
#include "snapshot.h"
#include "snapshot_json.h"
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
    for (int i = 0; i < REMOTES; i++) {
        snprintf(s->remotes[i].addr, PF_ADDR_LEN, "10.%d.%d.%d", i, (int)(seq % 250), i + 7);
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

static int cmd_raw(const char *conninfo, size_t n)
{
    size_t ntx = (n + RAW_TXN - 1) / RAW_TXN;
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
        size_t t = i / RAW_TXN;
        char ts[PF_TIME_LEN];
        make_snapshot(&s, agents[i % 100], i / 100 + 1, now);
        pf_time_format(s.taken_at, ts);
        pf_buf_printf(&seqs[t], "%s\t%" PRIu64 "\t%s\n", s.agent_id, s.seq, ts);
        if (store_copy_rows(&s, &snaps[t], &procs[t], &rems[t]))
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
        copy_in(pg, store_copy_snapshots_sql, &snaps[t]);
        copy_in(pg, store_copy_processes_sql, &procs[t]);
        copy_in(pg, store_copy_remotes_sql, &rems[t]);
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

/* ---- ingest over TLS ---- */

struct agent {
    char id[AUTH_UUID_LEN];
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

static int cmd_ingest(const char *base, const char *ca, const char *keys, size_t n, int conns,
                      size_t per)
{
    struct agent *agents = NULL;
    size_t nagents = 0, cap = 0, nreq, next = 0, done = 0;
    size_t accepted = 0, duplicates = 0, failed = 0, ok200 = 0;
    char line[256], url[512];
    struct req *reqs;
    struct slot *slots;
    struct pf_snapshot s = {0};
    int64_t now = pf_time_now();
    size_t bytes = 0;
    FILE *f = fopen(keys, "r");
    CURLM *m;
    double t0, dt;
    int running = 0;

    if (!f)
        die("cannot read the keys file");
    while (fgets(line, sizeof(line), f)) {
        char id[AUTH_UUID_LEN], key[128], auth[200];
        if (sscanf(line, "%36s %127s", id, key) != 2)
            continue;
        if (nagents == cap) {
            cap = cap ? 2 * cap : 64;
            agents = realloc(agents, cap * sizeof(*agents));
        }
        snprintf(agents[nagents].id, AUTH_UUID_LEN, "%s", id);
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
    snprintf(url, sizeof(url), "%s/v1/snapshots", base);

    /* Every request body, encoded before the clock starts. Agent a sends
     * seq 1, 2, ... in order across its requests. */
    nreq = (n + per - 1) / per;
    reqs = calloc(nreq, sizeof(*reqs));
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
        bytes += reqs[r].len;
    }
    pf_snapshot_clear(&s);

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
            const char *p;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, msg->easy_handle);
            if (msg->data.result != CURLE_OK || code != 200) {
                failed++;
                if (failed <= 5)
                    fprintf(stderr, "request failed: %s, HTTP %ld: %s\n",
                            curl_easy_strerror(msg->data.result), code, sl->resp);
            } else {
                ok200++;
                if ((p = strstr(sl->resp, "\"accepted\":")))
                    accepted += strtoull(p + 11, NULL, 10);
                if ((p = strstr(sl->resp, "\"duplicates\":")))
                    duplicates += strtoull(p + 13, NULL, 10);
            }
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
    dt = now_s() - t0;
    printf("collector: %zu snapshots in %zu requests (%zu per request, %.1f KiB JSON per "
           "snapshot) over %d TLS keep-alive connections in %.2f s: %.0f snapshots/s; "
           "answers: %zu x 200, %zu failed; accepted %zu, duplicates %zu\n",
           n, nreq, per, (double)bytes / (double)n / 1024.0, conns, dt, (double)n / dt, ok200,
           failed, accepted, duplicates);
    for (int i = 0; i < conns; i++)
        curl_easy_cleanup(slots[i].h);
    curl_multi_cleanup(m);
    for (size_t r = 0; r < nreq; r++)
        free(reqs[r].body);
    for (size_t a = 0; a < nagents; a++)
        curl_slist_free_all(agents[a].headers);
    free(reqs);
    free(slots);
    free(agents);
    return failed || accepted != n ? 1 : 0;
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
    else if (argc == 6 && strcmp(argv[1], "handshakes") == 0)
        rc = cmd_handshakes(argv[2], argv[3], strtod(argv[4], NULL), (int)strtol(argv[5], NULL, 10));
    else
        fprintf(stderr, "usage: see the comment at the top of tests/bench/collector_bench.c\n");
    curl_global_cleanup();
    return rc;
}
