/*
 * fuzz_target.c — target parsing in the planner (lib/planner.c): upgrade,
 * downgrade and stamp plans for an arbitrary target string over a small
 * fixed graph with a branch and a merge, the applied marks taken from the
 * input's first byte.  Properties: a successful plan lists each revision
 * at most once and only known revisions; a failure always has a message.
 */
#include "buf.h"
#include "fuzz.h"
#include "graph.h"
#include "planner.h"
#include "registry.h"

static int noop(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

static void check_plan(int rc, const rt_plan *plan, const rt_buf *err, int nrevs)
{
    if (rc != RETORT_OK) {
        FUZZ_CHECK(err->len > 0 || err->failed);
        return;
    }
    unsigned char seen[16] = {0};
    for (int i = 0; i < plan->n; i++) {
        FUZZ_CHECK(plan->steps[i] >= 0 && plan->steps[i] < nrevs);
        FUZZ_CHECK(!seen[plan->steps[i]]);
        seen[plan->steps[i]] = 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /*   a - b - c - e(merge c d) - f
     *        \- d -/            \- g (irreversible) */
    static const char *const revs[][2] = {{"a", NULL}, {"b", "a"}, {"c", "b"}, {"d", "b"},
                                          {"e", "c d"}, {"f", "e"}, {"g", "e"}};
    enum { N = 7 };
    rt_registry reg = {0};
    rt_graph g = {0};
    rt_buf err = RT_BUF_INIT;
    for (int i = 0; i < N; i++)
        if (rt_registry_add(&reg, revs[i][0], revs[i][1], NULL, noop, i == 6 ? NULL : noop, NULL,
                            NULL, NULL, &err) != RETORT_OK)
            abort();
    if (rt_graph_build(&g, &reg, &err) != RETORT_OK)
        abort();
    /* Applied marks: an ancestor-closed set chosen by the first byte. */
    unsigned char mark[N] = {0};
    static const unsigned char closed[][N] = {{0}, {1}, {1, 1}, {1, 1, 1}, {1, 1, 0, 1},
                                              {1, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1},
                                              {1, 1, 1, 1, 1, 1, 1}};
    memcpy(mark, closed[data[0] % 9], N);
    char *target = fuzz_cstring(data + 1, size - 1);
    if (!target)
        abort();
    rt_plan plan = {NULL, 0};
    rt_buf_reset(&err);
    check_plan(rt_plan_upgrade(&reg, &g, mark, target, &plan, &err), &plan, &err, N);
    rt_plan_free(&plan);
    rt_buf_reset(&err);
    int rc = rt_plan_downgrade(&reg, &g, mark, target, &plan, &err);
    check_plan(rc, &plan, &err, N);
    if (rc == RETORT_OK) {
        rt_buf_reset(&err);
        rt_plan_check_reversible(&reg, &plan, &err);
    }
    rt_plan_free(&plan);
    unsigned char want[N + 1];
    rt_buf_reset(&err);
    rt_plan_stamp_set(&reg, &g, target, want, &err);
    free(target);
    rt_buf_free(&err);
    rt_graph_free(&g);
    rt_registry_free(&reg);
    return 0;
}
