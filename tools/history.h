/*
 * history.h — renders the revision graph as `retort history` and
 * `retort show` print it: one line per revision (newest first) with head,
 * branch point, merge point and current markers, or a block per revision.
 */
#ifndef RETORT_TOOL_HISTORY_H
#define RETORT_TOOL_HISTORY_H

#include <stdio.h>

#include <retort/retort.h>

typedef struct hist_rev {
    char *id, *parents, *message; /* parents space-separated, "" for a root */
    int flags;                     /* RETORT_REV_* */
    int nparents;
    int *children;                 /* indices, in plan order */
    int nchildren;
    int current;                   /* one of the database's current heads */
    char *labels, *depends;        /* branch labels, depends_on: space-separated, "" if none */
} hist_rev;

typedef struct hist_graph {
    hist_rev *revs; /* plan order: parents first */
    int n;
    int state_known; /* current and APPLIED/DIRTY flags were read */
} hist_graph;

/*
 * Reads the registered graph of r.  current: the database's current heads
 * (space-separated) to mark, or NULL when the database was not read.
 * Returns RETORT_OK or the library's status (its message is on r), or
 * RETORT_ENOMEM.
 */
int hist_load(retort *r, const char *current, hist_graph *g);
void hist_free(hist_graph *g);
/* Index of id, or -1. */
int hist_find(const hist_graph *g, const char *id);
/* Index of the revision name[0..len) names: its id, a branch label, else a
 * unique prefix of an id; -1 when none, -2 when the prefix is ambiguous. */
int hist_resolve(const hist_graph *g, const char *name, size_t len);

/* "PARENTS -> ID (head) (branchpoint) (mergepoint) (current), MESSAGE" */
void hist_print_line(const hist_graph *g, int i, FILE *out);
/* The multi-line description used by history -v and show. */
void hist_print_block(const hist_graph *g, int i, FILE *out);
/* Every revision, newest first, as lines or (verbose) blocks. */
void hist_print(const hist_graph *g, int verbose, FILE *out);
/* The same for the revisions with in[i] != 0 only (in NULL: all). */
void hist_print_only(const hist_graph *g, const unsigned char *in, int verbose, FILE *out);

#endif
