/* SPDX-License-Identifier: MIT */
/* log.h: one-line log records, "2026-11-22T10:00:00Z warn agent: message",
 * to stderr by default. A program may add a sink (the Windows agent adds the
 * Event Log and a file). Thread-safe enough for our single-threaded programs. */
#ifndef PF_LOG_H
#define PF_LOG_H

#include "compat.h"

enum pf_log_level { PF_LOG_DEBUG = 0, PF_LOG_INFO, PF_LOG_WARN, PF_LOG_ERROR };

/* A sink receives each formatted record (without the trailing newline). */
typedef void (*pf_log_sink_fn)(enum pf_log_level level, const char *line, void *ud);

/* Records below level are dropped. Default PF_LOG_INFO. */
void pf_log_set_level(enum pf_log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 on anything else. */
int pf_log_level_parse(const char *s);
/* Sets the program name written in every record ("agent", "collector"). */
void pf_log_set_ident(const char *ident);
/* Adds a sink called after stderr; at most 4. stderr can be turned off with
 * pf_log_set_stderr(0). */
void pf_log_add_sink(pf_log_sink_fn fn, void *ud);
void pf_log_set_stderr(int on);

void pf_log(enum pf_log_level level, const char *fmt, ...) PF_PRINTF(2, 3);

#define pf_debug(...) pf_log(PF_LOG_DEBUG, __VA_ARGS__)
#define pf_info(...) pf_log(PF_LOG_INFO, __VA_ARGS__)
#define pf_warn(...) pf_log(PF_LOG_WARN, __VA_ARGS__)
#define pf_error(...) pf_log(PF_LOG_ERROR, __VA_ARGS__)

#endif
