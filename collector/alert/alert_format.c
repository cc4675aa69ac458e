/* SPDX-License-Identifier: MIT */
/* alert_format.c: the notification in its four shapes (alert_format.h). */
#include "alert_format.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "html.h"
#include "timeutil.h"

/* Slack: header text at most 150 characters, section text 3000, fields
 * 2000; we stay well below in bytes, cutting at a UTF-8 boundary. */
#define SLACK_HEADER_MAX 150
#define TEXT_MAX 1500

/* The pieces every format says, taken from a payload. */
struct text {
    const char *status, *severity, *previous, *kind, *site, *host, *summary, *url, *tenant, *id;
    char title[512];
    char where[512];
    char full[96]; /* when the range is full */
    char step[1024];
};

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Cuts s to at most max bytes at a UTF-8 character boundary. */
static void cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    s[max] = '\0';
}

/* Copies src into dst (n bytes), cut at a UTF-8 boundary when longer. */
static void copy_cut(char *dst, size_t n, const char *src)
{
    size_t len = strlen(src);

    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80 && src[len])
        dst[--len] = '\0';
}

static const char *status_word(const char *status)
{
    if (strcmp(status, "resolved") == 0)
        return "RESOLVED";
    if (strcmp(status, "repeat") == 0)
        return "STILL FIRING";
    return "FIRING";
}

static enum pf_rc text_of(const cJSON *payload, struct text *t)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(payload, "finding");
    const cJSON *rem;
    const char *at;

    memset(t, 0, sizeof(*t));
    t->status = str(payload, "status");
    t->id = str(payload, "id");
    t->previous = str(payload, "previous_severity");
    t->url = str(payload, "report_url");
    t->tenant = str(payload, "tenant");
    if (!cJSON_IsObject(f) || !t->status || !t->id || !t->url)
        return PF_INVALID;
    t->kind = str(f, "kind");
    t->severity = str(f, "severity");
    t->site = str(f, "site");
    t->host = str(f, "host");
    t->summary = str(f, "summary");
    if (!t->kind || !t->severity || !t->site)
        return PF_INVALID;
    if (!t->summary)
        t->summary = "";
    if (!t->tenant)
        t->tenant = "default";
    if (t->host)
        snprintf(t->where, sizeof(t->where), "host %s, site %s", t->host, t->site);
    else
        snprintf(t->where, sizeof(t->where), "site %s", t->site);
    if (strcmp(t->status, "resolved") == 0)
        snprintf(t->title, sizeof(t->title), "RESOLVED: %s on %s", t->kind,
                 t->host ? t->host : t->site);
    else if (t->previous)
        snprintf(t->title, sizeof(t->title), "%s %s (was %s): %s on %s", status_word(t->status),
                 t->severity, t->previous, t->kind, t->host ? t->host : t->site);
    else
        snprintf(t->title, sizeof(t->title), "%s %s: %s on %s", status_word(t->status), t->severity,
                 t->kind, t->host ? t->host : t->site);
    if (t->host) {
        size_t n = strlen(t->title);
        snprintf(t->title + n, sizeof(t->title) - n, " (site %s)", t->site);
    }
    at = str(f, "exhaustion_at");
    snprintf(t->full, sizeof(t->full), "%s", at ? at : "not forecast");
    rem = cJSON_GetObjectItemCaseSensitive(f, "remediation");
    rem = cJSON_IsArray(rem) ? cJSON_GetArrayItem(rem, 0) : NULL;
    snprintf(t->step, sizeof(t->step), "%s",
             cJSON_IsString(rem) ? rem->valuestring : "see the report");
    return PF_OK;
}

void alert_format_title(const cJSON *payload, char *out, size_t outlen)
{
    struct text t;

    if (text_of(payload, &t) != PF_OK)
        snprintf(out, outlen, "portfleet notification");
    else
        snprintf(out, outlen, "%s", t.title);
}

static void url_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < outlen; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

void alert_report_url(const char *base, const cJSON *finding, char out[ALERT_URL_LEN])
{
    const char *agent = str(finding, "agent_id"), *site = str(finding, "site");
    char esc[512];
    size_t n = strlen(base);

    while (n > 0 && base[n - 1] == '/')
        n--;
    url_escape(agent ? agent : site ? site : "", esc, sizeof(esc));
    snprintf(out, ALERT_URL_LEN, "%.*s/report/%s/%s", (int)n, base, agent ? "host" : "site", esc);
}

