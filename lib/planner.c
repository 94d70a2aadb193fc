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

/* ---- targets: Alembic's grammar (planner.h) ---- */

enum { M_UP, M_DOWN, M_STAMP };

typedef struct {
    const rt_registry *reg;
    const rt_graph *g;
    const unsigned char *mark; /* NULL: nothing applied */
    rt_buf *err;
    int mode;
    unsigned char *want;  /* revisions named (up, stamp: to apply; down: to keep) */
    unsigned char *seed;  /* down: revert these and what requires them */
    unsigned char *strip; /* stamp: remove these and what requires them first */
    unsigned char *lin, *br, *tmp; /* scratch, n bytes each */
    int any_strip;
    int *named; /* revisions named explicitly, for the overlap check */
    const char **ntok;
    int *nlen;
    int nnamed;
} tctx;

static int is_applied(const tctx *c, int v) { return c->mark && c->mark[v]; }

/* Closes set under requirements (parents and depends_on): one reverse pass
 * over the graph order, as everything required precedes what requires it. */
static void close_req(const rt_graph *g, unsigned char *set)
{
    for (int k = g->n - 1; k >= 0; k--) {
        int v = g->topo[k];
        if (!set[v])
            continue;
        for (int e = g->req_start[v]; e < g->req_start[v + 1]; e++)
            set[g->req[e]] = 1;
    }
}

/* Closes set under what requires it (children and dependents). */
static void close_by(const rt_graph *g, unsigned char *set)
{
    for (int k = 0; k < g->n; k++) {
        int v = g->topo[k];
        if (!set[v])
            continue;
        for (int e = g->by_start[v]; e < g->by_start[v + 1]; e++)
            set[g->by[e]] = 1;
    }
}

/* The lineage through a, following parents only: a, its ancestors and its
 * descendants (with_ancestors 0: a and its descendants, a label's branch). */
static void lineage(const rt_graph *g, int a, int with_ancestors, unsigned char *set)
{
    memset(set, 0, (size_t)g->n);
    set[a] = 1;
    for (int k = g->pos[a]; k < g->n; k++) {
        int v = g->topo[k];
        if (!set[v])
            continue;
        for (int e = g->child_start[v]; e < g->child_start[v + 1]; e++)
            set[g->child[e]] = 1;
    }
    if (!with_ancestors)
        return;
    set[a] = 3; /* bit 2: a or an ancestor of it */
    for (int k = g->pos[a]; k >= 0; k--) {
        int v = g->topo[k];
        if (!(set[v] & 2))
            continue;
        for (int e = g->par_start[v]; e < g->par_start[v + 1]; e++)
            set[g->par[e]] |= 2;
    }
    for (int i = 0; i < g->n; i++)
        set[i] = set[i] ? 1 : 0;
}

static void tok_fail(tctx *c, const char *t, size_t len)
{
    rt_buf_printf(c->err, "'%.*s'", (int)(len > 200 ? 200 : len), t);
}

/* Exact id, exact branch label, then a unique prefix of an id. */
static int resolve_name_in(tctx *c, const char *s, size_t len, int *idx, int *is_label,
                           int quiet, const unsigned char *in);

static int resolve_name(tctx *c, const char *s, size_t len, int *idx, int *is_label, int quiet)
{
    return resolve_name_in(c, s, len, idx, is_label, quiet, NULL);
}

/* in (may be NULL): only revisions with in[i] count as prefix matches, as
 * Alembic resolves the Y of X@Y inside X's lineage. */
