/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_sni_vhost: the TLS server name (SNI) chooses the vhost, through an index built once
 * per address, in OpenSSL's ClientHello callback; names that no vhost serves, and
 * handshakes without a name, can be refused before any certificate is sent.  HTTP
 * requests on those connections are routed by Host through the same index, so that TLS
 * and HTTP agree.
 *
 * The glue only: directives, hooks, the ClientHello callback, the filter that hands the
 * connection back to core, and Host routing.  Names and the index are the sni_* core's.
 *
 * How the switch keeps mod_ssl consistent without its private structures: after the
 * ClientHello callback, mod_ssl's servername callback looks for the vhost with
 * ap_vhost_iterate_given_conn(), which visits only c->base_server when
 * c->vhost_lookup_data is NULL.  The callback points both at the chosen vhost, mod_ssl
 * then records that vhost as the handshake's, and a one-shot connection filter puts both
 * back once the handshake has run, before core reads the first request.
 */
#include <httpd.h>
#include <http_config.h>
#include <http_connection.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_vhost.h>
#include <ap_listen.h>
#include <util_filter.h>
#include <util_md5.h>

#include <apr_hash.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "mod_status.h"
#include "sni_index.h"
#include "sni_name.h"
#include "ssl_hooks.h"
#include "sv_address.h"
#include "sv_route.h"
#include "sv_tickets.h"
#include "version.h"

module AP_MODULE_DECLARE_DATA sni_vhost_module;
APLOG_USE_MODULE(sni_vhost);

#define RESTORE_FILTER   "SNI_VHOST_RESTORE"
#define RETAINED_DATA_ID "mod_sni_vhost"
/* mod_ssl's session-id context: the hex MD5 of the vhost id. */
#define SID_CTX_LEN (APR_MD5_DIGESTSIZE * 2)

typedef enum { POLICY_UNSET, POLICY_DEFAULT, POLICY_REJECT } sv_policy_e;

/* Which of the two policy directives a handler sets (cmd->info). */
typedef enum { FOR_UNKNOWN_NAME, FOR_MISSING_NAME } sv_policy_for_e;

/* A vhost that a server name can select: what the ClientHello callback switches to. */
typedef struct {
    server_rec *server;
    SSL_CTX *ctx;
    unsigned char sid_ctx[SID_CTX_LEN];
} sv_vhost;

typedef struct {
    sv_policy_e unknown; /* merged with the server config */
    sv_policy_e missing;
    int unknown_here; /* set in this <VirtualHost> itself */
    int missing_here;
    int sni_names; /* SNIVhost names given in this <VirtualHost> */
    /* per configuration pass, after mod_ssl's post_config */
    SSL_CTX *ctx;         /* from mod_ssl's init_server; NULL for a vhost without SSL */
    sv_vhost *vhost;      /* set for SSL vhosts */
    int first_of_address; /* the default vhost of some address */
} sv_server_conf;

/* An address (as core tells addresses apart: a list of name-based vhosts, its default
 * vhost and the local port) and what a server name selects there. */
typedef struct {
    const sni_index_t *index;
    server_rec *base; /* the default vhost, which gets what the index does not know */
    sv_policy_e unknown;
    sv_policy_e missing;
} sv_address;

/* What the ClientHello of a connection got: the counters and the log variables. */
typedef enum {
    OUTCOME_EXACT, /* the index matched, by kind */
    OUTCOME_WILDCARD,
    OUTCOME_GLOB,
    OUTCOME_UNKNOWN_DEFAULT, /* a name no vhost of the address serves */
    OUTCOME_UNKNOWN_REJECTED,
    OUTCOME_MISSING_DEFAULT, /* no name */
    OUTCOME_MISSING_REJECTED,
    OUTCOMES
} sv_outcome_e;

/* server-status ?auto keys, and log variable values, of each outcome. */
static const char *const outcome_keys[OUTCOMES] = {
    "SNIVhostExact",           "SNIVhostWildcard",        "SNIVhostGlob",
    "SNIVhostUnknownDefault",  "SNIVhostUnknownRejected", "SNIVhostMissingDefault",
    "SNIVhostMissingRejected",
};
static const char *const outcome_values[OUTCOMES] = {
    "exact", "wildcard", "glob", "unknown", "unknown-rejected", "missing", "missing-rejected",
};

