/* SPDX-License-Identifier: Apache-2.0 */
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

#include <openssl/crypto.h>

#include "tk_keyfile.h"
#include "tk_ring.h"
#include "version.h"

#define DEFAULT_KEEP 3

static const char usage[] =
    "usage: tls-ticket-keys generate [--aes128|--aes256] [--format text|raw|nginx|haproxy]\n"
    "                                [--keys N] [--force] FILE\n"
    "       tls-ticket-keys rotate FILE [--format FORMAT] [--keep N] [--aes128|--aes256]\n"
    "                                   [--not-before +DURATION|TIME] [--to text|raw]\n"
    "       tls-ticket-keys list FILE [--format FORMAT]\n"
    "       tls-ticket-keys check FILE [--format FORMAT]\n"
    "       tls-ticket-keys --version | --help\n"
    "FORMAT: auto (default), raw, text, nginx or haproxy: the format SSLTicketKeyFile\n"
    "  names for FILE.  rotate keeps it (--to converts to text or raw).\n"
    "DURATION: seconds, or a number followed by s, m, h or d (+90m).\n"
    "TIME: 2026-11-26T20:00:00Z (UTC) or Unix seconds.\n";

typedef struct {
    const char *file;
    tk_format_e
        format;     /* as SSLTicketKeyFile reads the file; generate: TK_FORMAT_AUTO is text */
    tk_format_e to; /* rotate: the format to convert to; TK_FORMAT_AUTO: keep the format */
    tk_key_size_e size; /* 0: as the current sealing key (rotate), AES-256 (generate) */
    unsigned int keys;
    unsigned int keep;
    const char *not_before;
    int force;
} options;

/* What a command writes, and what reading it back must give. */
typedef struct {
    tk_ring_t keys;       /* the keys, in the file's order */
    tk_format_e format;   /* the format they are written in */
    tk_format_e reread;   /* the format SSLTicketKeyFile reads the file with */
    unsigned int sealing; /* the index of the key that must seal ... */
    apr_time_t at;        /* ... at this time; TK_TIME_NONE: when read back */
} plan_t;

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

static int same_key(const tk_key_t *a, const tk_key_t *b)
{
    unsigned int secret = tk_key_secret_len(a->size);

    return a->size == b->size && memcmp(a->name, b->name, TK_KEY_NAME_LEN) == 0 &&
           memcmp(a->hmac_key, b->hmac_key, secret) == 0 &&
           memcmp(a->aes_key, b->aes_key, secret) == 0 && a->not_before == b->not_before &&
           a->not_after == b->not_after;
}

/* Whether the bytes of a key file, read as plan->reread (as httpd will read them), give
 * the planned keys, in their order, with the planned key sealing.  Sets *why otherwise.
 * got receives the keys as read. */
static int reads_as_planned(apr_pool_t *p, const unsigned char *data, apr_size_t len,
                            const plan_t *plan, tk_ring_t *got, const char **why)
{
    unsigned int i;
    int sealing;

    if (tk_keyfile_parse(p, data, len, plan->reread, apr_time_now(), got, why) != APR_SUCCESS)
        return 0;
    if (tk_ring_size(got) != tk_ring_size(&plan->keys)) {
        *why = apr_psprintf(p, "it holds %u key(s), not %u", tk_ring_size(got),
                            tk_ring_size(&plan->keys));
        return 0;
    }
    for (i = 0; i < tk_ring_size(got); i++) {
        if (!same_key(tk_ring_key(got, i), tk_ring_key(&plan->keys, i))) {
            *why = apr_psprintf(p, "key %u is not the key written there", i + 1);
            return 0;
        }
    }
    sealing = tk_ring_sealing_index(got, plan->at ? plan->at : apr_time_now());
    if (sealing != (int)plan->sealing) {
        *why = apr_psprintf(p, "key %s would seal, not key %s",
                            sealing < 0 ? "none"
                                        : tk_ring_key(got, (unsigned int)sealing)->fingerprint,
                            tk_ring_key(got, plan->sealing)->fingerprint);
        return 0;
    }
    return 1;
}

