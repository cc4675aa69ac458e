/* SPDX-License-Identifier: MIT */
/* options.c: option tables of the collector's commands and their checks. */
#include "options.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_dest.h"
#include "log.h"

#define CONFIG_SPEC {"config", 1, 0, "FILE", NULL, "config file (default " COPTS_DEFAULT_CONFIG ")"}
#define LOGLEVEL_SPEC {"log-level", 1, 0, "LEVEL", "info", "debug, info, warn or error"}

static const struct pf_option_spec serve_specs[] = {
    CONFIG_SPEC,
    {"listen", 1, 0, "ADDR:PORT", "0.0.0.0:8443", "where to listen"},
    {"cert", 1, 0, "PEM", NULL, "server certificate (chain), PEM (required)"},
    {"key", 1, 0, "PEM", NULL, "its private key, PEM (required)"},
    {"db", 1, 0, "CONNINFO", NULL, "libpq connection string or URI (required)"},
    {"enroll-secret", 1, 0, "S", NULL, "the default tenant's enrollment secret (required)"},
    {"admin-token", 1, 0, "T", NULL, "an operator token: every tenant (required)"},
    {"max-connections", 1, 0, "N", "10000", "open client connections at most"},
    {"header-timeout", 1, 0, "SECONDS", "10", "TLS handshake and request head must arrive within"},
    {"body-timeout", 1, 0, "SECONDS", "30", "a request body must arrive within"},
    {"idle-timeout", 1, 0, "SECONDS", "300", "keep-alive connections idle longer are closed"},
    {"write-timeout", 1, 0, "SECONDS", "30", "an answer must be taken by the client within"},
    {"db-workers", 1, 0, "N", "4", "database connections (and threads)"},
    {"tls-threads", 1, 0, "N", NULL, "threads for TLS handshakes (default: one per CPU)"},
    {"queue-max", 1, 0, "N", "4096", "requests waiting for the database; 429 beyond"},
    {"body-budget-mb", 1, 0, "MB", "512", "request bodies held in memory at once; 429 beyond"},
    {"retention-days", 1, 0, "DAYS", "30", "snapshots older than this are dropped (by day)"},
    {"rollup-retention-days", 1, 0, "DAYS", "400",
     "hourly rollups older than this are dropped (by month)"},
    {"retry-after", 1, 0, "SECONDS", "5", "Retry-After sent with 503 when the database is down"},
    {"analysis-cache-mb", 1, 0, "MB", "256",
     "analyses kept for the report and API until the database changes (0: none)"},
    {"analysis-reuse", 1, 0, "SECONDS", "10",
     "an analysis as of now answers for this long while the database is unchanged"},
    {"analysis-mirror", 1, 0, "0|1", "1",
     "keep the analysis window's rollups in memory, refreshed by what changed (0: load per analysis)"},
    {"alert-webhook", 1, 1, "[slack:|teams:]URL", NULL,
     "where notifications go (https only); repeat for several"},
    {"alert-ca-file", 1, 0, "PEM", NULL, "CA for the webhooks' and SMTP server's certificates"},
    {"alert-min-severity", 1, 0, "S", "warning", "info, warning or critical"},
    {"alert-interval", 1, 0, "SECONDS", "60", "how often findings are evaluated for notifications"},
    {"alert-repeat-hours", 1, 0, "H", "24", "re-send a still-firing critical finding (0: never)"},
    {"alert-timeout", 1, 0, "SECONDS", "10", "one delivery attempt may take at most"},
    {"alert-retry-max", 1, 0, "SECONDS", "300", "longest wait between delivery attempts"},
    {"alert-smtp-url", 1, 0, "URL", NULL,
     "smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT] for email notifications"},
    {"alert-email-from", 1, 0, "ADDR", NULL, "sender address of email notifications"},
    {"alert-email-to", 1, 1, "ADDR", NULL, "email recipient of every notification; repeatable"},
    {"alert-report-url", 1, 0, "URL", NULL,
     "base of the report links in notifications (default https://HOSTNAME:PORT)"},
    LOGLEVEL_SPEC,
};

/* migrate and the administration commands (agent ...) read the same
 * config file as serve (one /etc/portfleet/collector.conf for all), so
 * they know serve's options and use only db; a table of their own would
 * refuse that file's "cert = ...". */
