/* SPDX-License-Identifier: MIT */
/* test_report.c: the renderings of one analysis: the JSON of docs/protocol.md
 * section 3 parses and carries the fields; filters work; HTML, CSV and
 * Prometheus escape what hosts sent (a host named like a script, a
 * formula, a quote); the HTML has one chart per host with the range and
 * forecast lines; a small cap gives PF_TOOBIG, not a torn success. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "capacity.h"
#include "host_detail.h"
#include "report.h"
#include "test.h"

#define NOW 1795343400 /* 2026-11-22T10:30:00Z */
#define EVIL "<script>alert(1)</script>\"=cmd"

static void snap(struct pf_snapshot *s, const char *agent, const char *name, const char *site,
                 int64_t t, uint64_t in_use)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->agent_id, sizeof(s->agent_id), "%s", agent);
    s->taken_at = t;
    s->interval_s = 300;
    snprintf(s->host.name, sizeof(s->host.name), "%s", name);
    snprintf(s->host.site, sizeof(s->host.site), "%s", site);
    snprintf(s->host.os, sizeof(s->host.os), "windows");
    s->nranges = 2;
    s->ranges[0] = (struct pf_range){PF_PROTO_TCP, PF_FAMILY_IPV4, 49152, 16384};
    s->ranges[1] = (struct pf_range){PF_PROTO_UDP, PF_FAMILY_IPV4, 49152, 16384};
    s->tcp.ephemeral_in_use = in_use;
}

/* Three hosts: a leaking one (nyc), its healthy partner, and a lone host
 * with a hostile name in site "lab". Every 5 minutes for 7 days. */
static struct capacity *build_lab(const char *lab)
{
    struct fleet_params p;
    struct fleet *f;
    struct capacity *c = NULL;
    struct pf_snapshot s;
    struct pf_process proc;

    fleet_params_default(&p);
    p.now = NOW;
    f = fleet_new(&p);
    for (int64_t t = NOW - 7 * 86400 + 300; t <= NOW - 60; t += 300) {
        double age = (double)(t - (NOW - 50 * 3600)) / 3600;
        uint64_t leak = age > 0 ? (uint64_t)(105 * age) : 0;
        memset(&proc, 0, sizeof(proc));
        snprintf(proc.name, sizeof(proc.name), "DnsFilterService.exe");
        snprintf(proc.service, sizeof(proc.service), "DnsFilterSvc");
        proc.tcp_ports = leak;
        proc.states[PF_TCP_BOUND] = leak;
        proc.has_top_remote = true;
        snprintf(proc.top_remote.addr, sizeof(proc.top_remote.addr), "169.254.169.254");
        proc.top_remote.port = 80;
        snap(&s, "11111111-0000-0000-0000-000000000001", "CONN-NYC-01", "nyc", t, 1500 + leak);
        s.processes = &proc;
        s.nprocesses = 1;
        s.has_processes = true;
        fleet_add_snapshot(f, &s);
        snap(&s, "11111111-0000-0000-0000-000000000002", "CONN-NYC-02", "nyc", t,
             1500 + (uint64_t)(t % 7) * 10);
        fleet_add_snapshot(f, &s);
        snap(&s, "11111111-0000-0000-0000-000000000003", EVIL, lab, t, 800);
        fleet_add_snapshot(f, &s);
    }
    if (capacity_analyze(f, &p, &c) != PF_OK)
        return NULL;
    return c;
}

static struct capacity *build(void)
{
    return build_lab("lab");
}

