/* SPDX-License-Identifier: Apache-2.0 */
/* TLS server names as RFC 6066 asks, configured patterns, and the name index. */
#include "unit.h"

#include <apr_strings.h>

#include "sni_index.h"
#include "sni_name.h"

static char normalized[SNI_NAME_MAX + 1];

/* Normalises a NUL-terminated name into `normalized`. */
static sni_name_e normalize(const char *raw)
{
    apr_size_t len;

    return sni_name_normalize(raw, strlen(raw), normalized, &len, NULL);
}

/* A name of n octets: labels of 63 'a' (and a shorter last one) joined by dots. */
static const char *long_name(apr_size_t n)
{
    char *s = apr_palloc(unit_pool, n + 1);
    apr_size_t i;

    for (i = 0; i < n; i++)
        s[i] = (i % 64 == 63) ? '.' : 'a';
    if (s[n - 1] == '.')
        s[n - 1] = 'b';
    s[n] = '\0';
    return s;
}

static void names_are_lower_case_without_one_trailing_dot(void)
{
    apr_size_t len;

    CHECK(normalize("WWW.Example.COM") == SNI_NAME_OK);
    CHECK_STR(normalized, "www.example.com");
    CHECK(normalize("www.example.com.") == SNI_NAME_OK);
    CHECK_STR(normalized, "www.example.com");
    CHECK(sni_name_normalize("A-1.b.", 6, normalized, &len, NULL) == SNI_NAME_OK && len == 5);
    CHECK_STR(normalized, "a-1.b");
    CHECK(normalize("localhost") == SNI_NAME_OK);
    CHECK(normalize("xn--bcher-kva.example") == SNI_NAME_OK);
}

static void two_trailing_dots_and_empty_labels_are_malformed(void)
{
    const char *why = NULL;
    apr_size_t len;

    CHECK(normalize("www.example.com..") == SNI_NAME_MALFORMED);
    CHECK(normalize("www..example.com") == SNI_NAME_MALFORMED);
    CHECK(normalize(".example.com") == SNI_NAME_MALFORMED);
    CHECK(normalize(".") == SNI_NAME_MALFORMED);
    CHECK(sni_name_normalize("a..b", 4, normalized, &len, &why) == SNI_NAME_MALFORMED);
    CHECK_STR(why, "it has an empty label");
    CHECK(sni_name_normalize("", 0, normalized, &len, &why) == SNI_NAME_MALFORMED);
    CHECK_STR(why, "it is empty");
    CHECK(len == 0 && normalized[0] == '\0');
}

static void ip_literals_are_not_names(void)
{
    const char *why = NULL;
    apr_size_t len;

    CHECK(normalize("10.0.0.1") == SNI_NAME_IP_LITERAL);
    CHECK(normalize("127.1") == SNI_NAME_IP_LITERAL);
    CHECK(normalize("192.168.1.1.") == SNI_NAME_IP_LITERAL);
    CHECK(normalize("::1") == SNI_NAME_IP_LITERAL);
    CHECK(normalize("[2001:db8::1]") == SNI_NAME_IP_LITERAL);
    CHECK(normalize("fe80::1%eth0") == SNI_NAME_IP_LITERAL);
    CHECK(normalize("::ffff:10.0.0.1") == SNI_NAME_IP_LITERAL);
    CHECK(sni_name_normalize("10.0.0.1", 8, normalized, &len, &why) == SNI_NAME_IP_LITERAL);
    CHECK_STR(why, "it is an IPv4 address");
    /* a digit-only label is fine anywhere but last */
    CHECK(normalize("1.example.com") == SNI_NAME_OK);
    CHECK(normalize("123.456.com") == SNI_NAME_OK);
}

static void characters_outside_letters_digits_hyphen_dot_are_malformed(void)
{
    const char *why = NULL;
    apr_size_t len;

    CHECK(normalize("under_score.example.com") == SNI_NAME_MALFORMED);
    CHECK(normalize("sp ace.example.com") == SNI_NAME_MALFORMED);
    CHECK(normalize("b\xc3\xbc"
                    "cher.example") == SNI_NAME_MALFORMED);
    CHECK(normalize("a:b.example") == SNI_NAME_MALFORMED);
    CHECK(normalize("*.example.com") == SNI_NAME_MALFORMED);
    CHECK(sni_name_normalize("ex\0ample.com", 12, normalized, &len, &why) ==
          SNI_NAME_MALFORMED);
    CHECK_STR(why, "it holds a character other than a letter, a digit, a hyphen or a dot");
}

