/* SPDX-License-Identifier: MIT */
/* capacity_api.h: the capacity engine's read side over HTTP (docs/protocol.md
 * section 3, docs/cli.md) and `portfleet-collector report`.
 *
 *   GET /v1/findings  ?site= &host=        findings JSON
 *   GET /v1/plan      ?site=               site plans JSON
 *   GET /v1/hosts     ?site=               hosts JSON
 *   GET /report       ?site= &format=html|csv|json|text (admin token or ?token=)
 *   GET /report.csv   ?site=               the CSV export
 *   GET /metrics                           Prometheus text (admin token or ?token=)
 *
 * Every endpoint also takes ?now= (RFC 3339 or epoch seconds; default the
 * wall clock), ?window_days= (1..60, default 7) and ?horizon_days=
 * (1..730, default 90): analysis time is a parameter, never read inside
 * the analysis, and all of it is taken_at. Each request runs on a database
 * worker: load the rollups (analysis_db.h), analyse (capacity.h), render
 * (report.h). */
#ifndef PF_CAPACITY_API_H
#define PF_CAPACITY_API_H

struct exchange;

/* The route handler of all six paths (loop thread): defers to a database
 * worker, which answers by the route's path. */
void capacity_api_handle(struct exchange *x);

/* `portfleet-collector report --db CONNINFO [--site S] [--format
 * text|json|csv|html] [--out FILE] [--now T] [--window-days N]
 * [--horizon-days N]`; argv[0] is "report". --db may come from
 * PORTFLEET_DB. Returns the exit code: 0, 1 runtime failure, 2 usage. */
int capacity_report_main(int argc, char **argv);

#endif
