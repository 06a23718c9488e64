/* SPDX-License-Identifier: Apache-2.0 */
/* A farm's keys through a shared store: periods, sealed entries, the rules of one check,
 * and servers racing to write through a store that keeps the last write. */
#include <stdlib.h>

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "unit.h"

#include "keys.h"
#include "tk_farm.h"

#define SEC(n) apr_time_from_sec(n)

static tk_farm_conf_t conf_of(apr_interval_time_t period, apr_interval_time_t open_for,
                              const char *name)
{
    tk_farm_conf_t c;

    c.period = period;
    c.open_for = open_for;
    c.name = name;
    return c;
}

static const tk_farm_secret_t *secret_of(unsigned char fill)
{
    unsigned char bytes[TK_FARM_SECRET_LEN];

    memset(bytes, fill, sizeof(bytes));
    return tk_farm_secret_make(unit_pool, bytes);
}

static void periods_and_deadlines(void)
{
    tk_farm_conf_t c = conf_of(SEC(3600), SEC(300), "www");
    apr_time_t t = SEC(3600) * 100 + SEC(10);

    CHECK(tk_farm_period_of(&c, t) == 100);
    CHECK(tk_farm_period_of(&c, SEC(3600) * 100) == 100);
    CHECK(tk_farm_period_of(&c, SEC(3600) * 100 - 1) == 99);
    CHECK(tk_farm_start(&c, 101) == SEC(3600) * 101);
    CHECK(tk_farm_write_deadline(&c, 101) == SEC(3600) * 101 - SEC(1800));
    CHECK(tk_farm_freeze_time(&c, 101) == SEC(3600) * 101 - SEC(900));
    CHECK(tk_farm_end_of_use(&c, 100) == SEC(3600) * 101 + SEC(300));
    CHECK(tk_farm_entry_expiry(&c, 100) > tk_farm_end_of_use(&c, 100));
    CHECK(tk_farm_keys_needed(&c) == 4);
}

/* Servers with different secrets write to different entries (a wrong or new secret makes
 * a group apart, and cannot overwrite the farm's keys); the roster tells them apart. */
static void secrets_keep_their_entries_apart(void)
{
    tk_farm_conf_t c = conf_of(SEC(3600), SEC(300), "www");
    const char *a = tk_farm_entry_id(secret_of(7), &c, 100, unit_pool);
    const char *b = tk_farm_entry_id(secret_of(8), &c, 100, unit_pool);
    char tag[TK_FARM_TAG_TEXT_LEN];
    apr_size_t i;

    CHECK(a != NULL && b != NULL);
    CHECK(tk_farm_secret_tag(secret_of(7), tag));
    CHECK_STR(a, apr_psprintf(unit_pool, "www:%s:100", tag));
    for (i = 0; i < 8; i++)
        CHECK(apr_isxdigit(tag[i]) && !apr_isupper(tag[i]));
    CHECK(strcmp(a, b) != 0);
    CHECK_STR(tk_farm_entry_id(secret_of(7), &c, 100, unit_pool), a); /* stable */
    CHECK(strcmp(tk_farm_entry_id(secret_of(7), &c, 101, unit_pool), a) != 0);
    CHECK_STR(tk_farm_roster_id(&c, unit_pool), "www:secrets");
}

/* The roster: a server lists its tag, sees the others' that have not expired, refreshes
 * its own before it expires, and survives what else the store may hold. */
