/* SPDX-License-Identifier: MIT */
/* report_json.c: the JSON answers of GET /v1/findings, /v1/plan and
 * /v1/hosts (docs/protocol.md section 3) and the JSON report, built with cJSON
 * so every string a host sent is escaped. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "resources.h"
#include "stats.h"
#include "timeutil.h"

/* Adds key: time or null. Returns NULL when out of memory. */
static cJSON *add_time(cJSON *o, const char *key, bool has, int64_t t)
{
    char buf[PF_TIME_LEN];

    if (has && pf_time_format(t, buf) == PF_OK)
        return cJSON_AddStringToObject(o, key, buf);
    return cJSON_AddNullToObject(o, key);
}

/* Numbers: integers for counts, one decimal for rates, three for ratios. */
static cJSON *add_num(cJSON *o, const char *key, double v, double scale)
{
    if (!stats_present(v))
        return cJSON_AddNullToObject(o, key);
    return cJSON_AddNumberToObject(o, key, round(v * scale) / scale);
}

static bool site_ok(const char *site, const char *want)
{
    return !want || !want[0] || strcmp(site, want) == 0;
}

static bool finding_ok(const struct capacity *c, const struct finding *f, const char *site,
                       const char *host)
{
    if (!site_ok(f->site, site))
        return false;
    if (!host || !host[0])
        return true;
    if (f->host[0])
        return strcmp(f->host, host) == 0 || strcmp(f->agent_id, host) == 0;
    /* A site finding stays when the host is in that site. */
    for (size_t i = 0; i < c->fleet->nhosts; i++) {
        const struct fleet_host *x = &c->fleet->hosts[i];
        if ((strcmp(x->name, host) == 0 || strcmp(x->agent_id, host) == 0) &&
            fleet_host_in_site(x, f->tenant, f->site))
            return true;
    }
    return false;
}

