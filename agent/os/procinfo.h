/* SPDX-License-Identifier: MIT */
/* procinfo.h: what a PID is: its image name and the service(s) it runs.
 * procinfo_linux.c reads /proc (comm, exe, the systemd unit from cgroup);
 * procinfo_win.c asks QueryFullProcessImageNameW / toolhelp and the service
 * manager, with a cache kept across snapshots. */
#ifndef PF_PROCINFO_H
#define PF_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Writes the image name (no directory) of pid into name, and its service
 * names (comma-separated; "" when none) into service. Returns PF_NOTFOUND
 * when the process is gone; name is then "" too. */
enum pf_rc procinfo_lookup(uint32_t pid, char *name, size_t namelen, char *service,
                           size_t servicelen);

/* Drops cached entries of processes not looked up since the previous call
 * (called once per snapshot). */
void procinfo_sweep(void);

#endif
