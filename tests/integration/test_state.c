/*
 * test_state.c — the recorded state and how the library treats it: revisions
 * the registry does not know (an error unless tolerated), stamp, and the
 * checksums of SQL migrations whose text changed after they were applied.
 */
#include "steps.h"

static const char *const ids3[] = {"u1", "u2", "u3"};

/* Applies u1 u2 u3 in one context, then returns a new context that knows
 * only u1 u2 (an older build of the application). */
static retort *older_build(step *s)
{
    retort *newer = fixture_new();
    add_chain(newer, s, ids3, 3);
    assert_ok(newer, retort_migrate_to_head(newer));
    fixture_free(newer);
    retort *older = fixture_new();
    readd_step(older, &s[0], NULL);
    readd_step(older, &s[1], "u1");
    step_trace[0] = '\0';
    return older;
}

static void test_unknown_applied_revision_is_eunknown_naming_it(void **state)
{
    (void)state;
    step s[3];
    retort *r = older_build(s);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EUNKNOWN);
    assert_contains(retort_errmsg(r), "u3");
    assert_version_ids("u1 u2 u3");
    assert_trace("");
}

static void test_unknown_applied_revision_also_blocks_downgrade(void **state)
{
    (void)state;
    step s[3];
    retort *r = older_build(s);
    assert_rc(r, retort_downgrade(r, "base"), RETORT_EUNKNOWN);
    assert_contains(retort_errmsg(r), "u3");
    assert_version_ids("u1 u2 u3");
    assert_table("t_u1");
    assert_trace("");
}

static void test_current_shows_an_unknown_applied_head(void **state)
{
    (void)state;
    step s[3];
    retort *r = older_build(s);
    assert_current(r, "u3");
}

static void test_tolerate_unknown_lets_migrate_to_head_succeed_without_running_anything(
    void **state)
{
    (void)state;
    step s[3];
    retort *r = older_build(s);
    assert_ok(r, retort_set_tolerate_unknown(r, 1));
    assert_ok(r, retort_migrate_to_head(r));
    assert_trace("");
    assert_version_ids("u1 u2 u3");
    assert_int_equal(s[0].ups + s[1].ups + s[2].ups, 3);
}

static void test_tolerate_unknown_set_by_name(void **state)
{
    (void)state;
    step s[3];
    retort *r = older_build(s);
    assert_ok(r, retort_set(r, "tolerate_unknown", "true"));
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_set(r, "tolerate_unknown", "0"));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EUNKNOWN);
    assert_version_ids("u1 u2 u3");
}

static void test_tolerate_unknown_refuses_when_a_known_revision_is_unapplied(void **state)
{
    (void)state;
    step s[4];
    retort *newer = fixture_new();
    add_chain(newer, s, ids3, 3);
    assert_ok(newer, retort_migrate_to_head(newer));
    fixture_free(newer);
    /* A build that knows u1 u2 and its own u2b, which was never applied:
     * the database went another way, so "every revision the application
     * knows is applied" does not hold. */
    retort *r = fixture_new();
    readd_step(r, &s[0], NULL);
    readd_step(r, &s[1], "u1");
    add_step(r, &s[3], "u2b", "u2");
    assert_ok(r, retort_set_tolerate_unknown(r, 1));
    int rc = retort_migrate_to_head(r);
    if (rc == RETORT_OK)
        fail_msg("migrate_to_head succeeded with unapplied u2b beside unknown u3");
    assert_int_equal(s[3].ups, 0);
    assert_no_table("t_u2b");
    assert_version_ids("u1 u2 u3");
}

/* ---------------------------------------------------------------- stamp */

static void test_stamp_head_records_every_revision_without_running_any(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids3, 3);
    assert_ok(r, retort_stamp(r, "head"));
    assert_trace("");
    assert_version_ids("u1 u2 u3");
    assert_no_table("t_u1");
    assert_current(r, "u3");
    assert_ok(r, retort_migrate_to_head(r));
    assert_trace("");
}

static void test_stamp_id_records_it_and_its_ancestors(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids3, 3);
    assert_ok(r, retort_stamp(r, "u2"));
    assert_version_ids("u1 u2");
    assert_trace("");
    assert_ok(r, retort_migrate_to_head(r));
    assert_trace("+u3 ");
    assert_no_table("t_u1");
    assert_table("t_u3");
}

