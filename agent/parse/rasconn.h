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

/* RAS_PORT_CONDITION values of RAS_PORT_0.dwPortCondition (mprapi.h). */
#define RASCONN_PORT_NON_OPERATIONAL 0
#define RASCONN_PORT_DISCONNECTED 1
#define RASCONN_PORT_CALLING_BACK 2
#define RASCONN_PORT_LISTENING 3
#define RASCONN_PORT_AUTHENTICATING 4
#define RASCONN_PORT_AUTHENTICATED 5
#define RASCONN_PORT_INITIALIZING 6

/* One WAN miniport port as MprAdminPortEnum lists it: every configured
 * port of every device appears, idle ones listening. */
struct rasconn_port {
    char device[PF_NAME_LEN]; /* wszDeviceName, "WAN Miniport (IKEv2)" */
    int condition;            /* dwPortCondition */
    bool has_connection;      /* hConnection != NULL */
};

/* Fills vpn->ports (has_ports) from n ports: per tunnel protocol (by the
 * device name, rasconn_proto_classify), configured = its ports, in_use =
 * those carrying a connection or past listening (calling back,
 * authenticating, authenticated, initializing). Devices of no tunnel
 * protocol (PPPoE, GRE) are left out; protocols with no port are not
 * listed. Ordered ikev2, sstp, l2tp, pptp. */
void rasconn_ports(const struct rasconn_port *ports, size_t n, struct pf_vpn *vpn);

/* A static pool block, IPv4 addresses as host-order integers, from <= to
 * (the From and To values under RemoteAccess\Parameters\Ip\
 * StaticAddressPool\<n>). */
struct rasconn_pool_range {
    uint32_t from, to;
};

/* Fills vpn->address_pool (has_address_pool) from the pool's blocks
 * (overlaps counted once; a block with from > to is skipped) and the
 * IPv4 addresses handed to connected clients (host order; duplicates and
 * addresses outside the pool are not counted). size 0 (no block) leaves
 * it absent and returns false. */
bool rasconn_pool(const struct rasconn_pool_range *ranges, size_t nranges,
                  const uint32_t *assigned, size_t nassigned, struct pf_vpn *vpn);

/* Parses a dotted IPv4 address of at most maxunits UTF-16 units
 * (ppp.ipv4Address / ikev2.ipv4Address) into a host-order integer; false
 * when it is none ("" or malformed). */
bool rasconn_ipv4_from_utf16(const uint16_t *w, size_t maxunits, uint32_t *out);

#endif
