/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Host router: three case-insensitive open-addressing hash tables (exact names,
 * "*.domain" domains, <VirtualHost> address texts) whose entries keep the lowest rank, a
 * list of the other globs and one of ServerPaths, both in rank order; built once,
 * read-only after.
 */
#include "sni_route.h"
#include "sni_name.h"

#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

/* One name in a table; name == NULL marks a free slot. */
typedef struct {
    apr_uint64_t hash;
    const char *name;
    apr_size_t len;
    apr_size_t rank;
    void *target;
} route_slot_t;

/* A power-of-two number of slots, at most half of them used, so probes stay short. */
typedef struct {
    route_slot_t *slots;
    apr_size_t mask;
    apr_size_t longest; /* the longest name: longer keys need no probe */
} route_table_t;

typedef struct {
    const char *text; /* a glob or a ServerPath */
    apr_size_t len;
    apr_size_t rank;
    void *target;
} route_item_t;

struct sni_router_t {
    route_table_t names;
    route_table_t wildcards; /* "*.domain" stored as "domain" */
    route_table_t addresses;
    const route_item_t *globs; /* rank order */
    apr_size_t nglobs;
    const route_item_t *paths; /* rank order */
    apr_size_t npaths;
    apr_size_t nvhosts;
};

struct sni_router_builder_t {
    apr_pool_t *pool;
    apr_hash_t *ranks; /* target -> rank + 1 */
    apr_size_t nvhosts;
    apr_size_t rank; /* of the current vhost */
    void *target;
    apr_array_header_t *names; /* route_item_t, for the three tables */
    apr_array_header_t *wildcards;
    apr_array_header_t *addresses;
    apr_array_header_t *globs;
    apr_array_header_t *paths;
};

