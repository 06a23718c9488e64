/*
 * mod_tls_tickets: session-ticket keys (RFC 5077) for mod_ssl, from key files the
 * operator controls, on every SSL vhost, rotated without a restart.
 *
 * The glue only: directives, hooks, the OpenSSL ticket-key callback and the watcher
 * process.  Key files, rings, the shared store and change detection are the tk_* core's.
 *
 * Lifecycle.  The parent reads every key file while it reads the configuration (as
 * root), then, in post_config, puts each file's keys and the automatic keys (for
 * vhosts without a file) in a new shared-memory store, one slot each, and forks the
 * watcher.  Children find their vhost's slot through ex_data on each SSL_CTX and read it
 * on every handshake.  The watcher checks the files every SSLTicketKeyCheckInterval and
 * publishes new keys to the store (live), or asks the parent for a graceful restart
 * (graceful); it also rotates the automatic keys.  At a restart the parent carries the
 * automatic keys, and the keys of a file that went bad, from the old store to the new.
 */
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <ap_listen.h>
#include <ap_mpm.h>
#include <mpm_common.h>
#include <unixd.h>

#include <apr_hash.h>
#include <apr_signal.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "mod_status.h"
#include "ssl_hooks.h"
#include "tk_keyfile.h"
#include "tk_ring.h"
#include "tk_store.h"
#include "tk_ticket.h"
#include "tk_watch.h"
#include "tt_farm.h"

module AP_MODULE_DECLARE_DATA tls_tickets_module;
APLOG_USE_MODULE(tls_tickets);

#define RETAINED_DATA_ID   "mod_tls_tickets"
#define KEY_FILES_USERDATA "mod_tls_tickets-key-files"
#define AUTO_SLOT          0 /* the store slot of the automatic keys */
#define AUTO_KEY_SIZE      TK_KEY_80

#define DEFAULT_CHECK_INTERVAL apr_time_from_sec(1)
#define DEFAULT_AUTO_ROTATE    apr_time_from_sec(12 * 3600)

typedef enum { RELOAD_UNSET, RELOAD_LIVE, RELOAD_GRACEFUL, RELOAD_OFF } tk_reload_e;

/* A key file named in this configuration pass; several vhosts may name it. */
typedef struct {
    const char *id;   /* "format:path" */
    const char *path; /* absolute */
    tk_format_e format;
    tk_ring_t *ring;                     /* its keys, in the configuration pool */
    unsigned char digest[TK_DIGEST_LEN]; /* of the content read */
    int unreadable;                      /* the file could not be read */
    int exposed;                         /* readable or writable by group or others */
    int owner_known;                     /* owner holds the file's owner */
    apr_uid_t owner;
    const char *kept_because;            /* why the keys in service were kept, or NULL */
    unsigned int slot;                   /* in the store */
} tk_key_file;

typedef struct {
    const tk_key_file *key_file; /* NULL where SSLTicketKeyFile is not set */
    tk_vhost_id_t vhost_id;      /* what its tickets carry; set in post_config */
    /* server config only: */
    tk_reload_e reload;
    apr_interval_time_t check_interval; /* 0: unset */
    apr_interval_time_t auto_rotate;    /* 0: unset, -1: off */
} tk_server_conf;

/* Where a vhost's SSL_CTX finds its keys (SSL_CTX ex_data). */
typedef struct {
    tk_store_t *store;
    unsigned int slot;
    const tk_vhost_id_t *vhost; /* the identity its tickets carry */
} tk_binding;

/* What survives a restart, when this DSO is unloaded and loaded again. */
typedef struct {
    int ctx_index;          /* SSL_CTX ex_data slot of the tk_binding */
    int ssl_index;          /* SSL ex_data slot of the connection's tk_ticket_note_t */
    apr_pool_t *pool;       /* as long-lived as the parent process */
    apr_pool_t *store_pool; /* holds the store in service and its slot maps */
    tk_store_t *store;      /* the keys in service; NULL before the first configuration */
    apr_hash_t *slots;      /* "format:path" -> slot, of that store */
    const char **slot_ids;  /* slot -> "format:path" (NULL for the automatic keys) */
} tk_retained;

/* What the watcher process needs; made by post_config in the configuration pool. */
typedef struct {
    server_rec *s;
    tk_store_t *store;
    tk_reload_e reload;
    apr_interval_time_t interval;
    apr_interval_time_t auto_rotate; /* -1: no automatic keys to rotate */
    apr_array_header_t *files;       /* of tk_watched_slot */
    apr_proc_t proc;
} tk_watcher;

