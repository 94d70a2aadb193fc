/*
 * test_graph.c — the revision DAG (lib/graph.c): plan order, heads, and the
 * graph errors (unknown parent, cycle) that the first operation reports.
 */
#include "unit_util.h"

static void test_empty_registry_has_no_heads(void **state)
{
    world *w = *state;
    build_ok(w);
    assert_int_equal(w->g.n, 0);
    assert_int_equal(w->g.nheads, 0);
    assert_true(w->g.valid);
}

static void test_single_root_is_the_only_head(void **state)
{
    world *w = *state;
    add_rev(w, "a", NULL);
    build_ok(w);
    assert_string_equal(topo_ids(w), "a");
    assert_string_equal(head_ids(w), "a");
}

static void test_linear_history_is_ordered_parents_first(void **state)
{
    world *w = *state;
    /* Registered children first: order must come from the links, not from
     * registration. */
    add_rev(w, "d", "c");
    add_rev(w, "c", "b");
    add_rev(w, "b", "a");
    add_rev(w, "a", "");
    build_ok(w);
    assert_string_equal(topo_ids(w), "a b c d");
    assert_string_equal(head_ids(w), "d");
    for (int k = 0; k < w->g.n; k++)
        assert_int_equal(w->g.pos[w->g.topo[k]], k);
}

static void test_several_roots_are_all_heads_sorted_by_id(void **state)
{
    world *w = *state;
    add_rev(w, "zeta", NULL);
    add_rev(w, "alpha", NULL);
    add_rev(w, "mid", NULL);
    build_ok(w);
    /* plan order follows registration; heads are sorted by id */
    assert_string_equal(topo_ids(w), "zeta alpha mid");
    assert_string_equal(head_ids(w), "alpha mid zeta");
}

static void test_branch_gives_two_heads_sorted_by_id(void **state)
{
    world *w = *state;
    add_rev(w, "root", NULL);
    add_rev(w, "z_branch", "root");
    add_rev(w, "a_branch", "root");
    build_ok(w);
    assert_string_equal(head_ids(w), "a_branch z_branch");
    assert_string_equal(topo_ids(w), "root z_branch a_branch");
    int root = idx_of(w, "root");
    assert_int_equal(w->g.child_start[root + 1] - w->g.child_start[root], 2);
}

static void test_merge_revision_follows_both_parents_and_is_the_single_head(void **state)
{
    world *w = *state;
    add_rev(w, "a", NULL);
    add_rev(w, "b", "a");
    add_rev(w, "c", "a");
    add_rev(w, "m", "b c");
    build_ok(w);
    assert_string_equal(head_ids(w), "m");
    assert_string_equal(topo_ids(w), "a b c m");
    int m = idx_of(w, "m");
    assert_int_equal(w->g.par_start[m + 1] - w->g.par_start[m], 2);
    assert_true(w->g.pos[m] > w->g.pos[idx_of(w, "b")]);
    assert_true(w->g.pos[m] > w->g.pos[idx_of(w, "c")]);
}

static void test_ties_are_broken_by_registration_order(void **state)
{
    world *w = *state;
    /* After "a", both "late_root" (registered before "b") and "b" are
     * ready: the one registered first goes first, whatever its id. */
    add_rev(w, "a", NULL);
    add_rev(w, "late_root", NULL);
    add_rev(w, "b", "a");
    add_rev(w, "c2", "b");
    add_rev(w, "c1", "b");
    build_ok(w);
    assert_string_equal(topo_ids(w), "a late_root b c2 c1");
}

static void test_revision_registered_before_its_parent_runs_after_it(void **state)
{
    world *w = *state;
    add_rev(w, "x", NULL);
    add_rev(w, "child", "parent");
    add_rev(w, "parent", "x");
    build_ok(w);
    assert_string_equal(topo_ids(w), "x parent child");
}

static void test_unknown_parent_error_names_revision_and_parent(void **state)
{
    world *w = *state;
    add_rev(w, "a", NULL);
    add_rev(w, "b", "a");
    add_rev(w, "orphan_rev", "b missing_parent");
    rt_buf_reset(&w->err);
    assert_int_equal(rt_graph_build(&w->g, &w->reg, &w->err), RETORT_EGRAPH);
    assert_contains(rt_buf_str(&w->err), "orphan_rev");
    assert_contains(rt_buf_str(&w->err), "missing_parent");
    assert_false(w->g.valid);
}

static void test_cycle_error_names_the_revisions_of_the_cycle(void **state)
{
    world *w = *state;
    add_rev(w, "outside_root", NULL);
    add_rev(w, "cyc_b", "outside_root cyc_d");
    add_rev(w, "cyc_c", "cyc_b");
    add_rev(w, "cyc_d", "cyc_c");
    add_rev(w, "after_cycle", "cyc_d");
    rt_buf_reset(&w->err);
    assert_int_equal(rt_graph_build(&w->g, &w->reg, &w->err), RETORT_EGRAPH);
    const char *msg = rt_buf_str(&w->err);
    assert_contains(msg, "cycle");
    assert_contains(msg, "cyc_b");
    assert_contains(msg, "cyc_c");
    assert_contains(msg, "cyc_d");
    /* Only the cycle is named, not the revisions around it. */
    assert_not_contains(msg, "outside_root");
    assert_not_contains(msg, "after_cycle");
    assert_false(w->g.valid);
}

