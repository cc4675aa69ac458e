/* SPDX-License-Identifier: MIT */
/* bench_resources.c: what sampling CPU, memory and sessions costs the
 * agent, in CPU time of the measuring thread (getrusage RUSAGE_THREAD:
 * user + system), against a reference measured in the same run: one
 * whole one-shot snapshot of this host (the sockets, their owners, the
 * counts). An interval of the default 60 s costs the agent 60 readings of
 * the CPU counters (collect_tick, once a second from the run loop) and,
 * at the snapshot, one reading of each and the monitor's end; on a
 * cloudflared host also one scrape of its metrics endpoint (the GET over
 * loopback and the parse), timed against a stand-in on 127.0.0.1 serving
 * the recorded scrape of tests/data (and the same padded to 48 KB, the
 * size of a scrape with Go runtime and histogram series) from a thread
 * of its own, whose CPU is not counted. Not a pass/fail test.
 *
 *   bench_resources [ROUNDS [DATA_DIR]]   (default 20000 ticks, 200
 *   snapshots, ROUNDS / 20 scrapes; DATA_DIR: tests/data) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RUSAGE_THREAD */
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfmetrics.h"
#include "collect.h"
#include "compat.h"
#include "resources.h"
#include "sessions.h"
#include "snapshot.h"

#ifndef PF_TEST_DATA
#define PF_TEST_DATA "tests/data"
#endif

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_THREAD, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The stand-in endpoint: each connection gets the answer, then close. */
struct stand_in {
    int fd;
    const char *answer;
    size_t len;
};

static void *serve(void *arg)
{
    struct stand_in *sv = arg;
    char req[1024];

    for (;;) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            return NULL; /* the listening socket was shut down */
        if (recv(c, req, sizeof(req), 0) > 0)
            for (size_t o = 0; o < sv->len;) {
                ssize_t n = send(c, sv->answer + o, sv->len - o, MSG_NOSIGNAL);
                if (n <= 0)
                    break;
                o += (size_t)n;
            }
        close(c);
    }
}

