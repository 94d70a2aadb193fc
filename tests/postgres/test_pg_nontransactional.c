/*
 * test_pg_nontransactional.c — PostgreSQL only: revisions marked
 * non-transactional, the way CREATE INDEX CONCURRENTLY must run.
 *
 * A non-transactional revision writes its version row as 'dirty' first,
 * runs its statements one at a time, each committing by itself, and marks
 * the row 'applied' at the end.  When a statement fails, the row stays
 * 'dirty', the audit log records the failure with how many statements
 * completed, every later run refuses with RETORT_EDIRTY and a message
 * saying how to resolve it, and retort_mark_reverted / retort_mark_applied
 * resolve it, each leaving an audit-log row.
 *
 * Every test starts from r1, a transactional revision creating table t
 * with data; r2 is the revision under test; r3 follows it.
 */
#include "pg_support.c"

#define R1_SQL "CREATE TABLE t (x INTEGER NOT NULL); INSERT INTO t VALUES (1), (2), (3)"
#define R3_SQL "CREATE TABLE after_r2 (y INTEGER)"

/* A context with r1, r2 (up_sql, non-transactional unless transactional)
 * and r3 registered. */
static retort *chain(const char *r2_sql, int transactional)
{
    retort *r = pgt_new();
    assert_ok(r, retort_add_sql(r, "r1", NULL, "create t", R1_SQL, "DROP TABLE t"));
    assert_ok(r, retort_add_sql(r, "r2", "r1", "index t", r2_sql, NULL));
    assert_ok(r, retort_add_sql(r, "r3", "r2", "create after_r2", R3_SQL, NULL));
    if (!transactional)
        assert_ok(r, retort_revision_set_transactional(r, "r2", 0));
    return r;
}

static char *version_rows(void)
{
    return pgt_rows("SELECT id, state FROM retort_version ORDER BY seq", NULL);
}

/* Audit-log rows of r2: direction|outcome|statements_done. */
static char *r2_log(void)
{
    return pgt_rows("SELECT direction, outcome, statements_done FROM retort_version_log "
                    "WHERE revision = 'r2' ORDER BY seq",
                    NULL);
}

/* --------------------------------------------------------- success */

static void test_create_index_concurrently_applies_as_a_non_transactional_revision(
    void **state)
{
    (void)state;
    retort *r = chain("CREATE INDEX CONCURRENTLY t_x_idx ON t (x)", 0);
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(pgt_index_state("t_x_idx"), 1);
    assert_text(version_rows(), "r1|applied r2|applied r3|applied");
    assert_text(r2_log(), "up|ok|1");
    assert_true(pgt_table_exists(NULL, "after_r2"));
}

static void test_non_transactional_revision_runs_several_concurrent_index_builds(void **state)
{
    (void)state;
    retort *r = chain("CREATE INDEX CONCURRENTLY t_x_idx ON t (x);\n"
                      "CREATE UNIQUE INDEX CONCURRENTLY t_x_uq ON t (x);\n",
                      0);
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(pgt_index_state("t_x_idx"), 1);
    assert_int_equal(pgt_index_state("t_x_uq"), 1);
    assert_text(version_rows(), "r1|applied r2|applied r3|applied");
    assert_text(r2_log(), "up|ok|2");
}

/* The default matters: the same statement in a transactional revision is
 * refused by the server, and nothing of r2 remains. */
static void test_create_index_concurrently_in_a_transactional_revision_fails_cleanly(
    void **state)
{
    (void)state;
    retort *r = chain("CREATE INDEX CONCURRENTLY t_x_idx ON t (x)", 1);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "r2");
    assert_contains(retort_errmsg(r), "cannot run inside a transaction block");
    assert_text(version_rows(), "r1|applied");
    assert_int_equal(pgt_index_state("t_x_idx"), -1);
    assert_text(r2_log(), "up|failed|(null)");
}

/* --------------------------------------------------------- failures */

