/* SPDX-License-Identifier: MIT */
/* access.h: who a request is, and what it may see. A read-side request
 * carries a bearer token (scripts) or a session cookie (a browser signed
 * in at /report); either resolves to a role and a tenant:
 *
 *   read      findings, plan, hosts, report, CSV, metrics of its tenant
 *   admin     also acknowledges findings and manages its tenant's
 *             enrollment secrets and tokens
 *   operator  every tenant; manages tenants (the --admin-token option is
 *             one)
 *
 * Tokens and sessions live in the database as SHA-256 hashes (sql/030).
 * Each collector keeps the valid ones in memory and polls a change counter
 * (auth_epoch) every second on a thread of its own, so checking a request
 * costs no database round trip and a revoked token stops working on every
 * collector within about a second (the refresh interval plus one reload).
 * A session opened here is known here at once; on another collector of
 * the same database after the next refresh.
 *
 * The table is only as good as its last refresh. When the refresh cannot
 * read the database (it is down, unreachable, or the refresh connection
 * hangs), the table is honoured for ACCESS_STALE_MS from the start of the
 * last refresh that found it current; after that every token and session
 * gets 503 (Retry-After) until a refresh succeeds. So a token revoked
 * through another collector stops working on a collector cut off from the
 * database within ACCESS_STALE_MS, as auth_cache.h's AUTH_REVOKED_WITHIN_S
 * promises for node keys. 503, not 401: the token may well be good, the
 * client should retry, not give up on it. The bound is longer than the
 * node-key cache's AUTH_STALE_MS (3 s) because missing it costs more: a
 * stale node-key cache only makes a request look its key up, a stale table
 * refuses every reader; 5 s lets four refreshes fail in a row, a brief
 * database hiccup, before anyone is refused. The --admin-token option is
 * not in the database and works regardless; a session opened here is
 * fresh from its opening on (it was good then).
 *
 * auth_epoch is not auth_generation (sql/060, auth_cache.h), the counter
 * of node keys, and the two are kept apart on purpose. This table is
 * complete (a token missing from it is refused, with no database lookup),
 * so auth_epoch moves on every change of tokens, sessions and tenants,
 * additions included: a token made or a session opened elsewhere must
 * become known. The node-key cache holds good keys only and looks a miss
 * up, so auth_generation moves only when a key stops being good (revoked,
 * re-keyed, deleted), never at an enrollment: one counter for both would
 * either hide new tokens from this table or drop every collector's cached
 * keys at each sign-in, token and session (and each enrollment, were
 * additions counted for keys).
 *
 * access_decide() is the one gate every authenticated route goes through
 * (serve.c's admit hook calls it before a handler runs): handlers only see the result
 * (struct access_who) and filter by its tenant. */
#ifndef PF_ACCESS_H
#define PF_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "error.h"
#include "http.h"
#include "route.h"
#include "snapshot.h"

#define ACCESS_REFRESH_MS 1000
#define ACCESS_STALE_MS 5000 /* the table is not used when its last refresh is older */
#define ACCESS_SESSION_S (8 * 3600) /* a browser session's server-side life */
#define ACCESS_COOKIE "pf_session"
#define ACCESS_SECRET_BYTES 24 /* tokens, enrollment secrets: 192 random bits */
/* "pft_" + 48 hex (tokens), "pfe_" + 48 hex (enrollment secrets) */
#define ACCESS_SECRET_LEN (4 + 2 * ACCESS_SECRET_BYTES + 1)

enum access_role { ACCESS_NONE = 0, ACCESS_READ, ACCESS_ADMIN, ACCESS_OPERATOR };

struct access_who {
    enum access_role role;
    char tenant[PF_TENANT_LEN];     /* "" for operator: every tenant */
    int64_t token_id;               /* tokens.id; 0 for the --admin-token option */
    bool by_session;                /* signed in with the cookie, not a bearer token */
    uint8_t session[AUTH_HASH_LEN]; /* hash of the session id when by_session */
};

/* "read", "admin", "operator" ("none" for ACCESS_NONE). */
const char *access_role_name(enum access_role r);
/* The role a route of this auth needs (ACCESS_NONE for public and node
 * routes). */
enum access_role access_route_role(enum route_auth a);
/* The role called s, or ACCESS_NONE when s is not one of the three. */
enum access_role access_role_parse(const char *s);
/* True when s is a tenant name: 1 to 64 of [a-z0-9-]. */
bool access_tenant_valid(const char *s);
/* True when who may see tenant's things: its own tenant, or an operator. */
bool access_sees(const struct access_who *who, const char *tenant);

/* Writes a fresh secret: prefix ("pft_" or "pfe_") and 48 random hex
 * digits. PF_IO when the kernel gives no randomness. */
enum pf_rc access_new_secret(const char *prefix, char out[ACCESS_SECRET_LEN]);

struct access;

/* Starts the token cache on database conninfo (its own connection, made
 * and remade by its thread). operator_token (may be NULL) is the
 * --admin-token option, checked in memory and never stored. The thread
 * loads at once (so it never holds up start-up when the database does not
 * answer); until a load succeeded only operator_token works, and
 * access_loaded() says false (/readyz answers 503). Returns PF_OK and *out (free with
 * access_free), PF_NOMEM or PF_IO (thread). */
enum pf_rc access_new(const char *conninfo, const char *operator_token, struct access **out);
/* Stops the thread and frees a; NULL does nothing. */
void access_free(struct access *a);

/* What a lookup found: valid (then *who is filled), unknown, revoked or
 * expired, or not known for sure because the table is stale. */
enum access_check { ACCESS_INVALID = 0, ACCESS_VALID, ACCESS_STALE };

/* Resolves a bearer token. */
enum access_check access_token(struct access *a, const char *token, struct access_who *who);
/* Resolves a session id (the cookie's value) at time now: valid when it is
 * known and not expired. */
enum access_check access_session(struct access *a, const char *id, int64_t now,
                                 struct access_who *who);
/* Makes a session this collector has just stored known here at once. */
void access_session_add(struct access *a, const struct access_who *who, int64_t expires_at);
/* Forgets a session this collector has just deleted, at once. */
void access_session_drop(struct access *a, const uint8_t hash[AUTH_HASH_LEN]);
/* Forces a reload on the next tick (after a change made here). */
void access_poke(struct access *a);
/* True once a load from the database succeeded (tests, readiness). */
bool access_loaded(struct access *a);

/* The value of cookie name in req's Cookie headers into out; PF_OK,
 * PF_NOTFOUND, PF_TOOBIG. */
enum pf_rc access_cookie(const struct http_request *req, const char *name, char *out,
                         size_t outlen);
/* True when the request says it comes from this collector's own pages:
 * Origin is https://<Host>, or (no Origin) Referer starts with
 * https://<Host>/. A browser sets them and a cross-site page cannot
 * forge them. */
bool access_same_origin(const struct http_request *req);

/* The verdict on a request for a route that needs role min. Returns 0 and
 * fills *who, or the status to answer (401, 403) with *code and *msg
 * (static strings that reveal nothing about tokens or tenants). Refuses a
 * token in the query string (401 token_in_url), an unknown or revoked
 * token (401 unauthorized), an unknown or expired session (401
 * session_invalid), any token or session but the --admin-token option
 * while the table is stale (503 unavailable), a state-changing request
 * signed in by cookie that is not same-origin (403 cross_origin), and too
 * small a role (403 forbidden). */
int access_decide(struct access *a, const struct http_request *req, enum access_role min,
                  int64_t now, struct access_who *who, const char **code, const char **msg);

#endif
