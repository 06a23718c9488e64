/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_tls_tickets: a farm's ticket keys through a shared store (see tt_farm.h, tk_farm.h
 * and "A farm: keys shared through Redis or memcached" in the README).
 */
#include <signal.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_main.h>
#include <http_protocol.h>
#include <ap_provider.h>
#include <ap_socache.h>

#include <apr_shm.h>
#include <apr_signal.h>
#include <apr_strings.h>

#include <openssl/crypto.h>

#include "mod_status.h"
#include "tk_farm.h"
#include "tk_keyfile.h"
#include "tt_farm.h"
#include "tt_private.h"

APLOG_USE_MODULE(tls_tickets);

#define FARM_USERDATA   "mod_tls_tickets-farm"
#define STATUS_RETAINED "mod_tls_tickets-farm-status"
/* The consumer name given to the provider (at most 15 characters): its entries are
 * "tls-tickets:" followed by the hex of "name:tag:period" (tk_farm_entry_id) or of
 * "name:secrets" (the roster) in Redis and memcached. */
#define SOCACHE_CNAME    "tls-tickets"
#define DEFAULT_PERIOD   apr_time_from_sec(3600)
#define DEFAULT_NAME     "default"
#define DEFAULT_LIFETIME 300 /* s, OpenSSL's default for TLS 1.2 sessions */
#define PROBE_ID         "probe"

/* What a configuration says about the store. */
typedef struct {
    const char *spec; /* as written: provider:arguments */
    const char *provider_name;
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    const char *secret_path;
    tk_farm_secret_t *secret;
    tk_farm_conf_t conf;
    server_rec *s;
} tt_farm;

/* Shared by the watcher (writer) and the children (status readers): plain words, each
 * written by one process; a reader may see one from before a check and one from after. */
typedef struct {
    int configured;
    int reachable; /* 1, 0, or -1 before the first check */
    apr_time_t last_good_read;
    apr_time_t unreachable_since;
    apr_int64_t period;
    unsigned int keys;
    apr_uint64_t writes, failed_reads, refused, outages, conflicts;
    unsigned int other_secrets; /* other secrets the name space's roster lists */
    char sealing[TK_FINGERPRINT_LEN];
    char store[128];
    /* Periods of keys made here and not read back from the store yet: the ring does not
     * tell, and a new watcher or a restart takes its keys from the ring. */
    unsigned int nunconfirmed;
    apr_int64_t unconfirmed[TK_RING_MAX_KEYS];
} tt_farm_status_t;

typedef struct {
    apr_shm_t *shm;
    apr_pool_t *pool;
} tt_farm_retained;

static tt_farm *farm;                 /* of this configuration; NULL without a store */
static tt_farm_status_t *status;      /* in shared memory */
static long session_timeout;          /* the longest of the vhosts that use the store */
static tk_farm_state_t watcher_state; /* the watcher's keys */
static pid_t watcher_pid;             /* the process watcher_state belongs to */
static apr_int64_t logged_conflict = -1, logged_lost = -1, logged_refused = -1,
                   logged_foreign = -1;

static tt_farm *farm_of(cmd_parms *cmd)
{
    void *f = NULL;

    apr_pool_userdata_get(&f, FARM_USERDATA, cmd->pool);
    if (f == NULL) {
        tt_farm *n = apr_pcalloc(cmd->pool, sizeof(*n));

        n->conf.period = DEFAULT_PERIOD;
        n->conf.name = DEFAULT_NAME;
        apr_pool_userdata_set(n, FARM_USERDATA, apr_pool_cleanup_null, cmd->pool);
        f = n;
    }
    return f;
}

static const char *server_wide(cmd_parms *cmd)
{
    return cmd->server->is_virtual
               ? apr_psprintf(cmd->pool,
                              "%s is a server-wide setting, not for <VirtualHost>: a farm "
                              "shares one store",
                              cmd->cmd->name)
               : NULL;
}

