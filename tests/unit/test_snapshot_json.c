/* SPDX-License-Identifier: MIT */
/* test_snapshot_json.c: the snapshot JSON codec against docs/protocol.md
 * section 2: lossless round trips (full and minimal snapshots, pretty and
 * compact), the protocol's own example, the exact message of every way the
 * decoder refuses a body, batches, and the encoder's number and string
 * output. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "snapshot.h"
#include "snapshot_json.h"
#include "test.h"
#include "timeutil.h"

#define MAX_COUNT 9007199254740991ULL /* 2^53 - 1 */
#define BIG (64u << 20)

static char *example;
static size_t example_len;

static int is_clear(const struct pf_snapshot *s)
{
    static const struct pf_snapshot zero;
    return memcmp(s, &zero, sizeof(zero)) == 0;
}

/* n bytes of valid multi-byte UTF-8 (4-byte emoji, 3-byte CJK, 2-byte
 * umlaut, then ASCII to fill). */
static void utf8_fill(char *dst, size_t n)
{
    static const char *const pieces[] = {"\xf0\x9f\x98\x80", "\xe6\x97\xa5", "\xc3\xbc"};
    size_t i = 0, k = 0;

    while (i < n) {
        const char *p = pieces[k++ % 3];
        size_t len = strlen(p);
        if (i + len > n)
            p = "a", len = 1;
        memcpy(dst + i, p, len);
        i += len;
    }
    dst[n] = '\0';
}

static void endpoint(struct pf_endpoint *e, const char *addr, uint16_t port, uint64_t count)
{
    snprintf(e->addr, sizeof(e->addr), "%s", addr);
    e->port = port;
    e->count = count;
}

/* Every section present, every list at its cap, strings at their longest,
 * numbers at their largest. */
static void fill_full(struct pf_snapshot *s)
{
    static const char *const addrs[] = {
        "2001:db8::1", "::ffff:192.0.2.1", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
        "fe80::",      "203.0.113.255",    "::"};
    struct pf_host *h = &s->host;

    pf_snapshot_clear(s);
    utf8_fill(s->agent_id, PF_ID_LEN - 1);
    s->seq = MAX_COUNT;
    s->taken_at = 253402300799LL;
    s->interval_s = UINT32_MAX;
    utf8_fill(h->name, PF_NAME_LEN - 1);
    utf8_fill(h->site, PF_ID_LEN - 1);
    utf8_fill(h->machine_id, PF_MACHINE_ID_LEN - 1);
    snprintf(h->os, sizeof(h->os), "windows");
    utf8_fill(h->os_version, PF_ID_LEN - 1);
    for (size_t i = 0; i < PF_ROLES_MAX; i++) {
        h->roles[i][0] = (char)('a' + i);
        utf8_fill(h->roles[i] + 1, PF_ID_LEN - 2);
    }
    h->nroles = PF_ROLES_MAX;
    h->cpus = UINT32_MAX;
    h->memory_mb = MAX_COUNT;
    snprintf(h->agent_version, sizeof(h->agent_version), "0.1.0-\"quoted\"\\\t\x01");
    /* One range per proto/family: the decoder refuses a second one. */
    for (int i = 0; i < 4; i++) {
        s->ranges[i].proto = (uint8_t)(i & 1);
        s->ranges[i].family = (uint8_t)(i >> 1);
        s->ranges[i].start = (uint16_t)(i == 0 ? 1 : 65535 - i);
        s->ranges[i].count = i == 0 ? 65535 : (uint32_t)i + 1;
    }
    s->nranges = 4;
    s->has_excluded = true;
    s->excluded = calloc(PF_EXCLUDED_MAX, sizeof(*s->excluded));
    for (size_t i = 0; i < PF_EXCLUDED_MAX; i++)
        s->excluded[i] = (struct pf_range){(uint8_t)(i & 1), (uint8_t)(i >> 1 & 1),
                                           (uint16_t)(1000 + i * 100), (uint32_t)(i + 1)};
    s->nexcluded = PF_EXCLUDED_MAX;
    for (int i = 0; i < PF_TCP_NSTATES; i++)
        s->tcp.states[i] = MAX_COUNT - (uint64_t)i;
    s->tcp.ephemeral_in_use = MAX_COUNT;
    s->tcp.has_top_destination = true;
    endpoint(&s->tcp.top_destination, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 65535, MAX_COUNT);
    s->udp.endpoints = MAX_COUNT;
    s->udp.ephemeral_in_use = 1000000;
    s->has_processes = true;
    s->processes = calloc(PF_LIST_MAX, sizeof(*s->processes));
    for (size_t i = 0; i < PF_LIST_MAX; i++) {
        struct pf_process *p = &s->processes[i];
        p->pid = UINT32_MAX - (uint32_t)i;
        utf8_fill(p->name, PF_NAME_LEN - 1);
        utf8_fill(p->service, i % 2 ? PF_NAME_LEN - 1 : 0);
        p->tcp_ports = MAX_COUNT;
        p->udp_ports = i;
        for (int k = 0; k < PF_TCP_NSTATES; k++)
            p->states[k] = (uint64_t)k * i;
        p->has_top_remote = i % 3 != 0;
        endpoint(&p->top_remote, addrs[i % 6], (uint16_t)(1 + i), i);
    }
    s->nprocesses = PF_LIST_MAX;
    s->has_remotes = true;
    s->remotes = calloc(PF_LIST_MAX, sizeof(*s->remotes));
    for (size_t i = 0; i < PF_LIST_MAX; i++)
        endpoint(&s->remotes[i], addrs[i % 6], (uint16_t)(65535 - i), MAX_COUNT - i);
    s->nremotes = PF_LIST_MAX;
    s->has_events = true;
    s->events = (struct pf_events){MAX_COUNT, 1, 2, 3};
    s->has_vpn = true;
    s->vpn.connections = MAX_COUNT;
    for (int i = 0; i < PF_VPN_NPROTO; i++)
        s->vpn.by_protocol[i] = MAX_COUNT - (uint64_t)i;
    s->vpn.distinct_clients = 7;
    s->vpn.top = calloc(PF_LIST_MAX, sizeof(*s->vpn.top));
    for (size_t i = 0; i < PF_LIST_MAX; i++) {
        snprintf(s->vpn.top[i].addr, PF_ADDR_LEN, "%s", addrs[(i + 1) % 6]);
        s->vpn.top[i].count = MAX_COUNT - i;
    }
    s->vpn.ntop = PF_LIST_MAX;
    s->vpn.has_ike_value = true;
    s->vpn.ike_num_established_for_initial_query = UINT32_MAX;
    s->vpn.has_ports = true;
    for (int i = 0; i < PF_VPN_NPROTO; i++)
        s->vpn.ports[i] = (struct pf_vpn_port){(uint8_t)(PF_VPN_NPROTO - 1 - i), MAX_COUNT,
                                               MAX_COUNT - (uint64_t)i};
    s->vpn.nports = PF_VPN_NPROTO;
    s->vpn.has_address_pool = true;
    s->vpn.pool_size = MAX_COUNT;
    s->vpn.pool_in_use = MAX_COUNT;
    s->has_resources = true;
    s->resources = (struct pf_resources){.has_cpu_pct = true,
                                         .cpu_pct = 99.99,
                                         .has_cpu_pct_peak = true,
                                         .cpu_pct_peak = 100,
                                         .has_memory_used_mb = true,
                                         .memory_used_mb = MAX_COUNT};
    s->has_sessions = true;
    s->sessions = (struct pf_sessions){.has_tcp_active = true,
                                       .tcp_active = MAX_COUNT,
                                       .has_udp_active = true,
                                       .has_users = true,
                                       .users = 4001,
                                       .has_requests_per_s = true,
                                       .requests_per_s = 1190.25};
    utf8_fill(s->sessions.source, PF_ID_LEN - 1);
    for (size_t i = 0; i < PF_UNMEASURED_MAX; i++) {
        s->unmeasured[i][0] = (char)('A' + i);
        utf8_fill(s->unmeasured[i] + 1, PF_ID_LEN - 2);
    }
    s->nunmeasured = PF_UNMEASURED_MAX;
    s->has_agent_stats = true;
    s->agent_stats = (struct pf_agent_stats){MAX_COUNT, MAX_COUNT, MAX_COUNT, true, ""};
    s->agent_stats.last_push_error[0] = '\n';
    utf8_fill(s->agent_stats.last_push_error + 1, PF_NAME_LEN - 2);
    s->truncated = true;
}

/* Only what docs/protocol.md requires. */
static void fill_min(struct pf_snapshot *s)
{
    pf_snapshot_clear(s);
    s->interval_s = 1;
    s->taken_at = 0;
    snprintf(s->host.name, sizeof(s->host.name), "h");
    snprintf(s->host.site, sizeof(s->host.site), "default");
    snprintf(s->host.os, sizeof(s->host.os), "linux");
    snprintf(s->host.agent_version, sizeof(s->host.agent_version), "0.1.0");
}

/* Encodes s, decodes the text and compares; returns the first differing
 * path in where ("" when equal), or "encode"/"decode: <err>". */
