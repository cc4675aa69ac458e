/* SPDX-License-Identifier: MIT */
/* test_castore.c: the pure half of agent/castore.h on a constructed store:
 * DER to PEM (checked by decoding it back), which entries are kept and
 * why the others are not, and the bundle cap. The Windows half feeds the
 * same function from CertEnumCertificatesInStore; tests/integration/
 * agent_castore.sh checks the output with openssl on real certificates. */
#include <stdlib.h>

#include "castore.h"
#include "test.h"

/* Decodes the base64 lines between the PEM markers at *p into out;
 * returns the byte count, or -1 when a line is not as PEM wants it
 * (64 characters, the last one fewer). *p moves past the END line. */
static long pem_decode(const char **p, unsigned char *out, size_t cap)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----\n";
    static const char end[] = "-----END CERTIFICATE-----\n";
    const char *s = *p;
    size_t n = 0;
    bool short_seen = false;

    if (strncmp(s, begin, sizeof(begin) - 1) != 0)
        return -1;
    s += sizeof(begin) - 1;
    while (strncmp(s, end, sizeof(end) - 1) != 0) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : 0;
        uint32_t acc = 0;
        int bits = 0;

        if (!nl || len == 0 || len > 64 || len % 4 || short_seen)
            return -1;
        short_seen = len < 64;
        for (size_t i = 0; i < len; i++) {
            const char *b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            const char *at = s[i] == '=' ? NULL : strchr(b64, s[i]);

            if (s[i] == '=')
                continue;
            if (!at)
                return -1;
            acc = (acc << 6) | (uint32_t)(at - b64);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (n == cap)
                    return -1;
                out[n++] = (unsigned char)(acc >> bits);
            }
        }
        s = nl + 1;
    }
    *p = s + sizeof(end) - 1;
    return (long)n;
}

/* A DER SEQUENCE of body_len bytes (long form when over 127). */
static unsigned char *make_der(size_t body_len, unsigned char fill, size_t *len)
{
    unsigned char *d = malloc(body_len + 4);
    size_t h = 0;

    d[h++] = 0x30;
    if (body_len < 128) {
        d[h++] = (unsigned char)body_len;
    } else {
        d[h++] = 0x82;
        d[h++] = (unsigned char)(body_len >> 8);
        d[h++] = (unsigned char)body_len;
    }
    for (size_t i = 0; i < body_len; i++)
        d[h + i] = (unsigned char)(fill + i * 7);
    *len = h + body_len;
    return d;
}

TEST(pem_of_der)
{
    static const unsigned char tiny[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    struct pf_buf pem;
    unsigned char back[2048];
    const char *p;
    size_t len;

    pf_buf_init(&pem, 1 << 20);
    T_EQ_INT(castore_pem_append(&pem, tiny, sizeof(tiny)), PF_OK);
    T_EQ_STR(pem.data, "-----BEGIN CERTIFICATE-----\nMAMCAQU=\n-----END CERTIFICATE-----\n");
    for (size_t body = 1; body < 1200; body += 37) {
        unsigned char *d = make_der(body, (unsigned char)body, &len);

        pf_buf_reset(&pem);
        T_EQ_INT(castore_pem_append(&pem, d, len), PF_OK);
        p = pem.data;
        T_EQ_INT(pem_decode(&p, back, sizeof(back)), (long)len);
        T_ASSERT(memcmp(back, d, len) == 0);
        T_EQ_INT(*p, '\0');
        free(d);
    }
    pf_buf_free(&pem);
}

TEST(not_der_is_refused)
{
    static const unsigned char set[] = {0x31, 0x03, 0x02, 0x01, 0x05};
    static const unsigned char shortlen[] = {0x30, 0x05, 0x02, 0x01, 0x05};
    static const unsigned char trailing[] = {0x30, 0x03, 0x02, 0x01, 0x05, 0x00};
    static const unsigned char indefinite[] = {0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00};
    static const unsigned char hugelen[] = {0x30, 0x85, 1, 0, 0, 0, 0};
    struct pf_buf pem;

    pf_buf_init(&pem, 1 << 20);
    T_EQ_INT(castore_pem_append(&pem, set, sizeof(set)), PF_INVALID);
    T_EQ_INT(castore_pem_append(&pem, shortlen, sizeof(shortlen)), PF_INVALID);
    T_EQ_INT(castore_pem_append(&pem, trailing, sizeof(trailing)), PF_INVALID);
    T_EQ_INT(castore_pem_append(&pem, indefinite, sizeof(indefinite)), PF_INVALID);
    T_EQ_INT(castore_pem_append(&pem, hugelen, sizeof(hugelen)), PF_INVALID);
    T_EQ_INT(castore_pem_append(&pem, NULL, 0), PF_INVALID);
    T_EQ_INT(castore_pem_append(&pem, set, 1), PF_INVALID);
    T_EQ_INT(pem.len, 0);
    pf_buf_free(&pem);
}

TEST(store_entries_filtered)
{
    size_t la, lb, lc;
    unsigned char *a = make_der(300, 1, &la), *b = make_der(40, 2, &lb), *c = make_der(90, 3, &lc);
    unsigned char a_copy[400];
    static const unsigned char junk[] = {0x04, 0x01, 0x00};
    struct castore_entry e[] = {
        {a, la, false, false, false},          /* kept (ROOT) */
        {b, lb, true, false, false},           /* disallowed */
        {c, lc, false, true, false},           /* expired */
        {c, lc, false, false, true},           /* not for TLS servers */
        {junk, sizeof(junk), false, false, false}, /* malformed */
        {a_copy, la, false, false, false},     /* the same CA again (CA store) */
        {b, lb - 1, false, false, false},      /* cut short: malformed */
        {c, lc, false, false, false},          /* kept */
    };
    struct castore_counts n;
    struct pf_buf pem;
    unsigned char back[2048];
    const char *p;

    memcpy(a_copy, a, la);
    pf_buf_init(&pem, 1 << 20);
    T_EQ_INT(castore_build(e, sizeof(e) / sizeof(e[0]), &pem, &n), PF_OK);
    T_EQ_INT(n.kept, 2);
    T_EQ_INT(n.disallowed, 1);
    T_EQ_INT(n.expired, 1);
    T_EQ_INT(n.not_for_tls, 1);
    T_EQ_INT(n.malformed, 2);
    T_EQ_INT(n.duplicate, 1);
    p = pem.data;
    T_EQ_INT(pem_decode(&p, back, sizeof(back)), (long)la);
    T_ASSERT(memcmp(back, a, la) == 0);
    T_EQ_INT(pem_decode(&p, back, sizeof(back)), (long)lc);
    T_ASSERT(memcmp(back, c, lc) == 0);
    T_EQ_INT(*p, '\0');
    /* an empty store gives an empty bundle */
    pf_buf_reset(&pem);
    T_EQ_INT(castore_build(e, 0, &pem, &n), PF_OK);
    T_EQ_INT(n.kept, 0);
    T_EQ_INT(pem.len, 0);
    pf_buf_free(&pem);
    /* past the cap: PF_TOOBIG, and no half certificate left behind */
    pf_buf_init(&pem, 500);
    T_EQ_INT(castore_build(e, sizeof(e) / sizeof(e[0]), &pem, &n), PF_TOOBIG);
    T_EQ_INT(n.kept, 1);
    p = pem.data;
    T_EQ_INT(pem_decode(&p, back, sizeof(back)), (long)la);
    T_EQ_INT(*p, '\0');
    pf_buf_free(&pem);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    RUN(pem_of_der);
    RUN(not_der_is_refused);
    RUN(store_entries_filtered);
    return T_DONE();
}
