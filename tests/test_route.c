/* SPDX-License-Identifier: Apache-2.0 */
/* The Host router: the vhost httpd core's scan would choose, without the scan. */
#include "unit.h"

#include <stdlib.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "route_model.h"
#include "sni_route.h"

static const sni_router_t *build(const route_model_vhost *v, int n, int *ids)
{
    sni_router_builder_t *b = sni_router_builder_create(unit_pool);
    int i, j;

    for (i = 0; i < n; i++) {
        ids[i] = i;
        sni_router_add_vhost(b, &ids[i]);
        for (j = 0; j < ROUTE_MODEL_NAMES; j++)
            sni_router_add_name(b, v[i].names[j]);
        for (j = 0; j < ROUTE_MODEL_GLOBS; j++)
            sni_router_add_glob(b, v[i].globs[j]);
        sni_router_add_address(b, v[i].address);
        sni_router_add_path(b, v[i].path);
    }
    return sni_router_build(b);
}

static int route(const sni_router_t *rt, const char *host, sni_route_e *how)
{
    int *id = sni_router_host(rt, host, 1, how);

    return id ? *id : -1;
}

static void the_first_vhost_in_order_wins_as_in_core(void)
{
    route_model_vhost v[] = {
        {{"default.test"}, {NULL}, "*", NULL},
        {{"a.test"}, {"*.wild.test"}, "*", NULL},
        {{"www.wild.test", "WWW.Other.Test"}, {NULL}, "*", NULL},
        {{"g.test"}, {"g?.glob.test", "*x*"}, "*", NULL},
        {{"a.test"}, {"*.test"}, "*", NULL},
    };
    int ids[5];
    const sni_router_t *rt = build(v, 5, ids);
    sni_route_e how;

    CHECK(route(rt, "a.test", &how) == 1 && how == SNI_ROUTE_NAME);
    /* an earlier "*.domain" beats a later exact name, as in core */
    CHECK(route(rt, "www.wild.test", &how) == 1 && how == SNI_ROUTE_WILDCARD);
    /* and spans any number of labels */
    CHECK(route(rt, "a.b.wild.test", &how) == 1 && how == SNI_ROUTE_WILDCARD);
    CHECK(route(rt, "www.other.test", &how) == 2 && how == SNI_ROUTE_NAME);
    CHECK(route(rt, "g1.glob.test", &how) == 3 && how == SNI_ROUTE_GLOB);
    CHECK(route(rt, "box.test", &how) == 3 && how == SNI_ROUTE_GLOB);
    CHECK(route(rt, "b.test", &how) == 4 && how == SNI_ROUTE_WILDCARD);
    CHECK(route(rt, "nothing.org", &how) == -1 && how == SNI_ROUTE_NONE);
    CHECK(route(rt, "*", &how) == 0 && how == SNI_ROUTE_ADDRESS);
    CHECK(sni_router_vhosts(rt) == 5 && sni_router_scanned_globs(rt) == 2);
    /* without "*.domain" globs, for callers that matched them already */
    CHECK(sni_router_host(rt, "a.b.wild.test", 0, &how) == NULL);
    CHECK(sni_router_host(rt, "www.wild.test", 0, &how) == &ids[2]);
}

static void server_path_is_a_prefix_at_a_segment(void)
{
    route_model_vhost v[] = {
        {{"a.test"}, {NULL}, NULL, NULL},
        {{"b.test"}, {NULL}, NULL, "/b"},
        {{"c.test"}, {NULL}, NULL, "/c/"},
        {{"d.test"}, {NULL}, NULL, "/b/more"},
    };
    int ids[4];
    const sni_router_t *rt = build(v, 4, ids);

    CHECK(sni_router_path(rt, "/b") == &ids[1]);
    CHECK(sni_router_path(rt, "/b/more/x") == &ids[1]);
    CHECK(sni_router_path(rt, "/bx") == NULL);
    CHECK(sni_router_path(rt, "/c/x") == &ids[2]);
    CHECK(sni_router_path(rt, "/c") == NULL);
    CHECK(sni_router_path(rt, "/") == NULL);
}

