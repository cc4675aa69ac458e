/* SPDX-License-Identifier: MIT */
/* mib.c: IP Helper table buffers -> socket records (see mib.h). Every
 * field is read with explicit byte offsets so a table recorded on Windows
 * or built by a test parses the same on any host. */
#include "mib.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "tcp_state.h"

/* Where each field of a row lives; -1 when the row has no such field. */
struct layout {
    size_t size;
    int family; /* enum pf_family */
    int proto;  /* enum pf_proto */
    int state, laddr, lport, raddr, rport, pid;
};

static const struct layout layouts[] = {
    [MIB_KIND_TCP4] = {MIB_TCP4_ROW_SIZE, PF_FAMILY_IPV4, PF_PROTO_TCP, 0, 4, 8, 12, 16, 20},
    [MIB_KIND_TCP6] = {MIB_TCP6_ROW_SIZE, PF_FAMILY_IPV6, PF_PROTO_TCP, 48, 0, 20, 24, 44, 52},
    [MIB_KIND_UDP4] = {MIB_UDP4_ROW_SIZE, PF_FAMILY_IPV4, PF_PROTO_UDP, -1, 0, 4, -1, -1, 8},
    [MIB_KIND_UDP6] = {MIB_UDP6_ROW_SIZE, PF_FAMILY_IPV6, PF_PROTO_UDP, -1, 0, 20, -1, -1, 24},
    [MIB_KIND_TCP4_BOUND] = {MIB_TCP4_ROW2_SIZE, PF_FAMILY_IPV4, PF_PROTO_TCP, 0, 4, 8, 12, 16,
                             20},
    [MIB_KIND_TCP6_BOUND] = {MIB_TCP6_ROW2_SIZE, PF_FAMILY_IPV6, PF_PROTO_TCP, 48, 0, 20, 24, 44,
                             52},
};

/* MIB_TCP_STATE numbers of sockets that listen or have a peer. */
#define MIB_STATE_LISTEN 2
#define MIB_STATE_DELETE_TCB 12

size_t mib_row_size(enum mib_kind kind)
{
    if ((unsigned)kind >= sizeof(layouts) / sizeof(layouts[0]))
        return 0;
    return layouts[kind].size;
}

static uint32_t dword_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Ports sit in the low 16 bits of a DWORD in network byte order, i.e. the
 * first two bytes in memory, big-endian. */
