/*
 * test_branches.c — Alembic's revision-graph features against a real
 * database (issue 16): branch labels, depends_on, unique prefixes, X@Y
 * targets, several targets, stamp --purge and the offline stamp.  The graph
 * is the one of Alembic's branches documentation ("Working with Multiple
 * Bases", "Branch Dependencies"):
 *
 *   1975ea83b712 -> ae1027a6acf -> 55af2cb1c267
 *               \-> 27c6a30d7c24 (shoppingcart) -> d747a8a8879
 *   3cac04ae8714 (networking) -> 109ec7d132bf -> 2a95102259be
 *                                     2a95102259be depends_on 55af2cb1c267
 */
#include "steps.h"

enum { NREV = 8 };
static const char *const ids[NREV] = {"1975ea83b712", "ae1027a6acf",  "27c6a30d7c24",
                                      "d747a8a8879",  "55af2cb1c267", "3cac04ae8714",
                                      "109ec7d132bf", "2a95102259be"};
static const char *const parents[NREV] = {NULL,           "1975ea83b712", "1975ea83b712",
                                          "27c6a30d7c24", "ae1027a6acf",  NULL,
                                          "3cac04ae8714", "109ec7d132bf"};

static retort *alembic_docs_graph(step *s)
{
    retort *r = fixture_new();
    for (int i = 0; i < NREV; i++)
        add_step(r, &s[i], ids[i], parents[i]);
    assert_ok(r, retort_revision_set_branch_labels(r, "27c6a30d7c24", "shoppingcart"));
    assert_ok(r, retort_revision_set_branch_labels(r, "3cac04ae8714", "networking"));
    assert_ok(r, retort_revision_set_depends_on(r, "2a95102259be", "55af2cb1c267"));
    return r;
}

static void test_upgrade_label_head_applies_its_dependency_first(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_upgrade(r, "networking@head"));
    assert_trace("+1975ea83b712 +ae1027a6acf +55af2cb1c267 +3cac04ae8714 +109ec7d132bf "
                 "+2a95102259be ");
    assert_version_ids("109ec7d132bf 1975ea83b712 2a95102259be 3cac04ae8714 55af2cb1c267 "
                       "ae1027a6acf");
    assert_table("t_2a95102259be");
    assert_no_table("t_27c6a30d7c24");
    /* depends_on neither adds nor hides a current head */
    assert_current(r, "2a95102259be 55af2cb1c267");
}

static void test_heads_ignore_depends_on(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    const char *heads = NULL;
    assert_ok(r, retort_heads(r, &heads));
    assert_string_equal(heads, "2a95102259be 55af2cb1c267 d747a8a8879");
}

static void test_revision_links_report_labels_and_depends_on(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    int n = 0, seen = 0;
    assert_ok(r, retort_revision_count(r, &n));
    for (int i = 0; i < n; i++) {
        const char *id, *labels, *deps;
        assert_ok(r, retort_revision_info(r, i, &id, NULL, NULL, NULL));
        assert_ok(r, retort_revision_links(r, i, &labels, &deps));
        if (strcmp(id, "3cac04ae8714") == 0) {
            assert_string_equal(labels, "networking");
            assert_string_equal(deps, "");
            seen++;
        } else if (strcmp(id, "2a95102259be") == 0) {
            assert_string_equal(labels, "");
            assert_string_equal(deps, "55af2cb1c267");
            seen++;
        }
    }
    assert_int_equal(seen, 2);
    assert_rc(r, retort_revision_links(r, n, NULL, NULL), RETORT_EINVAL);
}

static void test_downgrade_reverts_dependents_before_what_they_require(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_upgrade(r, "heads"));
    step_trace[0] = '\0';
    assert_ok(r, retort_downgrade(r, "ae1027a6acf"));
    assert_trace("-2a95102259be -55af2cb1c267 ");
    assert_version_ids("109ec7d132bf 1975ea83b712 27c6a30d7c24 3cac04ae8714 ae1027a6acf "
                       "d747a8a8879");
    assert_no_table("t_55af2cb1c267");
    assert_table("t_109ec7d132bf");
}

