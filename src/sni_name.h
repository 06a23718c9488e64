/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS server names (SNI): the host name out of a ClientHello's server_name extension,
 * names compared as RFC 6066 asks, configured name patterns, and received names made
 * safe for a log line.  APR only; no httpd, no OpenSSL.
 *
 * A normalised name is lower case, without a trailing dot, made of labels of 1 to 63
 * letters, digits and hyphens, at most 253 octets in all.
 */
#ifndef SNI_NAME_H
#define SNI_NAME_H

#include <apr_pools.h>

/* Longest normalised name; a buffer for one needs SNI_NAME_MAX + 1 bytes. */
#define SNI_NAME_MAX 253
/* Size of a buffer for sni_name_printable(). */
#define SNI_PRINTABLE_SIZE 100

typedef enum {
    SNI_NAME_OK,         /* a host name */
    SNI_NAME_IP_LITERAL, /* an IPv4 or IPv6 address, which RFC 6066 does not allow */
    SNI_NAME_MALFORMED   /* anything else that is not a host name */
} sni_name_e;

/* The kinds of configured names, which decide precedence. */
typedef enum {
    SNI_PATTERN_EXACT,    /* www.example.com */
    SNI_PATTERN_WILDCARD, /* *.example.com: exactly one label in place of the star */
    SNI_PATTERN_GLOB      /* ServerAlias globs: '?' one character, '*' any, dots too */
} sni_pattern_e;

/* Normalises the len bytes of raw (not NUL-terminated) into out, which holds
 * SNI_NAME_MAX + 1 bytes, NUL-terminated, its length in *outlen.  Upper case becomes lower
 * case and one trailing dot goes.  Returns SNI_NAME_OK, or what the name is instead, with
 * why (if not NULL) saying what is wrong.  Allocates nothing. */
sni_name_e sni_name_normalize(const char *raw, apr_size_t len, char *out, apr_size_t *outlen,
                              const char **why);

/* A configured name: an exact name, "*.domain" or (allow_glob) a glob.  On success returns
 * APR_SUCCESS, its kind in *kind and its normalised text in *text (from p; a wildcard keeps
 * its "*." prefix).  Otherwise APR_EINVAL and *why, a sentence fragment for an operator. */
apr_status_t sni_pattern_parse(apr_pool_t *p, const char *name, int allow_glob,
                               sni_pattern_e *kind, const char **text, const char **why);

/* Whether a configured name is a wildcard, "*." and a host name.  Allocates nothing. */
int sni_pattern_is_wildcard(const char *name);

/* The host name in the data of a ClientHello's server_name extension (RFC 6066 section 3):
 * a list of exactly one entry, of type host_name, whose name is not empty.  Returns 1 with
 * *name and *namelen pointing into ext, or 0 when the extension is malformed (a TLS
 * decode_error): lengths that do not add up, an empty list or name, another entry. */
int sni_server_name_from_ext(const unsigned char *ext, apr_size_t extlen,
                             const unsigned char **name, apr_size_t *namelen);

/* Writes a received name into buf (SNI_PRINTABLE_SIZE bytes) for a log line: printable
 * ASCII stays; other bytes, quotes, backslash and '%' become %HH (as in a URL); a name too
 * long to fit is cut and ends with "...".  Returns buf.  Allocates nothing. */
const char *sni_name_printable(char *buf, const char *raw, apr_size_t len);

/* "a host name", "an IP address", "a malformed name": for log lines. */
const char *sni_name_kind(sni_name_e kind);

/* FNV-1a, 64 bits, over the ASCII-lower-cased bytes: the hash of the name tables of
 * sni_index and sni_route (names are short, and the tables hold only the operator's). */
apr_uint64_t sni_name_hash(const char *name, apr_size_t len);

/* httpd's ServerAlias globs (ap_strcasecmp_match()): '?' one character, '*' any run of
 * them, dots included, ASCII case-insensitive.  Iterative, remembering only the last star:
 * linear in practice, and never recursive on a client's input. */
int sni_glob_match(const char *pattern, const char *name, apr_size_t len);

#endif
