/*
 * Sealing and opening session tickets with the keys of a store slot: the body of an
 * OpenSSL ticket-key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb) once the caller
 * has found the slot of the connection's vhost.  APR and OpenSSL only; no httpd.
 */
#ifndef TK_TICKET_H
#define TK_TICKET_H

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "tk_store.h"

/* What happened to the ticket a client offered on one connection, for log variables. */
typedef struct {
    int opened;                   /* a key in service opened it */
    int renewed;                  /* ... not the sealing key: a fresh ticket followed */
    char key[TK_FINGERPRINT_LEN]; /* the fingerprint of the key that opened it */
} tk_ticket_note_t;

/* Answers OpenSSL's ticket-key callback for ssl with the keys in service in slot of
 * store (store NULL: no keys), as they stand now.  Allocates nothing, takes no lock.
 * enc=1: seals under the sealing key, writing its name and a fresh IV; returns 1, or 0
 *        (no ticket) when no key may seal.
 * enc=0: opens a ticket named name with IV iv; returns 0 when no key has that name
 *        (full handshake, new ticket), 1 when the sealing key opened it, and 2 (resume
 *        and issue a fresh ticket under the sealing key) when an older key did, and
 *        always in TLS 1.3.
 * Returns -1 when OpenSSL fails (the handshake fails).
 * Counts what it did in the slot's counters, and records an opened ticket in note
 * (when not NULL). */
int tk_ticket_crypt(tk_store_t *store, unsigned int slot, SSL *ssl, tk_ticket_note_t *note,
                    unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                    EVP_MAC_CTX *hctx, int enc);

#endif
