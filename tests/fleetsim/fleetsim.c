/* SPDX-License-Identifier: MIT */
/* fleetsim.c: the fleet simulator. It generates a scenario's
 * snapshots over days and
 *   post   enrolls every host through the real API and posts the
 *          snapshots (backdated taken_at, batches of up to 1000) over TLS;
 *   check  compares GET /v1/findings and /v1/plan answers with the
 *          scenario's "expect": the exact set of findings (kind, host,
 *          severity, culprit process, rate within 10%, exhaustion time
 *          within 10% of the model's truth, remote, exact commands) and
 *          the plan's numbers;
 *   local  folds the snapshots in memory and runs the analysis without a
 *          collector (the reference the rollups are compared with);
 *   truth  prints each host's usable ports and the model's exhaustion;
 *   nows   prints the scenario's check_at times (check_local.sh uses them);
 *   gen    prints the snapshots as JSON lines, each decoded back.
 * Usage: fleetsim post|check|local|truth --scenario FILE [options]. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "capacity.h"
#include "report.h"
#include "sim.h"
#include "snapshot_json.h"
#include "timeutil.h"

#define BATCH_BYTES (900 * 1024) /* under the collector's 1 MiB body cap */
#define ANSWER_MAX (64 * 1024 * 1024)

struct opts {
    const char *cmd, *scenario, *collector, *ca_file, *secret, *findings, *plan, *format, *state;
    int64_t now;
    int jobs;
    size_t batch;
};

static void usage(void)
{
    fprintf(
        stderr,
        "usage: fleetsim post  --scenario F --collector URL --ca-file PEM --enroll-secret S\n"
        "                      [--now T] [--jobs N] [--batch N] [--state FILE]\n"
        "       fleetsim check --scenario F --findings FILE --plan FILE --now T\n"
        "       fleetsim local --scenario F [--now T] [--format findings|plan|hosts|html|text|agree]\n"
        "       fleetsim truth --scenario F [--now T]\n"
        "       fleetsim gen   --scenario F [--now T]   (JSON lines, each validated)\n"
        "       fleetsim nows  --scenario F             (the scenario's check_at times)\n"
        "T is seconds since the epoch or RFC 3339; default: now.\n");
}

static int parse_now(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (!errno && *s && !*end) {
        *out = v;
        return 0;
    }
    return pf_time_parse(s, out) == PF_OK ? 0 : -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->now = pf_time_now();
    o->jobs = 1;
    o->batch = 1000;
    o->format = "findings";
    if (argc < 2)
        return -1;
    o->cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return -1;
        i++;
        if (strcmp(a, "--scenario") == 0)
            o->scenario = v;
        else if (strcmp(a, "--collector") == 0)
            o->collector = v;
        else if (strcmp(a, "--ca-file") == 0)
            o->ca_file = v;
        else if (strcmp(a, "--enroll-secret") == 0)
            o->secret = v;
        else if (strcmp(a, "--findings") == 0)
            o->findings = v;
        else if (strcmp(a, "--plan") == 0)
            o->plan = v;
        else if (strcmp(a, "--format") == 0)
            o->format = v;
        else if (strcmp(a, "--state") == 0)
            o->state = v;
        else if (strcmp(a, "--now") == 0) {
            if (parse_now(v, &o->now))
                return -1;
        } else if (strcmp(a, "--jobs") == 0)
            o->jobs = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--batch") == 0)
            o->batch = (size_t)strtoul(v, NULL, 10);
        else
            return -1;
    }
    if (!o->scenario || o->jobs < 1 || o->batch < 1 || o->batch > PF_JSON_BATCH_MAX)
        return -1;
    return 0;
}

/* ---- HTTP over libcurl ---- */

struct http {
    CURL *curl;
    const struct opts *o;
    struct pf_buf answer;
    uint64_t duplicates;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct pf_buf *b = ud;
    return pf_buf_append(b, p, size * n) == PF_OK ? size * n : 0;
}

/* POSTs body to path; returns the HTTP status (0 on transport failure),
 * the answer in h->answer. */
static long http_post(struct http *h, const char *path, const char *bearer, const char *body,
                      size_t len)
{
    char url[1024], auth[512];
    struct curl_slist *hdr = NULL;
    long status = 0;

    snprintf(url, sizeof(url), "%s%s", h->o->collector, path);
    pf_buf_reset(&h->answer);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    if (bearer) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        hdr = curl_slist_append(hdr, auth);
    }
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (curl_easy_perform(h->curl) == CURLE_OK)
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    return status;
}

/* Retries 429/503 and transport failures for up to a minute. */
static long http_post_retry(struct http *h, const char *path, const char *bearer, const char *body,
                            size_t len)
{
    long st = 0;

    for (int attempt = 0; attempt < 120; attempt++) {
        st = http_post(h, path, bearer, body, len);
        if (st != 0 && st != 429 && st != 503)
            return st;
        usleep(500 * 1000);
    }
    return st;
}

