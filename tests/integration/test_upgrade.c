/*
 * test_upgrade.c — upgrades through the public API against a real database:
 * from empty, at head, to ids, +N, head vs heads, merges, the order ties
 * are broken in, and the recorded state retort_current / check / plan see.
 */
#include "steps.h"

static const char *const ids5[] = {"r1", "r2", "r3", "r4", "r5"};

static void test_migrate_to_head_from_empty_applies_every_revision(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 3);
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("t_r1");
    assert_table("t_r2");
    assert_table("t_r3");
    assert_version_ids("r1 r2 r3");
    assert_trace("+r1 +r2 +r3 ");
    assert_current(r, "r3");
    assert_string_equal(retort_errmsg(r), "");
}

static void test_migrate_to_head_at_head_runs_nothing(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 3);
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_migrate_to_head(r));
    /* and from a fresh context, as after a restart */
    retort *again = fixture_new();
    for (int i = 0; i < 3; i++)
        readd_step(again, &s[i], i ? ids5[i - 1] : NULL);
    assert_ok(again, retort_migrate_to_head(again));
    for (int i = 0; i < 3; i++)
        assert_int_equal(s[i].ups, 1);
    assert_version_ids("r1 r2 r3");
    assert_current(again, "r3");
}

static void test_next_run_applies_only_the_new_revisions(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 2);
    assert_ok(r, retort_migrate_to_head(r));
    fixture_free(r);

    retort *later = fixture_new();
    readd_step(later, &s[0], NULL);
    readd_step(later, &s[1], "r1");
    add_step(later, &s[2], "r3", "r2");
    add_step(later, &s[3], "r4", "r3");
    assert_ok(later, retort_migrate_to_head(later));
    assert_trace("+r1 +r2 +r3 +r4 ");
    assert_version_ids("r1 r2 r3 r4");
    assert_table("t_r4");
}

static void test_upgrade_to_an_id_applies_only_its_ancestors(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 4);
    assert_ok(r, retort_upgrade(r, "r2"));
    assert_table("t_r2");
    assert_no_table("t_r3");
    assert_version_ids("r1 r2");
    assert_current(r, "r2");
    assert_int_equal(s[2].ups, 0);
}

static void test_upgrade_plus_n_applies_n_more_revisions(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 4);
    assert_ok(r, retort_upgrade(r, "+2"));
    assert_version_ids("r1 r2");
    assert_ok(r, retort_upgrade(r, "+1"));
    assert_version_ids("r1 r2 r3");
    assert_table("t_r3");
    assert_no_table("t_r4");
    assert_current(r, "r3");
}

static void test_upgrade_plus_n_past_the_head_fails_and_applies_nothing(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 4);
    assert_ok(r, retort_upgrade(r, "r3"));
    assert_rc(r, retort_upgrade(r, "+2"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "+2");
    assert_version_ids("r1 r2 r3");
    assert_no_table("t_r4");
    assert_int_equal(s[3].ups, 0);
}

static void test_upgrade_plus_n_at_a_branch_point_is_ambiguous(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "left", "root");
    add_step(r, &s[2], "right", "root");
    assert_ok(r, retort_upgrade(r, "+1"));
    assert_version_ids("root");
    assert_rc(r, retort_upgrade(r, "+1"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "root");
    assert_version_ids("root");
    assert_no_table("t_left");
    assert_no_table("t_right");
}

static void test_several_heads_make_migrate_to_head_fail_listing_them(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "beta", "root");
    add_step(r, &s[2], "alpha", "root");
    assert_rc(r, retort_migrate_to_head(r), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "alpha");
    assert_contains(retort_errmsg(r), "beta");
    assert_version_ids("");
    assert_no_table("t_root");
    assert_int_equal(s[0].ups, 0);
}

static void test_upgrade_heads_applies_every_branch(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "beta", "root");
    add_step(r, &s[2], "alpha", "root");
    assert_ok(r, retort_upgrade(r, "heads"));
    assert_version_ids("alpha beta root");
    assert_table("t_alpha");
    assert_table("t_beta");
    assert_trace("+root +beta +alpha "); /* ties: registration order */
    assert_current(r, "alpha beta");     /* sorted */
}

static void test_merge_revision_runs_after_both_parents(void **state)
{
    (void)state;
    step s[5];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "left", "root");
    add_step(r, &s[2], "right", "root");
    add_step(r, &s[3], "mrg", "left, right");
    add_step(r, &s[4], "tip", "mrg");
    assert_ok(r, retort_migrate_to_head(r));
    assert_trace("+root +left +right +mrg +tip ");
    assert_version_ids("left mrg right root tip");
    assert_table("t_mrg");
    assert_current(r, "tip");
}

