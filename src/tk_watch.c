/* SPDX-License-Identifier: Apache-2.0 */
#include "tk_watch.h"

#include <string.h>

tk_watch_event_e tk_watch_check(tk_watched_file_t *file, apr_pool_t *p, apr_time_t now,
                                tk_ring_t *ring, const char **why)
{
    unsigned char digest[TK_DIGEST_LEN], *data;
    apr_size_t len;

    if (tk_keyfile_read(p, file->path, &data, &len, why) != APR_SUCCESS) {
        if (file->unreadable)
            return TK_WATCH_SAME;
        file->unreadable = 1;
        return TK_WATCH_VANISHED;
    }
    file->unreadable = 0;
    tk_keyfile_digest(data, len, digest);
    if (memcmp(digest, file->in_service, TK_DIGEST_LEN) == 0)
        return TK_WATCH_SAME;
    if (tk_keyfile_parse(p, data, len, file->format, now, ring, why) == APR_SUCCESS) {
        memcpy(file->in_service, digest, TK_DIGEST_LEN);
        memcpy(file->last_seen, digest, TK_DIGEST_LEN);
        return TK_WATCH_NEW_KEYS;
    }
    if (memcmp(digest, file->last_seen, TK_DIGEST_LEN) == 0)
        return TK_WATCH_SAME;
    memcpy(file->last_seen, digest, TK_DIGEST_LEN);
    return TK_WATCH_REFUSED;
}
