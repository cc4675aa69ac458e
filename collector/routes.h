/* SPDX-License-Identifier: MIT */
/* routes.h: the collector's endpoints, method + path -> handler, in one
 * table (routes.c) that main.c hands to serve.c for the server. To add an endpoint,
 * add a line there and its handler: the server already does the
 * authentication a route asks for (through access.h), refuses bodies over
 * max_body, answers 404/405 for unknown paths and methods, and gives the
 * handler the whole request. What a line says is route.h's struct route:
 * a path ending in '/' is a prefix followed by exactly one segment, which
 * the handler reads with route_segment(); one handler may serve several
 * routes, told apart by arg, so it never compares paths. */
#ifndef PF_ROUTES_H
#define PF_ROUTES_H

#include <stddef.h>

#include "route.h"

/* The table; *n its length. Static: never freed. */
const struct route *routes_table(size_t *n);

#endif
