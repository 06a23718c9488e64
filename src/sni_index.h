/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The name index of one address: which target (a vhost, to the caller) a TLS server name
 * selects.  APR only; no httpd.
 *
 * Built once at configuration time from the names of the vhosts in configuration order,
 * then read-only: a lookup allocates nothing and takes no lock, so any number of threads
 * may share an index.  Precedence: the exact name, then the wildcard "*.rest" where rest is
 * the name without its first label (a star stands for exactly one label, so at most one
 * wildcard can match), then the globs in the order they were added.  Exact names and
 * wildcards are found by hashing, at the same cost for one name or a million; globs are
 * tried one after another.
 */
#ifndef SNI_INDEX_H
#define SNI_INDEX_H

#include <apr_pools.h>

#include "sni_name.h"

typedef struct sni_index_builder_t sni_index_builder_t;
typedef struct sni_index_t sni_index_t;

/* How a lookup matched; SNI_MATCH_NONE when it did not. */
typedef enum {
    SNI_MATCH_NONE,
    SNI_MATCH_EXACT,
    SNI_MATCH_WILDCARD,
    SNI_MATCH_GLOB
} sni_match_e;

/* A builder whose memory, and that of the index it builds, comes from p. */
sni_index_builder_t *sni_index_builder_create(apr_pool_t *p);

/* Adds a configured name (see sni_pattern_parse(); globs allowed) selecting target.
 * Returns APR_SUCCESS; APR_EEXIST when the name is there already, *owner then being the
 * target that keeps it (the first one added); APR_EINVAL with *why when it is not a name. */
apr_status_t sni_index_add(sni_index_builder_t *b, const char *name, void *target, void **owner,
                           const char **why);

/* The index of every name added so far.  The builder may go on adding names for another
 * index. */
const sni_index_t *sni_index_build(sni_index_builder_t *b);

/* The target of a normalised name (see sni_name_normalize()) of len octets, or NULL;
 * *how says how it matched. */
void *sni_index_lookup(const sni_index_t *ix, const char *name, apr_size_t len,
                       sni_match_e *how);

/* How many names of a kind the index holds. */
apr_size_t sni_index_count(const sni_index_t *ix, sni_pattern_e kind);

/* "exact", "wildcard", "glob" or "none": for log lines. */
const char *sni_match_name(sni_match_e how);

#endif
