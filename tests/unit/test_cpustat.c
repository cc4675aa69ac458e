/* SPDX-License-Identifier: MIT */
/* test_cpustat.c: /proc/stat and /proc/meminfo parsing on recorded files
 * (tests/data/linux_proc_stat.txt, linux_meminfo.txt), the percentage of
 * two readings, and the interval monitor's average and peak on
 * constructed readings. */
#include <stdio.h>
#include <stdlib.h>

#include "cpustat.h"
#include "test.h"

TEST(proc_stat_recorded)
{
    size_t len;
    char *buf = t_read_data("linux_proc_stat.txt", &len);
    struct cpustat c;

    T_ASSERT(len > 0);
    T_EQ_INT(cpustat_parse_proc_stat(buf, len, &c), PF_OK);
    /* cpu  39200 136080 112269 34937 405 0 888 0 0 0 */
    T_EQ_INT(c.total, 39200 + 136080 + 112269 + 34937 + 405 + 0 + 888 + 0);
    T_EQ_INT(c.busy, 39200 + 136080 + 112269 + 888);
    free(buf);
}

TEST(proc_stat_shapes)
{
    struct cpustat c;
    const char *s = "cpu0 1 2 3 4\ncpu  10 0 10 80\n"; /* the aggregate line, not cpu0 */

    T_EQ_INT(cpustat_parse_proc_stat(s, strlen(s), &c), PF_OK);
    T_EQ_INT(c.total, 100);
    T_EQ_INT(c.busy, 20);
    s = "cpu  1 2 3\n"; /* fewer than the 4 fields every kernel writes */
    T_EQ_INT(cpustat_parse_proc_stat(s, strlen(s), &c), PF_INVALID);
    s = "intr 1 2 3 4 5\n";
    T_EQ_INT(cpustat_parse_proc_stat(s, strlen(s), &c), PF_INVALID);
    s = "cpu  99999999999999999999 1 1 1\n";
    T_EQ_INT(cpustat_parse_proc_stat(s, strlen(s), &c), PF_INVALID);
    /* A buffer cut inside the line (read() of a fixed size) still parses
     * the fields it holds. */
    s = "cpu  10 0 10 80 5 1";
    T_EQ_INT(cpustat_parse_proc_stat(s, strlen(s), &c), PF_OK);
    T_EQ_INT(c.total, 106);
    T_EQ_INT(c.busy, 21);
}

TEST(meminfo)
{
    size_t len;
    char *buf = t_read_data("linux_meminfo.txt", &len);
    uint64_t total, avail;
    const char *old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n";

    T_EQ_INT(cpustat_parse_meminfo(buf, len, &total, &avail), PF_OK);
    T_EQ_INT(total, 24683748);
    T_EQ_INT(avail, 23024164);
    free(buf);
    /* Before MemAvailable (kernel < 3.14): free + buffers + cached. */
    T_EQ_INT(cpustat_parse_meminfo(old, strlen(old), &total, &avail), PF_OK);
    T_EQ_INT(total, 1000);
    T_EQ_INT(avail, 350);
    old = "MemFree: 100 kB\n";
    T_EQ_INT(cpustat_parse_meminfo(old, strlen(old), &total, &avail), PF_INVALID);
}

TEST(pct)
{
    struct cpustat a = {100, 1000}, b = {400, 2000};
    double p = -1;

    T_ASSERT(cpustat_pct(&a, &b, &p));
    T_ASSERT(p == 30.0);
    T_ASSERT(!cpustat_pct(&b, &a, &p)); /* reset */
    T_ASSERT(!cpustat_pct(&a, &a, &p)); /* no time */
}

/* Readings of a 2-core host, in ticks of 10 ms: `busy` ticks out of 200
 * per second. */
static void advance(struct cpustat *c, unsigned seconds, unsigned busy_per_s)
{
    c->total += 200ull * seconds;
    c->busy += (uint64_t)busy_per_s * seconds;
}

TEST(resmon_average_and_peak)
{
    struct resmon m;
    struct cpustat c = {0, 0};
    double avg = -1, peak = -1;
    int64_t t = 0;

    T_EQ_INT(resmon_sample_ms(60), 5000);
    T_EQ_INT(resmon_sample_ms(1), 1000);
    T_EQ_INT(resmon_sample_ms(3600), 5000);
    resmon_start(&m, 5000, t, &c);
    /* 60 s: 50 s at 20%, then 10 s at 90% (a burst of two samples). */
    for (int i = 0; i < 60; i++) {
        advance(&c, 1, i < 50 ? 40 : 180);
        t += 1000;
        resmon_feed(&m, t, &c);
    }
    T_ASSERT(resmon_end(&m, t, &c, 200, &avg, &peak));
    T_ASSERT(avg > 31.66 && avg < 31.67); /* (50*20 + 10*90) / 60 */
    T_ASSERT(peak == 90.0);
    /* The monitor restarted: the next interval is idle. */
    advance(&c, 30, 0);
    t += 30000;
    resmon_feed(&m, t, &c);
    T_ASSERT(resmon_end(&m, t, &c, 200, &avg, &peak));
    T_ASSERT(avg == 0.0 && peak == 0.0);
    /* A burst shorter than a sample is averaged into its sample. */
    advance(&c, 4, 0);
    advance(&c, 1, 200);
    t += 5000;
    resmon_feed(&m, t, &c);
    advance(&c, 5, 0);
    t += 5000;
    resmon_feed(&m, t, &c);
    T_ASSERT(resmon_end(&m, t, &c, 200, &avg, &peak));
    T_ASSERT(avg == 10.0 && peak == 20.0);
    /* No time passed: nothing to say. */
    T_ASSERT(!resmon_end(&m, t, &c, 200, &avg, &peak));
    /* Counters going back (a reset) start the interval over. */
    advance(&c, 10, 100);
    t += 10000;
    resmon_feed(&m, t, &c);
    c.total = 5;
    c.busy = 1;
    resmon_feed(&m, t, &c);
    advance(&c, 2, 20);
    t += 2000;
    T_ASSERT(resmon_end(&m, t, &c, 200, &avg, &peak));
    T_ASSERT(avg == 10.0);
}

TEST(resmon_partial_last_sample)
{
    struct resmon m;
    struct cpustat c = {0, 0};
    double avg, peak;

    resmon_start(&m, 5000, 0, &c);
    advance(&c, 5, 20); /* one full sample at 10% */
    resmon_feed(&m, 5000, &c);
    c.total += 100; /* then 0.5 s at 100%: counted in the peak (>= 200 ms) */
    c.busy += 100;
    T_ASSERT(resmon_end(&m, 5500, &c, 200, &avg, &peak));
    T_ASSERT(peak == 100.0);
    advance(&c, 5, 20);
    resmon_feed(&m, 10500, &c);
    c.total += 10; /* 50 ms at 100%: too short to be a sample */
    c.busy += 10;
    T_ASSERT(resmon_end(&m, 10550, &c, 200, &avg, &peak));
    T_ASSERT(peak == 10.0 || peak == avg);
    T_ASSERT(peak >= avg);
}

int main(void)
{
    RUN(proc_stat_recorded);
    RUN(proc_stat_shapes);
    RUN(meminfo);
    RUN(pct);
    RUN(resmon_average_and_peak);
    RUN(resmon_partial_last_sample);
    return T_DONE();
}
