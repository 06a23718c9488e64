/* SPDX-License-Identifier: Apache-2.0 */
#include "tk_store.h"

#include <string.h>

#include <apr_shm.h>

#include <openssl/crypto.h>

/* A reader gives up after this many overlapping writes; a write takes microseconds,
 * so only a writer that died mid-write makes a reader reach it. */
#define READ_ATTEMPTS 1000

typedef struct {
    apr_uint32_t seq; /* odd while a write is in progress */
    tk_ring_t ring;
} tk_slot_t;

struct tk_store_t {
    unsigned int nslots;
    tk_slot_t *slots;        /* in the shared segment */
    tk_counters_t *counters; /* nslots + 1 (the retired record), after the slots */
};

static apr_size_t store_size(unsigned int nslots)
{
    return nslots * sizeof(tk_slot_t) + (nslots + 1) * sizeof(tk_counters_t);
}

/* Lays the slots and the counters out in memory of store_size(nslots) bytes, zeroed. */
static tk_store_t *store_in(apr_pool_t *p, void *memory, unsigned int nslots)
{
    tk_store_t *st = apr_palloc(p, sizeof(*st));

    st->nslots = nslots;
    st->slots = memory;
    st->counters = (tk_counters_t *)(st->slots + nslots);
    memset(st->slots, 0, store_size(nslots));
    return st;
}

apr_status_t tk_store_create(tk_store_t **store, unsigned int nslots, apr_pool_t *p)
{
    apr_shm_t *shm;
    apr_status_t rv;

    /* Anonymous: inherited by every child forked afterwards, reachable by no other. */
    rv = apr_shm_create(&shm, store_size(nslots), NULL, p);
    if (rv != APR_SUCCESS)
        return rv;
    *store = store_in(p, apr_shm_baseaddr_get(shm), nslots);
    return APR_SUCCESS;
}

static apr_status_t wipe_private_store(void *store)
{
    tk_store_wipe(store);
    return APR_SUCCESS;
}

