/* SPDX-License-Identifier: MIT */
/* resources.h: the host's CPU and memory for the resources section, read
 * by sampling OS counters (never by starting a program): Linux /proc/stat
 * and /proc/meminfo (resources_linux.c), Windows GetSystemTimes and
 * GlobalMemoryStatusEx (resources_win.c). The averaging and the peak are
 * platform-neutral (cpustat.h's resmon). */
#ifndef PF_RESOURCES_H
#define PF_RESOURCES_H

#include <stdint.h>

#include "cpustat.h"
#include "error.h"
#include "snapshot.h"

/* Reads the cumulative CPU counters of all cores. PF_IO when unreadable. */
enum pf_rc resources_cpu_read(struct cpustat *out);

/* Reads the memory in use (not cache: total - available) and the total,
 * in MiB. PF_IO when unreadable. */
enum pf_rc resources_memory_read(uint64_t *used_mb, uint64_t *total_mb);

/* Reads the resources figures of snapshot_fields.h besides CPU and memory
 * into r: sets each one it reads and its has_ flag, leaves the others
 * alone (collect.c lists them as unmeasured). */
void resources_more_read(struct pf_resources *r);

#endif