/* Writes the plan's keys to file, but only once their bytes read back as planned; then
 * reads the file itself back and checks it again, so that a rotation cannot end in a
 * file httpd refuses or that seals with another key than meant.  previous (NULL for none)
 * is the file's former content, put back when that last check fails.  On success got
 * holds the keys as httpd reads them. */
static int write_keys(apr_pool_t *p, const char *file, const plan_t *plan,
                      const unsigned char *previous, apr_size_t previous_len, tk_ring_t *got)
{
    unsigned char *data;
    apr_size_t len;
    const char *why, *undo = "", *undo_why;

    if (tk_keyfile_serialize(p, &plan->keys, plan->format, &data, &len, &why) != APR_SUCCESS)
        return fail(file, why);
    if (!reads_as_planned(p, data, len, plan, got, &why))
        return fail(file,
                    apr_psprintf(p, "not written: read as %s, the new file would fail: %s",
                                 tk_format_name(plan->reread), why));
    if (tk_keyfile_write_atomic(p, file, data, len, &why) != APR_SUCCESS)
        return fail(file, why);
    if (tk_keyfile_read(p, file, &data, &len, &why) == APR_SUCCESS &&
        reads_as_planned(p, data, len, plan, got, &why))
        return 0;
    if (previous)
        undo =
            tk_keyfile_write_atomic(p, file, previous, previous_len, &undo_why) == APR_SUCCESS
                ? "; the previous file is put back"
                : "; the previous file could not be put back";
    return fail(file, apr_psprintf(p, "read back as %s, the file written fails: %s%s",
                                   tk_format_name(plan->reread), why, undo));
}

static void print_keys(const tk_ring_t *ring)
{
    apr_time_t now = apr_time_now();
    tk_key_text_t text;
    unsigned int i;

    printf("%-3s %-11s %-8s %-21s %-21s %s\n", "#", "fingerprint", "cipher", "not-before",
           "not-after", "now");
    for (i = 0; i < tk_ring_size(ring); i++) {
        tk_key_describe(ring, i, now, &text);
        printf("%-3u %-11s %-8s %-21s %-21s %s\n", i + 1, tk_ring_key(ring, i)->fingerprint,
               text.cipher, text.not_before, text.not_after, text.state);
    }
}

/* The index of the key a file of n keys in fmt seals with when windows do not decide:
 * the first, or HAProxy's penultimate. */
static unsigned int default_sealing(tk_format_e fmt, unsigned int n)
{
    return fmt == TK_FORMAT_HAPROXY && n >= 2 ? n - 2 : 0;
}

static int cmd_generate(apr_pool_t *p, const options *o)
{
    plan_t plan;
    tk_ring_t got;
    apr_finfo_t finfo;
    int rc;

    if (!o->force && apr_stat(&finfo, o->file, APR_FINFO_TYPE, p) == APR_SUCCESS)
        return fail(o->file, "exists already (use rotate, or --force to replace it)");
    memset(&plan, 0, sizeof(plan));
    plan.format = o->format == TK_FORMAT_AUTO ? TK_FORMAT_TEXT : o->format;
    plan.reread = plan.format;
    plan.sealing = default_sealing(plan.format, o->keys);
    if (tk_ring_generate(&plan.keys, o->keys, o->size ? o->size : TK_KEY_80) != APR_SUCCESS)
        return fail(o->file, "the random generator failed");
    rc = write_keys(p, o->file, &plan, NULL, 0, &got);
    if (rc == 0)
        print_keys(&got);
    tk_ring_wipe(&plan.keys);
    tk_ring_wipe(&got);
    return rc;
}

/* Under --format auto, the format a rotation keeps: the one the file's content settles,
 * or TK_FORMAT_AUTO with *why.  auto reads one binary key as raw and base64 lines without
 * windows as text, but the same bytes are valid nginx or HAProxy files; rotated as raw or
 * text they would become files those formats refuse (96 bytes, not-before=), and httpd
 * would go on with the old keys while the tool said all was well. */
