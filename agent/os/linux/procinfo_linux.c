/* SPDX-License-Identifier: MIT */
/* procinfo_linux.c: a PID's name from /proc/<pid>/exe (full name; comm is
 * cut at 15 bytes) or comm for kernel threads, and its systemd unit from
 * /proc/<pid>/cgroup (".../cloudflared.service"), which is what an admin
 * restarts. Called for the listed processes only, so no cache is needed. */
#include "procinfo.h"
#include "procfd.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static ssize_t read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

static void copy_str(char *dst, size_t dstlen, const char *src, size_t n)
{
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

enum pf_rc procinfo_lookup(uint32_t pid, char *name, size_t namelen, char *service,
                           size_t servicelen)
{
    char path[64], buf[4096];
    ssize_t n;

    name[0] = '\0';
    service[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%u/exe", pid);
    n = readlink(path, buf, sizeof(buf) - 1);
    if (n > 0) {
        const char *base;
        buf[n] = '\0';
        if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0)
            buf[n -= 10] = '\0';
        base = strrchr(buf, '/');
        base = base ? base + 1 : buf;
        copy_str(name, namelen, base, strlen(base));
    } else {
        snprintf(path, sizeof(path), "/proc/%u/comm", pid);
        n = read_small(path, buf, sizeof(buf));
        if (n < 0)
            return PF_NOTFOUND;
        while (n > 0 && buf[n - 1] == '\n')
            buf[--n] = '\0';
        copy_str(name, namelen, buf, (size_t)n);
    }
    snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
    if (read_small(path, buf, sizeof(buf)) > 0)
        procfd_unit_from_cgroup(buf, service, servicelen);
    return PF_OK;
}

void procinfo_sweep(void)
{
}
