/* SPDX-License-Identifier: MIT */
/* http.c: strict HTTP/1.1 request heads (RFC 9110/9112 syntax, minus what
 * a push API never needs: obs-fold, absolute-form targets, chunked bodies). */
#include "http.h"

#include <string.h>

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_vchar_or_obs(unsigned char c)
{
    return (c >= 0x21 && c != 0x7f);
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool ieq(const char *a, const char *b)
{
    while (*a && *b && lower((unsigned char)*a) == lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

size_t http_head_end(const char *buf, size_t len, size_t from)
{
    for (size_t i = from; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        /* A bare LF ends the head at once: the parser rejects it, so a
         * client that never sends CRLF gets its 400 now, not at the cap. */
        if (i == 0 || buf[i - 1] != '\r')
            return i + 1;
        if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    }
    return 0;
}

/* Cuts the next CRLF-terminated line out of [*p, end), NUL-terminating it.
 * Returns its length, or -1 when the line ends in a bare LF, holds a NUL, or
 * the head ends without a line end. */
static long next_line(char **p, char *end, char **line)
{
    char *s = *p;
    char *nl = memchr(s, '\n', (size_t)(end - s));

    if (!nl || nl == s || nl[-1] != '\r')
        return -1;
    if (memchr(s, '\0', (size_t)(nl - s)))
        return -1;
    nl[-1] = '\0';
    *line = s;
    *p = nl + 1;
    return (long)(nl - 1 - s);
}

/* Parses "1*DIGIT" into *out, saturating at UINT64_MAX/10 so an absurd
 * value still compares as too big. Returns false for anything else. */
static bool parse_length(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        if (v < UINT64_MAX / 10 - 10)
            v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static int parse_request_line(char *line, struct http_request *req, const char **why)
{
    char *sp1, *sp2, *ver, *q;
    size_t mlen;

    sp1 = strchr(line, ' ');
    if (!sp1) {
        *why = "malformed request line";
        return 400;
    }
    mlen = (size_t)(sp1 - line);
    if (mlen == 0 || mlen > 20) {
        *why = "malformed method";
        return 400;
    }
    for (size_t i = 0; i < mlen; i++)
        if (!is_tchar((unsigned char)line[i])) {
            *why = "malformed method";
            return 400;
        }
    sp2 = strchr(sp1 + 1, ' ');
    if (!sp2 || sp2 == sp1 + 1) {
        *why = "malformed request line";
        return 400;
    }
    for (char *t = sp1 + 1; t < sp2; t++)
        if (!is_vchar_or_obs((unsigned char)*t) || (unsigned char)*t >= 0x80) {
            *why = "malformed request target";
            return 400;
        }
    if (sp1[1] != '/') {
        *why = "request target must be a path";
        return 400;
    }
    ver = sp2 + 1;
    if (strcmp(ver, "HTTP/1.1") == 0) {
        req->minor = 1;
    } else if (strcmp(ver, "HTTP/1.0") == 0) {
        req->minor = 0;
    } else if (strncmp(ver, "HTTP/", 5) == 0 && ver[5] >= '0' && ver[5] <= '9' && ver[6] == '.' &&
               ver[7] >= '0' && ver[7] <= '9' && ver[8] == '\0') {
        *why = "only HTTP/1.0 and HTTP/1.1 are supported";
        return 505;
    } else {
        *why = "malformed HTTP version";
        return 400;
    }
    *sp1 = '\0';
    *sp2 = '\0';
    req->method = line;
    req->path = sp1 + 1;
    q = strchr(req->path, '?');
    if (q) {
        *q = '\0';
        req->query = q + 1;
    } else {
        req->query = sp2; /* the NUL just written: "" */
    }
    return 0;
}

static int parse_header_line(char *line, size_t n, struct http_request *req, const char **why)
{
    char *colon, *v, *e;

    if (line[0] == ' ' || line[0] == '\t') {
        *why = "obsolete header line folding";
        return 400;
    }
    colon = memchr(line, ':', n);
    if (!colon || colon == line) {
        *why = "malformed header line";
        return 400;
    }
    for (char *t = line; t < colon; t++)
        if (!is_tchar((unsigned char)*t)) {
            *why = "malformed header name";
            return 400;
        }
    v = colon + 1;
    e = line + n;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    for (char *t = v; t < e; t++)
        if (!is_vchar_or_obs((unsigned char)*t) && *t != ' ' && *t != '\t') {
            *why = "control character in header value";
            return 400;
        }
    if (req->nheaders == HTTP_HEADERS_MAX) {
        *why = "too many header fields";
        return 431;
    }
    *colon = '\0';
    *e = '\0';
    req->headers[req->nheaders].name = line;
    req->headers[req->nheaders].value = v;
    req->nheaders++;
    return 0;
}

/* True when the comma-separated list value holds token (case-insensitive). */
static bool list_has(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    const char *p = value;

    while (*p) {
        const char *s, *e;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        s = p;
        while (*p && *p != ',')
            p++;
        e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - s) == tlen) {
            size_t i = 0;
            while (i < tlen && lower((unsigned char)s[i]) == lower((unsigned char)token[i]))
                i++;
            if (i == tlen)
                return true;
        }
    }
    return false;
}

/* The header semantics the server acts on: framing, keep-alive, Expect. */
static int interpret(struct http_request *req, uint64_t max_body, const char **why)
{
    bool have_cl = false, have_te = false;
    int hosts = 0;

    req->keep_alive = req->minor == 1;
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *name = req->headers[i].name, *value = req->headers[i].value;
        if (ieq(name, "content-length")) {
            uint64_t v;
            if (!parse_length(value, &v)) {
                *why = "malformed Content-Length";
                return 400;
            }
            if (have_cl && v != req->content_length) {
                *why = "conflicting Content-Length headers";
                return 400;
            }
            have_cl = true;
            req->content_length = v;
        } else if (ieq(name, "transfer-encoding")) {
            have_te = true;
        } else if (ieq(name, "host")) {
            hosts++;
        } else if (ieq(name, "connection")) {
            if (list_has(value, "close"))
                req->keep_alive = false;
            else if (req->minor == 0 && list_has(value, "keep-alive"))
                req->keep_alive = true;
        } else if (ieq(name, "expect")) {
            if (!ieq(value, "100-continue")) {
                *why = "unsupported expectation";
                return 417;
            }
            req->expect_continue = req->minor == 1;
        }
    }
    if (have_te && have_cl) {
        /* The request-smuggling shape: refuse rather than pick one. */
        *why = "both Transfer-Encoding and Content-Length";
        return 400;
    }
    if (have_te) {
        *why = "Transfer-Encoding is not supported; send Content-Length";
        return 411;
    }
    if (req->minor == 1 && hosts != 1) {
        *why = hosts ? "more than one Host header" : "missing Host header";
        return 400;
    }
    if (req->content_length > max_body) {
        *why = "request body too large";
        return 413;
    }
    return 0;
}

int http_parse_head(char *buf, size_t len, uint64_t max_body, struct http_request *req,
                    const char **why)
{
    char *p = buf, *end = buf + len, *line;
    long n;
    int st;

    memset(req, 0, sizeof(*req));
    *why = "";
    if (len > HTTP_HEAD_MAX) {
        *why = "request head too large";
        return 431;
    }
    n = next_line(&p, end, &line);
    if (n <= 0) {
        *why = n == 0 ? "empty request line" : "malformed line ending";
        return 400;
    }
    st = parse_request_line(line, req, why);
    if (st)
        return st;
    for (;;) {
        n = next_line(&p, end, &line);
        if (n < 0) {
            *why = "malformed line ending";
            return 400;
        }
        if (n == 0)
            break;
        st = parse_header_line(line, (size_t)n, req, why);
        if (st)
            return st;
    }
    if (p != end) {
        *why = "bytes after the end of the head";
        return 400;
    }
    return interpret(req, max_body, why);
}

const char *http_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (ieq(req->headers[i].name, name))
            return req->headers[i].value;
    return NULL;
}

