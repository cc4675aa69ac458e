/* SPDX-License-Identifier: MIT */
/* test_store.c: the COPY rows copyrow.c writes for a snapshot (the
 * database part of the store runs in the integration tests): one value per
 * column of the COPY statement, text escaped for COPY, NULL (\N) for what
 * the agent listed as unmeasured or left out, arrays and JSON well formed,
 * one process and one remote row per list entry with their rank. */
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"
#include "snapshot_json.h"
#include "body.h"
#include "copyrow.h"
#include "store.h"
#include "test.h"

static struct pf_snapshot snap;
static struct pf_buf snaps, procs, remotes;

/* Value of column name in row (a line of COPY text) for the column list of
 * the COPY statement sql, into out. Returns 0 when found. */
static int col(const char *sql, const char *row, const char *name, char *out, size_t outlen)
{
    const char *list = strchr(sql, '(') + 1, *p = list;
    int idx = 0, want = -1;

    while (*p && *p != ')') {
        size_t n = strcspn(p, ",)");
        if (n == strlen(name) && strncmp(p, name, n) == 0)
            want = idx;
        idx++;
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
    if (want < 0)
        return -1;
    p = row;
    for (int i = 0; i < want; i++) {
        p = strchr(p, '\t');
        if (!p)
            return -1;
        p++;
    }
    size_t n = strcspn(p, "\t\n");
    if (n >= outlen)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int ncols(const char *sql)
{
    int n = 1;
    for (const char *p = strchr(sql, '('); *p && *p != ')'; p++)
        n += *p == ',';
    return n;
}

/* Number of tab-separated fields in the first line of s. */
static int nfields(const char *s)
{
    int n = 1;
    for (; *s && *s != '\n'; s++)
        n += *s == '\t';
    return n;
}

static size_t nlines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static int setup(void)
{
    char err[PF_ERRMSG_LEN];
    size_t len;
    char *json = t_read_data("snapshot_protocol_example.json", &len);

    if (!json || pf_snapshot_decode(json, len, &snap, err) != PF_OK) {
        fprintf(stderr, "cannot decode the protocol example: %s\n", json ? err : "missing");
        free(json);
        return -1;
    }
    free(json);
    snprintf(snap.agent_id, sizeof(snap.agent_id), "9b2c0000-0000-4000-8000-000000000001");
    return 0;
}

static void rows(void)
{
    pf_buf_init(&snaps, 1 << 20);
    pf_buf_init(&procs, 1 << 20);
    pf_buf_init(&remotes, 1 << 20);
}

static void free_rows(void)
{
    pf_buf_free(&snaps);
    pf_buf_free(&procs);
    pf_buf_free(&remotes);
}

TEST(snapshot_row)
{
    char v[512];

    rows();
    T_EQ_INT(copyrow_snapshot(&snap, &snaps, &procs, &remotes), PF_OK);
    T_EQ_INT(nlines(snaps.data), 1);
    T_EQ_INT(nfields(snaps.data), ncols(copyrow_snapshots_sql));
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "agent_id", v, sizeof(v)), 0);
    T_EQ_STR(v, "9b2c0000-0000-4000-8000-000000000001");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "seq", v, sizeof(v)), 0);
    T_EQ_STR(v, "1042");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "taken_at", v, sizeof(v)), 0);
    T_EQ_STR(v, "2026-11-22T10:00:00Z");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "roles", v, sizeof(v)), 0);
    T_EQ_STR(v, "{\"entra-connector\"}");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "usable_tcp4", v, sizeof(v)), 0);
    T_EQ_STR(v, "16284"); /* 16384 minus the 100 excluded ports inside the range */
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "usable_udp6", v, sizeof(v)), 0);
    T_EQ_STR(v, "16384");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "ranges", v, sizeof(v)), 0);
    T_CONTAINS(v, "{\"proto\":\"tcp\",\"family\":\"ipv4\",\"start\":49152,\"count\":16384}");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "tcp_bound", v, sizeof(v)), 0);
    T_EQ_STR(v, "0");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "top_dest_addr", v, sizeof(v)), 0);
    T_EQ_STR(v, "10.0.0.5");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "vpn_ike_num_established_for_initial_query",
                 v, sizeof(v)),
             0);
    T_EQ_STR(v, "\\N"); /* JSON null: not set */
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "last_push_error", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "truncated", v, sizeof(v)), 0);
    T_EQ_STR(v, "f");
    free_rows();
}

