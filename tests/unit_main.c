#include "unit.h"

#include <apr_general.h>

int unit_failures;
int unit_checks;
apr_pool_t *unit_pool;
apr_pool_t *unit_pool_global;
static int tests_run, tests_failed;

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
    keyfile_tests();
    ring_tests();
    store_tests();
    watch_tests();
    ticket_tests();
    sni_tests();
    printf("1..%d\n# %d tests, %d checks, %d tests failed\n", tests_run, tests_run, unit_checks,
           tests_failed);
    apr_terminate();
    return tests_failed ? 1 : 0;
}