static unsigned char lower(unsigned char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static int same_name(const char *a, const char *b, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* Entries come in rank order, so the first of two equal names is the one kept. */
static void table_build(apr_pool_t *p, route_table_t *t, const apr_array_header_t *entries)
{
    const route_item_t *e = (const route_item_t *)entries->elts;
    apr_size_t size = 8, i;

    while (size < 2 * (apr_size_t)entries->nelts)
        size *= 2;
    t->slots = apr_pcalloc(p, size * sizeof(*t->slots));
    t->mask = size - 1;
    t->longest = 0;
    for (i = 0; i < (apr_size_t)entries->nelts; i++) {
        apr_uint64_t h = sni_name_hash(e[i].text, e[i].len);
        apr_size_t at = (apr_size_t)h & t->mask;
        int known = 0;

        for (; t->slots[at].name != NULL; at = (at + 1) & t->mask) {
            const route_slot_t *s = &t->slots[at];

            if (s->hash == h && s->len == e[i].len && same_name(s->name, e[i].text, s->len)) {
                known = 1;
                break;
            }
        }
        if (known)
            continue;
        t->slots[at].hash = h;
        t->slots[at].name = e[i].text;
        t->slots[at].len = e[i].len;
        t->slots[at].rank = e[i].rank;
        t->slots[at].target = e[i].target;
        if (e[i].len > t->longest)
            t->longest = e[i].len;
    }
}

static const route_slot_t *table_find(const route_table_t *t, const char *name, apr_size_t len)
{
    apr_uint64_t h;
    apr_size_t at;

    if (len > t->longest)
        return NULL;
    h = sni_name_hash(name, len);
    for (at = (apr_size_t)h & t->mask; t->slots[at].name != NULL; at = (at + 1) & t->mask) {
        const route_slot_t *s = &t->slots[at];

        if (s->hash == h && s->len == len && same_name(s->name, name, len))
            return s;
    }
    return NULL;
}

sni_router_builder_t *sni_router_builder_create(apr_pool_t *p)
{
    sni_router_builder_t *b = apr_pcalloc(p, sizeof(*b));

    b->pool = p;
    b->ranks = apr_hash_make(p);
    b->names = apr_array_make(p, 16, sizeof(route_item_t));
    b->wildcards = apr_array_make(p, 4, sizeof(route_item_t));
    b->addresses = apr_array_make(p, 4, sizeof(route_item_t));
    b->globs = apr_array_make(p, 4, sizeof(route_item_t));
    b->paths = apr_array_make(p, 4, sizeof(route_item_t));
    return b;
}

void sni_router_add_vhost(sni_router_builder_t *b, void *target)
{
    apr_size_t rank_plus_one =
        (apr_size_t)(apr_uintptr_t)apr_hash_get(b->ranks, &target, sizeof(target));

    b->target = target;
    if (rank_plus_one != 0) {
        b->rank = rank_plus_one - 1;
        return;
    }
    b->rank = b->nvhosts++;
    apr_hash_set(b->ranks, apr_pmemdup(b->pool, &target, sizeof(target)), sizeof(target),
                 (void *)(apr_uintptr_t)(b->rank + 1));
}

static void push(sni_router_builder_t *b, apr_array_header_t *list, const char *text,
                 apr_size_t len)
{
    route_item_t *item = apr_array_push(list);

    item->text = apr_pstrmemdup(b->pool, text, len);
    item->len = len;
    item->rank = b->rank;
    item->target = b->target;
}

void sni_router_add_name(sni_router_builder_t *b, const char *name)
{
    if (name != NULL)
        push(b, b->names, name, strlen(name));
}

void sni_router_add_glob(sni_router_builder_t *b, const char *glob)
{
    const char *from = glob;

    if (glob == NULL)
        return;
    /* "**.domain" matches what "*.domain" does */
    while (from[0] == '*' && from[1] == '*')
        from++;
    if (from[0] == '*' && from[1] == '.' && strpbrk(from + 2, "*?") == NULL)
        push(b, b->wildcards, from + 2, strlen(from + 2));
    else
        push(b, b->globs, glob, strlen(glob));
}

void sni_router_add_address(sni_router_builder_t *b, const char *address)
{
    if (address != NULL)
        push(b, b->addresses, address, strlen(address));
}

void sni_router_add_path(sni_router_builder_t *b, const char *path)
{
    if (path != NULL && path[0] != '\0')
        push(b, b->paths, path, strlen(path));
}

/* A list sorted by rank (items of a vhost added again come later, with an earlier rank). */
static int by_rank(const void *a, const void *b)
{
    const route_item_t *x = a, *y = b;

    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static const route_item_t *sorted(apr_pool_t *p, apr_array_header_t *list, apr_size_t *n)
{
    route_item_t *items = apr_pmemdup(p, list->elts, (apr_size_t)list->nelts * sizeof(*items));

    *n = (apr_size_t)list->nelts;
    /* stable enough: equal ranks are one vhost's, whose order among them does not matter
     * for globs (any match is that vhost) nor for paths (core stops at the first) */
    qsort(items, *n, sizeof(*items), by_rank);
    return items;
}

const sni_router_t *sni_router_build(sni_router_builder_t *b)
{
    sni_router_t *rt = apr_pcalloc(b->pool, sizeof(*rt));
    apr_array_header_t *lists[3] = {b->names, b->wildcards, b->addresses};
    route_table_t *tables[3] = {&rt->names, &rt->wildcards, &rt->addresses};
    int i;

    for (i = 0; i < 3; i++) {
        if (lists[i]->nelts > 1)
            qsort(lists[i]->elts, (apr_size_t)lists[i]->nelts, sizeof(route_item_t), by_rank);
        table_build(b->pool, tables[i], lists[i]);
        apr_array_clear(lists[i]);
    }
    rt->globs = sorted(b->pool, b->globs, &rt->nglobs);
    rt->paths = sorted(b->pool, b->paths, &rt->npaths);
    rt->nvhosts = b->nvhosts;
    apr_array_clear(b->globs);
    apr_array_clear(b->paths);
    apr_hash_clear(b->ranks);
    b->nvhosts = 0;
    b->target = NULL;
    return rt;
}

void *sni_router_host(const sni_router_t *rt, const char *host, int wildcards, sni_route_e *how)
{
    apr_size_t len = strlen(host), i, best_rank = (apr_size_t)-1;
    const route_slot_t *hit;
    void *best = NULL;

    *how = SNI_ROUTE_NONE;
    hit = table_find(&rt->names, host, len);
    if (hit != NULL) {
        best = hit->target;
        best_rank = hit->rank;
        *how = SNI_ROUTE_NAME;
    }
    /* "*.domain" matches every Host that ends in ".domain": one probe per dot, from the
     * right, and none for a suffix longer than the longest domain */
    for (i = len; wildcards && i > 0 && len - i <= rt->wildcards.longest; i--) {
        if (host[i - 1] != '.')
            continue;
        hit = table_find(&rt->wildcards, host + i, len - i);
        if (hit != NULL && hit->rank < best_rank) {
            best = hit->target;
            best_rank = hit->rank;
            *how = SNI_ROUTE_WILDCARD;
        }
    }
    for (i = 0; i < rt->nglobs && rt->globs[i].rank < best_rank; i++) {
        if (sni_glob_match(rt->globs[i].text, host, len)) {
            *how = SNI_ROUTE_GLOB;
            return rt->globs[i].target;
        }
    }
    if (best != NULL)
        return best;
    hit = table_find(&rt->addresses, host, len);
    if (hit != NULL) {
        *how = SNI_ROUTE_ADDRESS;
        return hit->target;
    }
    return NULL;
}

void *sni_router_path(const sni_router_t *rt, const char *uri)
{
    apr_size_t i;

    for (i = 0; i < rt->npaths; i++) {
        const route_item_t *p = &rt->paths[i];

        if (strncmp(uri, p->text, p->len) == 0 &&
            (p->text[p->len - 1] == '/' || uri[p->len] == '/' || uri[p->len] == '\0'))
            return p->target;
    }
    return NULL;
}

apr_size_t sni_router_vhosts(const sni_router_t *rt)
{
    return rt->nvhosts;
}

apr_size_t sni_router_scanned_globs(const sni_router_t *rt)
{
    return rt->nglobs;
}

const char *sni_route_name(sni_route_e how)
{
    switch (how) {
    case SNI_ROUTE_NAME:
        return "name";
    case SNI_ROUTE_WILDCARD:
        return "wildcard";
    case SNI_ROUTE_GLOB:
        return "glob";
    case SNI_ROUTE_ADDRESS:
        return "address";
    default:
        return "none";
    }
}
