/* SPDX-License-Identifier: MIT */
/* rasconn.c: RRAS connections -> the vpn section (see rasconn.h). Sorting by
 * address groups the clients; a second sort ranks them. */
#include "rasconn.h"

#include <stdlib.h>
#include <string.h>

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive substring search (ASCII). */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && lower((unsigned char)hay[i]) == lower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

int rasconn_proto_classify(int projection_type, const char *device)
{
    static const struct {
        const char *word;
        int proto;
    } words[] = {
        {"ikev2", PF_VPN_IKEV2},
        {"sstp", PF_VPN_SSTP},
        {"l2tp", PF_VPN_L2TP},
        {"pptp", PF_VPN_PPTP},
    };

    if (projection_type == RASCONN_PROJECTION_IKEV2)
        return PF_VPN_IKEV2;
    if (!device)
        return -1;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (contains_nocase(device, words[i].word))
            return words[i].proto;
    return -1;
}

static bool addr_char(uint16_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
           c == '.' || c == ':' || c == '%';
}

size_t rasconn_addr_from_utf16(const uint16_t *w, size_t maxunits, char out[PF_ADDR_LEN])
{
    size_t n = 0;
    bool sep = false;

    out[0] = '\0';
    if (!w)
        return 0;
    for (; n < maxunits && w[n]; n++) {
        if (n >= PF_ADDR_LEN - 1 || !addr_char(w[n]))
            return 0;
        sep |= w[n] == '.' || w[n] == ':';
    }
    if (n == 0 || !sep)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)lower(w[i]);
    out[n] = '\0';
    return n;
}

static int cmp_addr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_rank(const void *a, const void *b)
{
    const struct pf_client_addr *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->addr, y->addr);
}

enum pf_rc rasconn_summarize(const struct rasconn_conn *conns, size_t n, struct pf_vpn *vpn,
                         bool *truncated)
{
    const char **addrs = NULL;
    struct pf_client_addr *groups = NULL;
    size_t naddrs = 0, ngroups = 0;

    free(vpn->top);
    vpn->top = NULL;
    vpn->ntop = 0;
    vpn->connections = n;
    vpn->distinct_clients = 0;
    memset(vpn->by_protocol, 0, sizeof(vpn->by_protocol));
    for (size_t i = 0; i < n; i++)
        if (conns[i].proto >= 0 && conns[i].proto < PF_VPN_NPROTO)
            vpn->by_protocol[conns[i].proto]++;
    if (n == 0)
        return PF_OK;

    addrs = malloc(n * sizeof(*addrs));
    groups = malloc(n * sizeof(*groups));
    if (!addrs || !groups) {
        free(addrs);
        free(groups);
        return PF_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (conns[i].addr[0])
            addrs[naddrs++] = conns[i].addr;
    qsort(addrs, naddrs, sizeof(*addrs), cmp_addr);
    for (size_t i = 0; i < naddrs; i++) {
        if (ngroups && strcmp(groups[ngroups - 1].addr, addrs[i]) == 0) {
            groups[ngroups - 1].count++;
            continue;
        }
        memcpy(groups[ngroups].addr, addrs[i], strlen(addrs[i]) + 1);
        groups[ngroups].count = 1;
        ngroups++;
    }
    free(addrs);
    vpn->distinct_clients = ngroups;
    if (ngroups == 0) {
        free(groups);
        return PF_OK;
    }
    qsort(groups, ngroups, sizeof(*groups), cmp_rank);
    if (ngroups > PF_LIST_MAX) {
        ngroups = PF_LIST_MAX;
        if (truncated)
            *truncated = true;
    }
    vpn->top = groups; /* the tail past ntop is unused */
    vpn->ntop = ngroups;
    return PF_OK;
}