/* Per TLS connection. */
typedef struct {
    const sv_address *address;
    int decided; /* the first ClientHello was seen */
    int saved;   /* the two fields below are to be put back */
    server_rec *base_server;
    void *vhost_lookup_data;
    sv_outcome_e outcome;        /* once decided */
    char name[SNI_NAME_MAX + 1]; /* the normalised server name, if it was a host name */
} sv_conn;

/* What survives a restart: the counters, in shared memory made once by the parent, so
 * that every child of every generation adds to the same ones. */
typedef struct {
    apr_uint64_t *counters; /* OUTCOMES of them */
} sv_retained;

/* sv_address_key_t -> sv_address, built in post_config, read-only after. */
static apr_hash_t *addresses;
static sv_retained *retained;
static ap_filter_rec_t *restore_filter_handle;

static sv_server_conf *conf_of(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &sni_vhost_module);
}

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(sv_server_conf));
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const sv_server_conf *base = basev, *add = addv;
    sv_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->unknown = add->unknown != POLICY_UNSET ? add->unknown : base->unknown;
    conf->missing = add->missing != POLICY_UNSET ? add->missing : base->missing;
    conf->unknown_here = add->unknown != POLICY_UNSET;
    conf->missing_here = add->missing != POLICY_UNSET;
    conf->sni_names = add->sni_names;
    return conf;
}

/* --- directives ------------------------------------------------------------------------ */

/* An SNIVhost name becomes a ServerAlias too: core then routes requests for it to this
 * vhost, mod_ssl's own checks know it, and `httpd -S` lists it. */
static const char *set_sni_name(cmd_parms *cmd, void *dummy, const char *arg)
{
    server_rec *s = cmd->server;
    sni_pattern_e kind;
    const char *text, *why;

    (void)dummy;
    if (!s->is_virtual)
        return apr_psprintf(cmd->pool,
                            "%s belongs in a <VirtualHost>: it names the TLS server names "
                            "that select that vhost",
                            cmd->cmd->name);
    if (sni_pattern_parse(cmd->pool, arg, 0, &kind, &text, &why) != APR_SUCCESS)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a server name: %s; give host names such as "
                            "www.example.com or *.example.com",
                            cmd->cmd->name, arg, why);
    *(const char **)apr_array_push(kind == SNI_PATTERN_EXACT ? s->names : s->wild_names) = text;
    conf_of(s)->sni_names++;
    return NULL;
}

static const char *set_policy(cmd_parms *cmd, void *dummy, const char *arg)
{
    sv_server_conf *conf = conf_of(cmd->server);
    sv_policy_e policy;

    (void)dummy;
    if (!strcasecmp(arg, "default"))
        policy = POLICY_DEFAULT;
    else if (!strcasecmp(arg, "reject"))
        policy = POLICY_REJECT;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is neither default nor reject", cmd->cmd->name,
                            arg);
    if ((sv_policy_for_e)(apr_uintptr_t)cmd->info == FOR_UNKNOWN_NAME)
        conf->unknown = policy;
    else
        conf->missing = policy;
    return NULL;
}

/* --- the switch, in the handshake ------------------------------------------------------ */

static const sv_address *address_of(const conn_rec *c)
{
    sv_address_key_t key;

    if (addresses == NULL)
        return NULL;
    sv_address_key(c, sv_route_lookup_data(c), &key);
    return apr_hash_get(addresses, &key, sizeof(key));
}

static void save_conn_fields(conn_rec *c, sv_conn *cs)
{
    cs->base_server = c->base_server;
    cs->vhost_lookup_data = c->vhost_lookup_data;
    cs->saved = 1;
}

static void restore_conn_fields(conn_rec *c, sv_conn *cs)
{
    if (!cs->saved)
        return;
    c->base_server = cs->base_server;
    c->vhost_lookup_data = cs->vhost_lookup_data;
    cs->saved = 0;
}

/* Everything that decides the rest of the handshake is taken from the vhost now, before
 * OpenSSL picks the version, opens a ticket or checks a session: a later switch (mod_ssl's
 * servername callback) is too late for resumption and for the protocol range. */
