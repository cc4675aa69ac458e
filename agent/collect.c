/* SPDX-License-Identifier: MIT */
/* collect.c: one snapshot of this host, in the order that keeps it honest:
 * the range first (the counts are relative to it), then the sockets, then
 * the counts; what could not be measured is listed in unmeasured rather
 * than reported as zero. */
#include "collect.h"

#include <stdio.h>
#include <string.h>

#include "aggregate.h"
#include "compat.h"
#include "log.h"
#include "osutil.h"
#include "probes.h"
#include "procinfo.h"
#include "resources.h"
#include "sessions.h"
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

#define PEAK_MIN_MS 200 /* a shorter last sample is too coarse for the peak (10 ms ticks) */

void collect_resmon_start(struct resmon *m, uint32_t interval_s)
{
    struct cpustat r;

    memset(m, 0, sizeof(*m));
    m->sample_ms = resmon_sample_ms(interval_s);
    if (resources_cpu_read(&r) == PF_OK)
        resmon_start(m, m->sample_ms, pf_mono_ms(), &r);
}

void collect_tick(struct resmon *m)
{
    struct cpustat r;

    if (resources_cpu_read(&r) == PF_OK)
        resmon_feed(m, pf_mono_ms(), &r);
}

/* The resources section: CPU from the monitor (the one-shot's own when m
 * is local), memory now. What cannot be read is listed in unmeasured. */
static void collect_resources(struct pf_snapshot *s, struct resmon *m, bool one_shot,
                              uint32_t sample_ms)
{
    struct pf_resources *r = &s->resources;
    struct cpustat now;
    uint64_t used, total;
    double avg, peak;

    if (m && m->started) {
        if (one_shot) {
            long long left = m->start_ms + (long long)sample_ms - pf_mono_ms();
            if (left > 0)
                osutil_sleep_ms((unsigned)left);
        }
        if (resources_cpu_read(&now) == PF_OK &&
            resmon_end(m, pf_mono_ms(), &now, PEAK_MIN_MS, &avg, &peak)) {
            r->has_cpu_pct = r->has_cpu_pct_peak = true;
            r->cpu_pct = avg;
            r->cpu_pct_peak = peak;
        }
    }
    if (!r->has_cpu_pct) {
        pf_snapshot_add_unmeasured(s, "resources.cpu_pct");
        pf_snapshot_add_unmeasured(s, "resources.cpu_pct_peak");
    }
    if (resources_memory_read(&used, &total) == PF_OK) {
        r->has_memory_used_mb = true;
        /* host.memory_mb came from another call (or rounding): never above it */
        r->memory_used_mb = s->host.memory_mb && used > s->host.memory_mb ? s->host.memory_mb : used;
    } else {
        pf_snapshot_add_unmeasured(s, "resources.memory_used_mb");
    }
    resources_more_read(r);
    for (size_t i = 0; i < PF_NFIELDS; i++) {
        const struct pf_field *f = &pf_fields[i];
        if (f->section != PF_SECTION_resources)
            continue;
        if (*pf_field_has_ptr(s, f))
            s->has_resources = true;
        else
            pf_snapshot_add_unmeasured(s, f->path);
    }
}

enum pf_rc collect_snapshot(struct pf_snapshot *s, const struct collect_opts *opts)
{
    struct sockrec_vec vec;
    struct sockets_info info;
    struct resmon local, *m = opts ? opts->resmon : NULL;
    bool one_shot = !m;
    uint32_t sample_ms = opts ? opts->cpu_sample_ms : 0;
    enum pf_rc rc;

    if (one_shot && sample_ms) {
        collect_resmon_start(&local, 1);
        local.sample_ms = sample_ms;
        m = &local;
    }
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
    sessions_collect(s, opts ? opts->cloudflared_metrics : NULL);
    if (!s->has_sessions)
        probes_sessions(s, opts ? opts->entra_counter : NULL);
    collect_resources(s, m, one_shot, sample_ms);
    return PF_OK;
}
