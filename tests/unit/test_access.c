/* SPDX-License-Identifier: MIT */
/* test_access.c: the access gate on parsed request heads, without a
 * database (only the operator option is known; any other token, and a
 * session not opened here, cannot be checked: 503): roles and tenant names,
 * a token in the URL refused even when valid, bearer beats cookie, the
 * Cookie header parser, the same-origin rule of state-changing requests
 * by cookie, forged cookies, and the role a route needs. The database
 * side (tokens, sessions, revocation) runs in tests/integration/tenants.sh. */
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "test.h"

#define OP "operator-option-token-0123456789"

static struct access *acc;

/* Parses a head built from a request line and header lines. */
static int parse(char *buf, const char *line, const char *headers, struct http_request *req)
{
    const char *why;
    size_t n =
        (size_t)snprintf(buf, 4096, "%s HTTP/1.1\r\nHost: c.example:8443\r\n%s\r\n", line, headers);
    return http_parse_head(buf, n, HTTP_BODY_MAX, req, &why);
}

static int decide(const char *line, const char *headers, enum access_role min, const char **code)
{
    char buf[4096];
    struct http_request req;
    struct access_who who;
    const char *msg;

    *code = "";
    if (parse(buf, line, headers, &req) != 0)
        return -1; /* the head itself is bad: no test here wants that */
    return access_decide(acc, &req, min, 1000, &who, code, &msg);
}

TEST(names)
{
    T_EQ_INT(access_role_parse("read"), ACCESS_READ);
    T_EQ_INT(access_role_parse("admin"), ACCESS_ADMIN);
    T_EQ_INT(access_role_parse("operator"), ACCESS_OPERATOR);
    T_EQ_INT(access_role_parse("Admin"), ACCESS_NONE);
    T_EQ_INT(access_role_parse("superuser"), ACCESS_NONE);
    T_EQ_INT(access_role_parse(""), ACCESS_NONE);
    T_EQ_STR(access_role_name(ACCESS_ADMIN), "admin");
    T_ASSERT(access_tenant_valid("acme"));
    T_ASSERT(access_tenant_valid("a-1"));
    T_ASSERT(
        access_tenant_valid("0123456789012345678901234567890123456789012345678901234567890123"));
    T_ASSERT(
        !access_tenant_valid("01234567890123456789012345678901234567890123456789012345678901234"));
    T_ASSERT(!access_tenant_valid(""));
    T_ASSERT(!access_tenant_valid("Acme"));
    T_ASSERT(!access_tenant_valid("a_b"));
    T_ASSERT(!access_tenant_valid("a b"));
    T_ASSERT(!access_tenant_valid("a/../b"));
    T_ASSERT(!access_tenant_valid(NULL));
}

TEST(secrets)
{
    char a[ACCESS_SECRET_LEN], b[ACCESS_SECRET_LEN];

    T_EQ_INT(access_new_secret("pft_", a), PF_OK);
    T_EQ_INT(access_new_secret("pft_", b), PF_OK);
    T_EQ_INT(strlen(a), 52);
    T_ASSERT(strncmp(a, "pft_", 4) == 0);
    T_EQ_INT(strspn(a + 4, "0123456789abcdef"), 48);
    T_ASSERT(strcmp(a, b) != 0);
}

TEST(bearer_and_roles)
{
    const char *code;

    T_EQ_INT(decide("GET /v1/findings", "Authorization: Bearer " OP "\r\n", ACCESS_READ, &code), 0);
    T_EQ_INT(decide("GET /v1/tenants", "Authorization: Bearer " OP "\r\n", ACCESS_OPERATOR, &code),
             0);
    T_EQ_INT(decide("GET /v1/findings", "", ACCESS_READ, &code), 401);
    T_EQ_STR(code, "unauthorized");
    /* no table read from the database: not known to be wrong, nor good */
    T_EQ_INT(decide("GET /v1/findings", "Authorization: Bearer wrong\r\n", ACCESS_READ, &code),
             503);
    T_EQ_STR(code, "unavailable");
    /* another scheme is no token */
    T_EQ_INT(decide("GET /v1/findings", "Authorization: Basic " OP "\r\n", ACCESS_READ, &code),
             401);
}

TEST(token_in_url_refused)
{
    const char *code;

    T_EQ_INT(decide("GET /report?token=" OP, "", ACCESS_READ, &code), 401);
    T_EQ_STR(code, "token_in_url");
    /* even with a valid bearer beside it, and with an empty value */
    T_EQ_INT(decide("GET /report?site=a&token=" OP, "Authorization: Bearer " OP "\r\n", ACCESS_READ,
                    &code),
             401);
    T_EQ_STR(code, "token_in_url");
    T_EQ_INT(decide("GET /report?token=", "", ACCESS_READ, &code), 401);
    T_EQ_STR(code, "token_in_url");
    /* a parameter that merely ends in "token" is not one */
    T_EQ_INT(
        decide("GET /v1/findings?xtoken=1", "Authorization: Bearer " OP "\r\n", ACCESS_READ, &code),
        0);
}

