/* SPDX-License-Identifier: MIT */
/* test_portrange.c: ip_local_port_range / ip_local_reserved_ports parsing. */
#include "portrange.h"
#include "test.h"

TEST(local_range)
{
    uint16_t lo = 0, hi = 0;
    const char *s = "32768\t60999\n";

    T_EQ_INT(portrange_parse_local(s, strlen(s), &lo, &hi), PF_OK);
    T_EQ_INT(lo, 32768);
    T_EQ_INT(hi, 60999);
    s = "  11000 60999";
    T_EQ_INT(portrange_parse_local(s, strlen(s), &lo, &hi), PF_OK);
    T_EQ_INT(lo, 11000);
    s = "60999 32768\n"; /* reversed */
    T_EQ_INT(portrange_parse_local(s, strlen(s), &lo, &hi), PF_INVALID);
    s = "0 100\n";
    T_EQ_INT(portrange_parse_local(s, strlen(s), &lo, &hi), PF_INVALID);
    s = "100 70000\n";
    T_EQ_INT(portrange_parse_local(s, strlen(s), &lo, &hi), PF_INVALID);
    s = "100\n";
    T_EQ_INT(portrange_parse_local(s, strlen(s), &lo, &hi), PF_INVALID);
    s = "100 200 300\n";
    T_EQ_INT(portrange_parse_local(s, strlen(s), &lo, &hi), PF_INVALID);
    s = "";
    T_EQ_INT(portrange_parse_local(s, 0, &lo, &hi), PF_INVALID);
}

TEST(reserved_list)
{
    struct portblock b[4];
    size_t n = 99;
    const char *s = "1000-1005,2000,50000-50099\n";

    T_EQ_INT(portrange_parse_reserved(s, strlen(s), b, 4, &n), PF_OK);
    T_EQ_INT(n, 3);
    T_EQ_INT(b[0].start, 1000);
    T_EQ_INT(b[0].count, 6);
    T_EQ_INT(b[1].start, 2000);
    T_EQ_INT(b[1].count, 1);
    T_EQ_INT(b[2].count, 100);
    s = "\n"; /* the kernel's empty list */
    T_EQ_INT(portrange_parse_reserved(s, strlen(s), b, 4, &n), PF_OK);
    T_EQ_INT(n, 0);
    s = "1,2,3,4,5";
    T_EQ_INT(portrange_parse_reserved(s, strlen(s), b, 4, &n), PF_TOOBIG);
    T_EQ_INT(n, 4);
    s = "5-3";
    T_EQ_INT(portrange_parse_reserved(s, strlen(s), b, 4, &n), PF_INVALID);
    s = "1000;2000";
    T_EQ_INT(portrange_parse_reserved(s, strlen(s), b, 4, &n), PF_INVALID);
    s = "1000-";
    T_EQ_INT(portrange_parse_reserved(s, strlen(s), b, 4, &n), PF_INVALID);
    s = "70000";
    T_EQ_INT(portrange_parse_reserved(s, strlen(s), b, 4, &n), PF_INVALID);
}

int main(void)
{
    RUN(local_range);
    RUN(reserved_list);
    return T_DONE();
}
