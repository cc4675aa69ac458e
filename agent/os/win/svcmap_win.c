/* SPDX-License-Identifier: MIT */
/* svcmap_win.c: the service list from the Service Control Manager, for
 * svcmap.c's pure functions (which PID hosts which services, roles). */
#include "svcmap.h"

#include <stdlib.h>
#include <winsock2.h> /* before windows.h, as compat.h does */
#include <windows.h>

#include "array.h"
#include "log.h"

enum pf_rc svcmap_enumerate(struct svcmap_entry **out, size_t *n)
{
    SC_HANDLE scm;
    BYTE *buf = NULL;
    DWORD size = 64 * 1024, need = 0, count = 0, resume = 0;
    struct svcmap_entry *e = NULL;
    size_t ne = 0, cap = 0;
    enum pf_rc rc = PF_OK;
    BOOL ok;

    *out = NULL;
    *n = 0;
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE);
    if (!scm)
        return GetLastError() == ERROR_ACCESS_DENIED ? PF_PERM : PF_IO;
    buf = malloc(size);
    if (!buf) {
        CloseServiceHandle(scm);
        return PF_NOMEM;
    }
    do {
        ok = EnumServicesStatusExW(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_STATE_ALL,
                                   buf, size, &need, &count, &resume, NULL);
        if (!ok && GetLastError() != ERROR_MORE_DATA) {
            pf_debug("EnumServicesStatusExW: error %lu", (unsigned long)GetLastError());
            rc = PF_IO;
            break;
        }
        const ENUM_SERVICE_STATUS_PROCESSW *s = (const ENUM_SERVICE_STATUS_PROCESSW *)buf;
        if (PF_ARRAY_RESERVE(e, cap, ne + count, 16)) {
            rc = PF_NOMEM;
            break;
        }
        for (DWORD i = 0; i < count; i++) {
            struct svcmap_entry *x = &e[ne];
            DWORD st = s[i].ServiceStatusProcess.dwCurrentState;
            if (!WideCharToMultiByte(CP_UTF8, 0, s[i].lpServiceName, -1, x->name,
                                     sizeof(x->name), NULL, NULL))
                continue; /* a name longer than any service key: skip */
            x->pid = s[i].ServiceStatusProcess.dwProcessId;
            x->running = st != SERVICE_STOPPED && x->pid != 0;
            ne++;
        }
        /* A larger buffer only saves calls: resume carries on. */
        if (!ok && need > size && need < (16u << 20)) {
            BYTE *p = realloc(buf, need);
            if (!p) {
                rc = PF_NOMEM;
                break;
            }
            buf = p;
            size = need;
        }
    } while (!ok);
    free(buf);
    CloseServiceHandle(scm);
    if (rc) {
        free(e);
        return rc;
    }
    svcmap_sort(e, ne);
    *out = e;
    *n = ne;
    return PF_OK;
}
