/* SPDX-License-Identifier: MIT */
/* service_win.c: service.h for the Windows Service Control Manager.
 *
 * install writes the options to the config file (it holds the enrollment
 * secret, so it is not put on the service's command line, which any user
 * can read) inside directories whose ACL admits only SYSTEM and the
 * Administrators (protected, inherited by the node key, the spool and the
 * log), registers the service "portfleet-agent" (own process, automatic
 * start, LocalSystem, restart on failure) running
 *   "<this exe>" run --config=<file> --state-dir=<dir>
 * registers the Event Log source, and starts the service or restarts it
 * when something changed, then waits until it runs. Twice = same result.
 * uninstall stops and deletes the service, removes the Event Log source
 * and the config file; --purge removes the state directory too.
 *
 * Run by the SCM, service_dispatch hands the run loop to the dispatcher
 * and logs to the Application Event Log (source portfleet-agent, message
 * table compiled from messages_win.mc) and to agent.log in the state
 * directory (rotated at LOG_FILE_MAX). The stop flag is set by the SCM's
 * stop/shutdown controls or, from a console, by Ctrl+C / Ctrl+Break. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h> /* before windows.h, as compat.h does */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include "buf.h"
#include "log.h"
#include "osutil.h"

#define SERVICE_NAME L"portfleet-agent"
#define DISPLAY_NAME L"portfleet agent"
#define DESCRIPTION                                                                                \
    L"Reports this host's ephemeral port use to the portfleet collector "                         \
    L"(capacity planning for connector hosts)."
#define EVENTLOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\portfleet-agent"
#define MSG_TEXT 1 /* messages_win.mc: "%1" */
/* SYSTEM and Administrators only, inherited, not inheriting from above. */
#define PRIVATE_SDDL OSUTIL_PRIVATE_SDDL
#define START_WAIT_MS 30000
#define STOP_WAIT_MS 30000
#define LOG_FILE "agent.log"
#define LOG_FILE_MAX (10u << 20)

/* ---- stop flag ---- */

static volatile LONG stop_flag;
static volatile LONG console_handler_set;

static BOOL WINAPI on_console(DWORD type)
{
    if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT || type == CTRL_CLOSE_EVENT ||
        type == CTRL_SHUTDOWN_EVENT) {
        InterlockedExchange(&stop_flag, 1);
        return TRUE;
    }
    return FALSE;
}

bool service_stop_requested(void)
{
    if (InterlockedCompareExchange(&console_handler_set, 1, 0) == 0)
        SetConsoleCtrlHandler(on_console, TRUE);
    return InterlockedCompareExchange(&stop_flag, 0, 0) != 0;
}

/* ---- text helpers ---- */

/* UTF-8 -> UTF-16 into a malloc'd string (NULL on failure). */
static wchar_t *wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w;

    if (n <= 0)
        return NULL;
    w = malloc((size_t)n * sizeof(*w));
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        return NULL;
    }
    return w;
}

static void narrow(const wchar_t *w, char *out, size_t outlen)
{
    if (!WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)outlen, NULL, NULL))
        out[0] = '\0';
}

/* Appends arg quoted the way CommandLineToArgvW and the C runtime split
 * it back: backslashes are literal except before a quote. */
static enum pf_rc append_arg(struct pf_buf *b, const char *arg)
{
    enum pf_rc rc = PF_OK;
    size_t slashes = 0;

    if (b->len && (rc = pf_buf_puts(b, " ")))
        return rc;
    if (*arg && !strpbrk(arg, " \t\n\v\""))
        return pf_buf_puts(b, arg);
    rc = pf_buf_puts(b, "\"");
    for (const char *p = arg; !rc && *p; p++) {
        if (*p == '\\') {
            slashes++;
            continue;
        }
        for (size_t i = 0; !rc && i < (*p == '"' ? slashes * 2 + 1 : slashes); i++)
            rc = pf_buf_puts(b, "\\");
        slashes = 0;
        if (!rc)
            rc = pf_buf_append(b, p, 1);
    }
    for (size_t i = 0; !rc && i < slashes * 2; i++)
        rc = pf_buf_puts(b, "\\");
    return rc ? rc : pf_buf_puts(b, "\"");
}

