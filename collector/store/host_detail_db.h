/* SPDX-License-Identifier: MIT */
/* host_detail_db.h: loads the host page's detail (host_detail.h) for one
 * agent from the stored snapshots and process rollups, in one read-only
 * snapshot of the database: about one row per hour of the window, plus a
 * day of remote endpoints. Every value is a query parameter. */
#ifndef PF_HOST_DETAIL_DB_H
#define PF_HOST_DETAIL_DB_H

#include <stddef.h>

#include <libpq-fe.h>

#include "error.h"
#include "fleet.h"
#include "host_detail.h"

/* Writes the site of agent_id (enrolled, not revoked, of tenant unless
 * tenant is NULL or "") into site. PF_OK, PF_NOTFOUND (no such agent, or
 * another tenant's), PF_AGAIN (database; why in err). agent_id must be a
 * UUID's text. */
enum pf_rc host_detail_site(PGconn *pg, const char *tenant, const char *agent_id, char *site,
                            size_t sitelen, char *err, size_t errlen);

/* Fills d for agent_id over the window of fleet f (its start and hours)
 * up to now. PF_OK, PF_AGAIN (database; why in err), PF_NOMEM. On error d
 * holds nothing to free. */
enum pf_rc host_detail_load(PGconn *pg, const struct fleet *f, int64_t now, const char *agent_id,
                            struct host_detail *d, char *err, size_t errlen);

#endif
