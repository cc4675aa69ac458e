/* SPDX-License-Identifier: MIT */
/* store.c: the collector's SQL: session set-up, enrollment, key lookup,
 * the ingest transaction, partitions and retention. Column lists follow
 * sql/001_schema.sql; the TCP state columns are generated from
 * tcp_state.h's list at compile time, so adding a state there and a column
 * in a migration is all it takes. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "body.h"
#include "log.h"
#include "migrate.h"
#include "pgarray.h"
#include "proc_rollup.h"
#include "rollup.h"
#include "strmap.h"
#include "tcp_state.h"
#include "timeutil.h"

_Static_assert(PF_TCP_NSTATES == 11, "sql/001_schema.sql has one column per TCP state: add a "
                                     "migration for the new state, then raise this number");

#define COPY_CHUNK (256 * 1024)       /* bytes handed to libpq at a time */
#define PARAM_MAX (64u * 1024 * 1024) /* array parameters of one group */
#define KNOWN_DAYS 64
#define ATTEMPTS 3

#define TCP_COL(e, n) "tcp_" #n ", "
#define ST_COL(e, n) "st_" #n ", "

const char *const store_copy_snapshots_sql =
    "COPY snapshots_v1 (agent_id, seq, taken_at, interval_s, host_name, site, machine_id, os, "
    "os_version, roles, cpus, memory_mb, agent_version, ranges, excluded, usable_tcp4, "
    "usable_udp4, usable_tcp6, usable_udp6, " PF_TCP_STATES(TCP_COL)
    "tcp_ephemeral_in_use, top_dest_addr, top_dest_port, top_dest_count, udp_endpoints, "
    "udp_ephemeral_in_use, ev_tcpip_4227, ev_tcpip_4231, ev_tcpip_4266, ev_netlogon_5719, "
    "vpn_connections, vpn_ikev2, vpn_sstp, vpn_l2tp, vpn_pptp, vpn_distinct_clients, "
    "vpn_top_clients, vpn_ike_num_established_for_initial_query, unmeasured, spool_depth, "
    "spool_dropped, spool_corrupt, last_push_error, truncated) FROM STDIN";

const char *const store_copy_processes_sql =
    "COPY snapshot_processes_v1 (agent_id, taken_at, seq, rank, pid, name, service, tcp_ports, "
    "udp_ports, " PF_TCP_STATES(ST_COL) "top_remote_addr, top_remote_port, top_remote_count) "
    "FROM STDIN";

const char *const store_copy_remotes_sql =
    "COPY snapshot_remotes_v1 (agent_id, taken_at, seq, rank, addr, port, count) FROM STDIN";

static const struct {
    const char *name, *sql;
} statements[] = {
    {"key", "SELECT agent_id::text FROM agents WHERE node_key_hash = $1 AND revoked_at IS NULL"},
    {"enroll", "INSERT INTO agents (agent_id, node_key_hash, name, site, machine_id, tenant) "
               "VALUES ($1::uuid, $2, $3, $4, $5, $6)"},
    /* The keys stored for the first time, also queued for process_hours
     * (proc_rollup.h); and the agents' last contact, duplicates or not. */
    {"seqs", "WITH ins AS (INSERT INTO snapshot_seqs (agent_id, seq, taken_at) "
             "SELECT a, s, t FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS u(a, s, t) "
             "ORDER BY a, s ON CONFLICT DO NOTHING RETURNING agent_id, seq, taken_at), "
             "queued AS (INSERT INTO process_hours_queue (agent_id, seq, taken_at) "
             "SELECT agent_id, seq, taken_at FROM ins), "
             "seen AS (UPDATE agents SET last_seen = now() WHERE agent_id = ANY($4::uuid[])) "
             "SELECT agent_id::text, seq FROM ins"},
    /* The agent_strings ids of strings the process-wide cache lacks: those
     * stored already, and new ones numbered after the agent's highest id.
     * Two transactions numbering the same agent at once collide on a key;
     * the loser's strings come back missing and it retries. */
    {"strings",
     "WITH u AS (SELECT DISTINCT a, v FROM unnest($1::uuid[], $2::text[]) AS u(a, v)), "
     "old AS (SELECT s.agent_id, s.value, s.id FROM agent_strings s JOIN u "
     "ON s.agent_id = u.a AND s.value = u.v), "
     "fresh AS (SELECT u.a, u.v FROM u "
     "WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.agent_id = u.a AND old.value = u.v)), "
     "cnt AS (SELECT a, count(*)::integer AS n FROM fresh GROUP BY a), "
     /* sql/022: the agent's numbers last - n + 1 .. last are this batch's */
     "bump AS (INSERT INTO agent_string_next AS t (agent_id, last) SELECT a, n FROM cnt "
     "ORDER BY a ON CONFLICT (agent_id) DO UPDATE SET last = t.last + EXCLUDED.last "
     "RETURNING agent_id, last), "
     "new AS (SELECT f.a, f.v, b.last - c.n + row_number() OVER (PARTITION BY f.a "
     "ORDER BY f.v) AS id FROM fresh f JOIN cnt c ON c.a = f.a JOIN bump b ON b.agent_id = f.a), "
     "ins AS (INSERT INTO agent_strings (agent_id, id, value) SELECT a, id, v FROM new "
     "ORDER BY a, id ON CONFLICT DO NOTHING RETURNING agent_id, value, id) "
     "SELECT agent_id::text, value, id FROM old UNION ALL "
     "SELECT agent_id::text, value, id FROM ins"},
    /* A host's facts, the first time they are seen (store.c hashes them). */
    {"facts",
     "INSERT INTO host_facts (agent_id, facts, first_seen, host_name, site, machine_id, os, "
     "os_version, roles, cpus, memory_mb, agent_version, ranges, excluded, usable_tcp4, "
     "usable_udp4, usable_tcp6, usable_udp6) "
     "SELECT a, f, t, n, si, m, o, ov, r::text[], c, mem, av, rg::jsonb, ex::jsonb, u1, u2, u3, "
     "u4 FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], "
     "$6::text[], $7::text[], $8::text[], $9::text[], $10::integer[], $11::bigint[], "
     "$12::text[], $13::text[], $14::text[], $15::integer[], $16::integer[], $17::integer[], "
     "$18::integer[]) AS u(a, f, t, n, si, m, o, ov, r, c, mem, av, rg, ex, u1, u2, u3, u4) "
     "ORDER BY a, f ON CONFLICT DO NOTHING"},
    {"part", "SELECT pf_ensure_partition($1::date)"},
    {"parts", "SELECT pf_ensure_partitions($1::date, $2::date)"},
    {"drop", "SELECT pf_drop_partitions_before($1::date)"},
    {"drop_rollups", "SELECT pf_drop_rollups_before($1::timestamptz)"},
};