const char *tt_farm_set_store(cmd_parms *cmd, void *dummy, const char *arg)
{
    tt_farm *f = farm_of(cmd);
    const char *colon = strchr(arg, ':'), *err;

    (void)dummy;
    if ((err = server_wide(cmd)) != NULL)
        return err;
    if (colon == NULL || colon == arg || colon[1] == '\0')
        return apr_psprintf(cmd->pool,
                            "%s '%s': write provider:arguments, e.g. redis:127.0.0.1:6379 or "
                            "memcache:host1:11211,host2:11211",
                            cmd->cmd->name, arg);
    f->spec = apr_pstrdup(cmd->pool, arg);
    f->provider_name = apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(colon - arg));
    f->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, f->provider_name,
                                     AP_SOCACHE_PROVIDER_VERSION);
    if (f->provider == NULL)
        return apr_psprintf(cmd->pool,
                            "%s: no socache provider '%s' is loaded: load its module first "
                            "(e.g. LoadModule socache_%s_module modules/mod_socache_%s.so)",
                            cmd->cmd->name, f->provider_name, f->provider_name,
                            f->provider_name);
    err = f->provider->create(&f->instance, colon + 1, cmd->temp_pool, cmd->pool);
    if (err)
        return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, arg, err);
    f->s = cmd->server;
    return NULL;
}

const char *tt_farm_set_name(cmd_parms *cmd, void *dummy, const char *arg)
{
    tt_farm *f = farm_of(cmd);
    tk_farm_conf_t c = f->conf;
    const char *err;

    (void)dummy;
    if ((err = server_wide(cmd)) != NULL)
        return err;
    c.name = arg;
    c.open_for = 0;
    c.period = apr_time_from_sec(3600);
    if ((err = tk_farm_conf_check(&c, apr_time_from_sec(1), cmd->pool)) != NULL)
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    f->conf.name = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

const char *tt_farm_set_period(cmd_parms *cmd, void *dummy, const char *arg)
{
    tt_farm *f = farm_of(cmd);
    const char *err;
    char *end;
    long v;

    (void)dummy;
    if ((err = server_wide(cmd)) != NULL)
        return err;
    v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 8 || v > 7L * 24 * 3600)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a number of seconds from 8 to 604800 (a week)",
                            cmd->cmd->name, arg);
    f->conf.period = apr_time_from_sec(v);
    return NULL;
}

