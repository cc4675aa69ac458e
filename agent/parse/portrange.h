/* SPDX-License-Identifier: MIT */
/* portrange.h: pure parsers for Linux's port sysctls, over buffers so the
 * unit tests can feed recorded files:
 *   net.ipv4.ip_local_port_range     "32768\t60999\n"
 *   net.ipv4.ip_local_reserved_ports "1000-1005,2000\n" (or empty) */
#ifndef PF_PORTRANGE_H
#define PF_PORTRANGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Parses "lo hi" into *lo and *hi (1..65535, lo <= hi). PF_INVALID otherwise. */
enum pf_rc portrange_parse_local(const char *buf, size_t len, uint16_t *lo, uint16_t *hi);

struct portblock {
    uint16_t start;
    uint32_t count;
};

/* Parses a comma-separated list of ports and "a-b" spans into out (at most
 * max blocks); *n is set to the number found. PF_TOOBIG when there are more
 * than max (the first max are kept), PF_INVALID on a malformed list. */
enum pf_rc portrange_parse_reserved(const char *buf, size_t len, struct portblock *out,
                                    size_t max, size_t *n);

#endif