/* Says in err what failed with Windows error code (its number and the
 * system's text) and returns code as our error (osutil_rc_from_os). */
static enum pf_rc win_error(char *err, size_t errlen, const char *what, DWORD code)
{
    wchar_t msg[256];
    char text[512];

    if (FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0,
                       msg, 256, NULL)) {
        narrow(msg, text, sizeof(text));
        text[strcspn(text, "\r\n")] = '\0';
    } else {
        text[0] = '\0';
    }
    snprintf(err, errlen, "%s: error %lu%s%s", what, (unsigned long)code, text[0] ? ": " : "",
             text);
    return osutil_rc_from_os(code);
}

/* ---- private directories ---- */

/* Creates dir (and missing parents) and gives dir itself the private ACL,
 * replacing whatever it had: an upgrade from a looser install is fixed. */
static enum pf_rc private_dir(const char *dir, char *err, size_t errlen)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    PACL dacl = NULL;
    BOOL present = FALSE, defaulted = FALSE;
    wchar_t *w = NULL;
    DWORD e;
    enum pf_rc rc = osutil_mkdirs(dir);

    if (rc) {
        snprintf(err, errlen, "cannot create %s: %s", dir, pf_strerror(rc));
        return rc;
    }
    if (!(w = wide(dir)) ||
        !ConvertStringSecurityDescriptorToSecurityDescriptorW(PRIVATE_SDDL, SDDL_REVISION_1, &sd,
                                                              NULL) ||
        !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
        snprintf(err, errlen, "cannot build the ACL for %s", dir);
        rc = PF_INTERNAL;
        goto out;
    }
    e = SetNamedSecurityInfoW(w, SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                              NULL, NULL, dacl, NULL);
    if (e != ERROR_SUCCESS) {
        char what[OSUTIL_PATH_MAX + 32];
        snprintf(what, sizeof(what), "cannot restrict access to %s", dir);
        rc = win_error(err, errlen, what, e);
    }
out:
    if (sd)
        LocalFree(sd);
    free(w);
    return rc;
}

/* A directory install may lock down: missing, empty, or already ours.
 * Anything else (C:\, C:\Windows, a user's folder) is refused: its ACL
 * would be replaced. */
static bool dedicated_dir(const char *dir)
{
    static const wchar_t *const ours[] = {L"agent.conf", L"agent.log", L"agent.lock",
                                          L"state.json", L"status.json", L"spool"};
    wchar_t *w = NULL, *pattern = NULL;
    WIN32_FIND_DATAW fd;
    HANDLE h;
    bool ok = false;
    size_t n;

    if (!(w = wide(dir)))
        return false;
    n = wcslen(w);
    if (GetFileAttributesW(w) == INVALID_FILE_ATTRIBUTES) {
        DWORD e = GetLastError();
        ok = e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND;
        goto out;
    }
    if (n < 4 || !(pattern = malloc((n + 3) * sizeof(*pattern))))
        goto out; /* a drive root is never dedicated */
    memcpy(pattern, w, n * sizeof(*w));
    memcpy(pattern + n, L"\\*", 3 * sizeof(*w));
    h = FindFirstFileW(pattern, &fd);
    if (h == INVALID_HANDLE_VALUE)
        goto out;
    ok = true; /* empty so far */
    do {
        bool known = wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0;
        for (size_t i = 0; !known && i < sizeof(ours) / sizeof(ours[0]); i++)
            known = _wcsicmp(fd.cFileName, ours[i]) == 0;
        if (known && wcscmp(fd.cFileName, L".") && wcscmp(fd.cFileName, L"..")) {
            ok = true; /* one of our files: this is our directory */
            break;
        }
        if (!known)
            ok = false;
    } while (FindNextFileW(h, &fd));
    FindClose(h);
out:
    free(pattern);
    free(w);
    return ok;
}