static int resolve_name_in(tctx *c, const char *s, size_t len, int *idx, int *is_label,
                           int quiet, const unsigned char *in)
{
    const rt_registry *reg = c->reg;
    *is_label = 0;
    if ((*idx = rt_registry_find(reg, s, len)) >= 0)
        return RETORT_OK;
    if ((*idx = rt_registry_find_label(reg, s, len)) >= 0) {
        *is_label = 1;
        return RETORT_OK;
    }
    int count = 0, found = -1;
    if (len > 0 && rt_id_valid(s, len))
        for (int i = 0; i < reg->n; i++)
            if ((!in || in[i]) && strncmp(reg->revs[i].id, s, len) == 0) {
                count++;
                found = i;
            }
    if (count == 1) {
        *idx = found;
        return RETORT_OK;
    }
    if (quiet)
        return RETORT_ETARGET;
    if (count > 1) {
        int *cand = rt_calloc((size_t)count, sizeof *cand);
        if (!cand)
            return RETORT_ENOMEM;
        int k = 0;
        for (int i = 0; i < reg->n; i++)
            if ((!in || in[i]) && strncmp(reg->revs[i].id, s, len) == 0)
                cand[k++] = i;
        rt_buf_append(c->err, "target ");
        tok_fail(c, s, len);
        rt_buf_append(c->err, " is ambiguous: it is a prefix of several revisions: ");
        rt_graph_append_sorted_ids(reg, cand, count, c->err);
        rt_buf_append(c->err, " (give more of the id)");
        rt_free(cand);
        return RETORT_ETARGET;
    }
    rt_buf_printf(c->err, "unknown target '%.*s': not a registered revision, %s (nor a branch "
                          "label or the prefix of an id)", (int)(len > 200 ? 200 : len), s,
                  c->mode == M_DOWN ? "'base' or '-N'" : "'head', 'heads' or '+N'");
    return RETORT_ETARGET;
}

static int push_named(tctx *c, int v, const char *t, size_t len)
{
    for (int i = 0; i < c->nnamed; i++)
        if (c->named[i] == v)
            return RETORT_OK; /* listed twice is fine */
    if (c->nnamed >= c->g->n)
        return RETORT_OK;
    c->named[c->nnamed] = v;
    c->ntok[c->nnamed] = t;
    c->nlen[c->nnamed] = (int)len;
    c->nnamed++;
    return RETORT_OK;
}

/* Revision v is a target named by token t. */
static int add_target(tctx *c, int v, const char *t, size_t len, int named)
{
    if (c->mode == M_DOWN) {
        if (!is_applied(c, v)) {
            rt_buf_printf(c->err, "cannot downgrade to '%.*s': it is not applied",
                          (int)(len > 200 ? 200 : len), t);
            return RETORT_ETARGET;
        }
        for (int e = c->g->child_start[v]; e < c->g->child_start[v + 1]; e++)
            c->seed[c->g->child[e]] = 1;
    }
    c->want[v] = 1;
    return named ? push_named(c, v, t, len) : RETORT_OK;
}

/* Walks n steps up from cur (-1: base) through children inside in (NULL:
 * anywhere); fails where the walk forks or ends. */
static int walk_up(tctx *c, const char *t, size_t len, int cur, int steps,
                   const unsigned char *in, int *out)
{
    const rt_graph *g = c->g;
    for (int s = 0; s < steps; s++) {
        int next = -1, choices = 0;
        if (cur < 0) {
            for (int i = 0; i < g->n; i++)
                if (g->par_start[i] == g->par_start[i + 1] && (!in || in[i])) {
                    choices++;
                    next = i;
                }
        } else {
            for (int e = g->child_start[cur]; e < g->child_start[cur + 1]; e++)
                if (!in || in[g->child[e]]) {
                    choices++;
                    next = g->child[e];
                }
        }
        const char *from = cur < 0 ? "base" : c->reg->revs[cur].id;
        if (choices != 1) {
            rt_buf_append(c->err, "target ");
            tok_fail(c, t, len);
            if (choices == 0)
                rt_buf_printf(c->err, " goes past the head: only %d step%s available from %s",
                              s, s == 1 ? " is" : "s are", from);
            else
                rt_buf_printf(c->err, " is ambiguous: %s is a branch point with %d successors; "
                                      "name a revision instead", from, choices);
            return RETORT_ETARGET;
        }
        cur = next;
    }
    *out = cur;
    return RETORT_OK;
}

/* Walks n steps down from cur through parents, never stepping from a
 * revision outside in (NULL: anywhere) nor from a merge; walked[] (may be
 * NULL) receives the revisions stepped from.  *out: -1 for base. */
