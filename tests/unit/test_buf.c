/* SPDX-License-Identifier: MIT */
/* test_buf.c: the capped buffer: appends up to the cap and not past it,
 * PF_TOOBIG leaving the contents untouched, printf, reserve, consume,
 * reset and detach. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test.h"

TEST(append_and_cap)
{
    struct pf_buf b;

    pf_buf_init(&b, 10);
    T_ASSERT(b.data == NULL && b.len == 0);
    T_EQ_INT(pf_buf_append(&b, "hello", 5), PF_OK);
    T_EQ_INT(pf_buf_puts(&b, "world"), PF_OK);
    T_EQ_INT(b.len, 10);
    T_EQ_STR(b.data, "helloworld");
    T_EQ_INT(pf_buf_append(&b, "!", 1), PF_TOOBIG);
    T_EQ_INT(b.len, 10);
    T_EQ_STR(b.data, "helloworld");
    T_EQ_INT(pf_buf_append(&b, "", 0), PF_OK); /* nothing more is fine at the cap */
    T_ASSERT(b.cap <= 11);                     /* never allocates past max + NUL */
    pf_buf_free(&b);
    T_ASSERT(b.data == NULL && b.len == 0);
    T_EQ_INT(pf_buf_puts(&b, "again"), PF_OK); /* reusable after free */
    T_EQ_STR(b.data, "again");
    pf_buf_free(&b);
}

TEST(toobig_leaves_content)
{
    struct pf_buf b;
    enum pf_rc rc;

    pf_buf_init(&b, 8);
    T_EQ_INT(pf_buf_puts(&b, "abc"), PF_OK);
    T_EQ_INT(pf_buf_append(&b, "123456", 6), PF_TOOBIG);
    T_EQ_STR(b.data, "abc");
    T_EQ_INT(b.len, 3);
    T_EQ_INT(pf_buf_printf(&b, "%d", 123456), PF_TOOBIG);
    T_EQ_STR(b.data, "abc");
    T_EQ_INT(b.len, 3);
    T_ASSERT(pf_buf_reserve(&b, 6, &rc) == NULL);
    T_EQ_INT(rc, PF_TOOBIG);
    T_ASSERT(pf_buf_reserve(&b, SIZE_MAX, &rc) == NULL); /* no overflow in len + n */
    T_EQ_INT(rc, PF_TOOBIG);
    T_EQ_STR(b.data, "abc");
    pf_buf_free(&b);
}

TEST(printf_grows)
{
    struct pf_buf b;

    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(pf_buf_printf(&b, "%s=%d;", "a", 1), PF_OK);
    for (int i = 0; i < 1000; i++)
        T_EQ_INT(pf_buf_printf(&b, "%04d", i), PF_OK);
    T_EQ_INT(b.len, 4 + 4000);
    T_ASSERT(strncmp(b.data, "a=1;00000001", 12) == 0);
    T_EQ_STR(b.data + b.len - 4, "0999");
    T_EQ_INT(b.data[b.len], '\0');
    pf_buf_free(&b);
}

TEST(reserve)
{
    struct pf_buf b;
    enum pf_rc rc;
    char *p;

    pf_buf_init(&b, 100);
    T_EQ_INT(pf_buf_puts(&b, "ab"), PF_OK);
    p = pf_buf_reserve(&b, 50, &rc);
    T_ASSERT(p != NULL);
    T_EQ_INT(rc, PF_OK);
    T_ASSERT(p == b.data + 2);
    T_ASSERT(b.cap >= 53);
    T_EQ_INT(b.len, 2);
    memcpy(p, "cd", 2);
    b.len += 2;
    b.data[b.len] = '\0';
    T_EQ_STR(b.data, "abcd");
    pf_buf_free(&b);
}

TEST(consume_and_reset)
{
    struct pf_buf b;
    char *storage;

    pf_buf_init(&b, 100);
    T_EQ_INT(pf_buf_puts(&b, "0123456789"), PF_OK);
    pf_buf_consume(&b, 3);
    T_EQ_STR(b.data, "3456789");
    T_EQ_INT(b.len, 7);
    pf_buf_consume(&b, 0);
    T_EQ_STR(b.data, "3456789");
    pf_buf_consume(&b, 7);
    T_EQ_STR(b.data, "");
    T_EQ_INT(b.len, 0);
    T_EQ_INT(pf_buf_puts(&b, "xyz"), PF_OK);
    pf_buf_consume(&b, 100); /* more than len: empties */
    T_EQ_INT(b.len, 0);
    T_EQ_INT(pf_buf_puts(&b, "keep"), PF_OK);
    storage = b.data;
    pf_buf_reset(&b);
    T_EQ_INT(b.len, 0);
    T_EQ_STR(b.data, "");
    T_ASSERT(b.data == storage); /* storage kept */
    pf_buf_reset(&b);
    pf_buf_free(&b);
    pf_buf_reset(&b); /* on a freed buffer: no crash */
}

TEST(detach)
{
    struct pf_buf b;
    size_t len = 0;
    char *p;

    pf_buf_init(&b, 100);
    T_EQ_INT(pf_buf_puts(&b, "owned"), PF_OK);
    p = pf_buf_detach(&b, &len);
    T_EQ_STR(p, "owned");
    T_EQ_INT(len, 5);
    T_ASSERT(b.data == NULL && b.len == 0 && b.cap == 0);
    T_EQ_INT(b.max, 100);
    T_EQ_INT(pf_buf_puts(&b, "new"), PF_OK);
    T_EQ_STR(b.data, "new");
    T_EQ_STR(p, "owned"); /* independent of the buffer now */
    free(p);
    pf_buf_free(&b);
    p = pf_buf_detach(&b, NULL); /* empty: NULL */
    T_ASSERT(p == NULL);
}

int main(void)
{
    RUN(append_and_cap);
    RUN(toobig_leaves_content);
    RUN(printf_grows);
    RUN(reserve);
    RUN(consume_and_reset);
    RUN(detach);
    return T_DONE();
}
