/* SPDX-License-Identifier: MIT */
/* route.c: matching a request against a route table (route.h). */
#include "route.h"

#include <stdio.h>
#include <string.h>

/* Whether path is r's: equal, or r's prefix plus one non-empty segment. */
static bool route_matches(const struct route *r, const char *path)
{
    size_t n = strlen(r->path);

    if (n == 0 || r->path[n - 1] != '/')
        return strcmp(r->path, path) == 0;
    return strncmp(r->path, path, n) == 0 && path[n] && !strchr(path + n, '/');
}

const char *route_segment(const struct route *r, const char *path)
{
    size_t n = strlen(r->path);

    return n && r->path[n - 1] == '/' && strncmp(r->path, path, n) == 0 ? path + n : "";
}

const struct route *route_find(const struct route *table, size_t n, const char *method,
                               const char *path, bool *path_known, char *allow, size_t allowlen)
{
    size_t used = 0;

    *path_known = false;
    if (allowlen)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!route_matches(&table[i], path))
            continue;
        if (strcmp(table[i].method, method) == 0)
            return &table[i];
        *path_known = true;
        if (used < allowlen)
            used += (size_t)snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "",
                                     table[i].method);
    }
    return NULL;
}
