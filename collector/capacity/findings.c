/* SPDX-License-Identifier: MIT */
/* findings.c: one function per finding kind (the rules and their reasons
 * are in findings.h); findings_build() runs them all and sorts. */
#include "findings.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "compat.h"
#include "stats.h"
#include "timeutil.h"

static const char *const kind_names[] = {
#define FINDING_X_NAME(e, n) #n,
    FINDING_KINDS(FINDING_X_NAME)
#undef FINDING_X_NAME
};

const char *finding_kind_name(enum finding_kind kind)
{
    return (unsigned)kind < FINDING_NKINDS ? kind_names[kind] : "?";
}

const char *finding_severity_name(enum finding_severity s)
{
    switch (s) {
    case SEVERITY_CRITICAL:
        return "critical";
    case SEVERITY_WARNING:
        return "warning";
    default:
        return "info";
    }
}

void finding_id(const struct finding *f, char out[FINDING_ID_LEN])
{
    const char *kind = finding_kind_name(f->kind);
    const char *where = f->host[0] ? f->agent_id : f->site;

    if (f->has_process)
        snprintf(out, FINDING_ID_LEN, "%s/%s/%s", kind, where, f->process_name);
    else if (f->has_remote)
        snprintf(out, FINDING_ID_LEN, "%s/%s/%s:%u", kind, where, f->remote.addr,
                 (unsigned)f->remote.port);
    else if (f->kind == FINDING_RESOURCE_PRESSURE && f->resource[0])
        snprintf(out, FINDING_ID_LEN, "%s/%s/%s", kind, where, f->resource); /* cpu, memory */
    else if (f->protocol[0])
        snprintf(out, FINDING_ID_LEN, "%s/%s/%s", kind, where, f->protocol); /* vpn_ports */
    else
        snprintf(out, FINDING_ID_LEN, "%s/%s", kind, where);
}

void findings_free(struct findings *fs)
{
    if (!fs)
        return;
    free(fs->v);
    free(fs);
}

/* ---- building blocks ---- */

struct finding *findings_append(struct findings *fs, enum finding_kind kind,
                                enum finding_severity sev, const char *tenant, const char *site,
                                const struct fleet_host *x)
{
    struct finding *f;

    if (PF_ARRAY_RESERVE(fs->v, fs->cap, fs->n + 1, 16))
        return NULL;
    f = &fs->v[fs->n++];
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->severity = sev;
    snprintf(f->tenant, sizeof(f->tenant), "%s", tenant);
    snprintf(f->site, sizeof(f->site), "%s", site);
    if (x) {
        snprintf(f->host, sizeof(f->host), "%s", x->name);
        snprintf(f->agent_id, sizeof(f->agent_id), "%s", x->agent_id);
    }
    return f;
}

void finding_summary(struct finding *f, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->summary, sizeof(f->summary), fmt, ap);
    va_end(ap);
}