typedef struct {
    tk_watched_file_t file;
    unsigned int slot;
    int no_sealing_key_reported;
} tk_watched_slot;

static tk_retained *retained;
static int ctx_index = -1, ssl_index = -1;
static int auto_keys_used; /* a vhost of this configuration uses the automatic keys */

static tk_server_conf *conf_of(server_rec *s)
{
    return ap_get_module_config(s->module_config, &tls_tickets_module);
}

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(tk_server_conf));
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    tk_server_conf *base = basev, *add = addv;
    tk_server_conf *conf = apr_palloc(p, sizeof(*conf));

    *conf = *base;
    if (add->key_file)
        conf->key_file = add->key_file;
    return conf;
}

/* The key files of this configuration pass, by id, so a file that several vhosts name
 * is read once. */
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

/* A restart must not stop a running server nor drop the keys in service because a key
 * file went bad (httpd exits when a directive fails on restart).  When the store in
 * service holds keys of this file, they stay (post_config logs it).  Returns 0 when it
 * holds none (first start, httpd -t, a new file): the configuration then fails. */
static int keep_keys_in_service(const char *id, tk_ring_t *ring)
{
    void *slot =
        retained->slots ? apr_hash_get(retained->slots, id, APR_HASH_KEY_STRING) : NULL;

    if (slot == NULL ||
        tk_store_read(retained->store, (unsigned int)(apr_uintptr_t)slot, ring) != APR_SUCCESS)
        return 0;
    return ring->nkeys > 0;
}

/* Messages about a key file go to the error log from post_config, which runs once the
 * logs are open; only `httpd -t` has no post_config, and shows them on the console. */
static void report_key_file(const tk_key_file *file, server_rec *s)
{
    const tk_key_t *sealing = tk_ring_sealing_key(file->ring, apr_time_now());
    const char *fp = sealing ? sealing->fingerprint : "(none now)";

    if (file->kept_because)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "SSLTicketKeyFile %s: %s; keeping the %u key(s) in service (sealing key "
                     "%s). Fix the file: it is read again at the next check or restart.",
                     file->path, file->kept_because, file->ring->nkeys, fp);
    if (file->exposed)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s: the key file can be read or written by its group or "
                     "by others; anyone who reads it can decrypt recorded TLS sessions. Make "
                     "it owned by root with mode 0600 (httpd reads it as root).",
                     file->path);
    /* The children run as that user: one that could rewrite the file could put in service
     * keys it knows, and forge tickets. */
    if (file->owner_known && ap_unixd_config.user_id != 0 &&
        file->owner == ap_unixd_config.user_id)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s: the key file is owned by the user the server's "
                     "children run as (%s), who could then put keys it knows in service and "
                     "forge tickets. Make it owned by root with mode 0600.",
                     file->path, ap_unixd_config.user_name);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "SSLTicketKeyFile %s (%s): %u key(s), sealing with key %s", file->path,
                 tk_format_name(file->format), file->ring->nkeys, fp);
}

static const char *set_key_file(cmd_parms *cmd, void *dummy, const char *arg,
                                const char *format_name)
{
    tk_server_conf *conf = conf_of(cmd->server);
    apr_hash_t *files = key_files_of(cmd->pool);
    tk_format_e format = TK_FORMAT_AUTO;
    const char *path, *id, *why;
    unsigned char *data;
    apr_size_t len;
    tk_key_file *file;
    apr_status_t rv;
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

    id = apr_pstrcat(cmd->pool, tk_format_name(format), ":", path, NULL);
    file = apr_hash_get(files, id, APR_HASH_KEY_STRING);
    if (file == NULL) {
        file = apr_pcalloc(cmd->pool, sizeof(*file));
        file->id = id;
        file->path = path;
        file->format = format;
        file->ring = tk_ring_create(cmd->pool);
        rv = tk_keyfile_read(cmd->temp_pool, path, &data, &len, &why);
        if (rv == APR_SUCCESS) {
            tk_keyfile_digest(data, len, file->digest);
            rv = tk_keyfile_parse(cmd->temp_pool, data, len, format, apr_time_now(), file->ring,
                                  &why);
            /* Now, not when the temporary pool goes: the watcher forks before that. */
            OPENSSL_cleanse(data, len);
        } else {
            file->unreadable = 1;
        }
        if (rv != APR_SUCCESS) {
            if (!keep_keys_in_service(id, file->ring))
                return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, path, why);
            file->kept_because = apr_pstrdup(cmd->pool, why);
        }
        file->exposed =
            tk_keyfile_is_exposed(cmd->temp_pool, path, &exposed) == APR_SUCCESS && exposed;
        file->owner_known = tk_keyfile_owner(cmd->temp_pool, path, &file->owner) == APR_SUCCESS;
        if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST)
            report_key_file(file, cmd->server);
        apr_hash_set(files, id, APR_HASH_KEY_STRING, file);
    }
    conf->key_file = file;
    return NULL;
}

