/* SPDX-License-Identifier: MIT */
/* test_transport.c: the pure parts of the transport: every HTTP status
 * maps to the verdict docs/protocol.md section 2 asks for (retry 5xx/408/429 and
 * no answer, re-enroll on 401, split on 413, drop other 4xx), and only
 * absolute https:// URLs are accepted. The requests themselves are tested
 * against real TLS servers by the agent_* integration tests. */
#include "test.h"
#include "transport.h"

TEST(classification_follows_protocol)
{
    static const struct {
        long status;
        enum transport_verdict v;
    } cases[] = {
        {200, TRANSPORT_OK},    {201, TRANSPORT_OK},    {204, TRANSPORT_OK},
        {0, TRANSPORT_RETRY},   {500, TRANSPORT_RETRY}, {502, TRANSPORT_RETRY},
        {503, TRANSPORT_RETRY}, {504, TRANSPORT_RETRY}, {599, TRANSPORT_RETRY},
        {408, TRANSPORT_RETRY}, {429, TRANSPORT_RETRY}, {100, TRANSPORT_RETRY},
        {301, TRANSPORT_RETRY}, {302, TRANSPORT_RETRY}, {401, TRANSPORT_REENROLL},
        {413, TRANSPORT_SPLIT}, {400, TRANSPORT_DROP},  {403, TRANSPORT_DROP},
        {404, TRANSPORT_DROP},  {405, TRANSPORT_DROP},  {409, TRANSPORT_DROP},
        {422, TRANSPORT_DROP},  {431, TRANSPORT_DROP},  {499, TRANSPORT_DROP},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (transport_classify(cases[i].status) != cases[i].v)
            T_FAIL_("status %ld: verdict %d, want %d", cases[i].status,
                    (int)transport_classify(cases[i].status), (int)cases[i].v);
}

TEST(only_https_urls)
{
    T_EQ_INT(transport_check_url("https://collector:8443"), PF_OK);
    T_EQ_INT(transport_check_url("https://127.0.0.1:8443/"), PF_OK);
    T_EQ_INT(transport_check_url("HTTPS://[::1]:8443"), PF_OK);
    T_EQ_INT(transport_check_url("https://c.example/prefix"), PF_OK);
    T_EQ_INT(transport_check_url("http://collector:8443"), PF_INVALID);
    T_EQ_INT(transport_check_url("collector:8443"), PF_INVALID);
    T_EQ_INT(transport_check_url("https://"), PF_INVALID);
    T_EQ_INT(transport_check_url("https:///path"), PF_INVALID);
    T_EQ_INT(transport_check_url("https://:8443"), PF_INVALID);
    T_EQ_INT(transport_check_url("https://a b"), PF_INVALID);
    T_EQ_INT(transport_check_url("https://a\r\nX: y"), PF_INVALID);
    T_EQ_INT(transport_check_url(""), PF_INVALID);
    T_EQ_INT(transport_check_url(NULL), PF_INVALID);
}

TEST(handle_lifecycle)
{
    struct transport *t = NULL;
    struct transport_result r;

    transport_free(NULL);
    T_EQ_INT(transport_new(NULL, &t), PF_OK);
    T_ASSERT(t != NULL);
    T_EQ_INT(transport_connections(t), 0);
    transport_result_init(&r);
    /* refused before any socket: not https */
    T_EQ_INT(transport_post(t, "http://127.0.0.1:1", "/v1/snapshots", NULL, "{}", 2, &r),
             PF_INVALID);
    T_EQ_INT(transport_connections(t), 0);
    transport_result_free(&r);
    transport_free(t);
}

int main(void)
{
    RUN(classification_follows_protocol);
    RUN(only_https_urls);
    RUN(handle_lifecycle);
    return T_DONE();
}