static void test_merge_of_two_applied_heads_becomes_the_single_current_head(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "left", "root");
    add_step(r, &s[2], "right", "root");
    assert_ok(r, retort_upgrade(r, "heads"));
    assert_current(r, "left right");
    fixture_free(r);

    retort *later = fixture_new();
    readd_step(later, &s[0], NULL);
    readd_step(later, &s[1], "root");
    readd_step(later, &s[2], "root");
    add_step(later, &s[3], "mrg", "left right");
    assert_ok(later, retort_migrate_to_head(later));
    assert_current(later, "mrg");
    assert_version_ids("left mrg right root");
    assert_int_equal(s[0].ups, 1);
}

static void test_ready_revisions_run_in_registration_order(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "zz_first", NULL);
    add_step(r, &s[1], "aa_second", NULL);
    add_step(r, &s[2], "joined", "aa_second zz_first");
    assert_ok(r, retort_migrate_to_head(r));
    assert_trace("+zz_first +aa_second +joined ");
}

static void test_upgrade_to_an_unknown_target_fails_naming_it(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 2);
    assert_rc(r, retort_upgrade(r, "no_such_rev"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "no_such_rev");
    assert_rc(r, retort_upgrade(r, "base"), RETORT_ETARGET);
    assert_rc(r, retort_upgrade(r, ""), RETORT_ETARGET);
    assert_version_ids("");
    assert_no_table("t_r1");
}

static void test_upgrade_with_nothing_registered_succeeds_and_records_nothing(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("");
    assert_current(r, "");
}

static void test_current_is_empty_at_base(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    add_step(r, &s[0], "r1", NULL);
    assert_current(r, "");
    assert_int_equal(s[0].ups, 0);
}

static void test_current_lists_applied_heads_sorted_and_space_separated(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "zeta", "root");
    add_step(r, &s[2], "mid", "root");
    add_step(r, &s[3], "alpha", "root");
    assert_ok(r, retort_upgrade(r, "heads"));
    assert_current(r, "alpha mid zeta");
}

static void test_check_reports_pending_revisions_until_they_are_applied(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_chain(r, s, ids5, 3);
    assert_ok(r, retort_upgrade(r, "r1"));
    assert_rc(r, retort_check(r), RETORT_EPENDING);
    assert_contains(retort_errmsg(r), "r2");
    assert_contains(retort_errmsg(r), "r3");
    assert_version_ids("r1"); /* check changes nothing */
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_check(r));
}

static void test_plan_lists_revisions_without_running_them(void **state)
{
    (void)state;
    step s[3];
    const char *ids = NULL;
    retort *r = fixture_new();
    add_chain(r, s, ids5, 3);
    assert_ok(r, retort_plan(r, 1, "head", &ids));
    assert_string_equal(ids, "r1 r2 r3");
    assert_int_equal(s[0].ups, 0);
    assert_version_ids("");
    assert_ok(r, retort_upgrade(r, "r2"));
    assert_ok(r, retort_plan(r, 1, "head", &ids));
    assert_string_equal(ids, "r3");
    assert_ok(r, retort_plan(r, -1, "base", &ids));
    assert_string_equal(ids, "r2 r1");
    assert_int_equal(s[0].downs, 0);
    assert_version_ids("r1 r2");
}

static void test_applied_lists_revisions_in_the_order_applied(void **state)
{
    (void)state;
    step s[3];
    const char *ids = NULL;
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "zz", "root");
    add_step(r, &s[2], "aa", "root");
    assert_ok(r, retort_applied(r, &ids));
    assert_string_equal(ids, "");
    assert_ok(r, retort_upgrade(r, "heads"));
    assert_ok(r, retort_applied(r, &ids));
    assert_string_equal(ids, "root zz aa");
}

static void test_sql_revisions_apply_their_statements(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "s1", NULL, "two tables",
                                "CREATE TABLE sq_a (x INTEGER);\n"
                                "CREATE TABLE sq_b (y INTEGER);\n"
                                "INSERT INTO sq_a VALUES (1); INSERT INTO sq_a VALUES (2);",
                                "DROP TABLE sq_b; DROP TABLE sq_a;"));
    assert_ok(r, retort_add_sql(r, "s2", "s1", NULL, "INSERT INTO sq_b VALUES (7)", NULL));
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("sq_a");
    assert_table("sq_b");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM sq_a"), 2);
    assert_int_equal(fixture_count("SELECT y FROM sq_b"), 7);
    assert_version_ids("s1 s2");
}

