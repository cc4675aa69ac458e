/* SPDX-License-Identifier: MIT */
/* log.c: formats records once and hands them to stderr and the sinks. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum pf_log_level min_level = PF_LOG_INFO;
static const char *ident = "portfleet";
static int to_stderr = 1;
static struct {
    pf_log_sink_fn fn;
    void *ud;
} sinks[4];
static int nsinks;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void pf_log_set_level(enum pf_log_level level)
{
    min_level = level;
}

int pf_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void pf_log_set_ident(const char *name)
{
    ident = name;
}

void pf_log_set_stderr(int on)
{
    to_stderr = on;
}

void pf_log_add_sink(pf_log_sink_fn fn, void *ud)
{
    if (nsinks < 4) {
        sinks[nsinks].fn = fn;
        sinks[nsinks].ud = ud;
        nsinks++;
    }
}

void pf_log(enum pf_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct tm tm;
    time_t now;
    size_t n;
    va_list ap;

    if (level < min_level)
        return;
    if ((int)level < PF_LOG_DEBUG || level > PF_LOG_ERROR)
        level = PF_LOG_ERROR;
    now = time(NULL);
    if (!pf_gmtime_r(&now, &tm))
        memset(&tm, 0, sizeof(tm));
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, "%s %s: ", level_names[level], ident);
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        /* One call, one line: text from the network cannot forge records. */
        for (char *p = line + n; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
    }
    if (to_stderr)
        fprintf(stderr, "%s\n", line);
    for (int i = 0; i < nsinks; i++)
        sinks[i].fn(level, line, sinks[i].ud);
}
