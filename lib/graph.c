/*
 * graph.c — builds the revision DAG from the registry (graph.h).  Pure
 * computation over registry indices: no database, no context.  Everything is
 * linear or n log n in the number of revisions, because planning 100,000
 * revisions must take milliseconds.
 */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "retort/retort.h"

void rt_graph_free(rt_graph *g)
{
    rt_free(g->par_start);
    rt_free(g->par);
    rt_free(g->child_start);
    rt_free(g->child);
    rt_free(g->topo);
    rt_free(g->pos);
    rt_free(g->heads);
    rt_free(g->req_start);
    rt_free(g->req);
    rt_free(g->by_start);
    rt_free(g->by);
    memset(g, 0, sizeof *g);
}

void rt_graph_invalidate(rt_graph *g) { g->valid = 0; }

/* A binary min-heap of revision indices: Kahn's algorithm takes the ready
 * revision registered first, which is the tie-break the brief promises. */
typedef struct {
    int *a;
    int n;
} minheap;

static void heap_push(minheap *h, int v)
{
    int i = h->n++;
    h->a[i] = v;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (h->a[p] <= h->a[i])
            break;
        int t = h->a[p];
        h->a[p] = h->a[i];
        h->a[i] = t;
        i = p;
    }
}

static int heap_pop(minheap *h)
{
    int top = h->a[0];
    h->a[0] = h->a[--h->n];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->a[l] < h->a[m])
            m = l;
        if (r < h->n && h->a[r] < h->a[m])
            m = r;
        if (m == i)
            break;
        int t = h->a[m];
        h->a[m] = h->a[i];
        h->a[i] = t;
        i = m;
    }
    return top;
}

/* qsort has no context argument in C11; sorting ids with a file-scope
 * pointer would be global mutable state shared between threads, so sort
 * pointers to the ids instead. */
static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void rt_graph_append_sorted_ids(const rt_registry *reg, const int *idx, int n, rt_buf *out)
{
    if (n <= 0)
        return;
    const char **ids = rt_malloc((size_t)n * sizeof *ids);
    if (!ids) {
        out->failed = 1;
        return;
    }
    for (int i = 0; i < n; i++)
        ids[i] = reg->revs[idx[i]].id;
    qsort(ids, (size_t)n, sizeof *ids, cmp_str_ptr);
    for (int i = 0; i < n; i++) {
        if (i)
            rt_buf_append_char(out, ' ');
        rt_buf_append(out, ids[i]);
    }
    rt_free(ids);
}

/* Reports one cycle among the revisions Kahn's algorithm could not order:
 * walk parent links inside the remainder until a revision repeats. */
static void describe_cycle(const rt_graph *g, const rt_registry *reg, const int *indeg_left,
                           rt_buf *err)
{
    int start = -1;
    for (int i = 0; i < g->n && start < 0; i++)
        if (indeg_left[i] > 0)
            start = i;
    int *seen = rt_calloc((size_t)g->n, sizeof *seen);
    if (!seen || start < 0) {
        rt_buf_append(err, "the revision graph has a cycle");
        rt_free(seen);
        return;
    }
    /* Every unordered revision has an unordered parent (else it would have
     * been ordered), so following unordered parents must revisit one. */
    int cur = start, step = 1;
    while (!seen[cur]) {
        seen[cur] = step++;
        int next = -1;
        for (int k = g->req_start[cur]; k < g->req_start[cur + 1]; k++)
            if (indeg_left[g->req[k]] > 0) {
                next = g->req[k];
                break;
            }
        if (next < 0)
            break;
        cur = next;
    }
    rt_buf_append(err, "the revision graph has a cycle: ");
    int first = cur, at = cur;
    rt_buf_append(err, reg->revs[first].id);
    for (int guard = 0; guard < g->n; guard++) {
        int next = -1;
        for (int k = g->req_start[at]; k < g->req_start[at + 1]; k++)
            if (indeg_left[g->req[k]] > 0 && seen[g->req[k]]) {
                next = g->req[k];
                break;
            }
        if (next < 0)
            break;
        rt_buf_printf(err, " -> %s", reg->revs[next].id);
        if (next == first)
            break;
        at = next;
    }
    rt_buf_append(err, " (each is listed as a parent or in the depends_on of the one before it)");
    rt_free(seen);
}