static void the_roster_lists_the_secrets_in_use(void)
{
    char out[TK_FARM_ROSTER_MAX], big[4 * TK_FARM_ROSTER_MAX];
    apr_time_t now = SEC(1000000);
    apr_interval_time_t keep = SEC(100);
    unsigned int others = 9;
    const char *roster;
    apr_size_t n = 0;
    int i;

    CHECK(tk_farm_roster_update("", 0, "aaaaaaaa", now, keep, out, &others) == 1);
    CHECK_STR(out, "aaaaaaaa:1000100");
    CHECK(others == 0);
    /* listed long enough: nothing to write */
    CHECK(tk_farm_roster_update(out, strlen(out), "aaaaaaaa", now + SEC(10), keep, out,
                                &others) == 0);
    CHECK(others == 0);
    /* half of keep left: refreshed */
    CHECK(tk_farm_roster_update("aaaaaaaa:1000100", 16, "aaaaaaaa", now + SEC(60), keep, out,
                                &others) == 1);
    CHECK_STR(out, "aaaaaaaa:1000160");
    /* another secret: counted and kept; an expired one dropped; junk skipped */
    roster = "bbbbbbbb:1000050 cccccccc:999999 XYZ:1 dddddddd:x aaaaaaaa:1000090";
    CHECK(tk_farm_roster_update(roster, strlen(roster), "aaaaaaaa", now, keep, out, &others) ==
          0);
    CHECK(others == 1);
    CHECK(tk_farm_roster_update("bbbbbbbb:1000050", 16, "aaaaaaaa", now, keep, out, &others) ==
          1);
    CHECK_STR(out, "bbbbbbbb:1000050 aaaaaaaa:1000100");
    CHECK(others == 1);
    /* upper case and wrong lengths are not tags */
    CHECK(tk_farm_roster_update("BBBBBBBB:1000050 bbbbbbb:1000050", 33, "aaaaaaaa", now, keep,
                                out, &others) == 1);
    CHECK(others == 0);
    /* a roster longer than fits: this server's own record always does */
    for (i = 0; n + 20 < sizeof(big); i++)
        n += (apr_size_t)apr_snprintf(big + n, sizeof(big) - n, "%08x:2000000 ", i + 1);
    CHECK(tk_farm_roster_update(big, n, "aaaaaaaa", now, keep, out, &others) == 1);
    CHECK(strlen(out) < TK_FARM_ROSTER_MAX);
    CHECK(strstr(out, "aaaaaaaa:1000100") != NULL);
    CHECK(others > 10);
}

static void configurations_are_checked(void)
{
    tk_farm_conf_t c = conf_of(SEC(3600), SEC(300), "www");

    CHECK(tk_farm_conf_check(&c, SEC(1), unit_pool) == NULL);
    c.period = SEC(7);
    CHECK(tk_farm_conf_check(&c, SEC(1), unit_pool) != NULL); /* under 8 checks */
    c.period = SEC(8);
    c.open_for = SEC(10);
    CHECK(tk_farm_conf_check(&c, SEC(1), unit_pool) == NULL);
    c.open_for = SEC(8 * 30);
    CHECK(tk_farm_conf_check(&c, SEC(1), unit_pool) != NULL); /* more keys than a ring */
    c = conf_of(SEC(3600), SEC(300), "a b");
    CHECK(tk_farm_conf_check(&c, SEC(1), unit_pool) != NULL);
    c.name = "";
    CHECK(tk_farm_conf_check(&c, SEC(1), unit_pool) != NULL);
}

