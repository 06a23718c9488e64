/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_tls_tickets: session-ticket keys (RFC 5077) for mod_ssl, from key files the
 * operator controls, on every SSL vhost, rotated without a restart.
 *
 * This file: the module record, its hooks, and the OpenSSL ticket callbacks that run in
 * the children on every handshake.  The rest of the glue is in tt_*.c (tt_private.h maps
 * it); key files, rings, the shared store and change detection are the tk_* core's.
 *
 * Lifecycle.  The parent reads every key file while it reads the configuration (as
 * root; tt_config.c), then, in post_config, puts each file's keys and the automatic keys
 * (for vhosts without a file) in a new shared-memory store, one slot each (tt_keys.c), and
 * forks the watcher (tt_watcher.c).  Children find their vhost's slot through ex_data on
 * each SSL_CTX and read it on every handshake.  The watcher checks the files every
 * SSLTicketKeyCheckInterval and puts new keys in service (live), or asks the parent for a
 * graceful restart (graceful); it also rotates the automatic keys.  At a restart the parent
 * carries the automatic keys, and the keys of a file that went bad, into the new store.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>

#include <apr_strings.h>

#include "mod_status.h"
#include "ssl_hooks.h"
#include "tt_farm.h"
#include "tt_private.h"
#include "version.h"

APLOG_USE_MODULE(tls_tickets);

/* Where a vhost's SSL_CTX finds its keys (SSL_CTX ex_data). */
typedef struct {
    tk_store_t *store;
    unsigned int slot;
    const tk_vhost_id_t *vhost; /* the identity its tickets carry */
} tt_binding_t;

/* Copies of the ex_data indices kept in tt_retained, for the callbacks. */
static int ctx_index = -1, ssl_index = -1;

/* OpenSSL calls the ticket callbacks of the connection's first SSL_CTX (the default vhost
 * of the address) even after SNI switched contexts: each takes the keys and the identity
 * of the context that SNI selected. */
static const tt_binding_t *binding_of(SSL *ssl)
{
    return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
}

static int ticket_key_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    const tt_binding_t *b = binding_of(ssl);

    return b ? tk_ticket_crypt(b->store, b->slot, ssl, SSL_get_ex_data(ssl, ssl_index), name,
                               iv, cctx, hctx, enc)
             : 0;
}

static int stamp_ticket_cb(SSL *ssl, void *arg)
{
    const tt_binding_t *b = binding_of(ssl);

    (void)arg;
    return b ? tk_ticket_stamp(ssl, b->vhost) : 0;
}

/* After OpenSSL checked the ticket's MAC: it resumes only on the vhost that sealed it. */
static SSL_TICKET_RETURN admit_ticket_cb(SSL *ssl, SSL_SESSION *sess,
                                         const unsigned char *keyname, size_t keyname_len,
                                         SSL_TICKET_STATUS status, void *arg)
{
    const tt_binding_t *b = binding_of(ssl);
    tk_ticket_note_t *note = SSL_get_ex_data(ssl, ssl_index);
    const server_rec *s = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    conn_rec *c = SSL_get_app_data(ssl);
    SSL_TICKET_RETURN rv;

    (void)keyname, (void)keyname_len, (void)arg;
    if (b == NULL)
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    rv = tk_ticket_admit(b->store, b->slot, sess, status, b->vhost, note);
    if (note && note->other_vhost && c && s)
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                      "mod_tls_tickets: a ticket (key %s) of another vhost than %s:%u (%s:%d) "
                      "is refused: full handshake",
                      note->key, s->server_hostname, s->port, s->defn_name,
                      s->defn_line_number);
    return rv;
}

static int init_server(server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx)
{
    tt_server_conf_t *conf = tt_conf_of(s);
    tt_binding_t *b;

    if (is_proxy)
        return DECLINED; /* a proxy context is a client: it opens no tickets */
    b = apr_palloc(p, sizeof(*b));
    b->store = tt_retained->store;
    b->slot = conf->key_file ? conf->key_file->slot : TT_AUTO_SLOT;
    b->vhost = &conf->vhost_id;
    if (b->slot == TT_AUTO_SLOT) {
        tt_auto_keys_used = 1;
        tt_farm_note_session_timeout(SSL_CTX_get_timeout(ctx));
    }
    /* Installed on every vhost's context, because the callbacks that run are those of
     * the default vhost's context, whatever vhost SNI selects. */
    if (SSL_CTX_set_ex_data(ctx, ctx_index, b) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1 ||
        SSL_CTX_set_session_ticket_cb(ctx, stamp_ticket_cb, admit_ticket_cb, NULL) != 1) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "mod_tls_tickets: cannot install the ticket-key callback for %s",
                     s->server_hostname);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* Per connection, before the handshake: where the ticket callback notes what it did, for
 * the log variables (allocated here, so the callback allocates nothing). */
