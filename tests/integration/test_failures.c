/*
 * test_failures.c — what a failing migration leaves behind: per-migration
 * and whole-run transactions, callbacks that fail, the error message (the
 * revision and the database's own text), and non-transactional revisions
 * that leave the database dirty until an operator resolves it.
 */
#include "steps.h"

/* Five SQL revisions rev_a..rev_e, each creating t_rev_X; the third's SQL
 * creates its table and then fails on a missing table. */
static void add_five_with_failing_third(retort *r)
{
    static const char *const ids[] = {"rev_a", "rev_b", "rev_c", "rev_d", "rev_e"};
    for (int i = 0; i < 5; i++) {
        char up[256], down[128];
        if (i == 2)
            snprintf(up, sizeof up,
                     "CREATE TABLE t_%s (x INTEGER); INSERT INTO no_such_table VALUES (1)",
                     ids[i]);
        else
            snprintf(up, sizeof up, "CREATE TABLE t_%s (x INTEGER)", ids[i]);
        snprintf(down, sizeof down, "DROP TABLE t_%s", ids[i]);
        assert_ok(r, retort_add_sql(r, ids[i], i ? ids[i - 1] : NULL, NULL, up, down));
    }
}

static void test_failed_revision_rolls_back_and_keeps_earlier_ones(void **state)
{
    (void)state;
    retort *r = fixture_new();
    add_five_with_failing_third(r);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "rev_c");
    assert_contains(msg, "no_such_table"); /* the database's own text */
    assert_table("t_rev_a");
    assert_table("t_rev_b");
    assert_no_table("t_rev_c"); /* its CREATE TABLE was rolled back */
    assert_no_table("t_rev_d");
    assert_version_ids("rev_a rev_b");
    assert_current(r, "rev_b");
}

static void test_per_migration_mode_set_by_name_keeps_revisions_before_the_failure(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_set(r, "transaction_mode", "per-migration"));
    add_five_with_failing_third(r);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_table("t_rev_b");
    assert_no_table("t_rev_c");
    assert_version_ids("rev_a rev_b");
}

static void test_whole_run_mode_rolls_back_every_revision_on_failure(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_set_transaction_mode(r, RETORT_TX_WHOLE_RUN));
    add_five_with_failing_third(r);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "rev_c");
    assert_no_table("t_rev_a");
    assert_no_table("t_rev_b");
    assert_no_table("t_rev_c");
    assert_version_ids("");
    assert_current(r, "");
}

static void test_whole_run_mode_applies_everything_when_nothing_fails(void **state)
{
    (void)state;
    static const char *const ids[] = {"w1", "w2", "w3"};
    step s[3];
    retort *r = fixture_new();
    assert_ok(r, retort_set(r, "transaction_mode", "whole-run"));
    add_chain(r, s, ids, 3);
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("t_w3");
    assert_version_ids("w1 w2 w3");
}

static void test_fixed_revision_is_applied_by_the_next_run_without_rerunning_earlier_ones(
    void **state)
{
    (void)state;
    static const char *const ids[] = {"f1", "f2", "f3", "f4"};
    step s[4];
    retort *r = fixture_new();
    add_chain(r, s, ids, 4);
    s[2].fail_up = 1;
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_version_ids("f1 f2");
    assert_no_table("t_f3");
    s[2].fail_up = 0; /* the fix ships */
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(s[0].ups, 1);
    assert_int_equal(s[1].ups, 1);
    assert_int_equal(s[2].ups, 2);
    assert_int_equal(s[3].ups, 1);
    assert_version_ids("f1 f2 f3 f4");
    assert_table("t_f3");
}

static void test_callback_returning_nonzero_rolls_back_its_statements(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_step(r, &s[0], "ok_first", NULL);
    add_step(r, &s[1], "cb_fails", "ok_first");
    s[1].fail_up = 1; /* after creating t_cb_fails */
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "cb_fails");
    assert_no_table("t_cb_fails");
    assert_table("t_ok_first");
    assert_version_ids("ok_first");
}

