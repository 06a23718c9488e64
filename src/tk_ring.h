/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ticket keys and the key ring: the set of keys one vhost seals and opens
 * session tickets with.  APR and OpenSSL only; no httpd.
 *
 * A ring is a flat value of fixed size (no pointers), so that it can be copied as a
 * whole and published in shared memory.  Its readers tolerate a torn copy (indices are
 * clamped), because a shared-memory reader may see one before it retries.
 */
#ifndef TK_RING_H
#define TK_RING_H

#include <apr_pools.h>
#include <apr_time.h>

#define TK_KEY_NAME_LEN   16
#define TK_KEY_SECRET_MAX 32
#define TK_RING_MAX_KEYS  32
/* Printable fingerprint of a key name: 8 hex digits and a NUL. */
#define TK_FINGERPRINT_LEN 9
/* A time bound that is not set. */
#define TK_TIME_NONE 0

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
    apr_time_t not_before; /* seals from then on; TK_TIME_NONE: always could */
    apr_time_t not_after;  /* neither seals nor opens from then on; TK_TIME_NONE: never ends */
    apr_time_t since;      /* when it was first put in service (not part of key files) */
    char fingerprint[TK_FINGERPRINT_LEN]; /* set by tk_ring_add() and tk_ring_generate() */
} tk_key_t;

typedef struct tk_ring_t {
    unsigned int nkeys;
    /* The key that seals when validity windows do not decide (the first for most
     * formats, the penultimate for HAProxy's). */
    unsigned int preferred;
    tk_key_t keys[TK_RING_MAX_KEYS];
} tk_ring_t;

/* Length of the HMAC key and of the AES key of a key of this size. */
unsigned int tk_key_secret_len(tk_key_size_e size);

/* Whether key may open tickets at time now: now < not_after.  A key whose not_before
 * is still ahead already opens, so that a server whose clock runs late opens the
 * tickets of one whose clock runs early. */
int tk_key_can_open(const tk_key_t *key, apr_time_t now);

/* How long key has been the sealing key at time now: since it was put in service or
 * reached its not_before, whichever came last. */
apr_interval_time_t tk_key_sealing_age(const tk_key_t *key, apr_time_t now);

/* Sets each key's since: that of the key of the same name in previous (a ring in
 * service until now; may be NULL), or now for a key new to service. */
void tk_ring_carry_since(tk_ring_t *ring, const tk_ring_t *previous, apr_time_t now);

/* How many keys ring holds, and its key i (NULL past the end): what callers outside the core
 * read of a ring, rather than its fields. */
unsigned int tk_ring_size(const tk_ring_t *ring);
const tk_key_t *tk_ring_key(const tk_ring_t *ring, unsigned int i);

/* An empty ring from pool p; its keys are wiped (OPENSSL_cleanse) when p goes. */
tk_ring_t *tk_ring_create(apr_pool_t *p);

/* Appends a copy of key and sets its fingerprint; returns APR_ENOSPC when the ring
 * already holds TK_RING_MAX_KEYS. */
apr_status_t tk_ring_add(tk_ring_t *ring, const tk_key_t *key);

/* Sets key's fingerprint from its name (the first 4 bytes of the name's SHA-256, in hex):
 * it identifies a key in logs without revealing any secret.  For a key made outside a
 * ring (tk_ring_add() and tk_key_generate() set it themselves). */
void tk_key_set_fingerprint(tk_key_t *key);

/* Makes a random key of the given size, with no validity window.  Returns
 * APR_EGENERAL when the random generator fails. */
apr_status_t tk_key_generate(tk_key_t *key, tk_key_size_e size);

/* Fills the ring with n random keys of the given size, the first sealing.
 * Returns APR_EGENERAL when the random generator fails (the ring is then empty). */
apr_status_t tk_ring_generate(tk_ring_t *ring, unsigned int n, tk_key_size_e size);

/* Index of the key that seals at time now, or -1 when no key may seal then.  Among the
 * keys that may seal, the one with the latest not_before wins; on a tie, the preferred
 * key if it is among them, else the first in order. */
int tk_ring_sealing_index(const tk_ring_t *ring, apr_time_t now);

/* The key that seals at time now, or NULL. */
const tk_key_t *tk_ring_sealing_key(const tk_ring_t *ring, apr_time_t now);

/* The key with this name that may open tickets at time now, or NULL.  *is_sealing
 * tells whether it is also the key that seals now. */
const tk_key_t *tk_ring_find(const tk_ring_t *ring, const unsigned char *name, apr_time_t now,
                             int *is_sealing);

/* Automatic rotation for keys nobody configured: when the sealing key is period old or
 * older (or the ring is empty), adds a new random key that seals from now, lets the
 * previous sealing key open for one more period, and drops expired keys.
 * Returns APR_SUCCESS with *rotated set, or APR_EGENERAL when the random generator
 * fails (the ring is then unchanged). */
apr_status_t tk_ring_auto_rotate(tk_ring_t *ring, apr_time_t now, apr_interval_time_t period,
                                 tk_key_size_e size, int *rotated);

/* Wipes every key of the ring and empties it. */
void tk_ring_wipe(tk_ring_t *ring);

#endif
