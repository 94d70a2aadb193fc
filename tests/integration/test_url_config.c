/*
 * test_url_config.c — how a context finds its database: the url argument,
 * RETORT_DATABASE_URL, the default retort.db in the working directory, the
 * SQLite URL forms, unknown schemes, and that passwords never show in
 * messages or logs.  These are about SQLite URLs and the environment, so
 * this executable runs in the sqlite suite only (the PostgreSQL URL forms
 * are exercised by every test of the postgres suite through the fixture).
 */
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <retort/backend.h>

#include "steps.h"

/* Whether the SQLite file at path has table; opened read-only so that
 * looking never creates it. */
static int file_has_table(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0;
    }
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Saves and restores the working directory and RETORT_DATABASE_URL, which
 * these tests change. */
static char saved_cwd[4096];
static char *saved_env;

static int url_setup(void **state)
{
    if (!getcwd(saved_cwd, sizeof saved_cwd))
        return -1;
    const char *env = getenv("RETORT_DATABASE_URL");
    saved_env = env ? strdup(env) : NULL;
    return it_setup(state);
}

static int url_teardown(void **state)
{
    int rc = fixture_teardown(state); /* frees contexts before the cwd moves */
    if (chdir(saved_cwd) != 0)
        rc = -1;
    if (saved_env)
        setenv("RETORT_DATABASE_URL", saved_env, 1);
    else
        unsetenv("RETORT_DATABASE_URL");
    free(saved_env);
    saved_env = NULL;
    return rc;
}

#define URL_TEST(f) cmocka_unit_test_setup_teardown(f, url_setup, url_teardown)

/* A context on url (adopted by the fixture) with one revision "only". */
static retort *context_with_one_revision(const char *url, step *s)
{
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    if (rc != RETORT_OK)
        fail_msg("retort_new(%s) returned %d: %s", url ? url : "NULL", rc, retort_errmsg(r));
    add_step(r, s, "only", NULL);
    return r;
}

