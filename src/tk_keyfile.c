/* SPDX-License-Identifier: Apache-2.0 */
#include "tk_keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* Where the HMAC and AES keys sit after the 16-byte name. */
typedef enum { LAYOUT_NAME_HMAC_AES, LAYOUT_NAME_AES_HMAC } key_layout_e;

static const char *const format_names[] = {
    [TK_FORMAT_AUTO] = "auto",   [TK_FORMAT_RAW] = "raw",         [TK_FORMAT_TEXT] = "text",
    [TK_FORMAT_NGINX] = "nginx", [TK_FORMAT_HAPROXY] = "haproxy",
};

apr_status_t tk_format_from_name(const char *name, tk_format_e *fmt)
{
    unsigned int i;

    for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
        if (strcasecmp(name, format_names[i]) == 0) {
            *fmt = (tk_format_e)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

const char *tk_format_name(tk_format_e fmt)
{
    return format_names[fmt];
}

tk_format_e tk_format_detect(const unsigned char *data, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = data[i];
        if (!(c >= 0x20 && c < 0x7f) && c != '\t' && c != '\r' && c != '\n')
            return TK_FORMAT_RAW;
    }
    return TK_FORMAT_TEXT;
}

static int is_all_zero(const unsigned char *b, apr_size_t len)
{
    unsigned char acc = 0;

    while (len--)
        acc |= *b++;
    return acc == 0;
}

/* Builds a key from its bytes in a file; len is 48 or 80. */
static void key_from_bytes(tk_key_t *key, const unsigned char *b, apr_size_t len,
                           key_layout_e layout)
{
    unsigned int secret;

    memset(key, 0, sizeof(*key));
    key->size = len == TK_KEY_80 ? TK_KEY_80 : TK_KEY_48;
    secret = tk_key_secret_len(key->size);
    memcpy(key->name, b, TK_KEY_NAME_LEN);
    b += TK_KEY_NAME_LEN;
    if (layout == LAYOUT_NAME_HMAC_AES) {
        memcpy(key->hmac_key, b, secret);
        memcpy(key->aes_key, b + secret, secret);
    } else {
        memcpy(key->aes_key, b, secret);
        memcpy(key->hmac_key, b + secret, secret);
    }
}

/* Adds a key to the ring after the checks every format shares.  where names the key's
 * place in the file ("line 3", "key 2"). */
static apr_status_t add_key(apr_pool_t *p, tk_ring_t *ring, const tk_key_t *key,
                            const char *where, const char **why)
{
    unsigned int i, secret = tk_key_secret_len(key->size);

    if (is_all_zero(key->hmac_key, secret) || is_all_zero(key->aes_key, secret)) {
        *why = apr_psprintf(p, "%s: the key is all zero bytes; make keys from a random source",
                            where);
        return APR_EINVAL;
    }
    for (i = 0; i < ring->nkeys; i++) {
        if (memcmp(ring->keys[i].name, key->name, TK_KEY_NAME_LEN) == 0) {
            *why = apr_psprintf(p, "%s: the key has the same name as key %u", where, i + 1);
            return APR_EINVAL;
        }
    }
    if (tk_ring_add(ring, key) != APR_SUCCESS) {
        *why = apr_psprintf(p, "%s: more than %d keys; keep at most %d in one file", where,
                            TK_RING_MAX_KEYS, TK_RING_MAX_KEYS);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static apr_status_t parse_raw(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                              tk_ring_t *ring, const char **why)
{
    apr_size_t key_len, off;
    tk_key_t key;
    apr_status_t rv = APR_SUCCESS;

    if (len == TK_KEY_80) {
        key_len = TK_KEY_80;
    } else if (len % TK_KEY_48 == 0) {
        key_len = TK_KEY_48;
    } else {
        *why = apr_psprintf(p,
                            "%" APR_SIZE_T_FMT " bytes is not a whole number of 48-byte "
                            "keys, nor one 80-byte key",
                            len);
        return APR_EINVAL;
    }
    for (off = 0; off < len && rv == APR_SUCCESS; off += key_len) {
        key_from_bytes(&key, data + off, key_len, LAYOUT_NAME_HMAC_AES);
        rv = add_key(p, ring, &key, apr_psprintf(p, "key %u", ring->nkeys + 1), why);
    }
    OPENSSL_cleanse(&key, sizeof(key));
    return rv;
}

static apr_status_t parse_nginx(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                                tk_ring_t *ring, const char **why)
{
    tk_key_t key;
    apr_status_t rv;

    if (len != TK_KEY_48 && len != TK_KEY_80) {
        *why = apr_psprintf(p,
                            "%" APR_SIZE_T_FMT " bytes; an nginx key file holds one key "
                            "of 48 or 80 bytes",
                            len);
        return APR_EINVAL;
    }
    /* nginx keeps AES before HMAC in 48-byte keys, but HMAC first in 80-byte keys. */
    key_from_bytes(&key, data, len,
                   len == TK_KEY_48 ? LAYOUT_NAME_AES_HMAC : LAYOUT_NAME_HMAC_AES);
    rv = add_key(p, ring, &key, "key 1", why);
    OPENSSL_cleanse(&key, sizeof(key));
    return rv;
}

static int is_base64_char(unsigned char c)
{
    return apr_isalnum(c) || c == '+' || c == '/';
}

/* Decodes one strict base64 token (standard alphabet, padded) of a key into out, which
 * holds TK_KEY_80 bytes.  Sets *out_len; fails with a reason for anything else. */
static apr_status_t decode_key_token(apr_pool_t *p, const char *tok, apr_size_t tok_len,
                                     unsigned char *out, apr_size_t *out_len, const char **why)
{
    apr_size_t i, pad = 0, decoded_len;
    char buf[4 * ((TK_KEY_80 + 2) / 3) + 1];
    int n;

    for (i = 0; i < tok_len; i++) {
        unsigned char c = (unsigned char)tok[i];

        if (c == '=' && i + 2 >= tok_len && tok_len % 4 == 0) {
            pad++;
        } else if (!is_base64_char(c) || pad) {
            *why = apr_psprintf(p, "character %" APR_SIZE_T_FMT " is not base64", i + 1);
            return APR_EINVAL;
        }
    }
    if (tok_len % 4 != 0) {
        *why = apr_psprintf(p, "%" APR_SIZE_T_FMT " base64 characters is not a multiple of 4",
                            tok_len);
        return APR_EINVAL;
    }
    decoded_len = tok_len / 4 * 3 - pad;
    if (decoded_len != TK_KEY_48 && decoded_len != TK_KEY_80) {
        *why = apr_psprintf(p, "the key is %" APR_SIZE_T_FMT " bytes; a key has 48 or 80",
                            decoded_len);
        return APR_EINVAL;
    }
    memcpy(buf, tok, tok_len);
    buf[tok_len] = '\0';
    n = apr_base64_decode_binary(out, buf);
    OPENSSL_cleanse(buf, sizeof(buf));
    *out_len = (apr_size_t)n;
    return APR_SUCCESS;
}

/* 9999-12-31T23:59:59Z: RFC 3339 years have four digits, so no later time can be
 * written back into a key file. */
#define LATEST_TIME 253402300799LL

/* The RFC 3339 UTC form a key file takes: 'd' stands for a digit, anything else for
 * itself. */
static const char time_form[] = "dddd-dd-ddTdd:dd:ddZ";
#define SHAPE_REASON                                                                           \
    "it is neither Unix seconds nor exactly YYYY-MM-DDThh:mm:ssZ, every digit written"

/* The n digits at s as a number; the caller has checked that they are digits. */
static int digits_value(const char *s, apr_size_t n)
{
    int v = 0;

    while (n--)
        v = v * 10 + (*s++ - '0');
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* Parses the len bytes at text (no NUL needed) as a time: exactly the documented RFC
 * 3339 UTC form, or Unix seconds.  A time must round-trip: what is taken is what would be
 * written back, so a date that does not exist (February 30) is refused rather than moved
 * into the next month as strptime() and timegm() would.  Returns NULL and sets *t, or
 * says why the text is not a time; the reason never quotes the text, which may be
 * anything in a key file (a key pasted in the wrong place included). */
static const char *time_parse(const char *text, apr_size_t len, apr_time_t *t)
{
    struct tm tm, back;
    time_t secs;
    apr_size_t i, ndigits = 0;
    int year, month, day, hour, minute, second;

    while (ndigits < len && apr_isdigit(text[ndigits]))
        ndigits++;
    if (len > 0 && ndigits == len) {
        long long n = 0;

        if (len > 1 && text[0] == '0')
            return "Unix seconds are written without leading zeros";
        if (len > 12)
            return "it is later than 9999-12-31T23:59:59Z";
        for (i = 0; i < len; i++)
            n = n * 10 + (text[i] - '0');
        if (n > LATEST_TIME)
            return "it is later than 9999-12-31T23:59:59Z";
        *t = apr_time_from_sec(n);
        return NULL;
    }
    if (len != sizeof(time_form) - 1)
        return SHAPE_REASON;
    for (i = 0; i < len; i++) {
        if (time_form[i] == 'd' ? !apr_isdigit(text[i]) : text[i] != time_form[i])
            return SHAPE_REASON;
    }
    year = digits_value(text, 4);
    month = digits_value(text + 5, 2);
    day = digits_value(text + 8, 2);
    hour = digits_value(text + 11, 2);
    minute = digits_value(text + 14, 2);
    second = digits_value(text + 17, 2);
    if (month < 1 || month > 12)
        return "the month is not 01 to 12";
    if (day < 1 || day > days_in_month(year, month))
        return "that day does not exist in that month";
    if (hour > 23)
        return "the hour is not 00 to 23";
    if (minute > 59)
        return "the minute is not 00 to 59";
    if (second > 59)
        return "the second is not 00 to 59 (leap seconds are not taken)";
    if (year < 1970)
        return "it is earlier than 1970-01-01T00:00:00Z";
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    secs = timegm(&tm);
    /* The checks above leave nothing for timegm() to normalise; this says so. */
    if (secs == (time_t)-1 || gmtime_r(&secs, &back) == NULL || back.tm_year != tm.tm_year ||
        back.tm_mon != tm.tm_mon || back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour ||
        back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
        return "that time does not exist";
    *t = apr_time_from_sec((apr_time_t)secs);
    return NULL;
}

apr_status_t tk_time_parse(const char *text, apr_time_t *t)
{
    return time_parse(text, strlen(text), t) ? APR_EINVAL : APR_SUCCESS;
}

/* Parses the attributes after a key on a text line (up to a '#' comment).  Nothing of
 * the line is copied: a stray token may be key material (two keys on one line), which
 * must reach neither an error message nor pool memory. */
static apr_status_t parse_attributes(apr_pool_t *p, const char *s, const char *end,
                                     tk_key_t *key, const char *where, const char **why)
{
    while (s < end) {
        const char *tok, *eq, *name, *reason;
        apr_time_t *bound;

        while (s < end && (*s == ' ' || *s == '\t'))
            s++;
        if (s == end || *s == '#')
            break;
        tok = s;
        while (s < end && *s != ' ' && *s != '\t')
            s++;
        eq = memchr(tok, '=', (apr_size_t)(s - tok));
        if (eq == NULL) {
            *why = apr_psprintf(p, "%s: unexpected text after the key", where);
            return APR_EINVAL;
        }
        if (eq - tok == 10 && memcmp(tok, "not-before", 10) == 0) {
            name = "not-before";
            bound = &key->not_before;
        } else if (eq - tok == 9 && memcmp(tok, "not-after", 9) == 0) {
            name = "not-after";
            bound = &key->not_after;
        } else {
            /* Not quoted: base64 has '=', so a second key on the line lands here. */
            *why = apr_psprintf(p,
                                "%s: unknown attribute after the key (a line holds one key, "
                                "then only not-before=TIME and not-after=TIME)",
                                where);
            return APR_EINVAL;
        }
        reason = time_parse(eq + 1, (apr_size_t)(s - eq - 1), bound);
        if (reason == NULL && *bound <= 0)
            reason = "1970-01-01T00:00:00Z is no bound, leave the attribute out";
        if (reason) {
            *why = apr_psprintf(p,
                                "%s: %s is not a time: %s (write 2026-11-26T20:00:00Z, UTC, "
                                "or Unix seconds)",
                                where, name, reason);
            return APR_EINVAL;
        }
    }
    if (key->not_after != TK_TIME_NONE && key->not_after <= key->not_before) {
        *why = apr_psprintf(p, "%s: not-after is not later than not-before", where);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Whether what follows a key on its line is only blanks or a '#' comment. */
static int rest_is_comment(const char *s, const char *end)
{
    while (s < end && is_blank(*s))
        s++;
    return s == end || *s == '#';
}

/* Parses the line-based formats: text (name|HMAC|AES, with attributes) and haproxy
 * (name|AES|HMAC, without). */
static apr_status_t parse_lines(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                                tk_format_e fmt, tk_ring_t *ring, const char **why)
{
    const char *s = (const char *)data, *end = s + len;
    key_layout_e layout =
        fmt == TK_FORMAT_HAPROXY ? LAYOUT_NAME_AES_HMAC : LAYOUT_NAME_HMAC_AES;
    unsigned int line_no = 0;
    unsigned char raw[TK_KEY_80];
    apr_size_t raw_len = 0;
    tk_key_t key;
    apr_status_t rv = APR_SUCCESS;

    memset(&key, 0, sizeof(key));
    while (s < end && rv == APR_SUCCESS) {
        const char *eol = memchr(s, '\n', (apr_size_t)(end - s));
        const char *line_end = eol ? eol : end, *tok, *q;
        const char *where = apr_psprintf(p, "line %u", ++line_no);

        for (q = s; q < line_end; q++) {
            unsigned char c = (unsigned char)*q;
            if (!(c >= 0x20 && c < 0x7f) && c != '\t' && !(c == '\r' && q + 1 == line_end)) {
                *why = apr_psprintf(p,
                                    "%s: byte %u is not text (is this a binary key file? "
                                    "its format is then raw or nginx)",
                                    where, (unsigned int)(q - s) + 1);
                rv = APR_EINVAL;
                break;
            }
        }
        if (rv != APR_SUCCESS)
            break;
        if (line_end > s && line_end[-1] == '\r')
            line_end--;
        while (s < line_end && is_blank(*s))
            s++;
        tok = s;
        while (s < line_end && !is_blank(*s))
            s++;
        if (tok < s && *tok != '#') {
            rv = decode_key_token(p, tok, (apr_size_t)(s - tok), raw, &raw_len, why);
            if (rv != APR_SUCCESS) {
                *why = apr_psprintf(p, "%s: %s", where, *why);
            } else {
                key_from_bytes(&key, raw, raw_len, layout);
                if (fmt == TK_FORMAT_TEXT) {
                    rv = parse_attributes(p, s, line_end, &key, where, why);
                } else if (!rest_is_comment(s, line_end)) {
                    *why = apr_psprintf(p, "%s: unexpected text after the key", where);
                    rv = APR_EINVAL;
                }
                if (rv == APR_SUCCESS)
                    rv = add_key(p, ring, &key, where, why);
            }
        }
        s = eol ? eol + 1 : end;
    }
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(&key, sizeof(key));
    if (rv == APR_SUCCESS && ring->nkeys == 0) {
        *why = "no key in the file (only blank lines and comments)";
        rv = APR_EINVAL;
    }
    return rv;
}

apr_status_t tk_keyfile_parse(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                              tk_format_e fmt, apr_time_t now, tk_ring_t *ring,
                              const char **why)
{
    apr_status_t rv;

    tk_ring_wipe(ring);
    if (len == 0) {
        *why = "the file is empty";
        return APR_EINVAL;
    }
    if (len > TK_KEYFILE_MAX_SIZE) {
        *why = apr_psprintf(p,
                            "%" APR_SIZE_T_FMT " bytes is too large for a key file (at "
                            "most %d)",
                            len, TK_KEYFILE_MAX_SIZE);
        return APR_EINVAL;
    }
    if (fmt == TK_FORMAT_AUTO)
        fmt = tk_format_detect(data, len);

    switch (fmt) {
    case TK_FORMAT_RAW:
        rv = parse_raw(p, data, len, ring, why);
        break;
    case TK_FORMAT_NGINX:
        rv = parse_nginx(p, data, len, ring, why);
        break;
    default:
        rv = parse_lines(p, data, len, fmt, ring, why);
        break;
    }
    /* HAProxy seals with the penultimate key, so that a key appended to the file is known
     * to every server before any of them seals with it. */
    if (rv == APR_SUCCESS && fmt == TK_FORMAT_HAPROXY && ring->nkeys >= 2)
        ring->preferred = ring->nkeys - 2;
    if (rv == APR_SUCCESS && tk_ring_sealing_index(ring, now) < 0) {
        *why = "no key may seal now: every key is expired (not-after) or not yet valid "
               "(not-before)";
        rv = APR_EINVAL;
    }
    if (rv != APR_SUCCESS)
        tk_ring_wipe(ring);
    return rv;
}

static apr_status_t wipe_buffer(void *buf)
{
    apr_size_t *len = buf;

    OPENSSL_cleanse(len + 1, *len);
    return APR_SUCCESS;
}

/* A buffer of len bytes from p that is wiped when p is cleared. */
static unsigned char *wiped_buffer(apr_pool_t *p, apr_size_t len)
{
    apr_size_t *buf = apr_palloc(p, sizeof(apr_size_t) + len);

    *buf = len;
    apr_pool_cleanup_register(p, buf, wipe_buffer, apr_pool_cleanup_null);
    return (unsigned char *)(buf + 1);
}

static const char *error_text(apr_pool_t *p, apr_status_t rv)
{
    char err[120];

    return apr_pstrdup(p, apr_strerror(rv, err, sizeof(err)));
}

/* What a file that is not regular is, for the message that refuses it. */
static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

static apr_status_t not_regular(apr_pool_t *p, mode_t mode, const char **why)
{
    *why = apr_psprintf(p,
                        "the path is %s; a key file must be a regular file (or a symbolic "
                        "link to one)",
                        file_kind(mode));
    return APR_EINVAL;
}

apr_status_t tk_keyfile_read(apr_pool_t *p, const char *path, unsigned char **data,
                             apr_size_t *len, const char **why)
{
    struct stat st;
    apr_size_t want, got = 0;
    apr_status_t rv;
    int fd;

    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, and hang
     * httpd -t, startup or the watcher; the type is checked on the descriptor itself, so
     * the file cannot be swapped between the check and the read.  Symbolic links are
     * followed: secret stores mount key files that way. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        /* A socket cannot be opened at all (ENXIO): say what it is rather than that. */
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
            return not_regular(p, st.st_mode, why);
        *why = error_text(p, rv);
        return rv;
    }
    if (fstat(fd, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        close(fd);
        *why = error_text(p, rv);
        return rv;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return not_regular(p, st.st_mode, why);
    }
    if (st.st_size > TK_KEYFILE_MAX_SIZE) {
        close(fd);
        *why = apr_psprintf(p,
                            "%" APR_OFF_T_FMT " bytes is too large for a key file (at most "
                            "%d)",
                            (apr_off_t)st.st_size, TK_KEYFILE_MAX_SIZE);
        return APR_EINVAL;
    }
    /* One byte more than the size, to notice a file that grew while being read.  Read
     * straight into a buffer wiped with its pool: no copy of the key bytes elsewhere. */
    want = (apr_size_t)st.st_size + 1;
    *data = wiped_buffer(p, want);
    while (got < want) {
        ssize_t n = read(fd, *data + got, want - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rv = APR_FROM_OS_ERROR(errno);
            close(fd);
            *why = error_text(p, rv);
            return rv;
        }
        if (n == 0)
            break;
        got += (apr_size_t)n;
    }
    close(fd);
    *len = got;
    if (got != (apr_size_t)st.st_size) {
        *why = "the file changed while it was read";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

void tk_keyfile_digest(const unsigned char *data, apr_size_t len,
                       unsigned char digest[TK_DIGEST_LEN])
{
    unsigned int n = 0;

    if (EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) != 1)
        memset(digest, 0, TK_DIGEST_LEN);
}

apr_status_t tk_keyfile_load(apr_pool_t *p, const char *path, tk_format_e fmt, tk_ring_t *ring,
                             unsigned char *digest, const char **why)
{
    unsigned char *data;
    apr_size_t len;
    apr_status_t rv;

    tk_ring_wipe(ring);
    rv = tk_keyfile_read(p, path, &data, &len, why);
    if (rv != APR_SUCCESS)
        return rv;
    if (digest)
        tk_keyfile_digest(data, len, digest);
    return tk_keyfile_parse(p, data, len, fmt, apr_time_now(), ring, why);
}

apr_status_t tk_keyfile_is_exposed(apr_pool_t *p, const char *path, int *exposed)
{
    apr_finfo_t finfo;
    apr_status_t rv = apr_stat(&finfo, path, APR_FINFO_PROT, p);

    if (rv == APR_SUCCESS || rv == APR_INCOMPLETE)
        *exposed = (finfo.protection & (APR_GREAD | APR_GWRITE | APR_WREAD | APR_WWRITE)) != 0;
    return rv == APR_INCOMPLETE ? APR_SUCCESS : rv;
}

apr_status_t tk_keyfile_owner(apr_pool_t *p, const char *path, apr_uid_t *uid)
{
    apr_finfo_t finfo;
    apr_status_t rv = apr_stat(&finfo, path, APR_FINFO_USER, p);

    if (rv == APR_INCOMPLETE && (finfo.valid & APR_FINFO_USER))
        rv = APR_SUCCESS;
    if (rv == APR_SUCCESS)
        *uid = finfo.user;
    return rv;
}

/* The bytes of a key in a file, in the given layout (the inverse of key_from_bytes()). */
static apr_size_t key_to_bytes(const tk_key_t *key, unsigned char *out, key_layout_e layout)
{
    unsigned int secret = tk_key_secret_len(key->size);
    const unsigned char *first = layout == LAYOUT_NAME_HMAC_AES ? key->hmac_key : key->aes_key;
    const unsigned char *second = layout == LAYOUT_NAME_HMAC_AES ? key->aes_key : key->hmac_key;

    memcpy(out, key->name, TK_KEY_NAME_LEN);
    memcpy(out + TK_KEY_NAME_LEN, first, secret);
    memcpy(out + TK_KEY_NAME_LEN + secret, second, secret);
    return (apr_size_t)key->size;
}

/* Writes t as RFC 3339 UTC. */
static void time_format(apr_time_t t, char out[TK_TIME_TEXT_LEN])
{
    time_t secs = (time_t)apr_time_sec(t);
    struct tm tm;

    strftime(out, TK_TIME_TEXT_LEN, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&secs, &tm));
}

void tk_key_describe(const tk_ring_t *ring, unsigned int i, apr_time_t now, tk_key_text_t *out)
{
    const tk_key_t *key = &ring->keys[i];

    out->cipher = key->size == TK_KEY_80 ? "AES-256" : "AES-128";
    strcpy(out->not_before, "-");
    strcpy(out->not_after, "-");
    if (key->not_before)
        time_format(key->not_before, out->not_before);
    if (key->not_after)
        time_format(key->not_after, out->not_after);
    if (tk_ring_sealing_index(ring, now) == (int)i)
        out->state = "seals";
    else if (!tk_key_can_open(key, now))
        out->state = "expired";
    else if (key->not_before > now)
        out->state = "opens; seals from its not-before";
    else
        out->state = "opens";
}

/* Whether a key of the ring has a validity window, which only the text format can hold. */
static int ring_has_windows(const tk_ring_t *ring)
{
    unsigned int i;

    for (i = 0; i < ring->nkeys; i++) {
        if (ring->keys[i].not_before || ring->keys[i].not_after)
            return 1;
    }
    return 0;
}

/* Checks that the ring fits a format's limits before any byte is written. */
static apr_status_t check_serializable(const tk_ring_t *ring, tk_format_e fmt, const char **why)
{
    unsigned int i;

    switch (fmt) {
    case TK_FORMAT_RAW:
        for (i = 0; i < ring->nkeys; i++) {
            if (ring->keys[i].not_before || ring->keys[i].not_after ||
                (ring->keys[i].size == TK_KEY_80 && ring->nkeys > 1)) {
                *why = "a raw file holds neither validity windows nor more than one 80-byte "
                       "key; use the text format";
                return APR_EINVAL;
            }
        }
        return APR_SUCCESS;
    case TK_FORMAT_TEXT:
        return APR_SUCCESS;
    case TK_FORMAT_NGINX:
        if (ring->nkeys != 1 || ring_has_windows(ring)) {
            *why = "an nginx key file holds exactly one key, without validity windows";
            return APR_EINVAL;
        }
        return APR_SUCCESS;
    case TK_FORMAT_HAPROXY:
        if (ring_has_windows(ring)) {
            *why = "a HAProxy file holds no validity windows";
            return APR_EINVAL;
        }
        /* HAProxy refuses a file whose keys differ in size ("wrong sized key"). */
        for (i = 1; i < ring->nkeys; i++) {
            if (ring->keys[i].size != ring->keys[0].size) {
                *why = "a HAProxy file holds keys of one size only";
                return APR_EINVAL;
            }
        }
        return APR_SUCCESS;
    default:
        *why = "keys are written in the raw, text, nginx or haproxy format only";
        return APR_EINVAL;
    }
}

apr_status_t tk_keyfile_serialize(apr_pool_t *p, const tk_ring_t *ring, tk_format_e fmt,
                                  unsigned char **data, apr_size_t *len, const char **why)
{
    /* per key: base64 of 80 bytes, two attributes, separators */
    apr_size_t cap = ring->nkeys * 200 + 64, off = 0;
    unsigned char bytes[TK_KEY_80];
    unsigned int i;
    char t[TK_TIME_TEXT_LEN];
    apr_status_t rv = check_serializable(ring, fmt, why);

    if (rv != APR_SUCCESS)
        return rv;
    *data = wiped_buffer(p, cap);
    for (i = 0; i < ring->nkeys; i++) {
        const tk_key_t *key = &ring->keys[i];
        apr_size_t n;

        switch (fmt) {
        case TK_FORMAT_RAW:
            off += key_to_bytes(key, *data + off, LAYOUT_NAME_HMAC_AES);
            break;
        case TK_FORMAT_NGINX:
            /* nginx keeps AES before HMAC in 48-byte keys, but HMAC first in 80-byte keys. */
            off += key_to_bytes(key, *data + off,
                                key->size == TK_KEY_48 ? LAYOUT_NAME_AES_HMAC
                                                       : LAYOUT_NAME_HMAC_AES);
            break;
        default:
            n = key_to_bytes(key, bytes,
                             fmt == TK_FORMAT_HAPROXY ? LAYOUT_NAME_AES_HMAC
                                                      : LAYOUT_NAME_HMAC_AES);
            off += (apr_size_t)apr_base64_encode_binary((char *)*data + off, bytes, (int)n) - 1;
            if (key->not_before) {
                time_format(key->not_before, t);
                off += (apr_size_t)apr_snprintf((char *)*data + off, cap - off,
                                                " not-before=%s", t);
            }
            if (key->not_after) {
                time_format(key->not_after, t);
                off += (apr_size_t)apr_snprintf((char *)*data + off, cap - off, " not-after=%s",
                                                t);
            }
            (*data)[off++] = '\n';
            break;
        }
    }
    OPENSSL_cleanse(bytes, sizeof(bytes));
    *len = off;
    return APR_SUCCESS;
}

apr_status_t tk_keyfile_write_atomic(apr_pool_t *p, const char *path, const unsigned char *data,
                                     apr_size_t len, const char **why)
{
    char *dir = apr_pstrdup(p, path), *slash = strrchr(dir, '/');
    char *tmp;
    apr_file_t *f, *d;
    apr_size_t written;
    apr_status_t rv;

    if (slash == NULL)
        dir = ".";
    else if (slash == dir)
        dir = "/";
    else
        *slash = '\0';
    tmp = apr_pstrcat(p, dir, "/.", slash ? slash + 1 : path, ".XXXXXX", NULL);
    /* mkstemp creates the file with mode 0600. */
    rv = apr_file_mktemp(
        &f, tmp, APR_FOPEN_CREATE | APR_FOPEN_WRITE | APR_FOPEN_EXCL | APR_FOPEN_BINARY, p);
    if (rv != APR_SUCCESS) {
        *why =
            apr_psprintf(p, "cannot create a temporary file in %s: %s", dir, error_text(p, rv));
        return rv;
    }
    rv = apr_file_write_full(f, data, len, &written);
    if (rv == APR_SUCCESS)
        rv = apr_file_sync(f);
    apr_file_close(f);
    if (rv == APR_SUCCESS)
        rv = apr_file_perms_set(tmp, APR_FPROT_UREAD | APR_FPROT_UWRITE);
    if (rv == APR_SUCCESS)
        rv = apr_file_rename(tmp, path, p);
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        *why = apr_psprintf(p, "cannot write %s: %s", path, error_text(p, rv));
        return rv;
    }
    /* The rename is durable once the directory is on disk too. */
    if (apr_file_open(&d, dir, APR_FOPEN_READ, APR_OS_DEFAULT, p) == APR_SUCCESS) {
        apr_file_sync(d);
        apr_file_close(d);
    }
    return APR_SUCCESS;
}
