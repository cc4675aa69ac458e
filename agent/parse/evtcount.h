/* SPDX-License-Identifier: MIT */
/* evtcount.h: the pure half of the Windows event probe. probes_win.c runs
 * EvtQuery over the System log once per snapshot with the XPath queries
 * built here, for the window since the previous snapshot, and counts what
 * EvtNext returns with evtcount_count. Windows that are half-open and
 * adjacent ([since, until), the next one starting at this until) count
 * each event exactly once. */
#ifndef PF_EVTCOUNT_H
#define PF_EVTCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "snapshot.h"

#define EVTCOUNT_LOG "System"
#define EVTCOUNT_XPATH_MAX 512

/* The two queries: Tcpip 4227/4231/4266, and NETLOGON 5719. */
enum evtcount_query { EVTCOUNT_TCPIP = 0, EVTCOUNT_NETLOGON, EVTCOUNT_NQUERIES };

/* Writes into out (outlen bytes, EVTCOUNT_XPATH_MAX is enough) the XPath
 * query selecting the events of q with since_ms <= TimeCreated < until_ms
 * (milliseconds since the Unix epoch, UTC), e.g.
 *   *[System[Provider[@Name='NETLOGON'] and (EventID=5719) and
 *     TimeCreated[@SystemTime>='2026-11-22T10:00:00.000Z' and
 *     @SystemTime<'2026-11-22T10:01:00.000Z']]]
 * Returns PF_INVALID for an unknown q or a time outside 1970..9999 or
 * since > until, PF_TOOBIG when outlen is too small. */
enum pf_rc evtcount_xpath(int q, int64_t since_ms, int64_t until_ms, char *out, size_t outlen);

/* Counts one event into ev by its provider (case-insensitive) and ID.
 * Returns false, counting nothing, for an event that is not one of ours. */
bool evtcount_count(struct pf_events *ev, const char *provider, unsigned id);

#endif