static const char *set_reload(cmd_parms *cmd, void *dummy, const char *arg)
{
    tk_server_conf *conf = conf_of(cmd->server);

    (void)dummy;
    if (cmd->server->is_virtual)
        return apr_psprintf(cmd->pool, "%s is a server-wide setting, not for <VirtualHost>",
                            cmd->cmd->name);
    if (strcasecmp(arg, "live") == 0)
        conf->reload = RELOAD_LIVE;
    else if (strcasecmp(arg, "graceful") == 0)
        conf->reload = RELOAD_GRACEFUL;
    else if (strcasecmp(arg, "off") == 0)
        conf->reload = RELOAD_OFF;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not live, graceful or off", cmd->cmd->name,
                            arg);
    return NULL;
}

/* Parses a whole number of seconds in [1, max]. */
static const char *parse_seconds(cmd_parms *cmd, const char *arg, long max,
                                 apr_interval_time_t *out)
{
    char *end;
    long v;

    if (cmd->server->is_virtual)
        return apr_psprintf(cmd->pool, "%s is a server-wide setting, not for <VirtualHost>",
                            cmd->cmd->name);
    v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 1 || v > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds from 1 to %ld",
                            cmd->cmd->name, arg, max);
    *out = apr_time_from_sec(v);
    return NULL;
}

static const char *set_check_interval(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return parse_seconds(cmd, arg, 3600, &conf_of(cmd->server)->check_interval);
}

static const char *set_auto_rotate(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (strcasecmp(arg, "off") == 0 && !cmd->server->is_virtual) {
        conf_of(cmd->server)->auto_rotate = -1;
        return NULL;
    }
    return parse_seconds(cmd, arg, 366L * 24 * 3600, &conf_of(cmd->server)->auto_rotate);
}

/* OpenSSL calls the ticket callbacks of the connection's first SSL_CTX (the default vhost
 * of the address) even after SNI switched contexts: each takes the keys and the identity
 * of the context that SNI selected. */
static const tk_binding *binding_of(SSL *ssl)
{
    return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
}

static int ticket_key_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    const tk_binding *b = binding_of(ssl);

    return b ? tk_ticket_crypt(b->store, b->slot, ssl, SSL_get_ex_data(ssl, ssl_index), name,
                               iv, cctx, hctx, enc)
             : 0;
}

static int stamp_ticket_cb(SSL *ssl, void *arg)
{
    const tk_binding *b = binding_of(ssl);

    (void)arg;
    return b ? tk_ticket_stamp(ssl, b->vhost) : 0;
}

