/*
 * graph.h — the revision DAG derived from the registry: resolved parent and
 * child links, the plan order (parents first, ties by registration order)
 * and the heads.  Built lazily by the first operation after a registration;
 * building it is where unknown parents and cycles are reported.
 */
#ifndef RT_GRAPH_H
#define RT_GRAPH_H

#include "buf.h"
#include "registry.h"

typedef struct rt_graph {
    int valid;        /* 0: must be rebuilt before use */
    int n;
    int *par_start;   /* parents of i: par[par_start[i] .. par_start[i+1]) */
    int *par;
    int *child_start; /* children of i: child[child_start[i] .. child_start[i+1]) */
    int *child;
    int *topo;        /* revision indices in plan order */
    int *pos;         /* pos[i]: position of revision i in topo */
    int *heads;       /* revisions without children, sorted by id (parents only:
                       * depends_on neither adds nor hides a head) */
    int nheads;
    /* What i requires: its parents then its resolved depends_on,
     * req[req_start[i] .. req_start[i+1]); and what requires i: its
     * children then its dependents, by[by_start[i] .. by_start[i+1]).  The
     * plan order (topo) is over both kinds of edge. */
    int *req_start, *req;
    int *by_start, *by;
} rt_graph;

void rt_graph_free(rt_graph *g);
void rt_graph_invalidate(rt_graph *g);

/* (Re)builds g from reg if it is not valid.  RETORT_EGRAPH with the reason
 * (the revision and its unknown parent; the revisions forming a cycle) in
 * err, or RETORT_ENOMEM.  On failure g stays invalid. */
int rt_graph_build(rt_graph *g, const rt_registry *reg, rt_buf *err);

/* Appends the ids of the revisions in idx[0..n) sorted by id, separated by
 * single spaces. */
void rt_graph_append_sorted_ids(const rt_registry *reg, const int *idx, int n, rt_buf *out);

#endif