static uint16_t port_at(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Checks the count against the length; returns the row count or -1. */
static long long table_rows(const struct layout *l, const void *buf, size_t len)
{
    uint32_t n;

    if (!buf || len < MIB_ROWS_OFFSET)
        return -1;
    n = dword_at(buf);
    if ((uint64_t)n * l->size > (uint64_t)(len - MIB_ROWS_OFFSET))
        return -1;
    return n;
}

struct row {
    uint16_t lport, rport;
    uint32_t pid;
    uint32_t mib_state; /* 0 for UDP */
    uint8_t raddr[16];
};

static void read_row(const struct layout *l, const uint8_t *p, struct row *r)
{
    memset(r, 0, sizeof(*r));
    r->lport = port_at(p + l->lport);
    r->pid = dword_at(p + l->pid);
    if (l->state >= 0)
        r->mib_state = dword_at(p + l->state);
    if (l->raddr >= 0) {
        memcpy(r->raddr, p + l->raddr, l->family == PF_FAMILY_IPV4 ? 4 : 16);
        r->rport = port_at(p + l->rport);
    }
}

static enum pf_rc push_row(const struct layout *l, const struct row *r, int state,
                           struct sockrec_vec *out)
{
    struct sockrec *rec = sockrec_vec_push(out);

    if (!rec)
        return PF_NOMEM;
    rec->proto = (uint8_t)l->proto;
    rec->family = (uint8_t)l->family;
    rec->state = (uint8_t)state;
    rec->lport = r->lport;
    if (l->proto == PF_PROTO_TCP && pf_tcp_state_has_remote(state)) {
        rec->rport = r->rport;
        memcpy(rec->raddr, r->raddr, sizeof(rec->raddr));
    }
    if (r->pid != 0)
        return sockrec_vec_add_owner(out, (uint32_t)(out->n - 1), r->pid);
    return PF_OK;
}

enum pf_rc mib_parse(enum mib_kind kind, const void *buf, size_t len, struct sockrec_vec *out)
{
    const struct layout *l;
    const uint8_t *rows;
    size_t n0 = out->n, own0 = out->nown;
    long long n;
    enum pf_rc rc = PF_OK;

    if (kind > MIB_KIND_UDP6)
        return PF_INVALID;
    l = &layouts[kind];
    n = table_rows(l, buf, len);
    if (n < 0)
        return PF_INVALID;
    rows = (const uint8_t *)buf + MIB_ROWS_OFFSET;
    for (long long i = 0; i < n && !rc; i++) {
        struct row r;
        int state = 0;

        read_row(l, rows + (size_t)i * l->size, &r);
        if (r.lport == 0)
            continue;
        if (l->proto == PF_PROTO_TCP)
            state = pf_tcp_state_from_mib((int)r.mib_state);
        rc = push_row(l, &r, state, out);
    }
    if (rc) {
        out->n = n0;
        out->nown = own0;
    }
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t key_of(uint32_t pid, uint16_t port)
{
    return (uint64_t)pid << 16 | port;
}

static bool has_key(const uint64_t *keys, size_t n, uint64_t k)
{
    return n && bsearch(&k, keys, n, sizeof(k), key_cmp) != NULL;
}

static enum pf_rc add_bound(const struct layout *l, const void *buf, size_t n,
                            const uint64_t *keys, size_t nkeys, struct sockrec_vec *out,
                            size_t *dropped)
{
    const uint8_t *rows = (const uint8_t *)buf + MIB_ROWS_OFFSET;
    enum pf_rc rc = PF_OK;

    for (size_t i = 0; i < n && !rc; i++) {
        struct row r;

        read_row(l, rows + i * l->size, &r);
        if (r.lport == 0)
            continue;
        if ((r.mib_state >= MIB_STATE_LISTEN && r.mib_state <= MIB_STATE_DELETE_TCB) ||
            (r.pid != 0 && has_key(keys, nkeys, key_of(r.pid, r.lport)))) {
            (*dropped)++;
            continue;
        }
        rc = push_row(l, &r, PF_TCP_BOUND, out);
    }
    return rc;
}

enum pf_rc mib_parse_bound(const void *buf4, size_t len4, const void *buf6, size_t len6,
                           struct sockrec_vec *out, size_t *dropped)
{
    const struct layout *l4 = &layouts[MIB_KIND_TCP4_BOUND], *l6 = &layouts[MIB_KIND_TCP6_BOUND];
    long long n4 = 0, n6 = 0;
    size_t n0 = out->n, own0 = out->nown, nkeys = 0, ndropped = 0;
    uint64_t *keys = NULL;
    enum pf_rc rc = PF_OK;

    if (dropped)
        *dropped = 0;
    if ((buf4 && (n4 = table_rows(l4, buf4, len4)) < 0) ||
        (buf6 && (n6 = table_rows(l6, buf6, len6)) < 0))
        return PF_INVALID;
    if (n4 + n6 == 0)
        return PF_OK;

    /* (pid, local port) of every owned TCP socket of the connection tables. */
    if (out->nown) {
        keys = malloc(out->nown * sizeof(*keys));
        if (!keys)
            return PF_NOMEM;
    }
    for (size_t i = 0; i < out->nown; i++) {
        const struct sockrec *rec = &out->v[out->own[i].rec];
        if (rec->proto == PF_PROTO_TCP)
            keys[nkeys++] = key_of(out->own[i].pid, rec->lport);
    }
    if (nkeys)
        qsort(keys, nkeys, sizeof(*keys), key_cmp);

    if (n4)
        rc = add_bound(l4, buf4, (size_t)n4, keys, nkeys, out, &ndropped);
    if (!rc && n6)
        rc = add_bound(l6, buf6, (size_t)n6, keys, nkeys, out, &ndropped);
    free(keys);
    if (rc) {
        out->n = n0;
        out->nown = own0;
        return rc;
    }
    if (dropped)
        *dropped = ndropped;
    return PF_OK;
}
