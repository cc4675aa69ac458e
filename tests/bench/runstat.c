/* SPDX-License-Identifier: MIT */
/* runstat.c: runs a command once and prints "<wall ns> <peak RSS KiB>".
 * A small C parent matters: Linux carries ru_maxrss across execve, so a
 * command started from Python would report Python's own memory. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec a, b;
    struct rusage ru;
    int status;
    pid_t pid;

    if (argc < 2) {
        fprintf(stderr, "usage: runstat COMMAND [ARGS...]\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%lld %ld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
           ru.ru_maxrss);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
