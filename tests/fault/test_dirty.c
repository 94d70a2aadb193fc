/*
 * test_dirty.c — failures inside a revision and how they are resolved: a
 * failing statement in the middle of a multi-statement migration (with and
 * without a transaction), a failing callback, and a failing
 * non-transactional revision.  Transactional failures leave nothing and no
 * dirt; non-transactional ones leave the database dirty, every later run
 * and stamp refuses, and only an explicit mark-applied / mark-reverted (API
 * or command) resolves it.  Every attempt and every resolution is in the
 * audit log, with how many statements of a non-transactional revision had
 * completed.  tests/integration/test_failures.c covers the version rows;
 * this file adds the audit log, stamp, and the command.
 */
#include <sys/stat.h>

#include "cli_run.h"
#include "fault_util.h"

/* The audit log's entries for id, oldest first, as
 * "direction|outcome|statements_done" joined by spaces. */
static char *audit_of(const char *id)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT direction || '|' || outcome || '|' || COALESCE(CAST(statements_done AS "
             "VARCHAR(12)), '-') FROM retort_version_log WHERE revision = '%s' ORDER BY seq",
             id);
    /* fixture_scalar returns one row; join them by asking for each seq. */
    char count_sql[256];
    snprintf(count_sql, sizeof count_sql,
             "SELECT COUNT(*) FROM retort_version_log WHERE revision = '%s'", id);
    long n = fixture_count(count_sql);
    size_t cap = 1;
    char *out = calloc(1, cap);
    assert_non_null(out);
    for (long k = 0; k < n; k++) {
        char one[600];
        snprintf(one, sizeof one, "%s LIMIT 1 OFFSET %ld", sql, k);
        char *v = fixture_scalar(one);
        assert_non_null(v);
        size_t need = strlen(out) + strlen(v) + 2;
        char *grown = realloc(out, need);
        assert_non_null(grown);
        out = grown;
        if (*out)
            strcat(out, " ");
        strcat(out, v);
        free(v);
    }
    return out;
}

#define assert_audit(id, expected)                                                             \
    do {                                                                                       \
        char *a_ = audit_of(id);                                                               \
        if (strcmp(a_, expected) != 0) {                                                       \
            char c_[512];                                                                      \
            snprintf(c_, sizeof c_, "%s", a_);                                                 \
            free(a_);                                                                          \
            fail_msg("audit log of %s is \"%s\", expected \"%s\"", id, c_, expected);         \
        }                                                                                      \
        free(a_);                                                                              \
    } while (0)

static char *row_state(const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT state FROM retort_version WHERE id = '%s'", id);
    return fixture_scalar(sql);
}

#define assert_state(id, expected)                                                             \
    do {                                                                                       \
        char *s_ = row_state(id);                                                              \
        assert_non_null(s_);                                                                   \
        assert_string_equal(s_, expected);                                                     \
        free(s_);                                                                              \
    } while (0)

static const char *const four_statements_third_fails =
    "CREATE TABLE d_one (x INTEGER);\n"
    "CREATE TABLE d_two (x INTEGER);\n"
    "INSERT INTO d_missing (x) VALUES (1);\n"
    "CREATE TABLE d_three (x INTEGER);\n";

static retort *dirty_context(void)
{
    retort *r = fixture_new();
    fixture_capture_log(r, RETORT_LOG_WARN);
    assert_ok(r, retort_add_sql(r, "base_rev", NULL, NULL, "CREATE TABLE d_base (x INTEGER)",
                                "DROP TABLE d_base"));
    assert_ok(r, retort_add_sql(r, "nontx", "base_rev", "four statements",
                                four_statements_third_fails,
                                "DROP TABLE d_three; DROP TABLE d_two; DROP TABLE d_one"));
    assert_ok(r, retort_add_sql(r, "after", "nontx", NULL, "CREATE TABLE d_after (x INTEGER)",
                                "DROP TABLE d_after"));
    assert_ok(r, retort_revision_set_transactional(r, "nontx", 0));
    return r;
}

