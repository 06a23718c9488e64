/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host routing without core's scan (see sv_route.h): the router of each address, built
 * after configuration; the connection hook that keeps core from scanning; the request hook
 * that routes instead.
 */
#include "sv_route.h"

#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_vhost.h>
#include <ap_listen.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "sni_route.h"
#include "sv_address.h"

APLOG_USE_MODULE(sni_vhost);

/* The connection's routing state, in its pool's user data: the module's own per-connection
 * slot belongs to the TLS switch, which not every routed connection has. */
#define CONN_KEY "sni_vhost_route"

typedef struct {
    const sni_router_t *router;
    server_rec *base; /* the default vhost: core's choice when nothing matches */
} route_address;

/* Per routed connection. */
typedef struct {
    const route_address *address;
    void *vhost_lookup_data; /* what core set, kept for the address's key */
} route_conn;

/* sv_address_key_t -> route_address, built in post_config, read-only after.  Statics start
 * afresh at each configuration pass: httpd unloads and reloads the module on restarts, and
 * pre_config resets them too. */
static apr_hash_t *addresses;
static int plain_http = -1; /* SNIVhostPlainHTTP: -1 unset (on) */

const char *sv_route_set_plain_http(cmd_parms *cmd, void *dummy, int flag)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err != NULL)
        return err;
    plain_http = flag;
    return NULL;
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    plain_http = -1;
    addresses = NULL;
    return OK;
}

/* --- building -------------------------------------------------------------------------- */

typedef struct {
    sni_router_builder_t *builder;
    apr_pool_t *ptemp;
    const char *ip; /* the address's IP, "0.0.0.0" or "::" on a wildcard listener */
    apr_port_t port;
    int vhosts;
} build_ctx;

static int is_wildcard_ip(const char *ip)
{
    return !strcmp(ip, "0.0.0.0") || !strcmp(ip, "::");
}

/* The <VirtualHost> address texts of s by which core's scan can reach it on this address:
 * those of its addresses with this IP (core put s on this IP's list for them), else its
 * wildcard ones (s is on the list of the wildcard addresses); with the port, or any. */
static void add_addresses(build_ctx *bc, const server_rec *s)
{
    const server_addr_rec *sar;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        int found = 0;

        for (sar = s->addrs; sar; sar = sar->next) {
            char *ip;

            if (sar->host_port != 0 && sar->host_port != bc->port)
                continue;
            if (apr_sockaddr_ip_get(&ip, sar->host_addr) != APR_SUCCESS)
                continue;
            if (pass == 0 ? strcmp(ip, bc->ip) != 0 || is_wildcard_ip(ip) : !is_wildcard_ip(ip))
                continue;
            sni_router_add_address(bc->builder, sar->virthost);
            found = 1;
        }
        if (found)
            return;
    }
}

static int add_vhost(void *baton, conn_rec *c, server_rec *s)
{
    build_ctx *bc = baton;
    int i;

    (void)c;
    bc->vhosts++;
    sni_router_add_vhost(bc->builder, s);
    sni_router_add_name(bc->builder, s->server_hostname);
    for (i = 0; s->names && i < s->names->nelts; i++)
        sni_router_add_name(bc->builder, APR_ARRAY_IDX(s->names, i, const char *));
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++)
        sni_router_add_glob(bc->builder, APR_ARRAY_IDX(s->wild_names, i, const char *));
    add_addresses(bc, s);
    if (s->path)
        sni_router_add_path(bc->builder, apr_pstrmemdup(bc->ptemp, s->path, s->pathlen));
    return 0; /* every vhost */
}

static int routed(const server_rec *base, sv_route_is_tls_fn *is_tls)
{
    const core_server_config *core = ap_get_core_module_config(base->module_config);

    if (core->strict_host_check == AP_CORE_CONFIG_ON)
        return 0;
    return is_tls(base) || plain_http != 0;
}

typedef struct {
    apr_pool_t *pconf, *ptemp;
    sni_router_builder_t *builder;
    sv_route_is_tls_fn *is_tls;
    int report;
} route_build_ctx;

