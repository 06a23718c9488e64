/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_tls_tickets glue for a farm's shared key store (SSLTicketKeyStore): directives, the
 * socache provider, the first read at startup, the watcher's check, status lines.  The
 * decisions are tk_farm's; this file does the store's I/O, logging and publishing.
 *
 * Only the parent (once per configuration, before any child exists) and the watcher talk
 * to the store; they publish the keys in the automatic keys' slot of the shared-memory
 * store, which the children read lock-free as for any other keys.  No handshake waits on
 * the store.
 */
#ifndef TT_FARM_H
#define TT_FARM_H

#include <httpd.h>
#include <http_config.h>

#include "tk_store.h"

const char *tt_farm_set_store(cmd_parms *cmd, void *dummy, const char *arg);
const char *tt_farm_set_name(cmd_parms *cmd, void *dummy, const char *arg);
const char *tt_farm_set_period(cmd_parms *cmd, void *dummy, const char *arg);
const char *tt_farm_set_secret(cmd_parms *cmd, void *dummy, const char *arg);

/* The command-table entries of the store's directives. */
#define TT_FARM_COMMANDS                                                                       \
    AP_INIT_TAKE1("SSLTicketKeyStore", tt_farm_set_store, NULL, RSRC_CONF,                     \
                  "Shared store of a farm's ticket keys: socache provider:arguments, e.g. "    \
                  "redis:10.0.0.5:6379 or memcache:host1:11211,host2:11211"),                  \
        AP_INIT_TAKE1("SSLTicketKeyStoreName", tt_farm_set_name, NULL, RSRC_CONF,              \
                      "Name space of this farm's keys in the store (default 'default')"),      \
        AP_INIT_TAKE1("SSLTicketKeyStorePeriod", tt_farm_set_period, NULL, RSRC_CONF,          \
                      "Seconds each key seals for (default 3600)"),                            \
        AP_INIT_TAKE1("SSLTicketKeyStoreSecret", tt_farm_set_secret, NULL, RSRC_CONF,          \
                      "File of the farm secret that seals keys in the store (32 bytes or 64 "  \
                      "hex digits, root only)")

/* Registers the check of the store's configuration (also run by `httpd -t`). */
void tt_farm_register_hooks(apr_pool_t *p);

/* init_server: the session lifetime of a vhost that uses the automatic (store's) keys. */
void tt_farm_note_session_timeout(long seconds);

/* post_config, after the store of this configuration is made: reads the farm's keys
 * (or makes keys of its own when the store does not answer) and publishes them in slot.
 * Returns OK, or an error status for a configuration that cannot work. */
int tt_farm_post_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp, tk_store_t *store,
                        unsigned int slot, apr_interval_time_t check_interval);

/* Whether this configuration takes the automatic keys from a store (then they do not
 * rotate by themselves, and the watcher runs). */
int tt_farm_active(void);

/* The watcher, at each check: reads the store, writes what is due, publishes. */
void tt_farm_tick(server_rec *s, tk_store_t *store, unsigned int slot, apr_pool_t *ptemp);

/* server-status lines (and ?auto keys) of the store. */
void tt_farm_status(request_rec *r, int flags);

#endif