static tk_format_e settled_format(const unsigned char *data, apr_size_t len,
                                  const tk_ring_t *ring, const char **why)
{
    unsigned int i;

    if (tk_format_detect(data, len) == TK_FORMAT_RAW) {
        if (tk_ring_size(ring) > 1)
            return TK_FORMAT_RAW;
        *why = "one binary key may be in mod_ssl's layout (raw) or in nginx's, which differ; "
               "give the format SSLTicketKeyFile reads it with: --format raw or --format nginx";
        return TK_FORMAT_AUTO;
    }
    for (i = 0; i < tk_ring_size(ring); i++) {
        if (tk_ring_key(ring, i)->not_before || tk_ring_key(ring, i)->not_after)
            return TK_FORMAT_TEXT;
    }
    *why = "base64 keys without validity windows may be a text file (the first key seals) or "
           "a HAProxy file (the penultimate seals); give the format SSLTicketKeyFile reads it "
           "with: --format text or --format haproxy";
    return TK_FORMAT_AUTO;
}

/* Why a rotation of a file in format from into format to, as asked, is impossible; NULL
 * when it is possible. */
static const char *cannot_rotate(const options *o, tk_format_e from, tk_format_e to)
{
    if (from == TK_FORMAT_HAPROXY && to != TK_FORMAT_HAPROXY)
        return "a HAProxy file keeps its keys in HAProxy's order and is rotated as one; "
               "leave out --to";
    switch (to) {
    case TK_FORMAT_RAW:
        if (o->not_before)
            return "a raw file holds no validity windows, so no --not-before; add --to text to "
                   "rotate it into a text file (then SSLTicketKeyFile needs the format text or "
                   "auto)";
        return NULL;
    case TK_FORMAT_NGINX:
        /* One key a file: keeping the current key beside the new one is impossible, and
         * only the operator may decide to drop the key that opens the clients' tickets. */
        if (o->keep != 1 || o->not_before)
            return "an nginx file holds one key, so a rotation cannot keep the current key "
                   "(nor give a --not-before): --keep 1 replaces it, and tickets sealed with "
                   "it no longer resume; or --to text rotates into a text file that keeps "
                   "old keys (then SSLTicketKeyFile needs the format text or auto)";
        return NULL;
    case TK_FORMAT_HAPROXY:
        if (o->not_before)
            return "a HAProxy file holds no validity windows, so no --not-before: the new key "
                   "is appended as the next key and seals from the following rotation";
        if (o->keep < 2)
            return "a HAProxy rotation appends the new key after the last one, which then "
                   "seals (as the penultimate): keep at least 2 keys (--keep 2 or more)";
        return NULL;
    default:
        return NULL;
    }
}

