/* SPDX-License-Identifier: MIT */
/* sysinfo_win.c: the host part of a Windows snapshot. Identity from the
 * computer name, the MachineGuid registry value, RtlGetVersion (GetVersionEx
 * lies to unmanifested programs), GetActiveProcessorCount and
 * GlobalMemoryStatusEx; roles from running services (svcmap.c).
 *
 * Port ranges, in order of preference:
 *  1. WMI ROOT\StandardCimv2 MSFT_NetTCPSetting / MSFT_NetUDPSetting
 *     (DynamicPortRangeStartPort, DynamicPortRangeNumberOfPorts): the
 *     documented way; these classes have no address family, so the value
 *     is reported for IPv4 and IPv6 alike.
 *  2. `netsh int ipv4|ipv6 show dynamicport tcp|udp`, per family, parsed
 *     by numbers only (netsh.c) because the text is localized.
 *  3. Windows' default 49152 + 16384, with "ranges" listed in unmeasured
 *     so that nobody mistakes it for a reading (Wine answers neither).
 * Excluded ranges come from `netsh ... show excludedportrange`; WMI has
 * no class for them. */
#define COBJMACROS
#include "sysinfo.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h> /* before windows.h, as compat.h does */
#include <windows.h>
#include <wbemidl.h>

#include "buf.h"
#include "log.h"
#include "netsh.h"
#include "svcmap.h"

#define NETSH_TIMEOUT_MS 15000
#define WMI_TIMEOUT_MS 10000
#define DEFAULT_START 49152
#define DEFAULT_COUNT 16384

static void utf8_from_wide(const wchar_t *w, char *out, size_t outlen)
{
    if (!WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)outlen, NULL, NULL))
        out[0] = '\0';
}

static void host_identity(struct pf_snapshot *s)
{
    wchar_t w[256];
    DWORD len = (DWORD)(sizeof(w) / sizeof(w[0]));
    DWORD size = sizeof(w);
    typedef LONG(WINAPI * rtl_get_version_fn)(OSVERSIONINFOW *);
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    rtl_get_version_fn rtl_get_version = NULL;
    MEMORYSTATUSEX mem;
    OSVERSIONINFOW v;

    if (GetComputerNameExW(ComputerNameDnsHostname, w, &len))
        utf8_from_wide(w, s->host.name, sizeof(s->host.name));
    if (RegGetValueW(HKEY_LOCAL_MACHINE, L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid",
                     RRF_RT_REG_SZ, NULL, w, &size) == ERROR_SUCCESS)
        utf8_from_wide(w, s->host.machine_id, sizeof(s->host.machine_id));
    snprintf(s->host.os, sizeof(s->host.os), "windows");
    if (ntdll)
        rtl_get_version =
            (rtl_get_version_fn)(void (*)(void))GetProcAddress(ntdll, "RtlGetVersion");
    memset(&v, 0, sizeof(v));
    v.dwOSVersionInfoSize = sizeof(v);
    if (rtl_get_version && rtl_get_version(&v) == 0)
        snprintf(s->host.os_version, sizeof(s->host.os_version), "%lu.%lu.%lu",
                 (unsigned long)v.dwMajorVersion, (unsigned long)v.dwMinorVersion,
                 (unsigned long)v.dwBuildNumber);
    s->host.cpus = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    mem.dwLength = sizeof(mem);
    if (GlobalMemoryStatusEx(&mem))
        s->host.memory_mb = mem.ullTotalPhys / (1024 * 1024);
}

static void host_roles(struct pf_snapshot *s)
{
    struct svcmap_entry *e = NULL;
    size_t n = 0;

    if (svcmap_enumerate(&e, &n) != PF_OK) {
        pf_debug("service list unavailable: roles not detected");
        return;
    }
    svcmap_roles(e, n, s);
    free(e);
}

/* ---- WMI ---------------------------------------------------------------- */