/* Per connection: the days whose partitions this connection has seen
 * exist, so ingest asks for a partition only on a day's first snapshot. */
struct sstate {
    int64_t days[KNOWN_DAYS];
    size_t ndays, next;
};

/* ---- COPY text rows ---- */

struct row {
    struct pf_buf *b;
    enum pf_rc rc;
    int ncols;
};

/* Most pieces fit the room the buffer already has: copied here, without a
 * call (cap <= max + 1, so the room is within the buffer's limit). */
static void put(struct row *r, const char *p, size_t n)
{
    struct pf_buf *b = r->b;

    if (r->rc)
        return;
    if (b->data && n < b->cap - b->len) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    r->rc = pf_buf_append(b, p, n);
}

static void sep(struct row *r)
{
    if (r->ncols++)
        put(r, "\t", 1);
}

static void col_null(struct row *r)
{
    sep(r);
    put(r, "\\N", 2);
}

static void col_u64(struct row *r, uint64_t v)
{
    char t[24];
    size_t i = sizeof(t);

    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sep(r);
    put(r, t + i, sizeof(t) - i);
}

static void col_bool(struct row *r, bool v)
{
    sep(r);
    put(r, v ? "t" : "f", 1);
}

/* A text value with COPY's escapes for backslash and the line/field
 * separators; everything else passes through (the codec checked UTF-8). */
static void put_escaped(struct row *r, const char *s)
{
    const char *run = s;

    for (; *s; s++) {
        const char *esc;
        switch (*s) {
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: continue;
        }
        put(r, run, (size_t)(s - run));
        put(r, esc, 2);
        run = s + 1;
    }
    put(r, run, (size_t)(s - run));
}

static void col_text(struct row *r, const char *s)
{
    sep(r);
    put_escaped(r, s);
}

static void row_end(struct row *r)
{
    put(r, "\n", 1);
    r->ncols = 0;
}

/* A text[] literal {"a","b"}: elements quoted, '"' and '\' escaped, then
 * the whole literal COPY-escaped as a text value. */
static void col_text_array(struct row *r, const char (*v)[PF_ID_LEN], size_t n)
{
    char lit[PF_UNMEASURED_MAX * (2 * PF_ID_LEN + 3) + 3];
    size_t o = 0;

    lit[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            lit[o++] = ',';
        lit[o++] = '"';
        for (const char *p = v[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                lit[o++] = '\\';
            lit[o++] = *p;
        }
        lit[o++] = '"';
    }
    lit[o++] = '}';
    lit[o] = '\0';
    col_text(r, lit);
}

/* A JSON list of ranges, [{"proto","family","start","count"}], into
 * lit[cap]; false when it does not fit (cannot happen within the model's
 * caps). */
static bool ranges_json(const struct pf_range *v, size_t n, char *lit, size_t cap)
{
    size_t o = 0;

    lit[o++] = '[';
    for (size_t i = 0; i < n && o < cap - 1; i++)
        o += (size_t)snprintf(lit + o, cap - o,
                              "%s{\"proto\":\"%s\",\"family\":\"%s\",\"start\":%u,\"count\":%u}",
                              i ? "," : "", pf_proto_name(v[i].proto), pf_family_name(v[i].family),
                              (unsigned)v[i].start, (unsigned)v[i].count);
    if (o > cap - 2)
        return false;
    snprintf(lit + o, cap - o, "]");
    return true;
}

static void col_ranges_json(struct row *r, const struct pf_range *v, size_t n)
{
    char lit[PF_EXCLUDED_MAX * 64 + 3];

    if (!ranges_json(v, n, lit, sizeof(lit))) {
        r->rc = PF_TOOBIG;
        return;
    }
    col_text(r, lit);
}

static void col_clients_json(struct row *r, const struct pf_client_addr *v, size_t n)
{
    char lit[PF_LIST_MAX * (PF_ADDR_LEN + 40) + 3];
    size_t o = 0;

    lit[o++] = '[';
    for (size_t i = 0; i < n && o < sizeof(lit) - 1; i++)
        o += (size_t)snprintf(lit + o, sizeof(lit) - o, "%s{\"addr\":\"%s\",\"count\":%llu}",
                              i ? "," : "", v[i].addr, (unsigned long long)v[i].count);
    if (o > sizeof(lit) - 2) {
        r->rc = PF_TOOBIG; /* cannot happen within the model's caps */
        return;
    }
    snprintf(lit + o, sizeof(lit) - o, "]");
    col_text(r, lit);
}

static void col_measured(struct row *r, const struct pf_snapshot *s, const char *path, bool present,
                         uint64_t v)
{
    if (present && !body_unmeasured(s, path))
        col_u64(r, v);
    else
        col_null(r);
}

static void rows_snapshot(const struct pf_snapshot *s, const char *taken, struct row *r)
{
    static const int usable[4][2] = {{PF_PROTO_TCP, PF_FAMILY_IPV4},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV4},
                                     {PF_PROTO_TCP, PF_FAMILY_IPV6},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV6}};
    char path[PF_ID_LEN + 16];
    bool ev = s->has_events, vpn = s->has_vpn && !body_unmeasured(s, "vpn");

    col_text(r, s->agent_id);
    col_u64(r, s->seq);
    col_text(r, taken);
    col_u64(r, s->interval_s);
    col_text(r, s->host.name);
    col_text(r, s->host.site);
    col_text(r, s->host.machine_id);
    col_text(r, s->host.os);
    col_text(r, s->host.os_version);
    col_text_array(r, s->host.roles, s->host.nroles);
    col_u64(r, s->host.cpus);
    col_u64(r, s->host.memory_mb);
    col_text(r, s->host.agent_version);
    col_ranges_json(r, s->ranges, s->nranges);
    if (s->has_excluded)
        col_ranges_json(r, s->excluded, s->nexcluded);
    else
        col_null(r);
    for (int i = 0; i < 4; i++) {
        if (pf_snapshot_range(s, usable[i][0], usable[i][1]))
            col_u64(r, pf_snapshot_usable_ports(s, usable[i][0], usable[i][1]));
        else
            col_null(r);
    }
    for (int i = 0; i < PF_TCP_NSTATES; i++) {
        snprintf(path, sizeof(path), "tcp.states.%s", pf_tcp_state_name(i));
        col_measured(r, s, path, true, s->tcp.states[i]);
    }
    col_measured(r, s, "tcp.ephemeral_in_use", true, s->tcp.ephemeral_in_use);
    if (s->tcp.has_top_destination) {
        col_text(r, s->tcp.top_destination.addr);
        col_u64(r, s->tcp.top_destination.port);
        col_u64(r, s->tcp.top_destination.count);
    } else {
        col_null(r);
        col_null(r);
        col_null(r);
    }
    col_measured(r, s, "udp.endpoints", true, s->udp.endpoints);
    col_measured(r, s, "udp.ephemeral_in_use", true, s->udp.ephemeral_in_use);
    col_measured(r, s, "events.tcpip_4227", ev, s->events.tcpip_4227);
    col_measured(r, s, "events.tcpip_4231", ev, s->events.tcpip_4231);
    col_measured(r, s, "events.tcpip_4266", ev, s->events.tcpip_4266);
    col_measured(r, s, "events.netlogon_5719", ev, s->events.netlogon_5719);
    col_measured(r, s, "vpn.connections", vpn, s->vpn.connections);
    col_measured(r, s, "vpn.by_protocol.ikev2", vpn, s->vpn.by_protocol[PF_VPN_IKEV2]);
    col_measured(r, s, "vpn.by_protocol.sstp", vpn, s->vpn.by_protocol[PF_VPN_SSTP]);
    col_measured(r, s, "vpn.by_protocol.l2tp", vpn, s->vpn.by_protocol[PF_VPN_L2TP]);
    col_measured(r, s, "vpn.by_protocol.pptp", vpn, s->vpn.by_protocol[PF_VPN_PPTP]);
    col_measured(r, s, "vpn.client_addresses.distinct", vpn, s->vpn.distinct_clients);
    if (vpn && !body_unmeasured(s, "vpn.client_addresses"))
        col_clients_json(r, s->vpn.top, s->vpn.ntop);
    else
        col_null(r);
    col_measured(r, s, "vpn.ike_num_established_for_initial_query", vpn && s->vpn.has_ike_value,
                 s->vpn.ike_num_established_for_initial_query);
    col_text_array(r, s->unmeasured, s->nunmeasured);
    if (s->has_agent_stats) {
        col_u64(r, s->agent_stats.spool_depth);
        col_u64(r, s->agent_stats.spool_dropped);
        col_u64(r, s->agent_stats.spool_corrupt);
        if (s->agent_stats.has_last_push_error)
            col_text(r, s->agent_stats.last_push_error);
        else
            col_null(r);
    } else {
        for (int i = 0; i < 4; i++)
            col_null(r);
    }
    col_bool(r, s->truncated);
    row_end(r);
}