/* Resolves depends_on (an id, else a branch label) and builds req/by:
 * parents then dependencies, children then dependents.  indeg[i] becomes
 * the number of i's requirements. */
static int build_requires(rt_graph *g, const rt_registry *reg, int *indeg, rt_buf *err)
{
    int n = g->n;
    long ndeps = 0;
    for (int i = 0; i < n; i++) {
        const char *d = reg->revs[i].depends;
        for (; d && *d; d += strspn(d, " "), ndeps++)
            d += strcspn(d, " ");
    }
    long total = g->par_start[n] + ndeps;
    int *dep = rt_calloc((size_t)ndeps + 1, sizeof(int));
    int *dep_start = rt_calloc((size_t)n + 1, sizeof(int));
    g->req_start = rt_calloc((size_t)n + 1, sizeof(int));
    g->req = rt_calloc((size_t)total + 1, sizeof(int));
    g->by_start = rt_calloc((size_t)n + 2, sizeof(int));
    g->by = rt_calloc((size_t)total + 1, sizeof(int));
    int *fill = rt_calloc((size_t)n + 1, sizeof(int));
    int rc = RETORT_OK;
    if (!dep || !dep_start || !g->req_start || !g->req || !g->by_start || !g->by || !fill) {
        rc = RETORT_ENOMEM;
        goto out;
    }
    int k = 0;
    for (int i = 0; i < n && rc == RETORT_OK; i++) {
        dep_start[i] = k;
        const char *d = reg->revs[i].depends;
        while (d && *d) {
            size_t len = strcspn(d, " ");
            int t = rt_registry_find_name(reg, d, len);
            if (t < 0) {
                rt_buf_printf(err, "revision '%s' depends on unknown revision or branch label "
                                   "'%.*s'", reg->revs[i].id, (int)len, d);
                rc = RETORT_EGRAPH;
                break;
            }
            if (t == i) {
                rt_buf_printf(err, "the revision graph has a cycle: revision '%s' depends on "
                                   "its own branch label '%.*s'", reg->revs[i].id, (int)len, d);
                rc = RETORT_EGRAPH;
                break;
            }
            dep[k++] = t;
            d += len;
            d += strspn(d, " ");
        }
    }
    if (rc != RETORT_OK)
        goto out;
    dep_start[n] = k;
    int e = 0;
    for (int i = 0; i < n; i++) {
        g->req_start[i] = e;
        for (int j = g->par_start[i]; j < g->par_start[i + 1]; j++)
            g->req[e++] = g->par[j];
        for (int j = dep_start[i]; j < dep_start[i + 1]; j++)
            g->req[e++] = dep[j];
        indeg[i] = e - g->req_start[i];
        for (int j = g->req_start[i]; j < e; j++)
            g->by_start[g->req[j] + 1]++;
    }
    g->req_start[n] = e;
    for (int i = 0; i < n; i++)
        g->by_start[i + 1] += g->by_start[i];
    /* Children (registration order) first, then dependents: a required
     * revision listed twice (parent and dependency) counts twice, which
     * Kahn's algorithm handles as its in-degree counts it twice too. */
    for (int i = 0; i < n; i++)
        for (int j = g->par_start[i]; j < g->par_start[i + 1]; j++) {
            int p = g->par[j];
            g->by[g->by_start[p] + fill[p]++] = i;
        }
    for (int i = 0; i < n; i++)
        for (int j = dep_start[i]; j < dep_start[i + 1]; j++) {
            int p = dep[j];
            g->by[g->by_start[p] + fill[p]++] = i;
        }
out:
    rt_free(dep);
    rt_free(dep_start);
    rt_free(fill);
    return rc;
}

