/* SPDX-License-Identifier: MIT */
/* portrange.c: ip_local_port_range / ip_local_reserved_ports parsing. */
#include "portrange.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads a decimal port at *p (< end); advances *p. Returns -1 on error. */
static long read_port(const char **p, const char *end)
{
    long v = 0;
    const char *s = *p;

    if (s >= end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > 65535)
            return -1;
        s++;
    }
    *p = s;
    return v;
}

enum pf_rc portrange_parse_local(const char *buf, size_t len, uint16_t *lo, uint16_t *hi)
{
    const char *p = buf, *end = buf + len;
    long a, b;

    while (p < end && is_space(*p))
        p++;
    if ((a = read_port(&p, end)) < 1)
        return PF_INVALID;
    if (p >= end || !is_space(*p))
        return PF_INVALID;
    while (p < end && is_space(*p))
        p++;
    if ((b = read_port(&p, end)) < 1 || b < a)
        return PF_INVALID;
    while (p < end && is_space(*p))
        p++;
    if (p != end)
        return PF_INVALID;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return PF_OK;
}

enum pf_rc portrange_parse_reserved(const char *buf, size_t len, struct portblock *out,
                                    size_t max, size_t *n)
{
    const char *p = buf, *end = buf + len;
    enum pf_rc rc = PF_OK;

    *n = 0;
    while (end > p && is_space(end[-1]))
        end--;
    while (p < end && is_space(*p))
        p++;
    while (p < end) {
        long a = read_port(&p, end), b;
        if (a < 0)
            return PF_INVALID;
        b = a;
        if (p < end && *p == '-') {
            p++;
            if ((b = read_port(&p, end)) < a)
                return PF_INVALID;
        }
        if (a >= 1) { /* port 0 is never handed out: nothing to reserve */
            if (*n < max) {
                out[*n].start = (uint16_t)a;
                out[*n].count = (uint32_t)(b - a + 1);
                (*n)++;
            } else {
                rc = PF_TOOBIG;
            }
        }
        if (p < end) {
            if (*p != ',')
                return PF_INVALID;
            p++;
        }
    }
    return rc;
}
