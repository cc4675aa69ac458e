/* SPDX-License-Identifier: MIT */
/* service.h: the agent as an OS service. service_linux.c writes a hardened
 * systemd unit; service_win.c registers a Windows service (automatic start,
 * restart on failure) with the Service Control Manager. */
#ifndef PF_SERVICE_H
#define PF_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Installs (or updates) and starts the service so that it runs
 * `<this executable> run <args...>`; idempotent: a second call with the
 * same args leaves the same result. On error writes a message to err. */
enum pf_rc service_install(int nargs, char **args, char *err, size_t errlen);

/* Reads the --config= and --state-dir= values out of install's options
 * (each "--key=value", as cmd_install builds them); an absent option
 * leaves its output unchanged. PF_INTERNAL with a message in err when an
 * option is not of that form. The outputs point into args. */
enum pf_rc service_scan_args(int nargs, char **args, const char **config, const char **state,
                             char *err, size_t errlen);

/* Appends to conf the config file install writes for both service kinds:
 * a header line, then "key = value" per option of args (each "--key=value")
 * except --config, a value quoted when it has outer blanks or starts with a
 * quote, each line ended by eol ("\n" or "\r\n"). state_dir, when not
 * NULL, is written instead of the --state-dir value (the Linux unit keeps
 * its state under systemd's StateDirectory). PF_INVALID with a message in
 * err for a value that spans lines; PF_TOOBIG when conf is full. */
enum pf_rc service_config_text(struct pf_buf *conf, int nargs, char **args, const char *state_dir,
                               const char *eol, char *err, size_t errlen);

/* Stops and removes the service; the state directory is removed too when
 * purge is set. Removing a service that is not installed is not an error. */
enum pf_rc service_uninstall(bool purge, const char *state_dir, char *err, size_t errlen);

/* Windows: when the process was started by the Service Control Manager,
 * runs run_fn(argc, argv) under the service dispatcher (reporting
 * SERVICE_RUNNING / SERVICE_STOPPED) and returns true with *exit_code set.
 * Elsewhere, and when started from a console, returns false at once. */
bool service_dispatch(int (*run_fn)(int argc, char **argv), int argc, char **argv,
                      int *exit_code);

/* True once the OS asked the agent to stop (SIGTERM/SIGINT, or the SCM's
 * stop control). The run loop polls it at least once a second. */
bool service_stop_requested(void);

#endif
