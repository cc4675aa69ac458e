/* SPDX-License-Identifier: MIT */
/* opts.h: the options of the agent's service commands (docs/cli.md): one
 * table read from flags, PORTFLEET_<KEY> environment and the config file
 * (common/config.h), checked once here so that `run`, `install`,
 * `uninstall` and `status` agree on every option and its message. */
#ifndef PF_OPTS_H
#define PF_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "srcport.h"

struct opts {
    const char *const *collectors;
    size_t ncollectors;
    const char *enroll_secret, *site, *ca_file, *state_dir, *config_path;
    const char *cloudflared_metrics, *entra_counter;
    uint32_t interval_s;
    uint64_t spool_max_bytes;
    struct srcport_spec reserve;
    bool purge;
};

#define OPTS_NEED_COLLECTOR 1    /* --collector is required */
#define OPTS_CONFIG_MAY_BE_NEW 2 /* a missing --config file is fine (install writes it) */

/* Loads flags, environment and config file for command cmd into *cfg and
 * o (flags: OPTS_NEED_COLLECTOR, OPTS_CONFIG_MAY_BE_NEW); o points into
 * *cfg, which the caller frees with pf_config_free whatever the result
 * (also on error). Returns 0; -1 after printing the help (--help: exit 0);
 * 1 when out of memory; or 2 after printing which option is wrong and
 * why. Sets the log level. */
int opts_load(const char *cmd, int argc, char **argv, int flags, struct pf_config **cfg,
              struct opts *o);

/* The effective options of c but --config, as "--key=value" strings for
 * service_install, in *out (n in *nout; the caller frees each and the
 * array). 0, or -1 when out of memory (nothing to free). */
int opts_effective_args(const struct pf_config *c, char ***out, int *nout);

#endif