const char *tt_farm_set_secret(cmd_parms *cmd, void *dummy, const char *arg)
{
    tt_farm *f = farm_of(cmd);
    const char *path = ap_server_root_relative(cmd->pool, arg), *why = NULL, *err;
    int exposed = 0;

    (void)dummy;
    if ((err = server_wide(cmd)) != NULL)
        return err;
    if (path == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid file path '%s'", cmd->cmd->name, arg);
    if (tk_farm_secret_read(cmd->pool, path, &f->secret, &why) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, path, why);
    /* Whoever reads it can read every key of the farm out of the store. */
    if (tk_keyfile_is_exposed(cmd->temp_pool, path, &exposed) == APR_SUCCESS && exposed)
        return apr_psprintf(cmd->pool,
                            "%s %s: the farm secret can be read or written by its group or "
                            "by others; make it owned by root with mode 0600",
                            cmd->cmd->name, path);
    f->secret_path = path;
    return NULL;
}

/* After the whole configuration is read (httpd -t too): a store needs a secret, the other
 * directives need a store, and the period must fit the check interval (post_config checks
 * again with the sessions' lifetime, known only once mod_ssl has set up the vhosts). */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    void *f = NULL;
    tt_farm *fa;
    tk_farm_conf_t c;
    const char *err;

    (void)plog;
    apr_pool_userdata_get(&f, FARM_USERDATA, pconf);
    fa = f;
    if (fa == NULL)
        return OK;
    if (fa->spec == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "SSLTicketKeyStoreName, SSLTicketKeyStorePeriod and "
                     "SSLTicketKeyStoreSecret need SSLTicketKeyStore");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (fa->secret == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "SSLTicketKeyStore %s needs SSLTicketKeyStoreSecret: the file of the "
                     "farm secret (`openssl rand -hex 32`, the same on every server, mode "
                     "0600) that keeps the keys in the store unreadable",
                     fa->spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    c = fa->conf;
    c.open_for = 0;
    if ((err = tk_farm_conf_check(&c, tt_check_interval(tt_conf_of(s)), ptemp)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "SSLTicketKeyStore: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* The children never talk to the store: the farm secret leaves their memory (the parent
 * and the watcher keep it). */
static void child_init(apr_pool_t *p, server_rec *s)
{
    (void)p, (void)s;
    if (farm && farm->secret)
        OPENSSL_cleanse(farm->secret->bytes, sizeof(farm->secret->bytes));
}

void tt_farm_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

void tt_farm_note_session_timeout(long seconds)
{
    if (seconds > session_timeout)
        session_timeout = seconds;
}

int tt_farm_active(void)
{
    return farm != NULL;
}

/* --- talking to the store ------------------------------------------------------------ */

/* Whether the store answers: a write of an entry with nothing secret in it.  Used only
 * when no read found anything, since the socache clients answer "not found" for a
 * server they gave up on as for a missing entry. */
static int store_answers(apr_pool_t *p)
{
    unsigned char one = '1';

    return farm->provider->store(farm->instance, farm->s, (const unsigned char *)PROBE_ID,
                                 sizeof(PROBE_ID) - 1, apr_time_now() + apr_time_from_sec(60),
                                 &one, 1, p) == APR_SUCCESS;
}

static const char *period_time(apr_pool_t *p, apr_int64_t q)
{
    char text[APR_RFC822_DATE_LEN];

    apr_rfc822_date(text, tk_farm_start(&farm->conf, q));
    return apr_pstrdup(p, text);
}

/* The name space's roster of secrets (tk_farm_roster_update): keeps this server's tag
 * listed, and says once a period when another secret writes to the same name (its keys and
 * this server's are apart).  Nothing else depends on it. */
static void check_roster(apr_pool_t *p, apr_time_t now)
{
    const char *id = tk_farm_roster_id(&farm->conf, p);
    char in[TK_FARM_ROSTER_MAX], out[TK_FARM_ROSTER_MAX];
    unsigned int len = sizeof(in), others = 0;
    char tag[TK_FARM_TAG_TEXT_LEN];
    apr_status_t rv;

    if (!tk_farm_secret_tag(farm->secret, tag))
        return;
    rv = farm->provider->retrieve(farm->instance, farm->s, (const unsigned char *)id,
                                  (unsigned int)strlen(id), (unsigned char *)in, &len, p);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return; /* unanswered, or too long: tried again at the next check */
    if (tk_farm_roster_update(in, rv == APR_SUCCESS ? len : 0, tag, now, 2 * farm->conf.period,
                              out, &others))
        farm->provider->store(farm->instance, farm->s, (const unsigned char *)id,
                              (unsigned int)strlen(id), now + 2 * farm->conf.period,
                              (unsigned char *)out, (unsigned int)strlen(out), p);
    status->other_secrets = others;
    if (others > 0 && logged_foreign != tk_farm_period_of(&farm->conf, now))
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, farm->s,
                     "SSLTicketKeyStore %s: %u other SSLTicketKeyStoreSecret(s) write to the "
                     "name '%s' (the roster '%s' lists them). Their keys and this server's "
                     "are kept apart, so tickets do not resume between those servers and "
                     "this one: give every server of a farm the same secret, or each farm "
                     "its own SSLTicketKeyStoreName",
                     farm->spec, others, farm->conf.name, id);
    if (others > 0)
        logged_foreign = tk_farm_period_of(&farm->conf, now);
}

/* One check: reads, decisions, writes, logs, publishing, status. */
static void farm_check(tk_farm_state_t *state, tk_store_t *store, unsigned int slot,
                       apr_pool_t *p, int at_start)
{
    apr_time_t now = apr_time_now();
    apr_int64_t periods[TK_FARM_MAX_READS];
    tk_farm_read_t reads[TK_FARM_MAX_READS];
    unsigned int n = tk_farm_to_read(&farm->conf, state, now, periods), i;
    unsigned int found = 0, missing = 0, errors = 0, written = 0, write_failed = 0;
    tk_farm_plan_t plan;
    tk_ring_t *ring;
    const tk_key_t *sealing;
    int reachable;

    for (i = 0; i < n; i++) {
        const char *id = tk_farm_entry_id(farm->secret, &farm->conf, periods[i], p),
                   *why = NULL;
        unsigned char entry[TK_FARM_ENTRY_LEN + 64];
        unsigned int len = sizeof(entry);
        apr_status_t rv =
            farm->provider->retrieve(farm->instance, farm->s, (const unsigned char *)id,
                                     (unsigned int)strlen(id), entry, &len, p);

        memset(&reads[i], 0, sizeof(reads[i]));
        reads[i].period = periods[i];
        if (id == NULL) {
            rv = APR_EGENERAL; /* OpenSSL failed: as an unanswered read */
        }
        if (rv == APR_NOTFOUND) {
            reads[i].result = TK_FARM_MISSING;
            missing++;
        } else if (rv != APR_SUCCESS && rv != APR_ENOMEM) {
            reads[i].result = TK_FARM_ERROR;
            errors++;
        } else if (rv == APR_ENOMEM ||
                   tk_farm_open(farm->secret, &farm->conf, periods[i], entry, len,
                                &reads[i].key, &why) != APR_SUCCESS) {
            reads[i].result = TK_FARM_REFUSED;
            found++;
            status->refused++;
            if (logged_refused != tk_farm_period_of(&farm->conf, now))
                ap_log_error(APLOG_MARK, APLOG_ERR, 0, farm->s,
                             "SSLTicketKeyStore %s: the entry '%s' (period from %s) is "
                             "refused: %s. Whoever can write to the store wrote it there; "
                             "this server replaces it with its own key while it may",
                             farm->spec, id, period_time(p, periods[i]),
                             why ? why : "too long");
            logged_refused = tk_farm_period_of(&farm->conf, now);
        } else {
            reads[i].result = TK_FARM_FOUND;
            found++;
        }
        OPENSSL_cleanse(entry, sizeof(entry));
    }
    /* Nothing found: an empty store, or one the client gave up on. */
    reachable = found > 0;
    if (!reachable && missing > 0 && !store_answers(p)) {
        for (i = 0; i < n; i++)
            if (reads[i].result == TK_FARM_MISSING)
                reads[i].result = TK_FARM_ERROR;
        errors += missing;
    } else if (!reachable && missing > 0) {
        reachable = 1;
    }
    status->failed_reads += errors;

    if (tk_farm_step(&farm->conf, state, now, reads, n, &plan) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, farm->s,
                     "SSLTicketKeyStore: cannot make a ticket key (OpenSSL's random generator "
                     "failed); trying again at the next check");
    for (i = 0; i < n; i++)
        OPENSSL_cleanse(&reads[i].key, sizeof(reads[i].key));
    if (reachable)
        check_roster(p, now);
    for (i = 0; i < plan.nwrites; i++) {
        apr_int64_t q = plan.writes[i];
        const char *id = tk_farm_entry_id(farm->secret, &farm->conf, q, p);
        const tk_key_t *key = tk_farm_held(state, q);
        unsigned char entry[TK_FARM_ENTRY_LEN];

        if (key == NULL || id == NULL ||
            tk_farm_seal(farm->secret, &farm->conf, q, key, entry) != APR_SUCCESS)
            continue;
        if (farm->provider->store(farm->instance, farm->s, (const unsigned char *)id,
                                  (unsigned int)strlen(id),
                                  tk_farm_entry_expiry(&farm->conf, q), entry,
                                  TK_FARM_ENTRY_LEN, p) == APR_SUCCESS) {
            written++;
            status->writes++;
            reachable = 1;
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, farm->s,
                         "SSLTicketKeyStore: wrote key %s for the period from %s",
                         key->fingerprint, period_time(p, q));
        } else {
            write_failed++;
        }
    }
    if (plan.nwrites > 0 && written == 0 && found == 0)
        reachable = 0;

    if (plan.lost && logged_lost != tk_farm_period_of(&farm->conf, now) && reachable) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, farm->s,
                     "SSLTicketKeyStore %s: the store lost %u key(s) already in use (was it "
                     "restarted empty?); writing back the keys held here",
                     farm->spec, plan.lost);
        logged_lost = tk_farm_period_of(&farm->conf, now);
    }
    if (plan.conflicts && logged_conflict != tk_farm_period_of(&farm->conf, now)) {
        status->conflicts++;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, farm->s,
                     "SSLTicketKeyStore %s: the store holds another key for the period from "
                     "%s than the one this server froze (a server that joined while the "
                     "store had lost it, or two farms sharing the name '%s'); keeping the "
                     "key held here: tickets of that period may not resume across servers",
                     farm->spec, period_time(p, plan.conflict_period), farm->conf.name);
        logged_conflict = tk_farm_period_of(&farm->conf, now);
    }
    if (plan.generated && !reachable)
        ap_log_error(APLOG_MARK, at_start ? APLOG_WARNING : APLOG_NOTICE, 0, farm->s,
                     "SSLTicketKeyStore %s does not answer: %s with %u key(s) of its own "
                     "until it does",
                     farm->spec, at_start ? "starting" : "going on", plan.generated);

    if (reachable) {
        status->last_good_read = now;
        if (status->reachable == 0)
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, farm->s,
                         "SSLTicketKeyStore %s answers again (after %" APR_TIME_T_FMT
                         " s); keys are shared again",
                         farm->spec, apr_time_sec(now - status->unreachable_since));
        status->reachable = 1;
    } else if (status->reachable != 0) {
        status->outages++;
        status->unreachable_since = now;
        status->reachable = 0;
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, farm->s,
                     "SSLTicketKeyStore %s does not answer; this server goes on sealing and "
                     "opening tickets with the %u key(s) it holds, and makes the keys of "
                     "coming periods itself until the store answers",
                     farm->spec, state->n);
    }

    ring = apr_palloc(p, sizeof(*ring));
    tk_farm_ring(&farm->conf, state, ring);
    if (plan.changed || at_start)
        tt_keys_put_in_service_live(
            store, slot, ring, plan.changed && !at_start ? TK_SERVICE_RELOAD : TK_SERVICE_START,
            now);
    sealing = tk_ring_sealing_key(ring, now);
    if (plan.adopted || plan.generated)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, farm->s,
                     "SSLTicketKeyStore: %u key(s) taken from the store, %u made here; "
                     "%u held, sealing with key %s",
                     plan.adopted, plan.generated, state->n,
                     sealing ? sealing->fingerprint : "(none)");
    status->nunconfirmed = 0;
    for (i = 0; i < state->n && i < TK_RING_MAX_KEYS; i++)
        if (!state->held[i].confirmed)
            status->unconfirmed[status->nunconfirmed++] = state->held[i].period;
    status->period = tk_farm_period_of(&farm->conf, now);
    status->keys = state->n;
    apr_cpystrn(status->sealing, sealing ? sealing->fingerprint : "", TK_FINGERPRINT_LEN);
    tk_ring_wipe(ring);
}