/* After OpenSSL checked the ticket's MAC: it resumes only on the vhost that sealed it. */
static SSL_TICKET_RETURN admit_ticket_cb(SSL *ssl, SSL_SESSION *sess,
                                         const unsigned char *keyname, size_t keyname_len,
                                         SSL_TICKET_STATUS status, void *arg)
{
    const tk_binding *b = binding_of(ssl);
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
    tk_server_conf *conf = conf_of(s);
    tk_binding *b;

    if (is_proxy)
        return DECLINED; /* a proxy context is a client: it opens no tickets */
    b = apr_palloc(p, sizeof(*b));
    b->store = retained->store;
    b->slot = conf->key_file ? conf->key_file->slot : AUTO_SLOT;
    b->vhost = &conf->vhost_id;
    if (b->slot == AUTO_SLOT) {
        auto_keys_used = 1;
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
    retained = ap_retained_data_get(RETAINED_DATA_ID);
    if (retained == NULL) {
        retained = ap_retained_data_create(RETAINED_DATA_ID, sizeof(*retained));
        retained->ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        retained->ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        apr_pool_create(&retained->pool, ap_pglobal);
    }
    ctx_index = retained->ctx_index;
    ssl_index = retained->ssl_index;
    auto_keys_used = 0;
    return ctx_index < 0 || ssl_index < 0 ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

static apr_interval_time_t auto_rotate_period(const tk_server_conf *conf)
{
    return conf->auto_rotate ? conf->auto_rotate : DEFAULT_AUTO_ROTATE;
}

/* The automatic keys for the new store: those in service, carried over the restart, or
 * new ones; rotated if due. */
static apr_status_t automatic_keys(tk_ring_t *ring, const tk_server_conf *conf, server_rec *s)
{
    apr_interval_time_t period = auto_rotate_period(conf);
    apr_time_t now = apr_time_now();
    int rotated;
    apr_status_t rv;

    if (retained->store == NULL ||
        tk_store_read(retained->store, AUTO_SLOT, ring) != APR_SUCCESS)
        tk_ring_wipe(ring);
    /* With rotation off the key in service never ages out. */
    rv = tk_ring_auto_rotate(ring, now, period < 0 ? APR_INT64_MAX - now : period,
                             AUTO_KEY_SIZE, &rotated);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "mod_tls_tickets: cannot make random ticket keys (OpenSSL's random "
                     "generator failed); vhosts without SSLTicketKeyFile issue no tickets");
    return rv;
}

/* The slot of the store in service that held key file id, or -1. */
static int slot_in_service(const char *id)
{
    void *slot =
        retained->slots ? apr_hash_get(retained->slots, id, APR_HASH_KEY_STRING) : NULL;

    return slot ? (int)(apr_uintptr_t)slot : -1;
}

/* Publishes ring in slot of the new store, carrying over from slot old of the store in
 * service (-1: none) the time each key went into service and the counters. */
static void carry_over(tk_store_t *store, unsigned int slot, tk_ring_t *ring, int old,
                       tk_ring_t *scratch)
{
    tk_counters_t counters;
    int known =
        old >= 0 && tk_store_read(retained->store, (unsigned int)old, scratch) == APR_SUCCESS;

    tk_ring_carry_since(ring, known ? scratch : NULL, apr_time_now());
    if (old >= 0) {
        tk_store_counters(retained->store, (unsigned int)old, &counters);
        tk_store_add_counters(store, slot, &counters);
    }
    tk_store_publish(store, slot, ring);
    tk_ring_wipe(scratch);
}

/* Counters of key files this configuration no longer names go to the retired record, so
 * that totals never go down. */
static void retire_counters(tk_store_t *store, apr_hash_t *files, apr_pool_t *ptemp)
{
    unsigned int retired = tk_store_nslots(store);
    tk_counters_t counters;
    apr_hash_index_t *hi;

    if (retained->store == NULL)
        return;
    tk_store_counters(retained->store, tk_store_nslots(retained->store), &counters);
    tk_store_add_counters(store, retired, &counters);
    for (hi = apr_hash_first(ptemp, retained->slots); hi; hi = apr_hash_next(hi)) {
        if (apr_hash_get(files, apr_hash_this_key(hi), APR_HASH_KEY_STRING) == NULL) {
            tk_store_counters(retained->store,
                              (unsigned int)(apr_uintptr_t)apr_hash_this_val(hi), &counters);
            tk_store_add_counters(store, retired, &counters);
        }
    }
}

/* The identity each vhost's tickets carry (see "Ticket isolation" in the README): its
 * ServerName and port, its <VirtualHost> addresses as written ("*" stays "*", a name is
 * not resolved), and its rank among the vhosts that share all of these.  Nothing of one
 * machine (no resolved or local address, no pid, no random value): identical servers of a
 * farm give a vhost the same identity, and so does a restart. */
static void assign_vhost_ids(apr_pool_t *ptemp, server_rec *main_s)
{
    apr_hash_t *rank = apr_hash_make(ptemp);
    server_rec *s;

    for (s = main_s; s; s = s->next) {
        const char *d = apr_psprintf(ptemp, "%s:%u%s", s->server_hostname, (unsigned)s->port,
                                     s->is_virtual ? "" : " (main server)");
        apr_hash_t *addrs = apr_hash_make(ptemp);
        const server_addr_rec *a;
        apr_uintptr_t n;

        ap_str_tolower((char *)d);
        /* "*" may stand for an IPv4 and an IPv6 address, or for one: count it once. */
        for (a = s->addrs; a; a = a->next) {
            const char *w = apr_psprintf(ptemp, "%s:%u", a->virthost, (unsigned)a->host_port);

            if (apr_hash_get(addrs, w, APR_HASH_KEY_STRING) == NULL) {
                apr_hash_set(addrs, w, APR_HASH_KEY_STRING, w);
                d = apr_pstrcat(ptemp, d, " ", w, NULL);
            }
        }
        n = (apr_uintptr_t)apr_hash_get(rank, d, APR_HASH_KEY_STRING);
        apr_hash_set(rank, d, APR_HASH_KEY_STRING, (void *)(n + 1));
        d = apr_psprintf(ptemp, "%s #%lu", d, (unsigned long)n);
        tk_vhost_id_make(d, &conf_of(s)->vhost_id);
        ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, s, "vhost %s (%s:%d): ticket identity '%s'",
                     s->server_hostname, s->defn_name, s->defn_line_number, d);
    }
}