/* Splits "C:\a\b\agent.conf" into "C:\a\b"; returns -1 without a directory. */
static int dir_of(const char *path, char *out, size_t outlen)
{
    const char *slash = NULL;

    for (const char *p = path; *p; p++)
        if (*p == '\\' || *p == '/')
            slash = p;
    if (!slash || (size_t)(slash - path) >= outlen)
        return -1;
    memcpy(out, path, (size_t)(slash - path));
    out[slash - path] = '\0';
    return 0;
}

/* Writes path only when its content differs; *changed says whether. */
static enum pf_rc write_if_changed(const char *path, const struct pf_buf *data, bool *changed)
{
    char dir[OSUTIL_PATH_MAX];
    const char *base = strrchr(path, '\\');
    struct pf_buf old;
    enum pf_rc rc;

    if (!base || dir_of(path, dir, sizeof(dir)))
        return PF_INVALID;
    pf_buf_init(&old, 1 << 20);
    rc = osutil_read_file(path, &old);
    *changed = rc != PF_OK || old.len != data->len || memcmp(old.data, data->data, data->len);
    pf_buf_free(&old);
    if (!*changed)
        return PF_OK;
    return osutil_write_atomic(dir, base + 1, data->data, data->len);
}

/* ---- SCM helpers ---- */

static DWORD wait_state(SC_HANDLE svc, DWORD want, DWORD ms, SERVICE_STATUS_PROCESS *st)
{
    DWORD need, t0 = GetTickCount();

    for (;;) {
        if (!QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)st, sizeof(*st), &need))
            return GetLastError();
        if (st->dwCurrentState == want)
            return NO_ERROR;
        if (want == SERVICE_RUNNING && st->dwCurrentState == SERVICE_STOPPED)
            return ERROR_SERVICE_NOT_ACTIVE; /* it started and stopped again */
        if (GetTickCount() - t0 > ms)
            return WAIT_TIMEOUT;
        Sleep(250);
    }
}

/* Stops the service and waits until its process has exited too: until
 * then the .exe cannot be replaced and the state directory is locked. */
static DWORD stop_service(SC_HANDLE svc)
{
    SERVICE_STATUS s;
    SERVICE_STATUS_PROCESS st;
    HANDLE proc = NULL;
    DWORD need, e;

    if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&st, sizeof(st), &need) &&
        st.dwProcessId)
        proc = OpenProcess(SYNCHRONIZE, FALSE, st.dwProcessId);
    if (!ControlService(svc, SERVICE_CONTROL_STOP, &s) &&
        (e = GetLastError()) != ERROR_SERVICE_NOT_ACTIVE) {
        if (proc)
            CloseHandle(proc);
        return e;
    }
    e = wait_state(svc, SERVICE_STOPPED, STOP_WAIT_MS, &st);
    if (proc) {
        if (e == NO_ERROR && WaitForSingleObject(proc, STOP_WAIT_MS) != WAIT_OBJECT_0)
            e = WAIT_TIMEOUT;
        CloseHandle(proc);
    }
    return e;
}

/* Sets the description and "restart after 10 s, 30 s, 60 s; forget
 * failures after a day", also for a clean exit with a non-zero code. */
static void set_recovery(SC_HANDLE svc)
{
    SERVICE_DESCRIPTIONW desc = {DESCRIPTION};
    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, 10000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 60000}};
    SERVICE_FAILURE_ACTIONSW fa;
    SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};

    memset(&fa, 0, sizeof(fa));
    fa.dwResetPeriod = 86400;
    fa.cActions = 3;
    fa.lpsaActions = actions;
    ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
    ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa);
    ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag);
}

