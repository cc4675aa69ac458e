/* SPDX-License-Identifier: MIT */
/* check_snapshot.c: the Linux side of the Wine test. Decodes the JSON that
 * portfleet-agent.exe printed under Wine with the project's own strict
 * codec, and compares it with the manifest sockholder.exe wrote about the
 * sockets it holds. The test runs in a private network namespace, so the
 * holder's sockets are all the sockets there are: the host counts must
 * equal the manifest's exactly. One line per check ("ok - ..." /
 * "not ok - ..."), what Wine could not provide as "skip - ...", then
 * "N passed, N failed"; the exit code is 1 when anything failed.
 *
 *   check_snapshot SNAPSHOT.json MANIFEST.txt [--expect-ranges START COUNT] */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "snapshot_json.h"

#define MAX_PORTS 1024

struct manifest {
    unsigned long pid;
    long listen, established, time_wait, bound, udp;
    unsigned bound_port; /* also in tcp_ports */
    unsigned tcp_ports[MAX_PORTS], udp_ports[MAX_PORTS];
    int ntcp, nudp;
};

static int passed, failed;

static void check(bool ok, const char *fmt, ...) PF_PRINTF(2, 3);
static void check(bool ok, const char *fmt, ...)
{
    va_list ap;

    printf("%s - ", ok ? "ok" : "not ok");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (ok)
        passed++;
    else
        failed++;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)n + 1)) != NULL) {
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}

static int read_ports(char *rest, unsigned *out)
{
    int n = 0;
    char *end;

    for (;;) {
        unsigned long v = strtoul(rest, &end, 10);
        if (end == rest || n == MAX_PORTS)
            return n;
        out[n++] = (unsigned)v;
        rest = end;
    }
}

static bool read_manifest(const char *path, struct manifest *m)
{
    FILE *f = fopen(path, "r");
    char line[16384];

    if (!f)
        return false;
    memset(m, 0, sizeof(*m));
    while (fgets(line, sizeof(line), f)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = '\0';
        if (strcmp(line, "pid") == 0)
            m->pid = strtoul(sp + 1, NULL, 10);
        else if (strcmp(line, "listen") == 0)
            m->listen = strtol(sp + 1, NULL, 10);
        else if (strcmp(line, "established") == 0)
            m->established = strtol(sp + 1, NULL, 10);
        else if (strcmp(line, "time_wait") == 0)
            m->time_wait = strtol(sp + 1, NULL, 10);
        else if (strcmp(line, "bound") == 0)
            m->bound = strtol(sp + 1, NULL, 10);
        else if (strcmp(line, "bound_port") == 0)
            m->bound_port = (unsigned)strtoul(sp + 1, NULL, 10);
        else if (strcmp(line, "udp") == 0)
            m->udp = strtol(sp + 1, NULL, 10);
        else if (strcmp(line, "tcp_ports") == 0)
            m->ntcp = read_ports(sp + 1, m->tcp_ports);
        else if (strcmp(line, "udp_ports") == 0)
            m->nudp = read_ports(sp + 1, m->udp_ports);
    }
    fclose(f);
    return m->pid != 0;
}

/* Ports of list inside the snapshot's range for proto/IPv4. */
static long in_range(const struct pf_snapshot *s, int proto, const unsigned *ports, int n)
{
    const struct pf_range *r = pf_snapshot_range(s, proto, PF_FAMILY_IPV4);
    long k = 0;

    for (int i = 0; r && i < n; i++)
        if (ports[i] >= r->start && ports[i] < r->start + r->count)
            k++;
    return k;
}