struct enrolled {
    char agent_id[PF_ID_LEN];
    char key[256];
};

static int enroll(struct http *h, const struct sim_host *x, struct enrolled *e)
{
    cJSON *req = cJSON_CreateObject(), *host, *ans;
    char *body;
    long st;
    int rc = -1;

    host = cJSON_AddObjectToObject(req, "host");
    cJSON_AddStringToObject(req, "enroll_secret", h->o->secret);
    cJSON_AddStringToObject(host, "name", x->name);
    cJSON_AddStringToObject(host, "site", x->site);
    cJSON_AddStringToObject(host, "machine_id", x->name);
    body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    if (!body)
        return -1;
    st = http_post_retry(h, "/v1/enroll", NULL, body, strlen(body));
    free(body);
    ans = st == 200 ? cJSON_ParseWithLength(h->answer.data, h->answer.len) : NULL;
    if (ans && cJSON_IsString(cJSON_GetObjectItem(ans, "agent_id")) &&
        cJSON_IsString(cJSON_GetObjectItem(ans, "node_key"))) {
        snprintf(e->agent_id, sizeof(e->agent_id), "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(ans, "agent_id")));
        snprintf(e->key, sizeof(e->key), "%s",
                 cJSON_GetStringValue(cJSON_GetObjectItem(ans, "node_key")));
        rc = 0;
    } else {
        fprintf(stderr, "fleetsim: enroll %s: HTTP %ld %.*s\n", x->name, st, (int)h->answer.len,
                h->answer.data ? h->answer.data : "");
    }
    cJSON_Delete(ans);
    return rc;
}

/* Sends items [from, to) of the encoded snapshots (offsets into enc) as
 * one batch; on 413 splits it in two. Returns 0 or -1. */
static int send_range(struct http *h, const struct enrolled *e, const struct pf_buf *enc,
                      const size_t *off, size_t from, size_t to, uint64_t *accepted)
{
    struct pf_buf body;
    long st;
    cJSON *ans;
    int rc = -1;

    pf_buf_init(&body, 64u * 1024 * 1024);
    pf_buf_puts(&body, "{\"snapshots\":[");
    for (size_t i = from; i < to; i++) {
        if (i > from)
            pf_buf_puts(&body, ",");
        pf_buf_append(&body, enc->data + off[i], off[i + 1] - off[i]);
    }
    pf_buf_puts(&body, "]}");
    st = http_post_retry(h, "/v1/snapshots", e->key, body.data, body.len);
    pf_buf_free(&body);
    if (st == 413 && to - from > 1) {
        size_t mid = from + (to - from) / 2;
        if (send_range(h, e, enc, off, from, mid, accepted) ||
            send_range(h, e, enc, off, mid, to, accepted))
            return -1;
        return 0;
    }
    ans = st == 200 ? cJSON_ParseWithLength(h->answer.data, h->answer.len) : NULL;
    if (ans && cJSON_GetObjectItem(ans, "expired"))
        fprintf(stderr, "fleetsim: snapshots: %.*s\n", (int)h->answer.len, h->answer.data);
    if (ans) {
        *accepted += (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(ans, "accepted"));
        h->duplicates += (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(ans, "duplicates"));
        rc = 0;
    } else {
        fprintf(stderr, "fleetsim: snapshots: HTTP %ld %.*s\n", st, (int)h->answer.len,
                h->answer.data ? h->answer.data : "");
    }
    cJSON_Delete(ans);
    return rc;
}

/* --state FILE: "name agent_id node_key" lines. A host found there is not
 * enrolled again, so a second post resends the same (agent_id, seq): the
 * collector must count them as duplicates. */
static bool state_find(const char *path, const char *name, struct enrolled *e)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    char line[1024], n[512], id[PF_ID_LEN], key[256];
    bool found = false;

    while (f && !found && fgets(line, sizeof(line), f))
        if (sscanf(line, "%511s %63s %255s", n, id, key) == 3 && strcmp(n, name) == 0) {
            snprintf(e->agent_id, sizeof(e->agent_id), "%s", id);
            snprintf(e->key, sizeof(e->key), "%s", key);
            found = true;
        }
    if (f)
        fclose(f);
    return found;
}

static void state_add(const char *path, const char *name, const struct enrolled *e)
{
    FILE *f = path ? fopen(path, "a") : NULL;

    if (f) {
        fprintf(f, "%s %s %s\n", name, e->agent_id, e->key);
        fclose(f);
    }
}

