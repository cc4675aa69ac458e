/* SPDX-License-Identifier: MIT */
/* test_alert.c: notifications' pure parts: the finding id (stable across a
 * finding's changing numbers), the four message formats (each says what,
 * where, when the range is full, the first step and the link; untrusted
 * text escaped for its format), destination checks and labels, and the
 * --alert-* options refused with exit-2 messages naming the option. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alert_dest.h"
#include "alert_format.h"
#include "findings.h"
#include "options.h"
#include "report.h"
#include "test.h"

static struct finding leak(void)
{
    struct finding f;

    memset(&f, 0, sizeof(f));
    f.kind = FINDING_PORT_LEAK;
    f.severity = SEVERITY_CRITICAL;
    snprintf(f.site, sizeof(f.site), "nyc");
    snprintf(f.host, sizeof(f.host), "CONN-NYC-01");
    snprintf(f.agent_id, sizeof(f.agent_id), "9b2c0000-0000-0000-0000-000000000001");
    snprintf(f.summary, sizeof(f.summary), "DnsFilterService.exe holds 2.1 more ports a minute");
    f.has_process = true;
    snprintf(f.process_name, sizeof(f.process_name), "DnsFilterService.exe");
    snprintf(f.process_service, sizeof(f.process_service), "DnsFilterSvc");
    f.has_rate = true;
    f.rate_per_hour = 126;
    f.has_exhaustion = true;
    f.exhaustion_at = 1795680000; /* 2026-11-26T08:00:00Z */
    f.has_remote = true;
    snprintf(f.remote.addr, sizeof(f.remote.addr), "169.254.169.254");
    f.remote.port = 80;
    snprintf(f.remediation[0], sizeof(f.remediation[0]), "Restart-Service DnsFilterSvc");
    f.nremediation = 1;
    return f;
}

static cJSON *payload(const struct finding *f, const char *status, const char *prev)
{
    char id[FINDING_ID_LEN], url[ALERT_URL_LEN];
    cJSON *fj = report_finding_json(f);

    finding_id(f, id);
    alert_report_url("https://collector:8443/", fj, url);
    return alert_payload_new(status, id, prev, fj, "default", url);
}

TEST(ids)
{
    struct finding f = leak(), g = leak(), s;
    char a[FINDING_ID_LEN], b[FINDING_ID_LEN];

    finding_id(&f, a);
    T_EQ_STR(a, "port_leak/9b2c0000-0000-0000-0000-000000000001/DnsFilterService.exe");
    g.rate_per_hour = 300;
    g.severity = SEVERITY_WARNING;
    snprintf(g.summary, sizeof(g.summary), "other numbers");
    finding_id(&g, b);
    T_EQ_STR(a, b);
    memset(&s, 0, sizeof(s));
    s.kind = FINDING_REDUNDANCY;
    snprintf(s.site, sizeof(s.site), "lab");
    finding_id(&s, a);
    T_EQ_STR(a, "redundancy/lab");
    s.kind = FINDING_SNAT_IKEV2;
    snprintf(s.host, sizeof(s.host), "RAS-1");
    snprintf(s.agent_id, sizeof(s.agent_id), "a1");
    s.has_remote = true;
    snprintf(s.remote.addr, sizeof(s.remote.addr), "10.0.0.5");
    s.remote.port = 500;
    finding_id(&s, a);
    T_EQ_STR(a, "snat_ikev2/a1/10.0.0.5:500");
}

TEST(generic_json)
{
    struct finding f = leak();
    cJSON *p = payload(&f, "firing", "warning"), *o;
    struct pf_buf b;

    T_ASSERT(p);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(alert_format_body(ALERT_DEST_JSON, p, 1795600805, &b), PF_OK);
    o = cJSON_Parse(b.data);
    T_ASSERT(o);
    T_EQ_STR(cJSON_GetObjectItem(o, "status")->valuestring, "firing");
    T_EQ_STR(cJSON_GetObjectItem(o, "previous_severity")->valuestring, "warning");
    T_EQ_STR(cJSON_GetObjectItem(o, "tenant")->valuestring, "default");
    T_EQ_STR(cJSON_GetObjectItem(o, "report_url")->valuestring,
             "https://collector:8443/report/host/9b2c0000-0000-0000-0000-000000000001");
    T_EQ_STR(cJSON_GetObjectItem(o, "sent_at")->valuestring, "2026-11-25T10:00:05Z");
    T_EQ_STR(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "finding"), "exhaustion_at")->valuestring,
             "2026-11-26T08:00:00Z");
    T_EQ_STR(cJSON_GetObjectItem(o, "id")->valuestring,
             "port_leak/9b2c0000-0000-0000-0000-000000000001/DnsFilterService.exe");
    cJSON_Delete(o);
    cJSON_Delete(p);
    pf_buf_free(&b);
}

