/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A farm's ticket keys through a shared store (Redis, memcached): periods, the sealed
 * entry format, and the decisions of one check.  APR and OpenSSL only; no httpd: the glue
 * does the store's reads and writes and hands their results to tk_farm_step().
 *
 * Time is cut into periods of fixed length; period q runs from start(q) = q * period.  The
 * key of period q seals from start(q) until the key of q+1 takes over, and opens until
 * start(q+1) + open_for (the session lifetime plus a margin).  Its life in the store:
 *
 *   start(q-2)          W(q)           F(q)           start(q)
 *      |--- written if missing ---|--- settle ---|--- frozen ---|--- seals ...
 *
 * W(q) = start(q) - period/2 (the write deadline) and F(q) = start(q) - period/4 (the
 * freeze).  Every server reads q at every check and adopts what the store holds until
 * F(q); it writes its own candidate only when its read found q missing (or unreadable
 * with this secret), and only before W(q).  Several servers may find q missing at once
 * and write: the store keeps the last write, and every server adopts it at its next check.
 * No write happens after W(q), so by F(q) (at least one check interval later) every
 * server has read the final entry.  From F(q) on, a key a server read from the store
 * never changes; it seals only from start(q), when every server holds the same one.
 * A server that could not take q from the store before F(q) (it started late, or the
 * store had lost q) holds a key of its own that nobody else knows: it writes it if the
 * store still lacks q, and gives it up for the store's until start(q), so that servers
 * starting together also converge.
 * See "A farm: keys shared through Redis or memcached" in the README.
 */
#ifndef TK_FARM_H
#define TK_FARM_H

#include <apr_pools.h>
#include <apr_time.h>

#include "tk_ring.h"

#define TK_FARM_SECRET_LEN 32
#define TK_FARM_VERSION    1
#define TK_FARM_NONCE_LEN  12
#define TK_FARM_TAG_LEN    16
#define TK_FARM_KEY_LEN    (TK_KEY_NAME_LEN + 2 * TK_KEY_SECRET_MAX)
/* version || nonce || AES-256-GCM(name || HMAC key || AES key) || tag */
#define TK_FARM_ENTRY_LEN (1 + TK_FARM_NONCE_LEN + TK_FARM_KEY_LEN + TK_FARM_TAG_LEN)
/* Periods read or written at one check, at most. */
#define TK_FARM_MAX_READS (TK_RING_MAX_KEYS + 3)
/* A name space: letters, digits, '-', '_' and '.', at most this long. */
#define TK_FARM_NAME_MAX 64

typedef struct {
    apr_interval_time_t period;   /* length of a period */
    apr_interval_time_t open_for; /* how long a key opens after its period ended */
    const char *name;             /* the name space, bound into every entry */
} tk_farm_conf_t;

/* The farm secret; its bytes are wiped (OPENSSL_cleanse) when its pool goes. */
typedef struct {
    unsigned char bytes[TK_FARM_SECRET_LEN];
} tk_farm_secret_t;

/* What this server holds: one key per period, oldest first. */
typedef struct {
    apr_int64_t period;
    tk_key_t key;
    /* Read from the store (adopted, or read back after this server wrote it): others may
     * hold it.  A key made here and not yet read back is known to this server only, and
     * may still give way to the store's until its period starts. */
    int confirmed;
} tk_farm_held_t;

typedef struct {
    unsigned int n;
    tk_farm_held_t held[TK_RING_MAX_KEYS];
} tk_farm_state_t;

/* The result of reading one period's entry. */
typedef enum {
    TK_FARM_FOUND,   /* a genuine entry: key holds it */
    TK_FARM_MISSING, /* the store has no entry */
    TK_FARM_REFUSED, /* an entry this secret does not open (forged, other secret or name) */
    TK_FARM_ERROR    /* the store did not answer */
} tk_farm_read_e;

typedef struct {
    apr_int64_t period;
    tk_farm_read_e result;
    tk_key_t key; /* with TK_FARM_FOUND */
} tk_farm_read_t;

/* What one check did, for the glue to write and log (no key bytes). */
typedef struct {
    unsigned int nwrites;
    apr_int64_t writes[TK_FARM_MAX_READS]; /* periods whose held key to write now */
    unsigned int adopted;                  /* keys taken from the store (new or replacing) */
    unsigned int generated;                /* keys made here: the store had none to give */
    unsigned int conflicts;                /* frozen keys the store holds another key for */
    apr_int64_t conflict_period;           /* the last of them */
    unsigned int lost;                     /* frozen keys the store no longer holds */
    unsigned int dropped;                  /* keys expired and forgotten */
    int changed;                           /* the held keys differ from before */
} tk_farm_plan_t;

/* --- periods ------------------------------------------------------------------------- */

apr_int64_t tk_farm_period_of(const tk_farm_conf_t *conf, apr_time_t now);
apr_time_t tk_farm_start(const tk_farm_conf_t *conf, apr_int64_t q);
/* W(q): no write of q from then on. */
apr_time_t tk_farm_write_deadline(const tk_farm_conf_t *conf, apr_int64_t q);
/* F(q): the key held for q never changes from then on. */
apr_time_t tk_farm_freeze_time(const tk_farm_conf_t *conf, apr_int64_t q);
/* When the key of q stops opening (its not_after). */
apr_time_t tk_farm_end_of_use(const tk_farm_conf_t *conf, apr_int64_t q);
/* How long the store keeps the entry of q: while a joining server may need it. */
apr_time_t tk_farm_entry_expiry(const tk_farm_conf_t *conf, apr_int64_t q);
/* How many keys a server holds at most with this configuration. */
unsigned int tk_farm_keys_needed(const tk_farm_conf_t *conf);