static void round_trip(const struct pf_snapshot *s, int pretty, char *where, size_t wherelen)
{
    struct pf_buf b;
    struct pf_snapshot back = {0};
    char err[PF_ERRMSG_LEN];
    enum pf_rc rc;

    where[0] = '\0';
    pf_buf_init(&b, BIG);
    rc = pf_snapshot_encode(s, pretty, &b);
    if (rc) {
        pf_snapshot_validate(s, err);
        fprintf(stderr, "encode: %s (%s)\n", pf_strerror(rc), err);
        snprintf(where, wherelen, "encode failed");
    } else if (pf_snapshot_decode(b.data, b.len, &back, err)) {
        fprintf(stderr, "decode: %s\n", err);
        snprintf(where, wherelen, "decode failed");
    } else if (pf_snapshot_compare(s, &back, where, wherelen) == 0) {
        where[0] = '\0';
    }
    pf_snapshot_clear(&back);
    pf_buf_free(&b);
}

TEST(round_trip_full)
{
    struct pf_snapshot s = {0};
    char where[PF_ERRMSG_LEN];

    fill_full(&s);
    round_trip(&s, 0, where, sizeof(where));
    T_EQ_STR(where, "");
    round_trip(&s, 1, where, sizeof(where));
    T_EQ_STR(where, "");
    pf_snapshot_clear(&s);
}

TEST(round_trip_min)
{
    struct pf_snapshot s = {0};
    char where[PF_ERRMSG_LEN];

    fill_min(&s);
    round_trip(&s, 0, where, sizeof(where));
    T_EQ_STR(where, "");
    round_trip(&s, 1, where, sizeof(where));
    T_EQ_STR(where, "");
    /* Empty optional lists are kept apart from absent ones. */
    s.has_processes = s.has_remotes = s.has_excluded = true;
    round_trip(&s, 0, where, sizeof(where));
    T_EQ_STR(where, "");
}

/* The comparison itself must see a difference, or the round trips above
 * prove nothing. */
TEST(round_trip_detects_change)
{
    struct pf_snapshot a = {0}, b = {0};
    struct pf_buf buf;
    char err[PF_ERRMSG_LEN], where[64];

    fill_full(&a);
    pf_buf_init(&buf, BIG);
    T_EQ_INT(pf_snapshot_encode(&a, 0, &buf), PF_OK);
    T_EQ_INT(pf_snapshot_decode(buf.data, buf.len, &b, err), PF_OK);
    b.processes[49].states[PF_TCP_BOUND]++;
    T_ASSERT(pf_snapshot_compare(&a, &b, where, sizeof(where)) != 0);
    T_EQ_STR(where, "processes[49]");
    pf_snapshot_clear(&a);
    pf_snapshot_clear(&b);
    pf_buf_free(&buf);
}

TEST(protocol_example)
{
    struct pf_snapshot s = {0};
    char err[PF_ERRMSG_LEN], where[PF_ERRMSG_LEN];

    T_ASSERT(example);
    T_EQ_INT(pf_snapshot_decode(example, example_len, &s, err), PF_OK);
    T_EQ_STR(s.agent_id, "9b2c...");
    T_EQ_INT(s.seq, 1042);
    T_EQ_INT(s.taken_at, 1795341600);
    T_EQ_INT(s.interval_s, 60);
    T_EQ_STR(s.host.name, "CONN-NYC-01");
    T_EQ_STR(s.host.machine_id, "\xe2\x80\xa6");
    T_EQ_STR(s.host.os_version, "10.0.20348");
    T_EQ_INT(s.host.nroles, 1);
    T_EQ_STR(s.host.roles[0], "entra-connector");
    T_EQ_INT(s.host.memory_mb, 8192);
    T_EQ_INT(s.nranges, 4);
    T_EQ_INT(s.ranges[3].proto, PF_PROTO_UDP);
    T_EQ_INT(s.ranges[3].family, PF_FAMILY_IPV6);
    T_EQ_INT(pf_snapshot_usable_ports(&s, PF_PROTO_TCP, PF_FAMILY_IPV4), 16384 - 100);
    T_ASSERT(s.tcp.has_top_destination);
    T_EQ_STR(s.tcp.top_destination.addr, "10.0.0.5");
    T_EQ_INT(s.tcp.top_destination.port, 443);
    T_EQ_INT(s.nprocesses, 1);
    T_EQ_INT(s.processes[0].pid, 4242);
    T_EQ_STR(s.processes[0].service, "DnsFilterSvc");
    T_EQ_INT(s.processes[0].top_remote.port, 80);
    T_EQ_STR(s.remotes[0].addr, "169.254.169.254");
    T_ASSERT(s.has_events && s.has_vpn && s.has_agent_stats && s.has_excluded);
    T_ASSERT(!s.vpn.has_ike_value);
    T_EQ_STR(s.vpn.top[0].addr, "203.0.113.10");
    T_ASSERT(!s.agent_stats.has_last_push_error);
    T_EQ_INT(s.nunmeasured, 0);
    T_ASSERT(!s.truncated);
    round_trip(&s, 0, where, sizeof(where));
    T_EQ_STR(where, "");
    pf_snapshot_clear(&s);
}

/* Pretty and compact text of one snapshot decode to the same thing, and the
 * compact one has no whitespace at all. */
TEST(pretty_and_compact)
{
    struct pf_snapshot s = {0}, a = {0}, b = {0};
    struct pf_buf pb, cb;
    char err[PF_ERRMSG_LEN], where[64];

    fill_full(&s);
    pf_buf_init(&pb, BIG);
    pf_buf_init(&cb, BIG);
    T_EQ_INT(pf_snapshot_encode(&s, 1, &pb), PF_OK);
    T_EQ_INT(pf_snapshot_encode(&s, 0, &cb), PF_OK);
    T_ASSERT(pb.len > cb.len);
    T_ASSERT(strncmp(pb.data, "{\n  \"schema\": \"portfleet.snapshot.v1\",\n", 39) == 0);
    T_ASSERT(strchr(cb.data, '\n') == NULL);
    T_ASSERT(strncmp(cb.data, "{\"schema\":\"portfleet.snapshot.v1\",\"agent_id\":", 45) == 0);
    T_EQ_INT(pf_snapshot_decode(pb.data, pb.len, &a, err), PF_OK);
    T_EQ_INT(pf_snapshot_decode(cb.data, cb.len, &b, err), PF_OK);
    T_EQ_INT(pf_snapshot_compare(&a, &b, where, sizeof(where)), 0);
    pf_snapshot_clear(&s);
    pf_snapshot_clear(&a);
    pf_snapshot_clear(&b);
    pf_buf_free(&pb);
    pf_buf_free(&cb);
}

/* ---- encoder output ---- */

static char *encode_text(const struct pf_snapshot *s)
{
    struct pf_buf b;

    pf_buf_init(&b, BIG);
    if (pf_snapshot_encode(s, 0, &b)) {
        pf_buf_free(&b);
        return NULL;
    }
    return pf_buf_detach(&b, NULL);
}

TEST(encode_exact_integers)
{
    struct pf_snapshot s = {0};
    char *t;

    fill_min(&s);
    s.seq = MAX_COUNT;
    s.host.memory_mb = 1000000;
    s.udp.endpoints = 1000000000000000ULL;
    s.tcp.states[PF_TCP_BOUND] = 100000;
    t = encode_text(&s);
    T_ASSERT(t);
    T_CONTAINS(t, "\"seq\":9007199254740991,");
    T_CONTAINS(t, "\"memory_mb\":1000000,");
    T_CONTAINS(t, "\"endpoints\":1000000000000000,");
    T_CONTAINS(t, "\"bound\":100000}");
    T_CONTAINS(t, "\"taken_at\":\"1970-01-01T00:00:00Z\"");
    T_ASSERT(!strchr(t, 'e') || !strstr(t, "e+"));
    free(t);
}

TEST(encode_sections)
{
    struct pf_snapshot s = {0};
    char *t;

    fill_min(&s);
    t = encode_text(&s);
    T_ASSERT(t);
    /* Every state, always. */
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        char key[40];
        snprintf(key, sizeof(key), "\"%s\":0", pf_tcp_state_name(i));
        T_CONTAINS(t, key);
    }
    T_CONTAINS(t, "\"unmeasured\":[]");
    T_CONTAINS(t, "\"truncated\":false}");
    T_CONTAINS(t, "\"roles\":[]");
    T_CONTAINS(t, "\"ranges\":[]");
    T_ASSERT(!strstr(t, "excluded") && !strstr(t, "processes") && !strstr(t, "remotes") &&
             !strstr(t, "events") && !strstr(t, "vpn") && !strstr(t, "agent_stats") &&
             !strstr(t, "top_destination"));
    free(t);

    s.has_vpn = true;
    s.has_agent_stats = true;
    t = encode_text(&s);
    T_ASSERT(t);
    T_CONTAINS(t, "\"ike_num_established_for_initial_query\":null}");
    T_CONTAINS(t, "\"last_push_error\":null}");
    T_CONTAINS(t, "\"by_protocol\":{\"ikev2\":0,\"sstp\":0,\"l2tp\":0,\"pptp\":0}");
    T_CONTAINS(t, "\"client_addresses\":{\"distinct\":0,\"top\":[]}");
    free(t);
}