static void labels_are_at_most_63_octets(void)
{
    const char *why = NULL;
    char label[80];
    apr_size_t len;

    memset(label, 'x', sizeof(label));
    memcpy(label + 63, ".com", 5);
    CHECK(normalize(label) == SNI_NAME_OK);
    label[63] = 'x';
    memcpy(label + 64, ".com", 5);
    CHECK(sni_name_normalize(label, 68, normalized, &len, &why) == SNI_NAME_MALFORMED);
    CHECK_STR(why, "it has a label longer than 63 octets");
}

static void names_are_at_most_253_octets(void)
{
    const char *why = NULL;
    const char *name253 = long_name(253), *name254 = long_name(254);
    apr_size_t len;

    CHECK(normalize(name253) == SNI_NAME_OK && strlen(normalized) == 253);
    CHECK(normalize(apr_pstrcat(unit_pool, name253, ".", NULL)) == SNI_NAME_OK);
    CHECK(sni_name_normalize(name254, 254, normalized, &len, &why) == SNI_NAME_MALFORMED);
    CHECK_STR(why, "it is longer than 253 octets");
    CHECK(normalize(long_name(5000)) == SNI_NAME_MALFORMED);
}

static void configured_patterns(void)
{
    sni_pattern_e kind;
    const char *text = NULL, *why = NULL;

    CHECK(sni_pattern_parse(unit_pool, "WWW.Example.com.", 0, &kind, &text, &why) ==
          APR_SUCCESS);
    CHECK(kind == SNI_PATTERN_EXACT);
    CHECK_STR(text, "www.example.com");
    CHECK(sni_pattern_parse(unit_pool, "*.Example.com", 0, &kind, &text, &why) == APR_SUCCESS);
    CHECK(kind == SNI_PATTERN_WILDCARD);
    CHECK_STR(text, "*.example.com");
    CHECK(sni_pattern_parse(unit_pool, "www?.Ex*.com", 1, &kind, &text, &why) == APR_SUCCESS);
    CHECK(kind == SNI_PATTERN_GLOB);
    CHECK_STR(text, "www?.ex*.com");

    CHECK(sni_pattern_parse(unit_pool, "www*.example.com", 0, &kind, &text, &why) ==
          APR_EINVAL);
    CHECK_STR(why, "a star may only stand for the whole first label, as in *.example.com");
    CHECK(sni_pattern_parse(unit_pool, "*.*.example.com", 0, &kind, &text, &why) == APR_EINVAL);
    CHECK(sni_pattern_parse(unit_pool, "10.0.0.1", 0, &kind, &text, &why) == APR_EINVAL);
    CHECK_STR(why, "it is an IPv4 address");
    CHECK(sni_pattern_parse(unit_pool, "*.0.0.1", 0, &kind, &text, &why) == APR_EINVAL);
    CHECK(sni_pattern_parse(unit_pool, "*.", 0, &kind, &text, &why) == APR_EINVAL);
    CHECK(sni_pattern_parse(unit_pool, "bad_name.com", 0, &kind, &text, &why) == APR_EINVAL);
    CHECK(sni_pattern_parse(unit_pool, "bad_*.com", 1, &kind, &text, &why) == APR_EINVAL);

    CHECK(sni_pattern_is_wildcard("*.Example.com"));
    CHECK(!sni_pattern_is_wildcard("*.bad_name.com"));
    CHECK(!sni_pattern_is_wildcard("*.*.example.com"));
    CHECK(!sni_pattern_is_wildcard("www.example.com"));
    CHECK(!sni_pattern_is_wildcard("*example.com"));
}

/* The server_name extension: a 2-byte list length, then entries of a type byte and a
 * 2-byte length. */
static void host_name_is_found_in_the_server_name_extension(void)
{
    static const unsigned char one[] = {0,   14,  0,   0,   11,  'e', 'x', 'a',
                                        'm', 'p', 'l', 'e', '.', 'c', 'o', 'm'};
    const unsigned char *name = NULL;
    apr_size_t len = 0;

    CHECK(sni_server_name_from_ext(one, sizeof(one), &name, &len) == 1);
    CHECK(len == 11 && memcmp(name, "example.com", 11) == 0);
}