static int walk_down(tctx *c, const char *t, size_t len, int cur, int steps,
                     const unsigned char *in, int *out, unsigned char *walked)
{
    const rt_graph *g = c->g;
    for (int s = 0; s < steps; s++) {
        const char *why = NULL;
        if (cur < 0)
            why = "goes below base";
        else if (in && !in[cur])
            why = "leaves the branch";
        else if (g->par_start[cur + 1] - g->par_start[cur] > 1)
            why = "is ambiguous: it steps down from a merge revision";
        if (why) {
            rt_buf_append(c->err, "target ");
            tok_fail(c, t, len);
            rt_buf_printf(c->err, " %s after %d step%s%s%s; name a revision instead", why, s,
                          s == 1 ? "" : "s", cur >= 0 ? " at " : "",
                          cur >= 0 ? c->reg->revs[cur].id : "");
            return RETORT_ETARGET;
        }
        if (walked)
            walked[cur] = 1;
        cur = g->par_start[cur + 1] > g->par_start[cur] ? g->par[g->par_start[cur]] : -1;
    }
    *out = cur;
    return RETORT_OK;
}

/* Parses a run of digits as a step count >= 1. */
static int parse_steps(const char *s, size_t len, int *n)
{
    long v = 0;
    if (!len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (INT_MAX - (s[i] - '0')) / 10)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *n = (int)v;
    return v >= 1;
}

/* The current head of the lineage lin: its applied revision with no
 * applied child inside it (-1 when none is applied). */
static int branch_head(tctx *c, const char *t, size_t len, const unsigned char *lin, int *cur)
{
    const rt_graph *g = c->g;
    int found = 0;
    *cur = -1;
    for (int v = 0; v < g->n; v++) {
        if (!lin[v] || !is_applied(c, v))
            continue;
        int top = 1;
        for (int e = g->child_start[v]; e < g->child_start[v + 1] && top; e++)
            top = !(lin[g->child[e]] && is_applied(c, g->child[e]));
        if (top) {
            found++;
            *cur = v;
        }
    }
    if (found > 1) {
        rt_buf_append(c->err, "target ");
        tok_fail(c, t, len);
        rt_buf_append(c->err, " is ambiguous: that lineage has several current heads; name a "
                              "revision instead");
        return RETORT_ETARGET;
    }
    return RETORT_OK;
}

/* X@base's seeds into out: a label's branch from its revision; an id's
 * lineage except what the database's other heads require. */
static void lineage_base(tctx *c, int a, int is_label, unsigned char *out)
{
    const rt_graph *g = c->g;
    if (is_label) {
        out[a] = 1;
        return;
    }
    lineage(g, a, 1, c->lin);
    memset(c->tmp, 0, (size_t)g->n);
    for (int v = 0; v < g->n; v++)
        c->tmp[v] = is_applied(c, v) && !c->lin[v];
    close_req(g, c->tmp);
    for (int v = 0; v < g->n; v++)
        if (c->lin[v] && !c->tmp[v])
            out[v] = 1;
}

