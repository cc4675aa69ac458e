/* SPDX-License-Identifier: MIT */
/* addr.h: IP addresses as text, without the OS's socket headers, so the
 * same code formats Linux and Windows tables (and runs in unit tests). */
#ifndef PF_ADDR_H
#define PF_ADDR_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

/* Writes the address (network byte order; 4 bytes for PF_FAMILY_IPV4, 16
 * for PF_FAMILY_IPV6) as text into out (PF_ADDR_LEN bytes): dotted quad, or
 * RFC 5952 IPv6 (lower case, longest run of two or more zero groups as
 * "::", IPv4-mapped as ::ffff:a.b.c.d). Returns the length written. */
size_t pf_addr_format(int family, const uint8_t *addr, char out[PF_ADDR_LEN]);

#endif