static void switch_to(SSL *ssl, conn_rec *c, sv_conn *cs, const sv_vhost *to)
{
    /* SSL_set_SSL_CTX() takes the certificate and the context (CAs, ciphers, callbacks);
     * the rest is copied by hand, as mod_ssl's own switch does. */
    SSL_set_SSL_CTX(ssl, to->ctx);
    SSL_set_options(ssl, SSL_CTX_get_options(to->ctx));
    /* Always the vhost's own range: mod_ssl copies it only when the vhost sets SSLProtocol
     * (a private flag), which leaves a vhost without one on the default vhost's range. */
    SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(to->ctx));
    SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(to->ctx));
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(to->ctx), SSL_CTX_get_verify_callback(to->ctx));
    /* OpenSSL compares it with the session's after opening a ticket: this is what keeps a
     * ticket of one vhost from resuming on another. */
    SSL_set_session_id_context(ssl, to->sid_ctx, SID_CTX_LEN);
    save_conn_fields(c, cs);
    c->base_server = to->server;
    c->vhost_lookup_data = NULL;
}

static void log_refusal(conn_rec *c, int has_name, sni_name_e kind, const unsigned char *raw,
                        apr_size_t rawlen)
{
    char safe[SNI_PRINTABLE_SIZE];

    if (!has_name)
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "refused a TLS handshake without a server name (SNIVhostMissing reject)");
    else if (raw == NULL)
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "refused a TLS handshake with a malformed server_name extension "
                      "(SNIVhostUnknown reject)");
    else
        ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                      "refused TLS server name \"%s\": %s that no vhost of this address "
                      "serves (SNIVhostUnknown reject)",
                      sni_name_printable(safe, (const char *)raw, rawlen),
                      kind == SNI_NAME_OK ? "a name" : sni_name_kind(kind));
}

/* Counts the ClientHello's outcome (an atomic add to shared memory) and keeps it for the
 * log variables. */
static void count_outcome(sv_conn *cs, sv_outcome_e outcome)
{
    cs->outcome = outcome;
    if (retained && retained->counters)
        __atomic_fetch_add(&retained->counters[outcome], 1, __ATOMIC_RELAXED);
}

