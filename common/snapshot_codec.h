/* SPDX-License-Identifier: MIT */
/* snapshot_codec.h: what the snapshot codec's files share (private to
 * snapshot_validate.c, snapshot_encode.c, snapshot_decode.c and
 * json_strict.c; not for other callers): the limits of the wire format,
 * the UTF-8 and address checks both the validator and the decoder apply,
 * and the rounding of fractions to the model's hundredths. */
#ifndef PF_SNAPSHOT_CODEC_H
#define PF_SNAPSHOT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest integer a JSON reader holding numbers as doubles keeps exact
 * (2^53 - 1). 2^53 itself is refused because 2^53 + 1 parses to it too. */
#define JSON_INT_MAX 9007199254740991ULL
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define PORT_MAX 65535

/* Length of the string in a fixed buffer, or size when it has no NUL. */
size_t codec_bounded_len(const char *s, size_t size);
/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
size_t codec_utf8_seq(const unsigned char *p, size_t n);
/* Whether the NUL-terminated s is valid UTF-8. */
bool codec_utf8_valid(const char *s);
bool codec_hexdigit(char c);
/* Numeric IPv4 (strict dotted quad) or IPv6 (RFC 4291 text). */
bool codec_addr_valid(const char *s);
/* x >= 0 in hundredths, rounded; and x rounded to hundredths: the
 * precision the model keeps for percentages and rates. */
uint64_t codec_to_hundredths(double x);
double codec_hundredths(double x);

#endif
