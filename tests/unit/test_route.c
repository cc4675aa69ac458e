/* SPDX-License-Identifier: MIT */
/* test_route.c: matching requests against a route table (net/route.h),
 * and the collector's own table (routes.c): each path has one route per
 * method, prefix routes take exactly one segment, unknown paths find none
 * (404) and known paths with another method list the methods (405). */
#include <stdlib.h>

#include "capacity_api.h"
#include "route.h"
#include "routes.h"
#include "test.h"

static void h(struct exchange *x)
{
    (void)x;
}

static const struct route table[] = {
    {"GET", "/a", ROUTE_PUBLIC, false, 0, h, 1},
    {"POST", "/a", ROUTE_NODE, false, 10, h, 2},
    {"GET", "/p/", ROUTE_READ, false, 0, h, 3},
};

TEST(exact_and_methods)
{
    bool known;
    char allow[64];
    const struct route *r = route_find(table, 3, "POST", "/a", &known, allow, sizeof(allow));

    T_ASSERT(r && r->arg == 2);
    T_EQ_STR(route_segment(r, "/a"), "");
    T_ASSERT(!route_find(table, 3, "PUT", "/a", &known, allow, sizeof(allow)));
    T_ASSERT(known);
    T_EQ_STR(allow, "GET, POST");
    T_ASSERT(!route_find(table, 3, "GET", "/b", &known, allow, sizeof(allow)));
    T_ASSERT(!known);
    T_EQ_STR(allow, "");
}

TEST(prefix_one_segment)
{
    bool known;
    char allow[64];
    const struct route *r = route_find(table, 3, "GET", "/p/x%20y", &known, allow, sizeof(allow));

    T_ASSERT(r && r->arg == 3);
    T_EQ_STR(route_segment(r, "/p/x%20y"), "x%20y");
    T_ASSERT(!route_find(table, 3, "GET", "/p/", &known, allow, sizeof(allow)));
    T_ASSERT(!route_find(table, 3, "GET", "/p/x/y", &known, allow, sizeof(allow)));
    T_ASSERT(!route_find(table, 3, "GET", "/p", &known, allow, sizeof(allow)));
}

/* The capacity views are routed by the table alone: one route per view,
 * and paths near them find no route (404), never a view. */
TEST(collector_table)
{
    static const struct {
        const char *path;
        int view;
    } views[] = {
        {"/v1/findings", CAPACITY_FINDINGS}, {"/v1/plan", CAPACITY_PLAN},
        {"/v1/hosts", CAPACITY_HOSTS},       {"/report", CAPACITY_REPORT},
        {"/report/site/dal", CAPACITY_SITE_PAGE}, {"/report/host/abc", CAPACITY_HOST_PAGE},
        {"/report.csv", CAPACITY_REPORT_CSV}, {"/metrics", CAPACITY_METRICS},
    };
    static const char *const unknown[] = {"/report/", "/report/foo", "/report/site", "/report/site/",
                                          "/report/site/a/b", "/reports", "/v1/findings/x",
                                          "/metrics/", "/report.json"};
    size_t n, seen[8] = {0};
    const struct route *t = routes_table(&n);
    bool known;
    char allow[64];

    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
        const struct route *r = route_find(t, n, "GET", views[i].path, &known, allow, sizeof(allow));
        T_ASSERT(r && r->handle == capacity_api_handle);
        T_EQ_INT(r->arg, views[i].view);
        T_ASSERT(r->auth == ROUTE_READ);
    }
    for (size_t i = 0; i < n; i++)
        if (t[i].handle == capacity_api_handle) {
            T_ASSERT(t[i].arg >= 0 && t[i].arg < 8);
            seen[t[i].arg]++;
        }
    for (size_t v = 0; v < 8; v++)
        T_EQ_INT(seen[v], 1);
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        T_ASSERT(!route_find(t, n, "GET", unknown[i], &known, allow, sizeof(allow)));
        T_ASSERT(!known);
    }
    /* one route per method and path */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            T_ASSERT(strcmp(t[i].method, t[j].method) || strcmp(t[i].path, t[j].path));
}

int main(void)
{
    RUN(exact_and_methods);
    RUN(prefix_one_segment);
    RUN(collector_table);
    return T_DONE();
}
