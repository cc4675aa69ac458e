/* SPDX-License-Identifier: MIT */
/* test_http.c: the collector's HTTP request-head parser: what it accepts,
 * each refusal with its status, head framing, query decoding. */
#include <stdlib.h>

#include "http.h"
#include "test.h"

static char head[HTTP_HEAD_MAX + 64];
static struct http_request req;
static const char *why;

/* Copies s into the writable head buffer and parses it. */
static int parse(const char *s)
{
    size_t n = strlen(s);
    memcpy(head, s, n + 1);
    return http_parse_head(head, n, HTTP_BODY_MAX, &req, &why);
}

TEST(simple_post)
{
    T_EQ_INT(parse("POST /v1/snapshots HTTP/1.1\r\nHost: c\r\nContent-Length: 12\r\n"
                   "Authorization: Bearer abc123\r\n\r\n"),
             0);
    T_EQ_STR(req.method, "POST");
    T_EQ_STR(req.path, "/v1/snapshots");
    T_EQ_STR(req.query, "");
    T_EQ_INT(req.minor, 1);
    T_EQ_INT(req.content_length, 12);
    T_ASSERT(req.keep_alive);
    T_ASSERT(!req.expect_continue);
    T_EQ_STR(http_bearer(&req), "abc123");
    T_EQ_STR(http_header(&req, "HOST"), "c");
    T_ASSERT(http_header(&req, "cookie") == NULL);
}

TEST(query_and_whitespace)
{
    T_EQ_INT(parse("GET /v1/findings?site=nyc%20east&host=a+b HTTP/1.1\r\nHost:c \r\n"
                   "X-Pad:  \t v a l \t\r\n\r\n"),
             0);
    T_EQ_STR(req.path, "/v1/findings");
    T_EQ_STR(req.query, "site=nyc%20east&host=a+b");
    T_EQ_STR(http_header(&req, "host"), "c");
    T_EQ_STR(http_header(&req, "x-pad"), "v a l");
    T_EQ_INT(req.content_length, 0);
}

TEST(connection_semantics)
{
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nConnection: foo, Close\r\n\r\n"), 0);
    T_ASSERT(!req.keep_alive);
    T_EQ_INT(parse("GET / HTTP/1.0\r\n\r\n"), 0);
    T_ASSERT(!req.keep_alive);
    T_EQ_INT(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    T_ASSERT(req.keep_alive);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nExpect: 100-Continue\r\n"
                   "Content-Length: 5\r\n\r\n"),
             0);
    T_ASSERT(req.expect_continue);
}

TEST(refusals)
{
    /* framing */
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n"), 411);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n"
                   "Content-Length: 3\r\n\r\n"),
             400);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
             400);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
             0);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nContent-Length: -1\r\n\r\n"), 400);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nContent-Length: 1,1\r\n\r\n"), 400);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nContent-Length: \r\n\r\n"), 400);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nContent-Length: 1048577\r\n\r\n"), 413);
    T_EQ_INT(req.content_length, 1048577); /* what the server drains after its 413 */
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\nContent-Length: 1048576\r\n\r\n"), 0);
    T_EQ_INT(parse("POST /x HTTP/1.1\r\nHost: c\r\n"
                   "Content-Length: 99999999999999999999999999999999\r\n\r\n"),
             413);
    /* request line */
    T_EQ_INT(parse("GET / HTTP/2.0\r\nHost: c\r\n\r\n"), 505);
    T_EQ_INT(parse("GET / HTTP/1.1 \r\nHost: c\r\n\r\n"), 400);
    T_EQ_INT(parse("GET  / HTTP/1.1\r\nHost: c\r\n\r\n"), 400);
    T_EQ_INT(parse("GET http://x/ HTTP/1.1\r\nHost: c\r\n\r\n"), 400);
    T_EQ_INT(parse("GET /a\x7f HTTP/1.1\r\nHost: c\r\n\r\n"), 400);
    T_EQ_INT(parse("G(T / HTTP/1.1\r\nHost: c\r\n\r\n"), 400);
    T_EQ_INT(parse("\r\nGET / HTTP/1.1\r\nHost: c\r\n\r\n"), 400);
    T_EQ_INT(parse("GET / XTTP/1.1\r\nHost: c\r\n\r\n"), 400);
    /* headers */
    T_EQ_INT(parse("GET / HTTP/1.1\r\n\r\n"), 400);
    T_CONTAINS(why, "Host");
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost : c\r\n\r\n"), 400);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\n folded\r\n\r\n"), 400);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nNoColon\r\n\r\n"), 400);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nX: a\x01" "b\r\n\r\n"), 400);
    T_EQ_INT(parse("GET / HTTP/1.1\nHost: c\n\n"), 400);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nExpect: magic\r\n\r\n"), 417);
}

TEST(embedded_nul)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost: c\0d\r\n\r\n";
    memcpy(head, s, sizeof(s));
    T_EQ_INT(http_parse_head(head, sizeof(s) - 1, HTTP_BODY_MAX, &req, &why), 400);
}

