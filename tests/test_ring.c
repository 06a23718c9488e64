/* SPDX-License-Identifier: Apache-2.0 */
/* The key ring: lookup, sealing choice, random keys, automatic rotation, wiping. */
#include "unit.h"

#include "keys.h"
#include "tk_ring.h"

static void ring_finds_keys_by_name(void)
{
    tk_key_t keys[3] = {make_key(1, TK_KEY_48), make_key(2, TK_KEY_80), make_key(3, TK_KEY_48)};
    tk_key_t unknown = make_key(4, TK_KEY_48);
    apr_time_t now = apr_time_now();
    tk_ring_t ring;
    int sealing = -1;

    ring_of(&ring, keys, 3);
    CHECK(tk_ring_find(&ring, keys[0].name, now, &sealing) == &ring.keys[0] && sealing == 1);
    CHECK(tk_ring_find(&ring, keys[2].name, now, &sealing) == &ring.keys[2] && sealing == 0);
    CHECK(tk_ring_find(&ring, unknown.name, now, &sealing) == NULL);
    CHECK(tk_ring_sealing_key(&ring, now) == &ring.keys[0]);
    ring.preferred = 1;
    CHECK(tk_ring_sealing_key(&ring, now) == &ring.keys[1]);
    tk_ring_wipe(&ring);
    CHECK(tk_ring_sealing_key(&ring, now) == NULL);
}

static void torn_key_counts_are_clamped(void)
{
    tk_key_t key = make_key(5, TK_KEY_48);
    tk_ring_t ring;
    int sealing;

    ring_of(&ring, &key, 1);
    ring.nkeys = 0xffffff; /* as a reader racing a writer might see it */
    CHECK(tk_ring_find(&ring, make_key(6, TK_KEY_48).name, apr_time_now(), &sealing) == NULL);
    CHECK(tk_ring_sealing_index(&ring, apr_time_now()) == 0);
}

static void generated_keys_are_random_and_distinct(void)
{
    tk_ring_t ring;
    static const unsigned char zero[TK_KEY_SECRET_MAX];

    CHECK(tk_ring_generate(&ring, 2, TK_KEY_80) == APR_SUCCESS);
    CHECK(ring.nkeys == 2 && tk_ring_sealing_index(&ring, apr_time_now()) == 0);
    CHECK(ring.keys[0].size == TK_KEY_80);
    CHECK(memcmp(ring.keys[0].name, ring.keys[1].name, TK_KEY_NAME_LEN) != 0);
    CHECK(memcmp(ring.keys[0].hmac_key, zero, 32) != 0);
    CHECK(memcmp(ring.keys[0].aes_key, zero, 32) != 0);
    CHECK(memcmp(ring.keys[0].aes_key, ring.keys[0].hmac_key, 32) != 0);
    CHECK(strlen(ring.keys[1].fingerprint) == 8);
}

static void fingerprint_is_sha256_of_the_name(void)
{
    tk_key_t key = make_key(1, TK_KEY_48);
    tk_ring_t ring;

    memset(key.name, 0, sizeof(key.name));
    ring_of(&ring, &key, 1);
    /* SHA-256 of 16 zero bytes starts 374708ff */
    CHECK_STR(tk_ring_key(&ring, 0)->fingerprint, "374708ff");
}

static void ring_is_wiped_when_its_pool_goes(void)
{
    apr_pool_t *sub;
    tk_ring_t *ring;
    tk_key_t key = make_key(5, TK_KEY_80);
    static const tk_ring_t zero_ring;

    apr_pool_create(&sub, unit_pool);
    ring = tk_ring_create(sub);
    tk_ring_add(ring, &key);
    CHECK(ring->nkeys == 1);
    /* clearing runs the cleanups; the memory stays with the pool, so it can be read */
    apr_pool_clear(sub);
    CHECK(memcmp(ring, &zero_ring, sizeof(zero_ring)) == 0);
    apr_pool_destroy(sub);
}

static void automatic_keys_rotate_and_the_previous_opens_one_more_period(void)
{
    apr_interval_time_t period = apr_time_from_sec(100);
    apr_time_t t0 = apr_time_from_sec(2000000000);
    unsigned char first[TK_KEY_NAME_LEN], second[TK_KEY_NAME_LEN];
    tk_ring_t ring;
    int rotated, sealing;

    tk_ring_wipe(&ring);
    CHECK(tk_ring_auto_rotate(&ring, t0, period, TK_KEY_80, &rotated) == APR_SUCCESS &&
          rotated);
    CHECK(ring.nkeys == 1 && ring.keys[0].not_before == t0 && ring.keys[0].size == TK_KEY_80);
    memcpy(first, ring.keys[0].name, TK_KEY_NAME_LEN);

    /* not due yet */
    CHECK(tk_ring_auto_rotate(&ring, t0 + period - 1, period, TK_KEY_80, &rotated) ==
              APR_SUCCESS &&
          !rotated && ring.nkeys == 1);

    /* due: a new key seals, the first opens until one more period has passed */
    CHECK(tk_ring_auto_rotate(&ring, t0 + period, period, TK_KEY_80, &rotated) == APR_SUCCESS &&
          rotated);
    CHECK(ring.nkeys == 2);
    memcpy(second, ring.keys[0].name, TK_KEY_NAME_LEN);
    CHECK(memcmp(first, second, TK_KEY_NAME_LEN) != 0);
    CHECK(tk_ring_sealing_index(&ring, t0 + period) == 0);
    CHECK(tk_ring_find(&ring, first, t0 + 2 * period - 1, &sealing) != NULL && !sealing);
    CHECK(tk_ring_find(&ring, first, t0 + 2 * period, &sealing) == NULL);

    /* the next rotation drops the first key */
    CHECK(tk_ring_auto_rotate(&ring, t0 + 2 * period, period, TK_KEY_80, &rotated) ==
              APR_SUCCESS &&
          rotated);
    CHECK(ring.nkeys == 2);
    CHECK(tk_ring_find(&ring, first, t0 + 2 * period, &sealing) == NULL);
    CHECK(tk_ring_find(&ring, second, t0 + 2 * period, &sealing) != NULL && !sealing);
}

static void carried_since_follows_the_key_name(void)
{
    tk_key_t keys[3] = {make_key(1, TK_KEY_48), make_key(2, TK_KEY_80), make_key(3, TK_KEY_48)};
    apr_time_t now = apr_time_from_sec(900);
    tk_ring_t previous, ring;

    keys[0].since = apr_time_from_sec(100);
    keys[1].since = TK_TIME_NONE; /* never in service: no time to carry */
    ring_of(&previous, keys, 2);
    keys[0].since = keys[1].since = keys[2].since = 0;
    ring_of(&ring, keys + 1, 2); /* 2 and 3 */
    tk_ring_add(&ring, &keys[0]);
    tk_ring_carry_since(&ring, &previous, now);
    CHECK(ring.keys[0].since == now && ring.keys[1].since == now);
    CHECK(ring.keys[2].since == apr_time_from_sec(100));
    tk_ring_carry_since(&ring, NULL, now + 1);
    CHECK(ring.keys[2].since == now + 1);
}

void ring_tests(void)
{
    RUN(ring_finds_keys_by_name);
    RUN(torn_key_counts_are_clamped);
    RUN(generated_keys_are_random_and_distinct);
    RUN(fingerprint_is_sha256_of_the_name);
    RUN(ring_is_wiped_when_its_pool_goes);
    RUN(automatic_keys_rotate_and_the_previous_opens_one_more_period);
    RUN(carried_since_follows_the_key_name);
}
