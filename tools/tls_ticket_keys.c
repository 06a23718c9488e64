/*
 * tls-ticket-keys: make, rotate, list and check the key files of SSLTicketKeyFile.
 * It reads and writes keys with the module's own parser (tk_keyfile), so what it
 * accepts is exactly what httpd accepts.  It never prints key bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>

#include "tk_keyfile.h"
#include "tk_ring.h"

#define DEFAULT_KEEP 3

static const char usage[] = "usage: tls-ticket-keys generate [--aes128|--aes256] [--format "
                            "text|raw] [--keys N] [--force] FILE\n"
                            "       tls-ticket-keys rotate FILE [--keep N] [--not-before "
                            "+DURATION|TIME] [--aes128|--aes256]\n"
                            "                                   [--format text|raw]\n"
                            "       tls-ticket-keys list FILE [--format FORMAT]\n"
                            "       tls-ticket-keys check FILE [--format FORMAT]\n"
                            "DURATION: seconds, or a number followed by s, m, h or d (+90m).\n"
                            "TIME: 2026-11-26T20:00:00Z (UTC) or Unix seconds.\n";

typedef struct {
    const char *file;
    tk_format_e format; /* TK_FORMAT_AUTO: as read (rotate), text (generate) */
    tk_key_size_e size; /* 0: as the current sealing key (rotate), AES-256 (generate) */
    unsigned int keys;
    unsigned int keep;
    const char *not_before;
    int force;
} options;

static int fail(const char *file, const char *why)
{
    fprintf(stderr, "tls-ticket-keys: %s%s%s\n", file ? file : "", file ? ": " : "", why);
    return 1;
}

static int parse_count(const char *arg, unsigned int max, unsigned int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);

    if (*arg == '\0' || *end != '\0' || v < 1 || v > (long)max)
        return 0;
    *out = (unsigned int)v;
    return 1;
}

/* +DURATION from now, or an absolute TIME. */
static apr_status_t parse_when(const char *arg, apr_time_t now, apr_time_t *t)
{
    char *end;
    long long n;
    apr_time_t unit = apr_time_from_sec(1);

    if (arg[0] != '+')
        return tk_time_parse(arg, t);
    n = strtoll(arg + 1, &end, 10);
    if (end == arg + 1 || n < 0)
        return APR_EINVAL;
    switch (*end) {
    case '\0':
    case 's':
        break;
    case 'm':
        unit *= 60;
        break;
    case 'h':
        unit *= 3600;
        break;
    case 'd':
        unit *= 86400;
        break;
    default:
        return APR_EINVAL;
    }
    if (*end && end[1])
        return APR_EINVAL;
    *t = now + n * unit;
    return APR_SUCCESS;
}

/* Reads and parses a key file; on failure prints the reason. */
static int read_keys(apr_pool_t *p, const char *file, tk_format_e fmt, tk_ring_t *ring,
                     tk_format_e *detected)
{
    unsigned char *data;
    apr_size_t len;
    const char *why;

    if (tk_keyfile_read(p, file, &data, &len, &why) != APR_SUCCESS ||
        tk_keyfile_parse(p, data, len, fmt, apr_time_now(), ring, &why) != APR_SUCCESS) {
        fail(file, why);
        return 0;
    }
    if (detected)
        *detected = fmt == TK_FORMAT_AUTO ? tk_format_detect(data, len) : fmt;
    return 1;
}

/* Checks that ring makes a valid file in fmt (what httpd would read back), then writes it. */
static int write_keys(apr_pool_t *p, const char *file, const tk_ring_t *ring, tk_format_e fmt)
{
    unsigned char *data;
    apr_size_t len;
    const char *why;
    tk_ring_t check;

    if (tk_keyfile_serialize(p, ring, fmt, &data, &len, &why) != APR_SUCCESS ||
        tk_keyfile_parse(p, data, len, fmt, apr_time_now(), &check, &why) != APR_SUCCESS ||
        tk_keyfile_write_atomic(p, file, data, len, &why) != APR_SUCCESS) {
        tk_ring_wipe(&check);
        return fail(file, why);
    }
    tk_ring_wipe(&check);
    return 0;
}

static void print_keys(const tk_ring_t *ring)
{
    apr_time_t now = apr_time_now();
    tk_key_text_t text;
    unsigned int i;

    printf("%-3s %-11s %-8s %-21s %-21s %s\n", "#", "fingerprint", "cipher", "not-before",
           "not-after", "now");
    for (i = 0; i < ring->nkeys; i++) {
        tk_key_describe(ring, i, now, &text);
        printf("%-3u %-11s %-8s %-21s %-21s %s\n", i + 1, ring->keys[i].fingerprint,
               text.cipher, text.not_before, text.not_after, text.state);
    }
}

static int cmd_generate(apr_pool_t *p, const options *o)
{
    tk_ring_t ring;
    apr_finfo_t finfo;
    tk_format_e fmt = o->format == TK_FORMAT_AUTO ? TK_FORMAT_TEXT : o->format;
    int rc;

    if (!o->force && apr_stat(&finfo, o->file, APR_FINFO_TYPE, p) == APR_SUCCESS)
        return fail(o->file, "exists already (use rotate, or --force to replace it)");
    if (tk_ring_generate(&ring, o->keys, o->size ? o->size : TK_KEY_80) != APR_SUCCESS)
        return fail(o->file, "the random generator failed");
    rc = write_keys(p, o->file, &ring, fmt);
    if (rc == 0)
        print_keys(&ring);
    tk_ring_wipe(&ring);
    return rc;
}

