/* SPDX-License-Identifier: MIT */
/* sockets_linux.c: every TCP and UDP socket of the host's network namespace
 * through NETLINK_SOCK_DIAG (much cheaper than /proc/net/tcp), then their
 * owners by one pass over /proc/<pid>/fd ("socket:[inode]" links), the
 * way ss -p does but with a hash of only the inodes we care about. */
#include "sockets.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "log.h"
#include "procfd.h"
#include "snapshot.h"
#include "sockdiag.h"

#define RECV_BUF (256 * 1024)

static enum pf_rc dump_one(int fd, int family, int protocol, struct sockrec_vec *out,
                           void *buf)
{
    static uint32_t seq;
    unsigned char req[128];
    struct sockaddr_nl nladdr = {.nl_family = AF_NETLINK};
    size_t reqlen = sockdiag_request(req, sizeof(req), family, protocol, SOCKDIAG_ALL_STATES,
                                     ++seq);
    int proto = protocol == IPPROTO_TCP ? PF_PROTO_TCP : PF_PROTO_UDP;
    int done = 0, kerr = 0;

    if (sendto(fd, req, reqlen, 0, (struct sockaddr *)&nladdr, sizeof(nladdr)) < 0) {
        pf_error("sock_diag request failed: %s", strerror(errno));
        return PF_IO;
    }
    while (!done) {
        ssize_t n = recv(fd, buf, RECV_BUF, 0);
        enum pf_rc rc;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            pf_error("sock_diag receive failed: %s", strerror(errno));
            return PF_IO;
        }
        if (n == 0)
            return PF_PROTO;
        rc = sockdiag_parse(buf, (size_t)n, proto, out, &done, &kerr);
        if (rc) {
            pf_error("sock_diag %s/%s dump failed: %s%s%s", family == AF_INET ? "ipv4" : "ipv6",
                     proto == PF_PROTO_TCP ? "tcp" : "udp", pf_strerror(rc),
                     kerr ? ": " : "", kerr ? strerror(kerr) : "");
            return rc;
        }
    }
    return PF_OK;
}

/* Bound-only sockets (TCP_BOUND_INACTIVE) are dumped from kernel 6.8 on. */
static bool kernel_dumps_bound(void)
{
    struct utsname u;
    unsigned major = 0, minor = 0;

    if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
        return false;
    return major > 6 || (major == 6 && minor >= 8);
}

/* inode -> record index, open addressing; inode 0 never stored. */
struct inode_map {
    uint64_t *keys;
    uint32_t *vals;
    size_t mask;
};

static enum pf_rc map_build(struct inode_map *m, const struct sockrec_vec *v)
{
    size_t size = 1024;

    while (size < v->n * 2)
        size *= 2;
    m->keys = calloc(size, sizeof(*m->keys));
    m->vals = malloc(size * sizeof(*m->vals));
    m->mask = size - 1;
    if (!m->keys || !m->vals)
        return PF_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        uint64_t ino = v->v[i].inode;
        size_t h;
        if (ino == 0)
            continue;
        h = (size_t)(ino * 0x9E3779B97F4A7C15ull) & m->mask;
        while (m->keys[h] != 0 && m->keys[h] != ino)
            h = (h + 1) & m->mask;
        m->keys[h] = ino;
        m->vals[h] = (uint32_t)i;
    }
    return PF_OK;
}

static long map_find(const struct inode_map *m, uint64_t ino)
{
    size_t h = (size_t)(ino * 0x9E3779B97F4A7C15ull) & m->mask;

    while (m->keys[h] != 0) {
        if (m->keys[h] == ino)
            return (long)m->vals[h];
        h = (h + 1) & m->mask;
    }
    return -1;
}

static void map_free(struct inode_map *m)
{
    free(m->keys);
    free(m->vals);
}

