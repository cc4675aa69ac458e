/* SPDX-License-Identifier: MIT */
/* opts.c: the agent's option table and its checks (opts.h). */
#include "opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "buf.h"
#include "compat.h"
#include "log.h"
#include "osutil.h"
#include "snapshot.h"
#include "spool.h"
#include "transport.h"

static const struct pf_option_spec specs[] = {
    {"config", 1, 0, "FILE", OSUTIL_DEFAULT_CONFIG, "config file"},
    {"collector", 1, 1, "URL", NULL,
     "collector base URL, https://host:port; repeat for failover, tried in order"},
    {"enroll-secret", 1, 0, "S", NULL, "enrollment secret (needed until enrolled)"},
    {"site", 1, 0, "NAME", "default", "site / network location of this host"},
    {"ca-file", 1, 0, "PEM", NULL, "CA that signed the collector's certificate (default: system)"},
    {"state-dir", 1, 0, "DIR", OSUTIL_DEFAULT_STATE_DIR, "agent id, node key, seq counter, spool"},
    {"interval", 1, 0, "SECONDS", "60", "snapshot interval, 1 or more"},
    {"spool-max-mb", 1, 0, "N", "50", "spool cap in MiB (fractions allowed, e.g. 0.25)"},
    {"reserve-ports", 1, 0, "LIST", "auto",
     "source ports held for new connections when no ephemeral port is free: auto (3 the OS "
     "picks at start), off, or PORT[,PORT...] (best outside the dynamic range)"},
    {"log-level", 1, 0, "LEVEL", "info", "debug, info, warn or error"},
    {"cloudflared-metrics", 1, 0, "ADDR", NULL,
     "cloudflared's metrics address (loopback), when not on its command line or in its config"},
    {"entra-counter", 1, 0, "PATH", NULL,
     "performance counter of the Entra connector's requests/s (English name)"},
    {"purge", 0, 0, NULL, NULL, "uninstall: remove the state directory too"},
};

static const char *env_lookup(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

/* Parses "N" or "N.fff" MiB into bytes; 0 on error. */
static uint64_t parse_mib(const char *s)
{
    uint64_t whole = 0, frac = 0, scale = 1;
    const char *p = s;

    if (!s || !*s)
        return 0;
    while (*p >= '0' && *p <= '9' && whole < 1000000)
        whole = whole * 10 + (uint64_t)(*p++ - '0');
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && scale < 1000000) {
            frac = frac * 10 + (uint64_t)(*p++ - '0');
            scale *= 10;
        }
    }
    if (*p != '\0' || p == s || whole >= 1000000)
        return 0;
    return whole * 1048576 + frac * 1048576 / scale;
}

/* Reads --config's file into c: a missing file is no error at the
 * default place or with OPTS_CONFIG_MAY_BE_NEW. Returns 0, or 2 after
 * saying why on stderr. */
static int read_config_file(const char *cmd, int flags, struct pf_config *c, struct opts *o)
{
    char err[PF_CONFIG_ERR_LEN];
    struct pf_buf file;
    const char *src;
    enum pf_rc rc;

    o->config_path = pf_config_get(c, "config");
    src = pf_config_source(c, "config");
    pf_buf_init(&file, PF_CONFIG_FILE_MAX);
    rc = osutil_read_file(o->config_path, &file);
    if (rc == PF_NOTFOUND &&
        ((src && strcmp(src, "default") == 0) || (flags & OPTS_CONFIG_MAY_BE_NEW))) {
        rc = PF_OK; /* no config file at the default place: flags and env only */
    } else if (rc) {
        fprintf(stderr, "portfleet-agent %s: option --config: cannot read %s: %s\n", cmd,
                o->config_path, pf_strerror(rc));
        pf_buf_free(&file);
        return 2;
    } else {
        rc = pf_config_load_file(c, file.data ? file.data : "", file.len, o->config_path, err);
        if (rc) {
            fprintf(stderr, "portfleet-agent %s: %s\n", cmd, err);
            pf_buf_free(&file);
            return 2;
        }
    }
    pf_buf_free(&file);
    return 0;
}

/* Checks the options and fills o from c. Returns 0, or 2 after saying
 * which option is wrong on stderr. */
