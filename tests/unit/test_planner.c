/*
 * test_planner.c — upgrade, downgrade and stamp plans (lib/planner.c) for
 * every target form: head, heads, ids, +N, -N, base; the errors for several
 * heads and for relative targets that a branch or merge makes ambiguous;
 * irreversible revisions in a downgrade plan.
 */
#include "planner.h"
#include "unit_util.h"

/* Plans and returns the steps as ids in w->out, failing the test on error. */
static const char *plan_ok(world *w, int direction, const char *target)
{
    rt_plan plan = {0};
    rt_buf_reset(&w->err);
    int rc = direction > 0 ? rt_plan_upgrade(&w->reg, &w->g, w->mark, target, &plan, &w->err)
                           : rt_plan_downgrade(&w->reg, &w->g, w->mark, target, &plan, &w->err);
    if (rc != RETORT_OK)
        fail_msg("%s plan for \"%s\" returned %d: %s", direction > 0 ? "upgrade" : "downgrade",
                 target, rc, rt_buf_str(&w->err));
    rt_buf_reset(&w->out);
    rt_plan_append_ids(&w->reg, &plan, &w->out);
    rt_plan_free(&plan);
    return rt_buf_str(&w->out);
}

/* Plans expecting failure; returns the message (w->err). */
static const char *plan_fails(world *w, int direction, const char *target, int code)
{
    rt_plan plan = {0};
    rt_buf_reset(&w->err);
    int rc = direction > 0 ? rt_plan_upgrade(&w->reg, &w->g, w->mark, target, &plan, &w->err)
                           : rt_plan_downgrade(&w->reg, &w->g, w->mark, target, &plan, &w->err);
    if (rc != code) {
        rt_buf_reset(&w->out);
        rt_plan_append_ids(&w->reg, &plan, &w->out);
        rt_plan_free(&plan);
        fail_msg("%s plan for \"%s\" returned %d (plan \"%s\"), expected %d",
                 direction > 0 ? "upgrade" : "downgrade", target, rc, rt_buf_str(&w->out),
                 code);
    }
    rt_plan_free(&plan);
    if (w->err.len == 0)
        fail_msg("no error message for \"%s\"", target);
    return rt_buf_str(&w->err);
}

/* a -> b -> c -> d -> e */
static void linear(world *w)
{
    add_rev(w, "a", NULL);
    add_rev(w, "b", "a");
    add_rev(w, "c", "b");
    add_rev(w, "d", "c");
    add_rev(w, "e", "d");
    build_ok(w);
}

/* root -> left, root -> right (two heads) */
static void branched(world *w)
{
    add_rev(w, "root", NULL);
    add_rev(w, "right", "root");
    add_rev(w, "left", "root");
    build_ok(w);
}

/* root -> left, root -> right, merge(left right) -> tip */
static void merged(world *w)
{
    add_rev(w, "root", NULL);
    add_rev(w, "left", "root");
    add_rev(w, "right", "root");
    add_rev(w, "merge", "left right");
    add_rev(w, "tip", "merge");
    build_ok(w);
}

/* ------------------------------------------------------------- upgrade */

static void test_upgrade_head_from_base_plans_every_revision_parents_first(void **state)
{
    world *w = *state;
    linear(w);
    assert_string_equal(plan_ok(w, 1, "head"), "a b c d e");
}

static void test_upgrade_head_skips_applied_revisions(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b c");
    assert_string_equal(plan_ok(w, 1, "head"), "d e");
}

static void test_upgrade_head_at_head_plans_nothing(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b c d e");
    assert_string_equal(plan_ok(w, 1, "head"), "");
}

static void test_upgrade_head_with_several_heads_fails_listing_them(void **state)
{
    world *w = *state;
    branched(w);
    const char *msg = plan_fails(w, 1, "head", RETORT_ETARGET);
    assert_contains(msg, "left right"); /* sorted */
}

static void test_upgrade_heads_plans_every_branch_in_registration_order(void **state)
{
    world *w = *state;
    branched(w);
    assert_string_equal(plan_ok(w, 1, "heads"), "root right left");
}

