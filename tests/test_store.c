/* SPDX-License-Identifier: Apache-2.0 */
/* The shared store: what one process publishes, another reads, never half of it. */
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keys.h"
#include "tk_store.h"

static void published_rings_are_read_back(void)
{
    tk_key_t keys[2] = {make_key(1, TK_KEY_48), make_key(2, TK_KEY_80)};
    apr_time_t now = apr_time_now();
    tk_store_t *store;
    tk_ring_t ring, back;
    tk_key_t key;
    int sealing = -1;

    CHECK(tk_store_create(&store, 3, unit_pool) == APR_SUCCESS);
    CHECK(tk_store_nslots(store) == 3);
    CHECK(!tk_store_sealing_key(store, 1, now, &key)); /* empty slot */
    ring_of(&ring, keys, 2);
    tk_store_publish(store, 1, &ring);
    CHECK(tk_store_sealing_key(store, 1, now, &key) && memcmp(key.name, keys[0].name, 16) == 0);
    CHECK(tk_store_find_key(store, 1, keys[1].name, now, &key, &sealing) && sealing == 0 &&
          memcmp(key.aes_key, keys[1].aes_key, 32) == 0);
    CHECK(!tk_store_find_key(store, 2, keys[1].name, now, &key, &sealing));
    CHECK(tk_store_read(store, 1, &back) == APR_SUCCESS && back.nkeys == 2);
    tk_store_wipe(store);
    CHECK(!tk_store_sealing_key(store, 1, now, &key));
}

/* A pool cleanup registered before the store was made, so that it runs after the store's
 * own (cleanups run last registered first), while the pool's memory is still there. */
static apr_status_t check_wiped(void *holder)
{
    tk_key_t key;

    CHECK(!tk_store_sealing_key(*(tk_store_t **)holder, 0, apr_time_now(), &key));
    return APR_SUCCESS;
}

static void a_private_store_serves_keys_and_wipes_them_with_its_pool(void)
{
    tk_key_t keys[1] = {make_key(3, TK_KEY_48)}, key;
    apr_time_t now = apr_time_now();
    tk_store_t *store = NULL;
    apr_pool_t *p;
    tk_ring_t ring;
    int sealing = 0;

    apr_pool_create(&p, unit_pool);
    apr_pool_cleanup_register(p, &store, check_wiped, apr_pool_cleanup_null);
    CHECK(tk_store_create_private(&store, 2, p) == APR_SUCCESS);
    CHECK(tk_store_nslots(store) == 2);
    ring_of(&ring, keys, 1);
    tk_store_publish(store, 0, &ring);
    CHECK(tk_store_sealing_key(store, 0, now, &key) &&
          memcmp(key.hmac_key, keys[0].hmac_key, 16) == 0);
    CHECK(tk_store_find_key(store, 0, keys[0].name, now, &key, &sealing) && sealing);
    CHECK(!tk_store_sealing_key(store, 1, now, &key)); /* empty slot */
    apr_pool_destroy(p);
}

/* A ring whose every secret byte is b, so a torn read shows as mixed bytes. */
static void uniform_ring(tk_ring_t *ring, unsigned char b)
{
    tk_key_t key = make_key(b, TK_KEY_80);

    memset(key.hmac_key, b, sizeof(key.hmac_key));
    memset(key.aes_key, b, sizeof(key.aes_key));
    ring_of(ring, &key, 1);
}

static int is_uniform(const tk_key_t *key)
{
    unsigned int i;

    for (i = 1; i < TK_KEY_SECRET_MAX; i++)
        if (key->hmac_key[i] != key->hmac_key[0] || key->aes_key[i] != key->hmac_key[0])
            return 0;
    return 1;
}

static void readers_never_see_a_half_written_ring(void)
{
    tk_store_t *store;
    tk_ring_t ring;
    tk_key_t key;
    pid_t writer;
    int reads = 0, torn = 0, distinct_seen = 0;
    apr_time_t deadline;
    unsigned char last = 0;

    CHECK(tk_store_create(&store, 1, unit_pool) == APR_SUCCESS);
    uniform_ring(&ring, 1);
    tk_store_publish(store, 0, &ring);
    writer = fork();
    if (writer == 0) {
        unsigned char b = 1;
        for (;;) {
            uniform_ring(&ring, b = (unsigned char)(b % 200 + 1));
            tk_store_publish(store, 0, &ring);
        }
    }
    /* Read until the writer has been seen to change the ring many times (it needs to be
     * scheduled first), or for at most 10 seconds. */
    deadline = apr_time_now() + apr_time_from_sec(10);
    while (distinct_seen < 10000 && apr_time_now() < deadline) {
        if (!tk_store_sealing_key(store, 0, apr_time_now(), &key))
            continue;
        reads++;
        torn += !is_uniform(&key);
        distinct_seen += key.hmac_key[0] != last;
        last = key.hmac_key[0];
    }
    kill(writer, SIGKILL);
    waitpid(writer, NULL, 0);
    CHECK(torn == 0);
    CHECK(distinct_seen >= 10000); /* the writer really ran during the reads */
    printf("# %d reads, %d changes seen, %d torn\n", reads, distinct_seen, torn);
}