static void test_failing_statement_of_a_non_transactional_revision_leaves_it_dirty_with_the_count(
    void **state)
{
    (void)state;
    retort *r = dirty_context();
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "nontx");
    assert_contains(msg, "d_missing");          /* the database's own text */
    assert_contains(msg, "after 2 statements"); /* how far it got */
    assert_contains(msg, "mark-applied");       /* how to resolve it */
    /* Outside a transaction the first two statements stay, the fourth never ran. */
    assert_table("d_one");
    assert_table("d_two");
    assert_no_table("d_three");
    assert_no_table("d_after");
    assert_state("nontx", "dirty");
    assert_state("base_rev", "applied");
    assert_audit("nontx", "up|failed|2");
    assert_audit("base_rev", "up|ok|-");
    char *err = fixture_scalar("SELECT error FROM retort_version_log WHERE revision = 'nontx'");
    assert_contains(err, "d_missing");
    free(err);
}

static void test_dirty_database_refuses_upgrade_downgrade_and_stamp_without_changing_anything(
    void **state)
{
    (void)state;
    retort *r = dirty_context();
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    long entries = fixture_count("SELECT COUNT(*) FROM retort_version_log");
    assert_rc(r, retort_migrate_to_head(r), RETORT_EDIRTY);
    assert_contains(retort_errmsg(r), "nontx");
    assert_contains(retort_errmsg(r), "retort_mark_applied");
    assert_rc(r, retort_upgrade(r, "after"), RETORT_EDIRTY);
    assert_rc(r, retort_downgrade(r, "base"), RETORT_EDIRTY);
    /* Stamping over dirt would be the silent force the design forbids. */
    assert_rc(r, retort_stamp(r, "head"), RETORT_EDIRTY);
    assert_rc(r, retort_stamp(r, "base"), RETORT_EDIRTY);
    assert_rc(r, retort_check(r), RETORT_EDIRTY);
    assert_version_ids("base_rev nontx");
    assert_state("nontx", "dirty");
    assert_no_table("d_after");
    assert_table("d_base");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log"), entries);
}

static void test_mark_reverted_is_audited_and_lets_the_fixed_revision_run_again(void **state)
{
    (void)state;
    retort *r = dirty_context();
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    /* The operator undoes the two statements and creates what was missing. */
    fixture_exec("DROP TABLE d_one; DROP TABLE d_two; CREATE TABLE d_missing (x INTEGER)");
    assert_ok(r, retort_mark_reverted(r, "nontx"));
    assert_contains(fixture_log_text(), "marked reverted by hand");
    assert_version_ids("base_rev");
    assert_audit("nontx", "up|failed|2 mark-reverted|ok|-");
    char *note = fixture_scalar("SELECT error FROM retort_version_log WHERE revision = 'nontx' "
                                "AND direction = 'mark-reverted'");
    assert_contains(note, "dirty"); /* what the row was when it was resolved */
    free(note);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("after base_rev nontx");
    assert_state("nontx", "applied");
    assert_table("d_three");
    assert_audit("nontx", "up|failed|2 mark-reverted|ok|- up|ok|4");
}

static void test_mark_applied_is_audited_and_the_run_goes_on_without_rerunning_it(void **state)
{
    (void)state;
    retort *r = dirty_context();
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    /* The operator finishes the revision by hand: the last statement. */
    fixture_exec("CREATE TABLE d_three (x INTEGER)");
    assert_ok(r, retort_mark_applied(r, "nontx"));
    assert_state("nontx", "applied");
    assert_audit("nontx", "up|failed|2 mark-applied|ok|-");
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("after base_rev nontx");
    assert_audit("nontx", "up|failed|2 mark-applied|ok|-");
    assert_audit("after", "up|ok|-");
}

typedef struct cb_state {
    int ups;
} cb_state;

