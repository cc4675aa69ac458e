/* SPDX-License-Identifier: MIT */
/* auth.h: the collector's secrets: random agent ids and node keys, the
 * hash the database stores instead of a key, and the constant-time
 * comparison every secret check goes through (enroll secret, admin token).
 * Randomness comes from getrandom(2), which never blocks once the kernel
 * pool is initialised and is safe to call from any thread. */
#ifndef PF_AUTH_H
#define PF_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define AUTH_UUID_LEN 37     /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" + NUL */
#define AUTH_KEY_BYTES 32    /* 256 random bits per node key */
#define AUTH_KEY_LEN 65      /* hex of AUTH_KEY_BYTES + NUL */
#define AUTH_HASH_LEN 32     /* SHA-256 */

/* Fills buf with n random bytes. PF_IO when the kernel refuses. */
enum pf_rc auth_random(void *buf, size_t n);

/* Writes a fresh random (version 4) UUID, lower case, into out. */
enum pf_rc auth_new_uuid(char out[AUTH_UUID_LEN]);

/* Writes a fresh node key (AUTH_KEY_BYTES random bytes as lower-case hex). */
enum pf_rc auth_new_key(char out[AUTH_KEY_LEN]);

/* SHA-256 of the len bytes at s into out. */
void auth_hash(const void *s, size_t len, uint8_t out[AUTH_HASH_LEN]);

/* True when the strings a and b are equal. Takes the same time whatever
 * their contents and lengths (it compares their SHA-256 digests with a
 * constant-time loop), so a remote caller cannot learn a secret byte by
 * byte from response times. NULL equals nothing. */
bool auth_equal(const char *a, const char *b);

/* True when s is a canonical lower-case UUID as auth_new_uuid writes. */
bool auth_uuid_valid(const char *s);

#endif