apr_status_t tk_store_create_private(tk_store_t **store, unsigned int nslots, apr_pool_t *p)
{
    *store = store_in(p, apr_palloc(p, store_size(nslots)), nslots);
    /* Pool memory is only a copy in each process: wiping it touches no other. */
    apr_pool_cleanup_register(p, *store, wipe_private_store, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

unsigned int tk_store_nslots(const tk_store_t *store)
{
    return store->nslots;
}

/* A write to slot s: readers that overlap it retry. */
static apr_uint32_t write_begin(tk_slot_t *s)
{
    /* Odd, even when a writer died mid-write and left seq odd. */
    apr_uint32_t begin = (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) + 1) | 1;

    __atomic_store_n(&s->seq, begin, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE); /* odd seq is seen before any new byte */
    return begin;
}

static void write_end(tk_slot_t *s, apr_uint32_t begin)
{
    __atomic_store_n(&s->seq, begin + 1, __ATOMIC_RELEASE);
}

void tk_store_publish(tk_store_t *store, unsigned int slot, const tk_ring_t *ring)
{
    tk_slot_t *s = &store->slots[slot];
    apr_uint32_t begin = write_begin(s);

    s->ring = *ring;
    write_end(s, begin);
}

void tk_store_wipe(tk_store_t *store)
{
    unsigned int slot;

    /* As a write, so that a reader in another process never takes a half-wiped key. */
    for (slot = 0; slot < store->nslots; slot++) {
        tk_slot_t *s = &store->slots[slot];
        apr_uint32_t begin = write_begin(s);

        OPENSSL_cleanse(&s->ring, sizeof(s->ring));
        s->ring.nkeys = 0;
        write_end(s, begin);
    }
}

void tk_store_count(tk_store_t *store, unsigned int slot, tk_counter_e which)
{
    __atomic_fetch_add(&store->counters[slot].n[which], 1, __ATOMIC_RELAXED);
}

/* Counts a reload of slot at time when. */
static void note_reload(tk_store_t *store, unsigned int slot, apr_time_t when)
{
    tk_store_count(store, slot, TK_COUNT_RELOADS);
    __atomic_store_n(&store->counters[slot].last_reload, when, __ATOMIC_RELAXED);
}

void tk_store_counters(const tk_store_t *store, unsigned int slot, tk_counters_t *out)
{
    unsigned int i;

    for (i = 0; i < TK_COUNTERS; i++)
        out->n[i] = __atomic_load_n(&store->counters[slot].n[i], __ATOMIC_RELAXED);
    out->last_reload = __atomic_load_n(&store->counters[slot].last_reload, __ATOMIC_RELAXED);
}

/* Adds counters to those of slot, or of the retired record (slot == nslots); the latest
 * reload time wins. */
static void add_counters(tk_store_t *store, unsigned int slot, const tk_counters_t *in)
{
    apr_time_t last = __atomic_load_n(&store->counters[slot].last_reload, __ATOMIC_RELAXED);
    unsigned int i;

    for (i = 0; i < TK_COUNTERS; i++)
        __atomic_fetch_add(&store->counters[slot].n[i], in->n[i], __ATOMIC_RELAXED);
    if (in->last_reload > last)
        __atomic_store_n(&store->counters[slot].last_reload, in->last_reload, __ATOMIC_RELAXED);
}

void tk_store_put_in_service(tk_store_t *store, unsigned int slot, tk_ring_t *ring,
                             const tk_store_t *from, unsigned int from_slot, tk_service_e how,
                             apr_time_t now)
{
    tk_ring_t previous;
    tk_counters_t carried;
    int known = from && tk_store_read(from, from_slot, &previous) == APR_SUCCESS;

    tk_ring_carry_since(ring, known ? &previous : NULL, now);
    tk_ring_wipe(&previous);
    if (from && from != store) {
        tk_store_counters(from, from_slot, &carried);
        add_counters(store, slot, &carried);
    }
    tk_store_publish(store, slot, ring);
    if (how == TK_SERVICE_RELOAD)
        note_reload(store, slot, now);
    else if (how == TK_SERVICE_KEPT)
        tk_store_count(store, slot, TK_COUNT_RELOAD_ERRORS);
}

void tk_store_retire(tk_store_t *store, const tk_store_t *from, unsigned int from_slot)
{
    tk_counters_t counters;

    tk_store_counters(from, from_slot, &counters);
    add_counters(store, store->nslots, &counters);
}

/* Runs body on slot's ring until it ran without a write overlapping it; body's result is
 * kept in the caller's variables.  Yields 0 from the caller when it never succeeds. */
#define SEQLOCK_READ(s, body)                                                                  \
    do {                                                                                       \
        int attempt_;                                                                          \
        for (attempt_ = 0; attempt_ < READ_ATTEMPTS; attempt_++) {                             \
            apr_uint32_t before_ = __atomic_load_n(&(s)->seq, __ATOMIC_ACQUIRE);               \
            if (before_ & 1)                                                                   \
                continue;                                                                      \
            body;                                                                              \
            __atomic_thread_fence(__ATOMIC_ACQUIRE);                                           \
            if (__atomic_load_n(&(s)->seq, __ATOMIC_RELAXED) == before_)                       \
                break;                                                                         \
        }                                                                                      \
        if (attempt_ == READ_ATTEMPTS)                                                         \
            return 0;                                                                          \
    } while (0)

static int read_ring(const tk_slot_t *s, tk_ring_t *ring)
{
    SEQLOCK_READ(s, *ring = s->ring);
    return 1;
}

apr_status_t tk_store_read(const tk_store_t *store, unsigned int slot, tk_ring_t *ring)
{
    if (read_ring(&store->slots[slot], ring))
        return APR_SUCCESS;
    tk_ring_wipe(ring);
    return APR_EBUSY;
}

int tk_store_sealing_key(const tk_store_t *store, unsigned int slot, apr_time_t now,
                         tk_key_t *key)
{
    const tk_slot_t *s = &store->slots[slot];
    const tk_key_t *found = NULL;

    SEQLOCK_READ(s, {
        found = tk_ring_sealing_key(&s->ring, now);
        if (found)
            *key = *found;
    });
    return found != NULL;
}

int tk_store_find_key(const tk_store_t *store, unsigned int slot, const unsigned char *name,
                      apr_time_t now, tk_key_t *key, int *is_sealing)
{
    const tk_slot_t *s = &store->slots[slot];
    const tk_key_t *found = NULL;

    SEQLOCK_READ(s, {
        found = tk_ring_find(&s->ring, name, now, is_sealing);
        if (found)
            *key = *found;
    });
    return found != NULL;
}