/* The key columns every child row starts with. */
static void child_key(struct row *r, const struct pf_snapshot *s, const char *taken, size_t rank)
{
    col_text(r, s->agent_id);
    col_text(r, taken);
    col_u64(r, s->seq);
    col_u64(r, rank);
}

static void rows_processes(const struct pf_snapshot *s, const char *taken, struct row *r)
{
    for (size_t i = 0; s->has_processes && i < s->nprocesses; i++) {
        const struct pf_process *p = &s->processes[i];
        child_key(r, s, taken, i);
        col_u64(r, p->pid);
        col_text(r, p->name);
        col_text(r, p->service);
        col_u64(r, p->tcp_ports);
        col_u64(r, p->udp_ports);
        for (int k = 0; k < PF_TCP_NSTATES; k++)
            col_u64(r, p->states[k]);
        if (p->has_top_remote) {
            col_text(r, p->top_remote.addr);
            col_u64(r, p->top_remote.port);
            col_u64(r, p->top_remote.count);
        } else {
            col_null(r);
            col_null(r);
            col_null(r);
        }
        row_end(r);
    }
}

static void rows_remotes(const struct pf_snapshot *s, const char *taken, struct row *r)
{
    for (size_t i = 0; s->has_remotes && i < s->nremotes; i++) {
        child_key(r, s, taken, i);
        col_text(r, s->remotes[i].addr);
        col_u64(r, s->remotes[i].port);
        col_u64(r, s->remotes[i].count);
        row_end(r);
    }
}

typedef void (*rows_fn)(const struct pf_snapshot *s, const char *taken, struct row *r);

static enum pf_rc append_rows(rows_fn fn, const struct pf_snapshot *s, struct pf_buf *out)
{
    char taken[PF_TIME_LEN];
    struct row r = {out, PF_OK, 0};
    size_t before = out->len;

    if (pf_time_format(s->taken_at, taken))
        return PF_INVALID;
    fn(s, taken, &r);
    if (r.rc) {
        out->len = before; /* leave no half row behind */
        if (out->data)
            out->data[before] = '\0';
    }
    return r.rc;
}

enum pf_rc store_copy_rows(const struct pf_snapshot *s, struct pf_buf *snaps, struct pf_buf *procs,
                           struct pf_buf *remotes)
{
    enum pf_rc rc = append_rows(rows_snapshot, s, snaps);

    if (!rc)
        rc = append_rows(rows_processes, s, procs);
    if (!rc)
        rc = append_rows(rows_remotes, s, remotes);
    return rc;
}

/* ---- connection set-up ---- */

static void sstate_free(void *p)
{
    free(p);
}

enum pf_rc store_on_connect(struct db_conn *dc, PGconn *pg, char *err, size_t errlen)
{
    PGresult *r;
    int version = 0;
    struct sstate *st;

    r = PQexecParams(pg,
                     "SELECT set_config('TimeZone', 'UTC', false), "
                     "set_config('statement_timeout', '60s', false), "
                     "set_config('client_min_messages', 'warning', false)",
                     0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "session set-up: %s", PQresultErrorMessage(r));
        PQclear(r);
        return PF_AGAIN;
    }
    PQclear(r);
    r = PQexecParams(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, NULL,
                     NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (version < migrate_latest()) {
        snprintf(err, errlen,
                 "the database schema is at version %d, this collector needs %d: run "
                 "`portfleet-collector migrate --db ...`",
                 version, migrate_latest());
        return PF_INVALID;
    }
    for (size_t i = 0; i < PF_ARRAY_LEN(statements); i++) {
        r = PQprepare(pg, statements[i].name, statements[i].sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "preparing %s: %s", statements[i].name,
                     PQresultErrorMessage(r));
            PQclear(r);
            return PF_INTERNAL;
        }
        PQclear(r);
    }
    if (rollup_prepare(pg, &r) != PF_OK) {
        snprintf(err, errlen, "preparing the rollup statements: %s", PQresultErrorMessage(r));
        PQclear(r);
        return PF_INTERNAL;
    }
    if (proc_rollup_prepare(pg, &r) != PF_OK) {
        snprintf(err, errlen, "preparing the process_hours statements: %s",
                 PQresultErrorMessage(r));
        PQclear(r);
        return PF_INTERNAL;
    }
    st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return PF_NOMEM;
    }
    db_conn_set_state(dc, st, sstate_free);
    return PF_OK;
}