static void entries_open_only_where_and_when_sealed(void)
{
    tk_farm_conf_t c = conf_of(SEC(3600), SEC(300), "www"), other = c;
    tk_key_t key = make_key(1, TK_KEY_80), out;
    unsigned char entry[TK_FARM_ENTRY_LEN], again[TK_FARM_ENTRY_LEN];
    const char *why = NULL;
    unsigned int i;

    CHECK(tk_farm_seal(secret_of(7), &c, 42, &key, entry) == APR_SUCCESS);
    CHECK(entry[0] == TK_FARM_VERSION);
    /* no key byte in clear: no 8-byte run of the key's bytes appears in the entry */
    for (i = 0; i + 8 <= TK_KEY_NAME_LEN; i++)
        CHECK(memmem(entry, sizeof(entry), key.name + i, 8) == NULL);
    for (i = 0; i + 8 <= TK_KEY_SECRET_MAX; i++)
        CHECK(memmem(entry, sizeof(entry), key.aes_key + i, 8) == NULL &&
              memmem(entry, sizeof(entry), key.hmac_key + i, 8) == NULL);
    /* a fresh nonce each time */
    CHECK(tk_farm_seal(secret_of(7), &c, 42, &key, again) == APR_SUCCESS);
    CHECK(memcmp(entry, again, sizeof(entry)) != 0);

    CHECK(tk_farm_open(secret_of(7), &c, 42, entry, sizeof(entry), &out, &why) == APR_SUCCESS);
    CHECK(memcmp(out.name, key.name, TK_KEY_NAME_LEN) == 0 &&
          memcmp(out.hmac_key, key.hmac_key, TK_KEY_SECRET_MAX) == 0 &&
          memcmp(out.aes_key, key.aes_key, TK_KEY_SECRET_MAX) == 0 && out.size == TK_KEY_80);

    /* another period, another name space, another secret */
    CHECK(tk_farm_open(secret_of(7), &c, 43, entry, sizeof(entry), &out, &why) == APR_EINVAL);
    CHECK(why && strstr(why, "name space and period"));
    CHECK(out.size == 0 && memcmp(out.name, key.name, TK_KEY_NAME_LEN) != 0);
    other.name = "api";
    CHECK(tk_farm_open(secret_of(7), &other, 42, entry, sizeof(entry), &out, &why) ==
          APR_EINVAL);
    CHECK(tk_farm_open(secret_of(8), &c, 42, entry, sizeof(entry), &out, &why) == APR_EINVAL);
    other = c;
    other.period = SEC(1800); /* a server with another period length */
    CHECK(tk_farm_open(secret_of(7), &other, 42, entry, sizeof(entry), &out, &why) ==
          APR_EINVAL);
    /* any byte changed */
    for (i = 0; i < sizeof(entry); i++) {
        memcpy(again, entry, sizeof(entry));
        again[i] ^= 0x01;
        CHECK(tk_farm_open(secret_of(7), &c, 42, again, sizeof(again), &out, &why) !=
              APR_SUCCESS);
    }
    CHECK(tk_farm_open(secret_of(7), &c, 42, entry, sizeof(entry) - 1, &out, &why) ==
          APR_EINVAL);
    CHECK(why && strstr(why, "length"));
    /* 48-byte keys are not what a farm shares */
    key = make_key(2, TK_KEY_48);
    CHECK(tk_farm_seal(secret_of(7), &c, 42, &key, entry) == APR_EINVAL);
}

static void write_file(const char *path, const char *data, apr_size_t len)
{
    apr_file_t *f;

    apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE | APR_FOPEN_TRUNCATE,
                  APR_FPROT_UREAD | APR_FPROT_UWRITE, unit_pool);
    apr_file_write_full(f, data, len, NULL);
    apr_file_close(f);
}

static void secrets_are_read_raw_or_hex(void)
{
    const char *raw = unit_path("farm-raw.secret"), *hex = unit_path("farm-hex.secret");
    const char *bad = unit_path("farm-bad.secret");
    tk_farm_secret_t *secret = NULL;
    const char *why = NULL;
    char text[65];
    unsigned int i;

    for (i = 0; i < 64; i++)
        text[i] = "0123456789abcdef"[i % 16];
    text[64] = '\n';
    write_file(raw, "0123456789abcdef0123456789abcdef", 32);
    write_file(hex, text, 65);
    CHECK(tk_farm_secret_read(unit_pool, raw, &secret, &why) == APR_SUCCESS);
    CHECK(secret && secret->bytes[0] == '0' && secret->bytes[31] == 'f');
    CHECK(tk_farm_secret_read(unit_pool, hex, &secret, &why) == APR_SUCCESS);
    CHECK(secret && secret->bytes[0] == 0x01 && secret->bytes[1] == 0x23);
    write_file(bad, "short", 5);
    CHECK(tk_farm_secret_read(unit_pool, bad, &secret, &why) == APR_EINVAL);
    CHECK(why && strstr(why, "5 bytes") && strstr(why, "openssl rand"));
    text[10] = 'x';
    write_file(bad, text, 64);
    CHECK(tk_farm_secret_read(unit_pool, bad, &secret, &why) == APR_EINVAL);
    CHECK(why && strstr(why, "hex") && !strstr(why, "0123"));
    CHECK(tk_farm_secret_read(unit_pool, unit_path("farm-none.secret"), &secret, &why) !=
          APR_SUCCESS);
}

static tk_farm_read_t found(apr_int64_t q, const tk_key_t *key)
{
    tk_farm_read_t r;

    r.period = q;
    r.result = TK_FARM_FOUND;
    r.key = *key;
    return r;
}

