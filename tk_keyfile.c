#include "tk_keyfile.h"

#include <string.h>

#include <apr_base64.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/crypto.h>

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

/* Adds a key to the ring after the checks every format shares.  number is the key's
 * 1-based position and where its place in the file ("line 3", "key 2"). */
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

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses the line-based formats: text (name|HMAC|AES) and haproxy (name|AES|HMAC). */
static apr_status_t parse_lines(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                                key_layout_e layout, tk_ring_t *ring, const char **why)
{
    const char *s = (const char *)data, *end = s + len;
    unsigned int line_no = 0;
    unsigned char raw[TK_KEY_80];
    apr_size_t raw_len = 0;
    tk_key_t key;
    apr_status_t rv = APR_SUCCESS;

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
            const char *rest = s;

            while (rest < line_end && is_blank(*rest))
                rest++;
            if (rest < line_end && *rest != '#') {
                *why = apr_psprintf(p, "%s: unexpected text after the key", where);
                rv = APR_EINVAL;
            } else if ((rv = decode_key_token(p, tok, (apr_size_t)(s - tok), raw, &raw_len,
                                              why)) != APR_SUCCESS) {
                *why = apr_psprintf(p, "%s: %s", where, *why);
            } else {
                key_from_bytes(&key, raw, raw_len, layout);
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

static int looks_like_text(const unsigned char *data, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = data[i];
        if (!(c >= 0x20 && c < 0x7f) && c != '\t' && c != '\r' && c != '\n')
            return 0;
    }
    return 1;
}

apr_status_t tk_keyfile_parse(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                              tk_format_e fmt, tk_ring_t *ring, const char **why)
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
        fmt = looks_like_text(data, len) ? TK_FORMAT_TEXT : TK_FORMAT_RAW;

    switch (fmt) {
    case TK_FORMAT_RAW:
        rv = parse_raw(p, data, len, ring, why);
        break;
    case TK_FORMAT_NGINX:
        rv = parse_nginx(p, data, len, ring, why);
        break;
    case TK_FORMAT_HAPROXY:
        rv = parse_lines(p, data, len, LAYOUT_NAME_AES_HMAC, ring, why);
        /* HAProxy seals with the penultimate key, so that a key appended to the file
         * is known to every server before any of them seals with it. */
        if (rv == APR_SUCCESS && ring->nkeys >= 2)
            ring->sealing = ring->nkeys - 2;
        break;
    default:
        rv = parse_lines(p, data, len, LAYOUT_NAME_HMAC_AES, ring, why);
        break;
    }
    if (rv != APR_SUCCESS)
        tk_ring_wipe(ring);
    return rv;
}

apr_status_t tk_keyfile_load(apr_pool_t *p, const char *path, tk_format_e fmt, tk_ring_t *ring,
                             const char **why)
{
    apr_file_t *f;
    apr_finfo_t finfo;
    unsigned char *buf;
    apr_size_t len;
    apr_status_t rv;
    char err[120];

    tk_ring_wipe(ring);
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, APR_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&finfo, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
        if (rv == APR_SUCCESS && finfo.filetype != APR_REG) {
            apr_file_close(f);
            *why = "not a regular file";
            return APR_EINVAL;
        }
    }
    if (rv != APR_SUCCESS) {
        *why = apr_pstrdup(p, apr_strerror(rv, err, sizeof(err)));
        return rv;
    }
    if (finfo.size > TK_KEYFILE_MAX_SIZE) {
        apr_file_close(f);
        *why = apr_psprintf(p,
                            "%" APR_OFF_T_FMT " bytes is too large for a key file (at most "
                            "%d)",
                            finfo.size, TK_KEYFILE_MAX_SIZE);
        return APR_EINVAL;
    }
    /* One byte more than the size, to notice a file that grew while being read. */
    buf = apr_palloc(p, (apr_size_t)finfo.size + 1);
    rv = apr_file_read_full(f, buf, (apr_size_t)finfo.size + 1, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *why = apr_pstrdup(p, apr_strerror(rv, err, sizeof(err)));
    } else if (len != (apr_size_t)finfo.size) {
        *why = "the file changed while it was read";
        rv = APR_EINVAL;
    } else {
        rv = tk_keyfile_parse(p, buf, len, fmt, ring, why);
    }
    OPENSSL_cleanse(buf, (apr_size_t)finfo.size + 1);
    return rv;
}

apr_status_t tk_keyfile_is_exposed(apr_pool_t *p, const char *path, int *exposed)
{
    apr_finfo_t finfo;
    apr_status_t rv = apr_stat(&finfo, path, APR_FINFO_PROT, p);

    if (rv == APR_SUCCESS || rv == APR_INCOMPLETE)
        *exposed = (finfo.protection & (APR_GREAD | APR_GWRITE | APR_WREAD | APR_WWRITE)) != 0;
    return rv == APR_INCOMPLETE ? APR_SUCCESS : rv;
}
