/* SPDX-License-Identifier: MIT */
/* test_report_cli.c: `portfleet-collector report` reads its options as
 * serve does: "--opt=value" and "--opt value" alike; an unknown option, a
 * missing value, a stray argument or a bad value exits 2 with a message
 * naming it. The database is one that cannot be reached (a socket
 * directory that does not exist), so a run whose options were understood
 * ends in "cannot connect", exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capacity_api.h"
#include "test.h"

#define NODB "host=/nonexistent-portfleet-test-dir port=1"

static char msg[4096];

/* Runs the command with argv (NULL-terminated, after "report") and keeps
 * what it wrote on stderr in msg. */
static int run(const char *const *args)
{
    char *argv[32];
    char path[64];
    int argc = 0, saved, fd, code;
    ssize_t n;

    argv[argc++] = "report";
    while (*args && argc < 31)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    snprintf(path, sizeof(path), "/tmp/pf-test-report-cli-%d.err", (int)getpid());
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    code = capacity_report_main(argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    n = read(fd, msg, sizeof(msg) - 1);
    msg[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return code;
}

TEST(equals_form)
{
    const char *a[] = {"--db=" NODB, "--format=json", "--site=nyc", "--window-days=7", NULL};

    T_EQ_INT(run(a), 1);
    T_CONTAINS(msg, "cannot connect");
}

TEST(space_form)
{
    const char *a[] = {"--db", NODB, "--format", "csv", "--horizon-days", "30", NULL};

    T_EQ_INT(run(a), 1);
    T_CONTAINS(msg, "cannot connect");
}

TEST(mixed_forms_and_last_wins)
{
    const char *a[] = {"--format", "xml", "--db=" NODB, "--format=text", NULL};

    T_EQ_INT(run(a), 1);
    T_CONTAINS(msg, "cannot connect");
}

TEST(bad_values_exit_2)
{
    const char *bad_format[] = {"--db=" NODB, "--format=xml", NULL};
    const char *bad_days[] = {"--db=" NODB, "--window-days=0", NULL};
    const char *unknown[] = {"--db=" NODB, "--colour=red", NULL};
    const char *no_value[] = {"--db=" NODB, "--site", NULL};
    const char *stray[] = {"--db=" NODB, "stray", NULL};
    const char *empty[] = {"--db=", NULL};

    T_EQ_INT(run(bad_format), 2);
    T_CONTAINS(msg, "format");
    T_EQ_INT(run(bad_days), 2);
    T_CONTAINS(msg, "window_days");
    T_EQ_INT(run(unknown), 2);
    T_CONTAINS(msg, "--colour");
    T_EQ_INT(run(no_value), 2);
    T_CONTAINS(msg, "--site");
    T_EQ_INT(run(stray), 2);
    T_CONTAINS(msg, "stray");
    T_EQ_INT(run(empty), 2);
    T_CONTAINS(msg, "--db");
}

int main(void)
{
    unsetenv("PORTFLEET_DB");
    RUN(equals_form);
    RUN(space_form);
    RUN(mixed_forms_and_last_wins);
    RUN(bad_values_exit_2);
    return T_DONE();
}