static int post_host(struct http *h, const struct sim_scenario *sc, const struct sim_host *x,
                     uint64_t *sent, uint64_t *accepted)
{
    struct enrolled e;
    struct pf_snapshot s;
    struct pf_buf enc;
    size_t *off, n = 0;
    int64_t first, last;
    uint64_t seq = 0;
    int rc = 0;

    if (!state_find(h->o->state, x->name, &e)) {
        if (enroll(h, x, &e))
            return -1;
        state_add(h->o->state, x->name, &e);
    }
    memset(&s, 0, sizeof(s));
    off = malloc((h->o->batch + 1) * sizeof(*off));
    pf_buf_init(&enc, 64u * 1024 * 1024);
    if (!off)
        return -1;
    sim_times(sc, x, h->o->now, &first, &last);
    off[0] = 0;
    for (int64_t t = first; t <= last && !rc; t += sc->interval_s) {
        if (sim_snapshot(sc, x, h->o->now, t, ++seq, e.agent_id, &s) != PF_OK ||
            pf_snapshot_encode(&s, 0, &enc) != PF_OK) {
            rc = -1;
            break;
        }
        off[++n] = enc.len;
        (*sent)++;
        if (n == h->o->batch || enc.len > BATCH_BYTES || t + sc->interval_s > last) {
            rc = send_range(h, &e, &enc, off, 0, n, accepted);
            pf_buf_reset(&enc);
            n = 0;
        }
    }
    pf_snapshot_clear(&s);
    pf_buf_free(&enc);
    free(off);
    return rc;
}