static int failing_callback(retort_conn *conn, void *user)
{
    cb_state *s = user;
    s->ups++;
    int rc = retort_exec(conn, "CREATE TABLE cb_first (x INTEGER)");
    if (rc)
        return rc;
    retort_conn_set_error(conn, "the callback gave up after its first statement");
    return 1;
}

static void test_failing_callback_outside_a_transaction_leaves_it_dirty_with_its_statements(
    void **state)
{
    (void)state;
    cb_state s = {0};
    retort *r = fixture_new();
    assert_ok(r, retort_add(r, "cb_nontx", NULL, NULL, failing_callback, NULL, &s));
    assert_ok(r, retort_revision_set_transactional(r, "cb_nontx", 0));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "the callback gave up after its first statement");
    assert_contains(retort_errmsg(r), "after 1 statement");
    assert_table("cb_first");
    assert_state("cb_nontx", "dirty");
    assert_audit("cb_nontx", "up|failed|1");
    assert_rc(r, retort_migrate_to_head(r), RETORT_EDIRTY);
    assert_int_equal(s.ups, 1);
}

static void test_failing_callback_in_a_transaction_leaves_nothing_but_the_audit_entry(
    void **state)
{
    (void)state;
    cb_state s = {0};
    retort *r = fixture_new();
    assert_ok(r, retort_add(r, "cb_tx", NULL, NULL, failing_callback, NULL, &s));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "cb_tx");
    assert_no_table("cb_first");
    assert_version_ids("");
    assert_audit("cb_tx", "up|failed|-");
    /* Not dirty: the next run simply tries again. */
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_int_equal(s.ups, 2);
    assert_audit("cb_tx", "up|failed|- up|failed|-");
}

static void test_failing_statement_mid_transactional_revision_rolls_back_all_of_it(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "first", NULL, NULL, "CREATE TABLE d_first (x INTEGER)",
                                NULL));
    assert_ok(r, retort_add_sql(r, "tx4", "first", NULL, four_statements_third_fails, NULL));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "tx4");
    assert_contains(retort_errmsg(r), "d_missing");
    assert_no_table("d_one");
    assert_no_table("d_two");
    assert_version_ids("first");
    assert_audit("tx4", "up|failed|-");
    fixture_exec("CREATE TABLE d_missing (x INTEGER)");
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("first tx4");
    assert_table("d_three");
    assert_audit("tx4", "up|failed|- up|ok|-");
}

/* ------------------------------------------------------------ command */

