/* SPDX-License-Identifier: Apache-2.0 */
/* Watching a key file: changes by content, refusals reported once, vanished files. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <apr_base64.h>
#include <apr_strings.h>

#include "keys.h"
#include "tk_watch.h"

#define watched_path unit_path("watch.key")

/* Writes a raw file of one 48-byte key made from seed (or bytes as given). */
static void write_key(unsigned int seed)
{
    tk_key_t key = make_key(seed, TK_KEY_48);
    unsigned char b[48];
    FILE *f = fopen(watched_path, "wb");

    memcpy(b, key.name, 16);
    memcpy(b + 16, key.hmac_key, 16);
    memcpy(b + 32, key.aes_key, 16);
    fwrite(b, 1, sizeof(b), f);
    fclose(f);
}

static void write_bytes(const char *text)
{
    FILE *f = fopen(watched_path, "wb");

    fputs(text, f);
    fclose(f);
}

static tk_watch_event_e check(tk_watched_file_t *w, tk_ring_t *ring, const char **why)
{
    return tk_watch_check(w, unit_pool, apr_time_now(), ring, why);
}

static void changes_are_seen_by_content(void)
{
    tk_watched_file_t w = {0};
    tk_ring_t ring;
    const char *why = NULL;

    w.path = watched_path;
    w.format = TK_FORMAT_RAW;
    write_key(1);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    CHECK(ring.nkeys == 1 && memcmp(ring.keys[0].name, make_key(1, TK_KEY_48).name, 16) == 0);
    CHECK(check(&w, &ring, &why) == TK_WATCH_SAME);
    /* same size, and within the same second: only the content differs */
    write_key(2);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    CHECK(memcmp(ring.keys[0].name, make_key(2, TK_KEY_48).name, 16) == 0);
    write_key(3);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    unlink(watched_path);
}

static void a_bad_file_is_refused_once_then_a_good_one_is_taken(void)
{
    tk_watched_file_t w = {0};
    tk_ring_t ring;
    const char *why = NULL;

    w.path = watched_path;
    w.format = TK_FORMAT_RAW;
    write_key(4);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    write_bytes("half a key");
    CHECK(check(&w, &ring, &why) == TK_WATCH_REFUSED);
    CHECK_STR(why, "10 bytes is not a whole number of 48-byte keys, nor one 80-byte key");
    CHECK(check(&w, &ring, &why) == TK_WATCH_SAME); /* reported once, not at every look */
    write_bytes("");
    CHECK(check(&w, &ring, &why) == TK_WATCH_REFUSED);
    CHECK_STR(why, "the file is empty");
    CHECK(check(&w, &ring, &why) == TK_WATCH_SAME);
    write_key(5);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    CHECK(memcmp(ring.keys[0].name, make_key(5, TK_KEY_48).name, 16) == 0);
    unlink(watched_path);
}

static void a_vanished_file_is_reported_once(void)
{
    tk_watched_file_t w = {0};
    tk_ring_t ring;
    const char *why = NULL;

    w.path = watched_path;
    w.format = TK_FORMAT_RAW;
    write_key(6);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    unlink(watched_path);
    CHECK(check(&w, &ring, &why) == TK_WATCH_VANISHED);
    CHECK_STR(why, "No such file or directory");
    CHECK(check(&w, &ring, &why) == TK_WATCH_SAME);
    /* back with the same content: nothing changed for the keys in service */
    write_key(6);
    CHECK(check(&w, &ring, &why) == TK_WATCH_SAME);
    unlink(watched_path);
    CHECK(check(&w, &ring, &why) == TK_WATCH_VANISHED);
    write_key(7);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    unlink(watched_path);
}

static void a_file_whose_time_comes_is_taken_without_a_change(void)
{
    tk_watched_file_t w = {0};
    apr_time_t t0 = apr_time_from_sec(2000000000);
    tk_ring_t ring;
    const char *why = NULL;
    tk_key_t key = make_key(8, TK_KEY_48);
    unsigned char b[48];
    char enc[80];

    memcpy(b, key.name, 16);
    memcpy(b + 16, key.hmac_key, 16);
    memcpy(b + 32, key.aes_key, 16);
    apr_base64_encode_binary(enc, b, 48);
    write_bytes(apr_psprintf(unit_pool, "%s not-before=2000000010\n", enc));
    w.path = watched_path;
    w.format = TK_FORMAT_TEXT;
    CHECK(tk_watch_check(&w, unit_pool, t0, &ring, &why) == TK_WATCH_REFUSED);
    CHECK(tk_watch_check(&w, unit_pool, t0 + apr_time_from_sec(5), &ring, &why) ==
          TK_WATCH_SAME);
    CHECK(tk_watch_check(&w, unit_pool, t0 + apr_time_from_sec(10), &ring, &why) ==
          TK_WATCH_NEW_KEYS);
    unlink(watched_path);
}

/* A key file replaced by a FIFO: the watcher used to block in open(2) until a writer
 * came, so no later change was ever seen.  An alarm fails the run rather than hang it. */
static void a_fifo_in_place_of_the_file_is_reported_without_blocking(void)
{
    const char *fifo_path = unit_path("watch.fifo");
    tk_watched_file_t w = {0};
    tk_ring_t ring;
    const char *why = NULL;

    w.path = fifo_path;
    w.format = TK_FORMAT_RAW;
    unlink(fifo_path);
    write_key(9);
    CHECK(rename(watched_path, fifo_path) == 0);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    unlink(fifo_path);
    CHECK(mkfifo(fifo_path, 0600) == 0);
    alarm(5);
    CHECK(check(&w, &ring, &why) == TK_WATCH_VANISHED);
    CHECK_STR(why, "the path is a FIFO (named pipe); a key file must be a regular file (or a "
                   "symbolic link to one)");
    CHECK(check(&w, &ring, &why) == TK_WATCH_SAME);
    alarm(0);
    unlink(fifo_path);
    write_key(10);
    CHECK(rename(watched_path, fifo_path) == 0);
    CHECK(check(&w, &ring, &why) == TK_WATCH_NEW_KEYS);
    unlink(fifo_path);
}

void watch_tests(void)
{
    RUN(changes_are_seen_by_content);
    RUN(a_bad_file_is_refused_once_then_a_good_one_is_taken);
    RUN(a_vanished_file_is_reported_once);
    RUN(a_file_whose_time_comes_is_taken_without_a_change);
    RUN(a_fifo_in_place_of_the_file_is_reported_without_blocking);
}
