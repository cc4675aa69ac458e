/* SPDX-License-Identifier: MIT */
/* mib.h: the pure half of the Windows socket collector. It turns the
 * buffers the IP Helper API fills (GetExtendedTcpTable with
 * TCP_TABLE_OWNER_PID_ALL, GetExtendedUdpTable with UDP_TABLE_OWNER_PID,
 * and the undocumented InternalGetBoundTcp[6]EndpointTable) into socket
 * records, and de-duplicates the bound table against the connection
 * table. It reads the buffers byte by byte at the documented offsets
 * (little-endian DWORDs, ports in network order in the low 16 bits), so
 * it builds and is tested on Linux with constructed tables; sockets_win.c
 * checks at compile time that the real row structs have these sizes. */
#ifndef PF_MIB_H
#define PF_MIB_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sockrec.h"

/* Which table a buffer holds. Every table is { DWORD dwNumEntries; rows }
 * with the rows at offset 4. */
enum mib_kind {
    MIB_KIND_TCP4,       /* MIB_TCPTABLE_OWNER_PID: MIB_TCPROW_OWNER_PID rows */
    MIB_KIND_TCP6,       /* MIB_TCP6TABLE_OWNER_PID: MIB_TCP6ROW_OWNER_PID rows */
    MIB_KIND_UDP4,       /* MIB_UDPTABLE_OWNER_PID: MIB_UDPROW_OWNER_PID rows */
    MIB_KIND_UDP6,       /* MIB_UDP6TABLE_OWNER_PID: MIB_UDP6ROW_OWNER_PID rows */
    MIB_KIND_TCP4_BOUND, /* MIB_TCPTABLE2: MIB_TCPROW2 rows */
    MIB_KIND_TCP6_BOUND  /* MIB_TCP6TABLE2: MIB_TCP6ROW2 rows */
};

#define MIB_ROWS_OFFSET 4
#define MIB_TCP4_ROW_SIZE 24  /* state, laddr, lport, raddr, rport, pid */
#define MIB_TCP6_ROW_SIZE 56  /* laddr[16], lscope, lport, raddr[16], rscope, rport, state, pid */
#define MIB_UDP4_ROW_SIZE 12  /* laddr, lport, pid */
#define MIB_UDP6_ROW_SIZE 28  /* laddr[16], lscope, lport, pid */
#define MIB_TCP4_ROW2_SIZE 28 /* MIB_TCP4 row + offload state */
#define MIB_TCP6_ROW2_SIZE 60 /* MIB_TCP6 row + offload state */

/* Size in bytes of one row of kind; 0 for an unknown kind. */
size_t mib_row_size(enum mib_kind kind);

/* Appends every row of a connection table (MIB_KIND_TCP4 ... UDP6) to out:
 * one record per row, state mapped with pf_tcp_state_from_mib (0 for UDP),
 * and an owner entry for every row whose PID is not 0 (TIME_WAIT rows carry
 * PID 0: such sockets count only in the host totals). Rows with a local
 * port of 0 are skipped. Returns PF_INVALID when the buffer is shorter than
 * the rows its count claims (nothing is appended then), PF_NOMEM. */
enum pf_rc mib_parse(enum mib_kind kind, const void *buf, size_t len, struct sockrec_vec *out);

/* Appends the rows of the two bound-endpoint tables (MIB_TCPTABLE2 from
 * InternalGetBoundTcpEndpointTable in buf4, MIB_TCP6TABLE2 from the IPv6
 * one in buf6; either may be NULL when that table could not be had) to out
 * as PF_TCP_BOUND records with their owners. Call it after the connection
 * tables have been parsed into out: the bound tables also list sockets
 * that have since connected or started listening, so a row is dropped when
 * a connection-table socket has the same local port and the same non-zero
 * PID (either family: a dual-stack socket shows in both), or when the
 * row's own state is a listening or connected one. *dropped (may be NULL)
 * is set to the number of rows dropped. Returns PF_INVALID when a buffer is
 * shorter than its count claims (out is then left as it was), PF_NOMEM. */
enum pf_rc mib_parse_bound(const void *buf4, size_t len4, const void *buf6, size_t len6,
                           struct sockrec_vec *out, size_t *dropped);

#endif