static void write_dirty_migrations(void)
{
    char *dir = fixture_path("migrations");
    assert_int_equal(mkdir(dir, 0700), 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/001_base.sql", dir);
    write_text(path, "-- retort:up\nCREATE TABLE m_base (x INTEGER);\n"
                     "-- retort:down\nDROP TABLE m_base;\n");
    snprintf(path, sizeof path, "%s/002_nontx.sql", dir);
    write_text(path, "-- retort:no-transaction\n-- retort:up\n"
                     "CREATE TABLE m_one (x INTEGER);\n"
                     "INSERT INTO m_missing (x) VALUES (1);\n"
                     "CREATE TABLE m_two (x INTEGER);\n"
                     "-- retort:down\nDROP TABLE m_two;\nDROP TABLE m_one;\n");
    snprintf(path, sizeof path, "%s/003_after.sql", dir);
    write_text(path, "-- retort:up\nCREATE TABLE m_after (x INTEGER);\n"
                     "-- retort:down\nDROP TABLE m_after;\n");
    free(dir);
}

static void test_command_refuses_a_dirty_database_until_mark_applied_resolves_it(void **state)
{
    (void)state;
    write_dirty_migrations();
    char *ini = write_fixture_ini(NULL);
    const char *upgrade[] = {"--config", ini, "upgrade", NULL};

    cli_result res = cli_run(upgrade);
    assert_no_crash(res);
    assert_int_not_equal(res.status, 0);
    assert_contains(res.err, "002_nontx");
    assert_contains(res.err, "after 1 statement");
    cli_result_free(&res);
    assert_table("m_one");
    assert_state("002_nontx", "dirty");
    assert_audit("002_nontx", "up|failed|1");

    res = cli_run(upgrade);
    assert_no_crash(res);
    assert_int_not_equal(res.status, 0);
    assert_contains(res.err, "dirty");
    assert_contains(res.err, "retort mark-applied");
    cli_result_free(&res);
    assert_no_table("m_after");

    const char *stamp[] = {"--config", ini, "stamp", "head", NULL};
    res = cli_run(stamp);
    assert_no_crash(res);
    assert_int_not_equal(res.status, 0);
    assert_contains(res.err, "dirty");
    cli_result_free(&res);
    assert_state("002_nontx", "dirty");

    const char *unknown[] = {"--config", ini, "mark-applied", "no_such_rev", NULL};
    res = cli_run(unknown);
    assert_no_crash(res);
    assert_int_not_equal(res.status, 0);
    assert_contains(res.err, "no_such_rev");
    cli_result_free(&res);

    fixture_exec("CREATE TABLE m_two (x INTEGER)"); /* finished by hand */
    const char *mark[] = {"--config", ini, "mark-applied", "002_nontx", NULL};
    res = cli_run(mark);
    assert_no_crash(res);
    if (res.status != 0)
        fail_msg("mark-applied exited %d: %s", res.status, res.err);
    assert_contains(res.out, "002_nontx");
    cli_result_free(&res);
    assert_state("002_nontx", "applied");
    assert_audit("002_nontx", "up|failed|1 mark-applied|ok|-");

    res = cli_run(upgrade);
    assert_no_crash(res);
    if (res.status != 0)
        fail_msg("upgrade after mark-applied exited %d: %s", res.status, res.err);
    cli_result_free(&res);
    assert_version_ids("001_base 002_nontx 003_after");
    assert_audit("002_nontx", "up|failed|1 mark-applied|ok|-");
    free(ini);
}

static void test_command_mark_reverted_is_audited_and_the_revision_runs_again(void **state)
{
    (void)state;
    write_dirty_migrations();
    char *ini = write_fixture_ini(NULL);
    const char *upgrade[] = {"--config", ini, "upgrade", NULL};
    cli_result res = cli_run(upgrade);
    assert_int_not_equal(res.status, 0);
    cli_result_free(&res);

    fixture_exec("DROP TABLE m_one; CREATE TABLE m_missing (x INTEGER)");
    const char *mark[] = {"--config", ini, "mark-reverted", "002_nontx", NULL};
    res = cli_run(mark);
    assert_no_crash(res);
    if (res.status != 0)
        fail_msg("mark-reverted exited %d: %s", res.status, res.err);
    cli_result_free(&res);
    assert_version_ids("001_base");
    assert_audit("002_nontx", "up|failed|1 mark-reverted|ok|-");

    res = cli_run(upgrade);
    if (res.status != 0)
        fail_msg("upgrade after mark-reverted exited %d: %s", res.status, res.err);
    cli_result_free(&res);
    assert_version_ids("001_base 002_nontx 003_after");
    assert_audit("002_nontx", "up|failed|1 mark-reverted|ok|- up|ok|3");
    free(ini);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_failing_statement_of_a_non_transactional_revision_leaves_it_dirty_with_the_count),
        T(test_dirty_database_refuses_upgrade_downgrade_and_stamp_without_changing_anything),
        T(test_mark_reverted_is_audited_and_lets_the_fixed_revision_run_again),
        T(test_mark_applied_is_audited_and_the_run_goes_on_without_rerunning_it),
        T(test_failing_callback_outside_a_transaction_leaves_it_dirty_with_its_statements),
        T(test_failing_callback_in_a_transaction_leaves_nothing_but_the_audit_entry),
        T(test_failing_statement_mid_transactional_revision_rolls_back_all_of_it),
        T(test_command_refuses_a_dirty_database_until_mark_applied_resolves_it),
        T(test_command_mark_reverted_is_audited_and_the_revision_runs_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
