/* SPDX-License-Identifier: MIT */
/* test_findings.c: each finding kind on constructed hourly series: the
 * seed stories must give exactly their findings (culprit, rate, time to
 * exhaustion, commands) and the decoys and healthy hosts none at all. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "capacity_fixture.h"
#include "findings.h"
#include "plan.h"
#include "stats.h"
#include "test.h"
#include "timeutil.h"

#define NOW FIXTURE_NOW

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static double noise(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / (double)(1ULL << 52) - 1.0;
}

/* One host's ports over time: a base, office hours, a leak from t0 (that
 * may level off at t1), a one-off jump, a one-hour spike, noise. */
struct model {
    double base, office, noise;
    double rate; /* ports per hour */
    int64_t t0, t1;
    int64_t jump_at;
    double jump;
    int64_t spike_at;
    double spike;
};

static double model_at(const struct model *m, int64_t t)
{
    double v = m->base + m->noise * noise();
    int64_t hod = t % 86400 / 3600;

    if (hod >= 8 && hod < 18)
        v += m->office;
    if (m->rate > 0 && t > m->t0) {
        int64_t end = m->t1 && t > m->t1 ? m->t1 : t;
        v += m->rate * (double)(end - m->t0) / 3600.0;
    }
    if (m->jump_at && t >= m->jump_at)
        v += m->jump;
    if (m->spike_at && t / 3600 == m->spike_at / 3600)
        v += m->spike;
    return v < 0 ? 0 : v;
}

static void params(struct fleet_params *p)
{
    fleet_params_default(p);
    p->now = NOW;
}

/* Fills a series with the hourly maxima of m (12 samples an hour) up to
 * the host's last snapshot. */
static void fill(struct fleet *f, const struct fleet_host *x, double *v, const struct model *m)
{
    for (size_t h = 0; h < f->nhours; h++) {
        int64_t t0 = f->start + (int64_t)h * 3600;
        double mx = NAN;
        for (int64_t t = t0 + 300; t <= t0 + 3600 && t <= x->last_seen; t += 300) {
            double y = model_at(m, t);
            if (!(mx >= y))
                mx = y;
        }
        if (t0 + 300 > x->last_seen && t0 < x->last_seen)
            mx = model_at(m, x->last_seen);
        v[h] = mx;
    }
}

static void fill_tcp(struct fleet *f, struct fleet_host *x, const struct model *m)
{
    fill(f, x, x->tcp, m);
    x->last_tcp_in_use = (uint64_t)model_at(m, x->last_seen);
}

struct run {
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl;
    struct findings *fs;
};

static int analyse(struct run *r)
{
    if (plan_build(r->f, &r->p, &r->pl) != PF_OK)
        return -1;
    return findings_build(r->f, r->pl, &r->p, NULL, &r->fs) == PF_OK ? 0 : -1;
}

static void run_free(struct run *r)
{
    findings_free(r->fs);
    plan_free(r->pl);
    fleet_free(r->f);
}

static size_t count_kind(const struct findings *fs, enum finding_kind k, const char *host)
{
    size_t n = 0;
    for (size_t i = 0; i < fs->n; i++)
        n += fs->v[i].kind == k && (!host || strcmp(fs->v[i].host, host) == 0);
    return n;
}

static const struct finding *find(const struct findings *fs, enum finding_kind k, const char *host)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->v[i].kind == k && (!host || strcmp(fs->v[i].host, host) == 0))
            return &fs->v[i];
    return NULL;
}

static bool has_remedy(const struct finding *fi, const char *text)
{
    for (size_t i = 0; i < fi->nremediation; i++)
        if (strcmp(fi->remediation[i], text) == 0)
            return true;
    return false;
}

static void dump(const struct findings *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        fprintf(stderr, "  %s %s %s/%s: %s\n", finding_severity_name(fs->v[i].severity),
                finding_kind_name(fs->v[i].kind), fs->v[i].site, fs->v[i].host, fs->v[i].summary);
}

/* A healthy partner so a site is not flagged for redundancy. */
static void healthy(struct fleet *f, const char *id, const char *site, const char *os,
                    const char *role, uint32_t start, uint32_t count, double base)
{
    struct model m = {.base = base, .noise = 40};
    fill_tcp(f, fixture_host(f, id, site, os, role, start, count), &m);
}

