/* SPDX-License-Identifier: MIT */
/* body.h: a snapshot's counts, processes, remotes, VPN clients, ports and
 * address pool, resources and sessions as one compact value, the body
 * column of snapshot_data (sql/020_compact_snapshots.sql describes the
 * format, sql/130_inline_endpoints.sql its version 2; both decode it in
 * SQL). Strings are not in the body: process and service names, remote
 * endpoints as one string "addr port", VPN client addresses and the
 * sessions' source are agent_strings ids, which the caller resolves;
 * except a remote endpoint the caller has no id for whose address is
 * plain IPv4 or IPv6 (body_inline_ok()): its address and port are then
 * stored in the body itself (version 2), so an endpoint seen once costs
 * no dictionary row. Every snapshot the codec accepts fits (at most
 * PF_LIST_MAX entries per list, values up to 2^53, fractions to
 * hundredths), so nothing is ever cut. */
#ifndef PF_BODY_H
#define PF_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

/* Version 1: every endpoint an id. Version 2 (written only when the body
 * has an inline endpoint, so other bodies stay the same bytes): a ninth
 * section lists the inline endpoints, one row each: where (0 the top
 * destination, 1 + i process i's top remote, BODY_AT_REMOTE + i remote i),
 * port | family << 16, the address's high and low 64 bits; the id column
 * of that row holds 0. Sparse, so one new endpoint among fifty known ones
 * costs its own bytes only. */
#define BODY_VERSION 1
#define BODY_VERSION_INLINE 2
#define BODY_NCOUNTS 31 /* columns of the counts section */
#define BODY_NPROC 18   /* columns of the processes section */
#define BODY_NREMOTE 2  /* columns of the remotes section */
#define BODY_NINLINE 4  /* columns of the inline endpoints section */
#define BODY_INLINE_MAX (1 + 2 * PF_LIST_MAX)
#define BODY_AT_REMOTE 64
#define BODY_INLINE_V4 4 /* the family in an inline endpoint's port column */
#define BODY_INLINE_V6 6
#define BODY_NVPN_TOP 2 /* vpn.client_addresses.top: address id, count */
#define BODY_NVPN_PORTS 3 /* vpn.ports: protocol, configured, in_use */
#define BODY_NVPN_POOL 2  /* vpn.address_pool: size, in_use */
/* resources and sessions: snapshot_fields.h's figures (fractions in 1/100),
 * sessions after its source's id; each section with its column count */
/* byte 1 */
#define BODY_F_TRUNCATED 1
#define BODY_F_VPN_TOP 2   /* the VPN client list is stored (may be empty) */
#define BODY_F_VPN_PORTS 4 /* vpn.ports is stored (may be empty) */
#define BODY_F_REMOTES_DESC 8  /* remote counts as differences (body.c descending()) */
#define BODY_F_VPN_TOP_DESC 16 /* VPN client counts as differences */
/* A remote endpoint is one string, "addr port" */
#define BODY_ENDPOINT_LEN (PF_ADDR_LEN + 8)
/* The largest body: 2 bytes, then each section's n and column widths and
 * at most 8 bytes per value. */
#define BODY_MAX                                                                                   \
    (2 + 9 + BODY_NCOUNTS * 9 + (BODY_NPROC + BODY_NREMOTE + BODY_NVPN_TOP) * (1 + 8 * PF_LIST_MAX) + \
     BODY_NINLINE * (1 + 8 * BODY_INLINE_MAX) +                                                   \
     BODY_NVPN_PORTS * (1 + 8 * PF_VPN_NPROTO) + (BODY_NVPN_POOL + 1 + PF_NFIELDS) * 9 + 2)

/* The id of string str of the snapshot's agent: true and *id (>= 1), or
 * false when it has none yet. */
typedef bool (*body_id_fn)(void *ctx, const char *str, int64_t *id);

/* Encodes s into out[BODY_MAX]; *len is the size. An endpoint id() has no
 * id for is stored inline when body_inline_ok() allows it. PF_OK, or
 * PF_NOTFOUND when id() knows no id for one of its other strings. */
enum pf_rc body_encode(const struct pf_snapshot *s, body_id_fn id, void *ctx, uint8_t *out,
                       size_t *len);

/* Calls fn for every string the body of s refers to (repeats included);
 * inline_ok is true for an endpoint body_encode() may store inline. */
void body_strings(const struct pf_snapshot *s, void (*fn)(void *ctx, const char *str, bool inline_ok),
                  void *ctx);

/* True when addr is an address the SQL decoder gives back exactly: a
 * dotted quad, or RFC 5952 IPv6 text (common/addr.h) of an address that
 * is not IPv4-mapped or -compatible (first 80 bits not all zero). Its
 * inline columns in *pf (port | family << 16), *hi, *lo. */
bool body_inline_ok(const char *addr, unsigned port, uint64_t *pf, uint64_t *hi, uint64_t *lo);

/* True when path, or a section above it ("events" for "events.tcpip_4227"),
 * is listed in s->unmeasured: the value is then stored as NULL, not 0. */
bool body_unmeasured(const struct pf_snapshot *s, const char *path);

#endif
