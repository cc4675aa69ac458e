/* SPDX-License-Identifier: MIT */
/* timeutil.h: RFC 3339 times as the wire uses them ("2026-11-22T10:00:00Z"),
 * held as seconds since the Unix epoch in UTC. */
#ifndef PF_TIMEUTIL_H
#define PF_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PF_TIME_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into out (PF_TIME_LEN bytes). Returns
 * PF_INVALID for a time outside years 1970..9999. */
enum pf_rc pf_time_format(int64_t t, char out[PF_TIME_LEN]);
/* Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS", optional fraction
 * (dropped), then "Z" or "+hh:mm"/"-hh:mm". 't' and 'z' are accepted in
 * lower case. The whole string must match. Returns PF_INVALID otherwise. */
enum pf_rc pf_time_parse(const char *s, int64_t *out);
/* Now, in seconds since the epoch. */
int64_t pf_time_now(void);

#endif