/* ------------------------------------------------------- out of order */

/* a and c applied, then a registry where b sorts between them (c's parent
 * is now b), as a new file does in a migrations directory. */
static retort *applied_a_c_then_b_inserted(void)
{
    retort *r1 = fixture_new();
    assert_ok(r1, retort_add_sql(r1, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", NULL));
    assert_ok(r1, retort_add_sql(r1, "c", "a", NULL, "CREATE TABLE t_c (x INTEGER)", NULL));
    assert_ok(r1, retort_migrate_to_head(r1));
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", NULL));
    assert_ok(r, retort_add_sql(r, "b", "a", NULL, "CREATE TABLE t_b (x INTEGER)", NULL));
    assert_ok(r, retort_add_sql(r, "c", "b", NULL, "CREATE TABLE t_c (x INTEGER)", NULL));
    return r;
}

static void test_revision_inserted_before_applied_ones_is_refused_naming_both(void **state)
{
    (void)state;
    retort *r = applied_a_c_then_b_inserted();
    assert_rc(r, retort_migrate_to_head(r), RETORT_EGRAPH);
    assert_contains(retort_errmsg(r), "'b'");
    assert_contains(retort_errmsg(r), "'c'");
    assert_contains(retort_errmsg(r), "out of order");
    assert_contains(retort_errmsg(r), "allow_out_of_order");
    assert_no_table("t_b");
    assert_version_ids("a c");
    assert_rc(r, retort_upgrade(r, "b"), RETORT_EGRAPH);
    assert_rc(r, retort_check(r), RETORT_EGRAPH);
    assert_contains(retort_errmsg(r), "'b'");
    assert_no_table("t_b");
}

static void test_allow_out_of_order_applies_it_and_warns(void **state)
{
    (void)state;
    retort *r = applied_a_c_then_b_inserted();
    assert_ok(r, retort_set(r, "allow_out_of_order", "true"));
    fixture_capture_log(r, RETORT_LOG_WARN);
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("t_b");
    assert_version_ids("a b c");
    assert_contains(fixture_log_text(), "out of order");
    assert_contains(fixture_log_text(), "'b'");
    /* One head on a linear history, whatever order the rows went in. */
    assert_current(r, "c");
    assert_ok(r, retort_check(r));
}

static void test_current_shows_the_applied_head_while_a_revision_is_out_of_order(
    void **state)
{
    (void)state;
    retort *r = applied_a_c_then_b_inserted();
    assert_current(r, "c");
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_migrate_to_head_from_empty_applies_every_revision),
        IT_TEST(test_migrate_to_head_at_head_runs_nothing),
        IT_TEST(test_next_run_applies_only_the_new_revisions),
        IT_TEST(test_upgrade_to_an_id_applies_only_its_ancestors),
        IT_TEST(test_upgrade_plus_n_applies_n_more_revisions),
        IT_TEST(test_upgrade_plus_n_past_the_head_fails_and_applies_nothing),
        IT_TEST(test_upgrade_plus_n_at_a_branch_point_is_ambiguous),
        IT_TEST(test_several_heads_make_migrate_to_head_fail_listing_them),
        IT_TEST(test_upgrade_heads_applies_every_branch),
        IT_TEST(test_merge_revision_runs_after_both_parents),
        IT_TEST(test_merge_of_two_applied_heads_becomes_the_single_current_head),
        IT_TEST(test_ready_revisions_run_in_registration_order),
        IT_TEST(test_upgrade_to_an_unknown_target_fails_naming_it),
        IT_TEST(test_upgrade_with_nothing_registered_succeeds_and_records_nothing),
        IT_TEST(test_current_is_empty_at_base),
        IT_TEST(test_current_lists_applied_heads_sorted_and_space_separated),
        IT_TEST(test_check_reports_pending_revisions_until_they_are_applied),
        IT_TEST(test_plan_lists_revisions_without_running_them),
        IT_TEST(test_applied_lists_revisions_in_the_order_applied),
        IT_TEST(test_sql_revisions_apply_their_statements),
        IT_TEST(test_revision_inserted_before_applied_ones_is_refused_naming_both),
        IT_TEST(test_allow_out_of_order_applies_it_and_warns),
        IT_TEST(test_current_shows_the_applied_head_while_a_revision_is_out_of_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
