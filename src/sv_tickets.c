/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_sni_vhost serving mod_ssl's SSLSessionTicketKeyFile (see sv_tickets.h): where mod_ssl
 * keeps the directive is private, so it is read from the parsed configuration; the keys
 * go into a store of the tk_* core, and tk_ticket_crypt() seals and opens with them.
 */
#include "sv_tickets.h"

#include <http_config.h>
#include <http_log.h>
#include <util_cfgtree.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "tk_keyfile.h"
#include "tk_ring.h"
#include "tk_store.h"
#include "tk_ticket.h"

APLOG_USE_MODULE(sni_vhost);

#define RETAINED_DATA_ID "mod_sni_vhost_tickets"
#define KEY_DIRECTIVE    "SSLSessionTicketKeyFile"
/* The slot of the random key that vhosts without a key file share. */
#define RANDOM_SLOT 0
/* The kind of key OpenSSL makes for a context without a ticket-key callback. */
#define RANDOM_KEY_SIZE TK_KEY_80

/* The keys of a context (its ex_data). */
typedef struct {
    tk_store_t *store;
    unsigned int slot;
} sv_ticket_keys;

static int ctx_index = -1;

/* OpenSSL calls the callback of the connection's first context (the default vhost of the
 * address) even after SNI switched contexts: the keys are those of the switched-to one. */
static int ticket_key_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    const sv_ticket_keys *keys = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);

    return keys ? tk_ticket_crypt(keys->store, keys->slot, ssl, NULL, name, iv, cctx, hctx, enc)
                : 0;
}

/* An ex_data index allocates for good: one for the parent's lifetime, not one a restart. */
static int context_index(void)
{
    int *index = ap_retained_data_get(RETAINED_DATA_ID);

    if (index == NULL) {
        index = ap_retained_data_create(RETAINED_DATA_ID, sizeof(*index));
        *index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    return *index;
}

/* The file that the last SSLSessionTicketKeyFile among first and its next siblings names,
 * relative to ServerRoot as mod_ssl takes it, or NULL. */
static const char *key_file_among(apr_pool_t *p, const ap_directive_t *first)
{
    const ap_directive_t *d;
    const char *path = NULL, *args, *absolute;

    for (d = first; d; d = d->next) {
        if (strcasecmp(d->directive, KEY_DIRECTIVE) == 0) {
            args = d->args;
            path = ap_getword_conf(p, &args);
        }
    }
    if (path == NULL)
        return NULL;
    absolute = ap_server_root_relative(p, path);
    return absolute ? absolute : path;
}

static const char *section_id(apr_pool_t *p, const char *file, int line)
{
    return apr_psprintf(p, "%d:%s", line, file);
}

/* "line:file" -> the <VirtualHost> section defined there, as core records it in the vhost's
 * server_rec.  Core runs <IfModule>, <IfDefine> and Include while it reads the
 * configuration and puts what they hold in their place, so the server config's
 * directives are the top-level ones and a vhost's are the children of its section. */
static apr_hash_t *vhost_sections(apr_pool_t *p)
{
    apr_hash_t *sections = apr_hash_make(p);
    const ap_directive_t *d;

    for (d = ap_conftree; d; d = d->next)
        if (strcasecmp(d->directive, "<VirtualHost") == 0)
            apr_hash_set(sections, section_id(p, d->filename, d->line_num), APR_HASH_KEY_STRING,
                         d);
    return sections;
}

/* The key file mod_ssl gives s: its own, else the server config's (mod_ssl merges it). */
static const char *key_file_of(apr_pool_t *p, const server_rec *s, apr_hash_t *sections,
                               const char *server_file, int report)
{
    const ap_directive_t *section;
    const char *own;

    if (!s->is_virtual)
        return server_file;
    section = apr_hash_get(sections, section_id(p, s->defn_name, s->defn_line_number),
                           APR_HASH_KEY_STRING);
    if (section == NULL) {
        if (report)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "mod_sni_vhost: the <VirtualHost> of %s (%s:%u) is not among the "
                         "configuration's sections; its tickets use the server config's "
                         "SSLSessionTicketKeyFile, if any, or a random key",
                         s->server_hostname, s->defn_name, s->defn_line_number);
        return server_file;
    }
    own = key_file_among(p, section->first_child);
    return own ? own : server_file;
}