static void test_cycle_error_skips_descendants_registered_before_the_cycle(void **state)
{
    world *w = *state;
    add_rev(w, "downstream", "loop_x");
    add_rev(w, "loop_x", "loop_y");
    add_rev(w, "loop_y", "loop_x");
    rt_buf_reset(&w->err);
    assert_int_equal(rt_graph_build(&w->g, &w->reg, &w->err), RETORT_EGRAPH);
    assert_contains(rt_buf_str(&w->err), "loop_x");
    assert_contains(rt_buf_str(&w->err), "loop_y");
    assert_not_contains(rt_buf_str(&w->err), "downstream");
}

static void test_two_revisions_naming_each_other_are_a_cycle(void **state)
{
    world *w = *state;
    add_rev(w, "ping", "pong");
    add_rev(w, "pong", "ping");
    rt_buf_reset(&w->err);
    assert_int_equal(rt_graph_build(&w->g, &w->reg, &w->err), RETORT_EGRAPH);
    assert_contains(rt_buf_str(&w->err), "ping");
    assert_contains(rt_buf_str(&w->err), "pong");
}

static void test_graph_is_rebuilt_after_invalidation(void **state)
{
    world *w = *state;
    add_rev(w, "a", NULL);
    build_ok(w);
    assert_string_equal(head_ids(w), "a");
    add_rev(w, "b", "a"); /* invalidates */
    assert_false(w->g.valid);
    build_ok(w);
    assert_string_equal(head_ids(w), "b");
    assert_int_equal(w->g.n, 2);
}

static void test_failed_build_can_be_retried_after_the_parent_is_registered(void **state)
{
    world *w = *state;
    add_rev(w, "b", "a");
    rt_buf_reset(&w->err);
    assert_int_equal(rt_graph_build(&w->g, &w->reg, &w->err), RETORT_EGRAPH);
    add_rev(w, "a", NULL);
    build_ok(w);
    assert_string_equal(topo_ids(w), "a b");
}

static void test_append_sorted_ids_sorts_bytewise(void **state)
{
    world *w = *state;
    add_rev(w, "b", NULL);
    add_rev(w, "B", NULL);
    add_rev(w, "a10", NULL);
    add_rev(w, "a9", NULL);
    int idx[4] = {0, 1, 2, 3};
    rt_buf_reset(&w->out);
    rt_graph_append_sorted_ids(&w->reg, idx, 4, &w->out);
    assert_string_equal(rt_buf_str(&w->out), "B a10 a9 b");
}

static void test_100k_linear_revisions_build_in_order(void **state)
{
    world *w = *state;
    enum { N = 100000 };
    char id[32], parent[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "r%06d", i);
        snprintf(parent, sizeof parent, "r%06d", i - 1);
        rt_buf_reset(&w->err);
        int rc = rt_registry_add(&w->reg, id, i ? parent : NULL, NULL, noop_step, noop_step,
                                 NULL, NULL, NULL, &w->err);
        if (rc != RETORT_OK)
            fail_msg("registering %s: %s", id, rt_buf_str(&w->err));
    }
    build_ok(w);
    assert_int_equal(w->g.n, N);
    assert_int_equal(w->g.nheads, 1);
    assert_string_equal(w->reg.revs[w->g.heads[0]].id, "r099999");
    for (int k = 0; k < N; k++)
        if (w->g.topo[k] != k)
            fail_msg("plan position %d holds revision %d", k, w->g.topo[k]);
}

static void test_100k_roots_are_100k_sorted_heads(void **state)
{
    world *w = *state;
    enum { N = 100000 };
    char id[32];
    /* Registered in reverse id order, so sorting heads has work to do. */
    for (int i = N - 1; i >= 0; i--) {
        snprintf(id, sizeof id, "h%06d", i);
        rt_buf_reset(&w->err);
        if (rt_registry_add(&w->reg, id, NULL, NULL, noop_step, noop_step, NULL, NULL, NULL,
                            &w->err) != RETORT_OK)
            fail_msg("registering %s: %s", id, rt_buf_str(&w->err));
    }
    build_ok(w);
    assert_int_equal(w->g.nheads, N);
    for (int k = 1; k < N; k++)
        if (strcmp(w->reg.revs[w->g.heads[k - 1]].id, w->reg.revs[w->g.heads[k]].id) >= 0)
            fail_msg("heads not sorted at %d", k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        WORLD_TEST(test_empty_registry_has_no_heads),
        WORLD_TEST(test_single_root_is_the_only_head),
        WORLD_TEST(test_linear_history_is_ordered_parents_first),
        WORLD_TEST(test_several_roots_are_all_heads_sorted_by_id),
        WORLD_TEST(test_branch_gives_two_heads_sorted_by_id),
        WORLD_TEST(test_merge_revision_follows_both_parents_and_is_the_single_head),
        WORLD_TEST(test_ties_are_broken_by_registration_order),
        WORLD_TEST(test_revision_registered_before_its_parent_runs_after_it),
        WORLD_TEST(test_unknown_parent_error_names_revision_and_parent),
        WORLD_TEST(test_cycle_error_names_the_revisions_of_the_cycle),
        WORLD_TEST(test_cycle_error_skips_descendants_registered_before_the_cycle),
        WORLD_TEST(test_two_revisions_naming_each_other_are_a_cycle),
        WORLD_TEST(test_graph_is_rebuilt_after_invalidation),
        WORLD_TEST(test_failed_build_can_be_retried_after_the_parent_is_registered),
        WORLD_TEST(test_append_sorted_ids_sorts_bytewise),
        WORLD_TEST(test_100k_linear_revisions_build_in_order),
        WORLD_TEST(test_100k_roots_are_100k_sorted_heads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