static void test_stamp_moves_the_recorded_state_down_without_reverting(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids3, 3);
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_stamp(r, "u1"));
    assert_version_ids("u1");
    assert_table("t_u3");
    assert_int_equal(s[2].downs, 0);
}

static void test_stamp_base_clears_the_recorded_state(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids3, 3);
    assert_ok(r, retort_migrate_to_head(r));
    step_trace[0] = '\0';
    assert_ok(r, retort_stamp(r, "base"));
    assert_version_ids("");
    assert_current(r, "");
    assert_trace("");
    assert_table("t_u1"); /* the schema itself is untouched */
}

static void test_stamp_heads_records_every_branch(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "left", "root");
    add_step(r, &s[2], "right", "root");
    assert_rc(r, retort_stamp(r, "head"), RETORT_ETARGET);
    assert_version_ids("");
    assert_ok(r, retort_stamp(r, "heads"));
    assert_version_ids("left right root");
    assert_trace("");
}

/* A rolling deploy: a newer build applied a..d; an older one, knowing a
 * and b and tolerating the rest, stamps. */
static const char *const abcd[] = {"a", "b", "c", "d"};

static retort *older_tolerant_build(step *s)
{
    retort *newer = fixture_new();
    add_chain(newer, s, abcd, 4);
    assert_ok(newer, retort_migrate_to_head(newer));
    fixture_free(newer);
    retort *older = fixture_new();
    readd_step(older, &s[0], NULL);
    readd_step(older, &s[1], "a");
    assert_ok(older, retort_set_tolerate_unknown(older, 1));
    step_trace[0] = '\0';
    return older;
}

/* The newer build, back at startup, must find nothing to run. */
static void assert_newer_build_runs_nothing(step *s)
{
    retort *newer = fixture_new();
    readd_step(newer, &s[0], NULL);
    readd_step(newer, &s[1], "a");
    readd_step(newer, &s[2], "b");
    readd_step(newer, &s[3], "c");
    assert_ok(newer, retort_migrate_to_head(newer));
    assert_trace("");
    assert_version_ids("a b c d");
}

static void test_stamp_under_tolerate_unknown_keeps_the_rows_newer_revisions_need(void **state)
{
    (void)state;
    step s[4];
    retort *r = older_tolerant_build(s);
    assert_ok(r, retort_stamp(r, "b")); /* what is recorded already: nothing to remove */
    assert_version_ids("a b c d");
    assert_newer_build_runs_nothing(s);
}

static void test_stamp_under_tolerate_unknown_refuses_to_remove_a_row_a_newer_revision_needs(
    void **state)
{
    (void)state;
    step s[4];
    retort *r = older_tolerant_build(s);
    assert_rc(r, retort_stamp(r, "a"), RETORT_EUNKNOWN);
    assert_contains(retort_errmsg(r), "'b'");
    assert_contains(retort_errmsg(r), "'c'"); /* the unknown revision that needs it */
    assert_version_ids("a b c d");
    assert_rc(r, retort_stamp(r, "base"), RETORT_EUNKNOWN);
    assert_contains(retort_errmsg(r), "'c'");
    assert_version_ids("a b c d");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log "
                                   "WHERE direction = 'stamp'"),
                     0);
    assert_newer_build_runs_nothing(s);
}

/* Reporting success would claim the database is at the target while
 * revisions newer than the application stay applied above it. */
static void test_downgrade_under_tolerate_unknown_with_nothing_known_to_revert_is_refused(
    void **state)
{
    (void)state;
    step s[4];
    retort *r = older_tolerant_build(s);
    assert_rc(r, retort_downgrade(r, "b"), RETORT_EUNKNOWN);
    assert_contains(retort_errmsg(r), "('c', 'd')");
    assert_version_ids("a b c d");
    assert_rc(r, retort_downgrade(r, "a"), RETORT_EUNKNOWN);
    assert_version_ids("a b c d");
    assert_trace("");
    assert_newer_build_runs_nothing(s);
}

