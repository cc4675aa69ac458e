/* SPDX-License-Identifier: MIT */
/* alert_api.h: acknowledgements over HTTP, and what /v1/findings shows of
 * them.
 *
 *   POST /v1/findings/ack  {"id": "...", "until": "<RFC 3339>", "comment": "..."}
 *
 * (admin token) mutes the notifications of that finding id (finding_id())
 * until then; an `until` in the past ends the acknowledgement. Answers 200
 * with the acknowledgement as stored, 400 naming the bad field. An id need
 * not be firing now: a planned change can be acknowledged ahead. */
#ifndef PF_ALERT_API_H
#define PF_ALERT_API_H

#include <stddef.h>

#include <libpq-fe.h>

#include "error.h"
#include "findings.h"

struct exchange;

/* The route handler (loop thread): defers to a database worker. The
 * acknowledgement is the admin token's tenant's; an operator names the
 * tenant in the body ("tenant", default "default"); a tenant admin naming
 * another tenant gets 404. */
void alert_ack_handle(struct exchange *x);

/* Loads tenant's ("" every tenant's) acknowledgements in force into *out (malloc'd, *n of
 * them; the caller frees; NULL and 0 when there are none). PF_OK, or
 * PF_AGAIN when the query failed (a database without sql/040 yet counts as
 * none). */
enum pf_rc alert_acks_load(PGconn *pg, const char *tenant, struct finding_ack **out, size_t *n);

#endif
