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

void rasconn_ports(const struct rasconn_port *ports, size_t n, struct pf_vpn *vpn)
{
    uint64_t conf[PF_VPN_NPROTO] = {0}, used[PF_VPN_NPROTO] = {0};

    for (size_t i = 0; i < n; i++) {
        int proto = rasconn_proto_classify(0, ports[i].device);
        int c = ports[i].condition;
        if (proto < 0)
            continue;
        conf[proto]++;
        if (ports[i].has_connection ||
            (c != RASCONN_PORT_NON_OPERATIONAL && c != RASCONN_PORT_DISCONNECTED &&
             c != RASCONN_PORT_LISTENING))
            used[proto]++;
    }
    vpn->nports = 0;
    for (int p = 0; p < PF_VPN_NPROTO; p++) {
        if (!conf[p])
            continue;
        vpn->ports[vpn->nports].proto = (uint8_t)p;
        vpn->ports[vpn->nports].configured = conf[p];
        vpn->ports[vpn->nports].in_use = used[p];
        vpn->nports++;
    }
    vpn->has_ports = true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool in_pool(const struct rasconn_pool_range *r, size_t n, uint32_t a)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].from <= r[i].to && a >= r[i].from && a <= r[i].to)
            return true;
    return false;
}

static int cmp_range(const void *a, const void *b)
{
    const struct rasconn_pool_range *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

bool rasconn_pool(const struct rasconn_pool_range *ranges, size_t nranges,
                  const uint32_t *assigned, size_t nassigned, struct pf_vpn *vpn)
{
    uint64_t size = 0, in_use = 0, end = 0; /* end: one past the merged blocks so far */
    struct rasconn_pool_range *r;
    uint32_t *sorted;

    /* Sorted by start, overlapping blocks count each address once. */
    r = nranges ? malloc(nranges * sizeof(*r)) : NULL;
    if (!r)
        return false;
    memcpy(r, ranges, nranges * sizeof(*r));
    qsort(r, nranges, sizeof(*r), cmp_range);
    for (size_t i = 0; i < nranges; i++) {
        uint64_t from = r[i].from, to = (uint64_t)r[i].to + 1;
        if (r[i].from > r[i].to)
            continue;
        if (from < end)
            from = end;
        if (to > from)
            size += to - from;
        if (to > end)
            end = to;
    }
    free(r);
    if (!size)
        return false;
    sorted = nassigned ? malloc(nassigned * sizeof(*sorted)) : NULL;
    if (sorted) {
        memcpy(sorted, assigned, nassigned * sizeof(*sorted));
        qsort(sorted, nassigned, sizeof(*sorted), cmp_u32);
        for (size_t i = 0; i < nassigned; i++)
            if ((i == 0 || sorted[i] != sorted[i - 1]) && in_pool(ranges, nranges, sorted[i]))
                in_use++;
        free(sorted);
    }
    vpn->has_address_pool = true;
    vpn->pool_size = size;
    vpn->pool_in_use = in_use > size ? size : in_use;
    return true;
}

bool rasconn_ipv4_from_utf16(const uint16_t *w, size_t maxunits, uint32_t *out)
{
    uint32_t v = 0;
    size_t i = 0;

    if (!w)
        return false;
    for (int part = 0; part < 4; part++) {
        uint32_t x = 0;
        size_t digits = 0;
        if (part && (i >= maxunits || w[i++] != '.'))
            return false;
        while (i < maxunits && w[i] >= '0' && w[i] <= '9' && digits < 3) {
            x = x * 10 + (uint32_t)(w[i++] - '0');
            digits++;
        }
        if (!digits || x > 255)
            return false;
        v = v << 8 | x;
    }
    if (i < maxunits && w[i] != 0)
        return false;
    *out = v;
    return true;
}
