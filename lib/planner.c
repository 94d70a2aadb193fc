/*
 * planner.c — upgrade, downgrade and stamp plans (planner.h).  Each plan is
 * one or two linear passes over the graph order; marks live in scratch
 * arrays owned by the call.
 */
#include "planner.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "retort/retort.h"

void rt_plan_free(rt_plan *plan)
{
    rt_free(plan->steps);
    plan->steps = NULL;
    plan->n = 0;
}

void rt_plan_append_ids(const rt_registry *reg, const rt_plan *plan, rt_buf *out)
{
    for (int i = 0; i < plan->n; i++) {
        if (i)
            rt_buf_append_char(out, ' ');
        rt_buf_append(out, reg->revs[plan->steps[i]].id);
    }
}

/* Parses "+N" / "-N" (sign given) into *n >= 1; 0 if target is not of that form. */
static int parse_relative(const char *target, char sign, int *n, rt_buf *err, int *bad)
{
    *bad = 0;
    if (target[0] != sign)
        return 0;
    const char *p = target + 1;
    if (!*p) {
        *bad = 1;
        rt_buf_printf(err, "relative target '%s' needs a number of steps", target);
        return 1;
    }
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT_MAX - (*p - '0')) / 10) {
            *bad = 1;
            rt_buf_printf(err, "relative target '%.64s' must be %c followed by a number of "
                               "steps (1 to %d)", target, sign, INT_MAX);
            return 1;
        }
        v = v * 10 + (*p - '0');
    }
    if (v < 1) {
        *bad = 1;
        rt_buf_printf(err, "relative target '%s' must move at least one step", target);
        return 1;
    }
    *n = (int)v;
    return 1;
}

/* Applied revisions with no applied child. */
static int applied_heads(const rt_graph *g, const unsigned char *mark, int *heads, int max)
{
    int n = 0;
    for (int i = 0; i < g->n; i++) {
        if (!mark[i])
            continue;
        int has_applied_child = 0;
        for (int e = g->child_start[i]; e < g->child_start[i + 1] && !has_applied_child; e++)
            has_applied_child = mark[g->child[e]] != 0;
        if (!has_applied_child) {
            if (n < max)
                heads[n] = i;
            n++;
        }
    }
    return n;
}

static int alloc_plan(rt_plan *plan, int n)
{
    plan->steps = rt_calloc((size_t)n + 1, sizeof(int));
    plan->n = 0;
    return plan->steps ? RETORT_OK : RETORT_ENOMEM;
}

/* Where relative targets start: the single applied head (-1 at base), with
 * room for the plan.  Several applied heads make "+N"/"-N" ambiguous. */
static int start_relative(const rt_graph *g, const unsigned char *mark, int steps,
                          const char *target, int *cur, rt_plan *plan, rt_buf *err)
{
    int heads[2];
    int nheads = applied_heads(g, mark, heads, 2);
    if (nheads > 1) {
        rt_buf_printf(err, "target '%s' is ambiguous: the database has several current heads; "
                           "name a revision instead", target);
        return RETORT_ETARGET;
    }
    *cur = nheads ? heads[0] : -1;
    return alloc_plan(plan, steps < g->n ? steps : g->n);
}

static int upgrade_relative(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                            int steps, const char *target, rt_plan *plan, rt_buf *err)
{
    int cur;
    int rc = start_relative(g, mark, steps, target, &cur, plan, err);
    if (rc != RETORT_OK)
        return rc;
    for (int s = 0; s < steps; s++) {
        int next = -1, choices = 0;
        if (cur < 0) {
            for (int i = 0; i < g->n; i++)
                if (g->par_start[i] == g->par_start[i + 1]) {
                    choices++;
                    next = i;
                }
        } else {
            choices = g->child_start[cur + 1] - g->child_start[cur];
            if (choices == 1)
                next = g->child[g->child_start[cur]];
        }
        const char *from = cur < 0 ? "base" : reg->revs[cur].id;
        if (choices == 0) {
            rt_buf_printf(err, "target '%s' goes past the head: only %d step%s available from "
                               "the current revision", target, s, s == 1 ? " is" : "s are");
            rt_plan_free(plan);
            return RETORT_ETARGET;
        }
        if (choices > 1) {
            rt_buf_printf(err, "target '%s' is ambiguous: %s is a branch point with %d "
                               "successors; name a revision instead", target, from, choices);
            rt_plan_free(plan);
            return RETORT_ETARGET;
        }
        if (g->par_start[next + 1] - g->par_start[next] > 1) {
            rt_buf_printf(err, "target '%s' is ambiguous: it crosses the merge revision %s; "
                               "name a revision instead", target, reg->revs[next].id);
            rt_plan_free(plan);
            return RETORT_ETARGET;
        }
        plan->steps[plan->n++] = next;
        cur = next;
    }
    return RETORT_OK;
}