/* Seed 004: DnsFilterService leaks BOUND ports at 1.75/min since its last
 * restart 60 hours ago (before that, the previous cycle). */
TEST(seed004_leak)
{
    struct run r = {0};
    struct fleet_host *x;
    struct fleet_proc *pr;
    const struct finding *fi;
    const double rate = 1.75 * 60, base = 1500;
    const int64_t restart = NOW - 60 * 3600;
    struct model host = {.base = base, .noise = 30, .rate = rate, .t0 = restart};
    struct model proc = {.base = 0, .noise = 4, .rate = rate, .t0 = restart};
    struct model before = {.base = 0, .noise = 4, .rate = rate, .t0 = restart - 130 * 3600};
    double expect_hours, got_hours;
    char want[PF_TIME_LEN];

    params(&r.p);
    r.f = fleet_new(&r.p);
    x = fixture_host(r.f, "CONN-NYC-01", "nyc", "windows", "entra-connector", 49152, 16384);
    fill_tcp(r.f, x, &host);
    pr = fleet_proc_get(r.f, x, "DnsFilterService.exe", "DnsFilterSvc");
    fill(r.f, x, pr->held, &proc);
    for (size_t h = 0; h < r.f->nhours; h++) {
        int64_t t = r.f->start + (int64_t)(h + 1) * 3600;
        if (t <= restart) /* the previous cycle, up to the restart */
            pr->held[h] = model_at(&before, t);
        pr->held_min[h] = stats_present(pr->held[h]) ? pr->held[h] - rate / 12 : NAN;
        pr->bound[h] = stats_present(pr->held[h]) ? pr->held[h] * 0.95 : NAN;
        if (stats_present(pr->held[h]) && pr->held[h] < FLEET_PROC_MIN_HELD)
            pr->held[h] = pr->held_min[h] = pr->bound[h] = NAN;
    }
    pr->has_remote = true;
    snprintf(pr->remote.addr, sizeof(pr->remote.addr), "169.254.169.254");
    pr->remote.port = 80;
    healthy(r.f, "CONN-NYC-02", "nyc", "windows", "entra-connector", 49152, 16384, 1500);
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);

    fi = find(r.fs, FINDING_PORT_LEAK, "CONN-NYC-01");
    T_ASSERT(fi);
    T_EQ_STR(fi->process_name, "DnsFilterService.exe");
    T_EQ_STR(fi->process_service, "DnsFilterSvc");
    T_ASSERT(fabs(fi->rate_per_hour - rate) <= 0.1 * rate);
    T_ASSERT(fi->has_remote);
    T_EQ_STR(fi->remote.addr, "169.254.169.254");
    T_EQ_INT(fi->remote.port, 80);
    T_ASSERT(has_remedy(fi, "Restart-Service -Name DnsFilterSvc -Force"));
    T_ASSERT(has_remedy(fi, "netstat -anobq"));
    T_CONTAINS(fi->summary, "BOUND");
    /* Truth: base + rate * (t - restart) reaches 16,384. */
    expect_hours = (16384 - base) / rate - (double)(NOW - restart) / 3600;
    got_hours = (double)(fi->exhaustion_at - NOW) / 3600;
    pf_time_format(fi->exhaustion_at, want);
    fprintf(stderr, "  leak exhaustion in %.1f h (truth %.1f h), at %s\n", got_hours, expect_hours,
            want);
    T_ASSERT(fabs(got_hours - expect_hours) <= 0.1 * expect_hours);
    T_EQ_INT(fi->severity, SEVERITY_CRITICAL);
    T_ASSERT(fi->has_interval); /* the host's forecast's */
    T_ASSERT(fi->early_at <= fi->exhaustion_at);

    fi = find(r.fs, FINDING_EXHAUSTION_FORECAST, "CONN-NYC-01");
    T_ASSERT(fi);
    T_ASSERT(fabs(fi->rate_per_hour - rate) <= 0.1 * rate);
    T_ASSERT(fabs((double)(fi->exhaustion_at - NOW) / 3600 - expect_hours) <= 0.1 * expect_hours);
    /* Its interval holds the date and the truth, and is hours wide, not
     * days: a steady leak with little noise is a sure forecast. */
    T_ASSERT(fi->has_interval && fi->has_late);
    fprintf(stderr, "  forecast interval %.1f .. %.1f h\n", (double)(fi->early_at - NOW) / 3600,
            (double)(fi->late_at - NOW) / 3600);
    T_ASSERT(fi->early_at <= fi->exhaustion_at && fi->exhaustion_at <= fi->late_at);
    T_ASSERT((double)(fi->early_at - NOW) / 3600 <= expect_hours + 1);
    T_ASSERT((double)(fi->late_at - NOW) / 3600 >= expect_hours - 1);
    T_ASSERT(fi->late_at - fi->early_at < 24 * 3600);
    T_EQ_INT(r.fs->n, 2); /* nothing else, nothing on the healthy host */
    run_free(&r);
}