static bool variant_u32(const VARIANT *v, uint32_t *out)
{
    switch (v->vt) {
    case VT_I4: *out = (uint32_t)v->lVal; return v->lVal >= 0;
    case VT_UI4: *out = v->ulVal; return true;
    case VT_I2: *out = (uint32_t)v->iVal; return v->iVal >= 0;
    case VT_UI2: *out = v->uiVal; return true;
    default: return false;
    }
}

/* Reads the range of one MSFT_Net*Setting class. Several instances exist
 * (Internet, Datacenter, Compat, ...; "Automatic" has none): they share
 * the one global range, so the first instance with a valid one wins, and
 * "Internet" is preferred should they ever disagree. */
static bool wmi_class_range(IWbemServices *svc, const wchar_t *query, uint16_t *start,
                            uint32_t *count)
{
    IEnumWbemClassObject *en = NULL;
    BSTR lang = SysAllocString(L"WQL"), q = SysAllocString(query);
    bool found = false;
    HRESULT hr;

    if (!lang || !q)
        goto out;
    hr = IWbemServices_ExecQuery(svc, lang, q,
                                 WBEM_FLAG_FORWARD_ONLY | WBEM_FLAG_RETURN_IMMEDIATELY, NULL,
                                 &en);
    if (FAILED(hr)) {
        pf_debug("WMI %ls: 0x%08lx", query, (unsigned long)hr);
        goto out;
    }
    for (;;) {
        IWbemClassObject *obj = NULL;
        ULONG got = 0;
        VARIANT vs, vc, vn;
        uint32_t st = 0, ct = 0;
        bool internet;

        hr = IEnumWbemClassObject_Next(en, WMI_TIMEOUT_MS, 1, &obj, &got);
        if (FAILED(hr) || got == 0)
            break;
        VariantInit(&vs);
        VariantInit(&vc);
        VariantInit(&vn);
        if (SUCCEEDED(IWbemClassObject_Get(obj, L"DynamicPortRangeStartPort", 0, &vs, NULL, NULL)) &&
            SUCCEEDED(IWbemClassObject_Get(obj, L"DynamicPortRangeNumberOfPorts", 0, &vc, NULL,
                                           NULL)) &&
            variant_u32(&vs, &st) && variant_u32(&vc, &ct) && netsh_range_valid(st, ct)) {
            internet = SUCCEEDED(IWbemClassObject_Get(obj, L"SettingName", 0, &vn, NULL, NULL)) &&
                       vn.vt == VT_BSTR && vn.bstrVal && wcscmp(vn.bstrVal, L"Internet") == 0;
            if (!found || internet) {
                *start = (uint16_t)st;
                *count = ct;
            }
            found = true;
        }
        VariantClear(&vs);
        VariantClear(&vc);
        VariantClear(&vn);
        IWbemClassObject_Release(obj);
    }
out:
    if (en)
        IEnumWbemClassObject_Release(en);
    SysFreeString(lang);
    SysFreeString(q);
    return found;
}

/* Fills tcp/udp from WMI; *have_tcp / *have_udp say what it answered. */
static void wmi_ranges(uint16_t start[2], uint32_t count[2], bool have[2])
{
    IWbemLocator *loc = NULL;
    IWbemServices *svc = NULL;
    BSTR ns = NULL;
    HRESULT hr, init;

    have[0] = have[1] = false;
    init = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    /* Fails harmlessly (RPC_E_TOO_LATE) when the process already set it. */
    CoInitializeSecurity(NULL, -1, NULL, NULL, RPC_C_AUTHN_LEVEL_DEFAULT,
                         RPC_C_IMP_LEVEL_IMPERSONATE, NULL, EOAC_NONE, NULL);
    hr = CoCreateInstance(&CLSID_WbemLocator, NULL, CLSCTX_INPROC_SERVER, &IID_IWbemLocator,
                          (void **)&loc);
    if (FAILED(hr))
        goto out;
    ns = SysAllocString(L"ROOT\\StandardCimv2");
    if (!ns)
        goto out;
    hr = IWbemLocator_ConnectServer(loc, ns, NULL, NULL, NULL, 0, NULL, NULL, &svc);
    if (FAILED(hr)) {
        pf_debug("WMI ROOT\\StandardCimv2: 0x%08lx", (unsigned long)hr);
        goto out;
    }
    CoSetProxyBlanket((IUnknown *)svc, RPC_C_AUTHN_WINNT, RPC_C_AUTHZ_NONE, NULL,
                      RPC_C_AUTHN_LEVEL_CALL, RPC_C_IMP_LEVEL_IMPERSONATE, NULL, EOAC_NONE);
    have[PF_PROTO_TCP] = wmi_class_range(
        svc,
        L"SELECT SettingName, DynamicPortRangeStartPort, DynamicPortRangeNumberOfPorts "
        L"FROM MSFT_NetTCPSetting",
        &start[PF_PROTO_TCP], &count[PF_PROTO_TCP]);
    have[PF_PROTO_UDP] = wmi_class_range(
        svc,
        L"SELECT DynamicPortRangeStartPort, DynamicPortRangeNumberOfPorts FROM MSFT_NetUDPSetting",
        &start[PF_PROTO_UDP], &count[PF_PROTO_UDP]);
out:
    if (svc)
        IWbemServices_Release(svc);
    if (loc)
        IWbemLocator_Release(loc);
    SysFreeString(ns);
    if (SUCCEEDED(init))
        CoUninitialize();
}

