/* SPDX-License-Identifier: MIT */
/* exchange.c: one request on a connection, from its complete head to its
 * answer. The head alone decides what it can (malformed or too large
 * heads, unknown paths and methods, the application's admission hook,
 * missing node keys, bodies over the route's limit or the global body
 * budget) and answers early, with a lingering close when a body is still
 * on its way; otherwise the body is read (conn.c) and the route runs, at
 * once or held (exchange_hold) until a worker's result comes back
 * (exchange_resume). Answers are JSON, built here for every route. */
#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"

static struct conn *conn_of(struct exchange *x)
{
    return (struct conn *)((char *)x - offsetof(struct conn, x));
}

/* ---- answers ---- */

void exchange_json(struct exchange *x, int status, const char *json)
{
    x->status = status;
    x->content_type = "application/json";
    pf_buf_reset(&x->out);
    if (pf_buf_puts(&x->out, json)) {
        x->status = 500;
        pf_buf_reset(&x->out);
    }
}

void exchange_error(struct exchange *x, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    cJSON *o;
    char *text = NULL;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "error", code) && cJSON_AddStringToObject(o, "message", msg))
        text = cJSON_PrintUnformatted(o);
    exchange_json(x, status, text ? text : "{\"error\":\"internal\",\"message\":\"out of memory\"}");
    cJSON_free(text);
    cJSON_Delete(o);
    if (status == 503)
        snprintf(x->extra, sizeof(x->extra), "Retry-After: %llu\r\n",
                 (unsigned long long)x->srv->o->retry_after_s);
    else if (status == 429)
        snprintf(x->extra, sizeof(x->extra), "Retry-After: 1\r\n");
}

/* Sends x's answer (head and body) and goes on to ST_WRITE. */
void exchange_respond(struct conn *c)
{
    struct exchange *x = &c->x;
    struct server *s = c->srv;
    enum pf_rc rc;

    if (!x->status)
        exchange_error(x, 500, "internal", "the route gave no answer");
    if (x->status >= 500)
        s->stats.answers_5xx++;
    else if (x->status == 429)
        s->stats.answers_429++;
    else if (x->status >= 400)
        s->stats.answers_4xx++;
    else
        s->stats.answers_2xx++;
    s->stats.snapshots_accepted += x->accepted;
    s->stats.snapshots_duplicate += x->duplicates;
    c->keep = c->req.keep_alive && !x->close && !s->stopping;
    /* The time the collector took, from the whole request read to the
     * answer: a client's or a test's own delays are not in it. */
    pf_debug("%s %s %s -> %d (%zu bytes, %lld ms)%s", c->peer, c->req.method ? c->req.method : "-",
             c->req.path ? c->req.path : "-", x->status, x->out.len,
             c->run_ms ? pf_mono_ms() - c->run_ms : 0LL, c->keep ? "" : ", closing");
    pf_buf_reset(&c->out);
    c->out_off = 0;
    rc = http_write_head(&c->out, x->status, x->content_type, x->out.len, c->keep,
                         x->extra[0] ? x->extra : NULL);
    if (!rc && x->out.len)
        rc = pf_buf_append(&c->out, x->out.data, x->out.len);
    if (rc) {
        conn_close(c, "cannot build the answer");
        return;
    }
    conn_set_state(c, ST_WRITE, TQ_WRITE);
    conn_write(c);
}

/* Answers from the loop thread before any route ran (the head alone
 * decided). A body that was announced but not read makes the connection
 * unusable afterwards, so it is closed after the answer. */
void exchange_refuse(struct conn *c, int status, const char *code, const char *msg,
                     const char *extra)
{
    struct exchange *x = &c->x;

    exchange_error(x, status, code, "%s", msg);
    if (extra)
        snprintf(x->extra, sizeof(x->extra), "%s", extra);
    if (c->req.content_length > c->body_have || !c->req.method)
        x->close = true;
    if (c->req.method && c->req.content_length > c->body_have) {
        c->drain = true;
        c->drain_left = c->req.content_length;
    }
    exchange_respond(c);
}

void exchange_hold(struct exchange *x)
{
    conn_of(x)->in_job = true;
}

void exchange_resume(struct exchange *x)
{
    struct conn *c = conn_of(x);

    c->in_job = false;
    if (c->dead) {
        conn_free(c);
        return;
    }
    exchange_respond(c);
}

void exchange_run(struct conn *c)
{
    struct exchange *x = &c->x;

    x->body = c->body;
    x->body_len = c->body_len;
    c->run_ms = pf_mono_ms();
    conn_set_state(c, ST_WAIT, TQ_NONE);
    conn_want(c, 0);
    if (c->st == ST_CLOSED)
        return;
    x->route->handle(x);
    if (!c->in_job)
        exchange_respond(c);
}

static const char *code_of(int status)
{
    switch (status) {
    case 411: return "length_required";
    case 413: return "too_large";
    case 417: return "expectation_failed";
    case 431: return "headers_too_large";
    case 505: return "http_version";
    }
    return "bad_request";
}