static int cmd_post(const struct opts *o, const struct sim_scenario *sc)
{
    long long t0 = pf_mono_ms();
    int failed = 0;
    pid_t *kids;

    if (!o->collector || !o->secret) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    kids = calloc((size_t)o->jobs, sizeof(*kids));
    if (!kids)
        return 1;
    fflush(NULL);
    for (int j = 0; j < o->jobs; j++) {
        pid_t pid = o->jobs == 1 ? 0 : fork();
        if (pid < 0)
            return 1;
        if (pid > 0) {
            kids[j] = pid;
            continue;
        }
        /* A worker: hosts j, j + jobs, ... */
        struct http h = {curl_easy_init(), o, {0}, 0};
        uint64_t sent = 0, accepted = 0;
        int rc = 0;
        pf_buf_init(&h.answer, ANSWER_MAX);
        curl_easy_setopt(h.curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h.curl, CURLOPT_WRITEDATA, &h.answer);
        if (o->ca_file)
            curl_easy_setopt(h.curl, CURLOPT_CAINFO, o->ca_file);
        curl_easy_setopt(h.curl, CURLOPT_TIMEOUT, 120L);
        for (size_t i = (size_t)j; i < sc->nhosts && !rc; i += (size_t)o->jobs)
            rc = post_host(&h, sc, &sc->hosts[i], &sent, &accepted);
        fprintf(stderr,
                "fleetsim: worker %d: %llu snapshots sent, %llu accepted, %llu duplicates\n", j,
                (unsigned long long)sent, (unsigned long long)accepted,
                (unsigned long long)h.duplicates);
        curl_easy_cleanup(h.curl);
        pf_buf_free(&h.answer);
        if (o->jobs == 1) {
            failed = rc != 0 || accepted + h.duplicates != sent;
            break;
        }
        _exit(rc != 0 || accepted + h.duplicates != sent);
    }
    for (int j = 0; j < o->jobs && o->jobs > 1; j++) {
        int st = 0;
        if (waitpid(kids[j], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed = 1;
    }
    free(kids);
    fprintf(stderr, "fleetsim: %zu hosts posted in %.1f s%s\n", sc->nhosts,
            (double)(pf_mono_ms() - t0) / 1000, failed ? " (FAILED)" : "");
    curl_global_cleanup();
    return failed;
}

/* ---- local: the analysis without a collector ---- */

/* The value of the first data-full="..." in [from, to), or "" (none). */
static void data_full(const char *from, const char *to, char *out, size_t len)
{
    const char *a = strstr(from, "data-full=\"");

    out[0] = '\0';
    if (!a || (to && a >= to))
        return;
    a += strlen("data-full=\"");
    snprintf(out, len, "%.*s", (int)strcspn(a, "\""), a);
}

/* The report agrees with itself: each host's one fill time (host_pressure
 * full_at) is the exhaustion_at of its exhaustion_forecast and of its
 * port_leak findings that lie ahead, the "full at" of its table row, and
 * the "full" label of its chart when the chart reaches it. Prints each
 * difference; returns how many. */
static int check_agree(const struct capacity *c)
{
    struct pf_buf html;
    int bad = 0, checks = 0;

    pf_buf_init(&html, ANSWER_MAX);
    if (report_html(c, NULL, &html) != PF_OK || pf_buf_append(&html, "", 1) != PF_OK) {
        pf_buf_free(&html);
        printf("FAIL agree: cannot render the HTML report\n");
        return 1;
    }
    for (size_t i = 0; i < c->fleet->nhosts; i++) {
        const struct fleet_host *x = &c->fleet->hosts[i];
        const struct host_pressure *hp = &c->pressure[i];
        char want[PF_TIME_LEN] = "", got[64], key[PF_NAME_LEN + 64];
        const char *row, *chart, *end;

        if (hp->has_full)
            pf_time_format(hp->full_at, want);
        for (size_t k = 0; k < c->findings->n; k++) {
            const struct finding *fi = &c->findings->v[k];
            char at[PF_TIME_LEN];
            if (strcmp(fi->agent_id, x->agent_id) != 0 || !fi->has_exhaustion ||
                fi->exhaustion_at <= c->params.now ||
                (fi->kind != FINDING_EXHAUSTION_FORECAST && fi->kind != FINDING_PORT_LEAK))
                continue;
            pf_time_format(fi->exhaustion_at, at);
            checks++;
            if (strcmp(at, want) != 0) {
                printf("FAIL agree %s: %s says full at %s, the host's forecast %s\n", x->name,
                       finding_kind_name(fi->kind), at, want[0] ? want : "none");
                bad++;
            }
        }
        snprintf(key, sizeof(key), "<tr class=\"host\"><td>%s</td>", x->name);
        row = strstr(html.data, key);
        end = row ? strstr(row, "</tr>") : NULL;
        data_full(row ? row : "", end, got, sizeof(got));
        checks++;
        if (!row || strcmp(got, want) != 0) {
            printf("FAIL agree %s: table says full at \"%s\", the host's forecast \"%s\"\n",
                   x->name, got, want);
            bad++;
        }
        /* The row shows the real peak (all ports in use, leaks included)
         * beside the demand's: a host that was full reads as full. */
        if (row && stats_present(hp->inuse_max)) {
            char cellv[64];
            snprintf(cellv, sizeof(cellv), "<td class=\"n\">%.0f</td>", hp->inuse_max);
            checks++;
            if (!strstr(row, cellv) || (end && strstr(row, cellv) > end)) {
                printf("FAIL agree %s: table lacks the maximum in use %.0f\n", x->name,
                       hp->inuse_max);
                bad++;
            }
        }
        snprintf(key, sizeof(key), "data-host=\"%s\"", x->name);
        chart = strstr(html.data, key);
        end = chart ? strstr(chart, "</svg>") : NULL;
        data_full(chart ? chart : "", end, got, sizeof(got));
        if (got[0] || (hp->has_full && hp->full_at - c->params.now < 14 * 86400 &&
                       hp->full_at > c->params.now && hp->has_forecast &&
                       strcmp(hp->forecast_what, "TCP ports") == 0)) {
            checks++;
            if (strcmp(got, want) != 0) {
                printf("FAIL agree %s: chart says full at \"%s\", the host's forecast \"%s\"\n",
                       x->name, got, want);
                bad++;
            }
        }
    }
    printf("agree: %zu hosts, %d checks, %d problem(s)\n", c->fleet->nhosts, checks, bad);
    pf_buf_free(&html);
    return bad;
}

static int cmd_local(const struct opts *o, const struct sim_scenario *sc)
{
    struct fleet_params p;
    struct fleet *f;
    struct capacity *c = NULL;
    struct pf_snapshot s;
    struct pf_buf out;
    enum pf_rc rc = PF_OK;
    long long t0 = pf_mono_ms(), t_fold;

    fleet_params_default(&p);
    p.now = o->now;
    f = fleet_new(&p);
    if (!f)
        return 1;
    memset(&s, 0, sizeof(s));
    for (size_t i = 0; i < sc->nhosts && !rc; i++) {
        char id[PF_ID_LEN];
        int64_t first, last;
        uint64_t seq = 0;
        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012zx", i + 1);
        sim_times(sc, &sc->hosts[i], o->now, &first, &last);
        for (int64_t t = first; t <= last && !rc; t += sc->interval_s) {
            rc = sim_snapshot(sc, &sc->hosts[i], o->now, t, ++seq, id, &s);
            if (!rc)
                rc = fleet_add_snapshot(f, &s);
        }
    }
    pf_snapshot_clear(&s);
    t_fold = pf_mono_ms();
    if (rc || capacity_analyze(f, &p, &c) != PF_OK) {
        if (rc)
            fleet_free(f);
        return 1;
    }
    fprintf(stderr, "fleetsim: %zu hosts: generated and folded in %lld ms, analysed in %lld ms\n",
            sc->nhosts, t_fold - t0, pf_mono_ms() - t_fold);
    if (strcmp(o->format, "agree") == 0) {
        int bad = check_agree(c);
        capacity_free(c);
        return bad != 0;
    }
    pf_buf_init(&out, ANSWER_MAX);
    if (strcmp(o->format, "plan") == 0)
        rc = report_plan_json(c, NULL, &out);
    else if (strcmp(o->format, "hosts") == 0)
        rc = report_hosts_json(c, NULL, &out);
    else if (strcmp(o->format, "html") == 0)
        rc = report_html(c, NULL, &out);
    else if (strcmp(o->format, "text") == 0)
        rc = report_text(c, NULL, &out);
    else
        rc = report_findings_json(c, NULL, NULL, &out);
    if (!rc)
        fwrite(out.data, 1, out.len, stdout);
    pf_buf_free(&out);
    capacity_free(c);
    return rc != PF_OK;
}

/* ---- gen: the snapshots as JSON lines, each decoded back (validated) ---- */

static int cmd_gen(const struct opts *o, const struct sim_scenario *sc)
{
    struct pf_snapshot s, back;
    struct pf_buf enc;
    char err[PF_ERRMSG_LEN];
    int bad = 0;

    memset(&s, 0, sizeof(s));
    memset(&back, 0, sizeof(back));
    pf_buf_init(&enc, 64u * 1024 * 1024);
    for (size_t i = 0; i < sc->nhosts; i++) {
        char id[PF_ID_LEN];
        int64_t first, last;
        uint64_t seq = 0;
        snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012zx", i + 1);
        sim_times(sc, &sc->hosts[i], o->now, &first, &last);
        for (int64_t t = first; t <= last; t += sc->interval_s) {
            pf_buf_reset(&enc);
            if (sim_snapshot(sc, &sc->hosts[i], o->now, t, ++seq, id, &s) != PF_OK ||
                pf_snapshot_encode(&s, 0, &enc) != PF_OK) {
                fprintf(stderr, "fleetsim: %s seq %llu: cannot encode\n", sc->hosts[i].name,
                        (unsigned long long)seq);
                bad++;
                continue;
            }
            if (pf_snapshot_decode(enc.data, enc.len, &back, err) != PF_OK) {
                fprintf(stderr, "fleetsim: %s seq %llu: %s\n", sc->hosts[i].name,
                        (unsigned long long)seq, err);
                bad++;
            }
            pf_snapshot_clear(&back);
            fwrite(enc.data, 1, enc.len, stdout);
            putchar('\n');
        }
    }
    pf_snapshot_clear(&s);
    pf_buf_free(&enc);
    return bad != 0;
}

/* ---- truth ---- */

static int cmd_truth(const struct opts *o, const struct sim_scenario *sc)
{
    for (size_t i = 0; i < sc->nhosts; i++) {
        const struct sim_host *h = &sc->hosts[i];
        int64_t t = sim_exhaustion_truth(sc, h, o->now, 365);
        char when[PF_TIME_LEN] = "never";
        if (t >= 0)
            pf_time_format(t, when);
        printf("%s site=%s usable=%u now=%.0f exhaustion=%s\n", h->name, h->site,
               (unsigned)sim_usable(h), sim_tcp_truth(sc, h, o->now, o->now), when);
    }
    return 0;
}

/* ---- nows: the scenario's own check times (check_at), one a line ---- */

static int cmd_nows(const struct sim_scenario *sc)
{
    const cJSON *v;

    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(sc->json, "check_at"))
    {
        if (cJSON_IsString(v))
            printf("%s\n", v->valuestring);
    }
    return 0;
}

/* ---- check ---- */

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct pf_buf b;
    char chunk[65536];
    size_t n;
    cJSON *j = NULL;

    if (!f) {
        fprintf(stderr, "fleetsim: %s: cannot open\n", path);
        return NULL;
    }
    pf_buf_init(&b, ANSWER_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (pf_buf_append(&b, chunk, n) != PF_OK)
            break;
    fclose(f);
    if (b.len)
        j = cJSON_ParseWithLength(b.data, b.len);
    if (!j)
        fprintf(stderr, "fleetsim: %s: not JSON\n", path);
    pf_buf_free(&b);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

static const struct sim_host *host_named(const struct sim_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->nhosts; i++)
        if (strcmp(sc->hosts[i].name, name) == 0)
            return &sc->hosts[i];
    return NULL;
}

static int problems;

static void fail(const char *fmt, ...) PF_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    printf("FAIL ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    problems++;
}

/* Does expectation e describe actual finding a (kind, host or site)? */
static bool same_subject(const cJSON *e, const cJSON *a)
{
    if (strcmp(jstr(e, "kind"), jstr(a, "kind")) != 0)
        return false;
    /* resource_pressure (cpu, memory) and vpn_ports (per protocol) may
     * come twice for one host. */
    if (cJSON_GetObjectItemCaseSensitive(e, "resource") &&
        strcmp(jstr(e, "resource"), jstr(a, "resource")) != 0)
        return false;
    if (cJSON_GetObjectItemCaseSensitive(e, "protocol") &&
        strcmp(jstr(e, "protocol"), jstr(a, "protocol")) != 0)
        return false;
    if (cJSON_GetObjectItemCaseSensitive(e, "host"))
        return strcmp(jstr(e, "host"), jstr(a, "host")) == 0 &&
               (!cJSON_GetObjectItemCaseSensitive(e, "process") ||
                strcmp(jstr(e, "process"),
                       jstr(cJSON_GetObjectItemCaseSensitive(a, "process"), "name")) == 0);
    return !cJSON_GetObjectItemCaseSensitive(a, "host") &&
           strcmp(jstr(e, "site"), jstr(a, "site")) == 0;
}

static bool has_string(const cJSON *arr, const char *s)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, arr)
    {
        if (cJSON_IsString(x) && strcmp(x->valuestring, s) == 0)
            return true;
    }
    return false;
}

