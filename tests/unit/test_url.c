/*
 * test_url.c — URL scheme extraction and password redaction (lib/url.c),
 * and how retort_new() turns URLs into a backend or an error.  Nothing here
 * connects to a database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memory.h"
#include "retort/backend.h"
#include "retort/retort.h"
#include "redact.h"
#include "url.h"

#include "assertions.h"

static void expect_scheme(const char *url, const char *scheme)
{
    char out[32];
    memset(out, 'Z', sizeof out);
    size_t n = rt_url_scheme(url, out, sizeof out);
    if (!scheme) {
        if (n != 0)
            fail_msg("rt_url_scheme(\"%s\") found a scheme of length %zu", url ? url : "(NULL)",
                     n);
        return;
    }
    if (n != strlen(scheme) || strcmp(out, scheme) != 0)
        fail_msg("rt_url_scheme(\"%s\") = %zu \"%.*s\", expected \"%s\"", url, n, (int)n, out,
                 scheme);
}

static void test_scheme_is_the_lower_cased_text_before_the_first_colon(void **state)
{
    (void)state;
    expect_scheme("sqlite:app.db", "sqlite");
    expect_scheme("sqlite::memory:", "sqlite");
    expect_scheme("sqlite:////abs/x.db", "sqlite");
    expect_scheme("postgresql://u@h/db", "postgresql");
    expect_scheme("postgres://h/db", "postgres");
    expect_scheme("PostgreSQL:host=h", "postgresql");
    expect_scheme("my.driver+v2-x:foo", "my.driver+v2-x");
}

static void test_text_without_a_valid_scheme_has_none(void **state)
{
    (void)state;
    expect_scheme(NULL, NULL);
    expect_scheme("", NULL);
    expect_scheme("app.db", NULL);
    expect_scheme(":memory:", NULL);
    expect_scheme("1sqlite:x", NULL);
    expect_scheme("sq lite:x", NULL);
    expect_scheme("/tmp/a:b", NULL);
}

static void test_scheme_that_does_not_fit_is_rejected_not_truncated(void **state)
{
    (void)state;
    char small[4];
    assert_int_equal(rt_url_scheme("sqlite:x", small, sizeof small), 0);
    char exact[7];
    assert_int_equal(rt_url_scheme("sqlite:x", exact, sizeof exact), 6);
    assert_string_equal(exact, "sqlite");
}

static void expect_redacted(const char *url, const char *expected)
{
    char *got = rt_url_redact(url);
    assert_non_null(got);
    if (strcmp(got, expected) != 0) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s", got);
        rt_free(got);
        fail_msg("rt_url_redact(\"%s\") = \"%s\", expected \"%s\"", url, copy, expected);
    }
    rt_free(got);
}

static void expect_hidden(const char *url, const char *secret)
{
    char *got = rt_url_redact(url);
    assert_non_null(got);
    int leaked = strstr(got, secret) != NULL;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", got);
    rt_free(got);
    if (leaked)
        fail_msg("rt_url_redact(\"%s\") = \"%s\" still shows \"%s\"", url, copy, secret);
}

static void test_uri_userinfo_password_is_replaced(void **state)
{
    (void)state;
    expect_redacted("postgresql://u:secretpw@db.example:5432/app",
                    "postgresql://u:***@db.example:5432/app");
    expect_redacted("postgres://:secretpw@host/app", "postgres://:***@host/app");
}

static void test_uri_without_password_is_unchanged(void **state)
{
    (void)state;
    expect_redacted("postgresql://u@host/app", "postgresql://u@host/app");
    expect_redacted("postgresql://host:5432/app?sslmode=require",
                    "postgresql://host:5432/app?sslmode=require");
    expect_redacted("sqlite:/tmp/a.db", "sqlite:/tmp/a.db");
    expect_redacted("sqlite::memory:", "sqlite::memory:");
}

static void test_password_containing_at_signs_is_hidden_whole(void **state)
{
    (void)state;
    expect_redacted("postgresql://u:p@ss@word@host/app", "postgresql://u:***@host/app");
}

static void test_password_query_parameter_is_replaced(void **state)
{
    (void)state;
    expect_redacted("postgresql://u@host/app?sslmode=require&password=secretpw&x=1",
                    "postgresql://u@host/app?sslmode=require&password=***&x=1");
    expect_redacted("postgresql://host/app?password=secretpw",
                    "postgresql://host/app?password=***");
}

static void test_libpq_key_value_password_is_replaced(void **state)
{
    (void)state;
    expect_redacted("postgresql:host=h password=secretpw user=u",
                    "postgresql:host=h password=*** user=u");
    expect_redacted("postgresql:password=secretpw", "postgresql:password=***");
    expect_hidden("postgresql:host=h password = secretpw user=u", "secretpw");
    expect_hidden("postgresql:host=h PASSWORD=secretpw", "secretpw");
}

static void test_libpq_quoted_password_is_hidden_up_to_its_closing_quote(void **state)
{
    (void)state;
    expect_redacted("postgresql:password='sec ret\\'pw' user=u",
                    "postgresql:password=*** user=u");
}

static void test_every_password_in_one_string_is_hidden(void **state)
{
    (void)state;
    expect_hidden("postgresql://u:firstpw@h/app?password=secondpw", "firstpw");
    expect_hidden("postgresql://u:firstpw@h/app?password=secondpw", "secondpw");
}

static void test_ssl_key_password_is_hidden_too(void **state)
{
    (void)state;
    /* libpq's sslpassword decrypts the client key: a password all the same. */
    expect_hidden("postgresql:host=h sslpassword=secretpw", "secretpw");
}

