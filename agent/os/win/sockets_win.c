/* SPDX-License-Identifier: MIT */
/* sockets_win.c: every TCP and UDP socket of a Windows host with its
 * owning PID: GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL) and
 * GetExtendedUdpTable(UDP_TABLE_OWNER_PID) for IPv4 and IPv6, plus the
 * bound-only sockets (netstat -q's BOUND) from iphlpapi's undocumented
 * InternalGetBoundTcp[6]EndpointTable, looked up at run time: when absent
 * (older Windows, Wine) the snapshot says bound sockets were not counted.
 * This file only calls the API; mib.c turns the buffers into records. */
#include "sockets.h"

#include <stddef.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>

#include "log.h"
#include "mib.h"
#include "snapshot.h"

/* mib.c reads rows at fixed offsets: hold the real structs to them. */
#define SAME(type, field, off) _Static_assert(offsetof(type, field) == (off), #type "." #field)
_Static_assert(sizeof(MIB_TCPROW_OWNER_PID) == MIB_TCP4_ROW_SIZE, "MIB_TCPROW_OWNER_PID");
_Static_assert(sizeof(MIB_TCP6ROW_OWNER_PID) == MIB_TCP6_ROW_SIZE, "MIB_TCP6ROW_OWNER_PID");
_Static_assert(sizeof(MIB_UDPROW_OWNER_PID) == MIB_UDP4_ROW_SIZE, "MIB_UDPROW_OWNER_PID");
_Static_assert(sizeof(MIB_UDP6ROW_OWNER_PID) == MIB_UDP6_ROW_SIZE, "MIB_UDP6ROW_OWNER_PID");
_Static_assert(sizeof(MIB_TCPROW2) == MIB_TCP4_ROW2_SIZE, "MIB_TCPROW2");
_Static_assert(sizeof(MIB_TCP6ROW2) == MIB_TCP6_ROW2_SIZE, "MIB_TCP6ROW2");
SAME(MIB_TCPTABLE_OWNER_PID, table, MIB_ROWS_OFFSET);
SAME(MIB_TCP6TABLE_OWNER_PID, table, MIB_ROWS_OFFSET);
SAME(MIB_UDPTABLE_OWNER_PID, table, MIB_ROWS_OFFSET);
SAME(MIB_UDP6TABLE_OWNER_PID, table, MIB_ROWS_OFFSET);
SAME(MIB_TCPTABLE2, table, MIB_ROWS_OFFSET);
SAME(MIB_TCP6TABLE2, table, MIB_ROWS_OFFSET);
SAME(MIB_TCPROW_OWNER_PID, dwState, 0);
SAME(MIB_TCPROW_OWNER_PID, dwLocalPort, 8);
SAME(MIB_TCPROW_OWNER_PID, dwRemoteAddr, 12);
SAME(MIB_TCPROW_OWNER_PID, dwRemotePort, 16);
SAME(MIB_TCPROW_OWNER_PID, dwOwningPid, 20);
SAME(MIB_TCP6ROW_OWNER_PID, dwLocalPort, 20);
SAME(MIB_TCP6ROW_OWNER_PID, ucRemoteAddr, 24);
SAME(MIB_TCP6ROW_OWNER_PID, dwRemotePort, 44);
SAME(MIB_TCP6ROW_OWNER_PID, dwState, 48);
SAME(MIB_TCP6ROW_OWNER_PID, dwOwningPid, 52);
SAME(MIB_UDPROW_OWNER_PID, dwLocalPort, 4);
SAME(MIB_UDPROW_OWNER_PID, dwOwningPid, 8);
SAME(MIB_UDP6ROW_OWNER_PID, dwLocalPort, 20);
SAME(MIB_UDP6ROW_OWNER_PID, dwOwningPid, 24);
SAME(MIB_TCPROW2, dwOwningPid, 20);
SAME(MIB_TCP6ROW2, dwLocalPort, 20);
SAME(MIB_TCP6ROW2, State, 48);
SAME(MIB_TCP6ROW2, dwOwningPid, 52);

/* ULONG WINAPI InternalGetBoundTcpEndpointTable(PVOID *table, PVOID heap,
 * ULONG flags): allocates a MIB_TCPTABLE2 (MIB_TCP6TABLE2 for the IPv6
 * one) from heap and stores its address in *table. */
typedef ULONG(WINAPI *bound_table_fn)(PVOID *table, PVOID heap, ULONG flags);

#define TABLE_MAX (256u << 20) /* no host has a 256 MiB socket table */

/* Reads one GetExtendedTcpTable/GetExtendedUdpTable table into a malloc'd
 * buffer, growing it while the table grows between the calls. Returns
 * PF_UNSUPPORTED when the family is not installed (no IPv6 stack). */
static enum pf_rc read_table(bool tcp, ULONG af, void **out, DWORD *outlen)
{
    DWORD size = 64 * 1024, err = ERROR_INSUFFICIENT_BUFFER;
    void *buf = NULL;