static int publish_key_file(tk_store_t *store, unsigned int slot, const char *path,
                            tk_ring_t *ring, apr_pool_t *ptemp, server_rec *main_s, int report)
{
    const tk_key_t *sealing;
    const char *why;
    apr_status_t rv = tk_keyfile_load(ptemp, path, TK_FORMAT_RAW, ring, NULL, &why);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, main_s,
                     "mod_sni_vhost: " KEY_DIRECTIVE " %s cannot be read: %s; fix the file "
                     "(48 bytes: name, HMAC and AES keys)",
                     path, why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    tk_store_publish(store, slot, ring);
    sealing = tk_ring_sealing_key(ring, apr_time_now());
    if (report && sealing)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, main_s,
                     "mod_sni_vhost: " KEY_DIRECTIVE " %s: key %s seals and opens the "
                     "tickets of its vhosts",
                     path, sealing->fingerprint);
    tk_ring_wipe(ring);
    return OK;
}

static int publish_random_key(tk_store_t *store, tk_ring_t *ring, server_rec *main_s)
{
    if (tk_ring_generate(ring, 1, RANDOM_KEY_SIZE) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_s,
                     "mod_sni_vhost: cannot make a random ticket key for the vhosts "
                     "without " KEY_DIRECTIVE " (OpenSSL's random generator failed)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    tk_store_publish(store, RANDOM_SLOT, ring);
    tk_ring_wipe(ring);
    return OK;
}

int sv_tickets_serve(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main_s,
                     const apr_array_header_t *vhosts, int report)
{
    apr_hash_t *sections = vhost_sections(ptemp);
    const char *server_file = key_file_among(ptemp, ap_conftree);
    const char **files = apr_pcalloc(ptemp, (vhosts->nelts + 1) * sizeof(*files));
    apr_hash_t *slots = apr_hash_make(ptemp); /* key file -> its slot */
    unsigned int nslots = RANDOM_SLOT + 1;
    int i, keyless = 0, rv = OK;
    apr_hash_index_t *hi;
    tk_store_t *store;
    tk_ring_t *ring;

    for (i = 0; i < vhosts->nelts; i++) {
        const sv_tickets_vhost_t *v = &APR_ARRAY_IDX(vhosts, i, sv_tickets_vhost_t);

        files[i] = key_file_of(ptemp, v->server, sections, server_file, report);
        if (files[i] == NULL)
            keyless++;
        else if (apr_hash_get(slots, files[i], APR_HASH_KEY_STRING) == NULL)
            apr_hash_set(slots, files[i], APR_HASH_KEY_STRING, (void *)(apr_uintptr_t)nslots++);
    }
    /* No key file anywhere: OpenSSL's own keys, as with mod_ssl alone. */
    if (apr_hash_count(slots) == 0)
        return OK;
    ctx_index = context_index();
    if (ctx_index < 0 || tk_store_create_private(&store, nslots, pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_s,
                     "mod_sni_vhost: cannot set up the tickets of " KEY_DIRECTIVE);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ring = tk_ring_create(ptemp);
    for (hi = apr_hash_first(ptemp, slots); hi && rv == OK; hi = apr_hash_next(hi))
        rv = publish_key_file(store, (unsigned int)(apr_uintptr_t)apr_hash_this_val(hi),
                              apr_hash_this_key(hi), ring, ptemp, main_s, report);
    if (rv == OK && keyless)
        rv = publish_random_key(store, ring, main_s);
    if (rv != OK)
        return rv;

    for (i = 0; i < vhosts->nelts; i++) {
        const sv_tickets_vhost_t *v = &APR_ARRAY_IDX(vhosts, i, sv_tickets_vhost_t);
        sv_ticket_keys *keys = apr_palloc(pconf, sizeof(*keys));

        keys->store = store;
        keys->slot = files[i] ? (unsigned int)(apr_uintptr_t)apr_hash_get(slots, files[i],
                                                                          APR_HASH_KEY_STRING)
                              : RANDOM_SLOT;
        /* On every context, replacing mod_ssl's callback where it set one: the callback
         * that runs is the one of the address's default vhost, whichever that is. */
        if (SSL_CTX_set_ex_data(v->ctx, ctx_index, keys) != 1 ||
            SSL_CTX_set_tlsext_ticket_key_evp_cb(v->ctx, ticket_key_cb) != 1) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v->server,
                         "mod_sni_vhost: cannot install the ticket-key callback of %s",
                         v->server->server_hostname);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (report)
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, v->server,
                         "mod_sni_vhost: vhost %s seals its tickets with %s",
                         v->server->server_hostname,
                         files[i] ? files[i] : "a random key (no " KEY_DIRECTIVE ")");
    }
    return OK;
}