/* Marks the revisions named by target in want[]; for upgrade and stamp. */
static int resolve_upgrade_targets(const rt_registry *reg, const rt_graph *g, const char *target,
                                   unsigned char *want, rt_buf *err)
{
    if (strcmp(target, "heads") == 0) {
        for (int i = 0; i < g->nheads; i++)
            want[g->heads[i]] = 1;
        return RETORT_OK;
    }
    if (strcmp(target, "head") == 0) {
        if (g->nheads > 1) {
            rt_buf_append(err, "target 'head' is ambiguous: the revision graph has several "
                               "heads: ");
            rt_graph_append_sorted_ids(reg, g->heads, g->nheads, err);
            rt_buf_append(err, " (merge them, or upgrade to 'heads' or to one of them)");
            return RETORT_ETARGET;
        }
        if (g->nheads == 1)
            want[g->heads[0]] = 1;
        return RETORT_OK;
    }
    const char *p = target;
    int any = 0;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != ',')
            p++;
        size_t len = (size_t)(p - start);
        if ((len == 4 && !memcmp(start, "head", 4)) || (len == 5 && !memcmp(start, "heads", 5))) {
            for (int i = 0; i < g->nheads; i++)
                want[g->heads[i]] = 1;
            if (len == 4 && g->nheads > 1) {
                rt_buf_append(err, "target 'head' is ambiguous: the revision graph has several "
                                   "heads: ");
                rt_graph_append_sorted_ids(reg, g->heads, g->nheads, err);
                return RETORT_ETARGET;
            }
            any = 1;
            continue;
        }
        int idx = rt_id_valid(start, len) ? rt_registry_find(reg, start, len) : -1;
        if (idx < 0) {
            rt_buf_printf(err, "unknown target '%.*s': not a registered revision, 'head', "
                               "'heads' or '+N'", (int)(len > 200 ? 200 : len), start);
            return RETORT_ETARGET;
        }
        want[idx] = 1;
        any = 1;
    }
    if (!any) {
        rt_buf_append(err, "empty target");
        return RETORT_ETARGET;
    }
    return RETORT_OK;
}

/* Closes want[] under ancestors: one reverse pass over the graph order
 * suffices because every parent precedes its children. */
static void close_ancestors(const rt_graph *g, unsigned char *want)
{
    for (int k = g->n - 1; k >= 0; k--) {
        int v = g->topo[k];
        if (!want[v])
            continue;
        for (int e = g->par_start[v]; e < g->par_start[v + 1]; e++)
            want[g->par[e]] = 1;
    }
}

/* One rule for every target: white space around it is not part of it (a
 * pasted " head", "-1\n").  Returns target itself or, when it had some, a
 * trimmed copy in *copy (rt_free it); NULL when out of memory. */
static const char *trim_target(const char *target, char **copy)
{
    *copy = NULL;
    size_t start = 0, end = strlen(target);
    while (start < end && strchr(" \t\r\n", target[start]))
        start++;
    while (end > start && strchr(" \t\r\n", target[end - 1]))
        end--;
    if (start == 0 && target[end] == '\0')
        return target;
    return *copy = rt_strndup(target + start, end - start);
}

static int plan_upgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                        const char *target, rt_plan *plan, rt_buf *err);
static int plan_downgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                          const char *target, rt_plan *plan, rt_buf *err);

int rt_plan_upgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                    const char *target, rt_plan *plan, rt_buf *err)
{
    plan->steps = NULL;
    plan->n = 0;
    char *copy = NULL;
    if (target && !(target = trim_target(target, &copy)))
        return RETORT_ENOMEM;
    int rc = plan_upgrade(reg, g, mark, target, plan, err);
    rt_free(copy);
    return rc;
}

int rt_plan_downgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                      const char *target, rt_plan *plan, rt_buf *err)
{
    plan->steps = NULL;
    plan->n = 0;
    char *copy = NULL;
    if (target && !(target = trim_target(target, &copy)))
        return RETORT_ENOMEM;
    int rc = plan_downgrade(reg, g, mark, target, plan, err);
    rt_free(copy);
    return rc;
}

