/* The key-file parser: every format, and the errors an operator sees. */
#include "unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_file_info.h>
#include <apr_strings.h>

#include "keys.h"
#include "tk_keyfile.h"

/* Distinct, non-zero, recognisable key bytes: byte i of key `seed` is seed*31 + i + 1. */
static void fill_key(unsigned char *b, apr_size_t len, unsigned int seed)
{
    apr_size_t i;

    for (i = 0; i < len; i++)
        b[i] = (unsigned char)(seed * 31 + i + 1);
}

static char *b64(const unsigned char *b, apr_size_t len)
{
    char *out = apr_palloc(unit_pool, (apr_size_t)apr_base64_encode_len((int)len));
    apr_base64_encode_binary(out, b, (int)len);
    return out;
}

static apr_status_t parse(const void *data, apr_size_t len, tk_format_e fmt, tk_ring_t *ring,
                          const char **why)
{
    *why = NULL;
    return tk_keyfile_parse(unit_pool, data, len, fmt, apr_time_now(), ring, why);
}

static apr_status_t parse_str(const char *text, tk_format_e fmt, tk_ring_t *ring,
                              const char **why)
{
    return parse(text, strlen(text), fmt, ring, why);
}

/* The key's parts are where the layout name|first|second puts them. */
static int key_is(const tk_key_t *key, const unsigned char *b, apr_size_t len, int hmac_first)
{
    apr_size_t secret = (len - 16) / 2;
    const unsigned char *hmac = b + 16 + (hmac_first ? 0 : secret);
    const unsigned char *aes = b + 16 + (hmac_first ? secret : 0);

    return key->size == (tk_key_size_e)len && memcmp(key->name, b, 16) == 0 &&
           memcmp(key->hmac_key, hmac, secret) == 0 && memcmp(key->aes_key, aes, secret) == 0;
}

static void raw_single_48_byte_key_is_mod_ssl_layout(void)
{
    unsigned char b[48];
    tk_ring_t ring;
    const char *why;

    fill_key(b, sizeof(b), 1);
    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 1);
    CHECK(key_is(&ring.keys[0], b, 48, 1));
    CHECK(tk_ring_sealing_key(&ring, apr_time_now()) == &ring.keys[0]);
}

static void raw_concatenated_48_byte_keys_first_seals(void)
{
    unsigned char b[3 * 48];
    tk_ring_t ring;
    const char *why;
    int i;

    for (i = 0; i < 3; i++)
        fill_key(b + 48 * i, 48, (unsigned int)i + 1);
    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 3);
    for (i = 0; i < 3; i++)
        CHECK(key_is(&ring.keys[i], b + 48 * i, 48, 1));
    CHECK(tk_ring_sealing_index(&ring, apr_time_now()) == 0);
}

static void raw_single_80_byte_key_is_openssl_layout(void)
{
    unsigned char b[80];
    tk_ring_t ring;
    const char *why;

    fill_key(b, sizeof(b), 2);
    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 1);
    CHECK(key_is(&ring.keys[0], b, 80, 1));
}