/* Before mod_ssl's post_config (which runs init_server): a new store with the keys of
 * this configuration, replacing the one in service. */
static int make_store(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *files = key_files_of(pconf);
    unsigned int nslots = apr_hash_count(files) + 1, slot = AUTO_SLOT + 1;
    int restart = ap_state_query(AP_SQ_CONFIG_GEN) > 0;
    apr_pool_t *store_pool;
    apr_hash_index_t *hi;
    tk_store_t *store;
    apr_hash_t *slots;
    const char **slot_ids;
    tk_ring_t *ring, *scratch;
    apr_status_t rv;

    (void)plog;
    assign_vhost_ids(ptemp, s);
    apr_pool_create(&store_pool, retained->pool);
    rv = tk_store_create(&store, nslots, store_pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "mod_tls_tickets: cannot make the shared memory for ticket keys");
        apr_pool_destroy(store_pool);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    slots = apr_hash_make(store_pool);
    slot_ids = apr_pcalloc(store_pool, nslots * sizeof(*slot_ids));
    scratch = tk_ring_create(ptemp);
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi), slot++) {
        tk_key_file *file = apr_hash_this_val(hi);

        file->slot = slot;
        slot_ids[slot] = apr_pstrdup(store_pool, file->id);
        apr_hash_set(slots, slot_ids[slot], APR_HASH_KEY_STRING, (void *)(apr_uintptr_t)slot);
        carry_over(store, slot, file->ring, slot_in_service(file->id), scratch);
        if (restart && file->kept_because)
            tk_store_count(store, slot, TK_COUNT_RELOAD_ERRORS);
        else if (restart)
            tk_store_note_reload(store, slot, apr_time_now());
    }
    ring = tk_ring_create(ptemp);
    if (automatic_keys(ring, conf_of(s), s) == APR_SUCCESS)
        carry_over(store, AUTO_SLOT, ring, retained->store ? AUTO_SLOT : -1, scratch);
    tk_ring_wipe(ring);
    retire_counters(store, files, ptemp);

    /* Children of the previous generation keep their own mapping of the old store, and
     * with it the keys of files that changed: wiped for them too (they finish the
     * connections they hold; a handshake there now gets a full one and no ticket). */
    if (retained->store)
        tk_store_wipe(retained->store);
    if (retained->store_pool)
        apr_pool_destroy(retained->store_pool);
    retained->store_pool = store_pool;
    retained->store = store;
    retained->slots = slots;
    retained->slot_ids = slot_ids;
    return OK;
}

static void log_watch_event(tk_watch_event_e ev, const tk_watched_slot *w,
                            const tk_ring_t *ring, const char *why, tk_reload_e reload,
                            server_rec *s)
{
    const tk_key_t *sealing;

    switch (ev) {
    case TK_WATCH_NEW_KEYS:
        sealing = tk_ring_sealing_key(ring, apr_time_now());
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "SSLTicketKeyFile %s changed: %u key(s), sealing with key %s; %s",
                     w->file.path, ring->nkeys, sealing ? sealing->fingerprint : "(none now)",
                     reload == RELOAD_LIVE ? "in service now" : "restarting gracefully");
        break;
    case TK_WATCH_REFUSED:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "SSLTicketKeyFile %s changed but is refused: %s; the keys in service stay",
                     w->file.path, why);
        break;
    case TK_WATCH_VANISHED:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s cannot be read: %s; the keys in service stay",
                     w->file.path, why);
        break;
    case TK_WATCH_SAME:
        break;
    }
}

/* A key file whose keys all expired leaves its vhosts without tickets: say so once. */
static void check_sealing_key(tk_watched_slot *w, const tk_store_t *store, apr_time_t now,
                              tk_ring_t *ring, server_rec *s)
{
    int none;

    if (tk_store_read(store, w->slot, ring) != APR_SUCCESS)
        return;
    none = tk_ring_sealing_index(ring, now) < 0;
    if (none && !w->no_sealing_key_reported)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s: no key may seal now (expired or not yet valid); "
                     "its vhosts issue no tickets until the file has a valid key",
                     w->file.path);
    w->no_sealing_key_reported = none;
}