/* Clears the exchange of the connection's previous request. */
static void reset(struct conn *c)
{
    struct exchange *x = &c->x;
    size_t ctx_size = c->srv->o->ctx_size;

    x->status = 0;
    x->content_type = NULL;
    x->extra[0] = '\0';
    x->close = false;
    x->accepted = x->duplicates = 0;
    x->route = NULL;
    x->body = NULL;
    x->body_len = 0;
    c->run_ms = 0;
    if (ctx_size)
        memset(x->ctx, 0, ctx_size);
    pf_buf_reset(&x->out);
}

/* Parses the head and decides what it can from it alone: a malformed
 * head, an unknown path or method, the admission hook's refusal, a
 * missing node key, a body over the route's limit. Returns true when it
 * answered; else x->route is the request's route. */
static bool refused_by_head(struct conn *c)
{
    struct server *s = c->srv;
    struct exchange *x = &c->x;
    const struct route *route;
    const char *why;
    char allow[64], extra[96];
    bool known;
    int st;

    st = http_parse_head(c->in.data, c->head_len, HTTP_BODY_MAX, &c->req, &why);
    if (st) {
        /* Framing the parser understood: a body over the limit (its length
         * is known) or a chunked one (until the client stops): drain it
         * after the answer. Anything else is closed at once. */
        uint64_t announced = st == 413 ? c->req.content_length : st == 411 ? DRAIN_UNKNOWN : 0;
        pf_debug("%s: bad request head (%d): %s", c->peer, st, why);
        memset(&c->req, 0, sizeof(c->req));
        if (announced) {
            c->drain = true;
            c->drain_left = announced;
        }
        exchange_refuse(c, st, code_of(st), why, NULL);
        return true;
    }
    route = route_find(s->o->routes, s->o->nroutes, c->req.method, c->req.path, &known, allow,
                       sizeof(allow));
    if (!route) {
        if (known) {
            snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
            exchange_refuse(c, 405, "method_not_allowed", "method not allowed on this path",
                            extra);
        } else {
            exchange_refuse(c, 404, "not_found", "no such endpoint", NULL);
        }
        return true;
    }
    x->route = route;
    if (route->auth >= ROUTE_READ) {
        const char *code = "forbidden", *msg = "";
        int verdict = s->o->admit(s->o->ud, x, &code, &msg);
        if (verdict) {
            /* The path only: no query string, header or body (a token
             * may be in any of them) reaches the log. */
            pf_warn("%s: %s %s refused: %s; answering %d", c->peer, c->req.method, c->req.path,
                    code, verdict);
            if (x->status) {
                if (c->req.content_length > c->body_have)
                    x->close = true;
                exchange_respond(c);
            } else {
                exchange_refuse(c, verdict, code, msg, NULL);
            }
            return true;
        }
    }
    if (route->auth == ROUTE_NODE && !http_bearer(&c->req)) {
        exchange_refuse(c, 401, "node_invalid", "Authorization: Bearer <node key> is required",
                        NULL);
        return true;
    }
    if (c->req.content_length > route->max_body) {
        pf_warn("%s: %s %s with a %llu-byte body refused unread (limit %zu)", c->peer,
                c->req.method, c->req.path, (unsigned long long)c->req.content_length,
                route->max_body);
        exchange_refuse(c, 413, "too_large", "request body too large", NULL);
        return true;
    }
    return false;
}

/* The request was let through: takes its body into memory under the
 * global budget (what already followed the head, then conn.c reads the
 * rest, after "100 Continue" if asked), or runs the route at once. */
static void take_body(struct conn *c)
{
    struct server *s = c->srv;
    size_t avail;

    c->body_len = (size_t)c->req.content_length;
    if (c->body_len == 0) {
        exchange_run(c);
        return;
    }
    if (s->body_used + c->body_len > s->body_budget) {
        pf_warn("%s: %zu bytes of request bodies in memory already; answering 429", c->peer,
                s->body_used);
        exchange_refuse(c, 429, "overloaded", "too many request bodies in flight", NULL);
        return;
    }
    c->body = malloc(c->body_len);
    if (!c->body) {
        c->body_len = 0;
        exchange_refuse(c, 503, "unavailable", "out of memory", NULL);
        return;
    }
    c->budget = c->body_len;
    s->body_used += c->budget;
    avail = c->in.len - c->head_len;
    c->body_from_in = avail < c->body_len ? avail : c->body_len;
    memcpy(c->body, c->in.data + c->head_len, c->body_from_in);
    c->body_have = c->body_from_in;
    if (c->body_have == c->body_len) {
        exchange_run(c);
        return;
    }
    conn_set_state(c, ST_BODY, TQ_BODY);
    if (c->req.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        pf_buf_reset(&c->out);
        c->out_off = 0;
        if (pf_buf_append(&c->out, cont, sizeof(cont) - 1)) {
            conn_close(c, "out of memory");
            return;
        }
        c->st = ST_CONTINUE;
        conn_write(c);
        return;
    }
    conn_want(c, LOOP_READ);
    if (c->st != ST_CLOSED)
        conn_read_body(c);
}

void exchange_dispatch(struct conn *c)
{
    c->srv->stats.requests++;
    reset(c);
    if (refused_by_head(c))
        return;
    take_body(c);
}
