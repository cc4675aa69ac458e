/* SPDX-License-Identifier: MIT */
/* body.h: a snapshot's counts, processes, remotes, VPN clients, ports and
 * address pool, resources and sessions as one compact value, the body
 * column of snapshot_data (sql/020_compact_snapshots.sql, which describes
 * the format and decodes it in SQL). Strings are not in the body: process
 * and service names, remote endpoints as one string "addr port", VPN
 * client addresses and the sessions' source are agent_strings ids, which
 * the caller resolves. Every snapshot the codec accepts fits (at most
 * PF_LIST_MAX entries per list, values up to 2^53, fractions to
 * hundredths), so nothing is ever cut. */
#ifndef PF_BODY_H
#define PF_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

#define BODY_VERSION 1
#define BODY_NCOUNTS 31 /* columns of the counts section */
#define BODY_NPROC 18   /* columns of the processes section */
#define BODY_NREMOTE 2  /* columns of the remotes section */
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
    (2 + 8 + BODY_NCOUNTS * 9 + (BODY_NPROC + BODY_NREMOTE + BODY_NVPN_TOP) * (1 + 8 * PF_LIST_MAX) + \
     BODY_NVPN_PORTS * (1 + 8 * PF_VPN_NPROTO) + (BODY_NVPN_POOL + 1 + PF_NFIELDS) * 9 + 2)

/* The id of string str of the snapshot's agent: true and *id (>= 1), or
 * false when it has none yet. */
typedef bool (*body_id_fn)(void *ctx, const char *str, int64_t *id);

/* Encodes s into out[BODY_MAX]; *len is the size. PF_OK, or PF_NOTFOUND
 * when id() knows no id for one of its strings. */
enum pf_rc body_encode(const struct pf_snapshot *s, body_id_fn id, void *ctx, uint8_t *out,
                       size_t *len);

/* Calls fn for every string the body of s refers to (repeats included). */
void body_strings(const struct pf_snapshot *s, void (*fn)(void *ctx, const char *str), void *ctx);

/* True when path, or a section above it ("events" for "events.tcpip_4227"),
 * is listed in s->unmeasured: the value is then stored as NULL, not 0. */
bool body_unmeasured(const struct pf_snapshot *s, const char *path);

#endif
