/* SPDX-License-Identifier: MIT */
/* route.h: the shape of a route table, which the application hands to the
 * server (server.h): method + path -> handler, the credentials a route
 * asks for, its body cap. The server matches requests against the table,
 * answers 404/405 for unknown paths and methods and 413 for a body over
 * max_body, and asks the application's admit hook about every route of
 * ROUTE_READ or above before the handler runs. A path ending in '/' is a
 * prefix followed by exactly one non-empty segment ("/report/host/"
 * matches "/report/host/ID", not "/report/host/" nor "/report/host/ID/x");
 * the handler reads the segment with route_segment(). One handler may
 * serve several routes: arg tells it which one, so it never compares
 * paths. */
#ifndef PF_ROUTE_H
#define PF_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

struct exchange;

enum route_auth {
    ROUTE_PUBLIC,  /* anyone (health, enrollment: it checks its own secret) */
    ROUTE_NODE,    /* Authorization: Bearer <node key> present, else 401 node_invalid;
                      the handler resolves the key */
    /* A token (bearer) or a session cookie with at least this role; the
     * application's admit hook decides before the handler runs (the
     * collector's: access.h, routes.c). */
    ROUTE_READ,
    ROUTE_ADMIN,
    ROUTE_OPERATOR
};

struct route {
    const char *method; /* "GET", "POST" */
    const char *path;   /* exact, e.g. "/v1/snapshots"; a prefix when it ends in '/' */
    enum route_auth auth;
    bool signin_form;    /* a browser page: without credentials, answer the sign-in form */
    size_t max_body;     /* bytes; 0 refuses any body (413) */
    /* Runs on the loop thread once the body is in: answers with
     * exchange_error/exchange_json, or holds the exchange (server.h). */
    void (*handle)(struct exchange *x);
    int arg; /* for handlers of several routes: which one */
};

/* The route of table (n entries) for method and path, or NULL;
 * *path_known says whether some route has this path (405 rather than 404),
 * and *allow lists its methods ("GET, POST") for the Allow header. */
const struct route *route_find(const struct route *table, size_t n, const char *method,
                               const char *path, bool *path_known, char *allow, size_t allowlen);

/* The segment after a prefix route's path, still percent-encoded (points
 * into path); "" for an exact route. */
const char *route_segment(const struct route *r, const char *path);

#endif