/* Decoys: a business-day process, growth that levels off, a one-off jump,
 * a one-hour spike: no finding at all. */
TEST(decoys_have_no_findings)
{
    struct run r = {0};
    struct fleet_host *x;
    struct fleet_proc *pr;
    struct model office_host = {.base = 800, .office = 6000, .noise = 150};
    struct model office_proc = {.base = 30, .office = 5500, .noise = 100};
    struct model plateau = {
        .base = 1000, .noise = 30, .rate = 60, .t0 = NOW - 160 * 3600, .t1 = NOW - 90 * 3600};
    struct model jump = {.base = 2000, .noise = 30, .jump_at = NOW - 30 * 3600, .jump = 3000};
    struct model spike = {.base = 2000, .noise = 30, .spike_at = NOW - 50 * 3600, .spike = 13000};

    params(&r.p);
    r.f = fleet_new(&r.p);
    x = fixture_host(r.f, "OFFICE-1", "decoy", "windows", "entra-connector", 49152, 16384);
    fill_tcp(r.f, x, &office_host);
    pr = fleet_proc_get(r.f, x, "WAPCSvc.exe", "WAPCSvc");
    fill(r.f, x, pr->held, &office_proc);
    for (size_t h = 0; h < r.f->nhours; h++) /* nights give everything back */
        pr->held_min[h] = pr->held[h] > 1000 ? pr->held[h] * 0.6 : pr->held[h];
    x = fixture_host(r.f, "PLATEAU-1", "decoy", "windows", "entra-connector", 49152, 16384);
    fill_tcp(r.f, x, &plateau);
    pr = fleet_proc_get(r.f, x, "AppSvc.exe", "AppSvc");
    plateau.base = 0;
    fill(r.f, x, pr->held, &plateau);
    memcpy(pr->held_min, pr->held, r.f->nhours * sizeof(double));
    x = fixture_host(r.f, "JUMP-1", "decoy", "windows", "entra-connector", 49152, 16384);
    fill_tcp(r.f, x, &jump);
    pr = fleet_proc_get(r.f, x, "Batch.exe", "");
    jump.base = 50;
    fill(r.f, x, pr->held, &jump);
    memcpy(pr->held_min, pr->held, r.f->nhours * sizeof(double));
    x = fixture_host(r.f, "SPIKE-1", "decoy", "windows", "entra-connector", 49152, 16384);
    fill_tcp(r.f, x, &spike);
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    T_EQ_INT(r.fs->n, 0);
    run_free(&r);
}

/* Seed 000: Entra connectors at the default range, peaks near 80%. */
TEST(seed000_range_too_small_windows)
{
    struct run r = {0};
    struct model busy = {.base = 3000, .office = 10000, .noise = 100};
    const struct finding *fi;

    params(&r.p);
    r.f = fleet_new(&r.p);
    fill_tcp(r.f, fixture_host(r.f, "ENTRA-1", "lon", "windows", "entra-connector", 49152, 16384),
             &busy);
    healthy(r.f, "ENTRA-2", "lon", "windows", "entra-connector", 49152, 16384, 3000);
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    fi = find(r.fs, FINDING_RANGE_TOO_SMALL, "ENTRA-1");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_WARNING);
    T_ASSERT(has_remedy(fi, "netsh int ipv4 set dynamicport tcp start=10000 num=55535"));
    T_ASSERT(has_remedy(fi, "netsh int ipv4 set dynamicport udp start=10000 num=55535"));
    T_ASSERT(has_remedy(fi, "netsh int ipv6 set dynamicport tcp start=10000 num=55535"));
    T_ASSERT(has_remedy(fi, "netsh int ipv6 set dynamicport udp start=10000 num=55535"));
    T_CONTAINS(fi->summary, "the Windows default range");
    T_EQ_INT(count_kind(r.fs, FINDING_RANGE_TOO_SMALL, NULL), 1);
    T_EQ_INT(r.fs->n, 1);
    run_free(&r);
}

