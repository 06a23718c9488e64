/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS server names: normalisation (RFC 6066 section 3), configured patterns, the
 * server_name extension, and names made safe for logs.
 */
#include "sni_name.h"

#include <string.h>

#include <apr_strings.h>

#define SNI_LABEL_MAX 63

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static char to_lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

static int is_hex_digit(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* An IPv6 literal, bracketed or not, possibly with an embedded IPv4 part or a zone.  A
 * colon never appears in a host name, so this only tells two kinds of wrong apart. */
static int looks_like_ipv6(const char *raw, apr_size_t len)
{
    apr_size_t i;
    int colons = 0;

    if (len >= 2 && raw[0] == '[' && raw[len - 1] == ']') {
        raw++;
        len -= 2;
    }
    for (i = 0; i < len; i++) {
        if (raw[i] == ':')
            colons++;
        else if (raw[i] == '%')
            return colons >= 2; /* a zone id follows, in any characters */
        else if (!is_hex_digit(raw[i]) && raw[i] != '.')
            return 0;
    }
    return colons >= 2;
}

sni_name_e sni_name_normalize(const char *raw, apr_size_t len, char *out, apr_size_t *outlen,
                              const char **why)
{
    const char *ignored;
    apr_size_t i, label = 0;
    int label_all_digits = 1;

    if (why == NULL)
        why = &ignored;
    *outlen = 0;
    out[0] = '\0';
    if (len > 0 && raw[len - 1] == '.')
        len--; /* the root label: "example.com." is "example.com" */
    if (len == 0) {
        *why = "it is empty";
        return SNI_NAME_MALFORMED;
    }
    if (len > SNI_NAME_MAX) {
        *why = "it is longer than 253 octets";
        return SNI_NAME_MALFORMED;
    }
    if (looks_like_ipv6(raw, len)) {
        *why = "it is an IPv6 address";
        return SNI_NAME_IP_LITERAL;
    }
    for (i = 0; i < len; i++) {
        char ch = raw[i];

        if (ch == '.') {
            if (label == 0) {
                *why = "it has an empty label";
                return SNI_NAME_MALFORMED;
            }
            label = 0;
            label_all_digits = 1;
            out[i] = ch;
            continue;
        }
        ch = to_lower(ch);
        if (!(ch >= 'a' && ch <= 'z') && !is_digit(ch) && ch != '-') {
            *why = "it holds a character other than a letter, a digit, a hyphen or a dot";
            return SNI_NAME_MALFORMED;
        }
        if (++label > SNI_LABEL_MAX) {
            *why = "it has a label longer than 63 octets";
            return SNI_NAME_MALFORMED;
        }
        label_all_digits = label_all_digits && is_digit(ch);
        out[i] = ch;
    }
    if (label == 0) {
        *why = "it has an empty label";
        return SNI_NAME_MALFORMED;
    }
    /* No top-level domain is all digits (RFC 3696 section 2), so such a name is an IPv4
     * address in one of the forms resolvers accept ("10.0.0.1", "127.1"). */
    if (label_all_digits) {
        *why = "it is an IPv4 address";
        return SNI_NAME_IP_LITERAL;
    }
    out[len] = '\0';
    *outlen = len;
    return SNI_NAME_OK;
}

/* "*." and then no other glob character: a wildcard if the rest is a host name. */
static int wildcard_form(const char *name)
{
    return name[0] == '*' && name[1] == '.' && strpbrk(name + 2, "*?") == NULL;
}

int sni_pattern_is_wildcard(const char *name)
{
    char buf[SNI_NAME_MAX + 1];
    apr_size_t len;

    return wildcard_form(name) &&
           sni_name_normalize(name + 2, strlen(name + 2), buf, &len, NULL) == SNI_NAME_OK;
}

/* Characters a glob may hold: those of a name, and the two glob characters. */
static int glob_chars_only(const char *s)
{
    for (; *s; s++) {
        char ch = *s;

        if (!(ch >= 'a' && ch <= 'z') && !is_digit(ch) && ch != '-' && ch != '.' && ch != '*' &&
            ch != '?')
            return 0;
    }
    return 1;
}

apr_status_t sni_pattern_parse(apr_pool_t *p, const char *name, int allow_glob,
                               sni_pattern_e *kind, const char **text, const char **why)
{
    char buf[SNI_NAME_MAX + 1];
    apr_size_t len = strlen(name), outlen, i;
    sni_name_e name_kind;
    char *lower;

    if (strpbrk(name, "*?") == NULL) {
        name_kind = sni_name_normalize(name, len, buf, &outlen, why);
        if (name_kind != SNI_NAME_OK)
            return APR_EINVAL;
        *kind = SNI_PATTERN_EXACT;
        *text = apr_pstrmemdup(p, buf, outlen);
        return APR_SUCCESS;
    }
    if (wildcard_form(name)) {
        name_kind = sni_name_normalize(name + 2, len - 2, buf, &outlen, why);
        if (name_kind == SNI_NAME_IP_LITERAL) {
            *why = "a wildcard stands for a label of a host name, not of an IP address";
            return APR_EINVAL;
        }
        if (name_kind != SNI_NAME_OK)
            return APR_EINVAL;
        *kind = SNI_PATTERN_WILDCARD;
        *text = apr_pstrcat(p, "*.", buf, NULL);
        return APR_SUCCESS;
    }
    if (!allow_glob) {
        *why = "a star may only stand for the whole first label, as in *.example.com";
        return APR_EINVAL;
    }
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len > SNI_NAME_MAX) {
        *why = "it is longer than 253 octets";
        return APR_EINVAL;
    }
    lower = apr_pstrmemdup(p, name, len);
    for (i = 0; i < len; i++)
        lower[i] = to_lower(lower[i]);
    *text = lower;
    if (!glob_chars_only(lower)) {
        *why = "it holds a character other than a letter, a digit, a hyphen, a dot, '*' or '?'";
        return APR_EINVAL;
    }
    *kind = SNI_PATTERN_GLOB;
    return APR_SUCCESS;
}