/* Checks a configuration: period long enough for the check interval (the settle time,
 * period/4, must cover two checks), keys that fit a ring, a valid name.  NULL, or why
 * not (from p). */
const char *tk_farm_conf_check(const tk_farm_conf_t *conf, apr_interval_time_t check_interval,
                               apr_pool_t *p);

/* The tag of a secret: 8 hex digits (the start of an HMAC-SHA256 of a fixed label with
 * the secret; it tells nothing of the secret).  Returns 0 when OpenSSL fails. */
#define TK_FARM_TAG_TEXT_LEN 9
int tk_farm_secret_tag(const tk_farm_secret_t *secret, char tag[TK_FARM_TAG_TEXT_LEN]);

/* The store id of the entry of q: "name:tag:q", with the tag of the secret.  Servers with
 * different secrets thus never overwrite each other's keys: a server given a wrong or new
 * secret forms a group of its own instead of breaking the farm's agreement.  NULL when
 * OpenSSL fails. */
const char *tk_farm_entry_id(const tk_farm_secret_t *secret, const tk_farm_conf_t *conf,
                             apr_int64_t q, apr_pool_t *p);

/* The roster of a name space, at the store id "name:secrets": the tags of the secrets its
 * servers use, each with when it expires ("tag:unix-seconds", space-separated; nothing
 * secret).  A server keeps its tag listed, and one that sees another tag knows that a
 * server of the name space has another secret, whose keys its own never meet. */
const char *tk_farm_roster_id(const tk_farm_conf_t *conf, apr_pool_t *p);
#define TK_FARM_ROSTER_MAX 640

/* From the roster read (in, len; len 0 for none): drops expired tags, counts the others
 * than tag into *others, and writes into out the roster to store, with tag listed until
 * now + keep.  Returns 1 when out must be written (tag missing, or listed for less than
 * keep/2 more), else 0. */
int tk_farm_roster_update(const char *in, apr_size_t len, const char *tag, apr_time_t now,
                          apr_interval_time_t keep, char out[TK_FARM_ROSTER_MAX],
                          unsigned int *others);

/* --- the secret and entries ---------------------------------------------------------- */

/* Reads the secret from path: 32 raw bytes, or 64 hex digits (an optional final newline).
 * On error, *why says why (never a byte of the file). */
apr_status_t tk_farm_secret_read(apr_pool_t *p, const char *path, tk_farm_secret_t **secret,
                                 const char **why);

/* A secret of these bytes (for tests and tools), wiped when p goes. */
tk_farm_secret_t *tk_farm_secret_make(apr_pool_t *p, const unsigned char *bytes);

/* Seals key as the entry of period q.  APR_EGENERAL when OpenSSL fails. */
apr_status_t tk_farm_seal(const tk_farm_secret_t *secret, const tk_farm_conf_t *conf,
                          apr_int64_t q, const tk_key_t *key,
                          unsigned char out[TK_FARM_ENTRY_LEN]);

/* Opens the entry of period q into *key (an 80-byte key).  APR_EINVAL with *why (no
 * key byte) when it is not a genuine entry of this name space, period length and period
 * for this secret; *key is then wiped. */
apr_status_t tk_farm_open(const tk_farm_secret_t *secret, const tk_farm_conf_t *conf,
                          apr_int64_t q, const unsigned char *in, apr_size_t len, tk_key_t *key,
                          const char **why);

/* --- one check ----------------------------------------------------------------------- */

/* The periods to read at time now: every period whose key still opens, from the oldest
 * to two ahead of the current one.  Returns how many. */
unsigned int tk_farm_to_read(const tk_farm_conf_t *conf, const tk_farm_state_t *state,
                             apr_time_t now, apr_int64_t periods[TK_FARM_MAX_READS]);

/* Decides, from what the reads of this check returned, which keys to adopt, make or keep
 * and which periods to write (the glue writes them after this call, sealed from state).
 * Also drops keys past their use.  Returns APR_EGENERAL when the random generator failed
 * (the state then lacks a key it should hold; the next check tries again). */
apr_status_t tk_farm_step(const tk_farm_conf_t *conf, tk_farm_state_t *state, apr_time_t now,
                          const tk_farm_read_t *reads, unsigned int nreads,
                          tk_farm_plan_t *plan);

/* The key held for q, or NULL. */
const tk_key_t *tk_farm_held(const tk_farm_state_t *state, apr_int64_t q);

/* The ring to publish: every held key, with its window (not_before = start(q), not_after
 * = end of use), the newest period first. */
void tk_farm_ring(const tk_farm_conf_t *conf, const tk_farm_state_t *state, tk_ring_t *ring);

/* The held keys back from a published ring (after a restart or in a new watcher): the
 * keys whose not_before is the start of a period of this configuration with a matching
 * not_after; the others (another period, automatic keys) are left out. */
void tk_farm_state_from_ring(const tk_farm_conf_t *conf, const tk_ring_t *ring,
                             tk_farm_state_t *state);

/* Wipes every held key. */
void tk_farm_state_wipe(tk_farm_state_t *state);

#endif
