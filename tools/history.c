/*
 * history.c — rendering of the revision graph for history and show.  Reads
 * the graph only through retort_revision_count / retort_revision_info, so it
 * shows exactly what the library will run, in the library's plan order.
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>

void hist_free(hist_graph *g)
{
    for (int i = 0; i < g->n; i++) {
        free(g->revs[i].id);
        free(g->revs[i].parents);
        free(g->revs[i].message);
        free(g->revs[i].labels);
        free(g->revs[i].depends);
        free(g->revs[i].children);
    }
    free(g->revs);
    memset(g, 0, sizeof *g);
}

typedef struct id_index {
    const char *id;
    int i;
} id_index;

static int index_cmp(const void *a, const void *b)
{
    return strcmp(((const id_index *)a)->id, ((const id_index *)b)->id);
}

static int lookup(const id_index *ix, int n, const char *id, size_t len)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int d = strncmp(ix[mid].id, id, len);
        if (d == 0 && ix[mid].id[len] != '\0')
            d = 1;
        if (d == 0)
            return ix[mid].i;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int hist_find(const hist_graph *g, const char *id)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->revs[i].id, id) == 0)
            return i;
    return -1;
}

int hist_resolve(const hist_graph *g, const char *name, size_t len)
{
    for (int i = 0; i < g->n; i++)
        if (strlen(g->revs[i].id) == len && memcmp(g->revs[i].id, name, len) == 0)
            return i;
    for (int i = 0; i < g->n; i++)
        for (const char *l = g->revs[i].labels; l && *l;) {
            size_t k = strcspn(l, " ");
            if (k == len && memcmp(l, name, len) == 0)
                return i;
            l += k;
            l += strspn(l, " ");
        }
    int found = -1;
    for (int i = 0; i < g->n && len; i++)
        if (strncmp(g->revs[i].id, name, len) == 0) {
            if (found >= 0)
                return -2;
            found = i;
        }
    return found;
}

int hist_load(retort *r, const char *current, hist_graph *g)
{
    memset(g, 0, sizeof *g);
    int n, rc = retort_revision_count(r, &n);
    if (rc != RETORT_OK)
        return rc;
    g->revs = calloc((size_t)(n ? n : 1), sizeof *g->revs);
    id_index *ix = calloc((size_t)(n ? n : 1), sizeof *ix);
    int *nchild = calloc((size_t)(n ? n : 1), sizeof *nchild);
    if (!g->revs || !ix || !nchild) {
        free(ix);
        free(nchild);
        hist_free(g);
        return RETORT_ENOMEM;
    }
    for (int i = 0; i < n && rc == RETORT_OK; i++) {
        const char *id, *parents, *message;
        int flags;
        rc = retort_revision_info(r, i, &id, &parents, &message, &flags);
        if (rc != RETORT_OK)
            break;
        hist_rev *h = &g->revs[i];
        g->n = i + 1;
        h->id = strdup(id);
        h->parents = strdup(parents ? parents : "");
        h->message = strdup(message ? message : "");
        h->flags = flags;
        const char *labels = "", *depends = "";
        rc = retort_revision_links(r, i, &labels, &depends);
        if (rc != RETORT_OK)
            break;
        h->labels = strdup(labels);
        h->depends = strdup(depends);
        if (!h->id || !h->parents || !h->message || !h->labels || !h->depends)
            rc = RETORT_ENOMEM;
        else
            ix[i] = (id_index){h->id, i};
    }
    if (rc == RETORT_OK && n)
        qsort(ix, (size_t)n, sizeof *ix, index_cmp);
    /* Two passes over the parent lists: count the children, then fill them,
     * so each child list is in plan order. */
    for (int pass = 0; pass < 2 && rc == RETORT_OK; pass++) {
        for (int i = 0; i < n && rc == RETORT_OK; i++) {
            const char *p = g->revs[i].parents;
            if (pass == 0)
                g->revs[i].nparents = 0;
            while (*p) {
                size_t k = strcspn(p, " ,");
                int pi = k ? lookup(ix, n, p, k) : -1;
                if (k && pass == 0)
                    g->revs[i].nparents++;
                if (pi >= 0) {
                    if (pass == 0)
                        nchild[pi]++;
                    else
                        g->revs[pi].children[g->revs[pi].nchildren++] = i;
                }
                p += k;
                p += strspn(p, " ,");
            }
        }
        if (pass == 0) {
            for (int i = 0; i < n && rc == RETORT_OK; i++)
                if (nchild[i] && !(g->revs[i].children = calloc((size_t)nchild[i], sizeof(int))))
                    rc = RETORT_ENOMEM;
        }
    }
    if (rc == RETORT_OK && current) {
        g->state_known = 1;
        for (const char *p = current; *p;) {
            size_t k = strcspn(p, " ");
            int i = k ? lookup(ix, n, p, k) : -1;
            if (i >= 0)
                g->revs[i].current = 1;
            p += k;
            p += strspn(p, " ");
        }
    }
    free(ix);
    free(nchild);
    if (rc != RETORT_OK)
        hist_free(g);
    return rc;
}

