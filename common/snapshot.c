/* SPDX-License-Identifier: MIT */
/* snapshot.c: life cycle and small queries of struct pf_snapshot. */
#include "snapshot.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const proto_names[] = {"tcp", "udp"};
static const char *const family_names[] = {"ipv4", "ipv6"};

const char *pf_proto_name(int proto)
{
    return proto >= 0 && proto < 2 ? proto_names[proto] : "?";
}

const char *pf_family_name(int family)
{
    return family >= 0 && family < 2 ? family_names[family] : "?";
}

int pf_proto_from_name(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(s, proto_names[i]) == 0)
            return i;
    return -1;
}

int pf_family_from_name(const char *s)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(s, family_names[i]) == 0)
            return i;
    return -1;
}

static const char *const vpn_proto_names[PF_VPN_NPROTO] = {"ikev2", "sstp", "l2tp", "pptp"};

const struct pf_field pf_fields[PF_NFIELDS] = {
#define PF_FIELD_ROW(sec, nm, kind, txt, roll)                                                     \
    {PF_SECTION_##sec, #sec, #nm, #sec "." #nm, PF_FIELD_##kind, txt, roll,                        \
     offsetof(struct pf_snapshot, has_##sec), offsetof(struct pf_snapshot, sec.has_##nm),          \
     offsetof(struct pf_snapshot, sec.nm)},
    PF_SNAPSHOT_FIELDS(PF_FIELD_ROW)
#undef PF_FIELD_ROW
};

bool pf_field_has(const struct pf_snapshot *s, const struct pf_field *f)
{
    const char *p = (const char *)s;

    return *(const bool *)(p + f->section_has) && *(const bool *)(p + f->has);
}

uint64_t pf_field_count(const struct pf_snapshot *s, const struct pf_field *f)
{
    const char *p = (const char *)s + f->value;

    return f->kind == PF_FIELD_COUNT ? *(const uint64_t *)p : (uint64_t)*(const double *)p;
}

double pf_field_value(const struct pf_snapshot *s, const struct pf_field *f)
{
    const char *p = (const char *)s + f->value;

    return f->kind == PF_FIELD_COUNT ? (double)*(const uint64_t *)p : *(const double *)p;
}

bool *pf_field_has_ptr(struct pf_snapshot *s, const struct pf_field *f)
{
    return (bool *)((char *)s + f->has);
}

void *pf_field_value_ptr(struct pf_snapshot *s, const struct pf_field *f)
{
    return (char *)s + f->value;
}

const char *pf_vpn_proto_name(int proto)
{
    return proto >= 0 && proto < PF_VPN_NPROTO ? vpn_proto_names[proto] : "?";
}

int pf_vpn_proto_from_name(const char *s)
{
    for (int i = 0; i < PF_VPN_NPROTO; i++)
        if (strcmp(s, vpn_proto_names[i]) == 0)
            return i;
    return -1;
}

struct pf_snapshot *pf_snapshot_new(void)
{
    return calloc(1, sizeof(struct pf_snapshot));
}

void pf_snapshot_clear(struct pf_snapshot *s)
{
    free(s->excluded);
    free(s->processes);
    free(s->remotes);
    free(s->vpn.top);
    memset(s, 0, sizeof(*s));
}

void pf_snapshot_free(struct pf_snapshot *s)
{
    if (!s)
        return;
    pf_snapshot_clear(s);
    free(s);
}

bool pf_snapshot_is_unmeasured(const struct pf_snapshot *s, const char *path)
{
    for (size_t i = 0; i < s->nunmeasured; i++)
        if (strcmp(s->unmeasured[i], path) == 0)
            return true;
    return false;
}

enum pf_rc pf_snapshot_add_unmeasured(struct pf_snapshot *s, const char *path)
{
    if (pf_snapshot_is_unmeasured(s, path))
        return PF_OK;
    if (s->nunmeasured >= PF_UNMEASURED_MAX || strlen(path) >= PF_ID_LEN)
        return PF_TOOBIG;
    snprintf(s->unmeasured[s->nunmeasured++], PF_ID_LEN, "%s", path);
    return PF_OK;
}

enum pf_rc pf_snapshot_add_role(struct pf_snapshot *s, const char *role)
{
    for (size_t i = 0; i < s->host.nroles; i++)
        if (strcmp(s->host.roles[i], role) == 0)
            return PF_OK;
    if (s->host.nroles >= PF_ROLES_MAX || strlen(role) >= PF_ID_LEN)
        return PF_TOOBIG;
    snprintf(s->host.roles[s->host.nroles++], PF_ID_LEN, "%s", role);
    return PF_OK;
}

const struct pf_range *pf_snapshot_range(const struct pf_snapshot *s, int proto, int family)
{
    for (size_t i = 0; i < s->nranges; i++)
        if (s->ranges[i].proto == proto && s->ranges[i].family == family)
            return &s->ranges[i];
    return NULL;
}

uint32_t pf_snapshot_usable_ports(const struct pf_snapshot *s, int proto, int family)
{
    const struct pf_range *r = pf_snapshot_range(s, proto, family);
    uint32_t lo, hi, excluded = 0;
    /* Excluded blocks may overlap each other: count each port once. */
    unsigned char seen[65536 / 8];

    if (!r)
        return 0;
    /* Exclusions not measured: the blocks in the array (if any) are not
     * this snapshot's, so nothing is taken off the range. */
    if (!s->has_excluded)
        return r->count;
    lo = r->start;
    hi = r->start + r->count; /* exclusive */
    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < s->nexcluded; i++) {
        const struct pf_range *e = &s->excluded[i];
        if (e->proto != proto || e->family != family)
            continue;
        for (uint32_t p = e->start; p < (uint32_t)e->start + e->count && p < 65536; p++) {
            if (p < lo || p >= hi || (seen[p / 8] & (1u << (p % 8))))
                continue;
            seen[p / 8] |= (unsigned char)(1u << (p % 8));
            excluded++;
        }
    }
    return r->count - excluded;
}

