/* SPDX-License-Identifier: MIT */
/* auth.c: randomness, SHA-256 and constant-time comparison for secrets. */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/sha256.h>

enum pf_rc auth_random(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return PF_IO;
        }
        p += got;
        n -= (size_t)got;
    }
    return PF_OK;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

enum pf_rc auth_new_uuid(char out[AUTH_UUID_LEN])
{
    uint8_t b[16];
    char h[33];

    if (auth_random(b, sizeof(b)))
        return PF_IO;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    hex(b, sizeof(b), h);
    snprintf(out, AUTH_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    return PF_OK;
}

enum pf_rc auth_new_key(char out[AUTH_KEY_LEN])
{
    uint8_t b[AUTH_KEY_BYTES];

    if (auth_random(b, sizeof(b)))
        return PF_IO;
    hex(b, sizeof(b), out);
    return PF_OK;
}

void auth_hash(const void *s, size_t len, uint8_t out[AUTH_HASH_LEN])
{
    mbedtls_sha256_ret(s, len, out, 0);
}

bool auth_equal(const char *a, const char *b)
{
    uint8_t ha[AUTH_HASH_LEN], hb[AUTH_HASH_LEN];
    volatile uint8_t diff = 0;

    if (!a || !b)
        return false;
    auth_hash(a, strlen(a), ha);
    auth_hash(b, strlen(b), hb);
    for (size_t i = 0; i < AUTH_HASH_LEN; i++)
        diff |= (uint8_t)(ha[i] ^ hb[i]);
    return diff == 0;
}

bool auth_uuid_valid(const char *s)
{
    for (size_t i = 0; i < AUTH_UUID_LEN - 1; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return s[AUTH_UUID_LEN - 1] == '\0';
}
