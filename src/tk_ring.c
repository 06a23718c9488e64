/* SPDX-License-Identifier: Apache-2.0 */
#include "tk_ring.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

unsigned int tk_key_secret_len(tk_key_size_e size)
{
    return size == TK_KEY_80 ? 32 : 16;
}

int tk_key_can_open(const tk_key_t *key, apr_time_t now)
{
    return key->not_after == TK_TIME_NONE || now < key->not_after;
}

/* Whether key may seal new tickets at time now: not_before <= now < not_after. */
static int key_can_seal(const tk_key_t *key, apr_time_t now)
{
    return tk_key_can_open(key, now) &&
           (key->not_before == TK_TIME_NONE || key->not_before <= now);
}

apr_interval_time_t tk_key_sealing_age(const tk_key_t *key, apr_time_t now)
{
    return now - (key->not_before > key->since ? key->not_before : key->since);
}

static apr_status_t ring_cleanup(void *ring)
{
    tk_ring_wipe(ring);
    return APR_SUCCESS;
}

tk_ring_t *tk_ring_create(apr_pool_t *p)
{
    tk_ring_t *ring = apr_pcalloc(p, sizeof(*ring));
    apr_pool_cleanup_register(p, ring, ring_cleanup, apr_pool_cleanup_null);
    return ring;
}

apr_status_t tk_ring_add(tk_ring_t *ring, const tk_key_t *key)
{
    if (ring->nkeys >= TK_RING_MAX_KEYS)
        return APR_ENOSPC;
    ring->keys[ring->nkeys] = *key;
    tk_key_set_fingerprint(&ring->keys[ring->nkeys]);
    ring->nkeys++;
    return APR_SUCCESS;
}

apr_status_t tk_key_generate(tk_key_t *key, tk_key_size_e size)
{
    unsigned int len = tk_key_secret_len(size);

    memset(key, 0, sizeof(*key));
    key->size = size;
    if (RAND_bytes(key->name, sizeof(key->name)) != 1 ||
        RAND_priv_bytes(key->hmac_key, (int)len) != 1 ||
        RAND_priv_bytes(key->aes_key, (int)len) != 1) {
        OPENSSL_cleanse(key, sizeof(*key));
        return APR_EGENERAL;
    }
    tk_key_set_fingerprint(key);
    return APR_SUCCESS;
}

apr_status_t tk_ring_generate(tk_ring_t *ring, unsigned int n, tk_key_size_e size)
{
    unsigned int i;

    tk_ring_wipe(ring);
    if (n > TK_RING_MAX_KEYS)
        return APR_ENOSPC;
    for (i = 0; i < n; i++) {
        if (tk_key_generate(&ring->keys[i], size) != APR_SUCCESS) {
            tk_ring_wipe(ring);
            return APR_EGENERAL;
        }
    }
    ring->nkeys = n;
    return APR_SUCCESS;
}

/* A ring read from shared memory may be torn: never index past the array. */
unsigned int tk_ring_size(const tk_ring_t *ring)
{
    return ring->nkeys < TK_RING_MAX_KEYS ? ring->nkeys : TK_RING_MAX_KEYS;
}

const tk_key_t *tk_ring_key(const tk_ring_t *ring, unsigned int i)
{
    return i < tk_ring_size(ring) ? &ring->keys[i] : NULL;
}

int tk_ring_sealing_index(const tk_ring_t *ring, apr_time_t now)
{
    unsigned int i, n = tk_ring_size(ring);
    int best = -1;

    for (i = 0; i < n; i++) {
        const tk_key_t *key = &ring->keys[i];

        if (!key_can_seal(key, now))
            continue;
        if (best < 0 || key->not_before > ring->keys[best].not_before ||
            (key->not_before == ring->keys[best].not_before && i == ring->preferred))
            best = (int)i;
    }
    return best;
}

const tk_key_t *tk_ring_sealing_key(const tk_ring_t *ring, apr_time_t now)
{
    int i = tk_ring_sealing_index(ring, now);

    return i < 0 ? NULL : &ring->keys[i];
}

const tk_key_t *tk_ring_find(const tk_ring_t *ring, const unsigned char *name, apr_time_t now,
                             int *is_sealing)
{
    unsigned int i, n = tk_ring_size(ring);

    for (i = 0; i < n; i++) {
        if (memcmp(ring->keys[i].name, name, TK_KEY_NAME_LEN) == 0) {
            if (!tk_key_can_open(&ring->keys[i], now))
                return NULL;
            *is_sealing = (tk_ring_sealing_index(ring, now) == (int)i);
            return &ring->keys[i];
        }
    }
    return NULL;
}

void tk_ring_carry_since(tk_ring_t *ring, const tk_ring_t *previous, apr_time_t now)
{
    unsigned int i, j;

    for (i = 0; i < tk_ring_size(ring); i++) {
        tk_key_t *key = &ring->keys[i];

        key->since = now;
        for (j = 0; previous && j < tk_ring_size(previous); j++) {
            if (memcmp(previous->keys[j].name, key->name, TK_KEY_NAME_LEN) == 0 &&
                previous->keys[j].since) {
                key->since = previous->keys[j].since;
                break;
            }
        }
    }
}

apr_status_t tk_ring_auto_rotate(tk_ring_t *ring, apr_time_t now, apr_interval_time_t period,
                                 tk_key_size_e size, int *rotated)
{
    int sealing = tk_ring_sealing_index(ring, now);
    unsigned int i;
    tk_ring_t next;

    *rotated = 0;
    if (sealing >= 0 && now - ring->keys[sealing].not_before < period)
        return APR_SUCCESS;
    memset(&next, 0, sizeof(next));
    if (tk_key_generate(&next.keys[0], size) != APR_SUCCESS)
        return APR_EGENERAL;
    next.keys[0].not_before = now;
    next.keys[0].since = now;
    next.nkeys = 1;
    if (sealing >= 0)
        ring->keys[sealing].not_after = now + period;
    for (i = 0; i < tk_ring_size(ring) && next.nkeys < TK_RING_MAX_KEYS; i++) {
        if (tk_key_can_open(&ring->keys[i], now))
            next.keys[next.nkeys++] = ring->keys[i];
    }
    *ring = next;
    OPENSSL_cleanse(&next, sizeof(next));
    *rotated = 1;
    return APR_SUCCESS;
}

void tk_key_set_fingerprint(tk_key_t *key)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    char *out = key->fingerprint;
    unsigned int len = 0, i;

    if (EVP_Digest(key->name, TK_KEY_NAME_LEN, digest, &len, EVP_sha256(), NULL) != 1 ||
        len < 4)
        memset(digest, 0, 4);
    for (i = 0; i < 4; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0xf];
    }
    out[8] = '\0';
}

void tk_ring_wipe(tk_ring_t *ring)
{
    OPENSSL_cleanse(ring, sizeof(*ring));
}
