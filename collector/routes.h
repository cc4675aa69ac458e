/* SPDX-License-Identifier: MIT */
/* routes.h: the collector's endpoints, method + path -> handler, in one
 * table (routes.c). To add an endpoint, add a line there and its handler:
 * the server already does the authentication a route asks for, refuses
 * bodies over max_body, answers 404/405 for unknown paths and methods, and
 * gives the handler the whole request. A path ending in '/' is a prefix
 * followed by exactly one non-empty segment ("/report/host/" matches
 * "/report/host/ID", not "/report/host/" nor "/report/host/ID/x"); the
 * handler reads the segment with route_segment(). One handler may serve
 * several routes: arg tells it which one, so it never compares paths. */
#ifndef PF_ROUTES_H
#define PF_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "access.h"

struct exchange;

enum route_auth {
    ROUTE_PUBLIC,  /* anyone (health, enrollment: it checks its own secret) */
    ROUTE_NODE,    /* Authorization: Bearer <node key> present, else 401 node_invalid;
                      the handler resolves the key */
    /* A token (bearer) or a session cookie with at least this role
     * (access.h); the server decides before the handler runs and hands
     * it exchange.who, whose tenant the handler filters by. */
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
     * exchange_error/exchange_json, or defers with exchange_defer. */
    void (*handle)(struct exchange *x);
    int arg; /* for handlers of several routes: which one (capacity_api.h's views) */
};

/* The role a route needs (ACCESS_NONE for public and node routes). */
enum access_role route_min_role(const struct route *r);

/* The route for method and path, or NULL; *path_known says whether some
 * route has this path (405 rather than 404), and *allow lists its methods
 * ("GET, POST") for the Allow header. */
const struct route *routes_find(const char *method, const char *path, bool *path_known,
                                char *allow, size_t allowlen);

/* The segment after a prefix route's path, still percent-encoded (points
 * into path); "" for an exact route. */
const char *route_segment(const struct route *r, const char *path);

#endif
