/*
 * test_checks.c — the ready-made checks (retort_test_*) catch real mistakes
 * and name the revision at fault: a downgrade that forgets an index, a
 * downgrade that drops the wrong table, a revision that creates a second
 * head, a migration that fails on an empty database; and they pass, leaving
 * the target at base, on migrations without mistakes.  On the backend the
 * fixture selects, each test on its own fresh target.
 */
#include "harness.h"

#include <retort/backend.h>

/* users, an index on it, orders referencing it: reversible throughout. */
static const sql_step good[] = {
    {"CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)", "DROP TABLE users"},
    {"CREATE INDEX users_email_idx ON users (email)", "DROP INDEX users_email_idx"},
    {"CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id))",
     "DROP TABLE orders"},
};

/* 002's downgrade forgets to drop its index. */
static const sql_step forgets_index[] = {
    {"CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)", "DROP TABLE users"},
    {"CREATE INDEX users_email_idx ON users (email)", "SELECT 1"},
    {"CREATE TABLE orders (id INTEGER PRIMARY KEY)", "DROP TABLE orders"},
};

/* 003's downgrade drops 002's table instead of its own. */
static const sql_step drops_wrong_table[] = {
    {"CREATE TABLE users (id INTEGER PRIMARY KEY)", "DROP TABLE users"},
    {"CREATE TABLE plans (id INTEGER PRIMARY KEY)", "DROP TABLE plans"},
    {"CREATE TABLE orders (id INTEGER PRIMARY KEY)", "DROP TABLE plans"},
};

/* 002 alters a table that only exists in the developer's database. */
static const sql_step fails_on_empty[] = {
    {"CREATE TABLE users (id INTEGER PRIMARY KEY)", "DROP TABLE users"},
    {"ALTER TABLE accounts ADD COLUMN note TEXT", "ALTER TABLE accounts DROP COLUMN note"},
    {"CREATE TABLE orders (id INTEGER PRIMARY KEY)", "DROP TABLE orders"},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void assert_at_empty_base(retort *r)
{
    assert_current(r, "");
    char *text = snapshot(r);
    assert_string_equal(text, "");
    free(text);
}

/* ------------------------------------------------------------ stairway */

static void test_stairway_passes_on_reversible_migrations_and_leaves_base(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_test_stairway(r));
    assert_string_equal(retort_errmsg(r), "");
    assert_at_empty_base(r);
}

static void test_stairway_names_the_revision_whose_downgrade_forgets_an_index(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, forgets_index, COUNT(forgets_index));
    assert_rc(r, retort_test_stairway(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "the downgrade of revision '002' does not reverse its upgrade");
    assert_contains(msg, "left behind by the downgrade: index users_email_idx on users");
    assert_not_contains(msg, "'003'");
    /* it stopped there: 003 never ran */
    assert_current(r, "001");
}

static void test_stairway_names_the_revision_whose_downgrade_drops_the_wrong_table(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, drops_wrong_table, COUNT(drops_wrong_table));
    assert_rc(r, retort_test_stairway(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "the downgrade of revision '003' does not reverse its upgrade");
    assert_contains(msg, "left behind by the downgrade: table orders");
    assert_contains(msg, "dropped by the downgrade, though its upgrade did not create it: "
                         "table plans");
}

static void test_stairway_names_the_revision_that_fails_on_an_empty_database(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, fails_on_empty, COUNT(fails_on_empty));
    assert_rc(r, retort_test_stairway(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "stairway check failed: step 2 of 3: upgrade of revision '002'");
    assert_contains(msg, "accounts");
    assert_current(r, "001");
}

/*
 *        b ----------.
 *  a <                > m
 *        c --- d ----'
 * d's downgrade forgets its index while b, on the other branch, is applied.
 */
