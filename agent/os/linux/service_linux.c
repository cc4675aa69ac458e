/* SPDX-License-Identifier: MIT */
/* service_linux.c: service.h for systemd. install writes the options to
 * the config file (root-only: it holds the enrollment secret) and the
 * hardened unit of deploy/portfleet-agent.service (compiled in, see
 * unit_template.cmake) to /etc/systemd/system, then daemon-reload, enable
 * and (re)start; doing it twice gives the same files and a running agent.
 * uninstall reverses it. The stop flag is set by SIGTERM/SIGINT.
 *
 * PORTFLEET_INSTALL_ROOT, when set, is a staging root (like DESTDIR): the
 * files go under it and systemctl is not run. Tests use it on machines
 * where systemd is not PID 1. */
#include "service.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "osutil.h"
#include "unit_template.h" /* generated: static const char unit_template[] */

extern char **environ;

#define UNIT_NAME "portfleet-agent.service"
#define UNIT_DIR "/etc/systemd/system"
#define STATE_ROOT "/var/lib/"
#define PRIVATE_STATE_ROOT "/var/lib/private/"

/* ---- stop flag ---- */

static volatile sig_atomic_t stop_flag;
static int handlers_set;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

bool service_stop_requested(void)
{
    if (!handlers_set) {
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop; /* no SA_RESTART: a sleep ends at once */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
        handlers_set = 1;
    }
    return stop_flag != 0;
}

bool service_dispatch(int (*run_fn)(int argc, char **argv), int argc, char **argv, int *exit_code)
{
    (void)run_fn;
    (void)argc;
    (void)argv;
    (void)exit_code;
    return false; /* systemd starts `run` directly */
}

/* ---- helpers ---- */

static const char *install_root(void)
{
    const char *r = getenv("PORTFLEET_INSTALL_ROOT");

    return r && *r ? r : NULL;
}

/* root + path into out. */
static int rooted(char *out, size_t outlen, const char *path)
{
    const char *r = install_root();
    int n = snprintf(out, outlen, "%s%s", r ? r : "", path);

    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Characters that need no quoting or escaping in a unit file line. */
static bool unit_safe(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("/._+-", *s)))
            return false;
    return true;
}

/* Appends src to out with each "@KEY@" replaced by its value. */
static enum pf_rc expand(struct pf_buf *out, const char *src, const char *const *keys,
                         const char *const *vals, size_t n)
{
    enum pf_rc rc = PF_OK;

    while (!rc && *src) {
        size_t k;

        for (k = 0; k < n; k++)
            if (strncmp(src, keys[k], strlen(keys[k])) == 0)
                break;
        if (k < n) {
            rc = pf_buf_puts(out, vals[k]);
            src += strlen(keys[k]);
        } else {
            rc = pf_buf_append(out, src, 1);
            src++;
        }
    }
    return rc;
}