static int cmd_rotate(apr_pool_t *p, const options *o)
{
    apr_time_t now = apr_time_now(), from = now;
    unsigned char *data;
    apr_size_t len;
    tk_format_e from_fmt = o->format;
    tk_ring_t ring, got;
    plan_t plan;
    tk_key_t fresh;
    const char *why;
    unsigned int i, n, first_kept;
    int rc;

    if (o->not_before && parse_when(o->not_before, now, &from) != APR_SUCCESS)
        return fail(NULL, apr_psprintf(p, "--not-before: '%s' is neither +DURATION nor a time",
                                       o->not_before));
    /* A file holds whole seconds: the time read back must be the time written. */
    from = apr_time_from_sec(apr_time_sec(from));
    memset(&fresh, 0, sizeof(fresh));
    if (tk_keyfile_read(p, o->file, &data, &len, &why) != APR_SUCCESS ||
        tk_keyfile_parse(p, data, len, o->format, now, &ring, &why) != APR_SUCCESS)
        return fail(o->file, why);
    if (from_fmt == TK_FORMAT_AUTO)
        from_fmt = settled_format(data, len, &ring, &why);
    if (from_fmt == TK_FORMAT_AUTO) {
        tk_ring_wipe(&ring);
        return fail(o->file, why);
    }
    memset(&plan, 0, sizeof(plan));
    plan.format = o->to != TK_FORMAT_AUTO ? o->to : from_fmt;
    /* httpd reads the file as its directive says: under auto a raw or text file is read
     * right whatever it was; a named format must then be the one written. */
    plan.reread = o->format == TK_FORMAT_AUTO ? TK_FORMAT_AUTO : plan.format;
    why = cannot_rotate(o, from_fmt, plan.format);
    if (why == NULL &&
        tk_key_generate(&fresh, o->size ? o->size : tk_ring_sealing_key(&ring, now)->size) !=
            APR_SUCCESS)
        why = "the random generator failed";
    if (why) {
        tk_ring_wipe(&ring);
        return fail(o->file, why);
    }
    if (plan.format == TK_FORMAT_HAPROXY) {
        /* HAProxy's order: old keys, the sealing (penultimate) key, the next key.  The new
         * key goes last; the former last, known to every server since the previous
         * rotation, becomes the penultimate and seals; the oldest go. */
        n = tk_ring_size(&ring);
        first_kept = n > o->keep - 1 ? n - (o->keep - 1) : 0;
        for (i = first_kept; i < n; i++)
            tk_ring_add(&plan.keys, tk_ring_key(&ring, i));
        tk_ring_add(&plan.keys, &fresh);
        plan.sealing = tk_ring_size(&plan.keys) - 2;
    } else {
        /* The new key first, then the newest old ones.  In a text file the new key says
         * from when it seals: it then wins over older keys whatever their windows; in raw
         * and nginx files the first key seals. */
        if (plan.format == TK_FORMAT_TEXT)
            fresh.not_before = from;
        tk_ring_add(&plan.keys, &fresh);
        for (i = 0; i < tk_ring_size(&ring) && tk_ring_size(&plan.keys) < o->keep; i++)
            tk_ring_add(&plan.keys, tk_ring_key(&ring, i));
        plan.sealing = 0;
        plan.at = from > now ? from : TK_TIME_NONE;
    }
    rc = write_keys(p, o->file, &plan, data, len, &got);
    if (rc == 0) {
        if (o->format != TK_FORMAT_AUTO && plan.format != o->format)
            fprintf(
                stderr,
                "tls-ticket-keys: %s: now in the %s format: give SSLTicketKeyFile the format "
                "%s (or auto)\n",
                o->file, tk_format_name(plan.format), tk_format_name(plan.format));
        print_keys(&got);
    }
    OPENSSL_cleanse(&fresh, sizeof(fresh));
    tk_ring_wipe(&ring);
    tk_ring_wipe(&plan.keys);
    tk_ring_wipe(&got);
    return rc;
}

static int cmd_list(apr_pool_t *p, const options *o)
{
    tk_ring_t ring;
    tk_format_e fmt;

    if (!read_keys(p, o->file, o->format, &ring, &fmt))
        return 1;
    printf("%s: %s format, %u key(s)\n", o->file, tk_format_name(fmt), tk_ring_size(&ring));
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
    printf("%s: ok: %u key(s), %s format, sealing with key %s\n", o->file, tk_ring_size(&ring),
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
        {"to", 8, 1, "format a rotation converts the file to"},
        {NULL, 0, 0, NULL},
    };
    options o = {NULL, TK_FORMAT_AUTO, TK_FORMAT_AUTO, 0, 1, DEFAULT_KEEP, NULL, 0};
    const char *cmd, *arg;
    apr_getopt_t *g;
    apr_pool_t *p;
    apr_status_t rv;
    int opt, rc;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("tls-ticket-keys %s\n", TK_VERSION);
        return 0;
    }
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
        case 8:
            if (tk_format_from_name(arg, &o.to) != APR_SUCCESS ||
                (o.to != TK_FORMAT_TEXT && o.to != TK_FORMAT_RAW))
                return fail(NULL,
                            apr_psprintf(p, "--to: '%s': a rotation converts to text or raw",
                                         arg)) +
                       1;
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
