/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keys in service over restarts.  Each configuration pass gets a new shared-memory
 * store (tk_store), one slot per key file and one for the automatic keys; what was in
 * service goes over into it through tk_store_put_in_service(), the same call the watcher
 * makes for a live change: the time each key went into service, the counters, and the
 * keys of a file that went bad.  The store of the previous generation is then wiped.
 */
#include <signal.h>

#include <httpd.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>

#include <apr_strings.h>

#include "tt_private.h"

APLOG_USE_MODULE(tls_tickets);

#define RETAINED_DATA_ID "mod_tls_tickets"

tt_retained_t *tt_retained;
int tt_auto_keys_used;

apr_status_t tt_keys_pre_config(void)
{
    tt_retained = ap_retained_data_get(RETAINED_DATA_ID);
    if (tt_retained == NULL) {
        tt_retained = ap_retained_data_create(RETAINED_DATA_ID, sizeof(*tt_retained));
        tt_retained->ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        tt_retained->ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        apr_pool_create(&tt_retained->pool, ap_pglobal);
    }
    tt_auto_keys_used = 0;
    return tt_retained->ctx_index < 0 || tt_retained->ssl_index < 0 ? APR_EGENERAL
                                                                    : APR_SUCCESS;
}

/* The slot of the store in service that held key file id, or -1. */
static int slot_in_service(const char *id)
{
    void *slot =
        tt_retained->slots ? apr_hash_get(tt_retained->slots, id, APR_HASH_KEY_STRING) : NULL;

    return slot ? (int)(apr_uintptr_t)slot : -1;
}

int tt_keys_in_service(const char *id, tk_ring_t *ring)
{
    int slot = slot_in_service(id);

    if (slot < 0 || tk_store_read(tt_retained->store, (unsigned int)slot, ring) != APR_SUCCESS)
        return 0;
    return tk_ring_size(ring) > 0;
}

/* The automatic keys for the new store: those in service, carried over the restart, or
 * new ones; rotated if due. */
static apr_status_t automatic_keys(tk_ring_t *ring, const tt_server_conf_t *conf, server_rec *s)
{
    apr_interval_time_t period = tt_auto_rotate_period(conf);
    apr_time_t now = apr_time_now();
    int rotated;
    apr_status_t rv;

    if (tt_retained->store == NULL ||
        tk_store_read(tt_retained->store, TT_AUTO_SLOT, ring) != APR_SUCCESS)
        tk_ring_wipe(ring);
    /* With rotation off the key in service never ages out. */
    rv = tk_ring_auto_rotate(ring, now, period < 0 ? APR_INT64_MAX - now : period,
                             TT_AUTO_KEY_SIZE, &rotated);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "mod_tls_tickets: cannot make random ticket keys (OpenSSL's random "
                     "generator failed); vhosts without SSLTicketKeyFile issue no tickets");
    return rv;
}

/* Counters of key files this configuration no longer names go to the retired record, so
 * that totals never go down. */
static void retire_counters(tk_store_t *store, apr_hash_t *files, apr_pool_t *ptemp)
{
    const tk_store_t *old = tt_retained->store;
    apr_hash_index_t *hi;

    if (old == NULL)
        return;
    tk_store_retire(store, old, tk_store_nslots(old));
    for (hi = apr_hash_first(ptemp, tt_retained->slots); hi; hi = apr_hash_next(hi))
        if (apr_hash_get(files, apr_hash_this_key(hi), APR_HASH_KEY_STRING) == NULL)
            tk_store_retire(store, old, (unsigned int)(apr_uintptr_t)apr_hash_this_val(hi));
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
        tk_vhost_id_make(d, &tt_conf_of(s)->vhost_id);
        ap_log_error(APLOG_MARK, APLOG_TRACE1, 0, s, "vhost %s (%s:%d): ticket identity '%s'",
                     s->server_hostname, s->defn_name, s->defn_line_number, d);
    }
}

int tt_keys_new_generation(apr_pool_t *ptemp, server_rec *s, apr_hash_t *files)
{
    unsigned int nslots = apr_hash_count(files) + 1, slot = TT_AUTO_SLOT + 1;
    int restart = ap_state_query(AP_SQ_CONFIG_GEN) > 0;
    const tk_store_t *old = tt_retained->store;
    apr_time_t now = apr_time_now();
    apr_pool_t *store_pool;
    apr_hash_index_t *hi;
    tk_store_t *store;
    apr_hash_t *slots;
    const char **slot_ids;
    tk_ring_t *ring;
    apr_status_t rv;

    assign_vhost_ids(ptemp, s);
    apr_pool_create(&store_pool, tt_retained->pool);
    rv = tk_store_create(&store, nslots, store_pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "mod_tls_tickets: cannot make the shared memory for ticket keys");
        apr_pool_destroy(store_pool);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    slots = apr_hash_make(store_pool);
    slot_ids = apr_pcalloc(store_pool, nslots * sizeof(*slot_ids));
    for (hi = apr_hash_first(ptemp, files); hi; hi = apr_hash_next(hi), slot++) {
        tt_key_file_t *file = apr_hash_this_val(hi);
        int old_slot = slot_in_service(file->id);

        file->slot = slot;
        slot_ids[slot] = apr_pstrdup(store_pool, file->id);
        apr_hash_set(slots, slot_ids[slot], APR_HASH_KEY_STRING, (void *)(apr_uintptr_t)slot);
        tk_store_put_in_service(store, slot, file->ring, old_slot >= 0 ? old : NULL,
                                old_slot >= 0 ? (unsigned int)old_slot : 0,
                                !restart             ? TK_SERVICE_START
                                : file->kept_because ? TK_SERVICE_KEPT
                                                     : TK_SERVICE_RELOAD,
                                now);
    }
    ring = tk_ring_create(ptemp);
    if (automatic_keys(ring, tt_conf_of(s), s) == APR_SUCCESS)
        tk_store_put_in_service(store, TT_AUTO_SLOT, ring, old, TT_AUTO_SLOT, TK_SERVICE_START,
                                now);
    tk_ring_wipe(ring);
    retire_counters(store, files, ptemp);

    /* Children of the previous generation keep their own mapping of the old store, and
     * with it the keys of files that changed: wiped for them too (they finish the
     * connections they hold; a handshake there now gets a full one and no ticket). */
    if (tt_retained->store)
        tk_store_wipe(tt_retained->store);
    if (tt_retained->store_pool)
        apr_pool_destroy(tt_retained->store_pool);
    tt_retained->store_pool = store_pool;
    tt_retained->store = store;
    tt_retained->slots = slots;
    tt_retained->slot_ids = slot_ids;
    return OK;
}

int tt_slot_in_use(unsigned int slot)
{
    return slot != TT_AUTO_SLOT || tt_auto_keys_used;
}

const char *tt_slot_name(unsigned int slot)
{
    return slot == TT_AUTO_SLOT ? "(automatic keys)"
                                : strchr(tt_retained->slot_ids[slot], ':') + 1;
}

void tt_keys_put_in_service_live(tk_store_t *store, unsigned int slot, tk_ring_t *ring,
                                 tk_service_e how, apr_time_t now)
{
    sigset_t all, old;

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    tk_store_put_in_service(store, slot, ring, store, slot, how, now);
    sigprocmask(SIG_SETMASK, &old, NULL);
}