static void test_password_with_raw_question_mark_or_hash_is_hidden_whole(void **state)
{
    (void)state;
    /* libpq reads user:password up to the '@', raw '?' and '#' included. */
    expect_hidden("postgresql://u:pa?ss-secretpw@h/db", "secretpw");
    expect_hidden("postgresql://u:pa#ss-secretpw@h/db", "secretpw");
}

/* rt_redact (lib/redact.c), the one path every message passes through. */
static char *redacted(const rt_secrets *s, const char *text)
{
    rt_buf b = RT_BUF_INIT;
    rt_buf_append(&b, text);
    rt_redact(s, &b);
    return rt_buf_take(&b);
}

static void test_a_secret_is_hidden_in_every_spelling_of_it(void **state)
{
    (void)state;
    rt_secrets s = RT_SECRETS_INIT;
    rt_secrets_add(&s, "hunter2's pw", 12);
    const char *const texts[] = {
        "host hunter2's pw port", "x=hunter2%27s%20pw&", "'hunter2\\'s pw'",
        "hunter2's\n\t pw", "%68unter2's pw", NULL};
    for (int i = 0; texts[i]; i++) {
        char *out = redacted(&s, texts[i]);
        assert_non_null(out);
        assert_contains(out, "***");
        assert_not_contains(out, "hunter2");
        rt_free(out);
    }
    char *out = redacted(&s, "host db port 5432");
    assert_string_equal(out, "host db port 5432");
    rt_free(out);
    rt_secrets_free(&s);
}

static void test_a_secret_that_could_not_be_recorded_withholds_the_message(void **state)
{
    (void)state;
    rt_secrets s = RT_SECRETS_INIT;
    s.failed = 1;
    char *out = redacted(&s, "cannot connect to postgresql://u:pw@h/db");
    assert_not_contains(out, "pw@");
    assert_contains(out, "withheld");
    rt_free(out);
    assert_true(rt_secrets_found(&s, "anything", 8));
}

static void test_secrets_of_a_url_include_what_each_reading_shows(void **state)
{
    (void)state;
    rt_secrets s = RT_SECRETS_INIT;
    rt_url_secrets("postgresql://app:hunter2/SECRET@127.0.0.1:1/db?pass%77ord=X%41Y", &s);
    const char *const want[] = {"hunter2/SECRET", "hunter2", "SECRET", "X%41Y", "XAY", NULL};
    for (int i = 0; want[i]; i++) {
        int have = 0;
        for (size_t k = 0; k < s.n; k++)
            have |= strcmp(s.v[k], want[i]) == 0;
        if (!have)
            fail_msg("\"%s\" is not among the URL's secrets", want[i]);
    }
    rt_secrets_free(&s);
}