/* A signal must not stop the watcher half way through writing a slot, which readers
 * would then skip. */
static void publish(tk_store_t *store, unsigned int slot, const tk_ring_t *ring)
{
    sigset_t all, old;

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    tk_store_publish(store, slot, ring);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void watcher_tick(tk_watcher *w, apr_pool_t *p, pid_t parent, tk_ring_t *ring,
                         tk_ring_t *previous)
{
    apr_time_t now = apr_time_now();
    int i, rotated;

    for (i = 0; w->reload != RELOAD_OFF && i < w->files->nelts; i++) {
        tk_watched_slot *f = &APR_ARRAY_IDX(w->files, i, tk_watched_slot);
        const char *why = NULL;
        tk_watch_event_e ev = tk_watch_check(&f->file, p, now, ring, &why);

        log_watch_event(ev, f, ring, why, w->reload, w->s);
        if (ev == TK_WATCH_NEW_KEYS && w->reload == RELOAD_LIVE) {
            if (tk_store_read(w->store, f->slot, previous) == APR_SUCCESS)
                tk_ring_carry_since(ring, previous, now);
            publish(w->store, f->slot, ring);
            tk_store_note_reload(w->store, f->slot, now);
        } else if (ev == TK_WATCH_NEW_KEYS && w->reload == RELOAD_GRACEFUL) {
            kill(parent, AP_SIG_GRACEFUL); /* the restart reads, publishes and counts */
        } else if (ev == TK_WATCH_REFUSED || ev == TK_WATCH_VANISHED) {
            tk_store_count(w->store, f->slot, TK_COUNT_RELOAD_ERRORS);
        }
        if (w->reload == RELOAD_LIVE)
            check_sealing_key(f, w->store, now, ring, w->s);
    }
    if (w->auto_rotate > 0 && tk_store_read(w->store, AUTO_SLOT, ring) == APR_SUCCESS &&
        tk_ring_auto_rotate(ring, now, w->auto_rotate, AUTO_KEY_SIZE, &rotated) ==
            APR_SUCCESS &&
        rotated) {
        publish(w->store, AUTO_SLOT, ring);
        tk_store_note_reload(w->store, AUTO_SLOT, now);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, w->s,
                     "automatic ticket keys rotated: sealing with key %s, the previous key "
                     "opens for one more period",
                     ring->keys[0].fingerprint);
    }
    tt_farm_tick(w->s, w->store, AUTO_SLOT, p);
    tk_ring_wipe(ring);
    tk_ring_wipe(previous);
}

/* The watcher process: root, like the parent, so that it reads the key files; no
 * listener, no httpd signal handler.  It ends with the parent. */
static void watcher_main(tk_watcher *w, apr_pool_t *pconf)
{
    static const int reset[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGWINCH, SIGPIPE};
    pid_t parent = getppid();
    apr_pool_t *p;
    tk_ring_t ring, previous;
    sigset_t none;
    unsigned int i;

    for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        apr_signal(reset[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    ap_close_listeners();
#ifdef __linux__
    /* Ends at once with a parent killed by SIGKILL, rather than at its next check. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
    apr_pool_create(&p, pconf);
    while (getppid() == parent) {
        apr_sleep(w->interval);
        watcher_tick(w, p, parent, &ring, &previous);
        apr_pool_clear(p); /* wipes what the check read */
    }
    _exit(0); /* no pool cleanup: they belong to the parent */
}

static void start_watcher(tk_watcher *w, apr_pool_t *pconf);

static void watcher_maintenance(int reason, void *data, apr_wait_t status)
{
    tk_watcher *w = data;
    int i;

    (void)status;
    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(w);
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, w->s,
                     "mod_tls_tickets: the key-file watcher (pid %" APR_PID_T_FMT ") ended; "
                     "starting it again",
                     w->proc.pid);
        /* The new watcher reads and publishes every file again: the old one may have
         * died in the middle of a write. */
        for (i = 0; i < w->files->nelts; i++)
            memset(APR_ARRAY_IDX(w->files, i, tk_watched_slot).file.in_service, 0,
                   TK_DIGEST_LEN);
        start_watcher(w, w->s->process->pconf);
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(w);
        break;
    case APR_OC_REASON_UNREGISTER:
        /* APR is unregistering it already: unregistering here would recurse. */
        break;
    }
}

