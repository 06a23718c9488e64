/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mod_tls_tickets configuration: the directives, the per-server configuration, and the key
 * files as read while httpd reads its configuration (as root, before the children start).
 */
#include <httpd.h>
#include <http_core.h>
#include <http_log.h>
#include <http_main.h>
#include <unixd.h>

#include <apr_strings.h>

#include <openssl/crypto.h>

#include "tt_farm.h"
#include "tt_private.h"

APLOG_USE_MODULE(tls_tickets);

#define KEY_FILES_USERDATA "mod_tls_tickets-key-files"

void *tt_create_server_conf(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pcalloc(p, sizeof(tt_server_conf_t));
}

void *tt_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    tt_server_conf_t *base = basev, *add = addv;
    tt_server_conf_t *conf = apr_palloc(p, sizeof(*conf));

    *conf = *base;
    if (add->key_file)
        conf->key_file = add->key_file;
    return conf;
}

/* The key files of this configuration pass, by id, so a file that several vhosts name
 * is read once. */
apr_hash_t *tt_key_files_of(apr_pool_t *pconf)
{
    void *files = NULL;

    apr_pool_userdata_get(&files, KEY_FILES_USERDATA, pconf);
    if (files == NULL) {
        files = apr_hash_make(pconf);
        apr_pool_userdata_set(files, KEY_FILES_USERDATA, apr_pool_cleanup_null, pconf);
    }
    return files;
}

/* Messages about a key file go to the error log from post_config, which runs once the
 * logs are open; only `httpd -t` has no post_config, and shows them on the console. */
void tt_report_key_file(const tt_key_file_t *file, server_rec *s)
{
    const tk_key_t *sealing = tk_ring_sealing_key(file->ring, apr_time_now());
    const char *fp = sealing ? sealing->fingerprint : "(none now)";

    if (file->kept_because)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "SSLTicketKeyFile %s: %s; keeping the %u key(s) in service (sealing key "
                     "%s). Fix the file: it is read again at the next check or restart.",
                     file->path, file->kept_because, tk_ring_size(file->ring), fp);
    if (file->exposed)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s: the key file can be read or written by its group or "
                     "by others; anyone who reads it can decrypt recorded TLS sessions. Make "
                     "it owned by root with mode 0600 (httpd reads it as root).",
                     file->path);
    /* The children run as that user: one that could rewrite the file could put in service
     * keys it knows, and forge tickets. */
    if (file->owner_known && ap_unixd_config.user_id != 0 &&
        file->owner == ap_unixd_config.user_id)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "SSLTicketKeyFile %s: the key file is owned by the user the server's "
                     "children run as (%s), who could then put keys it knows in service and "
                     "forge tickets. Make it owned by root with mode 0600.",
                     file->path, ap_unixd_config.user_name);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "SSLTicketKeyFile %s (%s): %u key(s), sealing with key %s", file->path,
                 tk_format_name(file->format), tk_ring_size(file->ring), fp);
}