static tk_farm_read_t result(apr_int64_t q, tk_farm_read_e what)
{
    tk_farm_read_t r;

    memset(&r, 0, sizeof(r));
    r.period = q;
    r.result = what;
    return r;
}

static int has_write(const tk_farm_plan_t *plan, apr_int64_t q)
{
    unsigned int i;

    for (i = 0; i < plan->nwrites; i++)
        if (plan->writes[i] == q)
            return 1;
    return 0;
}

static int same_name(const tk_key_t *a, const tk_key_t *b)
{
    return a && b && memcmp(a->name, b->name, TK_KEY_NAME_LEN) == 0;
}

static void a_check_follows_the_rules(void)
{
    tk_farm_conf_t c = conf_of(SEC(80), SEC(20), "www");
    tk_farm_state_t state;
    tk_farm_plan_t plan;
    tk_key_t a = make_key(1, TK_KEY_80), b = make_key(2, TK_KEY_80);
    apr_time_t t = SEC(80) * 10 + SEC(1); /* early in period 10 */
    tk_farm_read_t reads[3];
    apr_int64_t periods[TK_FARM_MAX_READS];

    memset(&state, 0, sizeof(state));
    CHECK(tk_farm_to_read(&c, &state, t, periods) == 4); /* 9 (still opening), 10, 11, 12 */
    CHECK(periods[0] == 9 && periods[1] == 10 && periods[3] == 12);

    /* an empty store: keys made here; 12 is still writable, 11 too (deadline at 50 s in
     * period 10), 10 is frozen and goes back to the store as the only key anyone has */
    reads[0] = result(10, TK_FARM_MISSING);
    reads[1] = result(11, TK_FARM_MISSING);
    reads[2] = result(12, TK_FARM_MISSING);
    CHECK(tk_farm_step(&c, &state, t, reads, 3, &plan) == APR_SUCCESS);
    CHECK(plan.generated == 3 && state.n == 3 && plan.changed);
    CHECK(has_write(&plan, 10) && has_write(&plan, 11) && has_write(&plan, 12));

    /* the store holds another key for 11 and 12: adopted, nothing written */
    reads[0] = found(11, &a);
    reads[1] = found(12, &b);
    CHECK(tk_farm_step(&c, &state, t, reads, 2, &plan) == APR_SUCCESS);
    CHECK(plan.adopted == 2 && plan.nwrites == 0);
    CHECK(same_name(tk_farm_held(&state, 11), &a) && same_name(tk_farm_held(&state, 12), &b));

    /* after W(11) (40 s before its start) and before F(11) (20 s before): a missing or
     * refused entry is not written, a found one still adopted */
    t = SEC(80) * 11 - SEC(30);
    reads[0] = result(11, TK_FARM_MISSING);
    CHECK(tk_farm_step(&c, &state, t, reads, 1, &plan) == APR_SUCCESS);
    CHECK(plan.nwrites == 0 && same_name(tk_farm_held(&state, 11), &a));
    reads[0] = found(11, &b);
    CHECK(tk_farm_step(&c, &state, t, reads, 1, &plan) == APR_SUCCESS);
    CHECK(plan.adopted == 1 && same_name(tk_farm_held(&state, 11), &b));

    /* frozen: another key in the store is a conflict, the held key stays; a lost entry
     * is written back; an unreachable store changes nothing */
    t = SEC(80) * 11 - SEC(10);
    reads[0] = found(11, &a);
    CHECK(tk_farm_step(&c, &state, t, reads, 1, &plan) == APR_SUCCESS);
    CHECK(plan.conflicts == 1 && plan.conflict_period == 11 && plan.adopted == 0);
    CHECK(same_name(tk_farm_held(&state, 11), &b));
    reads[0] = result(11, TK_FARM_MISSING);
    CHECK(tk_farm_step(&c, &state, t, reads, 1, &plan) == APR_SUCCESS);
    CHECK(plan.lost == 1 && has_write(&plan, 11));
    reads[0] = result(11, TK_FARM_ERROR);
    reads[1] = result(12, TK_FARM_ERROR);
    CHECK(tk_farm_step(&c, &state, t, reads, 2, &plan) == APR_SUCCESS);
    CHECK(plan.nwrites == 0 && !plan.changed && same_name(tk_farm_held(&state, 12), &b));
    /* a refused entry (another secret) in the write window is overwritten */
    reads[0] = result(13, TK_FARM_REFUSED);
    CHECK(tk_farm_step(&c, &state, t, reads, 1, &plan) == APR_SUCCESS);
    CHECK(plan.generated == 1 && has_write(&plan, 13));

    /* keys past their use go */
    t = tk_farm_end_of_use(&c, 10);
    CHECK(tk_farm_step(&c, &state, t, NULL, 0, &plan) == APR_SUCCESS);
    CHECK(plan.dropped == 1 && tk_farm_held(&state, 10) == NULL);
    /* an old key still opening that the store lacks (lost, or made during an outage) is
     * written back, for servers that join */
    t = SEC(80) * 12 + SEC(1);
    CHECK(tk_farm_to_read(&c, &state, t, periods) == 4 && periods[0] == 11);
    reads[0] = result(11, TK_FARM_MISSING);
    CHECK(tk_farm_step(&c, &state, t, reads, 1, &plan) == APR_SUCCESS);
    CHECK(has_write(&plan, 11) && plan.generated == 0);
    reads[0] = result(10, TK_FARM_MISSING); /* dropped: no longer opens */
    CHECK(tk_farm_step(&c, &state, t, reads, 1, &plan) == APR_SUCCESS);
    CHECK(plan.nwrites == 0 && plan.generated == 0);

    tk_farm_state_wipe(&state);
}