static int plan_upgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                        const char *target, rt_plan *plan, rt_buf *err)
{
    if (!target || !*target) {
        rt_buf_append(err, "upgrade target is empty (use 'head', 'heads', an id or '+N')");
        return RETORT_ETARGET;
    }
    int steps = 0, bad = 0;
    if (parse_relative(target, '+', &steps, err, &bad))
        return bad ? RETORT_ETARGET : upgrade_relative(reg, g, mark, steps, target, plan, err);
    if (strcmp(target, "base") == 0) {
        rt_buf_append(err, "'base' is not an upgrade target (downgrade to it instead)");
        return RETORT_ETARGET;
    }
    unsigned char *want = rt_calloc((size_t)g->n + 1, 1);
    if (!want)
        return RETORT_ENOMEM;
    int rc = resolve_upgrade_targets(reg, g, target, want, err);
    if (rc == RETORT_OK) {
        close_ancestors(g, want);
        int count = 0;
        for (int i = 0; i < g->n; i++)
            count += want[i] && !mark[i];
        rc = alloc_plan(plan, count);
    }
    if (rc == RETORT_OK)
        for (int k = 0; k < g->n; k++) {
            int v = g->topo[k];
            if (want[v] && !mark[v])
                plan->steps[plan->n++] = v;
        }
    rt_free(want);
    return rc;
}

static int plan_downgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                          const char *target, rt_plan *plan, rt_buf *err)
{
    if (!target || !*target) {
        rt_buf_append(err, "downgrade target is empty (use 'base', an id or '-N')");
        return RETORT_ETARGET;
    }
    int steps = 0, bad = 0;
    if (parse_relative(target, '-', &steps, err, &bad)) {
        if (bad)
            return RETORT_ETARGET;
        int cur;
        int rc = start_relative(g, mark, steps, target, &cur, plan, err);
        if (rc != RETORT_OK)
            return rc;
        for (int s = 0; s < steps; s++) {
            if (cur < 0) {
                rt_buf_printf(err, "target '%s' goes below base: only %d step%s can be "
                                   "reverted", target, s, s == 1 ? "" : "s");
                rt_plan_free(plan);
                return RETORT_ETARGET;
            }
            int nparents = g->par_start[cur + 1] - g->par_start[cur];
            plan->steps[plan->n++] = cur;
            if (nparents > 1 && s + 1 < steps) {
                rt_buf_printf(err, "target '%s' is ambiguous: it crosses the merge revision %s; "
                                   "name a revision instead", target, reg->revs[cur].id);
                rt_plan_free(plan);
                return RETORT_ETARGET;
            }
            if (nparents == 1) {
                int parent = g->par[g->par_start[cur]];
                /* A parent with another applied child is a branch point:
                 * stepping back through it is not linear history. */
                int others = 0;
                for (int e = g->child_start[parent]; e < g->child_start[parent + 1]; e++)
                    others += g->child[e] != cur && mark[g->child[e]] != 0;
                if (others && s + 1 < steps) {
                    rt_buf_printf(err, "target '%s' is ambiguous: %s is a branch point with "
                                       "other applied revisions; name a revision instead",
                                  target, reg->revs[parent].id);
                    rt_plan_free(plan);
                    return RETORT_ETARGET;
                }
                cur = parent;
            } else {
                cur = -1;
            }
        }
        return RETORT_OK;
    }

    unsigned char *drop = rt_calloc((size_t)g->n + 1, 1);
    if (!drop)
        return RETORT_ENOMEM;
    int rc = RETORT_OK;
    if (strcmp(target, "base") == 0) {
        memset(drop, 1, (size_t)g->n);
    } else {
        size_t len = strlen(target);
        int idx = rt_id_valid(target, len) ? rt_registry_find(reg, target, len) : -1;
        if (idx < 0) {
            rt_buf_printf(err, "unknown target '%.200s': not a registered revision, 'base' or "
                               "'-N'", target);
            rc = RETORT_ETARGET;
        } else if (!mark[idx]) {
            rt_buf_printf(err, "cannot downgrade to '%s': it is not applied", target);
            rc = RETORT_ETARGET;
        } else {
            /* Descendants: one forward pass over the graph order. */
            drop[idx] = 2;
            for (int k = g->pos[idx]; k < g->n; k++) {
                int v = g->topo[k];
                if (!drop[v])
                    continue;
                for (int e = g->child_start[v]; e < g->child_start[v + 1]; e++)
                    drop[g->child[e]] = 1;
            }
            drop[idx] = 0;
        }
    }
    if (rc == RETORT_OK) {
        int count = 0;
        for (int i = 0; i < g->n; i++)
            count += drop[i] && mark[i];
        rc = alloc_plan(plan, count);
    }
    if (rc == RETORT_OK)
        for (int k = g->n - 1; k >= 0; k--) {
            int v = g->topo[k];
            if (drop[v] && mark[v])
                plan->steps[plan->n++] = v;
        }
    rt_free(drop);
    return rc;
}

