/* SPDX-License-Identifier: MIT */
/* tenants.h: tenants, their enrollment secrets and their tokens in the
 * database (sql/030), three ways in:
 *
 *   portfleet-collector tenant add NAME | tenant list
 *   portfleet-collector token add --tenant NAME --role read|admin
 *                       (--role operator without --tenant) | token list
 *                       [--tenant NAME] | token revoke TOKEN | --id N
 *   portfleet-collector secret add --tenant NAME | secret list [--tenant
 *                       NAME] | secret revoke ID
 *   (each with --db CONNINFO or PORTFLEET_DB)
 *
 *   GET/POST /v1/tenants              operator
 *   GET/POST /v1/tokens, POST /v1/tokens/revoke     admin of the tenant
 *   GET/POST /v1/secrets, POST /v1/secrets/revoke   admin of the tenant
 *   POST /v1/agents/revoke {"agent_id"}             admin of the tenant
 *
 * A new token or secret is printed (answered) once and stored as its
 * SHA-256. Another tenant's token or secret answers 404, like one that
 * does not exist. */
#ifndef PF_TENANTS_H
#define PF_TENANTS_H

#include <libpq-fe.h>

#include "access.h"
#include "error.h"

struct exchange;

/* The tenant whose enrollment secret secret is (not revoked), into
 * tenant. PF_OK, PF_NOTFOUND, or PF_AGAIN when the database failed. */
enum pf_rc tenants_of_secret(PGconn *pg, const char *secret, char tenant[PF_TENANT_LEN]);

/* Route handler of /v1/tenants, /v1/tokens[/revoke], /v1/secrets[/revoke],
 * /v1/agents/revoke. */
void tenants_handle(struct exchange *x);

/* `portfleet-collector tenant|token|secret ...`; argv[0] is the command
 * word. Prints JSON on stdout; returns the exit code (0; 1 the database
 * failed; 2 bad usage, bad input, or no such tenant/token/secret). */
int tenants_cli_main(int argc, char **argv);

#endif