static void the_ring_seals_with_the_current_period(void)
{
    tk_farm_conf_t c = conf_of(SEC(80), SEC(20), "www");
    tk_farm_state_t state, back;
    tk_farm_plan_t plan;
    tk_key_t keys[4] = {make_key(1, TK_KEY_80), make_key(2, TK_KEY_80), make_key(3, TK_KEY_80),
                        make_key(4, TK_KEY_80)};
    tk_farm_read_t reads[4];
    apr_time_t t = SEC(80) * 10 + SEC(5);
    tk_ring_t ring;
    int sealing, i;

    memset(&state, 0, sizeof(state));
    for (i = 0; i < 4; i++)
        reads[i] = found(9 + i, &keys[i]);
    CHECK(tk_farm_step(&c, &state, t, reads, 4, &plan) == APR_SUCCESS && state.n == 4);
    tk_farm_ring(&c, &state, &ring);
    CHECK(ring.nkeys == 4);
    CHECK(same_name(tk_ring_sealing_key(&ring, t), &keys[1]));
    /* the next period's key already opens, and seals from its start */
    CHECK(same_name(tk_ring_find(&ring, keys[2].name, t, &sealing), &keys[2]) && !sealing);
    CHECK(same_name(tk_ring_sealing_key(&ring, SEC(80) * 11), &keys[2]));
    /* the previous one opens until its period's end plus open_for */
    CHECK(tk_ring_find(&ring, keys[0].name, SEC(80) * 10 + SEC(19), &sealing) != NULL);
    CHECK(tk_ring_find(&ring, keys[0].name, SEC(80) * 10 + SEC(20), &sealing) == NULL);

    /* a new watcher takes the keys back from the published ring; other keys are left */
    tk_ring_add(&ring, &(tk_key_t){.size = TK_KEY_80, .not_before = SEC(7)});
    tk_farm_state_from_ring(&c, &ring, &back);
    CHECK(back.n == 4);
    for (i = 0; i < 4; i++)
        CHECK(same_name(tk_farm_held(&back, 9 + i), &keys[i]));
    tk_farm_state_wipe(&state);
    tk_farm_state_wipe(&back);
    tk_ring_wipe(&ring);
}

/* --- servers racing through a store that keeps the last write ------------------------ */

#define SIM_SERVERS     5
#define SIM_MAX_PERIODS 64

typedef struct {
    int active, started;
    apr_time_t join_at, next_read, write_at;
    apr_interval_time_t skew, lag; /* clock offset; time from a check's reads to its writes */
    tk_farm_state_t state;
    tk_farm_plan_t plan;
} sim_server;

