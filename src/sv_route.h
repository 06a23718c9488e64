/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host routing without core's scan.  httpd core routes each request by Host with a scan
 * of the address's name-based vhosts (server/vhost.c), which it runs only when the
 * connection's c->vhost_lookup_data is set.  For the connections of an address it routes,
 * mod_sni_vhost keeps that field NULL from the start of the connection (core then leaves
 * r->server on the address's default vhost) and picks r->server itself in the first
 * post_read_request hook, through the address's router (sni_route.h), doing what core
 * does when it switches: r->server, r->per_dir_config, the connection's timeout.  The
 * field is set back there for the later hooks (mod_ssl's SSLStrictSNIVHostCheck reads it)
 * and cleared again before the next request is read (pre_read_request).
 *
 * Routed: every address with a name-based vhost whose default vhost has SSL, and the
 * plain-HTTP ones unless `SNIVhostPlainHTTP off`.  Not routed: addresses whose default
 * vhost has `StrictHostCheck on` (core's check needs its scan).
 */
#ifndef SV_ROUTE_H
#define SV_ROUTE_H

#include <httpd.h>
#include <http_config.h>

/* SNIVhostPlainHTTP on|off, server config. */
const char *sv_route_set_plain_http(cmd_parms *cmd, void *dummy, int flag);

/* Whether a vhost has SSL enabled (mod_ssl made a context for it). */
typedef int sv_route_is_tls_fn(const server_rec *s);

/* After the names are final (post_config, after mod_ssl's): the router of every address
 * a connection can arrive on.  report: log a summary of each address at info. */
void sv_route_build(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main_s, int report,
                    sv_route_is_tls_fn *is_tls);

/* The hooks: pre_config (directive default), pre_connection (the field kept NULL). */
void sv_route_register_hooks(apr_pool_t *p);

/* The name chain core gave the connection: c->vhost_lookup_data as it was before this
 * module cleared it (what tells the connection's address apart). */
void *sv_route_lookup_data(const conn_rec *c);

/* In the first post_read_request hook: when the module routes r's connection (or, for an
 * HTTP/2 stream, its master connection), sets r->server to chosen if not NULL, else to the
 * vhost core would choose (without "*.domain" globs when no_wildcards: the caller matched
 * those its own way), and returns 1.  Returns 0 when core has routed r itself. */
int sv_route_request(request_rec *r, server_rec *chosen, int no_wildcards);

#endif
