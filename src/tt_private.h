/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the glue files of mod_tls_tickets share (private to the module; the tk_* core
 * knows nothing of it).  Who calls whom, top down, never back up:
 *
 *   mod_tls_tickets.c      the module record, hooks and the OpenSSL ticket callbacks
 *     tt_watcher.c         the watcher process: key-file changes and rotations, live
 *     tt_status.c          the server-status section
 *       tt_config.c        directives, per-server configuration, key files as read
 *         tt_farm.c        a farm's key store (SSLTicketKeyStore): its directives, the
 *                          store's I/O (parent at start, then the watcher), its status;
 *                          it puts keys in the automatic keys' slot (see tt_farm.h)
 *         tt_keys.c        the keys in service: a new store per configuration, what
 *                          carries over a restart; the state kept across restarts
 *           tk_*.c         the core (APR and OpenSSL only)
 *
 * A file calls only files below it.
 */
#ifndef TT_PRIVATE_H
#define TT_PRIVATE_H

#include <httpd.h>
#include <http_config.h>

#include <apr_hash.h>

#include "tk_keyfile.h"
#include "tk_ring.h"
#include "tk_store.h"
#include "tk_ticket.h"

extern module AP_MODULE_DECLARE_DATA tls_tickets_module;

#define TT_AUTO_SLOT     0 /* the store slot of the automatic keys */
#define TT_AUTO_KEY_SIZE TK_KEY_80

#define TT_DEFAULT_CHECK_INTERVAL apr_time_from_sec(1)
#define TT_DEFAULT_AUTO_ROTATE    apr_time_from_sec(12 * 3600)

typedef enum { TT_RELOAD_UNSET, TT_RELOAD_LIVE, TT_RELOAD_GRACEFUL, TT_RELOAD_OFF } tt_reload_e;

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
    const char *kept_because; /* why the keys in service were kept, or NULL */
    unsigned int slot;        /* in the store */
} tt_key_file_t;

typedef struct {
    const tt_key_file_t *key_file; /* NULL where SSLTicketKeyFile is not set */
    tk_vhost_id_t vhost_id;        /* what its tickets carry; set in post_config */
    /* server config only: */
    tt_reload_e reload;
    apr_interval_time_t check_interval; /* 0: unset */
    apr_interval_time_t auto_rotate;    /* 0: unset, -1: off */
} tt_server_conf_t;

/* What survives a restart, when this DSO is unloaded and loaded again. */
typedef struct {
    int ctx_index;          /* SSL_CTX ex_data slot of the tt_binding_t */
    int ssl_index;          /* SSL ex_data slot of the connection's tk_ticket_note_t */
    apr_pool_t *pool;       /* as long-lived as the parent process */
    apr_pool_t *store_pool; /* holds the store in service and its slot maps */
    tk_store_t *store;      /* the keys in service; NULL before the first configuration */
    apr_hash_t *slots;      /* "format:path" -> slot, of that store */
    const char **slot_ids;  /* slot -> "format:path" (NULL for the automatic keys) */
} tt_retained_t;

/* --- tt_config.c --- */

extern const command_rec tt_commands[];

void *tt_create_server_conf(apr_pool_t *p, server_rec *s);
void *tt_merge_server_conf(apr_pool_t *p, void *basev, void *addv);

static inline tt_server_conf_t *tt_conf_of(server_rec *s)
{
    return ap_get_module_config(s->module_config, &tls_tickets_module);
}

/* The key files of this configuration pass, by id ("format:path"). */
apr_hash_t *tt_key_files_of(apr_pool_t *pconf);

/* Logs what an operator must know of a key file: kept keys, exposure, owner, sealing key. */
void tt_report_key_file(const tt_key_file_t *file, server_rec *s);

/* The period of the automatic keys' rotation (-1: off). */
static inline apr_interval_time_t tt_auto_rotate_period(const tt_server_conf_t *conf)
{
    return conf->auto_rotate ? conf->auto_rotate : TT_DEFAULT_AUTO_ROTATE;
}

/* The period of the key files' checks (and of a farm store's reads). */
static inline apr_interval_time_t tt_check_interval(const tt_server_conf_t *conf)
{
    return conf->check_interval ? conf->check_interval : TT_DEFAULT_CHECK_INTERVAL;
}

/* --- tt_keys.c --- */

extern tt_retained_t *tt_retained;
extern int tt_auto_keys_used; /* a vhost of this configuration uses the automatic keys */

/* pre_config: finds or makes what survives restarts. */
apr_status_t tt_keys_pre_config(void);

/* post_config, before mod_ssl's: the vhosts' ticket identities and a new store holding the
 * keys of this configuration (files: tt_key_files_of()), in service from now on. */
int tt_keys_new_generation(apr_pool_t *ptemp, server_rec *s, apr_hash_t *files);

/* A restart must not stop a running server nor drop the keys in service because a key
 * file went bad (httpd exits when a directive fails on restart).  Copies into ring the keys
 * the store in service holds for key file id ("format:path"), and returns 1, or 0 when it
 * holds none (first start, httpd -t, a new file): the configuration then fails. */
int tt_keys_in_service(const char *id, tk_ring_t *ring);

/* Whether slot of the store in service is used: every key file's, and the automatic keys'
 * if a vhost uses them.  tt_slot_name(): what the status page calls it. */
int tt_slot_in_use(unsigned int slot);
const char *tt_slot_name(unsigned int slot);

/* Live, in the watcher (a changed key file, a rotation, a farm's new period): puts ring in
 * service in slot as a restart would (tk_store_put_in_service, from the same slot of the
 * same store), with every signal held off, so that the writer never stops half way
 * through a slot, which readers would then skip. */
void tt_keys_put_in_service_live(tk_store_t *store, unsigned int slot, tk_ring_t *ring,
                                 tk_service_e how, apr_time_t now);

/* --- tt_watcher.c --- */

/* post_config, after mod_ssl's: forks the watcher when there is anything to watch or
 * rotate. */
void tt_watcher_start(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* --- tt_status.c --- */

int tt_status_hook(request_rec *r, int flags);

#endif