static int cmd_rotate(apr_pool_t *p, const options *o)
{
    apr_time_t now = apr_time_now(), from = now;
    tk_format_e fmt;
    tk_ring_t ring, next;
    const tk_key_t *sealing;
    unsigned int i;
    int rc;

    if (o->not_before && parse_when(o->not_before, now, &from) != APR_SUCCESS)
        return fail(NULL, apr_psprintf(p, "--not-before: '%s' is neither +DURATION nor a time",
                                       o->not_before));
    if (!read_keys(p, o->file, TK_FORMAT_AUTO, &ring, &fmt))
        return 1;
    if (o->format != TK_FORMAT_AUTO)
        fmt = o->format;
    sealing = tk_ring_sealing_key(&ring, now);
    memset(&next, 0, sizeof(next));
    if (tk_key_generate(&next.keys[0], o->size ? o->size : sealing->size) != APR_SUCCESS)
        return fail(o->file, "the random generator failed");
    /* In a text file the new key says from when it seals: it then wins over older keys
     * whatever their windows; a raw file has no windows and its first key seals. */
    if (fmt == TK_FORMAT_TEXT)
        next.keys[0].not_before = from;
    else if (o->not_before)
        return fail(o->file, "a raw file cannot hold --not-before; add --format text");
    next.nkeys = 1;
    for (i = 0; i < ring.nkeys && next.nkeys < o->keep; i++)
        next.keys[next.nkeys++] = ring.keys[i];
    rc = write_keys(p, o->file, &next, fmt);
    if (rc == 0)
        print_keys(&next);
    tk_ring_wipe(&ring);
    tk_ring_wipe(&next);
    return rc;
}

static int cmd_list(apr_pool_t *p, const options *o)
{
    tk_ring_t ring;
    tk_format_e fmt;

    if (!read_keys(p, o->file, o->format, &ring, &fmt))
        return 1;
    printf("%s: %s format, %u key(s)\n", o->file, tk_format_name(fmt), ring.nkeys);
    print_keys(&ring);
    tk_ring_wipe(&ring);
    return 0;
}

static int cmd_check(apr_pool_t *p, const options *o)
{
    tk_ring_t ring;
    tk_format_e fmt;

    if (!read_keys(p, o->file, o->format, &ring, &fmt))
        return 1;
    printf("%s: ok: %u key(s), %s format, sealing with key %s\n", o->file, ring.nkeys,
           tk_format_name(fmt), tk_ring_sealing_key(&ring, apr_time_now())->fingerprint);
    tk_ring_wipe(&ring);
    return 0;
}

int main(int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        {"aes128", 1, 0, "AES-128 keys (48-byte)"},
        {"aes256", 2, 0, "AES-256 keys (80-byte)"},
        {"format", 3, 1, "key file format"},
        {"keys", 4, 1, "number of keys to generate"},
        {"keep", 5, 1, "number of keys a rotation keeps"},
        {"not-before", 6, 1, "when the new key starts sealing"},
        {"force", 7, 0, "replace an existing file"},
        {NULL, 0, 0, NULL},
    };
    options o = {NULL, TK_FORMAT_AUTO, 0, 1, DEFAULT_KEEP, NULL, 0};
    const char *cmd, *arg;
    apr_getopt_t *g;
    apr_pool_t *p;
    apr_status_t rv;
    int opt, rc;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (argc < 3) {
        fputs(usage, stderr);
        return 2;
    }
    cmd = argv[1];
    apr_getopt_init(&g, p, argc - 1, argv + 1);
    g->interleave = 1;
    while ((rv = apr_getopt_long(g, opts, &opt, &arg)) == APR_SUCCESS) {
        switch (opt) {
        case 1:
            o.size = TK_KEY_48;
            break;
        case 2:
            o.size = TK_KEY_80;
            break;
        case 3:
            if (tk_format_from_name(arg, &o.format) != APR_SUCCESS)
                return fail(NULL, apr_psprintf(p, "--format: unknown format '%s'", arg)) + 1;
            break;
        case 4:
            if (!parse_count(arg, TK_RING_MAX_KEYS, &o.keys))
                return fail(NULL, "--keys takes a number from 1 to 32") + 1;
            break;
        case 5:
            if (!parse_count(arg, TK_RING_MAX_KEYS, &o.keep))
                return fail(NULL, "--keep takes a number from 1 to 32") + 1;
            break;
        case 6:
            o.not_before = arg;
            break;
        case 7:
            o.force = 1;
            break;
        }
    }
    if (rv != APR_EOF || g->ind != g->argc - 1) {
        fputs(usage, stderr);
        return 2;
    }
    o.file = g->argv[g->ind];
    if (strcmp(cmd, "generate") == 0)
        rc = cmd_generate(p, &o);
    else if (strcmp(cmd, "rotate") == 0)
        rc = cmd_rotate(p, &o);
    else if (strcmp(cmd, "list") == 0)
        rc = cmd_list(p, &o);
    else if (strcmp(cmd, "check") == 0)
        rc = cmd_check(p, &o);
    else {
        fputs(usage, stderr);
        rc = 2;
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
