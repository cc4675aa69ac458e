/* SPDX-License-Identifier: MIT */
/* agent_admin.c: `portfleet-collector agent revoke AGENT_ID`. */
#include "agent_admin.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "auth.h"
#include "auth_cache.h"
#include "options.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: portfleet-collector agent revoke AGENT_ID --db CONNINFO\n"
               "  its node key stops working within %d s on every collector\n",
               AUTH_REVOKED_WITHIN_S);
}

/* "agent_id (name, site)" of a result row whose columns 0 and 1 are name
 * and site. */
static void describe(const char *id, PGresult *r, char *out, size_t len)
{
    snprintf(out, len, "agent %s (%s, site %s)", id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
}

static int revoke(PGconn *pg, const char *id)
{
    const char *vals[1] = {id};
    char who[512];
    PGresult *r;
    int code;

    /* Only a live key is revoked: a second revoke keeps the first time. */
    r = PQexecParams(pg,
                     "UPDATE agents SET revoked_at = now() WHERE agent_id = $1::uuid "
                     "AND revoked_at IS NULL RETURNING name, site",
                     1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "portfleet-collector agent revoke: %s", PQresultErrorMessage(r));
        PQclear(r);
        return 1;
    }
    if (PQntuples(r) == 1) {
        describe(id, r, who, sizeof(who));
        printf("%s revoked: its node key stops working within %d s on every collector\n", who,
               AUTH_REVOKED_WITHIN_S);
        PQclear(r);
        return 0;
    }
    PQclear(r);
    r = PQexecParams(pg,
                     "SELECT name, site, to_char(revoked_at AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM agents WHERE agent_id = $1::uuid",
                     1, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "portfleet-collector agent revoke: %s", PQresultErrorMessage(r));
        code = 1;
    } else if (PQntuples(r) == 0) {
        fprintf(stderr,
                "portfleet-collector agent revoke: no agent with id %s in this database "
                "(nothing revoked)\n",
                id);
        code = 1;
    } else {
        describe(id, r, who, sizeof(who));
        printf("%s was already revoked at %s\n", who, PQgetvalue(r, 0, 2));
        code = 0;
    }
    PQclear(r);
    return code;
}

int agent_admin_main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    char err[512], id[AUTH_UUID_LEN];
    struct copts o;
    const char *arg;
    PGconn *pg;
    size_t n;
    int code;

    if (strcmp(sub, "revoke") != 0) {
        if (sub[0])
            fprintf(stderr, "portfleet-collector agent: unknown command \"%s\"\n", sub);
        usage(stderr);
        return 2;
    }
    if (copts_load("agent", argc - 2, argv + 2, &o, err, sizeof(err))) {
        fprintf(stderr, "portfleet-collector agent revoke: %s\n", err);
        copts_free(&o);
        return 2;
    }
    if (o.nargs != 1) {
        fprintf(stderr, "portfleet-collector agent revoke: expected one AGENT_ID, got %zu\n",
                o.nargs);
        usage(stderr);
        copts_free(&o);
        return 2;
    }
    /* Ids are printed lower case; one pasted in upper case is the same. */
    arg = o.args[0];
    n = strlen(arg);
    for (size_t i = 0; i < n && i < sizeof(id) - 1; i++)
        id[i] = (char)tolower((unsigned char)arg[i]);
    id[n < sizeof(id) - 1 ? n : sizeof(id) - 1] = '\0';
    if (n != AUTH_UUID_LEN - 1 || !auth_uuid_valid(id)) {
        fprintf(stderr,
                "portfleet-collector agent revoke: \"%.80s\" is not an agent id (expected a "
                "UUID such as 0b8e4c1a-5d2f-4e6b-9a47-3c1d2e5f6a7b)\n",
                arg);
        copts_free(&o);
        return 2;
    }
    pg = PQconnectdb(o.db);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "portfleet-collector agent revoke: cannot connect: %s",
                PQerrorMessage(pg));
        PQfinish(pg);
        copts_free(&o);
        return 1;
    }
    code = revoke(pg, id);
    PQfinish(pg);
    copts_free(&o);
    return code;
}