static bool db_only(const char *command)
{
    return strcmp(command, "migrate") == 0 || strcmp(command, "agent") == 0;
}

static const struct pf_option_spec *specs_of(const char *command, size_t *n)
{
    if (strcmp(command, "serve") == 0 || db_only(command)) {
        *n = PF_ARRAY_LEN(serve_specs);
        return serve_specs;
    }
    *n = 0;
    return NULL;
}

static const char *env_get(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

/* Reads the config file into c. A missing default file is fine; a missing
 * file that was asked for is not. */
static enum pf_rc load_file(struct pf_config *c, char *err, size_t errlen)
{
    const char *path = pf_config_get(c, "config");
    int asked = path != NULL;
    char cerr[PF_CONFIG_ERR_LEN];
    struct pf_buf b;
    char chunk[4096];
    size_t n;
    enum pf_rc rc = PF_OK;
    FILE *f;

    if (!path)
        path = COPTS_DEFAULT_CONFIG;
    f = fopen(path, "rb");
    if (!f) {
        if (!asked && errno == ENOENT)
            return PF_OK;
        snprintf(err, errlen, "option --config: cannot read %s: %s", path, strerror(errno));
        return PF_INVALID;
    }
    pf_buf_init(&b, PF_CONFIG_FILE_MAX);
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = pf_buf_append(&b, chunk, n);
    if (!rc && ferror(f))
        rc = PF_IO;
    fclose(f);
    if (rc) {
        snprintf(err, errlen, "option --config: %s: %s", path,
                 rc == PF_TOOBIG ? "file too large" : pf_strerror(rc));
    } else if ((rc = pf_config_load_file(c, b.data ? b.data : "", b.len, path, cerr))) {
        snprintf(err, errlen, "%s", cerr);
    }
    pf_buf_free(&b);
    return rc ? PF_INVALID : PF_OK;
}

static enum pf_rc get_uint(struct copts *o, const char *name, uint64_t min, uint64_t max,
                           uint64_t *out, char *err, size_t errlen)
{
    char cerr[PF_CONFIG_ERR_LEN];

    if (pf_config_get_uint(o->cfg, name, min, max, out, cerr)) {
        snprintf(err, errlen, "%s", cerr);
        return PF_INVALID;
    }
    return PF_OK;
}

static enum pf_rc require(struct copts *o, const char *name, const char **out, char *err,
                          size_t errlen)
{
    char env[64];
    size_t i;

    *out = pf_config_get(o->cfg, name);
    if (*out)
        return PF_OK;
    for (i = 0; name[i] && i < sizeof(env) - 1; i++)
        env[i] = name[i] == '-' ? '_' : (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 32)
                                                                          : name[i];
    env[i] = '\0';
    snprintf(err, errlen,
             "option --%s is required (or PORTFLEET_%s, or \"%s = ...\" in the config file)", name,
             env, name);
    return PF_INVALID;
}

/* The --alert-* options: each bad one named with why. */
static enum pf_rc alert_options(struct copts *o, char *err, size_t errlen)
{
    const char *sev = pf_config_get(o->cfg, "alert-min-severity");
    char why[256];
    enum pf_rc rc;
    bool loop = false;

    o->alert_interval_s = 60;
    o->alert_repeat_hours = 24;
    o->alert_timeout_s = 10;
    o->alert_retry_max_s = 300;
    if ((rc = get_uint(o, "alert-interval", 1, 86400, &o->alert_interval_s, err, errlen)) ||
        (rc = get_uint(o, "alert-repeat-hours", 0, 8760, &o->alert_repeat_hours, err, errlen)) ||
        (rc = get_uint(o, "alert-timeout", 1, 300, &o->alert_timeout_s, err, errlen)) ||
        (rc = get_uint(o, "alert-retry-max", 1, 86400, &o->alert_retry_max_s, err, errlen)))
        return rc;
    if (strcmp(sev, "info") == 0)
        o->alert_min_severity = 0;
    else if (strcmp(sev, "warning") == 0)
        o->alert_min_severity = 1;
    else if (strcmp(sev, "critical") == 0)
        o->alert_min_severity = 2;
    else {
        snprintf(err, errlen,
                 "option --alert-min-severity: must be info, warning or critical, not \"%.40s\"",
                 sev);
        return PF_INVALID;
    }
    o->nalert_webhooks = pf_config_get_all(o->cfg, "alert-webhook", &o->alert_webhooks);
    for (size_t i = 0; i < o->nalert_webhooks; i++) {
        enum alert_dest_kind kind;
        const char *target;
        if (strncmp(o->alert_webhooks[i], "email:", 6) == 0 ||
            alert_dest_parse(o->alert_webhooks[i], &kind, &target, why, sizeof(why))) {
            if (strncmp(o->alert_webhooks[i], "email:", 6) == 0)
                snprintf(why, sizeof(why), "an email recipient goes in --alert-email-to");
            snprintf(err, errlen, "option --alert-webhook (value %zu): %s", i + 1, why);
            return PF_INVALID;
        }
    }
    o->alert_ca_file = pf_config_get(o->cfg, "alert-ca-file");
    if (o->alert_ca_file && access(o->alert_ca_file, R_OK) != 0) {
        snprintf(err, errlen, "option --alert-ca-file: cannot read %s: %s", o->alert_ca_file,
                 strerror(errno));
        return PF_INVALID;
    }
    o->alert_smtp_url = pf_config_get(o->cfg, "alert-smtp-url");
    o->alert_email_from = pf_config_get(o->cfg, "alert-email-from");
    o->nalert_email_to = pf_config_get_all(o->cfg, "alert-email-to", &o->alert_email_to);
    if (o->alert_smtp_url) {
        if (alert_check_smtp_url(o->alert_smtp_url, &loop, why, sizeof(why))) {
            snprintf(err, errlen, "option --alert-smtp-url: %s", why);
            return PF_INVALID;
        }
        o->alert_smtp_loopback = loop;
        if (!o->alert_email_from) {
            snprintf(err, errlen, "option --alert-email-from is required with --alert-smtp-url");
            return PF_INVALID;
        }
    } else if (o->nalert_email_to || o->alert_email_from) {
        snprintf(err, errlen, "option --%s needs --alert-smtp-url",
                 o->nalert_email_to ? "alert-email-to" : "alert-email-from");
        return PF_INVALID;
    }
    if (o->alert_email_from && alert_check_email(o->alert_email_from, why, sizeof(why))) {
        snprintf(err, errlen, "option --alert-email-from: %s", why);
        return PF_INVALID;
    }
    for (size_t i = 0; i < o->nalert_email_to; i++) {
        if (alert_check_email(o->alert_email_to[i], why, sizeof(why))) {
            snprintf(err, errlen, "option --alert-email-to (value %zu): %s", i + 1, why);
            return PF_INVALID;
        }
    }
    o->alert_report_url = pf_config_get(o->cfg, "alert-report-url");
    if (o->alert_report_url && alert_check_https(o->alert_report_url, why, sizeof(why))) {
        snprintf(err, errlen, "option --alert-report-url: %s", why);
        return PF_INVALID;
    }
    return PF_OK;
}

enum pf_rc copts_load(const char *command, int argc, char **argv, struct copts *o, char *err,
                      size_t errlen)
{
    char cerr[PF_CONFIG_ERR_LEN];
    const struct pf_option_spec *specs;
    const char *const *pos;
    size_t nspecs;
    long cpus;
    enum pf_rc rc;

    memset(o, 0, sizeof(*o));
    specs = specs_of(command, &nspecs);
    if (!specs) {
        snprintf(err, errlen, "unknown command \"%s\"", command);
        return PF_INVALID;
    }
    o->cfg = pf_config_new(specs, nspecs);
    if (!o->cfg) {
        snprintf(err, errlen, "out of memory");
        return PF_NOMEM;
    }
    /* The file's location may come from a flag or the environment, so
     * those are read first; precedence is the loader's, not load order. */
    if ((rc = pf_config_parse_args(o->cfg, argc, argv, cerr)) ||
        (rc = pf_config_load_env(o->cfg, env_get, NULL, cerr))) {
        snprintf(err, errlen, "%s", cerr);
        return PF_INVALID;
    }
    o->nargs = pf_config_args(o->cfg, &pos);
    o->args = pos;
    if (o->nargs > 0 && strcmp(command, "agent") != 0) {
        snprintf(err, errlen, "unexpected argument \"%s\"", pos[0]);
        return PF_INVALID;
    }
    if ((rc = load_file(o->cfg, err, errlen)))
        return rc;
    o->log_level = pf_config_get(o->cfg, "log-level");
    if (o->log_level && pf_log_level_parse(o->log_level) < 0) {
        snprintf(err, errlen, "option --log-level: must be debug, info, warn or error, not \"%s\"",
                 o->log_level);
        return PF_INVALID;
    }
    if ((rc = require(o, "db", &o->db, err, errlen)))
        return rc;
    if (db_only(command))
        return PF_OK;

    o->listen = pf_config_get(o->cfg, "listen");
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->tls_threads = cpus > 0 ? (uint64_t)cpus : 1;
    if ((rc = require(o, "cert", &o->cert, err, errlen)) ||
        (rc = require(o, "key", &o->key, err, errlen)) ||
        (rc = require(o, "enroll-secret", &o->enroll_secret, err, errlen)) ||
        (rc = require(o, "admin-token", &o->admin_token, err, errlen)) ||
        (rc = get_uint(o, "max-connections", 1, 1000000, &o->max_connections, err, errlen)) ||
        (rc = get_uint(o, "header-timeout", 1, 3600, &o->header_timeout_s, err, errlen)) ||
        (rc = get_uint(o, "body-timeout", 1, 3600, &o->body_timeout_s, err, errlen)) ||
        (rc = get_uint(o, "idle-timeout", 1, 86400, &o->idle_timeout_s, err, errlen)) ||
        (rc = get_uint(o, "write-timeout", 1, 3600, &o->write_timeout_s, err, errlen)) ||
        (rc = get_uint(o, "db-workers", 1, 64, &o->db_workers, err, errlen)) ||
        (rc = get_uint(o, "tls-threads", 1, 64, &o->tls_threads, err, errlen)) ||
        (rc = get_uint(o, "queue-max", 1, 1000000, &o->queue_max, err, errlen)) ||
        (rc = get_uint(o, "body-budget-mb", 1, 1 << 20, &o->body_budget_mb, err, errlen)) ||
        (rc = get_uint(o, "retention-days", 1, 36500, &o->retention_days, err, errlen)) ||
        (rc = get_uint(o, "rollup-retention-days", 1, 36500, &o->rollup_retention_days, err,
                       errlen)) ||
        (rc = get_uint(o, "retry-after", 1, 3600, &o->retry_after_s, err, errlen)) ||
        (rc = get_uint(o, "analysis-cache-mb", 0, 1 << 20, &o->analysis_cache_mb, err, errlen)) ||
        (rc = get_uint(o, "analysis-reuse", 0, 3600, &o->analysis_reuse_s, err, errlen)) ||
        (rc = get_uint(o, "analysis-mirror", 0, 1, &o->analysis_mirror, err, errlen)))
        return rc;
    if ((rc = alert_options(o, err, errlen)))
        return rc;
    if (o->rollup_retention_days < o->retention_days) {
        /* the rollups are what the analysis reads: they must cover every
         * snapshot still stored */
        snprintf(err, errlen,
                 "option --rollup-retention-days: must be at least --retention-days (%llu)",
                 (unsigned long long)o->retention_days);
        return PF_INVALID;
    }
    if (strlen(o->admin_token) < 16 || strlen(o->enroll_secret) < 16) {
        snprintf(err, errlen, "option --%s: must be at least 16 characters",
                 strlen(o->admin_token) < 16 ? "admin-token" : "enroll-secret");
        return PF_INVALID;
    }
    return PF_OK;
}

void copts_free(struct copts *o)
{
    pf_config_free(o->cfg);
    memset(o, 0, sizeof(*o));
}

enum pf_rc copts_usage(const char *command, struct pf_buf *out)
{
    size_t n;
    const struct pf_option_spec *specs = specs_of(command, &n);

    return specs ? pf_config_usage(specs, n, out) : PF_NOTFOUND;
}
