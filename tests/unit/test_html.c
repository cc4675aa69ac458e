/* SPDX-License-Identifier: MIT */
/* test_html.c: the HTML escaper of the report pages and the notification
 * mails: each of & < > " ' becomes its entity, everything else (UTF-8,
 * control bytes) is copied, a length stops where it says, and a full
 * buffer keeps a whole prefix, never half an entity. */
#include <string.h>

#include "buf.h"
#include "html.h"
#include "test.h"

TEST(escapes_five)
{
    struct pf_buf b;

    pf_buf_init(&b, 1024);
    T_EQ_INT(pf_html_escape(&b, "<a href=\"x\" title='y'>&amp;</a>"), PF_OK);
    T_EQ_STR(b.data, "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
    pf_buf_reset(&b);
    T_EQ_INT(pf_html_escape(&b, "Zürich-01 \t 10.0.0.5:443"), PF_OK);
    T_EQ_STR(b.data, "Zürich-01 \t 10.0.0.5:443");
    pf_buf_reset(&b);
    T_EQ_INT(pf_html_escape(&b, ""), PF_OK);
    T_EQ_INT(b.len, 0);
    T_EQ_INT(pf_html_escape(&b, "&"), PF_OK);
    T_EQ_STR(b.data, "&amp;");
    pf_buf_free(&b);
}

TEST(length)
{
    struct pf_buf b;

    pf_buf_init(&b, 1024);
    T_EQ_INT(pf_html_escape_n(&b, "a<b>c", 2), PF_OK);
    T_EQ_STR(b.data, "a&lt;");
    T_EQ_INT(pf_html_escape_n(&b, "x\0<", 3), PF_OK);
    T_EQ_INT(b.len, 5 + 1 + 1 + 4);
    T_ASSERT(memcmp(b.data + 5, "x\0&lt;", 7) == 0);
    pf_buf_free(&b);
}

TEST(full_buffer_keeps_whole_entities)
{
    struct pf_buf b;

    pf_buf_init(&b, 7);
    T_EQ_INT(pf_html_escape(&b, "ab<cd"), PF_TOOBIG);
    T_EQ_STR(b.data, "ab&lt;"); /* "cd" did not fit; no half entity */
    pf_buf_reset(&b);
    T_EQ_INT(pf_html_escape(&b, "abcdef<"), PF_TOOBIG);
    T_EQ_STR(b.data, "abcdef");
    pf_buf_free(&b);
}

int main(void)
{
    RUN(escapes_five);
    RUN(length);
    RUN(full_buffer_keeps_whole_entities);
    return T_DONE();
}