/* --- lifecycle ----------------------------------------------------------------------- */

/* The keys in service as the state of a new process. */
static void state_from_service(tk_farm_state_t *state, tk_store_t *store, unsigned int slot,
                               tk_ring_t *ring)
{
    unsigned int i, j;

    tk_farm_state_wipe(state);
    if (tk_store_read(store, slot, ring) == APR_SUCCESS)
        tk_farm_state_from_ring(&farm->conf, ring, state);
    tk_ring_wipe(ring);
    for (i = 0; i < state->n; i++)
        for (j = 0; j < status->nunconfirmed && j < TK_RING_MAX_KEYS; j++)
            if (state->held[i].period == status->unconfirmed[j])
                state->held[i].confirmed = 0;
}

static tt_farm_status_t *status_memory(server_rec *s)
{
    tt_farm_retained *r = ap_retained_data_get(STATUS_RETAINED);
    apr_status_t rv;

    if (r == NULL) {
        r = ap_retained_data_create(STATUS_RETAINED, sizeof(*r));
        apr_pool_create(&r->pool, ap_pglobal);
    }
    if (r->shm == NULL) {
        rv = apr_shm_create(&r->shm, sizeof(tt_farm_status_t), NULL, r->pool);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                         "SSLTicketKeyStore: cannot make the shared memory of its status");
            return NULL;
        }
        memset(apr_shm_baseaddr_get(r->shm), 0, sizeof(tt_farm_status_t));
        ((tt_farm_status_t *)apr_shm_baseaddr_get(r->shm))->reachable = -1;
    }
    return apr_shm_baseaddr_get(r->shm);
}

