/* SPDX-License-Identifier: MIT */
/* test_timeutil.c: RFC 3339 formatting and parsing: known instants, UTC
 * offsets, fractions, leap years and leap seconds, the year range, a sweep
 * of format -> parse round trips, and inputs that must be refused. */
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "timeutil.h"

static int64_t parse(const char *s)
{
    int64_t t = -12345;
    return pf_time_parse(s, &t) == PF_OK ? t : -12345;
}

TEST(format_known)
{
    char out[PF_TIME_LEN];

    T_EQ_INT(pf_time_format(0, out), PF_OK);
    T_EQ_STR(out, "1970-01-01T00:00:00Z");
    T_EQ_INT(pf_time_format(1795341600, out), PF_OK);
    T_EQ_STR(out, "2026-11-22T10:00:00Z");
    T_EQ_INT(pf_time_format(951782400, out), PF_OK);
    T_EQ_STR(out, "2000-02-29T00:00:00Z");
    T_EQ_INT(pf_time_format(1709251199, out), PF_OK);
    T_EQ_STR(out, "2024-02-29T23:59:59Z");
    T_EQ_INT(pf_time_format(253402300799LL, out), PF_OK);
    T_EQ_STR(out, "9999-12-31T23:59:59Z");
    T_EQ_INT(pf_time_format(-1, out), PF_INVALID);
    T_EQ_INT(pf_time_format(253402300800LL, out), PF_INVALID);
}

TEST(parse_known)
{
    T_EQ_INT(parse("1970-01-01T00:00:00Z"), 0);
    T_EQ_INT(parse("2026-11-22T10:00:00Z"), 1795341600);
    T_EQ_INT(parse("2026-11-22t10:00:00z"), 1795341600);
    T_EQ_INT(parse("2026-11-22T11:00:00+01:00"), 1795341600);
    T_EQ_INT(parse("2026-11-22T05:30:00-04:30"), 1795341600);
    T_EQ_INT(parse("2026-11-23T09:59:00+23:59"), 1795341600);
    T_EQ_INT(parse("2026-11-22T10:00:00.999999Z"), 1795341600); /* fraction dropped */
    T_EQ_INT(parse("2026-11-22T10:00:00.5+00:00"), 1795341600);
    T_EQ_INT(parse("9999-12-31T23:59:59Z"), 253402300799LL);
    /* A leap second is held at :59. */
    T_EQ_INT(parse("2016-12-31T23:59:60Z"), parse("2016-12-31T23:59:59Z"));
    /* Before the epoch after the offset: a negative time, parsed. */
    T_EQ_INT(parse("1970-01-01T00:00:00+01:00"), -3600);
}

TEST(leap_years)
{
    T_EQ_INT(parse("2024-02-29T00:00:00Z"), 1709164800);
    T_EQ_INT(parse("2000-02-29T00:00:00Z"), 951782400);
    T_EQ_INT(parse("2023-02-29T00:00:00Z"), -12345);
    T_EQ_INT(parse("1900-02-29T00:00:00Z"), -12345);
    T_EQ_INT(parse("2100-02-29T00:00:00Z"), -12345);
    T_EQ_INT(parse("2024-03-01T00:00:00Z") - parse("2024-02-28T00:00:00Z"), 2 * 86400);
    T_EQ_INT(parse("2023-03-01T00:00:00Z") - parse("2023-02-28T00:00:00Z"), 86400);
    T_EQ_INT(parse("2024-12-31T00:00:00Z") - parse("2024-01-01T00:00:00Z"), 365 * 86400);
}

TEST(parse_refuses)
{
    static const char *const bad[] = {
        "",
        "2026-11-22",
        "2026-11-22T10:00:00",  /* no zone */
        "2026-11-22 10:00:00Z", /* space */
        "2026-11-22T10:00Z",    /* no seconds */
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-11-22T24:00:00Z",
        "2026-11-22T10:60:00Z",
        "2026-11-22T10:00:61Z",
        "2026-11-22T10:00:00Zjunk",
        "2026-11-22T10:00:00+1:00",
        "2026-11-22T10:00:00+01:0",
        "2026-11-22T10:00:00+0100",
        "2026-11-22T10:00:00+24:00",
        "2026-11-22T10:00:00+01:60",
        "2026-11-22T10:00:00.Z",
        "2026-11-22T10:00:00,5Z",
        "+2026-11-22T10:00:00Z",
        "26-11-22T10:00:00Z",
        "2026-1-22T10:00:00Z",
        "2026-11-22T1a:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t = 42;
        if (pf_time_parse(bad[i], &t) != PF_INVALID)
            T_FAIL_("accepted \"%s\"", bad[i]);
        T_EQ_INT(t, 42); /* untouched */
    }
}

/* format and parse are inverse over the whole range, at odd steps. */
TEST(round_trip_sweep)
{
    char out[PF_TIME_LEN];

    for (int64_t t = 0; t <= 253402300799LL; t += 86400LL * 37 + 3607) {
        int64_t back = -1;
        T_EQ_INT(pf_time_format(t, out), PF_OK);
        T_EQ_INT(strlen(out), PF_TIME_LEN - 1);
        T_EQ_INT(pf_time_parse(out, &back), PF_OK);
        if (back != t)
            T_FAIL_("%lld -> %s -> %lld", (long long)t, out, (long long)back);
    }
}

TEST(now)
{
    int64_t t = pf_time_now();
    T_ASSERT(t > 1700000000); /* after 2023 */
    T_ASSERT(t < 253402300799LL);
}

int main(void)
{
    RUN(format_known);
    RUN(parse_known);
    RUN(leap_years);
    RUN(parse_refuses);
    RUN(round_trip_sweep);
    RUN(now);
    return T_DONE();
}