static void register_event_source(const wchar_t *exe)
{
    HKEY k;
    DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;

    if (RegCreateKeyExW(HKEY_LOCAL_MACHINE, EVENTLOG_KEY, 0, NULL, 0, KEY_SET_VALUE, NULL, &k,
                        NULL) != ERROR_SUCCESS)
        return;
    RegSetValueExW(k, L"EventMessageFile", 0, REG_EXPAND_SZ, (const BYTE *)exe,
                   (DWORD)((wcslen(exe) + 1) * sizeof(wchar_t)));
    RegSetValueExW(k, L"TypesSupported", 0, REG_DWORD, (const BYTE *)&types, sizeof(types));
    RegCloseKey(k);
}

/* True when the installed service's command line is cmd and it starts
 * automatically as LocalSystem. */
static bool config_matches(SC_HANDLE svc, const wchar_t *cmd)
{
    QUERY_SERVICE_CONFIGW *qc;
    DWORD need = 0;
    bool same = false;

    QueryServiceConfigW(svc, NULL, 0, &need);
    if (need == 0 || !(qc = malloc(need)))
        return false;
    if (QueryServiceConfigW(svc, qc, need, &need))
        same = qc->lpBinaryPathName && wcscmp(qc->lpBinaryPathName, cmd) == 0 &&
               qc->dwStartType == SERVICE_AUTO_START && qc->lpServiceStartName &&
               _wcsicmp(qc->lpServiceStartName, L"LocalSystem") == 0;
    free(qc);
    return same;
}

/* ---- install ---- */

/* The service needs absolute paths; config's directory goes to
 * config_dir. */
static enum pf_rc check_paths(const char *config, const char *state, char *config_dir,
                              size_t dirlen, char *err, size_t errlen)
{
    if (!config || !(config[0] && config[1] == ':' && config[2] == '\\') ||
        dir_of(config, config_dir, dirlen)) {
        snprintf(err, errlen, "option --config: the service needs an absolute path such as "
                              "C:\\ProgramData\\portfleet\\agent.conf, not '%s'",
                 config ? config : "");
        return PF_INVALID;
    }
    if (!(state[0] && state[1] == ':' && state[2] == '\\')) {
        snprintf(err, errlen, "option --state-dir: the service needs an absolute path such as "
                              "C:\\ProgramData\\portfleet, not '%s'", state);
        return PF_INVALID;
    }
    return PF_OK;
}

/* "<exe>" run --config=<file> --state-dir=<dir>, no secret in it, into
 * *out (the caller frees it); PF_INVALID when it is no valid UTF-8. */
static enum pf_rc command_line(const char *exe, const char *config, const char *state,
                               wchar_t **out)
{
    struct pf_buf cmd, tmp;
    enum pf_rc rc;

    pf_buf_init(&cmd, 32 * 1024);
    pf_buf_init(&tmp, 8 * 1024);
    rc = append_arg(&cmd, exe);
    if (!rc)
        rc = append_arg(&cmd, "run");
    if (!rc && !(rc = pf_buf_printf(&tmp, "--config=%s", config)))
        rc = append_arg(&cmd, tmp.data);
    pf_buf_reset(&tmp);
    if (!rc && !(rc = pf_buf_printf(&tmp, "--state-dir=%s", state)))
        rc = append_arg(&cmd, tmp.data);
    if (!rc && !(*out = wide(cmd.data)))
        rc = PF_INVALID;
    pf_buf_free(&cmd);
    pf_buf_free(&tmp);
    return rc;
}

/* The state directory and the config file's must be the agent's own (see
 * dedicated_dir); both are made private. */
static enum pf_rc own_dirs(const char *state, const char *config_dir, char *err, size_t errlen)
{
    enum pf_rc rc;

    if (!dedicated_dir(state)) {
        snprintf(err, errlen, "option --state-dir: %s holds other files; the agent needs a "
                              "directory of its own (its access is restricted to SYSTEM and "
                              "Administrators)", state);
        return PF_INVALID;
    }
    if (_stricmp(config_dir, state) != 0 && !dedicated_dir(config_dir)) {
        snprintf(err, errlen, "option --config: %s holds other files; put the config file in "
                              "the state directory or a directory of its own (it holds the "
                              "enrollment secret)", config_dir);
        return PF_INVALID;
    }
    if ((rc = private_dir(state, err, errlen)) || (rc = private_dir(config_dir, err, errlen)))
        return rc;
    return PF_OK;
}

