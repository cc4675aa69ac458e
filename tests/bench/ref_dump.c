/* SPDX-License-Identifier: MIT */
/* ref_dump.c: the benchmark's floor. The least work that can answer "which
 * process holds which TCP/UDP socket": one NETLINK_SOCK_DIAG dump per
 * protocol and family (all states incl. bound-inactive), then one readlink
 * per fd under /proc/<pid>/fd. No aggregation, no JSON. Prints the socket
 * and owner counts so the work cannot be optimised away. Written without
 * the project's code so it is an independent reference. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static unsigned char buf[256 * 1024];

static long dump(int fd, int family, int proto)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    long n = 0;

    memset(&msg, 0, sizeof(msg));
    msg.nlh.nlmsg_len = sizeof(msg);
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.req.sdiag_family = (unsigned char)family;
    msg.req.sdiag_protocol = (unsigned char)proto;
    msg.req.idiag_states = 0xffffffffu;
    if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    for (;;) {
        ssize_t len = recv(fd, buf, sizeof(buf), 0);
        struct nlmsghdr *h = (struct nlmsghdr *)buf;
        if (len <= 0)
            return -1;
        for (; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
                return n;
            n++;
        }
    }
}

int main(void)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    int big = 4 << 20;
    long socks = 0, owned = 0;
    DIR *proc;
    struct dirent *de;

    if (fd < 0)
        return 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
    socks += dump(fd, AF_INET, IPPROTO_TCP) + dump(fd, AF_INET6, IPPROTO_TCP);
    socks += dump(fd, AF_INET, IPPROTO_UDP) + dump(fd, AF_INET6, IPPROTO_UDP);
    close(fd);

    proc = opendir("/proc");
    while (proc && (de = readdir(proc))) {
        char path[300], link[64];
        DIR *d;
        struct dirent *fe;
        int dfd;
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
        d = opendir(path);
        if (!d)
            continue;
        dfd = dirfd(d);
        while ((fe = readdir(d))) {
            ssize_t n = readlinkat(dfd, fe->d_name, link, sizeof(link));
            if (n > 8 && memcmp(link, "socket:[", 8) == 0)
                owned++;
        }
        closedir(d);
    }
    if (proc)
        closedir(proc);
    printf("%ld sockets, %ld socket fds\n", socks, owned);
    return 0;
}
