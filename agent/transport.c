/* SPDX-License-Identifier: MIT */
/* transport.c: HTTPS requests to the collector over one reused libcurl easy
 * handle driven by a multi handle (see transport.h), new connections from
 * the reserve source ports (srcport.h), and the classification of the
 * answers. */
/* curl.h first: on Windows it pulls in winsock2.h, which must come before
 * the windows.h that compat.h includes. */

#include "transport.h"

#include "curlapi.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "castore.h"
#include "log.h"
#include "srcport.h"
#include "state.h"
#include "timeutil.h"

#define URL_MAX 1024
#define HEADER_LINE_MAX 512

struct transport {
    CURL *curl;
    CURLM *multi; /* owns the kept-alive connection between requests */
    char errbuf[CURL_ERROR_SIZE];
    uint64_t connections;
    struct srcport *pool; /* reserve source ports; NULL: none */
    /* the request in flight */
    bool busy;
    struct curl_slist *headers;
    char *owned_body;       /* enrollment's body, freed when it ends */
    unsigned addr_retries;  /* immediate retries from another source port */
    uint16_t socket_port;   /* reserve port of the last socket opened; 0 plain */
    /* per request, filled by the callbacks */
    struct transport_result *res;
    char retry_after[HEADER_LINE_MAX];
};

static int curl_ready;
/* libcurl, loaded by the first transport_new(); every other function here
 * is reached through a transport, so cu is set by then. */
static const struct curlapi *cu;

enum transport_verdict transport_classify(long status)
{
    if (status >= 200 && status < 300)
        return TRANSPORT_OK;
    if (status == 401)
        return TRANSPORT_REENROLL;
    if (status == 413)
        return TRANSPORT_SPLIT;
    if (status == 408 || status == 429)
        return TRANSPORT_RETRY;
    if (status >= 400 && status < 500)
        return TRANSPORT_DROP;
    /* 5xx, no answer (0), and 1xx/3xx, which a collector never sends: a
     * proxy or a misconfiguration that may go away; keep the data. */
    return TRANSPORT_RETRY;
}

static int ascii_ncaseeq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];

        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
        if (!x)
            return 1;
    }
    return 1;
}

enum pf_rc transport_check_url(const char *url)
{
    const char *host;

    if (!url || strlen(url) >= URL_MAX - 32 || !ascii_ncaseeq(url, "https://", 8))
        return PF_INVALID;
    host = url + 8;
    if (*host == '\0' || *host == '/' || *host == ':')
        return PF_INVALID;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return PF_INVALID;
    return PF_OK;
}

void transport_result_init(struct transport_result *r)
{
    memset(r, 0, sizeof(*r));
    r->retry_after_s = -1;
    pf_buf_init(&r->body, TRANSPORT_BODY_MAX);
}

void transport_result_free(struct transport_result *r)
{
    pf_buf_free(&r->body);
}

static void result_reset(struct transport_result *r)
{
    r->verdict = TRANSPORT_RETRY;
    r->status = 0;
    r->retry_after_s = -1;
    r->error[0] = '\0';
    r->code[0] = '\0';
    r->new_connection = false;
    r->local_port = 0;
    r->reserve_port = false;
    pf_buf_reset(&r->body);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct transport *t = ud;

    /* Past the cap the rest is discarded but the transfer completes, so
     * the connection stays usable. */
    (void)pf_buf_append(&t->res->body, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct transport *t = ud;
    size_t len = size * n;

    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        t->retry_after[0] = '\0'; /* a new answer (after a 100 Continue) */
    } else if (len > 12 && ascii_ncaseeq(p, "retry-after:", 12)) {
        size_t vlen = len - 12;

        if (vlen >= sizeof(t->retry_after))
            vlen = sizeof(t->retry_after) - 1;
        memcpy(t->retry_after, p + 12, vlen);
        t->retry_after[vlen] = '\0';
    }
    return len;
}