static void test_downgrade_label_base_reverts_only_that_branch(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_upgrade(r, "heads"));
    step_trace[0] = '\0';
    assert_ok(r, retort_downgrade(r, "networking@base"));
    assert_trace("-2a95102259be -109ec7d132bf -3cac04ae8714 ");
    assert_version_ids("1975ea83b712 27c6a30d7c24 55af2cb1c267 ae1027a6acf d747a8a8879");
    assert_current(r, "55af2cb1c267 d747a8a8879");
}

static void test_downgrade_label_at_a_shared_revision_reverts_only_that_branch(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_upgrade(r, "heads"));
    step_trace[0] = '\0';
    /* 1975ea83b712 is shared by the shoppingcart branch and ae1027a6acf's */
    assert_ok(r, retort_downgrade(r, "shoppingcart@1975ea83b712"));
    assert_trace("-d747a8a8879 -27c6a30d7c24 ");
    assert_version_ids("109ec7d132bf 1975ea83b712 2a95102259be 3cac04ae8714 55af2cb1c267 "
                       "ae1027a6acf");
}

static void test_downgrade_label_minus_n_stays_inside_the_branch(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_upgrade(r, "heads"));
    step_trace[0] = '\0';
    assert_ok(r, retort_downgrade(r, "shoppingcart@-1"));
    assert_trace("-d747a8a8879 ");
    assert_ok(r, retort_downgrade(r, "shoppingcart@-1"));
    assert_trace("-d747a8a8879 -27c6a30d7c24 ");
    /* the branch is gone: a further step would leave it */
    assert_rc(r, retort_downgrade(r, "shoppingcart@-1"), RETORT_ETARGET);
    assert_version_ids("109ec7d132bf 1975ea83b712 2a95102259be 3cac04ae8714 55af2cb1c267 "
                       "ae1027a6acf");
}

static void test_upgrade_label_plus_n_walks_up_that_branch(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_upgrade(r, "networking@head"));
    step_trace[0] = '\0';
    assert_ok(r, retort_upgrade(r, "shoppingcart@+1"));
    assert_trace("+27c6a30d7c24 ");
    assert_ok(r, retort_upgrade(r, "shoppingcart@+1"));
    assert_trace("+27c6a30d7c24 +d747a8a8879 ");
    assert_rc(r, retort_upgrade(r, "shoppingcart@+1"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "past the head");
}

