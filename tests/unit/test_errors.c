/*
 * test_errors.c — status codes, retort_strerror(), and the per-context
 * message and code (lib/error.c): never NULL, cleared by a successful call,
 * set by a failing one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "retort/retort.h"

static int noop_step(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

static void test_status_codes_keep_their_published_values(void **state)
{
    (void)state;
    /* Codes are ABI: renumbering one breaks every binding. */
    assert_int_equal(RETORT_OK, 0);
    assert_int_equal(RETORT_ERROR, 1);
    assert_int_equal(RETORT_EINVAL, 2);
    assert_int_equal(RETORT_ENOMEM, 3);
    assert_int_equal(RETORT_EEXIST, 4);
    assert_int_equal(RETORT_EGRAPH, 5);
    assert_int_equal(RETORT_ETARGET, 6);
    assert_int_equal(RETORT_EURL, 7);
    assert_int_equal(RETORT_ECONNECT, 8);
    assert_int_equal(RETORT_EDB, 9);
    assert_int_equal(RETORT_EMIGRATION, 10);
    assert_int_equal(RETORT_EIRREVERSIBLE, 11);
    assert_int_equal(RETORT_EUNKNOWN, 12);
    assert_int_equal(RETORT_EDIRTY, 13);
    assert_int_equal(RETORT_ECHECKSUM, 14);
    assert_int_equal(RETORT_ELOCK, 15);
    assert_int_equal(RETORT_EOFFLINE, 16);
    assert_int_equal(RETORT_EIO, 17);
    assert_int_equal(RETORT_EPARSE, 18);
    assert_int_equal(RETORT_EMISUSE, 19);
    assert_int_equal(RETORT_ENOTFOUND, 20);
    assert_int_equal(RETORT_EPENDING, 21);
    assert_int_equal(RETORT_EBACKEND, 22);
    assert_int_equal(RETORT_ECHECKFAIL, 23);
}

/* The highest code this version knows; update with every new code. */
#define LAST_CODE RETORT_ECHECKFAIL

static void test_every_known_code_has_its_own_description(void **state)
{
    (void)state;
    const char *seen[LAST_CODE + 1];
    for (int code = RETORT_OK; code <= LAST_CODE; code++) {
        const char *s = retort_strerror(code);
        assert_non_null(s);
        if (!*s || strcmp(s, "unknown status") == 0)
            fail_msg("code %d has no description (\"%s\")", code, s);
        for (int j = 0; j < code; j++)
            if (strcmp(seen[j], s) == 0)
                fail_msg("codes %d and %d share the description \"%s\"", j, code, s);
        seen[code] = s;
    }
}

static void test_unknown_codes_are_described_as_unknown(void **state)
{
    (void)state;
    const int codes[] = {-1, 1000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = retort_strerror(codes[i]);
        assert_non_null(s);
        assert_string_equal(s, "unknown status");
    }
}

static void test_null_context_reports_out_of_memory(void **state)
{
    (void)state;
    assert_non_null(retort_errmsg(NULL));
    assert_string_equal(retort_errmsg(NULL), "out of memory");
    assert_int_equal(retort_errcode(NULL), RETORT_ENOMEM);
}

static void test_new_context_has_an_empty_message_and_ok_code(void **state)
{
    (void)state;
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "sqlite::memory:"), RETORT_OK);
    assert_non_null(retort_errmsg(r));
    assert_string_equal(retort_errmsg(r), "");
    assert_int_equal(retort_errcode(r), RETORT_OK);
    retort_free(r);
}

static void test_failure_sets_message_and_code_and_success_clears_them(void **state)
{
    (void)state;
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "sqlite::memory:"), RETORT_OK);
    assert_int_equal(retort_add(r, "bad id", NULL, NULL, noop_step, NULL, NULL), RETORT_EINVAL);
    assert_int_equal(retort_errcode(r), RETORT_EINVAL);
    assert_non_null(strstr(retort_errmsg(r), "bad id"));
    assert_int_equal(retort_add(r, "good_id", NULL, NULL, noop_step, NULL, NULL), RETORT_OK);
    assert_int_equal(retort_errcode(r), RETORT_OK);
    assert_string_equal(retort_errmsg(r), "");
    retort_free(r);
}

static void test_message_survives_until_the_next_call(void **state)
{
    (void)state;
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "sqlite::memory:"), RETORT_OK);
    assert_int_equal(retort_add(r, "dup", NULL, NULL, noop_step, NULL, NULL), RETORT_OK);
    assert_int_equal(retort_add(r, "dup", NULL, NULL, noop_step, NULL, NULL), RETORT_EEXIST);
    char first[256];
    snprintf(first, sizeof first, "%s", retort_errmsg(r));
    assert_non_null(strstr(first, "dup"));
    /* reading the message again (errmsg, errcode are not calls that reset) */
    assert_string_equal(retort_errmsg(r), first);
    assert_int_equal(retort_errcode(r), RETORT_EEXIST);
    retort_free(r);
}

static void test_free_of_null_is_a_no_op(void **state)
{
    (void)state;
    retort_free(NULL);
}

static void test_version_matches_the_header(void **state)
{
    (void)state;
    assert_string_equal(retort_version(), RETORT_VERSION_STRING);
    assert_int_equal(retort_version_number(), RETORT_VERSION_NUMBER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_codes_keep_their_published_values),
        cmocka_unit_test(test_every_known_code_has_its_own_description),
        cmocka_unit_test(test_unknown_codes_are_described_as_unknown),
        cmocka_unit_test(test_null_context_reports_out_of_memory),
        cmocka_unit_test(test_new_context_has_an_empty_message_and_ok_code),
        cmocka_unit_test(test_failure_sets_message_and_code_and_success_clears_them),
        cmocka_unit_test(test_message_survives_until_the_next_call),
        cmocka_unit_test(test_free_of_null_is_a_no_op),
        cmocka_unit_test(test_version_matches_the_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