static int from_ext(const unsigned char *ext, apr_size_t extlen)
{
    const unsigned char *name = NULL;
    apr_size_t len = 0;

    return sni_server_name_from_ext(ext, extlen, &name, &len);
}

/* Whatever OpenSSL would refuse with decode_error after the ClientHello callback. */
static void a_malformed_server_name_extension_holds_no_name(void)
{
    static const unsigned char one[] = {0, 4, 0, 0, 1, 'x'};
    static const unsigned char empty_list[] = {0, 0};
    static const unsigned char empty_name[] = {0, 3, 0, 0, 0};
    static const unsigned char list_too_long[] = {0, 5, 0, 0, 1, 'x'};
    static const unsigned char list_too_short[] = {0, 3, 0, 0, 1, 'x'};
    static const unsigned char after_the_list[] = {0, 4, 0, 0, 1, 'x', 'y'};
    static const unsigned char after_the_name[] = {0, 5, 0, 0, 1, 'x', 'y'};
    static const unsigned char name_too_long[] = {0, 4, 0, 0, 2, 'x'};
    static const unsigned char other_type[] = {0, 4, 1, 0, 1, 'x'};
    static const unsigned char other_first[] = {0, 8, 7, 0, 1, 'x', 0, 0, 1, 'y'};
    static const unsigned char other_last[] = {0, 8, 0, 0, 1, 'x', 7, 0, 1, 'y'};
    static const unsigned char two_names[] = {0, 8, 0, 0, 1, 'x', 0, 0, 1, 'y'};
    static const unsigned char cut_entry[] = {0, 6, 0, 0, 1, 'x', 0, 0};

    CHECK(from_ext(one, sizeof(one)) == 1);
    CHECK(from_ext(one, 0) == 0);
    CHECK(from_ext(one, 1) == 0);
    CHECK(from_ext(one, sizeof(one) - 1) == 0);
    CHECK(from_ext(empty_list, sizeof(empty_list)) == 0);
    CHECK(from_ext(empty_name, sizeof(empty_name)) == 0);
    CHECK(from_ext(list_too_long, sizeof(list_too_long)) == 0);
    CHECK(from_ext(list_too_short, sizeof(list_too_short)) == 0);
    CHECK(from_ext(after_the_list, sizeof(after_the_list)) == 0);
    CHECK(from_ext(after_the_name, sizeof(after_the_name)) == 0);
    CHECK(from_ext(name_too_long, sizeof(name_too_long)) == 0);
    CHECK(from_ext(other_type, sizeof(other_type)) == 0);
    CHECK(from_ext(other_first, sizeof(other_first)) == 0);
    CHECK(from_ext(other_last, sizeof(other_last)) == 0);
    CHECK(from_ext(two_names, sizeof(two_names)) == 0);
    CHECK(from_ext(cut_entry, sizeof(cut_entry)) == 0);
}

static void received_names_are_made_printable_and_cut(void)
{
    char buf[SNI_PRINTABLE_SIZE];
    char raw[300];
    const char *out;

    CHECK_STR(sni_name_printable(buf, "www.example.com", 15), "www.example.com");
    CHECK_STR(sni_name_printable(buf, "a\nb\x01\"'\\\xff%", 9), "a%0Ab%01%22%27%5C%FF%25");
    CHECK_STR(sni_name_printable(buf, "a b", 3), "a%20b");
    memset(raw, 'n', sizeof(raw));
    out = sni_name_printable(buf, raw, sizeof(raw));
    CHECK(strlen(out) == SNI_PRINTABLE_SIZE - 1);
    CHECK(strcmp(out + strlen(out) - 3, "...") == 0);
    /* a name that fits exactly is not cut */
    out = sni_name_printable(buf, raw, SNI_PRINTABLE_SIZE - 1);
    CHECK(strlen(out) == SNI_PRINTABLE_SIZE - 1 && out[strlen(out) - 1] == 'n');
    memset(raw, '\x01', sizeof(raw));
    out = sni_name_printable(buf, raw, sizeof(raw));
    CHECK(strlen(out) == 3 * 32 + 3 && strcmp(out + strlen(out) - 3, "...") == 0);
}

/* Targets are vhosts to the module; here, named integers. */
static int vhost_a, vhost_b, vhost_c, vhost_d;

static void *lookup(const sni_index_t *ix, const char *name, sni_match_e *how)
{
    return sni_index_lookup(ix, name, strlen(name), how);
}

