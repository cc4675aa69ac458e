/* SPDX-License-Identifier: MIT */
/* procinfo_win.c: PID -> image name and services on Windows. Names come
 * from QueryFullProcessImageNameW, or a toolhelp snapshot for PIDs that
 * cannot be opened (System, protected processes); they are cached across
 * snapshots, keyed by PID and process creation time so that a reused PID
 * is not given its predecessor's name. The service list
 * (EnumServicesStatusExW) is read once per snapshot: services move
 * between processes when they restart. */
#include "procinfo.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h> /* before windows.h, as compat.h does */
#include <windows.h>
#include <tlhelp32.h>

#include "array.h"
#include "log.h"
#include "snapshot.h"
#include "svcmap.h"

#define CACHE_MAX 4096 /* entries; a host has far fewer owning processes */

struct entry {
    uint32_t pid;
    uint64_t created; /* FILETIME of creation; 0 when unknown */
    bool used;        /* looked up since the last sweep */
    char name[PF_NAME_LEN];
};

static struct entry *cache;
static size_t ncache, capcache;
static struct svcmap_entry *services;
static size_t nservices;
static bool services_fresh;

/* Keeps the last path component of a UTF-16 path, as UTF-8. */
static void basename_utf8(const wchar_t *path, char *out, size_t outlen)
{
    const wchar_t *base = path;

    for (const wchar_t *p = path; *p; p++)
        if (*p == L'\\' || *p == L'/')
            base = p + 1;
    if (!WideCharToMultiByte(CP_UTF8, 0, base, -1, out, (int)outlen, NULL, NULL))
        out[0] = '\0';
}

static uint64_t creation_time(HANDLE h)
{
    FILETIME c, e, k, u;

    if (!GetProcessTimes(h, &c, &e, &k, &u))
        return 0;
    return (uint64_t)c.dwHighDateTime << 32 | c.dwLowDateTime;
}

/* Reads the image name of an opened process. */
static bool query_image(HANDLE h, char *name, size_t namelen)
{
    wchar_t path[MAX_PATH * 4];
    DWORD len = (DWORD)(sizeof(path) / sizeof(path[0]));

    if (!h || !QueryFullProcessImageNameW(h, 0, path, &len))
        return false;
    basename_utf8(path, name, namelen);
    return name[0] != '\0';
}

/* The toolhelp snapshot knows every PID's executable name, also for the
 * ones OpenProcess refuses. */
static bool toolhelp_image(uint32_t pid, char *name, size_t namelen)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32W pe;
    bool found = false;

    if (snap == INVALID_HANDLE_VALUE)
        return false;
    pe.dwSize = sizeof(pe);
    for (BOOL more = Process32FirstW(snap, &pe); more && !found;
         more = Process32NextW(snap, &pe)) {
        if (pe.th32ProcessID == pid) {
            basename_utf8(pe.szExeFile, name, namelen);
            found = name[0] != '\0';
        }
    }
    CloseHandle(snap);
    return found;
}

static struct entry *cache_find(uint32_t pid)
{
    for (size_t i = 0; i < ncache; i++)
        if (cache[i].pid == pid)
            return &cache[i];
    return NULL;
}

static struct entry *cache_add(uint32_t pid)
{
    if (ncache >= CACHE_MAX || PF_ARRAY_RESERVE(cache, capcache, ncache + 1, 64))
        return NULL;
    memset(&cache[ncache], 0, sizeof(cache[0]));
    cache[ncache].pid = pid;
    return &cache[ncache++];
}

static void refresh_services(void)
{
    enum pf_rc rc;

    if (services_fresh)
        return;
    free(services);
    services = NULL;
    nservices = 0;
    rc = svcmap_enumerate(&services, &nservices);
    if (rc)
        pf_debug("service list: %s", pf_strerror(rc));
    services_fresh = true;
}

enum pf_rc procinfo_lookup(uint32_t pid, char *name, size_t namelen, char *service,
                           size_t servicelen)
{
    struct entry *e = cache_find(pid);
    HANDLE h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    uint64_t created = h ? creation_time(h) : 0;
    char fresh[PF_NAME_LEN] = "";

    if (namelen)
        name[0] = '\0';
    if (servicelen)
        service[0] = '\0';
    if (e && e->name[0] && (created == 0 || e->created == 0 || e->created == created)) {
        e->used = true; /* the same process as before: keep its name */
    } else {
        bool ok = query_image(h, fresh, sizeof(fresh)) || toolhelp_image(pid, fresh, sizeof(fresh));
        if (!ok) {
            if (h)
                CloseHandle(h);
            return PF_NOTFOUND;
        }
        if (!e)
            e = cache_add(pid);
        if (e) {
            e->created = created;
            e->used = true;
            snprintf(e->name, sizeof(e->name), "%s", fresh);
        }
    }
    if (h)
        CloseHandle(h);
    if (namelen)
        snprintf(name, namelen, "%s", e ? e->name : fresh);
    refresh_services();
    if (servicelen)
        svcmap_names_for_pid(services, nservices, pid, service, servicelen);
    return PF_OK;
}

void procinfo_sweep(void)
{
    size_t k = 0;

    for (size_t i = 0; i < ncache; i++) {
        if (!cache[i].used)
            continue;
        cache[i].used = false;
        cache[k++] = cache[i];
    }
    ncache = k;
    services_fresh = false;
}