/* Creates the service with command line wcmd, or updates it when it runs
 * another; *changed says whether it did either. *svc is the open service
 * (the caller closes it, and scm). */
static enum pf_rc register_service(SC_HANDLE scm, const wchar_t *wcmd, SC_HANDLE *svc,
                                   bool *changed, char *err, size_t errlen)
{
    DWORD e;

    *svc = OpenServiceW(scm, SERVICE_NAME, SERVICE_ALL_ACCESS);
    if (*svc) {
        *changed = !config_matches(*svc, wcmd);
        if (*changed &&
            !ChangeServiceConfigW(*svc, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                  SERVICE_ERROR_NORMAL, wcmd, NULL, NULL, NULL, L"LocalSystem",
                                  L"", DISPLAY_NAME))
            return win_error(err, errlen, "cannot update the service", GetLastError());
        return PF_OK;
    }
    if ((e = GetLastError()) != ERROR_SERVICE_DOES_NOT_EXIST)
        return win_error(err, errlen, "cannot open the service", e);
    *svc = CreateServiceW(scm, SERVICE_NAME, DISPLAY_NAME, SERVICE_ALL_ACCESS,
                          SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL,
                          wcmd, NULL, NULL, NULL, NULL, NULL);
    if (!*svc)
        return win_error(err, errlen, "cannot create the service", GetLastError());
    *changed = true;
    return PF_OK;
}

/* Starts the service, first stopping it when it runs and restart is set
 * (its config or command line changed), and waits until it runs. */
static enum pf_rc start_service(SC_HANDLE svc, bool restart, const char *state, char *err,
                                size_t errlen)
{
    SERVICE_STATUS_PROCESS st;
    DWORD e, t0;

    e = wait_state(svc, SERVICE_RUNNING, 0, &st);
    if (e == NO_ERROR && restart) {
        e = stop_service(svc);
        if (e != NO_ERROR)
            return win_error(err, errlen, "cannot stop the running service to restart it", e);
        e = ERROR_SERVICE_NOT_ACTIVE;
    }
    if (e == NO_ERROR)
        return PF_OK;
    /* ERROR_SERVICE_DATABASE_LOCKED is transient: another service is
     * starting (right after boot, say). */
    t0 = GetTickCount();
    while (!StartServiceW(svc, 0, NULL) && (e = GetLastError()) != ERROR_SERVICE_ALREADY_RUNNING) {
        if (e != ERROR_SERVICE_DATABASE_LOCKED || GetTickCount() - t0 > START_WAIT_MS)
            return win_error(err, errlen, "cannot start the service", e);
        Sleep(500);
    }
    e = wait_state(svc, SERVICE_RUNNING, START_WAIT_MS, &st);
    if (e != NO_ERROR) {
        snprintf(err, errlen,
                 "the service did not reach RUNNING (state %lu, exit code %lu/%lu); see the "
                 "Application event log (source portfleet-agent) and %s\\" LOG_FILE,
                 (unsigned long)st.dwCurrentState, (unsigned long)st.dwWin32ExitCode,
                 (unsigned long)st.dwServiceSpecificExitCode, state);
        return PF_IO;
    }
    return PF_OK;
}

enum pf_rc service_install(int nargs, char **args, char *err, size_t errlen)
{
    const char *config = NULL, *state = OSUTIL_DEFAULT_STATE_DIR;
    char config_dir[OSUTIL_PATH_MAX], exe_utf8[OSUTIL_PATH_MAX * 3];
    wchar_t exe[OSUTIL_PATH_MAX], *wcmd = NULL;
    struct pf_buf conf;
    SC_HANDLE scm = NULL, svc = NULL;
    bool conf_changed = false, svc_changed = false;
    enum pf_rc rc;
    DWORD n;

