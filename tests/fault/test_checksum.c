/*
 * test_checksum.c — an applied SQL migration whose file was edited
 * afterwards.  Under checksum_policy "error" (and always for `check`) it is
 * an error naming the revision, and nothing is executed: the pending
 * revisions after it do not run.  Under the default "warn" the warning names
 * it.  Through the API (retort_load_dir) and the command.
 */
#include <sys/stat.h>

#include "cli_run.h"
#include "fault_util.h"

static char *mig_dir;

static void write_file(const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", mig_dir, name);
    write_text(path, text);
}

static int setup(void **state)
{
    int rc = fixture_setup(state);
    if (rc)
        return rc;
    mig_dir = fixture_path("migrations");
    if (mkdir(mig_dir, 0700) != 0)
        return -1;
    write_file("001_users.sql", "-- retort:up\nCREATE TABLE users (id INTEGER);\n"
                                "-- retort:down\nDROP TABLE users;\n");
    write_file("002_posts.sql", "-- retort:up\nCREATE TABLE posts (id INTEGER);\n"
                                "-- retort:down\nDROP TABLE posts;\n");
    return 0;
}

static int teardown(void **state)
{
    free(mig_dir);
    mig_dir = NULL;
    return fixture_teardown(state);
}

/* Applies 001 only, then edits it and adds 003. */
static void apply_then_edit(void)
{
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, mig_dir));
    assert_ok(r, retort_upgrade(r, "001_users"));
    fixture_free(r);
    write_file("001_users.sql", "-- retort:up\nCREATE TABLE users (id INTEGER, email TEXT);\n"
                                "-- retort:down\nDROP TABLE users;\n");
    write_file("003_tags.sql", "-- retort:up\nCREATE TABLE tags (id INTEGER);\n"
                               "-- retort:down\nDROP TABLE tags;\n");
}

static void test_edited_applied_migration_is_a_checksum_error_and_nothing_runs(void **state)
{
    (void)state;
    apply_then_edit();
    retort *r = fixture_new();
    assert_ok(r, retort_set(r, "checksum_policy", "error"));
    assert_ok(r, retort_load_dir(r, mig_dir));
    long log_before = fixture_count("SELECT COUNT(*) FROM retort_version_log");
    assert_rc(r, retort_migrate_to_head(r), RETORT_ECHECKSUM);
    assert_contains(retort_errmsg(r), "001_users");
    assert_contains(retort_errmsg(r), "edited");
    assert_version_ids("001_users");
    assert_no_table("posts");
    assert_no_table("tags");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log"), log_before);
    assert_rc(r, retort_check(r), RETORT_ECHECKSUM);
    assert_contains(retort_errmsg(r), "001_users");
}

static void test_check_reports_an_edited_migration_even_under_the_default_policy(void **state)
{
    (void)state;
    apply_then_edit();
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, mig_dir));
    assert_rc(r, retort_check(r), RETORT_ECHECKSUM);
    assert_contains(retort_errmsg(r), "001_users");
    assert_version_ids("001_users");
}

static void test_default_policy_warns_naming_the_edited_migration(void **state)
{
    (void)state;
    apply_then_edit();
    retort *r = fixture_new();
    fixture_capture_log(r, RETORT_LOG_WARN);
    assert_ok(r, retort_load_dir(r, mig_dir));
    assert_ok(r, retort_migrate_to_head(r));
    assert_contains(fixture_log_text(), "001_users");
    assert_contains(fixture_log_text(), "edited");
    assert_version_ids("001_users 002_posts 003_tags");
}

static void test_command_refuses_an_edited_migration_under_policy_error(void **state)
{
    (void)state;
    apply_then_edit();
    char *ini = write_fixture_ini("checksum_policy = error\n");
    const char *check[] = {"--config", ini, "check", NULL};
    cli_result res = cli_run(check);
    assert_no_crash(res);
    assert_int_not_equal(res.status, 0);
    assert_contains(res.err, "001_users");
    cli_result_free(&res);
    const char *upgrade[] = {"--config", ini, "upgrade", NULL};
    res = cli_run(upgrade);
    assert_no_crash(res);
    assert_int_not_equal(res.status, 0);
    assert_contains(res.err, "001_users");
    cli_result_free(&res);
    assert_version_ids("001_users");
    assert_no_table("posts");
    free(ini);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_edited_applied_migration_is_a_checksum_error_and_nothing_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_check_reports_an_edited_migration_even_under_the_default_policy, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_default_policy_warns_naming_the_edited_migration,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_command_refuses_an_edited_migration_under_policy_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
