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

#include "log.h"
#include "migrate.h"
#include "proc_rollup.h"
#include "rollup.h"
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
    "COPY snapshots (agent_id, seq, taken_at, interval_s, host_name, site, machine_id, os, "
    "os_version, roles, cpus, memory_mb, agent_version, ranges, excluded, usable_tcp4, "
    "usable_udp4, usable_tcp6, usable_udp6, " PF_TCP_STATES(TCP_COL)
    "tcp_ephemeral_in_use, top_dest_addr, top_dest_port, top_dest_count, udp_endpoints, "
    "udp_ephemeral_in_use, ev_tcpip_4227, ev_tcpip_4231, ev_tcpip_4266, ev_netlogon_5719, "
    "vpn_connections, vpn_ikev2, vpn_sstp, vpn_l2tp, vpn_pptp, vpn_distinct_clients, "
    "vpn_top_clients, vpn_ike_num_established_for_initial_query, unmeasured, spool_depth, "
    "spool_dropped, spool_corrupt, last_push_error, truncated) FROM STDIN";

const char *const store_copy_processes_sql =
    "COPY snapshot_processes (agent_id, taken_at, seq, rank, pid, name, service, tcp_ports, "
    "udp_ports, " PF_TCP_STATES(ST_COL) "top_remote_addr, top_remote_port, top_remote_count) "
    "FROM STDIN";

const char *const store_copy_remotes_sql =
    "COPY snapshot_remotes (agent_id, taken_at, seq, rank, addr, port, count) FROM STDIN";

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
    {"part", "SELECT pf_ensure_partition($1::date)"},
    {"parts", "SELECT pf_ensure_partitions($1::date, $2::date)"},
    {"drop", "SELECT pf_drop_partitions_before($1::date)"},
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

static void col_ranges_json(struct row *r, const struct pf_range *v, size_t n)
{
    char lit[PF_EXCLUDED_MAX * 64 + 3];
    size_t o = 0;

    lit[o++] = '[';
    for (size_t i = 0; i < n && o < sizeof(lit) - 1; i++)
        o += (size_t)snprintf(lit + o, sizeof(lit) - o,
                              "%s{\"proto\":\"%s\",\"family\":\"%s\",\"start\":%u,\"count\":%u}",
                              i ? "," : "", pf_proto_name(v[i].proto), pf_family_name(v[i].family),
                              (unsigned)v[i].start, (unsigned)v[i].count);
    if (o > sizeof(lit) - 2) {
        r->rc = PF_TOOBIG; /* cannot happen within the model's caps */
        return;
    }
    snprintf(lit + o, sizeof(lit) - o, "]");
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

/* True when path, or a section above it ("events" for "events.tcpip_4227"),
 * is listed in unmeasured: the value is then stored as NULL, not 0. */
static bool unmeasured(const struct pf_snapshot *s, const char *path)
{
    for (size_t i = 0; i < s->nunmeasured; i++) {
        size_t n = strlen(s->unmeasured[i]);
        if (strncmp(path, s->unmeasured[i], n) == 0 && (path[n] == '\0' || path[n] == '.'))
            return true;
    }
    return false;
}

static void col_measured(struct row *r, const struct pf_snapshot *s, const char *path, bool present,
                         uint64_t v)
{
    if (present && !unmeasured(s, path))
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
    bool ev = s->has_events, vpn = s->has_vpn && !unmeasured(s, "vpn");

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
    if (vpn && !unmeasured(s, "vpn.client_addresses"))
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

enum pf_rc store_maintain(struct db_conn *dc, int retention_days)
{
    int64_t today = pf_time_now() / 86400;
    char first[PF_TIME_LEN], last[PF_TIME_LEN], cutoff[PF_TIME_LEN];
    const char *p2[2] = {first, last}, *p1[1] = {cutoff};
    PGconn *pg = db_pg(dc);
    PGresult *r;
    enum pf_rc rc;
    int dropped;

    if (!pg)
        return PF_AGAIN;
    day_text(today - 1, first);
    day_text(today + STORE_DAYS_AHEAD, last);
    day_text(today - retention_days, cutoff);
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

static enum fault copy_table(struct db_conn *dc, PGconn *pg, const char *sql, rows_fn fn,
                             struct store_item *items, const size_t *cand, size_t ncand)
{
    struct pf_buf b;
    PGresult *r;
    enum fault f = F_NONE;
    bool sent_ok = true;

    r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        f = classify(dc, r, "COPY");
        PQclear(r);
        return f;
    }
    PQclear(r);
    pf_buf_init(&b, 4 * COPY_CHUNK);
    for (size_t i = 0; i < ncand && sent_ok; i++) {
        if (!items[cand[i]].fresh)
            continue;
        if (append_rows(fn, items[cand[i]].s, &b) != PF_OK) {
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
            f = classify(dc, r, sql + 5);
        PQclear(r);
    }
    if (f == F_NONE && !sent_ok)
        f = db_check(dc) ? F_UNAVAILABLE : F_BUG;
    return f;
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


/* One transaction in three steps, each one round trip but the COPYs:
 * BEGIN with the keys (which are new: the dedup), the rows of the new ones
 * by COPY, then the hourly rollups (rollup.h) with COMMIT. */
static enum fault ingest_once(struct db_conn *dc, PGconn *pg, struct store_item *items,
                              const size_t *cand, size_t ncand)
{
    struct pf_buf ids, seqs, times, agents;
    const char *vals[4];
    const struct pf_snapshot **fresh = NULL; /* stored for the first time */
    size_t nfresh = 0, nrollup = 0;
    PGresult *keys = NULL;
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
    if (key_params(items, cand, ncand, &ids, &seqs, &times, &agents) != PF_OK ||
        !(fresh = malloc((ncand ? ncand : 1) * sizeof(*fresh)))) {
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
    if ((f = pipe_end(dc, pg, &p)) != F_NONE)
        goto fail;
    mark_fresh(keys, items, cand, ncand);
    PQclear(keys);
    for (size_t i = 0; i < ncand; i++)
        if (items[cand[i]].fresh)
            fresh[nfresh++] = items[cand[i]].s;
    if (nfresh) {
        if ((f = copy_table(dc, pg, store_copy_snapshots_sql, rows_snapshot, items, cand,
                            ncand)) != F_NONE ||
            (f = copy_table(dc, pg, store_copy_processes_sql, rows_processes, items, cand,
                            ncand)) != F_NONE ||
            (f = copy_table(dc, pg, store_copy_remotes_sql, rows_remotes, items, cand, ncand)) !=
                F_NONE)
            goto fail;
    }
    pipe_begin(pg, &p);
    if (p.sent) {
        /* Unsent (out of memory, or libpq failed): pipe_end() drops the
         * connection, which ends the transaction. */
        bool ok = rollup_send(pg, fresh, nfresh, &nrollup) == PF_OK;
        for (size_t i = 0; i < nrollup; i++)
            pipe_note(&p, true, "updating the hourly rollups", PGRES_COMMAND_OK, NULL);
        p.sent = p.sent && ok;
    }
    pipe_command(pg, &p, "COMMIT");
    if ((f = pipe_end(dc, pg, &p)) == F_NONE) {
        proc_rollup_add(fresh, nfresh);
        goto out;
    }
fail:
    rollback(dc, pg);
out:
    if (f != F_NONE)
        for (size_t i = 0; i < ncand; i++)
            items[cand[i]].fresh = false;
    free(fresh);
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