    pf_buf_init(&conf, 1 << 20);
    err[0] = '\0';
    rc = service_scan_args(nargs, args, &config, &state, err, errlen);
    if (!rc)
        rc = check_paths(config, state, config_dir, sizeof(config_dir), err, errlen);
    if (rc)
        goto out;
    n = GetModuleFileNameW(NULL, exe, OSUTIL_PATH_MAX);
    if (n == 0 || n >= OSUTIL_PATH_MAX) {
        snprintf(err, errlen, "cannot find this program's path");
        rc = PF_IO;
        goto out;
    }
    narrow(exe, exe_utf8, sizeof(exe_utf8));

    /* The options, one "key = value" line each (service.h). */
    rc = service_config_text(&conf, nargs, args, NULL, "\r\n", err, errlen);
    if (rc == PF_INVALID)
        goto out;
    if (!rc)
        rc = command_line(exe_utf8, config, state, &wcmd);
    if (rc) {
        snprintf(err, errlen, "cannot build the service command line: %s", pf_strerror(rc));
        goto out;
    }
    if ((rc = own_dirs(state, config_dir, err, errlen)))
        goto out;
    rc = write_if_changed(config, &conf, &conf_changed);
    if (rc) {
        snprintf(err, errlen, "cannot write %s: %s", config, pf_strerror(rc));
        goto out;
    }

    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
    if (!scm) {
        rc = win_error(err, errlen, "cannot open the service manager (run as Administrator)",
                       GetLastError());
        goto out;
    }
    if ((rc = register_service(scm, wcmd, &svc, &svc_changed, err, errlen)))
        goto out;
    set_recovery(svc);
    register_event_source(exe);
    if ((rc = start_service(svc, conf_changed || svc_changed, state, err, errlen)))
        goto out;
    snprintf(err, errlen, "service portfleet-agent (automatic, LocalSystem) %s; options in %s",
             conf_changed || svc_changed ? "(re)started" : "running (unchanged)", config);
out:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    free(wcmd);
    pf_buf_free(&conf);
    return rc;
}

/* ---- uninstall ---- */

/* The --config=... of the installed command line, if any. */
static void installed_config(SC_HANDLE svc, char *out, size_t outlen)
{
    QUERY_SERVICE_CONFIGW *qc;
    DWORD need = 0;
    wchar_t **argv;
    int argc = 0;

    out[0] = '\0';
    QueryServiceConfigW(svc, NULL, 0, &need);
    if (need == 0 || !(qc = malloc(need)))
        return;
    if (QueryServiceConfigW(svc, qc, need, &need) && qc->lpBinaryPathName &&
        (argv = CommandLineToArgvW(qc->lpBinaryPathName, &argc)) != NULL) {
        for (int i = 0; i < argc; i++)
            if (wcsncmp(argv[i], L"--config=", 9) == 0)
                narrow(argv[i] + 9, out, outlen);
        LocalFree(argv);
    }
    free(qc);
}

enum pf_rc service_uninstall(bool purge, const char *state_dir, char *err, size_t errlen)
{
    SC_HANDLE scm, svc;
    char config[OSUTIL_PATH_MAX * 3] = "";
    bool existed = false;
    enum pf_rc rc;
    DWORD e;

