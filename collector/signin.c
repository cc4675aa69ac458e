/* SPDX-License-Identifier: MIT */
/* signin.c: the sign-in form, browser sessions and sign-out (signin.h). */
#include "signin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "log.h"
#include "serve.h"
#include "server.h"
#include "timeutil.h"

#define FORM_MAX 4096 /* the sign-in body: token=... */

/* Pages of their own: no script, no outside resource, no framing (a
 * framed sign-in form invites clickjacking), never cached. */
#define PAGE_HEADERS                                                                               \
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; form-action "         \
    "'self'; frame-ancestors 'none'\r\nCache-Control: no-store\r\n"
#define CLEAR_COOKIE                                                                               \
    "Set-Cookie: " ACCESS_COOKIE "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict\r\n"

static const char page_head[] =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>portfleet: sign in</title><style>body{font:15px system-ui,sans-serif;margin:3em "
    "auto;max-width:34em;color:#222}input{font:inherit;width:100%;padding:.4em;margin:.4em "
    "0}button{font:inherit;padding:.4em 1.2em}.notice{background:#fde8e8;padding:.6em;"
    "border-left:4px solid #c33}</style></head><body><h1>portfleet capacity report</h1>";

static const char page_form[] =
    "<form method=\"post\" action=\"/report/signin\"><label for=\"token\">Token</label>"
    "<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" required "
    "autofocus><button type=\"submit\">Sign in</button></form>"
    "<p>Use the read, admin or operator token you were given (<code>portfleet-collector token "
    "add</code>). It is sent once, in this form's body; the browser keeps only a session cookie "
    "that ends after 8 hours or when you sign out.</p></body></html>\n";

static void page(struct exchange *x, int status, const char *notice, bool clear_cookie)
{
    pf_buf_reset(&x->out);
    /* notice is one of our static sentences: no escaping needed. */
    if (pf_buf_puts(&x->out, page_head) ||
        (notice && pf_buf_printf(&x->out, "<p class=\"notice\">%s</p>", notice)) ||
        pf_buf_puts(&x->out, page_form)) {
        exchange_error(x, 500, "internal", "out of memory");
        return;
    }
    x->status = status;
    x->content_type = "text/html; charset=utf-8";
    snprintf(x->extra, sizeof(x->extra), "%s%s", PAGE_HEADERS, clear_cookie ? CLEAR_COOKIE : "");
}

void signin_form(struct exchange *x, const char *why)
{
    const char *notice = NULL;
    bool stale = strcmp(why, "session_invalid") == 0;

    if (stale)
        notice = "Your session has ended. Sign in again.";
    else if (strcmp(why, "token_in_url") == 0)
        notice = "A token in the address is not accepted (it would stay in the browser's history "
                 "and in proxy logs). Sign in here instead.";
    else if (strcmp(why, "unauthorized") == 0 && http_bearer(x->req))
        notice = "The token is not valid (unknown or revoked).";
    page(x, 401, notice, stale);
}

/* True when a browser that says where the request comes from says it is
 * our own page (clients that send neither header are not browsers). */
static bool origin_ok(const struct exchange *x)
{
    if (!http_header(x->req, "Origin") && !http_header(x->req, "Referer"))
        return true;
    return access_same_origin(x->req);
}

/* ---- sign in ---- */

static void open_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct exchange *x = exchange_of(jobs[i]);
        const struct access_who *w = serve_who(x);
        int64_t expires = pf_time_now() + ACCESS_SESSION_S;
        char tid[32], exp[32];
        const char *vals[5] = {(const char *)w->session, tid, w->tenant, access_role_name(w->role),
                               exp};
        int lens[5] = {AUTH_HASH_LEN, 0, 0, 0, 0}, fmts[5] = {1, 0, 0, 0, 0};
        PGconn *pg = db_pg(dc);
        PGresult *r;

        snprintf(tid, sizeof(tid), "%lld", (long long)w->token_id);
        snprintf(exp, sizeof(exp), "%lld", (long long)expires);
        if (!pg) {
            exchange_error(x, 503, "unavailable", "the database does not answer");
            continue;
        }
        /* Expired sessions go on the way (an index range on expires_at). */
        PQclear(PQexec(pg, "DELETE FROM sessions WHERE expires_at < now()"));
        r = PQexecParams(pg,
                         "INSERT INTO sessions (id_hash, token_id, tenant, role, expires_at) "
                         "VALUES ($1, nullif($2, '0')::bigint, nullif($3, ''), $4, "
                         "to_timestamp($5::bigint))",
                         5, NULL, vals, lens, fmts, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            pf_warn("sign-in: storing the session: %s", PQresultErrorMessage(r));
            PQclear(r);
            db_check(dc);
            exchange_error(x, 503, "unavailable", "the database failed: try again");
            continue;
        }
        PQclear(r);
        access_session_add(serve_access(x), w, expires);
        pf_info("%s: signed in to the report (%s%s%s)", x->peer, access_role_name(w->role),
                w->tenant[0] ? ", tenant " : "", w->tenant);
        x->status = 303;
        x->content_type = NULL;
        pf_buf_reset(&x->out);
        /* x->extra already holds the cookie and Location. */
    }
}