static void raw_wrong_lengths_are_refused_with_the_byte_count(void)
{
    unsigned char b[200];
    tk_ring_t ring;
    const char *why;

    fill_key(b, sizeof(b), 3);
    CHECK(parse(b, 47, TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "47 bytes is not a whole number of 48-byte keys, nor one 80-byte key");
    CHECK(ring.nkeys == 0);
    /* a 48-byte key with trailing garbage */
    CHECK(parse(b, 49, TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "49 bytes is not a whole number of 48-byte keys, nor one 80-byte key");
    /* two 80-byte keys are not a raw layout (use the text format) */
    CHECK(parse(b, 160, TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "160 bytes is not a whole number of 48-byte keys, nor one 80-byte key");
}

static void empty_file_is_refused(void)
{
    tk_ring_t ring;
    const char *why;
    tk_format_e fmt;

    for (fmt = TK_FORMAT_AUTO; fmt <= TK_FORMAT_HAPROXY; fmt++) {
        CHECK(parse("", 0, fmt, &ring, &why) == APR_EINVAL);
        CHECK_STR(why, "the file is empty");
    }
}

static void oversized_file_is_refused(void)
{
    apr_size_t len = TK_KEYFILE_MAX_SIZE + 48;
    unsigned char *b = apr_pcalloc(unit_pool, len);
    tk_ring_t ring;
    const char *why;

    fill_key(b, len, 4);
    CHECK(parse(b, len, TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "65584 bytes is too large for a key file (at most 65536)");
}

static void more_keys_than_the_limit_are_refused(void)
{
    unsigned char b[(TK_RING_MAX_KEYS + 1) * 48];
    tk_ring_t ring;
    const char *why;
    unsigned int i;

    for (i = 0; i <= TK_RING_MAX_KEYS; i++)
        fill_key(b + 48 * i, 48, i + 1);
    CHECK(parse(b, TK_RING_MAX_KEYS * 48, TK_FORMAT_RAW, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == TK_RING_MAX_KEYS);
    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "key 33: more than 32 keys; keep at most 32 in one file");
    CHECK(ring.nkeys == 0);
}

static void duplicate_key_names_are_refused(void)
{
    unsigned char b[2 * 48];
    tk_ring_t ring;
    const char *why;

    fill_key(b, 48, 1);
    fill_key(b + 48, 48, 2);
    memcpy(b + 48, b, 16);
    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "key 2: the key has the same name as key 1");
}

static void all_zero_keys_are_refused(void)
{
    unsigned char b[48] = {0};
    tk_ring_t ring;
    const char *why;

    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "key 1: the key is all zero bytes; make keys from a random source");
    /* a random name does not make zero secrets acceptable */
    fill_key(b, 16, 1);
    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_EINVAL);
}

static void text_keys_comments_blank_lines_and_crlf(void)
{
    unsigned char k1[48], k2[80];
    tk_ring_t ring;
    const char *why, *text;

    fill_key(k1, sizeof(k1), 5);
    fill_key(k2, sizeof(k2), 6);
    text = apr_psprintf(unit_pool,
                        "# ticket keys\r\n\r\n  %s  \r\n\t# the previous key\r\n%s # old\r\n",
                        b64(k1, 48), b64(k2, 80));
    CHECK(parse_str(text, TK_FORMAT_TEXT, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 2);
    CHECK(key_is(&ring.keys[0], k1, 48, 1));
    CHECK(key_is(&ring.keys[1], k2, 80, 1));
    CHECK(tk_ring_sealing_index(&ring, apr_time_now()) == 0);
    /* the same file without a final newline */
    text = apr_psprintf(unit_pool, "%s\n%s", b64(k1, 48), b64(k2, 80));
    CHECK(parse_str(text, TK_FORMAT_TEXT, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 2);
}

static void text_mixed_key_sizes_keep_their_sizes(void)
{
    unsigned char k1[80], k2[48], k3[80];
    tk_ring_t ring;
    const char *why;

    fill_key(k1, 80, 7);
    fill_key(k2, 48, 8);
    fill_key(k3, 80, 9);
    CHECK(parse_str(
              apr_psprintf(unit_pool, "%s\n%s\n%s\n", b64(k1, 80), b64(k2, 48), b64(k3, 80)),
              TK_FORMAT_TEXT, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 3);
    CHECK(ring.keys[0].size == TK_KEY_80 && ring.keys[1].size == TK_KEY_48 &&
          ring.keys[2].size == TK_KEY_80);
}

static void text_errors_name_the_line(void)
{
    unsigned char k[80];
    tk_ring_t ring;
    const char *why, *good;

    fill_key(k, 80, 10);
    good = b64(k, 48);
    CHECK(parse_str(apr_psprintf(unit_pool, "%s\nAAA*%s\n", good, good + 4), TK_FORMAT_TEXT,
                    &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "line 2: character 4 is not base64");
    CHECK(ring.nkeys == 0);
    /* a key that is cut short (a half-written file) */
    CHECK(parse_str(apr_psprintf(unit_pool, "%.40s\n", good), TK_FORMAT_TEXT, &ring, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "line 1: the key is 30 bytes; a key has 48 or 80");
    CHECK(parse_str(apr_psprintf(unit_pool, "%.63s\n", good), TK_FORMAT_TEXT, &ring, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "line 1: 63 base64 characters is not a multiple of 4");
    CHECK(parse_str(apr_psprintf(unit_pool, "%s\n", b64(k, 47)), TK_FORMAT_TEXT, &ring, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "line 1: the key is 47 bytes; a key has 48 or 80");
    CHECK(parse_str(apr_psprintf(unit_pool, "%s extra\n", good), TK_FORMAT_TEXT, &ring, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "line 1: unexpected text after the key");
    /* padding only at the end */
    CHECK(parse_str("AAAA=AAA", TK_FORMAT_TEXT, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "line 1: character 5 is not base64");
    CHECK(parse_str("# nothing here\n\n", TK_FORMAT_TEXT, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "no key in the file (only blank lines and comments)");
}

static void error_text_never_shows_key_bytes(void)
{
    unsigned char k[48];
    tk_ring_t ring;
    const char *why, *good;

    fill_key(k, 48, 11);
    good = b64(k, 48);
    CHECK(parse_str(apr_psprintf(unit_pool, "%s\n%s\n", good, good), TK_FORMAT_TEXT, &ring,
                    &why) == APR_EINVAL);
    CHECK_STR(why, "line 2: the key has the same name as key 1");
    CHECK(strstr(why, good) == NULL && strstr(why, apr_pstrndup(unit_pool, good, 8)) == NULL);
}

static void text_format_refuses_binary_bytes(void)
{
    unsigned char b[48];
    tk_ring_t ring;
    const char *why;

    fill_key(b, sizeof(b), 12);
    b[0] = 0x80;
    CHECK(parse(b, sizeof(b), TK_FORMAT_TEXT, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "line 1: byte 1 is not text (is this a binary key file? its format is then "
                   "raw or nginx)");
}

static void auto_detects_text_and_raw(void)
{
    unsigned char b[48];
    tk_ring_t ring;
    const char *why;

    fill_key(b, sizeof(b), 13);
    b[5] = 0; /* binary */
    CHECK(parse(b, sizeof(b), TK_FORMAT_AUTO, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 1 && key_is(&ring.keys[0], b, 48, 1));
    b[5] = 1;
    CHECK(parse_str(apr_psprintf(unit_pool, "%s\n", b64(b, 48)), TK_FORMAT_AUTO, &ring, &why) ==
          APR_SUCCESS);
    CHECK(ring.nkeys == 1 && key_is(&ring.keys[0], b, 48, 1));
    /* 48 printable bytes are taken as text, as the rule says, and fail as text */
    CHECK(parse_str("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv", TK_FORMAT_AUTO, &ring,
                    &why) == APR_EINVAL);
    CHECK_STR(why, "line 1: the key is 36 bytes; a key has 48 or 80");
}

static void nginx_48_byte_key_has_aes_before_hmac(void)
{
    unsigned char b[96];
    tk_ring_t ring;
    const char *why;

    fill_key(b, sizeof(b), 14);
    CHECK(parse(b, 48, TK_FORMAT_NGINX, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 1 && key_is(&ring.keys[0], b, 48, 0));
    CHECK(parse(b, 80, TK_FORMAT_NGINX, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 1 && key_is(&ring.keys[0], b, 80, 1));
    CHECK(parse(b, 96, TK_FORMAT_NGINX, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "96 bytes; an nginx key file holds one key of 48 or 80 bytes");
}

static void haproxy_penultimate_key_seals(void)
{
    unsigned char k[3][80];
    tk_ring_t ring;
    const char *why;
    int i;

    for (i = 0; i < 3; i++)
        fill_key(k[i], 80, 20 + (unsigned int)i);
    CHECK(parse_str(apr_psprintf(unit_pool, "%s\n%s\n%s\n", b64(k[0], 48), b64(k[1], 48),
                                 b64(k[2], 80)),
                    TK_FORMAT_HAPROXY, &ring, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 3);
    CHECK(key_is(&ring.keys[0], k[0], 48, 0));
    CHECK(key_is(&ring.keys[2], k[2], 80, 0));
    CHECK(tk_ring_sealing_index(&ring, apr_time_now()) == 1);
    CHECK(parse_str(apr_psprintf(unit_pool, "%s\n", b64(k[0], 48)), TK_FORMAT_HAPROXY, &ring,
                    &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 1 && tk_ring_sealing_index(&ring, apr_time_now()) == 0);
}

static void format_names(void)
{
    tk_format_e fmt;

    CHECK(tk_format_from_name("auto", &fmt) == APR_SUCCESS && fmt == TK_FORMAT_AUTO);
    CHECK(tk_format_from_name("raw", &fmt) == APR_SUCCESS && fmt == TK_FORMAT_RAW);
    CHECK(tk_format_from_name("Text", &fmt) == APR_SUCCESS && fmt == TK_FORMAT_TEXT);
    CHECK(tk_format_from_name("nginx", &fmt) == APR_SUCCESS && fmt == TK_FORMAT_NGINX);
    CHECK(tk_format_from_name("HAPROXY", &fmt) == APR_SUCCESS && fmt == TK_FORMAT_HAPROXY);
    CHECK(tk_format_from_name("pem", &fmt) == APR_EINVAL);
    CHECK_STR(tk_format_name(TK_FORMAT_HAPROXY), "haproxy");
}

static const char *write_temp(const void *data, apr_size_t len, apr_fileperms_t mode)
{
    char *path = apr_pstrdup(unit_pool, "/tmp/tk-unit-XXXXXX");
    apr_file_t *f;
    apr_size_t n = len;

    if (apr_file_mktemp(&f, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL,
                        unit_pool) != APR_SUCCESS)
        return NULL;
    apr_file_write_full(f, data, len, &n);
    apr_file_close(f);
    apr_file_perms_set(path, mode);
    return path;
}

static void load_reads_the_file(void)
{
    unsigned char b[96];
    tk_ring_t ring;
    const char *why = NULL, *path;

    fill_key(b, sizeof(b), 30);
    path = write_temp(b, sizeof(b), APR_FPROT_UREAD | APR_FPROT_UWRITE);
    CHECK(path != NULL);
    CHECK(tk_keyfile_load(unit_pool, path, TK_FORMAT_AUTO, &ring, NULL, &why) == APR_SUCCESS);
    CHECK(ring.nkeys == 2 && key_is(&ring.keys[1], b + 48, 48, 1));
    unlink(path);
}

static void load_errors_say_what_is_wrong(void)
{
    tk_ring_t ring;
    const char *why = NULL;

    CHECK(APR_STATUS_IS_ENOENT(
        tk_keyfile_load(unit_pool, "/nonexistent/tk.key", TK_FORMAT_AUTO, &ring, NULL, &why)));
    CHECK_STR(why, "No such file or directory");
    CHECK(tk_keyfile_load(unit_pool, "/tmp", TK_FORMAT_AUTO, &ring, NULL, &why) == APR_EINVAL);
    CHECK_STR(why, "not a regular file");
}

static void exposed_key_files_are_detected(void)
{
    unsigned char b[48];
    const char *path;
    int exposed = -1;

    fill_key(b, sizeof(b), 31);
    path = write_temp(b, sizeof(b), APR_FPROT_UREAD | APR_FPROT_UWRITE);
    CHECK(tk_keyfile_is_exposed(unit_pool, path, &exposed) == APR_SUCCESS && exposed == 0);
    chmod(path, 0640);
    CHECK(tk_keyfile_is_exposed(unit_pool, path, &exposed) == APR_SUCCESS && exposed == 1);
    chmod(path, 0604);
    CHECK(tk_keyfile_is_exposed(unit_pool, path, &exposed) == APR_SUCCESS && exposed == 1);
    unlink(path);
}

/* --- validity windows (text format) --- */

static const char *key_line(unsigned int seed, tk_key_size_e size, const char *attrs)
{
    unsigned char k[80];

    fill_key(k, sizeof(k), seed);
    return apr_psprintf(unit_pool, "%s %s\n", b64(k, (apr_size_t)size), attrs);
}

static void windows_parse_rfc3339_and_unix_seconds(void)
{
    tk_ring_t ring;
    const char *why;

    CHECK(
        parse_str(apr_pstrcat(unit_pool,
                              key_line(40, TK_KEY_48,
                                       "not-before=2001-09-09T01:46:40Z not-after=2100000000"),
                              NULL),
                  TK_FORMAT_TEXT, &ring, &why) == APR_SUCCESS);
    CHECK(ring.keys[0].not_before == apr_time_from_sec(1000000000));
    CHECK(ring.keys[0].not_after == apr_time_from_sec(2100000000));
}

static void window_errors_are_explained(void)
{
    tk_ring_t ring;
    const char *why;

    CHECK(parse_str(key_line(41, TK_KEY_48, "not-before=2026-13-01T00:00:00Z"), TK_FORMAT_TEXT,
                    &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "line 1: not-before: '2026-13-01T00:00:00Z' is not a time (write "
                   "2026-11-26T20:00:00Z, UTC, or Unix seconds)");
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-after=tomorrow"), TK_FORMAT_TEXT, &ring,
                    &why) == APR_EINVAL);
    CHECK_STR(why, "line 1: not-after: 'tomorrow' is not a time (write 2026-11-26T20:00:00Z, "
                   "UTC, or Unix seconds)");
    /* a local time, not UTC */
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-before=2026-11-26T20:00:00+01:00"),
                    TK_FORMAT_TEXT, &ring, &why) == APR_EINVAL);
    /* found by fuzzing: a year after 9999 cannot be written back as RFC 3339 */
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-after=272717142736"), TK_FORMAT_TEXT, &ring,
                    &why) == APR_EINVAL);
    CHECK_STR(why,
              "line 1: not-after: '272717142736' is not a time (write 2026-11-26T20:00:00Z, "
              "UTC, or Unix seconds)");
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-after=10000-01-01T00:00:00Z"), TK_FORMAT_TEXT,
                    &ring, &why) == APR_EINVAL);
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-after=253402300799"), TK_FORMAT_TEXT, &ring,
                    &why) == APR_SUCCESS);
    CHECK(parse_str(key_line(41, TK_KEY_48, "valid=1"), TK_FORMAT_TEXT, &ring, &why) ==
          APR_EINVAL);
    CHECK_STR(why,
              "line 1: unknown attribute 'valid' (a key takes not-before= and not-after=)");
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-before=2000000000 not-after=1900000000"),
                    TK_FORMAT_TEXT, &ring, &why) == APR_EINVAL);
    CHECK_STR(why, "line 1: not-after is not later than not-before");
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-after=1000000000"), TK_FORMAT_TEXT, &ring,
                    &why) == APR_EINVAL);
    CHECK_STR(why, "no key may seal now: every key is expired (not-after) or not yet valid "
                   "(not-before)");
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-before=4000000000"), TK_FORMAT_TEXT, &ring,
                    &why) == APR_EINVAL);
    /* HAProxy's format has no attributes */
    CHECK(parse_str(key_line(41, TK_KEY_48, "not-before=1000000000"), TK_FORMAT_HAPROXY, &ring,
                    &why) == APR_EINVAL);
    CHECK_STR(why, "line 1: unexpected text after the key");
}

static void the_valid_key_with_the_latest_not_before_seals(void)
{
    apr_time_t now = apr_time_from_sec(2000000000);
    tk_ring_t ring;
    const char *why, *text;

    /* line 1: no window; line 2: valid since t-100; line 3: valid from t+100 */
    text = apr_pstrcat(unit_pool, key_line(42, TK_KEY_48, ""),
                       key_line(43, TK_KEY_80, "not-before=1999999900"),
                       key_line(44, TK_KEY_80, "not-before=2000000100"), NULL);
    CHECK(tk_keyfile_parse(unit_pool, (const unsigned char *)text, strlen(text), TK_FORMAT_TEXT,
                           now, &ring, &why) == APR_SUCCESS);
    CHECK(tk_ring_sealing_index(&ring, now) == 1);
    CHECK(tk_ring_sealing_index(&ring, now + apr_time_from_sec(99)) == 1);
    CHECK(tk_ring_sealing_index(&ring, now + apr_time_from_sec(100)) == 2);
    /* a future key already opens (a peer with a clock ahead may have sealed with it) */
    {
        int sealing = -1;
        CHECK(tk_ring_find(&ring, ring.keys[2].name, now, &sealing) == &ring.keys[2] &&
              sealing == 0);
    }
}

static void an_expired_key_no_longer_opens_nor_seals(void)
{
    apr_time_t now = apr_time_from_sec(2000000000);
    tk_ring_t ring;
    const char *why, *text;
    int sealing;

    text = apr_pstrcat(unit_pool, key_line(45, TK_KEY_48, "not-after=2000000010"),
                       key_line(46, TK_KEY_48, "not-before=2000000005"), NULL);
    CHECK(tk_keyfile_parse(unit_pool, (const unsigned char *)text, strlen(text), TK_FORMAT_TEXT,
                           now, &ring, &why) == APR_SUCCESS);
    CHECK(tk_ring_sealing_index(&ring, now) == 0);
    CHECK(tk_ring_find(&ring, ring.keys[0].name, now + apr_time_from_sec(9), &sealing) != NULL);
    CHECK(tk_ring_find(&ring, ring.keys[0].name, now + apr_time_from_sec(10), &sealing) ==
          NULL);
    CHECK(tk_ring_sealing_index(&ring, now + apr_time_from_sec(10)) == 1);
}

/* --- writing key files --- */

static int keys_equal(const tk_key_t *a, const tk_key_t *b)
{
    return a->size == b->size && memcmp(a->name, b->name, TK_KEY_NAME_LEN) == 0 &&
           memcmp(a->hmac_key, b->hmac_key, TK_KEY_SECRET_MAX) == 0 &&
           memcmp(a->aes_key, b->aes_key, TK_KEY_SECRET_MAX) == 0 &&
           a->not_before == b->not_before && a->not_after == b->not_after;
}

static void text_serialization_round_trips_with_windows(void)
{
    apr_time_t now = apr_time_now();
    tk_ring_t ring, back;
    unsigned char *data;
    apr_size_t len;
    const char *why, *text;

    text = apr_pstrcat(unit_pool, key_line(47, TK_KEY_80, "not-before=1000000000"),
                       key_line(48, TK_KEY_48, "not-after=4000000000"), NULL);
    CHECK(parse_str(text, TK_FORMAT_TEXT, &ring, &why) == APR_SUCCESS);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_TEXT, &data, &len, &why) ==
          APR_SUCCESS);
    CHECK(memmem(data, len, "not-before=2001-09-09T01:46:40Z", 31) != NULL);
    CHECK(tk_keyfile_parse(unit_pool, data, len, TK_FORMAT_AUTO, now, &back, &why) ==
          APR_SUCCESS);
    CHECK(back.nkeys == 2 && keys_equal(&back.keys[0], &ring.keys[0]) &&
          keys_equal(&back.keys[1], &ring.keys[1]));
}

static void raw_serialization_is_mod_ssl_layout(void)
{
    unsigned char b[96];
    tk_ring_t ring;
    unsigned char *data;
    apr_size_t len;
    const char *why;

    fill_key(b, 48, 49);
    fill_key(b + 48, 48, 50);
    CHECK(parse(b, sizeof(b), TK_FORMAT_RAW, &ring, &why) == APR_SUCCESS);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_RAW, &data, &len, &why) ==
          APR_SUCCESS);
    CHECK(len == sizeof(b) && memcmp(data, b, len) == 0);
    ring.keys[1].not_after = apr_time_from_sec(4000000000);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_RAW, &data, &len, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "a raw file holds neither validity windows nor more than one 80-byte key; "
                   "use the text format");
}