static void check_finding(const struct opts *o, const struct sim_scenario *sc, const cJSON *e,
                          const cJSON *a)
{
    const char *what = jstr(e, "kind"), *host = jstr(e, "host");
    const cJSON *v, *x;
    char label[512];

    snprintf(label, sizeof(label), "%s %s", what, host[0] ? host : jstr(e, "site"));
    if ((v = cJSON_GetObjectItemCaseSensitive(e, "severity")) &&
        strcmp(cJSON_GetStringValue(v), jstr(a, "severity")) != 0)
        fail("%s: severity %s, expected %s", label, jstr(a, "severity"), cJSON_GetStringValue(v));
    if ((v = cJSON_GetObjectItemCaseSensitive(e, "service")) &&
        strcmp(cJSON_GetStringValue(v),
               jstr(cJSON_GetObjectItemCaseSensitive(a, "process"), "service")) != 0)
        fail("%s: service %s, expected %s", label,
             jstr(cJSON_GetObjectItemCaseSensitive(a, "process"), "service"),
             cJSON_GetStringValue(v));
    if ((v = cJSON_GetObjectItemCaseSensitive(e, "rate_per_hour"))) {
        double got = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "rate_per_hour"));
        if (!(fabs(got - v->valuedouble) <= 0.1 * v->valuedouble))
            fail("%s: rate %.1f/h, expected %.1f/h +-10%%", label, got, v->valuedouble);
        else
            printf("ok   %s: rate %.1f/h (expected %.1f, off %.1f%%)\n", label, got, v->valuedouble,
                   100 * fabs(got - v->valuedouble) / v->valuedouble);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(e, "exhaustion")) && cJSON_IsString(v)) {
        const char *at = jstr(a, "exhaustion_at");
        int64_t got = 0, truth = -1;
        const struct sim_host *h = host_named(sc, host);
        if (strcmp(v->valuestring, "truth") == 0 && h)
            truth = sim_exhaustion_truth(sc, h, o->now, 365);
        else if (strncmp(v->valuestring, "hour:", 5) == 0) /* the end of that hour before now */
            truth =
                (o->now - (int64_t)(strtod(v->valuestring + 5, NULL) * 3600)) / 3600 * 3600 + 3600;
        if (!at[0] || pf_time_parse(at, &got) != PF_OK) {
            fail("%s: exhaustion_at missing", label);
        } else if (truth < 0) {
            fail("%s: no truth for the exhaustion", label);
        } else if (strncmp(v->valuestring, "hour:", 5) == 0) {
            if (llabs(got - truth) > 3600)
                fail("%s: exhaustion_at %s, expected within the hour ending %lld", label, at,
                     (long long)truth);
        } else {
            double want_h = (double)(truth - o->now) / 3600, got_h = (double)(got - o->now) / 3600;
            if (!(fabs(got_h - want_h) <= 0.1 * want_h))
                fail("%s: exhausted in %.1f h, truth %.1f h +-10%%", label, got_h, want_h);
            else
                printf("ok   %s: exhausted in %.1f h (truth %.1f h, off %.1f%%)\n", label, got_h,
                       want_h, 100 * fabs(got_h - want_h) / want_h);
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(e, "remote"))) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(a, "remote");
        char got[128];
        snprintf(got, sizeof(got), "%s:%d", jstr(r, "addr"),
                 (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(r, "port")));
        if (strcmp(got, cJSON_GetStringValue(v)) != 0)
            fail("%s: remote %s, expected %s", label, got, cJSON_GetStringValue(v));
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "remediation"))
    {
        if (!has_string(cJSON_GetObjectItemCaseSensitive(a, "remediation"), x->valuestring))
            fail("%s: remediation lacks \"%s\"", label, x->valuestring);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "summary_contains"))
    {
        if (!strstr(jstr(a, "summary"), x->valuestring))
            fail("%s: summary lacks \"%s\" (%s)", label, x->valuestring, jstr(a, "summary"));
    }
    /* Words that must not be there: advice that does not fit the host, a
     * figure of the other protocol. */
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "summary_lacks"))
    {
        if (strstr(jstr(a, "summary"), x->valuestring))
            fail("%s: summary has \"%s\" (%s)", label, x->valuestring, jstr(a, "summary"));
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "remediation_contains"))
    {
        const cJSON *r;
        bool found = false;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(a, "remediation"))
        {
            found = found || (cJSON_IsString(r) && strstr(r->valuestring, x->valuestring));
        }
        if (!found)
            fail("%s: no remediation contains \"%s\"", label, x->valuestring);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "remediation_lacks"))
    {
        const cJSON *r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(a, "remediation"))
        {
            if (cJSON_IsString(r) && strstr(r->valuestring, x->valuestring))
                fail("%s: remediation has \"%s\" (%s)", label, x->valuestring, r->valuestring);
        }
    }
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(e, "exhaustion")) &&
        jstr(a, "exhaustion_at")[0])
        fail("%s: exhaustion_at %s, expected null", label, jstr(a, "exhaustion_at"));
}