static int eval_at(tctx *c, const char *t, size_t len, size_t at)
{
    const rt_graph *g = c->g;
    const char *x = t, *y = t + at + 1;
    size_t xlen = at, ylen = len - at - 1;
    int a, is_label, rc;
    if (!xlen || !ylen) {
        rt_buf_append(c->err, "target ");
        tok_fail(c, t, len);
        rt_buf_append(c->err, " must be X@Y: a branch label or revision, '@', then 'head', "
                              "'heads', 'base', '+N', '-N' or a revision of that lineage");
        return RETORT_ETARGET;
    }
    if ((rc = resolve_name(c, x, xlen, &a, &is_label, 0)) != RETORT_OK)
        return rc;
    int steps;
    int is_head = ylen == 4 && !memcmp(y, "head", 4);
    int is_heads = ylen == 5 && !memcmp(y, "heads", 5);
    int is_base = ylen == 4 && !memcmp(y, "base", 4);
    int rel = (y[0] == '+' || y[0] == '-') && parse_steps(y + 1, ylen - 1, &steps);
    if (c->mode == M_STAMP) {
        lineage_base(c, a, is_label, c->strip);
        c->any_strip = 1;
    }
    if (is_base) {
        if (c->mode == M_DOWN)
            lineage_base(c, a, is_label, c->seed);
        return RETORT_OK; /* an upgrade to X@base is a no-op */
    }
    if (is_head || is_heads) {
        lineage(g, a, 0, c->br);
        int k;
        int *hs = rt_calloc((size_t)g->nheads + 1, sizeof *hs);
        if (!hs)
            return RETORT_ENOMEM;
        k = 0;
        for (int i = 0; i < g->nheads; i++)
            if (c->br[g->heads[i]])
                hs[k++] = g->heads[i];
        if (is_head && k > 1) {
            rt_buf_append(c->err, "target ");
            tok_fail(c, t, len);
            rt_buf_append(c->err, " is ambiguous: that branch has several heads: ");
            rt_graph_append_sorted_ids(c->reg, hs, k, c->err);
            rt_buf_printf(c->err, " (merge them with 'retort merge', or use '%.*s@heads' or "
                                  "one of them)", (int)xlen, x);
            rt_free(hs);
            return RETORT_ETARGET;
        }
        rc = RETORT_OK;
        for (int i = 0; i < k && rc == RETORT_OK; i++)
            if (c->mode != M_DOWN || is_applied(c, hs[i]))
                rc = add_target(c, hs[i], t, len, 0);
        rt_free(hs);
        return rc;
    }
    lineage(g, a, 1, c->lin);
    if (rel) {
        int cur, land;
        if ((rc = branch_head(c, t, len, c->lin, &cur)) != RETORT_OK)
            return rc;
        if (y[0] == '+') {
            if ((rc = walk_up(c, t, len, cur, steps, c->lin, &land)) != RETORT_OK)
                return rc;
            return add_target(c, land, t, len, 1);
        }
        lineage(g, a, !is_label, c->br);
        memset(c->tmp, 0, (size_t)g->n);
        if ((rc = walk_down(c, t, len, cur, steps, c->br, &land, c->tmp)) != RETORT_OK)
            return rc;
        if (c->mode == M_DOWN) {
            for (int v = 0; v < g->n; v++)
                if (c->tmp[v])
                    c->seed[v] = 1;
            return RETORT_OK;
        }
        return land >= 0 ? add_target(c, land, t, len, 1) : RETORT_OK;
    }
    int v, ylabel;
    if ((rc = resolve_name_in(c, y, ylen, &v, &ylabel, 0, c->lin)) != RETORT_OK)
        return rc;
    if (!c->lin[v]) {
        rt_buf_printf(c->err, "target '%.*s': '%.*s' does not share the lineage of '%.*s'",
                      (int)(len > 200 ? 200 : len), t, (int)ylen, y, (int)xlen, x);
        return RETORT_ETARGET;
    }
    if (c->mode == M_DOWN && is_applied(c, v)) {
        /* Downgrading one branch: only the children of Y inside X's
         * lineage go (with what requires them), not other branches. */
        for (int e = g->child_start[v]; e < g->child_start[v + 1]; e++)
            if (c->lin[g->child[e]])
                c->seed[g->child[e]] = 1;
        c->want[v] = 1;
        return push_named(c, v, t, len);
    }
    return add_target(c, v, t, len, 1);
}

