/* SPDX-License-Identifier: MIT */
/* strmap.c: open-addressing hash map keyed by (agent_id, string); see
 * strmap.h. Linear probing in a power-of-two table kept at most half
 * full; a key is "agent\0string\0" in one allocation. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    char *key; /* NULL: empty */
    size_t len;
    uint64_t hash;
    int64_t v;
};

struct strmap {
    struct slot *slots;
    size_t cap, n, max;
};

uint64_t strmap_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;

    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct strmap *strmap_new(size_t max)
{
    struct strmap *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->cap = 64;
    m->max = max;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_clear(struct strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].key);
        m->slots[i].key = NULL;
    }
    m->n = 0;
}

void strmap_free(struct strmap *m)
{
    if (!m)
        return;
    strmap_clear(m);
    free(m->slots);
    free(m);
}

size_t strmap_count(const struct strmap *m)
{
    return m ? m->n : 0;
}

static uint64_t key_hash(const char *agent, size_t na, const char *s, size_t ns)
{
    return strmap_fnv(strmap_fnv(STRMAP_FNV_SEED, agent, na + 1), s, ns);
}

static struct slot *find(const struct strmap *m, uint64_t h, const char *agent, size_t na,
                         const char *s, size_t ns)
{
    size_t mask = m->cap - 1;

    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct slot *sl = &m->slots[i];
        if (!sl->key)
            return sl;
        if (sl->hash == h && sl->len == na + 1 + ns && memcmp(sl->key, agent, na + 1) == 0 &&
            memcmp(sl->key + na + 1, s, ns) == 0)
            return sl;
    }
}

bool strmap_get(const struct strmap *m, const char *agent, const char *s, int64_t *v)
{
    size_t na = strlen(agent), ns = strlen(s);
    const struct slot *sl = find(m, key_hash(agent, na, s, ns), agent, na, s, ns);

    if (!sl->key)
        return false;
    *v = sl->v;
    return true;
}

static enum pf_rc grow(struct strmap *m)
{
    size_t cap = m->cap * 2;
    struct slot *old = m->slots, *ns = calloc(cap, sizeof(*ns));

    if (!ns)
        return PF_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        size_t j;
        if (!old[i].key)
            continue;
        for (j = (size_t)old[i].hash & (cap - 1); ns[j].key; j = (j + 1) & (cap - 1))
            ;
        ns[j] = old[i];
    }
    free(old);
    m->slots = ns;
    m->cap = cap;
    return PF_OK;
}

enum pf_rc strmap_put(struct strmap *m, const char *agent, const char *s, int64_t v)
{
    size_t na = strlen(agent), ns = strlen(s);
    uint64_t h = key_hash(agent, na, s, ns);
    struct slot *sl = find(m, h, agent, na, s, ns);

    if (sl->key) {
        sl->v = v;
        return PF_OK;
    }
    if (m->n >= m->max)
        return PF_TOOBIG;
    if (2 * (m->n + 1) > m->cap) {
        if (grow(m))
            return PF_NOMEM;
        sl = find(m, h, agent, na, s, ns);
    }
    sl->key = malloc(na + 1 + ns + 1);
    if (!sl->key)
        return PF_NOMEM;
    memcpy(sl->key, agent, na + 1);
    memcpy(sl->key + na + 1, s, ns);
    sl->key[na + 1 + ns] = '\0'; /* for strmap_foreach() */
    sl->len = na + 1 + ns;
    sl->hash = h;
    sl->v = v;
    m->n++;
    return PF_OK;
}

void strmap_foreach(const struct strmap *m,
                    void (*fn)(void *ctx, const char *agent, const char *s, int64_t v), void *ctx)
{
    for (size_t i = 0; m && i < m->cap; i++)
        if (m->slots[i].key)
            fn(ctx, m->slots[i].key, m->slots[i].key + strlen(m->slots[i].key) + 1,
               m->slots[i].v);
}
