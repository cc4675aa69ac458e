/* SPDX-License-Identifier: MIT */
/* test_analysis_cache.c: the analyses shared between requests
 * (capacity/analysis_cache.h): an entry answers only its own question
 * (tenant, site, host, parameters) at its own database version; as of
 * now only for reuse_s; the budget evicts the least recently used; a held
 * entry outlives its eviction until released; and threads that get, put
 * and release at once free every value exactly once. Values here are
 * counters whose free function counts, so a leak or a double free shows. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "analysis_cache.h"
#include "test.h"

static atomic_int freed;

struct val {
    int id;
};

static void val_free(void *v)
{
    atomic_fetch_add(&freed, 1);
    free(v);
}

static void *val(int id)
{
    struct val *v = malloc(sizeof(*v));
    if (v)
        v->id = id;
    return v;
}

static void key(struct acache_key *k, const char *tenant, const char *site, int64_t now,
                bool wall_clock)
{
    memset(k, 0, sizeof(*k));
    k->kind = ACACHE_ANALYSIS;
    snprintf(k->tenant, sizeof(k->tenant), "%s", tenant);
    snprintf(k->site, sizeof(k->site), "%s", site);
    fleet_params_default(&k->p);
    k->p.now = now;
    k->wall_clock = wall_clock;
}

static int id_of(const void *v)
{
    return v ? ((const struct val *)v)->id : -1;
}

TEST(same_question_same_version_only)
{
    struct acache *c = acache_new(1, 10);
    struct acache_key k, other;
    struct acache_entry *e;
    const void *v;

    atomic_store(&freed, 0);
    key(&k, "", "", 1000, false);
    v = acache_put(c, &k, "10:12:", val(1), 100, val_free, 0, &e);
    T_EQ_INT(id_of(v), 1);
    acache_release(c, e);
    T_EQ_INT(id_of(acache_get(c, &k, "10:12:", 5, &e)), 1);
    acache_release(c, e);
    /* Each other question misses: another tenant, every tenant vs one,
     * a site, a host's detail, another time, another window. */
    key(&other, "acme", "", 1000, false);
    T_ASSERT(!acache_get(c, &other, "10:12:", 5, &e) && !e);
    key(&other, "", "apps", 1000, false);
    T_ASSERT(!acache_get(c, &other, "10:12:", 5, &e));
    other = k;
    other.kind = ACACHE_HOST_DETAIL;
    T_ASSERT(!acache_get(c, &other, "10:12:", 5, &e));
    key(&other, "", "", 1001, false);
    T_ASSERT(!acache_get(c, &other, "10:12:", 5, &e));
    other = k;
    other.p.window_s += 3600;
    T_ASSERT(!acache_get(c, &other, "10:12:", 5, &e));
    T_EQ_INT(atomic_load(&freed), 0);
    /* The database moved on: a miss, and the old entry is gone. */
    T_ASSERT(!acache_get(c, &k, "10:13:", 5, &e));
    T_EQ_INT(atomic_load(&freed), 1);
    T_ASSERT(!acache_get(c, &k, "10:12:", 5, &e));
    struct acache_stats st;
    acache_stats(c, &st);
    T_EQ_INT(st.hits, 1);
    T_EQ_INT(st.stale, 1);
    T_EQ_INT(st.entries, 0);
    acache_free(c);
}

TEST(tenants_never_share)
{
    struct acache *c = acache_new(1, 10);
    struct acache_key a, b, all;
    struct acache_entry *e;

    key(&a, "acme", "", 1000, false);
    key(&b, "globex", "", 1000, false);
    key(&all, "", "", 1000, false);
    acache_release(c, (acache_put(c, &all, "v", val(0), 10, val_free, 0, &e), e));
    acache_release(c, (acache_put(c, &a, "v", val(1), 10, val_free, 0, &e), e));
    T_EQ_INT(id_of(acache_get(c, &a, "v", 1, &e)), 1);
    acache_release(c, e);
    T_ASSERT(!acache_get(c, &b, "v", 1, &e)); /* not acme's, not every tenant's */
    T_EQ_INT(id_of(acache_get(c, &all, "v", 1, &e)), 0);
    acache_release(c, e);
    acache_free(c);
}