static int eval_token(tctx *c, const char *t, size_t len)
{
    const rt_graph *g = c->g;
    int rc, idx, is_label;
    if ((len == 4 && !memcmp(t, "head", 4)) || (len == 5 && !memcmp(t, "heads", 5))) {
        if (len == 4 && g->nheads > 1) {
            rt_buf_append(c->err, "target 'head' is ambiguous: the revision graph has several "
                                  "heads: ");
            rt_graph_append_sorted_ids(c->reg, g->heads, g->nheads, c->err);
            rt_buf_append(c->err, " (merge them with 'retort merge', or target 'heads', one "
                                  "of them, or one branch as LABEL@head)");
            return RETORT_ETARGET;
        }
        for (int i = 0; i < g->nheads; i++)
            if (c->mode != M_DOWN || is_applied(c, g->heads[i]))
                if ((rc = add_target(c, g->heads[i], t, len, 0)) != RETORT_OK)
                    return rc;
        return RETORT_OK;
    }
    if (len == 4 && !memcmp(t, "base", 4)) {
        if (c->mode == M_UP) {
            rt_buf_append(c->err, "'base' is not an upgrade target (downgrade to it instead)");
            return RETORT_ETARGET;
        }
        if (c->mode == M_DOWN)
            memset(c->seed, 1, (size_t)g->n);
        return RETORT_OK;
    }
    if ((idx = rt_registry_find_name(c->reg, t, len)) >= 0)
        return add_target(c, idx, t, len, 1);
    const char *at = memchr(t, '@', len);
    if (at)
        return eval_at(c, t, len, (size_t)(at - t));
    /* X+N, X-N, base+N: an exact id has won already. */
    size_t j = len;
    while (j > 0 && t[j - 1] >= '0' && t[j - 1] <= '9')
        j--;
    int steps;
    if (j >= 2 && j < len && (t[j - 1] == '+' || t[j - 1] == '-') &&
        parse_steps(t + j, len - j, &steps)) {
        size_t xlen = j - 1;
        int up = t[j - 1] == '+', land;
        if (xlen == 4 && !memcmp(t, "base", 4) && up) {
            if ((rc = walk_up(c, t, len, -1, steps, NULL, &land)) != RETORT_OK)
                return rc;
            return add_target(c, land, t, len, 1);
        }
        if (resolve_name(c, t, xlen, &idx, &is_label, 1) == RETORT_OK) {
            rc = up ? walk_up(c, t, len, idx, steps, NULL, &land)
                    : walk_down(c, t, len, idx, steps, NULL, &land, NULL);
            if (rc != RETORT_OK)
                return rc;
            if (land >= 0)
                return add_target(c, land, t, len, 1);
            if (c->mode == M_DOWN) { /* below the root: revert the lineage's root */
                int root = idx;
                while (g->par_start[root + 1] > g->par_start[root])
                    root = g->par[g->par_start[root]];
                c->seed[root] = 1;
            }
            return RETORT_OK;
        }
    }
    if ((rc = resolve_name(c, t, len, &idx, &is_label, 0)) != RETORT_OK)
        return rc;
    return add_target(c, idx, t, len, 1);
}

/* Refuses a named target that another named target requires. */
static int check_overlap(tctx *c)
{
    if (c->nnamed < 2)
        return RETORT_OK;
    for (int b = 0; b < c->nnamed; b++) {
        memset(c->tmp, 0, (size_t)c->g->n);
        c->tmp[c->named[b]] = 1;
        close_req(c->g, c->tmp);
        for (int a = 0; a < c->nnamed; a++)
            if (a != b && c->tmp[c->named[a]]) {
                rt_buf_printf(c->err, "target '%.*s' overlaps with other requested revisions: "
                                      "it is an ancestor of '%.*s'; name only '%.*s'",
                              c->nlen[a], c->ntok[a], c->nlen[b], c->ntok[b], c->nlen[b],
                              c->ntok[b]);
                return RETORT_ETARGET;
            }
    }
    return RETORT_OK;
}

/* Evaluates every space- or comma-separated token of target. */
static int eval_target(tctx *c, const char *target)
{
    size_t n = (size_t)c->g->n + 1;
    c->want = rt_calloc(n, 1);
    c->seed = rt_calloc(n, 1);
    c->strip = rt_calloc(n, 1);
    c->lin = rt_calloc(n, 1);
    c->br = rt_calloc(n, 1);
    c->tmp = rt_calloc(n, 1);
    c->named = rt_calloc(n, sizeof *c->named);
    c->ntok = rt_calloc(n, sizeof *c->ntok);
    c->nlen = rt_calloc(n, sizeof *c->nlen);
    c->nnamed = 0;
    c->any_strip = 0;
    if (!c->want || !c->seed || !c->strip || !c->lin || !c->br || !c->tmp || !c->named ||
        !c->ntok || !c->nlen)
        return RETORT_ENOMEM;
    const char *p = target;
    int any = 0, rc = RETORT_OK;
    while (*p && rc == RETORT_OK) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != ',' && *p != '\t')
            p++;
        any = 1;
        rc = eval_token(c, start, (size_t)(p - start));
    }
    if (rc == RETORT_OK && !any) {
        rt_buf_append(c->err, "empty target");
        rc = RETORT_ETARGET;
    }
    if (rc == RETORT_OK)
        rc = check_overlap(c);
    return rc;
}

