/* SPDX-License-Identifier: MIT */
/* snapshot_encode.c: pf_snapshot_encode (snapshot_json.h). The encoder is
 * a small writer on pf_buf, so counts come out as exact integers (cJSON
 * prints large doubles with exponents). */
#include "snapshot_json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "snapshot_codec.h"
#include "timeutil.h"

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
        size_t k = codec_utf8_seq(p + i, n - i);

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

/* A number >= 0 to hundredths, as exact decimal text ("63.5", "7"). */
static void w_dec(struct writer *w, const char *key, double x)
{
    uint64_t c = codec_to_hundredths(x);
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

/* The figures of one section of snapshot_fields.h that s has. */
static void w_fields(struct writer *w, const struct pf_snapshot *s, enum pf_field_section section)
{
    for (size_t i = 0; i < PF_NFIELDS; i++) {
        const struct pf_field *f = &pf_fields[i];

        if (f->section != section || !pf_field_has(s, f))
            continue;
        if (f->kind == PF_FIELD_COUNT)
            w_u64(w, f->name, pf_field_count(s, f));
        else
            w_dec(w, f->name, pf_field_value(s, f));
    }
}

static void w_resources_sessions(struct writer *w, const struct pf_snapshot *s)
{
    if (s->has_resources) {
        open_(w, "resources", '{');
        w_fields(w, s, PF_SECTION_resources);
        close_(w, '}');
    }
    if (s->has_sessions) {
        open_(w, "sessions", '{');
        w_str(w, "source", s->sessions.source);
        w_fields(w, s, PF_SECTION_sessions);
        close_(w, '}');
    }
}

static void w_host(struct writer *w, const struct pf_host *h)
{
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
}

static void w_vpn(struct writer *w, const struct pf_vpn *v)
{
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

static void w_snapshot(struct writer *w, const struct pf_snapshot *s, const char *taken_at)
{
    open_(w, NULL, '{');
    w_str(w, "schema", PF_SNAPSHOT_SCHEMA);
    w_str(w, "agent_id", s->agent_id);
    w_u64(w, "seq", s->seq);
    w_str(w, "taken_at", taken_at);
    w_u64(w, "interval_s", s->interval_s);

    w_host(w, &s->host);

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
    if (s->has_vpn)
        w_vpn(w, &s->vpn);
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