TEST(too_many_headers)
{
    struct pf_buf b;
    pf_buf_init(&b, HTTP_HEAD_MAX);
    T_EQ_INT(pf_buf_puts(&b, "GET / HTTP/1.1\r\nHost: c\r\n"), PF_OK);
    for (int i = 0; i < HTTP_HEADERS_MAX; i++)
        T_EQ_INT(pf_buf_printf(&b, "X-%d: %d\r\n", i, i), PF_OK);
    T_EQ_INT(pf_buf_puts(&b, "\r\n"), PF_OK);
    memcpy(head, b.data, b.len);
    T_EQ_INT(http_parse_head(head, b.len, HTTP_BODY_MAX, &req, &why), 431);
    pf_buf_free(&b);
}

TEST(head_end)
{
    const char *s = "GET / HTTP/1.1\r\nHost: c\r\n\r\nBODY";
    size_t full = strlen(s) - 4;

    T_EQ_INT(http_head_end(s, strlen(s), 0), full);
    /* fed one byte at a time, resuming where the last call stopped */
    for (size_t n = 1; n <= strlen(s); n++) {
        size_t got = http_head_end(s, n, n - 1);
        if (n < full)
            T_EQ_INT(got, 0);
        else if (n == full)
            T_EQ_INT(got, full);
    }
    T_EQ_INT(http_head_end("GET / HTTP/1.1\r\nHost: c\r\n", 25, 0), 0);
    /* a bare LF ends the head early so the parser can refuse it */
    T_EQ_INT(http_head_end("GET / HTTP/1.1\nHost", 19, 0), 15);
    T_EQ_INT(http_head_end("\n", 1, 0), 1);
}

TEST(query_get)
{
    char v[16];
    T_EQ_INT(http_query_get("site=nyc%20east&host=a+b&flag", "site", v, sizeof(v)), PF_OK);
    T_EQ_STR(v, "nyc east");
    T_EQ_INT(http_query_get("site=nyc%20east&host=a+b&flag", "host", v, sizeof(v)), PF_OK);
    T_EQ_STR(v, "a b");
    T_EQ_INT(http_query_get("site=nyc%20east&host=a+b&flag", "flag", v, sizeof(v)), PF_OK);
    T_EQ_STR(v, "");
    T_EQ_INT(http_query_get("site=x", "host", v, sizeof(v)), PF_NOTFOUND);
    T_EQ_INT(http_query_get("", "host", v, sizeof(v)), PF_NOTFOUND);
    T_EQ_INT(http_query_get("t=%zz", "t", v, sizeof(v)), PF_INVALID);
    T_EQ_INT(http_query_get("t=%2", "t", v, sizeof(v)), PF_INVALID);
    T_EQ_INT(http_query_get("t=%00", "t", v, sizeof(v)), PF_INVALID);
    T_EQ_INT(http_query_get("t=0123456789abcdef", "t", v, sizeof(v)), PF_TOOBIG);
    T_EQ_INT(http_query_get("t=0123456789abcde", "t", v, sizeof(v)), PF_OK);
    T_EQ_INT(http_query_get("s%69te=ok", "site", v, sizeof(v)), PF_OK);
    T_EQ_STR(v, "ok");
}

TEST(path_decode)
{
    char v[8];
    T_EQ_INT(http_path_decode("a+b%2Fc", v, sizeof(v)), PF_OK);
    T_EQ_STR(v, "a+b/c");
    T_EQ_INT(http_path_decode("%zz", v, sizeof(v)), PF_INVALID);
    T_EQ_INT(http_path_decode("a%00", v, sizeof(v)), PF_INVALID);
    T_EQ_INT(http_path_decode("12345678", v, sizeof(v)), PF_TOOBIG);
    T_EQ_INT(http_path_decode("1234567", v, sizeof(v)), PF_OK);
}

TEST(bearer)
{
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nAuthorization: bearer   k\r\n\r\n"), 0);
    T_EQ_STR(http_bearer(&req), "k");
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nAuthorization: Basic k\r\n\r\n"), 0);
    T_ASSERT(http_bearer(&req) == NULL);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer\r\n\r\n"), 0);
    T_ASSERT(http_bearer(&req) == NULL);
    T_EQ_INT(parse("GET / HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer \r\n\r\n"), 0);
    T_ASSERT(http_bearer(&req) == NULL);
}

TEST(write_head)
{
    struct pf_buf b;
    pf_buf_init(&b, 1024);
    T_EQ_INT(http_write_head(&b, 503, "application/json", 17, false, "Retry-After: 5\r\n"), PF_OK);
    T_EQ_STR(b.data, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: 17\r\nConnection: close\r\nRetry-After: 5\r\n\r\n");
    pf_buf_free(&b);
}

int main(void)
{
    RUN(simple_post);
    RUN(query_and_whitespace);
    RUN(connection_semantics);
    RUN(refusals);
    RUN(embedded_nul);
    RUN(too_many_headers);
    RUN(head_end);
    RUN(query_get);
    RUN(path_decode);
    RUN(bearer);
    RUN(write_head);
    return T_DONE();
}
