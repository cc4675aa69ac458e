/* SPDX-License-Identifier: MIT */
/* test_rasconn.c: RRAS connection arrays -> the vpn section: protocol from the
 * projection and the port's device name, client addresses from UTF-16
 * wszRemoteEndpointAddress, counts, distinct clients, the ranked top list
 * and its cap; the seed-001 picture (every IKEv2 client behind one
 * source-NAT address). */
#include <stdlib.h>

#include "rasconn.h"
#include "compat.h"
#include "test.h"

/* ASCII -> UTF-16 code units, NUL-terminated, as WCHAR arrays hold them. */
static void wide(uint16_t *w, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        w[i] = (unsigned char)s[i];
    w[i] = 0;
}

TEST(classify)
{
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_IKEV2, NULL), PF_VPN_IKEV2);
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_IKEV2, "WAN Miniport (SSTP)"), PF_VPN_IKEV2);
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_PPP, "WAN Miniport (SSTP)"), PF_VPN_SSTP);
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_PPP, "WAN Miniport (L2TP)"), PF_VPN_L2TP);
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_PPP, "WAN-Miniport (PPTP)"), PF_VPN_PPTP);
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_PPP, "wan miniport (ikev2)"), PF_VPN_IKEV2);
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_PPP, "Modem"), -1);
    T_EQ_INT(rasconn_proto_classify(RASCONN_PROJECTION_PPP, ""), -1);
    T_EQ_INT(rasconn_proto_classify(0, NULL), -1);
}

TEST(addresses_from_utf16)
{
    uint16_t w[65];
    char out[PF_ADDR_LEN];

    wide(w, 65, "203.0.113.10");
    T_EQ_INT(rasconn_addr_from_utf16(w, 65, out), 12);
    T_EQ_STR(out, "203.0.113.10");
    wide(w, 65, "2001:DB8::1");
    T_EQ_INT(rasconn_addr_from_utf16(w, 65, out), 11);
    T_EQ_STR(out, "2001:db8::1");
    wide(w, 65, "fe80::1%12");
    T_ASSERT(rasconn_addr_from_utf16(w, 65, out) > 0);
    T_EQ_STR(out, "fe80::1%12");
    wide(w, 65, "");
    T_EQ_INT(rasconn_addr_from_utf16(w, 65, out), 0);
    T_EQ_STR(out, "");
    wide(w, 65, "client.example"); /* a name, not an address */
    T_EQ_INT(rasconn_addr_from_utf16(w, 65, out), 0);
    T_EQ_STR(out, "");
    wide(w, 65, "deadbeef"); /* hex digits but no separator */
    T_EQ_INT(rasconn_addr_from_utf16(w, 65, out), 0);
    wide(w, 65, "1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa"); /* 49 > 45 */
    T_EQ_INT(rasconn_addr_from_utf16(w, 65, out), 0);
    T_EQ_STR(out, "");
    /* No NUL within maxunits: stops there. */
    wide(w, 65, "10.1.2.3");
    T_EQ_INT(rasconn_addr_from_utf16(w, 4, out), 4);
    T_EQ_STR(out, "10.1");
    w[2] = 0x4e2d; /* a non-ASCII character */
    T_EQ_INT(rasconn_addr_from_utf16(w, 65, out), 0);
    T_EQ_INT(rasconn_addr_from_utf16(NULL, 65, out), 0);
}

TEST(summary_counts)
{
    struct rasconn_conn c[] = {
        {PF_VPN_IKEV2, "198.51.100.7"}, {PF_VPN_IKEV2, "198.51.100.7"},
        {PF_VPN_SSTP, "203.0.113.10"},  {PF_VPN_IKEV2, "198.51.100.7"},
        {PF_VPN_L2TP, "203.0.113.11"},  {PF_VPN_PPTP, "203.0.113.10"},
        {-1, ""}, /* a connection with no known protocol or address */
    };
    struct pf_vpn vpn;
    bool truncated = false;

    memset(&vpn, 0, sizeof(vpn));
    T_EQ_INT(rasconn_summarize(c, PF_ARRAY_LEN(c), &vpn, &truncated), PF_OK);
    T_EQ_INT(vpn.connections, 7);
    T_EQ_INT(vpn.by_protocol[PF_VPN_IKEV2], 3);
    T_EQ_INT(vpn.by_protocol[PF_VPN_SSTP], 1);
    T_EQ_INT(vpn.by_protocol[PF_VPN_L2TP], 1);
    T_EQ_INT(vpn.by_protocol[PF_VPN_PPTP], 1);
    T_EQ_INT(vpn.distinct_clients, 3);
    T_EQ_INT(vpn.ntop, 3);
    T_EQ_STR(vpn.top[0].addr, "198.51.100.7");
    T_EQ_INT(vpn.top[0].count, 3);
    T_EQ_STR(vpn.top[1].addr, "203.0.113.10");
    T_EQ_INT(vpn.top[1].count, 2);
    T_EQ_STR(vpn.top[2].addr, "203.0.113.11");
    T_EQ_INT(vpn.top[2].count, 1);
    T_ASSERT(!truncated);
    free(vpn.top);
}