    err[0] = '\0';
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!scm) {
        return win_error(err, errlen, "cannot open the service manager (run as Administrator)",
                         GetLastError());
    }
    svc = OpenServiceW(scm, SERVICE_NAME, SERVICE_STOP | SERVICE_QUERY_STATUS |
                                              SERVICE_QUERY_CONFIG | DELETE);
    if (svc) {
        existed = true;
        installed_config(svc, config, sizeof(config));
        e = stop_service(svc);
        if (e != NO_ERROR)
            pf_warn("stopping the service: error %lu; deleting it anyway", (unsigned long)e);
        if (!DeleteService(svc) && (e = GetLastError()) != ERROR_SERVICE_MARKED_FOR_DELETE) {
            rc = win_error(err, errlen, "cannot delete the service", e);
            CloseServiceHandle(svc);
            CloseServiceHandle(scm);
            return rc;
        }
        CloseServiceHandle(svc);
    } else if ((e = GetLastError()) != ERROR_SERVICE_DOES_NOT_EXIST) {
        rc = win_error(err, errlen, "cannot open the service", e);
        CloseServiceHandle(scm);
        return rc;
    }
    CloseServiceHandle(scm);
    RegDeleteKeyW(HKEY_LOCAL_MACHINE, EVENTLOG_KEY);
    if (config[0] && (rc = osutil_remove(config)) != PF_OK) {
        snprintf(err, errlen, "cannot remove %s (it holds the enrollment secret): %s", config,
                 pf_strerror(rc));
        return rc;
    }
    if (purge && state_dir && *state_dir && (rc = osutil_remove_tree(state_dir)) != PF_OK) {
        snprintf(err, errlen, "cannot remove the state directory %s: %s", state_dir,
                 pf_strerror(rc));
        return rc;
    }
    snprintf(err, errlen, "service portfleet-agent %s%s", existed ? "removed" : "was not installed",
             purge ? ", state directory purged" : ", state directory kept");
    return PF_OK;
}

/* ---- running as a service ---- */

static struct {
    int (*run_fn)(int argc, char **argv);
    int argc;
    char **argv;
    int exit_code;
    SERVICE_STATUS_HANDLE handle;
    SERVICE_STATUS status;
    HANDLE event_source;
    HANDLE log_file;
    uint64_t log_size;
    wchar_t log_path[OSUTIL_PATH_MAX];
    bool sinks_on;
} svc_ctx;

static void report_status(DWORD state, DWORD wait_hint)
{
    SERVICE_STATUS *s = &svc_ctx.status;

    s->dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    s->dwCurrentState = state;
    s->dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    s->dwWaitHint = wait_hint;
    if (state == SERVICE_STOPPED) {
        s->dwWin32ExitCode = svc_ctx.exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
        s->dwServiceSpecificExitCode = (DWORD)svc_ctx.exit_code;
    }
    if (state == SERVICE_RUNNING || state == SERVICE_STOPPED)
        s->dwCheckPoint = 0;
    else
        s->dwCheckPoint++;
    SetServiceStatus(svc_ctx.handle, s);
}

static DWORD WINAPI on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        InterlockedExchange(&stop_flag, 1);
        report_status(SERVICE_STOP_PENDING, STOP_WAIT_MS);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void eventlog_sink(enum pf_log_level level, const char *line, void *ud)
{
    WORD type = level >= PF_LOG_ERROR  ? EVENTLOG_ERROR_TYPE
                : level == PF_LOG_WARN ? EVENTLOG_WARNING_TYPE
                                       : EVENTLOG_INFORMATION_TYPE;
    wchar_t *w;

    (void)ud;
    if (!svc_ctx.sinks_on || !svc_ctx.event_source || level < PF_LOG_INFO || !(w = wide(line)))
        return;
    ReportEventW(svc_ctx.event_source, type, 0, MSG_TEXT, NULL, 1, 0, (LPCWSTR *)&w, NULL);
    free(w);
}

