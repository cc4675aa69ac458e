/* SPDX-License-Identifier: MIT */
/* sysinfo.h: the host part of a snapshot: name, machine id, OS, CPUs,
 * memory, roles, and the dynamic port ranges with their excluded ports.
 * Implemented by sysinfo_linux.c and sysinfo_win.c. */
#ifndef PF_SYSINFO_H
#define PF_SYSINFO_H

#include "error.h"
#include "snapshot.h"

/* Fills s->host (all but site and agent_version, which the caller sets),
 * s->ranges, s->excluded/has_excluded and the host's roles. A part that
 * cannot be read is listed in s->unmeasured, not failed. Returns an error
 * only when the port range itself cannot be read. */
enum pf_rc sysinfo_collect(struct pf_snapshot *s);

#endif