static void test_upgrade_head_through_a_merge_plans_both_branches(void **state)
{
    world *w = *state;
    merged(w);
    assert_string_equal(plan_ok(w, 1, "head"), "root left right merge tip");
    apply(w, "root left");
    assert_string_equal(plan_ok(w, 1, "head"), "right merge tip");
}

static void test_upgrade_to_an_id_plans_only_its_ancestors(void **state)
{
    world *w = *state;
    merged(w);
    assert_string_equal(plan_ok(w, 1, "right"), "root right");
    assert_string_equal(plan_ok(w, 1, "merge"), "root left right merge");
}

static void test_upgrade_to_several_ids_plans_their_ancestors(void **state)
{
    world *w = *state;
    branched(w);
    assert_string_equal(plan_ok(w, 1, "left right"), "root right left");
    assert_string_equal(plan_ok(w, 1, "left"), "root left");
}

static void test_upgrade_to_an_applied_id_plans_nothing(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b c");
    assert_string_equal(plan_ok(w, 1, "b"), "");
}

static void test_upgrade_to_an_unknown_id_fails_naming_it(void **state)
{
    world *w = *state;
    linear(w);
    assert_contains(plan_fails(w, 1, "nope", RETORT_ETARGET), "nope");
    assert_contains(plan_fails(w, 1, "bad/id", RETORT_ETARGET), "bad/id");
}

static void test_upgrade_to_base_or_empty_is_an_error(void **state)
{
    world *w = *state;
    linear(w);
    plan_fails(w, 1, "base", RETORT_ETARGET);
    plan_fails(w, 1, "", RETORT_ETARGET);
}

static void test_upgrade_plus_n_from_base_walks_linear_history(void **state)
{
    world *w = *state;
    linear(w);
    assert_string_equal(plan_ok(w, 1, "+2"), "a b");
    assert_string_equal(plan_ok(w, 1, "+5"), "a b c d e");
}

static void test_upgrade_plus_n_starts_at_the_current_head(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b");
    assert_string_equal(plan_ok(w, 1, "+1"), "c");
    assert_string_equal(plan_ok(w, 1, "+3"), "c d e");
}

static void test_upgrade_plus_n_past_the_head_is_an_error(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b c");
    plan_fails(w, 1, "+3", RETORT_ETARGET);
    apply(w, "d e");
    plan_fails(w, 1, "+1", RETORT_ETARGET);
}

static void test_upgrade_plus_n_at_a_branch_point_is_ambiguous(void **state)
{
    world *w = *state;
    branched(w);
    apply(w, "root");
    assert_contains(plan_fails(w, 1, "+1", RETORT_ETARGET), "root");
    /* From base, the first step is still linear. */
    memset(w->mark, 0, (size_t)w->reg.n);
    assert_string_equal(plan_ok(w, 1, "+1"), "root");
    plan_fails(w, 1, "+2", RETORT_ETARGET);
}

static void test_upgrade_plus_n_into_a_merge_is_ambiguous(void **state)
{
    world *w = *state;
    merged(w);
    apply(w, "root left");
    /* left's only child is the merge, which needs right too */
    assert_contains(plan_fails(w, 1, "+1", RETORT_ETARGET), "merge");
}

static void test_upgrade_plus_n_with_several_applied_heads_is_ambiguous(void **state)
{
    world *w = *state;
    merged(w);
    apply(w, "root left right");
    plan_fails(w, 1, "+1", RETORT_ETARGET);
}

static void test_upgrade_plus_n_from_base_with_two_roots_is_ambiguous(void **state)
{
    world *w = *state;
    add_rev(w, "r1", NULL);
    add_rev(w, "r2", NULL);
    build_ok(w);
    plan_fails(w, 1, "+1", RETORT_ETARGET);
}

