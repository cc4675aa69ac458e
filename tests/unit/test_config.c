/* SPDX-License-Identifier: MIT */
/* test_config.c: the option loader: precedence flag > environment > file >
 * default, repeatable options, the config-file syntax, and the exact
 * message of every error. The environment is a table passed through the
 * getenv callback, so the test never touches the real one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "test.h"

static const struct pf_option_spec specs[] = {
    {"config", 1, 0, "FILE", NULL, "config file"},
    {"collector", 1, 1, "URL", NULL, "collector base URL"},
    {"enroll-secret", 1, 0, "S", NULL, "enrollment secret"},
    {"site", 1, 0, "NAME", "default", "site of this host"},
    {"interval", 1, 0, "SECONDS", "60", "snapshot interval"},
    {"pretty", 0, 0, NULL, NULL, "indent the JSON"},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

/* A fake environment: NULL-terminated name/value pairs. */
static const char *fake_getenv(const char *name, void *ud)
{
    const char *const *env = ud;

    for (size_t i = 0; env[i]; i += 2)
        if (strcmp(env[i], name) == 0)
            return env[i + 1];
    return NULL;
}

static struct pf_config *load(const char *file, const char *const *env, int argc, char *const *argv,
                              enum pf_rc want, const char *want_err)
{
    struct pf_config *c = pf_config_new(specs, NSPECS);
    static const char *const noenv[] = {NULL};
    char err[PF_CONFIG_ERR_LEN] = "";
    enum pf_rc rc = PF_OK;

    if (!c)
        return NULL;
    if (file)
        rc = pf_config_load_file(c, file, strlen(file), "agent.conf", err);
    if (!rc)
        rc = pf_config_load_env(c, fake_getenv, (void *)(env ? env : noenv), err);
    if (!rc && argc)
        rc = pf_config_parse_args(c, argc, argv, err);
    if (rc != want || strcmp(err, want_err) != 0) {
        fprintf(stderr, "load: rc %d (want %d), err \"%s\" (want \"%s\")\n", rc, want, err,
                want_err);
        pf_config_free(c);
        return NULL;
    }
    return c;
}

TEST(precedence)
{
    static const char file[] = "site = from-file\ninterval = 30\n";
    static const char *const env[] = {"PORTFLEET_SITE", "from-env", NULL};
    char *argv[] = {"--site", "from-flag"};
    struct pf_config *c;

    c = load(file, env, 2, argv, PF_OK, "");
    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "from-flag");
    T_EQ_STR(pf_config_source(c, "site"), "flag");
    T_EQ_STR(pf_config_get(c, "interval"), "30");
    T_EQ_STR(pf_config_source(c, "interval"), "config file");
    pf_config_free(c);

    c = load(file, env, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "from-env");
    T_EQ_STR(pf_config_source(c, "site"), "environment");
    pf_config_free(c);

    c = load(file, NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "from-file");
    pf_config_free(c);

    c = load(NULL, NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "default");
    T_EQ_STR(pf_config_source(c, "site"), "default");
    T_ASSERT(pf_config_get(c, "enroll-secret") == NULL);
    T_ASSERT(pf_config_source(c, "enroll-secret") == NULL);
    T_ASSERT(pf_config_get(c, "no-such-option") == NULL);
    pf_config_free(c);
}

TEST(env_names)
{
    static const char *const env[] = {"PORTFLEET_ENROLL_SECRET",
                                      "s3cret",
                                      "PORTFLEET_enroll-secret",
                                      "wrong",
                                      "PORTFLEET_SITE",
                                      "",
                                      NULL};
    struct pf_config *c = load("site = f\n", env, 0, NULL, PF_OK, "");

    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "enroll-secret"), "s3cret");
    /* An empty variable counts as unset: the file's value stays. */
    T_EQ_STR(pf_config_get(c, "site"), "f");
    pf_config_free(c);
}