static void test_unique_prefix_is_a_target_and_an_ambiguous_one_lists_candidates(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_rc(r, retort_upgrade(r, "2"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "27c6a30d7c24");
    assert_contains(retort_errmsg(r), "2a95102259be");
    assert_version_ids("");
    assert_ok(r, retort_upgrade(r, "27c"));
    assert_trace("+1975ea83b712 +27c6a30d7c24 ");
    assert_current(r, "27c6a30d7c24");
}

static void test_a_target_that_is_an_ancestor_of_another_is_refused_naming_both(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_rc(r, retort_upgrade(r, "ae1027a6acf 55af2cb1c267"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "ae1027a6acf");
    assert_contains(retort_errmsg(r), "55af2cb1c267");
    assert_version_ids("");
    assert_trace("");
    /* listed twice is fine; several targets are united */
    assert_ok(r, retort_upgrade(r, "55af2cb1c267 55af2cb1c267 networking"));
    assert_trace("+1975ea83b712 +ae1027a6acf +55af2cb1c267 +3cac04ae8714 ");
    assert_current(r, "3cac04ae8714 55af2cb1c267");
}

static void test_x_at_y_outside_the_lineage_is_refused(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_rc(r, retort_upgrade(r, "networking@ae1027a6acf"), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "lineage");
    assert_version_ids("");
    assert_ok(r, retort_upgrade(r, "networking@109ec7d132bf"));
    assert_trace("+3cac04ae8714 +109ec7d132bf ");
}

static void test_relative_id_targets_walk_parents_and_fail_at_forks(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_rc(r, retort_upgrade(r, "base+1"), RETORT_ETARGET); /* two roots */
    assert_rc(r, retort_upgrade(r, "1975ea83b712+1"), RETORT_ETARGET); /* two children */
    assert_version_ids("");
    assert_ok(r, retort_upgrade(r, "d747a8a8879-1"));
    assert_trace("+1975ea83b712 +27c6a30d7c24 ");
    assert_ok(r, retort_upgrade(r, "3cac+2"));
    /* 2a95102259be needs 55af2cb1c267: the registration-order topological
     * order over both kinds of edge puts that lineage first */
    assert_trace("+1975ea83b712 +27c6a30d7c24 +ae1027a6acf +55af2cb1c267 +3cac04ae8714 "
                 "+109ec7d132bf +2a95102259be ");
}

static void test_label_clash_is_refused_by_the_setter_and_changes_nothing(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_rc(r, retort_revision_set_branch_labels(r, "109ec7d132bf", "web networking"),
              RETORT_EEXIST);
    assert_contains(retort_errmsg(r), "networking");
    assert_contains(retort_errmsg(r), "3cac04ae8714");
    /* "web" was not set either */
    assert_rc(r, retort_upgrade(r, "web@head"), RETORT_ETARGET);
    assert_rc(r, retort_revision_set_branch_labels(r, "109ec7d132bf", "ae1027a6acf"),
              RETORT_EEXIST);
    assert_rc(r, retort_revision_set_branch_labels(r, "109ec7d132bf", "head"), RETORT_EINVAL);
    assert_rc(r, retort_revision_set_branch_labels(r, "109ec7d132bf", "bad/label"),
              RETORT_EINVAL);
    assert_rc(r, retort_revision_set_branch_labels(r, "nosuch", "x"), RETORT_ENOTFOUND);
    assert_ok(r, retort_upgrade(r, "networking"));
    assert_version_ids("3cac04ae8714");
}

static void test_depends_on_itself_is_einval_and_a_cycle_is_egraph_everywhere(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_rc(r, retort_revision_set_depends_on(r, "ae1027a6acf", "ae1027a6acf"),
              RETORT_EINVAL);
    assert_ok(r, retort_upgrade(r, "ae1027a6acf")); /* nothing changed by the failure */
    assert_ok(r, retort_revision_set_depends_on(r, "1975ea83b712", "networking 55af2cb1c267"));
    const char *heads = NULL;
    assert_rc(r, retort_heads(r, &heads), RETORT_EGRAPH);
    assert_contains(retort_errmsg(r), "cycle");
    assert_rc(r, retort_upgrade(r, "heads"), RETORT_EGRAPH);
    assert_version_ids("1975ea83b712 ae1027a6acf");
    assert_ok(r, retort_revision_set_depends_on(r, "1975ea83b712", ""));
    assert_ok(r, retort_heads(r, &heads));
}

static void test_stamp_records_the_closure_with_depends_on(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_stamp(r, "2a95102259be"));
    assert_version_ids("109ec7d132bf 1975ea83b712 2a95102259be 3cac04ae8714 55af2cb1c267 "
                       "ae1027a6acf");
    assert_trace("");
    assert_no_table("t_2a95102259be");
}

static void test_stamp_of_a_branch_target_changes_only_that_lineage(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    assert_ok(r, retort_stamp(r, "d747a8a8879 3cac04ae8714"));
    assert_ok(r, retort_stamp(r, "networking@head"));
    assert_version_ids("109ec7d132bf 1975ea83b712 27c6a30d7c24 2a95102259be 3cac04ae8714 "
                       "55af2cb1c267 ae1027a6acf d747a8a8879");
    assert_ok(r, retort_stamp(r, "shoppingcart@base"));
    assert_version_ids("109ec7d132bf 1975ea83b712 2a95102259be 3cac04ae8714 55af2cb1c267 "
                       "ae1027a6acf");
    /* a plain id keeps today's meaning: exactly it and its ancestors */
    assert_ok(r, retort_stamp(r, "27c6a30d7c24"));
    assert_version_ids("1975ea83b712 27c6a30d7c24");
    assert_trace("");
}

static void test_stamp_purge_deletes_unknown_rows_then_stamps(void **state)
{
    (void)state;
    step s[NREV + 1];
    retort *newer = alembic_docs_graph(s);
    add_step(newer, &s[NREV], "zz99", "d747a8a8879");
    assert_ok(newer, retort_upgrade(newer, "zz99"));
    step older_s[NREV];
    retort *r = alembic_docs_graph(older_s);
    assert_ok(r, retort_set_tolerate_unknown(r, 1));
    assert_rc(r, retort_stamp(r, "base"), RETORT_EUNKNOWN);
    assert_ok(r, retort_stamp_purge(r, "ae1027a6acf"));
    assert_version_ids("1975ea83b712 ae1027a6acf");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log "
                                   "WHERE direction = 'stamp' AND revision = 'zz99'"),
                     1);
    assert_table("t_zz99"); /* a stamp runs nothing */
    fixture_free(newer);
}