static const char *set_key_file(cmd_parms *cmd, void *dummy, const char *arg,
                                const char *format_name)
{
    tt_server_conf_t *conf = tt_conf_of(cmd->server);
    apr_hash_t *files = tt_key_files_of(cmd->pool);
    tk_format_e format = TK_FORMAT_AUTO;
    const char *path, *id, *why;
    unsigned char *data;
    apr_size_t len;
    tt_key_file_t *file;
    apr_status_t rv;
    int exposed;

    (void)dummy;
    if (format_name && tk_format_from_name(format_name, &format) != APR_SUCCESS)
        return apr_psprintf(cmd->pool,
                            "%s: unknown key file format '%s'; use auto, raw, text, nginx "
                            "or haproxy",
                            cmd->cmd->name, format_name);
    path = ap_server_root_relative(cmd->pool, arg);
    if (path == NULL)
        return apr_psprintf(cmd->pool, "%s: invalid file path '%s'", cmd->cmd->name, arg);

    id = apr_pstrcat(cmd->pool, tk_format_name(format), ":", path, NULL);
    file = apr_hash_get(files, id, APR_HASH_KEY_STRING);
    if (file == NULL) {
        file = apr_pcalloc(cmd->pool, sizeof(*file));
        file->id = id;
        file->path = path;
        file->format = format;
        file->ring = tk_ring_create(cmd->pool);
        rv = tk_keyfile_read(cmd->temp_pool, path, &data, &len, &why);
        if (rv == APR_SUCCESS) {
            tk_keyfile_digest(data, len, file->digest);
            rv = tk_keyfile_parse(cmd->temp_pool, data, len, format, apr_time_now(), file->ring,
                                  &why);
            /* Now, not when the temporary pool goes: the watcher forks before that. */
            OPENSSL_cleanse(data, len);
        } else {
            file->unreadable = 1;
        }
        if (rv != APR_SUCCESS) {
            if (!tt_keys_in_service(id, file->ring))
                return apr_psprintf(cmd->pool, "%s %s: %s", cmd->cmd->name, path, why);
            file->kept_because = apr_pstrdup(cmd->pool, why);
        }
        file->exposed =
            tk_keyfile_is_exposed(cmd->temp_pool, path, &exposed) == APR_SUCCESS && exposed;
        file->owner_known = tk_keyfile_owner(cmd->temp_pool, path, &file->owner) == APR_SUCCESS;
        if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST)
            tt_report_key_file(file, cmd->server);
        apr_hash_set(files, id, APR_HASH_KEY_STRING, file);
    }
    conf->key_file = file;
    return NULL;
}

static const char *set_reload(cmd_parms *cmd, void *dummy, const char *arg)
{
    tt_server_conf_t *conf = tt_conf_of(cmd->server);

    (void)dummy;
    if (cmd->server->is_virtual)
        return apr_psprintf(cmd->pool, "%s is a server-wide setting, not for <VirtualHost>",
                            cmd->cmd->name);
    if (strcasecmp(arg, "live") == 0)
        conf->reload = TT_RELOAD_LIVE;
    else if (strcasecmp(arg, "graceful") == 0)
        conf->reload = TT_RELOAD_GRACEFUL;
    else if (strcasecmp(arg, "off") == 0)
        conf->reload = TT_RELOAD_OFF;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not live, graceful or off", cmd->cmd->name,
                            arg);
    return NULL;
}

/* Parses a whole number of seconds in [1, max]. */
static const char *parse_seconds(cmd_parms *cmd, const char *arg, long max,
                                 apr_interval_time_t *out)
{
    char *end;
    long v;

    if (cmd->server->is_virtual)
        return apr_psprintf(cmd->pool, "%s is a server-wide setting, not for <VirtualHost>",
                            cmd->cmd->name);
    v = strtol(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < 1 || v > max)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds from 1 to %ld",
                            cmd->cmd->name, arg, max);
    *out = apr_time_from_sec(v);
    return NULL;
}

static const char *set_check_interval(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return parse_seconds(cmd, arg, 3600, &tt_conf_of(cmd->server)->check_interval);
}

static const char *set_auto_rotate(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (strcasecmp(arg, "off") == 0 && !cmd->server->is_virtual) {
        tt_conf_of(cmd->server)->auto_rotate = -1;
        return NULL;
    }
    return parse_seconds(cmd, arg, 366L * 24 * 3600, &tt_conf_of(cmd->server)->auto_rotate);
}

const command_rec tt_commands[] = {
    AP_INIT_TAKE12("SSLTicketKeyFile", set_key_file, NULL, RSRC_CONF,
                   "File of TLS session-ticket keys, and optionally its format (auto, raw, "
                   "text, nginx, haproxy)"),
    AP_INIT_TAKE1("SSLTicketKeyReload", set_reload, NULL, RSRC_CONF,
                  "What a changed key file does: live (new keys in service at once, the "
                  "default), graceful (a graceful restart) or off (read at restarts only)"),
    AP_INIT_TAKE1("SSLTicketKeyCheckInterval", set_check_interval, NULL, RSRC_CONF,
                  "Seconds between two checks of the key files (default 1)"),
    AP_INIT_TAKE1("SSLTicketKeyAutoRotate", set_auto_rotate, NULL, RSRC_CONF,
                  "Seconds between two rotations of the automatic keys of vhosts without a "
                  "key file (default 43200), or off"),
    TT_FARM_COMMANDS,
    {NULL},
};