/* Seed 001: 400 IKEv2 clients all arriving from the load balancer. */
TEST(snat_single_address)
{
    struct rasconn_conn *c = calloc(400, sizeof(*c));
    struct pf_vpn vpn;

    T_ASSERT(c);
    for (int i = 0; i < 400; i++) {
        c[i].proto = PF_VPN_IKEV2;
        memcpy(c[i].addr, "192.0.2.1", 10);
    }
    memset(&vpn, 0, sizeof(vpn));
    T_EQ_INT(rasconn_summarize(c, 400, &vpn, NULL), PF_OK);
    T_EQ_INT(vpn.connections, 400);
    T_EQ_INT(vpn.distinct_clients, 1);
    T_EQ_INT(vpn.ntop, 1);
    T_EQ_INT(vpn.top[0].count, 400);
    free(vpn.top);
    free(c);
}

TEST(top_list_capped)
{
    size_t n = PF_LIST_MAX + 25;
    struct rasconn_conn *c = calloc(n + 1, sizeof(*c));
    struct pf_vpn vpn;
    bool truncated = false;

    T_ASSERT(c);
    for (size_t i = 0; i < n; i++) {
        c[i].proto = PF_VPN_SSTP;
        snprintf(c[i].addr, sizeof(c[i].addr), "10.0.%zu.%zu", i / 200, i % 200);
    }
    c[n] = c[n - 1]; /* the last address twice: ranks first */
    memset(&vpn, 0, sizeof(vpn));
    T_EQ_INT(rasconn_summarize(c, n + 1, &vpn, &truncated), PF_OK);
    T_EQ_INT(vpn.distinct_clients, n);
    T_EQ_INT(vpn.ntop, PF_LIST_MAX);
    T_ASSERT(truncated);
    T_EQ_STR(vpn.top[0].addr, c[n].addr);
    T_EQ_INT(vpn.top[0].count, 2);
    for (size_t i = 2; i < vpn.ntop; i++) /* ties ordered by address */
        T_ASSERT(strcmp(vpn.top[i - 1].addr, vpn.top[i].addr) < 0);
    free(vpn.top);
    free(c);
}

TEST(no_connections)
{
    struct pf_vpn vpn;

    memset(&vpn, 0, sizeof(vpn));
    vpn.has_ike_value = true;
    vpn.ike_num_established_for_initial_query = 50000;
    T_EQ_INT(rasconn_summarize(NULL, 0, &vpn, NULL), PF_OK);
    T_EQ_INT(vpn.connections, 0);
    T_EQ_INT(vpn.distinct_clients, 0);
    T_EQ_INT(vpn.ntop, 0);
    T_ASSERT(vpn.top == NULL);
    T_ASSERT(vpn.has_ike_value); /* left alone */
    T_EQ_INT(vpn.ike_num_established_for_initial_query, 50000);
}

static void port(struct rasconn_port *p, const char *device, int condition, bool conn)
{
    snprintf(p->device, sizeof(p->device), "%s", device);
    p->condition = condition;
    p->has_connection = conn;
}

/* A constructed MprAdminPortEnum list as an RRAS server with 128 IKEv2
 * and 128 SSTP ports (the common deployment scripts' wanports) shows it:
 * idle ports listening, busy ones authenticated with a connection. */
