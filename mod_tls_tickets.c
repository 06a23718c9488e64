/*
 * mod_tls_tickets: session-ticket keys (RFC 5077) for mod_ssl, from key files the
 * operator controls, on every SSL vhost.
 *
 * The glue only: directives, hooks and the OpenSSL ticket-key callback.  Key files
 * and key rings are the tk_* core's.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <ap_mpm.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "ssl_hooks.h"
#include "tk_keyfile.h"
#include "tk_ring.h"
#include "tk_ticket.h"

module AP_MODULE_DECLARE_DATA tls_tickets_module;
APLOG_USE_MODULE(tls_tickets);

#define RETAINED_DATA_ID   "mod_tls_tickets"
#define KEY_FILES_USERDATA "mod_tls_tickets-key-files"
#define AUTO_RING_USERDATA "mod_tls_tickets-auto-ring"
/* Keys for vhosts without a key file: one 80-byte key (AES-256) made at startup. */
#define AUTO_KEY_COUNT 1

/* A key file loaded in this configuration pass; several vhosts may name it. */
typedef struct {
    const char *path; /* absolute */
    tk_format_e format;
    tk_ring_t *ring;          /* its keys, in the configuration pool */
    int exposed;              /* readable or writable by group or others */
    const char *kept_because; /* why the keys read before were kept, or NULL */
} tk_key_file;

typedef struct {
    const tk_key_file *key_file; /* NULL where SSLTicketKeyFile is not set */
} tk_server_conf;

/* What survives a restart, when this DSO is unloaded and loaded again. */
typedef struct {
    int ctx_index;         /* SSL_CTX ex_data slot holding the ring of the vhost */
    apr_pool_t *pool;      /* as long-lived as the parent process */
    apr_hash_t *last_good; /* "format:path" -> tk_ring_t: keys last read from each file */
} tk_retained;

static tk_retained *retained;
static int ctx_index = -1;

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(tk_server_conf));
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    tk_server_conf *base = basev, *add = addv;
    tk_server_conf *conf = apr_palloc(p, sizeof(*conf));

    *conf = add->key_file ? *add : *base;
    return conf;
}

/* The key files of this configuration pass, by format and path, so a file that several
 * vhosts name is read once. */
static apr_hash_t *key_files_of(apr_pool_t *pconf)
{
    void *files = NULL;

    apr_pool_userdata_get(&files, KEY_FILES_USERDATA, pconf);
    if (files == NULL) {
        files = apr_hash_make(pconf);
        apr_pool_userdata_set(files, KEY_FILES_USERDATA, apr_pool_cleanup_null, pconf);
    }
    return files;
}

static void remember_good_keys(const char *id, const tk_ring_t *ring)
{
    tk_ring_t *last = apr_hash_get(retained->last_good, id, APR_HASH_KEY_STRING);

    if (last == NULL) {
        last = tk_ring_create(retained->pool);
        apr_hash_set(retained->last_good, apr_pstrdup(retained->pool, id), APR_HASH_KEY_STRING,
                     last);
    }
    *last = *ring;
}

/* A restart must not stop a running server nor drop the keys in service because a key
 * file went bad (httpd exits when a directive fails on restart).  When this parent read
 * the file well before, those keys stay (post_config logs it).  Returns 0 when there
 * are none (first start, httpd -t, a new file): the configuration then fails. */
static int keep_last_good_keys(const char *id, tk_ring_t *ring)
{
    const tk_ring_t *last = apr_hash_get(retained->last_good, id, APR_HASH_KEY_STRING);

    if (last == NULL || last->nkeys == 0)
        return 0;
    *ring = *last;
    return 1;
}

/* Messages about a key file go to the error log from post_config, which runs once the
 * logs are open; only `httpd -t` has no post_config, and shows them on the console. */
static void report_key_file(const tk_key_file *file, server_rec *s)
{
    const tk_key_t *sealing = tk_ring_sealing_key(file->ring);

    if (file->kept_because)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "SSLTicketKeyFile %s: %s; keeping the %u key(s) read from it before "
                     "(sealing key %s). Fix the file: it is read again at the next restart.",
                     file->path, file->kept_because, file->ring->nkeys, sealing->fingerprint);
    if (file->exposed)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s: the key file can be read or written by its group or "
                     "by others; anyone who reads it can decrypt recorded TLS sessions. Make "
                     "it owned by root with mode 0600 (httpd reads it as root).",
                     file->path);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "SSLTicketKeyFile %s (%s): %u key(s), sealing with key %s (%d-byte)",
                 file->path, tk_format_name(file->format), file->ring->nkeys,
                 sealing->fingerprint, (int)sealing->size);
}

