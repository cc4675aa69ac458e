/* SPDX-License-Identifier: MIT */
/* http.h: the collector's HTTP/1.1 request-head parser and response writer.
 * No packaged parser fits (Debian has none we would trust with a server), so
 * this one is ours and is deliberately strict: CRLF line ends only, no
 * obs-fold, no whitespace before a header colon, origin-form targets only,
 * Content-Length as the only body framing (Transfer-Encoding -> 411, both ->
 * 400), one Host on HTTP/1.1. The parser is a pure function over a buffer the
 * server has already capped (HTTP_HEAD_MAX), so the fuzzer drives it exactly
 * as the server does. It never reads a body: the server decides from the head
 * alone whether to read one (so an oversize body is refused unread). */
#ifndef PF_HTTP_H
#define PF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define HTTP_HEAD_MAX 8192         /* request line + headers + blank line */
#define HTTP_BODY_MAX (1024 * 1024) /* largest body any route accepts */
#define HTTP_HEADERS_MAX 64

struct http_header {
    char *name; /* as sent; compare case-insensitively */
    char *value; /* without surrounding whitespace */
};

/* A parsed request head. Every string points into the buffer given to
 * http_parse_head(), which was modified in place (NULs written): it lives
 * exactly as long as that buffer. */
struct http_request {
    char *method; /* "GET", "POST", ... (case-sensitive token) */
    char *path;   /* target up to '?', starts with '/' */
    char *query;  /* after '?', "" when none */
    int minor;    /* HTTP/1.<minor>: 0 or 1 */
    struct http_header headers[HTTP_HEADERS_MAX];
    size_t nheaders;
    uint64_t content_length; /* 0 when absent */
    bool keep_alive;         /* the client allows another request after this one */
    bool expect_continue;    /* "Expect: 100-continue": send 100 before reading the body */
};

/* Looks for the blank line that ends a head in buf[0..len). from is how far
 * an earlier call already looked (0 the first time; the scan restarts a few
 * bytes before it). Returns the length of the head including its final
 * CRLFCRLF, or 0 when it is not complete yet. */
size_t http_head_end(const char *buf, size_t len, size_t from);

/* Parses the head buf[0..len) (len as returned by http_head_end) in place.
 * Bodies longer than max_body are refused here. Returns 0 and fills req, or
 * the HTTP status to answer (400, 411, 413, 417, 431, 501, 505) with a static
 * reason in *why; req is then only partly filled and must not be used,
 * except content_length after 413: the announced length (the server reads
 * and discards that much after answering, see conn.h DRAIN_BYTES). */
int http_parse_head(char *buf, size_t len, uint64_t max_body, struct http_request *req,
                    const char **why);

/* Returns the value of the first header called name (case-insensitive), or
 * NULL. The string belongs to the request's buffer. */
const char *http_header(const struct http_request *req, const char *name);

/* Returns the token of "Authorization: Bearer <token>" (scheme compared
 * case-insensitively), or NULL when absent or another scheme. */
const char *http_bearer(const struct http_request *req);

/* Finds name in a query string ("a=1&site=nyc%20east") and writes its value,
 * percent- and '+'-decoded and NUL-terminated, into out. Returns PF_OK,
 * PF_NOTFOUND when absent, PF_TOOBIG when the value does not fit in outlen,
 * PF_INVALID for a bad %-escape or a decoded NUL. */
enum pf_rc http_query_get(const char *query, const char *name, char *out, size_t outlen);

/* Percent-decodes a path segment s into out ('+' stays '+'). PF_OK,
 * PF_TOOBIG when it does not fit in outlen, PF_INVALID for a bad %-escape
 * or a decoded NUL. */
enum pf_rc http_path_decode(const char *s, char *out, size_t outlen);

/* The standard reason phrase of status ("Not Found"), "Unknown" otherwise. */
const char *http_reason(int status);

/* Appends a complete response head to out: status line, Content-Type (when
 * not NULL), Content-Length, Connection, and extra (NULL or ready-made
 * "Name: value\r\n" lines), then the blank line. The body follows separately. */
enum pf_rc http_write_head(struct pf_buf *out, int status, const char *content_type,
                           size_t content_length, bool keep_alive, const char *extra);

#endif
