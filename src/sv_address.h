/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The addresses a connection can arrive on, as httpd core tells them apart: the key that
 * names one, and the walk over all of them that both of mod_sni_vhost's per-address
 * tables are built from (the server-name index of mod_sni_vhost.c, the Host router of
 * sv_route.c).
 */
#ifndef SV_ADDRESS_H
#define SV_ADDRESS_H

#include <httpd.h>

/* What core tells an address by: the name chain it gave the connection, its default
 * vhost, the local port.  Used as a hash key: made only by sv_address_key(), which zeroes
 * the padding. */
typedef struct {
    const void *vhost_lookup_data;
    const server_rec *base_server;
    apr_port_t port;
} sv_address_key_t;

/* The key of connection c's address, given the name chain core set for it (c's own
 * vhost_lookup_data, or the one saved before mod_sni_vhost cleared it). */
void sv_address_key(const conn_rec *c, const void *vhost_lookup_data, sv_address_key_t *key);

/* Called once per address: fake is a connection to it on which core has set base_server
 * and vhost_lookup_data as for a real one; label reads "address IP:port" ('*' for the
 * wildcard), for logs. */
typedef void sv_address_fn(void *baton, conn_rec *fake, const sv_address_key_t *key,
                           const char *label);

/* Connections come on the listeners' ports, to a listener's address or, on a wildcard
 * listener, to any local address: every IP of a listener or of a <VirtualHost>, and the
 * wildcard, stand for all those core tells apart.  Calls fn once for each distinct key. */
void sv_address_each(server_rec *main_s, apr_pool_t *ptemp, sv_address_fn *fn, void *baton);

#endif