static cJSON *parse(const struct pf_buf *b)
{
    return cJSON_ParseWithLength(b->data, b->len);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

TEST(findings_json)
{
    struct capacity *c = build();
    struct pf_buf b;
    cJSON *root, *arr, *f, *leak = NULL;
    size_t kinds_lab = 0;

    T_ASSERT(c);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(report_findings_json(c, NULL, NULL, &b), PF_OK);
    root = parse(&b);
    T_ASSERT(root);
    T_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(root, "generated_at")),
             "2026-11-22T10:30:00Z");
    arr = cJSON_GetObjectItem(root, "findings");
    T_ASSERT(cJSON_IsArray(arr));
    cJSON_ArrayForEach(f, arr)
    {
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(f, "kind"));
        T_ASSERT(kind);
        T_ASSERT(cJSON_GetObjectItem(f, "exhaustion_at")); /* present, maybe null */
        T_ASSERT(cJSON_GetObjectItem(f, "remote"));
        if (strcmp(kind, "port_leak") == 0)
            leak = f;
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(f, "site")), "lab") == 0)
            kinds_lab++;
    }
    T_ASSERT(leak);
    T_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(leak, "severity")), "critical");
    T_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(leak, "host")), "CONN-NYC-01");
    T_EQ_STR(
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(leak, "process"), "service")),
        "DnsFilterSvc");
    T_ASSERT(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(leak, "rate_per_hour")) - 105) < 10.5);
    T_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(leak, "remote"), "addr")),
             "169.254.169.254");
    T_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(leak, "remote"), "port")),
             80);
    T_ASSERT(cJSON_IsString(cJSON_GetObjectItem(leak, "exhaustion_at")));
    T_ASSERT(cJSON_GetArraySize(cJSON_GetObjectItem(leak, "remediation")) >= 3);
    T_EQ_INT(kinds_lab, 2); /* the lone lab host: redundancy + add_hosts */
    cJSON_Delete(root);

    /* ?site=lab and ?host=: the filters. */
    pf_buf_reset(&b);
    T_EQ_INT(report_findings_json(c, "lab", NULL, &b), PF_OK);
    root = parse(&b);
    T_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(root, "findings")), 2);
    cJSON_Delete(root);
    pf_buf_reset(&b);
    T_EQ_INT(report_findings_json(c, NULL, "CONN-NYC-02", &b), PF_OK);
    root = parse(&b);
    T_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(root, "findings")), 0);
    cJSON_Delete(root);
    pf_buf_reset(&b);
    T_EQ_INT(report_findings_json(c, NULL, "11111111-0000-0000-0000-000000000001", &b), PF_OK);
    root = parse(&b);
    T_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(root, "findings")), 2); /* leak + forecast */
    cJSON_Delete(root);
    pf_buf_free(&b);
    capacity_free(c);
}

TEST(plan_and_hosts_json)
{
    struct capacity *c = build();
    struct pf_buf b;
    cJSON *root, *site, *host;

    T_ASSERT(c);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(report_plan_json(c, "nyc", &b), PF_OK);
    root = parse(&b);
    T_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(root, "sites")), 1);
    site = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "sites"), 0);
    T_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(site, "site")), "nyc");
    T_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(site, "hosts")), 2);
    T_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(site, "recommended_hosts")), 2);
    T_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(site, "usable_ports_per_host")), 16384);
    T_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(site, "usable_ports_per_host_widened")),
             55535);
    T_ASSERT(cJSON_IsArray(cJSON_GetObjectItem(site, "range_changes")));
    T_ASSERT(cJSON_GetNumberValue(cJSON_GetObjectItem(site, "target_utilization")) == 0.7);
    cJSON_Delete(root);

    pf_buf_reset(&b);
    T_EQ_INT(report_hosts_json(c, NULL, &b), PF_OK);
    root = parse(&b);
    T_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(root, "hosts")), 3);
    host = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "hosts"), 1);
    T_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(host, "name")), "CONN-NYC-02");
    T_EQ_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(host, "range"), "count")),
             16384);
    T_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(host, "silent")));
    T_ASSERT(cJSON_GetNumberValue(cJSON_GetObjectItem(host, "utilization")) < 0.1);
    T_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(host, "last_snapshot_at")),
             "2026-11-22T10:25:00Z");
    cJSON_Delete(root);

    pf_buf_reset(&b);
    T_EQ_INT(report_json(c, NULL, &b), PF_OK);
    root = parse(&b);
    T_ASSERT(root);
    T_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(root, "sites")), 2);
    cJSON_Delete(root);
    pf_buf_free(&b);
    capacity_free(c);
}