static void test_callback_error_message_is_reported_with_the_revision(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    add_step(r, &s[0], "explains", NULL);
    s[0].fail_up = 1;
    s[0].message = "the widget table is locked by the billing job";
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "explains");
    assert_contains(retort_errmsg(r), "the widget table is locked by the billing job");
    assert_version_ids("");
}

static void test_failed_exec_in_a_callback_reports_the_database_text(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    add_step(r, &s[0], "bad_sql", NULL);
    snprintf(s[0].up_sql, sizeof s[0].up_sql,
             "CREATE TABLE t_bad_sql (x INTEGER); INSERT INTO missing_relation VALUES (1)");
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "bad_sql");
    assert_contains(retort_errmsg(r), "missing_relation");
    assert_no_table("t_bad_sql");
    assert_version_ids("");
}

static void test_sql_syntax_error_fails_the_revision(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "syn1", NULL, NULL, "CREATE TABLE t_syn1 (x INTEGER)", NULL));
    assert_ok(r, retort_add_sql(r, "syn2", "syn1", NULL, "CREATE TABLEX oops", NULL));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "syn2");
    assert_contains(retort_errmsg(r), "TABLEX");
    assert_version_ids("syn1");
}

/* ------------------------------------------------- non-transactional */

/* nt_before, then nontx (non-transactional: creates t_nontx, then fails
 * while s[1].fail_up is set), then nt_after. */
static retort *dirty_setup(step *s)
{
    retort *r = fixture_new();
    add_step(r, &s[0], "nt_before", NULL);
    add_step(r, &s[1], "nontx", "nt_before");
    add_step(r, &s[2], "nt_after", "nontx");
    assert_ok(r, retort_revision_set_transactional(r, "nontx", 0));
    s[1].fail_up = 1;
    return r;
}

static char *row_state(const char *id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT state FROM retort_version WHERE id = '%s'", id);
    return fixture_scalar(sql);
}

static void test_non_transactional_failure_leaves_the_database_dirty(void **state)
{
    (void)state;
    step s[3];
    retort *r = dirty_setup(s);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "nontx");
    /* Outside a transaction, what ran stays: the table and a dirty row. */
    assert_table("t_nontx");
    assert_version_ids("nontx nt_before");
    char *st = row_state("nontx");
    assert_non_null(st);
    assert_string_equal(st, "dirty");
    free(st);
    st = row_state("nt_before");
    assert_string_equal(st, "applied");
    free(st);
    assert_no_table("t_nt_after");
    assert_int_equal(s[2].ups, 0);
}

static void test_dirty_database_refuses_every_run_until_resolved(void **state)
{
    (void)state;
    step s[3];
    retort *r = dirty_setup(s);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    s[1].fail_up = 0;
    assert_rc(r, retort_migrate_to_head(r), RETORT_EDIRTY);
    assert_contains(retort_errmsg(r), "nontx");
    assert_rc(r, retort_upgrade(r, "nt_after"), RETORT_EDIRTY);
    assert_rc(r, retort_downgrade(r, "base"), RETORT_EDIRTY);
    assert_rc(r, retort_check(r), RETORT_EDIRTY);
    /* a new context, as another process, sees the same */
    retort *other = fixture_new();
    readd_step(other, &s[0], NULL);
    readd_step(other, &s[1], "nt_before");
    readd_step(other, &s[2], "nontx");
    assert_rc(other, retort_migrate_to_head(other), RETORT_EDIRTY);
    assert_int_equal(s[1].ups, 1);
    assert_int_equal(s[2].ups, 0);
    assert_int_equal(s[0].downs, 0);
    assert_version_ids("nontx nt_before");
    assert_table("t_nontx");
}

static void test_mark_applied_resolves_a_dirty_revision_without_rerunning_it(void **state)
{
    (void)state;
    step s[3];
    retort *r = dirty_setup(s);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    /* the operator finished the migration by hand */
    assert_ok(r, retort_mark_applied(r, "nontx"));
    char *st = row_state("nontx");
    assert_string_equal(st, "applied");
    free(st);
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(s[1].ups, 1);
    assert_int_equal(s[2].ups, 1);
    assert_version_ids("nontx nt_after nt_before");
    assert_table("t_nt_after");
}

