/* SPDX-License-Identifier: MIT */
/* test_evtcount.c: the EvtQuery XPath text for a window between snapshots
 * and the counting of rendered events into the snapshot's counters. */
#include "test.h"
#include "evtcount.h"

TEST(xpath_text)
{
    char q[EVTCOUNT_XPATH_MAX];
    /* 2026-11-22T10:00:00.250Z and one minute later */
    int64_t t0 = 1795341600250LL, t1 = t0 + 60000;

    T_EQ_INT(evtcount_xpath(EVTCOUNT_TCPIP, t0, t1, q, sizeof(q)), PF_OK);
    T_EQ_STR(q, "*[System[Provider[@Name='Tcpip'] and "
                "(EventID=4227 or EventID=4231 or EventID=4266) and "
                "TimeCreated[@SystemTime>='2026-11-22T10:00:00.250Z' and "
                "@SystemTime<'2026-11-22T10:01:00.250Z']]]");
    T_EQ_INT(evtcount_xpath(EVTCOUNT_NETLOGON, 0, 999, q, sizeof(q)), PF_OK);
    T_EQ_STR(q, "*[System[Provider[@Name='NETLOGON'] and (EventID=5719) and "
                "TimeCreated[@SystemTime>='1970-01-01T00:00:00.000Z' and "
                "@SystemTime<'1970-01-01T00:00:00.999Z']]]");
}

TEST(xpath_rejects)
{
    char q[EVTCOUNT_XPATH_MAX], small[40];

    T_EQ_INT(evtcount_xpath(EVTCOUNT_NQUERIES, 0, 1, q, sizeof(q)), PF_INVALID);
    T_EQ_INT(evtcount_xpath(-1, 0, 1, q, sizeof(q)), PF_INVALID);
    T_EQ_INT(evtcount_xpath(EVTCOUNT_TCPIP, 2000, 1000, q, sizeof(q)), PF_INVALID);
    T_EQ_INT(evtcount_xpath(EVTCOUNT_TCPIP, -5, 1000, q, sizeof(q)), PF_INVALID);
    T_EQ_INT(evtcount_xpath(EVTCOUNT_TCPIP, 0, 1000, small, sizeof(small)), PF_TOOBIG);
}

TEST(counting)
{
    struct pf_events ev;

    memset(&ev, 0, sizeof(ev));
    T_ASSERT(evtcount_count(&ev, "Tcpip", 4227));
    T_ASSERT(evtcount_count(&ev, "Tcpip", 4227));
    T_ASSERT(evtcount_count(&ev, "TCPIP", 4231));
    T_ASSERT(evtcount_count(&ev, "Tcpip", 4266));
    T_ASSERT(evtcount_count(&ev, "NETLOGON", 5719));
    T_ASSERT(evtcount_count(&ev, "Netlogon", 5719));
    T_ASSERT(!evtcount_count(&ev, "Tcpip", 5719));   /* wrong provider for the ID */
    T_ASSERT(!evtcount_count(&ev, "NETLOGON", 4227));
    T_ASSERT(!evtcount_count(&ev, "Tcpip6", 4227));
    T_ASSERT(!evtcount_count(&ev, "Tcpip", 4228));
    T_EQ_INT(ev.tcpip_4227, 2);
    T_EQ_INT(ev.tcpip_4231, 1);
    T_EQ_INT(ev.tcpip_4266, 1);
    T_EQ_INT(ev.netlogon_5719, 2);
}

int main(void)
{
    RUN(xpath_text);
    RUN(xpath_rejects);
    RUN(counting);
    return T_DONE();
}