TEST(slack_and_teams)
{
    struct finding f = leak();
    struct pf_buf b;
    cJSON *p, *o;
    char *s;

    /* A hostile host name: Slack must not see a link or a mention. */
    snprintf(f.host, sizeof(f.host), "<!channel|x>&");
    p = payload(&f, "repeat", NULL);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(alert_format_body(ALERT_DEST_SLACK, p, 1795600805, &b), PF_OK);
    o = cJSON_Parse(b.data);
    T_ASSERT(o);
    T_ASSERT(cJSON_IsArray(cJSON_GetObjectItem(o, "blocks")));
    T_CONTAINS(cJSON_GetObjectItem(o, "text")->valuestring, "STILL FIRING critical: port_leak");
    s = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "blocks"));
    T_CONTAINS(s, "*Range full*\\n2026-11-26T08:00:00Z");
    T_CONTAINS(s, "*First step*\\nRestart-Service DnsFilterSvc");
    T_CONTAINS(s, "&lt;!channel|x&gt;&amp;, site nyc");
    T_CONTAINS(s, "\"url\":\"https://collector:8443/report/host/9b2c");
    free(s);
    /* mrkdwn: the preview; the header is plain_text, which Slack never
     * turns into a mention */
    T_ASSERT(!strstr(cJSON_GetObjectItem(o, "text")->valuestring, "<!channel"));
    cJSON_Delete(o);

    pf_buf_reset(&b);
    T_EQ_INT(alert_format_body(ALERT_DEST_TEAMS, p, 1795600805, &b), PF_OK);
    o = cJSON_Parse(b.data);
    T_ASSERT(o);
    T_EQ_STR(cJSON_GetObjectItem(o, "type")->valuestring, "message");
    cJSON *att = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "attachments"), 0);
    T_EQ_STR(cJSON_GetObjectItem(att, "contentType")->valuestring,
             "application/vnd.microsoft.card.adaptive");
    cJSON *card = cJSON_GetObjectItem(att, "content");
    T_EQ_STR(cJSON_GetObjectItem(card, "type")->valuestring, "AdaptiveCard");
    s = cJSON_PrintUnformatted(card);
    T_CONTAINS(s, "{\"title\":\"Range full\",\"value\":\"2026-11-26T08:00:00Z\"}");
    T_CONTAINS(s, "{\"title\":\"First step\",\"value\":\"Restart-Service DnsFilterSvc\"}");
    T_CONTAINS(s, "\"type\":\"Action.OpenUrl\"");
    free(s);
    cJSON_Delete(o);
    cJSON_Delete(p);
    pf_buf_free(&b);
}

TEST(resolved_site)
{
    struct finding f;
    struct pf_buf b;
    char title[256];
    cJSON *p;

    memset(&f, 0, sizeof(f));
    f.kind = FINDING_REDUNDANCY;
    f.severity = SEVERITY_WARNING;
    snprintf(f.site, sizeof(f.site), "new york/2");
    snprintf(f.summary, sizeof(f.summary), "one host");
    p = payload(&f, "resolved", NULL);
    alert_format_title(p, title, sizeof(title));
    T_EQ_STR(title, "RESOLVED: redundancy on new york/2");
    T_EQ_STR(cJSON_GetObjectItem(p, "report_url")->valuestring,
             "https://collector:8443/report/site/new%20york%2F2");
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(alert_format_body(ALERT_DEST_SLACK, p, 1795600805, &b), PF_OK);
    T_CONTAINS(b.data, "Range full*\\nnot forecast");
    T_CONTAINS(b.data, "First step*\\nsee the report");
    cJSON_Delete(p);
    pf_buf_free(&b);
}

