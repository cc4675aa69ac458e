/* SPDX-License-Identifier: MIT */
/* main.c: portfleet-agent's command line (docs/cli.md): dispatches argv[1] to
 * the command functions of commands.h. `snapshot` lives here: take one
 * snapshot, print it, needs no collector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "collect.h"
#include "commands.h"
#include "log.h"
#include "service.h"
#include "snapshot_json.h"
#include "textview.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: portfleet-agent <command> [options]\n"
               "\n"
               "commands:\n"
               "  snapshot [--pretty|--text] [--site NAME] [--cpu-sample-ms MS] [--log-level L]\n"
               "                                     take one snapshot now, print its JSON\n"
               "                                     (--text: a table for people); CPU is\n"
               "                                     measured over MS (0: not measured;\n"
               "                                     default 0, with --text 1000)\n"
               "           [--cloudflared-metrics ADDR] [--entra-counter PATH]\n"
               "                                     where the connector's sessions are read\n"
               "  run [options]                      snapshot every interval and push\n"
               "  install [options]                  install and start as a service\n"
               "  uninstall [--purge]                stop and remove the service\n"
               "  status                             enrollment, last push, spool depth\n"
               "  version                            print the version\n");
}

int cmd_snapshot(int argc, char **argv)
{
    struct pf_snapshot *s;
    struct collect_opts opts = {.site = NULL, .interval_s = 60};
    struct pf_buf out;
    int pretty = 0, text = 0, code = 1;
    long cpu_ms = -1;
    char *end;
    enum pf_rc rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pretty") == 0) {
            pretty = 1;
        } else if (strcmp(argv[i], "--text") == 0) {
            text = 1;
        } else if (strcmp(argv[i], "--site") == 0 && i + 1 < argc) {
            opts.site = argv[++i];
        } else if (strncmp(argv[i], "--site=", 7) == 0) {
            opts.site = argv[i] + 7;
        } else if (strcmp(argv[i], "--cloudflared-metrics") == 0 && i + 1 < argc) {
            opts.cloudflared_metrics = argv[++i];
        } else if (strcmp(argv[i], "--entra-counter") == 0 && i + 1 < argc) {
            opts.entra_counter = argv[++i];
        } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            int level = pf_log_level_parse(argv[++i]);
            if (level < 0) {
                fprintf(stderr, "portfleet-agent snapshot: --log-level: must be debug, info, "
                                "warn or error\n");
                return 2;
            }
            pf_log_set_level((enum pf_log_level)level);
        } else if (strcmp(argv[i], "--cpu-sample-ms") == 0 && i + 1 < argc) {
            cpu_ms = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || cpu_ms < 0 || cpu_ms > 60000) {
                fprintf(stderr, "portfleet-agent snapshot: --cpu-sample-ms: must be 0..60000\n");
                return 2;
            }
        } else {
            fprintf(stderr, "portfleet-agent snapshot: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    s = pf_snapshot_new();
    if (!s) {
        fprintf(stderr, "portfleet-agent: out of memory\n");
        return 1;
    }
    pf_buf_init(&out, 64 * 1024 * 1024);
    opts.cpu_sample_ms = (uint32_t)(cpu_ms >= 0 ? cpu_ms : text ? 1000 : 0);
    rc = collect_snapshot(s, &opts);
    if (!rc)
        rc = text ? textview_render(s, &out) : pf_snapshot_encode(s, pretty, &out);
    if (rc) {
        fprintf(stderr, "portfleet-agent snapshot: %s\n", pf_strerror(rc));
    } else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
               (!text && fputc('\n', stdout) == EOF) || fflush(stdout) != 0) {
        fprintf(stderr, "portfleet-agent snapshot: cannot write to stdout\n");
    } else {
        code = 0;
    }
    pf_buf_free(&out);
    pf_snapshot_free(s);
    return code;
}

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("portfleet-agent %s\n", PF_VERSION);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    {"snapshot", cmd_snapshot},
    {"version", cmd_version},
    {"run", cmd_run},             /* run.c */
    {"install", cmd_install},     /* install.c, via service.h */
    {"uninstall", cmd_uninstall}, /* install.c, via service.h */
    {"status", cmd_status},       /* status.c */
};

int main(int argc, char **argv)
{
    pf_utf8_args(&argc, &argv); /* Windows: ANSI code page -> UTF-8 */
    pf_log_set_ident("agent");
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    /* Started by the Windows Service Control Manager, `run` goes through
     * the service dispatcher (service.h); elsewhere this returns false. */
    if (strcmp(argv[1], "run") == 0) {
        int code;
        if (service_dispatch(cmd_run, argc - 1, argv + 1, &code))
            return code;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "portfleet-agent: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