static void nginx_serialization_writes_the_bytes_nginx_reads(void)
{
    unsigned char b[80];
    tk_key_t keys[2];
    tk_ring_t ring;
    unsigned char *data;
    apr_size_t len;
    const char *why;

    fill_key(b, sizeof(b), 51);
    CHECK(parse(b, 48, TK_FORMAT_NGINX, &ring, &why) == APR_SUCCESS);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_NGINX, &data, &len, &why) ==
          APR_SUCCESS);
    CHECK(len == 48 && memcmp(data, b, len) == 0);
    CHECK(parse(b, 80, TK_FORMAT_NGINX, &ring, &why) == APR_SUCCESS);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_NGINX, &data, &len, &why) ==
          APR_SUCCESS);
    CHECK(len == 80 && memcmp(data, b, len) == 0);
    /* nginx takes one key a file: a second key, or a window, has no place in it */
    keys[0] = make_key(52, TK_KEY_48);
    keys[1] = make_key(53, TK_KEY_48);
    ring_of(&ring, keys, 2);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_NGINX, &data, &len, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "an nginx key file holds exactly one key, without validity windows");
    keys[0].not_after = apr_time_from_sec(4000000000);
    ring_of(&ring, keys, 1);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_NGINX, &data, &len, &why) ==
          APR_EINVAL);
}

