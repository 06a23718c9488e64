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

/* A store of nslots empty slots, in shared memory that lives as long as pool p (and
 * in the processes forked meanwhile, for as long as they run).  The memory is not wiped
 * when p goes, since children forked earlier may still read it; the kernel zeroes it
 * once the last of them has gone.  tk_store_wipe() wipes it at once. */
apr_status_t tk_store_create(tk_store_t **store, unsigned int nslots, apr_pool_t *p);

/* Wipes every slot, in every process that maps the store. */
void tk_store_wipe(tk_store_t *store);

unsigned int tk_store_nslots(const tk_store_t *store);

/* Puts ring in service in slot (writer side). */
void tk_store_publish(tk_store_t *store, unsigned int slot, const tk_ring_t *ring);

/* Copies the ring in service in slot (writer side, e.g. to carry keys over a restart).
 * Returns APR_EBUSY when no consistent copy could be made (a writer died mid-write). */
apr_status_t tk_store_read(const tk_store_t *store, unsigned int slot, tk_ring_t *ring);

/* Hot path: copies the key of slot that seals at time now into *key.  Returns 1, or 0
 * when there is none (or no consistent read could be made). */
int tk_store_sealing_key(const tk_store_t *store, unsigned int slot, apr_time_t now,
                         tk_key_t *key);

/* Hot path: copies the key of slot named name that opens at time now into *key and
 * tells whether it also seals now.  Returns 1, or 0 when there is none. */
int tk_store_find_key(const tk_store_t *store, unsigned int slot, const unsigned char *name,
                      apr_time_t now, tk_key_t *key, int *is_sealing);

#endif