static void test_stamp_of_an_unknown_target_changes_nothing(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids3, 3);
    assert_ok(r, retort_upgrade(r, "u1"));
    assert_rc(r, retort_stamp(r, "nope"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "nope");
    assert_rc(r, retort_stamp(r, "+1"), RETORT_ETARGET);
    assert_version_ids("u1");
}

/* ------------------------------------------------------------ checksums */

static const char *const ck_up_v1 = "CREATE TABLE t_ck1 (x INTEGER)";
static const char *const ck_up_v2 = "CREATE TABLE t_ck1 (x INTEGER, y INTEGER)";

/* Applies ck1 with the v1 text; returns a new context whose ck1 has the v2
 * text, plus a new revision ck2. */
static retort *edited_build(void)
{
    retort *first = fixture_new();
    assert_ok(first, retort_add_sql(first, "ck1", NULL, "checked", ck_up_v1, "DROP TABLE t_ck1"));
    assert_ok(first, retort_migrate_to_head(first));
    fixture_free(first);
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "ck1", NULL, "checked", ck_up_v2, "DROP TABLE t_ck1"));
    assert_ok(r, retort_add_sql(r, "ck2", "ck1", NULL, "CREATE TABLE t_ck2 (x INTEGER)",
                                "DROP TABLE t_ck2"));
    return r;
}

static void test_changed_sql_text_is_a_warning_by_default(void **state)
{
    (void)state;
    retort *r = edited_build();
    fixture_capture_log(r, RETORT_LOG_WARN);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("ck1 ck2");
    assert_table("t_ck2");
    assert_true(fixture_log_count(RETORT_LOG_WARN) >= 1);
    assert_contains(fixture_log_text(), "ck1");
}

static void test_changed_sql_text_is_echecksum_under_the_error_policy(void **state)
{
    (void)state;
    retort *r = edited_build();
    assert_ok(r, retort_set_checksum_policy(r, RETORT_CHECKSUM_ERROR));
    assert_rc(r, retort_migrate_to_head(r), RETORT_ECHECKSUM);
    assert_contains(retort_errmsg(r), "ck1");
    assert_version_ids("ck1");
    assert_no_table("t_ck2");
}

static void test_checksum_policy_error_set_by_name(void **state)
{
    (void)state;
    retort *r = edited_build();
    assert_ok(r, retort_set(r, "checksum_policy", "error"));
    assert_rc(r, retort_migrate_to_head(r), RETORT_ECHECKSUM);
    assert_no_table("t_ck2");
}

static void test_check_reports_a_changed_sql_text_as_echecksum(void **state)
{
    (void)state;
    retort *r = edited_build();
    assert_ok(r, retort_upgrade(r, "heads")); /* warn policy: applies ck2 */
    assert_rc(r, retort_check(r), RETORT_ECHECKSUM);
    assert_contains(retort_errmsg(r), "ck1");
    assert_version_ids("ck1 ck2");
}

static void test_checksum_ignore_policy_neither_warns_nor_fails(void **state)
{
    (void)state;
    retort *r = edited_build();
    assert_ok(r, retort_set_checksum_policy(r, RETORT_CHECKSUM_IGNORE));
    fixture_capture_log(r, RETORT_LOG_WARN);
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_check(r));
    assert_int_equal(fixture_log_count(RETORT_LOG_WARN), 0);
}

static void test_unchanged_sql_text_passes_check_without_warnings(void **state)
{
    (void)state;
    retort *first = fixture_new();
    assert_ok(first, retort_add_sql(first, "ck1", NULL, NULL, ck_up_v1, "DROP TABLE t_ck1"));
    assert_ok(first, retort_migrate_to_head(first));
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "ck1", NULL, NULL, ck_up_v1, "DROP TABLE t_ck1"));
    assert_ok(r, retort_set_checksum_policy(r, RETORT_CHECKSUM_ERROR));
    fixture_capture_log(r, RETORT_LOG_WARN);
    assert_ok(r, retort_check(r));
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(fixture_log_count(RETORT_LOG_WARN), 0);
}

