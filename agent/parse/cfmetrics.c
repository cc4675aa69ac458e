/* SPDX-License-Identifier: MIT */
/* cfmetrics.c: Prometheus text and cloudflared's metrics address (see
 * cfmetrics.h). */
#include "cfmetrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == ':';
}

bool cfmetrics_sum(const char *buf, size_t len, const char *metric, double *out)
{
    size_t k = strlen(metric), i = 0;
    bool found = false;
    double sum = 0;

    while (i < len) {
        const char *line = buf + i, *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i, j = k;
        char num[64];
        char *end;
        double v;

        i += n + 1;
        if (n <= k || line[0] == '#' || memcmp(line, metric, k) != 0 || is_name_char(line[k]))
            continue;
        if (line[j] == '{') {
            /* Label values may hold '}' inside quotes. */
            bool quoted = false;
            for (j++; j < n && (quoted || line[j] != '}'); j++) {
                if (line[j] == '\\' && quoted)
                    j++;
                else if (line[j] == '"')
                    quoted = !quoted;
            }
            if (j >= n)
                return false;
            j++;
        }
        while (j < n && (line[j] == ' ' || line[j] == '\t'))
            j++;
        if (j >= n || n - j >= sizeof(num))
            return false;
        memcpy(num, line + j, n - j);
        num[n - j] = '\0';
        v = strtod(num, &end);
        if (end == num || (*end && *end != ' ' && *end != '\t' && *end != '\r') || !isfinite(v) ||
            v < 0)
            return false;
        sum += v;
        found = true;
    }
    if (found)
        *out = sum;
    return found;
}

enum pf_rc cfmetrics_parse(const char *buf, size_t len, struct pf_sessions *se)
{
    double tcp, udp;
    bool has_tcp = cfmetrics_sum(buf, len, "cloudflared_tcp_active_sessions", &tcp);
    bool has_udp = cfmetrics_sum(buf, len, "cloudflared_udp_active_sessions", &udp);

    if (!has_tcp && !has_udp)
        return PF_INVALID;
    memset(se, 0, sizeof(*se));
    snprintf(se->source, sizeof(se->source), "cloudflared");
    se->has_tcp_active = has_tcp;
    se->tcp_active = has_tcp ? (uint64_t)(tcp + 0.5) : 0;
    se->has_udp_active = has_udp;
    se->udp_active = has_udp ? (uint64_t)(udp + 0.5) : 0;
    return PF_OK;
}

bool cfmetrics_loopback(const char *addr, char host[CFMETRICS_HOST_LEN], uint16_t *port)
{
    const char *colon;
    char h[CFMETRICS_HOST_LEN];
    size_t hl;
    unsigned long p;
    char *end;

    if (addr[0] == '[') {
        const char *rb = strchr(addr, ']');
        if (!rb || rb[1] != ':')
            return false;
        hl = (size_t)(rb - addr - 1);
        if (hl >= sizeof(h))
            return false;
        memcpy(h, addr + 1, hl);
        colon = rb + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return false;
        hl = (size_t)(colon - addr);
        if (hl >= sizeof(h) || memchr(addr, ':', hl))
            return false; /* an IPv6 address needs brackets */
        memcpy(h, addr, hl);
    }
    h[hl] = '\0';
    if (!colon[1])
        return false; /* "localhost:": a random port, found only from the logs */
    errno = 0;
    p = strtoul(colon + 1, &end, 10);
    if (*end || errno || p < 1 || p > 65535)
        return false;
    *port = (uint16_t)p;
    if (!h[0] || strcmp(h, "localhost") == 0 || strcmp(h, "0.0.0.0") == 0 ||
        (strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") == hl)) {
        snprintf(host, CFMETRICS_HOST_LEN, "%s", strncmp(h, "127.", 4) == 0 ? h : "127.0.0.1");
        return true;
    }
    if (strcmp(h, "::1") == 0 || strcmp(h, "::") == 0) {
        snprintf(host, CFMETRICS_HOST_LEN, "::1");
        return true;
    }
    return false;
}

bool cfmetrics_from_args(const char *const *argv, size_t argc, char *out, size_t outlen)
{
    for (size_t i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-')
            a += 2;
        else if (a[0] == '-')
            a += 1;
        else
            continue;
        if (strncmp(a, "metrics", 7) != 0)
            continue;
        if (a[7] == '=') {
            snprintf(out, outlen, "%s", a + 8);
            return true;
        }
        if (a[7] == '\0' && i + 1 < argc) {
            snprintf(out, outlen, "%s", argv[i + 1]);
            return true;
        }
    }
    return false;
}

bool cfmetrics_from_config(const char *buf, size_t len, char *out, size_t outlen)
{
    size_t i = 0;

    while (i < len) {
        const char *line = buf + i, *nl = memchr(line, '\n', len - i);
        size_t n = nl ? (size_t)(nl - line) : len - i, j = 8, e;
        i += n + 1;
        if (n < 8 || memcmp(line, "metrics:", 8) != 0)
            continue; /* top level only: no indentation */
        while (j < n && (line[j] == ' ' || line[j] == '\t'))
            j++;
        e = n;
        if (j < n && (line[j] == '"' || line[j] == '\'')) {
            const char *q = memchr(line + j + 1, line[j], n - j - 1);
            if (!q)
                return false;
            e = (size_t)(q - line);
            j++;
        } else {
            const char *hash = memchr(line + j, '#', n - j);
            if (hash)
                e = (size_t)(hash - line);
            while (e > j && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
                e--;
        }
        if (e <= j || e - j >= outlen)
            return false;
        memcpy(out, line + j, e - j);
        out[e - j] = '\0';
        return true;
    }
    return false;
}
