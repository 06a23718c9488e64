/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key store: every key ring in service, in one anonymous shared-memory segment made
 * by the parent before it forks, so that a ring published later (by the key-file
 * watcher) reaches every child at once.  APR and OpenSSL only; no httpd.
 *
 * One writer at a time per slot (the parent before forking, then the watcher); any
 * number of readers.  Each slot is a seqlock: readers take no lock and allocate
 * nothing, and retry when a write overlapped their read.
 */
#ifndef TK_STORE_H
#define TK_STORE_H

#include <apr_pools.h>

#include "tk_ring.h"

typedef struct tk_store_t tk_store_t;

/* What the counters of a slot count. */
typedef enum {
    TK_COUNT_SEALED,        /* tickets sealed */
    TK_COUNT_RESUMED,       /* genuine tickets of the vhost opened with the sealing key */
    TK_COUNT_RENEWED,       /* ... opened with another key (a fresh ticket follows) */
    TK_COUNT_UNKNOWN_KEY,   /* tickets naming no key in service (full handshake) */
    TK_COUNT_RELOADS,       /* keys put in service after the start (live or at a restart) */
    TK_COUNT_RELOAD_ERRORS, /* changed files refused, files gone unreadable */
    TK_COUNT_OTHER_VHOST,   /* genuine tickets sealed for another vhost (full handshake) */
    TK_COUNTERS
} tk_counter_e;

typedef struct {
    apr_uint64_t n[TK_COUNTERS];
    apr_time_t last_reload; /* 0: none yet */
} tk_counters_t;

/* A store of nslots empty slots (and a record of retired counters), in shared memory that lives
 * as long as pool p (and in the processes forked meanwhile, for as long as they run).  The
 * memory is not wiped when p goes, since children forked earlier may still read it; the kernel
 * zeroes it once the last of them has gone.  tk_store_wipe() wipes it at once. */
apr_status_t tk_store_create(tk_store_t **store, unsigned int nslots, apr_pool_t *p);

/* A store of nslots empty slots in this process's memory, from pool p: for keys put in
 * service before the server forks and never changed after, each child reading its own
 * copy (and counting in it).  Its slots are wiped when p goes, in whichever process that
 * happens, without touching any other process's copy. */
apr_status_t tk_store_create_private(tk_store_t **store, unsigned int nslots, apr_pool_t *p);

/* Wipes every slot, in every process that maps the store. */
void tk_store_wipe(tk_store_t *store);

unsigned int tk_store_nslots(const tk_store_t *store);

/* Puts ring in service in slot (writer side). */
void tk_store_publish(tk_store_t *store, unsigned int slot, const tk_ring_t *ring);

/* Copies the ring in service in slot (writer side, e.g. to carry keys over a restart).
 * Returns APR_EBUSY when no consistent copy could be made (a writer died mid-write). */
apr_status_t tk_store_read(const tk_store_t *store, unsigned int slot, tk_ring_t *ring);

/* Adds one to a counter of slot; any process, no lock. */
void tk_store_count(tk_store_t *store, unsigned int slot, tk_counter_e which);

/* Reads the counters of slot, or of the retired record (slot == tk_store_nslots()). */
void tk_store_counters(const tk_store_t *store, unsigned int slot, tk_counters_t *out);

/* How a ring goes into service, for the counters. */
typedef enum {
    TK_SERVICE_START,  /* no reload counted: a first start, automatic keys over a restart */
    TK_SERVICE_RELOAD, /* new keys: a changed file, a rotation, a restart; a reload counted */
    TK_SERVICE_KEPT /* the keys of a file refused at a restart, kept: a reload error counted */
} tk_service_e;

/* The one way keys go into service, at a restart and live.  Publishes ring in slot of
 * store, after setting each key's `since` from the ring in service until now (slot
 * from_slot of store `from`: the store of the previous generation at a restart, this very
 * store for a live change; from NULL: keys new to service).  When from is another store,
 * the counters of from_slot come over too, so that a restart loses no count.  Then counts
 * as `how` says, at time now.  ring is left as published. */
void tk_store_put_in_service(tk_store_t *store, unsigned int slot, tk_ring_t *ring,
                             const tk_store_t *from, unsigned int from_slot, tk_service_e how,
                             apr_time_t now);

/* Adds the counters of slot from_slot of store `from` (a key file no longer configured, or
 * from's own retired record, from_slot == tk_store_nslots(from)) to the retired record of
 * store, so that totals never go down over a restart. */
void tk_store_retire(tk_store_t *store, const tk_store_t *from, unsigned int from_slot);

/* Hot path: copies the key of slot that seals at time now into *key.  Returns 1, or 0
 * when there is none (or no consistent read could be made). */
int tk_store_sealing_key(const tk_store_t *store, unsigned int slot, apr_time_t now,
                         tk_key_t *key);

/* Hot path: copies the key of slot named name that opens at time now into *key and
 * tells whether it also seals now.  Returns 1, or 0 when there is none. */
int tk_store_find_key(const tk_store_t *store, unsigned int slot, const unsigned char *name,
                      apr_time_t now, tk_key_t *key, int *is_sealing);

#endif
