/* SPDX-License-Identifier: MIT */
/* aggregate.c: socket records -> snapshot counts (definitions in
 * aggregate.h). Sort-based: O(n log n) over index arrays, two 8 KiB port
 * bitmaps, no per-socket allocation, so 50,000 sockets cost a few ms. */
#include "aggregate.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"

struct port_range {
    uint32_t lo, hi; /* inclusive; lo > hi when there is no range */
};

struct ctx {
    const struct sockrec *v;
    struct port_range range[2][2]; /* [proto][family] */
};

/* qsort has no context argument in C11: the comparators read this. The
 * agent is single-threaded. */
static const struct sockrec *cmp_recs;

static int in_range(const struct ctx *c, const struct sockrec *r)
{
    const struct port_range *pr = &c->range[r->proto & 1][r->family & 1];
    return r->lport >= pr->lo && r->lport <= pr->hi;
}

static int remote_cmp(const struct sockrec *a, const struct sockrec *b)
{
    int d;

    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    d = memcmp(a->raddr, b->raddr, a->family == PF_FAMILY_IPV4 ? 4 : 16);
    if (d)
        return d;
    return (int)a->rport - (int)b->rport;
}

static int cmp_remote_idx(const void *x, const void *y)
{
    const struct sockrec *a = &cmp_recs[*(const uint32_t *)x];
    const struct sockrec *b = &cmp_recs[*(const uint32_t *)y];
    int d = remote_cmp(a, b);

    if (d)
        return d;
    return *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1;
}

/* Owners grouped by pid; within a pid by proto and local port, then by
 * record so the same (pid, socket) seen through two fds is adjacent. */
static int cmp_owner(const void *x, const void *y)
{
    const struct sockown *oa = x, *ob = y;
    const struct sockrec *a = &cmp_recs[oa->rec], *b = &cmp_recs[ob->rec];

    if (oa->pid != ob->pid)
        return oa->pid < ob->pid ? -1 : 1;
    if (a->proto != b->proto)
        return a->proto < b->proto ? -1 : 1;
    if (a->lport != b->lport)
        return a->lport < b->lport ? -1 : 1;
    if (oa->rec != ob->rec)
        return oa->rec < ob->rec ? -1 : 1;
    return 0;
}

static int cmp_endpoint_rank(const void *x, const void *y)
{
    const struct pf_endpoint *a = x, *b = y;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return strcmp(a->addr, b->addr);
}

struct proc_acc {
    struct pf_process p;
    uint64_t sockets;
};

static int cmp_proc_rank(const void *x, const void *y)
{
    const struct proc_acc *a = x, *b = y;
    uint64_t ka = a->p.tcp_ports + a->p.udp_ports, kb = b->p.tcp_ports + b->p.udp_ports;

    if (ka != kb)
        return ka > kb ? -1 : 1;
    if (a->sockets != b->sockets)
        return a->sockets > b->sockets ? -1 : 1;
    return a->p.pid < b->p.pid ? -1 : (a->p.pid > b->p.pid);
}

static void endpoint_set(struct pf_endpoint *e, const struct sockrec *r, uint64_t count)
{
    pf_addr_format(r->family, r->raddr, e->addr);
    e->port = r->rport;
    e->count = count;
}

/* Sorts idx (records with a remote end) by remote and folds equal remotes.
 * With all set, appends every group to *groups (caller frees); otherwise
 * only the largest group goes to *best. Returns the number of groups. */
static size_t fold_remotes(uint32_t *idx, size_t n, struct pf_endpoint **groups,
                           struct pf_endpoint *best, enum pf_rc *rc)
{
    size_t ngroups = 0, cap = 0, i = 0;

    *rc = PF_OK;
    if (n > 1)
        qsort(idx, n, sizeof(*idx), cmp_remote_idx);
    while (i < n) {
        size_t j = i + 1;
        while (j < n && remote_cmp(&cmp_recs[idx[i]], &cmp_recs[idx[j]]) == 0)
            j++;
        if (groups) {
            if (ngroups == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct pf_endpoint *g = realloc(*groups, ncap * sizeof(*g));
                if (!g) {
                    *rc = PF_NOMEM;
                    return ngroups;
                }
                *groups = g;
                cap = ncap;
            }
            endpoint_set(&(*groups)[ngroups], &cmp_recs[idx[i]], j - i);
        } else {
            /* The same ranking as the remotes list, ties included. */
            struct pf_endpoint cand;
            endpoint_set(&cand, &cmp_recs[idx[i]], j - i);
            if (ngroups == 0 || cmp_endpoint_rank(&cand, best) < 0)
                *best = cand;
        }
        ngroups++;
        i = j;
    }
    return ngroups;
}

static size_t popcount_map(const uint8_t *map)
{
    size_t n = 0;
    for (size_t i = 0; i < 65536 / 8; i++)
        n += (size_t)__builtin_popcount(map[i]);
    return n;
}

static enum pf_rc host_counts(struct pf_snapshot *s, const struct ctx *c, size_t n)
{
    static uint8_t tcpmap[65536 / 8], udpmap[65536 / 8];
    struct pf_endpoint *groups = NULL;
    uint32_t *idx;
    size_t nidx = 0, ngroups;
    enum pf_rc rc;

