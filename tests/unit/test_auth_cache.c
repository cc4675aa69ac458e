/* SPDX-License-Identifier: MIT */
/* test_auth_cache.c: the credential cache against a generation driven by
 * hand (the watcher's part, auth_gen_observe, called directly): no hit
 * before the first read of the counter, a hit afterwards, none once the
 * counter changed or the last read is older than AUTH_STALE_MS, and an
 * entry filled across a change (ticket taken before it) never hits. The
 * watcher against a real database is tests/integration/collector_revoke.sh. */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "auth_cache.h"
#include "test.h"
#include "compat.h"

static void key_of(const char *secret, uint8_t h[AUTH_HASH_LEN])
{
    auth_hash(secret, strlen(secret), h);
}

TEST(no_hit_before_first_read)
{
    struct auth_gen *g = auth_gen_new();
    struct auth_cache *c = auth_cache_new(g, 64);
    uint8_t k[AUTH_HASH_LEN];
    char v[AUTH_CACHE_VALUE_MAX];

    T_ASSERT(g && c);
    key_of("key-a", k);
    auth_cache_put(c, k, "agent-a", auth_cache_ticket(c));
    T_ASSERT(!auth_cache_get(c, k, v, sizeof(v)));
    /* the first read starts a new epoch: what was put before is not used */
    auth_gen_observe(g, 7, pf_mono_ms());
    T_ASSERT(!auth_cache_get(c, k, v, sizeof(v)));
    auth_cache_put(c, k, "agent-a", auth_cache_ticket(c));
    T_ASSERT(auth_cache_get(c, k, v, sizeof(v)));
    T_EQ_STR(v, "agent-a");
    auth_cache_free(c);
    auth_gen_free(g);
}

TEST(change_drops_every_entry)
{
    struct auth_gen *g = auth_gen_new();
    struct auth_cache *c = auth_cache_new(g, 4096);
    uint8_t k[100][AUTH_HASH_LEN];
    char v[AUTH_CACHE_VALUE_MAX], name[32];
    int hits = 0;

    auth_gen_observe(g, 1, pf_mono_ms());
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "key-%d", i);
        key_of(name, k[i]);
        auth_cache_put(c, k[i], name, auth_cache_ticket(c));
    }
    for (int i = 0; i < 100; i++)
        hits += auth_cache_get(c, k[i], v, sizeof(v));
    T_ASSERT(hits >= 95); /* a few may share a slot */
    /* the same counter again: still good */
    auth_gen_observe(g, 1, pf_mono_ms());
    T_ASSERT(auth_cache_get(c, k[0], v, sizeof(v)) || auth_cache_get(c, k[1], v, sizeof(v)));
    T_EQ_INT(auth_gen_changes(g), 0);
    /* a revocation somewhere: nothing hits any more */
    auth_gen_observe(g, 2, pf_mono_ms());
    T_EQ_INT(auth_gen_changes(g), 1);
    for (int i = 0; i < 100; i++)
        T_ASSERT(!auth_cache_get(c, k[i], v, sizeof(v)));
    auth_cache_free(c);
    auth_gen_free(g);
}

TEST(fill_across_a_change_is_not_used)
{
    struct auth_gen *g = auth_gen_new();
    struct auth_cache *c = auth_cache_new(g, 64);
    uint8_t k[AUTH_HASH_LEN];
    char v[AUTH_CACHE_VALUE_MAX];
    uint64_t ticket;

    key_of("key-b", k);
    auth_gen_observe(g, 10, pf_mono_ms());
    ticket = auth_cache_ticket(c);   /* a worker starts its database lookup */
    auth_gen_observe(g, 11, pf_mono_ms()); /* meanwhile the key is revoked */
    auth_cache_put(c, k, "agent-b", ticket); /* the lookup had said yes */
    T_ASSERT(!auth_cache_get(c, k, v, sizeof(v)));
    auth_cache_free(c);
    auth_gen_free(g);
}

TEST(stale_generation_never_hits)
{
    struct auth_gen *g = auth_gen_new();
    struct auth_cache *c = auth_cache_new(g, 64);
    uint8_t k[AUTH_HASH_LEN];
    char v[AUTH_CACHE_VALUE_MAX];
    long long now = pf_mono_ms();

    key_of("key-c", k);
    /* the last read that succeeded started just over AUTH_STALE_MS ago */
    auth_gen_observe(g, 3, now - AUTH_STALE_MS - 1);
    auth_cache_put(c, k, "agent-c", auth_cache_ticket(c));
    T_ASSERT(!auth_cache_get(c, k, v, sizeof(v)));
    /* a fresh read of the same counter makes the entry good again */
    auth_gen_observe(g, 3, pf_mono_ms());
    T_ASSERT(auth_cache_get(c, k, v, sizeof(v)));
    T_EQ_STR(v, "agent-c");
    /* an older read finishing late does not make it look fresher or older */
    auth_gen_observe(g, 3, now - 10 * AUTH_STALE_MS);
    T_ASSERT(auth_cache_get(c, k, v, sizeof(v)));
    auth_cache_free(c);
    auth_gen_free(g);
}

TEST(values_and_slots)
{
    struct auth_gen *g = auth_gen_new();
    struct auth_cache *c = auth_cache_new(g, 1); /* every key in one slot */
    uint8_t a[AUTH_HASH_LEN], b[AUTH_HASH_LEN];
    char v[AUTH_CACHE_VALUE_MAX], small[4], longv[AUTH_CACHE_VALUE_MAX + 8];

    T_ASSERT(auth_cache_new(g, 0) == NULL);
    key_of("a", a);
    key_of("b", b);
    auth_gen_observe(g, 0, pf_mono_ms());
    auth_cache_put(c, a, "tenant-1:admin", auth_cache_ticket(c));
    T_ASSERT(auth_cache_get(c, a, v, sizeof(v)));
    T_ASSERT(!auth_cache_get(c, b, v, sizeof(v))); /* same slot, other key */
    T_ASSERT(auth_cache_get(c, a, small, sizeof(small)));
    T_EQ_STR(small, "ten");
    auth_cache_put(c, b, "x", auth_cache_ticket(c));
    T_ASSERT(!auth_cache_get(c, a, v, sizeof(v))); /* replaced */
    T_ASSERT(auth_cache_get(c, b, v, sizeof(v)));
    memset(longv, 'y', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    auth_cache_put(c, a, longv, auth_cache_ticket(c)); /* too long: not cached */
    T_ASSERT(!auth_cache_get(c, a, v, sizeof(v)));
    auth_cache_clear(c);
    T_ASSERT(!auth_cache_get(c, b, v, sizeof(v)));
    auth_cache_free(c);
    auth_gen_free(g);
    auth_cache_free(NULL);
    auth_gen_free(NULL);
}

int main(void)
{
    RUN(no_hit_before_first_read);
    RUN(change_drops_every_entry);
    RUN(fill_across_a_change_is_not_used);
    RUN(stale_generation_never_hits);
    RUN(values_and_slots);
    return T_DONE();
}