/* Runs argv[0] (searched in PATH) and waits; returns its exit status or -1. */
static int run_cmd(char *const argv[])
{
    pid_t pid;
    int status;

    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool systemd_running(void)
{
    struct stat st;

    return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* Splits path into its directory and base name. */
static int split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
    const char *slash = strrchr(path, '/');
    size_t n;

    if (!slash || slash[1] == '\0')
        return -1;
    n = (size_t)(slash - path);
    if (n == 0)
        n = 1; /* "/file" */
    if (n >= dirlen)
        return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    *base = slash + 1;
    return 0;
}

/* Writes path (under the staging root) if its content differs. Sets
 * *changed. */
static enum pf_rc write_if_changed(const char *path, const char *data, size_t len, mode_t mode,
                                   bool *changed)
{
    char full[OSUTIL_PATH_MAX], dir[OSUTIL_PATH_MAX];
    const char *base;
    struct pf_buf old;
    enum pf_rc rc;

    if (rooted(full, sizeof(full), path) || split_path(full, dir, sizeof(dir), &base))
        return PF_TOOBIG;
    pf_buf_init(&old, 1 << 20);
    rc = osutil_read_file(full, &old);
    *changed = rc != PF_OK || old.len != len || memcmp(old.data, data, len) != 0;
    pf_buf_free(&old);
    if (!*changed)
        return PF_OK;
    rc = osutil_mkdirs(dir);
    if (!rc)
        rc = osutil_write_atomic(dir, base, data, len);
    if (!rc && chmod(full, mode) != 0)
        rc = PF_IO;
    return rc;
}

/* ---- install ---- */

enum pf_rc service_install(int nargs, char **args, char *err, size_t errlen)
{
    char exe[OSUTIL_PATH_MAX], bindir[OSUTIL_PATH_MAX], unit_path[OSUTIL_PATH_MAX];
    const char *config = NULL, *state = "portfleet", *base;
    struct pf_buf conf, unit;
    bool conf_changed = false, unit_changed = false;
    enum pf_rc rc;
    ssize_t n;

    pf_buf_init(&conf, 1 << 20);
    pf_buf_init(&unit, 1 << 20);
    err[0] = '\0';

    rc = service_scan_args(nargs, args, &config, &state, err, errlen);
    if (rc)
        goto out;
    if (strncmp(state, STATE_ROOT, strlen(STATE_ROOT)) == 0)
        state += strlen(STATE_ROOT);
    else if (strcmp(state, "portfleet") != 0)
        state = NULL;
    if (!state || !unit_safe(state) || strstr(state, "..") || state[0] == '/' ||
        strncmp(state, "private", 7) == 0) {
        snprintf(err, errlen,
                 "option --state-dir: the service keeps its state under "
                 "/var/lib/ (systemd StateDirectory=), e.g. /var/lib/portfleet");
        rc = PF_INVALID;
        goto out;
    }
    if (!config || config[0] != '/' || !unit_safe(config)) {
        snprintf(err, errlen,
                 "option --config: the service needs an absolute path of plain "
                 "characters, not '%s'",
                 config ? config : "");
        rc = PF_INVALID;
        goto out;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot find this program's path (/proc/self/exe)");
        rc = PF_IO;
        goto out;
    }
    exe[n] = '\0';
    if (split_path(exe, bindir, sizeof(bindir), &base) || !unit_safe(bindir) ||
        strcmp(base, "portfleet-agent") != 0) {
        snprintf(err, errlen,
                 "this program (%s) must be named portfleet-agent and live in a "
                 "directory of plain characters",
                 exe);
        rc = PF_INVALID;
        goto out;
    }

    {
        char state_dir[OSUTIL_PATH_MAX];

        snprintf(state_dir, sizeof(state_dir), STATE_ROOT "%s", state);
        rc = service_config_text(&conf, nargs, args, state_dir, "\n", err, errlen);
        if (rc == PF_INVALID)
            goto out;
    }
    {
        const char *keys[] = {"@BINDIR@", "@STATE@", "@CONFIG@"};
        const char *vals[] = {bindir, state, config};

        if (!rc)
            rc = expand(&unit, unit_template, keys, vals, 3);
    }
    if (rc) {
        snprintf(err, errlen, "cannot build the files: %s", pf_strerror(rc));
        goto out;
    }

    rc = write_if_changed(config, conf.data, conf.len, 0600, &conf_changed);
    if (rc) {
        snprintf(err, errlen, "cannot write %s: %s", config, pf_strerror(rc));
        goto out;
    }
    snprintf(unit_path, sizeof(unit_path), "%s/%s", UNIT_DIR, UNIT_NAME);
    rc = write_if_changed(unit_path, unit.data, unit.len, 0644, &unit_changed);
    if (rc) {
        snprintf(err, errlen, "cannot write %s: %s", unit_path, pf_strerror(rc));
        goto out;
    }

    if (install_root()) {
        snprintf(err, errlen, "staged under %s (%s, %s%s); systemctl not run", install_root(),
                 unit_path, config, conf_changed || unit_changed ? "" : ", unchanged");
        goto out;
    }
    if (!systemd_running()) {
        snprintf(err, errlen,
                 "wrote %s and %s, but systemd is not running here (no "
                 "/run/systemd/system), so the service was not started",
                 unit_path, config);
        rc = PF_UNSUPPORTED;
        goto out;
    }
    {
        char *reload[] = {"systemctl", "daemon-reload", NULL};
        char *enable[] = {"systemctl", "enable", "--quiet", UNIT_NAME, NULL};
        char *restart[] = {"systemctl", "restart", UNIT_NAME, NULL};
        char *start[] = {"systemctl", "start", UNIT_NAME, NULL};
        bool changed = conf_changed || unit_changed;

        if (run_cmd(reload) != 0 || run_cmd(enable) != 0 ||
            run_cmd(changed ? restart : start) != 0) {
            snprintf(err, errlen, "systemctl failed; see `systemctl status %s`", UNIT_NAME);
            rc = PF_IO;
            goto out;
        }
        snprintf(err, errlen, "%s enabled and %s", UNIT_NAME,
                 changed ? "(re)started" : "running (unchanged)");
    }
out:
    pf_buf_free(&conf);
    pf_buf_free(&unit);
    return rc;
}

/* ---- uninstall ---- */

/* The config path the installed unit loads (LoadCredential=agent.conf:X). */
static void installed_config(const char *unit_path, char *out, size_t outlen)
{
    struct pf_buf b;
    const char *key = "LoadCredential=agent.conf:", *p;

    snprintf(out, outlen, "%s", "/etc/portfleet/agent.conf");
    pf_buf_init(&b, 1 << 20);
    if (osutil_read_file(unit_path, &b) == PF_OK && (p = strstr(b.data, key)) != NULL) {
        size_t n;

        p += strlen(key);
        n = strcspn(p, "\r\n");
        if (n > 0 && n < outlen) {
            memcpy(out, p, n);
            out[n] = '\0';
        }
    }
    pf_buf_free(&b);
}

enum pf_rc service_uninstall(bool purge, const char *state_dir, char *err, size_t errlen)
{
    char unit_path[OSUTIL_PATH_MAX], config[OSUTIL_PATH_MAX], path[OSUTIL_PATH_MAX];
    char dir[OSUTIL_PATH_MAX];
    const char *base;
    enum pf_rc rc = PF_OK;

    err[0] = '\0';
    if (rooted(unit_path, sizeof(unit_path), UNIT_DIR "/" UNIT_NAME))
        return PF_TOOBIG;
    installed_config(unit_path, config, sizeof(config));
    if (!install_root() && systemd_running()) {
        char *disable[] = {"systemctl", "disable", "--now", "--quiet", UNIT_NAME, NULL};

        /* not installed is fine: the files below are what counts */
        (void)run_cmd(disable);
    }
    if (osutil_remove(unit_path) ||
        (rooted(path, sizeof(path), config) == 0 && osutil_remove(path))) {
        snprintf(err, errlen, "cannot remove %s or %s", unit_path, config);
        return PF_IO;
    }
    if (rooted(path, sizeof(path), config) == 0 && split_path(path, dir, sizeof(dir), &base) == 0)
        rmdir(dir); /* only when empty */
    if (!install_root() && systemd_running()) {
        char *reload[] = {"systemctl", "daemon-reload", NULL};

        (void)run_cmd(reload);
    }
    if (purge && state_dir && *state_dir) {
        if (rooted(path, sizeof(path), state_dir) == 0)
            rc = osutil_remove_tree(path);
        /* DynamicUser keeps the real directory under /var/lib/private */
        if (!rc && strncmp(state_dir, STATE_ROOT, strlen(STATE_ROOT)) == 0) {
            char priv[OSUTIL_PATH_MAX];

            snprintf(priv, sizeof(priv), PRIVATE_STATE_ROOT "%s", state_dir + strlen(STATE_ROOT));
            if (rooted(path, sizeof(path), priv) == 0)
                rc = osutil_remove_tree(path);
        }
        if (rc) {
            snprintf(err, errlen, "cannot remove the state directory %s: %s", state_dir,
                     pf_strerror(rc));
            return rc;
        }
    }
    snprintf(err, errlen, "%s removed%s", UNIT_NAME,
             purge ? ", state directory purged" : ", state directory kept");
    return PF_OK;
}
