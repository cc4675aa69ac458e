/* SPDX-License-Identifier: MIT */
/* test_plan.c: the site plan on constructed fleets: demand (p99 of the
 * site's hourly sum plus growth), widening before adding hosts, +1 spare,
 * at least 2 per site, excluded ports, vendor notes, and leaks left out of
 * the demand. Expected numbers are worked out in the comments. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "capacity_fixture.h"
#include "findings.h"
#include "plan.h"
#include "stats.h"
#include "test.h"

#define NOW FIXTURE_NOW

static void params(struct fleet_params *p)
{
    fleet_params_default(p);
    p->now = NOW;
}

/* A fixture host whose ports in use reach level at the end, growing
 * per_hour: exact values except a small alternation (not a perfect line). */
static struct fleet_host *mk_host(struct fleet *f, const char *id, const char *site, const char *os,
                                  const char *role, uint32_t start, uint32_t count, double level,
                                  double per_hour)
{
    struct fleet_host *x = fixture_host(f, id, site, os, role, start, count);

    for (size_t h = 0; h < f->nhours; h++)
        x->tcp[h] = level - per_hour * (double)(f->nhours - 1 - h) + (h % 2 ? 3 : -3);
    x->last_tcp_in_use = (uint64_t)level;
    return x;
}

static const struct finding *find(const struct findings *fs, enum finding_kind k, const char *site)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->v[i].kind == k && strcmp(fs->v[i].site, site) == 0)
            return &fs->v[i];
    return NULL;
}

TEST(widen_before_adding_hosts)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl = NULL;
    const struct plan_site *s;

    params(&p);
    f = fleet_new(&p);
    mk_host(f, "E-1", "nyc", "windows", "entra-connector", 49152, 16384, 10000, 0);
    mk_host(f, "E-2", "nyc", "windows", "entra-connector", 49152, 16384, 10000, 0);
    T_EQ_INT(plan_build(f, &p, &pl), PF_OK);
    s = plan_find(pl, "default", "nyc");
    T_ASSERT(s);
    /* Sum 20,006 at its p99; now: 0.7 * 16,384 = 11,468.8 per host ->
     * ceil(20006 / 11468.8) + 1 = 3 > 2 hosts: widen. Widened: 0.7 * 55,535
     * = 38,874.5 -> ceil(20006 / 38874.5) + 1 = 2. */
    T_ASSERT(fabs(s->p99 - 20006) < 1);
    T_EQ_INT(s->hosts, 2);
    T_EQ_INT(s->usable_per_host, 16384);
    T_EQ_INT(s->usable_per_host_widened, 55535);
    T_ASSERT(fabs(s->capacity_per_host - 38874.5) < 0.01);
    T_EQ_INT(s->recommended_hosts, 2);
    T_EQ_INT(s->add_hosts, 0);
    T_EQ_INT(s->nchanges, 2);
    T_EQ_STR(s->changes[0].host, "E-1");
    T_EQ_INT(s->changes[0].widen.ncommands, 4);
    T_EQ_STR(s->changes[0].widen.commands[0],
             "netsh int ipv4 set dynamicport tcp start=10000 num=55535");
    T_EQ_STR(s->changes[0].widen.commands[3],
             "netsh int ipv6 set dynamicport udp start=10000 num=55535");
    T_ASSERT(fabs(s->growth_per_day) < 1e-9);
    plan_free(pl);
    fleet_free(f);
}

TEST(no_widening_when_current_ranges_suffice)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl = NULL;
    const struct plan_site *s;

    params(&p);
    f = fleet_new(&p);
    /* 3 hosts at 2,000: sum 6,003 -> ceil(6003 / 11468.8) + 1 = 2 <= 3. */
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "H-%d", i);
        mk_host(f, id, "ams", "windows", NULL, 49152, 16384, 2000, 0);
    }
    T_EQ_INT(plan_build(f, &p, &pl), PF_OK);
    s = plan_find(pl, "default", "ams");
    T_EQ_INT(s->recommended_hosts, 2);
    T_EQ_INT(s->add_hosts, 0);
    T_EQ_INT(s->nchanges, 0);
    T_ASSERT(fabs(s->capacity_per_host - 0.7 * 16384) < 0.01);
    plan_free(pl);
    fleet_free(f);
}