static void test_mark_reverted_resolves_a_dirty_revision_so_it_runs_again(void **state)
{
    (void)state;
    step s[3];
    retort *r = dirty_setup(s);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    /* the operator undid the half-done migration by hand */
    fixture_exec("DROP TABLE t_nontx");
    assert_ok(r, retort_mark_reverted(r, "nontx"));
    assert_version_ids("nt_before");
    s[1].fail_up = 0;
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(s[1].ups, 2);
    assert_table("t_nontx");
    char *st = row_state("nontx");
    assert_string_equal(st, "applied");
    free(st);
    assert_version_ids("nontx nt_after nt_before");
}

static void test_non_transactional_sql_keeps_the_statements_before_the_failure(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "ntsql", NULL, NULL,
                                "CREATE TABLE nt_one (x INTEGER);\n"
                                "CREATE TABLE nt_two (x INTEGER);\n"
                                "INSERT INTO no_such_table VALUES (1);\n"
                                "CREATE TABLE nt_three (x INTEGER);",
                                NULL));
    assert_ok(r, retort_revision_set_transactional(r, "ntsql", 0));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "ntsql");
    assert_contains(retort_errmsg(r), "no_such_table");
    assert_table("nt_one");
    assert_table("nt_two");
    assert_no_table("nt_three");
    char *st = row_state("ntsql");
    assert_non_null(st);
    assert_string_equal(st, "dirty");
    free(st);
}

static void test_successful_non_transactional_revision_is_recorded_applied(void **state)
{
    (void)state;
    step s[3];
    retort *r = dirty_setup(s);
    s[1].fail_up = 0;
    assert_ok(r, retort_migrate_to_head(r));
    char *st = row_state("nontx");
    assert_string_equal(st, "applied");
    free(st);
    assert_version_ids("nontx nt_after nt_before");
}

static void test_mark_of_an_unregistered_revision_is_enotfound(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    add_step(r, &s[0], "known", NULL);
    assert_rc(r, retort_mark_applied(r, "unknown_rev"), RETORT_ENOTFOUND);
    assert_contains(retort_errmsg(r), "unknown_rev");
    assert_rc(r, retort_mark_reverted(r, "unknown_rev"), RETORT_ENOTFOUND);
    assert_version_ids("");
}

static void test_set_transactional_of_an_unregistered_revision_is_enotfound(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_rc(r, retort_revision_set_transactional(r, "ghost", 0), RETORT_ENOTFOUND);
    assert_contains(retort_errmsg(r), "ghost");
}

/* rev_a installs a trigger refusing rev_b's row in table ("retort_version"
 * or "retort_version_log"): the statements that end rev_b's step, which
 * PostgreSQL sends in one pipeline with the COMMIT, fail after its body
 * ran.  The message must name what failed, and nothing of rev_b stay. */
static void fail_recording_rev_b_in(const char *table, const char *column, const char *what)
{
    retort *r = fixture_new();
    char trigger[1024];
    if (fixture_is_postgres())
        snprintf(trigger, sizeof trigger,
                 "CREATE FUNCTION refuse_rev_b() RETURNS trigger LANGUAGE plpgsql AS $$ "
                 "BEGIN IF NEW.%s = 'rev_b' THEN RAISE EXCEPTION 'refused by trigger'; END IF; "
                 "RETURN NEW; END $$; "
                 "CREATE TRIGGER refuse_rev_b BEFORE INSERT ON \"%s\".%s FOR EACH ROW "
                 "EXECUTE FUNCTION refuse_rev_b()",
                 column, fixture_schema(), table);
    else
        snprintf(trigger, sizeof trigger,
                 "CREATE TRIGGER refuse_rev_b BEFORE INSERT ON %s WHEN NEW.%s = 'rev_b' "
                 "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END",
                 table, column);
    assert_ok(r, retort_add_sql(r, "rev_a", NULL, NULL, trigger, "SELECT 1"));
    assert_ok(r, retort_add_sql(r, "rev_b", "rev_a", NULL, "CREATE TABLE t_rev_b (x INTEGER)",
                                "DROP TABLE t_rev_b"));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EDB);
    assert_contains(retort_errmsg(r), what);
    assert_contains(retort_errmsg(r), "refused by trigger");
    assert_no_table("t_rev_b"); /* its body was rolled back with the row */
    assert_version_ids("rev_a");
    assert_current(r, "rev_a");
    /* The connection is usable afterwards: the next operation reads. */
    assert_rc(r, retort_check(r), RETORT_EPENDING);
}

