/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A farm's ticket keys through a shared store: see tk_farm.h.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "tk_farm.h"
#include "tk_keyfile.h"

/* Bound into every entry with the name space and the period. */
#define AAD_LABEL "mod_tls_tickets farm key"

apr_int64_t tk_farm_period_of(const tk_farm_conf_t *conf, apr_time_t now)
{
    return now < 0 ? -1 - (-1 - now) / conf->period : now / conf->period;
}

apr_time_t tk_farm_start(const tk_farm_conf_t *conf, apr_int64_t q)
{
    return q * conf->period;
}

apr_time_t tk_farm_write_deadline(const tk_farm_conf_t *conf, apr_int64_t q)
{
    return tk_farm_start(conf, q) - conf->period / 2;
}

apr_time_t tk_farm_freeze_time(const tk_farm_conf_t *conf, apr_int64_t q)
{
    return tk_farm_start(conf, q) - conf->period / 4;
}

apr_time_t tk_farm_end_of_use(const tk_farm_conf_t *conf, apr_int64_t q)
{
    return tk_farm_start(conf, q + 1) + conf->open_for;
}

apr_time_t tk_farm_entry_expiry(const tk_farm_conf_t *conf, apr_int64_t q)
{
    return tk_farm_end_of_use(conf, q) + conf->period;
}

/* Older periods whose keys still open at some time of the current one. */
static apr_int64_t old_periods(const tk_farm_conf_t *conf)
{
    return (conf->open_for + conf->period - 1) / conf->period;
}

unsigned int tk_farm_keys_needed(const tk_farm_conf_t *conf)
{
    apr_int64_t n = old_periods(conf) + 3; /* and the current one and two ahead */

    return n > 1000 ? 1000 : (unsigned int)n;
}

const char *tk_farm_conf_check(const tk_farm_conf_t *conf, apr_interval_time_t check_interval,
                               apr_pool_t *p)
{
    const char *c;

    if (conf->period < 8 * check_interval)
        return apr_psprintf(p,
                            "the period (%" APR_TIME_T_FMT " s) must be at least 8 check "
                            "intervals (SSLTicketKeyCheckInterval %" APR_TIME_T_FMT
                            " s): a quarter of it lets every server read the final key of a "
                            "period at least twice before the key is frozen",
                            apr_time_sec(conf->period), apr_time_sec(check_interval));
    if (tk_farm_keys_needed(conf) > TK_RING_MAX_KEYS)
        return apr_psprintf(p,
                            "keys stay in use %" APR_TIME_T_FMT " s after their period; with "
                            "a period of %" APR_TIME_T_FMT " s that takes %u keys, more than "
                            "the %d a ring holds: lengthen the period or shorten the session "
                            "timeout",
                            apr_time_sec(conf->open_for), apr_time_sec(conf->period),
                            tk_farm_keys_needed(conf), TK_RING_MAX_KEYS);
    if (conf->name == NULL || *conf->name == '\0' || strlen(conf->name) > TK_FARM_NAME_MAX)
        return apr_psprintf(p, "the name space must have 1 to %d characters", TK_FARM_NAME_MAX);
    for (c = conf->name; *c; c++)
        if (!apr_isalnum(*c) && *c != '-' && *c != '_' && *c != '.')
            return apr_psprintf(p,
                                "the name space '%s' may hold only letters, digits, '-', "
                                "'_' and '.'",
                                conf->name);
    return NULL;
}