/* Moves agent.log to agent.log.1 (replacing it) and starts a new one. */
static void rotate_log(void)
{
    wchar_t old[OSUTIL_PATH_MAX + 4];

    CloseHandle(svc_ctx.log_file);
    _snwprintf(old, OSUTIL_PATH_MAX + 4, L"%ls.1", svc_ctx.log_path);
    old[OSUTIL_PATH_MAX + 3] = L'\0';
    MoveFileExW(svc_ctx.log_path, old, MOVEFILE_REPLACE_EXISTING);
    svc_ctx.log_file = CreateFileW(svc_ctx.log_path, FILE_APPEND_DATA, FILE_SHARE_READ, NULL,
                                   OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    svc_ctx.log_size = 0;
}

static void file_sink(enum pf_log_level level, const char *line, void *ud)
{
    DWORD n, len = (DWORD)strlen(line);

    (void)level;
    (void)ud;
    if (!svc_ctx.sinks_on || svc_ctx.log_file == INVALID_HANDLE_VALUE)
        return;
    if (svc_ctx.log_size + len + 2 > LOG_FILE_MAX)
        rotate_log();
    if (svc_ctx.log_file == INVALID_HANDLE_VALUE)
        return;
    WriteFile(svc_ctx.log_file, line, len, &n, NULL);
    WriteFile(svc_ctx.log_file, "\r\n", 2, &n, NULL);
    svc_ctx.log_size += len + 2;
}

/* The state directory of the run arguments (install puts --state-dir=
 * on the command line), else the default. */
static void open_log_file(void)
{
    const char *state = OSUTIL_DEFAULT_STATE_DIR;
    char path[OSUTIL_PATH_MAX];
    wchar_t *w;
    LARGE_INTEGER size;

    svc_ctx.log_file = INVALID_HANDLE_VALUE;
    for (int i = 1; i < svc_ctx.argc; i++) {
        if (strncmp(svc_ctx.argv[i], "--state-dir=", 12) == 0)
            state = svc_ctx.argv[i] + 12;
        else if (strcmp(svc_ctx.argv[i], "--state-dir") == 0 && i + 1 < svc_ctx.argc)
            state = svc_ctx.argv[i + 1];
    }
    if (osutil_mkdirs(state) || osutil_path_join(path, sizeof(path), state, LOG_FILE) ||
        !(w = wide(path)))
        return;
    if (wcslen(w) < OSUTIL_PATH_MAX) {
        wcscpy_s(svc_ctx.log_path, OSUTIL_PATH_MAX, w);
        svc_ctx.log_file = CreateFileW(w, FILE_APPEND_DATA, FILE_SHARE_READ, NULL, OPEN_ALWAYS,
                                       FILE_ATTRIBUTE_NORMAL, NULL);
        if (svc_ctx.log_file != INVALID_HANDLE_VALUE && GetFileSizeEx(svc_ctx.log_file, &size))
            svc_ctx.log_size = (uint64_t)size.QuadPart;
    }
    free(w);
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    (void)argv;
    svc_ctx.handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, on_control, NULL);
    if (!svc_ctx.handle) {
        svc_ctx.exit_code = 1;
        return;
    }
    report_status(SERVICE_START_PENDING, 10000);
    svc_ctx.event_source = RegisterEventSourceW(NULL, SERVICE_NAME);
    open_log_file();
    svc_ctx.sinks_on = true;
    pf_log_add_sink(eventlog_sink, NULL);
    pf_log_add_sink(file_sink, NULL);
    report_status(SERVICE_RUNNING, 0);

    svc_ctx.exit_code = svc_ctx.run_fn(svc_ctx.argc, svc_ctx.argv);

    pf_log(svc_ctx.exit_code ? PF_LOG_ERROR : PF_LOG_INFO, "service stopped (exit code %d)",
           svc_ctx.exit_code);
    svc_ctx.sinks_on = false;
    if (svc_ctx.log_file != INVALID_HANDLE_VALUE)
        CloseHandle(svc_ctx.log_file);
    if (svc_ctx.event_source)
        DeregisterEventSource(svc_ctx.event_source);
    report_status(SERVICE_STOPPED, 0);
}

bool service_dispatch(int (*run_fn)(int argc, char **argv), int argc, char **argv,
                      int *exit_code)
{
    SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SERVICE_NAME, service_main}, {NULL, NULL}};

    svc_ctx.run_fn = run_fn;
    svc_ctx.argc = argc;
    svc_ctx.argv = argv;
    /* Returns at once with ERROR_FAILED_SERVICE_CONTROLLER_CONNECT when
     * this process was started from a console rather than by the SCM. */
    if (!StartServiceCtrlDispatcherW(table))
        return false;
    *exit_code = svc_ctx.exit_code;
    return true;
}