static void add_branches(retort *r, const char *d_down)
{
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE a (id INTEGER)",
                                "DROP TABLE a"));
    assert_ok(r, retort_add_sql(r, "b", "a", "left", "CREATE TABLE b (id INTEGER)",
                                "DROP TABLE b"));
    assert_ok(r, retort_add_sql(r, "c", "a", "right", "CREATE TABLE c (id INTEGER)",
                                "DROP TABLE c"));
    assert_ok(r, retort_add_sql(r, "d", "c", "index c", "CREATE INDEX c_id ON c (id)", d_down));
    assert_ok(r, retort_add_sql(r, "m", "b d", "merge", "CREATE TABLE m (id INTEGER)",
                                "DROP TABLE m"));
}

static void test_stairway_walks_branches_and_merges(void **state)
{
    (void)state;
    retort *r = fresh();
    add_branches(r, "DROP INDEX c_id");
    assert_ok(r, retort_test_stairway(r));
    assert_at_empty_base(r);
}

static void test_stairway_names_a_faulty_revision_on_a_branch(void **state)
{
    (void)state;
    retort *r = fresh();
    add_branches(r, "SELECT 1");
    assert_rc(r, retort_test_stairway(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "the downgrade of revision 'd' (index c) does not reverse its upgrade "
                         "(step 4 of 5)");
    assert_contains(msg, "left behind by the downgrade: index c_id on c");
    /* the other branch stayed applied, as it was before d */
    assert_current(r, "b c");
}

static void test_stairway_refuses_an_irreversible_revision_before_running_anything(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, "CREATE TABLE t (id INTEGER)",
                                "DROP TABLE t"));
    assert_ok(r, retort_add_sql(r, "002", "001", NULL, "DELETE FROM t", NULL));
    assert_rc(r, retort_test_stairway(r), RETORT_ECHECKFAIL);
    assert_contains(retort_errmsg(r), "revision '002' is irreversible");
    assert_at_empty_base(r);
}

static void test_stairway_partial_stops_at_the_first_irreversible_revision(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, 2);
    assert_ok(r, retort_add_sql(r, "003", "002", NULL, "CREATE TABLE kept (id INTEGER)", NULL));
    assert_ok(r, retort_add_sql(r, "004", "003", NULL, "CREATE TABLE t (id INTEGER)",
                                "DROP TABLE t"));
    const char *stopped_at = NULL;
    assert_ok(r, retort_test_stairway_partial(r, &stopped_at));
    assert_string_equal(stopped_at, "003");
    assert_at_empty_base(r);
}

static void test_stairway_partial_still_names_a_faulty_revision_below_the_stop(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, forgets_index, 2);
    assert_ok(r, retort_add_sql(r, "003", "002", NULL, "CREATE TABLE kept (id INTEGER)", NULL));
    const char *stopped_at = "untouched";
    assert_rc(r, retort_test_stairway_partial(r, &stopped_at), RETORT_ECHECKFAIL);
    assert_contains(retort_errmsg(r), "the downgrade of revision '002' does not reverse");
    assert_string_equal(stopped_at, "untouched");
}

static void test_stairway_partial_without_irreversible_revisions_checks_them_all(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    const char *stopped_at = NULL;
    assert_ok(r, retort_test_stairway_partial(r, &stopped_at));
    assert_string_equal(stopped_at, "");
    assert_rc(r, retort_test_stairway_partial(r, NULL), RETORT_EINVAL);
    assert_at_empty_base(r);
}

static void test_stairway_needs_a_database_at_base(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_upgrade(r, "001"));
    assert_rc(r, retort_test_stairway(r), RETORT_EMISUSE);
    assert_contains(retort_errmsg(r), "needs a database at base");
    assert_contains(retort_errmsg(r), "001");
    assert_current(r, "001");
}

/* A third-party driver without a snapshot member: the SQLite driver's
 * vtable under a scheme of the same length (its URL parser skips
 * "sqlite:"). */
static retort_backend blind_backend;
static const char *const blind_schemes[] = {"blind1", NULL};