TEST(repeatable)
{
    static const char file[] = "collector = https://f1:8443\ncollector = https://f2:8443\n";
    static const char *const env[] = {"PORTFLEET_COLLECTOR",
                                      " https://e1:8443, https://e2:8443\thttps://e3:8443 ,", NULL};
    char *argv[] = {"--collector", "https://a1", "--collector=https://a2"};
    const char *const *v;
    struct pf_config *c;

    c = load(file, env, 3, argv, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_get_all(c, "collector", &v), 2);
    T_EQ_STR(v[0], "https://a1");
    T_EQ_STR(v[1], "https://a2");
    pf_config_free(c);

    c = load(file, env, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_get_all(c, "collector", &v), 3);
    T_EQ_STR(v[0], "https://e1:8443");
    T_EQ_STR(v[1], "https://e2:8443");
    T_EQ_STR(v[2], "https://e3:8443");
    pf_config_free(c);

    c = load(file, NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_get_all(c, "collector", &v), 2);
    T_EQ_STR(v[0], "https://f1:8443");
    T_EQ_STR(v[1], "https://f2:8443");
    pf_config_free(c);

    c = load(NULL, NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_get_all(c, "collector", &v), 0);
    T_ASSERT(v == NULL);
    T_EQ_INT(pf_config_get_all(c, "site", &v), 1);
    T_EQ_STR(v[0], "default");
    pf_config_free(c);
}

TEST(last_wins)
{
    char *argv[] = {"--site", "a", "--site=b"};
    struct pf_config *c = load("site = x\nsite = y\n", NULL, 0, NULL, PF_OK, "");

    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "y");
    T_EQ_INT(pf_config_parse_args(c, 3, argv, (char[PF_CONFIG_ERR_LEN]){0}), PF_OK);
    T_EQ_STR(pf_config_get(c, "site"), "b");
    pf_config_free(c);
}

TEST(args)
{
    char *argv[] = {"first", "--pretty", "--interval=5", "-", "--", "--site", "x"};
    const char *const *a;
    struct pf_config *c = load(NULL, NULL, 7, argv, PF_OK, "");

    T_ASSERT(c);
    T_EQ_INT(pf_config_flag(c, "pretty"), 1);
    T_EQ_STR(pf_config_get(c, "interval"), "5");
    T_EQ_INT(pf_config_args(c, &a), 4);
    T_EQ_STR(a[0], "first");
    T_EQ_STR(a[1], "-");
    T_EQ_STR(a[2], "--site");
    T_EQ_STR(a[3], "x");
    T_EQ_STR(pf_config_get(c, "site"), "default");
    /* A value may itself contain '='; --key=--odd passes a leading "--". */
    {
        char *argv2[] = {"--enroll-secret=a=b", "--config=--odd"};
        T_EQ_INT(pf_config_parse_args(c, 2, argv2, (char[PF_CONFIG_ERR_LEN]){0}), PF_OK);
        T_EQ_STR(pf_config_get(c, "enroll-secret"), "a=b");
        T_EQ_STR(pf_config_get(c, "config"), "--odd");
        /* Parsing again replaces the flags and the positional arguments. */
        T_EQ_INT(pf_config_args(c, &a), 0);
        T_EQ_INT(pf_config_flag(c, "pretty"), 0);
    }
    pf_config_free(c);
}

TEST(booleans)
{
    static const char *const env_off[] = {"PORTFLEET_PRETTY", "off", NULL};
    static const char *const env_bad[] = {"PORTFLEET_PRETTY", "maybe", NULL};
    char *argv_false[] = {"--pretty=false"};
    char *argv_bad[] = {"--pretty=2"};
    struct pf_config *c;

    c = load("pretty = yes\n", NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_flag(c, "pretty"), 1);
    pf_config_free(c);
    c = load("pretty = yes\n", env_off, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_flag(c, "pretty"), 0);
    pf_config_free(c);
    c = load("pretty = on\n", NULL, 1, argv_false, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_flag(c, "pretty"), 0);
    pf_config_free(c);
    c = load(NULL, env_bad, 0, NULL, PF_INVALID,
             "PORTFLEET_PRETTY: option \"pretty\" expects true or false");
    T_ASSERT(c);
    pf_config_free(c);
    c = load("pretty = sure\n", NULL, 0, NULL, PF_INVALID,
             "agent.conf:1: option \"pretty\" expects true or false");
    T_ASSERT(c);
    pf_config_free(c);
    c = load(NULL, NULL, 1, argv_bad, PF_INVALID,
             "option --pretty takes no value other than true or false");
    T_ASSERT(c);
    pf_config_free(c);
}