static void start_watcher(tk_watcher *w, apr_pool_t *pconf)
{
    apr_status_t rv = apr_proc_fork(&w->proc, pconf);

    if (rv == APR_INCHILD)
        watcher_main(w, pconf);
    if (rv != APR_INPARENT) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, w->s,
                     "mod_tls_tickets: cannot start the key-file watcher; key files are read "
                     "only at restarts and automatic keys do not rotate");
        return;
    }
    /* Killed when this configuration goes (restart or stop), restarted if it dies. */
    apr_pool_note_subprocess(pconf, &w->proc, APR_KILL_AFTER_TIMEOUT);
    apr_proc_other_child_register(&w->proc, watcher_maintenance, w, NULL, pconf);
}

/* After mod_ssl: report the key files and start the watcher, now that init_server
 * told whether any vhost uses the automatic keys. */
static int start_work(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    const tk_server_conf *conf = conf_of(s);
    apr_hash_t *files = key_files_of(pconf);
    apr_hash_index_t *hi;
    tk_watcher *w;

    (void)plog;
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK; /* the first, trial pass at startup: report and start once, on the real one
                    */
    if (!ap_find_linked_module("mod_ssl.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "mod_tls_tickets is loaded but mod_ssl is not: it does nothing");
        return OK;
    }
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi))
        report_key_file(apr_hash_this_val(hi), s);

    w = apr_pcalloc(pconf, sizeof(*w));
    w->s = s;
    w->store = retained->store;
    w->reload = conf->reload == RELOAD_UNSET ? RELOAD_LIVE : conf->reload;
    w->interval = conf->check_interval ? conf->check_interval : DEFAULT_CHECK_INTERVAL;
    if (tt_farm_post_config(s, pconf, ptemp, retained->store, AUTO_SLOT, w->interval) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    /* The store's keys rotate by period, not by themselves. */
    w->auto_rotate = auto_keys_used && !tt_farm_active() ? auto_rotate_period(conf) : -1;
    w->files = apr_array_make(pconf, (int)apr_hash_count(files), sizeof(tk_watched_slot));
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi)) {
        const tk_key_file *file = apr_hash_this_val(hi);
        tk_watched_slot *f = apr_array_push(w->files);

        memset(f, 0, sizeof(*f));
        f->file.path = file->path;
        f->file.format = file->format;
        f->file.unreadable = file->unreadable;
        memcpy(f->file.last_seen, file->digest, TK_DIGEST_LEN);
        if (!file->kept_because)
            memcpy(f->file.in_service, file->digest, TK_DIGEST_LEN);
        f->slot = file->slot;
    }
    /* The keys are in the store now: no copy of them stays in the configuration, which
     * the watcher and every child would inherit and keep after the file changes. */
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi))
        tk_ring_wipe(((tk_key_file *)apr_hash_this_val(hi))->ring);
    if ((w->reload != RELOAD_OFF && w->files->nelts > 0) || w->auto_rotate > 0 ||
        tt_farm_active())
        start_watcher(w, pconf);
    return OK;
}

/* The slots in use: every key file, and the automatic keys if a vhost uses them. */
static int slot_in_use(unsigned int slot)
{
    return slot != AUTO_SLOT || auto_keys_used;
}

static const char *slot_name(unsigned int slot)
{
    return slot == AUTO_SLOT ? "(automatic keys)" : strchr(retained->slot_ids[slot], ':') + 1;
}

static void status_keys(request_rec *r, const tk_ring_t *ring, apr_time_t now)
{
    tk_key_text_t text;
    unsigned int i;

    ap_rputs("<table><tr><th>key</th><th>cipher</th><th>not-before</th><th>not-after</th>"
             "<th>now</th></tr>\n",
             r);
    for (i = 0; i < ring->nkeys; i++) {
        tk_key_describe(ring, i, now, &text);
        ap_rprintf(r, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                   ring->keys[i].fingerprint, text.cipher, text.not_before, text.not_after,
                   text.state);
    }
    ap_rputs("</table>\n", r);
}

/* server-status: the counters in total (the ?auto keys) and, in HTML, per key file with
 * its keys by fingerprint.  No key byte. */
