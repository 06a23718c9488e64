/* SPDX-License-Identifier: Apache-2.0 */
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

/* Length of a vhost identity, the digest every ticket carries of the vhost that sealed it. */
#define TK_VHOST_ID_LEN 16

/* Who a vhost is, for tickets: a digest of what tells it apart from every other vhost of
 * the server, and of nothing that differs between identical servers of a farm.  A ticket
 * resumes only on the vhost whose identity it carries. */
typedef struct {
    unsigned char id[TK_VHOST_ID_LEN];
} tk_vhost_id_t;

/* What happened to the ticket a client offered on one connection, for log variables. */
typedef struct {
    int opened;                   /* genuine (its MAC verified) and this vhost's: it resumes */
    int renewed;                  /* ... not the sealing key: a fresh ticket followed */
    int other_vhost;              /* genuine, but sealed for another vhost: refused */
    char key[TK_FINGERPRINT_LEN]; /* the fingerprint of the key that opened it */
} tk_ticket_note_t;

/* The identity of the vhost described by description, a canonical text of what tells it
 * apart (its name, its addresses as configured, ...): the first TK_VHOST_ID_LEN bytes of
 * its SHA-256. */
void tk_vhost_id_make(const char *description, tk_vhost_id_t *id);

/* Answers OpenSSL's ticket-key callback for ssl with the keys in service in slot of
 * store (store NULL: no keys), as they stand now.  Allocates nothing, takes no lock.
 * enc=1: seals under the sealing key, writing its name and a fresh IV; returns 1, or 0
 *        (no ticket) when no key may seal.
 * enc=0: opens a ticket named name with IV iv; returns 0 when no key has that name
 *        (full handshake, new ticket), 1 when the sealing key opened it, and 2 (resume
 *        and issue a fresh ticket under the sealing key) when an older key did, and
 *        always in TLS 1.3.
 * Returns -1 when OpenSSL fails (the handshake fails).
 * Counts tickets sealed and tickets naming no key in service in the slot's counters.  An
 * opened ticket is not genuine yet (OpenSSL checks its MAC afterwards): the key that
 * opened it goes to note (when not NULL) for tk_ticket_admit() to count. */
int tk_ticket_crypt(tk_store_t *store, unsigned int slot, SSL *ssl, tk_ticket_note_t *note,
                    unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                    EVP_MAC_CTX *hctx, int enc);

/* Body of OpenSSL's generate-ticket callback (SSL_CTX_set_session_ticket_cb): stamps the
 * session about to be sealed for ssl with the identity of the vhost that seals it.
 * Returns 1, or 0 when OpenSSL cannot (no ticket is then sent). */
int tk_ticket_stamp(SSL *ssl, const tk_vhost_id_t *vhost);

/* Body of OpenSSL's decrypt-ticket callback, once status says what OpenSSL made of the
 * ticket (its MAC checked): a genuine ticket resumes only when sess carries vhost, the
 * identity of the vhost that SNI selected; one of another vhost, or one carrying no
 * identity, is refused (full handshake and a fresh ticket).  Counts the outcome in slot of
 * store (resumed, renewed or other vhost) and completes note, the one tk_ticket_crypt()
 * filled (NULL: renewals count as resumptions).  Returns what the callback returns to OpenSSL.
 */
SSL_TICKET_RETURN tk_ticket_admit(tk_store_t *store, unsigned int slot, SSL_SESSION *sess,
                                  SSL_TICKET_STATUS status, const tk_vhost_id_t *vhost,
                                  tk_ticket_note_t *note);

#endif
