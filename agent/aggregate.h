/* SPDX-License-Identifier: MIT */
/* aggregate.h: turns the host's socket records into the snapshot's counts.
 * Platform-neutral and pure: the same code counts Linux and Windows.
 *
 * Definitions (docs/protocol.md section 2):
 *  - tcp.states[st]: TCP sockets in state st, both families.
 *  - tcp.ephemeral_in_use: distinct local TCP port numbers inside the TCP
 *    range of the socket's family, any state (TIME_WAIT and bound too).
 *  - udp.endpoints: UDP sockets; udp.ephemeral_in_use: distinct local UDP
 *    ports inside the UDP range of the socket's family.
 *  - remotes: TCP sockets with a remote end (not listen, not bound, TIME_WAIT
 *    included: it still holds the 4-tuple) grouped by remote address and
 *    port; top_destination is the first of them.
 *  - processes: every PID owning at least one socket: tcp_ports/udp_ports
 *    are its distinct local ports inside the range, states its TCP sockets
 *    per state (all ports), top_remote its most used remote end. Ranked by
 *    tcp_ports + udp_ports, then by socket count, then by PID.
 *  Lists are cut at PF_LIST_MAX and s->truncated is set when cut. Ties are
 *  broken deterministically so the same input gives the same output:
 *  remotes (and each top_remote) by count, then lower port, then IPv4
 *  before IPv6, then lower address; processes as above. */
#ifndef PF_AGGREGATE_H
#define PF_AGGREGATE_H

#include "error.h"
#include "snapshot.h"
#include "sockrec.h"

/* Resolves a PID's name and service; the agent passes procinfo_lookup. */
typedef enum pf_rc (*aggregate_name_fn)(uint32_t pid, char *name, size_t namelen, char *service,
                                         size_t servicelen);

/* Fills s->tcp, s->udp, s->processes (has_processes) and s->remotes
 * (has_remotes) from vec, using s->ranges; vec is not changed. names may be
 * NULL (names left empty); it is called for the listed processes only.
 * Returns PF_NOMEM when scratch space cannot be had. */
enum pf_rc aggregate_sockets(struct pf_snapshot *s, const struct sockrec_vec *vec,
                             aggregate_name_fn names);

#endif