static void test_failure_recording_the_version_row_rolls_the_revision_back(void **state)
{
    (void)state;
    fail_recording_rev_b_in("retort_version", "id",
                            "revision 'rev_b': cannot record it in the version table");
    /* The attempt is in the audit log, outside the rolled-back transaction. */
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'rev_b' AND outcome = 'failed' AND error LIKE '%refused%'"),
                     1);
}

static void test_failure_appending_to_the_audit_log_rolls_the_revision_back(void **state)
{
    (void)state;
    fail_recording_rev_b_in("retort_version_log", "revision",
                            "revision 'rev_b': cannot append to the audit log");
}

static void test_a_body_that_ends_the_transaction_itself_is_not_recorded(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "rev_a", NULL, NULL, "CREATE TABLE t_rev_a (x INTEGER)",
                                "DROP TABLE t_rev_a"));
    assert_ok(r, retort_add_sql(r, "rev_b", "rev_a", NULL,
                                "CREATE TABLE t_rev_b (x INTEGER); COMMIT; "
                                "CREATE TABLE t_rev_b2 (x INTEGER)",
                                "DROP TABLE t_rev_b"));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "rev_b");
    assert_contains(retort_errmsg(r), "ended the transaction");
    /* What ran is committed (nothing can undo that), so rev_b is recorded
     * dirty, never applied.  SQLite stops at the COMMIT; PostgreSQL runs a
     * transactional body as one query string, so the server has run the
     * statements after it before the driver can tell. */
    assert_table("t_rev_b");
    if (!fixture_is_postgres())
        assert_no_table("t_rev_b2");
    assert_version_ids("rev_a rev_b");
    char *st = row_state("rev_b");
    assert_string_equal(st, "dirty");
    free(st);
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'rev_b' AND outcome = 'failed'"),
                     1);
}

/* rev_a, then rev_b whose SQL is body; migrating to head must fail on
 * rev_b without recording it applied. */
static retort *fail_rev_b_with(const char *body)
{
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "rev_a", NULL, NULL, "CREATE TABLE t_rev_a (x INTEGER)",
                                "DROP TABLE t_rev_a"));
    assert_ok(r, retort_add_sql(r, "rev_b", "rev_a", "ends it", body, "DROP TABLE t_rev_b"));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "rev_b");
    assert_contains(retort_errmsg(r), "ended the transaction");
    return r;
}

static void test_commit_then_begin_in_a_body_marks_the_revision_dirty(void **state)
{
    (void)state;
    retort *r = fail_rev_b_with("CREATE TABLE t_rev_b (x INTEGER); COMMIT; BEGIN; "
                                "CREATE TABLE t_rev_b2 (x INTEGER)");
    assert_contains(retort_errmsg(r), "dirty");
    assert_table("t_rev_b"); /* committed by the body itself */
    assert_no_table("t_rev_b2");
    assert_version_ids("rev_a rev_b");
    char *st = row_state("rev_b");
    assert_string_equal(st, "dirty");
    free(st);
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'rev_b' AND outcome = 'failed'"),
                     1);
    /* The next run refuses until an operator resolves it. */
    assert_rc(r, retort_migrate_to_head(r), RETORT_EDIRTY);
    assert_contains(retort_errmsg(r), "rev_b");
}

