/*
 * test_downgrade.c — downgrades against a real database: to base, to an id,
 * -N, across branches and merges, irreversible revisions (nothing reverted),
 * and a failing down step.
 */
#include "steps.h"

static const char *const ids4[] = {"d1", "d2", "d3", "d4"};

static retort *applied_chain(step *s)
{
    retort *r = fixture_new();
    add_chain(r, s, ids4, 4);
    assert_ok(r, retort_migrate_to_head(r));
    step_trace[0] = '\0';
    return r;
}

static void test_downgrade_to_base_reverts_everything_children_first(void **state)
{
    (void)state;
    step s[4];
    retort *r = applied_chain(s);
    assert_ok(r, retort_downgrade(r, "base"));
    assert_trace("-d4 -d3 -d2 -d1 ");
    for (int i = 0; i < 4; i++) {
        char t[16];
        snprintf(t, sizeof t, "t_%s", ids4[i]);
        assert_no_table(t);
        assert_int_equal(s[i].downs, 1);
    }
    assert_version_ids("");
    assert_current(r, "");
}

static void test_downgrade_to_an_id_reverts_its_descendants_and_keeps_it(void **state)
{
    (void)state;
    step s[4];
    retort *r = applied_chain(s);
    assert_ok(r, retort_downgrade(r, "d2"));
    assert_trace("-d4 -d3 ");
    assert_table("t_d2");
    assert_no_table("t_d3");
    assert_no_table("t_d4");
    assert_version_ids("d1 d2");
    assert_current(r, "d2");
}

static void test_downgrade_minus_n_reverts_n_revisions(void **state)
{
    (void)state;
    step s[4];
    retort *r = applied_chain(s);
    assert_ok(r, retort_downgrade(r, "-1"));
    assert_version_ids("d1 d2 d3");
    assert_ok(r, retort_downgrade(r, "-2"));
    assert_version_ids("d1");
    assert_no_table("t_d2");
    assert_table("t_d1");
    assert_current(r, "d1");
}

static void test_downgrade_minus_n_below_base_fails_and_reverts_nothing(void **state)
{
    (void)state;
    step s[4];
    retort *r = applied_chain(s);
    assert_rc(r, retort_downgrade(r, "-5"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "-5");
    assert_version_ids("d1 d2 d3 d4");
    assert_table("t_d4");
    assert_trace("");
}

static void test_downgrade_to_an_unapplied_or_unknown_revision_changes_nothing(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_chain(r, s, ids4, 4);
    assert_ok(r, retort_upgrade(r, "d2"));
    assert_rc(r, retort_downgrade(r, "d3"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "d3");
    assert_rc(r, retort_downgrade(r, "nowhere"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "nowhere");
    assert_version_ids("d1 d2");
    assert_int_equal(s[0].downs + s[1].downs, 0);
}

static void test_irreversible_revision_stops_the_whole_downgrade_before_anything_runs(
    void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_step(r, &s[0], "i1", NULL);
    add_irreversible_step(r, &s[1], "oneway", "i1");
    add_step(r, &s[2], "i3", "oneway");
    add_step(r, &s[3], "i4", "i3");
    assert_ok(r, retort_migrate_to_head(r));
    assert_rc(r, retort_downgrade(r, "base"), RETORT_EIRREVERSIBLE);
    assert_contains(retort_errmsg(r), "oneway");
    /* nothing reverted, not even the revisions above it */
    for (int i = 0; i < 4; i++)
        assert_int_equal(s[i].downs, 0);
    assert_table("t_i4");
    assert_table("t_i3");
    assert_version_ids("i1 i3 i4 oneway");
}

static void test_irreversible_revision_also_blocks_minus_n_reaching_it(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "i1", NULL);
    add_irreversible_step(r, &s[1], "oneway", "i1");
    add_step(r, &s[2], "i3", "oneway");
    assert_ok(r, retort_migrate_to_head(r));
    assert_rc(r, retort_downgrade(r, "-2"), RETORT_EIRREVERSIBLE);
    assert_int_equal(s[2].downs, 0);
    assert_version_ids("i1 i3 oneway");
}

static void test_downgrade_that_stops_above_an_irreversible_revision_succeeds(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_step(r, &s[0], "i1", NULL);
    add_irreversible_step(r, &s[1], "oneway", "i1");
    add_step(r, &s[2], "i3", "oneway");
    add_step(r, &s[3], "i4", "i3");
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_downgrade(r, "oneway"));
    assert_version_ids("i1 oneway");
    assert_no_table("t_i3");
    assert_table("t_oneway");
}

static void test_irreversible_sql_revision_blocks_downgrade(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "sql_one", NULL, NULL, "CREATE TABLE t_sql_one (x INTEGER)",
                                NULL));
    assert_ok(r, retort_add_sql(r, "sql_two", "sql_one", NULL,
                                "CREATE TABLE t_sql_two (x INTEGER)", "DROP TABLE t_sql_two"));
    assert_ok(r, retort_migrate_to_head(r));
    assert_rc(r, retort_downgrade(r, "base"), RETORT_EIRREVERSIBLE);
    assert_contains(retort_errmsg(r), "sql_one");
    assert_table("t_sql_two");
    assert_version_ids("sql_one sql_two");
    assert_ok(r, retort_downgrade(r, "sql_one"));
    assert_no_table("t_sql_two");
    assert_version_ids("sql_one");
}

