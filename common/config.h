/* SPDX-License-Identifier: MIT */
/* config.h: the option loader the agent and the collector share (docs/cli.md).
 * Every option can come from the config file ("key = value"), from the
 * environment (PORTFLEET_<KEY>: upper case, dashes as underscores) or from
 * a flag ("--key value" / "--key=value"); flags win over the environment,
 * the environment over the file. A program describes its options in a
 * table of pf_option_spec; the loader is pure (no OS calls): the caller
 * hands in the file's text and a getenv wrapper, so tests need neither
 * files nor a real environment. Messages name the option and say why;
 * turning them into exit code 2 is the caller's job.
 *
 * Rules, the same in every source:
 *  - a value option needs a non-empty value; an empty environment variable
 *    counts as unset;
 *  - a boolean option is true/false, yes/no, on/off or 1/0 (a bare flag
 *    "--pretty" is true);
 *  - a repeatable option (e.g. --collector) collects every value of the
 *    winning source: all flag values, else all environment values (one
 *    variable, split at commas and whitespace), else all file lines;
 *  - a non-repeatable option given twice in one source: the last one wins.
 * Config file: one "key = value" per line; blank lines and lines starting
 * with '#' or ';' are skipped; whitespace around key and value is trimmed;
 * a value may be wrapped in double quotes (kept verbatim inside, no
 * escapes); no comments after a value ('#' may be part of a secret); '_'
 * in a key reads as '-'. Lines are capped at PF_CONFIG_LINE_MAX bytes and
 * the file at PF_CONFIG_FILE_MAX. */
#ifndef PF_CONFIG_H
#define PF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define PF_CONFIG_LINE_MAX 4096       /* bytes in one line, flag or env value */
#define PF_CONFIG_FILE_MAX (1u << 20) /* bytes in a config file */
#define PF_CONFIG_VALUES_MAX 32       /* values of one option from one source */
#define PF_CONFIG_ERR_LEN 256

struct pf_option_spec {
    const char *name;          /* "collector", "enroll-secret" (no dashes in front) */
    int takes_value;           /* 0: a boolean flag such as --pretty */
    int repeatable;            /* value options only */
    const char *arg;           /* for the help: "URL", "SECONDS"; NULL for flags */
    const char *default_value; /* returned when no source sets it; may be NULL */
    const char *help;          /* one line */
};

/* Looks up an environment variable; returns NULL when unset. Callers pass
 * a wrapper around getenv(); tests pass a table. */
typedef const char *(*pf_config_getenv_fn)(const char *name, void *ud);

struct pf_config;

/* Returns an empty configuration for the nspecs options of specs (the
 * table must outlive it), or NULL when out of memory. Free with
 * pf_config_free(). */
struct pf_config *pf_config_new(const struct pf_option_spec *specs, size_t nspecs);
/* Frees c and every value it holds; NULL does nothing. */
void pf_config_free(struct pf_config *c);

/* Reads config-file text (len bytes, need not be NUL-terminated; name is
 * used in messages, e.g. "/etc/portfleet/agent.conf"). Replaces what an
 * earlier call read. Errors: PF_INVALID "agent.conf:3: unknown option
 * \"colector\"", "agent.conf:5: expected key = value", "agent.conf:7:
 * option \"site\" needs a value"; PF_TOOBIG for a long line, a file over
 * PF_CONFIG_FILE_MAX or more than PF_CONFIG_VALUES_MAX values. On error
 * nothing from this file is kept. */
enum pf_rc pf_config_load_file(struct pf_config *c, const char *buf, size_t len, const char *name,
                               char err[PF_CONFIG_ERR_LEN]);

/* Reads PORTFLEET_<KEY> of every option through getenv_fn. Replaces what
 * an earlier call read. Errors as for the file ("PORTFLEET_PRETTY: option
 * \"pretty\" expects true or false"); on error nothing from the
 * environment is kept. */
enum pf_rc pf_config_load_env(struct pf_config *c, pf_config_getenv_fn getenv_fn, void *ud,
                              char err[PF_CONFIG_ERR_LEN]);

/* Parses argc arguments (without the program name and command): options
 * and, in order, positional arguments. "--" ends the options. A value
 * option takes "--key=value" or the next argument, unless that starts with
 * "--" (write --key=--odd for such a value). Errors (PF_INVALID): "unknown
 * option --foo", "option --collector needs a value", "option --pretty
 * takes no value other than true or false". Replaces what an earlier call
 * read; on error nothing from argv is kept. Values are copied. */
enum pf_rc pf_config_parse_args(struct pf_config *c, int argc, char *const *argv,
                                char err[PF_CONFIG_ERR_LEN]);

/* The effective value of a value option (last flag, else environment, else
 * last file line, else the spec's default), or NULL when unset or not an
 * option. Owned by c. */
const char *pf_config_get(const struct pf_config *c, const char *name);
/* Every effective value of an option (see the rules above); returns how
 * many and points *values at them (owned by c; 0 and NULL when unset; the
 * default counts as one value). */
size_t pf_config_get_all(const struct pf_config *c, const char *name, const char *const **values);
/* A boolean option's effective value: 1 or 0 (default: the spec's
 * default_value read as a boolean, else 0). */
int pf_config_flag(const struct pf_config *c, const char *name);
/* Where the effective value came from: "flag", "environment", "config
 * file", "default", or NULL when unset. Static strings. */
const char *pf_config_source(const struct pf_config *c, const char *name);
/* Reads a value option as an integer in min..max into *out; unset leaves
 * *out alone and returns PF_OK. PF_INVALID with "option --interval: must
 * be an integer 1..86400, not \"abc\" (from the environment)". */
enum pf_rc pf_config_get_uint(const struct pf_config *c, const char *name, uint64_t min,
                              uint64_t max, uint64_t *out, char err[PF_CONFIG_ERR_LEN]);
/* The positional arguments of the last pf_config_parse_args(); returns how
 * many (owned by c). */
size_t pf_config_args(const struct pf_config *c, const char *const **args);

/* Appends one help line per option ("  --collector URL   ... (default: x)")
 * to out. PF_TOOBIG/PF_NOMEM from out. */
enum pf_rc pf_config_usage(const struct pf_option_spec *specs, size_t nspecs, struct pf_buf *out);

#endif