static const sni_index_t *index_of(const char *const *names, void *const *targets)
{
    sni_index_builder_t *b = sni_index_builder_create(unit_pool);
    const char *why;
    void *owner;

    for (; *names; names++, targets++)
        CHECK(sni_index_add(b, *names, *targets, &owner, &why) == APR_SUCCESS);
    return sni_index_build(b);
}

static void exact_beats_an_earlier_wildcard_and_globs(void)
{
    static const char *const names[] = {"*.example.com", "w*.example.com", "www.example.com",
                                        NULL};
    void *const targets[] = {&vhost_a, &vhost_b, &vhost_c};
    const sni_index_t *ix = index_of(names, targets);
    sni_match_e how;

    CHECK(lookup(ix, "www.example.com", &how) == &vhost_c && how == SNI_MATCH_EXACT);
    CHECK(lookup(ix, "wow.example.com", &how) == &vhost_a && how == SNI_MATCH_WILDCARD);
    CHECK(lookup(ix, "w.x.example.com", &how) == &vhost_b && how == SNI_MATCH_GLOB);
}

static void a_wildcard_stands_for_exactly_one_label(void)
{
    static const char *const names[] = {"*.example.com", NULL};
    void *const targets[] = {&vhost_a};
    const sni_index_t *ix = index_of(names, targets);
    sni_match_e how;

    CHECK(lookup(ix, "a.example.com", &how) == &vhost_a && how == SNI_MATCH_WILDCARD);
    CHECK(lookup(ix, "a.b.example.com", &how) == NULL && how == SNI_MATCH_NONE);
    CHECK(lookup(ix, "example.com", &how) == NULL);
    CHECK(lookup(ix, "aexample.com", &how) == NULL);
    CHECK(lookup(ix, "a.example.co", &how) == NULL);
}

static void the_most_specific_wildcard_wins(void)
{
    static const char *const names[] = {"*.example.com", "*.b.example.com", NULL};
    void *const targets[] = {&vhost_a, &vhost_b};
    const sni_index_t *ix = index_of(names, targets);
    sni_match_e how;

    CHECK(lookup(ix, "a.b.example.com", &how) == &vhost_b && how == SNI_MATCH_WILDCARD);
    CHECK(lookup(ix, "b.example.com", &how) == &vhost_a && how == SNI_MATCH_WILDCARD);
}

static void globs_match_in_the_order_added_after_wildcards(void)
{
    static const char *const names[] = {"www?.example.*", "*.example.org", "*", "*.example.net",
                                        NULL};
    void *const targets[] = {&vhost_a, &vhost_b, &vhost_c, &vhost_d};
    const sni_index_t *ix = index_of(names, targets);
    sni_match_e how;

    CHECK(lookup(ix, "www1.example.org", &how) == &vhost_b && how == SNI_MATCH_WILDCARD);
    CHECK(lookup(ix, "www1.example.com", &how) == &vhost_a && how == SNI_MATCH_GLOB);
    CHECK(lookup(ix, "www12.example.com", &how) == &vhost_c && how == SNI_MATCH_GLOB);
    CHECK(lookup(ix, "a.b.example.net", &how) == &vhost_c && how == SNI_MATCH_GLOB);
    CHECK(lookup(ix, "a.example.net", &how) == &vhost_d && how == SNI_MATCH_WILDCARD);
}

static void glob_stars_and_question_marks(void)
{
    static const char *const names[] = {"a*b*c.test", "??.test", NULL};
    void *const targets[] = {&vhost_a, &vhost_b};
    const sni_index_t *ix = index_of(names, targets);
    sni_match_e how;

    CHECK(lookup(ix, "abc.test", &how) == &vhost_a);
    CHECK(lookup(ix, "axxbyyc.test", &how) == &vhost_a);
    CHECK(lookup(ix, "a.b.c.test", &how) == &vhost_a);
    CHECK(lookup(ix, "acb.test", &how) == NULL);
    CHECK(lookup(ix, "xy.test", &how) == &vhost_b);
    CHECK(lookup(ix, "x.test", &how) == NULL);
    CHECK(lookup(ix, "xyz.test", &how) == NULL);
}

