/* SPDX-License-Identifier: MIT */
/* test_auth.c: the collector's secrets: agent ids are random version-4
 * UUIDs, node keys 256 random bits in hex, SHA-256 is SHA-256, and the
 * constant-time comparison says equal exactly when the strings are. */
#include <string.h>

#include "auth.h"
#include "test.h"

TEST(uuid_shape)
{
    char a[AUTH_UUID_LEN], b[AUTH_UUID_LEN];

    T_EQ_INT(auth_new_uuid(a), PF_OK);
    T_EQ_INT(auth_new_uuid(b), PF_OK);
    T_EQ_INT(strlen(a), 36);
    T_ASSERT(auth_uuid_valid(a));
    T_EQ_INT(a[14], '4');                          /* version 4 */
    T_ASSERT(strchr("89ab", a[19]) != NULL);       /* RFC 4122 variant */
    T_ASSERT(strcmp(a, b) != 0);
    T_ASSERT(!auth_uuid_valid("9b2c..."));
    T_ASSERT(!auth_uuid_valid("9B2C0000-0000-4000-8000-000000000001"));
    T_ASSERT(!auth_uuid_valid("9b2c0000-0000-4000-8000-0000000000011"));
    T_ASSERT(auth_uuid_valid("9b2c0000-0000-4000-8000-000000000001"));
}

TEST(keys_are_random)
{
    static char keys[200][AUTH_KEY_LEN];

    for (int i = 0; i < 200; i++) {
        T_EQ_INT(auth_new_key(keys[i]), PF_OK);
        T_EQ_INT(strlen(keys[i]), 2 * AUTH_KEY_BYTES);
        T_EQ_INT(strspn(keys[i], "0123456789abcdef"), 2 * AUTH_KEY_BYTES);
        for (int k = 0; k < i; k++)
            T_ASSERT(strcmp(keys[i], keys[k]) != 0);
    }
}

TEST(sha256)
{
    static const uint8_t abc[AUTH_HASH_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t h[AUTH_HASH_LEN];

    auth_hash("abc", 3, h);
    T_ASSERT(memcmp(h, abc, sizeof(h)) == 0);
}

TEST(equal)
{
    T_ASSERT(auth_equal("secret-token", "secret-token"));
    T_ASSERT(!auth_equal("secret-token", "secret-tokeN"));
    T_ASSERT(!auth_equal("secret-token", "secret-token "));
    T_ASSERT(!auth_equal("secret-token", "secret"));
    T_ASSERT(!auth_equal("", "x"));
    T_ASSERT(auth_equal("", ""));
    T_ASSERT(!auth_equal(NULL, "x"));
    T_ASSERT(!auth_equal("x", NULL));
    T_ASSERT(!auth_equal(NULL, NULL));
}

int main(void)
{
    RUN(uuid_shape);
    RUN(keys_are_random);
    RUN(sha256);
    RUN(equal);
    return T_DONE();
}
