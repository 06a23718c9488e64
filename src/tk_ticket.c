/* SPDX-License-Identifier: Apache-2.0 */
#include "tk_ticket.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/* The MAC key goes to OpenSSL through an OSSL_PARAM, which only points at it: the
 * bytes must stay valid while the parameters are in use (mod_ssl's own ticket HMAC
 * points at a stack buffer that is gone by then).  Here they are used at once: OpenSSL
 * copies the key into hctx within EVP_MAC_CTX_set_params(). */
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

int tk_ticket_crypt(tk_store_t *store, unsigned int slot, SSL *ssl, tk_ticket_note_t *note,
                    unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                    EVP_MAC_CTX *hctx, int enc)
{
    apr_time_t now = apr_time_now();
    tk_key_t key;
    int is_sealing = 0, rv;

    if (store == NULL)
        return 0;
    if (enc) {
        if (!tk_store_sealing_key(store, slot, now, &key))
            return 0;
        rv = seal(&key, name, iv, cctx, hctx);
        if (rv == 1)
            tk_store_count(store, slot, TK_COUNT_SEALED);
    } else if (!tk_store_find_key(store, slot, name, now, &key, &is_sealing)) {
        tk_store_count(store, slot, TK_COUNT_UNKNOWN_KEY);
        return 0;
    } else if (!set_mac_key(&key, hctx) ||
               EVP_DecryptInit_ex(cctx, key_cipher(&key), NULL, key.aes_key, iv) != 1) {
        rv = -1;
    } else {
        if (note) {
            note->opened = 0;
            note->renewed = !is_sealing;
            memcpy(note->key, key.fingerprint, TK_FINGERPRINT_LEN);
        }
        /* A TLS 1.3 client uses a ticket once (RFC 8446, C.4), and OpenSSL sends no new
         * ticket after a TLS 1.3 resumption when the callback returns 1. */
        rv = (is_sealing && SSL_version(ssl) < TLS1_3_VERSION) ? 1 : 2;
    }
    OPENSSL_cleanse(&key, sizeof(key));
    return rv;
}

void tk_vhost_id_make(const char *description, tk_vhost_id_t *id)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *)description, strlen(description), digest);
    memcpy(id->id, digest, TK_VHOST_ID_LEN);
}

int tk_ticket_stamp(SSL *ssl, const tk_vhost_id_t *vhost)
{
    /* In TLS 1.3 this is the copy of the session that the ticket will carry. */
    SSL_SESSION *sess = SSL_get_session(ssl);

    return sess != NULL && SSL_SESSION_set1_ticket_appdata(sess, vhost->id, TK_VHOST_ID_LEN);
}

SSL_TICKET_RETURN tk_ticket_admit(tk_store_t *store, unsigned int slot, SSL_SESSION *sess,
                                  SSL_TICKET_STATUS status, const tk_vhost_id_t *vhost,
                                  tk_ticket_note_t *note)
{
    tk_ticket_note_t unnoted = {0};
    void *carried = NULL;
    size_t len = 0;

    if (note == NULL)
        note = &unnoted;
    /* Not opened, or its MAC failed: OpenSSL goes on with a full handshake and a fresh
     * ticket. */
    if (status != SSL_TICKET_SUCCESS && status != SSL_TICKET_SUCCESS_RENEW)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    if (sess == NULL || !SSL_SESSION_get0_ticket_appdata(sess, &carried, &len) ||
        len != TK_VHOST_ID_LEN || CRYPTO_memcmp(carried, vhost->id, TK_VHOST_ID_LEN) != 0) {
        note->other_vhost = 1;
        if (store)
            tk_store_count(store, slot, TK_COUNT_OTHER_VHOST);
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    note->opened = 1;
    if (store)
        tk_store_count(store, slot, note->renewed ? TK_COUNT_RENEWED : TK_COUNT_RESUMED);
    return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}