/* Mean CPU of one scrape (fetch + parse) of the stand-in serving body. */
static int scrape_cost(const char *body, size_t blen, long n, double *out, size_t *got)
{
    static const char head[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n\r\n";
    struct stand_in sv = {-1, NULL, 0};
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    pthread_t th;
    char *ans = malloc(sizeof(head) + blen);
    double t0;
    int rc = 1;

    if (!ans)
        return 1;
    memcpy(ans, head, sizeof(head) - 1);
    memcpy(ans + sizeof(head) - 1, body, blen);
    sv.answer = ans;
    sv.len = sizeof(head) - 1 + blen;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sv.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (sv.fd < 0 || bind(sv.fd, (struct sockaddr *)&a, sizeof(a)) ||
        getsockname(sv.fd, (struct sockaddr *)&a, &al) || listen(sv.fd, 64) ||
        pthread_create(&th, NULL, serve, &sv)) {
        if (sv.fd >= 0)
            close(sv.fd);
        free(ans);
        return 1;
    }
    t0 = cpu_s();
    for (long i = 0; i < n; i++) {
        struct pf_sessions se;
        char *b = NULL;
        size_t len = 0;
        memset(&se, 0, sizeof(se));
        if (sessions_fetch("127.0.0.1", ntohs(a.sin_port), SESSIONS_TIMEOUT_MS, &b, &len) ||
            cfmetrics_parse(b, len, &se)) {
            free(b);
            goto out;
        }
        *got = len;
        free(b);
    }
    *out = (cpu_s() - t0) / (double)n;
    rc = 0;
out:
    shutdown(sv.fd, SHUT_RDWR);
    pthread_join(th, NULL);
    close(sv.fd);
    free(ans);
    return rc;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = f ? malloc(1 << 20) : NULL;

    *len = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
    if (f)
        fclose(f);
    if (b)
        b[*len] = '\0';
    return b;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    long snaps = rounds / 100 > 10 ? rounds / 100 : 10;
    long scrapes = rounds / 20 > 50 ? rounds / 20 : 50;
    const char *data = argc > 2 ? argv[2] : PF_TEST_DATA;
    char path[1024], *rec, *padded;
    size_t rlen, plen, got = 0, got_padded = 0;
    double scrape, scrape_padded;
    struct resmon m;
    struct cpustat r;
    uint64_t used, total;
    double t0, tick, fill, mem, snap, avg, peak;
    struct collect_opts co = {.site = "bench", .interval_s = 60};

    collect_resmon_start(&m, 60);
    t0 = cpu_s();
    for (long i = 0; i < rounds; i++)
        collect_tick(&m);
    tick = (cpu_s() - t0) / (double)rounds;

    t0 = cpu_s();
    for (long i = 0; i < rounds; i++)
        if (resources_memory_read(&used, &total))
            return 1;
    mem = (cpu_s() - t0) / (double)rounds;

    t0 = cpu_s();
    for (long i = 0; i < rounds; i++) {
        if (resources_cpu_read(&r))
            return 1;
        resmon_end(&m, pf_mono_ms() + i, &r, 200, &avg, &peak);
    }
    fill = (cpu_s() - t0) / (double)rounds + mem;

    t0 = cpu_s();
    for (long i = 0; i < snaps; i++) {
        struct pf_snapshot *s = pf_snapshot_new();
        if (!s || collect_snapshot(s, &co))
            return 1;
        pf_snapshot_free(s);
    }
    snap = (cpu_s() - t0) / (double)snaps;

    snprintf(path, sizeof(path), "%s/cloudflared_metrics.txt", data);
    rec = read_file(path, &rlen);
    if (!rec || !rlen) {
        fprintf(stderr, "bench_resources: cannot read %s\n", path);
        return 1;
    }
    /* The recorded scrape, then Go runtime style series up to 48 KB. */
    padded = malloc(48 * 1024 + 256);
    if (!padded)
        return 1;
    memcpy(padded, rec, rlen);
    plen = rlen;
    for (int k = 0; plen < 48 * 1024; k++)
        plen += (size_t)snprintf(padded + plen, 256,
                                 "go_gc_duration_seconds_bucket{le=\"%d\",quantile=\"0.%d\"} "
                                 "%d.%06d\n",
                                 k, k % 10, k * 7, k * 13 % 1000000);
    if (scrape_cost(rec, rlen, scrapes, &scrape, &got) ||
        scrape_cost(padded, plen, scrapes, &scrape_padded, &got_padded)) {
        fprintf(stderr, "bench_resources: the stand-in metrics endpoint did not answer\n");
        return 1;
    }
    free(rec);
    free(padded);

    printf("CPU counters read + fed to the monitor (collect_tick): %.2f us CPU each\n", tick * 1e6);
    printf("memory read: %.2f us; snapshot's resources section (CPU read, monitor end, memory): "
           "%.2f us\n",
           mem * 1e6, fill * 1e6);
    printf("sampling per 60 s interval (60 ticks + the snapshot's part): %.1f us CPU = %.4f%% of "
           "one core over the interval\n",
           (60 * tick + fill) * 1e6, (60 * tick + fill) / 60 * 100);
    printf("reference, same run: one whole one-shot snapshot of this host: %.1f us CPU "
           "(mean of %ld)\n",
           snap * 1e6, snaps);
    printf("ratio: sampling per snapshot / whole snapshot = %.4f\n", (60 * tick + fill) / snap);
    printf("cloudflared sessions, one scrape over loopback + parse: %.1f us CPU (%zu-byte "
           "recorded scrape), %.1f us (%zu bytes), mean of %ld each\n",
           scrape * 1e6, got, scrape_padded * 1e6, got_padded, scrapes);
    printf("ratio: (sampling + 48 KB scrape) per snapshot / whole snapshot = %.4f\n",
           (60 * tick + fill + scrape_padded) / snap);
    return 0;
}
