/* SPDX-License-Identifier: MIT */
/* test.h: the small assert header of portfleet's unit tests. A test file
 * defines functions with TEST(name) and lists them in main with RUN(name);
 * a failed check prints file:line and the values, marks the test failed and
 * returns from it. The summary line "N passed, N failed" ends the run and
 * the exit code is non-zero when anything failed. */
#ifndef PF_TEST_H
#define PF_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_failed_checks;
static int t_passed, t_failed;

#define TEST(name) static void name(void)

#define T_FAIL_(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        t_failed_checks++;                                                                         \
        return;                                                                                    \
    } while (0)

#define T_ASSERT(c)                                                                                \
    do {                                                                                           \
        if (!(c))                                                                                  \
            T_FAIL_("assertion failed: %s", #c);                                                   \
    } while (0)

#define T_EQ_INT(a, b)                                                                             \
    do {                                                                                           \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                                    \
        if (t_a_ != t_b_)                                                                          \
            T_FAIL_("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_);                                 \
    } while (0)

#define T_EQ_STR(a, b)                                                                             \
    do {                                                                                           \
        const char *t_a_ = (a), *t_b_ = (b);                                                       \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                                             \
            T_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)",                 \
                    t_b_ ? t_b_ : "(null)");                                                       \
    } while (0)

/* a contains the substring b */
#define T_CONTAINS(a, b)                                                                           \
    do {                                                                                           \
        const char *t_a_ = (a), *t_b_ = (b);                                                       \
        if (!t_a_ || !strstr(t_a_, t_b_))                                                          \
            T_FAIL_("%s contains %s: \"%s\" lacks \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)", t_b_); \
    } while (0)

#define RUN(name)                                                                                  \
    do {                                                                                           \
        int t_before_ = t_failed_checks;                                                           \
        name();                                                                                    \
        if (t_failed_checks == t_before_) {                                                        \
            t_passed++;                                                                            \
        } else {                                                                                   \
            t_failed++;                                                                            \
            fprintf(stderr, "FAIL %s\n", #name);                                                   \
        }                                                                                          \
    } while (0)

#define T_DONE()                                                                                   \
    (printf("%d passed, %d failed\n", t_passed, t_failed), t_failed ? 1 : 0)

/* Reads a whole file under tests/data (PF_TEST_DATA is set by CMake) into a
 * malloc'd buffer; returns NULL when missing. */
#include <stdlib.h>
static inline char *t_read_data(const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    char *p = NULL;
    long n;

    snprintf(path, sizeof(path), "%s/%s", PF_TEST_DATA, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n + 1);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
        if (p) {
            p[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return p;
}

#endif