/* Comparison: report the first differing path, for round-trip tests. */
#define DIFF(path)                                                                                 \
    do {                                                                                           \
        if (where)                                                                                 \
            snprintf(where, wherelen, "%s", path);                                                 \
        return 1;                                                                                  \
    } while (0)
#define DIFFI(fmt, i)                                                                              \
    do {                                                                                           \
        if (where)                                                                                 \
            snprintf(where, wherelen, fmt, i);                                                     \
        return 1;                                                                                  \
    } while (0)

static int endpoint_eq(const struct pf_endpoint *a, const struct pf_endpoint *b)
{
    return strcmp(a->addr, b->addr) == 0 && a->port == b->port && a->count == b->count;
}

static int range_eq(const struct pf_range *a, const struct pf_range *b)
{
    return a->proto == b->proto && a->family == b->family && a->start == b->start &&
           a->count == b->count;
}

/* pf_snapshot_compare's steps: 1 and the path in where at the first
 * difference, else 0. */
static int host_diff(const struct pf_host *ha, const struct pf_host *hb, char *where,
                     size_t wherelen)
{
    if (strcmp(ha->name, hb->name))
        DIFF("host.name");
    if (strcmp(ha->site, hb->site))
        DIFF("host.site");
    if (strcmp(ha->machine_id, hb->machine_id))
        DIFF("host.machine_id");
    if (strcmp(ha->os, hb->os))
        DIFF("host.os");
    if (strcmp(ha->os_version, hb->os_version))
        DIFF("host.os_version");
    if (ha->nroles != hb->nroles)
        DIFF("host.roles");
    for (size_t i = 0; i < ha->nroles; i++)
        if (strcmp(ha->roles[i], hb->roles[i]))
            DIFFI("host.roles[%zu]", i);
    if (ha->cpus != hb->cpus)
        DIFF("host.cpus");
    if (ha->memory_mb != hb->memory_mb)
        DIFF("host.memory_mb");
    if (strcmp(ha->agent_version, hb->agent_version))
        DIFF("host.agent_version");
    return 0;
}

static int vpn_diff(const struct pf_vpn *va, const struct pf_vpn *vb, char *where, size_t wherelen)
{
    if (va->connections != vb->connections ||
        memcmp(va->by_protocol, vb->by_protocol, sizeof(va->by_protocol)) ||
        va->distinct_clients != vb->distinct_clients || va->ntop != vb->ntop ||
        va->has_ike_value != vb->has_ike_value ||
        (va->has_ike_value && va->ike_num_established_for_initial_query !=
                                  vb->ike_num_established_for_initial_query))
        DIFF("vpn");
    for (size_t i = 0; i < va->ntop; i++)
        if (strcmp(va->top[i].addr, vb->top[i].addr) || va->top[i].count != vb->top[i].count)
            DIFFI("vpn.client_addresses.top[%zu]", i);
    if (va->has_ports != vb->has_ports || va->nports != vb->nports)
        DIFF("vpn.ports");
    for (size_t i = 0; i < va->nports; i++)
        if (va->ports[i].proto != vb->ports[i].proto ||
            va->ports[i].configured != vb->ports[i].configured ||
            va->ports[i].in_use != vb->ports[i].in_use)
            DIFFI("vpn.ports[%zu]", i);
    if (va->has_address_pool != vb->has_address_pool ||
        (va->has_address_pool &&
         (va->pool_size != vb->pool_size || va->pool_in_use != vb->pool_in_use)))
        DIFF("vpn.address_pool");
    return 0;
}