int tk_farm_secret_tag(const tk_farm_secret_t *secret, char tag[TK_FARM_TAG_TEXT_LEN])
{
    static const char label[] = "mod_tls_tickets farm entry id";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (HMAC(EVP_sha256(), secret->bytes, TK_FARM_SECRET_LEN, (const unsigned char *)label,
             sizeof(label) - 1, mac, &len) == NULL ||
        len < 4)
        return 0;
    apr_snprintf(tag, TK_FARM_TAG_TEXT_LEN, "%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3]);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 1;
}

const char *tk_farm_entry_id(const tk_farm_secret_t *secret, const tk_farm_conf_t *conf,
                             apr_int64_t q, apr_pool_t *p)
{
    char tag[TK_FARM_TAG_TEXT_LEN];

    if (!tk_farm_secret_tag(secret, tag))
        return NULL;
    return apr_psprintf(p, "%s:%s:%" APR_INT64_T_FMT, conf->name, tag, q);
}

const char *tk_farm_roster_id(const tk_farm_conf_t *conf, apr_pool_t *p)
{
    return apr_psprintf(p, "%s:secrets", conf->name);
}

/* Whether text[0..len) is a tag: 8 lower-case hex digits. */
static int is_tag(const char *text, apr_size_t len)
{
    apr_size_t i;

    if (len != TK_FARM_TAG_TEXT_LEN - 1)
        return 0;
    for (i = 0; i < len; i++)
        if (!apr_isxdigit(text[i]) || apr_isupper(text[i]))
            return 0;
    return 1;
}

/* The expiry of the record text[0..len) ("tag:seconds") into *until, its tag's length
 * into *tag_len; 0 when it is not a record. */
static int parse_record(const char *text, apr_size_t len, apr_size_t *tag_len,
                        apr_int64_t *until)
{
    const char *colon = memchr(text, ':', len);
    apr_size_t i;

    if (colon == NULL || !is_tag(text, (apr_size_t)(colon - text)))
        return 0;
    *tag_len = (apr_size_t)(colon - text);
    *until = 0;
    for (i = *tag_len + 1; i < len; i++) {
        if (!apr_isdigit(text[i]) || i - *tag_len > 12)
            return 0;
        *until = *until * 10 + (text[i] - '0');
    }
    return i > *tag_len + 1;
}

int tk_farm_roster_update(const char *in, apr_size_t len, const char *tag, apr_time_t now,
                          apr_interval_time_t keep, char out[TK_FARM_ROSTER_MAX],
                          unsigned int *others)
{
    /* room kept for this server's own record, written last */
    const apr_size_t room = TK_FARM_ROSTER_MAX - TK_FARM_TAG_TEXT_LEN - 24;
    apr_int64_t now_s = apr_time_sec(now), mine = 0, until;
    apr_size_t i = 0, n = 0, tag_len;

    *others = 0;
    while (i < len) {
        apr_size_t start = i;

        while (i < len && in[i] != ' ')
            i++;
        if (parse_record(in + start, i - start, &tag_len, &until) && until > now_s) {
            if (tag_len == strlen(tag) && memcmp(in + start, tag, tag_len) == 0) {
                mine = until;
            } else if (n + (i - start) + 1 < room) {
                memcpy(out + n, in + start, i - start);
                n += i - start;
                out[n++] = ' ';
                (*others)++;
            }
        }
        while (i < len && in[i] == ' ')
            i++;
    }
    apr_snprintf(out + n, TK_FARM_ROSTER_MAX - n, "%s:%" APR_INT64_T_FMT, tag,
                 now_s + apr_time_sec(keep));
    return mine == 0 || mine - now_s < apr_time_sec(keep) / 2;
}

/* --- the secret ---------------------------------------------------------------------- */

static apr_status_t secret_cleanup(void *data)
{
    OPENSSL_cleanse(data, sizeof(tk_farm_secret_t));
    return APR_SUCCESS;
}

tk_farm_secret_t *tk_farm_secret_make(apr_pool_t *p, const unsigned char *bytes)
{
    tk_farm_secret_t *secret = apr_palloc(p, sizeof(*secret));

    memcpy(secret->bytes, bytes, TK_FARM_SECRET_LEN);
    apr_pool_cleanup_register(p, secret, secret_cleanup, apr_pool_cleanup_null);
    return secret;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

apr_status_t tk_farm_secret_read(apr_pool_t *p, const char *path, tk_farm_secret_t **secret,
                                 const char **why)
{
    unsigned char *data, bytes[TK_FARM_SECRET_LEN];
    apr_size_t len, text_len, i;
    apr_status_t rv = tk_keyfile_read(p, path, &data, &len, why);

    if (rv != APR_SUCCESS)
        return rv;
    text_len = len;
    if (text_len > 0 && data[text_len - 1] == '\n')
        text_len--;
    if (text_len > 0 && data[text_len - 1] == '\r')
        text_len--;
    if (len == TK_FARM_SECRET_LEN) {
        memcpy(bytes, data, TK_FARM_SECRET_LEN);
    } else if (text_len == 2 * TK_FARM_SECRET_LEN) {
        for (i = 0; i < TK_FARM_SECRET_LEN; i++) {
            int hi = hex_value(data[2 * i]), lo = hex_value(data[2 * i + 1]);

            if (hi < 0 || lo < 0)
                break;
            bytes[i] = (unsigned char)(hi << 4 | lo);
        }
        if (i < TK_FARM_SECRET_LEN) {
            *why = "64 characters, but not all hex digits: a farm secret is 32 random bytes, "
                   "or 64 hex digits";
            OPENSSL_cleanse(bytes, sizeof(bytes));
            OPENSSL_cleanse(data, len);
            return APR_EINVAL;
        }
    } else {
        *why = apr_psprintf(p,
                            "%lu bytes: a farm secret is 32 random bytes, or 64 hex digits "
                            "(make one with `openssl rand -hex 32`)",
                            (unsigned long)len);
        OPENSSL_cleanse(data, len);
        return APR_EINVAL;
    }
    OPENSSL_cleanse(data, len);
    *secret = tk_farm_secret_make(p, bytes);
    OPENSSL_cleanse(bytes, sizeof(bytes));
    return APR_SUCCESS;
}

/* --- entries ------------------------------------------------------------------------- */

/* The associated data: label, version, name space, period length and period index, so
 * that an entry opens only where and when it was written (servers configured with other
 * period lengths would otherwise take each other's keys for other times). */
static apr_size_t make_aad(const tk_farm_conf_t *conf, apr_int64_t q, unsigned char *aad,
                           apr_size_t size)
{
    apr_size_t n = 0, name_len = strlen(conf->name);
    apr_uint64_t words[2];
    int i, w;

    if (sizeof(AAD_LABEL) + 1 + name_len + 1 + 16 > size)
        return 0;
    memcpy(aad, AAD_LABEL, sizeof(AAD_LABEL)); /* with its NUL */
    n = sizeof(AAD_LABEL);
    aad[n++] = TK_FARM_VERSION;
    memcpy(aad + n, conf->name, name_len + 1);
    n += name_len + 1;
    words[0] = (apr_uint64_t)conf->period;
    words[1] = (apr_uint64_t)q;
    for (w = 0; w < 2; w++)
        for (i = 7; i >= 0; i--)
            aad[n++] = (unsigned char)(words[w] >> (8 * i));
    return n;
}

static void key_bytes(const tk_key_t *key, unsigned char out[TK_FARM_KEY_LEN])
{
    memcpy(out, key->name, TK_KEY_NAME_LEN);
    memcpy(out + TK_KEY_NAME_LEN, key->hmac_key, TK_KEY_SECRET_MAX);
    memcpy(out + TK_KEY_NAME_LEN + TK_KEY_SECRET_MAX, key->aes_key, TK_KEY_SECRET_MAX);
}

apr_status_t tk_farm_seal(const tk_farm_secret_t *secret, const tk_farm_conf_t *conf,
                          apr_int64_t q, const tk_key_t *key,
                          unsigned char out[TK_FARM_ENTRY_LEN])
{
    unsigned char aad[sizeof(AAD_LABEL) + TK_FARM_NAME_MAX + 24], plain[TK_FARM_KEY_LEN];
    unsigned char *nonce = out + 1, *ct = out + 1 + TK_FARM_NONCE_LEN;
    apr_size_t aad_len = make_aad(conf, q, aad, sizeof(aad));
    EVP_CIPHER_CTX *ctx;
    int len, ok;

    if (aad_len == 0 || key->size != TK_KEY_80)
        return APR_EINVAL;
    out[0] = TK_FARM_VERSION;
    if (RAND_bytes(nonce, TK_FARM_NONCE_LEN) != 1 || (ctx = EVP_CIPHER_CTX_new()) == NULL)
        return APR_EGENERAL;
    key_bytes(key, plain);
    ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TK_FARM_NONCE_LEN, NULL) == 1 &&
         EVP_EncryptInit_ex(ctx, NULL, NULL, secret->bytes, nonce) == 1 &&
         EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) == 1 &&
         EVP_EncryptUpdate(ctx, ct, &len, plain, TK_FARM_KEY_LEN) == 1 &&
         len == TK_FARM_KEY_LEN && EVP_EncryptFinal_ex(ctx, ct + len, &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TK_FARM_TAG_LEN,
                             ct + TK_FARM_KEY_LEN) == 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(plain, sizeof(plain));
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

apr_status_t tk_farm_open(const tk_farm_secret_t *secret, const tk_farm_conf_t *conf,
                          apr_int64_t q, const unsigned char *in, apr_size_t len, tk_key_t *key,
                          const char **why)
{
    unsigned char aad[sizeof(AAD_LABEL) + TK_FARM_NAME_MAX + 24], plain[TK_FARM_KEY_LEN];
    const unsigned char *nonce = in + 1, *ct = in + 1 + TK_FARM_NONCE_LEN;
    apr_size_t aad_len = make_aad(conf, q, aad, sizeof(aad));
    EVP_CIPHER_CTX *ctx;
    int out_len, ok;

    memset(key, 0, sizeof(*key));
    if (len != TK_FARM_ENTRY_LEN) {
        *why = "not an entry of this module (wrong length)";
        return APR_EINVAL;
    }
    if (in[0] != TK_FARM_VERSION) {
        *why = "an entry of an unknown format version";
        return APR_EINVAL;
    }
    if (aad_len == 0 || (ctx = EVP_CIPHER_CTX_new()) == NULL) {
        *why = "cannot decrypt (OpenSSL failed)";
        return APR_EGENERAL;
    }
    ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, TK_FARM_NONCE_LEN, NULL) == 1 &&
         EVP_DecryptInit_ex(ctx, NULL, NULL, secret->bytes, nonce) == 1 &&
         EVP_DecryptUpdate(ctx, NULL, &out_len, aad, (int)aad_len) == 1 &&
         EVP_DecryptUpdate(ctx, plain, &out_len, ct, TK_FARM_KEY_LEN) == 1 &&
         out_len == TK_FARM_KEY_LEN &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TK_FARM_TAG_LEN,
                             (void *)(ct + TK_FARM_KEY_LEN)) == 1 &&
         EVP_DecryptFinal_ex(ctx, plain + out_len, &out_len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(plain, sizeof(plain));
        *why = "the entry does not open with this farm secret for this name space and period "
               "(another farm's secret, an entry copied from another name or period, or a "
               "forgery)";
        return APR_EINVAL;
    }
    key->size = TK_KEY_80;
    memcpy(key->name, plain, TK_KEY_NAME_LEN);
    memcpy(key->hmac_key, plain + TK_KEY_NAME_LEN, TK_KEY_SECRET_MAX);
    memcpy(key->aes_key, plain + TK_KEY_NAME_LEN + TK_KEY_SECRET_MAX, TK_KEY_SECRET_MAX);
    tk_key_set_fingerprint(key);
    OPENSSL_cleanse(plain, sizeof(plain));
    return APR_SUCCESS;
}

