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

void store_tests(void)
{
    RUN(published_rings_are_read_back);
    RUN(a_private_store_serves_keys_and_wipes_them_with_its_pool);
    RUN(readers_never_see_a_half_written_ring);
}
