/* SPDX-License-Identifier: MIT */
/* cpustat.c: /proc/stat and /proc/meminfo parsers and the interval
 * monitor (see cpustat.h). */
#include "cpustat.h"

#include <string.h>

/* Reads an unsigned decimal at *p (spaces first); false when none. */
static bool number(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    const char *q = *p;

    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (q >= end || *q < '0' || *q > '9')
        return false;
    while (q < end && *q >= '0' && *q <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*q++ - '0');
    }
    *p = q;
    *out = v;
    return true;
}

/* The start of the line beginning with key, or NULL. */
static const char *line_with(const char *buf, size_t len, const char *key)
{
    size_t k = strlen(key);

    for (size_t i = 0; i + k <= len;) {
        const char *nl;
        if (memcmp(buf + i, key, k) == 0)
            return buf + i + k;
        nl = memchr(buf + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - buf) + 1;
    }
    return NULL;
}

enum pf_rc cpustat_parse_proc_stat(const char *buf, size_t len, struct cpustat *out)
{
    const char *end = buf + len, *p = line_with(buf, len, "cpu ");
    const char *eol;
    uint64_t f[8] = {0}, total = 0;
    size_t n = 0;

    if (!p)
        return PF_INVALID;
    eol = memchr(p, '\n', (size_t)(end - p));
    if (eol)
        end = eol;
    while (n < 8 && number(&p, end, &f[n]))
        n++;
    if (n < 4)
        return PF_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (total > UINT64_MAX - f[i])
            return PF_INVALID;
        total += f[i];
    }
    out->total = total;
    out->busy = total - f[3] - f[4]; /* idle, iowait (0 when absent) */
    return PF_OK;
}

static bool meminfo_kb(const char *buf, size_t len, const char *key, uint64_t *kb)
{
    const char *p = line_with(buf, len, key);

    return p && number(&p, buf + len, kb);
}

enum pf_rc cpustat_parse_meminfo(const char *buf, size_t len, uint64_t *total_kb,
                                 uint64_t *avail_kb)
{
    uint64_t free_kb = 0, buffers = 0, cached = 0;

    if (!meminfo_kb(buf, len, "MemTotal:", total_kb))
        return PF_INVALID;
    if (!meminfo_kb(buf, len, "MemAvailable:", avail_kb)) {
        if (!meminfo_kb(buf, len, "MemFree:", &free_kb))
            return PF_INVALID;
        meminfo_kb(buf, len, "Buffers:", &buffers);
        meminfo_kb(buf, len, "Cached:", &cached);
        *avail_kb = free_kb + buffers + cached;
    }
    if (*avail_kb > *total_kb)
        *avail_kb = *total_kb;
    return PF_OK;
}

bool cpustat_pct(const struct cpustat *a, const struct cpustat *b, double *pct)
{
    uint64_t dt, db;

    if (b->total <= a->total || b->busy < a->busy)
        return false;
    dt = b->total - a->total;
    db = b->busy - a->busy;
    if (db > dt)
        db = dt;
    *pct = 100.0 * (double)db / (double)dt;
    return true;
}

uint32_t resmon_sample_ms(uint32_t interval_s)
{
    uint64_t ms = (uint64_t)interval_s * 1000 / 12;

    return ms < 1000 ? 1000 : ms > 5000 ? 5000 : (uint32_t)ms;
}

void resmon_start(struct resmon *m, uint32_t sample_ms, int64_t now_ms, const struct cpustat *r)
{
    memset(m, 0, sizeof(*m));
    m->started = true;
    m->sample_ms = sample_ms ? sample_ms : 1000;
    m->start = m->last = *r;
    m->start_ms = m->last_ms = now_ms;
}

static void peak_of(struct resmon *m, const struct cpustat *r)
{
    double pct;

    if (cpustat_pct(&m->last, r, &pct) && (!m->has_peak || pct > m->peak)) {
        m->peak = pct;
        m->has_peak = true;
    }
}

void resmon_feed(struct resmon *m, int64_t now_ms, const struct cpustat *r)
{
    if (!m->started) {
        resmon_start(m, m->sample_ms, now_ms, r);
        return;
    }
    if (r->total < m->last.total || r->busy < m->last.busy) {
        resmon_start(m, m->sample_ms, now_ms, r); /* counters reset: start over */
        return;
    }
    if (now_ms - m->last_ms < (int64_t)m->sample_ms)
        return;
    peak_of(m, r);
    m->last = *r;
    m->last_ms = now_ms;
}

bool resmon_end(struct resmon *m, int64_t now_ms, const struct cpustat *r, uint32_t min_ms,
                double *avg, double *peak)
{
    bool ok = m->started && cpustat_pct(&m->start, r, avg);

    if (ok) {
        if (now_ms - m->last_ms >= (int64_t)min_ms || !m->has_peak)
            peak_of(m, r);
        *peak = m->has_peak && m->peak > *avg ? m->peak : *avg;
    }
    resmon_start(m, m->sample_ms, now_ms, r);
    return ok;
}