static void haproxy_serialization_keeps_order_and_layout(void)
{
    unsigned char k[3][48];
    tk_ring_t ring, back;
    unsigned char *data;
    apr_size_t len;
    const char *why, *text;
    tk_key_t big = make_key(54, TK_KEY_80);
    int i;

    for (i = 0; i < 3; i++)
        fill_key(k[i], 48, 55 + (unsigned int)i);
    text = apr_psprintf(unit_pool, "%s\n%s\n%s\n", b64(k[0], 48), b64(k[1], 48), b64(k[2], 48));
    CHECK(parse_str(text, TK_FORMAT_HAPROXY, &ring, &why) == APR_SUCCESS);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_HAPROXY, &data, &len, &why) ==
          APR_SUCCESS);
    CHECK(len == strlen(text) && memcmp(data, text, len) == 0);
    CHECK(parse(data, len, TK_FORMAT_HAPROXY, &back, &why) == APR_SUCCESS);
    CHECK(tk_ring_sealing_index(&back, apr_time_now()) == 1);
    ring.keys[2].not_before = apr_time_from_sec(1000000000);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_HAPROXY, &data, &len, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "a HAProxy file holds no validity windows");
    ring.keys[2].not_before = TK_TIME_NONE;
    CHECK(tk_ring_add(&ring, &big) == APR_SUCCESS);
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_HAPROXY, &data, &len, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "a HAProxy file holds keys of one size only");
    CHECK(tk_keyfile_serialize(unit_pool, &ring, TK_FORMAT_AUTO, &data, &len, &why) ==
          APR_EINVAL);
}