const char *http_bearer(const struct http_request *req)
{
    const char *v = http_header(req, "authorization");

    if (!v || strlen(v) < 7)
        return NULL;
    for (int i = 0; i < 6; i++)
        if (lower((unsigned char)v[i]) != "bearer"[i])
            return NULL;
    if (v[6] != ' ')
        return NULL;
    v += 7;
    while (*v == ' ')
        v++;
    return *v ? v : NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)lower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes s[0..n) into out (outlen bytes with the NUL); plus_space: '+'
 * is a space (query strings), else itself (paths). */
static enum pf_rc decode_as(const char *s, size_t n, char *out, size_t outlen, bool plus_space)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return PF_INVALID;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return PF_INVALID;
            c = hi * 16 + lo;
            if (c == 0)
                return PF_INVALID;
            i += 2;
        }
        if (o + 1 >= outlen)
            return PF_TOOBIG;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return PF_OK;
}

static enum pf_rc decode(const char *s, size_t n, char *out, size_t outlen)
{
    return decode_as(s, n, out, outlen, true);
}

enum pf_rc http_path_decode(const char *s, char *out, size_t outlen)
{
    if (!outlen)
        return PF_TOOBIG;
    return decode_as(s, strlen(s), out, outlen, false);
}

enum pf_rc http_query_get(const char *query, const char *name, char *out, size_t outlen)
{
    const char *p = query;

    if (!outlen)
        return PF_TOOBIG;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        const char *end = amp ? amp : p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *kend = eq ? eq : end;
        char key[64];
        if (decode(p, (size_t)(kend - p), key, sizeof(key)) == PF_OK && strcmp(key, name) == 0)
            return eq ? decode(eq + 1, (size_t)(end - eq - 1), out, outlen)
                      : decode(end, 0, out, outlen);
        p = amp ? amp + 1 : NULL;
    }
    return PF_NOTFOUND;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

enum pf_rc http_write_head(struct pf_buf *out, int status, const char *content_type,
                           size_t content_length, bool keep_alive, const char *extra)
{
    enum pf_rc rc;

    rc = pf_buf_printf(out, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    if (!rc && content_type)
        rc = pf_buf_printf(out, "Content-Type: %s\r\n", content_type);
    if (!rc)
        rc = pf_buf_printf(out, "Content-Length: %zu\r\nConnection: %s\r\n", content_length,
                           keep_alive ? "keep-alive" : "close");
    if (!rc && extra)
        rc = pf_buf_puts(out, extra);
    if (!rc)
        rc = pf_buf_puts(out, "\r\n");
    return rc;
}