/* Seed 000: already past 50,000 ports per server: add servers. */
TEST(seed000_add_hosts_when_widened)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl = NULL;
    struct findings *fs = NULL;
    const struct plan_site *s;
    const struct finding *fi;

    params(&p);
    f = fleet_new(&p);
    mk_host(f, "E-1", "chi", "windows", "entra-connector", 10000, 55535, 45000, 0);
    mk_host(f, "E-2", "chi", "windows", "entra-connector", 10000, 55535, 45000, 0);
    T_EQ_INT(plan_build(f, &p, &pl), PF_OK);
    s = plan_find(pl, "default", "chi");
    /* 90,006 / 38,874.5 = 2.3 -> 3, + 1 = 4: add 2; 90,006 > 2 * 38,874.5
     * today: overloaded now. */
    T_EQ_INT(s->recommended_hosts, 4);
    T_EQ_INT(s->add_hosts, 2);
    T_EQ_INT(s->nchanges, 0);
    T_ASSERT(s->overloaded_now);
    T_EQ_INT(findings_build(f, pl, &p, NULL, &fs), PF_OK);
    fi = find(fs, FINDING_ADD_HOSTS, "chi");
    T_ASSERT(fi);
    T_EQ_INT(fi->severity, SEVERITY_CRITICAL);
    T_CONTAINS(fi->summary, "needs 4 hosts, has 2");
    T_CONTAINS(fi->remediation[0], "Add 2 private network connector servers");
    T_ASSERT(!find(fs, FINDING_RANGE_TOO_SMALL, "chi")); /* nothing left to widen */
    findings_free(fs);
    plan_free(pl);
    fleet_free(f);
}

TEST(growth_over_horizon)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl = NULL;
    const struct plan_site *s;

    params(&p);
    p.horizon_days = 30;
    f = fleet_new(&p);
    /* Two hosts growing 5/h each: the site grows 240 a day. */
    mk_host(f, "G-1", "sea", "linux", "cloudflared", 11000, 50000, 8000, 5);
    mk_host(f, "G-2", "sea", "linux", "cloudflared", 11000, 50000, 8000, 5);
    T_EQ_INT(plan_build(f, &p, &pl), PF_OK);
    s = plan_find(pl, "default", "sea");
    T_ASSERT(fabs(s->growth_per_day - 240) < 24);
    T_ASSERT(fabs(s->demand - (s->p99 + s->growth_per_day * 30)) < 1e-6);
    /* 16,000 + 7,200 = 23,200 / 35,000 -> 1 + 1 = 2. */
    T_EQ_INT(s->recommended_hosts, 2);
    T_EQ_INT(s->usable_per_host_widened, 50000);
    plan_free(pl);
    fleet_free(f);
}

TEST(excluded_ports_inside_the_new_range)
{
    struct fleet_params p;
    struct fleet *f;
    struct fleet_host *x;
    struct plan_widen w;

    params(&p);
    f = fleet_new(&p);
    x = mk_host(f, "HV-1", "lab", "windows", NULL, 49152, 16384, 1000, 0);
    x->excluded = calloc(2, sizeof(*x->excluded));
    x->nexcluded = 2;
    x->excluded[0].start = 50000; /* Hyper-V's block, inside both ranges */
    x->excluded[0].count = 100;
    x->excluded[1].start = 5000; /* below the new range: does not count */
    x->excluded[1].count = 50;
    plan_widen_host(x, &w);
    T_ASSERT(w.needed);
    T_EQ_INT(w.usable, 55535 - 100);
    fleet_free(f);
}

TEST(linux_widening_commands)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan_widen w;

    params(&p);
    f = fleet_new(&p);
    plan_widen_host(mk_host(f, "L-1", "lab", "linux", NULL, 32768, 28232, 1000, 0), &w);
    T_ASSERT(w.needed);
    T_EQ_INT(w.ncommands, 2);
    T_EQ_STR(w.commands[0], "sysctl -w net.ipv4.ip_local_port_range=\"11000 60999\"");
    T_EQ_STR(w.commands[1], "echo 'net.ipv4.ip_local_port_range = 11000 60999' > "
                            "/etc/sysctl.d/90-portfleet-port-range.conf");
    plan_widen_host(mk_host(f, "L-2", "lab", "linux", NULL, 11000, 50000, 1000, 0), &w);
    T_ASSERT(!w.needed);
    T_EQ_INT(w.ncommands, 0);
    fleet_free(f);
}