static void check_plan(const cJSON *e, const cJSON *sites)
{
    static const char *const fields[] = {"hosts", "recommended_hosts", "add_hosts",
                                         "usable_ports_per_host", "usable_ports_per_host_widened"};
    const cJSON *s, *want, *x;
    const char *site = jstr(e, "site");

    cJSON_ArrayForEach(s, sites)
    {
        if (strcmp(jstr(s, "site"), site) == 0)
            break;
    }
    if (!s) {
        fail("plan: no site %s", site);
        return;
    }
    for (size_t i = 0; i < PF_ARRAY_LEN(fields); i++) {
        want = cJSON_GetObjectItemCaseSensitive(e, fields[i]);
        if (!want)
            continue;
        double got = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, fields[i]));
        if (got != want->valuedouble)
            fail("plan %s: %s %.0f, expected %.0f", site, fields[i], got, want->valuedouble);
        else
            printf("ok   plan %s: %s %.0f\n", site, fields[i], got);
    }
    /* Strings of the plan: which growth fit, which protocol binds. */
    {
        static const char *const strs[] = {"growth_fit", "binding_protocol"};
        for (size_t i = 0; i < PF_ARRAY_LEN(strs); i++) {
            want = cJSON_GetObjectItemCaseSensitive(e, strs[i]);
            if (!cJSON_IsString(want))
                continue;
            if (strcmp(jstr(s, strs[i]), want->valuestring) != 0)
                fail("plan %s: %s \"%s\", expected \"%s\"", site, strs[i], jstr(s, strs[i]),
                     want->valuestring);
            else
                printf("ok   plan %s: %s %s\n", site, strs[i], want->valuestring);
        }
    }
    /* growth_per_day within 15% ([lo, hi] for an interval; 0 exactly). */
    want = cJSON_GetObjectItemCaseSensitive(e, "growth_per_day");
    if (want) {
        double got = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "growth_per_day"));
        double lo = cJSON_IsArray(want) ? cJSON_GetArrayItem(want, 0)->valuedouble
                                        : want->valuedouble * 0.85;
        double hi = cJSON_IsArray(want) ? cJSON_GetArrayItem(want, 1)->valuedouble
                                        : want->valuedouble * 1.15;
        if (!(got >= lo && got <= hi))
            fail("plan %s: growth_per_day %.1f, expected %.1f..%.1f", site, got, lo, hi);
        else
            printf("ok   plan %s: growth_per_day %.1f (%.1f..%.1f)\n", site, got, lo, hi);
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "notes_contain"))
    {
        const cJSON *n;
        bool found = false;
        cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(s, "notes"))
        {
            found = found || (cJSON_IsString(n) && strstr(n->valuestring, x->valuestring));
        }
        if (!found)
            fail("plan %s: no note contains \"%s\"", site, x->valuestring);
    }
    want = cJSON_GetObjectItemCaseSensitive(e, "binding_resource");
    if (want) {
        if (strcmp(jstr(s, "binding_resource"), cJSON_GetStringValue(want)) != 0)
            fail("plan %s: binding_resource %s, expected %s", site, jstr(s, "binding_resource"),
                 cJSON_GetStringValue(want));
        else
            printf("ok   plan %s: binding_resource %s\n", site, cJSON_GetStringValue(want));
    }
    /* "hosts_needed": {"cpu": 4, ...}: the hosts each resource needs. */
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "hosts_needed"))
    {
        const cJSON *got = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(s, "hosts_needed"),
                                             x->string),
            "hosts");
        if (!cJSON_IsNumber(got) || got->valuedouble != x->valuedouble)
            fail("plan %s: hosts_needed.%s %s, expected %.0f", site, x->string,
                 cJSON_IsNumber(got) ? "differs" : "missing", x->valuedouble);
        else
            printf("ok   plan %s: %s needs %.0f hosts\n", site, x->string, x->valuedouble);
    }
    want = cJSON_GetObjectItemCaseSensitive(e, "range_changes");
    if (want) {
        const cJSON *changes = cJSON_GetObjectItemCaseSensitive(s, "range_changes");
        if (cJSON_GetArraySize(changes) != cJSON_GetArraySize(want))
            fail("plan %s: %d range changes, expected %d", site, cJSON_GetArraySize(changes),
                 cJSON_GetArraySize(want));
        cJSON_ArrayForEach(x, want)
        {
            const cJSON *c, *cmd;
            cJSON_ArrayForEach(c, changes)
            {
                if (strcmp(jstr(c, "host"), jstr(x, "host")) == 0)
                    break;
            }
            if (!c) {
                fail("plan %s: no range change for %s", site, jstr(x, "host"));
                continue;
            }
            cJSON_ArrayForEach(cmd, cJSON_GetObjectItemCaseSensitive(x, "commands"))
            {
                if (!has_string(cJSON_GetObjectItemCaseSensitive(c, "commands"), cmd->valuestring))
                    fail("plan %s: %s lacks \"%s\"", site, jstr(x, "host"), cmd->valuestring);
            }
        }
    }
}

