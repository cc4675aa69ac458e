/* SPDX-License-Identifier: MIT */
/* alert_dest.h: where notifications go, and the checks on what an
 * administrator types for it. A destination is stored as text:
 * "https://..." (generic JSON, docs/protocol.md section 4), "slack:https://..."
 * (a Slack incoming webhook), "teams:https://..." (a Microsoft Teams
 * workflow webhook), or "email:ADDR" (sent through --alert-smtp-url).
 * Webhook URLs are secrets (a Slack URL is its own credential), so logs and
 * metric labels show alert_dest_label() instead: the kind, the host and a
 * short hash of the whole URL. */
#ifndef PF_ALERT_DEST_H
#define PF_ALERT_DEST_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum alert_dest_kind { ALERT_DEST_JSON, ALERT_DEST_SLACK, ALERT_DEST_TEAMS, ALERT_DEST_EMAIL };

#define ALERT_DEST_MAX 2048      /* bytes of a destination */
#define ALERT_DEST_LABEL_LEN 128 /* alert_dest_label() */

/* Splits a stored destination: *kind, and *target pointing into dest (the
 * URL or the address). PF_OK, or PF_INVALID with why in err (naming no
 * secret: only the scheme or the kind is quoted). */
enum pf_rc alert_dest_parse(const char *dest, enum alert_dest_kind *kind, const char **target,
                            char *err, size_t errlen);
/* PF_OK when url is an absolute https:// URL with a host; PF_INVALID with
 * why in err otherwise. */
enum pf_rc alert_check_https(const char *url, char *err, size_t errlen);
/* PF_OK when url is smtp://HOST[:PORT] or smtps://HOST[:PORT]; *loopback
 * (may be NULL) says whether HOST is a loopback name or address, the only
 * place plain smtp:// without STARTTLS is allowed to go. */
enum pf_rc alert_check_smtp_url(const char *url, bool *loopback, char *err, size_t errlen);
/* PF_OK for a plain address local@domain (no spaces, angle brackets,
 * quotes or control characters; at most 254 bytes). */
enum pf_rc alert_check_email(const char *addr, char *err, size_t errlen);
/* Whether stored destinations a and b deliver to the same place: the same
 * URL whatever format prefix each has ("https://x" and "slack:https://x"),
 * or the same "email:ADDR". A notification goes to one place once, however
 * many ways it was configured (a serve option and a tenant's own). */
bool alert_dest_same(const char *a, const char *b);
/* Writes "json:HOST#hash", "slack:HOST#hash", "teams:HOST#hash" or
 * "email:ADDR" into out: names a destination without its secret. */
void alert_dest_label(const char *dest, char out[ALERT_DEST_LABEL_LEN]);
/* Whether host (a URL's host part, brackets allowed) is loopback:
 * "localhost", 127.0.0.0/8 or ::1. */
bool alert_host_loopback(const char *host);

#endif
