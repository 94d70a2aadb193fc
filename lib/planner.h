/*
 * planner.h — turns a target and the recorded state into an ordered list of
 * revisions to run.  Pure computation over the graph and a per-revision
 * applied mark (state.h): no database, no context, so it is unit-tested
 * directly and planning 100,000 revisions costs milliseconds.
 */
#ifndef RT_PLANNER_H
#define RT_PLANNER_H

#include "buf.h"
#include "graph.h"
#include "registry.h"

typedef struct rt_plan {
    int *steps; /* registry indices, in the order to run them */
    int n;
} rt_plan;

void rt_plan_free(rt_plan *plan);

/*
 * Upgrade plan: every unapplied ancestor of the target revisions and the
 * targets themselves, in graph order.  target: "head", "heads", "+N", or one
 * or more ids separated by spaces.  mark[i] != 0 means revision i is
 * applied.  RETORT_ETARGET (unknown id, several heads for "head", "+N"
 * ambiguous or past the head) with the reason in err.
 */
int rt_plan_upgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                    const char *target, rt_plan *plan, rt_buf *err);

/*
 * Downgrade plan: every applied descendant of the target, children first.
 * target: "base", an applied id, or "-N".  Irreversible revisions are not
 * checked here (see rt_plan_check_reversible).  RETORT_ETARGET as above.
 */
int rt_plan_downgrade(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                      const char *target, rt_plan *plan, rt_buf *err);

/* RETORT_EIRREVERSIBLE naming the first irreversible revision of plan. */
int rt_plan_check_reversible(const rt_registry *reg, const rt_plan *plan, rt_buf *err);
/* RETORT_EPARSE, naming the revision and its file, when an upgrade plan
 * holds a revision whose file's up section is empty (rt_rev.unfilled). */
int rt_plan_check_filled(const rt_registry *reg, const rt_plan *plan, rt_buf *err);

/*
 * The set a stamp target names, closed under ancestors: out[i] = 1 for each
 * revision that is applied after stamping target ("base": none; "head",
 * "heads", ids: those and their ancestors).
 */
int rt_plan_stamp_set(const rt_registry *reg, const rt_graph *g, const char *target,
                      unsigned char *out, rt_buf *err);
/* The same from the recorded state mark (NULL: nothing applied): a branch
 * target (X@head, X@base, X@Y) changes only the revisions sharing X's
 * lineage and keeps the rest of mark; other targets ignore mark. */
int rt_plan_stamp_set_from(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                           const char *target, unsigned char *out, rt_buf *err);

/*
 * Out of order: the steps of an upgrade plan that are ancestors of an
 * applied revision (a migration added after its descendants were applied,
 * such as a file that sorts before applied ones).  Appends them to out,
 * each with the applied revisions it would run after; returns how many
 * there are, or -1 when out of memory.
 */
int rt_plan_out_of_order(const rt_registry *reg, const rt_graph *g, const unsigned char *mark,
                         const rt_plan *plan, rt_buf *out);

/*
 * What a plan resolved its target to, for re-planning after another
 * migrator moved the state (SQLite): goal[i] = 1 (g->n bytes, owned by the
 * caller) for each revision the run must leave applied (up: the plan's
 * steps and their ancestors) or unapplied (down: the steps and their
 * descendants).  Relative targets ("+2") are thereby fixed once.
 */
void rt_plan_goal(const rt_graph *g, const rt_plan *plan, int up, unsigned char *goal);

/*
 * A plan from the state mark toward goal: up, every goal revision not
 * applied, parents first; down, every applied goal revision, children
 * first.  So its first step has all its parents applied (up) or no applied
 * child (down).  RETORT_ENOMEM only.
 */
int rt_plan_toward(const rt_graph *g, const unsigned char *mark, const unsigned char *goal,
                   int up, rt_plan *plan);

/* Appends the ids of plan's steps, space-separated. */
void rt_plan_append_ids(const rt_registry *reg, const rt_plan *plan, rt_buf *out);

#endif