static int cmd_check(const struct opts *o, const struct sim_scenario *sc)
{
    cJSON *findings = NULL, *plan = NULL, *expect, *ef, *ep, *a, *e;
    size_t nexp, nact, i = 0;
    bool *used = NULL;

    if (!o->findings || !o->plan) {
        usage();
        return 2;
    }
    findings = read_json(o->findings);
    plan = read_json(o->plan);
    expect = cJSON_GetObjectItemCaseSensitive(sc->json, "expect");
    ef = cJSON_GetObjectItemCaseSensitive(expect, "findings");
    ep = cJSON_GetObjectItemCaseSensitive(expect, "plan");
    if (!findings || !plan || !expect) {
        cJSON_Delete(findings);
        cJSON_Delete(plan);
        printf("FAIL %s: missing input or expect\n", sc->name);
        return 1;
    }
    nexp = (size_t)cJSON_GetArraySize(ef);
    nact = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(findings, "findings"));
    used = calloc(nexp + 1, sizeof(*used));
    /* Every actual finding must be expected, exactly once. */
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(findings, "findings"))
    {
        size_t k = 0;
        bool matched = false;
        cJSON_ArrayForEach(e, ef)
        {
            if (!used[k] && same_subject(e, a)) {
                used[k] = matched = true;
                printf("ok   %s %s%s%s (%s): %s\n", jstr(a, "kind"), jstr(a, "site"),
                       cJSON_GetObjectItemCaseSensitive(a, "host") ? "/" : "", jstr(a, "host"),
                       jstr(a, "severity"), jstr(a, "summary"));
                check_finding(o, sc, e, a);
                break;
            }
            k++;
        }
        if (!matched)
            fail("unexpected finding %s %s/%s: %s", jstr(a, "kind"), jstr(a, "site"),
                 jstr(a, "host"), jstr(a, "summary"));
    }
    cJSON_ArrayForEach(e, ef)
    {
        if (!used[i++])
            fail("missing finding %s %s%s", jstr(e, "kind"), jstr(e, "site"), jstr(e, "host"));
    }
    cJSON_ArrayForEach(e, ep)
    {
        check_plan(e, cJSON_GetObjectItemCaseSensitive(plan, "sites"));
    }
    printf("%s: %zu findings (%zu expected), %d problem(s)\n", sc->name, nact, nexp, problems);
    free(used);
    cJSON_Delete(findings);
    cJSON_Delete(plan);
    return problems ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct sim_scenario *sc = NULL;
    char err[512] = "";
    int rc;

    if (parse_opts(argc, argv, &o)) {
        usage();
        return 2;
    }
    if (sim_load(o.scenario, &sc, err, sizeof(err)) != PF_OK) {
        fprintf(stderr, "fleetsim: %s\n", err);
        return 2;
    }
    if (strcmp(o.cmd, "post") == 0)
        rc = cmd_post(&o, sc);
    else if (strcmp(o.cmd, "check") == 0)
        rc = cmd_check(&o, sc);
    else if (strcmp(o.cmd, "local") == 0)
        rc = cmd_local(&o, sc);
    else if (strcmp(o.cmd, "gen") == 0)
        rc = cmd_gen(&o, sc);
    else if (strcmp(o.cmd, "truth") == 0)
        rc = cmd_truth(&o, sc);
    else if (strcmp(o.cmd, "nows") == 0)
        rc = cmd_nows(sc);
    else {
        usage();
        rc = 2;
    }
    sim_free(sc);
    return rc;
}