static void the_first_vhost_keeps_a_name_given_twice(void)
{
    sni_index_builder_t *b = sni_index_builder_create(unit_pool);
    const sni_index_t *ix;
    const char *why = NULL;
    void *owner = NULL;
    sni_match_e how;

    CHECK(sni_index_add(b, "www.example.com", &vhost_a, &owner, &why) == APR_SUCCESS);
    CHECK(sni_index_add(b, "*.example.com", &vhost_a, &owner, &why) == APR_SUCCESS);
    CHECK(sni_index_add(b, "WWW.example.com.", &vhost_b, &owner, &why) == APR_EEXIST);
    CHECK(owner == &vhost_a);
    owner = NULL;
    CHECK(sni_index_add(b, "*.EXAMPLE.com", &vhost_b, &owner, &why) == APR_EEXIST);
    CHECK(owner == &vhost_a);
    CHECK(sni_index_add(b, "bad_name", &vhost_b, &owner, &why) == APR_EINVAL);
    CHECK(why != NULL);
    ix = sni_index_build(b);
    CHECK(lookup(ix, "www.example.com", &how) == &vhost_a);
    CHECK(sni_index_count(ix, SNI_PATTERN_EXACT) == 1);
    CHECK(sni_index_count(ix, SNI_PATTERN_WILDCARD) == 1);
    CHECK(sni_index_count(ix, SNI_PATTERN_GLOB) == 0);
}

static void an_empty_index_matches_nothing(void)
{
    const sni_index_t *ix = sni_index_build(sni_index_builder_create(unit_pool));
    sni_match_e how = SNI_MATCH_EXACT;

    CHECK(lookup(ix, "www.example.com", &how) == NULL && how == SNI_MATCH_NONE);
    CHECK(lookup(ix, "com", &how) == NULL);
}

#define MANY 10000

static void ten_thousand_names_are_all_found(void)
{
    sni_index_builder_t *b = sni_index_builder_create(unit_pool);
    static int vhosts[MANY];
    const sni_index_t *ix;
    const char *why;
    void *owner;
    sni_match_e how;
    int i, found = 0;

    for (i = 0; i < MANY; i++) {
        const char *name = apr_psprintf(unit_pool, "vhost-%d.example.com", i);

        CHECK(sni_index_add(b, name, &vhosts[i], &owner, &why) == APR_SUCCESS);
        CHECK(sni_index_add(b, apr_psprintf(unit_pool, "*.w%d.example.net", i), &vhosts[i],
                            &owner, &why) == APR_SUCCESS);
    }
    ix = sni_index_build(b);
    CHECK(sni_index_count(ix, SNI_PATTERN_EXACT) == MANY);
    for (i = 0; i < MANY; i++) {
        char name[64];

        apr_snprintf(name, sizeof(name), "vhost-%d.example.com", i);
        found += lookup(ix, name, &how) == &vhosts[i] && how == SNI_MATCH_EXACT;
        apr_snprintf(name, sizeof(name), "www.w%d.example.net", i);
        found += lookup(ix, name, &how) == &vhosts[i] && how == SNI_MATCH_WILDCARD;
    }
    CHECK(found == 2 * MANY);
    CHECK(lookup(ix, "vhost-10000.example.com", &how) == NULL);
    CHECK(lookup(ix, "vhost-1.example.co", &how) == NULL);
    CHECK(lookup(ix, "a.b.w1.example.net", &how) == NULL);
}

void sni_tests(void)
{
    RUN(names_are_lower_case_without_one_trailing_dot);
    RUN(two_trailing_dots_and_empty_labels_are_malformed);
    RUN(ip_literals_are_not_names);
    RUN(characters_outside_letters_digits_hyphen_dot_are_malformed);
    RUN(labels_are_at_most_63_octets);
    RUN(names_are_at_most_253_octets);
    RUN(configured_patterns);
    RUN(host_name_is_found_in_the_server_name_extension);
    RUN(a_malformed_server_name_extension_holds_no_name);
    RUN(received_names_are_made_printable_and_cut);
    RUN(exact_beats_an_earlier_wildcard_and_globs);
    RUN(a_wildcard_stands_for_exactly_one_label);
    RUN(the_most_specific_wildcard_wins);
    RUN(globs_match_in_the_order_added_after_wildcards);
    RUN(glob_stars_and_question_marks);
    RUN(the_first_vhost_keeps_a_name_given_twice);
    RUN(an_empty_index_matches_nothing);
    RUN(ten_thousand_names_are_all_found);
}