TEST(encode_strings)
{
    struct pf_snapshot s = {0}, back = {0};
    char *t, err[PF_ERRMSG_LEN];

    fill_min(&s);
    snprintf(s.host.name, sizeof(s.host.name), "a\"b\\c\n\t\x01\x1f\x7f/\xc3\xbc\xe2\x80\xa8");
    /* 0xff and a cut 3-byte sequence are not UTF-8: written as '?'. */
    snprintf(s.host.site, sizeof(s.host.site), "x\xffy\xe6\x97");
    t = encode_text(&s);
    T_ASSERT(t);
    T_CONTAINS(t, "\"name\":\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\x7f/\xc3\xbc\xe2\x80\xa8\"");
    T_CONTAINS(t, "\"site\":\"x?y??\"");
    T_EQ_INT(pf_snapshot_decode(t, strlen(t), &back, err), PF_OK);
    T_EQ_STR(back.host.name, s.host.name);
    T_EQ_STR(back.host.site, "x?y??");
    free(t);
}

TEST(encode_refuses_invalid)
{
    struct pf_snapshot s = {0};
    struct pf_buf b;
    char err[PF_ERRMSG_LEN];

    pf_buf_init(&b, BIG);
    T_EQ_INT(pf_buf_puts(&b, "keep"), PF_OK);
    fill_min(&s);
    s.has_remotes = true;
    s.remotes = calloc(1, sizeof(*s.remotes));
    s.nremotes = 1;
    endpoint(&s.remotes[0], "10.0.0.1", 0, 1);
    T_EQ_INT(pf_snapshot_encode(&s, 0, &b), PF_INVALID);
    T_EQ_STR(b.data, "keep");
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "remotes[0].port: must be an integer 1..65535");
    endpoint(&s.remotes[0], "10.0.0.256", 80, 1);
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "remotes[0].addr: must be a numeric IPv4 or IPv6 address");
    endpoint(&s.remotes[0], "10.0.0.1", 80, MAX_COUNT + 1);
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "remotes[0].count: must be at most 9007199254740991");
    s.remotes[0].count = 1;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_OK);
    s.interval_s = 0;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "interval_s: must be an integer 1..4294967295");
    s.interval_s = 60;
    s.taken_at = -1;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "taken_at: outside years 1970..9999");
    s.taken_at = 0;
    s.ranges[0] = (struct pf_range){PF_PROTO_TCP, PF_FAMILY_IPV4, 60000, 6000};
    s.nranges = 1;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "ranges[0].count: range ends past port 65535");
    s.ranges[0].count = 5536;
    s.ranges[1] = s.ranges[0];
    s.nranges = 2;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "ranges[1]: a second tcp/ipv4 range");
    pf_snapshot_clear(&s);
    pf_buf_free(&b);
}

TEST(encode_toobig_keeps_buffer)
{
    struct pf_snapshot s = {0};
    struct pf_buf b;

    fill_full(&s);
    pf_buf_init(&b, 1000);
    T_EQ_INT(pf_buf_puts(&b, "prefix"), PF_OK);
    T_EQ_INT(pf_snapshot_encode(&s, 1, &b), PF_TOOBIG);
    T_EQ_INT(b.len, 6);
    T_EQ_STR(b.data, "prefix");
    pf_snapshot_clear(&s);
    pf_buf_free(&b);
}

/* ---- decoder refusals: one per path, with the exact message ---- */

/* Decodes the protocol example with the first occurrence of from replaced
 * by to. Returns -1 when from is not in the example. */
static int decode_edit(const char *from, const char *to, struct pf_snapshot *s,
                       char err[PF_ERRMSG_LEN])
{
    const char *at = strstr(example, from);
    struct pf_buf b;
    int rc;

    if (!at)
        return -1;
    pf_buf_init(&b, BIG);
    pf_buf_append(&b, example, (size_t)(at - example));
    pf_buf_puts(&b, to);
    pf_buf_puts(&b, at + strlen(from));
    rc = (int)pf_snapshot_decode(b.data, b.len, s, err);
    pf_buf_free(&b);
    return rc;
}

#define REJECT(from, to, want)                                                                     \
    do {                                                                                           \
        struct pf_snapshot s_ = {0};                                                               \
        char err_[PF_ERRMSG_LEN] = "";                                                             \
        T_EQ_INT(decode_edit(from, to, &s_, err_), PF_INVALID);                                    \
        T_EQ_STR(err_, want);                                                                      \
        T_ASSERT(is_clear(&s_));                                                                   \
    } while (0)

#define ACCEPT(from, to)                                                                           \
    do {                                                                                           \
        struct pf_snapshot s_ = {0};                                                               \
        char err_[PF_ERRMSG_LEN] = "";                                                             \
        int rc_ = decode_edit(from, to, &s_, err_);                                                \
        if (rc_ != PF_OK)                                                                          \
            T_FAIL_("%s -> %s refused: %s", from, to, err_);                                       \
        pf_snapshot_clear(&s_);                                                                    \
    } while (0)

TEST(reject_missing_required)
{
    REJECT("\"seq\": 1042,", "", "seq: required");
    REJECT("\"schema\": \"portfleet.snapshot.v1\",", "", "schema: required");
    REJECT("\"agent_id\": \"9b2c...\",", "", "agent_id: required");
    REJECT("\"taken_at\": \"2026-11-22T10:00:00Z\",", "", "taken_at: required");
    REJECT("\"interval_s\": 60,", "", "interval_s: required");
    REJECT("\"name\": \"CONN-NYC-01\",", "", "host.name: required");
    REJECT("\"site\": \"nyc\",", "", "host.site: required");
    REJECT("\"os\": \"windows\",", "", "host.os: required");
    REJECT("\"roles\": [\"entra-connector\"],", "", "host.roles: required");
    REJECT(", \"agent_version\": \"0.1.0\"", "", "host.agent_version: required");
    REJECT("\"ephemeral_in_use\": 0,\n    \"top", "\"top", "tcp.ephemeral_in_use: required");
    REJECT("\"endpoints\": 0, ", "", "udp.endpoints: required");
    REJECT(",\n  \"truncated\": false", "", "truncated: required");
    REJECT("\"last_ack\": 0, \"time_wait\": 0, \"bound\": 0", "\"last_ack\": 0, \"time_wait\": 0",
           "tcp.states.bound: required");
    REJECT("\"pid\": 4242, ", "", "processes[0].pid: required");
    REJECT("\"tcpip_4231\": 0, ", "", "events.tcpip_4231: required");
    REJECT("\"sstp\": 0, ", "", "vpn.by_protocol.sstp: required");
    REJECT("\"spool_dropped\": 0, ", "", "agent_stats.spool_dropped: required");
    REJECT("{\"addr\": \"203.0.113.10\", \"count\": 0}", "{\"count\": 0}",
           "vpn.client_addresses.top[0].addr: required");
    REJECT("\"family\": \"ipv4\", \"start\": 50000", "\"start\": 50000",
           "excluded[0].family: required");
}

TEST(lenient_host_fields)
{
    /* An agent may not know these; they decode as "" / 0. */
    ACCEPT("\"machine_id\": \"…\",", "");
    ACCEPT("\"os_version\": \"10.0.20348\",", "");
    ACCEPT("\"cpus\": 4, \"memory_mb\": 8192, ", "");
    ACCEPT("\"service\": \"DnsFilterSvc\",", "");
    ACCEPT("\"machine_id\": \"…\",", "\"machine_id\": \"\",");
    ACCEPT("\"agent_id\": \"9b2c...\"", "\"agent_id\": \"\"");
}

TEST(unmeasured_state_may_be_missing)
{
    struct pf_buf b;
    struct pf_snapshot s = {0};
    char err[PF_ERRMSG_LEN];
    const char *from = "\"last_ack\": 0, \"time_wait\": 0, \"bound\": 0";
    const char *at = strstr(example, from);
    const char *um = strstr(example, "\"unmeasured\": []");

    T_ASSERT(at && um && um > at);
    pf_buf_init(&b, BIG);
    pf_buf_append(&b, example, (size_t)(at - example));
    pf_buf_puts(&b, "\"last_ack\": 0, \"time_wait\": 7");
    pf_buf_append(&b, at + strlen(from), (size_t)(um - at - strlen(from)));
    pf_buf_puts(&b, "\"unmeasured\": [\"events\", \"tcp.states.bound\"]");
    pf_buf_puts(&b, um + strlen("\"unmeasured\": []"));
    T_EQ_INT(pf_snapshot_decode(b.data, b.len, &s, err), PF_OK);
    T_EQ_INT(s.tcp.states[PF_TCP_BOUND], 0);
    T_EQ_INT(s.tcp.states[PF_TCP_TIME_WAIT], 7);
    T_ASSERT(pf_snapshot_is_unmeasured(&s, "tcp.states.bound"));
    pf_snapshot_clear(&s);
    pf_buf_free(&b);
    /* Listing a different state does not excuse bound. */
    pf_buf_init(&b, BIG);
    pf_buf_append(&b, example, (size_t)(at - example));
    pf_buf_puts(&b, "\"last_ack\": 0, \"time_wait\": 7");
    pf_buf_append(&b, at + strlen(from), (size_t)(um - at - strlen(from)));
    pf_buf_puts(&b, "\"unmeasured\": [\"tcp.states.listen\"]");
    pf_buf_puts(&b, um + strlen("\"unmeasured\": []"));
    T_EQ_INT(pf_snapshot_decode(b.data, b.len, &s, err), PF_INVALID);
    T_EQ_STR(err, "tcp.states.bound: required");
    T_ASSERT(is_clear(&s));
    pf_buf_free(&b);
    /* "tcp.states" unmeasured: the whole object may be missing. */
    {
        const char *st = strstr(example, "\"states\": {");
        const char *eph = strstr(example, "\"ephemeral_in_use\": 0,");
        T_ASSERT(st && eph && eph > st && um > eph);
        pf_buf_init(&b, BIG);
        pf_buf_append(&b, example, (size_t)(st - example));
        pf_buf_append(&b, eph, (size_t)(um - eph));
        pf_buf_puts(&b, "\"unmeasured\": [\"tcp.states\"]");
        pf_buf_puts(&b, um + strlen("\"unmeasured\": []"));
        T_EQ_INT(pf_snapshot_decode(b.data, b.len, &s, err), PF_OK);
        T_EQ_INT(s.tcp.states[PF_TCP_ESTABLISHED], 0);
        pf_snapshot_clear(&s);
        pf_buf_free(&b);
    }
    REJECT("\"states\": {", "\"x\": {", "tcp.states: required");
}