static int check_options(const char *cmd, int flags, struct pf_config *c, struct opts *o)
{
    char err[PF_CONFIG_ERR_LEN];
    uint64_t interval = 60;
    const char *v;
    enum pf_rc rc;

    o->ncollectors = pf_config_get_all(c, "collector", &o->collectors);
    if ((flags & OPTS_NEED_COLLECTOR) && o->ncollectors == 0) {
        fprintf(stderr,
                "portfleet-agent %s: option --collector is required (the collector's "
                "https:// URL)\n",
                cmd);
        return 2;
    }
    if (o->ncollectors > BACKOFF_MAX_COLLECTORS) {
        fprintf(stderr, "portfleet-agent %s: option --collector: at most %d collectors\n", cmd,
                BACKOFF_MAX_COLLECTORS);
        return 2;
    }
    for (size_t i = 0; i < o->ncollectors; i++)
        if (transport_check_url(o->collectors[i])) {
            fprintf(stderr,
                    "portfleet-agent %s: option --collector: '%s' is not an https:// "
                    "URL (the agent sends only over HTTPS)\n",
                    cmd, o->collectors[i]);
            return 2;
        }
    o->enroll_secret = pf_config_get(c, "enroll-secret");
    o->site = pf_config_get(c, "site");
    if (strlen(o->site) >= PF_ID_LEN) {
        fprintf(stderr, "portfleet-agent %s: option --site: longer than %d bytes\n", cmd,
                PF_ID_LEN - 1);
        return 2;
    }
    o->ca_file = pf_config_get(c, "ca-file");
    o->state_dir = pf_config_get(c, "state-dir");
    if (strlen(o->state_dir) > OSUTIL_PATH_MAX - 64) {
        fprintf(stderr, "portfleet-agent %s: option --state-dir: path too long\n", cmd);
        return 2;
    }
    rc = pf_config_get_uint(c, "interval", 1, 86400, &interval, err);
    if (rc) {
        fprintf(stderr, "portfleet-agent %s: %s\n", cmd, err);
        return 2;
    }
    o->interval_s = (uint32_t)interval;
    v = pf_config_get(c, "spool-max-mb");
    o->spool_max_bytes = parse_mib(v);
    if (o->spool_max_bytes < 16 * SPOOL_BLOCK) {
        fprintf(stderr,
                "portfleet-agent %s: option --spool-max-mb: must be a number of MiB "
                ">= 0.0625 (64 KiB), not \"%s\"\n",
                cmd, v ? v : "");
        return 2;
    }
    if (srcport_parse(pf_config_get(c, "reserve-ports"), &o->reserve, err, sizeof(err))) {
        fprintf(stderr, "portfleet-agent %s: %s\n", cmd, err);
        return 2;
    }
    v = pf_config_get(c, "log-level");
    if (pf_log_level_parse(v) < 0) {
        fprintf(stderr,
                "portfleet-agent %s: option --log-level: must be debug, info, warn or "
                "error, not \"%s\"\n",
                cmd, v);
        return 2;
    }
    pf_log_set_level((enum pf_log_level)pf_log_level_parse(v));
    o->cloudflared_metrics = pf_config_get(c, "cloudflared-metrics");
    o->entra_counter = pf_config_get(c, "entra-counter");
    o->purge = pf_config_flag(c, "purge");
    if (o->purge && strcmp(cmd, "uninstall") != 0) {
        fprintf(stderr, "portfleet-agent %s: option --purge belongs to uninstall\n", cmd);
        return 2;
    }
    return 0;
}

int opts_load(const char *cmd, int argc, char **argv, int flags, struct pf_config **cfg,
              struct opts *o)
{
    char err[PF_CONFIG_ERR_LEN];
    const char *const *pos;
    struct pf_config *c;
    enum pf_rc rc;
    int code;

    memset(o, 0, sizeof(*o));
    *cfg = c = pf_config_new(specs, PF_ARRAY_LEN(specs));
    if (!c) {
        fprintf(stderr, "portfleet-agent %s: out of memory\n", cmd);
        return 1;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            struct pf_buf help;

            pf_buf_init(&help, 64 * 1024);
            if (pf_config_usage(specs, PF_ARRAY_LEN(specs), &help) == PF_OK)
                printf("usage: portfleet-agent %s [options]\n\noptions (also PORTFLEET_<KEY> "
                       "and the config file as key = value):\n%s",
                       cmd, help.data);
            pf_buf_free(&help);
            return -1;
        }
    rc = pf_config_parse_args(c, argc - 1, argv + 1, err);
    if (!rc)
        rc = pf_config_load_env(c, env_lookup, NULL, err);
    if (rc) {
        fprintf(stderr, "portfleet-agent %s: %s\n", cmd, err);
        return 2;
    }
    if (pf_config_args(c, &pos) > 0) {
        fprintf(stderr, "portfleet-agent %s: unexpected argument '%s'\n", cmd, pos[0]);
        return 2;
    }
    code = read_config_file(cmd, flags, c, o);
    return code ? code : check_options(cmd, flags, c, o);
}

int opts_effective_args(const struct pf_config *c, char ***out, int *nout)
{
    char **args = NULL;
    int n = 0;

    for (size_t i = 0; i < PF_ARRAY_LEN(specs); i++) {
        const char *const *vals;
        size_t nv;

        if (!specs[i].takes_value || strcmp(specs[i].name, "config") == 0)
            continue;
        nv = pf_config_get_all(c, specs[i].name, &vals);
        for (size_t k = 0; k < nv; k++) {
            size_t len = strlen(specs[i].name) + strlen(vals[k]) + 4;
            char **grown = realloc(args, (size_t)(n + 1) * sizeof(*args));

            if (!grown)
                goto fail;
            args = grown;
            args[n] = malloc(len);
            if (!args[n])
                goto fail;
            snprintf(args[n], len, "--%s=%s", specs[i].name, vals[k]);
            n++;
        }
    }
    *out = args;
    *nout = n;
    return 0;
fail:
    for (int k = 0; k < n; k++)
        free(args[k]);
    free(args);
    return -1;
}