static void tctx_free(tctx *c)
{
    rt_free(c->want);
    rt_free(c->seed);
    rt_free(c->strip);
    rt_free(c->lin);
    rt_free(c->br);
    rt_free(c->tmp);
    rt_free(c->named);
    rt_free(c->ntok);
    rt_free(c->nlen);
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
    tctx c;
    memset(&c, 0, sizeof c);
    c.reg = reg, c.g = g, c.mark = mark, c.err = err, c.mode = M_UP;
    int rc = eval_target(&c, target);
    unsigned char *want = c.want;
    if (rc == RETORT_OK) {
        close_req(g, want);
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
    tctx_free(&c);
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
    if (rt_registry_find_name(reg, target, strlen(target)) < 0 &&
        parse_relative(target, '-', &steps, err, &bad)) {
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

    tctx c;
    memset(&c, 0, sizeof c);
    c.reg = reg, c.g = g, c.mark = mark, c.err = err, c.mode = M_DOWN;
    int rc = eval_target(&c, target);
    unsigned char *drop = c.seed;
    if (rc == RETORT_OK) {
        /* What requires a seed goes; what a named target requires stays. */
        close_by(g, drop);
        close_req(g, c.want);
        for (int i = 0; i < g->n; i++)
            if (c.want[i])
                drop[i] = 0;
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
    tctx_free(&c);
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

int rt_plan_check_filled(const rt_registry *reg, const rt_plan *plan, rt_buf *err)
{
    for (int i = 0; i < plan->n; i++) {
        const rt_rev *rev = &reg->revs[plan->steps[i]];
        if (rev->unfilled) {
            rt_buf_printf(err, "revision '%s' has an empty up section in %s (the template, "
                               "not yet filled in): write its SQL under '-- retort:up', or "
                               "delete the file; refusing to apply it or anything with it",
                          rev->id, rev->unfilled);
            return RETORT_EPARSE;
        }
    }
    return RETORT_OK;
}

int rt_plan_stamp_set(const rt_registry *reg, const rt_graph *g, const char *target,
                      unsigned char *out, rt_buf *err)
{
    return rt_plan_stamp_set_from(reg, g, NULL, target, out, err);
}

int rt_plan_stamp_set_from(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                           const char *target, unsigned char *out, rt_buf *err)
{
    memset(out, 0, (size_t)g->n);
    if (!target || !*target) {
        rt_buf_append(err, "stamp target is empty (use 'base', 'head', 'heads' or ids)");
        return RETORT_ETARGET;
    }
    if (strcmp(target, "base") == 0)
        return RETORT_OK;
    if ((target[0] == '+' || target[0] == '-') &&
        rt_registry_find_name(reg, target, strlen(target)) < 0) {
        rt_buf_printf(err, "relative target '%.64s' cannot be stamped; name a revision", target);
        return RETORT_ETARGET;
    }
    tctx c;
    memset(&c, 0, sizeof c);
    c.reg = reg, c.g = g, c.mark = mark, c.err = err, c.mode = M_STAMP;
    int rc = eval_target(&c, target);
    if (rc == RETORT_OK) {
        if (c.any_strip && mark) {
            /* Only the recorded heads sharing the branch's lineage change. */
            close_by(g, c.strip);
            for (int i = 0; i < g->n; i++)
                out[i] = (mark[i] && !c.strip[i]) || c.want[i];
        } else {
            memcpy(out, c.want, (size_t)g->n);
        }
        close_req(g, out);
    }
    tctx_free(&c);
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
    if (up)
        close_req(g, goal);
    else
        close_by(g, goal); /* children and dependents after what they require */
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
