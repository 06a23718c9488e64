/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The name index: two open-addressing hash tables (exact names; wildcard domains, i.e.
 * "*.example.com" stored as "example.com") and a list of globs, built once, read-only after.
 */
#include "sni_index.h"
#include "sni_name.h"

#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

/* One name in a table; name == NULL marks a free slot. */
typedef struct {
    apr_uint64_t hash;
    const char *name;
    apr_size_t len;
    void *target;
} sni_slot_t;

/* A power-of-two number of slots, at most half of them used, so probes stay short. */
typedef struct {
    sni_slot_t *slots;
    apr_size_t mask;
    apr_size_t count;
} sni_table_t;

typedef struct {
    const char *pattern;
    void *target;
} sni_glob_t;

struct sni_index_t {
    sni_table_t exact;
    sni_table_t wildcard;
    const sni_glob_t *globs;
    apr_size_t nglobs;
};

typedef struct {
    const char *name; /* for wildcards, the domain after "*." */
    void *target;
} sni_entry_t;

struct sni_index_builder_t {
    apr_pool_t *pool;
    apr_array_header_t *exact;    /* sni_entry_t */
    apr_array_header_t *wildcard; /* sni_entry_t */
    apr_array_header_t *globs;    /* sni_glob_t */
    apr_hash_t *seen;             /* normalised pattern text -> target that keeps it */
};

static void table_build(apr_pool_t *p, sni_table_t *t, const apr_array_header_t *entries)
{
    const sni_entry_t *e = (const sni_entry_t *)entries->elts;
    apr_size_t size = 8, i;

    while (size < 2 * (apr_size_t)entries->nelts)
        size *= 2;
    t->slots = apr_pcalloc(p, size * sizeof(*t->slots));
    t->mask = size - 1;
    t->count = (apr_size_t)entries->nelts;
    for (i = 0; i < t->count; i++) {
        apr_size_t len = strlen(e[i].name);
        apr_uint64_t h = sni_name_hash(e[i].name, len);
        apr_size_t at = (apr_size_t)h & t->mask;

        while (t->slots[at].name != NULL)
            at = (at + 1) & t->mask;
        t->slots[at].hash = h;
        t->slots[at].name = e[i].name;
        t->slots[at].len = len;
        t->slots[at].target = e[i].target;
    }
}

static void *table_find(const sni_table_t *t, const char *name, apr_size_t len)
{
    apr_uint64_t h = sni_name_hash(name, len);
    apr_size_t at = (apr_size_t)h & t->mask;

    for (; t->slots[at].name != NULL; at = (at + 1) & t->mask) {
        const sni_slot_t *s = &t->slots[at];

        if (s->hash == h && s->len == len && memcmp(s->name, name, len) == 0)
            return s->target;
    }
    return NULL;
}

sni_index_builder_t *sni_index_builder_create(apr_pool_t *p)
{
    sni_index_builder_t *b = apr_pcalloc(p, sizeof(*b));

    b->pool = p;
    b->exact = apr_array_make(p, 16, sizeof(sni_entry_t));
    b->wildcard = apr_array_make(p, 4, sizeof(sni_entry_t));
    b->globs = apr_array_make(p, 4, sizeof(sni_glob_t));
    b->seen = apr_hash_make(p);
    return b;
}

apr_status_t sni_index_add(sni_index_builder_t *b, const char *name, void *target, void **owner,
                           const char **why)
{
    sni_pattern_e kind;
    const char *text;
    void *first;

    if (sni_pattern_parse(b->pool, name, 1, &kind, &text, why) != APR_SUCCESS)
        return APR_EINVAL;
    first = apr_hash_get(b->seen, text, APR_HASH_KEY_STRING);
    if (first != NULL) {
        *owner = first;
        return APR_EEXIST;
    }
    apr_hash_set(b->seen, text, APR_HASH_KEY_STRING, target);
    if (kind == SNI_PATTERN_GLOB) {
        sni_glob_t *g = apr_array_push(b->globs);

        g->pattern = text;
        g->target = target;
    } else {
        sni_entry_t *e = apr_array_push(kind == SNI_PATTERN_EXACT ? b->exact : b->wildcard);

        e->name = kind == SNI_PATTERN_EXACT ? text : text + 2;
        e->target = target;
    }
    return APR_SUCCESS;
}

const sni_index_t *sni_index_build(sni_index_builder_t *b)
{
    sni_index_t *ix = apr_pcalloc(b->pool, sizeof(*ix));

    table_build(b->pool, &ix->exact, b->exact);
    table_build(b->pool, &ix->wildcard, b->wildcard);
    ix->nglobs = (apr_size_t)b->globs->nelts;
    ix->globs = apr_pmemdup(b->pool, b->globs->elts, ix->nglobs * sizeof(sni_glob_t));
    apr_array_clear(b->exact);
    apr_array_clear(b->wildcard);
    apr_array_clear(b->globs);
    apr_hash_clear(b->seen);
    return ix;
}

void *sni_index_lookup(const sni_index_t *ix, const char *name, apr_size_t len,
                       sni_match_e *how)
{
    const char *dot;
    void *target;
    apr_size_t i;

    target = table_find(&ix->exact, name, len);
    if (target != NULL) {
        *how = SNI_MATCH_EXACT;
        return target;
    }
    dot = memchr(name, '.', len);
    if (dot != NULL) {
        apr_size_t rest = len - (apr_size_t)(dot + 1 - name);

        target = table_find(&ix->wildcard, dot + 1, rest);
        if (target != NULL) {
            *how = SNI_MATCH_WILDCARD;
            return target;
        }
    }
    for (i = 0; i < ix->nglobs; i++) {
        if (sni_glob_match(ix->globs[i].pattern, name, len)) {
            *how = SNI_MATCH_GLOB;
            return ix->globs[i].target;
        }
    }
    *how = SNI_MATCH_NONE;
    return NULL;
}

apr_size_t sni_index_count(const sni_index_t *ix, sni_pattern_e kind)
{
    switch (kind) {
    case SNI_PATTERN_EXACT:
        return ix->exact.count;
    case SNI_PATTERN_WILDCARD:
        return ix->wildcard.count;
    default:
        return ix->nglobs;
    }
}

const char *sni_match_name(sni_match_e how)
{
    switch (how) {
    case SNI_MATCH_EXACT:
        return "exact";
    case SNI_MATCH_WILDCARD:
        return "wildcard";
    case SNI_MATCH_GLOB:
        return "glob";
    default:
        return "none";
    }
}
