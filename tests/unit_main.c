/* SPDX-License-Identifier: Apache-2.0 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "unit.h"

int unit_failures;
int unit_checks;
apr_pool_t *unit_pool;
apr_pool_t *unit_pool_global;
static int tests_run, tests_failed;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}
static char *tmpdir;

const char *unit_path(const char *name)
{
    return apr_pstrcat(unit_pool_global, tmpdir, "/", name, NULL);
}

void unit_run(const char *name, unit_test_fn fn)
{
    int before = unit_failures;

    fn();
    apr_pool_clear(unit_pool);
    tests_run++;
    if (unit_failures != before)
        tests_failed++;
    printf("%s %d - %s\n", unit_failures == before ? "ok" : "not ok", tests_run, name);
}

int main(void)
{
    apr_app_initialize(NULL, NULL, NULL);
    apr_pool_create(&unit_pool_global, NULL);
    apr_pool_create(&unit_pool, NULL);
    tmpdir = apr_pstrcat(unit_pool_global, getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
                         "/tk-unit-XXXXXX", NULL);
    if (mkdtemp(tmpdir) == NULL) {
        perror("unit-tests: mkdtemp");
        return 2;
    }
    keyfile_tests();
    ring_tests();
    store_tests();
    watch_tests();
    ticket_tests();
    sni_tests();
    route_tests();
    farm_tests();
    printf("1..%d\n# %d tests, %d checks, %d tests failed\n", tests_run, tests_run, unit_checks,
           tests_failed);
    nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    apr_terminate();
    return tests_failed ? 1 : 0;
}
