/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_ssl's SSLSessionTicketKeyFile under mod_sni_vhost, when mod_tls_tickets is not
 * loaded (it owns tickets when it is).  mod_ssl's ticket-key callback takes the key of
 * the vhost that its own per-connection state names, which mod_ssl moves to the SNI vhost
 * only in its servername callback: after OpenSSL has opened the ticket, once the module's
 * ClientHello callback has replaced mod_ssl's.  So mod_sni_vhost serves the key files
 * itself: the key of the vhost that SNI selected seals and opens its tickets.
 */
#ifndef SV_TICKETS_H
#define SV_TICKETS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <httpd.h>
#include <openssl/ssl.h>

/* An SSL vhost and the context that mod_ssl made for it. */
typedef struct {
    server_rec *server;
    SSL_CTX *ctx;
} sv_tickets_vhost_t;

/* After mod_ssl's post_config, in the parent (as root): reads the key file that mod_ssl
 * gives each of vhosts (its own SSLSessionTicketKeyFile, else the server config's), from
 * the parsed configuration, and installs on each context a ticket-key callback that
 * seals and opens with the key of the context SNI switched to.  Vhosts without a key file
 * share a random key made here, as OpenSSL makes one per context.  Does nothing when no
 * vhost has a key file.  The keys live in pconf and are wiped when it goes.  report: log
 * which keys are in service.  Returns OK, or HTTP_INTERNAL_SERVER_ERROR after logging
 * why (a key file that cannot be read, the random generator failed). */
int sv_tickets_serve(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main_s,
                     const apr_array_header_t *vhosts, int report);

#endif