TEST(email)
{
    struct finding f = leak();
    struct pf_buf b;
    cJSON *p;

    /* CR LF in untrusted text must not start a header or a part. */
    snprintf(f.summary, sizeof(f.summary), "line\r\nBcc: evil@example.com\r\n<b>x</b>");
    snprintf(f.host, sizeof(f.host), "HÖST-1");
    p = payload(&f, "firing", NULL);
    pf_buf_init(&b, 1 << 20);
    T_EQ_INT(alert_format_email(p, 1795600805, "pf@example.com", "ops@example.com", "42.1", &b),
             PF_OK);
    T_CONTAINS(b.data, "From: portfleet <pf@example.com>\r\nTo: <ops@example.com>\r\nSubject: "
                       "=?UTF-8?B?");
    T_CONTAINS(b.data, "Date: Wed, 25 Nov 2026 10:00:05 +0000\r\n");
    T_CONTAINS(b.data, "Content-Type: multipart/alternative; boundary=\"=_portfleet_42.1\"");
    T_CONTAINS(b.data, "Content-Type: text/plain; charset=utf-8");
    T_CONTAINS(b.data, "Content-Type: text/html; charset=utf-8");
    T_CONTAINS(b.data, "Range full:  2026-11-26T08:00:00Z\r\n");
    T_CONTAINS(b.data, "First step:  Restart-Service DnsFilterSvc\r\n");
    T_CONTAINS(b.data, "line  Bcc: evil@example.com  <b>x</b>");
    T_CONTAINS(b.data, "line  Bcc: evil@example.com  &lt;b&gt;x&lt;/b&gt;");
    T_ASSERT(!strstr(b.data, "\r\nBcc:"));
    T_CONTAINS(b.data, "--=_portfleet_42.1--\r\n");
    /* no line over SMTP's 998 bytes, even for a summary of '<' */
    pf_buf_reset(&b);
    cJSON_Delete(p);
    memset(f.summary, 0, sizeof(f.summary));
    for (size_t i = 0; i + 1 < sizeof(f.summary); i++)
        f.summary[i] = i % 4 == 3 ? ' ' : '<';
    p = payload(&f, "firing", NULL);
    T_EQ_INT(alert_format_email(p, 1795600805, "pf@example.com", "ops@example.com", "7", &b), PF_OK);
    size_t longest = 0, cur = 0;
    for (size_t i = 0; i < b.len; i++) {
        cur = b.data[i] == '\n' ? 0 : cur + 1;
        longest = cur > longest ? cur : longest;
    }
    T_ASSERT(longest < 998);
    /* a header value with a line break is refused outright */
    pf_buf_reset(&b);
    T_EQ_INT(alert_format_email(p, 1795600805, "pf@example.com", "a@b.c\r\nBcc: x@y.z", "1", &b),
             PF_INVALID);
    cJSON_Delete(p);
    pf_buf_free(&b);
}

TEST(destinations)
{
    char err[256], label[ALERT_DEST_LABEL_LEN];
    enum alert_dest_kind kind;
    const char *target;
    bool loop;

    T_EQ_INT(alert_check_https("https://hooks.example.com/x", err, sizeof(err)), PF_OK);
    T_EQ_INT(alert_check_https("http://hooks.example.com/x", err, sizeof(err)), PF_INVALID);
    T_CONTAINS(err, "https://");
    T_ASSERT(!strstr(err, "hooks.example.com")); /* the URL may be a secret */
    T_EQ_INT(alert_check_https("https://", err, sizeof(err)), PF_INVALID);
    T_EQ_INT(alert_check_https("hooks.example.com", err, sizeof(err)), PF_INVALID);
    T_EQ_INT(alert_dest_parse("slack:https://hooks.slack.com/services/T/B/secret", &kind, &target,
                              err, sizeof(err)),
             PF_OK);
    T_EQ_INT(kind, ALERT_DEST_SLACK);
    T_EQ_STR(target, "https://hooks.slack.com/services/T/B/secret");
    T_EQ_INT(
        alert_dest_parse("teams:https://x.logic.azure.com/wf", &kind, &target, err, sizeof(err)),
        PF_OK);
    T_EQ_INT(kind, ALERT_DEST_TEAMS);
    T_EQ_INT(alert_dest_parse("teams:http://x", &kind, &target, err, sizeof(err)), PF_INVALID);
    T_EQ_INT(alert_dest_parse("email:ops@example.com", &kind, &target, err, sizeof(err)), PF_OK);
    T_EQ_INT(kind, ALERT_DEST_EMAIL);
    T_EQ_INT(alert_dest_parse("email:ops", &kind, &target, err, sizeof(err)), PF_INVALID);
    alert_dest_label("slack:https://hooks.slack.com/services/T/B/secret", label);
    T_ASSERT(strncmp(label, "slack:hooks.slack.com#", 22) == 0);
    T_ASSERT(!strstr(label, "secret"));

    T_EQ_INT(alert_check_smtp_url("smtp://mail.example.com:587", &loop, err, sizeof(err)), PF_OK);
    T_ASSERT(!loop);
    T_EQ_INT(alert_check_smtp_url("smtp://127.0.0.1:2525", &loop, err, sizeof(err)), PF_OK);
    T_ASSERT(loop);
    T_EQ_INT(alert_check_smtp_url("smtps://[::1]", &loop, err, sizeof(err)), PF_OK);
    T_ASSERT(loop);
    T_EQ_INT(alert_check_smtp_url("http://mail.example.com", &loop, err, sizeof(err)), PF_INVALID);
    T_EQ_INT(alert_check_smtp_url("smtp://", &loop, err, sizeof(err)), PF_INVALID);
    T_ASSERT(!alert_host_loopback("127.0.0.1.example.com"));
    T_ASSERT(!alert_host_loopback("10.0.0.1"));
    T_EQ_INT(alert_check_email("a b@example.com", err, sizeof(err)), PF_INVALID);
    T_EQ_INT(alert_check_email("<a@example.com>", err, sizeof(err)), PF_INVALID);
    T_EQ_INT(alert_check_email("a@example.com", err, sizeof(err)), PF_OK);
}