/* libcurl's socket(): a socket bound to a reserve port when the pool has
 * one for this family, else a plain one (the OS picks the port at
 * connect). */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct transport *t = ud;
    intptr_t s = SRCPORT_NONE;
    uint16_t port = 0;

    if (purpose == CURLSOCKTYPE_IPCXN)
        s = srcport_socket(t->pool, addr->family, addr->socktype, addr->protocol, &port);
    t->socket_port = port;
    if (s != SRCPORT_NONE)
        return (curl_socket_t)s;
    return socket(addr->family, addr->socktype, addr->protocol);
}

enum pf_rc transport_reserve(struct transport *t, const struct srcport_spec *spec)
{
    CURLcode cc;
    enum pf_rc rc;

    srcport_free(t->pool);
    t->pool = NULL;
    if (spec->off)
        return PF_OK;
    rc = srcport_new(spec, &t->pool);
    if (rc)
        return rc;
    cc = cu->easy_setopt(t->curl, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    if (cc == CURLE_OK)
        cc = cu->easy_setopt(t->curl, CURLOPT_OPENSOCKETDATA, t);
    if (cc != CURLE_OK) {
        pf_error("transport: libcurl refuses the socket callback: %s", cu->easy_strerror(cc));
        return PF_INTERNAL;
    }
    return PF_OK;
}

size_t transport_reserve_ports(const struct transport *t, uint16_t *ports)
{
    return srcport_held(t->pool, ports);
}

/* No --ca-file: where libcurl's TLS library does not read the system's
 * trusted CAs itself (mbedTLS on Windows), hand them over as a PEM blob. */
static CURLcode system_cas(struct transport *t)
{
    struct castore_counts n;
    struct pf_buf pem;
    struct curl_blob blob;
    CURLcode cc = CURLE_OK;
    enum pf_rc rc;

    pf_buf_init(&pem, CASTORE_MAX_BYTES);
    rc = castore_load_system(&pem, &n);
    if (rc == PF_UNSUPPORTED) {
        pf_buf_free(&pem);
        return CURLE_OK; /* OpenSSL: libcurl's default CA bundle */
    }
    if (rc)
        pf_warn("cannot read the system's trusted CAs (%s): give --ca-file", pf_strerror(rc));
    else if (n.kept == 0)
        pf_warn("the system's ROOT and CA stores hold no usable CA: give --ca-file");
    else
        pf_info("trusting %zu CA(s) of the system's ROOT and CA stores (left out: %zu "
                "disallowed, %zu expired, %zu not for TLS servers, %zu malformed)",
                n.kept, n.disallowed, n.expired, n.not_for_tls, n.malformed);
    if (!rc && n.kept > 0) {
        blob.data = pem.data;
        blob.len = pem.len;
        blob.flags = CURL_BLOB_COPY;
        cc = cu->easy_setopt(t->curl, CURLOPT_CAINFO_BLOB, &blob);
    }
    pf_buf_free(&pem);
    return cc;
}

enum pf_rc transport_new(const char *ca_file, struct transport **out)
{
    struct transport *t;
    CURLcode cc = CURLE_OK;

