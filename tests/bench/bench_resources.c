/* SPDX-License-Identifier: MIT */
/* bench_resources.c: what sampling CPU and memory costs the agent, in CPU
 * time (getrusage: user + system), against a reference measured in the
 * same run: one whole one-shot snapshot of this host (the sockets, their
 * owners, the counts). An interval of the default 60 s costs the agent
 * 60 readings of the CPU counters (collect_tick, once a second from the
 * run loop) and, at the snapshot, one reading of each and the monitor's
 * end: the figure printed as "per snapshot". Not a pass/fail test.
 *
 *   bench_resources [ROUNDS]   (default 20000 ticks, 200 snapshots) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "collect.h"
#include "compat.h"
#include "resources.h"
#include "snapshot.h"

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    long snaps = rounds / 100 > 10 ? rounds / 100 : 10;
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
    return 0;
}