TEST(wan_ports)
{
    static struct rasconn_port ports[128 + 128 + 2 + 5];
    struct pf_vpn vpn;
    size_t n = 0;

    memset(&vpn, 0, sizeof(vpn));
    for (int i = 0; i < 128; i++)
        port(&ports[n++], "WAN Miniport (IKEv2)",
             i < 97 ? RASCONN_PORT_AUTHENTICATED : RASCONN_PORT_LISTENING, i < 97);
    for (int i = 0; i < 128; i++)
        port(&ports[n++], "WAN Miniport (SSTP)",
             i < 10 ? RASCONN_PORT_AUTHENTICATED
                    : i < 12 ? RASCONN_PORT_AUTHENTICATING : RASCONN_PORT_LISTENING,
             i < 10);
    port(&ports[n++], "WAN Miniport (PPPOE)", RASCONN_PORT_AUTHENTICATED, true); /* no tunnel */
    port(&ports[n++], "WAN Miniport (GRE)", RASCONN_PORT_LISTENING, false);
    for (int i = 0; i < 5; i++) /* localized media, the acronym stays */
        port(&ports[n++], "Miniport WAN (L2TP)",
             i == 0 ? RASCONN_PORT_NON_OPERATIONAL : RASCONN_PORT_DISCONNECTED, false);
    rasconn_ports(ports, n, &vpn);
    T_ASSERT(vpn.has_ports);
    T_EQ_INT(vpn.nports, 3);
    T_EQ_INT(vpn.ports[0].proto, PF_VPN_IKEV2);
    T_EQ_INT(vpn.ports[0].configured, 128);
    T_EQ_INT(vpn.ports[0].in_use, 97);
    T_EQ_INT(vpn.ports[1].proto, PF_VPN_SSTP);
    T_EQ_INT(vpn.ports[1].in_use, 12); /* authenticating counts: the port is taken */
    T_EQ_INT(vpn.ports[2].proto, PF_VPN_L2TP);
    T_EQ_INT(vpn.ports[2].configured, 5);
    T_EQ_INT(vpn.ports[2].in_use, 0);
    rasconn_ports(ports, 0, &vpn); /* no ports: listed as such, not absent */
    T_ASSERT(vpn.has_ports);
    T_EQ_INT(vpn.nports, 0);
}

#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

TEST(address_pool)
{
    struct rasconn_pool_range r[3] = {{IP4(10, 0, 0, 10), IP4(10, 0, 1, 253)},
                                      {IP4(10, 0, 1, 0), IP4(10, 0, 1, 9)}, /* overlaps */
                                      {IP4(10, 9, 0, 5), IP4(10, 9, 0, 1)}}; /* from > to */
    uint32_t assigned[500];
    size_t n = 0;
    struct pf_vpn vpn;
    const uint16_t w1[] = {'1', '0', '.', '0', '.', '0', '.', '1', '2', 0};
    const uint16_t w2[] = {'1', '0', '.', '0', '.', '0', 0};
    const uint16_t w3[] = {'1', '0', '.', '0', '.', '0', '.', '2', '5', '6', 0};
    uint32_t a = 0;

    memset(&vpn, 0, sizeof(vpn));
    for (uint32_t i = 0; i < 461; i++)
        assigned[n++] = IP4(10, 0, 0, 10) + i;
    assigned[n++] = IP4(10, 0, 0, 10);  /* a duplicate */
    assigned[n++] = IP4(192, 0, 2, 7);  /* outside the pool */
    T_ASSERT(rasconn_pool(r, 3, assigned, n, &vpn));
    T_ASSERT(vpn.has_address_pool);
    T_EQ_INT(vpn.pool_size, 500); /* 10.0.0.10 .. 10.0.1.253: 246 + 254 */
    T_EQ_INT(vpn.pool_in_use, 461);
    memset(&vpn, 0, sizeof(vpn));
    T_ASSERT(!rasconn_pool(r + 2, 1, assigned, n, &vpn));
    T_ASSERT(!vpn.has_address_pool);
    T_ASSERT(rasconn_ipv4_from_utf16(w1, 16, &a));
    T_EQ_INT(a, IP4(10, 0, 0, 12));
    T_ASSERT(!rasconn_ipv4_from_utf16(w2, 16, &a));
    T_ASSERT(!rasconn_ipv4_from_utf16(w3, 16, &a));
    T_ASSERT(!rasconn_ipv4_from_utf16(NULL, 16, &a));
}

int main(void)
{
    RUN(classify);
    RUN(addresses_from_utf16);
    RUN(summary_counts);
    RUN(snat_single_address);
    RUN(top_list_capped);
    RUN(no_connections);
    RUN(wan_ports);
    RUN(address_pool);
    return T_DONE();
}