/* ---- netsh -------------------------------------------------------------- */

/* Runs "%SystemRoot%\System32\netsh.exe <args>" without a window and
 * captures its output (capped at NETSH_OUTPUT_MAX). Returns PF_OK only for
 * exit code 0 within the time limit. */
static enum pf_rc run_netsh(const wchar_t *args, struct pf_buf *out)
{
    wchar_t sysdir[MAX_PATH], exe[MAX_PATH + 16], cmd[512];
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
    HANDLE rd = NULL, wr = NULL, nul = INVALID_HANDLE_VALUE;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD code = 1, n;
    enum pf_rc rc = PF_IO;
    UINT len = GetSystemDirectoryW(sysdir, MAX_PATH);
    long long deadline = pf_mono_ms() + NETSH_TIMEOUT_MS;
    char chunk[4096];

    if (len == 0 || len >= MAX_PATH)
        return PF_IO;
    _snwprintf(exe, sizeof(exe) / sizeof(exe[0]), L"%ls\\netsh.exe", sysdir);
    exe[sizeof(exe) / sizeof(exe[0]) - 1] = L'\0';
    _snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"\"%ls\" %ls", exe, args);
    cmd[sizeof(cmd) / sizeof(cmd[0]) - 1] = L'\0';
    if (!CreatePipe(&rd, &wr, &sa, 0))
        return PF_IO;
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
                      OPEN_EXISTING, 0, NULL);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = nul;
    si.hStdOutput = wr;
    si.hStdError = wr;
    if (!CreateProcessW(exe, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
        pf_debug("netsh: CreateProcess error %lu", (unsigned long)GetLastError());
        goto out;
    }
    CloseHandle(wr);
    wr = NULL;
    /* Read until netsh closes its end; the pipe's own buffering keeps a
     * hung netsh from blocking forever only together with the deadline. */
    for (;;) {
        DWORD avail = 0;
        if (!PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL))
            break; /* broken pipe: netsh is done */
        if (avail == 0) {
            if (pf_mono_ms() > deadline)
                break;
            if (WaitForSingleObject(pi.hProcess, 20) == WAIT_OBJECT_0) {
                if (!PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) || avail == 0)
                    break;
            }
            continue;
        }
        if (!ReadFile(rd, chunk, avail < sizeof(chunk) ? avail : sizeof(chunk), &n, NULL) || !n)
            break;
        if (pf_buf_append(out, chunk, n) != PF_OK) {
            rc = PF_TOOBIG;
            break;
        }
    }
    if (WaitForSingleObject(pi.hProcess, rc == PF_TOOBIG ? 0 : 1000) != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, 1000);
        if (rc != PF_TOOBIG)
            rc = PF_AGAIN;
    } else if (rc != PF_TOOBIG && GetExitCodeProcess(pi.hProcess, &code) && code == 0) {
        rc = PF_OK;
    }
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
out:
    if (wr)
        CloseHandle(wr);
    if (nul != INVALID_HANDLE_VALUE)
        CloseHandle(nul);
    CloseHandle(rd);
    return rc;
}

