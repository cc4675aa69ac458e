/* SPDX-License-Identifier: MIT */
/* fuzz_http.c: libFuzzer harness for the collector's request-head parser,
 * driven as the server drives it: the bytes arrive in pieces (the first
 * input byte picks the piece size), http_head_end() is resumed after each
 * one inside a buffer capped at HTTP_HEAD_MAX, and a complete head goes to
 * http_parse_head(). Besides memory errors it checks the parser's promises
 * and aborts when one breaks: resumed scanning finds the same end as one
 * scan, every accepted request has a path starting with '/', a version of
 * 1.0/1.1 and a body within the limit, and the query lookup is bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[HTTP_HEAD_MAX];
    struct http_request req;
    const char *why;
    size_t step, len = 0, end = 0, oneshot;
    char val[32];

    if (size < 1)
        return 0;
    step = (size_t)(data[0] % 64) + 1;
    data++;
    size--;
    if (size > HTTP_HEAD_MAX)
        size = HTTP_HEAD_MAX;
    while (len < size && !end) {
        size_t n = size - len < step ? size - len : step;
        memcpy(buf + len, data + len, n);
        end = http_head_end(buf, len + n, len);
        len += n;
    }
    oneshot = http_head_end((const char *)data, size, 0);
    if (end != oneshot)
        abort();
    if (!end)
        return 0;
    if (http_parse_head(buf, end, HTTP_BODY_MAX, &req, &why) != 0) {
        if (!why || !*why)
            abort();
        return 0;
    }
    if (req.path[0] != '/' || (req.minor != 0 && req.minor != 1) ||
        req.content_length > HTTP_BODY_MAX || req.nheaders > HTTP_HEADERS_MAX)
        abort();
    (void)http_bearer(&req);
    (void)http_header(&req, "content-type");
    if (http_query_get(req.query, "site", val, sizeof(val)) == PF_OK && strlen(val) >= sizeof(val))
        abort();
    return 0;
}
