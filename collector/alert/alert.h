/* SPDX-License-Identifier: MIT */
/* alert.h: notifications (docs/protocol.md section 4), the collector's own two
 * threads, each with its own PostgreSQL connection, so neither a slow
 * analysis nor a hung receiver ever holds a database worker or the loop:
 *
 * - The evaluator, every alert-interval: under a session advisory lock
 *   (several collectors on one database: one evaluates, the others skip;
 *   alert_runs spaces the rounds by the interval between them all), runs
 *   the capacity analysis, compares its findings at or above
 *   alert-min-severity with alert_state (sql/040) and, in one transaction,
 *   updates the state and writes one outbox row per notification and
 *   destination: `firing` for a new id or a higher severity
 *   (previous_severity), `repeat` for a critical one last sent
 *   alert-repeat-hours ago, `resolved` for an id no longer produced. An id
 *   acknowledged until later is muted: its state is left alone, so when
 *   the mute ends it fires (or resolves) as it stands then. Commit NOTIFYs
 *   the senders.
 * - The sender claims the oldest pending row of some destination (a lease
 *   of 2 x alert-timeout + 10 s in the row: a collector killed while
 *   sending only delays it), renders it for the destination
 *   (alert_format.h), sends it with libcurl (HTTPS only, alert-ca-file,
 *   connect and total timeouts; the answer's status decides and the body
 *   is never waited for), and marks it done on 2xx / SMTP 250, or
 *   reschedules it with capped exponential backoff and jitter until it is
 *   a day old. Only a destination's oldest pending row can be claimed, so
 *   a receiver that was down gets everything afterwards, oldest first, and
 *   two collectors never send one row at once.
 *
 * Destinations: the serve options' webhooks and email recipients get every
 * tenant's notifications; alert_destinations (the `alert` command) adds a
 * tenant's own. */
#ifndef PF_ALERT_H
#define PF_ALERT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "options.h"

struct alert;

/* Starts the threads for the options in o (which must outlive the
 * result). With no destination configured and none in the database it
 * still evaluates (a tenant may add one at any time). Returns PF_OK and
 * *out, or an error with *out NULL and why in err. A database that cannot
 * be reached is no error: the threads retry. */
enum pf_rc alert_new(const struct copts *o, struct alert **out, char *err, size_t errlen);
/* Stops both threads (an HTTP request in flight is aborted) and frees a;
 * NULL does nothing. */
void alert_free(struct alert *a);

/* Appends the notification counters to out as Prometheus text (per
 * destination label: sent and failed deliveries; notifications queued;
 * outbox rows pending). Thread-safe; nothing when no alert runs. */
enum pf_rc alert_metrics_append(struct pf_buf *out);

#endif