static const char *set_key_file(cmd_parms *cmd, void *dummy, const char *arg,
                                const char *format_name)
{
    tk_server_conf *conf =
        ap_get_module_config(cmd->server->module_config, &tls_tickets_module);
    apr_hash_t *files = key_files_of(cmd->pool);
    tk_format_e format = TK_FORMAT_AUTO;
    const char *path, *id, *why;
    tk_key_file *file;
    int exposed;

    (void)dummy;
    if (format_name && tk_format_from_name(format_name, &format) != APR_SUCCESS)
        return apr_psprintf(cmd->pool,
                            "%s: unknown key file format '%s'; use auto, raw, text, nginx "
                            "or haproxy",
                            cmd->cmd->name, format_name);
    path = ap_server_root_relative(cmd->pool, arg);
    if (path == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid file path '%s'", cmd->cmd->name, arg);

    id = apr_pstrcat(cmd->temp_pool, tk_format_name(format), ":", path, NULL);
    file = apr_hash_get(files, id, APR_HASH_KEY_STRING);
    if (file == NULL) {
        file = apr_pcalloc(cmd->pool, sizeof(*file));
        file->path = path;
        file->format = format;
        file->ring = tk_ring_create(cmd->pool);
        if (tk_keyfile_load(cmd->temp_pool, path, format, file->ring, &why) != APR_SUCCESS) {
            if (!keep_last_good_keys(id, file->ring))
                return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, path, why);
            file->kept_because = apr_pstrdup(cmd->pool, why);
        } else {
            remember_good_keys(id, file->ring);
        }
        file->exposed =
            tk_keyfile_is_exposed(cmd->temp_pool, path, &exposed) == APR_SUCCESS && exposed;
        if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST)
            report_key_file(file, cmd->server);
        apr_hash_set(files, apr_pstrdup(cmd->pool, id), APR_HASH_KEY_STRING, file);
    }
    conf->key_file = file;
    return NULL;
}

/* Random keys for the vhosts that have no key file, made once per configuration pass
 * in the parent.  Without them mod_ssl could hand OpenSSL no key at all. */
static const tk_ring_t *auto_ring(apr_pool_t *pconf, server_rec *s)
{
    void *ring = NULL;
    apr_status_t rv;

    apr_pool_userdata_get(&ring, AUTO_RING_USERDATA, pconf);
    if (ring)
        return ring;
    ring = tk_ring_create(pconf);
    rv = tk_ring_generate(ring, AUTO_KEY_COUNT, TK_KEY_80);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "mod_tls_tickets: cannot make random ticket keys (OpenSSL's random "
                     "generator failed); vhosts without SSLTicketKeyFile issue no tickets");
        return NULL;
    }
    apr_pool_userdata_set(ring, AUTO_RING_USERDATA, apr_pool_cleanup_null, pconf);
    return ring;
}

static int ticket_key_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    /* OpenSSL calls the callback of the connection's first SSL_CTX (the default vhost of
     * the address) even after SNI switched contexts: take the keys of the context that
     * SNI selected. */
    const tk_ring_t *ring = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);

    return tk_ticket_crypt(ring, ssl, name, iv, cctx, hctx, enc);
}

static int init_server(server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx)
{
    tk_server_conf *conf = ap_get_module_config(s->module_config, &tls_tickets_module);
    const tk_ring_t *ring;

    if (is_proxy)
        return DECLINED; /* a proxy context is a client: it opens no tickets */
    ring = conf->key_file ? conf->key_file->ring : auto_ring(p, s);
    if (ring == NULL)
        return DECLINED;
    /* Installed on every vhost's context, because the callback that runs is the one of
     * the default vhost's context, whatever vhost SNI selects. */
    if (SSL_CTX_set_ex_data(ctx, ctx_index, (void *)ring) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "mod_tls_tickets: cannot install the ticket-key callback for %s",
                     s->server_hostname);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf, (void)plog, (void)ptemp;
    retained = ap_retained_data_get(RETAINED_DATA_ID);
    if (retained == NULL) {
        retained = ap_retained_data_create(RETAINED_DATA_ID, sizeof(*retained));
        retained->ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        apr_pool_create(&retained->pool, ap_pglobal);
        retained->last_good = apr_hash_make(retained->pool);
    }
    ctx_index = retained->ctx_index;
    return ctx_index < 0 ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

/* Wipes the kept keys of files this configuration no longer names. */
static void forget_unused_keys(apr_pool_t *pconf, apr_pool_t *ptemp)
{
    apr_hash_t *files = key_files_of(pconf);
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(ptemp, retained->last_good); hi; hi = apr_hash_next(hi)) {
        const char *id = apr_hash_this_key(hi);

        if (apr_hash_get(files, id, APR_HASH_KEY_STRING) == NULL)
            tk_ring_wipe(apr_hash_this_val(hi));
    }
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_index_t *hi;

    (void)plog;
    forget_unused_keys(pconf, ptemp);
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK; /* the first, trial pass at startup: report once, on the real one */
    if (!ap_find_linked_module("mod_ssl.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "mod_tls_tickets is loaded but mod_ssl is not: it does nothing");
        return OK;
    }
    for (hi = apr_hash_first(ptemp, key_files_of(pconf)); hi; hi = apr_hash_next(hi))
        report_key_file(apr_hash_this_val(hi), s);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_ssl[] = {"mod_ssl.c", NULL};

    (void)p;
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, after_ssl, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, init_server, init_server, NULL, NULL, APR_HOOK_MIDDLE);
}

static const command_rec commands[] = {
    AP_INIT_TAKE12("SSLTicketKeyFile", set_key_file, NULL, RSRC_CONF,
                   "File of TLS session-ticket keys, and optionally its format (auto, raw, "
                   "text, nginx, haproxy)"),
    {NULL},
};

module AP_MODULE_DECLARE_DATA tls_tickets_module = {
    STANDARD20_MODULE_STUFF,
    NULL,               /* per-directory config */
    NULL,               /* merge per-directory */
    create_server_conf, /* per-server config */
    merge_server_conf,  /* merge per-server */
    commands,
    register_hooks,
    AP_MODULE_FLAG_NONE,
};
