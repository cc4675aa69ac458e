/* SPDX-License-Identifier: MIT */
/* collect.h: takes one snapshot of this host: host info and ranges
 * (sysinfo), every socket with its owners (sockets), the counts
 * (aggregate), and the OS's optional probes. Platform-neutral: the OS parts
 * sit behind sysinfo.h, sockets.h, procinfo.h and probes.h. */
#ifndef PF_COLLECT_H
#define PF_COLLECT_H

#include "error.h"
#include "snapshot.h"

struct collect_opts {
    const char *site;     /* host.site; "default" when NULL */
    uint32_t interval_s;  /* interval_s of the snapshot */
};

/* Fills s (zeroed by the caller) with a snapshot taken now; agent_id, seq
 * and agent_stats are left for the caller. Returns PF_OK, or an error when
 * the socket list or the port range could not be read at all. */
enum pf_rc collect_snapshot(struct pf_snapshot *s, const struct collect_opts *opts);

#endif
