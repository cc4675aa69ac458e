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
