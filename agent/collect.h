/* SPDX-License-Identifier: MIT */
/* collect.h: takes one snapshot of this host: host info and ranges
 * (sysinfo), every socket with its owners (sockets), the counts
 * (aggregate), and the OS's optional probes. Platform-neutral: the OS parts
 * sit behind sysinfo.h, sockets.h, procinfo.h and probes.h. */
#ifndef PF_COLLECT_H
#define PF_COLLECT_H

#include "cpustat.h"
#include "error.h"
#include "snapshot.h"

struct collect_opts {
    const char *site;     /* host.site; "default" when NULL */
    uint32_t interval_s;  /* interval_s of the snapshot */
    /* `run`: the monitor of the interval since the previous snapshot
     * (collect_tick feeds it), which the snapshot ends and restarts. */
    struct resmon *resmon;
    /* One-shot (resmon NULL): CPU is measured over this many ms from the
     * start of the snapshot (the snapshot waits for it); 0 lists
     * resources.cpu_pct as unmeasured, since a snapshot has no interval. */
    uint32_t cpu_sample_ms;
    const char *cloudflared_metrics; /* its metrics address; NULL: found on the host */
    const char *entra_counter;       /* PDH counter path; NULL: PROBES_ENTRA_COUNTER */
};

/* Starts m for a `run` with this interval (now, from a fresh reading). */
void collect_resmon_start(struct resmon *m, uint32_t interval_s);
/* Feeds m a CPU reading taken now: call it every second or so between
 * snapshots (it reads two counters; no file but /proc/stat on Linux). */
void collect_tick(struct resmon *m);

/* Fills s (zeroed by the caller) with a snapshot taken now; agent_id, seq
 * and agent_stats are left for the caller. Returns PF_OK, or an error when
 * the socket list or the port range could not be read at all. */
enum pf_rc collect_snapshot(struct pf_snapshot *s, const struct collect_opts *opts);

#endif