static void atomic_write_replaces_the_file_with_mode_0600(void)
{
    const char *dir = "/tmp/tk-unit-atomic", *path = "/tmp/tk-unit-atomic/keys";
    struct stat before, after;
    const char *why;
    apr_dir_t *d;
    apr_finfo_t entry;
    int entries = 0;

    apr_dir_make_recursive(dir, APR_OS_DEFAULT, unit_pool);
    CHECK(tk_keyfile_write_atomic(unit_pool, path, (const unsigned char *)"one\n", 4, &why) ==
          APR_SUCCESS);
    CHECK(stat(path, &before) == 0 && (before.st_mode & 0777) == 0600);
    CHECK(tk_keyfile_write_atomic(unit_pool, path, (const unsigned char *)"two\n", 4, &why) ==
          APR_SUCCESS);
    CHECK(stat(path, &after) == 0 && (after.st_mode & 0777) == 0600);
    /* a rename put a new file in place: readers never see a partly written one */
    CHECK(after.st_ino != before.st_ino);
    /* no temporary file is left behind */
    CHECK(apr_dir_open(&d, dir, unit_pool) == APR_SUCCESS);
    while (apr_dir_read(&entry, APR_FINFO_NAME, d) == APR_SUCCESS)
        entries += entry.name[0] != '.' || strlen(entry.name) > 2;
    apr_dir_close(d);
    CHECK(entries == 1);
    CHECK(tk_keyfile_write_atomic(unit_pool, "/nonexistent/dir/keys",
                                  (const unsigned char *)"x", 1, &why) != APR_SUCCESS);
    CHECK(strncmp(why, "cannot create a temporary file in /nonexistent/dir: ", 52) == 0);
    unlink(path);
    rmdir(dir);
}

