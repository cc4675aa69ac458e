/* SPDX-License-Identifier: MIT */
/* sim.c: scenario files and the load model behind fleetsim's snapshots
 * (see sim.h and tests/fleetsim/README.md). */
#include "sim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define SCENARIO_MAX (4 * 1024 * 1024)

static uint32_t count_usable(const struct sim_host *h);

/* ---- parsing ---- */

static double num(const cJSON *o, const char *key, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void str(const cJSON *o, const char *key, char *dst, size_t len, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, len, "%s", cJSON_IsString(v) ? v->valuestring : def);
}

static bool endpoint(const cJSON *o, struct pf_endpoint *e)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "addr");
    if (!cJSON_IsString(a))
        return false;
    snprintf(e->addr, sizeof(e->addr), "%s", a->valuestring);
    e->port = (uint16_t)num(o, "port", 443);
    return true;
}

static void parse_leak(const cJSON *o, struct sim_leak *l)
{
    if (!cJSON_IsObject(o))
        return;
    l->present = true;
    l->per_min = num(o, "per_min", 0);
    l->since_h = num(o, "since_h", 0);
    l->restart_every_h = num(o, "restart_every_h", 0);
    l->plateau_after_h = num(o, "plateau_after_h", 0);
    l->bound = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "bound"));
}

static enum pf_rc parse_host(const cJSON *o, struct sim_host *h, char *err, size_t errlen)
{
    const cJSON *a, *e;

    memset(h, 0, sizeof(*h));
    str(o, "name", h->name, sizeof(h->name), "");
    str(o, "site", h->site, sizeof(h->site), "default");
    str(o, "os", h->os, sizeof(h->os), "windows");
    if (!h->name[0]) {
        snprintf(err, errlen, "a host has no name");
        return PF_INVALID;
    }
    a = cJSON_GetObjectItemCaseSensitive(o, "roles");
    cJSON_ArrayForEach(e, a)
    {
        if (cJSON_IsString(e) && h->nroles < PF_ROLES_MAX)
            snprintf(h->roles[h->nroles++], PF_ID_LEN, "%s", e->valuestring);
    }
    h->cpus = (uint32_t)num(o, "cpus", 4);
    h->memory_mb = (uint64_t)num(o, "memory_mb", 8192);
    a = cJSON_GetObjectItemCaseSensitive(o, "range");
    bool win = strcmp(h->os, "windows") == 0;
    h->range_start = (uint16_t)num(a, "start", win ? 49152 : 32768);
    h->range_count = (uint32_t)num(a, "count", win ? 16384 : 28232);
    a = cJSON_GetObjectItemCaseSensitive(o, "excluded");
    /* {"blocks": N, "start": S, "count": C, "gap": G}: N blocks of C ports
     * from S, G ports apart (Hyper-V / WinNAT reserve 100-port blocks). */
    if (cJSON_IsObject(a)) {
        int nb = (int)num(a, "blocks", 0);
        uint32_t s0 = (uint32_t)num(a, "start", 50000), c = (uint32_t)num(a, "count", 100);
        uint32_t gap = (uint32_t)num(a, "gap", 0);
        for (int b = 0; b < nb && h->nexcluded < SIM_EXCLUDED_MAX; b++) {
            uint32_t st = s0 + (uint32_t)b * (c + gap);
            if (st + c > 65536)
                break;
            h->excluded[h->nexcluded].start = (uint16_t)st;
            h->excluded[h->nexcluded++].count = c;
        }
        a = NULL;
    }
    cJSON_ArrayForEach(e, a)
    {
        if (h->nexcluded >= SIM_EXCLUDED_MAX)
            break;
        h->excluded[h->nexcluded].start = (uint16_t)num(e, "start", 1);
        h->excluded[h->nexcluded++].count = (uint32_t)num(e, "count", 1);
    }
    h->base = num(o, "base", 500);
    h->office = num(o, "office", 0);
    h->noise = num(o, "noise", 0);
    h->growth_per_day = num(o, "growth_per_day", 0);
    h->udp_base = num(o, "udp_base", h->base / 10);
    h->growth_compound = num(o, "growth_compound", 0);
    h->weekend = num(o, "weekend", 1);
    h->udp_office = num(o, "udp_office", 0);
    h->time_wait = num(o, "time_wait", 0);
    h->silent_for_h = num(o, "silent_for_h", 0);
    h->start_h = num(o, "start_h", 0);
    h->jump_at_h = num(cJSON_GetObjectItemCaseSensitive(o, "jump"), "at_h", 0);
    h->jump = num(cJSON_GetObjectItemCaseSensitive(o, "jump"), "ports", 0);
    h->spike_at_h = num(cJSON_GetObjectItemCaseSensitive(o, "spike"), "at_h", 0);
    h->spike = num(cJSON_GetObjectItemCaseSensitive(o, "spike"), "ports", 0);

