/* SPDX-License-Identifier: MIT */
/* aggregate.c: socket records -> snapshot counts (definitions in
 * aggregate.h). Linear in the number of sockets where it matters: distinct
 * ports through two 8 KiB bitmaps, remotes counted in a hash table and the
 * top 50 picked by selection (a host can have 50,000 distinct remotes),
 * owners sorted once by a packed 64-bit key. Addresses are formatted only
 * for the entries that are kept. */
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

static int in_range(const struct ctx *c, const struct sockrec *r)
{
    const struct port_range *pr = &c->range[r->proto & 1][r->family & 1];
    return r->lport >= pr->lo && r->lport <= pr->hi;
}

static int has_remote(const struct sockrec *r)
{
    return r->proto == PF_PROTO_TCP && pf_tcp_state_has_remote(r->state) && r->rport != 0;
}

/* ---- remote endpoints: a counting hash table ---- */

struct rslot {
    uint32_t count; /* 0: empty */
    uint32_t rec;   /* a record with this remote (its address and port) */
};

struct rtable {
    struct rslot *slots;
    size_t mask;
    uint32_t *used; /* indexes of used slots, for reset and iteration */
    size_t nused;
};

static enum pf_rc rtable_init(struct rtable *t, size_t n)
{
    size_t size = 64;

    while (size < n * 2)
        size *= 2;
    t->slots = calloc(size, sizeof(*t->slots));
    t->used = malloc((n ? n : 1) * sizeof(*t->used));
    t->mask = size - 1;
    t->nused = 0;
    return t->slots && t->used ? PF_OK : PF_NOMEM;
}

static void rtable_free(struct rtable *t)
{
    free(t->slots);
    free(t->used);
}

static int same_remote(const struct sockrec *a, const struct sockrec *b)
{
    return a->family == b->family && a->rport == b->rport &&
           memcmp(a->raddr, b->raddr, a->family == PF_FAMILY_IPV4 ? 4 : 16) == 0;
}

static size_t remote_hash(const struct sockrec *r)
{
    uint64_t h = 1469598103934665603ull ^ r->family ^ (uint64_t)r->rport << 8;
    size_t n = r->family == PF_FAMILY_IPV4 ? 4 : 16;

    for (size_t i = 0; i < n; i++)
        h = (h ^ r->raddr[i]) * 1099511628211ull;
    return (size_t)(h ^ h >> 29);
}

/* Counts record rec; the table was sized for at least as many records. */
static void rtable_add(struct rtable *t, const struct sockrec *v, uint32_t rec)
{
    size_t h = remote_hash(&v[rec]) & t->mask;

    while (t->slots[h].count != 0 && !same_remote(&v[t->slots[h].rec], &v[rec]))
        h = (h + 1) & t->mask;
    if (t->slots[h].count++ == 0) {
        t->slots[h].rec = rec;
        t->used[t->nused++] = (uint32_t)h;
    }
}

static void rtable_reset(struct rtable *t)
{
    for (size_t i = 0; i < t->nused; i++)
        t->slots[t->used[i]].count = 0;
    t->nused = 0;
}

/* Ranking of remotes (aggregate.h): count desc, port asc, then family and
 * address bytes asc. Negative when a ranks before b. */
static int rank_remote(const struct sockrec *v, const struct rslot *a, const struct rslot *b)
{
    const struct sockrec *ra = &v[a->rec], *rb = &v[b->rec];

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (ra->rport != rb->rport)
        return ra->rport < rb->rport ? -1 : 1;
    if (ra->family != rb->family)
        return ra->family < rb->family ? -1 : 1;
    return memcmp(ra->raddr, rb->raddr, ra->family == PF_FAMILY_IPV4 ? 4 : 16);
}

/* Picks the k best groups of t into top (sorted best first) by insertion:
 * most groups are rejected after one comparison. Returns how many. */
static size_t rtable_top(const struct rtable *t, const struct sockrec *v, struct rslot *top,
                         size_t k)
{
    size_t n = 0;

    for (size_t i = 0; i < t->nused; i++) {
        const struct rslot *s = &t->slots[t->used[i]];
        size_t pos;
        if (n == k && rank_remote(v, s, &top[k - 1]) >= 0)
            continue;
        pos = n < k ? n++ : k - 1;
        while (pos > 0 && rank_remote(v, s, &top[pos - 1]) < 0) {
            top[pos] = top[pos - 1];
            pos--;
        }
        top[pos] = *s;
    }
    return n;
}

static void endpoint_set(struct pf_endpoint *e, const struct sockrec *r, uint64_t count)
{
    pf_addr_format(r->family, r->raddr, e->addr);
    e->port = r->rport;
    e->count = count;
}

/* ---- host totals and the remotes list ---- */

static size_t popcount_map(const uint8_t *map)
{
    size_t n = 0;
    for (size_t i = 0; i < 65536 / 8; i++)
        n += (size_t)__builtin_popcount(map[i]);
    return n;
}

static enum pf_rc host_counts(struct pf_snapshot *s, const struct ctx *c, size_t n,
                              struct rtable *rt)
{
    static uint8_t tcpmap[65536 / 8], udpmap[65536 / 8];
    struct rslot top[PF_LIST_MAX];
    size_t ntop;

