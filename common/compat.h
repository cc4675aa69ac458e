/* SPDX-License-Identifier: MIT */
/* compat.h: the few shims that differ between Linux and Windows (MinGW).
 * Everything else in common/ is plain C11 and POSIX-free. */
#ifndef PF_COMPAT_H
#define PF_COMPAT_H

#include <time.h>

#ifdef _WIN32
#define PF_PATH_SEP '\\'
static inline struct tm *pf_gmtime_r(const time_t *t, struct tm *out)
{
    return gmtime_s(out, t) == 0 ? out : NULL;
}
#define pf_timegm _mkgmtime
#else
#define PF_PATH_SEP '/'
static inline struct tm *pf_gmtime_r(const time_t *t, struct tm *out)
{
    return gmtime_r(t, out);
}
#define pf_timegm timegm
#endif

/* Milliseconds from an arbitrary start that never goes backwards. */
#ifdef _WIN32
/* winsock2.h must come before windows.h (which would pull in the old
 * winsock.h); files that include this header and then curl.h or ws2*.h
 * would not build otherwise. */
#include <winsock2.h>
#include <windows.h>
static inline long long pf_mono_ms(void)
{
    return (long long)GetTickCount64();
}
#else
static inline long long pf_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#endif

#define PF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The command line as UTF-8, which is what portfleet's strings are (paths
 * are widened from UTF-8, the config file is UTF-8). On Windows main's
 * argv is in the ANSI code page, so a secret, site or path with other
 * characters would be garbled: this replaces *argv by a UTF-8 copy of
 * GetCommandLineW's arguments, kept for the life of the process (link
 * shell32). Elsewhere, and when out of memory, argv is left as it is. */
#ifdef _WIN32
#include <shellapi.h>
#include <stdlib.h>
static inline void pf_utf8_args(int *argc, char ***argv)
{
    int n = 0;
    wchar_t **w = CommandLineToArgvW(GetCommandLineW(), &n);
    char **out = w ? (char **)calloc((size_t)n + 1, sizeof(char *)) : NULL;

    for (int i = 0; out && i < n; i++) {
        int len = WideCharToMultiByte(CP_UTF8, 0, w[i], -1, NULL, 0, NULL, NULL);
        if (len <= 0 || !(out[i] = (char *)malloc((size_t)len)) ||
            !WideCharToMultiByte(CP_UTF8, 0, w[i], -1, out[i], len, NULL, NULL)) {
            for (int k = 0; k <= i; k++)
                free(out[k]);
            free(out);
            out = NULL;
        }
    }
    if (w)
        LocalFree(w);
    if (out) {
        *argc = n;
        *argv = out;
    }
}
#else
static inline void pf_utf8_args(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
}
#endif

#if defined(__MINGW32__)
/* "printf" means msvcrt's formats on MinGW; the build uses MinGW's C99
 * printf (__USE_MINGW_ANSI_STDIO), so check against that one. */
#define PF_PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__) || defined(__clang__)
#define PF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define PF_PRINTF(fmt, args)
#endif

#endif
