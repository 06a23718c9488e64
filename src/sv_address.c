/* SPDX-License-Identifier: Apache-2.0 */
/* The addresses a connection can arrive on (see sv_address.h). */
#include "sv_address.h"

#include <stdlib.h>

#include <http_config.h>
#include <http_vhost.h>
#include <ap_listen.h>

#include <apr_hash.h>
#include <apr_strings.h>

void sv_address_key(const conn_rec *c, const void *vhost_lookup_data, sv_address_key_t *key)
{
    memset(key, 0, sizeof(*key)); /* the padding is part of the hash key */
    key->vhost_lookup_data = vhost_lookup_data;
    key->base_server = c->base_server;
    key->port = c->local_addr->port;
}

static void add_unique_ip(apr_hash_t *ips, apr_pool_t *ptemp, apr_sockaddr_t *sa)
{
    char *ip;

    if (apr_sockaddr_ip_get(&ip, sa) == APR_SUCCESS)
        apr_hash_set(ips, apr_pstrdup(ptemp, ip), APR_HASH_KEY_STRING, sa);
}

static int is_wildcard(const char *ip)
{
    return strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

/* The wildcards first, then the others in order: the walk, and so the label each address
 * gets when several IPs reach it, does not depend on the hash's order. */
static int ip_order(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;

    if (is_wildcard(x) != is_wildcard(y))
        return is_wildcard(x) ? -1 : 1;
    return strcmp(x, y);
}

void sv_address_each(server_rec *main_s, apr_pool_t *ptemp, sv_address_fn *fn, void *baton)
{
    apr_hash_t *ips = apr_hash_make(ptemp), *seen = apr_hash_make(ptemp);
    apr_array_header_t *ports = apr_array_make(ptemp, 4, sizeof(apr_port_t)), *sorted;
    apr_sockaddr_t *wildcard;
    apr_hash_index_t *hi;
    ap_listen_rec *lr;
    server_rec *s;
    int i, n;

    for (lr = ap_listeners; lr; lr = lr->next) {
        for (i = 0; i < ports->nelts; i++)
            if (APR_ARRAY_IDX(ports, i, apr_port_t) == lr->bind_addr->port)
                break;
        if (i == ports->nelts)
            APR_ARRAY_PUSH(ports, apr_port_t) = lr->bind_addr->port;
        add_unique_ip(ips, ptemp, lr->bind_addr);
    }
    for (s = main_s->next; s; s = s->next) {
        const server_addr_rec *sar;

        for (sar = s->addrs; sar; sar = sar->next)
            add_unique_ip(ips, ptemp, sar->host_addr);
    }
    if (apr_sockaddr_info_get(&wildcard, "0.0.0.0", APR_INET, 0, 0, ptemp) == APR_SUCCESS)
        add_unique_ip(ips, ptemp, wildcard);

    sorted = apr_array_make(ptemp, (int)apr_hash_count(ips), sizeof(const char *));
    for (hi = apr_hash_first(ptemp, ips); hi; hi = apr_hash_next(hi))
        APR_ARRAY_PUSH(sorted, const char *) = apr_hash_this_key(hi);
    qsort(sorted->elts, (size_t)sorted->nelts, sizeof(const char *), ip_order);
    for (n = 0; n < sorted->nelts; n++) {
        const char *ip = APR_ARRAY_IDX(sorted, n, const char *);
        const apr_sockaddr_t *from = apr_hash_get(ips, ip, APR_HASH_KEY_STRING);

        for (i = 0; i < ports->nelts; i++) {
            apr_port_t port = APR_ARRAY_IDX(ports, i, apr_port_t);
            conn_rec *fake = apr_pcalloc(ptemp, sizeof(*fake));
            sv_address_key_t key;

            if (apr_sockaddr_info_get(&fake->local_addr, ip, from->family, port, 0, ptemp) !=
                APR_SUCCESS)
                continue;
            fake->base_server = main_s;
            ap_update_vhost_given_ip(fake);
            sv_address_key(fake, fake->vhost_lookup_data, &key);
            if (apr_hash_get(seen, &key, sizeof(key)))
                continue;
            apr_hash_set(seen, apr_pmemdup(ptemp, &key, sizeof(key)), sizeof(key), fake);
            fn(baton, fake, &key,
               apr_psprintf(ptemp, "address %s:%u", is_wildcard(ip) ? "*" : ip,
                            (unsigned)port));
        }
    }
}
