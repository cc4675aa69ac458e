/* SPDX-License-Identifier: MIT */
/* osutil_win.c: osutil.h with Win32 calls. Durability: the temporary file
 * is flushed with FlushFileBuffers and moved over the target with
 * MoveFileExW(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH), which
 * returns only once the rename is on disk; NTFS has no directory flush to
 * call, so osutil_sync_dir is a no-op. Paths are UTF-8, converted to UTF-16
 * at this boundary. */
#include "osutil.h"

#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <bcrypt.h>
#include <sddl.h>

enum pf_rc osutil_rc_from_os(unsigned long e)
{
    switch (e) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
        return PF_NOTFOUND;
    case ERROR_ACCESS_DENIED:
    case ERROR_WRITE_PROTECT:
        return PF_PERM;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
        return PF_NOMEM;
    case ERROR_FILENAME_EXCED_RANGE:
        return PF_TOOBIG;
    case ERROR_LOCK_VIOLATION:
    case ERROR_SHARING_VIOLATION:
    case ERROR_BUSY:
        return PF_AGAIN;
    default:
        return PF_IO;
    }
}

/* UTF-8 to UTF-16 into a caller buffer of OSUTIL_PATH_MAX wide chars. */
static enum pf_rc widen(const char *s, wchar_t *out)
{
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, OSUTIL_PATH_MAX) == 0)
        return GetLastError() == ERROR_INSUFFICIENT_BUFFER ? PF_TOOBIG : PF_INVALID;
    return PF_OK;
}

enum pf_rc osutil_path_join(char *out, size_t outlen, const char *dir, const char *name)
{
    int n = snprintf(out, outlen, "%s\\%s", dir, name);

    return n < 0 || (size_t)n >= outlen ? PF_TOOBIG : PF_OK;
}

enum pf_rc osutil_mkdirs(const char *dir)
{
    char path[OSUTIL_PATH_MAX];
    wchar_t w[OSUTIL_PATH_MAX];
    SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, FALSE};
    size_t len = strlen(dir);
    enum pf_rc rc = PF_OK;

    if (len == 0 || len >= sizeof(path))
        return PF_INVALID;
    /* What this creates is private from its first moment: the ACL is part
     * of the creation, so there is no window in which the default
     * (inherited, often Users: read) ACL exposes the node key. */
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(OSUTIL_PRIVATE_SDDL, SDDL_REVISION_1,
                                                              &sa.lpSecurityDescriptor, NULL))
        return PF_INTERNAL;
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len && !rc; i++) {
        char c = path[i];

        if (c != '\\' && c != '/' && c != '\0')
            continue;
        if (path[i - 1] == ':') /* "C:\" */
            continue;
        path[i] = '\0';
        rc = widen(path, w);
        if (!rc && !CreateDirectoryW(w, &sa) && GetLastError() != ERROR_ALREADY_EXISTS)
            rc = osutil_rc_from_os(GetLastError());
        path[i] = c;
    }
    LocalFree(sa.lpSecurityDescriptor);
    return rc;
}

enum pf_rc osutil_sync_dir(const char *dir)
{
    (void)dir;
    return PF_OK;
}

enum pf_rc osutil_write_atomic(const char *dir, const char *name, const void *data, size_t len)
{
    char tmp[OSUTIL_PATH_MAX], dst[OSUTIL_PATH_MAX], tmpname[OSUTIL_PATH_MAX];
    wchar_t wtmp[OSUTIL_PATH_MAX], wdst[OSUTIL_PATH_MAX];
    const char *p = data;
    enum pf_rc rc;
    HANDLE h;
    int n;

    n = snprintf(tmpname, sizeof(tmpname), "%s.tmp", name);
    if (n < 0 || (size_t)n >= sizeof(tmpname))
        return PF_TOOBIG;
    rc = osutil_path_join(tmp, sizeof(tmp), dir, tmpname);
    if (!rc)
        rc = osutil_path_join(dst, sizeof(dst), dir, name);
    if (!rc)
        rc = widen(tmp, wtmp);
    if (!rc)
        rc = widen(dst, wdst);
    if (rc)
        return rc;