static const struct db_job_ops open_ops = {"signin", 1, 0, open_run};

void signin_handle(struct exchange *x)
{
    char form[FORM_MAX + 1], token[512], id[2 * AUTH_HASH_LEN + 1];
    uint8_t raw[AUTH_HASH_LEN];
    struct access_who who;
    enum access_check check = ACCESS_INVALID;
    enum pf_rc rc;

    if (!origin_ok(x)) {
        pf_warn("%s: sign-in from another site's page refused", x->peer);
        exchange_error(x, 403, "cross_origin", "sign in from the collector's own page");
        return;
    }
    if (x->body_len > FORM_MAX) {
        exchange_error(x, 413, "too_large", "the sign-in form is at most %d bytes", FORM_MAX);
        return;
    }
    memcpy(form, x->body ? x->body : "", x->body_len);
    form[x->body_len] = '\0';
    rc = http_query_get(form, "token", token, sizeof(token));
    if (rc == PF_NOTFOUND || (rc == PF_OK && !token[0])) {
        page(x, 400, "Enter a token.", false);
        return;
    }
    if (!rc)
        check = access_token(serve_access(x), token, &who);
    if (check == ACCESS_STALE) {
        memset(token, 0, sizeof(token));
        page(x, 503, "Tokens cannot be checked right now: this collector cannot read them from "
                     "its database. Try again in a minute.", false);
        return;
    }
    if (check != ACCESS_VALID) {
        memset(token, 0, sizeof(token));
        pf_warn("%s: sign-in refused: the token is not valid", x->peer);
        page(x, 401, "The token is not valid (unknown or revoked).", false);
        return;
    }
    memset(token, 0, sizeof(token));
    if (auth_random(raw, sizeof(raw))) {
        exchange_error(x, 500, "internal", "no randomness available");
        return;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    auth_hash(id, strlen(id), who.session);
    who.by_session = true;
    *serve_who(x) = who;
    snprintf(x->extra, sizeof(x->extra),
             "Set-Cookie: " ACCESS_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; Secure; "
             "SameSite=Strict\r\nLocation: /report\r\nCache-Control: no-store\r\n",
             id, ACCESS_SESSION_S);
    memset(id, 0, sizeof(id));
    exchange_defer(x, &open_ops);
}

/* ---- sign out ---- */

static void close_run(struct db_conn *dc, struct db_job **jobs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct exchange *x = exchange_of(jobs[i]);
        const char *vals[1] = {(const char *)serve_who(x)->session};
        int lens[1] = {AUTH_HASH_LEN}, fmts[1] = {1};
        PGconn *pg = db_pg(dc);
        PGresult *r;

        if (!pg) {
            exchange_error(x, 503, "unavailable", "the database does not answer");
            continue;
        }
        r = PQexecParams(pg, "DELETE FROM sessions WHERE id_hash = $1", 1, NULL, vals, lens, fmts,
                         0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            pf_warn("sign-out: %s", PQresultErrorMessage(r));
            PQclear(r);
            db_check(dc);
            exchange_error(x, 503, "unavailable", "the database failed: try again");
            continue;
        }
        PQclear(r);
        access_session_drop(serve_access(x), serve_who(x)->session);
        x->status = 303;
        x->content_type = NULL;
        pf_buf_reset(&x->out);
        snprintf(x->extra, sizeof(x->extra), "%sLocation: /report\r\nCache-Control: no-store\r\n",
                 CLEAR_COOKIE);
    }
}

static const struct db_job_ops close_ops = {"signout", 1, 0, close_run};

void signout_handle(struct exchange *x)
{
    /* access_decide() already checked the cookie and the Origin. */
    if (!serve_who(x)->by_session) {
        exchange_error(x, 400, "invalid", "not signed in with a session (a bearer token has none)");
        return;
    }
    exchange_defer(x, &close_ops);
}

enum pf_rc signin_add_signout(struct pf_buf *pg)
{
    static const char button[] = "<form method=\"post\" action=\"/report/signout\" "
                                 "style=\"margin-top:2em\"><button type=\"submit\">Sign "
                                 "out</button></form>";
    static const char end[] = "</body>";
    char *tail;
    size_t at, tl;
    enum pf_rc rc;

    if (!pg->data || pg->len < sizeof(end) - 1)
        return PF_OK;
    for (at = pg->len - (sizeof(end) - 1);; at--) {
        if (memcmp(pg->data + at, end, sizeof(end) - 1) == 0)
            break;
        if (at == 0)
            return PF_OK; /* not a page of ours */
    }
    tl = pg->len - at;
    tail = malloc(tl);
    if (!tail)
        return PF_NOMEM;
    memcpy(tail, pg->data + at, tl);
    pg->len = at;
    rc = pf_buf_puts(pg, button);
    if (!rc)
        rc = pf_buf_append(pg, tail, tl);
    free(tail);
    return rc;
}