/* ---- failures ---- */

enum fault { F_NONE = 0, F_UNAVAILABLE, F_RETRY, F_DATA, F_BUG };

/* What a failed result means for the caller; logs it. */
static enum fault classify(struct db_conn *dc, PGresult *r, const char *what)
{
    const char *st = db_sqlstate(r);
    char m[300];
    size_t n;

    snprintf(m, sizeof(m), "%s", r ? PQresultErrorMessage(r) : "no result");
    n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0';
    if (db_check(dc))
        return F_UNAVAILABLE; /* the connection is gone (db_check logged it) */
    if (strncmp(st, "40", 2) == 0 || strcmp(st, "23514") == 0) {
        pf_info("database: %s: %s (SQLSTATE %s), retrying", what, m, st);
        return F_RETRY;
    }
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
        strncmp(st, "58", 2) == 0 || strcmp(st, "") == 0) {
        pf_warn("database: %s: %s (SQLSTATE %s)", what, m, st);
        return F_UNAVAILABLE;
    }
    pf_error("database: %s: %s (SQLSTATE %s)", what, m, st);
    return strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0 ? F_DATA : F_BUG;
}

static enum pf_rc fault_rc(enum fault f)
{
    switch (f) {
    case F_NONE: return PF_OK;
    case F_UNAVAILABLE:
    case F_RETRY: return PF_AGAIN;
    case F_DATA: return PF_INVALID;
    case F_BUG: break;
    }
    return PF_INTERNAL;
}

static void rollback(struct db_conn *dc, PGconn *pg)
{
    if (!db_check(dc))
        PQclear(PQexecParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0));
}

/* ---- pipelines: several statements in one round trip ---- */

#define PIPE_MAX 4

struct pipe {
    size_t n;
    bool sent;                      /* every send went out */
    const char *what[PIPE_MAX];     /* for the log */
    ExecStatusType want[PIPE_MAX];  /* the status of success */
    PGresult **keep[PIPE_MAX];      /* takes the result when not NULL */
};

static void pipe_begin(PGconn *pg, struct pipe *p)
{
    memset(p, 0, sizeof(*p));
    p->sent = PQenterPipelineMode(pg) == 1;
}

/* Notes the statement just sent (sent: what the PQsend*() returned). */
static void pipe_note(struct pipe *p, bool sent, const char *what, ExecStatusType want,
                      PGresult **keep)
{
    if (!sent || p->n == PIPE_MAX) {
        p->sent = false;
        return;
    }
    p->what[p->n] = what;
    p->want[p->n] = want;
    p->keep[p->n] = keep;
    p->n++;
}

static void pipe_command(PGconn *pg, struct pipe *p, const char *sql)
{
    if (p->sent)
        pipe_note(p, PQsendQueryParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0) == 1, sql,
                  PGRES_COMMAND_OK, NULL);
}

/* Syncs and reads every result, in order. The first statement that failed
 * is the fault (the server skipped the ones after it); results are read to
 * the end before classifying it, since classify() may close the
 * connection. Leaves pipeline mode, or drops a connection that cannot. */
static enum fault pipe_end(struct db_conn *dc, PGconn *pg, struct pipe *p)
{
    PGresult *bad = NULL, *r;
    const char *bad_what = NULL;
    bool broken = !p->sent || PQpipelineSync(pg) != 1;
    enum fault f = F_NONE;

    for (size_t i = 0; i < p->n && !broken; i++) {
        if (!(r = PQgetResult(pg))) {
            broken = true;
            break;
        }
        if (PQresultStatus(r) == p->want[i] && p->keep[i]) {
            *p->keep[i] = r;
        } else if (PQresultStatus(r) != p->want[i] && !bad &&
                   PQresultStatus(r) != PGRES_PIPELINE_ABORTED) {
            bad = r;
            bad_what = p->what[i];
        } else {
            PQclear(r);
        }
        while ((r = PQgetResult(pg)) != NULL) /* the end of statement i */
            PQclear(r);
    }
    if (!broken) {
        r = PQgetResult(pg);
        broken = PQresultStatus(r) != PGRES_PIPELINE_SYNC;
        PQclear(r);
    }
    if (broken || PQexitPipelineMode(pg) != 1) {
        for (size_t i = 0; i < p->n; i++)
            if (p->keep[i] && *p->keep[i]) {
                PQclear(*p->keep[i]);
                *p->keep[i] = NULL;
            }
        PQclear(bad);
        if (!db_check(dc))
            db_drop(dc, "a pipeline of statements did not complete");
        return F_UNAVAILABLE;
    }
    if (bad) {
        f = classify(dc, bad, bad_what);
        PQclear(bad);
    }
    return f;
}

/* ---- lookups, enrollment, maintenance ---- */

enum pf_rc store_agent_by_hash(struct db_conn *dc, const uint8_t hash[AUTH_HASH_LEN],
                               char agent_id[AUTH_UUID_LEN])
{
    const char *vals[1] = {(const char *)hash};
    int lens[1] = {AUTH_HASH_LEN}, fmts[1] = {1};
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc;

    if (!pg)
        return PF_AGAIN;
    r = PQexecPrepared(pg, "key", 1, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = fault_rc(classify(dc, r, "node key lookup"));
    } else if (PQntuples(r) == 0) {
        rc = PF_NOTFOUND;
    } else {
        snprintf(agent_id, AUTH_UUID_LEN, "%s", PQgetvalue(r, 0, 0));
        rc = PF_OK;
    }
    PQclear(r);
    return rc == PF_INVALID ? PF_INTERNAL : rc;
}

