/* SPDX-License-Identifier: MIT */
/* portburner.c: the exhaustion test's helper. Takes every free port of the
 * ephemeral range by binding TCP sockets to 127.0.0.1 port 0 (what a
 * leaking service does) until the kernel has none left, prints how many
 * it holds, and keeps them until SIGTERM. With --listen it also listens on
 * each (visible on kernels older than 6.8, which do not list bound-only
 * sockets). With --greedy it goes on trying every 5 ms and takes each
 * port that comes free (a connection closed, a process gone), printing
 * "grabbed N" for each, as a service leaking sockets in a loop would. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Binds one more TCP socket to 127.0.0.1 port 0. Returns its port, 0 when
 * the range is full, -1 on another error (printed). */
static int grab(int listen_too)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        perror("portburner: socket");
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;

        close(fd);
        if (e == EADDRINUSE)
            return 0; /* the range is full */
        errno = e;
        perror("portburner: bind");
        return -1;
    }
    if (listen_too && listen(fd, 1) != 0) {
        perror("portburner: listen");
        close(fd);
        return -1;
    }
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0)
        return -1;
    return ntohs(sa.sin_port);
}

int main(int argc, char **argv)
{
    int listen_too = 0, greedy = 0;
    struct rlimit rl;
    long held = 0;
    sigset_t set;
    int sig, port;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0) {
            listen_too = 1;
        } else if (strcmp(argv[i], "--greedy") == 0) {
            greedy = 1;
        } else {
            fprintf(stderr, "usage: portburner [--listen] [--greedy]\n");
            return 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    while ((port = grab(listen_too)) > 0)
        held++;
    if (port < 0)
        return 1;
    printf("holding %ld ports\n", held);
    fflush(stdout);
    if (!greedy) {
        sigwait(&set, &sig);
        return 0;
    }
    for (;;) {
        const struct timespec pause = {0, 5 * 1000 * 1000};
        struct timespec zero = {0, 0};
        siginfo_t si;

        if (sigtimedwait(&set, &si, &zero) >= 0)
            return 0;
        while ((port = grab(listen_too)) > 0) {
            held++;
            printf("grabbed %d (holding %ld)\n", port, held);
            fflush(stdout);
        }
        if (port < 0)
            return 1;
        nanosleep(&pause, NULL);
    }
}