/* --- one check ----------------------------------------------------------------------- */

static int held_index(const tk_farm_state_t *state, apr_int64_t q)
{
    unsigned int i;

    for (i = 0; i < state->n && i < TK_RING_MAX_KEYS; i++)
        if (state->held[i].period == q)
            return (int)i;
    return -1;
}

const tk_key_t *tk_farm_held(const tk_farm_state_t *state, apr_int64_t q)
{
    int i = held_index(state, q);

    return i < 0 ? NULL : &state->held[i].key;
}

unsigned int tk_farm_to_read(const tk_farm_conf_t *conf, const tk_farm_state_t *state,
                             apr_time_t now, apr_int64_t periods[TK_FARM_MAX_READS])
{
    apr_int64_t p = tk_farm_period_of(conf, now), q;
    unsigned int n = 0;

    (void)state; /* held or not, an old key still opening is read: one the store lost
                  * (or never had: made during an outage) is written back for joiners */
    for (q = p - old_periods(conf); q < p && n < TK_FARM_MAX_READS; q++)
        if (tk_farm_end_of_use(conf, q) > now)
            periods[n++] = q;
    for (q = p; q <= p + 2 && n < TK_FARM_MAX_READS; q++)
        periods[n++] = q;
    return n;
}

static int same_key(const tk_key_t *a, const tk_key_t *b)
{
    return memcmp(a->name, b->name, TK_KEY_NAME_LEN) == 0 &&
           CRYPTO_memcmp(a->hmac_key, b->hmac_key, TK_KEY_SECRET_MAX) == 0 &&
           CRYPTO_memcmp(a->aes_key, b->aes_key, TK_KEY_SECRET_MAX) == 0;
}

