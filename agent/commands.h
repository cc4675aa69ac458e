/* SPDX-License-Identifier: MIT */
/* commands.h: the agent's commands (docs/cli.md). main.c dispatches argv[1] to
 * one of these with argv shifted so that argv[0] is the command name. Each
 * returns the process exit code: 0 ok, 1 runtime failure, 2 bad usage or
 * config (with a message naming the option and why). */
#ifndef PF_COMMANDS_H
#define PF_COMMANDS_H

int cmd_snapshot(int argc, char **argv);  /* main.c */
int cmd_run(int argc, char **argv);       /* run.c */
int cmd_install(int argc, char **argv);   /* install.c, via service.h */
int cmd_uninstall(int argc, char **argv); /* install.c, via service.h */
int cmd_status(int argc, char **argv);    /* status.c */

#endif