/* Installed on every server context: allocates nothing, takes no lock. */
static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    conn_rec *c = SSL_get_app_data(ssl);
    sv_conn *cs = c ? ap_get_module_config(c->conn_config, &sni_vhost_module) : NULL;
    const unsigned char *ext, *raw = NULL;
    size_t extlen;
    apr_size_t rawlen = 0, len = 0;
    char name[SNI_NAME_MAX + 1];
    sni_name_e kind = SNI_NAME_MALFORMED;
    sni_match_e how;
    const sv_vhost *to = NULL;
    int has_name;
    sv_policy_e policy;

    (void)arg;
    /* After a HelloRetryRequest OpenSSL calls the callback of the context switched to, for
     * the second ClientHello: the first choice stands. */
    if (cs == NULL || cs->decided)
        return SSL_CLIENT_HELLO_SUCCESS;
    cs->decided = 1;
    has_name = SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &extlen) == 1;
    if (has_name && sni_server_name_from_ext(ext, extlen, &raw, &rawlen))
        kind = sni_name_normalize((const char *)raw, rawlen, name, &len, NULL);
    if (kind == SNI_NAME_OK)
        to = sni_index_lookup(cs->address->index, name, len, &how);
    if (to != NULL) {
        count_outcome(cs, how == SNI_MATCH_EXACT      ? OUTCOME_EXACT
                          : how == SNI_MATCH_WILDCARD ? OUTCOME_WILDCARD
                                                      : OUTCOME_GLOB);
        memcpy(cs->name, name, len + 1);
        switch_to(ssl, c, cs, to);
        ap_log_cerror(APLOG_MARK, APLOG_TRACE1, 0, c, "server name %s selects vhost %s (%s)",
                      name, to->server->server_hostname, sni_match_name(how));
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    policy = has_name ? cs->address->unknown : cs->address->missing;
    if (kind == SNI_NAME_OK)
        memcpy(cs->name, name, len + 1);
    if (policy == POLICY_REJECT) {
        count_outcome(cs, has_name ? OUTCOME_UNKNOWN_REJECTED : OUTCOME_MISSING_REJECTED);
        log_refusal(c, has_name, kind, raw, rawlen);
        /* A malformed extension gets what OpenSSL sends it when the callback lets the hello
         * through (and RFC 8446 section 6.2 asks for): the policy decides only about names. */
        *alert = has_name && raw == NULL ? SSL_AD_DECODE_ERROR : SSL_AD_UNRECOGNIZED_NAME;
        return SSL_CLIENT_HELLO_ERROR;
    }
    count_outcome(cs, has_name ? OUTCOME_UNKNOWN_DEFAULT : OUTCOME_MISSING_DEFAULT);
    if (has_name) {
        /* The default vhost: mod_ssl's servername callback need not scan every vhost of the
         * address for a name the index does not know. */
        save_conn_fields(c, cs);
        c->vhost_lookup_data = NULL;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* mod_ssl's first read below this filter runs the whole handshake, the ClientHello
 * callback included; once it returns the connection is core's again, before any request
 * is read.  mod_ssl may have freed the SSL by then (failed handshake, plain HTTP on the TLS
 * port): the filter never touches it. */
static apr_status_t restore_filter(ap_filter_t *f, apr_bucket_brigade *bb, ap_input_mode_t mode,
                                   apr_read_type_e block, apr_off_t readbytes)
{
    sv_conn *cs = f->ctx;
    apr_status_t rv = ap_get_brigade(f->next, bb, mode, block, readbytes);

    /* A non-blocking read may come back before the ClientHello has arrived whole. */
    if (APR_STATUS_IS_EAGAIN(rv) && !cs->decided)
        return rv;
    restore_conn_fields(f->c, cs);
    ap_remove_input_filter(f);
    return rv;
}

static int pre_handshake(conn_rec *c, SSL *ssl, int is_proxy)
{
    const sv_address *address;
    sv_conn *cs;

    (void)ssl;
    if (is_proxy)
        return DECLINED;
    address = address_of(c);
    if (address == NULL) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                      "no server-name index for this connection's address: mod_ssl picks "
                      "the vhost");
        return DECLINED;
    }
    cs = apr_pcalloc(c->pool, sizeof(*cs));
    cs->address = address;
    ap_set_module_config(c->conn_config, &sni_vhost_module, cs);
    ap_add_input_filter_handle(restore_filter_handle, cs, NULL, c);
    return OK;
}

static int init_server(server_rec *s, apr_pool_t *p, int is_proxy, SSL_CTX *ctx)
{
    (void)p;
    if (is_proxy)
        return DECLINED;
    conf_of(s)->ctx = ctx;
    /* Replaces mod_ssl's own ClientHello callback (which scans every vhost of the address),
     * on every context: after a HelloRetryRequest the callback that runs is the one of the
     * context switched to. */
    SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
    return OK;
}

/* --- Host routing ---------------------------------------------------------------------- */

/* Whether core's Host routing could have chosen s for host by something else than a
 * "*.domain" alias: its ServerName, an exact alias, another glob, or an address on its
 * <VirtualHost> line. */
static int named_by_core(const server_rec *s, const char *host)
{
    const server_addr_rec *sar;
    int i;

    if (s->server_hostname && !strcasecmp(host, s->server_hostname))
        return 1;
    for (i = 0; s->names && i < s->names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(s->names, i, const char *);

        if (name && !strcasecmp(host, name))
            return 1;
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        const char *glob = APR_ARRAY_IDX(s->wild_names, i, const char *);

        if (glob && !sni_pattern_is_wildcard(glob) && !ap_strcasecmp_match(host, glob))
            return 1;
    }
    for (sar = s->addrs; sar; sar = sar->next)
        if (sar->virthost && !strcasecmp(host, sar->virthost))
            return 1;
    return 0;
}

/* Core has routed the request by Host, scanning the address's vhosts in configuration
 * order.  On a TLS connection the index decides instead, with the precedence it gives
 * server names; a Host it does not know keeps core's choice, unless core made it only
 * through a "*.domain" alias matching more than one label. */