TEST(html_escapes_and_charts)
{
    struct capacity *c = build();
    struct pf_buf b;

    T_ASSERT(c);
    pf_buf_init(&b, 8 << 20);
    T_EQ_INT(report_html(c, NULL, &b), PF_OK);
    T_EQ_INT(count(b.data, "<script"), 0);
    T_CONTAINS(b.data, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;=cmd");
    T_CONTAINS(b.data, "Content-Security-Policy");
    T_EQ_INT(count(b.data, "<svg class=\"chart\""), 3);
    T_EQ_INT(count(b.data, "class=\"range\""), 3);
    T_EQ_INT(count(b.data, "class=\"forecast\""), 3);
    T_EQ_INT(count(b.data, "class=\"series\""), 3);
    T_CONTAINS(b.data, "data-kind=\"port_leak\"");
    T_CONTAINS(b.data, "<code>Restart-Service -Name DnsFilterSvc -Force</code>");
    T_EQ_INT(count(b.data, "<section class=\"site\""), 2);
    T_EQ_INT(count(b.data, "http://") - count(b.data, "http://www.w3.org/2000/svg"), 0);
    pf_buf_reset(&b);
    T_EQ_INT(report_html(c, "nyc", &b), PF_OK);
    T_EQ_INT(count(b.data, "<section class=\"site\""), 1);
    T_EQ_INT(count(b.data, "<svg class=\"chart\""), 2);
    pf_buf_free(&b);
    capacity_free(c);
}

#define EVIL_SITE "z\xc3\xbc/r <b>&\"q\""

TEST(overview_page)
{
    struct capacity *c = build_lab(EVIL_SITE);
    struct report_links served = {false, "?now=1795343400&x=<y>", false};
    struct report_links files = {true, NULL, false};
    struct pf_buf b;
    const char *nearest, *sites;

    T_ASSERT(c);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(report_html_overview(c, &served, &b), PF_OK);
    T_EQ_INT(count(b.data, "<script"), 0);
    T_CONTAINS(b.data, "Content-Security-Policy");
    T_CONTAINS(b.data, "data-critical=\"2\"");
    /* The leaking host is the one nearest exhaustion, with its culprit. */
    nearest = strstr(b.data, "<table class=\"nearest\">");
    T_ASSERT(nearest);
    T_CONTAINS(nearest, "<a class=\"host-link\" href=\"report/host/"
                        "11111111-0000-0000-0000-000000000001?now=1795343400&amp;x=&lt;y&gt;\">"
                        "CONN-NYC-01</a>");
    T_CONTAINS(nearest, "<span class=\"process\">DnsFilterService.exe</span>");
    /* Sites by urgency: nyc (critical) before the quiet one, whose name is
     * percent-encoded in the link and escaped in the text. */
    sites = strstr(b.data, "<table class=\"sites\">");
    T_ASSERT(sites && strstr(sites, "data-site=\"nyc\""));
    T_ASSERT(strstr(sites, "data-site=\"nyc\"") < strstr(sites, "data-site=\"z"));
    T_CONTAINS(sites, "href=\"report/site/z%C3%BC%2Fr%20%3Cb%3E%26%22q%22?now=");
    T_CONTAINS(sites, ">z\xc3\xbc/r &lt;b&gt;&amp;&quot;q&quot;</a>");
    T_CONTAINS(sites, "<td data-binding=\"ports\">ports</td>");
    pf_buf_reset(&b);
    T_EQ_INT(report_html_overview(c, &files, &b), PF_OK);
    T_CONTAINS(b.data, "href=\"host/11111111-0000-0000-0000-000000000001.html\"");
    T_CONTAINS(b.data, "href=\"site/z~C3~BC~2Fr~20~3Cb~3E~26~22q~22.html\"");
    pf_buf_free(&b);
    capacity_free(c);
}

TEST(site_and_host_pages)
{
    struct capacity *c = build_lab(EVIL_SITE);
    struct report_links files = {true, NULL, false}, root = {false, NULL, true};
    struct host_detail d;
    struct pf_buf b;
    char path[64];

    T_ASSERT(c);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(report_html_site(c, NULL, "nyc", &files, &b), PF_OK);
    T_EQ_INT(count(b.data, "<svg class=\"chart small\""), 2);
    T_EQ_INT(count(b.data, "<tr class=\"finding "), 2);
    T_CONTAINS(b.data, "How the plan is computed");
    T_CONTAINS(b.data, "href=\"../index.html\"");
    T_CONTAINS(b.data, "href=\"../host/11111111-0000-0000-0000-000000000002.html\"");
    pf_buf_reset(&b);
    T_EQ_INT(report_html_site(c, NULL, "nowhere", &files, &b), PF_NOTFOUND);
    pf_buf_reset(&b); /* served at /report?site=nyc: links as the overview's */
    T_EQ_INT(report_html_site(c, NULL, "nyc", &root, &b), PF_OK);
    T_CONTAINS(b.data, "href=\"report\">fleet overview</a>");
    T_CONTAINS(b.data, "href=\"report/host/11111111-0000-0000-0000-000000000002\"");
    pf_buf_reset(&b);
    T_EQ_INT(report_html_site(c, NULL, EVIL_SITE, &files, &b), PF_OK);
    T_EQ_INT(count(b.data, "<script"), 0);

    /* A host page with a detail of two hours: BOUND drawn, the culprit
     * marked, an unmeasured state said so. */
    memset(&d, 0, sizeof(d));
    d.start = c->fleet->start;
    d.nhours = c->fleet->nhours;
    d.hours = calloc(d.nhours, sizeof(*d.hours));
    T_ASSERT(d.hours);
    for (size_t h = 0; h < d.nhours; h++) {
        for (int s = 0; s < PF_TCP_NSTATES; s++)
            d.hours[h].states[s] = h + 2 >= d.nhours ? 10 : NAN;
        d.hours[h].ephemeral = h + 2 >= d.nhours ? 100 : NAN;
    }
    d.hours[d.nhours - 1].states[PF_TCP_BOUND] = 500;
    for (int s = 0; s < PF_TCP_NSTATES; s++)
        d.states_measured[s] = s != PF_TCP_CLOSING;
    d.nprocs = 1;
    snprintf(d.procs[0].name, sizeof(d.procs[0].name), "DnsFilterService.exe");
    snprintf(d.procs[0].service, sizeof(d.procs[0].service), "DnsFilterSvc");
    d.procs[0].held = calloc(d.nhours, sizeof(double));
    d.procs[0].bound = calloc(d.nhours, sizeof(double));
    T_ASSERT(d.procs[0].held && d.procs[0].bound);
    d.procs[0].peak = 500;
    d.has_latest = true;
    d.latest_at = NOW - 60;
    d.spool_depth = 3;
    d.spool_dropped = -1;
    snprintf(d.last_error, sizeof(d.last_error), "<b>HTTP 503</b>");
    d.nunmeasured = 1;
    snprintf(d.unmeasured[0], sizeof(d.unmeasured[0]), "events");
    pf_buf_reset(&b);
    T_EQ_INT(report_html_host(c, "11111111-0000-0000-0000-000000000001", &d, &files, &b), PF_OK);
    T_EQ_INT(count(b.data, "<svg class=\"chart\""), 1);
    T_EQ_INT(count(b.data, "<svg class=\"states-chart\""), 1);
    T_CONTAINS(b.data, "<path class=\"state bound\" fill=\"#c2185b\" d=\"M");
    T_CONTAINS(b.data, "data-state=\"closing\"><i class=\"sw\" style=\"background:#bfa2db\"></i>"
                       "closing: not measured");
    T_CONTAINS(b.data, "<tr class=\"proc culprit\">");
    T_CONTAINS(b.data, "culprit: <b class=\"process\">DnsFilterService.exe</b>");
    T_CONTAINS(b.data, "&lt;b&gt;HTTP 503&lt;/b&gt;");
    T_CONTAINS(b.data, "<tr><th>dropped by the spool cap</th><td>not sent</td></tr>");
    T_CONTAINS(b.data, "Not measured on this host");
    T_CONTAINS(b.data, "href=\"../site/nyc.html\"");
    pf_buf_reset(&b);
    T_EQ_INT(report_html_host(c, "11111111-0000-0000-0000-00000000dead", &d, &files, &b),
             PF_NOTFOUND);
    pf_buf_reset(&b);
    T_EQ_INT(report_html_host(c, "11111111-0000-0000-0000-000000000003", NULL, &files, &b), PF_OK);
    T_EQ_INT(count(b.data, "<script"), 0);
    T_CONTAINS(b.data, "was not loaded");
    T_CONTAINS(b.data, "href=\"../site/z~C3~BC~2Fr~20~3Cb~3E~26~22q~22.html\"");
    host_detail_clear(&d);
    pf_buf_free(&b);

    T_EQ_INT(report_page_path(false, NULL, "..", path, sizeof(path)), PF_OK);
    T_EQ_STR(path, "site/~2E..html");
    T_EQ_INT(report_page_path(true, NULL, "a.b-c_D9", path, sizeof(path)), PF_OK);
    T_EQ_STR(path, "host/a.b-c_D9.html");
    T_EQ_INT(report_page_path(false, "acme", "d~l", path, sizeof(path)), PF_OK);
    T_EQ_STR(path, "site/acme~~d~7El.html");
    T_EQ_INT(report_page_path(false, "default", "dal", path, sizeof(path)), PF_OK);
    T_EQ_STR(path, "site/dal.html");
    T_EQ_INT(report_page_path(false, NULL, "abc", path, 12), PF_TOOBIG);
    capacity_free(c);
}

TEST(csv_quotes_and_defuses_formulas)
{
    struct capacity *c = build();
    struct pf_buf b;

    T_ASSERT(c);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(report_csv(c, NULL, &b), PF_OK);
    T_EQ_INT(count(b.data, "\r\n"), 4); /* header + 3 hosts */
    T_ASSERT(strncmp(b.data, "tenant,site,host,agent_id,", 26) == 0);
    T_CONTAINS(b.data, "\"nyc\",\"CONN-NYC-01\",");
    /* Sizing columns follow: empty where the host reports no such figure
     * (never a zero), then the site's binding resource. */
    T_CONTAINS(b.data, "\"port_leak;exhaustion_forecast\",\"critical\",,,,,,,,,\"ports\"\r\n");
    /* The hostile name: quotes doubled; it starts with '<', not a formula. */
    T_CONTAINS(b.data, "\"<script>alert(1)</script>\"\"=cmd\"");
    pf_buf_free(&b);
    capacity_free(c);
}

TEST(metrics_exposition)
{
    struct capacity *c = build();
    struct pf_buf b;
    struct report_metric extra[] = {
        {"portfleet_snapshots_accepted_total", "Snapshots stored", "counter", 12345}};

    T_ASSERT(c);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(report_metrics(c, extra, 1, &b), PF_OK);
    T_CONTAINS(b.data, "# TYPE portfleet_host_utilization gauge\n");
    T_CONTAINS(b.data, "portfleet_host_range_size{tenant=\"default\",site=\"nyc\",host=\"CONN-NYC-01\",agent_id="
                       "\"11111111-0000-0000-0000-000000000001\"} 16384\n");
    T_CONTAINS(b.data, "host=\"<script>alert(1)</script>\\\"=cmd\"");
    T_CONTAINS(b.data, "portfleet_findings{tenant=\"default\",kind=\"port_leak\",severity=\"critical\"} 1\n");
    T_CONTAINS(b.data, "portfleet_findings{tenant=\"default\",kind=\"snat_ikev2\",severity=\"info\"} 0\n");
    T_CONTAINS(b.data, "portfleet_site_recommended_hosts{tenant=\"default\",site=\"lab\"} 2\n");
    T_CONTAINS(b.data, "portfleet_snapshots_accepted_total 12345\n");
    T_EQ_INT(count(b.data, "portfleet_host_exhaustion_seconds{"), 1);
    pf_buf_free(&b);
    capacity_free(c);
}

TEST(text_report)
{
    struct capacity *c = build();
    struct pf_buf b;

    T_ASSERT(c);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(report_text(c, NULL, &b), PF_OK);
    T_CONTAINS(b.data, "== site nyc ==");
    T_CONTAINS(b.data, "[critical] port_leak CONN-NYC-01");
    T_CONTAINS(b.data, "      > Restart-Service -Name DnsFilterSvc -Force\n");
    pf_buf_free(&b);
    capacity_free(c);
}

TEST(caps_give_toobig)
{
    struct capacity *c = build();
    struct pf_buf b;

    T_ASSERT(c);
    pf_buf_init(&b, 256);
    T_EQ_INT(report_html(c, NULL, &b), PF_TOOBIG);
    pf_buf_reset(&b);
    T_EQ_INT(report_findings_json(c, NULL, NULL, &b), PF_TOOBIG);
    pf_buf_reset(&b);
    T_EQ_INT(report_csv(c, NULL, &b), PF_TOOBIG);
    pf_buf_reset(&b);
    T_EQ_INT(report_metrics(c, NULL, 0, &b), PF_TOOBIG);
    pf_buf_free(&b);
    capacity_free(c);
}

int main(void)
{
    RUN(findings_json);
    RUN(plan_and_hosts_json);
    RUN(html_escapes_and_charts);
    RUN(overview_page);
    RUN(site_and_host_pages);
    RUN(csv_quotes_and_defuses_formulas);
    RUN(metrics_exposition);
    RUN(text_report);
    RUN(caps_give_toobig);
    return T_DONE();
}