    *out = NULL;
    if (!curl_ready) {
        cu = curlapi_get();
        if (!cu)
            return PF_UNSUPPORTED;
        if (cu->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return PF_INTERNAL;
        curl_ready = 1;
    }
    t = calloc(1, sizeof(*t));
    if (!t)
        return PF_NOMEM;
    t->curl = cu->easy_init();
    t->multi = cu->multi_init();
    if (!t->curl || !t->multi) {
        transport_free(t);
        return PF_INTERNAL;
    }
    /* one kept-alive connection, as with the easy interface */
    if (cu->multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, 1L) != CURLM_OK) {
        transport_free(t);
        return PF_INTERNAL;
    }
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = cu->easy_setopt(t->curl, opt, val);                                               \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, t->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ca_file && *ca_file)
        SET(CURLOPT_CAINFO, ca_file);
    else if (cc == CURLE_OK)
        cc = system_cas(t);
    /* One connection, kept: no forced close, TCP keep-alive probes, and
     * no age limit of our own (the collector decides when to close). */
    SET(CURLOPT_FORBID_REUSE, 0L);
    SET(CURLOPT_FRESH_CONNECT, 0L);
    SET(CURLOPT_MAXCONNECTS, 1L);
    SET(CURLOPT_MAXAGE_CONN, 86400L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_TCP_KEEPIDLE, 30L);
    SET(CURLOPT_TCP_KEEPINTVL, 15L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    /* A name is looked up only for a new connection; the kept one needs
     * no lookup (nor the UDP port a lookup takes, which an exhausted host
     * lacks). Re-resolve after 5 minutes so DNS-based moves are seen. */
    SET(CURLOPT_DNS_CACHE_TIMEOUT, 300L);
    SET(CURLOPT_CONNECTTIMEOUT, (long)TRANSPORT_CONNECT_TIMEOUT_S);
    SET(CURLOPT_TIMEOUT, (long)TRANSPORT_TIMEOUT_S);
    SET(CURLOPT_USERAGENT, "portfleet-agent/" PF_VERSION);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
#undef SET
    if (cc != CURLE_OK) {
        pf_error("transport: libcurl setup failed: %s", cu->easy_strerror(cc));
        transport_free(t);
        return PF_INTERNAL;
    }
    *out = t;
    return PF_OK;
}

/* Ends the request in flight, if any: handle out of the multi, headers
 * and owned body freed. */
static void end_request(struct transport *t)
{
    if (t->busy)
        cu->multi_remove_handle(t->multi, t->curl);
    t->busy = false;
    if (t->curl)
        cu->easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
    if (t->headers)
        cu->slist_free_all(t->headers);
    t->headers = NULL;
    if (t->owned_body)
        cJSON_free(t->owned_body);
    t->owned_body = NULL;
    t->res = NULL;
}

void transport_free(struct transport *t)
{
    if (!t)
        return;
    end_request(t);
    /* the easy handle leaves the multi before either is cleaned up */
    if (t->multi)
        cu->multi_cleanup(t->multi);
    if (t->curl)
        cu->easy_cleanup(t->curl);
    srcport_free(t->pool);
    free(t);
}

bool transport_busy(const struct transport *t)
{
    return t->busy;
}

uint64_t transport_connections(const struct transport *t)
{
    return t->connections;
}

/* Reads {"error": code, "message": text} from an error answer into res. */
static void describe_error(struct transport_result *res)
{
    cJSON *obj = res->body.len ? cJSON_ParseWithLength(res->body.data, res->body.len) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "message");

    if (cJSON_IsString(code) && code->valuestring)
        snprintf(res->code, sizeof(res->code), "%s", code->valuestring);
    snprintf(res->error, sizeof(res->error), "HTTP %ld%s%s%s%s", res->status,
             res->code[0] ? " " : "", res->code,
             cJSON_IsString(msg) && msg->valuestring ? ": " : "",
             cJSON_IsString(msg) && msg->valuestring ? msg->valuestring : "");
    cJSON_Delete(obj);
}

/* Appends a header line; returns non-zero when out of memory. */
static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = cu->slist_append(*list, line);

    if (!l)
        return -1;
    *list = l;
    return 0;
}

enum pf_rc transport_begin(struct transport *t, const char *base_url, const char *path,
                           const char *bearer, const char *body, size_t len,
                           struct transport_result *res)
{
    char url[URL_MAX], auth[HEADER_LINE_MAX];
    struct curl_slist *headers = NULL;
    size_t blen;
    CURLMcode mc;
    int n;

    result_reset(res);
    if (t->busy)
        return PF_INTERNAL; /* one request at a time */
    if (transport_check_url(base_url))
        return PF_INVALID;
    blen = strlen(base_url);
    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    n = snprintf(url, sizeof(url), "%.*s%s", (int)blen, base_url, path);
    if (n < 0 || (size_t)n >= sizeof(url))
        return PF_INVALID;

