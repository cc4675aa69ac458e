/* SPDX-License-Identifier: MIT */
/* test_addr.c: address text (RFC 5952 for IPv6). */
#include "addr.h"
#include "test.h"

static const char *fmt6(const char *hex)
{
    static char out[PF_ADDR_LEN];
    uint8_t a[16];
    for (int i = 0; i < 16; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        a[i] = (uint8_t)v;
    }
    pf_addr_format(PF_FAMILY_IPV6, a, out);
    return out;
}

TEST(ipv4)
{
    char out[PF_ADDR_LEN];
    const uint8_t a[4] = {169, 254, 169, 254}, b[4] = {0, 0, 0, 0};
    T_EQ_INT(pf_addr_format(PF_FAMILY_IPV4, a, out), 15);
    T_EQ_STR(out, "169.254.169.254");
    pf_addr_format(PF_FAMILY_IPV4, b, out);
    T_EQ_STR(out, "0.0.0.0");
}

TEST(ipv6)
{
    T_EQ_STR(fmt6("00000000000000000000000000000001"), "::1");
    T_EQ_STR(fmt6("00000000000000000000000000000000"), "::");
    T_EQ_STR(fmt6("20010db8000000000000000000000001"), "2001:db8::1");
    T_EQ_STR(fmt6("20010db8000000010000000000000001"), "2001:db8:0:1::1");
    /* a single zero group is not compressed */
    T_EQ_STR(fmt6("20010db8000100010001000100010001"), "2001:db8:1:1:1:1:1:1");
    T_EQ_STR(fmt6("20010db8000000010001000100010001"), "2001:db8:0:1:1:1:1:1");
    /* the first of two equally long runs */
    T_EQ_STR(fmt6("20010000000000010000000000010001"), "2001::1:0:0:1:1");
    /* the longer run, even when it comes second */
    T_EQ_STR(fmt6("20010000000000010000000000000001"), "2001:0:0:1::1");
    /* the longer of two runs */
    T_EQ_STR(fmt6("20010000000100000000000000000001"), "2001:0:1::1");
    T_EQ_STR(fmt6("fe800000000000000000000000000000"), "fe80::");
    T_EQ_STR(fmt6("00000000000000000000ffffc0000280"), "::ffff:192.0.2.128");
    T_EQ_STR(fmt6("ffffffffffffffffffffffffffffffff"),
             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

int main(void)
{
    RUN(ipv4);
    RUN(ipv6);
    return T_DONE();
}
