/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal test harness: CHECK records a failure and goes on; a test is a function. */
#ifndef UNIT_H
#define UNIT_H

#include <stdio.h>
#include <string.h>

#include <apr_pools.h>

extern int unit_failures;
extern int unit_checks;
extern apr_pool_t *unit_pool;        /* cleared after each test */
extern apr_pool_t *unit_pool_global; /* lives as long as the run */

/* A path in this run's own temporary directory (made under $TMPDIR or /tmp, removed at the
 * end), so that two runs at once, or a run cut short, never meet. */
const char *unit_path(const char *name);

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        unit_checks++;                                                                         \
        if (!(cond)) {                                                                         \
            unit_failures++;                                                                   \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

#define CHECK_STR(got, want)                                                                   \
    do {                                                                                       \
        const char *got_ = (got), *want_ = (want);                                             \
        unit_checks++;                                                                         \
        if (got_ == NULL || strcmp(got_, want_) != 0) {                                        \
            unit_failures++;                                                                   \
            fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,            \
                    got_ ? got_ : "(null)", want_);                                            \
        }                                                                                      \
    } while (0)

typedef void (*unit_test_fn)(void);

/* Runs one test; prints "ok"/"not ok" with its name, TAP style. */
void unit_run(const char *name, unit_test_fn fn);
#define RUN(fn) unit_run(#fn, fn)

void keyfile_tests(void);
void ring_tests(void);
void store_tests(void);
void watch_tests(void);
void ticket_tests(void);
void sni_tests(void);
void route_tests(void);
void farm_tests(void);

#endif