/* The ring {keys[a], keys[b]} with each key's since as given. */
static void ring_since(tk_ring_t *ring, const tk_key_t *k1, apr_time_t s1, const tk_key_t *k2,
                       apr_time_t s2)
{
    tk_key_t pair[2] = {*k1, *k2};

    pair[0].since = s1;
    pair[1].since = s2;
    ring_of(ring, pair, 2);
}

static void a_restart_carries_since_and_counters_into_the_new_store(void)
{
    tk_key_t a = make_key(1, TK_KEY_80), b = make_key(2, TK_KEY_80), c = make_key(3, TK_KEY_80);
    apr_time_t t0 = apr_time_from_sec(1000), now = apr_time_from_sec(5000);
    tk_store_t *old, *store;
    tk_ring_t ring, back;
    tk_counters_t n;

    CHECK(tk_store_create(&old, 2, unit_pool) == APR_SUCCESS);
    CHECK(tk_store_create(&store, 3, unit_pool) == APR_SUCCESS);
    ring_since(&ring, &a, t0, &b, t0 + 10);
    tk_store_put_in_service(old, 1, &ring, NULL, 0, TK_SERVICE_START, t0);
    tk_store_counters(old, 1, &n);
    CHECK(n.n[TK_COUNT_RELOADS] == 0 && n.last_reload == 0);
    /* a first start: every key is new to service */
    CHECK(tk_store_read(old, 1, &back) == APR_SUCCESS && back.keys[0].since == t0 &&
          back.keys[1].since == t0);
    tk_store_count(old, 1, TK_COUNT_SEALED);
    tk_store_count(old, 1, TK_COUNT_SEALED);
    tk_store_put_in_service(old, 1, &ring, old, 1, TK_SERVICE_RELOAD, t0 + 20);

    /* the file now holds b and c, in another slot of the next generation */
    ring_since(&ring, &b, 0, &c, 0);
    tk_store_put_in_service(store, 2, &ring, old, 1, TK_SERVICE_RELOAD, now);
    CHECK(tk_store_read(store, 2, &back) == APR_SUCCESS && back.nkeys == 2);
    CHECK(back.keys[0].since == t0); /* b kept the time it first went into service */
    CHECK(back.keys[1].since == now);
    tk_store_counters(store, 2, &n);
    CHECK(n.n[TK_COUNT_SEALED] == 2 && n.n[TK_COUNT_RELOADS] == 2 && n.last_reload == now);
    /* the old store is not changed by it */
    tk_store_counters(old, 1, &n);
    CHECK(n.n[TK_COUNT_SEALED] == 2 && n.n[TK_COUNT_RELOADS] == 1);
}

static void a_live_change_carries_since_but_counts_once(void)
{
    tk_key_t a = make_key(1, TK_KEY_48), b = make_key(2, TK_KEY_48), c = make_key(3, TK_KEY_48);
    apr_time_t t0 = apr_time_from_sec(1000), now = apr_time_from_sec(2000);
    tk_store_t *store;
    tk_ring_t ring, back;
    tk_counters_t n;

    CHECK(tk_store_create(&store, 1, unit_pool) == APR_SUCCESS);
    ring_since(&ring, &a, 0, &b, 0);
    tk_store_put_in_service(store, 0, &ring, NULL, 0, TK_SERVICE_START, t0);
    tk_store_count(store, 0, TK_COUNT_RESUMED);
    ring_since(&ring, &c, 0, &a, 0);
    tk_store_put_in_service(store, 0, &ring, store, 0, TK_SERVICE_RELOAD, now);
    CHECK(tk_store_read(store, 0, &back) == APR_SUCCESS && back.keys[0].since == now &&
          back.keys[1].since == t0);
    tk_store_counters(store, 0, &n);
    /* from the same store: its counters are not added to themselves */
    CHECK(n.n[TK_COUNT_RESUMED] == 1 && n.n[TK_COUNT_RELOADS] == 1 && n.last_reload == now);
}