static void test_version_row_records_parents_message_and_checksum(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "vr1", NULL, "first one", "CREATE TABLE t_vr1 (x INTEGER)",
                                NULL));
    assert_ok(r, retort_add_sql(r, "vr2", "vr1", "it's the second",
                                "CREATE TABLE t_vr2 (x INTEGER)", NULL));
    assert_ok(r, retort_migrate_to_head(r));
    char *v = fixture_scalar("SELECT parents FROM retort_version WHERE id = 'vr2'");
    assert_string_equal(v, "vr1");
    free(v);
    v = fixture_scalar("SELECT message FROM retort_version WHERE id = 'vr2'");
    assert_string_equal(v, "it's the second");
    free(v);
    v = fixture_scalar("SELECT checksum FROM retort_version WHERE id = 'vr1'");
    assert_non_null(v);
    assert_int_equal(strlen(v), 64);
    free(v);
    v = fixture_scalar("SELECT state FROM retort_version WHERE id = 'vr1'");
    assert_string_equal(v, "applied");
    free(v);
}

static void test_version_row_with_a_null_id_is_named_as_the_fault(void **state)
{
    (void)state;
    /* A version table retort did not create (no NOT NULL on id), with a
     * row whose id is NULL. */
    if (fixture_is_postgres())
        fixture_exec("CREATE TABLE retort_version (seq BIGSERIAL NOT NULL, id VARCHAR(128), "
                     "parents TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', "
                     "checksum CHAR(64), state VARCHAR(16) NOT NULL DEFAULT 'applied', "
                     "applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
                     "duration_ms BIGINT NOT NULL DEFAULT 0)");
    else
        fixture_exec("CREATE TABLE retort_version (id TEXT, parents TEXT NOT NULL DEFAULT '', "
                     "message TEXT NOT NULL DEFAULT '', checksum TEXT, state TEXT NOT NULL "
                     "DEFAULT 'applied', applied_at TEXT NOT NULL DEFAULT '', duration_ms "
                     "INTEGER NOT NULL DEFAULT 0)");
    fixture_exec("INSERT INTO retort_version (id) VALUES (NULL)");
    retort *r = fixture_new();
    const char *heads = NULL;
    assert_rc(r, retort_current(r, &heads), RETORT_EDB);
    assert_contains(retort_errmsg(r), "retort_version");
    assert_contains(retort_errmsg(r), "NULL id");
    assert_null(strstr(retort_errmsg(r), "no detail"));
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_unknown_applied_revision_is_eunknown_naming_it),
        IT_TEST(test_unknown_applied_revision_also_blocks_downgrade),
        IT_TEST(test_current_shows_an_unknown_applied_head),
        IT_TEST(test_tolerate_unknown_lets_migrate_to_head_succeed_without_running_anything),
        IT_TEST(test_tolerate_unknown_set_by_name),
        IT_TEST(test_tolerate_unknown_refuses_when_a_known_revision_is_unapplied),
        IT_TEST(test_stamp_head_records_every_revision_without_running_any),
        IT_TEST(test_stamp_id_records_it_and_its_ancestors),
        IT_TEST(test_stamp_moves_the_recorded_state_down_without_reverting),
        IT_TEST(test_stamp_base_clears_the_recorded_state),
        IT_TEST(test_stamp_under_tolerate_unknown_keeps_the_rows_newer_revisions_need),
        IT_TEST(test_stamp_under_tolerate_unknown_refuses_to_remove_a_row_a_newer_revision_needs),
        IT_TEST(test_stamp_heads_records_every_branch),
        IT_TEST(test_downgrade_under_tolerate_unknown_with_nothing_known_to_revert_is_refused),
        IT_TEST(test_stamp_of_an_unknown_target_changes_nothing),
        IT_TEST(test_changed_sql_text_is_a_warning_by_default),
        IT_TEST(test_changed_sql_text_is_echecksum_under_the_error_policy),
        IT_TEST(test_checksum_policy_error_set_by_name),
        IT_TEST(test_check_reports_a_changed_sql_text_as_echecksum),
        IT_TEST(test_checksum_ignore_policy_neither_warns_nor_fails),
        IT_TEST(test_unchanged_sql_text_passes_check_without_warnings),
        IT_TEST(test_version_row_records_parents_message_and_checksum),
        IT_TEST(test_version_row_with_a_null_id_is_named_as_the_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