typedef struct {
    int present;
    unsigned char entry[TK_FARM_ENTRY_LEN];
} sim_entry;

static unsigned int sim_rand_state;

static unsigned int sim_rand(void)
{
    sim_rand_state = sim_rand_state * 1103515245u + 12345u;
    return (sim_rand_state >> 8) & 0xffffff;
}

static apr_interval_time_t sim_between(apr_interval_time_t lo, apr_interval_time_t hi)
{
    return lo + (apr_interval_time_t)(sim_rand() % (unsigned int)(hi - lo + 1));
}

/* One run; returns the number of invariant violations. */
static int simulate(unsigned int seed, int *wipes_done)
{
    const tk_farm_conf_t c = conf_of(SEC(8), SEC(12), "race");
    const tk_farm_secret_t *secret = secret_of(3);
    const apr_interval_time_t interval = SEC(1);
    apr_time_t t0 = SEC(8) * 1000 + sim_between(0, SEC(8)), end = t0 + SEC(8) * 20, t;
    apr_int64_t first = tk_farm_period_of(&c, t0) + 2; /* periods made after the start */
    apr_time_t wipes[3], last_sealed[SIM_MAX_PERIODS];
    unsigned char sealed_name[SIM_MAX_PERIODS][TK_KEY_NAME_LEN];
    int sealed_known[SIM_MAX_PERIODS];
    sim_entry store[SIM_MAX_PERIODS];
    sim_server srv[SIM_SERVERS];
    tk_ring_t ring;
    int violations = 0, s, w, b;
    apr_time_t next_sample = t0;

    sim_rand_state = seed;
    memset(srv, 0, sizeof(srv));
    memset(store, 0, sizeof(store));
    memset(sealed_known, 0, sizeof(sealed_known));
    for (s = 0; s < SIM_SERVERS; s++) {
        srv[s].skew = sim_between(-apr_time_from_msec(150), apr_time_from_msec(150));
        srv[s].lag = sim_between(apr_time_from_msec(1), apr_time_from_msec(80));
        /* the last server joins late, mid-run */
        srv[s].join_at = s < SIM_SERVERS - 1 ? t0 + sim_between(0, apr_time_from_msec(300))
                                             : t0 + SEC(8) * 7 + sim_between(0, SEC(8));
        srv[s].next_read = srv[s].join_at;
        srv[s].write_at = -1;
    }
    for (w = 0; w < 3; w++)
        wipes[w] = t0 + SEC(8) * (4 + 4 * w) + sim_between(0, SEC(8));

    for (t = t0; t < end; t += apr_time_from_msec(10)) {
        for (w = 0; w < 3; w++)
            if (wipes[w] >= t && wipes[w] < t + apr_time_from_msec(10)) {
                memset(store, 0, sizeof(store));
                (*wipes_done)++;
            }
        for (s = 0; s < SIM_SERVERS; s++) {
            sim_server *v = &srv[s];
            apr_time_t now = t + v->skew;

            if (t < v->join_at)
                continue;
            v->active = 1;
            if (v->write_at >= 0 && t >= v->write_at) {
                unsigned int i;

                for (i = 0; i < v->plan.nwrites; i++) {
                    apr_int64_t q = v->plan.writes[i];
                    const tk_key_t *key = tk_farm_held(&v->state, q);

                    if (key && q >= 0 && q % SIM_MAX_PERIODS >= 0) {
                        sim_entry *e = &store[q % SIM_MAX_PERIODS];

                        tk_farm_seal(secret, &c, q, key, e->entry);
                        e->present = 1;
                    }
                }
                v->write_at = -1;
            }
            if (t >= v->next_read) {
                apr_int64_t periods[TK_FARM_MAX_READS];
                tk_farm_read_t reads[TK_FARM_MAX_READS];
                unsigned int n = tk_farm_to_read(&c, &v->state, now, periods), i;
                const char *why;

                for (i = 0; i < n; i++) {
                    sim_entry *e = &store[periods[i] % SIM_MAX_PERIODS];

                    reads[i] = result(periods[i], TK_FARM_MISSING);
                    if (e->present)
                        reads[i].result =
                            tk_farm_open(secret, &c, periods[i], e->entry, TK_FARM_ENTRY_LEN,
                                         &reads[i].key, &why) == APR_SUCCESS
                                ? TK_FARM_FOUND
                                : TK_FARM_MISSING; /* a slot of another q */
                }
                tk_farm_step(&c, &v->state, now, reads, n, &v->plan);
                v->write_at = t + v->lag;
                v->next_read = t + interval + sim_between(0, apr_time_from_msec(50));
                v->started = 1;
            }
        }
        if (t < next_sample)
            continue;
        next_sample = t + apr_time_from_msec(50);
        /* Every server that seals in period q seals with one key, and every other server
         * opens it as long as a ticket it sealed may come back. */
        for (s = 0; s < SIM_SERVERS; s++) {
            apr_time_t now = t + srv[s].skew;
            apr_int64_t q = tk_farm_period_of(&c, now);
            const tk_key_t *key;
            int slot = (int)(q % SIM_MAX_PERIODS);

            if (!srv[s].started || q < first)
                continue;
            tk_farm_ring(&c, &srv[s].state, &ring);
            key = tk_ring_sealing_key(&ring, now);
            if (key == NULL) {
                violations++;
                continue;
            }
            if (!sealed_known[slot]) {
                memcpy(sealed_name[slot], key->name, TK_KEY_NAME_LEN);
                sealed_known[slot] = 1;
            } else if (memcmp(sealed_name[slot], key->name, TK_KEY_NAME_LEN) != 0) {
                violations++;
            }
            last_sealed[slot] = t;
        }
        for (b = 0; b < SIM_SERVERS; b++) {
            apr_time_t now = t + srv[b].skew;
            apr_int64_t q;
            int sealing;

            if (!srv[b].started)
                continue;
            tk_farm_ring(&c, &srv[b].state, &ring);
            for (q = first; q <= tk_farm_period_of(&c, t) + 1; q++) {
                int slot = (int)(q % SIM_MAX_PERIODS);

                if (sealed_known[slot] && t < last_sealed[slot] + SEC(12) - SEC(2) &&
                    tk_ring_find(&ring, sealed_name[slot], now, &sealing) == NULL)
                    violations++;
            }
        }
        tk_ring_wipe(&ring);
    }
    for (s = 0; s < SIM_SERVERS; s++)
        tk_farm_state_wipe(&srv[s].state);
    return violations;
}

