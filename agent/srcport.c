/* SPDX-License-Identifier: MIT */
/* srcport.c: the reserve source ports' pool (see srcport.h): parsing
 * --reserve-ports, holding the placeholders, and handing the ports out in
 * turn. The OS calls are in srcport_linux.c / srcport_win.c. */
#include "srcport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct srcport {
    size_t n;                        /* ports in the pool */
    uint16_t port[SRCPORT_MAX];      /* held for IPv4; 0 = slot lost */
    intptr_t hold4[SRCPORT_MAX];     /* placeholders, SRCPORT_NONE when not held */
    intptr_t hold6[SRCPORT_MAX];
    size_t next;                     /* the next port to hand out */
    size_t fails;                    /* address failures in a row */
    bool plain_next;                 /* all failed: one plain connection */
};

enum pf_rc srcport_parse(const char *text, struct srcport_spec *spec, char *err, size_t errlen)
{
    const char *p = text;

    memset(spec, 0, sizeof(*spec));
    if (!text || strcmp(text, "auto") == 0)
        return PF_OK;
    if (strcmp(text, "off") == 0) {
        spec->off = true;
        return PF_OK;
    }
    for (;;) {
        unsigned long v = 0;
        const char *start = p;

        while (*p >= '0' && *p <= '9' && v <= 65535)
            v = v * 10 + (unsigned long)(*p++ - '0');
        if (p == start || v == 0 || v > 65535 || (*p != ',' && *p != '\0')) {
            snprintf(err, errlen,
                     "option --reserve-ports: must be auto, off or a list of ports 1-65535 "
                     "separated by commas, not \"%s\"",
                     text);
            return PF_INVALID;
        }
        for (size_t i = 0; i < spec->n; i++)
            if (spec->port[i] == v) {
                snprintf(err, errlen, "option --reserve-ports: port %lu is listed twice", v);
                return PF_INVALID;
            }
        if (spec->n == SRCPORT_MAX) {
            snprintf(err, errlen, "option --reserve-ports: at most %d ports", SRCPORT_MAX);
            return PF_INVALID;
        }
        spec->port[spec->n++] = (uint16_t)v;
        if (*p == '\0')
            return PF_OK;
        p++;
    }
}

/* Takes the IPv6 placeholder of slot k, where the host has IPv6. */
static void hold_v6(struct srcport *p, size_t k)
{
    uint16_t bound = 0;
    long e = 0;

    p->hold6[k] = srcport_os_open(srcport_os_af_inet6(), 0, 0, p->port[k], &bound, &e);
}

enum pf_rc srcport_new(const struct srcport_spec *spec, struct srcport **out)
{
    struct srcport *p = calloc(1, sizeof(*p));
    size_t want;

    *out = NULL;
    if (!p)
        return PF_NOMEM;
    for (size_t k = 0; k < SRCPORT_MAX; k++)
        p->hold4[k] = p->hold6[k] = SRCPORT_NONE;
    want = spec->off ? 0 : spec->n ? spec->n : SRCPORT_AUTO_COUNT;
    for (size_t i = 0; i < want; i++) {
        uint16_t asked = spec->n ? spec->port[i] : 0, bound = 0;
        long e = 0;
        intptr_t s = srcport_os_open(srcport_os_af_inet(), 0, 0, asked, &bound, &e);

        if (s == SRCPORT_NONE) {
            if (asked)
                pf_warn("reserve port %u cannot be held (OS error %ld): in use by another "
                        "program?",
                        (unsigned)asked, e);
            else
                pf_warn("no port free for the reserve (OS error %ld): new connections need a "
                        "free ephemeral port",
                        e);
            continue;
        }
        p->hold4[p->n] = s;
        p->port[p->n] = bound;
        hold_v6(p, p->n);
        p->n++;
    }
    if (p->n) {
        char list[SRCPORT_MAX * 6 + 1] = "";
        size_t len = 0;

        for (size_t k = 0; k < p->n; k++) {
            int w = snprintf(list + len, sizeof(list) - len, "%s%u", k ? "," : "",
                             (unsigned)p->port[k]);
            if (w > 0 && (size_t)w < sizeof(list) - len)
                len += (size_t)w;
        }
        pf_info("holding reserve source port(s) %s for new connections to collectors", list);
    }
    *out = p;
    return PF_OK;
}

void srcport_free(struct srcport *p)
{
    if (!p)
        return;
    for (size_t k = 0; k < SRCPORT_MAX; k++) {
        if (p->hold4[k] != SRCPORT_NONE)
            srcport_os_close(p->hold4[k]);
        if (p->hold6[k] != SRCPORT_NONE)
            srcport_os_close(p->hold6[k]);
    }
    free(p);
}

intptr_t srcport_socket(struct srcport *p, int family, int socktype, int protocol,
                        uint16_t *port)
{
    bool v6 = family == srcport_os_af_inet6();

    *port = 0;
    if (!p || p->n == 0 || (!v6 && family != srcport_os_af_inet()))
        return SRCPORT_NONE;
    if (p->plain_next) {
        p->plain_next = false;
        return SRCPORT_NONE;
    }
    for (size_t tries = 0; tries < p->n; tries++) {
        size_t k = p->next;
        uint16_t bound = 0;
        long e = 0;
        intptr_t s;

        p->next = (p->next + 1) % p->n; /* in turn: see srcport.h, TIME_WAIT */
        if (v6 && p->hold6[k] == SRCPORT_NONE)
            hold_v6(p, k); /* the host may have gained IPv6 since */
        if (v6 && p->hold6[k] == SRCPORT_NONE)
            continue;
        s = srcport_os_open(family, socktype, protocol, p->port[k], &bound, &e);
        if (s != SRCPORT_NONE) {
            *port = p->port[k];
            return s;
        }
        pf_debug("reserve port %u: cannot bind (OS error %ld)", (unsigned)p->port[k], e);
    }
    return SRCPORT_NONE;
}

bool srcport_result(struct srcport *p, uint16_t port, bool addr_error)
{
    if (!p || p->n == 0)
        return false;
    if (!addr_error) {
        p->fails = 0;
        return false;
    }
    if (port == 0) {
        /* a plain connection found no port: the reserve is what is left */
        p->fails = 0;
        return true;
    }
    if (++p->fails >= p->n) {
        p->fails = 0;
        p->plain_next = true; /* every reserve port failed: try the OS's choice once */
    }
    return true;
}

size_t srcport_held(const struct srcport *p, uint16_t *ports)
{
    if (!p)
        return 0;
    memcpy(ports, p->port, p->n * sizeof(*ports));
    return p->n;
}
