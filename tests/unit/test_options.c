/* SPDX-License-Identifier: MIT */
/* test_options.c: the collector's options: flags win over PORTFLEET_<KEY>,
 * which wins over the config file; required options and bad values are
 * refused with a message that names the option; migrate needs only --db. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "options.h"
#include "test.h"

static char conf[64];

static int load(const char *cmd, int argc, char **argv, struct copts *o, char *err)
{
    return (int)copts_load(cmd, argc, argv, o, err, 256);
}

static void write_conf(const char *text)
{
    FILE *f;

    snprintf(conf, sizeof(conf), "/tmp/pf-test-options-%d.conf", (int)getpid());
    f = fopen(conf, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

TEST(precedence)
{
    struct copts o;
    char err[256];
    char *argv[] = {"--config", conf, "--listen", "127.0.0.1:9000"};

    write_conf("listen = 10.0.0.1:1\ncert = /file/cert.pem\nkey = /file/key.pem\n"
               "db = dbname=file\nenroll-secret = file-secret-0123456789\n"
               "admin_token = file-token-0123456789\nretention-days = 7\n");
    setenv("PORTFLEET_DB", "dbname=env", 1);
    setenv("PORTFLEET_LISTEN", "10.0.0.2:2", 1);
    T_EQ_INT(load("serve", 4, argv, &o, err), PF_OK);
    T_EQ_STR(o.listen, "127.0.0.1:9000");        /* flag */
    T_EQ_STR(o.db, "dbname=env");                /* environment */
    T_EQ_STR(o.cert, "/file/cert.pem");          /* file */
    T_EQ_STR(o.admin_token, "file-token-0123456789");
    T_EQ_INT(o.retention_days, 7);
    T_EQ_INT(o.header_timeout_s, 10);            /* default */
    T_EQ_INT(o.max_connections, 10000);
    T_ASSERT(o.tls_threads >= 1);
    copts_free(&o);
    unsetenv("PORTFLEET_DB");
    unsetenv("PORTFLEET_LISTEN");
    remove(conf);
}

TEST(required_and_bad_values)
{
    struct copts o;
    char err[256];
    char *no_token[] = {"--cert", "c", "--key", "k", "--db", "d", "--enroll-secret",
                        "0123456789abcdef"};
    char *short_token[] = {"--cert", "c", "--key", "k", "--db", "d", "--enroll-secret",
                           "0123456789abcdef", "--admin-token", "short"};
    char *bad_timeout[] = {"--cert", "c", "--key", "k", "--db", "d", "--enroll-secret",
                           "0123456789abcdef", "--admin-token", "0123456789abcdef",
                           "--header-timeout", "0"};
    char *missing_conf[] = {"--config", "/nonexistent/collector.conf", "--db", "d"};
    char *stray[] = {"--db", "d", "extra"};

    T_EQ_INT(load("serve", 8, no_token, &o, err), PF_INVALID);
    T_CONTAINS(err, "--admin-token is required");
    T_CONTAINS(err, "PORTFLEET_ADMIN_TOKEN");
    copts_free(&o);
    T_EQ_INT(load("serve", 10, short_token, &o, err), PF_INVALID);
    T_CONTAINS(err, "admin-token");
    copts_free(&o);
    T_EQ_INT(load("serve", 12, bad_timeout, &o, err), PF_INVALID);
    T_CONTAINS(err, "header-timeout");
    copts_free(&o);
    T_EQ_INT(load("migrate", 4, missing_conf, &o, err), PF_INVALID);
    T_CONTAINS(err, "--config");
    copts_free(&o);
    T_EQ_INT(load("migrate", 3, stray, &o, err), PF_INVALID);
    T_CONTAINS(err, "extra");
    copts_free(&o);
}

TEST(migrate_needs_only_db)
{
    struct copts o;
    char err[256];
    char *argv[] = {"--db", "dbname=x"};

    T_EQ_INT(load("migrate", 0, argv, &o, err), PF_INVALID);
    T_CONTAINS(err, "--db is required");
    copts_free(&o);
    T_EQ_INT(load("migrate", 2, argv, &o, err), PF_OK);
    T_EQ_STR(o.db, "dbname=x");
    copts_free(&o);
}

TEST(agent_takes_an_argument)
{
    struct copts o;
    char err[256];
    char *argv[] = {"0b8e4c1a-5d2f-4e6b-9a47-3c1d2e5f6a7b", "--db=dbname=y"};
    char *extra[] = {"--db", "dbname=x", "stray"};

    unsetenv("PORTFLEET_DB");
    T_EQ_INT(load("agent", 2, argv, &o, err), PF_OK);
    T_EQ_STR(o.db, "dbname=y");
    T_EQ_INT(o.nargs, 1);
    T_EQ_STR(o.args[0], "0b8e4c1a-5d2f-4e6b-9a47-3c1d2e5f6a7b");
    copts_free(&o);
    /* serve and migrate still refuse a stray argument */
    T_EQ_INT(load("migrate", 3, extra, &o, err), PF_INVALID);
    T_CONTAINS(err, "unexpected argument \"stray\"");
    copts_free(&o);
}

int main(void)
{
    /* the default config file must not leak into the test */
    unsetenv("PORTFLEET_CONFIG");
    RUN(precedence);
    RUN(required_and_bad_values);
    RUN(migrate_needs_only_db);
    RUN(agent_takes_an_argument);
    return T_DONE();
}