TEST(reject_bad_numbers)
{
    REJECT("\"seq\": 1042", "\"seq\": -1", "seq: must be an integer >= 0");
    REJECT("\"seq\": 1042", "\"seq\": 1.5", "seq: must be an integer >= 0");
    REJECT("\"seq\": 1042", "\"seq\": \"1042\"", "seq: must be an integer >= 0");
    REJECT("\"seq\": 1042", "\"seq\": null", "seq: must be an integer >= 0");
    REJECT("\"seq\": 1042", "\"seq\": true", "seq: must be an integer >= 0");
    REJECT("\"seq\": 1042", "\"seq\": 9007199254740992", "seq: must be at most 9007199254740991");
    REJECT("\"seq\": 1042", "\"seq\": 1e300", "seq: must be at most 9007199254740991");
    REJECT("\"bound\": 0 }", "\"bound\": -3 }", "tcp.states.bound: must be an integer >= 0");
    REJECT("\"tcp_ports\": 0", "\"tcp_ports\": 0.25",
           "processes[0].tcp_ports: must be an integer >= 0");
    REJECT("\"interval_s\": 60", "\"interval_s\": 0",
           "interval_s: must be an integer 1..4294967295");
    REJECT("\"pid\": 4242", "\"pid\": 4294967296",
           "processes[0].pid: must be an integer 0..4294967295");
    REJECT("\"cpus\": 4", "\"cpus\": -4", "host.cpus: must be an integer 0..4294967295");
    REJECT("\"ike_num_established_for_initial_query\": null",
           "\"ike_num_established_for_initial_query\": -1",
           "vpn.ike_num_established_for_initial_query: must be an integer 0..4294967295");
    /* Integral values in other spellings are integers. */
    ACCEPT("\"seq\": 1042", "\"seq\": 1.042e3");
    ACCEPT("\"seq\": 1042", "\"seq\": 9007199254740991");
    ACCEPT("\"seq\": 1042", "\"seq\": -0");
}

TEST(reject_ports_and_ranges)
{
    REJECT("\"port\": 443", "\"port\": 0", "tcp.top_destination.port: must be an integer 1..65535");
    REJECT("\"port\": 443", "\"port\": 65536",
           "tcp.top_destination.port: must be an integer 1..65535");
    REJECT("\"port\": 80, \"count\": 0} }", "\"port\": -80, \"count\": 0} }",
           "processes[0].top_remote.port: must be an integer 1..65535");
    REJECT("\"start\": 49152, \"count\": 16384}", "\"start\": 49152, \"count\": 16385}",
           "ranges[0].count: range ends past port 65535");
    REJECT("\"start\": 49152, \"count\": 16384}", "\"start\": 49152, \"count\": 0}",
           "ranges[0].count: must be an integer 1..65535");
    REJECT("\"start\": 49152, \"count\": 16384}", "\"start\": 0, \"count\": 10}",
           "ranges[0].start: must be an integer 1..65535");
    REJECT("\"start\": 50000, \"count\": 100}", "\"start\": 65535, \"count\": 2}",
           "excluded[0].count: range ends past port 65535");
    REJECT("{\"proto\": \"tcp\", \"family\": \"ipv4\", \"start\": 49152",
           "{\"proto\": \"sctp\", \"family\": \"ipv4\", \"start\": 49152",
           "ranges[0].proto: must be \"tcp\" or \"udp\"");
    REJECT("{\"proto\": \"tcp\", \"family\": \"ipv4\", \"start\": 49152",
           "{\"proto\": \"tcp\", \"family\": \"ipx\", \"start\": 49152",
           "ranges[0].family: must be \"ipv4\" or \"ipv6\"");
    REJECT("{\"proto\": \"tcp\", \"family\": \"ipv6\", \"start\": 49152",
           "{\"proto\": \"tcp\", \"family\": \"ipv4\", \"start\": 49152",
           "ranges[2]: a second tcp/ipv4 range");
    ACCEPT("\"start\": 49152, \"count\": 16384}", "\"start\": 1, \"count\": 65535}");
    ACCEPT("\"start\": 49152, \"count\": 16384}", "\"start\": 65535, \"count\": 1}");
}

TEST(reject_time_and_schema)
{
    REJECT("2026-11-22T10:00:00Z", "2026-11-22 10:00:00",
           "taken_at: must be an RFC 3339 time (2026-11-22T10:00:00Z)");
    REJECT("2026-11-22T10:00:00Z", "2026-02-30T10:00:00Z",
           "taken_at: must be an RFC 3339 time (2026-11-22T10:00:00Z)");
    REJECT("\"2026-11-22T10:00:00Z\"", "1795341600",
           "taken_at: must be an RFC 3339 time (2026-11-22T10:00:00Z)");
    REJECT("2026-11-22T10:00:00Z", "1970-01-01T00:00:00+00:01",
           "taken_at: outside years 1970..9999");
    REJECT("portfleet.snapshot.v1", "x", "schema: unsupported schema \"x\"");
    REJECT("portfleet.snapshot.v1", "portfleet.snapshot.v2",
           "schema: unsupported schema \"portfleet.snapshot.v2\"");
    REJECT("\"portfleet.snapshot.v1\"", "\"a\\\"b\\u0001\"", "schema: unsupported schema \"a?b?\"");
    REJECT("\"portfleet.snapshot.v1\"", "1", "schema: must be a string");
    ACCEPT("2026-11-22T10:00:00Z", "2026-11-22T11:00:00.123+01:00");
}

TEST(reject_strings)
{
    char big[400], name[300];

    memset(name, 'n', 256);
    name[256] = '\0';
    snprintf(big, sizeof(big), "\"name\": \"%s\",", name);
    REJECT("\"name\": \"CONN-NYC-01\",", big, "host.name: longer than 255 bytes");
    name[255] = '\0'; /* exactly 255: fits */
    snprintf(big, sizeof(big), "\"name\": \"%s\",", name);
    ACCEPT("\"name\": \"CONN-NYC-01\",", big);
    memset(name, 's', 64);
    name[64] = '\0';
    snprintf(big, sizeof(big), "\"site\": \"%s\",", name);
    REJECT("\"site\": \"nyc\",", big, "host.site: longer than 63 bytes");
    REJECT("\"entra-connector\"", "\"entra-connector\", 5", "host.roles[1]: must be a string");
    REJECT("\"name\": \"CONN-NYC-01\"", "\"name\": [\"CONN\"]", "host.name: must be a string");
    REJECT("\"last_push_error\": null", "\"last_push_error\": 5",
           "agent_stats.last_push_error: must be a string");
    /* An escaped NUL would cut the string short: the whole body is refused. */
    snprintf(big, sizeof(big), "body: string holds \\u0000 near byte %zu",
             (size_t)(strstr(example, "\"CONN-NYC-01\"") - example) + 5);
    REJECT("\"CONN-NYC-01\"", "\"CONN\\u0000-NYC\"", big);
    /* \u escapes of valid code points are fine, surrogate pairs too. */
    ACCEPT("\"CONN-NYC-01\"", "\"CONN-\\u00fc-\\ud83d\\ude00\"");
}

TEST(reject_addresses)
{
    static const char *const good[] = {"0.0.0.0",
                                       "255.255.255.255",
                                       "::",
                                       "::1",
                                       "1::",
                                       "1:2:3:4:5:6:7:8",
                                       "1:2:3:4:5:6:7::",
                                       "::2:3:4:5:6:7:8",
                                       "1:2:3:4:5:6:1.2.3.4",
                                       "::ffff:10.0.0.1",
                                       "FE80::ABCD",
                                       "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"};
    static const char *const bad[] = {"",
                                      "1.2.3",
                                      "1.2.3.4.5",
                                      "01.2.3.4",
                                      "256.1.1.1",
                                      "1.2.3.",
                                      "1..2.3",
                                      " 1.2.3.4",
                                      "1:2:3:4:5:6:7:8:9",
                                      "1:2:3:4:5:6:7:8::",
                                      "1::2::3",
                                      ":1::",
                                      "1:",
                                      ":",
                                      ":::",
                                      "fe80::1%eth0",
                                      "g::1",
                                      "12345::1",
                                      "::ffff:1.2.3.4.5",
                                      "1.2.3.4:80",
                                      "1:2:3:4:5:6:7:1.2.3.4",
                                      "localhost"};
    char to[128];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(to, sizeof(to), "\"remotes\": [ {\"addr\": \"%s\"", good[i]);
        ACCEPT("\"remotes\": [ {\"addr\": \"169.254.169.254\"", to);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(to, sizeof(to), "\"remotes\": [ {\"addr\": \"%s\"", bad[i]);
        REJECT("\"remotes\": [ {\"addr\": \"169.254.169.254\"", to,
               "remotes[0].addr: must be a numeric IPv4 or IPv6 address");
    }
}