/* A place named twice (a serve option and a tenant's own destination) is
 * one destination, whatever format prefix each names it with. */
TEST(same_destination)
{
    T_ASSERT(alert_dest_same("https://h.example/x", "https://h.example/x"));
    T_ASSERT(alert_dest_same("https://h.example/x", "slack:https://h.example/x"));
    T_ASSERT(alert_dest_same("teams:https://h.example/x", "slack:https://h.example/x"));
    T_ASSERT(!alert_dest_same("https://h.example/x", "https://h.example/y"));
    T_ASSERT(!alert_dest_same("https://h.example/x", "https://h.example/x2"));
    T_ASSERT(alert_dest_same("email:ops@example.com", "email:ops@example.com"));
    T_ASSERT(!alert_dest_same("email:ops@example.com", "email:dev@example.com"));
    T_ASSERT(!alert_dest_same("email:https://h.example/x", "https://h.example/x"));
}

/* serve with the required options plus extra; returns copts_load's rc. */
static int serve(const char *a1, const char *a2, const char *a3, const char *a4, char *err)
{
    char *argv[16] = {"--config",
                      "/dev/null",
                      "--cert",
                      "c.pem",
                      "--key",
                      "k.pem",
                      "--db",
                      "dbname=x",
                      "--enroll-secret",
                      "enroll-secret-0123456789",
                      "--admin-token",
                      "admin-token-0123456789"};
    int argc = 12;
    struct copts o;
    int rc;

    if (a1)
        argv[argc++] = (char *)a1;
    if (a2)
        argv[argc++] = (char *)a2;
    if (a3)
        argv[argc++] = (char *)a3;
    if (a4)
        argv[argc++] = (char *)a4;
    rc = (int)copts_load("serve", argc, argv, &o, err, 256);
    copts_free(&o);
    return rc;
}

TEST(options)
{
    char err[256];

    T_EQ_INT(serve(NULL, NULL, NULL, NULL, err), PF_OK);
    T_EQ_INT(serve("--alert-webhook", "http://hooks.example.com/x", NULL, NULL, err), PF_INVALID);
    T_CONTAINS(err, "option --alert-webhook");
    T_EQ_INT(serve("--alert-webhook", "https://a.example.com/x", "--alert-webhook",
                   "slack:ftp://b.example.com", err),
             PF_INVALID);
    T_CONTAINS(err, "option --alert-webhook (value 2)");
    T_EQ_INT(serve("--alert-min-severity", "high", NULL, NULL, err), PF_INVALID);
    T_CONTAINS(err, "option --alert-min-severity");
    T_EQ_INT(serve("--alert-min-severity", "critical", NULL, NULL, err), PF_OK);
    T_EQ_INT(
        serve("--alert-smtp-url", "mail.example.com", "--alert-email-from", "a@example.com", err),
        PF_INVALID);
    T_CONTAINS(err, "option --alert-smtp-url");
    T_EQ_INT(serve("--alert-smtp-url", "smtp://mail.example.com", NULL, NULL, err), PF_INVALID);
    T_CONTAINS(err, "--alert-email-from");
    T_EQ_INT(serve("--alert-email-to", "ops@example.com", NULL, NULL, err), PF_INVALID);
    T_CONTAINS(err, "option --alert-email-to needs --alert-smtp-url");
    T_EQ_INT(serve("--alert-interval", "0", NULL, NULL, err), PF_INVALID);
    T_CONTAINS(err, "alert-interval");
    T_EQ_INT(serve("--alert-ca-file", "/nonexistent/ca.pem", NULL, NULL, err), PF_INVALID);
    T_CONTAINS(err, "option --alert-ca-file");
    T_EQ_INT(serve("--alert-smtp-url", "smtps://mail.example.com", "--alert-email-from",
                   "a@example.com", err),
             PF_OK);
}

int main(void)
{
    RUN(ids);
    RUN(generic_json);
    RUN(slack_and_teams);
    RUN(resolved_site);
    RUN(email);
    RUN(destinations);
    RUN(same_destination);
    RUN(options);
    return T_DONE();
}
