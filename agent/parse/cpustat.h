/* SPDX-License-Identifier: MIT */
/* cpustat.h: pure halves of the resources probe, over buffers and numbers
 * so the unit tests can feed recorded files and constructed counters:
 *   /proc/stat's aggregate "cpu" line and /proc/meminfo (Linux), the busy
 *   and total time of two counter readings as a percentage (both OSes:
 *   resources_win.c turns GetSystemTimes into the same pair), and the
 *   interval monitor (resmon) that keeps the average and the peak of the
 *   short samples between two snapshots. */
#ifndef PF_CPUSTAT_H
#define PF_CPUSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

/* Cumulative CPU time of all cores since boot, in any one unit (Linux
 * USER_HZ ticks, Windows 100 ns): busy <= total. */
struct cpustat {
    uint64_t busy, total;
};

/* Parses the aggregate "cpu " line of /proc/stat: total = user + nice +
 * system + idle + iowait + irq + softirq + steal (guest time is already in
 * user and nice), busy = total - idle - iowait. PF_INVALID when the line is
 * missing or has fewer than the 4 fields every kernel writes. */
enum pf_rc cpustat_parse_proc_stat(const char *buf, size_t len, struct cpustat *out);

/* Parses /proc/meminfo: *total_kb = MemTotal, *avail_kb = MemAvailable
 * (kernels before 3.14 lack it: MemFree + Buffers + Cached then). Memory
 * in use, not cache, is total - available. PF_INVALID without MemTotal. */
enum pf_rc cpustat_parse_meminfo(const char *buf, size_t len, uint64_t *total_kb,
                                 uint64_t *avail_kb);

/* The busy share of all cores between readings a and b (b later), 0..100.
 * Returns false when no time passed or a counter went back (a reset). */
bool cpustat_pct(const struct cpustat *a, const struct cpustat *b, double *pct);

/* The interval monitor. Feed it a reading every second or so; it cuts
 * them into short samples of sample_ms (the peak is the highest of those)
 * and keeps the reading of the interval's start (the average is over the
 * whole interval). */
struct resmon {
    bool started;
    struct cpustat start, last; /* the interval's first reading, the last sample's end */
    int64_t start_ms, last_ms;
    uint32_t sample_ms;
    bool has_peak;
    double peak;
};

/* The short sample for an interval: a twelfth of it, within 1..5 s (5 s
 * at the default 60 s interval; Task Manager and perfmon read every 1 s,
 * and a 1 s burst is not the load a host is sized for). */
uint32_t resmon_sample_ms(uint32_t interval_s);

/* Starts (or restarts) the interval at reading r taken at now_ms. */
void resmon_start(struct resmon *m, uint32_t sample_ms, int64_t now_ms, const struct cpustat *r);
/* Takes reading r at now_ms: ends a short sample when sample_ms passed. */
void resmon_feed(struct resmon *m, int64_t now_ms, const struct cpustat *r);
/* Ends the interval at reading r: *avg over the whole interval, *peak the
 * highest short sample (the last, partial one included when it is at least
 * min_ms long; never below the average). Returns false when the interval
 * holds no usable time (then nothing is written); either way restarts the
 * interval at r. */
bool resmon_end(struct resmon *m, int64_t now_ms, const struct cpustat *r, uint32_t min_ms,
                double *avg, double *peak);

#endif
