/* SPDX-License-Identifier: MIT */
/* test_snapshot.c: the snapshot model's own arithmetic. Usable ports are
 * the range minus the excluded ports inside it, each counted once, only
 * for the same protocol and family; a snapshot that says it did not
 * measure exclusions (has_excluded false) has the whole range usable even
 * when stale blocks sit in its array (a reused snapshot, a decoder that
 * kept what it had). */
#include <string.h>

#include "snapshot.h"
#include "test.h"

static void block(struct pf_range *r, int proto, int family, uint16_t start, uint32_t count)
{
    r->proto = (uint8_t)proto;
    r->family = (uint8_t)family;
    r->start = start;
    r->count = count;
}

TEST(usable_ports)
{
    struct pf_range ex[5];
    struct pf_snapshot s;

    memset(&s, 0, sizeof(s));
    block(&s.ranges[0], PF_PROTO_TCP, PF_FAMILY_IPV4, 49152, 16384);
    block(&s.ranges[1], PF_PROTO_UDP, PF_FAMILY_IPV4, 49152, 16384);
    s.nranges = 2;
    block(&ex[0], PF_PROTO_TCP, PF_FAMILY_IPV4, 50000, 100);  /* inside */
    block(&ex[1], PF_PROTO_TCP, PF_FAMILY_IPV4, 50050, 100);  /* overlaps the first: +50 */
    block(&ex[2], PF_PROTO_TCP, PF_FAMILY_IPV4, 49100, 100);  /* 48 inside the range */
    block(&ex[3], PF_PROTO_TCP, PF_FAMILY_IPV6, 50000, 1000); /* other family */
    block(&ex[4], PF_PROTO_UDP, PF_FAMILY_IPV4, 65535, 1);    /* the last port */
    s.excluded = ex;
    s.nexcluded = 5;
    s.has_excluded = true;
    T_EQ_INT(pf_snapshot_usable_ports(&s, PF_PROTO_TCP, PF_FAMILY_IPV4), 16384 - 100 - 50 - 48);
    T_EQ_INT(pf_snapshot_usable_ports(&s, PF_PROTO_UDP, PF_FAMILY_IPV4), 16383);
    T_EQ_INT(pf_snapshot_usable_ports(&s, PF_PROTO_TCP, PF_FAMILY_IPV6), 0); /* no range */
    /* not measured: the blocks still in the array do not count */
    s.has_excluded = false;
    T_EQ_INT(pf_snapshot_usable_ports(&s, PF_PROTO_TCP, PF_FAMILY_IPV4), 16384);
    T_EQ_INT(pf_snapshot_usable_ports(&s, PF_PROTO_UDP, PF_FAMILY_IPV4), 16384);
    s.nexcluded = 0;
    T_EQ_INT(pf_snapshot_usable_ports(&s, PF_PROTO_TCP, PF_FAMILY_IPV4), 16384);
}

int main(void)
{
    RUN(usable_ports);
    return T_DONE();
}