static void add_route_address(void *baton, conn_rec *fake, const sv_address_key_t *key,
                              const char *label)
{
    route_build_ctx *rb = baton;
    route_address *address;
    build_ctx bc;
    char *ip;

    /* no name-based vhosts: core does not scan either */
    if (fake->vhost_lookup_data == NULL || !routed(fake->base_server, rb->is_tls) ||
        apr_sockaddr_ip_get(&ip, fake->local_addr) != APR_SUCCESS)
        return;
    bc = (build_ctx){rb->builder, rb->ptemp, ip, key->port, 0};
    ap_vhost_iterate_given_conn(fake, add_vhost, &bc);
    address = apr_pcalloc(rb->pconf, sizeof(*address));
    address->router = sni_router_build(rb->builder);
    address->base = fake->base_server;
    apr_hash_set(addresses, apr_pmemdup(rb->pconf, key, sizeof(*key)), sizeof(*key), address);
    if (rb->report)
        ap_log_error(
            APLOG_MARK, APLOG_INFO, 0, address->base,
            "%s: requests are routed by Host through an index of %d vhosts (%" APR_SIZE_T_FMT
            " globs tried in turn); default vhost %s",
            label, bc.vhosts, sni_router_scanned_globs(address->router),
            address->base->server_hostname);
}

/* As mod_sni_vhost's server-name index does: the router of every address (sv_address.h);
 * a fake connection to each asks core which name-based vhosts it would scan, in which
 * order. */
void sv_route_build(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *main_s, int report,
                    sv_route_is_tls_fn *is_tls)
{
    route_build_ctx rb = {pconf, ptemp, sni_router_builder_create(pconf), is_tls, report};

    addresses = apr_hash_make(pconf);
    sv_address_each(main_s, ptemp, add_route_address, &rb);
}

/* --- connections and requests ---------------------------------------------------------- */

/* Before mod_ssl's pre_connection (whose TLS switch finds the address by the saved chain)
 * and before any request is read. */
static int pre_connection(conn_rec *c, void *csd)
{
    sv_address_key_t key;
    const route_address *address;
    route_conn *rc;

    (void)csd;
    /* an HTTP/2 stream copies its master connection's fields, the NULL included */
    if (c->master || addresses == NULL || c->vhost_lookup_data == NULL)
        return DECLINED;
    sv_address_key(c, c->vhost_lookup_data, &key);
    address = apr_hash_get(addresses, &key, sizeof(key));
    if (address == NULL)
        return DECLINED;
    rc = apr_palloc(c->pool, sizeof(*rc));
    rc->address = address;
    rc->vhost_lookup_data = c->vhost_lookup_data;
    apr_pool_userdata_setn(rc, CONN_KEY, NULL, c->pool);
    c->vhost_lookup_data = NULL;
    return DECLINED;
}

static const route_conn *conn_state(const conn_rec *c)
{
    void *rc = NULL;

    apr_pool_userdata_get(&rc, CONN_KEY, c->pool);
    return rc;
}

void *sv_route_lookup_data(const conn_rec *c)
{
    const route_conn *rc = conn_state(c);

    return rc ? rc->vhost_lookup_data : c->vhost_lookup_data;
}

/* Before each request is read (on an HTTP/2 stream too, which copied its master
 * connection's fields): the field is cleared again, see sv_route_request(). */
static void pre_read_request(request_rec *r, conn_rec *c)
{
    (void)r;
    if (conn_state(c->master ? c->master : c) != NULL)
        c->vhost_lookup_data = NULL;
}

int sv_route_request(request_rec *r, server_rec *chosen, int no_wildcards)
{
    conn_rec *c = r->connection;
    const route_conn *rc = conn_state(c->master ? c->master : c);
    server_rec *to = chosen;
    sni_route_e how = SNI_ROUTE_NONE;

    if (rc == NULL)
        return 0;
    if (to == NULL) {
        if (r->hostname)
            to = sni_router_host(rc->address->router, r->hostname, !no_wildcards, &how);
        else
            to = sni_router_path(rc->address->router, r->uri);
    }
    if (to == NULL)
        to = rc->address->base;
    /* Core has read the request; the hooks after this one see the field as core leaves it.
     * mod_ssl's SSLStrictSNIVHostCheck refuses a request without SNI only on a connection
     * whose field is set (its test for "name-based vhosts here"). */
    c->vhost_lookup_data = rc->vhost_lookup_data;
    if (to == r->server)
        return 1;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "Host %s: vhost %s (%s)",
                  r->hostname ? r->hostname : "(none)", to->server_hostname,
                  chosen ? "server-name index" : sni_route_name(how));
    /* what core does when its own routing switches vhosts (ap_read_request()); keep-alive
     * settings are read from r->server later */
    r->server = to;
    r->per_dir_config = to->lookup_defaults;
    /* an HTTP/2 stream has no socket of its own: mod_http2 takes its timeout from
     * r->server */
    if (c->master == NULL) {
        apr_socket_t *csd = ap_get_conn_socket(c);

        if (csd)
            apr_socket_timeout_set(csd, to->timeout);
    }
    return 1;
}

void sv_route_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_connection(pre_connection, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_pre_read_request(pre_read_request, NULL, NULL, APR_HOOK_REALLY_FIRST);
}
