/* SPDX-License-Identifier: MIT */
/* test_procfd.c: fd links and /proc/<pid>/cgroup text. */
#include "procfd.h"
#include "test.h"

TEST(socket_links)
{
    const char *s = "socket:[123456]";
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 123456);
    s = "socket:[4294967296]"; /* inodes are 64-bit */
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 4294967296LL);
    s = "pipe:[123]";
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 0);
    s = "anon_inode:[eventpoll]";
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 0);
    s = "socket:[12a]";
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 0);
    s = "socket:[]";
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 0);
    s = "/var/log/socket:[1]";
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 0);
    s = "socket:[123"; /* readlink cut the link */
    T_EQ_INT(procfd_socket_inode(s, strlen(s)), 0);
}

TEST(cgroup_units)
{
    char out[64];

    procfd_unit_from_cgroup("0::/system.slice/cloudflared.service\n", out, sizeof(out));
    T_EQ_STR(out, "cloudflared.service");
    /* cgroup v1: several hierarchies, the systemd one among them */
    procfd_unit_from_cgroup("12:pids:/system.slice/ssh.service\n"
                            "11:memory:/system.slice/ssh.service\n"
                            "1:name=systemd:/system.slice/ssh.service\n",
                            out, sizeof(out));
    T_EQ_STR(out, "ssh.service");
    /* a user session is no service */
    procfd_unit_from_cgroup("0::/user.slice/user-0.slice/session-3.scope\n", out, sizeof(out));
    T_EQ_STR(out, "");
    /* a service's sub-cgroup still names the service */
    procfd_unit_from_cgroup("0::/system.slice/docker.service/payload\n", out, sizeof(out));
    T_EQ_STR(out, "docker.service");
    procfd_unit_from_cgroup("0::/\n", out, sizeof(out));
    T_EQ_STR(out, "");
    procfd_unit_from_cgroup("", out, sizeof(out));
    T_EQ_STR(out, "");
    /* cut to the buffer, still terminated */
    procfd_unit_from_cgroup("0::/system.slice/averyveryverylongname.service\n", out, 8);
    T_EQ_STR(out, "averyve");
}

int main(void)
{
    RUN(socket_links);
    RUN(cgroup_units);
    return T_DONE();
}