static void test_downgrade_to_a_branch_revision_keeps_the_other_branch(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "left", "root");
    add_step(r, &s[2], "right", "root");
    add_step(r, &s[3], "mrg", "left right");
    assert_ok(r, retort_migrate_to_head(r));
    step_trace[0] = '\0';
    assert_ok(r, retort_downgrade(r, "left"));
    assert_trace("-mrg ");
    assert_version_ids("left right root");
    assert_current(r, "left right");
    assert_table("t_right");
    assert_no_table("t_mrg");
}

static void test_downgrade_minus_n_across_a_merge_is_ambiguous(void **state)
{
    (void)state;
    step s[4];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "left", "root");
    add_step(r, &s[2], "right", "root");
    add_step(r, &s[3], "mrg", "left right");
    assert_ok(r, retort_migrate_to_head(r));
    assert_rc(r, retort_downgrade(r, "-2"), RETORT_ETARGET);
    assert_version_ids("left mrg right root");
    assert_int_equal(s[3].downs, 0);
}

static void test_downgrade_minus_n_with_two_applied_heads_is_ambiguous(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_step(r, &s[1], "left", "root");
    add_step(r, &s[2], "right", "root");
    assert_ok(r, retort_upgrade(r, "heads"));
    assert_rc(r, retort_downgrade(r, "-1"), RETORT_ETARGET);
    assert_version_ids("left right root");
}

static void test_failed_down_step_rolls_back_and_keeps_what_was_reverted(void **state)
{
    (void)state;
    step s[4];
    retort *r = applied_chain(s);
    s[2].fail_down = 1; /* d3's down drops t_d3, then fails */
    s[2].message = "cannot be undone today";
    assert_rc(r, retort_downgrade(r, "base"), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "d3");
    assert_contains(retort_errmsg(r), "cannot be undone today");
    assert_no_table("t_d4");       /* reverted and committed */
    assert_table("t_d3");          /* its drop was rolled back */
    assert_version_ids("d1 d2 d3");
    assert_int_equal(s[1].downs, 0);
}

static void test_up_down_up_applies_everything_again(void **state)
{
    (void)state;
    step s[4];
    retort *r = applied_chain(s);
    assert_ok(r, retort_downgrade(r, "base"));
    assert_ok(r, retort_migrate_to_head(r));
    for (int i = 0; i < 4; i++)
        assert_int_equal(s[i].ups, 2);
    assert_version_ids("d1 d2 d3 d4");
    assert_table("t_d4");
}

static void test_downgrade_at_base_does_nothing(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_chain(r, s, ids4, 2);
    assert_ok(r, retort_downgrade(r, "base"));
    assert_version_ids("");
    assert_int_equal(s[0].downs, 0);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_downgrade_to_base_reverts_everything_children_first),
        IT_TEST(test_downgrade_to_an_id_reverts_its_descendants_and_keeps_it),
        IT_TEST(test_downgrade_minus_n_reverts_n_revisions),
        IT_TEST(test_downgrade_minus_n_below_base_fails_and_reverts_nothing),
        IT_TEST(test_downgrade_to_an_unapplied_or_unknown_revision_changes_nothing),
        IT_TEST(test_irreversible_revision_stops_the_whole_downgrade_before_anything_runs),
        IT_TEST(test_irreversible_revision_also_blocks_minus_n_reaching_it),
        IT_TEST(test_downgrade_that_stops_above_an_irreversible_revision_succeeds),
        IT_TEST(test_irreversible_sql_revision_blocks_downgrade),
        IT_TEST(test_downgrade_to_a_branch_revision_keeps_the_other_branch),
        IT_TEST(test_downgrade_minus_n_across_a_merge_is_ambiguous),
        IT_TEST(test_downgrade_minus_n_with_two_applied_heads_is_ambiguous),
        IT_TEST(test_failed_down_step_rolls_back_and_keeps_what_was_reverted),
        IT_TEST(test_up_down_up_applies_everything_again),
        IT_TEST(test_downgrade_at_base_does_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
