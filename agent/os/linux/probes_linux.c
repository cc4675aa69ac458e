/* SPDX-License-Identifier: MIT */
/* probes_linux.c: Linux logs no Tcpip events and runs no RRAS or Entra
 * connector, so those sections are absent (not unmeasured) in its
 * snapshots. */
#include "probes.h"

void probes_events(struct pf_snapshot *s)
{
    (void)s;
}

void probes_vpn(struct pf_snapshot *s)
{
    (void)s;
}

void probes_sessions(struct pf_snapshot *s, const char *counter_path)
{
    (void)s;
    (void)counter_path;
}