static void racing_servers_seal_with_one_key(void)
{
    unsigned int seed;
    int failed_runs = 0, wipes = 0;

    for (seed = 1; seed <= 12; seed++) {
        int v = simulate(seed, &wipes);

        if (v) {
            failed_runs++;
            fprintf(stderr, "farm race, seed %u: %d violations\n", seed, v);
        }
    }
    CHECK(failed_runs == 0);
    CHECK(wipes == 12 * 3);
}

/* One server's check of period q against a one-entry store: read, step, and the write
 * (if any) landing later, as the caller orders it. */
static void check_q(const tk_farm_conf_t *c, tk_farm_state_t *state, apr_time_t now,
                    apr_int64_t q, const tk_key_t *store, tk_farm_plan_t *plan)
{
    tk_farm_read_t r = store ? found(q, store) : result(q, TK_FARM_MISSING);

    tk_farm_step(c, state, now, &r, 1, plan);
}

/* The race the settle time is for: the store loses period q just before its write
 * deadline, a server that just joined (holding nothing) and one that holds q both find it
 * missing and write, the newcomer last.  A third server, whose last check before the
 * deadline came before both writes, reads the final entry only after the deadline: it
 * must still adopt it, or it would seal with another key than the newcomer. */
static void a_last_minute_write_is_read_before_the_freeze(void)
{
    tk_farm_conf_t c = conf_of(SEC(8), SEC(12), "race");
    apr_int64_t q = 101;
    apr_time_t w = tk_farm_write_deadline(&c, q);
    tk_farm_state_t a, b, joiner;
    tk_farm_plan_t plan;
    tk_key_t v = make_key(1, TK_KEY_80), store;
    const tk_key_t *ka, *kb, *kj;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&joiner, 0, sizeof(joiner));
    check_q(&c, &a, w - SEC(3), q, &v, &plan); /* a and b hold v */
    check_q(&c, &b, w - SEC(3), q, &v, &plan);
    /* the store is emptied; a reads at W-0.4 s and the joiner at W-0.35 s: both write */
    check_q(&c, &a, w - apr_time_from_msec(400), q, NULL, &plan);
    CHECK(has_write(&plan, q));
    check_q(&c, &joiner, w - apr_time_from_msec(350), q, NULL, &plan);
    CHECK(has_write(&plan, q) && plan.generated == 1);
    store = *tk_farm_held(&a, q);      /* a's write lands at W-0.1 s */
    store = *tk_farm_held(&joiner, q); /* the joiner's at W-0.05 s: last */
    check_q(&c, &b, w + apr_time_from_msec(300), q, &store, &plan);
    check_q(&c, &a, w + apr_time_from_msec(600), q, &store, &plan);
    check_q(&c, &joiner, w + apr_time_from_msec(650), q, &store, &plan);
    CHECK(plan.nwrites == 0);
    /* frozen now; each seals with what it holds from start(q) */
    ka = tk_farm_held(&a, q);
    kb = tk_farm_held(&b, q);
    kj = tk_farm_held(&joiner, q);
    CHECK(same_name(ka, kj) && same_name(kb, kj));
    tk_farm_state_wipe(&a);
    tk_farm_state_wipe(&b);
    tk_farm_state_wipe(&joiner);
}