/* A Linux host whose one destination takes 80% of the default range. */
TEST(linux_top_destination_range_too_small)
{
    struct run r = {0};
    struct fleet_host *x;
    struct model ports = {.base = 9000, .noise = 100};
    struct model dest = {.base = 22600, .noise = 100};
    const struct finding *fi;

    params(&r.p);
    r.f = fleet_new(&r.p);
    x = fixture_host(r.f, "CF-LNX-1", "fra", "linux", "cloudflared", 32768, 28232);
    fill_tcp(r.f, x, &ports);
    fill(r.f, x, x->top_dest, &dest);
    x = fixture_host(r.f, "CF-LNX-2", "fra", "linux", "cloudflared", 11000, 50000);
    fill_tcp(r.f, x, &ports);
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    fi = find(r.fs, FINDING_RANGE_TOO_SMALL, "CF-LNX-1");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_WARNING);
    T_ASSERT(has_remedy(fi, "sysctl -w net.ipv4.ip_local_port_range=\"11000 60999\""));
    T_ASSERT(has_remedy(fi, "echo 'net.ipv4.ip_local_port_range = 11000 60999' > "
                            "/etc/sysctl.d/90-portfleet-port-range.conf"));
    T_ASSERT(fabs(fi->utilization - 22600.0 / 28232) < 0.02);
    T_EQ_INT(r.fs->n, 1);
    run_free(&r);
}

/* Seed 003: cloudflared on Windows gets the 50,000-port range even when
 * quiet (info); when busy, a warning. */
TEST(seed003_cloudflared_windows)
{
    struct run r = {0};
    struct model quiet = {.base = 2000, .noise = 50};
    const struct finding *fi;

    params(&r.p);
    r.f = fleet_new(&r.p);
    fill_tcp(r.f, fixture_host(r.f, "CF-WIN-1", "tyo", "windows", "cloudflared", 49152, 16384),
             &quiet);
    healthy(r.f, "CF-WIN-2", "tyo", "windows", "cloudflared", 11000, 50000, 2000);
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    fi = find(r.fs, FINDING_RANGE_TOO_SMALL, "CF-WIN-1");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_INFO);
    T_ASSERT(has_remedy(fi, "netsh int ipv4 set dynamicport tcp start=11000 num=50000"));
    T_ASSERT(has_remedy(fi, "netsh int ipv6 set dynamicport udp start=11000 num=50000"));
    T_EQ_INT(r.fs->n, 1);
    run_free(&r);
}

/* Seed 004's events: 4231 and 4227 in the hours the range was full. */
TEST(seed004_exhaustion_events)
{
    struct run r = {0};
    struct fleet_host *x;
    struct model full = {.base = 2000, .noise = 30};
    const struct finding *fi;
    long h;

    params(&r.p);
    r.f = fleet_new(&r.p);
    x = fixture_host(r.f, "DC-APP-3", "dal", "windows", NULL, 49152, 16384);
    fill_tcp(r.f, x, &full);
    h = fleet_hour(r.f, NOW - 20 * 3600);
    x->tcp[h] = 16380;
    x->events[h].tcpip_4231 = 12;
    x->events[h].tcpip_4227 = 40;
    x->events[h].netlogon_5719 = 3;
    healthy(r.f, "DC-APP-4", "dal", "windows", NULL, 49152, 16384, 2000);
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    fi = find(r.fs, FINDING_EXHAUSTION_EVENTS, "DC-APP-3");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_CRITICAL);
    T_CONTAINS(fi->summary, "4231 (TCP port allocation failed) x12");
    T_CONTAINS(fi->summary, "4227 (TIME_WAIT port reused) x40");
    T_CONTAINS(fi->summary, "100% full");
    T_ASSERT(fi->has_exhaustion);
    T_EQ_INT(fi->exhaustion_at, r.f->start + (h + 1) * 3600);
    T_EQ_INT(r.fs->n, 1);
    run_free(&r);
}

