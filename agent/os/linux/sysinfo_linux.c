/* SPDX-License-Identifier: MIT */
/* sysinfo_linux.c: host identity and the port range of this network
 * namespace. Linux has one range (net.ipv4.ip_local_port_range) for TCP
 * and UDP, IPv4 and IPv6, and one reserved list; both are reported four
 * times, once per protocol and family, as the wire format expects.
 * Roles come from the process list (collect.c), not from here. */
#include "sysinfo.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"
#include "portrange.h"

static ssize_t read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n, total = 0;

    if (fd < 0)
        return -1;
    while ((size_t)total < len - 1 && (n = read(fd, buf + total, len - 1 - (size_t)total)) > 0)
        total += n;
    close(fd);
    buf[total] = '\0';
    return total;
}

static void trim_copy(char *dst, size_t dstlen, const char *src)
{
    size_t n;

    while (*src == ' ' || *src == '\t' || *src == '\n')
        src++;
    n = strlen(src);
    while (n > 0 && (src[n - 1] == '\n' || src[n - 1] == ' ' || src[n - 1] == '\r'))
        n--;
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static enum pf_rc read_ranges(struct pf_snapshot *s)
{
    char buf[4096];
    struct portblock blocks[PF_EXCLUDED_MAX / 4];
    size_t nblocks = 0, k = 0;
    uint16_t lo, hi;
    ssize_t n;
    enum pf_rc rc;

    n = read_file("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf));
    if (n < 0 || portrange_parse_local(buf, (size_t)n, &lo, &hi) != PF_OK) {
        pf_error("cannot read net.ipv4.ip_local_port_range");
        return PF_IO;
    }
    s->nranges = 0;
    for (int proto = 0; proto < 2; proto++)
        for (int fam = 0; fam < 2; fam++) {
            struct pf_range *r = &s->ranges[s->nranges++];
            r->proto = (uint8_t)proto;
            r->family = (uint8_t)fam;
            r->start = lo;
            r->count = (uint32_t)hi - lo + 1;
        }

    n = read_file("/proc/sys/net/ipv4/ip_local_reserved_ports", buf, sizeof(buf));
    if (n < 0) {
        pf_snapshot_add_unmeasured(s, "excluded");
        return PF_OK;
    }
    rc = portrange_parse_reserved(buf, (size_t)n, blocks, PF_ARRAY_LEN(blocks), &nblocks);
    if (rc == PF_INVALID) {
        pf_warn("cannot parse net.ipv4.ip_local_reserved_ports");
        pf_snapshot_add_unmeasured(s, "excluded");
        return PF_OK;
    }
    if (rc == PF_TOOBIG)
        s->truncated = true;
    s->has_excluded = true;
    s->excluded = calloc(nblocks ? nblocks * 4 : 1, sizeof(*s->excluded));
    if (!s->excluded)
        return PF_NOMEM;
    for (size_t i = 0; i < nblocks; i++) {
        /* Only reservations inside the range take ports from it. */
        if (blocks[i].start + blocks[i].count - 1 < lo || blocks[i].start > hi)
            continue;
        for (int proto = 0; proto < 2; proto++)
            for (int fam = 0; fam < 2; fam++) {
                struct pf_range *e = &s->excluded[k++];
                e->proto = (uint8_t)proto;
                e->family = (uint8_t)fam;
                e->start = blocks[i].start;
                e->count = blocks[i].count;
            }
    }
    s->nexcluded = k;
    return PF_OK;
}

enum pf_rc sysinfo_collect(struct pf_snapshot *s)
{
    struct utsname u;
    char buf[256];
    long cpus, pages, pagesize;

    if (gethostname(buf, sizeof(buf)) == 0) {
        buf[sizeof(buf) - 1] = '\0';
        trim_copy(s->host.name, sizeof(s->host.name), buf);
    }
    if (read_file("/etc/machine-id", buf, sizeof(buf)) > 0 ||
        read_file("/var/lib/dbus/machine-id", buf, sizeof(buf)) > 0)
        trim_copy(s->host.machine_id, sizeof(s->host.machine_id), buf);
    snprintf(s->host.os, sizeof(s->host.os), "linux");
    if (uname(&u) == 0)
        trim_copy(s->host.os_version, sizeof(s->host.os_version), u.release);
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    s->host.cpus = cpus > 0 ? (uint32_t)cpus : 0;
    pages = sysconf(_SC_PHYS_PAGES);
    pagesize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && pagesize > 0)
        s->host.memory_mb = (uint64_t)pages * (uint64_t)pagesize / (1024 * 1024);
    return read_ranges(s);
}