/* Two servers start together in the settle time of q, with an empty store: each makes a
 * key of its own (nobody may write then); after the freeze both find q still missing and
 * write, the second last.  The first, whose key nobody read, takes the second's before q
 * starts. */
static void servers_starting_together_converge(void)
{
    tk_farm_conf_t c = conf_of(SEC(8), SEC(12), "race");
    apr_int64_t q = 201;
    apr_time_t f = tk_farm_freeze_time(&c, q);
    tk_farm_state_t a, b;
    tk_farm_plan_t plan;
    tk_key_t store;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    check_q(&c, &a, f - apr_time_from_msec(500), q, NULL, &plan);
    CHECK(plan.generated == 1 && plan.nwrites == 0);
    check_q(&c, &b, f - apr_time_from_msec(400), q, NULL, &plan);
    CHECK(plan.generated == 1 && plan.nwrites == 0);
    check_q(&c, &a, f + apr_time_from_msec(200), q, NULL, &plan);
    CHECK(has_write(&plan, q) && plan.lost == 0); /* nothing was lost: never in the store */
    check_q(&c, &b, f + apr_time_from_msec(300), q, NULL, &plan);
    CHECK(has_write(&plan, q));
    store = *tk_farm_held(&b, q); /* b's write lands last */
    check_q(&c, &a, f + apr_time_from_msec(1200), q, &store, &plan);
    CHECK(plan.adopted == 1 && plan.conflicts == 0);
    check_q(&c, &b, f + apr_time_from_msec(1300), q, &store, &plan);
    CHECK(same_name(tk_farm_held(&a, q), tk_farm_held(&b, q)));
    /* once its period started, a key may have sealed tickets: it stays */
    store = make_key(9, TK_KEY_80);
    check_q(&c, &a, tk_farm_start(&c, q) + 1, q, &store, &plan);
    CHECK(plan.conflicts == 1 && same_name(tk_farm_held(&a, q), tk_farm_held(&b, q)));
    tk_farm_state_wipe(&a);
    tk_farm_state_wipe(&b);
}

void farm_tests(void)
{
    RUN(servers_starting_together_converge);
    RUN(a_last_minute_write_is_read_before_the_freeze);
    RUN(periods_and_deadlines);
    RUN(secrets_keep_their_entries_apart);
    RUN(the_roster_lists_the_secrets_in_use);
    RUN(configurations_are_checked);
    RUN(entries_open_only_where_and_when_sealed);
    RUN(secrets_are_read_raw_or_hex);
    RUN(a_check_follows_the_rules);
    RUN(the_ring_seals_with_the_current_period);
    RUN(racing_servers_seal_with_one_key);
}