static void remove_at(tk_farm_state_t *state, unsigned int i)
{
    OPENSSL_cleanse(&state->held[i].key, sizeof(state->held[i].key));
    memmove(&state->held[i], &state->held[i + 1], (state->n - i - 1) * sizeof(state->held[0]));
    state->n--;
    OPENSSL_cleanse(&state->held[state->n], sizeof(state->held[0]));
}

/* Holds key for q, in period order; when full, the oldest key goes. */
static void hold(tk_farm_state_t *state, apr_int64_t q, const tk_key_t *key, int confirmed)
{
    unsigned int i;

    if (state->n >= TK_RING_MAX_KEYS)
        remove_at(state, 0);
    for (i = state->n; i > 0 && state->held[i - 1].period > q; i--)
        state->held[i] = state->held[i - 1];
    state->held[i].period = q;
    state->held[i].key = *key;
    state->held[i].key.not_before = state->held[i].key.not_after = TK_TIME_NONE;
    state->held[i].key.since = TK_TIME_NONE;
    state->held[i].confirmed = confirmed;
    state->n++;
}

apr_status_t tk_farm_step(const tk_farm_conf_t *conf, tk_farm_state_t *state, apr_time_t now,
                          const tk_farm_read_t *reads, unsigned int nreads,
                          tk_farm_plan_t *plan)
{
    apr_int64_t p = tk_farm_period_of(conf, now);
    apr_status_t rv = APR_SUCCESS;
    unsigned int r, i;

    memset(plan, 0, sizeof(*plan));
    for (i = state->n; i > 0; i--) {
        if (tk_farm_end_of_use(conf, state->held[i - 1].period) <= now) {
            remove_at(state, i - 1);
            plan->dropped++;
            plan->changed = 1;
        }
    }
    for (r = 0; r < nreads; r++) {
        const tk_farm_read_t *rd = &reads[r];
        apr_int64_t q = rd->period;
        int h = held_index(state, q);
        int frozen = now >= tk_farm_freeze_time(conf, q);
        int writable = now < tk_farm_write_deadline(conf, q);
        tk_key_t fresh;

        if (tk_farm_end_of_use(conf, q) <= now)
            continue;
        if (rd->result == TK_FARM_FOUND) {
            if (h < 0) {
                hold(state, q, &rd->key, 1);
                plan->adopted++;
                plan->changed = 1;
            } else if (same_key(&state->held[h].key, &rd->key)) {
                state->held[h].confirmed = 1;
            } else {
                /* Before the freeze nobody seals with q: follow the store.  A key of
                 * this server's own nobody else knows gives way until it seals. */
                if (!frozen || (!state->held[h].confirmed && now < tk_farm_start(conf, q))) {
                    remove_at(state, (unsigned int)h);
                    hold(state, q, &rd->key, 1);
                    plan->adopted++;
                    plan->changed = 1;
                } else {
                    plan->conflicts++;
                    plan->conflict_period = q;
                }
            }
            continue;
        }
        if (q < p && h < 0)
            continue; /* an old key nobody can give: no ticket of ours needs it */
        if (h < 0) {
            if (tk_key_generate(&fresh, TK_KEY_80) != APR_SUCCESS) {
                rv = APR_EGENERAL;
                continue;
            }
            hold(state, q, &fresh, 0);
            OPENSSL_cleanse(&fresh, sizeof(fresh));
            plan->generated++;
            plan->changed = 1;
        } else if (frozen && rd->result == TK_FARM_MISSING && state->held[h].confirmed) {
            plan->lost++;
        }
        /* Before W(q) a missing or unreadable entry is replaced; after the freeze only a
         * missing one is put back (every holder then writes the key it froze, the same
         * one).  In between nothing is written, so that the last write of q is read by
         * every server before it freezes q. */
        if ((writable && rd->result != TK_FARM_ERROR) ||
            (frozen && rd->result == TK_FARM_MISSING))
            plan->writes[plan->nwrites++] = q;
    }
    return rv;
}

