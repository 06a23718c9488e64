/* SPDX-License-Identifier: Apache-2.0 */
/* Tickets sealed and opened through real in-memory TLS handshakes, with keys in a store. */
#include "unit.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "keys.h"
#include "tk_ticket.h"

/* --- tickets through real handshakes, over an in-memory BIO pair --- */

static tk_store_t *server_store;   /* slot 0 holds the keys the server's callback uses */
static tk_ticket_note_t last_note; /* what the callback noted last */

static int test_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
                          EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    return tk_ticket_crypt(server_store, 0, ssl, &last_note, name, iv, cctx, hctx, enc);
}

/* The vhost identity of a server context is its ex_data 0 (NULL: tickets carry none). */
static int test_stamp_cb(SSL *ssl, void *arg)
{
    const tk_vhost_id_t *vhost = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0);

    (void)arg;
    return vhost ? tk_ticket_stamp(ssl, vhost) : 1;
}

static SSL_TICKET_RETURN test_admit_cb(SSL *ssl, SSL_SESSION *sess, const unsigned char *name,
                                       size_t name_len, SSL_TICKET_STATUS status, void *arg)
{
    (void)name, (void)name_len, (void)arg;
    return tk_ticket_admit(server_store, 0, sess, status,
                           SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0), &last_note);
}

static tk_vhost_id_t vhost_a, vhost_b;

/* Puts ring in service for the server. */
static void serve(const tk_ring_t *ring)
{
    if (server_store == NULL)
        tk_store_create(&server_store, 1, unit_pool_global);
    tk_store_publish(server_store, 0, ring);
}

/* A server context of the vhost of identity vhost, or of none (NULL): a server that seals
 * with the same keys but stamps no identity (mod_ssl, an earlier version). */
static SSL_CTX *vhost_ctx(const tk_vhost_id_t *vhost)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *subject = X509_get_subject_name(x);

    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)"unit.test",
                               -1, -1, 0);
    X509_set_issuer_name(x, subject);
    X509_set_pubkey(x, pkey);
    X509_sign(x, pkey, EVP_sha256());
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, pkey);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, test_ticket_cb);
    SSL_CTX_set_ex_data(ctx, 0, (void *)vhost);
    if (vhost)
        SSL_CTX_set_session_ticket_cb(ctx, test_stamp_cb, test_admit_cb, NULL);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return ctx;
}

static SSL_CTX *server_ctx(void)
{
    return vhost_ctx(&vhost_a);
}

typedef struct {
    int reused;
    SSL_SESSION *session; /* the newest session the client holds */
} handshake_result;

/* One connection from a client offering `offer` (or nothing); reads application data so
 * that TLS 1.3 tickets, which come after the handshake, arrive. */
static handshake_result connect_once(SSL_CTX *sctx, int version, SSL_SESSION *offer)
{
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL *server = SSL_new(sctx), *client;
    BIO *sbio, *cbio;
    handshake_result res = {0, NULL};
    char buf[16];
    int i, cdone = 0, sdone = 0;

    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);
    client = SSL_new(cctx);
    BIO_new_bio_pair(&sbio, 0, &cbio, 0);
    SSL_set_bio(server, sbio, sbio);
    SSL_set_bio(client, cbio, cbio);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    if (offer)
        SSL_set_session(client, offer);
    for (i = 0; i < 50 && !(cdone && sdone); i++) {
        cdone = cdone || SSL_do_handshake(client) == 1;
        sdone = sdone || SSL_do_handshake(server) == 1;
    }
    CHECK(cdone && sdone);
    SSL_write(server, "x", 1);
    CHECK(SSL_read(client, buf, sizeof(buf)) == 1);
    res.reused = SSL_session_reused(client);
    res.session = SSL_get1_session(client);
    /* OpenSSL marks the session of a connection freed without close_notify as not
     * resumable, as it would a broken connection's. */
    SSL_shutdown(client);
    SSL_shutdown(server);
    SSL_free(client);
    SSL_free(server);
    SSL_CTX_free(cctx);
    return res;
}

/* The ticket's key name is the key's, its HMAC verifies with the key's HMAC bytes and
 * its body decrypts with the key's AES bytes: OpenSSL's layout is
 * name(16) | IV(16) | encrypted session | HMAC-SHA256(name | IV | encrypted). */