    /* "Expect:" off: curl would otherwise wait for a 100 Continue before
     * sending a body over 1 KiB. */
    if (add_header(&headers, "Content-Type: application/json") || add_header(&headers, "Expect:")) {
        cu->slist_free_all(headers);
        return PF_NOMEM;
    }
    if (bearer) {
        n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
        if (n < 0 || (size_t)n >= sizeof(auth) || add_header(&headers, auth)) {
            cu->slist_free_all(headers);
            return n < 0 || (size_t)n >= sizeof(auth) ? PF_INVALID : PF_NOMEM;
        }
    }

    t->res = res;
    t->headers = headers;
    t->addr_retries = 0;
    t->retry_after[0] = '\0';
    t->errbuf[0] = '\0';
    cu->easy_setopt(t->curl, CURLOPT_URL, url); /* curl copies the string */
    cu->easy_setopt(t->curl, CURLOPT_HTTPHEADER, headers);
    cu->easy_setopt(t->curl, CURLOPT_POSTFIELDS, body);
    cu->easy_setopt(t->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    mc = cu->multi_add_handle(t->multi, t->curl);
    if (mc != CURLM_OK) {
        pf_error("transport: cannot start a request: %s", cu->multi_strerror(mc));
        t->busy = false;
        end_request(t);
        return PF_INTERNAL;
    }
    t->busy = true;
    return PF_OK;
}

/* The request ended with cc: fills the result and *rc and returns 0; or
 * returns -1 when it was restarted from another source port instead. */
static int finish(struct transport *t, CURLcode cc, enum pf_rc *rc)
{
    struct transport_result *res = t->res;
    long nconn = 0, port = 0, oserr = 0;
    bool addr_error;

    if (cu->easy_getinfo(t->curl, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0) {
        t->connections += (uint64_t)nconn;
        res->new_connection = true;
        res->reserve_port = t->socket_port != 0;
    }
    if (cu->easy_getinfo(t->curl, CURLINFO_LOCAL_PORT, &port) == CURLE_OK)
        res->local_port = port;

    if (cc != CURLE_OK) {
        cu->easy_getinfo(t->curl, CURLINFO_OS_ERRNO, &oserr);
        addr_error = cc == CURLE_COULDNT_CONNECT && srcport_os_addr_error(oserr);
        if (srcport_result(t->pool, t->socket_port, addr_error) &&
            t->addr_retries++ < SRCPORT_MAX + 1) {
            /* no local port or a four-tuple still taken: the next source
             * port may connect at once, no backoff needed */
            pf_info("connect from %s %u failed (%s); trying another source port",
                    t->socket_port ? "reserve port" : "an ephemeral port, none free:",
                    (unsigned)t->socket_port, t->errbuf[0] ? t->errbuf : cu->easy_strerror(cc));
            cu->multi_remove_handle(t->multi, t->curl);
            t->errbuf[0] = '\0';
            if (cu->multi_add_handle(t->multi, t->curl) == CURLM_OK)
                return -1;
            t->busy = false; /* out of the multi already */
        }
        res->verdict = TRANSPORT_RETRY;
        /* the detail may be cut: it is for people */
        if (snprintf(res->error, sizeof(res->error), "%s: %s", cu->easy_strerror(cc),
                     t->errbuf[0] ? t->errbuf : "no detail") < 0)
            res->error[0] = '\0';
        *rc = PF_AGAIN;
        return 0;
    }
    srcport_result(t->pool, t->socket_port, false);
    cu->easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &res->status);
    res->verdict = transport_classify(res->status);
    if (t->retry_after[0]) {
        int64_t delay;

        if (backoff_parse_retry_after(t->retry_after, pf_time_now(), &delay) == PF_OK)
            res->retry_after_s = delay;
    }
    if (res->verdict != TRANSPORT_OK)
        describe_error(res);
    *rc = PF_OK;
    return 0;
}

bool transport_poll(struct transport *t, int timeout_ms, enum pf_rc *rc)
{
    int running = 0, left = 0, numfds = 0;
    bool done = false;
    CURLcode cc = CURLE_OK;
    CURLMsg *m;

    *rc = PF_INTERNAL;
    if (!t->busy)
        return true;
    cu->multi_perform(t->multi, &running);
    if (running) {
        cu->multi_poll(t->multi, NULL, 0, timeout_ms < 0 ? 0 : timeout_ms, &numfds);
        cu->multi_perform(t->multi, &running);
    }
    while ((m = cu->multi_info_read(t->multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE && m->easy_handle == t->curl) {
            cc = m->data.result;
            done = true;
        }
    if (!done)
        return false;
    if (finish(t, cc, rc) < 0)
        return false; /* restarted from another source port */
    end_request(t);
    return true;
}

enum pf_rc transport_post(struct transport *t, const char *base_url, const char *path,
                          const char *bearer, const char *body, size_t len,
                          struct transport_result *res)
{
    enum pf_rc rc = transport_begin(t, base_url, path, bearer, body, len, res);

    if (rc)
        return rc;
    while (!transport_poll(t, 1000, &rc))
        ;
    return rc;
}

enum pf_rc transport_enroll_begin(struct transport *t, const char *base_url, const char *secret,
                                  const char *host_name, const char *site,
                                  const char *machine_id, struct transport_result *res)
{
    cJSON *req = cJSON_CreateObject(), *host = NULL;
    char *text = NULL;
    enum pf_rc rc = PF_NOMEM;

    result_reset(res);
    if (!req)
        goto out;
    host = cJSON_CreateObject();
    if (!host)
        goto out;
    if (!cJSON_AddStringToObject(host, "name", host_name) ||
        !cJSON_AddStringToObject(host, "site", site) ||
        !cJSON_AddStringToObject(host, "machine_id", machine_id))
        goto out;
    if (!cJSON_AddStringToObject(req, "enroll_secret", secret ? secret : ""))
        goto out;
    cJSON_AddItemToObject(req, "host", host);
    host = NULL;
    text = cJSON_PrintUnformatted(req);
    if (!text)
        goto out;
    rc = transport_begin(t, base_url, "/v1/enroll", NULL, text, strlen(text), res);
    if (!rc) {
        t->owned_body = text; /* freed when the request ends */
        text = NULL;
    }
out:
    if (text)
        cJSON_free(text);
    cJSON_Delete(host);
    cJSON_Delete(req);
    return rc;
}

enum pf_rc transport_enroll_end(enum pf_rc rc, struct transport_result *res,
                                char agent_id[PF_ID_LEN], char *node_key, size_t node_key_len)
{
    cJSON *ans = NULL;
    const cJSON *id, *key;

    if (rc)
        return rc;
    if (res->verdict != TRANSPORT_OK)
        return res->status == 401 ? PF_PERM : res->verdict == TRANSPORT_RETRY ? PF_AGAIN : PF_PROTO;
    ans = cJSON_ParseWithLength(res->body.data ? res->body.data : "", res->body.len);
    id = cJSON_GetObjectItemCaseSensitive(ans, "agent_id");
    key = cJSON_GetObjectItemCaseSensitive(ans, "node_key");
    if (!cJSON_IsString(id) || !cJSON_IsString(key) ||
        state_check_token(id->valuestring, PF_ID_LEN) ||
        state_check_token(key->valuestring, node_key_len)) {
        snprintf(res->error, sizeof(res->error),
                 "enrollment answer lacks a valid agent_id and node_key");
        rc = PF_PROTO;
    } else {
        snprintf(agent_id, PF_ID_LEN, "%s", id->valuestring);
        snprintf(node_key, node_key_len, "%s", key->valuestring);
    }
    cJSON_Delete(ans);
    return rc;
}

enum pf_rc transport_enroll(struct transport *t, const char *base_url, const char *secret,
                            const char *host_name, const char *site, const char *machine_id,
                            char agent_id[PF_ID_LEN], char *node_key, size_t node_key_len,
                            struct transport_result *res)
{
    enum pf_rc rc = transport_enroll_begin(t, base_url, secret, host_name, site, machine_id, res);

    if (rc)
        return rc;
    while (!transport_poll(t, 1000, &rc))
        ;
    return transport_enroll_end(rc, res, agent_id, node_key, node_key_len);
}