static void a_vhost_added_twice_keeps_its_first_rank(void)
{
    sni_router_builder_t *b = sni_router_builder_create(unit_pool);
    int x = 1, y = 2, *got;
    const sni_router_t *rt;
    sni_route_e how;

    sni_router_add_vhost(b, &x);
    sni_router_add_name(b, "x.test");
    sni_router_add_vhost(b, &y);
    sni_router_add_glob(b, "*.test");
    sni_router_add_vhost(b, &x);
    sni_router_add_glob(b, "*.x.test");
    rt = sni_router_build(b);
    got = sni_router_host(rt, "a.x.test", 1, &how);
    CHECK(got == &x && sni_router_vhosts(rt) == 2);
}

static void a_long_host_of_dots_costs_no_more_than_the_longest_domain(void)
{
    sni_router_builder_t *b = sni_router_builder_create(unit_pool);
    char *host = apr_palloc(unit_pool, 8002);
    int x = 1;
    const sni_router_t *rt;
    sni_route_e how;
    int i;

    for (i = 0; i < 8000; i++)
        host[i] = i % 2 ? '.' : 'a';
    host[8000] = 'b'; /* "a.a. ... a.b" */
    host[8001] = '\0';
    sni_router_add_vhost(b, &x);
    sni_router_add_glob(b, "*.a.b");
    rt = sni_router_build(b);
    CHECK(sni_router_host(rt, host, 1, &how) == &x && how == SNI_ROUTE_WILDCARD);
    host[8000] = 'c';
    CHECK(sni_router_host(rt, host, 1, &how) == NULL);
}

/* Random vhosts and Hosts from a small alphabet, so that names, globs and Hosts meet. */
static const char *random_word(unsigned *seed, int glob)
{
    static const char *const parts[] = {"a", "b", "a.b", "x", "a-b", "B"};
    static const char *const globs[] = {"*", "?", "*.", ".*"};
    char buf[64] = "";
    int n = 1 + rand_r(seed) % 3, i;

    for (i = 0; i < n; i++) {
        if (i)
            strcat(buf, ".");
        if (glob && rand_r(seed) % 3 == 0)
            strcat(buf, globs[rand_r(seed) % 4]);
        else
            strcat(buf, parts[rand_r(seed) % 6]);
    }
    return apr_pstrdup(unit_pool, buf);
}

static void random_configurations_route_as_core_does(void)
{
    unsigned seed = 13;
    int round, mismatches = 0;

    for (round = 0; round < 300; round++) {
        route_model_vhost v[12];
        int ids[12], n = 1 + rand_r(&seed) % 12, i, j, k;
        const sni_router_t *rt;

        memset(v, 0, sizeof(v));
        for (i = 0; i < n; i++) {
            for (j = 0; j < 4; j++)
                v[i].names[j] = rand_r(&seed) % 2 ? random_word(&seed, 0) : NULL;
            for (j = 0; j < 3; j++)
                v[i].globs[j] = rand_r(&seed) % 3 == 0 ? random_word(&seed, 1) : NULL;
            v[i].address = rand_r(&seed) % 4 == 0 ? random_word(&seed, 0) : "*";
        }
        rt = build(v, n, ids);
        for (k = 0; k < 50; k++) {
            const char *host = random_word(&seed, 0);
            sni_route_e how;

            if (route(rt, host, &how) != route_model_host(v, n, host))
                mismatches++;
        }
    }
    CHECK(mismatches == 0);
}

void route_tests(void)
{
    RUN(the_first_vhost_in_order_wins_as_in_core);
    RUN(server_path_is_a_prefix_at_a_segment);
    RUN(a_vhost_added_twice_keeps_its_first_rank);
    RUN(a_long_host_of_dots_costs_no_more_than_the_longest_domain);
    RUN(random_configurations_route_as_core_does);
}