cJSON *report_finding_json(const struct finding *f)
{
    cJSON *o = cJSON_CreateObject(), *a, *r;
    bool ok = o != NULL;
    char id[FINDING_ID_LEN];

    finding_id(f, id);
    ok = ok && cJSON_AddStringToObject(o, "id", id);
    ok = ok && cJSON_AddStringToObject(o, "kind", finding_kind_name(f->kind));
    ok = ok && cJSON_AddStringToObject(o, "severity", finding_severity_name(f->severity));
    ok = ok && cJSON_AddStringToObject(o, "tenant", f->tenant);
    ok = ok && cJSON_AddStringToObject(o, "site", f->site);
    if (f->host[0]) {
        ok = ok && cJSON_AddStringToObject(o, "host", f->host);
        ok = ok && cJSON_AddStringToObject(o, "agent_id", f->agent_id);
    }
    ok = ok && cJSON_AddStringToObject(o, "summary", f->summary);
    if (ok && f->has_process) {
        r = cJSON_AddObjectToObject(o, "process");
        ok = r && cJSON_AddStringToObject(r, "name", f->process_name) &&
             cJSON_AddStringToObject(r, "service", f->process_service);
    }
    if (ok && f->has_rate)
        ok = add_num(o, "rate_per_hour", f->rate_per_hour, 10) != NULL;
    ok = ok && add_time(o, "exhaustion_at", f->has_exhaustion, f->exhaustion_at);
    if (ok && f->has_remote) {
        r = cJSON_AddObjectToObject(o, "remote");
        ok = r && cJSON_AddStringToObject(r, "addr", f->remote.addr) &&
             cJSON_AddNumberToObject(r, "port", f->remote.port);
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "remote") != NULL;
    }
    if (ok && f->has_utilization)
        ok = add_num(o, "utilization", f->utilization, 1000) != NULL;
    if (ok && f->resource[0])
        ok = cJSON_AddStringToObject(o, "resource", f->resource) != NULL;
    if (ok && f->protocol[0])
        ok = cJSON_AddStringToObject(o, "protocol", f->protocol) != NULL;
    if (ok) {
        a = cJSON_AddArrayToObject(o, "remediation");
        ok = a != NULL;
        for (size_t i = 0; ok && i < f->nremediation; i++) {
            cJSON *s = cJSON_CreateString(f->remediation[i]);
            ok = s && cJSON_AddItemToArray(a, s);
        }
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* "hosts_needed": per resource the site reports, what it needs. */
static bool add_needs(cJSON *o, const struct plan_site *s)
{
    cJSON *n = cJSON_AddObjectToObject(o, "hosts_needed");
    bool ok = n != NULL;

    for (int b = 0; ok && b < PLAN_NBIND; b++) {
        const struct plan_need *nd = &s->needs[b];
        cJSON *r;
        if (!nd->measured)
            continue;
        r = cJSON_AddObjectToObject(n, plan_binding_name(b));
        ok = r && cJSON_AddNumberToObject(r, "hosts", (double)nd->hosts) &&
             add_num(r, "p99", nd->p99, 100) && add_num(r, "growth_per_day", nd->growth_per_day, 100) &&
             add_num(r, "demand", nd->demand, 100) && add_num(r, "per_host", nd->per_host, 100) &&
             cJSON_AddStringToObject(r, "unit", nd->unit);
    }
    return ok;
}

/* The host's sizing peaks ("sizing"), only the figures it reports. */
static bool add_host_sizing(cJSON *o, const struct capacity *c, const struct fleet_host *x)
{
    struct res_peaks pk;
    cJSON *z;
    bool ok = true;

    if (resources_host_peaks(c->fleet, x, &pk))
        return false;
    z = cJSON_AddObjectToObject(o, "sizing");
    if (!z)
        return false;
    if (stats_present(pk.cpu_pct))
        ok = ok && add_num(z, "cpu_peak_pct", pk.cpu_pct, 10);
    if (stats_present(pk.mem_mb))
        ok = ok && add_num(z, "memory_peak_mb", pk.mem_mb, 1);
    if (stats_present(pk.mem_util))
        ok = ok && add_num(z, "memory_peak_utilization", pk.mem_util, 1000);
    if (stats_present(pk.sessions))
        ok = ok && add_num(z, "sessions_peak", pk.sessions, 1);
    if (stats_present(pk.users))
        ok = ok && add_num(z, "users_peak", pk.users, 1);
    if (stats_present(pk.rps))
        ok = ok && add_num(z, "requests_per_s_peak", pk.rps, 10);
    if (stats_present(pk.vpn_ports_util))
        ok = ok && add_num(z, "vpn_ports_peak_utilization", pk.vpn_ports_util, 1000) &&
             cJSON_AddStringToObject(z, "vpn_ports_protocol", pf_vpn_proto_name(pk.vpn_proto));
    if (stats_present(pk.pool_util))
        ok = ok && add_num(z, "address_pool_peak_utilization", pk.pool_util, 1000);
    return ok;
}

static cJSON *plan_json(const struct plan_site *s)
{
    cJSON *o = cJSON_CreateObject(), *a;
    bool ok = o != NULL;

    ok = ok && cJSON_AddStringToObject(o, "tenant", s->tenant);
    ok = ok && cJSON_AddStringToObject(o, "site", s->site);
    ok = ok && cJSON_AddNumberToObject(o, "hosts", (double)s->hosts);
    ok = ok && cJSON_AddNumberToObject(o, "reporting_hosts", (double)s->reporting_hosts);
    ok = ok && add_num(o, "peak_ephemeral_ports", s->peak, 1);
    ok = ok && add_num(o, "p95_ephemeral_ports", s->p95, 1);
    ok = ok && add_num(o, "p99_ephemeral_ports", s->p99, 1);
    ok = ok && cJSON_AddNumberToObject(o, "usable_ports_per_host", s->usable_per_host);
    ok = ok &&
         cJSON_AddNumberToObject(o, "usable_ports_per_host_widened", s->usable_per_host_widened);
    ok = ok && cJSON_AddNumberToObject(o, "target_utilization", s->target_utilization);
    ok = ok && add_num(o, "growth_per_day", s->growth_per_day, 10);
    ok = ok && cJSON_AddStringToObject(o, "growth_fit", stats_growth_fit_name(s->growth.fit));
    ok = ok && add_num(o, "growth_rate_per_day", s->growth.rate, 10000);
    ok = ok && cJSON_AddNumberToObject(o, "horizon_days", s->horizon_days);
    ok = ok && add_num(o, "demand_ports", s->demand, 1);
    ok = ok && add_num(o, "capacity_per_host", s->capacity_per_host, 1);
    ok = ok && cJSON_AddNumberToObject(o, "recommended_hosts", (double)s->recommended_hosts);
    ok = ok && cJSON_AddNumberToObject(o, "add_hosts", (double)s->add_hosts);
    ok = ok && cJSON_AddStringToObject(o, "binding_protocol",
                                       s->binding_protocol ? s->binding_protocol : "tcp");
    if (ok) {
        cJSON *bp = cJSON_AddObjectToObject(o, "by_protocol");
        static const char *const pn[] = {"tcp", "udp"};
        ok = bp != NULL;
        for (size_t i = 0; ok && i < 2; i++) {
            cJSON *x = cJSON_AddObjectToObject(bp, pn[i]);
            ok = x && add_num(x, "p99_ephemeral_ports", s->proto_p99[i], 1) &&
                 add_num(x, "demand_ports", s->proto_demand[i], 1);
        }
    }
    ok = ok && cJSON_AddStringToObject(o, "binding_resource", plan_binding_name(s->binding));
    ok = ok && add_needs(o, s);
    a = ok ? cJSON_AddArrayToObject(o, "range_changes") : NULL;
    ok = a != NULL;
    for (size_t i = 0; ok && i < s->nchanges; i++) {
        const struct plan_range_change *ch = &s->changes[i];
        cJSON *c = cJSON_CreateObject(), *cmds;
        ok = c && cJSON_AddItemToArray(a, c);
        ok = ok && cJSON_AddStringToObject(c, "host", ch->host);
        ok = ok && cJSON_AddStringToObject(c, "agent_id", ch->agent_id);
        ok = ok && cJSON_AddNumberToObject(c, "usable_ports_widened", ch->widen.usable);
        cmds = ok ? cJSON_AddArrayToObject(c, "commands") : NULL;
        ok = cmds != NULL;
        for (size_t j = 0; ok && j < ch->widen.ncommands; j++) {
            cJSON *str = cJSON_CreateString(ch->widen.commands[j]);
            ok = str && cJSON_AddItemToArray(cmds, str);
        }
    }
    a = ok ? cJSON_AddArrayToObject(o, "notes") : NULL;
    ok = a != NULL;
    for (size_t i = 0; ok && i < s->nnotes; i++) {
        cJSON *str = cJSON_CreateString(s->notes[i]);
        ok = str && cJSON_AddItemToArray(a, str);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *host_json(const struct capacity *c, size_t i)
{
    const struct fleet_host *x = &c->fleet->hosts[i];
    const struct host_pressure *hp = &c->pressure[i];
    cJSON *o = cJSON_CreateObject(), *a, *r;
    bool ok = o != NULL;

    ok = ok && cJSON_AddStringToObject(o, "agent_id", x->agent_id);
    ok = ok && cJSON_AddStringToObject(o, "name", x->name);
    ok = ok && cJSON_AddStringToObject(o, "tenant", x->tenant);
    ok = ok && cJSON_AddStringToObject(o, "site", x->site);
    ok = ok && cJSON_AddStringToObject(o, "os", x->os);
    a = ok ? cJSON_AddArrayToObject(o, "roles") : NULL;
    ok = a != NULL;
    for (size_t k = 0; ok && k < x->nroles; k++) {
        cJSON *s = cJSON_CreateString(x->roles[k]);
        ok = s && cJSON_AddItemToArray(a, s);
    }
    ok = ok && add_time(o, "last_snapshot_at", x->last_seen != 0, x->last_seen);
    ok = ok && cJSON_AddBoolToObject(o, "silent", plan_host_silent(x, &c->params));
    ok = ok && cJSON_AddNumberToObject(o, "interval_s", x->interval_s);
    ok = ok && cJSON_AddNumberToObject(o, "cpus", x->cpus);
    ok = ok && cJSON_AddNumberToObject(o, "memory_mb", (double)x->memory_mb);
    ok = ok && add_host_sizing(o, c, x);
    if (ok && x->has_tcp_range) {
        r = cJSON_AddObjectToObject(o, "range");
        ok = r && cJSON_AddStringToObject(r, "proto", "tcp") &&
             cJSON_AddStringToObject(r, "family", "ipv4") &&
             cJSON_AddNumberToObject(r, "start", x->tcp_range.start) &&
             cJSON_AddNumberToObject(r, "count", x->tcp_range.count);
    } else if (ok) {
        ok = cJSON_AddNullToObject(o, "range") != NULL;
    }
    ok = ok && cJSON_AddNumberToObject(o, "usable_ports", x->tcp_usable);
    ok = ok && cJSON_AddNumberToObject(o, "ports_in_use", (double)x->last_tcp_in_use);
    ok = ok && cJSON_AddNumberToObject(o, "udp_ports_in_use", (double)x->last_udp_in_use);
    ok = ok && add_num(o, "utilization", hp->last_utilization, 1000);
    /* Two peaks, named: what the host went through (leaks included) and
     * the demand it is sized for (leaks left out). */
    ok = ok && add_num(o, "peak_in_use_ports", hp->inuse_peak, 1);
    ok = ok && add_num(o, "max_in_use_ports", hp->inuse_max, 1);
    ok = ok && add_num(o, "max_in_use_utilization", hp->inuse_utilization, 1000);
    ok = ok && add_num(o, "peak_ephemeral_ports", hp->tcp_peak, 1);
    ok = ok && add_num(o, "peak_utilization", hp->utilization, 1000);
    ok = ok && add_num(o, "trend_per_hour", hp->tcp_trend, 10);
    ok = ok && add_time(o, "exhaustion_at", hp->has_full, hp->full_at);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Prints root into out and frees it. */
static enum pf_rc emit(cJSON *root, struct pf_buf *out)
{
    char *text;
    enum pf_rc rc;

    if (!root)
        return PF_NOMEM;
    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return PF_NOMEM;
    rc = pf_buf_puts(out, text);
    free(text);
    return rc;
}

/* Adds "acknowledgement": the one in force for f (same tenant and id), or
 * null. */
static bool add_ack(const struct capacity *c, const struct finding *f, cJSON *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    cJSON *a;

    for (size_t i = 0; cJSON_IsString(id) && i < c->nacks; i++) {
        const struct finding_ack *k = &c->acks[i];
        if (strcmp(k->id, id->valuestring) != 0 || strcmp(k->tenant, f->tenant) != 0)
            continue;
        a = cJSON_AddObjectToObject(o, "acknowledgement");
        return a && add_time(a, "until", true, k->until) &&
               add_time(a, "acked_at", true, k->acked_at) &&
               cJSON_AddStringToObject(a, "comment", k->comment);
    }
    return cJSON_AddNullToObject(o, "acknowledgement") != NULL;
}

/* Adds the findings array; false when out of memory. */
static bool add_findings(const struct capacity *c, cJSON *root, const char *site, const char *host)
{
    cJSON *a = cJSON_AddArrayToObject(root, "findings");

    for (size_t i = 0; a && i < c->findings->n; i++) {
        const struct finding *f = &c->findings->v[i];
        cJSON *o;
        if (!finding_ok(c, f, site, host))
            continue;
        o = report_finding_json(f);
        if (!o || !add_ack(c, f, o) || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            return false;
        }
    }
    return a != NULL;
}

static bool add_sites(const struct capacity *c, cJSON *root, const char *site)
{
    cJSON *a = cJSON_AddArrayToObject(root, "sites");

    for (size_t i = 0; a && i < c->plan->nsites; i++) {
        cJSON *o;
        if (!site_ok(c->plan->sites[i].site, site))
            continue;
        o = plan_json(&c->plan->sites[i]);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            return false;
        }
    }
    return a != NULL;
}

static bool add_hosts(const struct capacity *c, cJSON *root, const char *site)
{
    cJSON *a = cJSON_AddArrayToObject(root, "hosts");

    for (size_t i = 0; a && i < c->fleet->nhosts; i++) {
        cJSON *o;
        if (!site_ok(c->fleet->hosts[i].site, site))
            continue;
        o = host_json(c, i);
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            return false;
        }
    }
    return a != NULL;
}

static cJSON *new_root(const struct capacity *c)
{
    cJSON *root = cJSON_CreateObject();

    if (root && !add_time(root, "generated_at", true, c->params.now)) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

enum pf_rc report_findings_json(const struct capacity *c, const char *site, const char *host,
                                struct pf_buf *out)
{
    cJSON *root = new_root(c);

    if (root && !add_findings(c, root, site, host)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return emit(root, out);
}

enum pf_rc report_plan_json(const struct capacity *c, const char *site, struct pf_buf *out)
{
    cJSON *root = new_root(c);

    if (root && !add_sites(c, root, site)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return emit(root, out);
}

enum pf_rc report_hosts_json(const struct capacity *c, const char *site, struct pf_buf *out)
{
    cJSON *root = new_root(c);

    if (root && !add_hosts(c, root, site)) {
        cJSON_Delete(root);
        root = NULL;
    }
    return emit(root, out);
}

enum pf_rc report_json(const struct capacity *c, const char *site, struct pf_buf *out)
{
    cJSON *root = new_root(c);
    bool ok = root != NULL;

    ok = ok && add_time(root, "window_start", true, c->fleet->start);
    ok = ok && cJSON_AddNumberToObject(root, "horizon_days", c->params.horizon_days);
    ok = ok && add_sites(c, root, site) && add_hosts(c, root, site) &&
         add_findings(c, root, site, NULL);
    if (!ok) {
        cJSON_Delete(root);
        root = NULL;
    }
    return emit(root, out);
}
