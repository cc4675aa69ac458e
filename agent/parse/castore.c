/* SPDX-License-Identifier: MIT */
/* castore.c: the pure half of castore.h: which store certificates to
 * trust, and DER to PEM. */
#include "castore.h"

#include <stdint.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The length of the DER element at der (tag 0x30, definite length), or 0
 * when it is not one. */
static size_t der_sequence_len(const unsigned char *der, size_t len)
{
    size_t body = 0, head = 2;

    if (!der || len < 2 || der[0] != 0x30)
        return 0;
    if (der[1] < 0x80) {
        body = der[1];
    } else {
        size_t nb = der[1] & 0x7f;

        if (nb == 0 || nb > 4 || len < 2 + nb)
            return 0; /* indefinite or absurd lengths are not DER certificates */
        for (size_t i = 0; i < nb; i++)
            body = (body << 8) | der[2 + i];
        head += nb;
    }
    if (body > len - head)
        return 0;
    return head + body;
}

enum pf_rc castore_pem_append(struct pf_buf *pem, const unsigned char *der, size_t len)
{
    char line[80];
    size_t mark = pem->len, col = 0;
    enum pf_rc rc;

    if (len == 0 || der_sequence_len(der, len) != len)
        return PF_INVALID;
    rc = pf_buf_puts(pem, "-----BEGIN CERTIFICATE-----\n");
    for (size_t i = 0; !rc && i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        size_t left = len - i;

        if (left > 1)
            v |= (uint32_t)der[i + 1] << 8;
        if (left > 2)
            v |= der[i + 2];
        line[col++] = b64[(v >> 18) & 63];
        line[col++] = b64[(v >> 12) & 63];
        line[col++] = left > 1 ? b64[(v >> 6) & 63] : '=';
        line[col++] = left > 2 ? b64[v & 63] : '=';
        if (col == 64 || i + 3 >= len) {
            line[col++] = '\n';
            rc = pf_buf_append(pem, line, col);
            col = 0;
        }
    }
    if (!rc)
        rc = pf_buf_puts(pem, "-----END CERTIFICATE-----\n");
    if (rc) {
        pem->len = mark; /* never half a certificate */
        if (pem->data)
            pem->data[mark] = '\0';
    }
    return rc;
}

/* Worth trusting, leaving duplicates aside. */
static bool usable(const struct castore_entry *e)
{
    return !e->disallowed && !e->expired && !e->not_for_tls && e->len > 0 &&
           der_sequence_len(e->der, e->len) == e->len;
}

enum pf_rc castore_build(const struct castore_entry *e, size_t n, struct pf_buf *pem,
                         struct castore_counts *counts)
{
    memset(counts, 0, sizeof(*counts));
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        enum pf_rc rc;

        if (e[i].disallowed) {
            counts->disallowed++;
            continue;
        }
        if (e[i].expired) {
            counts->expired++;
            continue;
        }
        if (e[i].not_for_tls) {
            counts->not_for_tls++;
            continue;
        }
        /* the same CA is often in both stores */
        for (size_t k = 0; k < i && !seen; k++)
            seen = e[k].len == e[i].len && usable(&e[k]) &&
                   memcmp(e[k].der, e[i].der, e[i].len) == 0;
        if (seen) {
            counts->duplicate++;
            continue;
        }
        rc = castore_pem_append(pem, e[i].der, e[i].len);
        if (rc == PF_INVALID) {
            counts->malformed++;
            continue;
        }
        if (rc)
            return rc;
        counts->kept++;
    }
    return PF_OK;
}
