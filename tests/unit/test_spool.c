/* SPDX-License-Identifier: MIT */
/* test_spool.c: the on-disk spool against a real directory: records come
 * back in seq order and survive a reopen, the cap drops the oldest and
 * counts them, and every kind of damaged record (flipped byte, torn tail,
 * empty file, renamed file, leftover temporary) is skipped and counted
 * instead of failing the open. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "spool.h"
#include "test.h"

static char root[256];

static void make_root(const char *name)
{
    char cmd[512];

    snprintf(root, sizeof(root), "/tmp/pf_test_spool_%ld_%s", (long)getpid(), name);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", root);
}

static void drop_root(void)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", root);
}

static char *rec_path(uint64_t seq)
{
    static char p[512];

    snprintf(p, sizeof(p), "%s/%020llu.snap", root, (unsigned long long)seq);
    return p;
}

static int count_files(void)
{
    DIR *d = opendir(root);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void payload(char *out, size_t outlen, uint64_t seq)
{
    snprintf(out, outlen, "{\"seq\":%llu,\"pad\":\"%0*d\"}", (unsigned long long)seq,
             (int)(seq % 50), 0);
}

static int put_n(struct spool *sp, uint64_t from, uint64_t to)
{
    char buf[256];

    for (uint64_t s = from; s <= to; s++) {
        payload(buf, sizeof(buf), s);
        if (spool_put(sp, s, buf, strlen(buf)) != PF_OK)
            return -1;
    }
    return 0;
}

TEST(crc32c_known_vectors)
{
    /* RFC 3720 B.4 and the common check value */
    unsigned char zeros[32] = {0}, ones[32];

    memset(ones, 0xff, sizeof(ones));
    T_EQ_INT(spool_crc32c(0, "123456789", 9), 0xE3069283u);
    T_EQ_INT(spool_crc32c(0, zeros, 32), 0x8A9136AAu);
    T_EQ_INT(spool_crc32c(0, ones, 32), 0x62A8AB43u);
    /* incremental equals one-shot */
    T_EQ_INT(spool_crc32c(spool_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

TEST(put_peek_remove_in_order)
{
    struct spool *sp = NULL;
    struct spool_batch b;
    struct spool_stats st;
    char want[256];

    make_root("order");
    T_EQ_INT(spool_open(root, 1 << 20, &sp), PF_OK);
    T_EQ_INT(put_n(sp, 1, 10), 0);
    spool_get_stats(sp, &st);
    T_EQ_INT(st.depth, 10);
    T_EQ_INT(st.oldest_seq, 1);
    T_EQ_INT(st.newest_seq, 10);
    T_EQ_INT(count_files(), 10);

    T_EQ_INT(spool_peek(sp, 4, 1 << 20, &b), PF_OK);
    T_EQ_INT(b.n, 4);
    for (size_t i = 0; i < b.n; i++) {
        T_EQ_INT(b.seqs[i], i + 1);
        payload(want, sizeof(want), i + 1);
        T_EQ_STR(b.data[i], want);
        T_EQ_INT(b.lens[i], strlen(want));
    }
    T_EQ_INT(spool_remove(sp, b.seqs, b.n), PF_OK);
    spool_batch_clear(&b);
    spool_get_stats(sp, &st);
    T_EQ_INT(st.depth, 6);
    T_EQ_INT(st.oldest_seq, 5);
    T_EQ_INT(count_files(), 6);

    /* removing absent seqs, in any order, is harmless */
    {
        uint64_t mixed[] = {9, 2, 77, 5};

        T_EQ_INT(spool_remove(sp, mixed, 4), PF_OK);
    }
    spool_get_stats(sp, &st);
    T_EQ_INT(st.depth, 4);
    T_EQ_INT(spool_peek(sp, 1000, 1 << 20, &b), PF_OK);
    T_EQ_INT(b.n, 4);
    T_EQ_INT(b.seqs[0], 6);
    T_EQ_INT(b.seqs[1], 7);
    T_EQ_INT(b.seqs[2], 8);
    T_EQ_INT(b.seqs[3], 10);
    spool_batch_clear(&b);
    spool_free(sp);
    drop_root();
}

TEST(reopen_keeps_records)
{
    struct spool *sp = NULL;
    struct spool_batch b;
    struct spool_stats st;

    make_root("reopen");
    T_EQ_INT(spool_open(root, 1 << 20, &sp), PF_OK);
    T_EQ_INT(put_n(sp, 100, 130), 0);
    spool_free(sp);
    sp = NULL;
    T_EQ_INT(spool_open(root, 1 << 20, &sp), PF_OK);
    spool_get_stats(sp, &st);
    T_EQ_INT(st.depth, 31);
    T_EQ_INT(st.corrupt, 0);
    T_EQ_INT(st.dropped, 0);
    T_EQ_INT(spool_peek(sp, 1000, 1 << 20, &b), PF_OK);
    T_EQ_INT(b.n, 31);
    for (size_t i = 0; i < b.n; i++)
        T_EQ_INT(b.seqs[i], 100 + i);
    spool_batch_clear(&b);
    spool_free(sp);
    drop_root();
}

TEST(duplicate_zero_and_oversize_rejected)
{
    struct spool *sp = NULL;
    char *big;

    make_root("reject");
    T_EQ_INT(spool_open(root, 64 * 1024, &sp), PF_OK);
    T_EQ_INT(spool_put(sp, 5, "x", 1), PF_OK);
    T_EQ_INT(spool_put(sp, 5, "y", 1), PF_INVALID);
    T_EQ_INT(spool_put(sp, 0, "y", 1), PF_INVALID);
    big = calloc(1, 70 * 1024);
    T_ASSERT(big);
    T_EQ_INT(spool_put(sp, 6, big, 70 * 1024), PF_TOOBIG);
    free(big);
    T_EQ_INT(count_files(), 1);
    spool_free(sp);
    T_EQ_INT(spool_open(root, SPOOL_BLOCK, &sp), PF_INVALID); /* no room beside the dir */
    T_ASSERT(sp == NULL);
    drop_root();
}

TEST(cap_drops_oldest_and_counts)
{
    struct spool *sp = NULL;
    struct spool_batch b;
    struct spool_stats st;
    uint64_t cost = spool_record_cost(100);

    make_root("cap");
    /* room for exactly 5 small records and the directory */
    T_EQ_INT(spool_open(root, SPOOL_BLOCK + 5 * cost + cost / 2, &sp), PF_OK);
    T_EQ_INT(put_n(sp, 1, 8), 0);
    spool_get_stats(sp, &st);
    T_EQ_INT(st.depth, 5);
    T_EQ_INT(st.dropped, 3);
    T_EQ_INT(st.oldest_seq, 4);
    T_EQ_INT(st.newest_seq, 8);
    T_ASSERT(st.bytes <= 5 * cost + cost / 2);
    T_ASSERT(st.bytes + SPOOL_BLOCK <= SPOOL_BLOCK + 5 * cost + cost / 2);
    T_EQ_INT(count_files(), 5);
    T_EQ_INT(spool_peek(sp, 1000, 1 << 20, &b), PF_OK);
    T_EQ_INT(b.n, 5);
    T_EQ_INT(b.seqs[0], 4);
    spool_batch_clear(&b);
    /* the files on disk take no more than the cap says (block rounding) */
    {
        struct stat sb;
        uint64_t used = 0;

        for (uint64_t s = 4; s <= 8; s++) {
            T_EQ_INT(stat(rec_path(s), &sb), 0);
            used += (uint64_t)sb.st_blocks * 512;
        }
        T_ASSERT(used <= 5 * cost);
    }
    spool_free(sp);
    drop_root();
}

/* Opens a fresh spool with records 1..5, damages record 3 with fn, reopens
 * and checks that exactly record 3 is gone and counted. */
static int damaged_reopen_ok(void (*damage)(void))
{
    struct spool *sp = NULL;
    struct spool_batch b;
    struct spool_stats st;
    int ok;

    if (spool_open(root, 1 << 20, &sp) != PF_OK || put_n(sp, 1, 5) != 0)
        return 0;
    spool_free(sp);
    damage();
    sp = NULL;
    if (spool_open(root, 1 << 20, &sp) != PF_OK)
        return 0;
    spool_get_stats(sp, &st);
    ok = st.depth == 4 && st.corrupt == 1;
    if (spool_peek(sp, 1000, 1 << 20, &b) != PF_OK)
        ok = 0;
    ok = ok && b.n == 4 && b.seqs[0] == 1 && b.seqs[1] == 2 && b.seqs[2] == 4 && b.seqs[3] == 5;
    spool_batch_clear(&b);
    spool_free(sp);
    ok = ok && access(rec_path(3), F_OK) != 0; /* deleted, so no crash loop */
    return ok;
}

static void flip_byte(void)
{
    FILE *f = fopen(rec_path(3), "r+b");
    int c;

    fseek(f, SPOOL_HEADER_LEN + 3, SEEK_SET);
    c = fgetc(f);
    fseek(f, SPOOL_HEADER_LEN + 3, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
}

static void tear_tail(void)
{
    struct stat sb;

    stat(rec_path(3), &sb);
    if (truncate(rec_path(3), sb.st_size - 7) != 0)
        perror("truncate");
}

static void empty_file(void)
{
    if (truncate(rec_path(3), 0) != 0)
        perror("truncate");
}

static void header_only_torn(void)
{
    if (truncate(rec_path(3), 10) != 0)
        perror("truncate");
}

static void wrong_name(void)
{
    /* record 2's bytes under record 3's name: a valid record whose header
     * seq does not match its file name */
    char p2[512], cmd[1200];

    snprintf(p2, sizeof(p2), "%s", rec_path(2));
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", p2, rec_path(3));
    if (system(cmd) != 0)
        fprintf(stderr, "wrong_name: cp failed\n");
}

TEST(corrupt_records_skipped_and_counted)
{
    void (*damages[])(void) = {flip_byte, tear_tail, empty_file, header_only_torn, wrong_name};

    for (size_t i = 0; i < PF_ARRAY_LEN(damages); i++) {
        make_root("corrupt");
        if (!damaged_reopen_ok(damages[i]))
            T_FAIL_("damage #%zu not handled", i);
        drop_root();
    }
}

TEST(leftover_tmp_removed_not_counted)
{
    struct spool *sp = NULL;
    struct spool_stats st;
    char p[600];
    FILE *f;

    make_root("tmp");
    T_EQ_INT(spool_open(root, 1 << 20, &sp), PF_OK);
    T_EQ_INT(put_n(sp, 1, 2), 0);
    spool_free(sp);
    snprintf(p, sizeof(p), "%s.tmp", rec_path(3));
    f = fopen(p, "wb");
    T_ASSERT(f);
    fputs("PFSP half writ", f);
    fclose(f);
    sp = NULL;
    T_EQ_INT(spool_open(root, 1 << 20, &sp), PF_OK);
    spool_get_stats(sp, &st);
    T_EQ_INT(st.depth, 2);
    T_EQ_INT(st.corrupt, 0);
    T_ASSERT(access(p, F_OK) != 0);
    /* and the seq is usable afterwards */
    T_EQ_INT(spool_put(sp, 3, "{}", 2), PF_OK);
    spool_free(sp);
    drop_root();
}

TEST(corruption_after_open_skipped_by_peek)
{
    struct spool *sp = NULL;
    struct spool_batch b;
    struct spool_stats st;

    make_root("late");
    T_EQ_INT(spool_open(root, 1 << 20, &sp), PF_OK);
    T_EQ_INT(put_n(sp, 1, 5), 0);
    flip_byte();
    T_EQ_INT(spool_peek(sp, 1000, 1 << 20, &b), PF_OK);
    T_EQ_INT(b.n, 4);
    T_EQ_INT(b.seqs[2], 4);
    spool_batch_clear(&b);
    spool_get_stats(sp, &st);
    T_EQ_INT(st.corrupt, 1);
    T_EQ_INT(st.depth, 4);
    spool_free(sp);
    drop_root();
}

TEST(peek_respects_byte_limit)
{
    struct spool *sp = NULL;
    struct spool_batch b;
    char big[3000];

    make_root("bytes");
    memset(big, 'a', sizeof(big));
    T_EQ_INT(spool_open(root, 1 << 20, &sp), PF_OK);
    for (uint64_t s = 1; s <= 5; s++)
        T_EQ_INT(spool_put(sp, s, big, sizeof(big)), PF_OK);
    T_EQ_INT(spool_peek(sp, 1000, 7000, &b), PF_OK);
    T_EQ_INT(b.n, 2); /* 2 x 3000 fit in 7000, 3 do not */
    spool_batch_clear(&b);
    /* a limit below one record still returns the first one, alone */
    T_EQ_INT(spool_peek(sp, 1000, 100, &b), PF_OK);
    T_EQ_INT(b.n, 1);
    T_EQ_INT(b.seqs[0], 1);
    spool_batch_clear(&b);
    T_EQ_INT(spool_peek(sp, 3, 1 << 20, &b), PF_OK);
    T_EQ_INT(b.n, 3);
    spool_batch_clear(&b);
    spool_free(sp);
    drop_root();
}

TEST(many_records_keep_order_after_reopen)
{
    struct spool *sp = NULL;
    struct spool_batch b;
    uint64_t expect = 1;
    size_t total = 0;

    make_root("many");
    T_EQ_INT(spool_open(root, 64 << 20, &sp), PF_OK);
    T_EQ_INT(put_n(sp, 1, 2500), 0);
    spool_free(sp);
    sp = NULL;
    T_EQ_INT(spool_open(root, 64 << 20, &sp), PF_OK);
    for (;;) {
        T_EQ_INT(spool_peek(sp, 1000, 1 << 20, &b), PF_OK);
        if (b.n == 0)
            break;
        T_ASSERT(b.n <= 1000);
        for (size_t i = 0; i < b.n; i++)
            T_EQ_INT(b.seqs[i], expect++);
        total += b.n;
        T_EQ_INT(spool_remove(sp, b.seqs, b.n), PF_OK);
        spool_batch_clear(&b);
    }
    T_EQ_INT(total, 2500);
    T_EQ_INT(count_files(), 0);
    spool_free(sp);
    drop_root();
}

int main(void)
{
    RUN(crc32c_known_vectors);
    RUN(put_peek_remove_in_order);
    RUN(reopen_keeps_records);
    RUN(duplicate_zero_and_oversize_rejected);
    RUN(cap_drops_oldest_and_counts);
    RUN(corrupt_records_skipped_and_counted);
    RUN(leftover_tmp_removed_not_counted);
    RUN(corruption_after_open_skipped_by_peek);
    RUN(peek_respects_byte_limit);
    RUN(many_records_keep_order_after_reopen);
    return T_DONE();
}
