/* SPDX-License-Identifier: MIT */
/* routes.h: the collector's endpoints, method + exact path -> handler, in
 * one table (routes.c). To add an endpoint, add a line there and its
 * handler: the server already does the authentication a route asks for,
 * refuses bodies over max_body, answers 404/405 for unknown paths and
 * methods, and gives the handler the whole request. */
#ifndef PF_ROUTES_H
#define PF_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

struct exchange;

enum route_auth {
    ROUTE_PUBLIC, /* anyone (health, enrollment: it checks its own secret) */
    ROUTE_ADMIN,  /* Authorization: Bearer <admin token>, else 401 unauthorized */
    ROUTE_NODE    /* Authorization: Bearer <node key> present, else 401 node_invalid;
                     the handler resolves the key */
};

struct route {
    const char *method; /* "GET", "POST" */
    const char *path;   /* exact, e.g. "/v1/snapshots" */
    enum route_auth auth;
    bool token_in_query; /* ROUTE_ADMIN: ?token=<admin token> is accepted too */
    size_t max_body;     /* bytes; 0 refuses any body (413) */
    /* Runs on the loop thread once the body is in: answers with
     * exchange_error/exchange_json, or defers with exchange_defer. */
    void (*handle)(struct exchange *x);
};

/* The route for method and path, or NULL; *path_known says whether some
 * route has this path (405 rather than 404), and *allow lists its methods
 * ("GET, POST") for the Allow header. */
const struct route *routes_find(const char *method, const char *path, bool *path_known,
                                char *allow, size_t allowlen);

#endif