int pf_snapshot_compare(const struct pf_snapshot *a, const struct pf_snapshot *b, char *where,
                        size_t wherelen)
{
    if (strcmp(a->agent_id, b->agent_id))
        DIFF("agent_id");
    if (a->seq != b->seq)
        DIFF("seq");
    if (a->taken_at != b->taken_at)
        DIFF("taken_at");
    if (a->interval_s != b->interval_s)
        DIFF("interval_s");
    if (host_diff(&a->host, &b->host, where, wherelen))
        return 1;
    if (a->nranges != b->nranges)
        DIFF("ranges");
    for (size_t i = 0; i < a->nranges; i++)
        if (!range_eq(&a->ranges[i], &b->ranges[i]))
            DIFFI("ranges[%zu]", i);
    if (a->has_excluded != b->has_excluded || a->nexcluded != b->nexcluded)
        DIFF("excluded");
    for (size_t i = 0; i < a->nexcluded; i++)
        if (!range_eq(&a->excluded[i], &b->excluded[i]))
            DIFFI("excluded[%zu]", i);
    for (int i = 0; i < PF_TCP_NSTATES; i++)
        if (a->tcp.states[i] != b->tcp.states[i])
            DIFFI("tcp.states.%s", pf_tcp_state_name(i));
    if (a->tcp.ephemeral_in_use != b->tcp.ephemeral_in_use)
        DIFF("tcp.ephemeral_in_use");
    if (a->tcp.has_top_destination != b->tcp.has_top_destination ||
        (a->tcp.has_top_destination &&
         !endpoint_eq(&a->tcp.top_destination, &b->tcp.top_destination)))
        DIFF("tcp.top_destination");
    if (a->udp.endpoints != b->udp.endpoints)
        DIFF("udp.endpoints");
    if (a->udp.ephemeral_in_use != b->udp.ephemeral_in_use)
        DIFF("udp.ephemeral_in_use");
    if (a->has_processes != b->has_processes || a->nprocesses != b->nprocesses)
        DIFF("processes");
    for (size_t i = 0; i < a->nprocesses; i++) {
        const struct pf_process *pa = &a->processes[i], *pb = &b->processes[i];
        if (pa->pid != pb->pid || strcmp(pa->name, pb->name) || strcmp(pa->service, pb->service) ||
            pa->tcp_ports != pb->tcp_ports || pa->udp_ports != pb->udp_ports ||
            memcmp(pa->states, pb->states, sizeof(pa->states)) ||
            pa->has_top_remote != pb->has_top_remote ||
            (pa->has_top_remote && !endpoint_eq(&pa->top_remote, &pb->top_remote)))
            DIFFI("processes[%zu]", i);
    }
    if (a->has_remotes != b->has_remotes || a->nremotes != b->nremotes)
        DIFF("remotes");
    for (size_t i = 0; i < a->nremotes; i++)
        if (!endpoint_eq(&a->remotes[i], &b->remotes[i]))
            DIFFI("remotes[%zu]", i);
    if (a->has_events != b->has_events ||
        (a->has_events && memcmp(&a->events, &b->events, sizeof(a->events))))
        DIFF("events");
    if (a->has_vpn != b->has_vpn)
        DIFF("vpn");
    if (a->has_vpn && vpn_diff(&a->vpn, &b->vpn, where, wherelen))
        return 1;
    if (a->has_resources != b->has_resources)
        DIFF("resources");
    if (a->has_sessions != b->has_sessions)
        DIFF("sessions");
    if (a->has_sessions) {
        const struct pf_sessions *sa = &a->sessions, *sb = &b->sessions;
        if (strcmp(sa->source, sb->source))
            DIFF("sessions.source");
    }
    for (size_t i = 0; i < PF_NFIELDS; i++) {
        const struct pf_field *f = &pf_fields[i];
        bool fa = pf_field_has(a, f);

        if (fa != pf_field_has(b, f) ||
            (fa && (f->kind == PF_FIELD_COUNT ? pf_field_count(a, f) != pf_field_count(b, f)
                                              : pf_field_value(a, f) != pf_field_value(b, f))))
            DIFF(f->path);
    }
    if (a->nunmeasured != b->nunmeasured)
        DIFF("unmeasured");
    for (size_t i = 0; i < a->nunmeasured; i++)
        if (strcmp(a->unmeasured[i], b->unmeasured[i]))
            DIFFI("unmeasured[%zu]", i);
    if (a->has_agent_stats != b->has_agent_stats)
        DIFF("agent_stats");
    if (a->has_agent_stats) {
        const struct pf_agent_stats *sa = &a->agent_stats, *sb = &b->agent_stats;
        if (sa->spool_depth != sb->spool_depth || sa->spool_dropped != sb->spool_dropped ||
            sa->spool_corrupt != sb->spool_corrupt ||
            sa->has_last_push_error != sb->has_last_push_error ||
            (sa->has_last_push_error && strcmp(sa->last_push_error, sb->last_push_error)))
            DIFF("agent_stats");
    }
    if (a->truncated != b->truncated)
        DIFF("truncated");
    return 0;
}