int tt_farm_post_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp, tk_store_t *store,
                        unsigned int slot, apr_interval_time_t check_interval)
{
    void *f = NULL;
    apr_pool_t *io;
    apr_status_t rv;
    tk_ring_t *ring;
    tk_farm_state_t *state;
    const char *err;
    long lifetime = session_timeout > 0 ? session_timeout : DEFAULT_LIFETIME;
    unsigned int needed;

    farm = NULL;
    session_timeout = 0;
    status = status_memory(s);
    if (status == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    apr_pool_userdata_get(&f, FARM_USERDATA, pconf);
    status->configured = f != NULL;
    if (f == NULL)
        return OK;
    farm = f;
    farm->s = s;
    apr_cpystrn(status->store, apr_psprintf(ptemp, "%s (name %s)", farm->spec, farm->conf.name),
                sizeof(status->store));
    /* A key opens while a ticket it sealed may come back, plus a quarter period for clocks
     * that disagree a little. */
    farm->conf.open_for = apr_time_from_sec(lifetime) + farm->conf.period / 4;
    needed = tk_farm_keys_needed(&farm->conf);
    if (needed > TK_RING_MAX_KEYS) {
        farm->conf.open_for = farm->conf.period * (TK_RING_MAX_KEYS - 3);
        ap_log_error(
            APLOG_MARK, APLOG_WARNING, 0, s,
            "SSLTicketKeyStore: sessions live %ld s, but with a period of %" APR_TIME_T_FMT
            " s keys open only %" APR_TIME_T_FMT " s after their period (%d keys at "
            "most): older tickets get a full handshake. Lengthen "
            "SSLTicketKeyStorePeriod or shorten SSLSessionCacheTimeout.",
            lifetime, apr_time_sec(farm->conf.period), apr_time_sec(farm->conf.open_for),
            TK_RING_MAX_KEYS);
    }
    if ((err = tk_farm_conf_check(&farm->conf, check_interval, ptemp)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "SSLTicketKeyStore: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }

    /* The keys in service carry over a restart; then the first check, here, before any
     * child serves, so that a server that joins a farm resumes its tickets at once.  Its
     * connections go with io: the watcher makes its own after the fork. */
    state = apr_pcalloc(ptemp, sizeof(*state));
    ring = tk_ring_create(ptemp);
    state_from_service(state, store, slot, ring);
    apr_pool_create(&io, ptemp);
    rv = farm->provider->init(farm->instance, SOCACHE_CNAME, NULL, s, io);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "SSLTicketKeyStore %s: the socache provider cannot start", farm->spec);
        apr_pool_destroy(io);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    farm_check(state, store, slot, io, 1);
    apr_pool_destroy(io);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "SSLTicketKeyStore %s (name %s): period %" APR_TIME_T_FMT
                 " s, keys open %" APR_TIME_T_FMT
                 " s after their period; %u key(s) held, sealing with %s",
                 farm->spec, farm->conf.name, apr_time_sec(farm->conf.period),
                 apr_time_sec(farm->conf.open_for), state->n,
                 status->sealing[0] ? status->sealing : "(none)");
    /* The keys are in the store now; no copy stays for the children. */
    tk_farm_state_wipe(state);
    return OK;
}

void tt_farm_tick(server_rec *s, tk_store_t *store, unsigned int slot, apr_pool_t *ptemp)
{
    tk_ring_t ring;

    (void)s;
    if (farm == NULL || status == NULL)
        return;
    if (watcher_pid != getpid()) {
        /* A new watcher: its own connections, and the keys in service as its state. */
        apr_pool_t *pool;

        /* A store that goes away mid-request must fail the request, not end the
         * watcher (which runs with SIGPIPE's default action). */
        apr_signal(SIGPIPE, SIG_IGN);
        apr_pool_create(&pool, farm->s->process->pconf);
        if (farm->provider->init(farm->instance, SOCACHE_CNAME, NULL, farm->s, pool) !=
            APR_SUCCESS) {
            apr_pool_destroy(pool);
            return;
        }
        state_from_service(&watcher_state, store, slot, &ring);
        watcher_pid = getpid();
    }
    farm_check(&watcher_state, store, slot, ptemp, 0);
}

void tt_farm_status(request_rec *r, int flags)
{
    const tt_farm_status_t *st = status;

    if (st == NULL || !st->configured)
        return;
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "TLSTicketStore: %s\n", st->store);
        ap_rprintf(r, "TLSTicketStoreReachable: %d\n", st->reachable == 1);
        ap_rprintf(r, "TLSTicketStoreLastGoodRead: %" APR_TIME_T_FMT "\n",
                   apr_time_sec(st->last_good_read));
        ap_rprintf(r, "TLSTicketStorePeriod: %" APR_INT64_T_FMT "\n", st->period);
        ap_rprintf(r, "TLSTicketStoreKeys: %u\n", st->keys);
        ap_rprintf(r, "TLSTicketStoreSealingKey: %s\n", st->sealing);
        ap_rprintf(r, "TLSTicketStoreWrites: %" APR_UINT64_T_FMT "\n", st->writes);
        ap_rprintf(r, "TLSTicketStoreFailedReads: %" APR_UINT64_T_FMT "\n", st->failed_reads);
        ap_rprintf(r, "TLSTicketStoreRefused: %" APR_UINT64_T_FMT "\n", st->refused);
        ap_rprintf(r, "TLSTicketStoreOutages: %" APR_UINT64_T_FMT "\n", st->outages);
        ap_rprintf(r, "TLSTicketStoreConflicts: %" APR_UINT64_T_FMT "\n", st->conflicts);
        ap_rprintf(r, "TLSTicketStoreOtherSecrets: %u\n", st->other_secrets);
        return;
    }
    ap_rprintf(
        r,
        "<h3>Key store %s</h3>\n<p>%s; last good read %" APR_TIME_T_FMT
        " s ago; period %" APR_INT64_T_FMT
        ", %u key(s) known, sealing with %s; %" APR_UINT64_T_FMT " write(s), %" APR_UINT64_T_FMT
        " failed read(s), %" APR_UINT64_T_FMT " entr(y/ies) refused, %" APR_UINT64_T_FMT
        " outage(s), %" APR_UINT64_T_FMT " conflict(s), %u other secret(s) in its name"
        "</p>\n",
        ap_escape_html(r->pool, st->store), st->reachable == 1 ? "reachable" : "NOT reachable",
        st->last_good_read ? apr_time_sec(apr_time_now() - st->last_good_read) : -1, st->period,
        st->keys, st->sealing[0] ? st->sealing : "(none)", st->writes, st->failed_reads,
        st->refused, st->outages, st->conflicts, st->other_secrets);
}