static int route_by_host(request_rec *r)
{
    conn_rec *c = r->connection;
    const sv_conn *cs = ap_get_module_config(c->conn_config, &sni_vhost_module);
    char name[SNI_NAME_MAX + 1];
    apr_size_t len;
    sni_match_e how = SNI_MATCH_NONE;
    const sv_vhost *to = NULL;
    server_rec *server;
    apr_socket_t *csd;

    if (cs == NULL && c->master) /* an HTTP/2 stream */
        cs = ap_get_module_config(c->master->conn_config, &sni_vhost_module);
    if (cs != NULL && r->hostname != NULL &&
        sni_name_normalize(r->hostname, strlen(r->hostname), name, &len, NULL) == SNI_NAME_OK)
        to = sni_index_lookup(cs->address->index, name, len, &how);
    /* Core did not scan (sv_route.h): the index's choice, else core's without its scan. */
    if (sv_route_request(r, to ? to->server : NULL, cs != NULL))
        return DECLINED;
    if (cs == NULL || r->hostname == NULL)
        return DECLINED;
    if (to != NULL)
        server = to->server;
    else if (r->server != cs->address->base && !named_by_core(r->server, r->hostname))
        server = cs->address->base;
    else
        return DECLINED;
    if (server == r->server)
        return DECLINED;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "Host %s: vhost %s (%s), not %s", r->hostname,
                  server->server_hostname, sni_match_name(how), r->server->server_hostname);
    /* what core does when its own routing switches vhosts */
    r->server = server;
    r->per_dir_config = server->lookup_defaults;
    csd = ap_get_conn_socket(c);
    if (csd)
        apr_socket_timeout_set(csd, server->timeout);
    return DECLINED;
}

/* --- observability -------------------------------------------------------------------- */

/* The log variables of a request on a TLS connection whose ClientHello the module saw. */
static int set_log_variables(request_rec *r)
{
    conn_rec *c = r->connection->master ? r->connection->master : r->connection;
    const sv_conn *cs = ap_get_module_config(c->conn_config, &sni_vhost_module);

    if (cs == NULL || !cs->decided)
        return DECLINED;
    apr_table_setn(r->subprocess_env, "SNI_VHOST_MATCH", outcome_values[cs->outcome]);
    if (cs->name[0])
        apr_table_setn(r->subprocess_env, "SNI_VHOST_NAME", cs->name);
    return DECLINED;
}

/* server-status: the counters since the server started (graceful restarts included). */
static int status_hook(request_rec *r, int flags)
{
    int i;

    if (retained == NULL || retained->counters == NULL)
        return OK;
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("<hr />\n<h2>TLS server names (mod_sni_vhost)</h2>\n<p>", r);
    for (i = 0; i < OUTCOMES; i++)
        ap_rprintf(r,
                   (flags & AP_STATUS_SHORT) ? "%s: %" APR_UINT64_T_FMT "\n"
                                             : "%s: %" APR_UINT64_T_FMT "<br />\n",
                   outcome_keys[i], __atomic_load_n(&retained->counters[i], __ATOMIC_RELAXED));
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("</p>\n", r);
    return OK;
}

/* The counters' shared memory, made once in the parent's lifetime, before any child. */
static apr_status_t make_counters(server_rec *s)
{
    apr_shm_t *shm;
    apr_status_t rv;

    retained = ap_retained_data_get(RETAINED_DATA_ID);
    if (retained == NULL)
        retained = ap_retained_data_create(RETAINED_DATA_ID, sizeof(*retained));
    if (retained->counters)
        return APR_SUCCESS;
    rv = apr_shm_create(&shm, OUTCOMES * sizeof(apr_uint64_t), NULL, s->process->pool);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "mod_sni_vhost: cannot make the shared memory of its counters; "
                     "server-status shows none");
        return rv;
    }
    retained->counters = apr_shm_baseaddr_get(shm);
    memset(retained->counters, 0, OUTCOMES * sizeof(apr_uint64_t));
    return APR_SUCCESS;
}

/* --- the index of each address, after configuration ------------------------------------ */

/* mod_ssl's value (ssl_util_vhostid(), then ap_md5_binary()), which it gives connections to
 * the vhost: "ServerName:port", 443 when ServerName has no port. */
static void session_id_context(apr_pool_t *p, const server_rec *s, unsigned char *out)
{
    const char *id =
        apr_psprintf(p, "%s:%u", s->server_hostname, s->port ? (unsigned)s->port : 443u);

    memcpy(out, ap_md5_binary(p, (const unsigned char *)id, (int)strlen(id)), SID_CTX_LEN);
}