/* Seed 001: IKEv2 clients all arrive from the load balancer's address. */
TEST(seed001_snat_ikev2)
{
    struct run r = {0};
    struct fleet_host *x;
    struct model m = {.base = 900, .noise = 30};
    const struct finding *fi;

    params(&r.p);
    r.f = fleet_new(&r.p);
    x = fixture_host(r.f, "RRAS-1", "hq", "windows", "rras", 49152, 16384);
    fill_tcp(r.f, x, &m);
    x->has_vpn = true;
    x->vpn.connections = 412;
    x->vpn.ikev2 = 400;
    x->vpn.distinct_clients = 1;
    snprintf(x->vpn.top.addr, sizeof(x->vpn.top.addr), "203.0.113.10");
    x->vpn.top.count = 412;
    x->vpn_conn[r.f->nhours - 2] = 412;
    x = fixture_host(r.f, "RRAS-2", "hq", "windows", "rras", 49152, 16384);
    fill_tcp(r.f, x, &m);
    x->has_vpn = true;
    x->vpn.connections = 405;
    x->vpn.ikev2 = 390;
    x->vpn.distinct_clients = 1;
    snprintf(x->vpn.top.addr, sizeof(x->vpn.top.addr), "203.0.113.10");
    x->vpn.top.count = 405;
    x->has_ike_value = true;
    x->ike_value = 50000;
    x->vpn_conn[r.f->nhours - 2] = 405;
    /* Clients with their own addresses: no finding. */
    x = fixture_host(r.f, "RRAS-3", "hq", "windows", "rras", 49152, 16384);
    fill_tcp(r.f, x, &m);
    x->has_vpn = true;
    x->vpn.connections = 420;
    x->vpn.ikev2 = 420;
    x->vpn.distinct_clients = 397;
    snprintf(x->vpn.top.addr, sizeof(x->vpn.top.addr), "198.51.100.7");
    x->vpn.top.count = 3;
    x->vpn_conn[r.f->nhours - 2] = 420;
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    fi = find(r.fs, FINDING_SNAT_IKEV2, "RRAS-1");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_CRITICAL);
    T_CONTAINS(fi->summary, "IkeNumEstablishedForInitialQuery is not set");
    T_CONTAINS(fi->remediation[0], "Source Address Translation = None");
    T_CONTAINS(fi->remediation[1], "Use Client IP");
    T_CONTAINS(fi->remediation[2], "Transparency");
    T_CONTAINS(fi->remediation[3], "Loadbalancer.org");
    T_ASSERT(has_remedy(fi, "Restart-Service IKEEXT -Force -PassThru"));
    T_EQ_STR(fi->remote.addr, "203.0.113.10");
    fi = find(r.fs, FINDING_SNAT_IKEV2, "RRAS-2");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_WARNING);
    T_CONTAINS(fi->summary, "already raised (a partial workaround) to 50000");
    T_ASSERT(!has_remedy(fi, "Restart-Service IKEEXT -Force -PassThru"));
    T_EQ_INT(count_kind(r.fs, FINDING_SNAT_IKEV2, "RRAS-3"), 0);
    T_EQ_INT(r.fs->n, 2);
    run_free(&r);
}

