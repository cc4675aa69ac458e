/* SPDX-License-Identifier: MIT */
/* snapshot_json.h: the JSON codec of docs/protocol.md section 2, over cJSON.
 * Encoding is total for a valid snapshot. Decoding is strict: wrong types,
 * negative or fractional counts, ports outside 1..65535, overlong strings,
 * lists over their caps, an unknown schema or a missing required field are
 * rejected with a message that names the field path
 * ("processes[3].tcp_ports: must be an integer >= 0"). Unknown fields are
 * ignored (receivers ignore what they do not know).
 *
 * What the decoder requires (absent -> "<path>: required"):
 *   schema (= PF_SNAPSHOT_SCHEMA), agent_id (may be ""), seq, taken_at
 *   (RFC 3339, years 1970..9999), interval_s (>= 1), truncated;
 *   host.name, host.site, host.os, host.roles (may be []),
 *   host.agent_version; ranges (may be [], at most one per proto/family);
 *   tcp.states with all PF_TCP_NSTATES states, tcp.ephemeral_in_use,
 *   udp.endpoints, udp.ephemeral_in_use.
 * Optional, zero/"" when absent: host.machine_id, host.os_version,
 *   host.cpus, host.memory_mb; a process's service and each of its states.
 * A tcp.states entry may be missing when its path ("tcp.states.bound") or
 *   "tcp.states" is listed in unmeasured: it then decodes as 0, and the
 *   unmeasured entry tells readers it is not a measured zero.
 * Optional sections (absent or null = has_* false): excluded, processes,
 *   remotes, events, vpn, tcp.top_destination, processes[].top_remote,
 *   unmeasured, agent_stats, resources, sessions, vpn.ports,
 *   vpn.address_pool. Inside a present section every field is required,
 *   except vpn.ike_num_established_for_initial_query and
 *   agent_stats.last_push_error (absent = null), and every field of
 *   resources and sessions but sessions.source (absent or null = not
 *   measured).
 * Sizing figures: resources.cpu_pct and cpu_pct_peak are numbers 0..100,
 *   memory_used_mb at most host.memory_mb (when that is given), a
 *   vpn.ports entry's in_use at most its configured and one entry per
 *   protocol (ikev2, sstp, l2tp, pptp), address_pool.in_use at most its
 *   size, sessions.requests_per_s >= 0; fractions are kept to hundredths.
 * Counts are integers 0..2^53 - 1 (exact in any JSON reader); pid, cpus,
 * the IKE value fit 32 bits; ports are 1..65535; a range's start + count - 1
 * <= 65535 and count >= 1; addresses are numeric IPv4 or IPv6 text; strings
 * are valid UTF-8 and fit the model's buffers; a key given twice is
 * rejected. */
#ifndef PF_SNAPSHOT_JSON_H
#define PF_SNAPSHOT_JSON_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "json_strict.h"
#include "snapshot.h"

#define PF_JSON_BATCH_MAX 1000    /* snapshots in one {"snapshots": [...]} */

struct cJSON;

/* Appends the JSON of s to out (pretty: indented, for people). Returns
 * PF_INVALID when pf_snapshot_validate() refuses s (call it for the
 * message), PF_TOOBIG/PF_NOMEM from out; on any error out is left as it
 * was. Strings pass through as UTF-8 with quotes, backslashes and control
 * characters escaped; a byte that is not valid UTF-8 is written as '?'.
 * Every count is an exact integer; tcp.states and each process's states
 * list all PF_TCP_NSTATES states; optional sections appear when their has_*
 * flag is set; unmeasured and truncated are always written. */
enum pf_rc pf_snapshot_encode(const struct pf_snapshot *s, int pretty, struct pf_buf *out);

/* Returns PF_OK when s is something the decoder would accept (apart from
 * invalid UTF-8, which the encoder repairs): counts <= 2^53 - 1, taken_at
 * in years 1970..9999, interval_s >= 1, valid ranges with no two for the
 * same proto/family, ports 1..65535, numeric addresses, lists within their
 * caps, strings NUL-terminated. Otherwise PF_INVALID and a message with the
 * field path in err. */
enum pf_rc pf_snapshot_validate(const struct pf_snapshot *s, char err[PF_ERRMSG_LEN]);

/* Decodes one snapshot object from an already parsed cJSON item. path is
 * the prefix for messages ("" or "snapshots[3]"). On error returns
 * PF_INVALID with a message in err, and s is cleared. The caller owns s
 * (zeroed or from pf_snapshot_new) and clears/frees it. */
enum pf_rc pf_snapshot_from_cjson(const struct cJSON *obj, const char *path, struct pf_snapshot *s,
                                  char err[PF_ERRMSG_LEN]);

/* Parses len bytes of JSON text (need not be NUL-terminated) holding one
 * snapshot object. Checks nesting depth (PF_JSON_MAX_DEPTH) before parsing. */
enum pf_rc pf_snapshot_decode(const char *json, size_t len, struct pf_snapshot *s,
                              char err[PF_ERRMSG_LEN]);

/* Parses a POST /v1/snapshots body: one snapshot object, or
 * {"snapshots": [ ... ]} with 1..PF_JSON_BATCH_MAX of them. On success *out
 * is an array of *n snapshots (free with pf_snapshot_array_free). On error
 * *out is NULL and err names the path ("snapshots[3].seq: ..."). */
enum pf_rc pf_snapshot_decode_body(const char *json, size_t len, struct pf_snapshot **out,
                                   size_t *n, char err[PF_ERRMSG_LEN]);
void pf_snapshot_array_free(struct pf_snapshot *arr, size_t n);

#endif
