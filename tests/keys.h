/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic test keys shared by the unit tests. */
#ifndef TEST_KEYS_H
#define TEST_KEYS_H

#include <string.h>

#include "tk_ring.h"

/* A key whose bytes all derive from seed, so two seeds give two different keys. */
static inline tk_key_t make_key(unsigned int seed, tk_key_size_e size)
{
    tk_key_t key;
    unsigned int i;

    memset(&key, 0, sizeof(key));
    key.size = size;
    for (i = 0; i < TK_KEY_NAME_LEN; i++)
        key.name[i] = (unsigned char)(seed * 17 + i);
    for (i = 0; i < tk_key_secret_len(size); i++) {
        key.hmac_key[i] = (unsigned char)(seed * 13 + i + 1);
        key.aes_key[i] = (unsigned char)(seed * 11 + i + 2);
    }
    return key;
}

/* Empties ring and adds the n keys. */
static inline void ring_of(tk_ring_t *ring, const tk_key_t *keys, unsigned int n)
{
    unsigned int i;

    tk_ring_wipe(ring);
    for (i = 0; i < n; i++)
        tk_ring_add(ring, &keys[i]);
}

#endif