/* Seed 002: the first server of the VPN profile takes every client. */
TEST(seed002_load_imbalance)
{
    struct run r = {0};
    struct fleet_host *x;
    struct model m = {.base = 900, .noise = 30};
    struct model busy = {.base = 470, .noise = 20}, idle = {.base = 3, .noise = 2};
    const struct finding *fi;

    params(&r.p);
    r.f = fleet_new(&r.p);
    x = fixture_host(r.f, "VPN-A", "par", "windows", "rras", 49152, 16384);
    fill_tcp(r.f, x, &m);
    fill(r.f, x, x->vpn_conn, &busy);
    x->has_vpn = true;
    x->vpn.connections = x->vpn.ikev2 = 480;
    x->vpn.distinct_clients = 470;
    x = fixture_host(r.f, "VPN-B", "par", "windows", "rras", 49152, 16384);
    fill_tcp(r.f, x, &m);
    fill(r.f, x, x->vpn_conn, &idle);
    x->has_vpn = true;
    x->vpn.connections = x->vpn.ikev2 = 5;
    x->vpn.distinct_clients = 5;
    /* A balanced pair elsewhere. */
    for (int i = 0; i < 2; i++) {
        struct model half = {.base = 240, .noise = 30};
        x = fixture_host(r.f, i ? "VPN-D" : "VPN-C", "ber", "windows", "rras", 49152, 16384);
        fill_tcp(r.f, x, &m);
        fill(r.f, x, x->vpn_conn, &half);
        x->has_vpn = true;
        x->vpn.connections = x->vpn.ikev2 = 250;
        x->vpn.distinct_clients = 240;
    }
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    fi = find(r.fs, FINDING_LOAD_IMBALANCE, "VPN-A");
    T_ASSERT(fi);
    T_EQ_STR(fi->site, "par");
    T_ASSERT(fi->utilization > 0.95);
    T_CONTAINS(fi->summary, "first server of the profile");
    T_CONTAINS(fi->remediation[0], "traffic manager");
    T_EQ_INT(r.fs->n, 1);
    run_free(&r);
}

TEST(host_silent_and_redundancy)
{
    struct run r = {0};
    struct fleet_host *x;
    struct model full = {.base = 16200, .noise = 10};
    const struct finding *fi;

    params(&r.p);
    r.f = fleet_new(&r.p);
    x = fixture_host(r.f, "DARK-1", "sfo", "windows", NULL, 49152, 16384);
    x->last_seen = NOW - 4 * 300 - 1; /* just over 3 intervals plus one */
    fill_tcp(r.f, x, &full);
    healthy(r.f, "LIT-1", "sfo", "windows", NULL, 49152, 16384, 1000);
    T_EQ_INT(analyse(&r), 0);
    dump(r.fs);
    fi = find(r.fs, FINDING_HOST_SILENT, "DARK-1");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_CRITICAL);
    T_CONTAINS(fi->summary, "probably full");
    fi = find(r.fs, FINDING_REDUNDANCY, NULL);
    T_ASSERT(fi);
    T_EQ_STR(fi->site, "sfo");
    T_CONTAINS(fi->summary, "1 reporting host (2 known)");
    /* Silent since only 3 intervals: not yet. */
    x = fleet_host_get(r.f, "DARK-1");
    x->last_seen = NOW - 3 * 300;
    findings_free(r.fs);
    plan_free(r.pl);
    T_EQ_INT(analyse(&r), 0);
    T_EQ_INT(count_kind(r.fs, FINDING_HOST_SILENT, NULL), 0);
    T_EQ_INT(count_kind(r.fs, FINDING_REDUNDANCY, NULL), 0);
    run_free(&r);
}

TEST(kind_names_follow_protocol)
{
    T_EQ_STR(finding_kind_name(FINDING_PORT_LEAK), "port_leak");
    T_EQ_STR(finding_kind_name(FINDING_HOST_SILENT), "host_silent");
    T_EQ_STR(finding_kind_name(FINDING_SNAT_IKEV2), "snat_ikev2");
    T_EQ_STR(finding_kind_name(FINDING_NKINDS), "?");
    T_EQ_STR(finding_severity_name(SEVERITY_CRITICAL), "critical");
}

int main(void)
{
    RUN(seed004_leak);
    RUN(decoys_have_no_findings);
    RUN(seed000_range_too_small_windows);
    RUN(linux_top_destination_range_too_small);
    RUN(seed003_cloudflared_windows);
    RUN(seed004_exhaustion_events);
    RUN(seed001_snat_ikev2);
    RUN(seed002_load_imbalance);
    RUN(host_silent_and_redundancy);
    RUN(kind_names_follow_protocol);
    return T_DONE();
}
