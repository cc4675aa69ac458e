/* SPDX-License-Identifier: MIT */
/* transport.h: the agent's HTTPS client (libcurl). HTTPS only; the
 * collector's certificate is verified against --ca-file or the system
 * store, with its host name. One easy handle lives as long as the agent and
 * is reused for every request, so its one keep-alive TCP connection stays
 * open across intervals: when the host has no free ephemeral port left, a
 * new connect() would fail but the open connection still delivers the
 * snapshot that shows it. TCP keep-alive probes keep middleboxes from
 * forgetting it. A new connection comes from a source port held in
 * reserve (srcport.h, transport_reserve), so that it can be opened even
 * then.
 *
 * A request runs on libcurl's multi interface: transport_begin starts it,
 * transport_poll drives it for a bounded time and says when it ended, so
 * the caller keeps its own schedule (snapshots) while a collector is slow
 * or silent. transport_post and transport_enroll are the blocking forms.
 *
 * Portable: the same file builds with Debian's libcurl (OpenSSL) and the
 * Windows build's static libcurl (mbedTLS). */
#ifndef PF_TRANSPORT_H
#define PF_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "snapshot.h"
#include "srcport.h"

#define TRANSPORT_BODY_MAX 65536      /* response bytes kept */
#define TRANSPORT_CONNECT_TIMEOUT_S 10
#define TRANSPORT_TIMEOUT_S 60

struct transport;

/* What the agent does with an answer (docs/protocol.md section 2). */
enum transport_verdict {
    TRANSPORT_OK = 0,   /* 2xx: stored; drop from the spool */
    TRANSPORT_RETRY,    /* no answer, 5xx, 408, 429, 1xx/3xx: keep, retry later */
    TRANSPORT_DROP,     /* any other 4xx (400, 403, 404, 431...): drop, log */
    TRANSPORT_REENROLL, /* 401: enroll again, then resend */
    TRANSPORT_SPLIT     /* 413: split the batch (a single snapshot: drop) */
};

struct transport_result {
    enum transport_verdict verdict;
    long status;           /* HTTP status; 0 when there was no answer */
    int64_t retry_after_s; /* from Retry-After; -1 when absent or unparsable */
    char error[PF_NAME_LEN]; /* "" on success; else what went wrong, one line */
    char code[PF_ID_LEN];  /* the answer's "error" code ("invalid", ...), or "" */
    bool new_connection;   /* this request had to open a TCP connection */
    bool reserve_port;     /* ... from a reserve source port (srcport.h) */
    long local_port;       /* local port of the connection used; 0 unknown */
    struct pf_buf body;    /* the answer's body, at most TRANSPORT_BODY_MAX */
};

/* Pure: the verdict for an HTTP status (0: no answer). */
enum transport_verdict transport_classify(long status);

/* Returns PF_OK when url is an absolute https:// URL with a host, else
 * PF_INVALID (the agent refuses plain HTTP). */
enum pf_rc transport_check_url(const char *url);

/* Creates the client. ca_file may be NULL (system store). On success *out
 * is owned by the caller (transport_free). PF_INTERNAL when libcurl cannot
 * be set up (e.g. built without HTTPS). */
enum pf_rc transport_new(const char *ca_file, struct transport **out);

/* Closes the connection and frees t (a request in flight is abandoned).
 * NULL does nothing. */
void transport_free(struct transport *t);

/* Holds the reserve source ports spec asks for (srcport_new; "off": none)
 * and opens every new connection from them. Returns PF_OK (even when fewer
 * ports could be held: logged), PF_NOMEM or PF_INTERNAL. */
enum pf_rc transport_reserve(struct transport *t, const struct srcport_spec *spec);

/* The reserve ports held (room for SRCPORT_MAX); returns how many. */
size_t transport_reserve_ports(const struct transport *t, uint16_t *ports);

/* Starts a POST like transport_post, without waiting. body, and res (reset
 * here, filled as the answer comes), must stay valid until transport_poll
 * returns true. Returns PF_OK when started, PF_INVALID for a bad URL,
 * PF_NOMEM, or PF_INTERNAL when a request is already in flight. */
enum pf_rc transport_begin(struct transport *t, const char *base_url, const char *path,
                           const char *bearer, const char *body, size_t len,
                           struct transport_result *res);

/* Drives the request in flight for at most timeout_ms. Returns false while
 * it goes on; true when it ended (or none was in flight: *rc PF_INTERNAL),
 * with *rc as transport_post returns and the result filled. */
bool transport_poll(struct transport *t, int timeout_ms, enum pf_rc *rc);

/* True while a request is in flight. */
bool transport_busy(const struct transport *t);

/* Initialises / frees a result (its body buffer). */
void transport_result_init(struct transport_result *r);
void transport_result_free(struct transport_result *r);

/* POSTs body (JSON) to base_url + path with "Authorization: Bearer
 * <bearer>" when bearer is not NULL, and fills res (reset first). Returns
 * PF_OK when an HTTP answer came back (whatever its status: look at
 * res->verdict), PF_AGAIN when there was none (connect, TLS, timeout:
 * res->error says which), PF_INVALID for a bad URL. */
enum pf_rc transport_post(struct transport *t, const char *base_url, const char *path,
                          const char *bearer, const char *body, size_t len,
                          struct transport_result *res);

/* Enrolls (docs/protocol.md section 1) at base_url with the secret and this
 * host's name, site and machine id. On a 200 with a valid answer copies
 * agent_id and node_key (checked with state_check_token) into the caller's
 * buffers and returns PF_OK. Otherwise returns PF_AGAIN (retry later:
 * res->verdict RETRY), PF_PERM (401 bad_secret), or PF_PROTO (an answer
 * that is not what the contract says); res says more. */
enum pf_rc transport_enroll(struct transport *t, const char *base_url, const char *secret,
                            const char *host_name, const char *site, const char *machine_id,
                            char agent_id[PF_ID_LEN], char *node_key, size_t node_key_len,
                            struct transport_result *res);

/* transport_enroll in two halves: _begin starts the request (as
 * transport_begin; the body is the transport's own); once transport_poll
 * returned true with rc, _end reads the answer as transport_enroll
 * describes. */
enum pf_rc transport_enroll_begin(struct transport *t, const char *base_url, const char *secret,
                                  const char *host_name, const char *site,
                                  const char *machine_id, struct transport_result *res);
enum pf_rc transport_enroll_end(enum pf_rc rc, struct transport_result *res,
                                char agent_id[PF_ID_LEN], char *node_key, size_t node_key_len);

/* TCP connections opened since transport_new. */
uint64_t transport_connections(const struct transport *t);

#endif