cJSON *alert_payload_new(const char *status, const char *id, const char *previous_severity,
                         cJSON *finding, const char *tenant, const char *report_url)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && finding;

    ok = ok && cJSON_AddStringToObject(o, "status", status);
    ok = ok && cJSON_AddStringToObject(o, "id", id);
    ok = ok &&
         (previous_severity ? cJSON_AddStringToObject(o, "previous_severity", previous_severity)
                            : cJSON_AddNullToObject(o, "previous_severity"));
    if (ok && cJSON_AddItemToObject(o, "finding", finding))
        finding = NULL;
    else
        ok = false;
    ok = ok && cJSON_AddStringToObject(o, "tenant", tenant);
    ok = ok && cJSON_AddStringToObject(o, "report_url", report_url);
    if (!ok) {
        cJSON_Delete(finding);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static enum pf_rc emit(cJSON *root, struct pf_buf *out)
{
    char *s;
    enum pf_rc rc;

    if (!root)
        return PF_NOMEM;
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return PF_NOMEM;
    rc = pf_buf_puts(out, s);
    free(s);
    return rc;
}

/* Slack mrkdwn: &, < and > are control characters. */
static void slack_escape(const char *in, char *out, size_t outlen)
{
    size_t o = 0;

    for (; *in && o + 6 < outlen; in++) {
        const char *rep = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" : *in == '>' ? "&gt;" : NULL;
        if (rep) {
            memcpy(out + o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
    cut_utf8(out, outlen - 1);
}

static cJSON *slack_text(const char *type, const char *text)
{
    cJSON *o = cJSON_CreateObject();

    if (o &&
        (!cJSON_AddStringToObject(o, "type", type) || !cJSON_AddStringToObject(o, "text", text))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool add_block(cJSON *blocks, const char *type, cJSON *text_obj, const char *key)
{
    cJSON *b = cJSON_CreateObject();

    if (!b || !text_obj || !cJSON_AddStringToObject(b, "type", type) ||
        !cJSON_AddItemToObject(b, key, text_obj)) {
        cJSON_Delete(b);
        cJSON_Delete(text_obj);
        return false;
    }
    return cJSON_AddItemToArray(blocks, b);
}

static enum pf_rc slack_body(const struct text *t, const char *sent, cJSON **out)
{
    cJSON *root = cJSON_CreateObject(), *blocks, *fields, *actions, *btn, *els;
    char head[SLACK_HEADER_MAX + 1], a[TEXT_MAX], b[TEXT_MAX], line[2 * TEXT_MAX + 128];
    bool ok = root != NULL;

    copy_cut(head, sizeof(head), t->title);
    slack_escape(t->title, a, sizeof(a)); /* the preview is mrkdwn: no links, no mentions */
    ok = ok && cJSON_AddStringToObject(root, "text", a);
    blocks = ok ? cJSON_AddArrayToObject(root, "blocks") : NULL;
    ok = blocks != NULL;
    ok = ok && add_block(blocks, "header", slack_text("plain_text", head), "text");
    slack_escape(t->summary, a, sizeof(a));
    ok = ok && add_block(blocks, "section", slack_text("mrkdwn", a), "text");
    fields = cJSON_CreateArray();
    if (fields) {
        slack_escape(t->where, a, sizeof(a));
        snprintf(line, sizeof(line), "*Where*\n%s", a);
        cJSON_AddItemToArray(fields, slack_text("mrkdwn", line));
        snprintf(line, sizeof(line), "*Range full*\n%s", t->full);
        cJSON_AddItemToArray(fields, slack_text("mrkdwn", line));
        snprintf(line, sizeof(line), "*Severity*\n%s", t->severity);
        cJSON_AddItemToArray(fields, slack_text("mrkdwn", line));
        slack_escape(t->kind, a, sizeof(a));
        snprintf(line, sizeof(line), "*Finding*\n%s", a);
        cJSON_AddItemToArray(fields, slack_text("mrkdwn", line));
    }
    ok = ok && add_block(blocks, "section", fields, "fields");
    /* Backticks would end a code span early; the step is shown as text. */
    slack_escape(t->step, a, sizeof(a));
    snprintf(line, sizeof(line), "*First step*\n%s", a);
    ok = ok && add_block(blocks, "section", slack_text("mrkdwn", line), "text");
    actions = ok ? cJSON_CreateObject() : NULL;
    els = cJSON_CreateArray();
    btn = cJSON_CreateObject();
    ok = ok && actions && els && btn && cJSON_AddStringToObject(actions, "type", "actions") &&
         cJSON_AddItemToObject(actions, "elements", els);
    if (ok)
        els = NULL;
    ok = ok && cJSON_AddStringToObject(btn, "type", "button") &&
         cJSON_AddItemToObject(btn, "text", slack_text("plain_text", "Open the report")) &&
         cJSON_AddStringToObject(btn, "url", t->url) &&
         cJSON_AddItemToArray(cJSON_GetObjectItem(actions, "elements"), btn);
    if (ok)
        btn = NULL;
    ok = ok && cJSON_AddItemToArray(blocks, actions);
    if (ok)
        actions = NULL;
    cJSON_Delete(actions);
    cJSON_Delete(els);
    cJSON_Delete(btn);
    slack_escape(t->id, a, sizeof(a));
    slack_escape(t->tenant, b, sizeof(b));
    snprintf(line, sizeof(line), "portfleet · %s · tenant %s · sent %s", a, b, sent);
    els = ok ? cJSON_CreateArray() : NULL;
    ok = ok && els && cJSON_AddItemToArray(els, slack_text("mrkdwn", line));
    ok = ok && add_block(blocks, "context", els, "elements");
    if (!ok) {
        cJSON_Delete(root);
        return PF_NOMEM;
    }
    *out = root;
    return PF_OK;
}

static cJSON *text_block(const char *text, const char *weight, const char *size, const char *color)
{
    cJSON *o = cJSON_CreateObject();
    bool ok = o && cJSON_AddStringToObject(o, "type", "TextBlock") &&
              cJSON_AddStringToObject(o, "text", text) && cJSON_AddTrueToObject(o, "wrap");
    ok = ok && (!weight || cJSON_AddStringToObject(o, "weight", weight));
    ok = ok && (!size || cJSON_AddStringToObject(o, "size", size));
    ok = ok && (!color || cJSON_AddStringToObject(o, "color", color));
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static bool add_fact(cJSON *facts, const char *title, const char *value)
{
    cJSON *o = cJSON_CreateObject();

    if (!o || !cJSON_AddStringToObject(o, "title", title) ||
        !cJSON_AddStringToObject(o, "value", value) || !cJSON_AddItemToArray(facts, o)) {
        cJSON_Delete(o);
        return false;
    }
    return true;
}

/* A Teams workflow webhook ("When a Teams webhook request is received",
 * then "Post card in a chat or channel") takes a message whose attachment
 * is the Adaptive Card. Adaptive Card text is Markdown-ish but renders no
 * HTML, so strings go in as they are. */
static enum pf_rc teams_body(const struct text *t, const char *sent, cJSON **out)
{
    cJSON *root = cJSON_CreateObject(), *atts, *att, *card, *body, *facts, *fs, *acts, *act;
    const char *color = strcmp(t->status, "resolved") == 0     ? "Good"
                        : strcmp(t->severity, "critical") == 0 ? "Attention"
                                                               : "Warning";
    bool ok = root != NULL;

    ok = ok && cJSON_AddStringToObject(root, "type", "message");
    atts = ok ? cJSON_AddArrayToObject(root, "attachments") : NULL;
    att = cJSON_CreateObject();
    ok = atts && att && cJSON_AddItemToArray(atts, att);
    if (!ok)
        cJSON_Delete(att);
    ok = ok &&
         cJSON_AddStringToObject(att, "contentType", "application/vnd.microsoft.card.adaptive");
    ok = ok && cJSON_AddNullToObject(att, "contentUrl");
    card = ok ? cJSON_AddObjectToObject(att, "content") : NULL;
    ok = card != NULL;
    ok = ok && cJSON_AddStringToObject(card, "$schema",
                                       "http://adaptivecards.io/schemas/adaptive-card.json");
    ok = ok && cJSON_AddStringToObject(card, "type", "AdaptiveCard");
    ok = ok && cJSON_AddStringToObject(card, "version", "1.4");
    body = ok ? cJSON_AddArrayToObject(card, "body") : NULL;
    ok = body != NULL;
    ok = ok && cJSON_AddItemToArray(body, text_block(t->title, "Bolder", "Medium", color));
    ok = ok && cJSON_AddItemToArray(body, text_block(t->summary, NULL, NULL, NULL));
    fs = ok ? cJSON_CreateObject() : NULL;
    ok = ok && fs && cJSON_AddItemToArray(body, fs);
    if (!ok)
        cJSON_Delete(fs);
    ok = ok && cJSON_AddStringToObject(fs, "type", "FactSet");
    facts = ok ? cJSON_AddArrayToObject(fs, "facts") : NULL;
    ok = facts != NULL;
    ok = ok && add_fact(facts, "Where", t->where) && add_fact(facts, "Range full", t->full) &&
         add_fact(facts, "Severity", t->severity) && add_fact(facts, "First step", t->step) &&
         add_fact(facts, "Id", t->id) && add_fact(facts, "Tenant", t->tenant) &&
         add_fact(facts, "Sent", sent);
    acts = ok ? cJSON_AddArrayToObject(card, "actions") : NULL;
    act = acts ? cJSON_CreateObject() : NULL;
    ok = act && cJSON_AddItemToArray(acts, act);
    if (!ok)
        cJSON_Delete(act);
    ok = ok && cJSON_AddStringToObject(act, "type", "Action.OpenUrl") &&
         cJSON_AddStringToObject(act, "title", "Open the report") &&
         cJSON_AddStringToObject(act, "url", t->url);
    if (!ok) {
        cJSON_Delete(root);
        return PF_NOMEM;
    }
    *out = root;
    return PF_OK;
}

enum pf_rc alert_format_body(enum alert_dest_kind kind, const cJSON *payload, int64_t sent_at,
                             struct pf_buf *out)
{
    char sent[PF_TIME_LEN];
    struct text t;
    cJSON *root = NULL;
    enum pf_rc rc;

    if (pf_time_format(sent_at, sent) != PF_OK || text_of(payload, &t) != PF_OK)
        return PF_INVALID;
    switch (kind) {
    case ALERT_DEST_SLACK:
        rc = slack_body(&t, sent, &root);
        break;
    case ALERT_DEST_TEAMS:
        rc = teams_body(&t, sent, &root);
        break;
    case ALERT_DEST_JSON:
        root = cJSON_Duplicate(payload, true);
        rc = root && cJSON_AddStringToObject(root, "sent_at", sent) ? PF_OK : PF_NOMEM;
        break;
    default:
        return PF_INVALID;
    }
    if (rc) {
        cJSON_Delete(root);
        return rc;
    }
    return emit(root, out);
}

/* ---- email ---- */

static enum pf_rc base64(struct pf_buf *out, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    enum pf_rc rc = PF_OK;

    for (size_t i = 0; i < n && !rc; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        rc = pf_buf_append(out, q, 4);
    }
    return rc;
}

/* RFC 2047 encoded words of at most 45 input bytes each (cut at UTF-8
 * boundaries), so no header line grows past 78 characters much. */
static enum pf_rc subject(struct pf_buf *out, const char *s)
{
    enum pf_rc rc = pf_buf_puts(out, "Subject:");
    size_t n = strlen(s), i = 0;

    while (!rc && i < n) {
        size_t k = n - i > 45 ? 45 : n - i;
        while (i + k < n && k > 0 && ((unsigned char)s[i + k] & 0xc0) == 0x80)
            k--;
        rc = pf_buf_puts(out, " =?UTF-8?B?");
        rc = rc ? rc : base64(out, (const unsigned char *)s + i, k);
        rc = rc ? rc : pf_buf_puts(out, i + k < n ? "?=\r\n" : "?=");
        i += k;
    }
    return rc ? rc : pf_buf_puts(out, "\r\n");
}

/* SMTP lines end at 998 bytes: text from a host is wrapped at a space
 * once a line is WRAP_AT long (a line break is a space in HTML too). */
#define WRAP_AT 400

/* HTML for a mail body line: escaped by the collector's one escaper
 * (pf_html_escape); CR and LF become spaces, and long text wraps at a
 * space (a line break is a space in HTML too). */
static enum pf_rc html_text(struct pf_buf *out, const char *s)
{
    enum pf_rc rc = PF_OK;
    size_t line = 0;

    while (*s && !rc) {
        size_t n = strcspn(s, " \r\n"), before = out->len;
        rc = pf_html_escape_n(out, s, n);
        line += out->len - before;
        s += n;
        if (*s && !rc) {
            rc = pf_buf_puts(out, line >= WRAP_AT ? "\r\n" : " ");
            line = line >= WRAP_AT ? 0 : line + 1;
            s++;
        }
    }
    return rc;
}

/* Text for a mail body line: CR and LF would end the line (or forge a
 * boundary), so they become spaces; long text wraps at a space. */
static enum pf_rc plain(struct pf_buf *out, const char *s)
{
    enum pf_rc rc = PF_OK;
    size_t line = 0;

    for (; *s && !rc; s++, line++) {
        if (*s == ' ' || *s == '\r' || *s == '\n') {
            rc = pf_buf_puts(out, line >= WRAP_AT ? "\r\n" : " ");
            if (line >= WRAP_AT)
                line = 0;
        } else {
            rc = pf_buf_append(out, s, 1);
        }
    }
    return rc;
}

/* A header value: only printable ASCII (addresses are checked already). */
static bool header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

enum pf_rc alert_format_email(const cJSON *payload, int64_t sent_at, const char *from,
                              const char *to, const char *msgid, struct pf_buf *out)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char sent[PF_TIME_LEN], date[64], boundary[64];
    struct text t;
    struct tm tm;
    time_t tt = (time_t)sent_at;
    enum pf_rc rc;

    if (pf_time_format(sent_at, sent) != PF_OK || text_of(payload, &t) != PF_OK ||
        !gmtime_r(&tt, &tm) || !header_safe(from) || !header_safe(to) || !header_safe(msgid))
        return PF_INVALID;
    snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    /* '=' and '_' together never come out of the text parts: the summary
     * could hold anything, so the boundary also carries the message id. */
    snprintf(boundary, sizeof(boundary), "=_portfleet_%s", msgid);
    for (char *p = boundary; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '=' || *p == '_' || *p == '.'))
            *p = '.';
    rc = pf_buf_printf(out, "From: portfleet <%s>\r\nTo: <%s>\r\n", from, to);
    rc = rc ? rc : subject(out, t.title);
    rc = rc ? rc
            : pf_buf_printf(out,
                            "Date: %s\r\nMessage-ID: <%s@portfleet>\r\nMIME-Version: 1.0\r\n"
                            "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
                            "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: 8bit\r\n\r\n",
                            date, msgid, boundary, boundary);
    /* text/plain */
    rc = rc ? rc : plain(out, t.title);
    rc = rc ? rc : pf_buf_puts(out, "\r\n\r\n");
    rc = rc ? rc : plain(out, t.summary);
    rc = rc ? rc : pf_buf_puts(out, "\r\n\r\nWhere:       ");
    rc = rc ? rc : plain(out, t.where);
    rc = rc ? rc
            : pf_buf_printf(out, "\r\nRange full:  %s\r\nSeverity:    %s\r\nFirst step:  ", t.full,
                            t.severity);
    rc = rc ? rc : plain(out, t.step);
    rc = rc ? rc : pf_buf_puts(out, "\r\nReport:      ");
    rc = rc ? rc : plain(out, t.url);
    rc = rc ? rc : pf_buf_puts(out, "\r\n\r\nid ");
    rc = rc ? rc : plain(out, t.id);
    rc = rc ? rc : pf_buf_puts(out, ", tenant ");
    rc = rc ? rc : plain(out, t.tenant);
    rc = rc ? rc : pf_buf_printf(out, ", sent %s\r\n", sent);
    /* text/html */
    rc = rc ? rc
            : pf_buf_printf(out,
                            "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: 8bit\r\n\r\n"
                            "<!DOCTYPE html>\r\n<html><body>\r\n<h2>",
                            boundary);
    rc = rc ? rc : html_text(out, t.title);
    rc = rc ? rc : pf_buf_puts(out, "</h2>\r\n<p>");
    rc = rc ? rc : html_text(out, t.summary);
    rc = rc ? rc : pf_buf_puts(out, "</p>\r\n<table>\r\n<tr><th align=\"left\">Where</th><td>");
    rc = rc ? rc : html_text(out, t.where);
    rc = rc ? rc : pf_buf_puts(out, "</td></tr>\r\n<tr><th align=\"left\">Range full</th><td>");
    rc = rc ? rc : html_text(out, t.full);
    rc = rc ? rc : pf_buf_puts(out, "</td></tr>\r\n<tr><th align=\"left\">Severity</th><td>");
    rc = rc ? rc : html_text(out, t.severity);
    rc = rc ? rc
            : pf_buf_puts(out, "</td></tr>\r\n<tr><th align=\"left\">First step</th><td><code>");
    rc = rc ? rc : html_text(out, t.step);
    rc = rc ? rc : pf_buf_puts(out, "</code></td></tr>\r\n</table>\r\n<p><a href=\"");
    rc = rc ? rc : html_text(out, t.url);
    rc = rc ? rc : pf_buf_puts(out, "\">Open the report</a></p>\r\n<p><small>id ");
    rc = rc ? rc : html_text(out, t.id);
    rc = rc ? rc : pf_buf_puts(out, ", tenant ");
    rc = rc ? rc : html_text(out, t.tenant);
    rc = rc ? rc
            : pf_buf_printf(out, ", sent %s</small></p>\r\n</body></html>\r\n--%s--\r\n", sent,
                            boundary);
    return rc;
}