/* RFC 6066 allows other name types and forbids only a second name of the same type, but
 * OpenSSL refuses every list other than one host_name entry with decode_error once the
 * ClientHello callback lets the hello through.  The same rule here means a refusal by the
 * module sends what OpenSSL would have sent for the same bytes. */
int sni_server_name_from_ext(const unsigned char *ext, apr_size_t extlen,
                             const unsigned char **name, apr_size_t *namelen)
{
    apr_size_t len;

    /* the list length, one type byte, the name length, at least one byte of name */
    if (extlen < 6 || (((apr_size_t)ext[0] << 8) | ext[1]) != extlen - 2)
        return 0;
    if (ext[2] != 0) /* host_name */
        return 0;
    len = ((apr_size_t)ext[3] << 8) | ext[4];
    if (len != extlen - 5)
        return 0;
    *name = ext + 5;
    *namelen = len;
    return 1;
}

/* Printable ASCII other than the quotes, the backslash (which httpd's error log escapes
 * again) and the percent sign stay as they are. */
static int printable(unsigned char ch)
{
    return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\'' && ch != '\\' && ch != '%';
}

const char *sni_name_printable(char *buf, const char *raw, apr_size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char cut[] = "...";
    apr_size_t in, out = 0, need = 0, room;

    for (in = 0; in < len; in++)
        need += printable((unsigned char)raw[in]) ? 1 : 3;
    room =
        need < SNI_PRINTABLE_SIZE ? SNI_PRINTABLE_SIZE - 1 : SNI_PRINTABLE_SIZE - sizeof(cut);
    for (in = 0; in < len; in++) {
        unsigned char ch = (unsigned char)raw[in];

        if (out + (printable(ch) ? 1 : 3) > room)
            break;
        if (printable(ch)) {
            buf[out++] = (char)ch;
        } else {
            buf[out++] = '%';
            buf[out++] = hex[ch >> 4];
            buf[out++] = hex[ch & 0xf];
        }
    }
    if (in < len) {
        memcpy(buf + out, cut, sizeof(cut) - 1);
        out += sizeof(cut) - 1;
    }
    buf[out] = '\0';
    return buf;
}

const char *sni_name_kind(sni_name_e kind)
{
    switch (kind) {
    case SNI_NAME_OK:
        return "a host name";
    case SNI_NAME_IP_LITERAL:
        return "an IP address";
    default:
        return "a malformed name";
    }
}

apr_uint64_t sni_name_hash(const char *name, apr_size_t len)
{
    apr_uint64_t h = APR_UINT64_C(0xcbf29ce484222325);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)to_lower(name[i]);
        h *= APR_UINT64_C(0x100000001b3);
    }
    return h;
}

int sni_glob_match(const char *pattern, const char *name, apr_size_t len)
{
    const char *star = NULL;
    apr_size_t at = 0, star_at = 0;

    while (at < len) {
        if (*pattern == '*') {
            star = ++pattern;
            star_at = at;
        } else if (*pattern != '\0' &&
                   (*pattern == '?' || to_lower(*pattern) == to_lower(name[at]))) {
            pattern++;
            at++;
        } else if (star != NULL) {
            pattern = star;
            at = ++star_at;
        } else {
            return 0;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}