static void test_a_check_that_cannot_run_keeps_its_own_code(void **state)
{
    (void)state;
    const retort_backend *sqlite = retort_backend_find("sqlite");
    if (!retort_backend_find("blind1")) {
        blind_backend = *sqlite;
        blind_backend.name = "blind1";
        blind_backend.schemes = blind_schemes;
        blind_backend.snapshot = NULL;
        assert_int_equal(retort_register_backend(&blind_backend), RETORT_OK);
    }
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "blind1::memory:"), RETORT_OK);
    fixture_adopt(r);
    add_linear(r, good, COUNT(good));
    /* not a finding about the migrations: the environment cannot check */
    assert_rc(r, retort_test_stairway(r), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "stairway check could not run");
    assert_contains(retort_errmsg(r), "blind1 backend cannot describe a schema");
    assert_int_equal(retort_test_stairway(NULL), RETORT_EINVAL);
}

typedef struct {
    retort *r;
    int rc;
} reentry;

static int run_stairway_inside(retort_conn *conn, void *user)
{
    (void)conn;
    reentry *e = user;
    e->rc = retort_test_stairway(e->r);
    return 0;
}

static void test_a_check_called_from_a_migration_callback_is_misuse(void **state)
{
    (void)state;
    retort *r = fresh();
    reentry e = {r, -1};
    assert_ok(r, retort_add(r, "001", NULL, NULL, run_stairway_inside, NULL, &e));
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(e.rc, RETORT_EMISUSE);
    assert_current(r, "001");
}

/* --------------------------------------------------------- single head */

static void test_single_head_passes_on_linear_history(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_test_single_head(r));
}

static void test_single_head_names_the_revision_that_creates_a_second_head(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_add_sql(r, "004", "002", "forked", "CREATE TABLE x (id INTEGER)",
                                "DROP TABLE x"));
    assert_rc(r, retort_test_single_head(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "2 heads (003 004)");
    assert_contains(msg, "revision '004' (forked) names '002' as its parent, but '002' already "
                         "has the child '003'");
    /* the graph check touches no database */
    assert_at_empty_base(r);
}

static void test_single_head_names_a_second_root(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_add_sql(r, "other", NULL, NULL, "SELECT 1", "SELECT 1"));
    assert_rc(r, retort_test_single_head(r), RETORT_ECHECKFAIL);
    assert_contains(retort_errmsg(r), "revision 'other' starts a second history");
}

static void test_single_head_reports_an_unknown_parent_naming_both(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_add_sql(r, "004", "nope", NULL, "SELECT 1", "SELECT 1"));
    assert_rc(r, retort_test_single_head(r), RETORT_ECHECKFAIL);
    assert_contains(retort_errmsg(r), "the revision graph is invalid");
    assert_contains(retort_errmsg(r), "004");
    assert_contains(retort_errmsg(r), "nope");
}

/* ------------------------------------------------------------- upgrade */

static void test_upgrade_check_passes_and_leaves_base(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_test_upgrade(r));
    assert_at_empty_base(r);
}

static void test_upgrade_check_names_the_migration_that_fails_on_an_empty_database(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, fails_on_empty, COUNT(fails_on_empty));
    assert_rc(r, retort_test_upgrade(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "upgrade check failed");
    assert_contains(msg, "upgrade of revision '002' failed");
    assert_contains(msg, "accounts");
    assert_current(r, "001");
}

static void test_upgrade_check_applies_every_head(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_add_sql(r, "004", "001", NULL, "ALTER TABLE missing ADD COLUMN x INTEGER",
                                "SELECT 1"));
    assert_rc(r, retort_test_upgrade(r), RETORT_ECHECKFAIL);
    assert_contains(retort_errmsg(r), "revision '004'");
}

/* ----------------------------------------------------------- downgrade */

static void test_downgrade_check_passes_and_leaves_an_empty_schema(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, good, COUNT(good));
    assert_ok(r, retort_test_downgrade(r));
    assert_at_empty_base(r);
}

static void test_downgrade_check_names_the_revision_whose_downgrade_forgets_an_index(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, forgets_index, COUNT(forgets_index));
    assert_rc(r, retort_test_downgrade(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "revision '002' (step 2 of 3) does not restore the schema");
    assert_contains(msg, "left behind by its downgrade: index users_email_idx on users");
}

