/* SPDX-License-Identifier: MIT */
/* collect.c: one snapshot of this host, in the order that keeps it honest:
 * the range first (the counts are relative to it), then the sockets, then
 * the counts; what could not be measured is listed in unmeasured rather
 * than reported as zero. */
#include "collect.h"

#include <stdio.h>
#include <string.h>

#include "aggregate.h"
#include "log.h"
#include "probes.h"
#include "procinfo.h"
#include "sockets.h"
#include "sysinfo.h"
#include "timeutil.h"

/* Roles a process reveals by its name or service. A connector process
 * holds connections, so it is among the listed processes; this saves a
 * second pass over every process of the host. Windows services (RRAS,
 * Entra connector) are detected in sysinfo_win.c from the service list. */
static void add_roles_from_processes(struct pf_snapshot *s)
{
    static const struct {
        const char *name, *role;
    } known[] = {
        {"cloudflared", "cloudflared"},
        {"cloudflared.exe", "cloudflared"},
    };

    for (size_t i = 0; i < s->nprocesses; i++)
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            if (strcmp(s->processes[i].name, known[k].name) == 0)
                pf_snapshot_add_role(s, known[k].role);
}

enum pf_rc collect_snapshot(struct pf_snapshot *s, const struct collect_opts *opts)
{
    struct sockrec_vec vec;
    struct sockets_info info;
    enum pf_rc rc;

    s->taken_at = pf_time_now();
    s->interval_s = opts && opts->interval_s ? opts->interval_s : 60;
    snprintf(s->host.site, sizeof(s->host.site), "%s",
             opts && opts->site && *opts->site ? opts->site : "default");
    snprintf(s->host.agent_version, sizeof(s->host.agent_version), "%s", PF_VERSION);

    rc = sysinfo_collect(s);
    if (rc) {
        pf_error("cannot read the dynamic port range: %s", pf_strerror(rc));
        return rc;
    }
    sockrec_vec_init(&vec);
    rc = sockets_collect(&vec, &info);
    if (rc) {
        pf_error("cannot list sockets: %s", pf_strerror(rc));
        sockrec_vec_free(&vec);
        return rc;
    }
    if (!info.bound_measured)
        pf_snapshot_add_unmeasured(s, "tcp.states.bound");
    if (!info.owners_measured)
        pf_snapshot_add_unmeasured(s, "processes");
    rc = aggregate_sockets(s, &vec, procinfo_lookup);
    sockrec_vec_free(&vec);
    procinfo_sweep();
    if (rc)
        return rc;
    add_roles_from_processes(s);
    probes_events(s);
    probes_vpn(s);
    return PF_OK;
}
