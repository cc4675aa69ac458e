/* SPDX-License-Identifier: MIT */
/* main.c: portfleet-collector's commands (docs/cli.md): serve, migrate,
 * report, tenant, token, secret, agent revoke, version. Exit codes: 0 ok,
 * 1 runtime failure, 2 bad usage or config. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "agent_admin.h"
#include "alert_cmd.h"
#include "capacity_api.h"
#include "log.h"
#include "migrate.h"
#include "options.h"
#include "routes.h"
#include "serve.h"
#include "signin.h"
#include "tenants.h"

static void usage(FILE *f)
{
    struct pf_buf b;

    fprintf(f, "usage: portfleet-collector serve [options]    serve the HTTPS API\n"
               "       portfleet-collector migrate --db CONNINFO   create or upgrade the schema\n"
               "       portfleet-collector report --db CONNINFO [--site S] [--format "
               "text|json|csv|html] [--out FILE]\n"
               "       portfleet-collector tenant add NAME | tenant list\n"
               "       portfleet-collector token add --tenant NAME --role read|admin | token list "
               "| token revoke TOKEN\n"
               "       portfleet-collector secret add --tenant NAME | secret list | secret revoke "
               "ID\n"
               "         (each with --db CONNINFO)\n"
               "       portfleet-collector agent revoke AGENT_ID --db CONNINFO\n"
               "       portfleet-collector alert add|list|remove --db CONNINFO [--tenant NAME] "
               "[URL | --email ADDR]\n"
               "       portfleet-collector version\n\nserve options:\n");
    pf_buf_init(&b, 16384);
    if (copts_usage("serve", &b) == PF_OK && b.data)
        fputs(b.data, f);
    pf_buf_free(&b);
    fprintf(f, "\nEach option is also read from PORTFLEET_<OPTION> (upper case, '_' for '-') and\n"
               "from the config file as \"option = value\"; flags win over the environment,\n"
               "the environment over the file.\n");
}

static int cmd_migrate(const struct copts *o)
{
    char err[512];
    int applied;
    enum pf_rc rc = migrate_run(o->db, &applied, err, sizeof(err));

    if (rc) {
        pf_error("migrate: %s", err);
        return 1;
    }
    printf("schema at version %d (%d migration%s applied now)\n", migrate_latest(), applied,
           applied == 1 ? "" : "s");
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    struct copts o;
    char err[512];
    int code;

    pf_log_set_ident("collector");
    /* Before any thread: libcurl's global state (notifications). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "portfleet-collector: libcurl failed to initialise\n");
        return 1;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("portfleet-collector %s\n", PF_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "report") == 0) /* capacity_api.h */
        return capacity_report_main(argc - 1, argv + 1);
    if (strcmp(cmd, "tenant") == 0 || strcmp(cmd, "token") == 0 || strcmp(cmd, "secret") == 0)
        return tenants_cli_main(argc - 1, argv + 1); /* tenants.h */
    if (strcmp(cmd, "agent") == 0)
        return agent_admin_main(argc - 1, argv + 1);
    if (strcmp(cmd, "alert") == 0) /* a tenant's notification destinations */
        return alert_cmd_main(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0) {
        if (cmd[0])
            fprintf(stderr, "portfleet-collector: unknown command \"%s\"\n", cmd);
        usage(stderr);
        return 2;
    }
    if (copts_load(cmd, argc - 2, argv + 2, &o, err, sizeof(err))) {
        fprintf(stderr, "portfleet-collector %s: %s\n", cmd, err);
        copts_free(&o);
        return 2;
    }
    if (o.log_level)
        pf_log_set_level((enum pf_log_level)pf_log_level_parse(o.log_level));
    if (strcmp(cmd, "migrate") == 0) {
        code = cmd_migrate(&o);
    } else {
        struct serve_app app = {.signin_page = signin_form,
                                .warm = capacity_warm,
                                .warm_every_ms = CAPACITY_WARM_MS};
        app.routes = routes_table(&app.nroutes);
        code = serve_main(&o, &app);
    }
    copts_free(&o);
    return code;
}