static int status_hook(request_rec *r, int flags)
{
    static const char *const names[TK_COUNTERS] = {
        "TLSTicketsSealed",     "TLSTicketsResumed",   "TLSTicketsRenewed",
        "TLSTicketsUnknownKey", "TLSTicketKeyReloads", "TLSTicketKeyReloadErrors",
        "TLSTicketsOtherVhost",
    };
    tk_store_t *store = retained ? retained->store : NULL;
    apr_time_t now = apr_time_now(), last_reload = 0;
    apr_interval_time_t oldest = 0;
    apr_uint64_t total[TK_COUNTERS] = {0};
    tk_counters_t c;
    tk_ring_t *ring;
    unsigned int slot, i;

    if (store == NULL)
        return OK;
    ring = apr_palloc(r->pool, sizeof(*ring));
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("<hr />\n<h2>TLS session tickets (mod_tls_tickets)</h2>\n", r);
    for (slot = 0; slot <= tk_store_nslots(store); slot++) {
        int retired = slot == tk_store_nslots(store);
        const tk_key_t *sealing = NULL;

        if (!retired && !slot_in_use(slot))
            continue;
        tk_store_counters(store, slot, &c);
        for (i = 0; i < TK_COUNTERS; i++)
            total[i] += c.n[i];
        if (c.last_reload > last_reload)
            last_reload = c.last_reload;
        if (!retired && tk_store_read(store, slot, ring) == APR_SUCCESS &&
            (sealing = tk_ring_sealing_key(ring, now)) != NULL &&
            tk_key_sealing_age(sealing, now) > oldest)
            oldest = tk_key_sealing_age(sealing, now);
        if (!(flags & AP_STATUS_SHORT) && !retired) {
            ap_rprintf(r, "<h3>%s</h3>\n<p>sealing key %s, %" APR_TIME_T_FMT " s old; ",
                       ap_escape_html(r->pool, slot_name(slot)),
                       sealing ? sealing->fingerprint : "(none)",
                       sealing ? apr_time_sec(tk_key_sealing_age(sealing, now)) : 0);
            for (i = 0; i < TK_COUNTERS; i++)
                ap_rprintf(r, "%s %s: %" APR_UINT64_T_FMT, i ? "," : "", names[i], c.n[i]);
            ap_rputs("</p>\n", r);
            status_keys(r, ring, now);
        }
        tk_ring_wipe(ring);
    }
    if (flags & AP_STATUS_SHORT) {
        for (i = 0; i < TK_COUNTERS; i++)
            ap_rprintf(r, "%s: %" APR_UINT64_T_FMT "\n", names[i], total[i]);
        ap_rprintf(r, "TLSTicketKeyAge: %" APR_TIME_T_FMT "\n", apr_time_sec(oldest));
        ap_rprintf(r, "TLSTicketKeyLastReload: %" APR_TIME_T_FMT "\n",
                   apr_time_sec(last_reload));
    } else {
        ap_rputs("<p>Totals:", r);
        for (i = 0; i < TK_COUNTERS; i++)
            ap_rprintf(r, "%s %s: %" APR_UINT64_T_FMT, i ? "," : "", names[i], total[i]);
        ap_rprintf(r, "; oldest sealing key %" APR_TIME_T_FMT " s.</p>\n",
                   apr_time_sec(oldest));
    }
    tt_farm_status(r, flags);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const ssl[] = {"mod_ssl.c", NULL};

    (void)p;
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(make_store, NULL, ssl, APR_HOOK_MIDDLE);
    ap_hook_post_config(start_work, ssl, NULL, APR_HOOK_MIDDLE);
    /* before mod_ssl's own post_read_request check, so that a request it answers with 421
     * is logged with the variables */
    ap_hook_post_read_request(set_log_variables, NULL, NULL, APR_HOOK_REALLY_FIRST);
    APR_OPTIONAL_HOOK(ssl, init_server, init_server, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, pre_handshake, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
    tt_farm_register_hooks(p);
}

static const command_rec commands[] = {
    AP_INIT_TAKE12("SSLTicketKeyFile", set_key_file, NULL, RSRC_CONF,
                   "File of TLS session-ticket keys, and optionally its format (auto, raw, "
                   "text, nginx, haproxy)"),
    AP_INIT_TAKE1("SSLTicketKeyReload", set_reload, NULL, RSRC_CONF,
                  "What a changed key file does: live (new keys in service at once, the "
                  "default), graceful (a graceful restart) or off (read at restarts only)"),
    AP_INIT_TAKE1("SSLTicketKeyCheckInterval", set_check_interval, NULL, RSRC_CONF,
                  "Seconds between two checks of the key files (default 1)"),
    AP_INIT_TAKE1("SSLTicketKeyAutoRotate", set_auto_rotate, NULL, RSRC_CONF,
                  "Seconds between two rotations of the automatic keys of vhosts without a "
                  "key file (default 43200), or off"),
    TT_FARM_COMMANDS,
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
    /* Every vhost gets a configuration of its own, even one without a directive of this
     * module: each holds its vhost's ticket identity. */
    AP_MODULE_FLAG_ALWAYS_MERGE,
};
