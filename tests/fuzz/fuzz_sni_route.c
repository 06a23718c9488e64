/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the Host router (sni_route.c) against httpd core's rule written
 * plainly.  The input is lines: the first is the Host, the second a URI for ServerPath;
 * then "V" starts the next vhost, "N..." adds a ServerName or exact ServerAlias, "G..." a
 * glob ServerAlias, "A..." a <VirtualHost> address text, "P..." a ServerPath.  Beyond
 * crashes and sanitizer reports, the router must pick the vhost core's scan picks, for the
 * Host and for the URI.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_pools.h>

#include "../route_model.h"
#include "sni_route.h"

#define MAX_VHOSTS 8
#define MAX_ITEMS  ROUTE_MODEL_NAMES /* of each kind, per vhost */
#define MAX_TEXT   24                /* bytes of a name, glob, address, path, Host or URI */
#define MAX_STARS  3                 /* the model's glob match is exponential in the stars */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    char names[MAX_ITEMS][MAX_TEXT + 1], globs[MAX_ITEMS][MAX_TEXT + 1];
    char address[MAX_TEXT + 1], path[MAX_TEXT + 1];
    int nnames, nglobs;
} vhost;

static int stars(const char *s)
{
    int n = 0;

    while ((s = strchr(s, '*')) != NULL && ++n)
        s++;
    return n;
}

/* The next line, copied (NUL bytes and over-long lines end the input). */
static int next_line(const uint8_t **data, size_t *size, char out[MAX_TEXT + 1])
{
    const uint8_t *nl = memchr(*data, '\n', *size);
    size_t len = nl ? (size_t)(nl - *data) : *size;

    if (*size == 0 || len > MAX_TEXT || memchr(*data, '\0', len))
        return 0;
    memcpy(out, *data, len);
    out[len] = '\0';
    *data += nl ? len + 1 : len;
    *size -= nl ? len + 1 : len;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *root;
    static vhost v[MAX_VHOSTS];
    static route_model_vhost m[MAX_VHOSTS];
    char host[MAX_TEXT + 1], uri[MAX_TEXT + 1], line[MAX_TEXT + 1];
    int ids[MAX_VHOSTS], n = 0, i, j, *got;
    sni_router_builder_t *b;
    const sni_router_t *rt;
    sni_route_e how;
    apr_pool_t *p;

    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    memset(v, 0, sizeof(v));
    if (!next_line(&data, &size, host) || !next_line(&data, &size, uri) || host[0] == '\0')
        return 0;
    while (next_line(&data, &size, line)) {
        vhost *cur = n ? &v[n - 1] : NULL;

        if (line[0] == 'V' && n < MAX_VHOSTS)
            n++;
        else if (cur == NULL || line[1] == '\0')
            continue;
        else if (line[0] == 'N' && cur->nnames < MAX_ITEMS)
            strcpy(cur->names[cur->nnames++], line + 1);
        else if (line[0] == 'G' && cur->nglobs < MAX_ITEMS && stars(line) <= MAX_STARS)
            strcpy(cur->globs[cur->nglobs++], line + 1);
        else if (line[0] == 'A')
            strcpy(cur->address, line + 1);
        else if (line[0] == 'P')
            strcpy(cur->path, line + 1);
    }
    if (n == 0)
        return 0;

    apr_pool_create(&p, root);
    b = sni_router_builder_create(p);
    for (i = 0; i < n; i++) {
        ids[i] = i;
        sni_router_add_vhost(b, &ids[i]);
        for (j = 0; j < v[i].nnames; j++)
            sni_router_add_name(b, v[i].names[j]);
        for (j = 0; j < v[i].nglobs; j++)
            sni_router_add_glob(b, v[i].globs[j]);
        if (v[i].address[0])
            sni_router_add_address(b, v[i].address);
        if (v[i].path[0])
            sni_router_add_path(b, v[i].path);
    }
    rt = sni_router_build(b);
    if (sni_router_vhosts(rt) != (apr_size_t)n)
        abort();
    for (i = 0; i < n; i++) {
        for (j = 0; j < MAX_ITEMS; j++) {
            m[i].names[j] = j < v[i].nnames ? v[i].names[j] : NULL;
            m[i].globs[j] = j < v[i].nglobs ? v[i].globs[j] : NULL;
        }
        m[i].address = v[i].address;
        m[i].path = v[i].path;
    }
    got = sni_router_host(rt, host, 1, &how);
    if ((got ? *got : -1) != route_model_host(m, n, host) ||
        (got == NULL) != (how == SNI_ROUTE_NONE))
        abort();
    got = sni_router_path(rt, uri);
    if ((got ? *got : -1) != route_model_path(m, n, uri))
        abort();
    apr_pool_destroy(p);
    return 0;
}