static void test_url_with_more_password_values_than_can_be_hidden_is_refused(void **state)
{
    (void)state;
    char *url = malloc(300 * 24 + 16);
    assert_non_null(url);
    strcpy(url, "postgresql:");
    for (int i = 0; i < 300; i++)
        sprintf(url + strlen(url), "password=pw%05dxyz ", i);
    retort *r = NULL;
    assert_int_equal(retort_new(&r, url), RETORT_EURL);
    assert_contains(retort_errmsg(r), "more than 256 values that may be passwords");
    assert_not_contains(retort_errmsg(r), "pw00");
    retort_free(r);
    /* A long run of keys that never end their values costs one pass. */
    size_t n = 200000;
    char *many = malloc(n + 32);
    assert_non_null(many);
    strcpy(many, "postgresql://h/db");
    for (size_t k = strlen(many); k + 10 < n; k += 10)
        memcpy(many + k, "?password=", 11);
    rt_secrets sec = RT_SECRETS_INIT;
    rt_url_secrets(many, &sec);
    assert_true(sec.n > 0);
    rt_secrets_free(&sec);
    free(many);
    free(url);
}

static void test_redacting_null_gives_an_empty_string(void **state)
{
    (void)state;
    expect_redacted(NULL, "");
}

/* ------------------------------------------------- URLs via retort_new */

static void test_unknown_scheme_is_eurl_listing_the_available_backends(void **state)
{
    (void)state;
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "mysql://u@h/db"), RETORT_EURL);
    assert_non_null(r);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "mysql");
    if (retort_backend_find("sqlite"))
        assert_contains(msg, "sqlite");
    if (retort_backend_find("postgresql"))
        assert_contains(msg, "postgresql");
    assert_int_equal(retort_errcode(r), RETORT_EURL);
    retort_free(r);
}

static void test_text_without_a_scheme_is_eurl(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "app.db", ":memory:", "1x:y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        retort *r = NULL;
        int rc = retort_new(&r, bad[i]);
        if (rc != RETORT_EURL)
            fail_msg("retort_new(\"%s\") returned %d, expected RETORT_EURL", bad[i], rc);
        assert_non_null(r);
        assert_true(strlen(retort_errmsg(r)) > 0);
        retort_free(r);
    }
}

static void test_eurl_message_never_shows_the_password(void **state)
{
    (void)state;
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "mysql://u:secretpw@h/db"), RETORT_EURL);
    assert_not_contains(retort_errmsg(r), "secretpw");
    retort_free(r);
}

static void test_scheme_is_case_insensitive(void **state)
{
    (void)state;
    if (!retort_backend_find("sqlite"))
        fail_msg("the SQLite backend is not compiled in");
    retort *r = NULL;
    int rc = retort_new(&r, "SQLite::memory:");
    if (rc != RETORT_OK)
        fail_msg("retort_new(SQLite::memory:) = %d: %s", rc, retort_errmsg(r));
    retort_free(r);
}

static void test_retort_new_without_out_pointer_is_einval(void **state)
{
    (void)state;
    assert_int_equal(retort_new(NULL, "sqlite::memory:"), RETORT_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme_is_the_lower_cased_text_before_the_first_colon),
        cmocka_unit_test(test_text_without_a_valid_scheme_has_none),
        cmocka_unit_test(test_scheme_that_does_not_fit_is_rejected_not_truncated),
        cmocka_unit_test(test_uri_userinfo_password_is_replaced),
        cmocka_unit_test(test_uri_without_password_is_unchanged),
        cmocka_unit_test(test_password_containing_at_signs_is_hidden_whole),
        cmocka_unit_test(test_password_query_parameter_is_replaced),
        cmocka_unit_test(test_libpq_key_value_password_is_replaced),
        cmocka_unit_test(test_libpq_quoted_password_is_hidden_up_to_its_closing_quote),
        cmocka_unit_test(test_every_password_in_one_string_is_hidden),
        cmocka_unit_test(test_ssl_key_password_is_hidden_too),
        cmocka_unit_test(test_password_with_raw_question_mark_or_hash_is_hidden_whole),
        cmocka_unit_test(test_a_secret_is_hidden_in_every_spelling_of_it),
        cmocka_unit_test(test_a_secret_that_could_not_be_recorded_withholds_the_message),
        cmocka_unit_test(test_secrets_of_a_url_include_what_each_reading_shows),
        cmocka_unit_test(test_url_with_more_password_values_than_can_be_hidden_is_refused),
        cmocka_unit_test(test_redacting_null_gives_an_empty_string),
        cmocka_unit_test(test_unknown_scheme_is_eurl_listing_the_available_backends),
        cmocka_unit_test(test_text_without_a_scheme_is_eurl),
        cmocka_unit_test(test_eurl_message_never_shows_the_password),
        cmocka_unit_test(test_scheme_is_case_insensitive),
        cmocka_unit_test(test_retort_new_without_out_pointer_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
