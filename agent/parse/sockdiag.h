/* SPDX-License-Identifier: MIT */
/* sockdiag.h: the NETLINK_SOCK_DIAG side of the Linux socket list, as pure
 * functions over buffers: build the dump request, parse the kernel's
 * replies into socket records. sockets_linux.c does the I/O; the unit tests
 * feed recorded replies from tests/data/. */
#ifndef PF_SOCKDIAG_H
#define PF_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sockrec.h"

/* All TCP states, including bit 13 (TCP_BOUND_INACTIVE, kernel >= 6.8:
 * bound-only sockets, reported back as TCP_CLOSE). Older kernels ignore the
 * bit, which is why the caller decides from the kernel version whether
 * bound sockets were measured. */
#define SOCKDIAG_ALL_STATES 0xffffffffu

/* Writes an inet_diag_req_v2 dump request (SOCK_DIAG_BY_FAMILY, NLM_F_DUMP)
 * for family (AF_INET/AF_INET6) and protocol (IPPROTO_TCP/IPPROTO_UDP) into
 * buf. Returns its length, or 0 when len is too small. */
size_t sockdiag_request(void *buf, size_t len, int family, int protocol, uint32_t states,
                        uint32_t seq);

/* Parses one received buffer of netlink messages, appending a record per
 * inet_diag_msg to out (proto is PF_PROTO_TCP or PF_PROTO_UDP: the reply does
 * not say). Sets *done when NLMSG_DONE is seen. Returns PF_OK, PF_PROTO for a
 * truncated or malformed message, an NLMSG_ERROR, or an NLMSG_DONE carrying a
 * negative errno (how a dump that cannot start is answered) — with the
 * kernel's errno in *kerr when not NULL — or PF_NOMEM. */
enum pf_rc sockdiag_parse(const void *buf, size_t len, int proto, struct sockrec_vec *out,
                          int *done, int *kerr);

#endif