static void print_list(const char *list, FILE *out)
{
    /* "a b" -> "a, b" as Alembic writes a merge's parents. */
    int first = 1;
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, " ,");
        if (k) {
            fprintf(out, "%s%.*s", first ? "" : ", ", (int)k, p);
            first = 0;
        }
        p += k;
        p += strspn(p, " ,");
    }
}

static void print_markers(const hist_rev *h, FILE *out)
{
    if (h->nchildren == 0)
        fputs(" (head)", out);
    if (h->nchildren > 1)
        fputs(" (branchpoint)", out);
    if (h->nparents > 1)
        fputs(" (mergepoint)", out);
    if (h->current)
        fputs(" (current)", out);
}

void hist_print_line(const hist_graph *g, int i, FILE *out)
{
    const hist_rev *h = &g->revs[i];
    if (*h->parents)
        print_list(h->parents, out);
    else
        fputs("<base>", out);
    fprintf(out, " -> %s", h->id);
    if (*h->labels)
        fprintf(out, " (%s)", h->labels);
    print_markers(h, out);
    if (*h->message)
        fprintf(out, ", %s", h->message);
    fputc('\n', out);
}

void hist_print_block(const hist_graph *g, int i, FILE *out)
{
    const hist_rev *h = &g->revs[i];
    fprintf(out, "Rev: %s", h->id);
    print_markers(h, out);
    fprintf(out, "\n%s: ", h->nparents > 1 ? "Merges" : "Parent");
    if (*h->parents)
        print_list(h->parents, out);
    else
        fputs("<base>", out);
    fprintf(out, "\n%s: ", h->nchildren > 1 ? "Branches into" : "Child");
    if (!h->nchildren)
        fputs("<none>", out);
    for (int k = 0; k < h->nchildren; k++)
        fprintf(out, "%s%s", k ? ", " : "", g->revs[h->children[k]].id);
    if (*h->labels)
        fprintf(out, "\nBranch names: %s", h->labels);
    if (*h->depends)
        fprintf(out, "\nDepends on: %s", h->depends);
    fprintf(out, "\nKind: %s%s%s\n", h->flags & RETORT_REV_SQL ? "sql" : "callback",
            h->flags & RETORT_REV_IRREVERSIBLE ? ", irreversible" : "",
            h->flags & RETORT_REV_NO_TRANSACTION ? ", no-transaction" : "");
    if (g->state_known)
        fprintf(out, "State: %s\n", h->flags & RETORT_REV_DIRTY     ? "dirty"
                                    : h->flags & RETORT_REV_APPLIED ? "applied"
                                                                    : "pending");
    if (*h->message)
        fprintf(out, "Message: %s\n", h->message);
}

void hist_print(const hist_graph *g, int verbose, FILE *out)
{
    hist_print_only(g, NULL, verbose, out);
}

void hist_print_only(const hist_graph *g, const unsigned char *in, int verbose, FILE *out)
{
    int printed = 0;
    for (int i = g->n - 1; i >= 0; i--) {
        if (in && !in[i])
            continue;
        if (verbose) {
            if (printed++)
                fputc('\n', out);
            hist_print_block(g, i, out);
        } else {
            hist_print_line(g, i, out);
        }
    }
}