    *out = NULL;
    for (int tries = 0; tries < 8 && err == ERROR_INSUFFICIENT_BUFFER; tries++) {
        DWORD want = size;
        void *p = realloc(buf, size);
        if (!p) {
            free(buf);
            return PF_NOMEM;
        }
        buf = p;
        err = tcp ? GetExtendedTcpTable(buf, &want, FALSE, af, TCP_TABLE_OWNER_PID_ALL, 0)
                  : GetExtendedUdpTable(buf, &want, FALSE, af, UDP_TABLE_OWNER_PID, 0);
        if (err == NO_ERROR) {
            /* The table's own count says how much of buf it fills. */
            *out = buf;
            *outlen = size;
            return PF_OK;
        }
        /* The table may grow between the calls: ask for room to spare. */
        size = want > size ? want + want / 4 : size * 2;
        if (size > TABLE_MAX)
            break;
    }
    free(buf);
    if (err == ERROR_NOT_SUPPORTED || err == ERROR_INVALID_PARAMETER)
        return PF_UNSUPPORTED;
    pf_warn("%s table (%s): error %lu", tcp ? "TCP" : "UDP", af == AF_INET ? "IPv4" : "IPv6",
            (unsigned long)err);
    return err == ERROR_NOT_ENOUGH_MEMORY ? PF_NOMEM : PF_IO;
}

static enum pf_rc collect_table(bool tcp, ULONG af, struct sockrec_vec *out)
{
    enum mib_kind kind = tcp ? (af == AF_INET ? MIB_KIND_TCP4 : MIB_KIND_TCP6)
                             : (af == AF_INET ? MIB_KIND_UDP4 : MIB_KIND_UDP6);
    void *buf;
    DWORD len;
    enum pf_rc rc = read_table(tcp, af, &buf, &len);

    if (rc == PF_UNSUPPORTED && af == AF_INET6)
        return PF_OK; /* no IPv6 stack: no IPv6 sockets */
    if (rc)
        return rc;
    rc = mib_parse(kind, buf, len, out);
    free(buf);
    return rc;
}

/* Calls one bound-table function; *table is HeapFree'd by the caller. */
static bool bound_table(bound_table_fn fn, HANDLE heap, void **table, size_t *len)
{
    PVOID t = NULL;
    ULONG err;
    SIZE_T size;

    *table = NULL;
    if (!fn)
        return false;
    err = fn(&t, heap, 0);
    if (err != NO_ERROR || !t) {
        pf_debug("bound endpoint table: error %lu", (unsigned long)err);
        return false;
    }
    size = HeapSize(heap, 0, t);
    if (size == (SIZE_T)-1) {
        HeapFree(heap, 0, t);
        return false;
    }
    *table = t;
    *len = size;
    return true;
}

static enum pf_rc collect_bound(struct sockrec_vec *out, bool *measured)
{
    HMODULE iphlp = GetModuleHandleW(L"iphlpapi.dll");
    bound_table_fn f4 = NULL, f6 = NULL;
    HANDLE heap = GetProcessHeap();
    void *t4 = NULL, *t6 = NULL;
    size_t l4 = 0, l6 = 0, dropped = 0;
    enum pf_rc rc;

    *measured = false;
    if (iphlp) {
        /* Cast through FARPROC's generic function type, as GetProcAddress
         * results must be. */
        f4 = (bound_table_fn)(void (*)(void))GetProcAddress(iphlp,
                                                            "InternalGetBoundTcpEndpointTable");
        f6 = (bound_table_fn)(void (*)(void))GetProcAddress(iphlp,
                                                            "InternalGetBoundTcp6EndpointTable");
    }
    if (!bound_table(f4, heap, &t4, &l4))
        return PF_OK; /* bound sockets not counted: said in unmeasured */
    bound_table(f6, heap, &t6, &l6);
    rc = mib_parse_bound(t4, l4, t6, l6, out, &dropped);
    HeapFree(heap, 0, t4);
    if (t6)
        HeapFree(heap, 0, t6);
    if (rc == PF_OK) {
        *measured = true;
        pf_debug("bound tables: %zu rows dropped as connected or listening", dropped);
    } else if (rc == PF_INVALID) {
        pf_warn("bound endpoint table has an unexpected layout; bound sockets not counted");
        rc = PF_OK;
    }
    return rc;
}

/* Every socket that is not TIME_WAIT has an owner on Windows; when none of
 * them has one, this host (Wine, a restricted token) hides PIDs. */
static bool owners_seen(const struct sockrec_vec *v)
{
    size_t want = 0;

    for (size_t i = 0; i < v->n; i++)
        if (v->v[i].proto == PF_PROTO_UDP || v->v[i].state != PF_TCP_TIME_WAIT)
            want++;
    return want == 0 || v->nown > 0;
}

enum pf_rc sockets_collect(struct sockrec_vec *out, struct sockets_info *info)
{
    enum pf_rc rc;

    info->bound_measured = false;
    info->owners_measured = false;
    if ((rc = collect_table(true, AF_INET, out)) || (rc = collect_table(true, AF_INET6, out)) ||
        (rc = collect_table(false, AF_INET, out)) || (rc = collect_table(false, AF_INET6, out)))
        return rc;
    info->owners_measured = owners_seen(out);
    return collect_bound(out, &info->bound_measured);
}
