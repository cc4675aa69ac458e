/* SPDX-License-Identifier: MIT */
/* timeutil.c: strict RFC 3339 with no locale and no timezone database:
 * days-from-civil arithmetic, so the result does not depend on TZ. */
#include "timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compat.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static void put_digits(char *p, unsigned v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

enum pf_rc pf_time_format(int64_t t, char out[PF_TIME_LEN])
{
    int y;
    unsigned mo, d, rem;

    if (t < 0 || t > 253402300799LL) /* 9999-12-31T23:59:59Z */
        return PF_INVALID;
    civil_from_days(t / 86400, &y, &mo, &d);
    rem = (unsigned)(t % 86400);
    /* "YYYY-MM-DDTHH:MM:SSZ": fixed widths, every field range-checked above */
    memcpy(out, "0000-00-00T00:00:00Z", PF_TIME_LEN);
    put_digits(out, (unsigned)y, 4);
    put_digits(out + 5, mo, 2);
    put_digits(out + 8, d, 2);
    put_digits(out + 11, rem / 3600, 2);
    put_digits(out + 14, rem / 60 % 60, 2);
    put_digits(out + 17, rem % 60, 2);
    return PF_OK;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

enum pf_rc pf_time_parse(const char *s, int64_t *out)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    const char *p;

    if (strlen(s) < 20)
        return PF_INVALID;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return PF_INVALID;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > mdays[mo - 1] || h > 23 || mi > 59 ||
        se > 60)
        return PF_INVALID;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return PF_INVALID;
    if (se == 60) /* a leap second: hold it at :59 */
        se = 59;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return PF_INVALID;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return PF_INVALID;
        p += 6;
    } else {
        return PF_INVALID;
    }
    if (*p != '\0')
        return PF_INVALID;
    *out = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se -
           sign * (oh * 3600 + om * 60);
    return PF_OK;
}

int64_t pf_time_now(void)
{
    return (int64_t)time(NULL);
}
