/* SPDX-License-Identifier: MIT */
/* alert_cmd.c: the `alert` command (alert_cmd.h). */
#include "alert_cmd.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "access.h"
#include "alert_dest.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: portfleet-collector alert add --db CONNINFO [--tenant NAME] "
               "([slack:|teams:]https://URL | --email ADDR)\n"
               "       portfleet-collector alert list --db CONNINFO [--tenant NAME]\n"
               "       portfleet-collector alert remove --db CONNINFO [--tenant NAME] "
               "([slack:|teams:]https://URL | --email ADDR)\n");
}

int alert_cmd_main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    const char *db = getenv("PORTFLEET_DB"), *tenant = "default", *email = NULL, *url = NULL;
    char target[ALERT_DEST_MAX + 8], why[256];
    enum alert_dest_kind kind;
    const char *t;
    PGconn *pg;
    PGresult *r;
    int code = 0;
    bool tenant_given = false;

    if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "remove")) {
        fprintf(stderr, "portfleet-collector alert: %s\n",
                sub[0] ? "unknown subcommand (add, list or remove)"
                       : "which: add, list or remove?");
        usage(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--db") == 0       ? &db
                            : strcmp(argv[i], "--tenant") == 0 ? &tenant
                            : strcmp(argv[i], "--email") == 0  ? &email
                                                               : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "portfleet-collector alert: option %s needs a value\n", argv[i]);
                return 2;
            }
            *slot = argv[++i];
            tenant_given |= slot == &tenant;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "portfleet-collector alert: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!url) {
            url = argv[i];
        } else {
            fprintf(stderr, "portfleet-collector alert: one destination at a time\n");
            return 2;
        }
    }
    if (!db || !db[0]) {
        fprintf(stderr, "portfleet-collector alert: option --db is required (or PORTFLEET_DB)\n");
        return 2;
    }
    if (!access_tenant_valid(tenant)) {
        fprintf(stderr, "portfleet-collector alert: option --tenant: a tenant name is "
                        "[a-z0-9-]{1,64}\n");
        return 2;
    }
    if (strcmp(sub, "list") != 0) {
        if (!!url == !!email) {
            fprintf(stderr, "portfleet-collector alert %s: give a webhook URL or --email ADDR\n",
                    sub);
            usage(stderr);
            return 2;
        }
        snprintf(target, sizeof(target), "%s%s", email ? "email:" : "", email ? email : url);
        if (alert_dest_parse(target, &kind, &t, why, sizeof(why))) {
            fprintf(stderr, "portfleet-collector alert %s: %s: %s\n", sub,
                    email ? "option --email" : "the webhook URL", why);
            return 2;
        }
    }
    pg = PQconnectdb(db);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "portfleet-collector alert: cannot connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return 1;
    }
    if (strcmp(sub, "add") == 0) {
        const char *v[] = {tenant, target};
        r = PQexecParams(pg,
                         "INSERT INTO alert_destinations (tenant, target) VALUES ($1, $2) "
                         "ON CONFLICT DO NOTHING",
                         2, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "portfleet-collector alert add: %s", PQresultErrorMessage(r));
            code = 1;
        } else {
            char label[ALERT_DEST_LABEL_LEN];
            alert_dest_label(target, label);
            printf("%s %s for tenant %s\n",
                   strcmp(PQcmdTuples(r), "1") == 0 ? "added" : "already there:", label, tenant);
        }
    } else if (strcmp(sub, "remove") == 0) {
        const char *v[] = {tenant, target};
        r = PQexecParams(pg, "DELETE FROM alert_destinations WHERE tenant = $1 AND target = $2", 2,
                         NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "portfleet-collector alert remove: %s", PQresultErrorMessage(r));
            code = 1;
        } else if (strcmp(PQcmdTuples(r), "1") != 0) {
            fprintf(stderr, "portfleet-collector alert remove: tenant %s has no such destination\n",
                    tenant);
            code = 1;
        } else {
            printf("removed from tenant %s\n", tenant);
        }
    } else {
        const char *v[] = {tenant_given ? tenant : NULL};
        r = PQexecParams(pg,
                         "SELECT tenant, target, to_char(added_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM alert_destinations "
                         "WHERE $1::text IS NULL OR tenant = $1 ORDER BY tenant, target",
                         1, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(stderr, "portfleet-collector alert list: %s", PQresultErrorMessage(r));
            code = 1;
        } else {
            for (int i = 0; i < PQntuples(r); i++)
                printf("%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                       PQgetvalue(r, i, 2));
        }
    }
    PQclear(r);
    PQfinish(pg);
    return code;
}
