/* SPDX-License-Identifier: MIT */
/* sessions_linux.c: cloudflared's metrics address from /proc/PID/cmdline
 * (--metrics, or the --config file it names), else from the config files
 * cloudflared reads by default. */
#include "sessions.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cfmetrics.h"

#define ARGS_MAX 64

static ssize_t read_all(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n, total = 0;

    if (fd < 0)
        return -1;
    while ((size_t)total < len - 1 && (n = read(fd, buf + total, len - 1 - (size_t)total)) > 0)
        total += n;
    close(fd);
    buf[total > 0 ? total : 0] = '\0';
    return total;
}

static bool from_config_file(const char *path, char *out, size_t outlen)
{
    char buf[16384];
    ssize_t n = read_all(path, buf, sizeof(buf));

    return n > 0 && cfmetrics_from_config(buf, (size_t)n, out, outlen);
}

bool sessions_os_metrics_addr(const uint32_t *pids, size_t npids, char *out, size_t outlen)
{
    static const char *const configs[] = {"/etc/cloudflared/config.yml",
                                          "/usr/local/etc/cloudflared/config.yml",
                                          "/root/.cloudflared/config.yml"};

    for (size_t i = 0; i < npids; i++) {
        char path[64], buf[8192], conf[512];
        const char *argv[ARGS_MAX];
        size_t argc = 0;
        ssize_t n;

        snprintf(path, sizeof(path), "/proc/%u/cmdline", (unsigned)pids[i]);
        n = read_all(path, buf, sizeof(buf));
        for (ssize_t k = 0; n > 0 && k < n && argc < ARGS_MAX; k += (ssize_t)strlen(buf + k) + 1)
            argv[argc++] = buf + k;
        if (cfmetrics_from_args(argv, argc, out, outlen))
            return true;
        for (size_t k = 0; k + 1 < argc; k++)
            if ((strcmp(argv[k], "--config") == 0 || strcmp(argv[k], "-config") == 0) &&
                snprintf(conf, sizeof(conf), "%s", argv[k + 1]) > 0 &&
                from_config_file(conf, out, outlen))
                return true;
    }
    for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
        if (from_config_file(configs[i], out, outlen))
            return true;
    return false;
}
