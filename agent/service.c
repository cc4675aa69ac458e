/* SPDX-License-Identifier: MIT */
/* service.c: the portable half of service.h, shared by service_linux.c and
 * service_win.c: reading install's options and writing the config file
 * both service kinds start the agent with. */
#include "service.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum pf_rc service_scan_args(int nargs, char **args, const char **config, const char **state,
                             char *err, size_t errlen)
{
    for (int i = 0; i < nargs; i++) {
        const char *eq = strchr(args[i], '=');

        if (strncmp(args[i], "--", 2) != 0 || !eq) {
            snprintf(err, errlen, "internal: bad option '%s'", args[i]);
            return PF_INTERNAL;
        }
        if (strncmp(args[i], "--config=", 9) == 0)
            *config = eq + 1;
        else if (strncmp(args[i], "--state-dir=", 12) == 0)
            *state = eq + 1;
    }
    return PF_OK;
}

enum pf_rc service_config_text(struct pf_buf *conf, int nargs, char **args, const char *state_dir,
                               const char *eol, char *err, size_t errlen)
{
    enum pf_rc rc = pf_buf_printf(conf, "# portfleet-agent options, written by `portfleet-agent install`%s", eol);

    for (int i = 0; !rc && i < nargs; i++) {
        const char *eq = strchr(args[i], '='), *v;
        size_t vlen;
        bool quote;

        if (strncmp(args[i], "--", 2) != 0 || !eq) {
            snprintf(err, errlen, "internal: bad option '%s'", args[i]);
            return PF_INTERNAL;
        }
        if (strncmp(args[i], "--config=", 9) == 0)
            continue;
        v = eq + 1;
        if (strchr(v, '\n') || strchr(v, '\r')) {
            snprintf(err, errlen, "option %.*s: a value cannot span lines", (int)(eq - args[i]),
                     args[i]);
            return PF_INVALID;
        }
        if (state_dir && strncmp(args[i], "--state-dir=", 12) == 0)
            v = state_dir;
        vlen = strlen(v);
        quote = vlen > 0 && (v[0] == ' ' || v[0] == '\t' || v[vlen - 1] == ' ' ||
                             v[vlen - 1] == '\t' || v[0] == '"');
        rc = pf_buf_printf(conf, "%.*s = %s%s%s%s", (int)(eq - args[i] - 2), args[i] + 2,
                           quote ? "\"" : "", v, quote ? "\"" : "", eol);
    }
    return rc;
}
