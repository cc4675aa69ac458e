/* SPDX-License-Identifier: MIT */
/* snapshot_codec.c: the text checks and number rounding the snapshot
 * codec's files share (snapshot_codec.h). */
#include "snapshot_codec.h"

#include <string.h>

/* Length of the string in a fixed buffer, or size when it has no NUL. */
size_t codec_bounded_len(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    return nul ? (size_t)(nul - s) : size;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when the
 * bytes are not one: overlong forms, surrogates and code points past
 * U+10FFFF are invalid (RFC 3629). */
size_t codec_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned cp, min;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool codec_utf8_valid(const char *s)
{
    size_t n = strlen(s);
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t k = codec_utf8_seq(p + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* Strict dotted quad: four decimal parts 0..255, no leading zeros. */
static bool ipv4_valid(const char *s, size_t n)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t digits = 0;
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
            return false;
    }
    return i == n;
}

bool codec_hexdigit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 4291 section 2.2 text: eight groups of 1..4 hex digits, at most one
 * "::", optionally ending in a dotted quad. No zone index. */
static bool ipv6_valid(const char *s)
{
    size_t n = strlen(s), i = 0;
    int groups = 0;
    bool dcolon = false;

    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        dcolon = true;
        i = 2;
        if (i == n)
            return true;
    } else if (n == 0 || s[0] == ':') {
        return false;
    }
    for (;;) {
        size_t end = i, hex = 0;
        bool dot = false;
        while (end < n && s[end] != ':') {
            dot |= s[end] == '.';
            end++;
        }
        if (dot) {
            if (end != n || !ipv4_valid(s + i, end - i))
                return false;
            groups += 2;
            break;
        }
        for (size_t k = i; k < end; k++) {
            if (!codec_hexdigit(s[k]))
                return false;
            hex++;
        }
        if (hex < 1 || hex > 4)
            return false;
        groups++;
        if (end == n)
            break;
        i = end + 1; /* past ':' */
        if (i < n && s[i] == ':') {
            if (dcolon)
                return false;
            dcolon = true;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return false; /* a single trailing colon */
        }
        if (groups > 8)
            return false;
    }
    return dcolon ? groups <= 7 : groups == 8;
}

bool codec_addr_valid(const char *s)
{
    return strchr(s, ':') ? ipv6_valid(s) : ipv4_valid(s, strlen(s));
}

/* x >= 0 in hundredths, rounded (no libm: common links none). */
uint64_t codec_to_hundredths(double x)
{
    return x > 0 ? (uint64_t)(x * 100 + 0.5) : 0;
}

/* Hundredths: the precision the model keeps for percentages and rates. */
double codec_hundredths(double x)
{
    return (double)codec_to_hundredths(x) / 100;
}
