/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd core's Host routing written plainly (server/vhost.c, util.c), the model both the
 * unit tests (test_route.c) and the fuzz target (fuzz/fuzz_sni_route.c) check the router
 * (sni_route.c) against.  Slow on purpose: no index, recursion for globs.
 */
#ifndef ROUTE_MODEL_H
#define ROUTE_MODEL_H

#include <string.h>
#include <strings.h>

#include <apr_lib.h>

#define ROUTE_MODEL_NAMES 4
#define ROUTE_MODEL_GLOBS 4

/* A vhost as core sees it; NULL (or "") for what it lacks. */
typedef struct {
    const char *names[ROUTE_MODEL_NAMES]; /* ServerName and exact aliases */
    const char *globs[ROUTE_MODEL_GLOBS];
    const char *address; /* a <VirtualHost> address text */
    const char *path;    /* ServerPath */
} route_model_vhost;

/* ap_strcasecmp_match(): '*' any run of characters, '?' one, case-insensitive. */
static inline int route_model_glob(const char *s, const char *p)
{
    if (*p == '\0')
        return *s == '\0';
    if (*p == '*')
        return route_model_glob(s, p + 1) || (*s && route_model_glob(s + 1, p));
    return *s && (*p == '?' || apr_tolower(*p) == apr_tolower(*s)) &&
           route_model_glob(s + 1, p + 1);
}

static inline int route_model_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Every vhost in order, its names, then its globs; the first match wins; else the first
 * address text equal to the Host; else -1. */
static inline int route_model_host(const route_model_vhost *v, int n, const char *host)
{
    int i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < ROUTE_MODEL_NAMES; j++)
            if (route_model_set(v[i].names[j]) && !strcasecmp(host, v[i].names[j]))
                return i;
        for (j = 0; j < ROUTE_MODEL_GLOBS; j++)
            if (route_model_set(v[i].globs[j]) && route_model_glob(host, v[i].globs[j]))
                return i;
    }
    for (i = 0; i < n; i++)
        if (route_model_set(v[i].address) && !strcasecmp(host, v[i].address))
            return i;
    return -1;
}

/* The first vhost whose ServerPath prefixes the URI at a segment boundary, or -1. */
static inline int route_model_path(const route_model_vhost *v, int n, const char *uri)
{
    int i;

    for (i = 0; i < n; i++) {
        size_t len = v[i].path ? strlen(v[i].path) : 0;

        if (len && !strncmp(uri, v[i].path, len) &&
            (v[i].path[len - 1] == '/' || uri[len] == '/' || uri[len] == '\0'))
            return i;
    }
    return -1;
}

#endif