TEST(reject_types)
{
    REJECT("\"host\": {", "\"host\": [], \"x\": {", "host: must be an object");
    REJECT("\"truncated\": false", "\"truncated\": 0", "truncated: must be true or false");
    REJECT("\"tcp\": {", "\"tcp\": null, \"x\": {", "tcp: must be an object");
    REJECT("\"processes\": [", "\"processes\": 1, \"x\": [", "processes: must be an array");
    REJECT("\"remotes\": [ {", "\"remotes\": [ 7, {", "remotes[0]: must be an object");
    REJECT("\"events\": {", "\"events\": \"none\", \"x\": {", "events: must be an object");
    REJECT("\"seq\": 1042,", "\"seq\": 1042, \"seq\": 1043,", "seq: given twice");
    REJECT("\"CONN-NYC-01\", ", "\"CONN-NYC-01\", \"name\": \"b\", ", "host.name: given twice");
}

TEST(optional_and_unknown)
{
    struct pf_snapshot s = {0};
    char err[PF_ERRMSG_LEN];

    /* Unknown fields anywhere are ignored. */
    ACCEPT("\"seq\": 1042,", "\"seq\": 1042, \"future\": {\"a\": [1, {\"b\": null}]},");
    ACCEPT("\"pid\": 4242,", "\"pid\": 4242, \"cmdline\": \"x\",");
    /* Optional sections may be null or missing. */
    T_EQ_INT(decode_edit("\"vpn\": {", "\"vpn\": null, \"x\": {", &s, err), PF_OK);
    T_ASSERT(!s.has_vpn && s.vpn.top == NULL);
    pf_snapshot_clear(&s);
    T_EQ_INT(decode_edit("\"top_destination\": {", "\"x\": {", &s, err), PF_OK);
    T_ASSERT(!s.tcp.has_top_destination);
    pf_snapshot_clear(&s);
    /* A process may list only some states; the others are 0. */
    T_EQ_INT(decode_edit("\"established\": 0, \"bound\": 0", "\"established\": 5, \"bound\": 9", &s,
                         err),
             PF_OK);
    T_EQ_INT(s.processes[0].states[PF_TCP_ESTABLISHED], 5);
    T_EQ_INT(s.processes[0].states[PF_TCP_BOUND], 9);
    T_EQ_INT(s.processes[0].states[PF_TCP_LISTEN], 0);
    pf_snapshot_clear(&s);
    T_EQ_INT(decode_edit("\"last_push_error\": null", "\"last_push_error\": \"timeout\"", &s, err),
             PF_OK);
    T_ASSERT(s.agent_stats.has_last_push_error);
    T_EQ_STR(s.agent_stats.last_push_error, "timeout");
    pf_snapshot_clear(&s);
    T_EQ_INT(decode_edit("\"ike_num_established_for_initial_query\": null",
                         "\"ike_num_established_for_initial_query\": 50000", &s, err),
             PF_OK);
    T_ASSERT(s.vpn.has_ike_value);
    T_EQ_INT(s.vpn.ike_num_established_for_initial_query, 50000);
    pf_snapshot_clear(&s);
}

/* docs/protocol.md: an optional field or section sent as JSON null means the
 * same as leaving it out, at any depth. Each row edits the example twice,
 * the field set to null and the field removed; both must decode, to the
 * same snapshot. */
TEST(null_means_absent)
{
    static const char *const rows[][3] = {
        /* from, as null, as absent */
        {"\"service\": \"DnsFilterSvc\",", "\"service\": null,", ""},
        {"\"machine_id\": \"…\",", "\"machine_id\": null,", ""},
        {"\"os_version\": \"10.0.20348\",", "\"os_version\": null,", ""},
        {"\"cpus\": 4, ", "\"cpus\": null, ", ""},
        {"\"memory_mb\": 8192, ", "\"memory_mb\": null, ", ""},
        {"\"excluded\": [", "\"excluded\": null, \"x\": [", "\"x\": ["},
        {"\"top_destination\": {", "\"top_destination\": null, \"x\": {", "\"x\": {"},
        {"\"processes\": [", "\"processes\": null, \"x\": [", "\"x\": ["},
        {"\"top_remote\": {", "\"top_remote\": null, \"x\": {", "\"x\": {"},
        {"\"states\": {\"established\"", "\"states\": null, \"x\": {\"established\"",
         "\"x\": {\"established\""},
        {"\"established\": 0, \"bound\": 0, \"syn_sent\": 0",
         "\"established\": null, \"bound\": 0, \"syn_sent\": null", "\"bound\": 0"},
        {"\"remotes\": [", "\"remotes\": null, \"x\": [", "\"x\": ["},
        {"\"events\": {", "\"events\": null, \"x\": {", "\"x\": {"},
        {"\"vpn\": {", "\"vpn\": null, \"x\": {", "\"x\": {"},
        {",\n    \"ike_num_established_for_initial_query\": null",
         ",\n    \"ike_num_established_for_initial_query\": null", ""},
        {"\"unmeasured\": [],", "\"unmeasured\": null,", ""},
        {"\"agent_stats\": {", "\"agent_stats\": null, \"x\": {", "\"x\": {"},
        {", \"last_push_error\": null", ", \"last_push_error\": null", ""},
        /* sections a later version of the protocol adds; unknown to this
         * decoder, null must not trip it either */
        {"\"truncated\"", "\"resources\": null, \"sessions\": null, \"truncated\"",
         "\"truncated\""},
    };

    for (size_t i = 0; i < PF_ARRAY_LEN(rows); i++) {
        struct pf_snapshot a = {0}, b = {0};
        char ea[PF_ERRMSG_LEN] = "", eb[PF_ERRMSG_LEN] = "", where[128] = "";
        int ra = decode_edit(rows[i][0], rows[i][1], &a, ea);
        int rb = decode_edit(rows[i][0], rows[i][2], &b, eb);

        if (ra != PF_OK || rb != PF_OK) {
            T_FAIL_("row %zu (%s): null -> %d \"%s\", absent -> %d \"%s\"", i, rows[i][1], ra, ea,
                    rb, eb);
        } else if (pf_snapshot_compare(&a, &b, where, sizeof(where)) != 0) {
            T_FAIL_("row %zu (%s): null and absent differ at %s", i, rows[i][1], where);
        }
        pf_snapshot_clear(&a);
        pf_snapshot_clear(&b);
    }
    /* every optional section null at once (the old values parked under
     * unknown keys, which the decoder ignores) */
    {
        /* in the order they appear in the example */
        static const char *const keys[] = {"\"excluded\": ", "\"top_destination\": ",
                                           "\"processes\": ", "\"remotes\": ",
                                           "\"events\": ",   "\"vpn\": ",
                                           "\"unmeasured\": ", "\"agent_stats\": "};
        struct pf_buf t[2];
        struct pf_snapshot v[2];
        char e[2][PF_ERRMSG_LEN], where[128] = "";

        memset(v, 0, sizeof(v));

        for (int k = 0; k < 2; k++) {
            const char *from = example;
            pf_buf_init(&t[k], BIG);
            for (size_t i = 0; i < PF_ARRAY_LEN(keys); i++) {
                const char *at = strstr(example, keys[i]);
                T_ASSERT(at != NULL && at >= from);
                pf_buf_append(&t[k], from, (size_t)(at - from));
                if (k == 0)
                    pf_buf_printf(&t[k], "%snull, ", keys[i]);
                pf_buf_printf(&t[k], "\"old%zu\": ", i);
                from = at + strlen(keys[i]);
            }
            pf_buf_puts(&t[k], from);
            e[k][0] = '\0';
            T_EQ_INT(pf_snapshot_decode(t[k].data, t[k].len, &v[k], e[k]), PF_OK);
        }
        T_ASSERT(!v[0].has_excluded && !v[0].has_processes && !v[0].has_remotes &&
                 !v[0].has_events && !v[0].has_vpn && !v[0].has_agent_stats &&
                 !v[0].tcp.has_top_destination);
        T_EQ_INT(pf_snapshot_compare(&v[0], &v[1], where, sizeof(where)), 0);
        for (int k = 0; k < 2; k++) {
            pf_snapshot_clear(&v[k]);
            pf_buf_free(&t[k]);
        }
    }
}

/* A state the agent listed as unmeasured may be null like any optional
 * field; a null required one is refused, naming it. */