int rt_graph_build(rt_graph *g, const rt_registry *reg, rt_buf *err)
{
    if (g->valid)
        return RETORT_OK;
    rt_graph_free(g);
    int n = reg->n;
    g->n = n;
    size_t un = (size_t)n;
    long total = 0;
    for (int i = 0; i < n; i++)
        total += reg->revs[i].nparents;
    g->par_start = rt_calloc(un + 1, sizeof(int));
    g->par = rt_calloc((size_t)total + 1, sizeof(int));
    g->child_start = rt_calloc(un + 2, sizeof(int));
    g->child = rt_calloc((size_t)total + 1, sizeof(int));
    g->topo = rt_calloc(un + 1, sizeof(int));
    g->pos = rt_calloc(un + 1, sizeof(int));
    g->heads = rt_calloc(un + 1, sizeof(int));
    int *indeg = rt_calloc(un + 1, sizeof(int));
    int *fill = rt_calloc(un + 1, sizeof(int));
    minheap heap = {rt_calloc(un + 1, sizeof(int)), 0};
    int rc = RETORT_OK;
    if (!g->par_start || !g->par || !g->child_start || !g->child || !g->topo || !g->pos ||
        !g->heads || !indeg || !fill || !heap.a) {
        rc = RETORT_ENOMEM;
        goto out;
    }

    /* Resolve parents; unknown ones are reported in registration order. */
    int k = 0;
    for (int i = 0; i < n; i++) {
        const rt_rev *rev = &reg->revs[i];
        g->par_start[i] = k;
        for (int j = 0; j < rev->nparents; j++) {
            const char *pid = rev->parent_ids[j];
            int p = rt_registry_find(reg, pid, strlen(pid));
            if (p < 0) {
                rt_buf_printf(err, "revision '%s' has unknown parent '%s'", rev->id, pid);
                rc = RETORT_EGRAPH;
                goto out;
            }
            g->par[k++] = p;
            g->child_start[p + 1]++;
        }
        indeg[i] = rev->nparents;
    }
    g->par_start[n] = k;
    for (int i = 0; i < n; i++)
        g->child_start[i + 1] += g->child_start[i];
    /* Children in registration order, so plans are deterministic. */
    for (int i = 0; i < n; i++)
        for (int e = g->par_start[i]; e < g->par_start[i + 1]; e++) {
            int p = g->par[e];
            g->child[g->child_start[p] + fill[p]++] = i;
        }

    rc = build_requires(g, reg, indeg, err);
    if (rc != RETORT_OK)
        goto out;

    for (int i = 0; i < n; i++)
        if (indeg[i] == 0)
            heap_push(&heap, i);
    int ordered = 0;
    while (heap.n) {
        int v = heap_pop(&heap);
        g->pos[v] = ordered;
        g->topo[ordered++] = v;
        for (int e = g->by_start[v]; e < g->by_start[v + 1]; e++)
            if (--indeg[g->by[e]] == 0)
                heap_push(&heap, g->by[e]);
    }
    if (ordered != n) {
        describe_cycle(g, reg, indeg, err);
        rc = RETORT_EGRAPH;
        goto out;
    }

    g->nheads = 0;
    for (int i = 0; i < n; i++)
        if (g->child_start[i] == g->child_start[i + 1])
            g->heads[g->nheads++] = i;
    /* Sorting by id needs the registry in the comparator: sort (id, index)
     * pairs through pointers into the registry's own strings. */
    if (g->nheads > 1) {
        const char **ids = rt_malloc((size_t)g->nheads * sizeof *ids);
        if (!ids) {
            rc = RETORT_ENOMEM;
            goto out;
        }
        for (int i = 0; i < g->nheads; i++)
            ids[i] = reg->revs[g->heads[i]].id;
        qsort(ids, (size_t)g->nheads, sizeof *ids, cmp_str_ptr);
        for (int i = 0; i < g->nheads; i++)
            g->heads[i] = rt_registry_find(reg, ids[i], strlen(ids[i]));
        rt_free(ids);
    }
    g->valid = 1;
out:
    rt_free(indeg);
    rt_free(fill);
    rt_free(heap.a);
    if (rc != RETORT_OK) {
        rt_graph_free(g);
        if (rc == RETORT_ENOMEM)
            rt_buf_append(err, "out of memory building the revision graph");
    }
    return rc;
}