    a = cJSON_GetObjectItemCaseSensitive(o, "processes");
    cJSON_ArrayForEach(e, a)
    {
        struct sim_proc *p;
        if (h->nprocs >= SIM_PROCS_MAX)
            break;
        p = &h->procs[h->nprocs++];
        str(e, "name", p->name, sizeof(p->name), "process");
        str(e, "service", p->service, sizeof(p->service), "");
        p->share = num(e, "share", 0);
        p->base = num(e, "base", 0);
        parse_leak(cJSON_GetObjectItemCaseSensitive(e, "leak"), &p->leak);
        p->jump_at_h = num(cJSON_GetObjectItemCaseSensitive(e, "jump"), "at_h", 0);
        p->jump = num(cJSON_GetObjectItemCaseSensitive(e, "jump"), "ports", 0);
        p->has_remote = endpoint(cJSON_GetObjectItemCaseSensitive(e, "remote"), &p->remote);
    }
    for (int i = 0; i < (int)num(o, "extra_processes", 0) && h->nprocs < SIM_PROCS_MAX; i++) {
        struct sim_proc *p = &h->procs[h->nprocs++];
        snprintf(p->name, sizeof(p->name), "svc%02d.exe", i);
        snprintf(p->service, sizeof(p->service), "Svc%02d", i);
        p->share = 0.02;
        p->base = 5 + i;
    }

    a = cJSON_GetObjectItemCaseSensitive(o, "events");
    cJSON_ArrayForEach(e, a)
    {
        struct sim_event *ev;
        if (h->nevents >= SIM_EVENTS_MAX)
            break;
        ev = &h->events[h->nevents++];
        ev->at_h = num(e, "at_h", 0);
        ev->counts.tcpip_4227 = (uint64_t)num(e, "tcpip_4227", 0);
        ev->counts.tcpip_4231 = (uint64_t)num(e, "tcpip_4231", 0);
        ev->counts.tcpip_4266 = (uint64_t)num(e, "tcpip_4266", 0);
        ev->counts.netlogon_5719 = (uint64_t)num(e, "netlogon_5719", 0);
    }