static void test_surrounding_white_space_is_trimmed_for_upgrade_and_downgrade_alike(
    void **state)
{
    world *w = *state;
    linear(w);
    assert_string_equal(plan_ok(w, 1, " c "), "a b c");
    assert_string_equal(plan_ok(w, 1, "\t+2\n"), "a b");
    assert_string_equal(plan_ok(w, 1, " head"), "a b c d e");
    apply(w, "a b c d e");
    assert_string_equal(plan_ok(w, -1, " base "), "e d c b a");
    assert_string_equal(plan_ok(w, -1, "-1\n"), "e");
    assert_string_equal(plan_ok(w, -1, "\tc "), "e d");
    plan_fails(w, -1, " ", RETORT_ETARGET);
    plan_fails(w, 1, " \t", RETORT_ETARGET);
}

static void test_malformed_relative_targets_are_rejected(void **state)
{
    world *w = *state;
    linear(w);
    static const char *const bad[] = {"+", "+0", "+x", "+-1", "+1x", "+99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        plan_fails(w, 1, bad[i], RETORT_ETARGET);
    apply(w, "a b c d e");
    static const char *const badd[] = {"-", "-0", "-x", "--1", "-1x", "-99999999999999999999"};
    for (size_t i = 0; i < sizeof badd / sizeof badd[0]; i++)
        plan_fails(w, -1, badd[i], RETORT_ETARGET);
}

static void test_relative_target_just_past_int_max_is_a_target_error_naming_the_range(
    void **state)
{
    world *w = *state;
    linear(w);
    const char *msg = plan_fails(w, 1, "+2147483648", RETORT_ETARGET);
    assert_non_null(strstr(msg, "1 to 2147483647"));
    /* The largest number is a number, just past the head. */
    msg = plan_fails(w, 1, "+2147483647", RETORT_ETARGET);
    assert_non_null(strstr(msg, "past the head"));
    apply(w, "a b c d e");
    msg = plan_fails(w, -1, "-2147483648", RETORT_ETARGET);
    assert_non_null(strstr(msg, "1 to 2147483647"));
}

/* ----------------------------------------------------------- downgrade */

static void test_downgrade_base_reverts_everything_children_first(void **state)
{
    world *w = *state;
    merged(w);
    apply(w, "root left right merge tip");
    assert_string_equal(plan_ok(w, -1, "base"), "tip merge right left root");
}

static void test_downgrade_base_at_base_plans_nothing(void **state)
{
    world *w = *state;
    linear(w);
    assert_string_equal(plan_ok(w, -1, "base"), "");
}

static void test_downgrade_to_an_id_reverts_only_its_applied_descendants(void **state)
{
    world *w = *state;
    merged(w);
    apply(w, "root left right merge tip");
    /* right is not a descendant of left: it stays */
    assert_string_equal(plan_ok(w, -1, "left"), "tip merge");
    assert_string_equal(plan_ok(w, -1, "root"), "tip merge right left");
}

static void test_downgrade_to_an_id_leaves_unapplied_descendants_alone(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b c");
    assert_string_equal(plan_ok(w, -1, "a"), "c b");
}

static void test_downgrade_to_an_unapplied_or_unknown_id_is_an_error(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b");
    assert_contains(plan_fails(w, -1, "d", RETORT_ETARGET), "'d'");
    assert_contains(plan_fails(w, -1, "zzz", RETORT_ETARGET), "zzz");
    plan_fails(w, -1, "", RETORT_ETARGET);
}

static void test_downgrade_minus_n_steps_back_on_linear_history(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b c d e");
    assert_string_equal(plan_ok(w, -1, "-1"), "e");
    assert_string_equal(plan_ok(w, -1, "-3"), "e d c");
    assert_string_equal(plan_ok(w, -1, "-5"), "e d c b a");
}

static void test_downgrade_minus_n_below_base_is_an_error(void **state)
{
    world *w = *state;
    linear(w);
    apply(w, "a b");
    plan_fails(w, -1, "-3", RETORT_ETARGET);
    memset(w->mark, 0, (size_t)w->reg.n);
    plan_fails(w, -1, "-1", RETORT_ETARGET);
}

static void test_downgrade_minus_n_across_a_merge_is_ambiguous(void **state)
{
    world *w = *state;
    merged(w);
    apply(w, "root left right merge tip");
    assert_string_equal(plan_ok(w, -1, "-2"), "tip merge"); /* stops at the merge */
    assert_contains(plan_fails(w, -1, "-3", RETORT_ETARGET), "merge");
}

static void test_downgrade_minus_n_with_several_applied_heads_is_ambiguous(void **state)
{
    world *w = *state;
    branched(w);
    apply(w, "root left right");
    plan_fails(w, -1, "-1", RETORT_ETARGET);
}

static void test_downgrade_plan_with_irreversible_revision_is_detected(void **state)
{
    world *w = *state;
    add_rev(w, "a", NULL);
    add_irreversible(w, "oneway", "a");
    add_rev(w, "c", "oneway");
    build_ok(w);
    apply(w, "a oneway c");
    rt_plan plan = {0};
    rt_buf_reset(&w->err);
    assert_int_equal(rt_plan_downgrade(&w->reg, &w->g, w->mark, "base", &plan, &w->err),
                     RETORT_OK);
    rt_buf_reset(&w->err);
    assert_int_equal(rt_plan_check_reversible(&w->reg, &plan, &w->err), RETORT_EIRREVERSIBLE);
    assert_contains(rt_buf_str(&w->err), "oneway");
    rt_plan_free(&plan);

    /* A plan that stops above it is fine. */
    assert_int_equal(rt_plan_downgrade(&w->reg, &w->g, w->mark, "oneway", &plan, &w->err),
                     RETORT_OK);
    rt_buf_reset(&w->err);
    assert_int_equal(rt_plan_check_reversible(&w->reg, &plan, &w->err), RETORT_OK);
    assert_int_equal(plan.n, 1);
    rt_plan_free(&plan);
}

/* --------------------------------------------------------------- stamp */

static const char *stamp_set(world *w, const char *target, int expect)
{
    unsigned char *out = calloc((size_t)w->reg.n + 1, 1);
    assert_non_null(out);
    rt_buf_reset(&w->err);
    int rc = rt_plan_stamp_set(&w->reg, &w->g, target, out, &w->err);
    rt_buf_reset(&w->out);
    for (int k = 0; k < w->g.n; k++) {
        int v = w->g.topo[k];
        if (out[v]) {
            if (w->out.len)
                rt_buf_append_char(&w->out, ' ');
            rt_buf_append(&w->out, w->reg.revs[v].id);
        }
    }
    free(out);
    if (rc != expect)
        fail_msg("stamp set for \"%s\" returned %d, expected %d: %s", target, rc, expect,
                 rt_buf_str(&w->err));
    return rt_buf_str(&w->out);
}

static void test_stamp_set_closes_targets_under_ancestors(void **state)
{
    world *w = *state;
    merged(w);
    assert_string_equal(stamp_set(w, "base", RETORT_OK), "");
    assert_string_equal(stamp_set(w, "head", RETORT_OK), "root left right merge tip");
    assert_string_equal(stamp_set(w, "left", RETORT_OK), "root left");
    assert_string_equal(stamp_set(w, "left right", RETORT_OK), "root left right");
}

static void test_stamp_set_rejects_relative_unknown_and_ambiguous_targets(void **state)
{
    world *w = *state;
    branched(w);
    stamp_set(w, "+1", RETORT_ETARGET);
    stamp_set(w, "-1", RETORT_ETARGET);
    stamp_set(w, "nope", RETORT_ETARGET);
    stamp_set(w, "", RETORT_ETARGET);
    stamp_set(w, "head", RETORT_ETARGET);
    assert_contains(rt_buf_str(&w->err), "left right");
    assert_string_equal(stamp_set(w, "heads", RETORT_OK), "root right left");
}

/* ---------------------------------------------------------------- scale */

static void test_plan_over_100k_linear_revisions_is_complete(void **state)
{
    world *w = *state;
    enum { N = 100000 };
    char id[32], parent[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "r%06d", i);
        snprintf(parent, sizeof parent, "r%06d", i - 1);
        rt_buf_reset(&w->err);
        if (rt_registry_add(&w->reg, id, i ? parent : NULL, NULL, noop_step, noop_step, NULL,
                            NULL, NULL, &w->err) != RETORT_OK)
            fail_msg("registering %s: %s", id, rt_buf_str(&w->err));
    }
    build_ok(w);
    for (int i = 0; i < N / 2; i++)
        w->mark[i] = 1;
    rt_plan plan = {0};
    rt_buf_reset(&w->err);
    assert_int_equal(rt_plan_upgrade(&w->reg, &w->g, w->mark, "head", &plan, &w->err),
                     RETORT_OK);
    assert_int_equal(plan.n, N / 2);
    for (int k = 0; k < plan.n; k++)
        if (plan.steps[k] != N / 2 + k)
            fail_msg("upgrade step %d is revision %d", k, plan.steps[k]);
    rt_plan_free(&plan);
    assert_int_equal(rt_plan_downgrade(&w->reg, &w->g, w->mark, "base", &plan, &w->err),
                     RETORT_OK);
    assert_int_equal(plan.n, N / 2);
    assert_int_equal(plan.steps[0], N / 2 - 1);
    assert_int_equal(plan.steps[plan.n - 1], 0);
    rt_plan_free(&plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        WORLD_TEST(test_upgrade_head_from_base_plans_every_revision_parents_first),
        WORLD_TEST(test_upgrade_head_skips_applied_revisions),
        WORLD_TEST(test_upgrade_head_at_head_plans_nothing),
        WORLD_TEST(test_upgrade_head_with_several_heads_fails_listing_them),
        WORLD_TEST(test_upgrade_heads_plans_every_branch_in_registration_order),
        WORLD_TEST(test_upgrade_head_through_a_merge_plans_both_branches),
        WORLD_TEST(test_upgrade_to_an_id_plans_only_its_ancestors),
        WORLD_TEST(test_upgrade_to_several_ids_plans_their_ancestors),
        WORLD_TEST(test_upgrade_to_an_applied_id_plans_nothing),
        WORLD_TEST(test_upgrade_to_an_unknown_id_fails_naming_it),
        WORLD_TEST(test_upgrade_to_base_or_empty_is_an_error),
        WORLD_TEST(test_upgrade_plus_n_from_base_walks_linear_history),
        WORLD_TEST(test_upgrade_plus_n_starts_at_the_current_head),
        WORLD_TEST(test_upgrade_plus_n_past_the_head_is_an_error),
        WORLD_TEST(test_upgrade_plus_n_at_a_branch_point_is_ambiguous),
        WORLD_TEST(test_upgrade_plus_n_into_a_merge_is_ambiguous),
        WORLD_TEST(test_upgrade_plus_n_with_several_applied_heads_is_ambiguous),
        WORLD_TEST(test_upgrade_plus_n_from_base_with_two_roots_is_ambiguous),
        WORLD_TEST(test_relative_target_just_past_int_max_is_a_target_error_naming_the_range),
        WORLD_TEST(test_surrounding_white_space_is_trimmed_for_upgrade_and_downgrade_alike),
        WORLD_TEST(test_malformed_relative_targets_are_rejected),
        WORLD_TEST(test_downgrade_base_reverts_everything_children_first),
        WORLD_TEST(test_downgrade_base_at_base_plans_nothing),
        WORLD_TEST(test_downgrade_to_an_id_reverts_only_its_applied_descendants),
        WORLD_TEST(test_downgrade_to_an_id_leaves_unapplied_descendants_alone),
        WORLD_TEST(test_downgrade_to_an_unapplied_or_unknown_id_is_an_error),
        WORLD_TEST(test_downgrade_minus_n_steps_back_on_linear_history),
        WORLD_TEST(test_downgrade_minus_n_below_base_is_an_error),
        WORLD_TEST(test_downgrade_minus_n_across_a_merge_is_ambiguous),
        WORLD_TEST(test_downgrade_minus_n_with_several_applied_heads_is_ambiguous),
        WORLD_TEST(test_downgrade_plan_with_irreversible_revision_is_detected),
        WORLD_TEST(test_stamp_set_closes_targets_under_ancestors),
        WORLD_TEST(test_stamp_set_rejects_relative_unknown_and_ambiguous_targets),
        WORLD_TEST(test_plan_over_100k_linear_revisions_is_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
