/*
 * Ticket keys and the key ring: the set of keys one vhost seals and opens
 * session tickets with.  APR and OpenSSL only; no httpd.
 *
 * A ring is a flat value of fixed size (no pointers), so that it can be
 * copied as a whole, e.g. into shared memory.
 */
#ifndef TK_RING_H
#define TK_RING_H

#include <apr_pools.h>

#define TK_KEY_NAME_LEN   16
#define TK_KEY_SECRET_MAX 32
#define TK_RING_MAX_KEYS  32
/* Printable fingerprint of a key name: 8 hex digits and a NUL. */
#define TK_FINGERPRINT_LEN 9

/* The two key sizes, by the length of the key in a file. */
typedef enum {
    TK_KEY_48 = 48, /* 16-byte name, HMAC-SHA256 with a 16-byte key, AES-128-CBC */
    TK_KEY_80 = 80  /* 16-byte name, HMAC-SHA256 with a 32-byte key, AES-256-CBC */
} tk_key_size_e;

typedef struct tk_key_t {
    unsigned char name[TK_KEY_NAME_LEN];
    unsigned char hmac_key[TK_KEY_SECRET_MAX];
    unsigned char aes_key[TK_KEY_SECRET_MAX];
    tk_key_size_e size;
    char fingerprint[TK_FINGERPRINT_LEN]; /* set by tk_ring_add() and tk_ring_generate() */
} tk_key_t;

typedef struct tk_ring_t {
    unsigned int nkeys;
    unsigned int sealing; /* index of the key that seals new tickets */
    tk_key_t keys[TK_RING_MAX_KEYS];
} tk_ring_t;

/* Length of the HMAC key and of the AES key of a key of this size. */
unsigned int tk_key_secret_len(tk_key_size_e size);

/* An empty ring from pool p; its keys are wiped (OPENSSL_cleanse) when p goes. */
tk_ring_t *tk_ring_create(apr_pool_t *p);

/* Appends a copy of key and sets its fingerprint; returns APR_ENOSPC when the ring already
 * holds TK_RING_MAX_KEYS. */
apr_status_t tk_ring_add(tk_ring_t *ring, const tk_key_t *key);

/* Fills the ring with n random keys of the given size, the first sealing.
 * Returns APR_EGENERAL when the random generator fails (the ring is then empty). */
apr_status_t tk_ring_generate(tk_ring_t *ring, unsigned int n, tk_key_size_e size);

/* The key that seals new tickets, or NULL for an empty ring. */
const tk_key_t *tk_ring_sealing_key(const tk_ring_t *ring);

/* The key with this name, or NULL.  *is_sealing tells whether it is the sealing key. */
const tk_key_t *tk_ring_find(const tk_ring_t *ring, const unsigned char *name, int *is_sealing);

/* Writes the fingerprint of a key name (first 4 bytes of its SHA-256, in hex).
 * It identifies a key in logs without revealing any secret. */
void tk_key_fingerprint(const unsigned char *name, char out[TK_FINGERPRINT_LEN]);

/* Wipes every key of the ring and empties it. */
void tk_ring_wipe(tk_ring_t *ring);

#endif
