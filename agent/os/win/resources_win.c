/* SPDX-License-Identifier: MIT */
/* resources_win.c: GetSystemTimes (kernel time includes idle time, so busy
 * = kernel + user - idle over total = kernel + user) and
 * GlobalMemoryStatusEx (in use = total - available physical memory). */
#include "resources.h"

#include <winsock2.h> /* before windows.h, as compat.h does */
#include <windows.h>

static uint64_t ft64(FILETIME ft)
{
    return (uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime;
}

enum pf_rc resources_cpu_read(struct cpustat *out)
{
    FILETIME idle, kernel, user;
    uint64_t i, k, u;

    if (!GetSystemTimes(&idle, &kernel, &user))
        return PF_IO;
    i = ft64(idle);
    k = ft64(kernel);
    u = ft64(user);
    out->total = k + u;
    out->busy = k + u > i ? k + u - i : 0;
    return PF_OK;
}

enum pf_rc resources_memory_read(uint64_t *used_mb, uint64_t *total_mb)
{
    MEMORYSTATUSEX mem;

    mem.dwLength = sizeof(mem);
    if (!GlobalMemoryStatusEx(&mem) || mem.ullAvailPhys > mem.ullTotalPhys)
        return PF_IO;
    *used_mb = (mem.ullTotalPhys - mem.ullAvailPhys) / (1024 * 1024);
    *total_mb = mem.ullTotalPhys / (1024 * 1024);
    return PF_OK;
}

void resources_more_read(struct pf_resources *r)
{
    (void)r; /* no figure of PF_RESOURCES_FIELDS besides CPU and memory yet */
}
