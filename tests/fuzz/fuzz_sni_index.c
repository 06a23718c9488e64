/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the name index against a naive reference.  The input is up to 16
 * configured names, one a line, then a NUL and a server name.  The index is built from the
 * names, and its answer for the server name (which target, how matched) must be the
 * reference's: the first exact name equal to it, else the "*.rest" whose rest is the name
 * without its first label, else the first glob that matches, '?' one character and '*'
 * any run, dots included.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "sni_index.h"
#include "sni_name.h"

#define MAX_NAMES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    sni_pattern_e kind;
    const char *text;
} pattern;

static apr_pool_t *pool;

/* The textbook table: m[i][j] says whether the first i pattern characters match the first
 * j name characters.  Meant to be obviously right rather than fast. */
static int ref_glob(const char *pat, const char *name, apr_size_t len)
{
    static unsigned char m[SNI_NAME_MAX + 2][SNI_NAME_MAX + 2];
    apr_size_t plen = strlen(pat), i, j;

    if (plen > SNI_NAME_MAX || len > SNI_NAME_MAX)
        return 0;
    memset(m, 0, sizeof(m));
    m[0][0] = 1;
    for (i = 1; i <= plen; i++) {
        for (j = 0; j <= len; j++) {
            if (pat[i - 1] == '*')
                m[i][j] = m[i - 1][j] || (j > 0 && m[i][j - 1]);
            else
                m[i][j] = j > 0 && m[i - 1][j - 1] &&
                          (pat[i - 1] == '?' || pat[i - 1] == name[j - 1]);
        }
    }
    return m[plen][len];
}

static int reference(const pattern *pats, int n, const char *name, apr_size_t len,
                     sni_match_e *how)
{
    const char *dot = memchr(name, '.', len);
    int i;

    for (i = 0; i < n; i++)
        if (pats[i].kind == SNI_PATTERN_EXACT && strlen(pats[i].text) == len &&
            memcmp(pats[i].text, name, len) == 0) {
            *how = SNI_MATCH_EXACT;
            return i;
        }
    for (i = 0; dot && i < n; i++)
        if (pats[i].kind == SNI_PATTERN_WILDCARD && !strcmp(pats[i].text + 2, dot + 1)) {
            *how = SNI_MATCH_WILDCARD;
            return i;
        }
    for (i = 0; i < n; i++)
        if (pats[i].kind == SNI_PATTERN_GLOB && ref_glob(pats[i].text, name, len)) {
            *how = SNI_MATCH_GLOB;
            return i;
        }
    *how = SNI_MATCH_NONE;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, '\0', size);
    pattern pats[MAX_NAMES];
    int targets[MAX_NAMES], n = 0, want, i;
    char *names, *line, *last, name[SNI_NAME_MAX + 1];
    apr_size_t len;
    sni_index_builder_t *b;
    const sni_index_t *ix;
    sni_match_e how, ref_how;
    int *got;

    if (pool == NULL) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    if (sep == NULL || size - (size_t)(sep - data) - 1 > 300)
        return 0;
    if (sni_name_normalize((const char *)sep + 1, size - (size_t)(sep - data) - 1, name, &len,
                           NULL) != SNI_NAME_OK)
        return 0;
    b = sni_index_builder_create(pool);
    names = apr_pstrmemdup(pool, (const char *)data, (apr_size_t)(sep - data));
    for (line = apr_strtok(names, "\n", &last); line && n < MAX_NAMES;
         line = apr_strtok(NULL, "\n", &last)) {
        const char *why, *text;
        void *owner;
        sni_pattern_e kind;

        if (sni_pattern_parse(pool, line, 1, &kind, &text, &why) != APR_SUCCESS)
            continue;
        targets[n] = n;
        if (sni_index_add(b, line, &targets[n], &owner, &why) != APR_SUCCESS)
            continue; /* a duplicate: the first keeps it, as in the reference */
        pats[n].kind = kind;
        pats[n].text = text;
        n++;
    }
    ix = sni_index_build(b);
    got = sni_index_lookup(ix, name, len, &how);
    want = reference(pats, n, name, len, &ref_how);
    if ((got ? *got : -1) != want || how != ref_how)
        abort();
    for (i = 0; i < n; i++) /* every exact name finds itself */
        if (pats[i].kind == SNI_PATTERN_EXACT &&
            (got = sni_index_lookup(ix, pats[i].text, strlen(pats[i].text), &how)) !=
                &targets[i])
            abort();
    apr_pool_clear(pool);
    return 0;
}
