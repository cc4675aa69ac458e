/* SPDX-License-Identifier: MIT */
/* options.h: the collector's options (docs/cli.md "portfleet-collector"), read
 * with common/config.h: flags win over PORTFLEET_<KEY>, which wins over
 * the config file (--config, default /etc/portfleet/collector.conf when it
 * exists). One table per command lists what it accepts; a later command
 * (report) adds its own table here. */
#ifndef PF_OPTIONS_H
#define PF_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

#define COPTS_DEFAULT_CONFIG "/etc/portfleet/collector.conf"

struct copts {
    struct pf_config *cfg; /* owns every string below */
    const char *listen;    /* "ADDR:PORT" */
    const char *cert, *key;
    const char *db;
    const char *enroll_secret;
    const char *admin_token;
    uint64_t max_connections;
    uint64_t header_timeout_s; /* handshake + request head */
    uint64_t body_timeout_s;   /* the whole body, once the head is in */
    uint64_t idle_timeout_s;   /* between requests on a keep-alive connection */
    uint64_t write_timeout_s;  /* sending one answer */
    uint64_t db_workers;
    uint64_t tls_threads;      /* threads running TLS handshakes */
    uint64_t queue_max;        /* jobs waiting for a database worker -> 429 beyond */
    uint64_t body_budget_mb;   /* request bodies held in memory at once -> 429 beyond */
    uint64_t retention_days;
    uint64_t rollup_retention_days;
    uint64_t retry_after_s;    /* Retry-After of 503 answers */
    uint64_t analysis_cache_mb; /* capacity/analysis_cache.h budget; 0: no cache */
    uint64_t analysis_reuse_s;  /* its reuse_s */
    uint64_t analysis_mirror;   /* 1: store/fleet_mirror.h serves the analyses */
    const char *log_level;
    /* Positional arguments (commands that take them: agent). */
    const char *const *args;
    size_t nargs;
    /* Notifications (collector/alert/alert.h). */
    const char *const *alert_webhooks; /* "[slack:|teams:]https://..." */
    size_t nalert_webhooks;
    const char *alert_ca_file;
    int alert_min_severity; /* enum finding_severity: 0 info, 1 warning, 2 critical */
    uint64_t alert_interval_s;
    uint64_t alert_repeat_hours; /* 0: never */
    uint64_t alert_timeout_s;    /* one delivery attempt, connection included */
    uint64_t alert_retry_max_s;  /* backoff cap */
    const char *alert_smtp_url;  /* NULL: no email */
    int alert_smtp_loopback;     /* its host is loopback: STARTTLS optional */
    const char *alert_email_from;
    const char *const *alert_email_to;
    size_t nalert_email_to;
    const char *alert_report_url; /* base of report links; NULL: https://HOSTNAME:PORT */
};

/* Parses the options of command ("serve", "migrate" or "agent": the
 * latter two use only db of serve's options) from argv (after
 * the command), the environment and the config file, checks them and
 * fills o. Returns PF_OK, or PF_INVALID with a message naming the option
 * and why in err (exit code 2). Free with copts_free() in both cases. */
enum pf_rc copts_load(const char *command, int argc, char **argv, struct copts *o, char *err,
                      size_t errlen);
void copts_free(struct copts *o);

/* Appends the option help of command to out. */
enum pf_rc copts_usage(const char *command, struct pf_buf *out);

#endif