static void test_rollback_then_begin_in_a_body_is_never_recorded_applied(void **state)
{
    (void)state;
    (void)fail_rev_b_with("CREATE TABLE t_rev_b (x INTEGER); ROLLBACK; BEGIN; "
                                "CREATE TABLE t_rev_b2 (x INTEGER)");
    assert_no_table("t_rev_b");
    assert_no_table("t_rev_b2");
    /* SQLite sees the ROLLBACK commit nothing; PostgreSQL cannot tell a
     * ROLLBACK from a COMMIT after the fact, so it marks it dirty. */
    char *st = row_state("rev_b");
    if (fixture_is_postgres())
        assert_string_equal(st, "dirty");
    else
        assert_null(st);
    free(st);
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'rev_b' AND outcome = 'failed'"),
                     1);
}

static void test_commit_then_begin_in_a_callback_marks_the_revision_dirty(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_step(r, &s[0], "cb_a", NULL);
    add_step(r, &s[1], "cb_b", "cb_a");
    snprintf(s[1].up_sql, sizeof s[1].up_sql,
             "CREATE TABLE t_cb_b (x INTEGER); COMMIT; BEGIN; CREATE TABLE t_cb_b2 (x INTEGER)");
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "cb_b");
    assert_table("t_cb_b");
    assert_no_table("t_cb_b2");
    char *st = row_state("cb_b");
    assert_string_equal(st, "dirty");
    free(st);
}

/* A non-transactional revision whose SQL opens a transaction and never
 * ends it, followed by another revision. */
/* Another process resolves the revision by hand while its body runs: the
 * operator's mark-reverted removes the dirty row under it (SQLite).  On
 * PostgreSQL the advisory lock, held for the whole run, keeps the operator
 * out: the mark times out instead. */
static int mark_reverted_meanwhile(retort_conn *conn, void *user)
{
    (void)user;
    if (retort_exec(conn, "CREATE TABLE t_nt_raced (x INTEGER)") != RETORT_OK)
        return 1;
    retort *other = fixture_new();
    int rc = retort_add(other, "nt_raced", NULL, NULL, mark_reverted_meanwhile, NULL, NULL);
    if (rc == RETORT_OK && fixture_is_postgres())
        rc = retort_set_lock_timeout(other, 100);
    if (rc == RETORT_OK)
        rc = retort_mark_reverted(other, "nt_raced");
    if (fixture_is_postgres() && rc == RETORT_ELOCK)
        rc = RETORT_OK;
    else if (fixture_is_postgres() && rc == RETORT_OK)
        rc = retort_conn_set_error(conn, "the mark got past the run's lock");
    else if (rc != RETORT_OK)
        retort_conn_set_error(conn, retort_errmsg(other));
    fixture_free(other);
    return rc == RETORT_OK ? 0 : 1;
}

static void test_non_transactional_revision_whose_row_vanished_meanwhile_is_not_reported_applied(
    void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add(r, "nt_raced", NULL, NULL, mark_reverted_meanwhile, NULL, NULL));
    assert_ok(r, retort_revision_set_transactional(r, "nt_raced", 0));
    if (fixture_is_postgres()) {
        assert_ok(r, retort_migrate_to_head(r));
        assert_table("t_nt_raced");
        assert_version_ids("nt_raced");
        return;
    }
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "'nt_raced'");
    assert_contains(retort_errmsg(r), "another process");
    assert_table("t_nt_raced");
    assert_version_ids("");
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'nt_raced' AND direction = 'up' AND outcome = 'ok'"),
                     0);
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'nt_raced' AND direction = 'up' AND outcome = 'failed'"),
                     1);
}

