/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_ssl's public optional hooks that these modules join.  Debian's apache2-dev does
 * not install mod_ssl_openssl.h, which declares them, so they are declared here with
 * the same signatures.  Include after mod_ssl.h (it defines SSL_DECLARE).
 */
#ifndef SSL_HOOKS_H
#define SSL_HOOKS_H

#include <apr_optional_hooks.h>
#include <httpd.h>
#include <openssl/ssl.h>

#include "mod_ssl.h"

/* Run once per SSL server_rec (and per proxy context) after mod_ssl built its SSL_CTX. */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, init_server,
                          (server_rec * s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx))

/* Run per connection after SSL_new(), before the handshake. */
APR_DECLARE_EXTERNAL_HOOK(ssl, SSL, int, pre_handshake, (conn_rec * c, SSL *ssl, int is_proxy))

#endif
