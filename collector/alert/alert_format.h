/* SPDX-License-Identifier: MIT */
/* alert_format.h: what a notification says, in each receiver's format.
 * The payload is the generic notification of docs/protocol.md section 4
 * ({status, id, previous_severity, finding, tenant, report_url}) without
 * sent_at; the outbox stores it, and the sender renders it per destination
 * when it sends (so a message retried tomorrow says when it was sent).
 * Every format says what (kind, severity, summary), where (host and site),
 * when the range is full (exhaustion_at, or that none is forecast), the
 * first remediation step, and links to the report. Pure functions over
 * cJSON; everything from a host is untrusted and escaped for its format
 * (cJSON for JSON, &<> for Slack mrkdwn, HTML entities, RFC 2047 for the
 * mail subject). */
#ifndef PF_ALERT_FORMAT_H
#define PF_ALERT_FORMAT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "alert_dest.h"
#include "buf.h"
#include "error.h"

#define ALERT_URL_LEN 1024

/* Writes the report link of finding (a section 3 object) into out: base
 * + "/report/host/AGENT_ID" for a host finding, "/report/site/NAME" for a
 * site finding (percent-encoded). */
void alert_report_url(const char *base, const cJSON *finding, char out[ALERT_URL_LEN]);

/* Builds a payload; takes finding (freed with the result, or on error).
 * previous_severity may be NULL (null on the wire). Returns NULL when out
 * of memory. */
cJSON *alert_payload_new(const char *status, const char *id, const char *previous_severity,
                         cJSON *finding, const char *tenant, const char *report_url);

/* Appends the HTTP body for a webhook of kind (JSON, SLACK or TEAMS) to
 * out: the payload with sent_at, a Slack message with blocks, or a Teams
 * message carrying an Adaptive Card. PF_INVALID when the payload lacks
 * what a message needs; PF_NOMEM/PF_TOOBIG from out. */
enum pf_rc alert_format_body(enum alert_dest_kind kind, const cJSON *payload, int64_t sent_at,
                             struct pf_buf *out);

/* One line for subjects, headers and logs: "FIRING critical: port_leak on
 * CONN-NYC-01 (site nyc)". */
void alert_format_title(const cJSON *payload, char *out, size_t outlen);

/* Appends a whole RFC 5322 message (CRLF lines) to out: From, To, an
 * RFC 2047 Subject, Date, Message-ID (msgid: unique, e.g. the outbox row),
 * and a multipart/alternative body with a text/plain and a text/html
 * part, both UTF-8. */
enum pf_rc alert_format_email(const cJSON *payload, int64_t sent_at, const char *from,
                              const char *to, const char *msgid, struct pf_buf *out);

#endif