static void test_non_transactional_revision_leaving_a_transaction_open_fails_dirty(
    void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "nt_a", NULL, NULL, "CREATE TABLE t_nt_a (x INTEGER)", NULL));
    assert_ok(r, retort_add_sql(r, "nt_open", "nt_a", NULL,
                                "CREATE TABLE t_nt_open (x INTEGER); BEGIN; "
                                "CREATE TABLE t_nt_open2 (x INTEGER)",
                                NULL));
    assert_ok(r, retort_add_sql(r, "nt_next", "nt_open", NULL,
                                "CREATE TABLE t_nt_next (x INTEGER)", NULL));
    assert_ok(r, retort_revision_set_transactional(r, "nt_open", 0));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    const char *msg = retort_errmsg(r);
    assert_contains(msg, "'nt_open'");
    assert_contains(msg, "transaction open");
    assert_contains(msg, "dirty");
    assert_null(strstr(msg, "nt_next"));
    assert_table("t_nt_open");      /* ran and committed by itself */
    assert_no_table("t_nt_open2");  /* inside the transaction left open */
    assert_no_table("t_nt_next");
    assert_version_ids("nt_a nt_open");
    char *st = row_state("nt_open");
    assert_string_equal(st, "dirty");
    free(st);
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'nt_open' AND outcome = 'failed'"),
                     1);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EDIRTY);
    assert_contains(retort_errmsg(r), "nt_open");
}

static int begin_and_leave_open(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "CREATE TABLE t_cb_open (x INTEGER)") ||
           retort_exec(conn, "BEGIN") || retort_exec(conn, "CREATE TABLE t_cb_open2 (x INTEGER)");
}

static void test_non_transactional_callback_leaving_a_transaction_open_fails_dirty(
    void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add(r, "cb_open", NULL, NULL, begin_and_leave_open, NULL, NULL));
    assert_ok(r, retort_revision_set_transactional(r, "cb_open", 0));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "'cb_open'");
    assert_contains(retort_errmsg(r), "transaction open");
    assert_table("t_cb_open");
    assert_no_table("t_cb_open2");
    char *st = row_state("cb_open");
    assert_string_equal(st, "dirty");
    free(st);
    assert_int_equal(fixture_count("SELECT count(*) FROM retort_version_log WHERE revision = "
                                   "'cb_open' AND outcome = 'failed'"),
                     1);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_failed_revision_rolls_back_and_keeps_earlier_ones),
        IT_TEST(test_per_migration_mode_set_by_name_keeps_revisions_before_the_failure),
        IT_TEST(test_whole_run_mode_rolls_back_every_revision_on_failure),
        IT_TEST(test_whole_run_mode_applies_everything_when_nothing_fails),
        IT_TEST(test_fixed_revision_is_applied_by_the_next_run_without_rerunning_earlier_ones),
        IT_TEST(test_callback_returning_nonzero_rolls_back_its_statements),
        IT_TEST(test_callback_error_message_is_reported_with_the_revision),
        IT_TEST(test_failed_exec_in_a_callback_reports_the_database_text),
        IT_TEST(test_sql_syntax_error_fails_the_revision),
        IT_TEST(test_non_transactional_failure_leaves_the_database_dirty),
        IT_TEST(test_dirty_database_refuses_every_run_until_resolved),
        IT_TEST(test_mark_applied_resolves_a_dirty_revision_without_rerunning_it),
        IT_TEST(test_mark_reverted_resolves_a_dirty_revision_so_it_runs_again),
        IT_TEST(test_non_transactional_sql_keeps_the_statements_before_the_failure),
        IT_TEST(test_successful_non_transactional_revision_is_recorded_applied),
        IT_TEST(test_mark_of_an_unregistered_revision_is_enotfound),
        IT_TEST(test_set_transactional_of_an_unregistered_revision_is_enotfound),
        IT_TEST(test_failure_recording_the_version_row_rolls_the_revision_back),
        IT_TEST(test_failure_appending_to_the_audit_log_rolls_the_revision_back),
        IT_TEST(test_a_body_that_ends_the_transaction_itself_is_not_recorded),
        IT_TEST(test_commit_then_begin_in_a_body_marks_the_revision_dirty),
        IT_TEST(test_rollback_then_begin_in_a_body_is_never_recorded_applied),
        IT_TEST(test_commit_then_begin_in_a_callback_marks_the_revision_dirty),
        IT_TEST(test_non_transactional_revision_leaving_a_transaction_open_fails_dirty),
        IT_TEST(test_non_transactional_callback_leaving_a_transaction_open_fails_dirty),
        IT_TEST(
            test_non_transactional_revision_whose_row_vanished_meanwhile_is_not_reported_applied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