    memset(tcpmap, 0, sizeof(tcpmap));
    memset(udpmap, 0, sizeof(udpmap));
    memset(s->tcp.states, 0, sizeof(s->tcp.states));
    s->udp.endpoints = 0;
    idx = malloc((n ? n : 1) * sizeof(*idx));
    if (!idx)
        return PF_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct sockrec *r = &c->v[i];
        if (r->proto == PF_PROTO_TCP) {
            if (r->state < PF_TCP_NSTATES)
                s->tcp.states[r->state]++;
            if (in_range(c, r))
                tcpmap[r->lport / 8] |= (uint8_t)(1u << (r->lport % 8));
            if (pf_tcp_state_has_remote(r->state) && r->rport != 0)
                idx[nidx++] = (uint32_t)i;
        } else {
            s->udp.endpoints++;
            if (in_range(c, r))
                udpmap[r->lport / 8] |= (uint8_t)(1u << (r->lport % 8));
        }
    }
    s->tcp.ephemeral_in_use = popcount_map(tcpmap);
    s->udp.ephemeral_in_use = popcount_map(udpmap);

    ngroups = fold_remotes(idx, nidx, &groups, NULL, &rc);
    free(idx);
    if (rc) {
        free(groups);
        return rc;
    }
    if (ngroups > 1)
        qsort(groups, ngroups, sizeof(*groups), cmp_endpoint_rank);
    free(s->remotes);
    s->remotes = NULL;
    s->nremotes = 0;
    s->has_remotes = true;
    s->tcp.has_top_destination = ngroups > 0;
    if (ngroups > 0)
        s->tcp.top_destination = groups[0];
    if (ngroups > PF_LIST_MAX) {
        s->truncated = true;
        ngroups = PF_LIST_MAX;
    }
    if (ngroups > 0) {
        s->remotes = realloc(groups, ngroups * sizeof(*groups));
        if (!s->remotes)
            s->remotes = groups; /* shrinking failed: keep the larger block */
        s->nremotes = ngroups;
    } else {
        free(groups);
    }
    return PF_OK;
}

static enum pf_rc process_counts(struct pf_snapshot *s, const struct ctx *c,
                                 const struct sockrec_vec *vec, aggregate_name_fn names)
{
    struct sockown *own = NULL;
    struct proc_acc *procs = NULL;
    uint32_t *ridx = NULL;
    size_t nown = vec->nown, nprocs = 0, i = 0;
    enum pf_rc rc = PF_NOMEM;

    free(s->processes);
    s->processes = NULL;
    s->nprocesses = 0;
    s->has_processes = true;
    if (nown == 0)
        return PF_OK;
    own = malloc(nown * sizeof(*own));
    procs = calloc(nown, sizeof(*procs)); /* at most one per owner entry */
    ridx = malloc(nown * sizeof(*ridx));
    if (!own || !procs || !ridx)
        goto out;
    memcpy(own, vec->own, nown * sizeof(*own));
    qsort(own, nown, sizeof(*own), cmp_owner);

    while (i < nown) {
        struct proc_acc *pa = &procs[nprocs++];
        uint32_t pid = own[i].pid;
        size_t nr = 0;
        int last_port[2] = {-1, -1};
        uint32_t last_rec = UINT32_MAX;

        pa->p.pid = pid;
        for (; i < nown && own[i].pid == pid; i++) {
            const struct sockrec *r = &c->v[own[i].rec];
            if (own[i].rec == last_rec)
                continue; /* the same socket through a second fd */
            last_rec = own[i].rec;
            pa->sockets++;
            if (in_range(c, r) && last_port[r->proto & 1] != r->lport) {
                last_port[r->proto & 1] = r->lport;
                if (r->proto == PF_PROTO_TCP)
                    pa->p.tcp_ports++;
                else
                    pa->p.udp_ports++;
            }
            if (r->proto != PF_PROTO_TCP)
                continue;
            if (r->state < PF_TCP_NSTATES)
                pa->p.states[r->state]++;
            if (pf_tcp_state_has_remote(r->state) && r->rport != 0)
                ridx[nr++] = own[i].rec;
        }
        if (nr > 0) {
            enum pf_rc frc; /* cannot fail without a group list */
            fold_remotes(ridx, nr, NULL, &pa->p.top_remote, &frc);
            pa->p.has_top_remote = true;
        }
    }

    if (nprocs > 1)
        qsort(procs, nprocs, sizeof(*procs), cmp_proc_rank);
    if (nprocs > PF_LIST_MAX) {
        s->truncated = true;
        nprocs = PF_LIST_MAX;
    }
    s->processes = calloc(nprocs, sizeof(*s->processes));
    if (!s->processes)
        goto out;
    for (size_t k = 0; k < nprocs; k++) {
        s->processes[k] = procs[k].p;
        if (names)
            names(procs[k].p.pid, s->processes[k].name, sizeof(s->processes[k].name),
                  s->processes[k].service, sizeof(s->processes[k].service));
    }
    s->nprocesses = nprocs;
    rc = PF_OK;
out:
    free(own);
    free(procs);
    free(ridx);
    return rc;
}

enum pf_rc aggregate_sockets(struct pf_snapshot *s, const struct sockrec_vec *vec,
                             aggregate_name_fn names)
{
    struct ctx c;
    enum pf_rc rc;

    memset(&c, 0, sizeof(c));
    c.v = vec->v;
    for (int p = 0; p < 2; p++)
        for (int f = 0; f < 2; f++) {
            const struct pf_range *r = pf_snapshot_range(s, p, f);
            c.range[p][f].lo = r ? r->start : 1;
            c.range[p][f].hi = r ? r->start + r->count - 1 : 0;
        }
    cmp_recs = vec->v;
    rc = host_counts(s, &c, vec->n);
    if (!rc)
        rc = process_counts(s, &c, vec, names);
    cmp_recs = NULL;
    return rc;
}
