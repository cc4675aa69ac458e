/* SPDX-License-Identifier: MIT */
/* alert_cmd.h: `portfleet-collector alert`, a tenant's own notification
 * destinations (sql/040 alert_destinations):
 *
 *   alert add    --db CONNINFO [--tenant NAME] ([slack:|teams:]https://URL | --email ADDR)
 *   alert list   --db CONNINFO [--tenant NAME]
 *   alert remove --db CONNINFO [--tenant NAME] ([slack:|teams:]https://URL | --email ADDR)
 *
 * --tenant defaults to "default"; --db may come from PORTFLEET_DB. Running
 * collectors pick a change up at their next evaluation. */
#ifndef PF_ALERT_CMD_H
#define PF_ALERT_CMD_H

/* argv[0] is "alert". Returns the exit code: 0, 1 runtime failure, 2 bad
 * usage (the message names the option). */
int alert_cmd_main(int argc, char **argv);

#endif