/* True when a socket with an inode (not TIME_WAIT) has no owner. */
static bool has_unowned(const struct sockrec_vec *v)
{
    unsigned char *owned = calloc(v->n ? v->n : 1, 1);
    bool any = false;

    if (!owned)
        return true;
    for (size_t i = 0; i < v->nown; i++)
        owned[v->own[i].rec] = 1;
    for (size_t i = 0; i < v->n && !any; i++)
        any = v->v[i].inode != 0 && !owned[i];
    free(owned);
    return any;
}

static enum pf_rc scan_owners(struct sockrec_vec *out, bool *complete)
{
    struct inode_map map;
    DIR *proc;
    struct dirent *de;
    int procfd;
    bool denied = false;
    enum pf_rc rc;

    *complete = true;
    rc = map_build(&map, out);
    if (rc) {
        map_free(&map);
        return rc;
    }
    proc = opendir("/proc");
    if (!proc) {
        map_free(&map);
        *complete = false;
        return PF_OK;
    }
    procfd = dirfd(proc);
    while ((de = readdir(proc))) {
        char path[32], link[64];
        unsigned long pid;
        char *end;
        int fdd;
        DIR *fds;
        struct dirent *fe;

        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid = strtoul(de->d_name, &end, 10);
        if (*end != '\0' || pid > UINT32_MAX)
            continue;
        snprintf(path, sizeof(path), "%lu/fd", pid);
        fdd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fdd < 0) {
            if (errno == EACCES || errno == EPERM)
                denied = true;
            continue; /* ENOENT: the process just exited */
        }
        fds = fdopendir(fdd);
        if (!fds) {
            close(fdd);
            continue;
        }
        while ((fe = readdir(fds))) {
            ssize_t n;
            uint64_t ino;
            long rec;
            if (fe->d_name[0] == '.')
                continue;
            n = readlinkat(fdd, fe->d_name, link, sizeof(link));
            if (n < 0 && (errno == EACCES || errno == EPERM))
                denied = true;
            if (n <= 0 || (ino = procfd_socket_inode(link, (size_t)n)) == 0)
                continue;
            rec = map_find(&map, ino);
            if (rec >= 0 && (rc = sockrec_vec_add_owner(out, (uint32_t)rec, (uint32_t)pid))) {
                closedir(fds);
                goto out;
            }
        }
        closedir(fds);
    }
    rc = PF_OK;
    /* Owners are incomplete only if something was unreadable AND a socket
     * is left without owner (a process that exited meanwhile also leaves
     * one, but then nothing was denied). */
    if (denied)
        *complete = !has_unowned(out);
out:
    closedir(proc);
    map_free(&map);
    return rc;
}

enum pf_rc sockets_collect(struct sockrec_vec *out, struct sockets_info *info)
{
    static const int families[] = {AF_INET, AF_INET6};
    static const int protocols[] = {IPPROTO_TCP, IPPROTO_UDP};
    int fd, bufsize = 4 * 1024 * 1024;
    void *buf;
    enum pf_rc rc = PF_OK;

    info->bound_measured = kernel_dumps_bound();
    info->owners_measured = false;
    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        pf_error("cannot open NETLINK_SOCK_DIAG: %s", strerror(errno));
        return errno == EPERM || errno == EACCES ? PF_PERM : PF_UNSUPPORTED;
    }
    /* A large receive buffer lets the kernel fill the dump in big steps;
     * SO_RCVBUFFORCE needs CAP_NET_ADMIN, the plain one is the fallback. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof(bufsize)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
    buf = malloc(RECV_BUF);
    if (!buf) {
        close(fd);
        return PF_NOMEM;
    }
    for (size_t p = 0; p < 2 && !rc; p++)
        for (size_t f = 0; f < 2 && !rc; f++)
            rc = dump_one(fd, families[f], protocols[p], out, buf);
    free(buf);
    close(fd);
    if (rc)
        return rc;
    rc = scan_owners(out, &info->owners_measured);
    return rc;
}