TEST(null_unmeasured_state)
{
    struct pf_snapshot s = {0};
    char err[PF_ERRMSG_LEN] = "";
    struct pf_buf b;
    const char *um = strstr(example, "\"unmeasured\": []");
    const char *bound = strstr(example, "\"bound\": 0 }");

    T_ASSERT(um && bound && bound < um);
    pf_buf_init(&b, BIG);
    pf_buf_append(&b, example, (size_t)(bound - example));
    pf_buf_puts(&b, "\"bound\": null }");
    pf_buf_append(&b, bound + strlen("\"bound\": 0 }"), (size_t)(um - bound) - strlen("\"bound\": 0 }"));
    pf_buf_puts(&b, "\"unmeasured\": [\"tcp.states.bound\"]");
    pf_buf_puts(&b, um + strlen("\"unmeasured\": []"));
    T_EQ_INT(pf_snapshot_decode(b.data, b.len, &s, err), PF_OK);
    T_EQ_INT(s.tcp.states[PF_TCP_BOUND], 0);
    T_ASSERT(pf_snapshot_is_unmeasured(&s, "tcp.states.bound"));
    pf_snapshot_clear(&s);
    pf_buf_free(&b);
    REJECT("\"bound\": 0 }", "\"bound\": null }", "tcp.states.bound: must be an integer >= 0");
}

/* Strict on everything else: a null required field or list element is a
 * 400 naming it. */
TEST(null_required_refused)
{
    REJECT("\"seq\": 1042,", "\"seq\": null,", "seq: must be an integer >= 0");
    REJECT("\"schema\": \"portfleet.snapshot.v1\",", "\"schema\": null,",
           "schema: must be a string");
    REJECT("\"agent_id\": \"9b2c...\",", "\"agent_id\": null,", "agent_id: must be a string");
    REJECT("\"taken_at\": \"2026-11-22T10:00:00Z\",", "\"taken_at\": null,",
           "taken_at: must be an RFC 3339 time (2026-11-22T10:00:00Z)");
    REJECT("\"interval_s\": 60,", "\"interval_s\": null,",
           "interval_s: must be an integer 1..4294967295");
    REJECT("\"host\": {", "\"host\": null, \"x\": {", "host: must be an object");
    REJECT("\"name\": \"CONN-NYC-01\",", "\"name\": null,", "host.name: must be a string");
    REJECT("\"site\": \"nyc\",", "\"site\": null,", "host.site: must be a string");
    REJECT("\"os\": \"windows\",", "\"os\": null,", "host.os: must be a string");
    REJECT("\"roles\": [\"entra-connector\"],", "\"roles\": null,", "host.roles: must be an array");
    REJECT("[\"entra-connector\"]", "[\"entra-connector\", null]",
           "host.roles[1]: must be a string");
    REJECT("\"agent_version\": \"0.1.0\"", "\"agent_version\": null",
           "host.agent_version: must be a string");
    REJECT("\"ranges\": [", "\"ranges\": null, \"x\": [", "ranges: must be an array");
    REJECT("\"start\": 50000", "\"start\": null", "excluded[0].start: must be an integer 1..65535");
    REJECT("\"states\": { \"listen\"", "\"states\": null, \"x\": { \"listen\"",
           "tcp.states: must be an object");
    REJECT("\"listen\": 0,", "\"listen\": null,", "tcp.states.listen: must be an integer >= 0");
    REJECT("\"ephemeral_in_use\": 0,\n", "\"ephemeral_in_use\": null,\n",
           "tcp.ephemeral_in_use: must be an integer >= 0");
    REJECT("\"10.0.0.5\"", "null", "tcp.top_destination.addr: must be a numeric IPv4 or IPv6 address");
    REJECT("\"udp\": {", "\"udp\": null, \"x\": {", "udp: must be an object");
    REJECT("\"endpoints\": 0,", "\"endpoints\": null,", "udp.endpoints: must be an integer >= 0");
    REJECT("\"pid\": 4242,", "\"pid\": null,", "processes[0].pid: must be an integer 0..4294967295");
    REJECT("\"tcp_ports\": 0,", "\"tcp_ports\": null,",
           "processes[0].tcp_ports: must be an integer >= 0");
    REJECT("\"port\": 80, \"count\": 0} }", "\"port\": null, \"count\": 0} }",
           "processes[0].top_remote.port: must be an integer 1..65535");
    REJECT("\"processes\": [", "\"processes\": [null, ", "processes[0]: must be an object");
    REJECT("\"remotes\": [ {", "\"remotes\": [ null, {", "remotes[0]: must be an object");
    REJECT("\"tcpip_4227\": 0,", "\"tcpip_4227\": null,",
           "events.tcpip_4227: must be an integer >= 0");
    REJECT("\"connections\": 0,", "\"connections\": null,",
           "vpn.connections: must be an integer >= 0");
    REJECT("\"by_protocol\": {", "\"by_protocol\": null, \"x\": {",
           "vpn.by_protocol: must be an object");
    REJECT("\"client_addresses\": {", "\"client_addresses\": null, \"x\": {",
           "vpn.client_addresses: must be an object");
    REJECT("\"distinct\": 0,", "\"distinct\": null,",
           "vpn.client_addresses.distinct: must be an integer >= 0");
    REJECT("\"spool_depth\": 0,", "\"spool_depth\": null,",
           "agent_stats.spool_depth: must be an integer >= 0");
    REJECT("\"unmeasured\": []", "\"unmeasured\": [null]", "unmeasured[0]: must be a string");
    REJECT("\"truncated\": false", "\"truncated\": null", "truncated: must be true or false");
}

/* The batch form: a null entry is refused with its index; an optional
 * null inside an entry is absent there too. */
