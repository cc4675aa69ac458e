/* SPDX-License-Identifier: MIT */
/* svcmap.c: service list -> per-PID service names and host roles. */
#include "svcmap.h"

#include <stdlib.h>
#include <string.h>

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = lower((unsigned char)*a), y = lower((unsigned char)*b);
        if (x != y || !x)
            return x - y;
    }
}

static int cmp_entry(const void *a, const void *b)
{
    const struct svcmap_entry *x = a, *y = b;

    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    return casecmp(x->name, y->name);
}

void svcmap_sort(struct svcmap_entry *e, size_t n)
{
    if (n > 1)
        qsort(e, n, sizeof(*e), cmp_entry);
}

size_t svcmap_names_for_pid(const struct svcmap_entry *e, size_t n, uint32_t pid, char *out,
                            size_t outlen)
{
    size_t lo = 0, hi = n, len = 0, count = 0;

    if (outlen)
        out[0] = '\0';
    if (pid == 0 || outlen == 0)
        return 0;
    while (lo < hi) { /* first entry with e.pid >= pid */
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n && e[i].pid == pid; i++) {
        size_t nl = strlen(e[i].name), need = nl + (count ? 1 : 0);
        if (len + need + 1 > outlen)
            break;
        if (count)
            out[len++] = ',';
        memcpy(out + len, e[i].name, nl);
        len += nl;
        out[len] = '\0';
        count++;
    }
    return count;
}

bool svcmap_running(const struct svcmap_entry *e, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].running && casecmp(e[i].name, name) == 0)
            return true;
    return false;
}

bool svcmap_roles(const struct svcmap_entry *e, size_t n, struct pf_snapshot *s)
{
    static const struct {
        const char *service, *role;
    } roles[] = {
        {"RemoteAccess", "rras"},
        {"WAPCSvc", "entra-connector"},
        {"cloudflared", "cloudflared"},
    };
    bool rras = false;

    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (!svcmap_running(e, n, roles[i].service))
            continue;
        pf_snapshot_add_role(s, roles[i].role);
        rras |= i == 0;
    }
    return rras;
}