TEST(wall_clock_reuse_is_bounded)
{
    struct acache *c = acache_new(1, 10);
    struct acache_key k, later;
    struct acache_entry *e;

    key(&k, "", "", 1000, true);
    acache_release(c, (acache_put(c, &k, "v", val(1), 10, val_free, 0, &e), e));
    key(&later, "", "", 1009, true); /* the clock moved: still the same question */
    T_EQ_INT(id_of(acache_get(c, &later, "v", 9000, &e)), 1);
    acache_release(c, e);
    T_ASSERT(!acache_get(c, &later, "v", 10001, &e)); /* older than reuse_s */
    /* An explicit time is not "now". */
    key(&later, "", "", 1000, false);
    T_ASSERT(!acache_get(c, &later, "v", 1, &e));
    acache_free(c);
    c = acache_new(1, 0); /* reuse 0: as of now never answers twice */
    acache_release(c, (acache_put(c, &k, "v", val(1), 10, val_free, 0, &e), e));
    T_ASSERT(!acache_get(c, &k, "v", 1, &e));
    acache_free(c);
}

TEST(budget_evicts_least_recently_used_and_held_outlive)
{
    struct acache *c = acache_new(1, 10); /* 1 MB */
    struct acache_key k1, k2, k3;
    struct acache_entry *e1, *e;
    const void *v1;

    atomic_store(&freed, 0);
    key(&k1, "", "a", 1, false);
    key(&k2, "", "b", 1, false);
    key(&k3, "", "c", 1, false);
    acache_release(c, (acache_put(c, &k1, "v", val(1), 400000, val_free, 0, &e), e));
    acache_release(c, (acache_put(c, &k2, "v", val(2), 400000, val_free, 1, &e), e));
    v1 = acache_get(c, &k1, "v", 2, &e1); /* k1 used last, and held */
    T_EQ_INT(id_of(v1), 1);
    acache_release(c, (acache_put(c, &k3, "v", val(3), 400000, val_free, 3, &e), e));
    T_EQ_INT(atomic_load(&freed), 1); /* k2 went */
    T_ASSERT(!acache_get(c, &k2, "v", 4, &e));
    T_EQ_INT(id_of(acache_get(c, &k3, "v", 4, &e)), 3);
    acache_release(c, e);
    /* Two more: k1 is evicted while held, and stays readable. */
    acache_release(c, (acache_put(c, &k2, "v", val(4), 700000, val_free, 5, &e), e));
    T_EQ_INT(id_of(v1), 1);
    T_ASSERT(!acache_get(c, &k1, "v", 6, &e));
    int before = atomic_load(&freed);
    acache_release(c, e1);
    T_EQ_INT(atomic_load(&freed), before + 1);
    /* Over the budget: only held, freed at release. */
    v1 = acache_put(c, &k1, "v", val(9), 2u << 20, val_free, 7, &e1);
    T_EQ_INT(id_of(v1), 9);
    T_ASSERT(!acache_get(c, &k1, "v", 8, &e));
    before = atomic_load(&freed);
    acache_release(c, e1);
    T_EQ_INT(atomic_load(&freed), before + 1);
    acache_free(c);
}

/* Threads asking a few questions at a few versions at once: every value
 * ever put is freed exactly once, by the cache or by acache_free. */
struct worker {
    struct acache *c;
    int seed, puts, bad;
};

static void *work(void *ud)
{
    struct worker *w = ud;
    unsigned s = (unsigned)w->seed;

    for (int i = 0; i < 20000; i++) {
        struct acache_key k;
        struct acache_entry *e;
        char version[8];
        const void *v;
        s = s * 1103515245u + 12345u;
        key(&k, (s >> 8) % 2 ? "acme" : "", (s >> 12) % 3 ? "a" : "b", 1, false);
        snprintf(version, sizeof(version), "%u", (s >> 16) % 3);
        v = acache_get(w->c, &k, version, i, &e);
        if (!v) {
            int id = (int)((s >> 8) % 2 * 100 + (s >> 12) % 3 * 10 + (s >> 16) % 3);
            v = acache_put(w->c, &k, version, val(id), 300000, val_free, i, &e);
            w->puts++;
        }
        /* What comes back is what that question at that version holds. */
        if (id_of(v) % 10 != (int)((s >> 16) % 3) || id_of(v) / 100 != (int)((s >> 8) % 2))
            w->bad++;
        acache_release(w->c, e);
    }
    return NULL;
}

TEST(threads_free_each_value_once)
{
    struct acache *c = acache_new(1, 10);
    struct worker w[4];
    pthread_t t[4];
    int puts = 0;

    atomic_store(&freed, 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){c, i + 1, 0, 0};
        T_ASSERT(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        puts += w[i].puts;
        T_EQ_INT(w[i].bad, 0);
    }
    acache_free(c);
    T_EQ_INT(atomic_load(&freed), puts);
}

int main(void)
{
    RUN(same_question_same_version_only);
    RUN(tenants_never_share);
    RUN(wall_clock_reuse_is_bounded);
    RUN(budget_evicts_least_recently_used_and_held_outlive);
    RUN(threads_free_each_value_once);
    return T_DONE();
}