void finding_remedy(struct finding *f, const char *fmt, ...)
{
    va_list ap;

    if (f->nremediation >= FINDING_REMEDIATION_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(f->remediation[f->nremediation++], FINDING_TEXT_LEN, fmt, ap);
    va_end(ap);
}

/* 16384 -> "16,384" (rounded to an integer). */
static const char *num(char *buf, size_t len, double v)
{
    char digits[32];
    long long n = llround(v);
    size_t nd, o = 0;
    const char *d = digits;

    snprintf(digits, sizeof(digits), "%lld", n < 0 ? -n : n);
    nd = strlen(digits);
    if (n < 0 && o + 1 < len)
        buf[o++] = '-';
    for (size_t i = 0; i < nd && o + 2 < len; i++) {
        buf[o++] = d[i];
        if ((nd - i - 1) % 3 == 0 && i + 1 < nd)
            buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

/* 50 -> "2.1 days", 5 -> "5 hours", 0.5 -> "30 minutes". */
static const char *duration(char *buf, size_t len, double hours)
{
    if (hours >= 48)
        snprintf(buf, len, "%.1f days", hours / 24);
    else if (hours >= 2)
        snprintf(buf, len, "%.0f hours", hours);
    else
        snprintf(buf, len, "%.0f minutes", hours * 60);
    return buf;
}

static const char *when(int64_t t, char buf[PF_TIME_LEN])
{
    if (pf_time_format(t, buf) != PF_OK)
        snprintf(buf, PF_TIME_LEN, "?");
    return buf;
}

static void widen_remedies(struct finding *f, const struct plan_widen *w)
{
    for (size_t i = 0; i < w->ncommands; i++)
        finding_remedy(f, "%s", w->commands[i]);
}

/* ---- one function per kind ---- */

/* Remediation of a leak on host x: restart now, find the holder, the
 * vendor. */
static void leak_remedies(struct finding *fi, const struct fleet_host *x,
                          const struct fleet_proc *pr)
{
    if (fleet_host_is_windows(x)) {
        if (pr->service[0])
            finding_remedy(fi, "Restart-Service -Name %s -Force", pr->service);
        else
            finding_remedy(fi, "Stop-Process -Name %.*s -Force", (int)strcspn(pr->name, "."),
                           pr->name);
        finding_remedy(fi, "netstat -anobq");
    } else {
        if (pr->service[0])
            finding_remedy(fi, "systemctl restart %s", pr->service);
        else
            finding_remedy(fi, "pkill -x %s", pr->name);
        finding_remedy(fi, "ss -tanp | grep '\"%s\"'", pr->name);
    }
}

/* port_leak for a leak that restarts hide (demand_leak's restarts). */
static enum pf_rc restarted_leak(struct findings *fs, const struct fleet_host *x,
                                 const struct fleet_proc *pr, const struct demand_leak *lk)
{
    double rate = lk->trend.rate, base = lk->cycle_host_max - lk->cycle_peak;
    double fill = rate > 0 ? ((double)x->tcp_usable - (base > 0 ? base : 0)) / rate : NAN;
    bool crit = lk->cycle_host_max >= CRITICAL_UTIL * x->tcp_usable;
    char b1[32], b2[32], b3[32], b4[32], b5[32];
    struct finding *fi = findings_append(
        fs, FINDING_PORT_LEAK, crit ? SEVERITY_CRITICAL : SEVERITY_WARNING, x->tenant, x->site, x);

    if (!fi)
        return PF_NOMEM;
    fi->has_process = true;
    snprintf(fi->process_name, sizeof(fi->process_name), "%s", pr->name);
    snprintf(fi->process_service, sizeof(fi->process_service), "%s", pr->service);
    fi->has_rate = true;
    fi->rate_per_hour = rate;
    fi->has_utilization = true;
    fi->utilization = demand_ratio(lk->cycle_host_max, x->tcp_usable);
    if (pr->has_remote) {
        fi->has_remote = true;
        fi->remote = pr->remote;
    }
    finding_summary(
        fi,
        "%s%s%s%s leaks and is restarted every %.0f hours (%zu cycles seen): between "
        "restarts it holds %.2f more ports every minute (%s an hour) and gives none back, up "
        "to about %s before each restart, the host to %s of %s usable (%.0f%%); the restart "
        "is all that keeps the range from filling: without it, full about %s after one",
        pr->name, pr->service[0] ? " (" : "", pr->service, pr->service[0] ? ")" : "",
        lk->cycle_hours, lk->cycles, rate / 60, num(b1, sizeof(b1), rate),
        num(b2, sizeof(b2), lk->cycle_peak), num(b3, sizeof(b3), lk->cycle_host_max),
        num(b4, sizeof(b4), x->tcp_usable), fi->utilization * 100,
        stats_present(fill) ? duration(b5, sizeof(b5), fill) : "?");
    leak_remedies(fi, x, pr);
    finding_remedy(fi,
                   "Keep the scheduled restart until the vendor of %s fixes the leak: it does not "
                   "release the ports it uses%s%s%s",
                   pr->name, pr->has_remote ? ", last seen talking to " : "",
                   pr->has_remote ? pr->remote.addr : "", pr->has_remote ? "" : "");
    return PF_OK;
}

static enum pf_rc port_leak(struct findings *fs, const struct fleet *f,
                            const struct fleet_params *p, const struct fleet_host *x,
                            const struct host_pressure *hp)
{
    for (size_t i = 0; i < x->nprocs; i++) {
        const struct fleet_proc *pr = &x->procs[i];
        struct demand_leak lk;
        const struct stats_trend *t = &lk.trend;
        enum pf_rc rc;
        double held_now, bound_now, hours;
        char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], tb[PF_TIME_LEN], beyond[96];
        struct finding *fi;
        bool win = fleet_host_is_windows(x);

        rc = demand_leak(f, x, pr, p, &lk);
        if (rc)
            return rc;
        if (!lk.leaks)
            continue;
        if (lk.restarts) {
            rc = restarted_leak(fs, x, pr, &lk);
            if (rc)
                return rc;
            continue;
        }
        /* The host fills once: at its forecast when it has one (the
         * leak's own line and the host's may differ by hours), with the
         * forecast's interval. */
        bool own_date = !(lk.hours > 0 && hp->has_full);
        if (!own_date) {
            lk.exhaustion_at = hp->full_at;
            lk.hours = (double)(hp->full_at -
                                fleet_hour_time(f, x, (size_t)demand_last_hour(x->tcp, f->nhours))) /
                       FLEET_HOUR;
            lk.beyond_horizon = hp->full_at > p->now + (int64_t)(p->horizon_days * 86400);
        }
        hours = lk.hours;
        fi = findings_append(fs, FINDING_PORT_LEAK,
                             hours <= CRITICAL_DAYS * 24 ? SEVERITY_CRITICAL : SEVERITY_WARNING,
                             x->tenant, x->site, x);
        if (!fi)
            return PF_NOMEM;
        fi->has_process = true;
        snprintf(fi->process_name, sizeof(fi->process_name), "%s", pr->name);
        snprintf(fi->process_service, sizeof(fi->process_service), "%s", pr->service);
        fi->has_rate = true;
        fi->rate_per_hour = t->rate;
        fi->has_exhaustion = true;
        fi->exhaustion_at = lk.exhaustion_at;
        if (!own_date && hp->has_forecast && hp->full_at == hp->exhaustion_at) {
            fi->has_interval = hp->has_interval;
            fi->early_at = hp->early_at;
            fi->has_late = hp->has_late;
            fi->late_at = hp->late_at;
        } else if (own_date && stats_present(lk.hours_early)) {
            int64_t t0 = fleet_hour_time(f, x, (size_t)demand_last_hour(x->tcp, f->nhours));
            fi->has_interval = true;
            fi->early_at = t0 + (int64_t)llround(lk.hours_early * FLEET_HOUR);
            fi->has_late = stats_present(lk.hours_late);
            fi->late_at = fi->has_late ? t0 + (int64_t)llround(lk.hours_late * FLEET_HOUR) : 0;
            if (fi->early_at > fi->exhaustion_at)
                fi->early_at = fi->exhaustion_at;
            if (fi->has_late && fi->late_at < fi->exhaustion_at)
                fi->late_at = fi->exhaustion_at;
        }
        fi->has_utilization = true;
        fi->utilization = demand_ratio(lk.host_level, x->tcp_usable);
        if (pr->has_remote) {
            fi->has_remote = true;
            fi->remote = pr->remote;
        }
        snprintf(beyond, sizeof(beyond), "), beyond the %.0f-day horizon but a leak all the same",
                 p->horizon_days);
        held_now = pr->held[t->last];
        bound_now = stats_present(pr->bound[t->last]) ? pr->bound[t->last] : 0;
        finding_summary(
            fi,
            "%s%s%s%s holds %.2f more ports every minute (%s an hour) and gives none back, "
            "steadily for %s: %s now, %s of them BOUND; the range (%s usable) %s %s%s%s%s",
            pr->name, pr->service[0] ? " (" : "", pr->service, pr->service[0] ? ")" : "",
            t->rate / 60, num(b1, sizeof(b1), t->rate),
            duration(b2, sizeof(b2), (double)(t->last + 1 - t->first)),
            num(b3, sizeof(b3), held_now), num(b4, sizeof(b4), bound_now),
            num(b5, sizeof(b5), x->tcp_usable), hours > 0 ? "is full in about" : "was full at",
            hours > 0 ? duration(b6, sizeof(b6), hours) : when(lk.exhaustion_at, tb),
            lk.beyond_horizon ? " (" : "", lk.beyond_horizon ? when(lk.exhaustion_at, tb) : "",
            lk.beyond_horizon ? beyond : "");
        if (win) {
            if (pr->service[0])
                finding_remedy(fi, "Restart-Service -Name %s -Force", pr->service);
            else
                finding_remedy(fi, "Stop-Process -Name %.*s -Force", (int)strcspn(pr->name, "."),
                               pr->name);
            finding_remedy(fi, "netstat -anobq");
            finding_remedy(fi,
                           "Get-NetTCPConnection | Group-Object -Property State, OwningProcess | "
                           "Select -Property Count, Name, @{Name=\"ProcessName\";Expression={(Get-"
                           "Process -PID ($_.Name.Split(',')[-1].Trim(' '))).Name}}, Group | Sort "
                           "Count -Descending");
        } else {
            if (pr->service[0])
                finding_remedy(fi, "systemctl restart %s", pr->service);
            else
                finding_remedy(fi, "pkill -x %s", pr->name);
            finding_remedy(fi, "ss -tanp | grep '\"%s\"'", pr->name);
        }
        if (pr->has_remote)
            finding_remedy(
                fi,
                "Contact the vendor of %s: it does not release the ports it uses, last seen "
                "talking to %s:%u; a restart only buys %s",
                pr->name, pr->remote.addr, (unsigned)pr->remote.port,
                duration(b1, sizeof(b1), x->tcp_usable / t->rate));
        else
            finding_remedy(fi, "Contact the vendor of %s: it does not release the ports it uses",
                           pr->name);
    }
    return PF_OK;
}

static enum pf_rc exhaustion_forecast(struct findings *fs, const struct fleet *f,
                                      const struct fleet_params *p, const struct fleet_host *x,
                                      const struct host_pressure *hp)
{
    struct finding *fi;
    struct plan_widen w;
    double hours;
    char b1[32], b2[32], b3[32], b4[32], b5[32];

    if (!hp->has_forecast)
        return PF_OK;
    hours = (double)(hp->exhaustion_at - p->now) / FLEET_HOUR;
    fi = findings_append(fs, FINDING_EXHAUSTION_FORECAST,
                         hours <= CRITICAL_DAYS * 24 ? SEVERITY_CRITICAL : SEVERITY_WARNING,
                         x->tenant, x->site, x);
    if (!fi)
        return PF_NOMEM;
    fi->has_rate = true;
    fi->rate_per_hour = hp->forecast_rate;
    fi->has_exhaustion = true;
    fi->exhaustion_at = hp->exhaustion_at;
    fi->has_interval = hp->has_interval;
    fi->early_at = hp->early_at;
    fi->has_late = hp->has_late;
    fi->late_at = hp->late_at;
    fi->has_utilization = true;
    fi->utilization = demand_ratio(hp->forecast_level, hp->forecast_limit);
    if (hp->forecast_growth.fit == STATS_GROWTH_COMPOUND)
        finding_summary(
            fi,
            "the daily peak of %s in use grows %.1f%% a day, compounded (%s a day now), "
            "over %zu days; from a peak of %s of %s the limit is reached in about %s",
            hp->forecast_what, hp->forecast_growth.rate * 100,
            num(b1, sizeof(b1), hp->forecast_growth.per_day), hp->forecast_growth.days,
            num(b3, sizeof(b3), hp->forecast_level), num(b4, sizeof(b4), hp->forecast_limit),
            duration(b5, sizeof(b5), hours > 0 ? hours : 0));
    else if (hp->forecast_growth.fit == STATS_GROWTH_LINEAR)
        finding_summary(
            fi,
            "the daily peak of %s in use grows %s a day, over %zu days; from a peak of %s "
            "of %s the limit is reached in about %s",
            hp->forecast_what, num(b1, sizeof(b1), hp->forecast_growth.per_day),
            hp->forecast_growth.days, num(b3, sizeof(b3), hp->forecast_level),
            num(b4, sizeof(b4), hp->forecast_limit),
            duration(b5, sizeof(b5), hours > 0 ? hours : 0));
    else
        finding_summary(
            fi,
            "%s in use rise %s an hour, steadily for %s; at %s of %s the limit is reached "
            "in about %s",
            hp->forecast_what, num(b1, sizeof(b1), hp->forecast_rate),
            duration(b2, sizeof(b2), (double)(p->now - hp->forecast_since) / FLEET_HOUR),
            num(b3, sizeof(b3), hp->forecast_level), num(b4, sizeof(b4), hp->forecast_limit),
            duration(b5, sizeof(b5), hours > 0 ? hours : 0));
    finding_remedy(
        fi, "Find what holds the ports: the port_leak finding of this host when there is one");
    if (fleet_host_is_windows(x))
        finding_remedy(fi, "netstat -anobq");
    else
        finding_remedy(fi, "ss -tanp");
    /* Widening buys a leaking host only time: port_leak says what to do. */
    plan_widen_host(x, &w);
    if (w.needed && !hp->leaking)
        widen_remedies(fi, &w);
    return PF_OK;
}

static enum pf_rc exhaustion_events(struct findings *fs, const struct fleet *f,
                                    const struct fleet_params *p, const struct fleet_host *x,
                                    const struct host_pressure *hp)
{
    struct fleet_events sum = {0, 0, 0, 0};
    double worst = 0, worst_ports = 0;
    long last_fail = -1, last_any = -1;
    struct finding *fi;
    struct plan_widen w;
    char b1[32], b2[32], parts[4][96];
    size_t np = 0;

    for (size_t h = 0; h < f->nhours; h++) {
        const struct fleet_events *e = &x->events[h];
        bool fail = e->tcpip_4231 || e->tcpip_4266;
        sum.tcpip_4227 += e->tcpip_4227;
        sum.tcpip_4231 += e->tcpip_4231;
        sum.tcpip_4266 += e->tcpip_4266;
        sum.netlogon_5719 += e->netlogon_5719;
        if (!fail && !e->tcpip_4227)
            continue;
        last_any = (long)h;
        if (fail)
            last_fail = (long)h;
        /* How full the range was in that hour (the worse protocol). */
        if (demand_ratio(x->tcp[h], x->tcp_usable) > worst) {
            worst = demand_ratio(x->tcp[h], x->tcp_usable);
            worst_ports = x->tcp[h];
        }
        if (e->tcpip_4266 && demand_ratio(x->udp[h], x->udp_usable) > worst) {
            worst = demand_ratio(x->udp[h], x->udp_usable);
            worst_ports = x->udp[h];
        }
    }
    if (last_any < 0)
        return PF_OK;
    fi = findings_append(fs, FINDING_EXHAUSTION_EVENTS,
                         last_fail >= 0 ? SEVERITY_CRITICAL : SEVERITY_WARNING, x->tenant, x->site,
                         x);
    if (!fi)
        return PF_NOMEM;
    if (last_fail >= 0) {
        fi->has_exhaustion = true;
        fi->exhaustion_at = fleet_hour_time(f, x, (size_t)last_fail);
    }
    fi->has_utilization = true;
    fi->utilization = worst;
    if (sum.tcpip_4231)
        snprintf(parts[np++], sizeof(parts[0]), "4231 (TCP port allocation failed) x%llu",
                 (unsigned long long)sum.tcpip_4231);
    if (sum.tcpip_4266)
        snprintf(parts[np++], sizeof(parts[0]), "4266 (UDP port allocation failed) x%llu",
                 (unsigned long long)sum.tcpip_4266);
    if (sum.tcpip_4227)
        snprintf(parts[np++], sizeof(parts[0]), "4227 (TIME_WAIT port reused) x%llu",
                 (unsigned long long)sum.tcpip_4227);
    if (sum.netlogon_5719)
        snprintf(parts[np++], sizeof(parts[0]), "5719 (NETLOGON: no secure channel) x%llu",
                 (unsigned long long)sum.netlogon_5719);
    finding_summary(
        fi,
        "Windows logged %s%s%s%s%s%s%s in the window; the range was %.0f%% full in those "
        "hours (%s of %s usable)",
        parts[0], np > 1 ? ", " : "", np > 1 ? parts[1] : "", np > 2 ? ", " : "",
        np > 2 ? parts[2] : "", np > 3 ? ", " : "", np > 3 ? parts[3] : "", worst * 100,
        num(b1, sizeof(b1), worst_ports), num(b2, sizeof(b2), x->tcp_usable));
    finding_remedy(fi, "netstat -anobq");
    finding_remedy(fi,
                   "Get-NetTCPConnection | Group-Object -Property State, OwningProcess | Select "
                   "-Property Count, Name, @{Name=\"ProcessName\";Expression={(Get-Process -PID "
                   "($_.Name.Split(',')[-1].Trim(' '))).Name}}, Group | Sort Count -Descending");
    finding_remedy(fi, "netsh int ipv4 show dynamicport tcp");
    plan_widen_host(x, &w);
    if (w.needed && !hp->leaking)
        widen_remedies(fi, &w);
    return PF_OK;
}

/* Excluded ports inside host x's TCP range: how many and in how many
 * blocks. */
static uint32_t excluded_in_range(const struct fleet_host *x, size_t *blocks)
{
    uint32_t start = x->tcp_range.start, end = start + x->tcp_range.count;

    *blocks = 0;
    for (size_t i = 0; i < x->nexcluded; i++) {
        uint32_t s = x->excluded[i].start, e = s + x->excluded[i].count;
        *blocks += s < end && e > start;
    }
    return x->has_tcp_range && x->tcp_range.count > x->tcp_usable
               ? x->tcp_range.count - x->tcp_usable
               : 0;
}

/* The range in words, appended to a summary: its name when it is the
 * OS default, and the excluded ports that make usable smaller than it (Hyper-V, HNS and WinNAT reserve 100-port
 * blocks inside the dynamic range and the blocks move at every reboot:
 * docker/for-win#3171, microsoft/WSL#5306). */
static void range_words(const struct fleet_host *x, char *buf, size_t len)
{
    size_t blocks;
    uint32_t ex = excluded_in_range(x, &blocks);
    char b1[32], b2[32], b3[32];
    bool win = fleet_host_is_windows(x);
    const char *name = win && x->tcp_range.count == 16384    ? "the Windows default range of "
                       : !win && x->tcp_range.count == 28232 ? "the Linux default range of "
                                                             : "";

    if (ex == 0) {
        snprintf(buf, len, "%s", !name[0] ? "" : win ? " (the Windows default range)" : " (the Linux default range)");
        return;
    }
    snprintf(buf, len,
             "; the range is %s%s ports, of which %s are excluded (%zu block%s inside the "
             "range%s), %s usable",
             name, num(b1, sizeof(b1), x->tcp_range.count), num(b2, sizeof(b2), ex), blocks,
             blocks == 1 ? "" : "s",
             win ? ": Hyper-V, HNS and WinNAT reserve 100-port blocks there, and they move at "
                   "every reboot"
                 : ": net.ipv4.ip_local_reserved_ports",
             num(b3, sizeof(b3), x->tcp_usable));
}

/* What to do about excluded ports: show them, free them, keep them out. */
static void excluded_remedies(struct finding *fi, const struct fleet_host *x)
{
    size_t blocks;

    if (excluded_in_range(x, &blocks) == 0)
        return;
    if (fleet_host_is_windows(x)) {
        finding_remedy(fi, "netsh int ipv4 show excludedportrange protocol=tcp");
        finding_remedy(fi, "netsh int ipv4 show excludedportrange protocol=udp");
        /* Restarting WinNAT gives its blocks back and reserves anew, often
         * outside the ports in use (docker/docs#15452). */
        finding_remedy(fi, "net stop winnat; net start winnat");
        finding_remedy(
            fi, "If the host needs no Hyper-V, containers or WSL (a connector host should "
                "not): Uninstall-WindowsFeature -Name Hyper-V, then reboot: its reservations "
                "go with it");
        finding_remedy(fi,
                       "Widening the dynamic range (below) leaves the blocks the same size: the "
                       "usable count after it is the new range minus them");
    } else {
        finding_remedy(fi, "sysctl net.ipv4.ip_local_reserved_ports");
        finding_remedy(fi, "sysctl -w net.ipv4.ip_local_reserved_ports=\"\" (and remove it from "
                           "/etc/sysctl.d), unless a service needs those ports");
    }
}

/* The binding protocol's peak in words: every figure names its protocol
 * (a UDP peak beside a TCP maximum reads as one number of the other). */
static void pressure_words(const struct fleet_host *x, const struct host_pressure *hp, char *buf,
                           size_t len)
{
    bool udp = hp->worst == PRESSURE_UDP;
    double peak = udp ? hp->udp_peak : hp->tcp_peak, max = udp ? hp->udp_max : hp->tcp_max;
    const struct pf_range *r = udp && x->has_udp_range ? &x->udp_range : &x->tcp_range;
    char b1[32], b2[32], b3[32];

    snprintf(buf, len,
             "peak %s %s ports in use (p99 of hourly maxima, max %s %s) of %s usable in %u-%u",
             num(b1, sizeof(b1), stats_present(peak) ? peak : 0), udp ? "UDP" : "TCP",
             num(b2, sizeof(b2), stats_present(max) ? max : 0), udp ? "UDP" : "TCP",
             num(b3, sizeof(b3), udp ? x->udp_usable : x->tcp_usable), (unsigned)r->start,
             (unsigned)(r->start + r->count - 1));
}

static enum pf_rc range_too_small(struct findings *fs, const struct fleet *f,
                                  const struct fleet_params *p, const struct fleet_host *x,
                                  const struct host_pressure *hp)
{
    struct plan_widen w;
    enum finding_severity sev;
    bool cf = fleet_host_has_role(x, "cloudflared");
    struct finding *fi;
    char b1[32], b3[32], b4[32], what[FINDING_TEXT_LEN], words[FINDING_TEXT_LEN];

    plan_widen_host(x, &w);
    if (!w.needed || !x->has_tcp_range)
        return PF_OK;
    if (hp->utilization >= CRITICAL_UTIL)
        sev = SEVERITY_CRITICAL;
    else if (hp->utilization > p->target_utilization)
        sev = SEVERITY_WARNING;
    else if (cf)
        sev = SEVERITY_INFO;
    else
        return PF_OK;
    fi = findings_append(fs, FINDING_RANGE_TOO_SMALL, sev, x->tenant, x->site, x);
    if (!fi)
        return PF_NOMEM;
    fi->has_utilization = true;
    fi->utilization = hp->utilization;
    if (hp->worst == PRESSURE_DEST)
        snprintf(what, sizeof(what),
                 "its top destination %s:%u holds %s connections at peak (p99 of hourly "
                 "maxima), and on Linux one destination can use at most the whole range of %s "
                 "(%u-%u)",
                 x->has_top_dest ? x->top_dest_last.addr : "?",
                 x->has_top_dest ? (unsigned)x->top_dest_last.port : 0u,
                 num(b1, sizeof(b1), hp->top_dest_peak), num(b3, sizeof(b3), x->tcp_range.count),
                 (unsigned)x->tcp_range.start,
                 (unsigned)(x->tcp_range.start + x->tcp_range.count - 1));
    else
        pressure_words(x, hp, what, sizeof(what));
    range_words(x, words, sizeof(words));
    finding_summary(
        fi, "%s: %.0f%%%s; %s%s ports (start=%u)%s%s", what, hp->utilization * 100, words,
        cf ? "Cloudflare allocates cloudflared " : "widen to ", num(b4, sizeof(b4), w.num),
        (unsigned)w.start,
        cf ? " per host (about 4,000 users per host)" : ", then add hosts past 50,000",
        cf && hp->worst == PRESSURE_UDP
            ? "; Cloudflare: a DNS query through cloudflared holds its UDP port about 5 s"
            : "");
    excluded_remedies(fi, x);
    widen_remedies(fi, &w);
    if (fleet_host_is_windows(x) && fi->nremediation < FINDING_REMEDIATION_MAX &&
        excluded_in_range(x, &(size_t){0}) == 0)
        finding_remedy(fi, "netsh int ipv4 show excludedportrange protocol=tcp");
    return PF_OK;
}

/* The vendor's word for the hosts of a site, from its roles. */
static const char *site_hosts_word(const struct fleet *f, const char *tenant, const char *site)
{
    for (size_t i = 0; i < f->nhosts; i++) {
        const struct fleet_host *x = &f->hosts[i];
        if (!fleet_host_in_site(x, tenant, site))
            continue;
        if (fleet_host_has_role(x, "cloudflared"))
            return "cloudflared hosts (>= 4 cores, >= 4 GB RAM, 50,000 ports each)";
        if (fleet_host_has_role(x, "entra"))
            return "private network connector servers in the same connector group (>= 4 cores, "
                   ">= 8 GB RAM)";
        if (x->has_vpn)
            return "RRAS VPN servers behind the load balancer";
    }
    return "hosts";
}

static enum pf_rc add_hosts(struct findings *fs, const struct fleet *f, const struct plan_site *s)
{
    struct finding *fi;
    char b1[32], b2[32], b3[32], b4[32];

    if (s->add_hosts == 0)
        return PF_OK;
    if (s->binding != PLAN_BIND_PORTS)
        return findings_resources_add_hosts(fs, f, s, site_hosts_word(f, s->tenant, s->site));
    fi = findings_append(fs, FINDING_ADD_HOSTS,
                         s->overloaded_now ? SEVERITY_CRITICAL : SEVERITY_WARNING, s->tenant,
                         s->site, NULL);
    if (!fi)
        return PF_NOMEM;
    fi->has_utilization = true;
    fi->utilization =
        s->capacity_per_host > 0 && s->hosts
            ? s->p99 / (s->capacity_per_host / s->target_utilization * (double)s->hosts)
            : 0;
    finding_summary(
        fi,
        "site %s needs %zu hosts, has %zu: demand %s %s ports (p99 of the site's hourly sum "
        "%s, growing %.0f a day over %.0f days); one host carries %s (%.0f%% of %s "
        "usable%s), plus one spare",
        s->site, s->recommended_hosts, s->hosts, num(b1, sizeof(b1), s->demand),
        s->binding_protocol && strcmp(s->binding_protocol, "udp") == 0 ? "UDP" : "TCP",
        num(b2, sizeof(b2), s->p99), s->growth_per_day, s->horizon_days,
        num(b3, sizeof(b3), s->capacity_per_host), s->target_utilization * 100,
        num(b4, sizeof(b4), s->capacity_per_host / s->target_utilization),
        s->nchanges ? ", after widening the ranges" : "");
    finding_remedy(fi, "Add %zu %s to site %s", s->add_hosts,
                   site_hosts_word(f, s->tenant, s->site), s->site);
    if (s->nchanges)
        finding_remedy(fi, "Widen the ranges first (free): see range_changes in the plan");
    return PF_OK;
}

static enum pf_rc redundancy(struct findings *fs, const struct fleet *f, const struct plan_site *s)
{
    struct finding *fi;

    if (s->reporting_hosts >= PLAN_MIN_HOSTS)
        return PF_OK;
    fi = findings_append(fs, FINDING_REDUNDANCY,
                         s->reporting_hosts == 0 ? SEVERITY_CRITICAL : SEVERITY_WARNING, s->tenant,
                         s->site, NULL);
    if (!fi)
        return PF_NOMEM;
    finding_summary(fi,
                    "site %s has %zu reporting host%s (%zu known): one failure or one patch night "
                    "takes it down; Cloudflare asks 2 hosts per network location, Microsoft 2 "
                    "connectors per group",
                    s->site, s->reporting_hosts, s->reporting_hosts == 1 ? "" : "s", s->hosts);
    finding_remedy(fi, "Add %zu %s to site %s", PLAN_MIN_HOSTS - s->reporting_hosts,
                   site_hosts_word(f, s->tenant, s->site), s->site);
    return PF_OK;
}

static enum pf_rc snat_ikev2(struct findings *fs, const struct fleet *f,
                             const struct fleet_params *p, const struct fleet_host *x)
{
    const struct fleet_vpn *v = &x->vpn;
    double share;
    bool raised;
    struct finding *fi;

    if (!x->has_vpn || v->ikev2 < SNAT_MIN_IKEV2)
        return PF_OK;
    share = v->connections ? (double)v->top.count / (double)v->connections : 0;
    if (v->distinct_clients > SNAT_MAX_DISTINCT && share < SNAT_TOP_SHARE)
        return PF_OK;
    raised = x->has_ike_value && x->ike_value > 0;
    fi = findings_append(fs, FINDING_SNAT_IKEV2, raised ? SEVERITY_WARNING : SEVERITY_CRITICAL,
                         x->tenant, x->site, x);
    if (!fi)
        return PF_NOMEM;
    if (v->top.addr[0]) {
        fi->has_remote = true;
        snprintf(fi->remote.addr, sizeof(fi->remote.addr), "%s", v->top.addr);
        fi->remote.port = 500;
        fi->remote.count = v->top.count;
    }
    finding_summary(
        fi,
        "%llu IKEv2 connections (%llu in all) come from %llu client address%s, %s with "
        "%llu: a load balancer or NAT translates the source, and Windows limits IPsec SAs "
        "per source address (error 809 under load); IkeNumEstablishedForInitialQuery is %s",
        (unsigned long long)v->ikev2, (unsigned long long)v->connections,
        (unsigned long long)v->distinct_clients, v->distinct_clients == 1 ? "" : "es",
        v->top.addr[0] ? v->top.addr : "the top one", (unsigned long long)v->top.count,
        raised ? "already raised (a partial workaround)" : "not set");
    if (raised) {
        char *s = fi->summary + strlen(fi->summary);
        snprintf(s, sizeof(fi->summary) - (size_t)(s - fi->summary), " to %u",
                 (unsigned)x->ike_value);
    }
    finding_remedy(fi, "F5 BIG-IP: virtual servers IKEv2 UDP 500 and UDP 4500, Properties > "
                       "Configuration: Source Address Translation = None");
    finding_remedy(fi,
                   "Citrix ADC: System > Settings > Configure Modes: Use Subnet IP; then Traffic "
                   "Management > Load Balancing > Service Groups, IKEv2 UDP 500 and UDP 4500: "
                   "Settings > Use Client IP");
    finding_remedy(
        fi, "Kemp LoadMaster: Virtual Services > View/Modify Services, IKEv2 UDP 500 and UDP "
            "4500: Standard Options > Transparency");
    finding_remedy(fi, "Loadbalancer.org: Layer 4 virtual service, Ports 500,4500, Protocol UDP, "
                       "Forwarding Method NAT (destination NAT only)");
    finding_remedy(fi, "Then route the VPN server's default gateway through the load balancer");
    if (!raised || x->ike_value < 50000) {
        finding_remedy(fi,
                       "Partial workaround, on every RRAS server: New-ItemProperty -Path "
                       "'HKLM:SYSTEM\\CurrentControlSet\\Services\\IKEEXT\\Parameters\\' -Name "
                       "IkeNumEstablishedForInitialQuery -PropertyType DWORD -Value 50000 -Force");
        finding_remedy(fi, "Restart-Service IKEEXT -Force -PassThru");
    }
    return PF_OK;
}

/* Roles whose hosts carry unequal load by design: cloudflared sends each
 * request to the nearest replica, with no steering (Cloudflare's tunnel
 * docs), so one replica carrying most of it is no finding. */
static bool imbalance_normal(const struct fleet_host *x)
{
    return !x->has_vpn && fleet_host_has_role(x, "cloudflared");
}

/* Appends to fi's summary (which ends in ": ") why one host carries more,
 * in the words of its role, and the remediation that fits it. */
static void imbalance_advice(struct finding *fi, const struct fleet *f,
                             const struct fleet_host *x)
{
    size_t used = strlen(fi->summary);
    char *tail = fi->summary + used, b1[32], b2[32];
    size_t room = sizeof(fi->summary) - used;
    long last = demand_last_hour(x->tcp, f->nhours);
    double owned = 0, total = last >= 0 ? x->tcp[last] : 0;
    const struct fleet_proc *top = NULL;

    for (size_t i = 0; last >= 0 && i < x->nprocs; i++) {
        double v = x->procs[i].held[last];
        if (!stats_present(v))
            continue;
        owned += v;
        if (!top || v > top->held[last])
            top = &x->procs[i];
    }
    if (x->has_vpn) {
        /* Seed 002: Always On VPN clients only use the first server. */
        snprintf(tail, room, "Always On VPN clients only use the first server of the profile; "
                             "listing more servers gives neither balance nor automatic failover");
        finding_remedy(
            fi, "Publish one name for the site behind a load balancer (F5, Citrix ADC, Kemp, "
                "Loadbalancer.org) or a traffic manager (Azure Traffic Manager), not a "
                "longer server list");
        finding_remedy(fi, "Loadbalancer.org: Layer 4 virtual services, UDP 500,4500 (IKEv2) and "
                           "TCP 443 (SSTP), Forwarding Method NAT, every RRAS server as a real "
                           "server");
        return;
    }
    if (fleet_host_has_role(x, "entra")) {
        /* Microsoft (Graph, connectorGroup): the connectors of a group act
         * as one unit for high availability and load balancing. Unequal
         * ports then point at the host, not at where clients go. */
        snprintf(tail, room,
                 "the connectors of a connector group share its work by themselves (Microsoft: "
                 "one unit for high availability and load balancing), so the cause is on %s: "
                 "of its %s ports in use %s are held by no process (TIME_WAIT: Windows keeps a "
                 "closed connection's port 240 s by default, TcpTimedWaitDelay)%s%s",
                 x->name, num(b1, sizeof(b1), total),
                 num(b2, sizeof(b2), total > owned ? total - owned : 0),
                 top ? "; the process holding the most: " : "", top ? top->name : "");
        finding_remedy(fi, "Get-NetTCPConnection -State TimeWait | Group-Object -Property "
                           "RemoteAddress,RemotePort | Sort Count -Descending | Select -First 10 "
                           "Count,Name");
        finding_remedy(fi, "netstat -anobq");
        finding_remedy(fi, "Check in the Microsoft Entra admin center (private network connectors) "
                           "that every connector of the group is active and on the same version");
        return;
    }
    snprintf(tail, room, "the clients do not spread over the hosts");
    finding_remedy(fi,
                   "Publish one name for the site behind a load balancer (F5, Citrix ADC, Kemp, "
                   "Loadbalancer.org) or a traffic manager (Azure Traffic Manager), not a "
                   "longer server list");
}

/* What load_imbalance compares hosts by: RRAS hosts by VPN connections,
 * others (grouped by their first role) by their mean demand, which leaves
 * out what leaking processes hold (a leak is not load). */
static const char *load_group(const struct fleet_host *x)
{
    if (x->has_vpn)
        return "\001vpn";
    return x->nroles ? x->roles[0] : "";
}

static enum pf_rc load_imbalance(struct findings *fs, const struct fleet *f,
                                 const struct fleet_params *p, const struct host_pressure *hp,
                                 const struct plan_site *s)
{
    /* The site's reporting hosts, in fleet order, found once: the groups
     * below compare them with each other, not with the whole fleet (a
     * 10,000-host fleet of 100 sites would compare 50 million pairs). */
    size_t *in = malloc((f->nhosts ? f->nhosts : 1) * sizeof(*in)), nin = 0;

    if (!in)
        return PF_NOMEM;
    for (size_t i = 0; i < f->nhosts; i++)
        if (fleet_host_in_site(&f->hosts[i], s->tenant, s->site) &&
            !plan_host_silent(&f->hosts[i], p))
            in[nin++] = i;
    /* Each group once: the first host of the site carrying it. */
    for (size_t a = 0; a < nin; a++) {
        const struct fleet_host *x = &f->hosts[in[a]], *busiest = NULL;
        const char *g = load_group(x);
        bool vpn = x->has_vpn, first = true;
        double total = 0, top = -1;
        size_t n = 0;
        struct finding *fi;
        char b1[32], b2[32], b3[32];

        for (size_t b = 0; b < a && first; b++)
            first = strcmp(load_group(&f->hosts[in[b]]), g) != 0;
        if (!first)
            continue;
        for (size_t b = a; b < nin; b++) {
            size_t j = in[b];
            const struct fleet_host *y = &f->hosts[j];
            double m;
            if (strcmp(load_group(y), g) != 0)
                continue;
            m = vpn ? demand_mean(y->vpn_conn, f->nhours) : hp[j].demand_mean;
            total += m;
            n++;
            if (m > top) {
                top = m;
                busiest = y;
            }
        }
        if (n < 2 || !busiest || imbalance_normal(busiest))
            continue;
        double others = (total - top) / (double)(n - 1);
        if (top < IMBALANCE_RATIO * others)
            continue;
        if (vpn ? top < IMBALANCE_MIN_VPN : top < IMBALANCE_MIN_UTIL * busiest->tcp_usable)
            continue;
        fi = findings_append(fs, FINDING_LOAD_IMBALANCE, SEVERITY_WARNING, s->tenant, s->site,
                             busiest);
        if (!fi) {
            free(in);
            return PF_NOMEM;
        }
        fi->has_utilization = true;
        fi->utilization = total > 0 ? top / total : 0;
        finding_summary(
            fi,
            "%s carries %.0f%% of site %s's %s (on average %s of %s); the other %zu host%s "
            "average %s: ",
            busiest->name, fi->utilization * 100, s->site, vpn ? "VPN connections" : "ports in use",
            num(b1, sizeof(b1), top), num(b2, sizeof(b2), total), n - 1, n == 2 ? "" : "s",
            num(b3, sizeof(b3), others));
        imbalance_advice(fi, f, busiest);
    }
    free(in);
    return PF_OK;
}

static enum pf_rc host_silent(struct findings *fs, const struct fleet *f,
                              const struct fleet_params *p, const struct fleet_host *x)
{
    struct finding *fi;
    double util;
    char when[PF_TIME_LEN], b1[32], b2[32], b3[32];

    if (!plan_host_silent(x, p))
        return PF_OK;
    util = demand_ratio((double)x->last_tcp_in_use, x->tcp_usable);
    fi = findings_append(fs, FINDING_HOST_SILENT,
                         util >= CRITICAL_UTIL ? SEVERITY_CRITICAL : SEVERITY_WARNING, x->tenant,
                         x->site, x);
    if (!fi)
        return PF_NOMEM;
    fi->has_utilization = true;
    fi->utilization = util;
    if (x->last_seen == 0) {
        finding_summary(fi, "never sent a snapshot");
    } else {
        if (pf_time_format(x->last_seen, when) != PF_OK)
            snprintf(when, sizeof(when), "?");
        finding_summary(
            fi,
            "no snapshot for %s (last %s, every %u s); at its last snapshot %s of %s usable "
            "ports were in use (%.0f%%)%s",
            duration(b1, sizeof(b1), (double)(p->now - x->last_seen) / FLEET_HOUR), when,
            (unsigned)x->interval_s, num(b2, sizeof(b2), (double)x->last_tcp_in_use),
            num(b3, sizeof(b3), x->tcp_usable), util * 100,
            util >= CRITICAL_UTIL ? ": the range is probably full, and a host out of ports "
                                    "cannot report either"
                                  : "");
    }
    finding_remedy(fi,
                   "Check the host: if it answers ping and RDP but outbound connections fail, its "
                   "ports are exhausted; find the holder before rebooting");
    if (fleet_host_is_windows(x))
        finding_remedy(fi, "netstat -anobq");
    else
        finding_remedy(fi, "ss -tanp");
    return PF_OK;
}

static int cmp_finding(const void *a, const void *b)
{
    const struct finding *x = a, *y = b;
    int c;

    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    if ((c = strcmp(x->tenant, y->tenant)) != 0)
        return c;
    if ((c = strcmp(x->site, y->site)) != 0)
        return c;
    if ((c = strcmp(x->host, y->host)) != 0)
        return c;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if ((c = strcmp(x->process_name, y->process_name)) != 0)
        return c;
    if ((c = strcmp(x->resource, y->resource)) != 0)
        return c;
    return strcmp(x->protocol, y->protocol);
}

enum pf_rc findings_build(const struct fleet *f, const struct plan *pl,
                          const struct fleet_params *p, const struct host_pressure *pressure,
                          struct findings **out)
{
    struct findings *fs;
    enum pf_rc rc = PF_OK;

    *out = NULL;
    struct host_pressure *own = NULL;

    fs = calloc(1, sizeof(*fs));
    if (!fs)
        return PF_NOMEM;
    if (!pressure) {
        own = calloc(f->nhosts ? f->nhosts : 1, sizeof(*own));
        if (!own)
            rc = PF_NOMEM;
        for (size_t i = 0; i < f->nhosts && !rc; i++)
            rc = demand_host_pressure(f, &f->hosts[i], p, &own[i]);
        pressure = own;
    }
    for (size_t i = 0; i < f->nhosts && !rc; i++) {
        const struct fleet_host *x = &f->hosts[i];
        const struct host_pressure *hp = &pressure[i];
        rc = port_leak(fs, f, p, x, hp);
        if (!rc)
            rc = exhaustion_forecast(fs, f, p, x, hp);
        if (!rc)
            rc = exhaustion_events(fs, f, p, x, hp);
        if (!rc)
            rc = range_too_small(fs, f, p, x, hp);
        if (!rc)
            rc = snat_ikev2(fs, f, p, x);
        if (!rc)
            rc = host_silent(fs, f, p, x);
        if (!rc)
            rc = findings_resources_host(fs, f, p, x);
    }
    for (size_t j = 0; j < pl->nsites && !rc; j++) {
        rc = add_hosts(fs, f, &pl->sites[j]);
        if (!rc)
            rc = redundancy(fs, f, &pl->sites[j]);
        if (!rc)
            rc = load_imbalance(fs, f, p, pressure, &pl->sites[j]);
    }
    free(own);
    if (rc) {
        findings_free(fs);
        return rc;
    }
    if (fs->n)
        qsort(fs->v, fs->n, sizeof(*fs->v), cmp_finding);
    *out = fs;
    return PF_OK;
}
