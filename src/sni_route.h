/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Host router of one address: which vhost (a target, to the caller) httpd core would
 * route an HTTP request to, found without core's scan.  APR only; no httpd.
 *
 * httpd core (server/vhost.c) compares the Host of each request with every name-based vhost
 * of the connection's address in configuration order: ServerName and exact ServerAlias
 * names case-insensitively, glob ServerAlias names with '*' and '?' (any run of characters,
 * dots included; one character); the first vhost with a match wins.  When none matches, the
 * first vhost whose <VirtualHost> address text equals the Host does; otherwise the request
 * stays on the default vhost.  A request without Host goes to the first vhost whose
 * ServerPath is a prefix of its URI.
 *
 * The router gives the same answer from hash tables built once: each vhost gets its rank in
 * configuration order, an exact name keeps the lowest rank, a glob "*.domain" (the common
 * one) is stored by its domain and found with one probe per dot of the Host, and only the
 * other globs are tried one after another, and only those of vhosts ranked before the best
 * hit so far.  Read-only once built: a lookup allocates nothing and takes no lock.
 */
#ifndef SNI_ROUTE_H
#define SNI_ROUTE_H

#include <apr_pools.h>

typedef struct sni_router_builder_t sni_router_builder_t;
typedef struct sni_router_t sni_router_t;

/* How a Host was routed; SNI_ROUTE_NONE when nothing matched. */
typedef enum {
    SNI_ROUTE_NONE,
    SNI_ROUTE_NAME,     /* ServerName or an exact ServerAlias */
    SNI_ROUTE_WILDCARD, /* a "*.domain" glob */
    SNI_ROUTE_GLOB,     /* any other glob */
    SNI_ROUTE_ADDRESS   /* the <VirtualHost> address text */
} sni_route_e;

/* A builder whose memory, and that of the router it builds, comes from p. */
sni_router_builder_t *sni_router_builder_create(apr_pool_t *p);

/* Starts the next vhost in configuration order: the names added until the next call are
 * target's.  Adding a vhost twice is allowed; it keeps the rank of its first addition. */
void sni_router_add_vhost(sni_router_builder_t *b, void *target);

/* A ServerName or exact ServerAlias (compared whole, case-insensitively, as written). */
void sni_router_add_name(sni_router_builder_t *b, const char *name);

/* A glob ServerAlias ('*' and '?'). */
void sni_router_add_glob(sni_router_builder_t *b, const char *glob);

/* The host part of a <VirtualHost> address, as written ("*", "192.0.2.1", a name). */
void sni_router_add_address(sni_router_builder_t *b, const char *address);

/* The vhost's ServerPath. */
void sni_router_add_path(sni_router_builder_t *b, const char *path);

/* The router of everything added so far; the builder may go on for another router. */
const sni_router_t *sni_router_build(sni_router_builder_t *b);

/* The target that core would route host to (as core has made it: port, trailing dot and
 * case taken off), or NULL; *how says how it matched.  With wildcards 0, "*.domain" globs
 * are left out (for callers that have matched them their own way already). */
void *sni_router_host(const sni_router_t *rt, const char *host, int wildcards,
                      sni_route_e *how);

/* The target of a request without Host, by the ServerPath that prefixes uri, or NULL. */
void *sni_router_path(const sni_router_t *rt, const char *uri);

/* How many vhosts, and how many globs that are tried one after another. */
apr_size_t sni_router_vhosts(const sni_router_t *rt);
apr_size_t sni_router_scanned_globs(const sni_router_t *rt);

/* "name", "wildcard", "glob", "address" or "none": for log lines. */
const char *sni_route_name(sni_route_e how);

#endif