    a = cJSON_GetObjectItemCaseSensitive(o, "vpn");
    if (cJSON_IsObject(a)) {
        const cJSON *ike = cJSON_GetObjectItemCaseSensitive(a, "ike_value");
        h->has_vpn = true;
        h->vpn_connections = num(a, "connections", 0);
        h->vpn_office = num(a, "office", 0);
        h->vpn_ikev2_share = num(a, "ikev2_share", 1);
        h->vpn_clients = (uint64_t)num(a, "clients", h->vpn_connections);
        str(a, "top_addr", h->vpn_top_addr, sizeof(h->vpn_top_addr), "198.51.100.1");
        h->vpn_has_ike = cJSON_IsNumber(ike);
        h->vpn_ike = h->vpn_has_ike ? (uint32_t)ike->valuedouble : 0;
    }
    if (cJSON_IsObject(a)) {
        const cJSON *ports = cJSON_GetObjectItemCaseSensitive(a, "ports");
        for (int k = 0; k < PF_VPN_NPROTO && cJSON_IsObject(ports); k++) {
            h->vpn_ports[k] = (uint64_t)num(ports, pf_vpn_proto_name(k), 0);
            h->has_vpn_ports = true;
        }
        h->vpn_pool = (uint64_t)num(a, "address_pool", 0);
    }
    a = cJSON_GetObjectItemCaseSensitive(o, "resources");
    if (cJSON_IsObject(a)) {
        h->has_cpu = cJSON_GetObjectItemCaseSensitive(a, "cpu") != NULL;
        h->cpu = num(a, "cpu", 0);
        h->cpu_office = num(a, "cpu_office", 0);
        h->cpu_noise = num(a, "cpu_noise", 0);
        h->has_mem = cJSON_GetObjectItemCaseSensitive(a, "memory_mb") != NULL;
        h->mem_mb = num(a, "memory_mb", 0);
        h->mem_office_mb = num(a, "memory_office_mb", 0);
    }
    a = cJSON_GetObjectItemCaseSensitive(o, "sessions");
    if (cJSON_IsObject(a)) {
        str(a, "source", h->sess_source, sizeof(h->sess_source), "cloudflared");
        h->has_users = cJSON_GetObjectItemCaseSensitive(a, "users") != NULL;
        h->users = num(a, "users", 0);
        h->users_office = num(a, "users_office", 0);
        h->sessions_per_user = num(a, "sessions_per_user", 1.5);
        h->has_rps = cJSON_GetObjectItemCaseSensitive(a, "requests_per_s") != NULL;
        h->rps = num(a, "requests_per_s", 0);
        h->rps_office = num(a, "requests_per_s_office", 0);
    }
    h->distinct_ratio = num(o, "distinct_ratio", 1.0);
    h->usable = count_usable(h);
    a = cJSON_GetObjectItemCaseSensitive(o, "top_destination");
    if (cJSON_IsObject(a)) {
        h->has_top_dest = endpoint(a, &h->top_dest);
        h->top_dest_share = num(a, "share", 0.5);
    }
    return PF_OK;
}

enum pf_rc sim_load(const char *path, struct sim_scenario **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len;
    struct sim_scenario *sc = NULL;
    const cJSON *hosts, *e;
    enum pf_rc rc = PF_INVALID;
    size_t n = 0;

    *out = NULL;
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return PF_NOTFOUND;
    }
    text = malloc(SCENARIO_MAX + 1);
    len = text ? fread(text, 1, SCENARIO_MAX + 1, f) : 0;
    fclose(f);
    if (!text || len > SCENARIO_MAX) {
        snprintf(err, errlen, "%s: unreadable or over %d bytes", path, SCENARIO_MAX);
        goto out;
    }
    sc = calloc(1, sizeof(*sc));
    if (!sc)
        goto out;
    sc->json = cJSON_ParseWithLength(text, len);
    if (!sc->json) {
        snprintf(err, errlen, "%s: not JSON", path);
        goto out;
    }
    str(sc->json, "name", sc->name, sizeof(sc->name), "scenario");
    sc->days = num(sc->json, "days", 7);
    sc->interval_s = (uint32_t)num(sc->json, "interval_s", 300);
    sc->seed = (uint64_t)num(sc->json, "seed", 1);
    if (sc->interval_s == 0 || sc->days <= 0) {
        snprintf(err, errlen, "%s: interval_s and days must be > 0", path);
        goto out;
    }
    hosts = cJSON_GetObjectItemCaseSensitive(sc->json, "hosts");
    cJSON_ArrayForEach(e, hosts)
    {
        n += (size_t)(num(e, "replicate", 1) > 0 ? num(e, "replicate", 1) : 1);
    }
    if (n == 0) {
        snprintf(err, errlen, "%s: no hosts", path);
        goto out;
    }
    sc->hosts = calloc(n, sizeof(*sc->hosts));
    if (!sc->hosts)
        goto out;
    cJSON_ArrayForEach(e, hosts)
    {
        size_t reps = (size_t)(num(e, "replicate", 1) > 0 ? num(e, "replicate", 1) : 1);
        size_t per_site = (size_t)num(e, "hosts_per_site", 0);
        struct sim_host proto;
        if (parse_host(e, &proto, err, errlen) != PF_OK)
            goto out;
        for (size_t r = 0; r < reps; r++) {
            struct sim_host *h = &sc->hosts[sc->nhosts];
            *h = proto;
            if (reps > 1) {
                snprintf(h->name, sizeof(h->name), "%.200s-%04zu", proto.name, r + 1);
                if (per_site)
                    snprintf(h->site, sizeof(h->site), "%.40s-%03zu", proto.site, r / per_site + 1);
            }
            h->seed = sc->seed * 1000003u + sc->nhosts;
            sc->nhosts++;
        }
    }
    rc = PF_OK;
