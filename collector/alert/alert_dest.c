/* SPDX-License-Identifier: MIT */
/* alert_dest.c: destinations, their checks and their secret-free labels
 * (alert_dest.h). URLs are parsed by libcurl's URL parser, the one that
 * will send to them, so what passes the check is what curl connects to. */
#include "alert_dest.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

/* Parses url into scheme and host (both freed with curl_free). PF_OK, or
 * PF_INVALID when curl cannot parse it or it has no host. */
static enum pf_rc url_parts(const char *url, char **scheme, char **host)
{
    CURLU *u = curl_url();
    enum pf_rc rc = PF_INVALID;

    *scheme = *host = NULL;
    if (!u)
        return PF_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, host, 0) == CURLUE_OK && (*host)[0])
        rc = PF_OK;
    curl_url_cleanup(u);
    if (rc) {
        curl_free(*scheme);
        curl_free(*host);
        *scheme = *host = NULL;
    }
    return rc;
}

/* The scheme written before "://", for messages that must not quote the
 * rest of a URL (it may carry a secret). */
static void scheme_of(const char *url, char *out, size_t outlen)
{
    const char *p = strstr(url, "://");
    size_t n = p ? (size_t)(p - url) : 0;

    if (n >= outlen || n == 0) {
        snprintf(out, outlen, "%s", p ? "?" : "(no scheme)");
        return;
    }
    memcpy(out, url, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == '"')
            out[i] = '?';
}

enum pf_rc alert_check_https(const char *url, char *err, size_t errlen)
{
    char *scheme, *host, sch[32];
    enum pf_rc rc;

    if (strlen(url) >= ALERT_DEST_MAX) {
        snprintf(err, errlen, "the URL is longer than %d bytes", ALERT_DEST_MAX - 1);
        return PF_INVALID;
    }
    scheme_of(url, sch, sizeof(sch));
    if (strncasecmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "must be an https:// URL (notifications go over TLS only), not %s://",
                 sch);
        return PF_INVALID;
    }
    rc = url_parts(url, &scheme, &host);
    if (rc == PF_OK && strcasecmp(scheme, "https") != 0)
        rc = PF_INVALID;
    curl_free(scheme);
    curl_free(host);
    if (rc)
        snprintf(err, errlen, "not a usable https:// URL with a host");
    return rc;
}

bool alert_host_loopback(const char *host)
{
    char h[256];
    size_t n = strlen(host);

    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= sizeof(h))
        return false;
    memcpy(h, host, n);
    h[n] = '\0';
    if (strcasecmp(h, "localhost") == 0 || strcmp(h, "::1") == 0)
        return true;
    unsigned a, b, c, d;
    char tail;
    return sscanf(h, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

enum pf_rc alert_check_smtp_url(const char *url, bool *loopback, char *err, size_t errlen)
{
    char *scheme, *host, sch[32];
    enum pf_rc rc;

    if (strlen(url) >= ALERT_DEST_MAX) {
        snprintf(err, errlen, "the URL is longer than %d bytes", ALERT_DEST_MAX - 1);
        return PF_INVALID;
    }
    scheme_of(url, sch, sizeof(sch));
    if (strncasecmp(url, "smtp://", 7) != 0 && strncasecmp(url, "smtps://", 8) != 0) {
        snprintf(err, errlen,
                 "must be smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT], not %s://", sch);
        return PF_INVALID;
    }
    rc = url_parts(url, &scheme, &host);
    if (rc == PF_OK && loopback)
        *loopback = alert_host_loopback(host);
    curl_free(scheme);
    curl_free(host);
    if (rc)
        snprintf(err, errlen, "not a usable %s:// URL with a host", sch);
    return rc;
}

enum pf_rc alert_check_email(const char *addr, char *err, size_t errlen)
{
    const char *at = strchr(addr, '@');
    size_t n = strlen(addr);

    for (const char *p = addr; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch == 0x7f || strchr("<>\"(),;:\\[]", ch)) {
            snprintf(err, errlen, "an email address has no spaces, quotes or <>(),;:\\[] in it");
            return PF_INVALID;
        }
    }
    if (n > 254 || !at || at == addr || !at[1] || strchr(at + 1, '@') || !strchr(at + 1, '.') ||
        at[1] == '.' || addr[n - 1] == '.') {
        snprintf(err, errlen, "not an email address of the form local@domain.tld");
        return PF_INVALID;
    }
    return PF_OK;
}

enum pf_rc alert_dest_parse(const char *dest, enum alert_dest_kind *kind, const char **target,
                            char *err, size_t errlen)
{
    *target = dest;
    *kind = ALERT_DEST_JSON;
    if (strncmp(dest, "email:", 6) == 0) {
        *kind = ALERT_DEST_EMAIL;
        *target = dest + 6;
        return alert_check_email(*target, err, errlen);
    }
    if (strncmp(dest, "slack:", 6) == 0) {
        *kind = ALERT_DEST_SLACK;
        *target = dest + 6;
    } else if (strncmp(dest, "teams:", 6) == 0) {
        *kind = ALERT_DEST_TEAMS;
        *target = dest + 6;
    }
    return alert_check_https(*target, err, errlen);
}

/* A webhook's URL without its format prefix; an email destination whole. */
static const char *dest_place(const char *dest)
{
    if (strncmp(dest, "slack:", 6) == 0 || strncmp(dest, "teams:", 6) == 0)
        return dest + 6;
    return dest;
}

bool alert_dest_same(const char *a, const char *b)
{
    return strcmp(dest_place(a), dest_place(b)) == 0;
}

void alert_dest_label(const char *dest, char out[ALERT_DEST_LABEL_LEN])
{
    static const char *const names[] = {"json", "slack", "teams", "email"};
    enum alert_dest_kind kind;
    const char *target;
    char err[160], *scheme = NULL, *host = NULL;
    uint32_t h = 2166136261u; /* FNV-1a: tells two URLs of one host apart, reveals nothing */

    if (alert_dest_parse(dest, &kind, &target, err, sizeof(err)) != PF_OK) {
        snprintf(out, ALERT_DEST_LABEL_LEN, "invalid");
        return;
    }
    if (kind == ALERT_DEST_EMAIL) {
        snprintf(out, ALERT_DEST_LABEL_LEN, "email:%s", target);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)dest; *p; p++)
        h = (h ^ *p) * 16777619u;
    url_parts(target, &scheme, &host);
    snprintf(out, ALERT_DEST_LABEL_LEN, "%s:%s#%08x", names[kind], host ? host : "?", h);
    curl_free(scheme);
    curl_free(host);
}
