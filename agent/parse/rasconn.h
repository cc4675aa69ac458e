/* SPDX-License-Identifier: MIT */
/* rasconn.h: the pure half of the RRAS probe. probes_win.c enumerates the
 * connections (MprAdminConnectionEnumEx -> RAS_CONNECTION_EX) and their
 * ports (MprAdminPortEnum -> RAS_PORT_0, for the tunnel type of PPP
 * connections); these functions turn what it read into the snapshot's vpn
 * section: connections by protocol and the clients' external addresses.
 * Behind a source-NATing load balancer every client shows the balancer's
 * address (seed 001), which is what the distinct count and top list show. */
#ifndef PF_RASCONN_H
#define PF_RASCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

/* PROJECTION_INFO.projectionInfoType values of RAS_CONNECTION_EX. */
#define RASCONN_PROJECTION_PPP 1
#define RASCONN_PROJECTION_IKEV2 2

/* One connection as the probe saw it. */
struct rasconn_conn {
    int proto;              /* enum pf_vpn_proto, or -1 when not known */
    char addr[PF_ADDR_LEN]; /* the client's external address; "" unknown */
};

/* The tunnel protocol of a connection: IKEv2 when its projection is IKEv2;
 * otherwise from the device name of its port ("WAN Miniport (SSTP)",
 * "... (L2TP)", "... (PPTP)", "... (IKEv2)": the acronyms are not
 * translated), compared without case. device may be NULL or "". Returns an
 * enum pf_vpn_proto or -1 when neither tells. */
int rasconn_proto_classify(int projection_type, const char *device);

/* Copies a NUL-terminated UTF-16 address of at most maxunits code units
 * (wszRemoteEndpointAddress) into out when it is a plausible numeric IPv4
 * or IPv6 address (digits, hex letters, '.', ':', '%' zone, at most
 * PF_ADDR_LEN - 1 characters); otherwise writes "". Returns the length. */
size_t rasconn_addr_from_utf16(const uint16_t *w, size_t maxunits, char out[PF_ADDR_LEN]);

/* Fills vpn from n connections: connections = n, by_protocol counts,
 * distinct_clients = distinct non-empty addresses, top = the addresses by
 * connection count (ties by address), at most PF_LIST_MAX; *truncated is
 * set when the list was cut. vpn->top is malloc'd (NULL when empty) and
 * owned by the snapshot; vpn->has_ike_value is left alone. Returns
 * PF_NOMEM (vpn->top NULL, ntop 0). */
enum pf_rc rasconn_summarize(const struct rasconn_conn *conns, size_t n, struct pf_vpn *vpn,
                         bool *truncated);

#endif
