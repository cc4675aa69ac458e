/* SPDX-License-Identifier: MIT */
/* snapshot_decode.c: one snapshot object of docs/protocol.md section 2 to
 * struct pf_snapshot (snapshot_json.h). It walks the tree of checked text
 * (json_strict.h) field by field, carrying the field path for its
 * messages. Plain C11: no OS headers, so MinGW builds it too. */
#include "snapshot_json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "compat.h"
#include "json_strict.h"
#include "snapshot_codec.h"
#include "timeutil.h"

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
    if (!codec_utf8_valid(it->valuestring))
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
        !codec_addr_valid(it->valuestring))
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
    *out = codec_hundredths(it->valuedouble);
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
        if (get_count(d, bp, pf_vpn_proto_name(i), true, &v->by_protocol[i]))
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

/* The figures of one section of snapshot_fields.h, from its object o. */
static int dec_fields(struct dec *d, const cJSON *o, struct pf_snapshot *s,
                      enum pf_field_section section)
{
    for (size_t i = 0; i < PF_NFIELDS; i++) {
        const struct pf_field *f = &pf_fields[i];
        bool *has = pf_field_has_ptr(s, f);
        void *v = pf_field_value_ptr(s, f);
        int rc;

        if (f->section != section)
            continue;
        if (f->kind == PF_FIELD_COUNT)
            rc = opt_count(d, o, f->name, has, v);
        else if (f->kind == PF_FIELD_PCT)
            rc = opt_number(d, o, f->name, 0, 100, "must be a number 0..100", has, v);
        else
            rc = opt_number(d, o, f->name, 0, (double)JSON_INT_MAX, "must be a number >= 0", has, v);
        if (rc)
            return -1;
    }
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
    if (dec_fields(d, o, s, PF_SECTION_resources))
        return -1;
    if (r->has_memory_used_mb && s->host.memory_mb && r->memory_used_mb > s->host.memory_mb)
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
    if (dec_fields(d, o, s, PF_SECTION_sessions))
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
    struct pf_json_doc t;
    enum pf_rc rc;

    pf_snapshot_clear(s);
    err[0] = '\0';
    if ((rc = pf_json_check_text(json, len, err)) || (rc = pf_json_doc_build(json, len, &t, err)))
        return rc;
    rc = pf_snapshot_from_cjson(t.root, "", s, err);
    pf_json_doc_free(&t);
    return rc;
}