void keyfile_tests(void)
{
    RUN(raw_single_48_byte_key_is_mod_ssl_layout);
    RUN(raw_concatenated_48_byte_keys_first_seals);
    RUN(raw_single_80_byte_key_is_openssl_layout);
    RUN(raw_wrong_lengths_are_refused_with_the_byte_count);
    RUN(empty_file_is_refused);
    RUN(oversized_file_is_refused);
    RUN(more_keys_than_the_limit_are_refused);
    RUN(duplicate_key_names_are_refused);
    RUN(all_zero_keys_are_refused);
    RUN(text_keys_comments_blank_lines_and_crlf);
    RUN(text_mixed_key_sizes_keep_their_sizes);
    RUN(text_errors_name_the_line);
    RUN(error_text_never_shows_key_bytes);
    RUN(text_format_refuses_binary_bytes);
    RUN(auto_detects_text_and_raw);
    RUN(nginx_48_byte_key_has_aes_before_hmac);
    RUN(haproxy_penultimate_key_seals);
    RUN(format_names);
    RUN(load_reads_the_file);
    RUN(load_errors_say_what_is_wrong);
    RUN(exposed_key_files_are_detected);
    RUN(windows_parse_rfc3339_and_unix_seconds);
    RUN(window_errors_are_explained);
    RUN(the_valid_key_with_the_latest_not_before_seals);
    RUN(an_expired_key_no_longer_opens_nor_seals);
    RUN(text_serialization_round_trips_with_windows);
    RUN(raw_serialization_is_mod_ssl_layout);
    RUN(nginx_serialization_writes_the_bytes_nginx_reads);
    RUN(haproxy_serialization_keeps_order_and_layout);
    RUN(atomic_write_replaces_the_file_with_mode_0600);
}
