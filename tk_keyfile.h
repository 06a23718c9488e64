/*
 * Key files: the formats SSLTicketKeyFile reads, and their parser.
 * APR and OpenSSL only; no httpd.
 *
 * Formats (the README documents them for operators):
 *   raw      binary: a whole number of 48-byte keys (name|HMAC|AES-128, mod_ssl's
 *            SSLSessionTicketKeyFile), or exactly one 80-byte key (name|HMAC|AES-256,
 *            the layout of OpenSSL and nginx).  The first key seals.
 *   text     ours: one base64 key (48 or 80 bytes, name|HMAC|AES) a line; blank lines and
 *            lines starting with '#' are ignored, CRLF is accepted.  The first key seals.
 *   nginx    binary, one key: 48 bytes name|AES-128|HMAC or 80 bytes name|HMAC|AES-256.
 *   haproxy  text, one base64 key a line, name|AES|HMAC; the penultimate key seals.
 *   auto     text when every byte is printable ASCII, tab, CR or LF; raw otherwise.
 */
#ifndef TK_KEYFILE_H
#define TK_KEYFILE_H

#include <apr_pools.h>

#include "tk_ring.h"

/* A key file is a few hundred bytes; anything larger is refused unread. */
#define TK_KEYFILE_MAX_SIZE 65536

typedef enum {
    TK_FORMAT_AUTO,
    TK_FORMAT_RAW,
    TK_FORMAT_TEXT,
    TK_FORMAT_NGINX,
    TK_FORMAT_HAPROXY
} tk_format_e;

/* Maps a format name (auto, raw, text, nginx, haproxy; any case) to its value.
 * Returns APR_EINVAL for any other name. */
apr_status_t tk_format_from_name(const char *name, tk_format_e *fmt);

/* The name of a format, as tk_format_from_name() takes it. */
const char *tk_format_name(tk_format_e fmt);

/* Parses the contents of a key file into ring (emptied first).
 * On success the ring holds at least one key.  On failure returns APR_EINVAL,
 * leaves the ring empty and sets *why (from p) to one sentence saying what is
 * wrong, e.g. "47 bytes is not a whole number of 48-byte keys, nor one 80-byte key".
 * *why never contains key bytes. */
apr_status_t tk_keyfile_parse(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                              tk_format_e fmt, tk_ring_t *ring, const char **why);

/* Reads the file at path and parses it as tk_keyfile_parse() does; the bytes read are
 * wiped before returning.  Fails with the read error or APR_EINVAL, with *why set. */
apr_status_t tk_keyfile_load(apr_pool_t *p, const char *path, tk_format_e fmt, tk_ring_t *ring,
                             const char **why);

/* Whether the file at path can be read or written by its group or by others.
 * Returns the stat error when the file cannot be examined. */
apr_status_t tk_keyfile_is_exposed(apr_pool_t *p, const char *path, int *exposed);

#endif
