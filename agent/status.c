/* SPDX-License-Identifier: MIT */
/* status.c: `status` (docs/cli.md) prints what `run` leaves in the state
 * directory (state.h): the identity, the last seq, the status file, the
 * spool's records, and whether an agent holds the state directory's lock. */
#include "commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "error.h"
#include "opts.h"
#include "osutil.h"
#include "state.h"
#include "timeutil.h"

struct spool_count {
    uint64_t n, bytes;
};

static int count_record(const char *name, uint64_t size, void *ud)
{
    struct spool_count *sc = ud;
    size_t len = strlen(name);

    if (len > 5 && strcmp(name + len - 5, ".snap") == 0) {
        sc->n++;
        sc->bytes += size;
    }
    return 0;
}

static void print_time(const char *label, int64_t t)
{
    char buf[PF_TIME_LEN];

    if (t > 0 && pf_time_format(t, buf) == PF_OK)
        printf("%-14s%s\n", label, buf);
    else
        printf("%-14snever\n", label);
}

int cmd_status(int argc, char **argv)
{
    struct pf_config *cfg = NULL;
    struct opts o;
    struct agent_state st;
    struct agent_status s;
    struct spool_count sc = {0, 0};
    char path[OSUTIL_PATH_MAX];
    intptr_t lock = -1;
    struct pf_buf lockfile;
    bool running;
    int code;
    enum pf_rc rc, src;

    code = opts_load("status", argc, argv, 0, &cfg, &o);
    if (code) {
        code = code < 0 ? 0 : code;
        goto out;
    }
    rc = state_load(o.state_dir, &st);
    src = state_read_status(o.state_dir, &s);
    osutil_path_join(path, sizeof(path), o.state_dir, LOCK_FILE);
    /* Probe only a lock file the agent made. Made here, by root before the
     * service's first start, it would be root's 0600 file, which the agent
     * running as a systemd DynamicUser could never open again. */
    pf_buf_init(&lockfile, 64);
    running = osutil_read_file(path, &lockfile) != PF_NOTFOUND &&
              osutil_lock(path, &lock) == PF_AGAIN;
    pf_buf_free(&lockfile);
    osutil_unlock(lock);
    osutil_path_join(path, sizeof(path), o.state_dir, SPOOL_SUBDIR);
    osutil_list_dir(path, count_record, &sc);

    printf("%-14s%s\n", "state dir", o.state_dir);
    if (rc)
        printf("%-14sunknown (%s: %s)\n", "enrolled", STATE_FILE, pf_strerror(rc));
    else if (st.agent_id[0])
        printf("%-14syes, agent_id %s\n", "enrolled", st.agent_id);
    else
        printf("%-14sno\n", "enrolled");
    printf("%-14s%llu\n", "last seq", (unsigned long long)st.seq);
    if (src == PF_OK && running)
        printf("%-14syes (pid %lu)\n", "running", s.pid);
    else
        printf("%-14sno\n", "running");
    if (src == PF_OK) {
        printf("%-14s%s\n", "collector", s.collector[0] ? s.collector : "none yet");
        print_time("last push", s.last_push_at);
        print_time("last success", s.last_ok_at);
        printf("%-14s%s\n", "last error", s.last_error[0] ? s.last_error : "none");
    }
    printf("%-14s%llu snapshot(s), %llu bytes\n", "spool", (unsigned long long)sc.n,
           (unsigned long long)sc.bytes);
    if (src == PF_OK) {
        printf("%-14s%llu dropped by the cap, %llu corrupt skipped (since start)\n", "",
               (unsigned long long)s.spool_dropped, (unsigned long long)s.spool_corrupt);
        printf("%-14s%llu delivered, %llu connection(s) opened (since start)\n", "since start",
               (unsigned long long)s.delivered, (unsigned long long)s.connections);
        print_time("updated", s.updated_at);
    } else {
        printf("%-14sno status yet (the agent has not run with this state directory)\n", "status");
    }
    code = 0;
out:
    pf_config_free(cfg);
    return code;
}