void tk_farm_ring(const tk_farm_conf_t *conf, const tk_farm_state_t *state, tk_ring_t *ring)
{
    unsigned int i;

    tk_ring_wipe(ring);
    for (i = state->n; i > 0; i--) {
        const tk_farm_held_t *h = &state->held[i - 1];
        tk_key_t key = h->key;

        key.not_before = tk_farm_start(conf, h->period);
        key.not_after = tk_farm_end_of_use(conf, h->period);
        tk_ring_add(ring, &key);
        OPENSSL_cleanse(&key, sizeof(key));
    }
}

void tk_farm_state_from_ring(const tk_farm_conf_t *conf, const tk_ring_t *ring,
                             tk_farm_state_t *state)
{
    unsigned int i, n = ring->nkeys < TK_RING_MAX_KEYS ? ring->nkeys : TK_RING_MAX_KEYS;

    tk_farm_state_wipe(state);
    for (i = 0; i < n; i++) {
        const tk_key_t *key = &ring->keys[i];
        apr_int64_t q;

        if (key->size != TK_KEY_80 || key->not_before == TK_TIME_NONE ||
            key->not_before % conf->period != 0 || key->not_after <= key->not_before)
            continue;
        q = key->not_before / conf->period;
        if (held_index(state, q) < 0)
            hold(state, q, key, 1);
    }
}

void tk_farm_state_wipe(tk_farm_state_t *state)
{
    OPENSSL_cleanse(state, sizeof(*state));
}