int main(int argc, char **argv)
{
    struct pf_snapshot s;
    struct manifest m;
    char err[PF_ERRMSG_LEN] = "";
    size_t len = 0;
    char *json;
    long want_start = -1, want_count = -1;

    if (argc != 3 && !(argc == 6 && strcmp(argv[3], "--expect-ranges") == 0)) {
        fprintf(stderr, "usage: check_snapshot SNAPSHOT.json MANIFEST.txt "
                        "[--expect-ranges START COUNT]\n");
        return 2;
    }
    if (argc == 6) {
        want_start = strtol(argv[4], NULL, 10);
        want_count = strtol(argv[5], NULL, 10);
    }
    memset(&s, 0, sizeof(s));
    memset(&m, 0, sizeof(m));
    json = slurp(argv[1], &len);
    check(json != NULL && len > 0, "the agent printed a snapshot (%zu bytes)", len);
    {
        bool have = read_manifest(argv[2], &m);
        check(have, "the holder wrote its manifest (pid %lu)", m.pid);
    }
    if (!json || failed) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    check(pf_snapshot_decode(json, len, &s, err) == PF_OK,
          "the snapshot is valid per the codec%s%s", err[0] ? ": " : "", err);
    if (failed) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }

    check(strcmp(s.host.os, "windows") == 0, "host.os is \"%s\"", s.host.os);
    check(s.host.cpus > 0 && s.host.memory_mb > 0, "host.cpus %u, host.memory_mb %llu",
          (unsigned)s.host.cpus, (unsigned long long)s.host.memory_mb);
    check(s.nranges == 4, "4 ranges (tcp/udp x ipv4/ipv6): %zu", s.nranges);
    if (want_start >= 0) {
        const struct pf_range *r = pf_snapshot_range(&s, PF_PROTO_TCP, PF_FAMILY_IPV4);
        check(r && r->start == want_start && r->count == want_count,
              "tcp/ipv4 range %ld+%ld (expected %ld+%ld)", r ? (long)r->start : -1L,
              r ? (long)r->count : -1L, want_start, want_count);
    }
    check(s.tcp.states[PF_TCP_LISTEN] == (uint64_t)m.listen, "tcp.states.listen %llu == %ld",
          (unsigned long long)s.tcp.states[PF_TCP_LISTEN], m.listen);
    check(s.tcp.states[PF_TCP_ESTABLISHED] == (uint64_t)m.established,
          "tcp.states.established %llu == %ld",
          (unsigned long long)s.tcp.states[PF_TCP_ESTABLISHED], m.established);
    check(s.tcp.states[PF_TCP_TIME_WAIT] == (uint64_t)m.time_wait,
          "tcp.states.time_wait %llu == %ld", (unsigned long long)s.tcp.states[PF_TCP_TIME_WAIT],
          m.time_wait);
    check(s.udp.endpoints == (uint64_t)m.udp, "udp.endpoints %llu == %ld",
          (unsigned long long)s.udp.endpoints, m.udp);
    if (pf_snapshot_is_unmeasured(&s, "tcp.states.bound")) {
        check(s.tcp.states[PF_TCP_BOUND] == 0, "bound listed as unmeasured (and reported 0)");
        printf("skip - tcp.states.bound: the bound-endpoint table is missing here\n");
    } else {
        check(s.tcp.states[PF_TCP_BOUND] == (uint64_t)m.bound, "tcp.states.bound %llu == %ld",
              (unsigned long long)s.tcp.states[PF_TCP_BOUND], m.bound);
    }
    {
        /* Where bound sockets cannot be listed, the bound socket's port
         * cannot be seen either. */
        long want = in_range(&s, PF_PROTO_TCP, m.tcp_ports, m.ntcp);
        if (pf_snapshot_is_unmeasured(&s, "tcp.states.bound") && m.bound_port &&
            in_range(&s, PF_PROTO_TCP, &m.bound_port, 1))
            want--;
        check(s.tcp.ephemeral_in_use == (uint64_t)want,
              "tcp.ephemeral_in_use %llu == %ld holder ports in range",
              (unsigned long long)s.tcp.ephemeral_in_use, want);
    }
    check(s.udp.ephemeral_in_use == (uint64_t)in_range(&s, PF_PROTO_UDP, m.udp_ports, m.nudp),
          "udp.ephemeral_in_use %llu == %ld holder ports in range",
          (unsigned long long)s.udp.ephemeral_in_use,
          in_range(&s, PF_PROTO_UDP, m.udp_ports, m.nudp));
    check(s.tcp.has_top_destination && strcmp(s.tcp.top_destination.addr, "127.0.0.1") == 0 &&
              s.tcp.top_destination.count >= (uint64_t)(m.established / 2),
          "tcp.top_destination %s:%u x%llu (the holder's server)",
          s.tcp.has_top_destination ? s.tcp.top_destination.addr : "-",
          (unsigned)s.tcp.top_destination.port,
          (unsigned long long)s.tcp.top_destination.count);

    if (pf_snapshot_is_unmeasured(&s, "processes")) {
        printf("skip - processes: no socket had an owning PID here\n");
    } else {
        const struct pf_process *p = NULL;
        for (size_t i = 0; i < s.nprocesses; i++)
            if (s.processes[i].pid == m.pid)
                p = &s.processes[i];
        check(p != NULL, "the holder (pid %lu) is among %zu processes", m.pid, s.nprocesses);
        if (p) {
            check(strcmp(p->name, "sockholder.exe") == 0, "its name is \"%s\"", p->name);
            check(p->states[PF_TCP_LISTEN] == (uint64_t)m.listen &&
                      p->states[PF_TCP_ESTABLISHED] == (uint64_t)m.established,
                  "its listen %llu / established %llu", (unsigned long long)p->states[PF_TCP_LISTEN],
                  (unsigned long long)p->states[PF_TCP_ESTABLISHED]);
            check(p->states[PF_TCP_TIME_WAIT] == 0,
                  "TIME_WAIT sockets are not attributed to it (%llu)",
                  (unsigned long long)p->states[PF_TCP_TIME_WAIT]);
        }
    }
    printf("%s - events: %s\n", s.has_events ? "info" : "skip",
           s.has_events ? "read" : "the event log API is missing here");
    check(!s.has_vpn, "no vpn section (RemoteAccess does not run)");
    check(!s.has_sessions && !pf_snapshot_is_unmeasured(&s, "sessions"),
          "no sessions section (no connector runs)");
    /* GlobalMemoryStatusEx always; GetSystemTimes when the snapshot was
     * given a CPU window (--cpu-sample-ms), else listed as unmeasured. */
    check(s.has_resources && s.resources.has_memory_used_mb && s.resources.memory_used_mb > 0 &&
              s.resources.memory_used_mb <= s.host.memory_mb,
          "memory in use (GlobalMemoryStatusEx): %llu of %llu MB",
          (unsigned long long)s.resources.memory_used_mb, (unsigned long long)s.host.memory_mb);
    if (s.resources.has_cpu_pct)
        check(s.resources.has_cpu_pct_peak && s.resources.cpu_pct >= 0 && s.resources.cpu_pct <= 100 &&
                  s.resources.cpu_pct_peak >= s.resources.cpu_pct,
              "CPU (GetSystemTimes): %.1f%%, peak %.1f%%", s.resources.cpu_pct,
              s.resources.cpu_pct_peak);
    else
        check(pf_snapshot_is_unmeasured(&s, "resources.cpu_pct"),
              "CPU without a window is listed as unmeasured");
    printf("info - unmeasured:");
    for (size_t i = 0; i < s.nunmeasured; i++)
        printf(" %s", s.unmeasured[i]);
    printf("\n");

    pf_snapshot_clear(&s);
    free(json);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