enum pf_rc store_enroll(struct db_conn *dc, const char *agent_id, const char *node_key,
                        const char *tenant, const char *name, const char *site,
                        const char *machine_id)
{
    uint8_t hash[AUTH_HASH_LEN];
    const char *vals[6] = {agent_id, (const char *)hash, name, site, machine_id, tenant};
    int lens[6] = {0, AUTH_HASH_LEN, 0, 0, 0, 0}, fmts[6] = {0, 1, 0, 0, 0, 0};
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc = PF_OK;

    if (!pg)
        return PF_AGAIN;
    auth_hash(node_key, strlen(node_key), hash);
    r = PQexecPrepared(pg, "enroll", 6, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = fault_rc(classify(dc, r, "enrolling an agent"));
    PQclear(r);
    return rc == PF_INVALID ? PF_INTERNAL : rc;
}

/* "YYYY-MM-DD" of a day number (days since the epoch). */
static void day_text(int64_t day, char out[PF_TIME_LEN])
{
    if (pf_time_format(day * 86400, out))
        snprintf(out, PF_TIME_LEN, "1970-01-01");
    out[10] = '\0';
}

static enum pf_rc prepared_select(struct db_conn *dc, PGconn *pg, const char *stmt, int n,
                                  const char *const *vals, const char *what, PGresult **out)
{
    PGresult *r = PQexecPrepared(pg, stmt, n, vals, NULL, NULL, 0);

    *out = NULL;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        enum pf_rc rc = fault_rc(classify(dc, r, what));
        PQclear(r);
        return rc;
    }
    *out = r;
    return PF_OK;
}

enum pf_rc store_maintain(struct db_conn *dc, int retention_days, int rollup_retention_days)
{
    int64_t now = pf_time_now(), today = now / 86400;
    char first[PF_TIME_LEN], last[PF_TIME_LEN], cutoff[PF_TIME_LEN], rcutoff[PF_TIME_LEN];
    const char *p2[2] = {first, last}, *p1[1] = {cutoff}, *pr[1] = {rcutoff};
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc;
    int dropped;

    if (!pg)
        return PF_AGAIN;
    day_text(today - 1, first);
    day_text(today + STORE_DAYS_AHEAD, last);
    day_text(today - retention_days, cutoff);
    if (pf_time_format((today - rollup_retention_days) * 86400, rcutoff))
        return PF_INTERNAL;
    if ((rc = prepared_select(dc, pg, "parts", 2, p2, "creating partitions", &r)))
        return rc;
    PQclear(r);
    if ((rc = prepared_select(dc, pg, "drop", 1, p1, "dropping old partitions", &r)))
        return rc;
    dropped = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (dropped)
        pf_info("retention: dropped %d partition tables of days before %s (%d days kept)",
                dropped, cutoff, retention_days);
    if ((rc = prepared_select(dc, pg, "drop_rollups", 1, pr, "dropping old rollups", &r)))
        return rc;
    dropped = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    if (dropped)
        pf_info("retention: dropped %d rollup partition tables of months before %.10s (%d days "
                "kept)",
                dropped, rcutoff, rollup_retention_days);
    pf_debug("partitions ready through %s", last);
    return PF_OK;
}

enum pf_rc store_flush_rollups(struct db_conn *dc)
{
    PGconn *pg = db_pg(dc);
    PGresult *bad = NULL;
    size_t written;
    enum pf_rc rc;

    if (!pg)
        return PF_AGAIN;
    rc = proc_rollup_flush(pg, &written, &bad);
    if (rc == PF_INVALID)
        rc = fault_rc(classify(dc, bad, "writing process_hours"));
    PQclear(bad);
    if (!rc && written)
        pf_debug("process_hours: %zu rows written", written);
    return rc;
}

enum pf_rc store_ping(struct db_conn *dc)
{
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc = PF_OK;