static void test_stamp_sql_script_leaves_the_database_where_stamp_would(void **state)
{
    (void)state;
    step s[NREV];
    retort *r = alembic_docs_graph(s);
    const char *script = NULL;
    assert_ok(r, retort_stamp_sql(r, "networking@head", &script));
    char *sql = strdup(script);
    assert_no_table("retort_version");
    fixture_exec(sql);
    free(sql);
    assert_version_ids("109ec7d132bf 1975ea83b712 2a95102259be 3cac04ae8714 55af2cb1c267 "
                       "ae1027a6acf");
    assert_ok(r, retort_stamp_sql(r, "networking@head:networking@base 27c6a30d7c24", &script));
    sql = strdup(script);
    assert_not_contains(sql, "CREATE TABLE");
    fixture_exec(sql);
    free(sql);
    assert_version_ids("1975ea83b712 27c6a30d7c24 55af2cb1c267 ae1027a6acf");
    assert_trace("");
    assert_current(r, "27c6a30d7c24 55af2cb1c267");
}

static void test_exact_id_wins_over_a_relative_reading(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "a", NULL);
    add_step(r, &s[1], "b", "a");
    add_step(r, &s[2], "b-1", "b");
    snprintf(s[2].up_sql, sizeof s[2].up_sql, "CREATE TABLE t_b_1 (x INTEGER)");
    snprintf(s[2].down_sql, sizeof s[2].down_sql, "DROP TABLE t_b_1");
    assert_ok(r, retort_upgrade(r, "b-1"));
    assert_trace("+a +b +b-1 ");
    assert_ok(r, retort_downgrade(r, "b-1"));
    assert_version_ids("a b b-1");
    assert_ok(r, retort_downgrade(r, "a"));
    assert_version_ids("a");
}

/* Alembic's test_revision.py LabeledBranchTest graph: two labelled roots. */
static retort *alembic_labeled_branches(void)
{
    static const char *const v[][2] = {
        {"a", ""},  {"b", "a"}, {"somelongername", "b"}, {"c", "somelongername"},
        {"d", ""},  {"e", "d"}, {"someothername", "e"},  {"f", "someothername"}};
    retort *r = fixture_new();
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        assert_ok(r, retort_add_sql(r, v[i][0], v[i][1], "", "SELECT 1", "SELECT 1"));
    assert_ok(r, retort_revision_set_branch_labels(r, "a", "abranch"));
    assert_ok(r, retort_revision_set_branch_labels(r, "e", "ebranch"));
    return r;
}

static void plan_is(retort *r, int direction, const char *target, const char *expected)
{
    const char *ids = NULL;
    assert_ok(r, retort_plan(r, direction, target, &ids));
    assert_string_equal(ids, expected);
}

