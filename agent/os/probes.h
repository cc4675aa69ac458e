/* SPDX-License-Identifier: MIT */
/* probes.h: the optional, OS-specific parts of a snapshot. Windows has them
 * (probes_win.c: events via EvtQuery, RRAS via MprAdmin*); on Linux
 * (probes_linux.c) they are absent, which is not the same as unmeasured.
 * To add a Windows probe: add its function here, its implementation in
 * probes_win.c (loading the API at run time) and an empty one in
 * probes_linux.c. */
#ifndef PF_PROBES_H
#define PF_PROBES_H

#include "error.h"
#include "snapshot.h"

/* Counts the Tcpip 4227/4231/4266 and NETLOGON 5719 events logged since the
 * previous call (the first call counts since the agent started) into
 * s->events and sets s->has_events; when the event log cannot be read it
 * adds "events" to s->unmeasured. No-op where the OS has no such events. */
void probes_events(struct pf_snapshot *s);

/* Fills s->vpn on an RRAS host (has_vpn); leaves it absent elsewhere; adds
 * "vpn" to s->unmeasured when RRAS runs but cannot be queried. */
void probes_vpn(struct pf_snapshot *s);

/* On an Entra private network connector (role entra-connector), fills
 * s->sessions (source "entra-connector") with requests per second over
 * the interval from the connector's performance counter, read through
 * pdh.dll loaded at run time; the first call of a run only starts the
 * counter, and a counter that cannot be read lists "sessions" in
 * unmeasured. No-op on Linux.
 *
 * Which counter: counter_path when given (--entra-counter), else the
 * first of PROBES_ENTRA_COUNTERS that PDH accepts. Microsoft's connector
 * FAQ ("How can I monitor the performance of the ... connector?") names
 * the counter object the connector installs as "Microsoft AAD App Proxy
 * Connector" in its earlier revisions, "Microsoft AAD Application Proxy
 * Connector" in later ones and "Microsoft Entra private network
 * connector" since the rename; the counter's own name is shown only in
 * a screenshot, so "Requests/sec" is the one guess, and --entra-counter
 * is the way to point at the right one on a connector that differs. */
#define PROBES_ENTRA_COUNTER "\\Microsoft AAD App Proxy Connector\\Requests/sec"
#define PROBES_ENTRA_COUNTERS                                                                      \
    {PROBES_ENTRA_COUNTER, "\\Microsoft AAD Application Proxy Connector\\Requests/sec",            \
     "\\Microsoft Entra private network connector\\Requests/sec"}
void probes_sessions(struct pf_snapshot *s, const char *counter_path);

#endif
