/* SPDX-License-Identifier: MIT */
/* portburner.c: the exhaustion test's helper. Takes every free port of the
 * ephemeral range by binding TCP sockets to 127.0.0.1 port 0 (what a
 * leaking service does) until the kernel has none left, prints how many
 * it holds, and keeps them until SIGTERM. With --listen it also listens on
 * each (visible on kernels older than 6.8, which do not list bound-only
 * sockets). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int listen_too = argc > 1 && strcmp(argv[1], "--listen") == 0;
    struct rlimit rl;
    long held = 0;
    sigset_t set;
    int sig;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (;;) {
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd < 0) {
            perror("portburner: socket");
            return 1;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            if (errno != EADDRINUSE) {
                perror("portburner: bind");
                return 1;
            }
            close(fd);
            break; /* the range is full */
        }
        if (listen_too && listen(fd, 1) != 0) {
            perror("portburner: listen");
            return 1;
        }
        held++;
    }
    printf("holding %ld ports\n", held);
    fflush(stdout);
    sigwait(&set, &sig);
    return 0;
}