static void test_alembic_labeled_branch_heads_and_partial_ids(void **state)
{
    (void)state;
    retort *r = alembic_labeled_branches();
    plan_is(r, 1, "abranch@head", "a b somelongername c");
    plan_is(r, 1, "ebranch@head", "d e someothername f");
    /* a prefix after X@ resolves inside X's lineage (Alembic's
     * test_partial_id_resolve), but alone it is ambiguous */
    plan_is(r, 1, "ebranch@some", "d e someothername");
    plan_is(r, 1, "abranch@some", "a b somelongername");
    const char *ids = NULL;
    assert_rc(r, retort_plan(r, 1, "som", &ids), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "somelongername");
    assert_contains(retort_errmsg(r), "someothername");
    /* "Revision c is not a member of branch 'ebranch'" */
    assert_rc(r, retort_plan(r, 1, "ebranch@c", &ids), RETORT_ETARGET);
    plan_is(r, 1, "e@head", "d e someothername f");
    plan_is(r, 1, "abranch@head ebranch@head", "a b somelongername c d e someothername f");
    assert_version_ids("");
}

static void test_alembic_labeled_branch_relative_and_one_branch_downgrade(void **state)
{
    (void)state;
    retort *r = alembic_labeled_branches();
    assert_ok(r, retort_upgrade(r, "heads"));
    plan_is(r, -1, "ebranch@-1", "f");
    plan_is(r, -1, "ebranch@-2", "f someothername");
    plan_is(r, -1, "ebranch@base", "f someothername e");
    plan_is(r, -1, "abranch@base", "c somelongername b a");
    plan_is(r, -1, "c-2", "c somelongername");
    plan_is(r, -1, "abranch@b", "c somelongername");
    assert_ok(r, retort_downgrade(r, "ebranch@-2"));
    assert_version_ids("a b c d e somelongername");
    assert_current(r, "c e");
    plan_is(r, 1, "ebranch@+1", "someothername");
    plan_is(r, 1, "ebranch@+2", "someothername f");
    const char *ids = NULL;
    assert_rc(r, retort_plan(r, 1, "ebranch@+3", &ids), RETORT_ETARGET);
    assert_rc(r, retort_plan(r, -1, "-1", &ids), RETORT_ETARGET); /* two current heads */
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_upgrade_label_head_applies_its_dependency_first),
        IT_TEST(test_heads_ignore_depends_on),
        IT_TEST(test_revision_links_report_labels_and_depends_on),
        IT_TEST(test_downgrade_reverts_dependents_before_what_they_require),
        IT_TEST(test_downgrade_label_base_reverts_only_that_branch),
        IT_TEST(test_downgrade_label_at_a_shared_revision_reverts_only_that_branch),
        IT_TEST(test_downgrade_label_minus_n_stays_inside_the_branch),
        IT_TEST(test_upgrade_label_plus_n_walks_up_that_branch),
        IT_TEST(test_unique_prefix_is_a_target_and_an_ambiguous_one_lists_candidates),
        IT_TEST(test_a_target_that_is_an_ancestor_of_another_is_refused_naming_both),
        IT_TEST(test_x_at_y_outside_the_lineage_is_refused),
        IT_TEST(test_relative_id_targets_walk_parents_and_fail_at_forks),
        IT_TEST(test_label_clash_is_refused_by_the_setter_and_changes_nothing),
        IT_TEST(test_depends_on_itself_is_einval_and_a_cycle_is_egraph_everywhere),
        IT_TEST(test_stamp_records_the_closure_with_depends_on),
        IT_TEST(test_stamp_of_a_branch_target_changes_only_that_lineage),
        IT_TEST(test_stamp_purge_deletes_unknown_rows_then_stamps),
        IT_TEST(test_stamp_sql_script_leaves_the_database_where_stamp_would),
        IT_TEST(test_exact_id_wins_over_a_relative_reading),
        IT_TEST(test_alembic_labeled_branch_heads_and_partial_ids),
        IT_TEST(test_alembic_labeled_branch_relative_and_one_branch_downgrade),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
