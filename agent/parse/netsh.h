/* SPDX-License-Identifier: MIT */
/* netsh.h: the pure half of reading the Windows port ranges when WMI
 * (MSFT_NetTCPSetting / MSFT_NetUDPSetting) cannot answer: parsers of
 *   netsh int ipv4|ipv6 show dynamicport tcp|udp
 *   netsh int ipv4|ipv6 show excludedportrange protocol=tcp|udp
 * Windows translates netsh's words, so these read numbers and layout
 * only, never labels. The text may come in the console's OEM code page,
 * UTF-8 or UTF-16LE (with or without a byte order mark); only ASCII digits,
 * ':' (or the full-width colon U+FF1A), '-', '*' and white space matter. */
#ifndef PF_NETSH_H
#define PF_NETSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "portrange.h"

#define NETSH_OUTPUT_MAX (256 * 1024) /* longer output is refused (PF_TOOBIG) */

/* True when start/count is a range Windows can be configured with:
 * start 1..65535, count >= 1, start + count - 1 <= 65535. Used for the
 * values WMI returns too. */
bool netsh_range_valid(uint32_t start, uint32_t count);

/* Parses `show dynamicport` output: the first two lines of the form
 * "<label> : <number>" are the start port and the number of ports, in that
 * order (English "Start Port : 49152" / "Number of Ports : 16384").
 * Returns PF_OK with *start and *count set, PF_INVALID when two such lines
 * are not there or the range is not valid, PF_TOOBIG past NETSH_OUTPUT_MAX. */
enum pf_rc netsh_parse_dynamicport(const char *buf, size_t len, uint16_t *start,
                                   uint32_t *count);

/* Parses `show excludedportrange` output: after the dashed line under the
 * column titles, every line holding exactly two numbers (start port, end
 * port; an optional "*" marks administered exclusions) is one block. Writes
 * at most max blocks to out and sets *n. Returns PF_OK (also for an empty
 * table), PF_TOOBIG when there are more than max blocks (the first max are
 * kept) or the output is too long, PF_INVALID when there is no dashed line
 * (not a table, e.g. an error message) or a block is not a valid range. */
enum pf_rc netsh_parse_excluded(const char *buf, size_t len, struct portblock *out, size_t max,
                                size_t *n);

#endif
