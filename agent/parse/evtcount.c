/* SPDX-License-Identifier: MIT */
/* evtcount.c: event-log queries and counters (see evtcount.h). */
#include "evtcount.h"

#include <stdio.h>
#include <string.h>

#include "timeutil.h"

struct evdef {
    int query;
    const char *provider;
    unsigned id;
    size_t offset; /* of the counter in struct pf_events */
};

static const struct evdef events[] = {
    {EVTCOUNT_TCPIP, "Tcpip", 4227, offsetof(struct pf_events, tcpip_4227)},
    {EVTCOUNT_TCPIP, "Tcpip", 4231, offsetof(struct pf_events, tcpip_4231)},
    {EVTCOUNT_TCPIP, "Tcpip", 4266, offsetof(struct pf_events, tcpip_4266)},
    {EVTCOUNT_NETLOGON, "NETLOGON", 5719, offsetof(struct pf_events, netlogon_5719)},
};

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool same_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
static enum pf_rc format_ms(int64_t ms, char out[PF_TIME_LEN + 16])
{
    char t[PF_TIME_LEN];
    enum pf_rc rc;

    if (ms < 0)
        return PF_INVALID;
    rc = pf_time_format(ms / 1000, t);
    if (rc)
        return rc;
    t[19] = '\0'; /* drop the Z */
    snprintf(out, PF_TIME_LEN + 16, "%s.%03dZ", t, (int)(ms % 1000));
    return PF_OK;
}

enum pf_rc evtcount_xpath(int q, int64_t since_ms, int64_t until_ms, char *out, size_t outlen)
{
    char since[PF_TIME_LEN + 16], until[PF_TIME_LEN + 16], ids[128];
    const char *provider = NULL;
    size_t idlen = 0;
    enum pf_rc rc;
    int n;

    if (q < 0 || q >= EVTCOUNT_NQUERIES || since_ms > until_ms)
        return PF_INVALID;
    if ((rc = format_ms(since_ms, since)) || (rc = format_ms(until_ms, until)))
        return rc;
    ids[0] = '\0';
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        if (events[i].query != q)
            continue;
        provider = events[i].provider;
        idlen += (size_t)snprintf(ids + idlen, sizeof(ids) - idlen, "%sEventID=%u",
                                  idlen ? " or " : "", events[i].id);
    }
    n = snprintf(out, outlen,
                 "*[System[Provider[@Name='%s'] and (%s) and "
                 "TimeCreated[@SystemTime>='%s' and @SystemTime<'%s']]]",
                 provider, ids, since, until);
    if (n < 0 || (size_t)n >= outlen)
        return PF_TOOBIG;
    return PF_OK;
}

bool evtcount_count(struct pf_events *ev, const char *provider, unsigned id)
{
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        if (events[i].id == id && same_nocase(events[i].provider, provider)) {
            uint64_t *c = (uint64_t *)((char *)ev + events[i].offset);
            (*c)++;
            return true;
        }
    }
    return false;
}