static const char *vhost_label(apr_pool_t *p, const server_rec *s)
{
    if (!s->is_virtual)
        return apr_psprintf(p, "%s (the server config)", s->server_hostname);
    return apr_psprintf(p, "%s (%s:%u)", s->server_hostname, s->defn_name, s->defn_line_number);
}

static int collect_vhost(void *list, conn_rec *c, server_rec *s)
{
    (void)c;
    *(server_rec **)apr_array_push(list) = s;
    return 0; /* all of them */
}

static void index_name(sni_index_builder_t *b, apr_pool_t *ptemp, const char *name,
                       sv_vhost *vhost, const char *address, int report)
{
    const char *why;
    void *owner;
    apr_status_t rv;

    if (name == NULL)
        return;
    rv = sni_index_add(b, name, vhost, &owner, &why);
    if (!report || rv == APR_SUCCESS || (rv == APR_EEXIST && owner == vhost))
        return;
    if (rv == APR_EEXIST)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, vhost->server,
                     "%s: the name %s of vhost %s is also a name of %s, which comes first "
                     "and keeps it for TLS and HTTP",
                     address, name, vhost_label(ptemp, vhost->server),
                     vhost_label(ptemp, ((sv_vhost *)owner)->server));
    else
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, vhost->server,
                     "%s: the name %s of vhost %s cannot select it by TLS server name: %s",
                     address, name, vhost_label(ptemp, vhost->server), why);
}

static sv_policy_e policy_or_default(sv_policy_e policy)
{
    return policy == POLICY_UNSET ? POLICY_DEFAULT : policy;
}

static const char *policy_name(sv_policy_e policy)
{
    return policy == POLICY_REJECT ? "reject" : "default";
}

/* The index of the vhosts core lists for the fake connection's address, in the order
 * mod_ssl would scan them; only SSL vhosts can be selected. */
static sv_address *build_address(apr_pool_t *p, apr_pool_t *ptemp, sni_index_builder_t *b,
                                 conn_rec *fake, const char *label, int report)
{
    apr_array_header_t *vhosts = apr_array_make(ptemp, 16, sizeof(server_rec *));
    sv_address *address = apr_pcalloc(p, sizeof(*address));
    sv_server_conf *base;
    int i, j, selectable = 0;

    ap_vhost_iterate_given_conn(fake, collect_vhost, vhosts);
    for (i = 0; i < vhosts->nelts; i++) {
        server_rec *s = APR_ARRAY_IDX(vhosts, i, server_rec *);
        sv_vhost *vhost = conf_of(s)->vhost;

        if (vhost == NULL)
            continue;
        selectable++;
        index_name(b, ptemp, s->server_hostname, vhost, label, report);
        for (j = 0; s->names && j < s->names->nelts; j++)
            index_name(b, ptemp, APR_ARRAY_IDX(s->names, j, const char *), vhost, label,
                       report);
        for (j = 0; s->wild_names && j < s->wild_names->nelts; j++)
            index_name(b, ptemp, APR_ARRAY_IDX(s->wild_names, j, const char *), vhost, label,
                       report);
    }
    address->index = sni_index_build(b);
    address->base = fake->base_server;
    base = conf_of(address->base);
    base->first_of_address = 1;
    address->unknown = policy_or_default(base->unknown);
    address->missing = policy_or_default(base->missing);
    if (report && selectable > 0)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, address->base,
                     "%s: %" APR_SIZE_T_FMT " exact names, %" APR_SIZE_T_FMT
                     " wildcards and %" APR_SIZE_T_FMT " globs select %d SSL vhosts; default "
                     "vhost %s; unknown names: %s; no name: %s",
                     label, sni_index_count(address->index, SNI_PATTERN_EXACT),
                     sni_index_count(address->index, SNI_PATTERN_WILDCARD),
                     sni_index_count(address->index, SNI_PATTERN_GLOB), selectable,
                     vhost_label(ptemp, address->base), policy_name(address->unknown),
                     policy_name(address->missing));
    return address;
}

typedef struct {
    apr_pool_t *p, *ptemp;
    sni_index_builder_t *builder;
    apr_hash_t *result;
    int report;
} addresses_ctx;