    memset(tcpmap, 0, sizeof(tcpmap));
    memset(udpmap, 0, sizeof(udpmap));
    memset(s->tcp.states, 0, sizeof(s->tcp.states));
    s->udp.endpoints = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sockrec *r = &c->v[i];
        if (r->proto == PF_PROTO_TCP) {
            if (r->state < PF_TCP_NSTATES)
                s->tcp.states[r->state]++;
            if (in_range(c, r))
                tcpmap[r->lport / 8] |= (uint8_t)(1u << (r->lport % 8));
            if (has_remote(r))
                rtable_add(rt, c->v, (uint32_t)i);
        } else {
            s->udp.endpoints++;
            if (in_range(c, r))
                udpmap[r->lport / 8] |= (uint8_t)(1u << (r->lport % 8));
        }
    }
    s->tcp.ephemeral_in_use = popcount_map(tcpmap);
    s->udp.ephemeral_in_use = popcount_map(udpmap);

    ntop = rtable_top(rt, c->v, top, PF_LIST_MAX);
    if (rt->nused > PF_LIST_MAX)
        s->truncated = true;
    free(s->remotes);
    s->remotes = NULL;
    s->nremotes = 0;
    s->has_remotes = true;
    s->tcp.has_top_destination = ntop > 0;
    if (ntop == 0)
        return PF_OK;
    s->remotes = calloc(ntop, sizeof(*s->remotes));
    if (!s->remotes)
        return PF_NOMEM;
    for (size_t i = 0; i < ntop; i++)
        endpoint_set(&s->remotes[i], &c->v[top[i].rec], top[i].count);
    s->nremotes = ntop;
    s->tcp.top_destination = s->remotes[0];
    return PF_OK;
}

/* ---- processes ---- */

/* An owner entry with its sort key: pid, then proto and local port (so a
 * pid's distinct ports are adjacent), then the record (so one socket seen
 * through two fds of the same process is adjacent too). */
struct okey {
    uint64_t key; /* pid << 32 | proto << 16 | lport */
    uint32_t rec;
};

static int cmp_okey(const void *x, const void *y)
{
    const struct okey *a = x, *b = y;

    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->rec < b->rec ? -1 : (a->rec > b->rec);
}

struct proc_acc {
    struct pf_process p;
    uint64_t sockets;
    struct rslot top; /* its best remote; count 0 when none */
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

static enum pf_rc process_counts(struct pf_snapshot *s, const struct ctx *c,
                                 const struct sockrec_vec *vec, aggregate_name_fn names,
                                 struct rtable *rt)
{
    struct okey *keys = NULL;
    struct proc_acc *procs = NULL;
    size_t nown = vec->nown, nprocs = 0, i = 0;
    enum pf_rc rc = PF_NOMEM;

    free(s->processes);
    s->processes = NULL;
    s->nprocesses = 0;
    s->has_processes = true;
    if (nown == 0)
        return PF_OK;
    keys = malloc(nown * sizeof(*keys));
    procs = calloc(nown, sizeof(*procs)); /* at most one per owner entry */
    if (!keys || !procs)
        goto out;
    for (size_t k = 0; k < nown; k++) {
        const struct sockrec *r = &c->v[vec->own[k].rec];
        keys[k].key = (uint64_t)vec->own[k].pid << 32 | (uint64_t)(r->proto & 1) << 16 | r->lport;
        keys[k].rec = vec->own[k].rec;
    }
    qsort(keys, nown, sizeof(*keys), cmp_okey);

    while (i < nown) {
        struct proc_acc *pa = &procs[nprocs++];
        uint32_t pid = (uint32_t)(keys[i].key >> 32);
        uint64_t last_port_key = UINT64_MAX;
        uint32_t last_rec = UINT32_MAX;

        pa->p.pid = pid;
        rtable_reset(rt);
        for (; i < nown && (uint32_t)(keys[i].key >> 32) == pid; i++) {
            const struct sockrec *r = &c->v[keys[i].rec];
            if (keys[i].rec == last_rec)
                continue; /* the same socket through a second fd */
            last_rec = keys[i].rec;
            pa->sockets++;
            if (in_range(c, r) && keys[i].key != last_port_key) {
                last_port_key = keys[i].key;
                if (r->proto == PF_PROTO_TCP)
                    pa->p.tcp_ports++;
                else
                    pa->p.udp_ports++;
            }
            if (r->proto != PF_PROTO_TCP)
                continue;
            if (r->state < PF_TCP_NSTATES)
                pa->p.states[r->state]++;
            if (has_remote(r))
                rtable_add(rt, c->v, keys[i].rec);
        }
        if (rtable_top(rt, c->v, &pa->top, 1) == 1)
            pa->p.has_top_remote = true;
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
        struct pf_process *p = &s->processes[k];
        *p = procs[k].p;
        if (p->has_top_remote)
            endpoint_set(&p->top_remote, &c->v[procs[k].top.rec], procs[k].top.count);
        if (names)
            names(p->pid, p->name, sizeof(p->name), p->service, sizeof(p->service));
    }
    s->nprocesses = nprocs;
    rc = PF_OK;
out:
    free(keys);
    free(procs);
    return rc;
}

enum pf_rc aggregate_sockets(struct pf_snapshot *s, const struct sockrec_vec *vec,
                             aggregate_name_fn names)
{
    struct ctx c;
    struct rtable rt;
    enum pf_rc rc;

    memset(&c, 0, sizeof(c));
    c.v = vec->v;
    for (int p = 0; p < 2; p++)
        for (int f = 0; f < 2; f++) {
            const struct pf_range *r = pf_snapshot_range(s, p, f);
            c.range[p][f].lo = r ? r->start : 1;
            c.range[p][f].hi = r ? r->start + r->count - 1 : 0;
        }
    rc = rtable_init(&rt, vec->n);
    if (!rc)
        rc = host_counts(s, &c, vec->n, &rt);
    if (!rc) {
        rtable_reset(&rt);
        rc = process_counts(s, &c, vec, names, &rt);
    }
    rtable_free(&rt);
    return rc;
}
