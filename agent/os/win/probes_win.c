/* SPDX-License-Identifier: MIT */
/* probes_win.c: the Windows-only parts of a snapshot, each behind an API
 * loaded at run time so that a host without it (Server Core without
 * RRAS, Wine) loses that part of the snapshot and nothing else:
 *  - events: wevtapi.dll EvtQuery over the System log, once per snapshot,
 *    for the window since the previous one (evtcount.c builds the query
 *    and counts);
 *  - vpn: when the RemoteAccess service runs, mprapi.dll
 *    MprAdminConnectionEnumEx for the connections and MprAdminPortEnum for
 *    their tunnel devices and the WAN miniport ports per protocol
 *    (rasconn.c summarises), the static address pool from the registry
 *    and the addresses handed out, plus the IKEEXT
 *    IkeNumEstablishedForInitialQuery registry value;
 *  - sessions: on an Entra connector, pdh.dll's requests/s counter. */
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h> /* before windows.h, as compat.h does */
#include <windows.h>
#include <mprapi.h>
#include <winevt.h>

#include "evtcount.h"
#include "log.h"
#include "rasconn.h"
#include "svcmap.h"

/* ---- events ----------------------------------------------------------- */

typedef EVT_HANDLE(WINAPI *evt_query_fn)(EVT_HANDLE, LPCWSTR, LPCWSTR, DWORD);
typedef BOOL(WINAPI *evt_next_fn)(EVT_HANDLE, DWORD, EVT_HANDLE *, DWORD, DWORD, PDWORD);
typedef BOOL(WINAPI *evt_close_fn)(EVT_HANDLE);
typedef EVT_HANDLE(WINAPI *evt_render_context_fn)(DWORD, LPCWSTR *, DWORD);
typedef BOOL(WINAPI *evt_render_fn)(EVT_HANDLE, EVT_HANDLE, DWORD, DWORD, PVOID, PDWORD, PDWORD);

static struct {
    bool loaded, ok;
    evt_query_fn query;
    evt_next_fn next;
    evt_close_fn close;
    evt_render_context_fn render_context;
    evt_render_fn render;
    EVT_HANDLE system_context;
} evt;

static int64_t since_ms = -1; /* start of the next window */

#define EVENTS_MAX 1000000 /* per query and snapshot: a flood is still counted to here */
#define UNIX_EPOCH_FILETIME 116444736000000000ULL