    if (!pg)
        return PF_AGAIN;
    r = PQexecParams(pg, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = fault_rc(classify(dc, r, "ping")) == PF_OK ? PF_OK : PF_AGAIN;
    PQclear(r);
    return rc;
}

/* ---- ingest ---- */

static int cmp_key(const struct pf_snapshot *a, const struct pf_snapshot *b)
{
    int c = strcmp(a->agent_id, b->agent_id);
    if (c)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Orders item indices by key, then by position (so the first of equal keys
 * comes first). qsort has no context argument in C11: the items are
 * reached through tl_items, which is per thread. */
static _Thread_local const struct store_item *tl_items;

static int cmp_index(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    int c = cmp_key(tl_items[a].s, tl_items[b].s);
    return c ? c : (a < b ? -1 : a > b);
}

/* Makes sure the partitions of every day in cand exist (outside the ingest
 * transaction: DDL takes locks a long transaction should not hold). */
static enum fault ensure_days(struct db_conn *dc, PGconn *pg, struct store_item *items,
                              const size_t *cand, size_t ncand)
{
    struct sstate *st = db_conn_state(dc);

    for (size_t i = 0; i < ncand; i++) {
        int64_t day = items[cand[i]].s->taken_at / 86400;
        char d[PF_TIME_LEN];
        const char *vals[1] = {d};
        bool known = false;
        PGresult *r;

        for (size_t k = 0; k < st->ndays && !known; k++)
            known = st->days[k] == day;
        if (known)
            continue;
        day_text(day, d);
        r = PQexecPrepared(pg, "part", 1, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            enum fault f = classify(dc, r, "creating a partition");
            PQclear(r);
            return f;
        }
        PQclear(r);
        st->days[st->next] = day;
        st->next = (st->next + 1) % KNOWN_DAYS;
        if (st->ndays < KNOWN_DAYS)
            st->ndays++;
    }
    return F_NONE;
}

/* Array parameters of the candidate keys: {uuid,...}, {seq,...},
 * {time,...}; and of their distinct agents. */
static enum pf_rc key_params(struct store_item *items, const size_t *cand, size_t ncand,
                             struct pf_buf *ids, struct pf_buf *seqs, struct pf_buf *times,
                             struct pf_buf *agents)
{
    enum pf_rc rc = PF_OK;
    const char *last_agent = NULL;

    rc = pf_buf_puts(ids, "{");
    if (!rc)
        rc = pf_buf_puts(seqs, "{");
    if (!rc)
        rc = pf_buf_puts(times, "{");
    if (!rc)
        rc = pf_buf_puts(agents, "{");
    for (size_t i = 0; i < ncand && !rc; i++) {
        const struct pf_snapshot *s = items[cand[i]].s;
        char t[PF_TIME_LEN];
        const char *comma = i ? "," : "";
        if ((rc = pf_time_format(s->taken_at, t)))
            break;
        rc = pf_buf_printf(ids, "%s%s", comma, s->agent_id);
        if (!rc)
            rc = pf_buf_printf(seqs, "%s%llu", comma, (unsigned long long)s->seq);
        if (!rc)
            rc = pf_buf_printf(times, "%s%s", comma, t);
        if (!rc && (!last_agent || strcmp(last_agent, s->agent_id) != 0)) {
            rc = pf_buf_printf(agents, "%s%s", last_agent ? "," : "", s->agent_id);
            last_agent = s->agent_id;
        }
    }
    if (!rc)
        rc = pf_buf_puts(ids, "}");
    if (!rc)
        rc = pf_buf_puts(seqs, "}");
    if (!rc)
        rc = pf_buf_puts(times, "}");
    if (!rc)
        rc = pf_buf_puts(agents, "}");
    return rc;
}

/* Marks the candidates whose keys the INSERT returned. */
static void mark_fresh(PGresult *r, struct store_item *items, const size_t *cand, size_t ncand)
{
    for (int row = 0; row < PQntuples(r); row++) {
        struct pf_snapshot key;
        size_t lo = 0, hi = ncand;
        snprintf(key.agent_id, sizeof(key.agent_id), "%s", PQgetvalue(r, row, 0));
        key.seq = strtoull(PQgetvalue(r, row, 1), NULL, 10);
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = cmp_key(items[cand[mid]].s, &key);
            if (c == 0) {
                items[cand[mid]].fresh = true;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
}


/* ---- the compact layout (sql/020): strings as ids, facts once ---- */

#define CACHE_MAX (1u << 20) /* strings and facts remembered per process */
#define BATCH_STRINGS_MAX (1u << 20)

/* What this process knows is committed: agent_strings ids, and each
 * agent's facts hashes. Ids never change once committed, so a stale entry
 * cannot exist; a full cache is emptied and refilled as agents post. */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct strmap *cache_ids, *cache_facts;

static bool cache_ready(void)
{
    if (!cache_ids)
        cache_ids = strmap_new(CACHE_MAX);
    if (!cache_facts)
        cache_facts = strmap_new(CACHE_MAX);
    return cache_ids && cache_facts;
}

/* A transaction's view of the ids: its own answers, then the cache
 * (cache_mu held by the caller while encoding). */
struct idctx {
    const char *agent;
    const struct strmap *mine;
};

static bool id_of(void *ctx, const char *str, int64_t *id)
{
    const struct idctx *c = ctx;

    return strmap_get(c->mine, c->agent, str, id) || strmap_get(cache_ids, c->agent, str, id);
}

/* The strings of a batch that neither the cache nor pending holds. */
struct missing {
    const char *agent;
    struct strmap *pending;
    struct pgarray agents, values;
    enum pf_rc rc;
    size_t n;
};

static void note_missing(void *ctx, const char *str)
{
    struct missing *m = ctx;
    int64_t v;

    if (m->rc || strmap_get(cache_ids, m->agent, str, &v) ||
        strmap_get(m->pending, m->agent, str, &v))
        return;
    if ((m->rc = strmap_put(m->pending, m->agent, str, 0)))
        return;
    pgarray_str(&m->agents, m->agent);
    pgarray_str(&m->values, str);
    m->n++;
}

/* FNV-1a of a host's facts: what host_facts keeps per change. */
static void facts_texts(const struct pf_snapshot *s, char *ranges, size_t rlen, char *excluded,
                        size_t elen);

static int64_t facts_hash(const struct pf_snapshot *s)
{
    char ranges[PF_RANGES_MAX * 64 + 3], excluded[PF_EXCLUDED_MAX * 64 + 3], num[64];
    uint64_t h = STRMAP_FNV_SEED;
    const char *texts[] = {s->host.name, s->host.site, s->host.machine_id, s->host.os,
                           s->host.os_version, s->host.agent_version, ranges, excluded};

    facts_texts(s, ranges, sizeof(ranges), excluded, sizeof(excluded));
    for (size_t i = 0; i < PF_ARRAY_LEN(texts); i++)
        h = strmap_fnv(h, texts[i], strlen(texts[i]) + 1);
    for (size_t i = 0; i < s->host.nroles; i++)
        h = strmap_fnv(h, s->host.roles[i], strlen(s->host.roles[i]) + 1);
    snprintf(num, sizeof(num), "%zu/%u/%llu/%d", s->host.nroles, (unsigned)s->host.cpus,
             (unsigned long long)s->host.memory_mb, s->has_excluded ? 1 : 0);
    h = strmap_fnv(h, num, strlen(num));
    return (int64_t)(h & 0x7fffffffffffffffULL); /* fits bigint, never negative */
}

static void facts_texts(const struct pf_snapshot *s, char *ranges, size_t rlen, char *excluded,
                        size_t elen)
{
    if (!ranges_json(s->ranges, s->nranges, ranges, rlen))
        ranges[0] = '\0';
    if (!s->has_excluded || !ranges_json(s->excluded, s->nexcluded, excluded, elen))
        excluded[0] = '\0';
}

#define FACTS_COLS 18

/* The host_facts rows of the fresh snapshots whose facts this process has
 * not seen committed (one per agent and hash), sent in the pipeline;
 * *sent is 1 when a statement went out. */
static enum pf_rc send_facts(PGconn *pg, const struct pf_snapshot *const *fresh,
                             const int64_t *fh, size_t n, struct strmap *seen, bool *sent)
{
    static const int usable[4][2] = {{PF_PROTO_TCP, PF_FAMILY_IPV4},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV4},
                                     {PF_PROTO_TCP, PF_FAMILY_IPV6},
                                     {PF_PROTO_UDP, PF_FAMILY_IPV6}};
    char ranges[PF_RANGES_MAX * 64 + 3], excluded[PF_EXCLUDED_MAX * 64 + 3];
    struct pgarray a[FACTS_COLS], roles;
    const char *vals[FACTS_COLS];
    enum pf_rc rc = PF_OK;
    size_t rows = 0;

    *sent = false;
    for (int c = 0; c < FACTS_COLS; c++)
        pgarray_init(&a[c]);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct pf_snapshot *s = fresh[i];
        int64_t h = fh[i], known;
        char hs[24];
        bool have;

        snprintf(hs, sizeof(hs), "%lld", (long long)h);
        pthread_mutex_lock(&cache_mu);
        have = strmap_get(cache_facts, s->agent_id, "", &known) && known == h;
        pthread_mutex_unlock(&cache_mu);
        if (have || strmap_get(seen, s->agent_id, hs, &known))
            continue;
        if ((rc = strmap_put(seen, s->agent_id, hs, h)))
            break;
        facts_texts(s, ranges, sizeof(ranges), excluded, sizeof(excluded));
        pgarray_str(&a[0], s->agent_id);
        pgarray_i64(&a[1], h);
        pgarray_time(&a[2], s->taken_at);
        pgarray_str(&a[3], s->host.name);
        pgarray_str(&a[4], s->host.site);
        pgarray_str(&a[5], s->host.machine_id);
        pgarray_str(&a[6], s->host.os);
        pgarray_str(&a[7], s->host.os_version);
        pgarray_init(&roles);
        for (size_t k = 0; k < s->host.nroles; k++)
            pgarray_str(&roles, s->host.roles[k]);
        {
            const char *lit = pgarray_end(&roles, &rc);
            if (lit)
                pgarray_str(&a[8], lit);
        }
        pgarray_free(&roles);
        pgarray_i64(&a[9], (int64_t)s->host.cpus);
        pgarray_i64(&a[10], (int64_t)s->host.memory_mb);
        pgarray_str(&a[11], s->host.agent_version);
        pgarray_str(&a[12], ranges);
        if (s->has_excluded)
            pgarray_str(&a[13], excluded);
        else
            pgarray_null(&a[13]);
        for (int u = 0; u < 4; u++) {
            if (pf_snapshot_range(s, usable[u][0], usable[u][1]))
                pgarray_i64(&a[14 + u], (int64_t)pf_snapshot_usable_ports(s, usable[u][0],
                                                                          usable[u][1]));
            else
                pgarray_null(&a[14 + u]);
        }
        rows++;
    }
    for (int c = 0; c < FACTS_COLS; c++)
        vals[c] = pgarray_end(&a[c], &rc);
    if (!rc && rows) {
        if (PQsendQueryPrepared(pg, "facts", FACTS_COLS, vals, NULL, NULL, 0) == 1)
            *sent = true;
        else
            rc = PF_AGAIN;
    }
    for (int c = 0; c < FACTS_COLS; c++)
        pgarray_free(&a[c]);
    return rc;
}

/* After COMMIT: what this transaction stored is known for good. A full
 * cache starts over (it only saves round trips). */
static void cache_commit(PGresult *strings, const struct pf_snapshot *const *fresh,
                         const int64_t *fh, size_t n)
{
    pthread_mutex_lock(&cache_mu);
    for (int i = 0; strings && i < PQntuples(strings); i++) {
        const char *agent = PQgetvalue(strings, i, 0), *value = PQgetvalue(strings, i, 1);
        int64_t id = strtoll(PQgetvalue(strings, i, 2), NULL, 10);
        if (strmap_put(cache_ids, agent, value, id) == PF_TOOBIG) {
            strmap_clear(cache_ids);
            (void)strmap_put(cache_ids, agent, value, id);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (strmap_put(cache_facts, fresh[i]->agent_id, "", fh[i]) == PF_TOOBIG) {
            strmap_clear(cache_facts);
            (void)strmap_put(cache_facts, fresh[i]->agent_id, "", fh[i]);
        }
    pthread_mutex_unlock(&cache_mu);
}

/* The snapshot_data row of s (COPY text), its strings resolved by ids. */
static enum pf_rc rows_data(const struct pf_snapshot *s, int64_t facts, const struct strmap *mine,
                            struct pf_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t body[BODY_MAX];
    char taken[PF_TIME_LEN], hx[2 * BODY_MAX + 4];
    struct idctx ic = {s->agent_id, mine};
    struct row r = {out, PF_OK, 0};
    size_t len, before = out->len;
    enum pf_rc rc;

    if (pf_time_format(s->taken_at, taken))
        return PF_INVALID;
    pthread_mutex_lock(&cache_mu);
    rc = body_encode(s, id_of, &ic, body, &len);
    pthread_mutex_unlock(&cache_mu);
    if (rc)
        return rc;
    col_text(&r, s->agent_id);
    col_text(&r, taken);
    col_u64(&r, s->seq);
    col_u64(&r, (uint64_t)facts);
    /* bytea in hex: \x... (the backslash doubled for COPY) */
    hx[0] = '\\';
    hx[1] = '\\';
    hx[2] = 'x';
    for (size_t i = 0; i < len; i++) {
        hx[3 + 2 * i] = hex[body[i] >> 4];
        hx[4 + 2 * i] = hex[body[i] & 15];
    }
    sep(&r);
    put(&r, hx, 3 + 2 * len);
    if (s->nunmeasured)
        col_text_array(&r, s->unmeasured, s->nunmeasured);
    else
        col_null(&r);
    if (s->has_agent_stats && s->agent_stats.has_last_push_error)
        col_text(&r, s->agent_stats.last_push_error);
    else
        col_null(&r);
    row_end(&r);
    if (r.rc) {
        out->len = before;
        if (out->data)
            out->data[before] = '\0';
    }
    return r.rc;
}

static const char copy_data_sql[] =
    "COPY snapshot_data (agent_id, taken_at, seq, facts, body, unmeasured, last_push_error) "
    "FROM STDIN";

/* COPYs the fresh snapshots' rows into snapshot_data. */
static enum fault copy_data(struct db_conn *dc, PGconn *pg, const struct pf_snapshot *const *fresh,
                            const int64_t *fh, size_t n, const struct strmap *mine)
{
    struct pf_buf b;
    PGresult *r;
    enum fault f = F_NONE;
    bool sent_ok = true;
    enum pf_rc rc = PF_OK;

    r = PQexecParams(pg, copy_data_sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        f = classify(dc, r, "COPY");
        PQclear(r);
        return f;
    }
    PQclear(r);
    pf_buf_init(&b, 4 * COPY_CHUNK);
    for (size_t i = 0; i < n && sent_ok; i++) {
        if ((rc = rows_data(fresh[i], fh[i], mine, &b)) != PF_OK) {
            sent_ok = false;
            break;
        }
        if (b.len >= COPY_CHUNK) {
            sent_ok = PQputCopyData(pg, b.data, (int)b.len) == 1;
            pf_buf_reset(&b);
        }
    }
    if (sent_ok && b.len)
        sent_ok = PQputCopyData(pg, b.data, (int)b.len) == 1;
    pf_buf_free(&b);
    PQputCopyEnd(pg, sent_ok ? NULL : "row formatting failed");
    while ((r = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && f == F_NONE)
            f = classify(dc, r, "COPY snapshot_data");
        PQclear(r);
    }
    if (f == F_NONE && !sent_ok) {
        if (rc == PF_NOTFOUND) {
            /* a string id went missing: another transaction numbered the
             * same agent's strings at the same time */
            pf_info("database: agent_strings ids raced, retrying");
            f = F_RETRY;
        } else {
            f = db_check(dc) ? F_UNAVAILABLE : F_BUG;
        }
    }
    return f;
}

/* One transaction in three steps, each one round trip but the COPYs:
 * BEGIN with the keys (which are new: the dedup) and the ids of strings
 * this process has not seen, the new snapshots' rows by COPY, then the
 * hourly rollups (rollup.h) and new host facts with COMMIT. */
static enum fault ingest_once(struct db_conn *dc, PGconn *pg, struct store_item *items,
                              const size_t *cand, size_t ncand)
{
    struct pf_buf ids, seqs, times, agents;
    const char *vals[4], *svals[2];
    const struct pf_snapshot **fresh = NULL; /* stored for the first time */
    int64_t *fh = NULL;                      /* their facts hashes */
    size_t nfresh = 0, nrollup = 0;
    PGresult *keys = NULL, *strings = NULL;
    struct missing m = {0};
    struct strmap *mine = NULL, *seen = NULL;
    struct pipe p;
    enum fault f;

    for (size_t i = 0; i < ncand; i++)
        items[cand[i]].fresh = false;
    if ((f = ensure_days(dc, pg, items, cand, ncand)) != F_NONE)
        return f;
    pf_buf_init(&ids, PARAM_MAX);
    pf_buf_init(&seqs, PARAM_MAX);
    pf_buf_init(&times, PARAM_MAX);
    pf_buf_init(&agents, PARAM_MAX);
    pgarray_init(&m.agents);
    pgarray_init(&m.values);
    m.pending = strmap_new(BATCH_STRINGS_MAX);
    mine = strmap_new(BATCH_STRINGS_MAX);
    seen = strmap_new(BATCH_STRINGS_MAX);
    if (!m.pending || !mine || !seen ||
        key_params(items, cand, ncand, &ids, &seqs, &times, &agents) != PF_OK ||
        !(fresh = malloc((ncand ? ncand : 1) * sizeof(*fresh))) ||
        !(fh = malloc((ncand ? ncand : 1) * sizeof(*fh)))) {
        f = F_UNAVAILABLE;
        goto out;
    }
    pthread_mutex_lock(&cache_mu);
    if (!cache_ready())
        m.rc = PF_NOMEM;
    for (size_t i = 0; i < ncand && !m.rc; i++) {
        m.agent = items[cand[i]].s->agent_id;
        body_strings(items[cand[i]].s, note_missing, &m);
    }
    pthread_mutex_unlock(&cache_mu);
    svals[0] = pgarray_end(&m.agents, &m.rc);
    svals[1] = pgarray_end(&m.values, &m.rc);
    if (m.rc) {
        f = F_UNAVAILABLE;
        goto out;
    }
    vals[0] = ids.data;
    vals[1] = seqs.data;
    vals[2] = times.data;
    vals[3] = agents.data;
    pipe_begin(pg, &p);
    pipe_command(pg, &p, "BEGIN");
    if (p.sent)
        pipe_note(&p, PQsendQueryPrepared(pg, "seqs", 4, vals, NULL, NULL, 0) == 1,
                  "inserting snapshot keys", PGRES_TUPLES_OK, &keys);
    if (p.sent && m.n)
        pipe_note(&p, PQsendQueryPrepared(pg, "strings", 2, svals, NULL, NULL, 0) == 1,
                  "numbering strings", PGRES_TUPLES_OK, &strings);
    if ((f = pipe_end(dc, pg, &p)) != F_NONE)
        goto fail;
    mark_fresh(keys, items, cand, ncand);
    PQclear(keys);
    for (int i = 0; strings && i < PQntuples(strings); i++)
        if (strmap_put(mine, PQgetvalue(strings, i, 0), PQgetvalue(strings, i, 1),
                       strtoll(PQgetvalue(strings, i, 2), NULL, 10)) != PF_OK) {
            f = F_UNAVAILABLE;
            goto fail;
        }
    for (size_t i = 0; i < ncand; i++)
        if (items[cand[i]].fresh) {
            fh[nfresh] = facts_hash(items[cand[i]].s);
            fresh[nfresh++] = items[cand[i]].s;
        }
    if (nfresh && (f = copy_data(dc, pg, fresh, fh, nfresh, mine)) != F_NONE)
        goto fail;
    pipe_begin(pg, &p);
    if (p.sent) {
        /* Unsent (out of memory, or libpq failed): pipe_end() drops the
         * connection, which ends the transaction. */
        bool ok = rollup_send(pg, fresh, nfresh, &nrollup) == PF_OK, facts = false;
        for (size_t i = 0; i < nrollup; i++)
            pipe_note(&p, true, "updating the hourly rollups", PGRES_COMMAND_OK, NULL);
        ok = ok && send_facts(pg, fresh, fh, nfresh, seen, &facts) == PF_OK;
        if (facts)
            pipe_note(&p, true, "storing host facts", PGRES_COMMAND_OK, NULL);
        p.sent = p.sent && ok;
    }
    pipe_command(pg, &p, "COMMIT");
    if ((f = pipe_end(dc, pg, &p)) == F_NONE) {
        cache_commit(strings, fresh, fh, nfresh);
        proc_rollup_add(fresh, nfresh);
        goto out;
    }
fail:
    rollback(dc, pg);
out:
    if (f != F_NONE)
        for (size_t i = 0; i < ncand; i++)
            items[cand[i]].fresh = false;
    PQclear(strings);
    strmap_free(m.pending);
    strmap_free(mine);
    strmap_free(seen);
    pgarray_free(&m.agents);
    pgarray_free(&m.values);
    free(fresh);
    free(fh);
    pf_buf_free(&ids);
    pf_buf_free(&seqs);
    pf_buf_free(&times);
    pf_buf_free(&agents);
    return f;
}

enum pf_rc store_ingest(struct db_conn *dc, struct store_item *items, size_t n)
{
    size_t *order, *cand, ncand = 0;
    enum fault f = F_UNAVAILABLE;
    PGconn *pg;

    for (size_t i = 0; i < n; i++)
        items[i].fresh = false;
    if (n == 0)
        return PF_OK;
    order = malloc(2 * n * sizeof(*order));
    if (!order)
        return PF_NOMEM;
    cand = order + n;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    tl_items = items;
    qsort(order, n, sizeof(*order), cmp_index);
    tl_items = NULL;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || cmp_key(items[order[i - 1]].s, items[order[i]].s) != 0)
            cand[ncand++] = order[i];
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        pg = db_pg(dc);
        if (!pg) {
            f = F_UNAVAILABLE;
            break;
        }
        f = ingest_once(dc, pg, items, cand, ncand);
        if (f != F_RETRY)
            break;
        /* A partition may have been dropped under us: ask again. */
        if (db_conn_state(dc))
            ((struct sstate *)db_conn_state(dc))->ndays = 0;
    }
    free(order);
    return fault_rc(f);
}