static void test_failing_concurrent_index_on_a_missing_column_leaves_the_database_dirty(
    void **state)
{
    (void)state;
    retort *r = chain("CREATE INDEX CONCURRENTLY t_nope_idx ON t (nope)", 0);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "'r2'");
    assert_contains(retort_errmsg(r), "column \"nope\" does not exist");
    assert_text(version_rows(), "r1|applied r2|dirty");
    assert_text(r2_log(), "up|failed|0");
    char *error = pgt_scalar("SELECT error FROM retort_version_log WHERE revision = 'r2'", NULL);
    int has_text = error && strstr(error, "column \"nope\" does not exist") != NULL;
    free(error);
    assert_true(has_text); /* the audit log keeps the database's message */
    assert_int_equal(pgt_index_state("t_nope_idx"), -1);
    assert_false(pgt_table_exists(NULL, "after_r2")); /* the run stopped at r2 */
}

static void test_failing_second_statement_records_that_one_statement_completed(void **state)
{
    (void)state;
    retort *r = chain("CREATE INDEX CONCURRENTLY t_x_idx ON t (x);\n"
                      "CREATE INDEX CONCURRENTLY t_nope_idx ON t (nope);\n",
                      0);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "column \"nope\" does not exist");
    assert_text(version_rows(), "r1|applied r2|dirty");
    assert_text(r2_log(), "up|failed|1");
    assert_int_equal(pgt_index_state("t_x_idx"), 1); /* committed by itself: it stays */
    assert_int_equal(pgt_index_state("t_nope_idx"), -1);
}

/* A unique index over duplicates fails late: PostgreSQL leaves the index
 * behind, marked invalid, for the operator to drop. */
static void test_failing_unique_concurrent_index_leaves_an_invalid_index_and_a_dirty_row(
    void **state)
{
    (void)state;
    pgt_exec("CREATE TABLE t (x INTEGER NOT NULL)", NULL);
    retort *r = pgt_new();
    assert_ok(r, retort_add_sql(r, "r1", NULL, NULL, "INSERT INTO t VALUES (1), (1), (2)",
                                NULL));
    assert_ok(r, retort_add_sql(r, "r2", "r1", NULL,
                                "CREATE UNIQUE INDEX CONCURRENTLY t_x_uq ON t (x)", NULL));
    assert_ok(r, retort_revision_set_transactional(r, "r2", 0));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "'r2'");
    assert_contains(retort_errmsg(r), "could not create unique index");
    assert_text(version_rows(), "r1|applied r2|dirty");
    assert_text(r2_log(), "up|failed|0");
    assert_int_equal(pgt_index_state("t_x_uq"), 0);
}

/* ------------------------------------------------------- dirty state */

static void test_dirty_database_refuses_every_run_and_says_how_to_resolve(void **state)
{
    (void)state;
    retort *r = chain("CREATE INDEX CONCURRENTLY t_nope_idx ON t (nope)", 0);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);

    assert_rc(r, retort_migrate_to_head(r), RETORT_EDIRTY);
    assert_contains(retort_errmsg(r), "r2");
    assert_contains(retort_errmsg(r), "retort_mark_applied");
    assert_contains(retort_errmsg(r), "retort_mark_reverted");

    retort *again = chain("CREATE INDEX CONCURRENTLY t_nope_idx ON t (nope)", 0);
    assert_rc(again, retort_migrate_to_head(again), RETORT_EDIRTY);
    assert_contains(retort_errmsg(again), "retort_mark_reverted");
    assert_rc(again, retort_upgrade(again, "r3"), RETORT_EDIRTY);
    assert_rc(again, retort_downgrade(again, "base"), RETORT_EDIRTY);
    assert_rc(again, retort_check(again), RETORT_EDIRTY);

    assert_text(version_rows(), "r1|applied r2|dirty");
    assert_true(pgt_table_exists(NULL, "t")); /* the downgrade did not run */
    assert_false(pgt_table_exists(NULL, "after_r2"));
    assert_text(r2_log(), "up|failed|0"); /* refusals run nothing */
}

