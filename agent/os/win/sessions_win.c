/* SPDX-License-Identifier: MIT */
/* sessions_win.c: cloudflared's metrics address from the config file the
 * Windows service reads (the LocalSystem profile's .cloudflared folder).
 * Another process's command line is not read: that needs the process's
 * memory, more than a sampling agent should touch. */
#include "sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <winsock2.h> /* before windows.h, as compat.h does */
#include <windows.h>

#include "cfmetrics.h"

bool sessions_os_metrics_addr(const uint32_t *pids, size_t npids, char *out, size_t outlen)
{
    wchar_t wpath[MAX_PATH];
    char buf[16384];
    HANDLE h;
    DWORD n = 0;
    UINT len;
    bool ok = false;

    (void)pids;
    (void)npids;
    len = GetSystemDirectoryW(wpath, MAX_PATH);
    if (!len || len + 48 >= MAX_PATH)
        return false;
    wcscat_s(wpath, MAX_PATH, L"\\config\\systemprofile\\.cloudflared\\config.yml");
    h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return false;
    if (ReadFile(h, buf, sizeof(buf) - 1, &n, NULL))
        ok = cfmetrics_from_config(buf, n, out, outlen);
    CloseHandle(h);
    return ok;
}
