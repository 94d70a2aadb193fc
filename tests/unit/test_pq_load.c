/*
 * test_pq_load.c — what a PostgreSQL URL says when libpq cannot be loaded.
 * The library loads libpq with dlopen on first use (backends/postgres/
 * pq_api.h); this builds that loader aimed at a library name that does not
 * exist, the situation of a machine without libpq5 installed.
 */
#define RT_LIBPQ_SONAME "libretort-test-no-such-libpq.so.5"
#include "pq_api.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_a_missing_libpq_is_named_with_dlopens_reason(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(rt_pq_load(&why), 0);
    assert_non_null(why);
    assert_non_null(strstr(why, "PostgreSQL URLs need libpq"));
    assert_non_null(strstr(why, "libretort-test-no-such-libpq.so.5"));
    assert_non_null(strstr(why, "libpq5"));
    /* Asking again gives the same answer without trying again. */
    const char *again = NULL;
    assert_int_equal(rt_pq_load(&again), 0);
    assert_string_equal(again, why);
    assert_null(rt_pq.PQexec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_missing_libpq_is_named_with_dlopens_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
