/* SPDX-License-Identifier: MIT */
/* agent_admin.h: `portfleet-collector agent ...`, the administrator's
 * commands on enrolled agents (docs/cli.md). Today: `agent revoke AGENT_ID`,
 * which sets the agent's revoked_at; the trigger of sql/060 bumps the
 * revocation generation, so its node key stops working within
 * AUTH_STALE_MS on every collector (auth_cache.h). Options as for migrate
 * (--db, --config, PORTFLEET_DB). Exit codes: 0 revoked (or revoked
 * already, said so), 1 unknown agent or database failure, 2 bad usage (a
 * malformed id, a missing --db). */
#ifndef PF_AGENT_ADMIN_H
#define PF_AGENT_ADMIN_H

/* argv[0] is "agent"; returns the exit code. */
int agent_admin_main(int argc, char **argv);

#endif
