/* SPDX-License-Identifier: MIT */
/* snapshot_json.c: docs/protocol.md section 2 to and from struct pf_snapshot.
 * The encoder is a small writer on pf_buf, so counts come out as exact
 * integers (cJSON prints large doubles with exponents). The decoder runs a
 * strict RFC 8259 check over the raw bytes first (nesting, UTF-8, control
 * characters, and \u0000, which would silently cut a C string short),
 * builds the cJSON tree in an arena (json_tree.h; cJSON itself where that
 * cannot promise cJSON's tree), then walks it field by field, carrying the
 * field path for its messages. A batch is built and walked one snapshot at
 * a time. Plain C11: no OS headers, so MinGW builds it too. */
#include "snapshot_json.h"

#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_tree.h"
#include "timeutil.h"

/* The largest integer a JSON reader holding numbers as doubles keeps exact
 * (2^53 - 1). 2^53 itself is refused because 2^53 + 1 parses to it too. */
#define JSON_INT_MAX 9007199254740991ULL
#define TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define PORT_MAX 65535

/* ---- shared helpers ---- */

/* Length of the string in a fixed buffer, or size when it has no NUL. */
static size_t bounded_len(const char *s, size_t size)
{
    const char *nul = memchr(s, '\0', size);
    return nul ? (size_t)(nul - s) : size;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 when the
 * bytes are not one: overlong forms, surrogates and code points past
 * U+10FFFF are invalid (RFC 3629). */
static size_t utf8_seq(const unsigned char *p, size_t n)
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

static bool utf8_valid(const char *s)
{
    size_t n = strlen(s);
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
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

static bool hexdigit(char c)
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
            if (!hexdigit(s[k]))
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

static bool addr_valid(const char *s)
{
    return strchr(s, ':') ? ipv6_valid(s) : ipv4_valid(s, strlen(s));
}

/* ---- validation of a model snapshot (what the decoder would accept) ---- */

struct vctx {
    char *err;
};

static enum pf_rc vfail(struct vctx *v, const char *fmt, ...) PF_PRINTF(2, 3);
static enum pf_rc vfail(struct vctx *v, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(v->err, PF_ERRMSG_LEN, fmt, ap);
    va_end(ap);
    return PF_INVALID;
}

#define VSTR(field, what)                                                                          \
    do {                                                                                           \
        if (bounded_len((field), sizeof(field)) >= sizeof(field))                                  \
            return vfail(&v, "%s: not NUL-terminated", what);                                      \
    } while (0)
#define VCOUNT(value, what)                                                                        \
    do {                                                                                           \
        if ((uint64_t)(value) > JSON_INT_MAX)                                                      \
            return vfail(&v, "%s: must be at most %llu", what, JSON_INT_MAX);                      \
    } while (0)

static enum pf_rc vrange(struct vctx *v, const struct pf_range *r, const char *list, size_t i)
{
    if (r->proto > PF_PROTO_UDP)
        return vfail(v, "%s[%zu].proto: must be \"tcp\" or \"udp\"", list, i);
    if (r->family > PF_FAMILY_IPV6)
        return vfail(v, "%s[%zu].family: must be \"ipv4\" or \"ipv6\"", list, i);
    if (r->start < 1)
        return vfail(v, "%s[%zu].start: must be an integer 1..65535", list, i);
    if (r->count < 1 || r->count > PORT_MAX)
        return vfail(v, "%s[%zu].count: must be an integer 1..65535", list, i);
    if ((uint32_t)r->start + r->count - 1 > PORT_MAX)
        return vfail(v, "%s[%zu].count: range ends past port 65535", list, i);
    return PF_OK;
}

static enum pf_rc vendpoint(struct vctx *v, const struct pf_endpoint *e, const char *what)
{
    if (bounded_len(e->addr, sizeof(e->addr)) >= sizeof(e->addr) || !addr_valid(e->addr))
        return vfail(v, "%s.addr: must be a numeric IPv4 or IPv6 address", what);
    if (e->port < 1)
        return vfail(v, "%s.port: must be an integer 1..65535", what);
    if (e->count > JSON_INT_MAX)
        return vfail(v, "%s.count: must be at most %llu", what, JSON_INT_MAX);
    return PF_OK;
}

/* A percentage of all cores: 0..100 (NaN fails both comparisons). */
static bool pct_valid(double x)
{
    return x >= 0 && x <= 100;
}

static enum pf_rc vvpn_sizing(struct vctx *v, const struct pf_vpn *vp)
{
    if (vp->has_ports) {
        if (vp->nports > PF_VPN_NPROTO)
            return vfail(v, "vpn.ports: more than %d entries", PF_VPN_NPROTO);
        for (size_t i = 0; i < vp->nports; i++) {
            const struct pf_vpn_port *p = &vp->ports[i];
            if (p->proto >= PF_VPN_NPROTO)
                return vfail(v, "vpn.ports[%zu].protocol: must be ikev2, sstp, l2tp or pptp", i);
            for (size_t j = 0; j < i; j++)
                if (vp->ports[j].proto == p->proto)
                    return vfail(v, "vpn.ports[%zu].protocol: a second %s entry", i,
                                 pf_vpn_proto_name(p->proto));
            if (p->configured > JSON_INT_MAX)
                return vfail(v, "vpn.ports[%zu].configured: must be at most %llu", i,
                             JSON_INT_MAX);
            if (p->in_use > p->configured)
                return vfail(v, "vpn.ports[%zu].in_use: above configured (%llu)", i,
                             (unsigned long long)p->configured);
        }
    }
    if (vp->has_address_pool) {
        if (vp->pool_size > JSON_INT_MAX)
            return vfail(v, "vpn.address_pool.size: must be at most %llu", JSON_INT_MAX);
        if (vp->pool_in_use > vp->pool_size)
            return vfail(v, "vpn.address_pool.in_use: above size (%llu)",
                         (unsigned long long)vp->pool_size);
    }
    return PF_OK;
}

static enum pf_rc vresources(struct vctx *v, const struct pf_resources *r,
                             const struct pf_host *h)
{
    if (r->has_cpu && !pct_valid(r->cpu_pct))
        return vfail(v, "resources.cpu_pct: must be a number 0..100");
    if (r->has_cpu_peak && !pct_valid(r->cpu_pct_peak))
        return vfail(v, "resources.cpu_pct_peak: must be a number 0..100");
    if (r->has_memory) {
        if (r->memory_used_mb > JSON_INT_MAX)
            return vfail(v, "resources.memory_used_mb: must be at most %llu", JSON_INT_MAX);
        if (h->memory_mb && r->memory_used_mb > h->memory_mb)
            return vfail(v, "resources.memory_used_mb: above host.memory_mb (%llu)",
                         (unsigned long long)h->memory_mb);
    }
    return PF_OK;
}

static enum pf_rc vsessions(struct vctx *v, const struct pf_sessions *se)
{
    if (bounded_len(se->source, sizeof(se->source)) >= sizeof(se->source))
        return vfail(v, "sessions.source: not NUL-terminated");
    if (!se->source[0])
        return vfail(v, "sessions.source: must not be empty");
    if (se->tcp_active > JSON_INT_MAX || se->udp_active > JSON_INT_MAX || se->users > JSON_INT_MAX)
        return vfail(v, "sessions: a count above %llu", JSON_INT_MAX);
    if (se->has_requests_per_s &&
        !(se->requests_per_s >= 0 && se->requests_per_s <= (double)JSON_INT_MAX))
        return vfail(v, "sessions.requests_per_s: must be a number >= 0");
    return PF_OK;
}

enum pf_rc pf_snapshot_validate(const struct pf_snapshot *s, char err[PF_ERRMSG_LEN])
{
    struct vctx v = {err};
    const struct pf_host *h = &s->host;
    char what[96];
    enum pf_rc rc;

    err[0] = '\0';
    VSTR(s->agent_id, "agent_id");
    VCOUNT(s->seq, "seq");
    if (s->taken_at < 0 || s->taken_at > TIME_MAX)
        return vfail(&v, "taken_at: outside years 1970..9999");
    if (s->interval_s < 1)
        return vfail(&v, "interval_s: must be an integer 1..4294967295");
    VSTR(h->name, "host.name");
    VSTR(h->site, "host.site");
    VSTR(h->machine_id, "host.machine_id");
    VSTR(h->os, "host.os");
    VSTR(h->os_version, "host.os_version");
    VSTR(h->agent_version, "host.agent_version");
    if (h->nroles > PF_ROLES_MAX)
        return vfail(&v, "host.roles: more than %d entries", PF_ROLES_MAX);
    for (size_t i = 0; i < h->nroles; i++)
        if (bounded_len(h->roles[i], PF_ID_LEN) >= PF_ID_LEN)
            return vfail(&v, "host.roles[%zu]: not NUL-terminated", i);
    VCOUNT(h->memory_mb, "host.memory_mb");
    if (s->nranges > PF_RANGES_MAX)
        return vfail(&v, "ranges: more than %d entries", PF_RANGES_MAX);
    for (size_t i = 0; i < s->nranges; i++) {
        if ((rc = vrange(&v, &s->ranges[i], "ranges", i)))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (s->ranges[j].proto == s->ranges[i].proto &&
                s->ranges[j].family == s->ranges[i].family)
                return vfail(&v, "ranges[%zu]: a second %s/%s range", i,
                             pf_proto_name(s->ranges[i].proto),
                             pf_family_name(s->ranges[i].family));
    }
    if (s->has_excluded) {
        if (s->nexcluded > PF_EXCLUDED_MAX)
            return vfail(&v, "excluded: more than %d entries", PF_EXCLUDED_MAX);
        for (size_t i = 0; i < s->nexcluded; i++)
            if ((rc = vrange(&v, &s->excluded[i], "excluded", i)))
                return rc;
    }
    for (int i = 0; i < PF_TCP_NSTATES; i++)
        if (s->tcp.states[i] > JSON_INT_MAX)
            return vfail(&v, "tcp.states.%s: must be at most %llu", pf_tcp_state_name(i),
                         JSON_INT_MAX);
    VCOUNT(s->tcp.ephemeral_in_use, "tcp.ephemeral_in_use");
    if (s->tcp.has_top_destination &&
        (rc = vendpoint(&v, &s->tcp.top_destination, "tcp.top_destination")))
        return rc;
    VCOUNT(s->udp.endpoints, "udp.endpoints");
    VCOUNT(s->udp.ephemeral_in_use, "udp.ephemeral_in_use");
    if (s->has_processes) {
        if (s->nprocesses > PF_LIST_MAX)
            return vfail(&v, "processes: more than %d entries", PF_LIST_MAX);
        for (size_t i = 0; i < s->nprocesses; i++) {
            const struct pf_process *p = &s->processes[i];
            snprintf(what, sizeof(what), "processes[%zu]", i);
            if (bounded_len(p->name, sizeof(p->name)) >= sizeof(p->name) ||
                bounded_len(p->service, sizeof(p->service)) >= sizeof(p->service))
                return vfail(&v, "%s: name or service not NUL-terminated", what);
            if (p->tcp_ports > JSON_INT_MAX || p->udp_ports > JSON_INT_MAX)
                return vfail(&v, "%s: port count above %llu", what, JSON_INT_MAX);
            for (int k = 0; k < PF_TCP_NSTATES; k++)
                if (p->states[k] > JSON_INT_MAX)
                    return vfail(&v, "%s.states.%s: must be at most %llu", what,
                                 pf_tcp_state_name(k), JSON_INT_MAX);
            if (p->has_top_remote) {
                snprintf(what, sizeof(what), "processes[%zu].top_remote", i);
                if ((rc = vendpoint(&v, &p->top_remote, what)))
                    return rc;
            }
        }
    }
    if (s->has_remotes) {
        if (s->nremotes > PF_LIST_MAX)
            return vfail(&v, "remotes: more than %d entries", PF_LIST_MAX);
        for (size_t i = 0; i < s->nremotes; i++) {
            snprintf(what, sizeof(what), "remotes[%zu]", i);
            if ((rc = vendpoint(&v, &s->remotes[i], what)))
                return rc;
        }
    }
    if (s->has_events) {
        VCOUNT(s->events.tcpip_4227, "events.tcpip_4227");
        VCOUNT(s->events.tcpip_4231, "events.tcpip_4231");
        VCOUNT(s->events.tcpip_4266, "events.tcpip_4266");
        VCOUNT(s->events.netlogon_5719, "events.netlogon_5719");
    }
    if (s->has_vpn) {
        const struct pf_vpn *vp = &s->vpn;
        VCOUNT(vp->connections, "vpn.connections");
        for (int i = 0; i < PF_VPN_NPROTO; i++)
            VCOUNT(vp->by_protocol[i], "vpn.by_protocol");
        VCOUNT(vp->distinct_clients, "vpn.client_addresses.distinct");
        if (vp->ntop > PF_LIST_MAX)
            return vfail(&v, "vpn.client_addresses.top: more than %d entries", PF_LIST_MAX);
        for (size_t i = 0; i < vp->ntop; i++) {
            if (bounded_len(vp->top[i].addr, PF_ADDR_LEN) >= PF_ADDR_LEN ||
                !addr_valid(vp->top[i].addr))
                return vfail(&v,
                             "vpn.client_addresses.top[%zu].addr: must be a numeric IPv4 or "
                             "IPv6 address",
                             i);
            if (vp->top[i].count > JSON_INT_MAX)
                return vfail(&v, "vpn.client_addresses.top[%zu].count: must be at most %llu", i,
                             JSON_INT_MAX);
        }
    }
    if (s->has_vpn && (rc = vvpn_sizing(&v, &s->vpn)))
        return rc;
    if (s->has_resources && (rc = vresources(&v, &s->resources, h)))
        return rc;
    if (s->has_sessions && (rc = vsessions(&v, &s->sessions)))
        return rc;
    if (s->nunmeasured > PF_UNMEASURED_MAX)
        return vfail(&v, "unmeasured: more than %d entries", PF_UNMEASURED_MAX);
    for (size_t i = 0; i < s->nunmeasured; i++)
        if (bounded_len(s->unmeasured[i], PF_ID_LEN) >= PF_ID_LEN)
            return vfail(&v, "unmeasured[%zu]: not NUL-terminated", i);
    if (s->has_agent_stats) {
        const struct pf_agent_stats *a = &s->agent_stats;
        VCOUNT(a->spool_depth, "agent_stats.spool_depth");
        VCOUNT(a->spool_dropped, "agent_stats.spool_dropped");
        VCOUNT(a->spool_corrupt, "agent_stats.spool_corrupt");
        VSTR(a->last_push_error, "agent_stats.last_push_error");
    }
    return PF_OK;
}

/* ---- encoder ---- */

struct writer {
    struct pf_buf *out;
    int pretty;
    int depth;
    bool first;    /* nothing written yet in the innermost container */
    enum pf_rc rc; /* sticky: the first failure stops all output */
};

static void put(struct writer *w, const char *s, size_t n)
{
    if (!w->rc)
        w->rc = pf_buf_append(w->out, s, n);
}

static void puts_(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void newline(struct writer *w)
{
    static const char spaces[] = "                                ";

    if (!w->pretty)
        return;
    put(w, "\n", 1);
    for (int n = 2 * w->depth; n > 0; n -= (int)(sizeof(spaces) - 1))
        put(w, spaces, n < (int)sizeof(spaces) - 1 ? (size_t)n : sizeof(spaces) - 1);
}

/* Writes s as a JSON string: quotes, backslashes and control characters
 * escaped, valid UTF-8 passed through, and every byte that is not part of
 * valid UTF-8 replaced by '?' (so the output is always valid UTF-8 and no
 * longer than the model's buffer once decoded). */
static void put_string(struct writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), run = 0;

    put(w, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        char esc[7];
        size_t k = utf8_seq(p + i, n - i);

        if (k && c >= 0x20 && c != '"' && c != '\\') {
            run += k;
            i += k;
            continue;
        }
        put(w, (const char *)p + i - run, run);
        run = 0;
        if (!k) {
            put(w, "?", 1);
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(w, esc, 2);
        } else if (c == '\n') {
            put(w, "\\n", 2);
        } else if (c == '\r') {
            put(w, "\\r", 2);
        } else if (c == '\t') {
            put(w, "\\t", 2);
        } else if (c == '\b') {
            put(w, "\\b", 2);
        } else if (c == '\f') {
            put(w, "\\f", 2);
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            put(w, esc, 6);
        }
        i++;
    }
    put(w, (const char *)p + n - run, run);
    put(w, "\"", 1);
}

/* Starts a member (key != NULL, in an object) or an element (in an array). */
static void member(struct writer *w, const char *key)
{
    if (!w->first)
        put(w, ",", 1);
    w->first = false;
    if (w->depth > 0)
        newline(w);
    if (key) {
        put_string(w, key);
        puts_(w, w->pretty ? ": " : ":");
    }
}

static void open_(struct writer *w, const char *key, char c)
{
    member(w, key);
    put(w, &c, 1);
    w->depth++;
    w->first = true;
}

static void close_(struct writer *w, char c)
{
    w->depth--;
    if (!w->first)
        newline(w);
    put(w, &c, 1);
    w->first = false;
}

static void w_u64(struct writer *w, const char *key, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    member(w, key);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, tmp + i, sizeof(tmp) - i);
}

static void w_str(struct writer *w, const char *key, const char *s)
{
    member(w, key);
    put_string(w, s);
}

static void w_lit(struct writer *w, const char *key, const char *lit)
{
    member(w, key);
    puts_(w, lit);
}

static void w_range(struct writer *w, const struct pf_range *r)
{
    open_(w, NULL, '{');
    w_str(w, "proto", pf_proto_name(r->proto));
    w_str(w, "family", pf_family_name(r->family));
    w_u64(w, "start", r->start);
    w_u64(w, "count", r->count);
    close_(w, '}');
}

static void w_endpoint(struct writer *w, const char *key, const struct pf_endpoint *e)
{
    open_(w, key, '{');
    w_str(w, "addr", e->addr);
    w_u64(w, "port", e->port);
    w_u64(w, "count", e->count);
    close_(w, '}');
}

static void w_states(struct writer *w, const uint64_t states[PF_TCP_NSTATES])
{
    open_(w, "states", '{');
    for (int i = 0; i < PF_TCP_NSTATES; i++)
        w_u64(w, pf_tcp_state_name(i), states[i]);
    close_(w, '}');
}

static const char *const vpn_proto_names[PF_VPN_NPROTO] = {"ikev2", "sstp", "l2tp", "pptp"};

/* x >= 0 in hundredths, rounded (no libm: common links none). */
static uint64_t to_hundredths(double x)
{
    return x > 0 ? (uint64_t)(x * 100 + 0.5) : 0;
}

/* Hundredths: the precision the model keeps for percentages and rates. */
static double hundredths(double x)
{
    return (double)to_hundredths(x) / 100;
}

/* A number >= 0 to hundredths, as exact decimal text ("63.5", "7"). */
static void w_dec(struct writer *w, const char *key, double x)
{
    uint64_t c = to_hundredths(x);
    char tmp[32];
    size_t i = sizeof(tmp);

    member(w, key);
    if (c % 100) {
        if (c % 10)
            tmp[--i] = (char)('0' + c % 10);
        tmp[--i] = (char)('0' + c / 10 % 10);
        tmp[--i] = '.';
    }
    c /= 100;
    do {
        tmp[--i] = (char)('0' + c % 10);
        c /= 10;
    } while (c);
    put(w, tmp + i, sizeof(tmp) - i);
}

static void w_opt_count(struct writer *w, const char *key, bool has, uint64_t v)
{
    if (has)
        w_u64(w, key, v);
}

static void w_vpn_sizing(struct writer *w, const struct pf_vpn *v)
{
    if (v->has_ports) {
        open_(w, "ports", '[');
        for (size_t i = 0; i < v->nports; i++) {
            open_(w, NULL, '{');
            w_str(w, "protocol", pf_vpn_proto_name(v->ports[i].proto));
            w_u64(w, "configured", v->ports[i].configured);
            w_u64(w, "in_use", v->ports[i].in_use);
            close_(w, '}');
        }
        close_(w, ']');
    }
    if (v->has_address_pool) {
        open_(w, "address_pool", '{');
        w_u64(w, "size", v->pool_size);
        w_u64(w, "in_use", v->pool_in_use);
        close_(w, '}');
    }
}

static void w_resources_sessions(struct writer *w, const struct pf_snapshot *s)
{
    if (s->has_resources) {
        const struct pf_resources *r = &s->resources;
        open_(w, "resources", '{');
        if (r->has_cpu)
            w_dec(w, "cpu_pct", r->cpu_pct);
        if (r->has_memory)
            w_u64(w, "memory_used_mb", r->memory_used_mb);
        if (r->has_cpu_peak)
            w_dec(w, "cpu_pct_peak", r->cpu_pct_peak);
        close_(w, '}');
    }
    if (s->has_sessions) {
        const struct pf_sessions *se = &s->sessions;
        open_(w, "sessions", '{');
        w_str(w, "source", se->source);
        w_opt_count(w, "tcp_active", se->has_tcp_active, se->tcp_active);
        w_opt_count(w, "udp_active", se->has_udp_active, se->udp_active);
        w_opt_count(w, "users", se->has_users, se->users);
        if (se->has_requests_per_s)
            w_dec(w, "requests_per_s", se->requests_per_s);
        close_(w, '}');
    }
}

static void w_snapshot(struct writer *w, const struct pf_snapshot *s, const char *taken_at)
{
    const struct pf_host *h = &s->host;

    open_(w, NULL, '{');
    w_str(w, "schema", PF_SNAPSHOT_SCHEMA);
    w_str(w, "agent_id", s->agent_id);
    w_u64(w, "seq", s->seq);
    w_str(w, "taken_at", taken_at);
    w_u64(w, "interval_s", s->interval_s);

    open_(w, "host", '{');
    w_str(w, "name", h->name);
    w_str(w, "site", h->site);
    w_str(w, "machine_id", h->machine_id);
    w_str(w, "os", h->os);
    w_str(w, "os_version", h->os_version);
    open_(w, "roles", '[');
    for (size_t i = 0; i < h->nroles; i++)
        w_str(w, NULL, h->roles[i]);
    close_(w, ']');
    w_u64(w, "cpus", h->cpus);
    w_u64(w, "memory_mb", h->memory_mb);
    w_str(w, "agent_version", h->agent_version);
    close_(w, '}');

    open_(w, "ranges", '[');
    for (size_t i = 0; i < s->nranges; i++)
        w_range(w, &s->ranges[i]);
    close_(w, ']');
    if (s->has_excluded) {
        open_(w, "excluded", '[');
        for (size_t i = 0; i < s->nexcluded; i++)
            w_range(w, &s->excluded[i]);
        close_(w, ']');
    }

    open_(w, "tcp", '{');
    w_states(w, s->tcp.states);
    w_u64(w, "ephemeral_in_use", s->tcp.ephemeral_in_use);
    if (s->tcp.has_top_destination)
        w_endpoint(w, "top_destination", &s->tcp.top_destination);
    close_(w, '}');
    open_(w, "udp", '{');
    w_u64(w, "endpoints", s->udp.endpoints);
    w_u64(w, "ephemeral_in_use", s->udp.ephemeral_in_use);
    close_(w, '}');

    if (s->has_processes) {
        open_(w, "processes", '[');
        for (size_t i = 0; i < s->nprocesses; i++) {
            const struct pf_process *p = &s->processes[i];
            open_(w, NULL, '{');
            w_u64(w, "pid", p->pid);
            w_str(w, "name", p->name);
            w_str(w, "service", p->service);
            w_u64(w, "tcp_ports", p->tcp_ports);
            w_u64(w, "udp_ports", p->udp_ports);
            w_states(w, p->states);
            if (p->has_top_remote)
                w_endpoint(w, "top_remote", &p->top_remote);
            close_(w, '}');
        }
        close_(w, ']');
    }
    if (s->has_remotes) {
        open_(w, "remotes", '[');
        for (size_t i = 0; i < s->nremotes; i++)
            w_endpoint(w, NULL, &s->remotes[i]);
        close_(w, ']');
    }
    if (s->has_events) {
        open_(w, "events", '{');
        w_u64(w, "tcpip_4227", s->events.tcpip_4227);
        w_u64(w, "tcpip_4231", s->events.tcpip_4231);
        w_u64(w, "tcpip_4266", s->events.tcpip_4266);
        w_u64(w, "netlogon_5719", s->events.netlogon_5719);
        close_(w, '}');
    }
    if (s->has_vpn) {
        const struct pf_vpn *v = &s->vpn;
        open_(w, "vpn", '{');
        w_u64(w, "connections", v->connections);
        open_(w, "by_protocol", '{');
        for (int i = 0; i < PF_VPN_NPROTO; i++)
            w_u64(w, vpn_proto_names[i], v->by_protocol[i]);
        close_(w, '}');
        open_(w, "client_addresses", '{');
        w_u64(w, "distinct", v->distinct_clients);
        open_(w, "top", '[');
        for (size_t i = 0; i < v->ntop; i++) {
            open_(w, NULL, '{');
            w_str(w, "addr", v->top[i].addr);
            w_u64(w, "count", v->top[i].count);
            close_(w, '}');
        }
        close_(w, ']');
        close_(w, '}');
        if (v->has_ike_value)
            w_u64(w, "ike_num_established_for_initial_query",
                  v->ike_num_established_for_initial_query);
        else
            w_lit(w, "ike_num_established_for_initial_query", "null");
        w_vpn_sizing(w, v);
        close_(w, '}');
    }
    w_resources_sessions(w, s);
    open_(w, "unmeasured", '[');
    for (size_t i = 0; i < s->nunmeasured; i++)
        w_str(w, NULL, s->unmeasured[i]);
    close_(w, ']');
    if (s->has_agent_stats) {
        const struct pf_agent_stats *a = &s->agent_stats;
        open_(w, "agent_stats", '{');
        w_u64(w, "spool_depth", a->spool_depth);
        w_u64(w, "spool_dropped", a->spool_dropped);
        w_u64(w, "spool_corrupt", a->spool_corrupt);
        if (a->has_last_push_error)
            w_str(w, "last_push_error", a->last_push_error);
        else
            w_lit(w, "last_push_error", "null");
        close_(w, '}');
    }
    w_lit(w, "truncated", s->truncated ? "true" : "false");
    close_(w, '}');
}

enum pf_rc pf_snapshot_encode(const struct pf_snapshot *s, int pretty, struct pf_buf *out)
{
    struct writer w = {out, pretty, 0, true, PF_OK};
    char err[PF_ERRMSG_LEN], taken_at[PF_TIME_LEN];
    size_t start = out->len;
    enum pf_rc rc;

    if ((rc = pf_snapshot_validate(s, err)))
        return rc;
    if ((rc = pf_time_format(s->taken_at, taken_at)))
        return rc;
    w_snapshot(&w, s, taken_at);
    if (!w.rc && pretty)
        put(&w, "\n", 1);
    if (w.rc) {
        /* Leave out as it was: no half-written object. */
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return w.rc;
}

/* ---- strict syntax check of the raw text ---- */

enum jcheck { J_OK = 0, J_SYNTAX, J_DEPTH, J_NUL, J_UTF8, J_TRAILING };

static size_t skip_ws(const char *p, size_t len, size_t i)
{
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;

    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v = v << 4 | (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static bool is_hex4(const char *p, size_t left)
{
    if (left < 4)
        return false;
    for (int k = 0; k < 4; k++)
        if (!hexdigit(p[k]))
            return false;
    return true;
}

/* p[*i] is the opening quote; on success *i is just past the closing one. */
static enum jcheck scan_string(const char *p, size_t len, size_t *i)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t k = *i + 1;

    for (;;) {
        k = pf_json_plain_end(u, k, len);
        if (k >= len)
            goto syntax;
        if (u[k] == '"') {
            *i = k + 1;
            return J_OK;
        }
        if (u[k] < 0x20)
            goto syntax; /* raw control characters must be escaped */
        if (u[k] == '\\') {
            unsigned cp;
            if (k + 1 >= len)
                goto syntax;
            if (strchr("\"\\/bfnrt", p[k + 1]) && p[k + 1] != '\0') {
                k += 2;
                continue;
            }
            if (p[k + 1] != 'u' || !is_hex4(p + k + 2, len - k - 2))
                goto syntax;
            cp = hex4(p + k + 2);
            if (cp == 0) {
                *i = k;
                return J_NUL;
            }
            if (cp >= 0xdc00 && cp <= 0xdfff)
                goto syntax; /* a low surrogate alone */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (k + 12 > len || p[k + 6] != '\\' || p[k + 7] != 'u' ||
                    !is_hex4(p + k + 8, len - k - 8))
                    goto syntax;
                lo = hex4(p + k + 8);
                if (lo < 0xdc00 || lo > 0xdfff)
                    goto syntax;
                k += 12;
                continue;
            }
            k += 6;
            continue;
        }
        if (u[k] >= 0x80) {
            size_t n = utf8_seq(u + k, len - k);
            if (!n) {
                *i = k;
                return J_UTF8;
            }
            k += n;
            continue;
        }
        k++;
    }
syntax:
    *i = k;
    return J_SYNTAX;
}

static bool digit(const char *p, size_t len, size_t i)
{
    return i < len && p[i] >= '0' && p[i] <= '9';
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static enum jcheck scan_number(const char *p, size_t len, size_t *i)
{
    size_t k = *i;

    if (k < len && p[k] == '-')
        k++;
    if (!digit(p, len, k))
        goto syntax;
    if (p[k] == '0') {
        k++;
    } else {
        while (digit(p, len, k))
            k++;
    }
    if (k < len && p[k] == '.') {
        k++;
        if (!digit(p, len, k))
            goto syntax;
        while (digit(p, len, k))
            k++;
    }
    if (k < len && (p[k] == 'e' || p[k] == 'E')) {
        k++;
        if (k < len && (p[k] == '+' || p[k] == '-'))
            k++;
        if (!digit(p, len, k))
            goto syntax;
        while (digit(p, len, k))
            k++;
    }
    *i = k;
    return J_OK;
syntax:
    *i = k;
    return J_SYNTAX;
}

/* Checks that p[0..len) is exactly one JSON value (RFC 8259), with only
 * whitespace around it, nesting at most max_depth (<= 64) levels. An
 * iterative state machine with its own small stack: no recursion, linear
 * time. On failure *pos is the byte offset of the problem. */
static enum jcheck check_json(const char *p, size_t len, int max_depth, size_t *pos)
{
    enum { VALUE, KEY, AFTER } state = VALUE;
    char stack[64];
    int depth = 0;
    size_t i = 0;
    enum jcheck r;

    if (max_depth > (int)sizeof(stack))
        max_depth = (int)sizeof(stack);
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        i = 3; /* a UTF-8 byte order mark, which RFC 8259 lets readers ignore */
    for (;;) {
        i = skip_ws(p, len, i);
        if (state == AFTER) {
            if (depth == 0) {
                *pos = i;
                return i == len ? J_OK : J_TRAILING;
            }
            if (i < len && p[i] == ',') {
                i++;
                state = stack[depth - 1] == '{' ? KEY : VALUE;
            } else if (i < len && p[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
                i++;
                depth--;
            } else {
                break;
            }
            continue;
        }
        if (state == KEY) {
            if (i >= len || p[i] != '"')
                break;
            if ((r = scan_string(p, len, &i))) {
                *pos = i;
                return r;
            }
            i = skip_ws(p, len, i);
            if (i >= len || p[i] != ':')
                break;
            i++;
            state = VALUE;
            continue;
        }
        /* VALUE */
        if (i >= len)
            break;
        switch (p[i]) {
        case '{':
        case '[':
            if (depth >= max_depth) {
                *pos = i;
                return J_DEPTH;
            }
            stack[depth++] = p[i++];
            i = skip_ws(p, len, i);
            if (i < len && p[i] == (stack[depth - 1] == '{' ? '}' : ']')) {
                i++;
                depth--;
                state = AFTER;
            } else {
                state = stack[depth - 1] == '{' ? KEY : VALUE;
            }
            continue;
        case '"':
            r = scan_string(p, len, &i);
            break;
        case 't':
        case 'f':
        case 'n': {
            const char *lit = p[i] == 't' ? "true" : p[i] == 'f' ? "false" : "null";
            size_t n = strlen(lit);
            r = len - i >= n && memcmp(p + i, lit, n) == 0 ? J_OK : J_SYNTAX;
            if (!r)
                i += n;
            break;
        }
        default:
            r = scan_number(p, len, &i);
            break;
        }
        if (r) {
            *pos = i;
            return r;
        }
        state = AFTER;
    }
    *pos = i;
    return J_SYNTAX;
}

enum pf_rc pf_json_check_depth(const char *json, size_t len, int max_depth)
{
    int depth = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return PF_TOOBIG;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return PF_OK;
}

/* The strict check of pf_json_parse: PF_OK, or PF_INVALID with its message
 * in err. */
static enum pf_rc check_text(const char *json, size_t len, char err[PF_ERRMSG_LEN])
{
    size_t pos = 0;
    enum jcheck r = check_json(json, len, PF_JSON_MAX_DEPTH, &pos);

    if (r == J_OK)
        return PF_OK;
    /* Text check_json accepts nests at most PF_JSON_MAX_DEPTH levels, and
     * pf_json_check_depth counts the same brackets in it, so the pre-check
     * only has to run on text that fails, where its message comes first. */
    if (r == J_DEPTH || pf_json_check_depth(json, len, PF_JSON_MAX_DEPTH)) {
        snprintf(err, PF_ERRMSG_LEN, "body: nested deeper than %d levels", PF_JSON_MAX_DEPTH);
        return PF_INVALID;
    }
    switch (r) {
    case J_NUL:
        snprintf(err, PF_ERRMSG_LEN, "body: string holds \\u0000 near byte %zu", pos);
        break;
    case J_UTF8:
        snprintf(err, PF_ERRMSG_LEN, "body: invalid UTF-8 near byte %zu", pos);
        break;
    case J_TRAILING:
        snprintf(err, PF_ERRMSG_LEN, "body: trailing data after the JSON value near byte %zu", pos);
        break;
    case J_SYNTAX:
    default:
        snprintf(err, PF_ERRMSG_LEN, "body: invalid JSON near byte %zu", pos);
        break;
    }
    return PF_INVALID;
}

/* cJSON's tree of checked text. */
static enum pf_rc cjson_parse(const char *json, size_t len, cJSON **out, char err[PF_ERRMSG_LEN])
{
    const char *end = NULL;
    size_t pos;

    *out = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!*out) {
        /* The text is valid JSON, so cJSON ran out of memory or hit one of
         * its own limits (numbers longer than 63 characters). */
        pos = end && end >= json ? (size_t)(end - json) : 0;
        snprintf(err, PF_ERRMSG_LEN, "body: invalid JSON near byte %zu", pos);
        return PF_INVALID;
    }
    return PF_OK;
}

enum pf_rc pf_json_parse(const char *json, size_t len, struct cJSON **out, char err[PF_ERRMSG_LEN])
{
    enum pf_rc rc;

    *out = NULL;
    err[0] = '\0';
    if ((rc = check_text(json, len, err)))
        return rc;
    return cjson_parse(json, len, out, err);
}

/* A parsed body for the decoders: the same tree pf_json_parse gives, built
 * in an arena (json_tree.h), or by cJSON for what the arena builder does
 * not reproduce or when it runs out of memory. */
struct tree {
    struct pf_json_tree *arena;
    cJSON *cj;
    const cJSON *root;
};

/* The tree of text check_text accepted. */
static enum pf_rc tree_build(const char *json, size_t len, struct tree *t, char err[PF_ERRMSG_LEN])
{
    cJSON *root;
    size_t pos = 0;
    enum pf_rc rc;

    memset(t, 0, sizeof(*t));
    t->arena = pf_json_tree_new(pf_json_tree_bound(len));
    if (t->arena && pf_json_tree_parse(t->arena, json, len, &pos, &root) == PF_OK) {
        t->root = root;
        return PF_OK;
    }
    pf_json_tree_free(t->arena);
    t->arena = NULL;
    if ((rc = cjson_parse(json, len, &t->cj, err)))
        return rc;
    t->root = t->cj;
    return PF_OK;
}

static void tree_free(struct tree *t)
{
    pf_json_tree_free(t->arena);
    cJSON_Delete(t->cj);
    memset(t, 0, sizeof(*t));
}

/* ---- decoder ---- */

struct dec {
    char path[PF_ERRMSG_LEN]; /* of the object being read: "snapshots[3].host" */
    size_t plen;
    char *err;
    const struct pf_snapshot *s; /* for unmeasured */
    bool nomem;
};

/* Appends src to dst (size bytes, holding *len), cutting it to fit. */
static void cat(char *dst, size_t size, size_t *len, const char *src)
{
    size_t n = strlen(src);

    if (n > size - 1 - *len)
        n = size - 1 - *len;
    memcpy(dst + *len, src, n);
    *len += n;
    dst[*len] = '\0';
}

/* Writes "<path>.<key>: <message>" to err; returns -1 for the caller to
 * pass up. A message too long for PF_ERRMSG_LEN is cut at its end. */
static int dfail(struct dec *d, const char *key, const char *fmt, ...) PF_PRINTF(3, 4);
static int dfail(struct dec *d, const char *key, const char *fmt, ...)
{
    char msg[PF_ERRMSG_LEN];
    va_list ap;
    size_t len = 0;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    d->err[0] = '\0';
    if (!d->plen && !key) {
        cat(d->err, PF_ERRMSG_LEN, &len, "body");
    } else {
        cat(d->err, PF_ERRMSG_LEN, &len, d->path);
        if (d->plen && key)
            cat(d->err, PF_ERRMSG_LEN, &len, ".");
        if (key)
            cat(d->err, PF_ERRMSG_LEN, &len, key);
    }
    cat(d->err, PF_ERRMSG_LEN, &len, ": ");
    cat(d->err, PF_ERRMSG_LEN, &len, msg);
    return -1;
}

static int nomem(struct dec *d, const char *key)
{
    d->nomem = true;
    return dfail(d, key, "out of memory");
}

/* Appends n bytes of s to the path, cutting them to fit as snprintf
 * would. */
static void path_add(struct dec *d, const char *s, size_t n)
{
    size_t room = sizeof(d->path) - 1 - d->plen;

    if (n > room)
        n = room;
    memcpy(d->path + d->plen, s, n);
    d->plen += n;
    d->path[d->plen] = '\0';
}

/* Descends into key (or [index] when key is NULL); returns what to pass to
 * pop() to come back. */
static size_t push(struct dec *d, const char *key, size_t index)
{
    size_t saved = d->plen;

    if (key) {
        if (d->plen)
            path_add(d, ".", 1);
        path_add(d, key, strlen(key));
    } else {
        char tmp[24];
        size_t i = sizeof(tmp);
        tmp[--i] = ']';
        do {
            tmp[--i] = (char)('0' + index % 10);
            index /= 10;
        } while (index);
        tmp[--i] = '[';
        path_add(d, tmp + i, sizeof(tmp) - i);
    }
    return saved;
}

static void pop(struct dec *d, size_t saved)
{
    d->plen = saved;
    d->path[saved] = '\0';
}

/* strcmp(a, b) == 0 for the short keys of the protocol, where a call
 * costs more than the compare: most keys differ in their first byte. */
static bool same_key(const char *a, const char *b)
{
    while (*a == *b) {
        if (!*a)
            return true;
        a++;
        b++;
    }
    return false;
}

/* Finds key in obj: *out is NULL when absent (or JSON null and nullable).
 * A key given twice is an error: readers disagree on which one wins. */
static int find(struct dec *d, const cJSON *obj, const char *key, bool nullable, const cJSON **out)
{
    const cJSON *hit = NULL;

    *out = NULL;
    for (const cJSON *c = obj->child; c; c = c->next) {
        if (!c->string || !same_key(c->string, key))
            continue;
        if (hit)
            return dfail(d, key, "given twice");
        hit = c;
    }
    if (hit && nullable && cJSON_IsNull(hit))
        hit = NULL;
    *out = hit;
    return 0;
}

/* Reads an integer in min..max. Absent (or null when optional: the same,
 * docs/protocol.md section 2): an error when required, else *out is left
 * alone (zero from the cleared snapshot). A null required one is refused
 * as not an integer. */
static int get_int(struct dec *d, const cJSON *obj, const char *key, bool required, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    const cJSON *it;
    double v;

    if (find(d, obj, key, !required, &it))
        return -1;
    if (!it)
        return required ? dfail(d, key, "required") : 0;
    v = cJSON_IsNumber(it) ? it->valuedouble : -1;
    if (max == JSON_INT_MAX) {
        if (!(v >= (double)min))
            return dfail(d, key, "must be an integer >= %llu", (unsigned long long)min);
        if (v > (double)max)
            return dfail(d, key, "must be at most %llu", JSON_INT_MAX);
        if ((double)(uint64_t)v != v)
            return dfail(d, key, "must be an integer >= %llu", (unsigned long long)min);
    } else if (!(v >= (double)min && v <= (double)max) || (double)(uint64_t)v != v) {
        return dfail(d, key, "must be an integer %llu..%llu", (unsigned long long)min,
                     (unsigned long long)max);
    }
    *out = (uint64_t)v;
    return 0;
}

static int get_count(struct dec *d, const cJSON *obj, const char *key, bool required, uint64_t *out)
{
    return get_int(d, obj, key, required, 0, JSON_INT_MAX, out);
}

static int get_u32(struct dec *d, const cJSON *obj, const char *key, bool required, uint32_t min,
                   uint32_t *out)
{
    uint64_t v = *out;

    if (get_int(d, obj, key, required, min, UINT32_MAX, &v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int get_port(struct dec *d, const cJSON *obj, const char *key, uint16_t *out)
{
    uint64_t v = 0;

    if (get_int(d, obj, key, true, 1, PORT_MAX, &v))
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* Copies a string of at most size - 1 bytes of valid UTF-8 into dst. */
static int str_value(struct dec *d, const cJSON *it, const char *key, char *dst, size_t size)
{
    size_t n;

    if (!cJSON_IsString(it) || !it->valuestring)
        return dfail(d, key, "must be a string");
    n = strlen(it->valuestring);
    if (n >= size)
        return dfail(d, key, "longer than %zu bytes", size - 1);
    if (!utf8_valid(it->valuestring))
        return dfail(d, key, "must be valid UTF-8");
    memcpy(dst, it->valuestring, n + 1);
    return 0;
}

/* A string member; an optional one may be null (= absent: dst untouched). */
static int get_str(struct dec *d, const cJSON *obj, const char *key, bool required, char *dst,
                   size_t size)
{
    const cJSON *it;

    if (find(d, obj, key, !required, &it))
        return -1;
    if (!it)
        return required ? dfail(d, key, "required") : 0;
    return str_value(d, it, key, dst, size);
}

static int get_bool(struct dec *d, const cJSON *obj, const char *key, bool *out)
{
    const cJSON *it;

    if (find(d, obj, key, false, &it))
        return -1;
    if (!it)
        return dfail(d, key, "required");
    if (!cJSON_IsBool(it))
        return dfail(d, key, "must be true or false");
    *out = cJSON_IsTrue(it);
    return 0;
}

/* An object member. Optional ones may also be given as null (= absent). */
static int get_obj(struct dec *d, const cJSON *obj, const char *key, bool required,
                   const cJSON **out)
{
    if (find(d, obj, key, !required, out))
        return -1;
    if (!*out)
        return required ? dfail(d, key, "required") : 0;
    if (!cJSON_IsObject(*out))
        return dfail(d, key, "must be an object");
    return 0;
}

/* An array member of at most max elements; *n is its length. */
static int get_arr(struct dec *d, const cJSON *obj, const char *key, bool required, size_t max,
                   const cJSON **out, size_t *n)
{
    size_t count = 0;

    *n = 0;
    if (find(d, obj, key, !required, out))
        return -1;
    if (!*out)
        return required ? dfail(d, key, "required") : 0;
    if (!cJSON_IsArray(*out))
        return dfail(d, key, "must be an array");
    for (const cJSON *c = (*out)->child; c; c = c->next)
        if (++count > max)
            return dfail(d, key, "more than %zu entries", max);
    *n = count;
    return 0;
}

static int get_addr(struct dec *d, const cJSON *obj, char addr[PF_ADDR_LEN])
{
    const cJSON *it;

    if (find(d, obj, "addr", false, &it))
        return -1;
    if (!it)
        return dfail(d, "addr", "required");
    if (!cJSON_IsString(it) || !it->valuestring || strlen(it->valuestring) >= PF_ADDR_LEN ||
        !addr_valid(it->valuestring))
        return dfail(d, "addr", "must be a numeric IPv4 or IPv6 address");
    memcpy(addr, it->valuestring, strlen(it->valuestring) + 1);
    return 0;
}

static int dec_endpoint(struct dec *d, const cJSON *o, struct pf_endpoint *e)
{
    if (!cJSON_IsObject(o))
        return dfail(d, NULL, "must be an object");
    if (get_addr(d, o, e->addr) || get_port(d, o, "port", &e->port) ||
        get_count(d, o, "count", true, &e->count))
        return -1;
    return 0;
}

/* An optional endpoint member (top_destination, top_remote). */
static int get_endpoint(struct dec *d, const cJSON *obj, const char *key, bool *has,
                        struct pf_endpoint *e)
{
    const cJSON *it;
    size_t saved;
    int rc;

    if (get_obj(d, obj, key, false, &it))
        return -1;
    if (!it)
        return 0;
    saved = push(d, key, 0);
    rc = dec_endpoint(d, it, e);
    pop(d, saved);
    *has = rc == 0;
    return rc;
}

static int dec_range(struct dec *d, const cJSON *o, struct pf_range *r)
{
    char name[PF_ID_LEN] = "";
    uint64_t start = 0, count = 0;
    int v;

    if (!cJSON_IsObject(o))
        return dfail(d, NULL, "must be an object");
    if (get_str(d, o, "proto", true, name, sizeof(name)))
        return -1;
    if ((v = pf_proto_from_name(name)) < 0)
        return dfail(d, "proto", "must be \"tcp\" or \"udp\"");
    r->proto = (uint8_t)v;
    if (get_str(d, o, "family", true, name, sizeof(name)))
        return -1;
    if ((v = pf_family_from_name(name)) < 0)
        return dfail(d, "family", "must be \"ipv4\" or \"ipv6\"");
    r->family = (uint8_t)v;
    if (get_int(d, o, "start", true, 1, PORT_MAX, &start) ||
        get_int(d, o, "count", true, 1, PORT_MAX, &count))
        return -1;
    if (start + count - 1 > PORT_MAX)
        return dfail(d, "count", "range ends past port 65535");
    r->start = (uint16_t)start;
    r->count = (uint32_t)count;
    return 0;
}

static int dec_ranges(struct dec *d, const cJSON *obj, const char *key, bool required,
                      struct pf_range *fixed, struct pf_range **heap, size_t max, size_t *n,
                      bool *has)
{
    const cJSON *arr, *c;
    size_t count, i = 0, saved;
    struct pf_range *r = fixed;

    if (get_arr(d, obj, key, required, max, &arr, &count))
        return -1;
    if (!arr)
        return 0;
    if (heap && count) {
        r = *heap = calloc(count, sizeof(*r));
        if (!r)
            return nomem(d, key);
    }
    saved = push(d, key, 0);
    for (c = arr->child; c; c = c->next, i++) {
        size_t s2 = push(d, NULL, i);
        if (dec_range(d, c, &r[i]))
            return -1;
        if (!heap)
            for (size_t j = 0; j < i; j++)
                if (r[j].proto == r[i].proto && r[j].family == r[i].family)
                    return dfail(d, NULL, "a second %s/%s range", pf_proto_name(r[i].proto),
                                 pf_family_name(r[i].family));
        pop(d, s2);
    }
    pop(d, saved);
    *n = count;
    if (has)
        *has = true;
    return 0;
}

static int dec_str_list(struct dec *d, const cJSON *obj, const char *key, bool required,
                        char (*list)[PF_ID_LEN], size_t max, size_t *n)
{
    const cJSON *arr, *c;
    size_t count, i = 0, saved;

    if (get_arr(d, obj, key, required, max, &arr, &count))
        return -1;
    if (!arr)
        return 0;
    saved = push(d, key, 0);
    for (c = arr->child; c; c = c->next, i++) {
        size_t s2 = push(d, NULL, i);
        if (str_value(d, c, NULL, list[i], PF_ID_LEN))
            return -1;
        pop(d, s2);
    }
    pop(d, saved);
    *n = count;
    return 0;
}

static int dec_host(struct dec *d, const cJSON *root, struct pf_host *h)
{
    const cJSON *o;
    size_t saved;
    int rc;

    if (get_obj(d, root, "host", true, &o))
        return -1;
    saved = push(d, "host", 0);
    rc = get_str(d, o, "name", true, h->name, sizeof(h->name)) ||
         get_str(d, o, "site", true, h->site, sizeof(h->site)) ||
         get_str(d, o, "machine_id", false, h->machine_id, sizeof(h->machine_id)) ||
         get_str(d, o, "os", true, h->os, sizeof(h->os)) ||
         get_str(d, o, "os_version", false, h->os_version, sizeof(h->os_version)) ||
         dec_str_list(d, o, "roles", true, h->roles, PF_ROLES_MAX, &h->nroles) ||
         get_u32(d, o, "cpus", false, 0, &h->cpus) ||
         get_count(d, o, "memory_mb", false, &h->memory_mb) ||
         get_str(d, o, "agent_version", true, h->agent_version, sizeof(h->agent_version));
    pop(d, saved);
    return rc ? -1 : 0;
}

static bool unmeasured(const struct dec *d, const char *path)
{
    return pf_snapshot_is_unmeasured(d->s, path);
}

/* All states; a missing one is an error unless listed in unmeasured (then
 * it stays 0). lenient: every state optional (per-process states). */
static int dec_states(struct dec *d, const cJSON *obj, bool lenient, uint64_t *states)
{
    const cJSON *o;
    size_t saved;
    char path[PF_ID_LEN + 16];
    bool all_unmeasured = !lenient && unmeasured(d, "tcp.states");

    if (get_obj(d, obj, "states", !lenient && !all_unmeasured, &o))
        return -1;
    if (!o)
        return 0;
    saved = push(d, "states", 0);
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        bool required = !lenient && !all_unmeasured;
        if (required && d->s->nunmeasured) {
            snprintf(path, sizeof(path), "tcp.states.%s", pf_tcp_state_name(i));
            required = !unmeasured(d, path);
        }
        if (get_count(d, o, pf_tcp_state_name(i), required, &states[i]))
            return -1;
    }
    pop(d, saved);
    return 0;
}

static int dec_tcp_udp(struct dec *d, const cJSON *root, struct pf_snapshot *s)
{
    const cJSON *o;
    size_t saved;
    int rc;

    if (get_obj(d, root, "tcp", true, &o))
        return -1;
    saved = push(d, "tcp", 0);
    rc =
        dec_states(d, o, false, s->tcp.states) ||
        get_count(d, o, "ephemeral_in_use", true, &s->tcp.ephemeral_in_use) ||
        get_endpoint(d, o, "top_destination", &s->tcp.has_top_destination, &s->tcp.top_destination);
    pop(d, saved);
    if (rc)
        return -1;
    if (get_obj(d, root, "udp", true, &o))
        return -1;
    saved = push(d, "udp", 0);
    rc = get_count(d, o, "endpoints", true, &s->udp.endpoints) ||
         get_count(d, o, "ephemeral_in_use", true, &s->udp.ephemeral_in_use);
    pop(d, saved);
    return rc ? -1 : 0;
}

static int dec_process(struct dec *d, const cJSON *o, struct pf_process *p)
{
    if (!cJSON_IsObject(o))
        return dfail(d, NULL, "must be an object");
    if (get_u32(d, o, "pid", true, 0, &p->pid) ||
        get_str(d, o, "name", true, p->name, sizeof(p->name)) ||
        get_str(d, o, "service", false, p->service, sizeof(p->service)) ||
        get_count(d, o, "tcp_ports", true, &p->tcp_ports) ||
        get_count(d, o, "udp_ports", true, &p->udp_ports) || dec_states(d, o, true, p->states) ||
        get_endpoint(d, o, "top_remote", &p->has_top_remote, &p->top_remote))
        return -1;
    return 0;
}

static int dec_lists(struct dec *d, const cJSON *root, struct pf_snapshot *s)
{
    const cJSON *arr, *c;
    size_t n, i, saved;

    if (get_arr(d, root, "processes", false, PF_LIST_MAX, &arr, &n))
        return -1;
    if (arr) {
        if (n && !(s->processes = calloc(n, sizeof(*s->processes))))
            return nomem(d, "processes");
        s->has_processes = true;
        s->nprocesses = n;
        saved = push(d, "processes", 0);
        for (c = arr->child, i = 0; c; c = c->next, i++) {
            size_t s2 = push(d, NULL, i);
            if (dec_process(d, c, &s->processes[i]))
                return -1;
            pop(d, s2);
        }
        pop(d, saved);
    }
    if (get_arr(d, root, "remotes", false, PF_LIST_MAX, &arr, &n))
        return -1;
    if (arr) {
        if (n && !(s->remotes = calloc(n, sizeof(*s->remotes))))
            return nomem(d, "remotes");
        s->has_remotes = true;
        s->nremotes = n;
        saved = push(d, "remotes", 0);
        for (c = arr->child, i = 0; c; c = c->next, i++) {
            size_t s2 = push(d, NULL, i);
            if (dec_endpoint(d, c, &s->remotes[i]))
                return -1;
            pop(d, s2);
        }
        pop(d, saved);
    }
    return 0;
}

static int dec_events(struct dec *d, const cJSON *root, struct pf_snapshot *s)
{
    const cJSON *o;
    size_t saved;
    int rc;

    if (get_obj(d, root, "events", false, &o))
        return -1;
    if (!o)
        return 0;
    saved = push(d, "events", 0);
    rc = get_count(d, o, "tcpip_4227", true, &s->events.tcpip_4227) ||
         get_count(d, o, "tcpip_4231", true, &s->events.tcpip_4231) ||
         get_count(d, o, "tcpip_4266", true, &s->events.tcpip_4266) ||
         get_count(d, o, "netlogon_5719", true, &s->events.netlogon_5719);
    pop(d, saved);
    s->has_events = rc == 0;
    return rc ? -1 : 0;
}

/* An optional count that may also be null (= absent): *has says which. */
static int opt_count(struct dec *d, const cJSON *obj, const char *key, bool *has, uint64_t *out)
{
    const cJSON *it;

    if (find(d, obj, key, true, &it))
        return -1;
    if (!it)
        return 0;
    if (get_count(d, obj, key, true, out))
        return -1;
    *has = true;
    return 0;
}

/* An optional number in min..max that may be null, rounded to hundredths
 * (the model's precision, so a decoded value encodes back unchanged). */
static int opt_number(struct dec *d, const cJSON *obj, const char *key, double min, double max,
                      const char *what, bool *has, double *out)
{
    const cJSON *it;

    if (find(d, obj, key, true, &it))
        return -1;
    if (!it)
        return 0;
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= min && it->valuedouble <= max))
        return dfail(d, key, "%s", what);
    *out = hundredths(it->valuedouble);
    *has = true;
    return 0;
}

static int dec_vpn_ports(struct dec *d, const cJSON *vpn, struct pf_vpn *v)
{
    const cJSON *arr, *c;
    size_t n, i = 0, saved;
    char name[PF_ID_LEN];
    int proto;

    if (get_arr(d, vpn, "ports", false, PF_VPN_NPROTO, &arr, &n))
        return -1;
    if (!arr)
        return 0;
    saved = push(d, "ports", 0);
    for (c = arr->child; c; c = c->next, i++) {
        struct pf_vpn_port *p = &v->ports[i];
        size_t s2 = push(d, NULL, i);
        if (!cJSON_IsObject(c))
            return dfail(d, NULL, "must be an object");
        if (get_str(d, c, "protocol", true, name, sizeof(name)))
            return -1;
        if ((proto = pf_vpn_proto_from_name(name)) < 0)
            return dfail(d, "protocol", "must be ikev2, sstp, l2tp or pptp");
        for (size_t j = 0; j < i; j++)
            if (v->ports[j].proto == proto)
                return dfail(d, "protocol", "a second %s entry", name);
        p->proto = (uint8_t)proto;
        if (get_count(d, c, "configured", true, &p->configured) ||
            get_count(d, c, "in_use", true, &p->in_use))
            return -1;
        if (p->in_use > p->configured)
            return dfail(d, "in_use", "above configured (%llu)",
                         (unsigned long long)p->configured);
        pop(d, s2);
    }
    pop(d, saved);
    v->nports = n;
    v->has_ports = true;
    return 0;
}

static int dec_vpn_pool(struct dec *d, const cJSON *vpn, struct pf_vpn *v)
{
    const cJSON *o;
    size_t saved;

    if (get_obj(d, vpn, "address_pool", false, &o))
        return -1;
    if (!o)
        return 0;
    saved = push(d, "address_pool", 0);
    if (get_count(d, o, "size", true, &v->pool_size) ||
        get_count(d, o, "in_use", true, &v->pool_in_use))
        return -1;
    if (v->pool_in_use > v->pool_size)
        return dfail(d, "in_use", "above size (%llu)", (unsigned long long)v->pool_size);
    pop(d, saved);
    v->has_address_pool = true;
    return 0;
}

static int dec_client_addresses(struct dec *d, const cJSON *vpn, struct pf_vpn *v)
{
    const cJSON *o, *arr, *c;
    size_t n, i, saved;

    if (get_obj(d, vpn, "client_addresses", true, &o))
        return -1;
    saved = push(d, "client_addresses", 0);
    if (get_count(d, o, "distinct", true, &v->distinct_clients) ||
        get_arr(d, o, "top", true, PF_LIST_MAX, &arr, &n))
        return -1;
    if (n && !(v->top = calloc(n, sizeof(*v->top))))
        return nomem(d, "top");
    v->ntop = n;
    push(d, "top", 0);
    for (c = arr->child, i = 0; c; c = c->next, i++) {
        size_t s2 = push(d, NULL, i);
        if (!cJSON_IsObject(c))
            return dfail(d, NULL, "must be an object");
        if (get_addr(d, c, v->top[i].addr) || get_count(d, c, "count", true, &v->top[i].count))
            return -1;
        pop(d, s2);
    }
    pop(d, saved);
    return 0;
}

static int dec_vpn(struct dec *d, const cJSON *root, struct pf_vpn *v, bool *has)
{
    const cJSON *o, *bp, *ike;
    size_t saved, s2;

    if (get_obj(d, root, "vpn", false, &o))
        return -1;
    if (!o)
        return 0;
    saved = push(d, "vpn", 0);
    if (get_count(d, o, "connections", true, &v->connections) ||
        get_obj(d, o, "by_protocol", true, &bp))
        return -1;
    s2 = push(d, "by_protocol", 0);
    for (int i = 0; i < PF_VPN_NPROTO; i++)
        if (get_count(d, bp, vpn_proto_names[i], true, &v->by_protocol[i]))
            return -1;
    pop(d, s2);
    if (dec_client_addresses(d, o, v))
        return -1;
    if (find(d, o, "ike_num_established_for_initial_query", true, &ike))
        return -1;
    if (ike) {
        if (get_u32(d, o, "ike_num_established_for_initial_query", true, 0,
                    &v->ike_num_established_for_initial_query))
            return -1;
        v->has_ike_value = true;
    }
    if (dec_vpn_ports(d, o, v) || dec_vpn_pool(d, o, v))
        return -1;
    pop(d, saved);
    *has = true;
    return 0;
}

/* resources comes after host: memory_used_mb is checked against
 * host.memory_mb. */
static int dec_resources(struct dec *d, const cJSON *root, struct pf_snapshot *s)
{
    struct pf_resources *r = &s->resources;
    const cJSON *o;
    size_t saved;

    if (get_obj(d, root, "resources", false, &o))
        return -1;
    if (!o)
        return 0;
    saved = push(d, "resources", 0);
    if (opt_number(d, o, "cpu_pct", 0, 100, "must be a number 0..100", &r->has_cpu,
                   &r->cpu_pct) ||
        opt_number(d, o, "cpu_pct_peak", 0, 100, "must be a number 0..100", &r->has_cpu_peak,
                   &r->cpu_pct_peak) ||
        opt_count(d, o, "memory_used_mb", &r->has_memory, &r->memory_used_mb))
        return -1;
    if (r->has_memory && s->host.memory_mb && r->memory_used_mb > s->host.memory_mb)
        return dfail(d, "memory_used_mb", "above host.memory_mb (%llu)",
                     (unsigned long long)s->host.memory_mb);
    pop(d, saved);
    s->has_resources = true;
    return 0;
}

static int dec_sessions(struct dec *d, const cJSON *root, struct pf_snapshot *s)
{
    struct pf_sessions *se = &s->sessions;
    const cJSON *o;
    size_t saved;

    if (get_obj(d, root, "sessions", false, &o))
        return -1;
    if (!o)
        return 0;
    saved = push(d, "sessions", 0);
    if (get_str(d, o, "source", true, se->source, sizeof(se->source)))
        return -1;
    if (!se->source[0])
        return dfail(d, "source", "must not be empty");
    if (opt_count(d, o, "tcp_active", &se->has_tcp_active, &se->tcp_active) ||
        opt_count(d, o, "udp_active", &se->has_udp_active, &se->udp_active) ||
        opt_count(d, o, "users", &se->has_users, &se->users) ||
        opt_number(d, o, "requests_per_s", 0, (double)JSON_INT_MAX, "must be a number >= 0",
                   &se->has_requests_per_s, &se->requests_per_s))
        return -1;
    pop(d, saved);
    s->has_sessions = true;
    return 0;
}

static int dec_agent_stats(struct dec *d, const cJSON *root, struct pf_snapshot *s)
{
    const cJSON *o, *e;
    struct pf_agent_stats *a = &s->agent_stats;
    size_t saved;

    if (get_obj(d, root, "agent_stats", false, &o))
        return -1;
    if (!o)
        return 0;
    saved = push(d, "agent_stats", 0);
    if (get_count(d, o, "spool_depth", true, &a->spool_depth) ||
        get_count(d, o, "spool_dropped", true, &a->spool_dropped) ||
        get_count(d, o, "spool_corrupt", true, &a->spool_corrupt) ||
        find(d, o, "last_push_error", true, &e))
        return -1;
    if (e) {
        if (str_value(d, e, "last_push_error", a->last_push_error, sizeof(a->last_push_error)))
            return -1;
        a->has_last_push_error = true;
    }
    pop(d, saved);
    s->has_agent_stats = true;
    return 0;
}

/* A schema name safe to quote in a message: printable ASCII, cut short. */
static void quote_safe(const char *in, char *out, size_t size)
{
    size_t i = 0;

    for (; in[i] && i + 4 < size && i < 64; i++)
        out[i] = in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"' && in[i] != '\\' ? in[i] : '?';
    if (in[i] && i + 4 < size) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

static int dec_snapshot(struct dec *d, const cJSON *root, struct pf_snapshot *s)
{
    const cJSON *it;
    char text[PF_ID_LEN];
    uint64_t v;

    if (!cJSON_IsObject(root))
        return dfail(d, NULL, "must be an object");
    if (find(d, root, "schema", false, &it))
        return -1;
    if (!it)
        return dfail(d, "schema", "required");
    if (!cJSON_IsString(it) || !it->valuestring)
        return dfail(d, "schema", "must be a string");
    if (strcmp(it->valuestring, PF_SNAPSHOT_SCHEMA) != 0) {
        quote_safe(it->valuestring, text, sizeof(text));
        return dfail(d, "schema", "unsupported schema \"%s\"", text);
    }
    if (get_str(d, root, "agent_id", true, s->agent_id, sizeof(s->agent_id)) ||
        get_count(d, root, "seq", true, &s->seq))
        return -1;
    if (find(d, root, "taken_at", false, &it))
        return -1;
    if (!it)
        return dfail(d, "taken_at", "required");
    if (!cJSON_IsString(it) || !it->valuestring || strlen(it->valuestring) >= sizeof(text) ||
        pf_time_parse(it->valuestring, &s->taken_at))
        return dfail(d, "taken_at", "must be an RFC 3339 time (2026-11-22T10:00:00Z)");
    if (s->taken_at < 0 || s->taken_at > TIME_MAX)
        return dfail(d, "taken_at", "outside years 1970..9999");
    v = 0;
    if (get_int(d, root, "interval_s", true, 1, UINT32_MAX, &v))
        return -1;
    s->interval_s = (uint32_t)v;
    /* unmeasured first: it decides which states may be missing. */
    if (dec_str_list(d, root, "unmeasured", false, s->unmeasured, PF_UNMEASURED_MAX,
                     &s->nunmeasured) ||
        dec_host(d, root, &s->host) ||
        dec_ranges(d, root, "ranges", true, s->ranges, NULL, PF_RANGES_MAX, &s->nranges, NULL) ||
        dec_ranges(d, root, "excluded", false, NULL, &s->excluded, PF_EXCLUDED_MAX, &s->nexcluded,
                   &s->has_excluded) ||
        dec_tcp_udp(d, root, s) || dec_lists(d, root, s) || dec_events(d, root, s) ||
        dec_vpn(d, root, &s->vpn, &s->has_vpn) || dec_resources(d, root, s) ||
        dec_sessions(d, root, s) || dec_agent_stats(d, root, s) ||
        get_bool(d, root, "truncated", &s->truncated))
        return -1;
    return 0;
}

enum pf_rc pf_snapshot_from_cjson(const struct cJSON *obj, const char *path, struct pf_snapshot *s,
                                  char err[PF_ERRMSG_LEN])
{
    struct dec d;

    pf_snapshot_clear(s);
    err[0] = '\0';
    d.err = err;
    d.s = s;
    d.nomem = false;
    snprintf(d.path, sizeof(d.path), "%s", path ? path : "");
    d.plen = strlen(d.path);
    if (dec_snapshot(&d, obj, s)) {
        pf_snapshot_clear(s);
        return d.nomem ? PF_NOMEM : PF_INVALID;
    }
    return PF_OK;
}

enum pf_rc pf_snapshot_decode(const char *json, size_t len, struct pf_snapshot *s,
                              char err[PF_ERRMSG_LEN])
{
    struct tree t;
    enum pf_rc rc;

    pf_snapshot_clear(s);
    err[0] = '\0';
    if ((rc = check_text(json, len, err)) || (rc = tree_build(json, len, &t, err)))
        return rc;
    rc = pf_snapshot_from_cjson(t.root, "", s, err);
    tree_free(&t);
    return rc;
}

void pf_snapshot_array_free(struct pf_snapshot *arr, size_t n)
{
    if (!arr)
        return;
    for (size_t i = 0; i < n; i++)
        pf_snapshot_clear(&arr[i]);
    free(arr);
}

/* The messages of a batch's shape, shared by both ways of decoding one. */
enum batch_err { BATCH_TWICE, BATCH_NOT_ARRAY, BATCH_COUNT };

static enum pf_rc batch_fail(char err[PF_ERRMSG_LEN], enum batch_err e)
{
    if (e == BATCH_TWICE)
        snprintf(err, PF_ERRMSG_LEN, "snapshots: given twice");
    else if (e == BATCH_NOT_ARRAY)
        snprintf(err, PF_ERRMSG_LEN, "snapshots: must be an array");
    else
        snprintf(err, PF_ERRMSG_LEN, "snapshots: must hold 1 to %d snapshots", PF_JSON_BATCH_MAX);
    return PF_INVALID;
}

/* Room for one more snapshot in *arr (*cap of them, zeroed past the ones in
 * use). */
static int batch_room(struct pf_snapshot **arr, size_t *cap, size_t used, size_t len)
{
    size_t n = *cap ? 2 * *cap : len / 4096 + 1; /* a guess from the size of the body */
    struct pf_snapshot *p;

    if (used < *cap)
        return 0;
    if (n > PF_JSON_BATCH_MAX)
        n = PF_JSON_BATCH_MAX;
    if (!(p = realloc(*arr, n * sizeof(*p))))
        return -1;
    memset(p + *cap, 0, (n - *cap) * sizeof(*p));
    *arr = p;
    *cap = n;
    return 0;
}

/* A body whose first key is "snapshots", decoded one snapshot at a time as
 * the text is read: each snapshot's tree is built in the arena block the
 * one before it used, so a batch of a thousand never holds a thousand trees
 * (tens of megabytes of nodes) and the walk reads nodes still in cache.
 * The outcome is the whole-tree path's: after the first snapshot that
 * fails, the rest are only counted, the rest of the root is read for a
 * second "snapshots", and "given twice", "must be an array" and the count
 * take precedence over a snapshot's message as they do there. Returns
 * PF_UNSUPPORTED for other bodies (one snapshot), and when the arena or
 * the array fails, having freed what it decoded: the whole-tree path (with
 * its fall-back to cJSON) then decodes the body. */
static enum pf_rc decode_batch(const char *json, size_t len, struct pf_snapshot **out, size_t *n,
                               char err[PF_ERRMSG_LEN])
{
    const struct lconv *lc = localeconv();
    struct pf_json_tree *arena = NULL;
    struct pf_snapshot *arr = NULL;
    cJSON *key, *snap;
    size_t i = 0, count = 0, cap = 0, seen = 0;
    bool array = false;
    enum pf_rc rc = PF_UNSUPPORTED, failed = PF_OK;

    /* The arena reads every number of checked text while '.' is the
     * decimal point; elsewhere it could refuse one after the snapshots
     * before it were decoded. As in pf_json_tree_parse (and cJSON), a byte
     * order mark is skipped when 5 bytes can be read. */
    if (!lc || !lc->decimal_point || strcmp(lc->decimal_point, ".") != 0)
        return PF_UNSUPPORTED;
    if (len >= 5 && memcmp(json, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    i = skip_ws(json, len, i);
    if (i >= len || json[i] != '{')
        return PF_UNSUPPORTED;
    i = skip_ws(json, len, i + 1);
    if (i >= len || json[i] != '"' || !(arena = pf_json_tree_new(pf_json_tree_bound(len))))
        return PF_UNSUPPORTED;
    /* The text passed check_text: members are a key, ':' and a value,
     * followed by ',' or the closing bracket. */
    while (i < len && json[i] != '}') {
        pf_json_tree_reset(arena);
        if (pf_json_tree_parse(arena, json, len, &i, &key))
            goto out;
        if (!seen && strcmp(key->valuestring, "snapshots") != 0)
            goto out; /* not a batch, or not as agents send them */
        i = skip_ws(json, len, skip_ws(json, len, i) + 1);
        if (strcmp(key->valuestring, "snapshots") == 0 && ++seen == 1 && json[i] == '[') {
            array = true;
            for (i = skip_ws(json, len, i + 1); i < len && json[i] != ']'; count++) {
                if (failed || count >= PF_JSON_BATCH_MAX) {
                    if (pf_json_tree_skip(json, len, &i))
                        goto out;
                } else {
                    char path[32];
                    pf_json_tree_reset(arena);
                    if (pf_json_tree_parse(arena, json, len, &i, &snap) ||
                        batch_room(&arr, &cap, count, len))
                        goto out;
                    snprintf(path, sizeof(path), "snapshots[%zu]", count);
                    failed = pf_snapshot_from_cjson(snap, path, &arr[count], err);
                }
                i = skip_ws(json, len, i);
                if (i < len && json[i] == ',')
                    i = skip_ws(json, len, i + 1);
            }
            i++; /* past ']' */
        } else if (pf_json_tree_skip(json, len, &i)) {
            goto out;
        }
        i = skip_ws(json, len, i);
        if (i < len && json[i] == ',')
            i = skip_ws(json, len, i + 1);
    }
    if (seen > 1)
        rc = batch_fail(err, BATCH_TWICE);
    else if (!array)
        rc = batch_fail(err, BATCH_NOT_ARRAY);
    else if (count < 1 || count > PF_JSON_BATCH_MAX)
        rc = batch_fail(err, BATCH_COUNT);
    else
        rc = failed;
    if (!rc) {
        *out = arr;
        *n = count;
        arr = NULL;
    }
out:
    pf_snapshot_array_free(arr, cap);
    pf_json_tree_free(arena);
    return rc;
}

enum pf_rc pf_snapshot_decode_body(const char *json, size_t len, struct pf_snapshot **out,
                                   size_t *n, char err[PF_ERRMSG_LEN])
{
    struct tree t;
    const cJSON *root, *batch = NULL, *c;
    struct pf_snapshot *arr = NULL;
    size_t count = 0, i = 0;
    enum pf_rc rc;

    *out = NULL;
    *n = 0;
    err[0] = '\0';
    if ((rc = check_text(json, len, err)))
        return rc;
    if ((rc = decode_batch(json, len, out, n, err)) != PF_UNSUPPORTED)
        return rc;
    if ((rc = tree_build(json, len, &t, err)))
        return rc;
    root = t.root;
    if (!cJSON_IsObject(root)) {
        snprintf(err, PF_ERRMSG_LEN, "body: must be a JSON object");
        rc = PF_INVALID;
        goto out;
    }
    for (c = root->child; c; c = c->next) {
        if (c->string && strcmp(c->string, "snapshots") == 0) {
            if (batch) {
                rc = batch_fail(err, BATCH_TWICE);
                goto out;
            }
            batch = c;
        }
    }
    if (batch) {
        if (!cJSON_IsArray(batch)) {
            rc = batch_fail(err, BATCH_NOT_ARRAY);
            goto out;
        }
        for (c = batch->child; c && count <= PF_JSON_BATCH_MAX; c = c->next)
            count++;
        if (count < 1 || count > PF_JSON_BATCH_MAX) {
            rc = batch_fail(err, BATCH_COUNT);
            goto out;
        }
    } else {
        count = 1;
    }
    arr = calloc(count, sizeof(*arr));
    if (!arr) {
        snprintf(err, PF_ERRMSG_LEN, "body: out of memory");
        rc = PF_NOMEM;
        goto out;
    }
    if (!batch) {
        rc = pf_snapshot_from_cjson(root, "", &arr[0], err);
    } else {
        for (c = batch->child; c; c = c->next, i++) {
            char path[32];
            snprintf(path, sizeof(path), "snapshots[%zu]", i);
            if ((rc = pf_snapshot_from_cjson(c, path, &arr[i], err)))
                break;
        }
    }
    if (rc) {
        pf_snapshot_array_free(arr, count);
        goto out;
    }
    *out = arr;
    *n = count;
out:
    tree_free(&t);
    return rc;
}