out:
    free(text);
    if (rc == PF_OK) {
        *out = sc;
    } else {
        if (!err[0])
            snprintf(err, errlen, "%s: out of memory", path);
        sim_free(sc);
    }
    return rc;
}

void sim_free(struct sim_scenario *sc)
{
    if (!sc)
        return;
    cJSON_Delete(sc->json);
    free(sc->hosts);
    free(sc);
}

/* ---- the model ---- */

/* A uniform value in [-1, 1) from (seed, t, salt) (splitmix64). */
static double noise(uint64_t seed, int64_t t, uint64_t salt)
{
    uint64_t z = seed ^ ((uint64_t)t * 0x9E3779B97F4A7C15ULL) ^ (salt * 0xBF58476D1CE4E5B9ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ULL << 52) - 1.0;
}

/* Office hours 08-18 UTC with an hour's ramp on each side: 0..1. */
static double office_factor(int64_t t)
{
    double hod = (double)(t % 86400) / 3600.0;

    if (hod < 7 || hod >= 19)
        return 0;
    if (hod < 8)
        return hod - 7;
    if (hod >= 18)
        return 19 - hod;
    return 1;
}

static uint64_t clamp_u(double v);

/* The resources and sessions sections (sim.h), when the scenario has
 * them. */
static void sim_sizing(const struct sim_host *h, int64_t t, struct pf_snapshot *s)
{
    double of = office_factor(t);

    if (h->has_cpu || h->has_mem) {
        s->has_resources = true;
        if (h->has_cpu) {
            double cpu = h->cpu + h->cpu_office * of + h->cpu_noise * 0.5 * noise(h->seed, t, 11);
            cpu = cpu < 0 ? 0 : cpu > 100 ? 100 : cpu;
            s->resources.has_cpu_pct = s->resources.has_cpu_pct_peak = true;
            s->resources.cpu_pct = round(cpu * 100) / 100;
            s->resources.cpu_pct_peak = round((cpu + h->cpu_noise > 100 ? 100 : cpu + h->cpu_noise) *
                                              100) / 100;
        }
        if (h->has_mem) {
            double mem = h->mem_mb + h->mem_office_mb * of;
            s->resources.has_memory_used_mb = true;
            s->resources.memory_used_mb = clamp_u(mem);
            if (h->memory_mb && s->resources.memory_used_mb > h->memory_mb)
                s->resources.memory_used_mb = h->memory_mb;
        }
    }
    if (h->sess_source[0]) {
        s->has_sessions = true;
        snprintf(s->sessions.source, sizeof(s->sessions.source), "%s", h->sess_source);
        if (h->has_users) {
            double users = h->users + h->users_office * of;
            s->sessions.has_users = true;
            s->sessions.users = clamp_u(users);
            s->sessions.has_tcp_active = s->sessions.has_udp_active = true;
            s->sessions.tcp_active = clamp_u(users * h->sessions_per_user);
            s->sessions.udp_active = clamp_u(users * 0.1);
        }
        if (h->has_rps) {
            s->sessions.has_requests_per_s = true;
            s->sessions.requests_per_s = round((h->rps + h->rps_office * of) * 100) / 100;
        }
    }
}