TEST(file_syntax)
{
    static const char file[] = "\xef\xbb\xbf# comment\n"
                               "; another comment\n"
                               "\n"
                               "   \t  \n"
                               "  site\t=   nyc east  \r\n"
                               "enroll_secret = \"  a#b;c = d  \"\n"
                               "collector=https://c:8443\n"
                               "interval = \"\"\"\n";
    struct pf_config *c = load(file, NULL, 0, NULL, PF_OK, "");

    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "nyc east");
    T_EQ_STR(pf_config_get(c, "enroll-secret"), "  a#b;c = d  ");
    T_EQ_STR(pf_config_get(c, "collector"), "https://c:8443");
    T_EQ_STR(pf_config_get(c, "interval"), "\""); /* only an outer pair is stripped */
    pf_config_free(c);
    /* No newline at the end of the last line. */
    c = load("site = x", NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "x");
    pf_config_free(c);
}

TEST(file_errors)
{
    struct pf_config *c;
    struct pf_buf b;
    char err[PF_CONFIG_ERR_LEN];

    c = load("site = a\n\njust words\n", NULL, 0, NULL, PF_INVALID,
             "agent.conf:3: expected key = value");
    T_ASSERT(c);
    /* Nothing from a file with an error is kept. */
    T_EQ_STR(pf_config_get(c, "site"), "default");
    pf_config_free(c);
    c = load("# x\ncolector = https://c\n", NULL, 0, NULL, PF_INVALID,
             "agent.conf:2: unknown option \"colector\"");
    pf_config_free(c);
    T_ASSERT(c);
    c = load("= value\n", NULL, 0, NULL, PF_INVALID, "agent.conf:1: expected key = value");
    T_ASSERT(c);
    pf_config_free(c);
    c = load("site =   \n", NULL, 0, NULL, PF_INVALID,
             "agent.conf:1: option \"site\" needs a value");
    T_ASSERT(c);
    pf_config_free(c);
    c = load("si\x01te = x\n", NULL, 0, NULL, PF_INVALID, "agent.conf:1: unknown option \"si?te\"");
    T_ASSERT(c);
    pf_config_free(c);

    c = pf_config_new(specs, NSPECS);
    T_ASSERT(c);
    T_EQ_INT(pf_config_load_file(c, "site = a\0b\n", 11, "f", err), PF_INVALID);
    T_EQ_STR(err, "f:1: NUL byte in line");
    /* Line and file caps. */
    pf_buf_init(&b, 2u << 20);
    pf_buf_puts(&b, "site = ");
    while (b.len <= PF_CONFIG_LINE_MAX)
        pf_buf_puts(&b, "x");
    T_EQ_INT(pf_config_load_file(c, b.data, b.len, "f", err), PF_TOOBIG);
    T_EQ_STR(err, "f:1: line longer than 4096 bytes");
    b.len = PF_CONFIG_LINE_MAX; /* exactly at the cap: fine */
    T_EQ_INT(pf_config_load_file(c, b.data, b.len, "f", err), PF_OK);
    T_EQ_INT(strlen(pf_config_get(c, "site")), PF_CONFIG_LINE_MAX - 7);
    pf_buf_reset(&b);
    while (b.len <= PF_CONFIG_FILE_MAX)
        pf_buf_puts(&b, "# padding padding padding\n");
    T_EQ_INT(pf_config_load_file(c, b.data, b.len, "f", err), PF_TOOBIG);
    T_EQ_STR(err, "f: larger than 1048576 bytes");
    /* More repeats than the cap. */
    pf_buf_reset(&b);
    for (int i = 0; i <= PF_CONFIG_VALUES_MAX; i++)
        pf_buf_printf(&b, "collector = https://c%d\n", i);
    T_EQ_INT(pf_config_load_file(c, b.data, b.len, "f", err), PF_TOOBIG);
    T_EQ_STR(err, "f:33: option \"collector\" given more than 32 times");
    pf_buf_free(&b);
    pf_config_free(c);
}