static int64_t filetime_ms(FILETIME ft)
{
    uint64_t t = (uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
    return t > UNIX_EPOCH_FILETIME ? (int64_t)((t - UNIX_EPOCH_FILETIME) / 10000) : 0;
}

static int64_t now_ms(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return filetime_ms(ft);
}

static int64_t process_start_ms(void)
{
    FILETIME c, e, k, u;
    if (GetProcessTimes(GetCurrentProcess(), &c, &e, &k, &u))
        return filetime_ms(c);
    return now_ms();
}

#define LOAD(lib, field, type, name)                                                              \
    (evt.field = (type)(void (*)(void))GetProcAddress(lib, name)) != NULL

static bool load_wevtapi(void)
{
    HMODULE lib;

    if (evt.loaded)
        return evt.ok;
    evt.loaded = true;
    lib = LoadLibraryExW(L"wevtapi.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!lib)
        lib = LoadLibraryW(L"wevtapi.dll"); /* before KB2533623 */
    if (!lib)
        return false;
    evt.ok = LOAD(lib, query, evt_query_fn, "EvtQuery") && LOAD(lib, next, evt_next_fn, "EvtNext") &&
             LOAD(lib, close, evt_close_fn, "EvtClose") &&
             LOAD(lib, render_context, evt_render_context_fn, "EvtCreateRenderContext") &&
             LOAD(lib, render, evt_render_fn, "EvtRender");
    return evt.ok;
}

/* Renders one event's System properties and counts it. */
static void count_event(EVT_HANDLE ev, struct pf_events *counts)
{
    union {
        EVT_VARIANT v[EvtSystemPropertyIdEND];
        BYTE bytes[8192];
    } buf;
    DWORD used = 0, nprops = 0;
    char provider[64];

    if (!evt.render(evt.system_context, ev, EvtRenderEventValues, sizeof(buf), &buf, &used,
                    &nprops) ||
        nprops <= EvtSystemEventID)
        return;
    if (buf.v[EvtSystemProviderName].Type != EvtVarTypeString ||
        buf.v[EvtSystemEventID].Type != EvtVarTypeUInt16 ||
        !WideCharToMultiByte(CP_UTF8, 0, buf.v[EvtSystemProviderName].StringVal, -1, provider,
                             sizeof(provider), NULL, NULL))
        return;
    evtcount_count(counts, provider, buf.v[EvtSystemEventID].UInt16Val);
}

static bool run_query(int q, int64_t from, int64_t to, struct pf_events *counts)
{
    char xpath[EVTCOUNT_XPATH_MAX];
    wchar_t wxpath[EVTCOUNT_XPATH_MAX];
    EVT_HANDLE rs, batch[64];
    DWORD got = 0;
    size_t total = 0;

    if (evtcount_xpath(q, from, to, xpath, sizeof(xpath)) != PF_OK ||
        !MultiByteToWideChar(CP_UTF8, 0, xpath, -1, wxpath, EVTCOUNT_XPATH_MAX))
        return false;
    rs = evt.query(NULL, L"" EVTCOUNT_LOG, wxpath, EvtQueryChannelPath | EvtQueryForwardDirection);
    if (!rs) {
        pf_debug("EvtQuery: error %lu", (unsigned long)GetLastError());
        return false;
    }
    /* Created only once a query worked: Wine exports EvtCreateRenderContext
     * as a stub that raises an exception when called. */
    if (!evt.system_context &&
        !(evt.system_context = evt.render_context(0, NULL, EvtRenderContextSystem))) {
        evt.close(rs);
        return false;
    }
    while (total < EVENTS_MAX && evt.next(rs, 64, batch, 5000, 0, &got)) {
        for (DWORD i = 0; i < got; i++) {
            count_event(batch[i], counts);
            evt.close(batch[i]);
        }
        total += got;
    }
    evt.close(rs);
    /* EvtNext ends with ERROR_NO_MORE_ITEMS when the result set is done. */
    return total >= EVENTS_MAX || GetLastError() == ERROR_NO_MORE_ITEMS;
}

void probes_events(struct pf_snapshot *s)
{
    struct pf_events counts;
    int64_t until = now_ms();

    if (since_ms < 0)
        since_ms = process_start_ms();
    if (until < since_ms)
        until = since_ms; /* the clock went back: an empty window */
    memset(&counts, 0, sizeof(counts));
    if (!load_wevtapi() || !run_query(EVTCOUNT_TCPIP, since_ms, until, &counts) ||
        !run_query(EVTCOUNT_NETLOGON, since_ms, until, &counts)) {
        /* Keep the window open: the next successful read counts these too. */
        pf_snapshot_add_unmeasured(s, "events");
        return;
    }
    s->events = counts;
    s->has_events = true;
    since_ms = until;
}

/* ---- vpn -------------------------------------------------------------- */

typedef DWORD(WINAPI *mpr_connect_fn)(LPWSTR, MPR_SERVER_HANDLE *);
typedef VOID(WINAPI *mpr_disconnect_fn)(MPR_SERVER_HANDLE);
typedef DWORD(WINAPI *mpr_conn_enum_fn)(RAS_SERVER_HANDLE, PMPRAPI_OBJECT_HEADER, DWORD, LPDWORD,
                                        LPDWORD, PRAS_CONNECTION_EX *, LPDWORD);
typedef DWORD(WINAPI *mpr_port_enum_fn)(RAS_SERVER_HANDLE, DWORD, HANDLE, LPBYTE *, DWORD,
                                        LPDWORD, LPDWORD, LPDWORD);
typedef DWORD(WINAPI *mpr_free_fn)(LPVOID);

struct mpr {
    mpr_connect_fn connect;
    mpr_disconnect_fn disconnect;
    mpr_conn_enum_fn conn_enum;
    mpr_port_enum_fn port_enum;
    mpr_free_fn free;
};

static bool load_mprapi(struct mpr *m)
{
    HMODULE lib = LoadLibraryExW(L"mprapi.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);

    if (!lib)
        lib = LoadLibraryW(L"mprapi.dll");
    if (!lib)
        return false;
    m->connect = (mpr_connect_fn)(void (*)(void))GetProcAddress(lib, "MprAdminServerConnect");
    m->disconnect =
        (mpr_disconnect_fn)(void (*)(void))GetProcAddress(lib, "MprAdminServerDisconnect");
    m->conn_enum =
        (mpr_conn_enum_fn)(void (*)(void))GetProcAddress(lib, "MprAdminConnectionEnumEx");
    m->port_enum = (mpr_port_enum_fn)(void (*)(void))GetProcAddress(lib, "MprAdminPortEnum");
    m->free = (mpr_free_fn)(void (*)(void))GetProcAddress(lib, "MprAdminBufferFree");
    return m->connect && m->disconnect && m->conn_enum && m->free;
}

static void ike_registry_value(struct pf_vpn *vpn)
{
    DWORD v = 0, size = sizeof(v);

    vpn->has_ike_value =
        RegGetValueW(HKEY_LOCAL_MACHINE, L"SYSTEM\\CurrentControlSet\\Services\\IKEEXT\\Parameters",
                     L"IkeNumEstablishedForInitialQuery", RRF_RT_REG_DWORD, NULL, &v,
                     &size) == ERROR_SUCCESS;
    vpn->ike_num_established_for_initial_query = vpn->has_ike_value ? v : 0;
}

/* The device name of the port carrying connection h ("WAN Miniport
 * (SSTP)"), from the port list; "" when not found. */
static void device_of(const RAS_PORT_0 *ports, DWORD nports, HANDLE h, char *out, size_t outlen)
{
    out[0] = '\0';
    for (DWORD i = 0; i < nports; i++)
        if (ports[i].hConnection == h) {
            if (!WideCharToMultiByte(CP_UTF8, 0, ports[i].wszDeviceName, -1, out, (int)outlen,
                                     NULL, NULL))
                out[0] = '\0';
            return;
        }
}

/* The WAN miniport ports per protocol (vpn.ports), from the port list. */
static void vpn_ports(const RAS_PORT_0 *ports, DWORD nports, struct pf_vpn *vpn)
{
    struct rasconn_port *rp = calloc(nports ? nports : 1, sizeof(*rp));

    if (!rp)
        return;
    for (DWORD i = 0; i < nports; i++) {
        if (!WideCharToMultiByte(CP_UTF8, 0, ports[i].wszDeviceName, -1, rp[i].device,
                                 (int)sizeof(rp[i].device), NULL, NULL))
            rp[i].device[0] = '\0';
        rp[i].condition = (int)ports[i].dwPortCondition;
        rp[i].has_connection = ports[i].hConnection != NULL;
    }
    rasconn_ports(rp, nports, vpn);
    free(rp);
}

#define IP_KEY L"SYSTEM\\CurrentControlSet\\Services\\RemoteAccess\\Parameters\\Ip"
#define POOL_BLOCKS_MAX 64

/* The static pool's blocks (StaticAddressPool\<n>\From, To); false when
 * RRAS hands out addresses from DHCP or no pool is configured. */
static bool pool_blocks(struct rasconn_pool_range *r, size_t *n)
{
    DWORD dhcp = 0, size = sizeof(dhcp);
    HKEY key;
    wchar_t name[16];

    *n = 0;
    if (RegGetValueW(HKEY_LOCAL_MACHINE, IP_KEY, L"UseDhcpAddressing", RRF_RT_REG_DWORD, NULL,
                     &dhcp, &size) == ERROR_SUCCESS &&
        dhcp)
        return false;
    if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, IP_KEY L"\\StaticAddressPool", 0, KEY_READ, &key) !=
        ERROR_SUCCESS)
        return false;
    for (DWORD i = 0; *n < POOL_BLOCKS_MAX; i++) {
        DWORD namelen = 16, from = 0, to = 0, fs = sizeof(from), ts = sizeof(to);
        if (RegEnumKeyExW(key, i, name, &namelen, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
            break;
        if (RegGetValueW(key, name, L"From", RRF_RT_REG_DWORD, NULL, &from, &fs) ==
                ERROR_SUCCESS &&
            RegGetValueW(key, name, L"To", RRF_RT_REG_DWORD, NULL, &to, &ts) == ERROR_SUCCESS) {
            r[*n].from = from;
            r[*n].to = to;
            (*n)++;
        }
    }
    RegCloseKey(key);
    return *n > 0;
}

/* vpn.address_pool: the static pool and the IPv4 addresses handed to the
 * connected clients (wszAddress of their IPv4 projection). */
static bool vpn_pool(const RAS_CONNECTION_EX *conns, DWORD nconns, struct pf_vpn *vpn)
{
    struct rasconn_pool_range blocks[POOL_BLOCKS_MAX];
    uint32_t *assigned;
    size_t nblocks = 0, n = 0;
    bool ok;

    if (!pool_blocks(blocks, &nblocks))
        return false;
    assigned = calloc(nconns ? nconns : 1, sizeof(*assigned));
    if (!assigned)
        return false;
    for (DWORD i = 0; i < nconns; i++) {
        const PROJECTION_INFO *pi = &conns[i].ProjectionInfo;
        const WCHAR *a = pi->projectionInfoType == RASCONN_PROJECTION_IKEV2
                             ? pi->Ikev2ProjectionInfo.wszAddress
                             : pi->PppProjectionInfo.wszAddress;
        if (rasconn_ipv4_from_utf16((const uint16_t *)a, IPADDRESSLEN + 1, &assigned[n]))
            n++;
    }
    ok = rasconn_pool(blocks, nblocks, assigned, n, vpn);
    free(assigned);
    return ok;
}

static enum pf_rc read_vpn(const struct mpr *m, struct pf_snapshot *s, struct pf_vpn *vpn,
                           bool *truncated)
{
    MPR_SERVER_HANDLE h = NULL;
    MPRAPI_OBJECT_HEADER hdr;
    RAS_CONNECTION_EX *conns = NULL;
    RAS_PORT_0 *ports = NULL;
    DWORD nconns = 0, total = 0, nports = 0, ptotal = 0, err;
    struct rasconn_conn *rc = NULL;
    enum pf_rc ret = PF_IO;

    err = m->connect(NULL, &h);
    if (err != NO_ERROR) {
        pf_debug("MprAdminServerConnect: error %lu", (unsigned long)err);
        return PF_IO;
    }
    memset(&hdr, 0, sizeof(hdr));
    hdr.revision = MPRAPI_RAS_CONNECTION_OBJECT_REVISION_1;
    hdr.type = MPRAPI_OBJECT_TYPE_RAS_CONNECTION_OBJECT;
    hdr.size = sizeof(RAS_CONNECTION_EX);
    err = m->conn_enum(h, &hdr, (DWORD)-1, &nconns, &total, &conns, NULL);
    if (err != NO_ERROR) {
        pf_debug("MprAdminConnectionEnumEx: error %lu", (unsigned long)err);
        goto out;
    }
    if (m->port_enum &&
        m->port_enum(h, 0, INVALID_HANDLE_VALUE, (LPBYTE *)&ports, (DWORD)-1, &nports, &ptotal,
                     NULL) != NO_ERROR) {
        ports = NULL;
        nports = 0;
    }
    rc = calloc(nconns ? nconns : 1, sizeof(*rc));
    if (!rc) {
        ret = PF_NOMEM;
        goto out;
    }
    for (DWORD i = 0; i < nconns; i++) {
        char device[MAX_DEVICE_NAME * 3 + 1];
        device_of(ports, nports, conns[i].hConnection, device, sizeof(device));
        rc[i].proto = rasconn_proto_classify(conns[i].ProjectionInfo.projectionInfoType, device);
        rasconn_addr_from_utf16((const uint16_t *)conns[i].wszRemoteEndpointAddress,
                                MAXIPADRESSLEN + 1, rc[i].addr);
    }
    ret = rasconn_summarize(rc, nconns, vpn, truncated);
    if (!ret && ports)
        vpn_ports(ports, nports, vpn);
    else if (!ret)
        pf_snapshot_add_unmeasured(s, "vpn.ports");
    if (!ret && !vpn_pool(conns, nconns, vpn))
        pf_snapshot_add_unmeasured(s, "vpn.address_pool");
out:
    free(rc);
    if (ports)
        m->free(ports);
    if (conns)
        m->free(conns);
    m->disconnect(h);
    return ret;
}

void probes_vpn(struct pf_snapshot *s)
{
    struct svcmap_entry *svc = NULL;
    size_t nsvc = 0;
    bool rras;
    struct mpr m;

    if (svcmap_enumerate(&svc, &nsvc) != PF_OK) {
        pf_snapshot_add_unmeasured(s, "vpn"); /* cannot tell whether RRAS runs */
        return;
    }
    rras = svcmap_running(svc, nsvc, "RemoteAccess");
    free(svc);
    if (!rras)
        return; /* not an RRAS host: no vpn section */
    memset(&m, 0, sizeof(m));
    if (!load_mprapi(&m) || read_vpn(&m, s, &s->vpn, &s->truncated) != PF_OK) {
        free(s->vpn.top);
        memset(&s->vpn, 0, sizeof(s->vpn));
        pf_snapshot_add_unmeasured(s, "vpn");
        return;
    }
    ike_registry_value(&s->vpn);
    s->has_vpn = true;
}

/* ---- sessions: the Entra connector's requests per second ---------------- */

typedef LONG(WINAPI *pdh_open_fn)(LPCWSTR, DWORD_PTR, HANDLE *);
typedef LONG(WINAPI *pdh_add_fn)(HANDLE, LPCWSTR, DWORD_PTR, HANDLE *);
typedef LONG(WINAPI *pdh_collect_fn)(HANDLE);
typedef LONG(WINAPI *pdh_value_fn)(HANDLE, DWORD, LPDWORD, void *);

/* PDH_FMT_COUNTERVALUE without pdh.h's import declarations. */
struct pdh_value {
    DWORD status;
    double value;
};
#define PDH_FMT_DOUBLE_ 0x00000200
#define PDH_FMT_NOCAP100_ 0x00008000

static struct {
    bool loaded, ok, started;
    pdh_open_fn open;
    pdh_add_fn add;
    pdh_collect_fn collect;
    pdh_value_fn value;
    HANDLE query, counter;
} pdh;

static bool load_pdh(void)
{
    HMODULE lib;

    if (pdh.loaded)
        return pdh.ok;
    pdh.loaded = true;
    lib = LoadLibraryExW(L"pdh.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!lib)
        lib = LoadLibraryW(L"pdh.dll");
    if (!lib)
        return false;
    pdh.open = (pdh_open_fn)(void (*)(void))GetProcAddress(lib, "PdhOpenQueryW");
    /* The English name works on every display language (Vista and later). */
    pdh.add = (pdh_add_fn)(void (*)(void))GetProcAddress(lib, "PdhAddEnglishCounterW");
    pdh.collect = (pdh_collect_fn)(void (*)(void))GetProcAddress(lib, "PdhCollectQueryData");
    pdh.value = (pdh_value_fn)(void (*)(void))GetProcAddress(lib, "PdhGetFormattedCounterValue");
    pdh.ok = pdh.open && pdh.add && pdh.collect && pdh.value;
    return pdh.ok;
}

void probes_sessions(struct pf_snapshot *s, const char *counter_path)
{
    wchar_t wpath[512];
    struct pdh_value v;
    DWORD type = 0;
    bool role = false;

    for (size_t i = 0; i < s->host.nroles; i++)
        role |= strcmp(s->host.roles[i], "entra-connector") == 0;
    if (!role)
        return;
    if (!load_pdh())
        goto unmeasured;
    if (!pdh.started) {
        static const char *const defaults[] = PROBES_ENTRA_COUNTERS;
        const char *one[1] = {counter_path};
        const char *const *paths = counter_path && *counter_path ? one : defaults;
        size_t npaths = counter_path && *counter_path ? 1 : sizeof(defaults) / sizeof(defaults[0]);
        bool added = false;

        if (pdh.open(NULL, 0, &pdh.query) != 0)
            goto unmeasured;
        for (size_t i = 0; i < npaths && !added; i++) {
            added = MultiByteToWideChar(CP_UTF8, 0, paths[i], -1, wpath, 512) &&
                    pdh.add(pdh.query, wpath, 0, &pdh.counter) == 0;
            pf_debug("Entra connector counter %s %s", paths[i],
                     added ? "found" : "not readable");
        }
        if (!added || pdh.collect(pdh.query) != 0) {
            pdh.ok = false; /* not there: do not retry every snapshot */
            goto unmeasured;
        }
        pdh.started = true; /* a rate needs a second collection: the next snapshot */
        goto unmeasured;
    }
    memset(&v, 0, sizeof(v));
    if (pdh.collect(pdh.query) != 0 ||
        pdh.value(pdh.counter, PDH_FMT_DOUBLE_ | PDH_FMT_NOCAP100_, &type, &v) != 0 ||
        v.status != 0 || !(v.value >= 0))
        goto unmeasured;
    memset(&s->sessions, 0, sizeof(s->sessions));
    snprintf(s->sessions.source, sizeof(s->sessions.source), "entra-connector");
    s->sessions.has_requests_per_s = true;
    s->sessions.requests_per_s = v.value;
    s->has_sessions = true;
    return;
unmeasured:
    pf_snapshot_add_unmeasured(s, "sessions");
}