static int pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    tk_ticket_note_t *note;

    if (is_proxy)
        return DECLINED;
    note = apr_pcalloc(c->pool, sizeof(*note));
    SSL_set_ex_data(ssl, ssl_index, note);
    ap_set_module_config(c->conn_config, &tls_tickets_module, note);
    return OK;
}

/* The log variables of a request on a TLS connection whose client offered a ticket that
 * a key in service opened (see the README). */
static int set_log_variables(request_rec *r)
{
    /* An HTTP/2 stream's connection is not the TLS one: that is its master. */
    conn_rec *tls = r->connection->master ? r->connection->master : r->connection;
    const tk_ticket_note_t *note = ap_get_module_config(tls->conn_config, &tls_tickets_module);
    APR_OPTIONAL_FN_TYPE(ssl_var_lookup) *var = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
    const char *resumed;

    if (note == NULL || !note->opened || var == NULL)
        return DECLINED;
    /* A ticket can open yet not resume (another vhost's ticket, an expired session). */
    resumed = var(r->pool, r->server, tls, r, (char *)"SSL_SESSION_RESUMED");
    apr_table_setn(r->subprocess_env, "TLS_TICKET_RESUMED",
                   resumed && strcmp(resumed, "Resumed") == 0 ? "1" : "0");
    apr_table_setn(r->subprocess_env, "TLS_TICKET_KEY", note->key);
    apr_table_setn(r->subprocess_env, "TLS_TICKET_RENEWED", note->renewed ? "1" : "0");
    return DECLINED;
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf, (void)plog, (void)ptemp;
    if (tt_keys_pre_config() != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    ctx_index = tt_retained->ctx_index;
    ssl_index = tt_retained->ssl_index;
    return OK;
}

/* Before mod_ssl's post_config, which runs init_server: the keys of this configuration in
 * service, in a new store. */
static int put_keys_in_service(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *s)
{
    (void)plog;
    return tt_keys_new_generation(ptemp, s, tt_key_files_of(pconf));
}

/* After mod_ssl's, now that init_server told whether a vhost uses the automatic keys:
 * report the key files and start the watcher. */
static int start_watching(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *files = tt_key_files_of(pconf);
    apr_hash_index_t *hi;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK; /* the trial pass at startup: report and start once, on the real one */
    if (!ap_find_linked_module("mod_ssl.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "mod_tls_tickets is loaded but mod_ssl is not: it does nothing");
        return OK;
    }
    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                 "mod_tls_tickets %s: %u key file(s), automatic keys %s", TK_VERSION,
                 apr_hash_count(files), tt_auto_keys_used ? "in use" : "unused");
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi))
        tt_report_key_file(apr_hash_this_val(hi), s);
    /* The keys are in the store now: no copy of them stays in the configuration, which
     * the watcher and every child would inherit and keep after the file changes. */
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi))
        tk_ring_wipe(((tt_key_file_t *)apr_hash_this_val(hi))->ring);
    /* A farm's store: read once here, before any child serves, then by the watcher. */
    if (tt_farm_post_config(s, pconf, ptemp, tt_retained->store, TT_AUTO_SLOT,
                            tt_check_interval(tt_conf_of(s))) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    tt_watcher_start(pconf, ptemp, s);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const ssl[] = {"mod_ssl.c", NULL};

    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(put_keys_in_service, NULL, ssl, APR_HOOK_MIDDLE);
    ap_hook_post_config(start_watching, ssl, NULL, APR_HOOK_MIDDLE);
    /* before mod_ssl's own post_read_request check, so that a request it answers with 421
     * is logged with the variables */
    ap_hook_post_read_request(set_log_variables, NULL, NULL, APR_HOOK_REALLY_FIRST);
    APR_OPTIONAL_HOOK(ssl, init_server, init_server, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, pre_handshake, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, tt_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
    tt_farm_register_hooks(p);
}

module AP_MODULE_DECLARE_DATA tls_tickets_module = {
    STANDARD20_MODULE_STUFF,
    NULL,                  /* per-directory config */
    NULL,                  /* merge per-directory */
    tt_create_server_conf, /* per-server config */
    tt_merge_server_conf,  /* merge per-server */
    tt_commands,
    register_hooks,
    /* Every vhost gets a configuration of its own, even one without a directive of this
     * module: each holds its vhost's ticket identity. */
    AP_MODULE_FLAG_ALWAYS_MERGE,
};
