/* SPDX-License-Identifier: MIT */
/* procfd.c: fd-link and cgroup parsing (see procfd.h). */
#include "procfd.h"

#include <string.h>

uint64_t procfd_socket_inode(const char *link, size_t n)
{
    uint64_t ino = 0;

    if (n < 10 || n > 30 || memcmp(link, "socket:[", 8) != 0 || link[n - 1] != ']')
        return 0;
    for (size_t i = 8; i < n - 1; i++) {
        if (link[i] < '0' || link[i] > '9')
            return 0;
        ino = ino * 10 + (uint64_t)(link[i] - '0');
    }
    return ino;
}

void procfd_unit_from_cgroup(const char *cg, char *out, size_t outlen)
{
    const char *best = NULL;
    size_t bestlen = 0;

    if (outlen == 0)
        return;
    out[0] = '\0';
    for (const char *line = cg; line && *line;) {
        const char *eol = strchr(line, '\n');
        const char *end = eol ? eol : line + strlen(line);
        const char *path = memchr(line, '/', (size_t)(end - line));
        while (path && path < end) {
            const char *seg = path + 1, *next = memchr(seg, '/', (size_t)(end - seg));
            const char *segend = next ? next : end;
            size_t n = (size_t)(segend - seg);
            if (n > 8 && memcmp(segend - 8, ".service", 8) == 0) {
                best = seg;
                bestlen = n;
            }
            path = next;
        }
        line = eol ? eol + 1 : NULL;
    }
    if (best) {
        if (bestlen >= outlen)
            bestlen = outlen - 1;
        memcpy(out, best, bestlen);
        out[bestlen] = '\0';
    }
}