static int ticket_sealed_by(SSL_SESSION *sess, const tk_key_t *key)
{
    const unsigned char *tick;
    size_t len, mac_len = 0;
    unsigned char mac[EVP_MAX_MD_SIZE], plain[4096];
    int ok, out = 0, fin = 0;
    EVP_CIPHER_CTX *c;

    SSL_SESSION_get0_ticket(sess, &tick, &len);
    if (len < 16 + 16 + 16 + 32 || len > sizeof(plain) || memcmp(tick, key->name, 16) != 0)
        return 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->hmac_key,
                   tk_key_secret_len(key->size), tick, len - 32, mac, sizeof(mac), &mac_len) ||
        mac_len != 32 || memcmp(mac, tick + len - 32, 32) != 0)
        return 0;
    c = EVP_CIPHER_CTX_new();
    ok = EVP_DecryptInit_ex(c, key->size == TK_KEY_80 ? EVP_aes_256_cbc() : EVP_aes_128_cbc(),
                            NULL, key->aes_key, tick + 16) == 1 &&
         EVP_DecryptUpdate(c, plain, &out, tick + 32, (int)(len - 64)) == 1 &&
         EVP_DecryptFinal_ex(c, plain + out, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok && out + fin > 0;
}

static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};

static void tickets_sealed_with_the_key_and_resumed(void)
{
    static const tk_key_size_e sizes[] = {TK_KEY_48, TK_KEY_80};
    SSL_CTX *sctx = server_ctx();
    tk_ring_t ring;
    unsigned int v, s;

    for (s = 0; s < 2; s++) {
        tk_key_t key = make_key(6 + s, sizes[s]);

        ring_of(&ring, &key, 1);
        serve(&ring);
        for (v = 0; v < 2; v++) {
            handshake_result full = connect_once(sctx, versions[v], NULL);
            handshake_result again = connect_once(sctx, versions[v], full.session);

            CHECK(!full.reused);
            CHECK(ticket_sealed_by(full.session, &ring.keys[0]));
            CHECK(again.reused);
            SSL_SESSION_free(full.session);
            SSL_SESSION_free(again.session);
        }
    }
    SSL_CTX_free(sctx);
}

static void ticket_of_an_older_key_resumes_and_is_renewed(void)
{
    tk_key_t old_key = make_key(8, TK_KEY_48), new_key = make_key(9, TK_KEY_80);
    tk_key_t rotated[2] = {new_key, old_key};
    SSL_CTX *sctx = server_ctx();
    tk_ring_t before, after;
    unsigned int v;

    ring_of(&before, &old_key, 1);
    ring_of(&after, rotated, 2);
    for (v = 0; v < 2; v++) {
        handshake_result full, renewed;

        serve(&before);
        full = connect_once(sctx, versions[v], NULL);
        serve(&after);
        renewed = connect_once(sctx, versions[v], full.session);
        CHECK(renewed.reused);
        CHECK(ticket_sealed_by(full.session, &after.keys[1]));
        CHECK(ticket_sealed_by(renewed.session, &after.keys[0]));
        SSL_SESSION_free(full.session);
        SSL_SESSION_free(renewed.session);
    }
    SSL_CTX_free(sctx);
}

static void ticket_of_an_unknown_key_gets_a_full_handshake(void)
{
    tk_key_t gone = make_key(10, TK_KEY_48), current = make_key(11, TK_KEY_48);
    SSL_CTX *sctx = server_ctx();
    tk_ring_t before, after;
    unsigned int v;

    ring_of(&before, &gone, 1);
    ring_of(&after, &current, 1);
    for (v = 0; v < 2; v++) {
        handshake_result full, again;

        serve(&before);
        full = connect_once(sctx, versions[v], NULL);
        serve(&after);
        again = connect_once(sctx, versions[v], full.session);
        CHECK(!again.reused);
        CHECK(ticket_sealed_by(again.session, &after.keys[0]));
        SSL_SESSION_free(full.session);
        SSL_SESSION_free(again.session);
    }
    SSL_CTX_free(sctx);
}

static void no_keys_means_no_ticket(void)
{
    SSL_CTX *sctx = server_ctx();
    tk_ring_t empty;
    unsigned int v;

    tk_ring_wipe(&empty);
    serve(&empty);
    for (v = 0; v < 2; v++) {
        handshake_result full = connect_once(sctx, versions[v], NULL);
        const unsigned char *tick;
        size_t len = 1;

        SSL_SESSION_get0_ticket(full.session, &tick, &len);
        CHECK(len == 0);
        SSL_SESSION_free(full.session);
    }
    SSL_CTX_free(sctx);
}