TEST(null_in_batch)
{
    struct pf_buf b;
    struct pf_snapshot *arr = NULL;
    size_t n = 0;
    char err[PF_ERRMSG_LEN] = "";
    const char *svc = strstr(example, "\"DnsFilterSvc\"");

    T_ASSERT(svc != NULL);
    pf_buf_init(&b, BIG);
    pf_buf_puts(&b, "{\"snapshots\": [");
    pf_buf_append(&b, example, example_len);
    pf_buf_puts(&b, ", ");
    pf_buf_append(&b, example, (size_t)(svc - example));
    pf_buf_puts(&b, "null");
    pf_buf_puts(&b, svc + strlen("\"DnsFilterSvc\""));
    pf_buf_puts(&b, "]}");
    T_EQ_INT(pf_snapshot_decode_body(b.data, b.len, &arr, &n, err), PF_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(arr[0].processes[0].service, "DnsFilterSvc");
    T_EQ_STR(arr[1].processes[0].service, "");
    pf_snapshot_array_free(arr, n);
    arr = NULL;
    pf_buf_reset(&b);
    pf_buf_puts(&b, "{\"snapshots\": [");
    pf_buf_append(&b, example, example_len);
    pf_buf_puts(&b, ", null]}");
    T_EQ_INT(pf_snapshot_decode_body(b.data, b.len, &arr, &n, err), PF_INVALID);
    T_EQ_STR(err, "snapshots[1]: must be an object");
    T_ASSERT(arr == NULL);
    pf_buf_reset(&b);
    pf_buf_puts(&b, "{\"snapshots\": null}");
    T_EQ_INT(pf_snapshot_decode_body(b.data, b.len, &arr, &n, err), PF_INVALID);
    T_ASSERT(arr == NULL);
    pf_buf_free(&b);
}

/* A JSON list of n copies of item, as "key": [ ... ]. */
static void list_of(struct pf_buf *b, const char *key, const char *item, size_t n)
{
    pf_buf_printf(b, "\"%s\": [", key);
    for (size_t i = 0; i < n; i++)
        pf_buf_printf(b, "%s%s", i ? "," : "", item);
    pf_buf_puts(b, "],");
}

/* Replaces the opening of a list in the example by a list of n items, and
 * parks the old items in an unknown field. */
static void replace_list(struct pf_buf *b, const char *key, const char *item, size_t n)
{
    list_of(b, key, item, n);
    pf_buf_puts(b, "\"old\": [");
}

static void check_list_cap(const char *from, const char *key, const char *item, size_t cap,
                           const char *want_err, int *failed)
{
    struct pf_buf b;
    struct pf_snapshot s = {0};
    char err[PF_ERRMSG_LEN];

    for (size_t n = cap; n <= cap + 1; n++) {
        pf_buf_init(&b, BIG);
        replace_list(&b, key, item, n);
        err[0] = '\0';
        int rc = decode_edit(from, b.data, &s, err);
        if (n == cap && rc != PF_OK) {
            fprintf(stderr, "%s: %zu entries refused: %s\n", key, n, err);
            (*failed)++;
        }
        if (n > cap && (rc != PF_INVALID || strcmp(err, want_err) != 0)) {
            fprintf(stderr, "%s: %zu entries: rc %d, \"%s\" != \"%s\"\n", key, n, rc, err,
                    want_err);
            (*failed)++;
        }
        pf_snapshot_clear(&s);
        pf_buf_free(&b);
    }
}

TEST(reject_list_caps)
{
    int failed = 0;

    check_list_cap("\"processes\": [", "processes",
                   "{\"pid\":1,\"name\":\"p\",\"tcp_ports\":1,\"udp_ports\":0}", PF_LIST_MAX,
                   "processes: more than 50 entries", &failed);
    check_list_cap("\"remotes\": [", "remotes", "{\"addr\":\"::1\",\"port\":1,\"count\":1}",
                   PF_LIST_MAX, "remotes: more than 50 entries", &failed);
    check_list_cap("\"top\": [", "top", "{\"addr\":\"10.1.1.1\",\"count\":1}", PF_LIST_MAX,
                   "vpn.client_addresses.top: more than 50 entries", &failed);
    check_list_cap("\"excluded\": [", "excluded",
                   "{\"proto\":\"udp\",\"family\":\"ipv6\",\"start\":1,\"count\":1}",
                   PF_EXCLUDED_MAX, "excluded: more than 256 entries", &failed);
    check_list_cap("\"roles\": [", "roles", "\"r\"", PF_ROLES_MAX,
                   "host.roles: more than 8 entries", &failed);
    check_list_cap("\"unmeasured\": [", "unmeasured", "\"events\"", PF_UNMEASURED_MAX,
                   "unmeasured: more than 16 entries", &failed);
    T_EQ_INT(failed, 0);
    /* ranges: more than 8 is refused before any duplicate check. */
    {
        struct pf_buf b;
        pf_buf_init(&b, BIG);
        list_of(&b, "ranges", "{\"proto\":\"tcp\",\"family\":\"ipv4\",\"start\":1,\"count\":1}",
                PF_RANGES_MAX + 1);
        pf_buf_puts(&b, "\"x\": [");
        REJECT("\"ranges\": [", b.data, "ranges: more than 8 entries");
        pf_buf_free(&b);
    }
}

/* ---- body-level refusals ---- */

static enum pf_rc body(const char *text, char err[PF_ERRMSG_LEN])
{
    struct pf_snapshot *arr = (struct pf_snapshot *)1;
    size_t n = 99;
    enum pf_rc rc = pf_snapshot_decode_body(text, strlen(text), &arr, &n, err);

    if (rc && (arr != NULL || n != 0))
        return PF_INTERNAL; /* outputs must be NULL/0 on error */
    pf_snapshot_array_free(arr, n);
    return rc;
}

TEST(reject_bad_json)
{
    char err[PF_ERRMSG_LEN];
    struct pf_buf b;

    T_EQ_INT(body("{\"seq\": 1,}", err), PF_INVALID);
    T_EQ_STR(err, "body: invalid JSON near byte 10");
    T_EQ_INT(body("", err), PF_INVALID);
    T_EQ_STR(err, "body: invalid JSON near byte 0");
    T_EQ_INT(body("{\"a\": 0123}", err), PF_INVALID);
    T_EQ_STR(err, "body: invalid JSON near byte 7");
    T_EQ_INT(body("{\"a\": 1.}", err), PF_INVALID);
    T_EQ_STR(err, "body: invalid JSON near byte 8");
    T_EQ_INT(body("{\"a\": \"x\ty\"}", err), PF_INVALID); /* raw tab in a string */
    T_EQ_STR(err, "body: invalid JSON near byte 8");
    T_EQ_INT(body("{\"a\": \"x\x1fy\"}", err), PF_INVALID); /* raw unit separator */
    T_EQ_STR(err, "body: invalid JSON near byte 8");
    T_EQ_INT(body("{\"a\": \"x\x7fy\"}", err), PF_INVALID);
    T_EQ_STR(err, "schema: required");                       /* DEL is allowed raw */
    T_EQ_INT(body("{\"a\": \"\\ud800\"}", err), PF_INVALID); /* lone surrogate */
    T_EQ_STR(err, "body: invalid JSON near byte 7");
    T_EQ_INT(body("{\"a\": \"\\u0000\"}", err), PF_INVALID);
    T_EQ_STR(err, "body: string holds \\u0000 near byte 7");
    T_EQ_INT(body("{\"a\": \"\xc0\xaf\"}", err), PF_INVALID); /* overlong '/' */
    T_EQ_STR(err, "body: invalid UTF-8 near byte 7");
    T_EQ_INT(body("{\"a\": 1} x", err), PF_INVALID);
    T_EQ_STR(err, "body: trailing data after the JSON value near byte 9");
    T_EQ_INT(body("{\"a\": 1}{}", err), PF_INVALID);
    T_EQ_STR(err, "body: trailing data after the JSON value near byte 8");
    T_EQ_INT(body("[1, 2]", err), PF_INVALID);
    T_EQ_STR(err, "body: must be a JSON object");
    T_EQ_INT(body("{}", err), PF_INVALID);
    T_EQ_STR(err, "schema: required");

    /* The protocol example followed by garbage. */
    pf_buf_init(&b, BIG);
    pf_buf_append(&b, example, example_len);
    pf_buf_puts(&b, "garbage");
    T_EQ_INT(body(b.data, err), PF_INVALID);
    {
        char want[PF_ERRMSG_LEN];
        snprintf(want, sizeof(want), "body: trailing data after the JSON value near byte %zu",
                 example_len);
        T_EQ_STR(err, want);
    }
    pf_buf_free(&b);
    /* A raw NUL byte (length-delimited input). */
    {
        struct pf_snapshot s = {0};
        T_EQ_INT(pf_snapshot_decode("{\"a\": \"x\0y\"}", 12, &s, err), PF_INVALID);
        T_EQ_STR(err, "body: invalid JSON near byte 8");
    }
}

TEST(reject_depth)
{
    char text[200], err[PF_ERRMSG_LEN];
    size_t n = 0;

    /* 16 levels pass the depth check (and then fail as a snapshot). */
    for (int i = 0; i < 15; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"a\":");
    n += (size_t)snprintf(text + n, sizeof(text) - n, "[]");
    for (int i = 0; i < 15; i++)
        text[n++] = '}';
    text[n] = '\0';
    T_EQ_INT(pf_json_check_depth(text, n, PF_JSON_MAX_DEPTH), PF_OK);
    T_EQ_INT(body(text, err), PF_INVALID);
    T_EQ_STR(err, "schema: required");
    /* 17 do not. */
    memmove(text + 5, text, n + 1);
    memcpy(text, "{\"a\":", 5);
    n += 5;
    text[n++] = '}';
    text[n] = '\0';
    T_EQ_INT(pf_json_check_depth(text, n, PF_JSON_MAX_DEPTH), PF_TOOBIG);
    T_EQ_INT(body(text, err), PF_INVALID);
    T_EQ_STR(err, "body: nested deeper than 16 levels");
    /* Brackets inside strings do not count; escaped quotes do not end them. */
    T_EQ_INT(pf_json_check_depth("[\"[[[[\\\"[[[[\"]", 14, 1), PF_OK);
    T_EQ_INT(pf_json_check_depth("[[", 2, 1), PF_TOOBIG);
    /* Deep nesting far beyond cJSON's own limit is refused cheaply. */
    {
        size_t len = 200000;
        char *deep = malloc(len + 1);
        T_ASSERT(deep);
        memset(deep, '[', len);
        deep[len] = '\0';
        T_EQ_INT(body(deep, err), PF_INVALID);
        T_EQ_STR(err, "body: nested deeper than 16 levels");
        free(deep);
    }
}

/* ---- batches ---- */

static char *batch_text(size_t n, size_t bad_index)
{
    struct pf_buf b;
    struct pf_snapshot s = {0};

    fill_min(&s);
    pf_buf_init(&b, BIG);
    pf_buf_puts(&b, "{\"snapshots\": [");
    for (size_t i = 0; i < n; i++) {
        if (i)
            pf_buf_puts(&b, ",");
        s.seq = i == bad_index ? 12345 : i;
        size_t at = b.len;
        pf_snapshot_encode(&s, 0, &b);
        if (i == bad_index) /* a negative seq, same length */
            memcpy(strstr(b.data + at, "\"seq\":12345"), "\"seq\":-1234", 11);
    }
    pf_buf_puts(&b, "]}");
    return pf_buf_detach(&b, NULL);
}

TEST(batch)
{
    struct pf_snapshot *arr;
    size_t n;
    char err[PF_ERRMSG_LEN], *t;

    t = batch_text(1, (size_t)-1);
    T_EQ_INT(pf_snapshot_decode_body(t, strlen(t), &arr, &n, err), PF_OK);
    T_EQ_INT(n, 1);
    pf_snapshot_array_free(arr, n);
    free(t);

    t = batch_text(1000, (size_t)-1);
    T_EQ_INT(pf_snapshot_decode_body(t, strlen(t), &arr, &n, err), PF_OK);
    T_EQ_INT(n, 1000);
    T_EQ_INT(arr[999].seq, 999);
    T_EQ_INT(arr[500].seq, 500);
    pf_snapshot_array_free(arr, n);
    free(t);

    t = batch_text(1001, (size_t)-1);
    T_EQ_INT(body(t, err), PF_INVALID);
    T_EQ_STR(err, "snapshots: must hold 1 to 1000 snapshots");
    free(t);

    T_EQ_INT(body("{\"snapshots\": []}", err), PF_INVALID);
    T_EQ_STR(err, "snapshots: must hold 1 to 1000 snapshots");
    T_EQ_INT(body("{\"snapshots\": {}}", err), PF_INVALID);
    T_EQ_STR(err, "snapshots: must be an array");

    t = batch_text(10, 3);
    T_EQ_INT(body(t, err), PF_INVALID);
    T_EQ_STR(err, "snapshots[3].seq: must be an integer >= 0");
    T_ASSERT(strncmp(err, "snapshots[3].", 13) == 0);
    free(t);

    T_EQ_INT(body("{\"snapshots\": [{}, 5]}", err), PF_INVALID);
    T_EQ_STR(err, "snapshots[0].schema: required");

    /* A single object: messages carry no prefix. */
    T_EQ_INT(decode_edit("\"bound\": 0 }", "\"bound\": -1 }", &(struct pf_snapshot){0}, err),
             PF_INVALID);
    T_EQ_STR(err, "tcp.states.bound: must be an integer >= 0");
    {
        const char *at = strstr(example, "\"bound\": 0 }");
        struct pf_buf b;
        T_ASSERT(at);
        pf_buf_init(&b, BIG);
        pf_buf_puts(&b, "{\"snapshots\": [");
        for (int i = 0; i < 4; i++) {
            pf_buf_append(&b, example, (size_t)(at - example));
            pf_buf_puts(&b, i == 3 ? "\"bound\": -1 }" : "\"bound\": 0 }");
            pf_buf_puts(&b, at + strlen("\"bound\": 0 }"));
            pf_buf_puts(&b, i < 3 ? "," : "]}");
        }
        T_EQ_INT(body(b.data, err), PF_INVALID);
        /* exactly docs/protocol.md's example message */
        T_EQ_STR(err, "snapshots[3].tcp.states.bound: must be an integer >= 0");
        pf_buf_free(&b);
    }
    /* The example as a one-object body. */
    T_EQ_INT(pf_snapshot_decode_body(example, example_len, &arr, &n, err), PF_OK);
    T_EQ_INT(n, 1);
    T_EQ_INT(arr[0].seq, 1042);
    pf_snapshot_array_free(arr, n);
    pf_snapshot_array_free(NULL, 0);
}

/* A decode into a snapshot that already holds lists frees them (no leak
 * under ASan) and leaves it cleared on error. */
/* resources, sessions, vpn.ports and vpn.address_pool: what they accept,
 * what they refuse (the figures docs/protocol.md section 2 refuses), and that
 * null means absent at every level. */
#define SIZING_AT "\"unmeasured\": [],"
#define POOL_AT "\"ike_num_established_for_initial_query\": null"
TEST(sizing_sections)
{
    struct pf_snapshot s = {0};
    char err[PF_ERRMSG_LEN];

    T_EQ_INT(decode_edit(SIZING_AT,
                         "\"resources\": {\"cpu_pct\": 63.456, \"memory_used_mb\": 5120, "
                         "\"cpu_pct_peak\": 91}, \"sessions\": {\"source\": \"cloudflared\", "
                         "\"tcp_active\": 3100, \"udp_active\": 240, \"users\": null}," SIZING_AT,
                         &s, err),
             PF_OK);
    T_ASSERT(s.has_resources && s.resources.has_cpu_pct && s.resources.has_cpu_pct_peak);
    T_ASSERT(s.resources.cpu_pct == 63.46 && s.resources.cpu_pct_peak == 91);
    T_EQ_INT(s.resources.memory_used_mb, 5120);
    T_ASSERT(s.has_sessions && s.sessions.has_tcp_active && !s.sessions.has_users);
    T_EQ_INT(s.sessions.udp_active, 240);
    T_EQ_STR(s.sessions.source, "cloudflared");
    pf_snapshot_clear(&s);
    T_EQ_INT(decode_edit(POOL_AT,
                         POOL_AT ", \"ports\": [{\"protocol\": \"ikev2\", \"configured\": 128, "
                                 "\"in_use\": 97}, {\"protocol\": \"sstp\", \"configured\": 128, "
                                 "\"in_use\": 12}], \"address_pool\": {\"size\": 500, "
                                 "\"in_use\": 461}",
                         &s, err),
             PF_OK);
    T_ASSERT(s.vpn.has_ports && s.vpn.has_address_pool);
    T_EQ_INT(s.vpn.nports, 2);
    T_EQ_INT(s.vpn.ports[0].proto, PF_VPN_IKEV2);
    T_EQ_INT(s.vpn.ports[0].in_use, 97);
    T_EQ_INT(s.vpn.ports[1].configured, 128);
    T_EQ_INT(s.vpn.pool_in_use, 461);
    pf_snapshot_clear(&s);

    ACCEPT(SIZING_AT, "\"resources\": null, \"sessions\": null," SIZING_AT);
    ACCEPT(SIZING_AT, "\"resources\": {\"cpu_pct\": null, \"memory_used_mb\": null}," SIZING_AT);
    ACCEPT(POOL_AT, POOL_AT ", \"ports\": null, \"address_pool\": null");
    ACCEPT(SIZING_AT, "\"resources\": {\"cpu_pct\": 0, \"cpu_pct_peak\": 100, "
                      "\"memory_used_mb\": 8192}," SIZING_AT);

    REJECT(SIZING_AT, "\"resources\": {\"cpu_pct\": -0.5}," SIZING_AT,
           "resources.cpu_pct: must be a number 0..100");
    REJECT(SIZING_AT, "\"resources\": {\"cpu_pct_peak\": 100.01}," SIZING_AT,
           "resources.cpu_pct_peak: must be a number 0..100");
    REJECT(SIZING_AT, "\"resources\": {\"cpu_pct\": \"63\"}," SIZING_AT,
           "resources.cpu_pct: must be a number 0..100");
    REJECT(SIZING_AT, "\"resources\": {\"memory_used_mb\": 8193}," SIZING_AT,
           "resources.memory_used_mb: above host.memory_mb (8192)");
    REJECT(SIZING_AT, "\"resources\": {\"memory_used_mb\": -1}," SIZING_AT,
           "resources.memory_used_mb: must be an integer >= 0");
    REJECT(SIZING_AT, "\"sessions\": {\"tcp_active\": 1}," SIZING_AT,
           "sessions.source: required");
    REJECT(SIZING_AT, "\"sessions\": {\"source\": \"\"}," SIZING_AT,
           "sessions.source: must not be empty");
    REJECT(SIZING_AT, "\"sessions\": {\"source\": \"x\", \"requests_per_s\": -2}," SIZING_AT,
           "sessions.requests_per_s: must be a number >= 0");
    REJECT(POOL_AT,
           POOL_AT ", \"ports\": [{\"protocol\": \"ikev2\", \"configured\": 128, \"in_use\": 129}]",
           "vpn.ports[0].in_use: above configured (128)");
    REJECT(POOL_AT,
           POOL_AT ", \"ports\": [{\"protocol\": \"gre\", \"configured\": 1, \"in_use\": 0}]",
           "vpn.ports[0].protocol: must be ikev2, sstp, l2tp or pptp");
    REJECT(POOL_AT,
           POOL_AT ", \"ports\": [{\"protocol\": \"sstp\", \"configured\": 1, \"in_use\": 0}, "
                   "{\"protocol\": \"sstp\", \"configured\": 1, \"in_use\": 0}]",
           "vpn.ports[1].protocol: a second sstp entry");
    REJECT(POOL_AT, POOL_AT ", \"address_pool\": {\"size\": 500, \"in_use\": 501}",
           "vpn.address_pool.in_use: above size (500)");
    REJECT(POOL_AT, POOL_AT ", \"address_pool\": {\"size\": 500}",
           "vpn.address_pool.in_use: required");

    /* The encoder refuses the same figures with the same paths. */
    fill_min(&s);
    s.host.memory_mb = 100;
    s.has_resources = true;
    s.resources.has_memory_used_mb = true;
    s.resources.memory_used_mb = 101;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "resources.memory_used_mb: above host.memory_mb (100)");
    s.resources.memory_used_mb = 100;
    s.resources.has_cpu_pct = true;
    s.resources.cpu_pct = 100.5;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_INVALID);
    T_EQ_STR(err, "resources.cpu_pct: must be a number 0..100");
    s.resources.cpu_pct = 12.5;
    T_EQ_INT(pf_snapshot_validate(&s, err), PF_OK);
    pf_snapshot_clear(&s);
}