TEST(arg_errors)
{
    char *a1[] = {"--foo"};
    char *a2[] = {"--collector"};
    char *a3[] = {"--collector", "--site", "x"};
    char *a4[] = {"--site="};
    char *a5[] = {"-v"};
    char *a6[] = {"--pretty", "--bogus=1"};
    struct pf_config *c;

    c = load(NULL, NULL, 1, a1, PF_INVALID, "unknown option --foo");
    T_ASSERT(c);
    pf_config_free(c);
    c = load(NULL, NULL, 1, a2, PF_INVALID, "option --collector needs a value");
    T_ASSERT(c);
    pf_config_free(c);
    c = load(NULL, NULL, 3, a3, PF_INVALID, "option --collector needs a value");
    T_ASSERT(c);
    pf_config_free(c);
    c = load(NULL, NULL, 1, a4, PF_INVALID, "option --site needs a value");
    T_ASSERT(c);
    pf_config_free(c);
    c = load(NULL, NULL, 1, a5, PF_INVALID, "unknown option -v");
    T_ASSERT(c);
    pf_config_free(c);
    c = load(NULL, NULL, 2, a6, PF_INVALID, "unknown option --bogus");
    T_ASSERT(c);
    /* Nothing from a command line with an error is kept. */
    T_EQ_INT(pf_config_flag(c, "pretty"), 0);
    pf_config_free(c);
}

TEST(env_errors)
{
    static char big[PF_CONFIG_LINE_MAX + 2];
    static const char *env[] = {"PORTFLEET_SITE", big, NULL};
    struct pf_config *c;

    memset(big, 'x', sizeof(big) - 1);
    c = load(NULL, env, 0, NULL, PF_TOOBIG, "PORTFLEET_SITE: longer than 4096 bytes");
    T_ASSERT(c);
    T_EQ_STR(pf_config_get(c, "site"), "default");
    pf_config_free(c);
}

TEST(get_uint)
{
    static const char *const env[] = {"PORTFLEET_INTERVAL", "0", NULL};
    char *argv[] = {"--interval", "99999999999999999999999"};
    char err[PF_CONFIG_ERR_LEN];
    uint64_t v = 7;
    struct pf_config *c = load(NULL, NULL, 0, NULL, PF_OK, "");

    T_ASSERT(c);
    T_EQ_INT(pf_config_get_uint(c, "interval", 1, 86400, &v, err), PF_OK);
    T_EQ_INT(v, 60); /* the default */
    v = 7;
    T_EQ_INT(pf_config_get_uint(c, "enroll-secret", 1, 86400, &v, err), PF_OK);
    T_EQ_INT(v, 7); /* unset: left alone */
    pf_config_free(c);

    c = load(NULL, env, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_get_uint(c, "interval", 1, 86400, &v, err), PF_INVALID);
    T_EQ_STR(err, "option --interval: must be an integer 1..86400, not \"0\" (from environment)");
    T_EQ_INT(pf_config_parse_args(c, 2, argv, err), PF_OK);
    T_EQ_INT(pf_config_get_uint(c, "interval", 1, 86400, &v, err), PF_INVALID);
    T_EQ_STR(err, "option --interval: must be an integer 1..86400, not "
                  "\"99999999999999999999999\" (from flag)");
    pf_config_free(c);
    c = load("interval = 5s\n", NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_get_uint(c, "interval", 1, 86400, &v, err), PF_INVALID);
    T_EQ_STR(err, "option --interval: must be an integer 1..86400, not \"5s\" (from config file)");
    pf_config_free(c);
    c = load("interval = 86400\n", NULL, 0, NULL, PF_OK, "");
    T_ASSERT(c);
    T_EQ_INT(pf_config_get_uint(c, "interval", 1, 86400, &v, err), PF_OK);
    T_EQ_INT(v, 86400);
    pf_config_free(c);
}

TEST(usage)
{
    struct pf_buf b;

    pf_buf_init(&b, 4096);
    T_EQ_INT(pf_config_usage(specs, NSPECS, &b), PF_OK);
    T_CONTAINS(b.data, "  --collector URL");
    T_CONTAINS(b.data, "collector base URL (repeatable)\n");
    T_CONTAINS(b.data, "site of this host (default: default)\n");
    T_CONTAINS(b.data, "  --pretty ");
    pf_buf_free(&b);
    pf_config_free(NULL);
}

int main(void)
{
    RUN(precedence);
    RUN(env_names);
    RUN(repeatable);
    RUN(last_wins);
    RUN(args);
    RUN(booleans);
    RUN(file_syntax);
    RUN(file_errors);
    RUN(arg_errors);
    RUN(env_errors);
    RUN(get_uint);
    RUN(usage);
    return T_DONE();
}
