/* SPDX-License-Identifier: MIT */
/* backoff.c: retry timing and failover order (see backoff.h). No clocks,
 * no I/O: every time comes in as an argument. */
#include "backoff.h"

#include <ctype.h>
#include <string.h>

void backoff_rng_seed(struct backoff_rng *r, uint64_t seed)
{
    /* splitmix64 step, so that nearby seeds give unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    r->s = z ? z : 0x2545F4914F6CDD1DULL;
}

uint64_t backoff_rng_next(struct backoff_rng *r)
{
    uint64_t x = r->s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int64_t backoff_rng_upto(struct backoff_rng *r, int64_t n)
{
    uint64_t span, limit, v;

    if (n <= 0)
        return 0;
    span = (uint64_t)n + 1;
    /* rejection sampling: no modulo bias */
    limit = UINT64_MAX - UINT64_MAX % span;
    do {
        v = backoff_rng_next(r);
    } while (v >= limit);
    return (int64_t)(v % span);
}

int64_t backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms, struct backoff_rng *r)
{
    int64_t ceiling = base_ms;

    if (attempt == 0)
        return 0;
    for (unsigned i = 1; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    return backoff_rng_upto(r, ceiling);
}

int64_t backoff_retry_after_ms(int64_t retry_after_s, struct backoff_rng *r)
{
    int64_t spread;

    if (retry_after_s < 0)
        retry_after_s = 0;
    if (retry_after_s > BACKOFF_RETRY_AFTER_MAX_S)
        retry_after_s = BACKOFF_RETRY_AFTER_MAX_S;
    spread = 1000 + retry_after_s * 100;
    if (spread > 30000)
        spread = 30000;
    return retry_after_s * 1000 + backoff_rng_upto(r, spread);
}

/* ---- Retry-After ---- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const wkdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const weekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads exactly n digits at *p. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

static int lit(const char **p, const char *s)
{
    size_t n = strlen(s);

    if (strncmp(*p, s, n) != 0)
        return 0;
    *p += n;
    return 1;
}

static int month(const char **p, int *out)
{
    for (int i = 0; i < 12; i++)
        if (strncmp(*p, months[i], 3) == 0) {
            *p += 3;
            *out = i + 1;
            return 1;
        }
    return 0;
}

static int one_of(const char **p, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (lit(p, names[i]))
            return 1;
    return 0;
}

static int hms(const char **p, int *h, int *m, int *s)
{
    return digits(p, 2, h) && lit(p, ":") && digits(p, 2, m) && lit(p, ":") && digits(p, 2, s);
}

/* IMF-fixdate, RFC 850 or asctime (RFC 9110 5.6.7); sets *t. */
static int http_date(const char *p, const char *end, int64_t *t)
{
    int d = 0, mo = 0, y = 0, h = 0, mi = 0, s = 0;
    const char *q = p;

    if (one_of(&q, weekdays, 7) && lit(&q, ", ")) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        if (!(digits(&q, 2, &d) && lit(&q, "-") && month(&q, &mo) && lit(&q, "-") &&
              digits(&q, 2, &y) && lit(&q, " ") && hms(&q, &h, &mi, &s) && lit(&q, " GMT")))
            return 0;
        y += y < 70 ? 2000 : 1900;
    } else {
        q = p;
        if (!one_of(&q, wkdays, 7))
            return 0;
        if (lit(&q, ", ")) {
            /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            if (!(digits(&q, 2, &d) && lit(&q, " ") && month(&q, &mo) && lit(&q, " ") &&
                  digits(&q, 4, &y) && lit(&q, " ") && hms(&q, &h, &mi, &s) && lit(&q, " GMT")))
                return 0;
        } else {
            /* asctime: Sun Nov  6 08:49:37 1994 */
            if (!(lit(&q, " ") && month(&q, &mo) && lit(&q, " ")))
                return 0;
            if (*q == ' ') {
                q++;
                if (!digits(&q, 1, &d))
                    return 0;
            } else if (!digits(&q, 2, &d)) {
                return 0;
            }
            if (!(lit(&q, " ") && hms(&q, &h, &mi, &s) && lit(&q, " ") && digits(&q, 4, &y)))
                return 0;
        }
    }
    if (q != end || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return 0;
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return 1;
}

enum pf_rc backoff_parse_retry_after(const char *value, int64_t now_s, int64_t *delay_s)
{
    const char *p = value, *end;
    char tmp[64];
    int64_t t;

    while (*p == ' ' || *p == '\t')
        p++;
    end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (end == p || (size_t)(end - p) >= sizeof(tmp))
        return PF_INVALID;
    memcpy(tmp, p, (size_t)(end - p));
    tmp[end - p] = '\0';

    if (isdigit((unsigned char)tmp[0])) {
        int64_t v = 0;

        for (const char *q = tmp; *q; q++) {
            if (!isdigit((unsigned char)*q))
                return PF_INVALID;
            if (v < INT64_MAX / 10 - 10)
                v = v * 10 + (*q - '0');
        }
        *delay_s = v;
        return PF_OK;
    }
    if (!http_date(tmp, tmp + strlen(tmp), &t))
        return PF_INVALID;
    *delay_s = t > now_s ? t - now_s : 0;
    return PF_OK;
}

/* ---- ticks ---- */

int64_t backoff_startup_ms(int64_t interval_ms, struct backoff_rng *r)
{
    int64_t span = interval_ms < 60000 ? interval_ms : 60000;

    return span > 0 ? backoff_rng_upto(r, span - 1) : 0;
}

int64_t backoff_next_tick_ms(int64_t prev_ms, int64_t interval_ms, int64_t now_ms,
                             struct backoff_rng *r)
{
    int64_t spread = interval_ms / 20, next;

    if (spread > 3000)
        spread = 3000;
    next = prev_ms + interval_ms + backoff_rng_upto(r, 2 * spread) - spread;
    if (next < now_ms)
        next = now_ms; /* late: take it now, once, instead of catching up */
    return next;
}

/* ---- failover ---- */

void failover_init(struct failover *f, size_t n, int64_t base_ms, int64_t cap_ms)
{
    memset(f, 0, sizeof(*f));
    f->n = n < BACKOFF_MAX_COLLECTORS ? n : BACKOFF_MAX_COLLECTORS;
    f->base_ms = base_ms;
    f->cap_ms = cap_ms;
}

int failover_pick(const struct failover *f, int64_t now_ms, int64_t *wait_ms)
{
    int64_t earliest = INT64_MAX;

    for (size_t i = 0; i < f->n; i++) {
        if (f->c[i].not_before <= now_ms)
            return (int)i;
        if (f->c[i].not_before < earliest)
            earliest = f->c[i].not_before;
    }
    *wait_ms = f->n ? earliest - now_ms : 0;
    return -1;
}

void failover_success(struct failover *f, size_t i)
{
    if (i >= f->n)
        return;
    for (size_t j = i; j < f->n; j++) {
        if (j > i && f->c[j].told)
            continue;
        f->c[j].failures = 0;
        f->c[j].not_before = 0;
        f->c[j].told = false;
    }
}

int64_t failover_failure(struct failover *f, size_t i, int64_t now_ms, int64_t retry_after_s,
                         struct backoff_rng *r)
{
    int64_t cap = f->cap_ms, wait;

    if (i >= f->n)
        return 0;
    if (i + 1 < f->n && cap > BACKOFF_FAILBACK_CAP_MS)
        cap = BACKOFF_FAILBACK_CAP_MS;
    if (f->c[i].failures < 64)
        f->c[i].failures++;
    if (retry_after_s >= 0)
        wait = backoff_retry_after_ms(retry_after_s, r);
    else
        wait = backoff_delay_ms(f->c[i].failures, f->base_ms, cap, r);
    f->c[i].not_before = now_ms + wait;
    f->c[i].told = retry_after_s >= 0;
    return wait;
}