TEST(cookies)
{
    char buf[4096], v[80];
    struct http_request req;
    const char *code;
    static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    T_EQ_INT(parse(buf, "GET /report", "Cookie: a=1; pf_session=abc; b=2\r\n", &req), 0);
    T_EQ_INT(access_cookie(&req, "pf_session", v, sizeof(v)), PF_OK);
    T_EQ_STR(v, "abc");
    T_EQ_INT(parse(buf, "GET /report", "Cookie: xpf_session=abc\r\nCookie: pf_session=\r\n", &req),
             0);
    T_EQ_INT(access_cookie(&req, "pf_session", v, sizeof(v)), PF_OK);
    T_EQ_STR(v, "");
    T_EQ_INT(parse(buf, "GET /report", "Cookie: other=1\r\n", &req), 0);
    T_EQ_INT(access_cookie(&req, "pf_session", v, sizeof(v)), PF_NOTFOUND);
    T_EQ_INT(access_cookie(&req, "other", v, 1), PF_TOOBIG);

    /* a well-formed id this collector never issued (another collector may
     * have, and no table was read: 503), garbage, too long */
    T_EQ_INT(decide("GET /report",
                    "Cookie: pf_session="
                    "0123456789abcdef0123456789abcdef"
                    "0123456789abcdef0123456789abcdef\r\n",
                    ACCESS_READ, &code),
             503);
    T_EQ_STR(code, "unavailable");
    T_EQ_INT(decide("GET /report", "Cookie: pf_session=../../etc\r\n", ACCESS_READ, &code), 401);
    T_EQ_STR(code, "session_invalid");
    T_EQ_INT(decide("GET /report",
                    "Cookie: pf_session="
                    "0123456789abcdef0123456789abcdef"
                    "0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
                    ACCESS_READ, &code),
             401);
    T_EQ_STR(code, "session_invalid");

    /* a session made here is known at once; sign-out forgets it at once */
    {
        struct access_who w, got;
        memset(&w, 0, sizeof(w));
        w.role = ACCESS_ADMIN;
        snprintf(w.tenant, sizeof(w.tenant), "acme");
        auth_hash(id, strlen(id), w.session);
        access_session_add(acc, &w, 2000);
        T_EQ_INT(access_session(acc, id, 1000, &got), ACCESS_VALID);
        T_EQ_INT(got.role, ACCESS_ADMIN);
        T_EQ_STR(got.tenant, "acme");
        T_ASSERT(got.by_session);
        /* expired: the server's clock */
        T_EQ_INT(access_session(acc, id, 2000, &got), ACCESS_INVALID);
        T_EQ_INT(decide("GET /report",
                        "Cookie: pf_session="
                        "0123456789abcdef0123456789abcdef"
                        "0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_READ, &code),
                 0);
        /* by cookie, a POST needs the collector's own origin */
        T_EQ_INT(decide("POST /report/signout",
                        "Cookie: pf_session="
                        "0123456789abcdef0123456789abcdef"
                        "0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_READ, &code),
                 403);
        T_EQ_STR(code, "cross_origin");
        T_EQ_INT(decide("POST /report/signout",
                        "Origin: https://evil.example\r\nCookie: pf_session="
                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_READ, &code),
                 403);
        T_EQ_INT(decide("POST /report/signout",
                        "Origin: http://c.example:8443\r\nCookie: pf_session="
                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_READ, &code),
                 403); /* not https */
        T_EQ_INT(decide("POST /report/signout",
                        "Referer: https://c.example:8443.evil.example/report\r\nCookie: pf_session="
                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_READ, &code),
                 403);
        T_EQ_INT(decide("POST /report/signout",
                        "Origin: https://c.example:8443\r\nCookie: pf_session="
                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_READ, &code),
                 0);
        T_EQ_INT(decide("POST /report/signout",
                        "Referer: https://c.example:8443/report\r\nCookie: pf_session="
                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_READ, &code),
                 0);
        /* admin by session is still not operator */
        T_EQ_INT(decide("GET /v1/tenants",
                        "Cookie: pf_session="
                        "0123456789abcdef0123456789abcdef"
                        "0123456789abcdef0123456789abcdef\r\n",
                        ACCESS_OPERATOR, &code),
                 403);
        T_EQ_STR(code, "forbidden");
        access_session_drop(acc, w.session);
        T_EQ_INT(access_session(acc, id, 1000, &got), ACCESS_INVALID);
    }
}

TEST(sees)
{
    struct access_who w;

    memset(&w, 0, sizeof(w));
    w.role = ACCESS_READ;
    snprintf(w.tenant, sizeof(w.tenant), "acme");
    T_ASSERT(access_sees(&w, "acme"));
    T_ASSERT(!access_sees(&w, "globex"));
    T_ASSERT(!access_sees(&w, ""));
    w.role = ACCESS_OPERATOR;
    w.tenant[0] = '\0';
    T_ASSERT(access_sees(&w, "globex"));
}

int main(void)
{
    /* A database that is not there: only the operator option works. */
    if (access_new("host=/nonexistent-portfleet-test connect_timeout=1", OP, &acc) != PF_OK) {
        fprintf(stderr, "access_new failed\n");
        return 1;
    }
    if (access_loaded(acc)) {
        fprintf(stderr, "loaded from a database that is not there\n");
        return 1;
    }
    RUN(names);
    RUN(secrets);
    RUN(bearer_and_roles);
    RUN(token_in_url_refused);
    RUN(cookies);
    RUN(sees);
    access_free(acc);
    return T_DONE();
}