/* Seed 003: one cloudflared host per location is not enough. */
TEST(seed003_single_host_site)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl = NULL;
    struct findings *fs = NULL;
    struct fleet_host *x;
    const struct plan_site *s;

    params(&p);
    f = fleet_new(&p);
    x = mk_host(f, "CF-1", "osa", "windows", "cloudflared", 11000, 50000, 3000, 0);
    x->cpus = 2;
    x->memory_mb = 2048;
    T_EQ_INT(plan_build(f, &p, &pl), PF_OK);
    s = plan_find(pl, "default", "osa");
    T_EQ_INT(s->recommended_hosts, 2);
    T_EQ_INT(s->add_hosts, 1);
    T_EQ_INT(s->nnotes, 1);
    T_CONTAINS(s->notes[0], ">= 4 cores and >= 4 GB RAM");
    T_EQ_INT(findings_build(f, pl, &p, NULL, &fs), PF_OK);
    T_ASSERT(find(fs, FINDING_REDUNDANCY, "osa"));
    T_ASSERT(find(fs, FINDING_ADD_HOSTS, "osa"));
    T_CONTAINS(find(fs, FINDING_ADD_HOSTS, "osa")->remediation[0], "Add 1 cloudflared hosts");
    T_EQ_INT(fs->n, 2);
    findings_free(fs);
    plan_free(pl);
    fleet_free(f);
}

/* A leak is not demand: the site does not grow with it. */
TEST(leak_left_out_of_demand)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl = NULL;
    struct fleet_host *x;
    struct fleet_proc *pr;
    const struct plan_site *s;

    params(&p);
    f = fleet_new(&p);
    x = mk_host(f, "L-1", "dal", "windows", NULL, 49152, 16384, 1500 + 105 * 48, 0);
    pr = fleet_proc_get(f, x, "DnsFilterService.exe", "DnsFilterSvc");
    for (size_t h = 0; h < f->nhours; h++) {
        double age = (double)h - (double)(f->nhours - 49); /* leaking for 48 hours */
        x->tcp[h] = 1500 + (h % 2 ? 3 : -3);
        if (age < 0)
            continue;
        pr->held[h] = pr->held_min[h] = 20 + 105 * age;
        x->tcp[h] = 1500 + pr->held[h] + (h % 2 ? 3 : -3);
    }
    mk_host(f, "L-2", "dal", "windows", NULL, 49152, 16384, 1500, 0);
    T_EQ_INT(plan_build(f, &p, &pl), PF_OK);
    s = plan_find(pl, "default", "dal");
    T_ASSERT(fabs(s->growth_per_day) < 1e-9);
    T_ASSERT(s->p99 < 3100); /* the two bases, not the leak */
    plan_free(pl);
    fleet_free(f);
}

/* The same site name in two tenants is two sites: each has its own plan
 * (two hosts each, not four), its own redundancy finding, and each finding
 * names its tenant. */
TEST(same_site_name_in_two_tenants)
{
    struct fleet_params p;
    struct fleet *f;
    struct plan *pl = NULL;
    struct findings *fs = NULL;
    const struct plan_site *a, *b;
    size_t red_a = 0, red_b = 0;

    params(&p);
    f = fleet_new(&p);
    mk_host(f, "T-A1", "hq", "windows", NULL, 49152, 16384, 1000, 0);
    snprintf(f->hosts[f->nhosts - 1].tenant, PF_TENANT_LEN, "acme");
    mk_host(f, "T-B1", "hq", "windows", NULL, 49152, 16384, 9000, 0);
    snprintf(f->hosts[f->nhosts - 1].tenant, PF_TENANT_LEN, "globex");
    T_EQ_INT(plan_build(f, &p, &pl), PF_OK);
    T_EQ_INT(pl->nsites, 2);
    a = plan_find(pl, "acme", "hq");
    b = plan_find(pl, "globex", "hq");
    T_ASSERT(a && b && a != b);
    T_ASSERT(!plan_find(pl, "default", "hq"));
    T_EQ_INT(a->hosts, 1);
    T_EQ_INT(b->hosts, 1);
    T_ASSERT(a->peak < 1100 && b->peak > 8900); /* not one summed site */
    T_EQ_INT(findings_build(f, pl, &p, NULL, &fs), PF_OK);
    for (size_t i = 0; i < fs->n; i++) {
        if (fs->v[i].kind != FINDING_REDUNDANCY)
            continue;
        red_a += strcmp(fs->v[i].tenant, "acme") == 0;
        red_b += strcmp(fs->v[i].tenant, "globex") == 0;
    }
    T_EQ_INT(red_a, 1);
    T_EQ_INT(red_b, 1);
    findings_free(fs);
    plan_free(pl);
    fleet_free(f);
}

int main(void)
{
    RUN(widen_before_adding_hosts);
    RUN(no_widening_when_current_ranges_suffice);
    RUN(seed000_add_hosts_when_widened);
    RUN(growth_over_horizon);
    RUN(excluded_ports_inside_the_new_range);
    RUN(linux_widening_commands);
    RUN(seed003_single_host_site);
    RUN(leak_left_out_of_demand);
    RUN(same_site_name_in_two_tenants);
    return T_DONE();
}
