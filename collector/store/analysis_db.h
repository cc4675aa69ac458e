/* SPDX-License-Identifier: MIT */
/* analysis_db.h: loads the capacity analysis's fleet (fleet.h) from the
 * rollups of sql/010 in four queries inside one read-only snapshot: the
 * hosts (enrolled, not revoked, with their latest configuration), their
 * host-hours in the window, the last day of every process, and the whole
 * series of the processes that may be leaking (demand_leak_candidate()
 * on that day). So the load reads about one row per host and hour, plus a
 * day of processes, whatever the snapshot interval. The big answers are
 * read as they arrive, row by row, never built whole: COPY (FORMAT
 * binary), its parameters in settings of the transaction; on Citus the
 * same queries with parameters in libpq's single-row mode. Hosts silent for more than
 * ANALYSIS_DB_FORGET_DAYS drop out (decommissioned); revoke an agent to
 * drop it sooner. */
#ifndef PF_ANALYSIS_DB_H
#define PF_ANALYSIS_DB_H

#include <stddef.h>

#include <libpq-fe.h>

#include "error.h"
#include "fleet.h"

#define ANALYSIS_DB_FORGET_DAYS 30

/* Loads the fleet of window p (ending at p->now) from pg: the hosts of
 * tenant (NULL or "": of every tenant) in site (NULL or "": every site),
 * each with its tenant. The tenant filter is applied to the hosts, and
 * every other row is reached through a loaded host's agent_id, so no row
 * of another tenant's agent gets into the fleet. Returns PF_OK and *out (free with fleet_free);
 * PF_AGAIN when the database failed (the reason in err); PF_NOMEM;
 * PF_INVALID when p's window is unusable. *out is NULL on error. */
enum pf_rc analysis_db_load(PGconn *pg, const struct fleet_params *p, const char *tenant,
                            const char *site, struct fleet **out, char *err, size_t errlen);

#endif