/* The operator fixes the data, drops the invalid index, marks r2 reverted,
 * and the next run applies it for real. */
static void test_mark_reverted_resolves_a_dirty_revision_and_is_audited(void **state)
{
    (void)state;
    pgt_exec("CREATE TABLE t (x INTEGER NOT NULL)", NULL);
    retort *r = pgt_new();
    assert_ok(r, retort_add_sql(r, "r1", NULL, NULL, "INSERT INTO t VALUES (1), (1), (2)",
                                NULL));
    assert_ok(r, retort_add_sql(r, "r2", "r1", NULL,
                                "CREATE UNIQUE INDEX CONCURRENTLY t_x_uq ON t (x)", NULL));
    assert_ok(r, retort_add_sql(r, "r3", "r2", NULL, R3_SQL, NULL));
    assert_ok(r, retort_revision_set_transactional(r, "r2", 0));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);

    pgt_exec("DROP INDEX t_x_uq", NULL);
    pgt_exec("DELETE FROM t WHERE ctid NOT IN (SELECT min(ctid) FROM t GROUP BY x)", NULL);
    assert_ok(r, retort_mark_reverted(r, "r2"));
    assert_text(version_rows(), "r1|applied");
    assert_text(r2_log(), "up|failed|0 mark-reverted|ok|(null)");

    assert_ok(r, retort_migrate_to_head(r));
    assert_text(version_rows(), "r1|applied r2|applied r3|applied");
    assert_int_equal(pgt_index_state("t_x_uq"), 1);
    assert_text(r2_log(), "up|failed|0 mark-reverted|ok|(null) up|ok|1");
}

/* The operator finishes r2's work by hand and marks it applied: the next
 * run goes on with r3 without running r2 again. */
static void test_mark_applied_resolves_a_dirty_revision_and_is_audited(void **state)
{
    (void)state;
    retort *r = chain("CREATE INDEX CONCURRENTLY t_y_idx ON t (y)", 0);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);

    pgt_exec("ALTER TABLE t ADD COLUMN y INTEGER", NULL);
    pgt_exec("CREATE INDEX t_y_idx ON t (y)", NULL);
    assert_ok(r, retort_mark_applied(r, "r2"));
    assert_text(version_rows(), "r1|applied r2|applied");
    assert_text(r2_log(), "up|failed|0 mark-applied|ok|(null)");

    assert_ok(r, retort_migrate_to_head(r));
    assert_text(version_rows(), "r1|applied r2|applied r3|applied");
    assert_text(r2_log(), "up|failed|0 mark-applied|ok|(null)"); /* r2 did not run again */
    assert_true(pgt_table_exists(NULL, "after_r2"));
}

#define PG_TEST(f) cmocka_unit_test_setup_teardown(f, pgt_setup, pgt_teardown)

int main(void)
{
    if (pgt_skip_unless_server())
        return 0;
    const struct CMUnitTest tests[] = {
        PG_TEST(test_create_index_concurrently_applies_as_a_non_transactional_revision),
        PG_TEST(test_non_transactional_revision_runs_several_concurrent_index_builds),
        PG_TEST(test_create_index_concurrently_in_a_transactional_revision_fails_cleanly),
        PG_TEST(test_failing_concurrent_index_on_a_missing_column_leaves_the_database_dirty),
        PG_TEST(test_failing_second_statement_records_that_one_statement_completed),
        PG_TEST(test_failing_unique_concurrent_index_leaves_an_invalid_index_and_a_dirty_row),
        PG_TEST(test_dirty_database_refuses_every_run_and_says_how_to_resolve),
        PG_TEST(test_mark_reverted_resolves_a_dirty_revision_and_is_audited),
        PG_TEST(test_mark_applied_resolves_a_dirty_revision_and_is_audited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
