/* SPDX-License-Identifier: MIT */
/* capacity.c: plan, pressure and findings of one loaded fleet. */
#include "capacity.h"

#include <stdlib.h>

enum pf_rc capacity_analyze(struct fleet *f, const struct fleet_params *p, struct capacity **out)
{
    struct capacity *c;
    enum pf_rc rc;

    *out = NULL;
    c = calloc(1, sizeof(*c));
    if (!c) {
        fleet_free(f);
        return PF_NOMEM;
    }
    c->params = *p;
    c->fleet = f;
    c->pressure = calloc(f->nhosts ? f->nhosts : 1, sizeof(*c->pressure));
    if (!c->pressure) {
        capacity_free(c);
        return PF_NOMEM;
    }
    rc = plan_build(f, p, &c->plan);
    for (size_t i = 0; i < f->nhosts && !rc; i++)
        rc = demand_host_pressure(f, &f->hosts[i], p, &c->pressure[i]);
    if (!rc)
        rc = findings_build(f, c->plan, p, c->pressure, &c->findings);
    if (rc) {
        capacity_free(c);
        return rc;
    }
    *out = c;
    return PF_OK;
}

void capacity_free(struct capacity *c)
{
    if (!c)
        return;
    findings_free(c->findings);
    free(c->acks);
    plan_free(c->plan);
    free(c->pressure);
    fleet_free(c->fleet);
    free(c);
}