/* Seconds the current leak cycle has run at t, or -1 before the leak. */
static double leak_age(const struct sim_leak *l, int64_t now, int64_t t, bool future_restarts)
{
    double start = (double)now - l->since_h * 3600, age = (double)t - start;

    if (!l->present)
        return -1;
    if (l->restart_every_h > 0) {
        double period = l->restart_every_h * 3600;
        if (age >= 0 && !future_restarts)
            return age;
        age = fmod(age, period);
        if (age < 0)
            age += period;
        return age;
    }
    return age < 0 ? -1 : age;
}

static double leak_held(const struct sim_leak *l, int64_t now, int64_t t, bool future_restarts)
{
    double age = leak_age(l, now, t, future_restarts);

    if (age < 0)
        return 0;
    if (l->plateau_after_h > 0 && age > l->plateau_after_h * 3600)
        age = l->plateau_after_h * 3600;
    return l->per_min * age / 60;
}

/* Saturday or Sunday (UTC): 1970-01-01 was a Thursday. */
static bool weekend_day(int64_t t)
{
    int64_t dow = (t / 86400 + 4) % 7; /* 0 = Sunday */

    return dow == 0 || dow == 6;
}

/* Office hours with the weekend's share. */
static double office_load(const struct sim_host *h, int64_t t)
{
    return office_factor(t) * (weekend_day(t) ? h->weekend : 1);
}

/* Compounding growth since the scenario's first day: 1 without it. */
static double compound(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                       int64_t t)
{
    double first = (double)now - sc->days * 86400;

    return h->growth_compound > 0 ? pow(1 + h->growth_compound, ((double)t - first) / 86400) : 1;
}

/* The host's load that "share" processes divide. */
static double load(const struct sim_scenario *sc, const struct sim_host *h, int64_t now, int64_t t)
{
    double first = (double)now - sc->days * 86400;

    return (h->base + h->office * office_load(h, t)) * compound(sc, h, now, t) +
           h->growth_per_day * ((double)t - first) / 86400;
}

static double proc_held(const struct sim_proc *p, double host_load, int64_t now, int64_t t,
                        bool future_restarts)
{
    double v = p->base + p->share * host_load + leak_held(&p->leak, now, t, future_restarts);

    if (p->jump_at_h > 0 && (double)t >= (double)now - p->jump_at_h * 3600)
        v += p->jump;
    return v;
}

static double tcp_model(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                        int64_t t, bool future_restarts)
{
    double v = load(sc, h, now, t);

    for (size_t i = 0; i < h->nprocs; i++)
        v += proc_held(&h->procs[i], 0, now, t, future_restarts); /* shares are inside the load */
    if (h->jump_at_h > 0 && (double)t >= (double)now - h->jump_at_h * 3600)
        v += h->jump;
    return v + h->time_wait;
}

double sim_tcp_truth(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                     int64_t t)
{
    return tcp_model(sc, h, now, t, false);
}

uint32_t sim_usable(const struct sim_host *h)
{
    return h->usable;
}

/* Range minus the excluded ports inside it (each port once). */
static uint32_t count_usable(const struct sim_host *h)
{
    uint32_t n = 0, end = (uint32_t)h->range_start + h->range_count;

    for (uint32_t p = h->range_start; p < end; p++)
        for (size_t i = 0; i < h->nexcluded; i++)
            if (p >= h->excluded[i].start &&
                p < (uint32_t)h->excluded[i].start + h->excluded[i].count) {
                n++;
                break;
            }
    return h->range_count - n;
}

int64_t sim_exhaustion_truth(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                             double max_days)
{
    double usable = sim_usable(h);

    for (int64_t t = now; (double)(t - now) <= max_days * 86400; t += 60)
        if (sim_tcp_truth(sc, h, now, t) >= usable)
            return t;
    return -1;
}