static void add_address(void *baton, conn_rec *fake, const sv_address_key_t *key,
                        const char *label)
{
    addresses_ctx *ac = baton;

    apr_hash_set(ac->result, apr_pmemdup(ac->p, key, sizeof(*key)), sizeof(*key),
                 build_address(ac->p, ac->ptemp, ac->builder, fake, label, ac->report));
}

/* One index for each address a connection can arrive on (sv_address.h); for each, a fake
 * connection asks core which vhosts it would consider, as it does for a real one. */
static apr_hash_t *build_addresses(apr_pool_t *p, apr_pool_t *ptemp, server_rec *main_s,
                                   int report)
{
    addresses_ctx ac = {p, ptemp, sni_index_builder_create(p), apr_hash_make(p), report};

    sv_address_each(main_s, ptemp, add_address, &ac);
    return ac.result;
}

/* The other spelling of a configured name: with one trailing dot added, or without the one
 * it has; NULL for a name ending in two dots, which is no host name. */
static const char *other_spelling(apr_pool_t *p, const char *name)
{
    apr_size_t len = name ? strlen(name) : 0;

    if (len == 0)
        return NULL;
    if (name[len - 1] != '.')
        return apr_pstrcat(p, name, ".", NULL);
    if (len == 1 || name[len - 2] == '.')
        return NULL;
    return apr_pstrmemdup(p, name, len - 1);
}

/* mod_ssl's servername callback compares the name as the client sent it with the chosen
 * vhost's ServerName and ServerAlias as they are written: a trailing dot on either side
 * makes them differ, mod_ssl keeps the default vhost, and its request check answers 421.
 * The index ignores the dot, so each name also gets its other spelling (added after the
 * index is built): "www.example.com" then serves "www.example.com." and "www.example.com."
 * serves "www.example.com", for mod_ssl and for core's Host routing alike. */
static void add_trailing_dot_names(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *lists[2];
    const char *other;
    int i, j, n;

    if (s->names == NULL)
        s->names = apr_array_make(p, 1, sizeof(char *));
    if (s->wild_names == NULL)
        s->wild_names = apr_array_make(p, 1, sizeof(char *));
    lists[0] = s->names;
    lists[1] = s->wild_names;
    for (i = 0; i < 2; i++) {
        n = lists[i]->nelts;
        for (j = 0; j < n; j++) {
            other = other_spelling(p, APR_ARRAY_IDX(lists[i], j, const char *));
            if (other)
                APR_ARRAY_PUSH(lists[i], const char *) = other;
        }
    }
    other = other_spelling(p, s->server_hostname);
    if (other)
        APR_ARRAY_PUSH(s->names, const char *) = other;
}

static void report_misplaced_directives(apr_pool_t *ptemp, server_rec *main_s)
{
    server_rec *s;

    for (s = main_s->next; s; s = s->next) {
        const sv_server_conf *conf = conf_of(s);

        if ((conf->unknown_here || conf->missing_here) && !conf->first_of_address)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "SNIVhostUnknown and SNIVhostMissing in vhost %s have no effect: they "
                         "apply to the addresses where their vhost is the first one, and "
                         "this vhost is first on none; move them to the first vhost of the "
                         "address or to the server config",
                         vhost_label(ptemp, s));
        if (conf->sni_names && conf->ctx == NULL)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "SNIVhost in vhost %s: the vhost has no SSLEngine on, so its names "
                         "only route HTTP requests by Host",
                         vhost_label(ptemp, s));
    }
}

