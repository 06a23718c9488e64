/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the key-file parser, every format.  The first input byte picks the
 * format, the rest is the file.  Beyond crashes and sanitizer reports, it checks what a
 * parsed ring promises (1 to 32 keys, sizes, a key that seals) and that writing it as
 * text and reading it back gives the same keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>

#include "tk_keyfile.h"

#define NOW apr_time_from_sec(2000000000)

static apr_pool_t *pool;

static int same_key(const tk_key_t *a, const tk_key_t *b)
{
    return a->size == b->size && memcmp(a->name, b->name, TK_KEY_NAME_LEN) == 0 &&
           memcmp(a->hmac_key, b->hmac_key, TK_KEY_SECRET_MAX) == 0 &&
           memcmp(a->aes_key, b->aes_key, TK_KEY_SECRET_MAX) == 0 &&
           a->not_before / APR_USEC_PER_SEC == b->not_before / APR_USEC_PER_SEC &&
           a->not_after / APR_USEC_PER_SEC == b->not_after / APR_USEC_PER_SEC;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tk_ring_t ring, back;
    unsigned char *text;
    apr_size_t len;
    const char *why = NULL;
    unsigned int i;

    if (pool == NULL) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    if (size < 1)
        return 0;
    if (tk_keyfile_parse(pool, data + 1, size - 1, (tk_format_e)(data[0] % 5), NOW, &ring,
                         &why) != APR_SUCCESS) {
        if (why == NULL || *why == '\0' || ring.nkeys != 0)
            abort(); /* a refusal says why and leaves no key */
        apr_pool_clear(pool);
        return 0;
    }
    if (ring.nkeys < 1 || ring.nkeys > TK_RING_MAX_KEYS ||
        tk_ring_sealing_index(&ring, NOW) < 0)
        abort();
    for (i = 0; i < ring.nkeys; i++)
        if ((ring.keys[i].size != TK_KEY_48 && ring.keys[i].size != TK_KEY_80) ||
            strlen(ring.keys[i].fingerprint) != 8)
            abort();
    if (tk_keyfile_serialize(pool, &ring, TK_FORMAT_TEXT, &text, &len, &why) != APR_SUCCESS ||
        tk_keyfile_parse(pool, text, len, TK_FORMAT_TEXT, NOW, &back, &why) != APR_SUCCESS ||
        back.nkeys != ring.nkeys)
        abort();
    for (i = 0; i < ring.nkeys; i++)
        if (!same_key(&ring.keys[i], &back.keys[i]))
            abort();
    apr_pool_clear(pool);
    return 0;
}