TEST(reuse_and_clear)
{
    struct pf_snapshot s = {0};
    char err[PF_ERRMSG_LEN];

    fill_full(&s);
    T_EQ_INT(pf_snapshot_decode(example, example_len, &s, err), PF_OK);
    T_EQ_INT(s.nprocesses, 1);
    T_EQ_INT(decode_edit("\"truncated\": false", "\"truncated\": 1", &s, err), PF_INVALID);
    T_ASSERT(is_clear(&s));
}

int main(void)
{
    example = t_read_data("snapshot_protocol_example.json", &example_len);
    if (!example) {
        fprintf(stderr, "missing tests/data/snapshot_protocol_example.json\n");
        return 1;
    }
    RUN(round_trip_full);
    RUN(sizing_sections);
    RUN(round_trip_min);
    RUN(round_trip_detects_change);
    RUN(protocol_example);
    RUN(pretty_and_compact);
    RUN(encode_exact_integers);
    RUN(encode_sections);
    RUN(encode_strings);
    RUN(encode_refuses_invalid);
    RUN(encode_toobig_keeps_buffer);
    RUN(reject_missing_required);
    RUN(lenient_host_fields);
    RUN(unmeasured_state_may_be_missing);
    RUN(reject_bad_numbers);
    RUN(reject_ports_and_ranges);
    RUN(reject_time_and_schema);
    RUN(reject_strings);
    RUN(reject_addresses);
    RUN(reject_types);
    RUN(optional_and_unknown);
    RUN(null_means_absent);
    RUN(null_unmeasured_state);
    RUN(null_required_refused);
    RUN(null_in_batch);
    RUN(reject_list_caps);
    RUN(reject_bad_json);
    RUN(reject_depth);
    RUN(batch);
    RUN(reuse_and_clear);
    free(example);
    return T_DONE();
}
