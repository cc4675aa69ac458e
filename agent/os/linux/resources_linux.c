/* SPDX-License-Identifier: MIT */
/* resources_linux.c: /proc/stat and /proc/meminfo, one read() each (the
 * aggregate "cpu" line is the first of /proc/stat; the parsers are in
 * cpustat.c). */
#include "resources.h"

#include <fcntl.h>
#include <unistd.h>

static ssize_t read_head(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, len);
    close(fd);
    return n;
}

enum pf_rc resources_cpu_read(struct cpustat *out)
{
    char buf[512];
    ssize_t n = read_head("/proc/stat", buf, sizeof(buf));

    if (n <= 0)
        return PF_IO;
    return cpustat_parse_proc_stat(buf, (size_t)n, out) ? PF_IO : PF_OK;
}

enum pf_rc resources_memory_read(uint64_t *used_mb, uint64_t *total_mb)
{
    /* MemAvailable is the third line; the fallback's Cached the fifth. */
    char buf[1024];
    uint64_t total_kb, avail_kb;
    ssize_t n = read_head("/proc/meminfo", buf, sizeof(buf));

    if (n <= 0 || cpustat_parse_meminfo(buf, (size_t)n, &total_kb, &avail_kb))
        return PF_IO;
    *used_mb = (total_kb - avail_kb) / 1024;
    *total_mb = total_kb / 1024;
    return PF_OK;
}

void resources_more_read(struct pf_resources *r)
{
    (void)r; /* no figure of PF_RESOURCES_FIELDS besides CPU and memory yet */
}