static apr_uint64_t count(tk_counter_e which)
{
    tk_counters_t c;

    tk_store_counters(server_store, 0, &c);
    return c.n[which];
}

/* Runs one handshake and returns how much each counter moved. */
static handshake_result counted(SSL_CTX *sctx, int version, SSL_SESSION *offer,
                                apr_uint64_t *moved)
{
    apr_uint64_t before[TK_COUNTERS];
    handshake_result r;
    int i;

    for (i = 0; i < TK_COUNTERS; i++)
        before[i] = count((tk_counter_e)i);
    memset(&last_note, 0, sizeof(last_note));
    r = connect_once(sctx, version, offer);
    for (i = 0; i < TK_COUNTERS; i++)
        moved[i] = count((tk_counter_e)i) - before[i];
    return r;
}

static void counters_and_notes_say_what_the_callback_did(void)
{
    tk_key_t old_key = make_key(12, TK_KEY_48), new_key = make_key(13, TK_KEY_48);
    tk_key_t rotated[2] = {new_key, old_key};
    SSL_CTX *sctx = server_ctx();
    tk_ring_t before, after, other;
    apr_uint64_t m[TK_COUNTERS];
    handshake_result full, again;
    tk_key_t stranger = make_key(14, TK_KEY_48);
    unsigned int v;

    ring_of(&before, &old_key, 1);
    ring_of(&after, rotated, 2);
    ring_of(&other, &stranger, 1);
    for (v = 0; v < 2; v++) {
        serve(&before);
        full = counted(sctx, versions[v], NULL, m);
        /* OpenSSL sends one ticket after a TLS 1.2 handshake, two after a TLS 1.3 one */
        CHECK(m[TK_COUNT_SEALED] == (v ? 2 : 1) && m[TK_COUNT_RESUMED] == 0);
        CHECK(!last_note.opened);

        again = counted(sctx, versions[v], full.session, m);
        CHECK(again.reused && m[TK_COUNT_RESUMED] == 1 && m[TK_COUNT_RENEWED] == 0);
        CHECK(last_note.opened && !last_note.renewed);
        CHECK_STR(last_note.key, before.keys[0].fingerprint);
        /* no fresh ticket after a TLS 1.2 resumption with the sealing key; one in TLS 1.3 */
        CHECK(m[TK_COUNT_SEALED] == v);
        SSL_SESSION_free(again.session);

        serve(&after);
        again = counted(sctx, versions[v], full.session, m);
        CHECK(again.reused && m[TK_COUNT_RENEWED] == 1 && m[TK_COUNT_RESUMED] == 0);
        CHECK(m[TK_COUNT_SEALED] == 1); /* the renewal */
        CHECK(last_note.opened && last_note.renewed);
        CHECK_STR(last_note.key, after.keys[1].fingerprint);
        SSL_SESSION_free(again.session);

        serve(&other);
        again = counted(sctx, versions[v], full.session, m);
        CHECK(!again.reused && m[TK_COUNT_UNKNOWN_KEY] == 1 && !last_note.opened);
        SSL_SESSION_free(again.session);
        SSL_SESSION_free(full.session);
    }
    SSL_CTX_free(sctx);
}

/* A copy of sess whose ticket has one byte changed at offset at (a forgery: the key name
 * stays, the MAC no longer verifies). */
static SSL_SESSION *forged(SSL_SESSION *sess, size_t at)
{
    unsigned char der[8192], *end = der;
    const unsigned char *tick, *in = der;
    size_t len, i;
    int n = i2d_SSL_SESSION(sess, NULL);

    SSL_SESSION_get0_ticket(sess, &tick, &len);
    if (n <= 0 || (size_t)n > sizeof(der) || at >= len)
        return NULL;
    i2d_SSL_SESSION(sess, &end);
    for (i = 0; i + len <= (size_t)n; i++) {
        if (memcmp(der + i, tick, len) == 0) {
            der[i + at] ^= 0x5a;
            return d2i_SSL_SESSION(NULL, &in, n);
        }
    }
    return NULL;
}