static void keys_kept_at_a_restart_count_a_reload_error(void)
{
    tk_key_t a = make_key(1, TK_KEY_48);
    tk_store_t *old, *store;
    tk_ring_t ring;
    tk_counters_t n;

    CHECK(tk_store_create(&old, 1, unit_pool) == APR_SUCCESS);
    CHECK(tk_store_create(&store, 1, unit_pool) == APR_SUCCESS);
    ring_of(&ring, &a, 1);
    tk_store_put_in_service(old, 0, &ring, NULL, 0, TK_SERVICE_START, apr_time_from_sec(1));
    tk_store_put_in_service(store, 0, &ring, old, 0, TK_SERVICE_KEPT, apr_time_from_sec(2));
    tk_store_counters(store, 0, &n);
    CHECK(n.n[TK_COUNT_RELOAD_ERRORS] == 1 && n.n[TK_COUNT_RELOADS] == 0 && n.last_reload == 0);
}

static void counters_of_files_gone_are_retired_and_totals_never_go_down(void)
{
    tk_store_t *first, *second, *third;
    tk_counters_t n;

    CHECK(tk_store_create(&first, 2, unit_pool) == APR_SUCCESS);
    CHECK(tk_store_create(&second, 1, unit_pool) == APR_SUCCESS);
    CHECK(tk_store_create(&third, 1, unit_pool) == APR_SUCCESS);
    tk_ring_t ring;

    tk_ring_wipe(&ring);
    tk_store_count(first, 1, TK_COUNT_SEALED);
    tk_store_count(first, 1, TK_COUNT_UNKNOWN_KEY);
    tk_store_put_in_service(first, 1, &ring, NULL, 0, TK_SERVICE_RELOAD, apr_time_from_sec(7));
    /* slot 1's file is gone from the next configuration */
    tk_store_retire(second, first, 1);
    tk_store_retire(second, first, tk_store_nslots(first));
    tk_store_counters(second, tk_store_nslots(second), &n);
    CHECK(n.n[TK_COUNT_SEALED] == 1 && n.n[TK_COUNT_UNKNOWN_KEY] == 1 &&
          n.n[TK_COUNT_RELOADS] == 1 && n.last_reload == apr_time_from_sec(7));
    /* and the retired record goes on into the generation after */
    tk_store_count(second, 0, TK_COUNT_SEALED);
    tk_store_retire(third, second, tk_store_nslots(second));
    tk_store_counters(third, tk_store_nslots(third), &n);
    CHECK(n.n[TK_COUNT_SEALED] == 1 && n.last_reload == apr_time_from_sec(7));
}

/* Counters carried into a slot keep the latest reload time, whichever side holds it. */
static void carried_counters_keep_the_latest_reload(void)
{
    tk_store_t *older, *newer, *store;
    tk_ring_t ring;
    tk_counters_t n;

    tk_ring_wipe(&ring);
    CHECK(tk_store_create(&older, 1, unit_pool) == APR_SUCCESS);
    CHECK(tk_store_create(&newer, 1, unit_pool) == APR_SUCCESS);
    CHECK(tk_store_create(&store, 1, unit_pool) == APR_SUCCESS);
    tk_store_put_in_service(older, 0, &ring, NULL, 0, TK_SERVICE_RELOAD, apr_time_from_sec(20));
    tk_store_count(older, 0, TK_COUNT_SEALED);
    tk_store_put_in_service(newer, 0, &ring, NULL, 0, TK_SERVICE_RELOAD, apr_time_from_sec(90));
    tk_store_retire(store, newer, 0);
    tk_store_retire(store, older, 0);
    tk_store_counters(store, tk_store_nslots(store), &n);
    CHECK(n.n[TK_COUNT_SEALED] == 1 && n.n[TK_COUNT_RELOADS] == 2 &&
          n.last_reload == apr_time_from_sec(90));
    /* a restart at 50 s carries 90 s over: the later time stays */
    tk_store_put_in_service(store, 0, &ring, newer, 0, TK_SERVICE_START, apr_time_from_sec(50));
    tk_store_counters(store, 0, &n);
    CHECK(n.n[TK_COUNT_RELOADS] == 1 && n.last_reload == apr_time_from_sec(90));
}

void store_tests(void)
{
    RUN(published_rings_are_read_back);
    RUN(a_private_store_serves_keys_and_wipes_them_with_its_pool);
    RUN(readers_never_see_a_half_written_ring);
    RUN(a_restart_carries_since_and_counters_into_the_new_store);
    RUN(a_live_change_carries_since_but_counts_once);
    RUN(keys_kept_at_a_restart_count_a_reload_error);
    RUN(counters_of_files_gone_are_retired_and_totals_never_go_down);
    RUN(carried_counters_keep_the_latest_reload);
}