static void test_downgrade_check_names_the_revision_that_drops_the_wrong_table(void **state)
{
    (void)state;
    retort *r = fresh();
    add_linear(r, drops_wrong_table, COUNT(drops_wrong_table));
    assert_rc(r, retort_test_downgrade(r), RETORT_ECHECKFAIL);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "revision '003' (step 1 of 3) does not restore the schema");
    assert_contains(msg, "left behind by its downgrade: table orders");
    assert_contains(msg, "table plans");
}

static void test_downgrade_check_names_a_downgrade_that_fails(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, "CREATE TABLE t (id INTEGER)",
                                "DROP TABLE t"));
    assert_ok(r, retort_add_sql(r, "002", "001", NULL, "CREATE TABLE u (id INTEGER)",
                                "DROP TABLE no_such_table"));
    assert_rc(r, retort_test_downgrade(r), RETORT_ECHECKFAIL);
    assert_contains(retort_errmsg(r), "downgrade of revision '002' failed");
    assert_current(r, "002");
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    static const backend_test tests[] = {
        BACKEND_TEST(test_stairway_passes_on_reversible_migrations_and_leaves_base, ON_BOTH),
        BACKEND_TEST(test_stairway_names_the_revision_whose_downgrade_forgets_an_index, ON_BOTH),
        BACKEND_TEST(test_stairway_names_the_revision_whose_downgrade_drops_the_wrong_table,
                     ON_BOTH),
        BACKEND_TEST(test_stairway_names_the_revision_that_fails_on_an_empty_database, ON_BOTH),
        BACKEND_TEST(test_stairway_walks_branches_and_merges, ON_BOTH),
        BACKEND_TEST(test_stairway_names_a_faulty_revision_on_a_branch, ON_BOTH),
        BACKEND_TEST(test_stairway_refuses_an_irreversible_revision_before_running_anything,
                     ON_BOTH),
        BACKEND_TEST(test_stairway_partial_stops_at_the_first_irreversible_revision, ON_BOTH),
        BACKEND_TEST(test_stairway_partial_still_names_a_faulty_revision_below_the_stop, ON_BOTH),
        BACKEND_TEST(test_stairway_partial_without_irreversible_revisions_checks_them_all,
                     ON_BOTH),
        BACKEND_TEST(test_stairway_needs_a_database_at_base, ON_BOTH),
        BACKEND_TEST(test_a_check_that_cannot_run_keeps_its_own_code, ON_BOTH_WITH_SQLITE_DRIVER),
        BACKEND_TEST(test_a_check_called_from_a_migration_callback_is_misuse, ON_BOTH),
        BACKEND_TEST(test_single_head_passes_on_linear_history, ON_BOTH),
        BACKEND_TEST(test_single_head_names_the_revision_that_creates_a_second_head, ON_BOTH),
        BACKEND_TEST(test_single_head_names_a_second_root, ON_BOTH),
        BACKEND_TEST(test_single_head_reports_an_unknown_parent_naming_both, ON_BOTH),
        BACKEND_TEST(test_upgrade_check_passes_and_leaves_base, ON_BOTH),
        BACKEND_TEST(test_upgrade_check_names_the_migration_that_fails_on_an_empty_database,
                     ON_BOTH),
        BACKEND_TEST(test_upgrade_check_applies_every_head, ON_BOTH),
        BACKEND_TEST(test_downgrade_check_passes_and_leaves_an_empty_schema, ON_BOTH),
        BACKEND_TEST(test_downgrade_check_names_the_revision_whose_downgrade_forgets_an_index,
                     ON_BOTH),
        BACKEND_TEST(test_downgrade_check_names_the_revision_that_drops_the_wrong_table, ON_BOTH),
        BACKEND_TEST(test_downgrade_check_names_a_downgrade_that_fails, ON_BOTH),
    };
    return run_backend_tests(tests, sizeof tests / sizeof tests[0]);
}
