/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Watching a key file: what changed since the last look, decided by content (SHA-256),
 * not by modification time, so two writes within one second are both seen.
 * APR and OpenSSL only; no httpd.
 */
#ifndef TK_WATCH_H
#define TK_WATCH_H

#include <apr_pools.h>

#include "tk_keyfile.h"

typedef enum {
    TK_WATCH_SAME,     /* nothing to do: unchanged, or a refusal already reported */
    TK_WATCH_NEW_KEYS, /* the file has new, valid content: *ring holds its keys */
    TK_WATCH_REFUSED,  /* new content that is not a valid key file: *why says why */
    TK_WATCH_VANISHED, /* the file can no longer be read: *why says why */
} tk_watch_event_e;

typedef struct {
    const char *path;
    tk_format_e format;
    unsigned char
        in_service[TK_DIGEST_LEN]; /* content whose keys are in service; zero: unknown */
    unsigned char last_seen[TK_DIGEST_LEN]; /* content last examined, good or bad */
    int unreadable;                         /* the last look could not read the file */
} tk_watched_file_t;

/* Looks at the file once.  A bad content is reported once (TK_WATCH_REFUSED), then
 * TK_WATCH_SAME until the content changes; it is parsed again at each look, so a file
 * that becomes valid as time passes (a not-before reached) is taken.  Likewise a file
 * that cannot be read is reported once.  Scratch allocations go to p. */
tk_watch_event_e tk_watch_check(tk_watched_file_t *file, apr_pool_t *p, apr_time_t now,
                                tk_ring_t *ring, const char **why);

#endif
