/* SPDX-License-Identifier: MIT */
/* spool.c: the on-disk snapshot queue (see spool.h for the layout). The
 * in-memory index is a seq-sorted array of (seq, cost); the files are the
 * truth and the index is rebuilt from them by spool_open. */
#include "spool.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "buf.h"
#include "log.h"
#include "osutil.h"

#define MAGIC "PFSP"
#define FORMAT_VERSION 1
#define NAME_DIGITS 20
#define SUFFIX ".snap"
#define TMP_SUFFIX ".tmp"

struct entry {
    uint64_t seq; /* 0 marks an entry being removed */
    uint64_t cost;
};

struct spool {
    char dir[OSUTIL_PATH_MAX];
    uint64_t max_bytes;
    struct entry *v;
    size_t n, cap;
    uint64_t bytes;
    uint64_t dropped, corrupt;
};

/* ---- CRC32C, table-driven (Castagnoli polynomial, reflected) ---- */

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
    crc_ready = 1;
}

uint32_t spool_crc32c(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;

    if (!crc_ready)
        crc_init();
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- record encoding ---- */

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void make_header(unsigned char h[SPOOL_HEADER_LEN], uint64_t seq, const void *data,
                        size_t len)
{
    uint32_t crc;

    memcpy(h, MAGIC, 4);
    h[4] = FORMAT_VERSION;
    h[5] = h[6] = h[7] = 0;
    put_le(h + 8, seq, 8);
    put_le(h + 16, len, 4);
    crc = spool_crc32c(0, h, 20);
    crc = spool_crc32c(crc, data, len);
    put_le(h + 20, crc, 4);
}

/* Checks a whole record file's bytes; on success points *payload into buf. */
static int record_ok(const unsigned char *buf, size_t len, uint64_t seq, size_t *plen)
{
    uint64_t n;
    uint32_t crc;

    if (len < SPOOL_HEADER_LEN || memcmp(buf, MAGIC, 4) != 0 || buf[4] != FORMAT_VERSION)
        return 0;
    if (get_le(buf + 8, 8) != seq)
        return 0;
    n = get_le(buf + 16, 4);
    if (n != len - SPOOL_HEADER_LEN || n > SPOOL_RECORD_MAX)
        return 0;
    crc = spool_crc32c(0, buf, 20);
    crc = spool_crc32c(crc, buf + SPOOL_HEADER_LEN, (size_t)n);
    if (crc != (uint32_t)get_le(buf + 20, 4))
        return 0;
    *plen = (size_t)n;
    return 1;
}

uint64_t spool_record_cost(size_t len)
{
    uint64_t size = (uint64_t)len + SPOOL_HEADER_LEN;

    return (size + SPOOL_BLOCK - 1) / SPOOL_BLOCK * SPOOL_BLOCK + SPOOL_DIRENT_COST;
}

static void record_name(char *out, size_t outlen, uint64_t seq)
{
    snprintf(out, outlen, "%020llu" SUFFIX, (unsigned long long)seq);
}

/* Parses "<20 digits>.snap"; returns 0 for anything else. */
static uint64_t parse_name(const char *name)
{
    uint64_t seq = 0;

    if (strlen(name) != NAME_DIGITS + strlen(SUFFIX) || strcmp(name + NAME_DIGITS, SUFFIX) != 0)
        return 0;
    for (int i = 0; i < NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        if (seq > (UINT64_MAX - 9) / 10)
            return 0;
        seq = seq * 10 + (uint64_t)(name[i] - '0');
    }
    return seq;
}

static enum pf_rc record_path(const struct spool *sp, uint64_t seq, char *out, size_t outlen)
{
    char name[64];

    record_name(name, sizeof(name), seq);
    return osutil_path_join(out, outlen, sp->dir, name);
}

/* ---- index ---- */

static size_t lower_bound(const struct spool *sp, uint64_t seq)
{
    size_t lo = 0, hi = sp->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (sp->v[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Adds an entry; sorted says where: in seq order (at its place), or at the
 * end (spool_open appends in directory order and sorts once). */
static enum pf_rc index_add(struct spool *sp, uint64_t seq, uint64_t cost, bool sorted)
{
    size_t at;

    if (PF_ARRAY_RESERVE(sp->v, sp->cap, sp->n + 1, 64))
        return PF_NOMEM;
    at = !sorted || (sp->n && sp->v[sp->n - 1].seq < seq) ? sp->n : lower_bound(sp, seq);
    memmove(sp->v + at + 1, sp->v + at, (sp->n - at) * sizeof(*sp->v));
    sp->v[at].seq = seq;
    sp->v[at].cost = cost;
    sp->n++;
    sp->bytes += cost;
    return PF_OK;
}

/* Drops the entries marked with seq 0. */
static void index_compact(struct spool *sp)
{
    size_t w = 0;

    for (size_t r = 0; r < sp->n; r++)
        if (sp->v[r].seq)
            sp->v[w++] = sp->v[r];
    sp->n = w;
}

/* Deletes the file of entry i and marks it; the caller compacts. */
static enum pf_rc delete_entry(struct spool *sp, size_t i)
{
    char path[OSUTIL_PATH_MAX];
    enum pf_rc rc = record_path(sp, sp->v[i].seq, path, sizeof(path));

    if (!rc)
        rc = osutil_remove(path);
    if (rc)
        return rc;
    sp->bytes -= sp->v[i].cost;
    sp->v[i].seq = 0;
    return PF_OK;
}

/* ---- open ---- */

struct scan {
    struct spool *sp;
    struct pf_buf buf;
    enum pf_rc rc;
};

static int scan_one(const char *name, uint64_t size, void *ud)
{
    struct scan *sc = ud;
    struct spool *sp = sc->sp;
    char path[OSUTIL_PATH_MAX];
    size_t nlen = strlen(name), plen;
    uint64_t seq;
    enum pf_rc rc;

    if (osutil_path_join(path, sizeof(path), sp->dir, name))
        return 0;
    if (nlen > strlen(TMP_SUFFIX) && strcmp(name + nlen - strlen(TMP_SUFFIX), TMP_SUFFIX) == 0) {
        /* A write that a crash interrupted before its rename: never acknowledged. */
        osutil_remove(path);
        return 0;
    }
    seq = parse_name(name);
    if (!seq)
        return 0; /* not ours */
    pf_buf_reset(&sc->buf);
    rc = size > SPOOL_HEADER_LEN + SPOOL_RECORD_MAX ? PF_TOOBIG : osutil_read_file(path, &sc->buf);
    if (rc == PF_NOMEM || (rc && rc != PF_TOOBIG && rc != PF_NOTFOUND)) {
        sc->rc = rc;
        return 1;
    }
    if (rc == PF_NOTFOUND)
        return 0;
    if (rc || !record_ok((const unsigned char *)sc->buf.data, sc->buf.len, seq, &plen)) {
        pf_warn("spool: %s is corrupt or torn, skipped", name);
        osutil_remove(path);
        sp->corrupt++;
        return 0;
    }
    rc = index_add(sp, seq, spool_record_cost(plen), false);
    if (rc) {
        sc->rc = rc;
        return 1;
    }
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

enum pf_rc spool_open(const char *dir, uint64_t max_bytes, struct spool **out)
{
    struct spool *sp;
    struct scan sc;
    enum pf_rc rc;

    *out = NULL;
    if (max_bytes < 2 * SPOOL_BLOCK)
        return PF_INVALID;
    if (strlen(dir) >= sizeof(sp->dir) - 32)
        return PF_TOOBIG;
    rc = osutil_mkdirs(dir);
    if (rc)
        return rc;
    sp = calloc(1, sizeof(*sp));
    if (!sp)
        return PF_NOMEM;
    memcpy(sp->dir, dir, strlen(dir) + 1);
    sp->max_bytes = max_bytes - SPOOL_BLOCK; /* the directory's own block */

    sc.sp = sp;
    sc.rc = PF_OK;
    pf_buf_init(&sc.buf, SPOOL_HEADER_LEN + SPOOL_RECORD_MAX);
    rc = osutil_list_dir(dir, scan_one, &sc);
    pf_buf_free(&sc.buf);
    if (!rc)
        rc = sc.rc;
    if (rc) {
        spool_free(sp);
        return rc;
    }
    /* directory order is arbitrary */
    if (sp->n > 1)
        qsort(sp->v, sp->n, sizeof(*sp->v), cmp_entry);
    if (sp->corrupt)
        osutil_sync_dir(dir);
    *out = sp;
    return PF_OK;
}

void spool_free(struct spool *sp)
{
    if (!sp)
        return;
    free(sp->v);
    free(sp);
}

/* ---- put ---- */

enum pf_rc spool_put(struct spool *sp, uint64_t seq, const void *data, size_t len)
{
    char name[64];
    unsigned char *rec;
    uint64_t cost = spool_record_cost(len);
    size_t i, dropped = 0;
    enum pf_rc rc;

    if (seq == 0)
        return PF_INVALID;
    if (len > SPOOL_RECORD_MAX || cost > sp->max_bytes)
        return PF_TOOBIG;
    i = lower_bound(sp, seq);
    if (i < sp->n && sp->v[i].seq == seq)
        return PF_INVALID;

    /* Oldest first, until the new record fits under the cap. */
    for (i = 0; i < sp->n && sp->bytes + cost > sp->max_bytes; i++) {
        rc = delete_entry(sp, i);
        if (rc) {
            index_compact(sp);
            return rc;
        }
        dropped++;
    }
    if (dropped) {
        index_compact(sp);
        sp->dropped += dropped;
        pf_warn("spool: cap of %llu bytes reached, dropped the %llu oldest snapshot(s)",
                (unsigned long long)sp->max_bytes, (unsigned long long)dropped);
    }

    rec = malloc(SPOOL_HEADER_LEN + len);
    if (!rec)
        return PF_NOMEM;
    make_header(rec, seq, data, len);
    if (len)
        memcpy(rec + SPOOL_HEADER_LEN, data, len);
    record_name(name, sizeof(name), seq);
    rc = osutil_write_atomic(sp->dir, name, rec, SPOOL_HEADER_LEN + len);
    free(rec);
    if (rc)
        return rc;
    return index_add(sp, seq, cost, true);
}

/* ---- peek / remove ---- */

void spool_batch_clear(struct spool_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->data[i]);
    free(b->seqs);
    free(b->data);
    free(b->lens);
    memset(b, 0, sizeof(*b));
}

enum pf_rc spool_peek(struct spool *sp, size_t max_records, size_t max_bytes, struct spool_batch *b)
{
    struct pf_buf buf;
    size_t total = 0, want, i, bad = 0;
    enum pf_rc rc = PF_OK;

    memset(b, 0, sizeof(*b));
    want = max_records < sp->n ? max_records : sp->n;
    if (want == 0)
        return PF_OK;
    b->seqs = calloc(want, sizeof(*b->seqs));
    b->data = calloc(want, sizeof(*b->data));
    b->lens = calloc(want, sizeof(*b->lens));
    if (!b->seqs || !b->data || !b->lens) {
        spool_batch_clear(b);
        return PF_NOMEM;
    }
    pf_buf_init(&buf, SPOOL_HEADER_LEN + SPOOL_RECORD_MAX);
    for (i = 0; i < sp->n && b->n < want; i++) {
        char path[OSUTIL_PATH_MAX];
        uint64_t seq = sp->v[i].seq;
        size_t plen;
        char *copy;

        pf_buf_reset(&buf);
        rc = record_path(sp, seq, path, sizeof(path));
        if (!rc)
            rc = osutil_read_file(path, &buf);
        if (rc == PF_NOMEM)
            break;
        if (rc || !record_ok((const unsigned char *)buf.data, buf.len, seq, &plen)) {
            pf_warn("spool: record %llu is corrupt or missing (%s), skipped",
                    (unsigned long long)seq, rc ? pf_strerror(rc) : "bad checksum");
            rc = PF_OK;
            if (delete_entry(sp, i) == PF_OK) {
                sp->corrupt++;
                bad++;
            }
            continue;
        }
        if (b->n > 0 && total + plen > max_bytes)
            break;
        copy = malloc(plen + 1);
        if (!copy) {
            rc = PF_NOMEM;
            break;
        }
        memcpy(copy, buf.data + SPOOL_HEADER_LEN, plen);
        copy[plen] = '\0';
        b->seqs[b->n] = seq;
        b->data[b->n] = copy;
        b->lens[b->n] = plen;
        b->n++;
        total += plen;
    }
    pf_buf_free(&buf);
    if (bad) {
        index_compact(sp);
        osutil_sync_dir(sp->dir);
    }
    if (rc)
        spool_batch_clear(b);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

enum pf_rc spool_remove(struct spool *sp, const uint64_t *seqs, size_t n)
{
    enum pf_rc rc = PF_OK;
    size_t removed = 0, i = 0, k = 0;
    uint64_t *sorted;

    if (n == 0)
        return PF_OK;
    sorted = malloc(n * sizeof(*sorted));
    if (!sorted)
        return PF_NOMEM;
    memcpy(sorted, seqs, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_u64);
    /* Both sorted: one merge walk, one compaction. */
    while (i < sp->n && k < n) {
        if (sp->v[i].seq < sorted[k]) {
            i++;
        } else if (sp->v[i].seq > sorted[k]) {
            k++;
        } else {
            enum pf_rc r = delete_entry(sp, i);

            if (r)
                rc = r;
            else
                removed++;
            i++;
            k++;
        }
    }
    free(sorted);
    index_compact(sp);
    if (removed) {
        enum pf_rc r = osutil_sync_dir(sp->dir);

        if (!rc)
            rc = r;
    }
    return rc;
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
    st->depth = sp->n;
    st->bytes = sp->bytes;
    st->dropped = sp->dropped;
    st->corrupt = sp->corrupt;
    st->oldest_seq = sp->n ? sp->v[0].seq : 0;
    st->newest_seq = sp->n ? sp->v[sp->n - 1].seq : 0;
}
