/* SPDX-License-Identifier: MIT */
/* fleet_mirror.h: the analysis's week of rollups kept in the collector's
 * memory between requests, brought up to date by re-reading only what
 * changed, so an analysis at fleet scale need not reload the week.
 *
 * At 10,000 hosts the week is 1.7 million host_hours rows and 5 million
 * process_hours rows: reading them alone takes seconds, whatever the
 * code. The mirror holds, for every tenant and site, every host of the
 * default window with its configuration, every host-hour and the whole
 * series of every process. A refresh, in one read-only snapshot:
 * - re-reads the host configuration (which decides the host set: enrolled,
 *   revoked, forgotten);
 * - re-reads every host's hours from two hours before the previous
 *   refresh's database time on (steady ingest writes the current hour and
 *   the one before);
 * - re-reads the host-hours that sql/150's trigger marked since the xmin
 *   of the previous refresh's snapshot (rows written for older hours: a
 *   spool drained, the process_hours queue caught up, a seed);
 * - slides the window when the clock enters a new hour, reading the hours
 *   it exposes.
 * Every re-read hour is blanked first and then read whole, so its values
 * are set, never folded twice. A mirror not refreshed for 20 hours (the
 * marks live a day), a TRUNCATE, or any failure mid-way reloads in full.
 *
 * A request's fleet is a copy of the hosts of its tenant and site
 * (analysis_db_load()'s order and filters), with what analysis_db_load()
 * would load of the processes: the last day of each, the whole series of
 * the leak candidates; so its analysis equals a full load's. Requests the
 * mirror cannot answer (another window, a `now` more than a window away,
 * Citus, no sql/150) return PF_NOTFOUND: the caller loads in full.
 * Thread-safe: one mutex around refresh and copy. */
#ifndef PF_FLEET_MIRROR_H
#define PF_FLEET_MIRROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "error.h"
#include "fleet.h"

struct fmirror;

/* An empty mirror of windows window_s long (fleet_params'); NULL when out
 * of memory. */
struct fmirror *fmirror_new(int64_t window_s);
void fmirror_free(struct fmirror *m);

/* Brings m up to date on pg for the window holding now (0: the
 * database's clock). PF_OK; PF_NOTFOUND when the database does not allow
 * a mirror (Citus, no sql/150); PF_AGAIN with err when it failed. */
enum pf_rc fmirror_refresh(struct fmirror *m, PGconn *pg, int64_t now, char *err, size_t errlen);

/* Refreshes m and returns in *out the fleet analysis_db_load() would load
 * for p, tenant and site (free with fleet_free). PF_NOTFOUND: the mirror
 * cannot answer p (load in full); PF_AGAIN with err; PF_NOMEM. */
enum pf_rc fmirror_view(struct fmirror *m, PGconn *pg, const struct fleet_params *p,
                        const char *tenant, const char *site, struct fleet **out, char *err,
                        size_t errlen);

struct fmirror_status {
    bool ready;               /* loaded once */
    bool disabled;            /* the database allows none: every analysis loads in full */
    size_t hosts;             /* hosts held */
    long long full_ms;        /* the last full load */
    long long refresh_ms;     /* the last refresh (full or not) */
    unsigned long long fulls; /* full loads so far */
    unsigned long long refreshes;
};
void fmirror_status(struct fmirror *m, struct fmirror_status *st);

#endif
