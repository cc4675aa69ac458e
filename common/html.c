/* SPDX-License-Identifier: MIT */
/* html.c: HTML escaping (html.h). Runs of plain bytes are appended at once,
 * so a long text costs one append per escaped character, not per byte. */
#include "html.h"

#include <string.h>

enum pf_rc pf_html_escape_n(struct pf_buf *out, const char *s, size_t n)
{
    enum pf_rc rc = PF_OK;
    size_t run = 0; /* plain bytes before s[i] not appended yet */

    for (size_t i = 0; i < n && !rc; i++) {
        const char *e;
        switch (s[i]) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        case '\'':
            e = "&#39;";
            break;
        default:
            run++;
            continue;
        }
        rc = pf_buf_append(out, s + i - run, run);
        run = 0;
        if (!rc)
            rc = pf_buf_puts(out, e);
    }
    return rc ? rc : pf_buf_append(out, s + n - run, run);
}

enum pf_rc pf_html_escape(struct pf_buf *out, const char *s)
{
    return pf_html_escape_n(out, s, strlen(s));
}