void sim_times(const struct sim_scenario *sc, const struct sim_host *h, int64_t now, int64_t *first,
               int64_t *last)
{
    int64_t iv = sc->interval_s;
    double span_h = h->start_h > 0 ? h->start_h : sc->days * 24;

    *last = (now - (int64_t)(h->silent_for_h * 3600)) / iv * iv;
    *first = ((now - (int64_t)(span_h * 3600)) / iv + 1) * iv;
}

static int cmp_proc(const void *a, const void *b)
{
    const struct pf_process *x = a, *y = b;
    uint64_t hx = x->tcp_ports + x->udp_ports, hy = y->tcp_ports + y->udp_ports;

    return hx > hy ? -1 : hx < hy;
}

static uint64_t clamp_u(double v)
{
    return v > 0 ? (uint64_t)llround(v) : 0;
}

enum pf_rc sim_snapshot(const struct sim_scenario *sc, const struct sim_host *h, int64_t now,
                        int64_t t, uint64_t seq, const char *agent_id, struct pf_snapshot *s)
{
    bool win = strcmp(h->os, "windows") == 0;
    double host_load = load(sc, h, now, t), tcp, conns, owned = 0, bound = 0;
    double usable = sim_usable(h);
    int64_t iv = sc->interval_s;
    size_t k = 0;

    pf_snapshot_clear(s);
    snprintf(s->agent_id, sizeof(s->agent_id), "%s", agent_id);
    s->seq = seq;
    s->taken_at = t;
    s->interval_s = sc->interval_s;
    snprintf(s->host.name, sizeof(s->host.name), "%s", h->name);
    snprintf(s->host.site, sizeof(s->host.site), "%s", h->site);
    snprintf(s->host.machine_id, sizeof(s->host.machine_id), "sim-%016llx",
             (unsigned long long)h->seed);
    snprintf(s->host.os, sizeof(s->host.os), "%s", h->os);
    snprintf(s->host.os_version, sizeof(s->host.os_version), "%s",
             win ? "10.0.20348" : "6.1.0-sim");
    memcpy(s->host.roles, h->roles, sizeof(s->host.roles));
    s->host.nroles = h->nroles;
    s->host.cpus = h->cpus;
    s->host.memory_mb = h->memory_mb;
    snprintf(s->host.agent_version, sizeof(s->host.agent_version), "fleetsim");
    for (int p = 0; p < 2; p++)
        for (int fam = 0; fam < 2; fam++)
            s->ranges[s->nranges++] =
                (struct pf_range){(uint8_t)p, (uint8_t)fam, h->range_start, h->range_count};
    if (h->nexcluded) {
        s->excluded = calloc(h->nexcluded * 2, sizeof(*s->excluded));
        if (!s->excluded)
            return PF_NOMEM;
        s->has_excluded = true;
        for (size_t i = 0; i < h->nexcluded; i++)
            for (int p = 0; p < 2; p++) {
                s->excluded[s->nexcluded] = h->excluded[i];
                s->excluded[s->nexcluded].proto = (uint8_t)p;
                s->excluded[s->nexcluded++].family = PF_FAMILY_IPV4;
            }
    }

    /* Processes: shares of the load, leaks, jumps; sorted by ports held. */
    if (h->nprocs) {
        s->processes = calloc(h->nprocs, sizeof(*s->processes));
        if (!s->processes)
            return PF_NOMEM;
        s->has_processes = true;
    }
    for (size_t i = 0; i < h->nprocs; i++) {
        const struct sim_proc *sp = &h->procs[i];
        struct pf_process *p = &s->processes[s->nprocesses++];
        double held = proc_held(sp, host_load, now, t, true);
        double lk = leak_held(&sp->leak, now, t, true);
        held += fabs(noise(h->seed, t, 100 + i)) * (sp->leak.present ? 4 : h->noise * sp->share);
        p->pid = (uint32_t)(1000 + 4 * i);
        if (sp->leak.present && leak_age(&sp->leak, now, t, true) >= 0) {
            /* A restart gets a new PID: number the cycles by their start hour. */
            int64_t cycle = (t - (int64_t)leak_age(&sp->leak, now, t, true)) / 3600;
            p->pid += (uint32_t)(cycle % 1000) * 8;
        }
        snprintf(p->name, sizeof(p->name), "%s", sp->name);
        snprintf(p->service, sizeof(p->service), "%s", sp->service);
        p->tcp_ports = clamp_u(held);
        p->states[PF_TCP_BOUND] = sp->leak.bound ? clamp_u(lk) : 0;
        p->states[PF_TCP_ESTABLISHED] = p->tcp_ports - p->states[PF_TCP_BOUND];
        if (sp->has_remote) {
            p->has_top_remote = true;
            p->top_remote = sp->remote;
            p->top_remote.count = p->tcp_ports;
        }
        owned += (double)p->tcp_ports;
        bound += (double)p->states[PF_TCP_BOUND];
    }
    if (s->nprocesses)
        qsort(s->processes, s->nprocesses, sizeof(*s->processes), cmp_proc);

    /* A full range holds no more: what leaks past it was never handed out. */
    for (size_t i = 0; i < s->nprocesses && owned > usable; i++) {
        struct pf_process *p = &s->processes[i];
        uint64_t cut = p->states[PF_TCP_BOUND] < (uint64_t)(owned - usable)
                           ? p->states[PF_TCP_BOUND]
                           : (uint64_t)(owned - usable);
        p->tcp_ports -= cut;
        p->states[PF_TCP_BOUND] -= cut;
        owned -= (double)cut;
        bound -= (double)cut;
    }
    /* Host totals: the model, noise, the spike; never below what the
     * processes hold, never above the usable ports. */
    tcp = tcp_model(sc, h, now, t, true) + h->noise * noise(h->seed, t, 1);
    if (h->spike_at_h > 0) {
        int64_t at = now - (int64_t)(h->spike_at_h * 3600);
        if (t >= at / 3600 * 3600 && t < at / 3600 * 3600 + 3600)
            tcp += h->spike;
    }
    if (tcp < owned)
        tcp = owned;
    if (tcp > usable)
        tcp = usable;
    conns = tcp;
    if (!win) {
        /* Linux shares a local port across destinations: fewer distinct
         * ports than connections (distinct_ratio), the processes' ports too. */
        tcp *= h->distinct_ratio;
        for (size_t i = 0; i < s->nprocesses; i++) {
            s->processes[i].tcp_ports =
                clamp_u((double)s->processes[i].tcp_ports * h->distinct_ratio);
            s->processes[i].states[PF_TCP_ESTABLISHED] =
                s->processes[i].tcp_ports - s->processes[i].states[PF_TCP_BOUND];
        }
        if (tcp < bound)
            tcp = bound;
    }
    s->tcp.ephemeral_in_use = clamp_u(tcp);
    s->tcp.states[PF_TCP_BOUND] = clamp_u(bound);
    {
        /* A TIME_WAIT storm of the host's own is all TIME_WAIT; the rest 20%. */
        double rest = tcp - bound - h->time_wait, tw = (rest > 0 ? rest * 0.2 : 0) + h->time_wait;
        s->tcp.states[PF_TCP_TIME_WAIT] = clamp_u(tw < tcp - bound ? tw : tcp - bound);
    }
    s->tcp.states[PF_TCP_ESTABLISHED] =
        s->tcp.ephemeral_in_use - s->tcp.states[PF_TCP_BOUND] - s->tcp.states[PF_TCP_TIME_WAIT];
    s->tcp.states[PF_TCP_LISTEN] = 12;
    {
        double udp = (h->udp_base + h->udp_office * office_load(h, t)) * compound(sc, h, now, t) +
                     h->noise * 0.2 * noise(h->seed, t, 2);
        s->udp.ephemeral_in_use = clamp_u(udp < usable ? udp : usable);
    }
    s->udp.endpoints = s->udp.ephemeral_in_use + 8;
    if (h->has_top_dest) {
        s->tcp.has_top_destination = true;
        s->tcp.top_destination = h->top_dest;
        s->tcp.top_destination.count = clamp_u(conns * h->top_dest_share);
        s->remotes = calloc(1, sizeof(*s->remotes));
        if (!s->remotes)
            return PF_NOMEM;
        s->remotes[0] = s->tcp.top_destination;
        s->nremotes = 1;
        s->has_remotes = true;
    }

    if (win) {
        s->has_events = true;
        for (size_t i = 0; i < h->nevents; i++) {
            int64_t at = now - (int64_t)(h->events[i].at_h * 3600);
            if (t >= at && t < at + iv) {
                s->events.tcpip_4227 += h->events[i].counts.tcpip_4227;
                s->events.tcpip_4231 += h->events[i].counts.tcpip_4231;
                s->events.tcpip_4266 += h->events[i].counts.tcpip_4266;
                s->events.netlogon_5719 += h->events[i].counts.netlogon_5719;
            }
        }
    } else {
        pf_snapshot_add_unmeasured(s, "events");
    }

    if (h->has_vpn) {
        double conn = h->vpn_connections + h->vpn_office * office_factor(t) +
                      h->noise * 0.01 * noise(h->seed, t, 3);
        uint64_t c = clamp_u(conn), clients = h->vpn_clients < c ? h->vpn_clients : c;
        s->has_vpn = true;
        s->vpn.connections = c;
        s->vpn.by_protocol[PF_VPN_IKEV2] = clamp_u((double)c * h->vpn_ikev2_share);
        s->vpn.by_protocol[PF_VPN_SSTP] = c - s->vpn.by_protocol[PF_VPN_IKEV2];
        s->vpn.distinct_clients = clients;
        k = clients < 3 ? clients : 3;
        if (k) {
            s->vpn.top = calloc(k, sizeof(*s->vpn.top));
            if (!s->vpn.top)
                return PF_NOMEM;
            s->vpn.ntop = k;
            for (size_t i = 0; i < k; i++) {
                uint64_t share = c / clients + (i == 0 ? c % clients : 0);
                if (i == 0)
                    snprintf(s->vpn.top[i].addr, sizeof(s->vpn.top[i].addr), "%s", h->vpn_top_addr);
                else
                    snprintf(s->vpn.top[i].addr, sizeof(s->vpn.top[i].addr), "198.51.100.%zu",
                             10 + i);
                s->vpn.top[i].count = share;
            }
        }
        s->vpn.has_ike_value = h->vpn_has_ike;
        s->vpn.ike_num_established_for_initial_query = h->vpn_ike;
        /* A port carries one connection; an address one client. */
        if (h->has_vpn_ports) {
            s->vpn.has_ports = true;
            for (int p = 0; p < PF_VPN_NPROTO; p++) {
                uint64_t used = p <= PF_VPN_SSTP ? s->vpn.by_protocol[p] : 0;
                if (!h->vpn_ports[p])
                    continue;
                s->vpn.ports[s->vpn.nports].proto = (uint8_t)p;
                s->vpn.ports[s->vpn.nports].configured = h->vpn_ports[p];
                s->vpn.ports[s->vpn.nports].in_use = used < h->vpn_ports[p] ? used : h->vpn_ports[p];
                s->vpn.nports++;
            }
        }
        if (h->vpn_pool) {
            s->vpn.has_address_pool = true;
            s->vpn.pool_size = h->vpn_pool;
            s->vpn.pool_in_use = c < h->vpn_pool ? c : h->vpn_pool;
        }
    }
    sim_sizing(h, t, s);
    s->has_agent_stats = true;
    return PF_OK;
}
