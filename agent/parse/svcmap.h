/* SPDX-License-Identifier: MIT */
/* svcmap.h: the pure half of reading the Windows service list
 * (EnumServicesStatusExW with SC_ENUM_PROCESS_INFO, one entry per service
 * with the PID hosting it). procinfo_win.c names a PID's services with it
 * (one svchost PID can host several), sysinfo_win.c derives the host's
 * roles from the running connector services. */
#ifndef PF_SVCMAP_H
#define PF_SVCMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

#define SVCMAP_NAME_LEN 257 /* service key names are at most 256 characters */

/* One service as EnumServicesStatusExW reports it, its name in UTF-8. */
struct svcmap_entry {
    char name[SVCMAP_NAME_LEN];
    uint32_t pid; /* 0 when not running */
    bool running; /* SERVICE_RUNNING (or start/stop/pause pending) */
};

/* Sorts the entries by PID, then by name (case-insensitive), as
 * svcmap_names_for_pid expects. */
void svcmap_sort(struct svcmap_entry *e, size_t n);

/* Writes the names of the services that PID pid hosts into out, joined by
 * ',' in name order; "" when none. When they do not all fit, whole names
 * are left out from the end. e must be sorted by svcmap_sort. Returns the
 * number of names written. pid 0 never matches. */
size_t svcmap_names_for_pid(const struct svcmap_entry *e, size_t n, uint32_t pid, char *out,
                            size_t outlen);

/* Adds the roles that running services reveal to s: RemoteAccess (RRAS)
 * -> "rras", WAPCSvc (Entra private network connector) ->
 * "entra-connector", cloudflared -> "cloudflared". Names are compared
 * without case, as Windows does. Returns true when RemoteAccess runs. */
bool svcmap_roles(const struct svcmap_entry *e, size_t n, struct pf_snapshot *s);

/* Windows only (svcmap_win.c): reads every Win32 service with
 * EnumServicesStatusExW(SC_ENUM_PROCESS_INFO) into a malloc'd array, sorted
 * by svcmap_sort; the caller frees *out. Returns PF_PERM when the service
 * manager cannot be opened, PF_IO or PF_NOMEM (then *out is NULL, *n 0). */
enum pf_rc svcmap_enumerate(struct svcmap_entry **out, size_t *n);

/* True when a service of that name (case-insensitive) is running. */
bool svcmap_running(const struct svcmap_entry *e, size_t n, const char *name);

#endif