static int has_tls(const server_rec *s)
{
    return conf_of(s)->ctx != NULL;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                       server_rec *main_s)
{
    /* the first, trial pass at startup: build, but report once, on the real one */
    int report = ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
    apr_array_header_t *ssl_vhosts = apr_array_make(ptemp, 16, sizeof(sv_tickets_vhost_t));
    server_rec *s;

    (void)plog;
    addresses = NULL;
    make_counters(main_s);
    if (!ap_find_linked_module("mod_ssl.c")) {
        if (report)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_s,
                         "mod_sni_vhost is loaded but mod_ssl is not: SNIVhost names only "
                         "route HTTP requests by Host");
        sv_route_build(pconf, ptemp, main_s, report, has_tls);
        return OK;
    }
    for (s = main_s; s; s = s->next) {
        sv_server_conf *conf = conf_of(s);

        if (conf->ctx == NULL)
            continue;
        conf->vhost = apr_pcalloc(pconf, sizeof(*conf->vhost));
        conf->vhost->server = s;
        conf->vhost->ctx = conf->ctx;
        session_id_context(ptemp, s, conf->vhost->sid_ctx);
        APR_ARRAY_PUSH(ssl_vhosts, sv_tickets_vhost_t) = (sv_tickets_vhost_t){s, conf->ctx};
    }
    addresses = build_addresses(pconf, ptemp, main_s, report);
    for (s = main_s; s; s = s->next)
        if (conf_of(s)->vhost)
            add_trailing_dot_names(pconf, s);
    if (report) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, main_s,
                     "mod_sni_vhost %s: %d SSL vhost(s), %u address(es) indexed", TK_VERSION,
                     ssl_vhosts->nelts, addresses ? apr_hash_count(addresses) : 0);
        report_misplaced_directives(ptemp, main_s);
    }
    sv_route_build(pconf, ptemp, main_s, report, has_tls);
    /* mod_ssl's SSLSessionTicketKeyFile needs mod_ssl's vhost switch to have happened
     * before the ticket is opened, and this module's switch replaces it (sv_tickets.h);
     * mod_tls_tickets, when loaded, owns every ticket. */
    if (!ap_find_linked_module("mod_tls_tickets.c"))
        return sv_tickets_serve(pconf, ptemp, main_s, ssl_vhosts, report);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    static const char *const after_ssl[] = {"mod_ssl.c", NULL};
    /* post_read_request hooks that read r->server, some of them REALLY_FIRST too */
    static const char *const before_readers[] = {"mod_ssl.c",        "mod_http2.c",
                                                 "mod_reqtimeout.c", "mod_log_forensic.c",
                                                 "mod_privileges.c", NULL};

    ap_hook_post_config(post_config, after_ssl, NULL, APR_HOOK_MIDDLE);
    /* before mod_ssl's own post_read_request check, which compares the request's vhost with
     * the handshake's */
    ap_hook_post_read_request(route_by_host, NULL, before_readers, APR_HOOK_REALLY_FIRST);
    /* also before mod_ssl's check, so that a request it answers with 421 is logged with
     * the variables */
    ap_hook_post_read_request(set_log_variables, NULL, NULL, APR_HOOK_REALLY_FIRST);
    sv_route_register_hooks(p);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, init_server, init_server, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ssl, pre_handshake, pre_handshake, NULL, NULL, APR_HOOK_MIDDLE);
    restore_filter_handle =
        ap_register_input_filter(RESTORE_FILTER, restore_filter, NULL, AP_FTYPE_CONNECTION);
}

static const command_rec commands[] = {
    AP_INIT_ITERATE("SNIVhost", set_sni_name, NULL, RSRC_CONF,
                    "TLS server names that select this vhost: exact names, or *.domain for "
                    "any one label; they route HTTP requests by Host too"),
    AP_INIT_TAKE1("SNIVhostUnknown", set_policy, (void *)FOR_UNKNOWN_NAME, RSRC_CONF,
                  "default|reject: what a TLS server name that no vhost of the address serves "
                  "gets: the default vhost, or an unrecognized_name alert"),
    AP_INIT_TAKE1("SNIVhostMissing", set_policy, (void *)FOR_MISSING_NAME, RSRC_CONF,
                  "default|reject: what a TLS handshake without a server name gets: the "
                  "default vhost, or an unrecognized_name alert"),
    AP_INIT_FLAG("SNIVhostPlainHTTP", sv_route_set_plain_http, NULL, RSRC_CONF,
                 "on|off: route the requests of plain-HTTP addresses by Host through an "
                 "index (on, the default), or leave them to httpd's scan of the vhosts"),
    {NULL},
};

module AP_MODULE_DECLARE_DATA sni_vhost_module = {
    STANDARD20_MODULE_STUFF,
    NULL,               /* per-directory config */
    NULL,               /* merge per-directory */
    create_server_conf, /* per-server config */
    merge_server_conf,  /* merge per-server */
    commands,
    register_hooks,
    /* Every vhost needs a configuration of its own, which init_server and post_config fill
     * in: without the flag a vhost that uses none of the directives shares the server's. */
    AP_MODULE_FLAG_ALWAYS_MERGE,
};