static void a_ticket_resumes_only_on_the_vhost_that_sealed_it(void)
{
    tk_key_t key = make_key(15, TK_KEY_80);
    SSL_CTX *a = vhost_ctx(&vhost_a), *b = vhost_ctx(&vhost_b), *anonymous = vhost_ctx(NULL);
    apr_uint64_t m[TK_COUNTERS];
    handshake_result full, other, back;
    tk_ring_t ring;
    unsigned int v;

    ring_of(&ring, &key, 1);
    serve(&ring);
    for (v = 0; v < 2; v++) {
        full = connect_once(a, versions[v], NULL);
        /* same keys, other vhost: genuine, but refused, counted and noted */
        other = counted(b, versions[v], full.session, m);
        CHECK(!other.reused);
        CHECK(m[TK_COUNT_OTHER_VHOST] == 1 && m[TK_COUNT_RESUMED] == 0 &&
              m[TK_COUNT_RENEWED] == 0 && m[TK_COUNT_UNKNOWN_KEY] == 0);
        CHECK(last_note.other_vhost && !last_note.opened);
        /* ... and the fresh ticket it got is vhost b's */
        back = counted(b, versions[v], other.session, m);
        CHECK(back.reused && m[TK_COUNT_RESUMED] == 1 && last_note.opened);
        SSL_SESSION_free(back.session);
        back = connect_once(a, versions[v], other.session);
        CHECK(!back.reused);
        SSL_SESSION_free(back.session);
        /* the ticket still resumes where it came from */
        back = counted(a, versions[v], full.session, m);
        CHECK(back.reused && m[TK_COUNT_RESUMED] == 1 && m[TK_COUNT_OTHER_VHOST] == 0);
        SSL_SESSION_free(back.session);
        SSL_SESSION_free(other.session);
        SSL_SESSION_free(full.session);

        /* a ticket that carries no vhost identity at all is refused too */
        full = connect_once(anonymous, versions[v], NULL);
        other = counted(a, versions[v], full.session, m);
        CHECK(!other.reused && m[TK_COUNT_OTHER_VHOST] == 1);
        SSL_SESSION_free(other.session);
        SSL_SESSION_free(full.session);
    }
    SSL_CTX_free(a);
    SSL_CTX_free(b);
    SSL_CTX_free(anonymous);
}

/* A forged ticket that names a key in service (key names travel in clear) opens with that
 * key, but its MAC fails: it counts as neither resumed nor renewed. */
static void a_forged_ticket_is_not_counted_as_resumed(void)
{
    tk_key_t key = make_key(16, TK_KEY_48);
    SSL_CTX *sctx = server_ctx();
    apr_uint64_t m[TK_COUNTERS];
    handshake_result full, again;
    tk_ring_t ring;
    SSL_SESSION *fake;
    unsigned int v;
    size_t at;

    ring_of(&ring, &key, 1);
    serve(&ring);
    for (v = 0; v < 2; v++) {
        full = connect_once(sctx, versions[v], NULL);
        /* in the IV, in the encrypted session, in the MAC */
        for (at = 20; at < 200; at += 60) {
            fake = forged(full.session, at);
            CHECK(fake != NULL);
            if (fake == NULL)
                continue;
            again = counted(sctx, versions[v], fake, m);
            CHECK(!again.reused);
            CHECK(m[TK_COUNT_RESUMED] == 0 && m[TK_COUNT_RENEWED] == 0 &&
                  m[TK_COUNT_OTHER_VHOST] == 0);
            CHECK(!last_note.opened);
            SSL_SESSION_free(again.session);
            SSL_SESSION_free(fake);
        }
        SSL_SESSION_free(full.session);
    }
    SSL_CTX_free(sctx);
}

void ticket_tests(void)
{
    tk_vhost_id_make("a.example:0 *:443 #0", &vhost_a);
    tk_vhost_id_make("a.example:0 *:8443 #0", &vhost_b);
    RUN(tickets_sealed_with_the_key_and_resumed);
    RUN(ticket_of_an_older_key_resumes_and_is_renewed);
    RUN(ticket_of_an_unknown_key_gets_a_full_handshake);
    RUN(no_keys_means_no_ticket);
    RUN(counters_and_notes_say_what_the_callback_did);
    RUN(a_ticket_resumes_only_on_the_vhost_that_sealed_it);
    RUN(a_forged_ticket_is_not_counted_as_resumed);
}
