#include "tk_ring.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

unsigned int tk_key_secret_len(tk_key_size_e size)
{
    return size == TK_KEY_80 ? 32 : 16;
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
    tk_key_fingerprint(key->name, ring->keys[ring->nkeys].fingerprint);
    ring->nkeys++;
    return APR_SUCCESS;
}

apr_status_t tk_ring_generate(tk_ring_t *ring, unsigned int n, tk_key_size_e size)
{
    unsigned int i;

    tk_ring_wipe(ring);
    if (n > TK_RING_MAX_KEYS)
        return APR_ENOSPC;
    for (i = 0; i < n; i++) {
        tk_key_t *key = &ring->keys[i];
        unsigned int len = tk_key_secret_len(size);

        key->size = size;
        if (RAND_bytes(key->name, sizeof(key->name)) != 1 ||
            RAND_priv_bytes(key->hmac_key, (int)len) != 1 ||
            RAND_priv_bytes(key->aes_key, (int)len) != 1) {
            tk_ring_wipe(ring);
            return APR_EGENERAL;
        }
        tk_key_fingerprint(key->name, key->fingerprint);
    }
    ring->nkeys = n;
    ring->sealing = 0;
    return APR_SUCCESS;
}

const tk_key_t *tk_ring_sealing_key(const tk_ring_t *ring)
{
    return ring->nkeys ? &ring->keys[ring->sealing] : NULL;
}

const tk_key_t *tk_ring_find(const tk_ring_t *ring, const unsigned char *name, int *is_sealing)
{
    unsigned int i;

    for (i = 0; i < ring->nkeys; i++) {
        if (memcmp(ring->keys[i].name, name, TK_KEY_NAME_LEN) == 0) {
            *is_sealing = (i == ring->sealing);
            return &ring->keys[i];
        }
    }
    return NULL;
}

void tk_key_fingerprint(const unsigned char *name, char out[TK_FINGERPRINT_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    if (EVP_Digest(name, TK_KEY_NAME_LEN, digest, &len, EVP_sha256(), NULL) != 1 || len < 4)
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