static void test_null_url_uses_retort_database_url(void **state)
{
    (void)state;
    step s[1];
    char *path = fixture_path("from_env.db");
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s", path);
    setenv("RETORT_DATABASE_URL", url, 1);
    retort *r = context_with_one_revision(NULL, s);
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(file_has_table(path, "retort_version"));
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void test_null_url_without_environment_uses_retort_db_in_the_working_directory(
    void **state)
{
    (void)state;
    step s[1];
    unsetenv("RETORT_DATABASE_URL");
    assert_int_equal(chdir(fixture_dir()), 0);
    retort *r = context_with_one_revision(NULL, s);
    fixture_capture_log(r, RETORT_LOG_INFO);
    assert_ok(r, retort_migrate_to_head(r));
    char *path = fixture_path("retort.db");
    assert_true(file_has_table(path, "t_only"));
    assert_true(file_has_table(path, "retort_version"));
    free(path);
    /* the fallback is announced at info level */
    assert_contains(fixture_log_text(), "retort.db");
}

static void test_empty_environment_variable_counts_as_unset(void **state)
{
    (void)state;
    step s[1];
    setenv("RETORT_DATABASE_URL", "", 1);
    assert_int_equal(chdir(fixture_dir()), 0);
    retort *r = context_with_one_revision(NULL, s);
    assert_ok(r, retort_migrate_to_head(r));
    char *path = fixture_path("retort.db");
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void test_url_argument_wins_over_the_environment(void **state)
{
    (void)state;
    step s[1];
    char *env_path = fixture_path("env.db");
    char *arg_path = fixture_path("arg.db");
    char env_url[4200], arg_url[4200];
    snprintf(env_url, sizeof env_url, "sqlite:%s", env_path);
    snprintf(arg_url, sizeof arg_url, "sqlite:%s", arg_path);
    setenv("RETORT_DATABASE_URL", env_url, 1);
    retort *r = context_with_one_revision(arg_url, s);
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(file_has_table(arg_path, "t_only"));
    assert_false(file_exists(env_path));
    free(env_path);
    free(arg_path);
}

static void test_sqlite_colon_path_url(void **state)
{
    (void)state;
    step s[1];
    char *path = fixture_path("plain.db");
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s", path);
    retort *r = context_with_one_revision(url, s);
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void test_sqlite_colon_relative_path_is_relative_to_the_working_directory(void **state)
{
    (void)state;
    step s[1];
    assert_int_equal(chdir(fixture_dir()), 0);
    retort *r = context_with_one_revision("sqlite:rel_plain.db", s);
    assert_ok(r, retort_migrate_to_head(r));
    char *path = fixture_path("rel_plain.db");
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void test_sqlalchemy_three_slash_url_is_a_relative_path(void **state)
{
    (void)state;
    step s[1];
    assert_int_equal(chdir(fixture_dir()), 0);
    retort *r = context_with_one_revision("sqlite:///relative.db", s);
    assert_ok(r, retort_migrate_to_head(r));
    char *path = fixture_path("relative.db");
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void test_sqlalchemy_four_slash_url_is_an_absolute_path(void **state)
{
    (void)state;
    step s[1];
    char *path = fixture_path("absolute.db"); /* starts with '/' */
    assert_true(path[0] == '/');
    char url[4200];
    snprintf(url, sizeof url, "sqlite:///%s", path); /* sqlite:////tmp/... */
    assert_true(strncmp(url, "sqlite:////", 11) == 0);
    retort *r = context_with_one_revision(url, s);
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void test_sqlite_memory_url_migrates_without_creating_a_file(void **state)
{
    (void)state;
    step s[1];
    assert_int_equal(chdir(fixture_dir()), 0);
    retort *r = context_with_one_revision("sqlite::memory:", s);
    assert_ok(r, retort_migrate_to_head(r));
    assert_current(r, "only");
    assert_int_equal(s[0].ups, 1);
    assert_ok(r, retort_migrate_to_head(r)); /* same connection: still at head */
    assert_int_equal(s[0].ups, 1);
    assert_false(file_exists(":memory:"));
    assert_false(file_exists("retort.db"));
}

static void test_unknown_scheme_error_lists_the_available_backends(void **state)
{
    (void)state;
    retort *r = NULL;
    int rc = retort_new(&r, "oracle://scott:tiger@h/db");
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_EURL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "oracle");
    assert_contains(msg, "sqlite");
    if (retort_backend_find("postgresql"))
        assert_contains(msg, "postgresql");
    assert_not_contains(msg, "tiger");
}

static void test_operations_on_a_context_with_a_bad_url_fail_cleanly(void **state)
{
    (void)state;
    retort *r = NULL;
    int rc = retort_new(&r, "nosuch:thing");
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_EURL);
    step s[1];
    add_step(r, &s[0], "x", NULL);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EURL);
    assert_contains(retort_errmsg(r), "nosuch"); /* still says which URL */
    assert_int_equal(s[0].ups, 0);
}

static void test_unreachable_sqlite_path_is_econnect_naming_it(void **state)
{
    (void)state;
    step s[1];
    char *path = fixture_path("no_such_dir/sub/x.db");
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s", path);
    retort *r = context_with_one_revision(url, s);
    assert_rc(r, retort_migrate_to_head(r), RETORT_ECONNECT);
    assert_contains(retort_errmsg(r), "no_such_dir");
    assert_int_equal(s[0].ups, 0);
    free(path);
}

static void test_sqlite3_scheme_names_the_same_path_as_sqlite(void **state)
{
    (void)state;
    step s[1];
    char *path = fixture_path("three.db");
    char url[4200];
    snprintf(url, sizeof url, "sqlite3:%s", path);
    retort *r = context_with_one_revision(url, s);
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void test_read_only_operations_do_not_create_a_missing_database_file(void **state)
{
    (void)state;
    step s[1];
    char *path = fixture_path("typo.db");
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s", path);
    retort *r = context_with_one_revision(url, s);
    const char *out = NULL;
    assert_ok(r, retort_current(r, &out));
    assert_string_equal(out, "");
    assert_rc(r, retort_check(r), RETORT_EPENDING);
    assert_ok(r, retort_applied(r, &out));
    assert_false(file_exists(path));
    /* the first write creates it */
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(file_has_table(path, "t_only"));
    free(path);
}

static void expect_password_hidden(const char *url)
{
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    assert_non_null(r);
    assert_not_contains(retort_errmsg(r), "secretpw");
    if (rc != RETORT_OK)
        return; /* no PostgreSQL backend: EURL, message checked above */
    fixture_capture_log(r, RETORT_LOG_DEBUG);
    assert_ok(r, retort_set_lock_timeout(r, 2000));
    step s[1];
    add_step(r, &s[0], "x", NULL);
    rc = retort_migrate_to_head(r);
    if (rc != RETORT_ECONNECT)
        fail_msg("connecting to %s returned %d, expected RETORT_ECONNECT: %s", url, rc,
                 retort_errmsg(r));
    assert_true(strlen(retort_errmsg(r)) > 0);
    assert_not_contains(retort_errmsg(r), "secretpw");
    assert_not_contains(fixture_log_text(), "secretpw");
    const char *cur = NULL;
    assert_int_not_equal(retort_current(r, &cur), RETORT_OK);
    assert_not_contains(retort_errmsg(r), "secretpw");
}

static void test_password_in_a_uri_never_appears_in_messages_or_logs(void **state)
{
    (void)state;
    /* port 1: nothing listens there, the connection is refused at once */
    expect_password_hidden("postgresql://u:secretpw@127.0.0.1:1/db");
    expect_password_hidden("postgres://u:secretpw@127.0.0.1:1/db?connect_timeout=2");
}

static void test_password_in_a_key_value_string_never_appears_in_messages_or_logs(void **state)
{
    (void)state;
    expect_password_hidden("postgresql:host=127.0.0.1 port=1 user=u password=secretpw");
    expect_password_hidden("postgresql:host=127.0.0.1 port=1 password='secretpw' dbname=d");
}

static void test_sqlite_accepts_only_the_main_schema(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    assert_rc(r, retort_set_schema(r, "elsewhere"), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "elsewhere");
    assert_ok(r, retort_set_schema(r, "main"));
    assert_ok(r, retort_set_schema(r, NULL));
    add_step(r, &s[0], "x", NULL);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("x");
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        URL_TEST(test_null_url_uses_retort_database_url),
        URL_TEST(test_null_url_without_environment_uses_retort_db_in_the_working_directory),
        URL_TEST(test_empty_environment_variable_counts_as_unset),
        URL_TEST(test_url_argument_wins_over_the_environment),
        URL_TEST(test_sqlite_colon_path_url),
        URL_TEST(test_sqlite_colon_relative_path_is_relative_to_the_working_directory),
        URL_TEST(test_sqlalchemy_three_slash_url_is_a_relative_path),
        URL_TEST(test_sqlalchemy_four_slash_url_is_an_absolute_path),
        URL_TEST(test_sqlite_memory_url_migrates_without_creating_a_file),
        URL_TEST(test_unknown_scheme_error_lists_the_available_backends),
        URL_TEST(test_operations_on_a_context_with_a_bad_url_fail_cleanly),
        URL_TEST(test_unreachable_sqlite_path_is_econnect_naming_it),
        URL_TEST(test_read_only_operations_do_not_create_a_missing_database_file),
        URL_TEST(test_sqlite3_scheme_names_the_same_path_as_sqlite),
        URL_TEST(test_password_in_a_uri_never_appears_in_messages_or_logs),
        URL_TEST(test_password_in_a_key_value_string_never_appears_in_messages_or_logs),
        URL_TEST(test_sqlite_accepts_only_the_main_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