TEST(unmeasured_is_null)
{
    struct pf_snapshot s = snap;
    char v[64];

    /* a shallow copy: the lists stay the example's, this test only reads */
    s.nunmeasured = 0;
    T_EQ_INT(pf_snapshot_add_unmeasured(&s, "tcp.states.bound"), PF_OK);
    T_EQ_INT(pf_snapshot_add_unmeasured(&s, "events"), PF_OK);
    T_EQ_INT(pf_snapshot_add_unmeasured(&s, "vpn"), PF_OK);
    rows();
    T_EQ_INT(copyrow_snapshot(&s, &snaps, &procs, &remotes), PF_OK);
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "tcp_bound", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "tcp_time_wait", v, sizeof(v)), 0);
    T_EQ_STR(v, "0");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "ev_tcpip_4231", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "vpn_ikev2", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "vpn_top_clients", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "unmeasured", v, sizeof(v)), 0);
    T_EQ_STR(v, "{\"tcp.states.bound\",\"events\",\"vpn\"}");
    free_rows();
}

TEST(absent_sections_are_null)
{
    struct pf_snapshot s = snap;
    char v[64];

    s.has_events = false;
    s.has_vpn = false;
    s.has_agent_stats = false;
    s.has_excluded = false;
    s.nexcluded = 0;
    s.tcp.has_top_destination = false;
    rows();
    T_EQ_INT(copyrow_snapshot(&s, &snaps, &procs, &remotes), PF_OK);
    T_EQ_INT(nfields(snaps.data), ncols(copyrow_snapshots_sql));
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "ev_tcpip_4227", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "vpn_connections", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "spool_depth", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "excluded", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "usable_tcp4", v, sizeof(v)), 0);
    T_EQ_STR(v, "16384"); /* nothing excluded any more */
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "top_dest_port", v, sizeof(v)), 0);
    T_EQ_STR(v, "\\N");
    free_rows();
}

TEST(text_is_escaped)
{
    struct pf_snapshot s = snap;
    struct pf_process p = snap.processes[0];
    char v[256];

    snprintf(p.name, sizeof(p.name), "a\tb\nc\\d\re");
    snprintf(s.host.name, sizeof(s.host.name), "host\\with\ttab");
    snprintf(s.host.roles[0], sizeof(s.host.roles[0]), "q\"uote\\");
    s.processes = &p;
    s.nprocesses = 1;
    rows();
    T_EQ_INT(copyrow_snapshot(&s, &snaps, &procs, &remotes), PF_OK);
    T_EQ_INT(nlines(snaps.data), 1);
    T_EQ_INT(nfields(snaps.data), ncols(copyrow_snapshots_sql));
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "host_name", v, sizeof(v)), 0);
    T_EQ_STR(v, "host\\\\with\\ttab");
    /* array literal {"q\"uote\\"}, then COPY-escaped: backslashes doubled */
    T_EQ_INT(col(copyrow_snapshots_sql, snaps.data, "roles", v, sizeof(v)), 0);
    T_EQ_STR(v, "{\"q\\\\\"uote\\\\\\\\\"}");
    T_EQ_INT(nlines(procs.data), 1);
    T_EQ_INT(nfields(procs.data), ncols(copyrow_processes_sql));
    T_EQ_INT(col(copyrow_processes_sql, procs.data, "name", v, sizeof(v)), 0);
    T_EQ_STR(v, "a\\tb\\nc\\\\d\\re");
    free_rows();
}

