/* SPDX-License-Identifier: MIT */
/* html.h: text made safe for HTML, the one escaper of every HTML the
 * collector writes (the report pages, collector/report; the HTML part of
 * notification mails, collector/alert). It escapes the five characters
 * that could end a text node or a quoted attribute value (& < > " '), so
 * the same call serves both; every other byte, UTF-8 included, is copied.
 * Line breaking is the caller's (a mail's lines have a length limit, a
 * page's do not). */
#ifndef PF_HTML_H
#define PF_HTML_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Appends s escaped. PF_OK, or pf_buf's PF_TOOBIG / PF_NOMEM (out then
 * holds a prefix of the escaped text, never half an entity). */
enum pf_rc pf_html_escape(struct pf_buf *out, const char *s);
/* The same for the n bytes at s (which may hold a NUL: it is copied). */
enum pf_rc pf_html_escape_n(struct pf_buf *out, const char *s, size_t n);

#endif
