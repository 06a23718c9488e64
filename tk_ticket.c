#include "tk_ticket.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/rand.h>

/* The MAC key goes to OpenSSL through an OSSL_PARAM, which only points at it: the
 * bytes must stay valid while the parameters are in use.  They are the key's own
 * storage, which outlives this call; OpenSSL copies the key when it sets it. */
static int set_mac_key(const tk_key_t *key, EVP_MAC_CTX *hctx)
{
    OSSL_PARAM params[3];

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)key->hmac_key,
                                                  tk_key_secret_len(key->size));
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params) == 1;
}

static const EVP_CIPHER *key_cipher(const tk_key_t *key)
{
    return key->size == TK_KEY_80 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
}

static int seal(const tk_key_t *key, unsigned char *name, unsigned char *iv,
                EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx)
{
    const EVP_CIPHER *cipher = key_cipher(key);

    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1)
        return -1;
    memcpy(name, key->name, TK_KEY_NAME_LEN);
    if (EVP_EncryptInit_ex(cctx, cipher, NULL, key->aes_key, iv) != 1 ||
        !set_mac_key(key, hctx))
        return -1;
    return 1;
}

int tk_ticket_crypt(const tk_ring_t *ring, SSL *ssl, unsigned char *name, unsigned char *iv,
                    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    const tk_key_t *key;
    int is_sealing;

    if (ring == NULL)
        return 0;
    if (enc) {
        key = tk_ring_sealing_key(ring);
        return key ? seal(key, name, iv, cctx, hctx) : 0;
    }
    key = tk_ring_find(ring, name, &is_sealing);
    if (key == NULL)
        return 0;
    if (!set_mac_key(key, hctx) ||
        EVP_DecryptInit_ex(cctx, key_cipher(key), NULL, key->aes_key, iv) != 1)
        return -1;
    /* A TLS 1.3 client uses a ticket once (RFC 8446, C.4), and OpenSSL sends no new
     * ticket after a TLS 1.3 resumption when the callback returns 1. */
    return (is_sealing && SSL_version(ssl) < TLS1_3_VERSION) ? 1 : 2;
}