TEST(child_rows)
{
    char v[64];

    rows();
    T_EQ_INT(copyrow_snapshot(&snap, &snaps, &procs, &remotes), PF_OK);
    T_EQ_INT(nlines(procs.data), snap.nprocesses);
    T_EQ_INT(nlines(remotes.data), snap.nremotes);
    T_EQ_INT(nfields(procs.data), ncols(copyrow_processes_sql));
    T_EQ_INT(nfields(remotes.data), ncols(copyrow_remotes_sql));
    T_EQ_INT(col(copyrow_processes_sql, procs.data, "rank", v, sizeof(v)), 0);
    T_EQ_STR(v, "0");
    T_EQ_INT(col(copyrow_processes_sql, procs.data, "name", v, sizeof(v)), 0);
    T_EQ_STR(v, "DnsFilterService.exe");
    T_EQ_INT(col(copyrow_processes_sql, procs.data, "service", v, sizeof(v)), 0);
    T_EQ_STR(v, "DnsFilterSvc");
    T_EQ_INT(col(copyrow_processes_sql, procs.data, "top_remote_port", v, sizeof(v)), 0);
    T_EQ_STR(v, "80");
    T_EQ_INT(col(copyrow_remotes_sql, remotes.data, "addr", v, sizeof(v)), 0);
    T_EQ_STR(v, "169.254.169.254");
    T_EQ_INT(col(copyrow_remotes_sql, remotes.data, "taken_at", v, sizeof(v)), 0);
    T_EQ_STR(v, "2026-11-22T10:00:00Z");
    free_rows();
}

TEST(full_buffer_leaves_no_half_row)
{
    struct pf_buf small;

    pf_buf_init(&small, 100);
    pf_buf_init(&procs, 1 << 20);
    pf_buf_init(&remotes, 1 << 20);
    T_EQ_INT(copyrow_snapshot(&snap, &small, &procs, &remotes), PF_TOOBIG);
    T_EQ_INT(small.len, 0);
    pf_buf_free(&small);
    free_rows();
}

/* Only text the SQL decoder writes back the same goes inline. */
TEST(inline_endpoints)
{
    static const char *const no[] = {"2001:DB8::1",   "::ffff:1.2.3.4", "::1",        "1:0:0:0:1::",
                                     "2001:db8:0::1", "fe80::1%eth0",   "10.0.0.256", "host.example",
                                     "2001:db8::0:1"};
    uint64_t pf, hi, lo;

    T_ASSERT(body_inline_ok("10.1.2.3", 443, &pf, &hi, &lo));
    T_EQ_INT(pf, (uint64_t)BODY_INLINE_V4 << 16 | 443);
    T_EQ_INT(hi, 0x0a010203);
    T_EQ_INT(lo, 0);
    T_ASSERT(body_inline_ok("2001:db8::ff00:42:8329", 80, &pf, &hi, &lo));
    T_EQ_INT(pf, (uint64_t)BODY_INLINE_V6 << 16 | 80);
    T_EQ_INT(hi, 0x20010db800000000ULL);
    T_EQ_INT(lo, 0x0000ff0000428329ULL);
    T_ASSERT(body_inline_ok("1::1:0:0:0", 1, &pf, &hi, &lo));
    T_ASSERT(body_inline_ok("2001:db8:0:1:1:1:1:1", 1, &pf, &hi, &lo));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        T_ASSERT(!body_inline_ok(no[i], 443, &pf, &hi, &lo));
}

int main(void)
{
    if (setup())
        return 1;
    RUN(snapshot_row);
    RUN(unmeasured_is_null);
    RUN(absent_sections_are_null);
    RUN(text_is_escaped);
    RUN(child_rows);
    RUN(full_buffer_leaves_no_half_row);
    RUN(inline_endpoints);
    pf_snapshot_clear(&snap);
    return T_DONE();
}