    h = CreateFileW(wtmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return osutil_rc_from_os(GetLastError());
    while (!rc && len > 0) {
        DWORD chunk = len > 0x40000000 ? 0x40000000 : (DWORD)len, done = 0;

        if (!WriteFile(h, p, chunk, &done, NULL))
            rc = osutil_rc_from_os(GetLastError());
        p += done;
        len -= done;
    }
    if (!rc && !FlushFileBuffers(h))
        rc = osutil_rc_from_os(GetLastError());
    CloseHandle(h);
    if (!rc && !MoveFileExW(wtmp, wdst, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        rc = osutil_rc_from_os(GetLastError());
    if (rc)
        DeleteFileW(wtmp);
    return rc;
}

enum pf_rc osutil_read_file(const char *path, struct pf_buf *out)
{
    wchar_t w[OSUTIL_PATH_MAX];
    char chunk[4096];
    enum pf_rc rc = widen(path, w);
    HANDLE h;

    if (rc)
        return rc;
    h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return osutil_rc_from_os(GetLastError());
    while (!rc) {
        DWORD n = 0;

        if (!ReadFile(h, chunk, sizeof(chunk), &n, NULL))
            rc = osutil_rc_from_os(GetLastError());
        else if (n == 0)
            break;
        else
            rc = pf_buf_append(out, chunk, n);
    }
    CloseHandle(h);
    return rc;
}

enum pf_rc osutil_remove(const char *path)
{
    wchar_t w[OSUTIL_PATH_MAX];
    enum pf_rc rc = widen(path, w);
    DWORD e;

    if (rc)
        return rc;
    if (DeleteFileW(w))
        return PF_OK;
    e = GetLastError();
    return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ? PF_OK : osutil_rc_from_os(e);
}

enum pf_rc osutil_rename(const char *from, const char *to)
{
    wchar_t wf[OSUTIL_PATH_MAX], wt[OSUTIL_PATH_MAX];
    enum pf_rc rc = widen(from, wf);

    if (!rc)
        rc = widen(to, wt);
    if (rc)
        return rc;
    if (!MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        return osutil_rc_from_os(GetLastError());
    return PF_OK;
}

enum pf_rc osutil_list_dir(const char *dir, osutil_dir_fn fn, void *ud)
{
    char pattern[OSUTIL_PATH_MAX], name[OSUTIL_PATH_MAX];
    wchar_t w[OSUTIL_PATH_MAX];
    WIN32_FIND_DATAW fd;
    enum pf_rc rc = osutil_path_join(pattern, sizeof(pattern), dir, "*");
    HANDLE h;

    if (!rc)
        rc = widen(pattern, w);
    if (rc)
        return rc;
    h = FindFirstFileW(w, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();

        return e == ERROR_FILE_NOT_FOUND ? PF_OK : osutil_rc_from_os(e);
    }
    do {
        uint64_t size;

        if (fd.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT))
            continue;
        if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, sizeof(name), NULL, NULL) == 0)
            continue;
        size = ((uint64_t)fd.nFileSizeHigh << 32) | fd.nFileSizeLow;
        if (fn(name, size, ud))
            break;
    } while (FindNextFileW(h, &fd));
    FindClose(h);
    return PF_OK;
}

enum pf_rc osutil_remove_tree(const char *dir)
{
    char pattern[OSUTIL_PATH_MAX], name[OSUTIL_PATH_MAX], child[OSUTIL_PATH_MAX];
    wchar_t w[OSUTIL_PATH_MAX];
    WIN32_FIND_DATAW fd;
    enum pf_rc rc = osutil_path_join(pattern, sizeof(pattern), dir, "*");
    HANDLE h;

    if (!rc)
        rc = widen(pattern, w);
    if (rc)
        return rc;
    h = FindFirstFileW(w, &fd);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();

        if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND)
            return PF_OK;
        return osutil_rc_from_os(e);
    }
    do {
        if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
            continue;
        if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, sizeof(name), NULL, NULL) == 0)
            continue;
        rc = osutil_path_join(child, sizeof(child), dir, name);
        if (rc)
            break;
        if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
            !(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT))
            rc = osutil_remove_tree(child);
        else
            rc = osutil_remove(child);
    } while (!rc && FindNextFileW(h, &fd));
    FindClose(h);
    if (!rc) {
        rc = widen(dir, w);
        if (!rc && !RemoveDirectoryW(w) && GetLastError() != ERROR_FILE_NOT_FOUND)
            rc = osutil_rc_from_os(GetLastError());
    }
    return rc;
}

enum pf_rc osutil_lock(const char *path, intptr_t *handle)
{
    wchar_t w[OSUTIL_PATH_MAX];
    enum pf_rc rc = widen(path, w);
    HANDLE h;

    if (rc)
        return rc;
    /* No sharing: a second agent on the same state directory fails here.
     * The handle closes when the process ends, however it ends. */
    h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                    NULL);
    if (h == INVALID_HANDLE_VALUE)
        return osutil_rc_from_os(GetLastError());
    *handle = (intptr_t)h;
    return PF_OK;
}

void osutil_unlock(intptr_t handle)
{
    if (handle != (intptr_t)INVALID_HANDLE_VALUE && handle != 0)
        CloseHandle((HANDLE)handle);
}

void osutil_sleep_ms(unsigned ms)
{
    Sleep(ms);
}

uint64_t osutil_random_seed(void)
{
    uint64_t seed = 0;
    LARGE_INTEGER pc;

    if (BCryptGenRandom(NULL, (PUCHAR)&seed, sizeof(seed), BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
        seed = 0;
    QueryPerformanceCounter(&pc);
    seed ^= (uint64_t)pc.QuadPart * 0x9E3779B97F4A7C15ULL;
    seed ^= (uint64_t)GetCurrentProcessId() << 40;
    return seed;
}

struct thread_start {
    osutil_thread_fn fn;
    void *arg;
};

static unsigned __stdcall thread_main(void *p)
{
    struct thread_start ts = *(struct thread_start *)p;

    free(p);
    ts.fn(ts.arg);
    return 0;
}

enum pf_rc osutil_thread_start(osutil_thread_fn fn, void *arg, intptr_t *handle)
{
    struct thread_start *ts = malloc(sizeof(*ts));
    uintptr_t h;

    if (!ts)
        return PF_NOMEM;
    ts->fn = fn;
    ts->arg = arg;
    /* _beginthreadex, not CreateThread: the thread uses the C runtime */
    h = _beginthreadex(NULL, 0, thread_main, ts, 0, NULL);
    if (h == 0) {
        free(ts);
        return PF_INTERNAL;
    }
    *handle = (intptr_t)h;
    return PF_OK;
}

void osutil_thread_join(intptr_t handle)
{
    WaitForSingleObject((HANDLE)handle, INFINITE);
    CloseHandle((HANDLE)handle);
}

unsigned long osutil_pid(void)
{
    return (unsigned long)GetCurrentProcessId();
}