static const wchar_t *const fam_w[2] = {L"ipv4", L"ipv6"};
static const wchar_t *const proto_w[2] = {L"tcp", L"udp"};

static bool netsh_range(int proto, int fam, uint16_t *start, uint32_t *count)
{
    wchar_t args[96];
    struct pf_buf out;
    bool ok = false;

    pf_buf_init(&out, NETSH_OUTPUT_MAX);
    _snwprintf(args, 96, L"int %ls show dynamicport %ls", fam_w[fam], proto_w[proto]);
    args[95] = L'\0';
    if (run_netsh(args, &out) == PF_OK)
        ok = netsh_parse_dynamicport(out.data ? out.data : "", out.len, start, count) == PF_OK;
    if (!ok)
        pf_debug("netsh %ls: no range in %zu bytes of output", args, out.len);
    pf_buf_free(&out);
    return ok;
}

static void read_ranges(struct pf_snapshot *s)
{
    uint16_t wstart[2] = {0, 0};
    uint32_t wcount[2] = {0, 0};
    bool have[2], guessed = false;

    wmi_ranges(wstart, wcount, have);
    s->nranges = 0;
    for (int proto = 0; proto < 2; proto++)
        for (int fam = 0; fam < 2; fam++) {
            struct pf_range *r = &s->ranges[s->nranges++];
            uint16_t start = wstart[proto];
            uint32_t count = wcount[proto];
            if (!have[proto] && !netsh_range(proto, fam, &start, &count)) {
                start = DEFAULT_START;
                count = DEFAULT_COUNT;
                guessed = true;
            }
            r->proto = (uint8_t)proto;
            r->family = (uint8_t)fam;
            r->start = start;
            r->count = count;
        }
    if (guessed) {
        pf_warn("dynamic port range unreadable (WMI and netsh); reporting Windows' "
                "default 49152-65535 as unmeasured");
        pf_snapshot_add_unmeasured(s, "ranges");
    }
}

static enum pf_rc read_excluded(struct pf_snapshot *s)
{
    struct portblock blocks[PF_EXCLUDED_MAX / 4];
    struct pf_range *ex;
    size_t k = 0;

    ex = calloc(PF_EXCLUDED_MAX, sizeof(*ex));
    if (!ex)
        return PF_NOMEM;
    for (int proto = 0; proto < 2; proto++)
        for (int fam = 0; fam < 2; fam++) {
            wchar_t args[112];
            struct pf_buf out;
            size_t n = 0;
            enum pf_rc rc;

            pf_buf_init(&out, NETSH_OUTPUT_MAX);
            _snwprintf(args, 112, L"int %ls show excludedportrange protocol=%ls", fam_w[fam],
                       proto_w[proto]);
            args[111] = L'\0';
            rc = run_netsh(args, &out);
            if (rc == PF_OK)
                rc = netsh_parse_excluded(out.data ? out.data : "", out.len, blocks,
                                          PF_ARRAY_LEN(blocks), &n);
            pf_buf_free(&out);
            if (rc == PF_TOOBIG) {
                s->truncated = true;
            } else if (rc) {
                pf_debug("netsh %ls: %s", args, pf_strerror(rc));
                free(ex);
                pf_snapshot_add_unmeasured(s, "excluded");
                return PF_OK;
            }
            for (size_t i = 0; i < n && k < PF_EXCLUDED_MAX; i++, k++) {
                ex[k].proto = (uint8_t)proto;
                ex[k].family = (uint8_t)fam;
                ex[k].start = blocks[i].start;
                ex[k].count = blocks[i].count;
            }
        }
    s->excluded = ex;
    s->nexcluded = k;
    s->has_excluded = true;
    return PF_OK;
}

enum pf_rc sysinfo_collect(struct pf_snapshot *s)
{
    host_identity(s);
    host_roles(s);
    read_ranges(s);
    return read_excluded(s);
}
