/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key files: the formats SSLTicketKeyFile reads, their parser and writer.
 * APR and OpenSSL only; no httpd.
 *
 * Formats (the README documents them for operators):
 *   raw      binary: a whole number of 48-byte keys (name|HMAC|AES-128, mod_ssl's
 *            SSLSessionTicketKeyFile), or exactly one 80-byte key (name|HMAC|AES-256,
 *            the layout of OpenSSL and nginx).  The first key seals.
 *   text     ours: one base64 key (48 or 80 bytes, name|HMAC|AES) a line, optionally
 *            followed by not-before=TIME and not-after=TIME (exactly RFC 3339 UTC as in
 *            2026-11-26T20:00:00Z, or Unix seconds); blank lines and '#' comments are
 *            ignored, CRLF is accepted.  The first key seals, unless validity windows
 *            decide (see tk_ring_sealing_index()).
 *   nginx    binary, one key: 48 bytes name|AES-128|HMAC or 80 bytes name|HMAC|AES-256.
 *   haproxy  text, one base64 key a line, name|AES|HMAC; the penultimate key seals.
 *   auto     text when every byte is printable ASCII, tab, CR or LF; raw otherwise.
 */
#ifndef TK_KEYFILE_H
#define TK_KEYFILE_H

#include <apr_file_info.h>
#include <apr_pools.h>

#include "tk_ring.h"

/* A key file is a few hundred bytes; anything larger is refused unread. */
#define TK_KEYFILE_MAX_SIZE 65536
#define TK_DIGEST_LEN       32

typedef enum {
    TK_FORMAT_AUTO,
    TK_FORMAT_RAW,
    TK_FORMAT_TEXT,
    TK_FORMAT_NGINX,
    TK_FORMAT_HAPROXY
} tk_format_e;

/* Length of a time written as RFC 3339 UTC, e.g. 2026-11-26T20:00:00Z, with its NUL. */
#define TK_TIME_TEXT_LEN 21

/* Parses a time of a validity window: exactly RFC 3339 UTC as written here
 * (2026-11-26T20:00:00Z, every digit present), or Unix seconds (digits, no leading
 * zero), up to 9999-12-31T23:59:59Z.  Returns APR_EINVAL for anything else: local times,
 * times that do not exist (February 30, hour 24, second 60), anything strptime() would
 * bend into another time. */
apr_status_t tk_time_parse(const char *text, apr_time_t *t);

/* A key described for people (tls-ticket-keys list, server-status); no key byte. */
typedef struct {
    const char *cipher;                /* "AES-128" or "AES-256" */
    char not_before[TK_TIME_TEXT_LEN]; /* RFC 3339, or "-" */
    char not_after[TK_TIME_TEXT_LEN];
    const char *state; /* "seals", "opens", "opens; seals from its not-before", "expired" */
} tk_key_text_t;

/* Describes key i of ring as it stands at time now. */
void tk_key_describe(const tk_ring_t *ring, unsigned int i, apr_time_t now, tk_key_text_t *out);

/* Maps a format name (auto, raw, text, nginx, haproxy; any case) to its value.
 * Returns APR_EINVAL for any other name. */
apr_status_t tk_format_from_name(const char *name, tk_format_e *fmt);

/* The name of a format, as tk_format_from_name() takes it. */
const char *tk_format_name(tk_format_e fmt);

/* The format a file's bytes are read as under `auto`: TK_FORMAT_TEXT or TK_FORMAT_RAW. */
tk_format_e tk_format_detect(const unsigned char *data, apr_size_t len);

/* Parses the contents of a key file into ring (emptied first).  now is the time against
 * which validity windows are checked: the file must have a key that may seal then.
 * On success the ring holds at least one key.  On failure returns APR_EINVAL, leaves
 * the ring empty and sets *why (from p) to one sentence saying what is wrong, e.g.
 * "47 bytes is not a whole number of 48-byte keys, nor one 80-byte key".
 * *why names a place (line, key number, byte or character position) and a problem; it
 * never quotes the file's content, any word of which may be key material (a second key
 * on a line, a key pasted after not-before=). */
apr_status_t tk_keyfile_parse(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                              tk_format_e fmt, apr_time_t now, tk_ring_t *ring,
                              const char **why);

/* Reads a whole key file into *data (from p, wiped when p is cleared).  Fails with the
 * read error, or APR_EINVAL for a file that is not regular (a FIFO, directory, device or
 * socket: refused without blocking; a symbolic link to a regular file is followed), too
 * large or changing; *why says so. */
apr_status_t tk_keyfile_read(apr_pool_t *p, const char *path, unsigned char **data,
                             apr_size_t *len, const char **why);

/* SHA-256 of a key file's contents, to notice any change, even within one second. */
void tk_keyfile_digest(const unsigned char *data, apr_size_t len,
                       unsigned char digest[TK_DIGEST_LEN]);

/* Reads and parses the file at path (tk_keyfile_read(), tk_keyfile_parse() at the
 * current time); sets digest, when not NULL, to the digest of what was read. */
apr_status_t tk_keyfile_load(apr_pool_t *p, const char *path, tk_format_e fmt, tk_ring_t *ring,
                             unsigned char *digest, const char **why);

/* Whether the file at path can be read or written by its group or by others.
 * Returns the stat error when the file cannot be examined. */
apr_status_t tk_keyfile_is_exposed(apr_pool_t *p, const char *path, int *exposed);

/* The owner of the file at path, following symbolic links (the file httpd reads), e.g.
 * to warn when the web server's own user could rewrite its keys.  Returns the stat error
 * when the file cannot be examined. */
apr_status_t tk_keyfile_owner(apr_pool_t *p, const char *path, apr_uid_t *uid);

/* The bytes of a key file holding ring's keys in their order, in format raw, text (which
 * writes the validity windows), nginx or haproxy.  The order is the file's: which key
 * seals is the format's rule when the file is read back (the penultimate for haproxy).
 * Returns APR_EINVAL, with *why, for auto, for a window in any format but text, for raw
 * when the keys mix sizes in a way raw cannot hold, for nginx unless the ring holds one
 * key, and for haproxy when the keys differ in size (HAProxy refuses such a file).
 * *data is wiped when p is cleared. */
apr_status_t tk_keyfile_serialize(apr_pool_t *p, const tk_ring_t *ring, tk_format_e fmt,
                                  unsigned char **data, apr_size_t *len, const char **why);

/* Replaces the file at path with data atomically: a temporary file in the same
 * directory, mode 0600, written and fsynced, then renamed over path (and the directory
 * fsynced).  Readers see the old file or the new one, never a part. */
apr_status_t tk_keyfile_write_atomic(apr_pool_t *p, const char *path, const unsigned char *data,
                                     apr_size_t len, const char **why);

#endif
