/* SPDX-License-Identifier: MIT */
/* install.c: `install` and `uninstall` (docs/cli.md): the options `run`
 * would use, checked as `run` checks them (opts.h), handed to the service
 * layer (service.h) that writes them to the config file and registers the
 * service. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "opts.h"
#include "service.h"

int cmd_install(int argc, char **argv)
{
    struct pf_config *cfg = NULL;
    struct opts o;
    char err[512] = "";
    char **args = NULL;
    int nargs = 0, code;
    enum pf_rc rc;

    code = opts_load("install", argc, argv, OPTS_NEED_COLLECTOR | OPTS_CONFIG_MAY_BE_NEW, &cfg, &o);
    if (code) {
        code = code < 0 ? 0 : code;
        goto out;
    }
    if (opts_effective_args(cfg, &args, &nargs)) {
        fprintf(stderr, "portfleet-agent install: out of memory\n");
        code = 1;
        goto out;
    }
    /* the config file path goes last: service_install writes it there */
    {
        size_t len = strlen(o.config_path) + 16;
        char **grown = realloc(args, (size_t)(nargs + 1) * sizeof(*args));

        if (grown) {
            args = grown;
            args[nargs] = malloc(len);
            if (args[nargs]) {
                snprintf(args[nargs], len, "--config=%s", o.config_path);
                nargs++;
            }
        }
    }
    rc = service_install(nargs, args, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "portfleet-agent install: %s\n", err[0] ? err : pf_strerror(rc));
        code = rc == PF_INVALID ? 2 : 1;
    } else {
        printf("portfleet-agent installed%s%s\n", err[0] ? ": " : "", err);
    }
out:
    for (int k = 0; k < nargs; k++)
        free(args[k]);
    free(args);
    pf_config_free(cfg);
    return code;
}

int cmd_uninstall(int argc, char **argv)
{
    struct pf_config *cfg = NULL;
    struct opts o;
    char err[512] = "";
    int code;
    enum pf_rc rc;

    code = opts_load("uninstall", argc, argv, 0, &cfg, &o);
    if (code < 0) {
        code = 0;
    } else if (!code) {
        rc = service_uninstall(o.purge, o.state_dir, err, sizeof(err));
        if (rc) {
            fprintf(stderr, "portfleet-agent uninstall: %s\n", err[0] ? err : pf_strerror(rc));
            code = 1;
        } else {
            printf("portfleet-agent uninstalled%s%s\n", err[0] ? ": " : "", err);
        }
    }
    pf_config_free(cfg);
    return code;
}