int rt_plan_check_reversible(const rt_registry *reg, const rt_plan *plan, rt_buf *err)
{
    for (int i = 0; i < plan->n; i++) {
        const rt_rev *rev = &reg->revs[plan->steps[i]];
        if (rev->flags & RETORT_REV_IRREVERSIBLE) {
            rt_buf_printf(err, "revision '%s' is irreversible (it has no downgrade); nothing "
                               "was reverted", rev->id);
            return RETORT_EIRREVERSIBLE;
        }
    }
    return RETORT_OK;
}

int rt_plan_stamp_set(const rt_registry *reg, const rt_graph *g, const char *target,
                      unsigned char *out, rt_buf *err)
{
    memset(out, 0, (size_t)g->n);
    if (!target || !*target) {
        rt_buf_append(err, "stamp target is empty (use 'base', 'head', 'heads' or ids)");
        return RETORT_ETARGET;
    }
    if (strcmp(target, "base") == 0)
        return RETORT_OK;
    if (target[0] == '+' || target[0] == '-') {
        rt_buf_printf(err, "relative target '%.64s' cannot be stamped; name a revision", target);
        return RETORT_ETARGET;
    }
    int rc = resolve_upgrade_targets(reg, g, target, out, err);
    if (rc == RETORT_OK)
        close_ancestors(g, out);
    return rc;
}

int rt_plan_out_of_order(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                         const rt_plan *plan, rt_buf *out)
{
    /* below[v]: v has an applied descendant; children come later in topo
     * order, so one backward pass settles it. */
    unsigned char *below = rt_calloc((size_t)g->n + 1, 1);
    unsigned char *seen = rt_calloc((size_t)g->n + 1, 1);
    int *stack = rt_calloc((size_t)g->n + 1, sizeof *stack);
    if (!below || !seen || !stack) {
        rt_free(below);
        rt_free(seen);
        rt_free(stack);
        return -1;
    }
    for (int k = g->n - 1; k >= 0; k--) {
        int v = g->topo[k];
        for (int j = g->child_start[v]; j < g->child_start[v + 1] && !below[v]; j++) {
            int c = g->child[j];
            below[v] = mark[c] != 0 || below[c];
        }
    }
    int found = 0;
    for (int i = 0; i < plan->n; i++) {
        int v = plan->steps[i];
        if (!below[v])
            continue;
        if (found++ < 5) {
            /* Name the applied revisions it would run after (up to 3). */
            rt_buf_printf(out, "%s'%s' (before applied ", found > 1 ? "; " : "", reg->revs[v].id);
            memset(seen, 0, (size_t)g->n);
            int sp = 0, named = 0, more = 0;
            stack[sp++] = v;
            seen[v] = 1;
            while (sp) {
                int u = stack[--sp];
                for (int j = g->child_start[u]; j < g->child_start[u + 1]; j++) {
                    int c = g->child[j];
                    if (seen[c])
                        continue;
                    seen[c] = 1;
                    if (mark[c]) {
                        if (named < 3)
                            rt_buf_printf(out, "%s'%s'", named ? ", " : "", reg->revs[c].id);
                        else
                            more = 1;
                        named++;
                    }
                    stack[sp++] = c;
                }
            }
            rt_buf_append(out, more ? ", ...)" : ")");
        }
    }
    if (found > 5)
        rt_buf_printf(out, " and %d more", found - 5);
    rt_free(below);
    rt_free(seen);
    rt_free(stack);
    return rt_buf_failed(out) ? -1 : found;
}

void rt_plan_goal(const rt_graph *g, const rt_plan *plan, int up, unsigned char *goal)
{
    memset(goal, 0, (size_t)g->n);
    for (int i = 0; i < plan->n; i++)
        goal[plan->steps[i]] = 1;
    if (up) {
        close_ancestors(g, goal);
        return;
    }
    /* Descendants: one forward pass, children after their parents. */
    for (int k = 0; k < g->n; k++) {
        int v = g->topo[k];
        if (!goal[v])
            continue;
        for (int e = g->child_start[v]; e < g->child_start[v + 1]; e++)
            goal[g->child[e]] = 1;
    }
}

int rt_plan_toward(const rt_graph *g, const unsigned char *mark, const unsigned char *goal,
                   int up, rt_plan *plan)
{
    int count = 0;
    for (int i = 0; i < g->n; i++)
        count += goal[i] && (up ? !mark[i] : mark[i] != 0);
    if (alloc_plan(plan, count) != RETORT_OK)
        return RETORT_ENOMEM;
    for (int k = 0; k < g->n; k++) {
        int v = g->topo[up ? k : g->n - 1 - k];
        if (goal[v] && (up ? !mark[v] : mark[v] != 0))
            plan->steps[plan->n++] = v;
    }
    return RETORT_OK;
}
