/*
 * state.h — the recorded state as read from the version table: its rows, and
 * per registered revision whether it is applied or dirty.  Derived data, no
 * database access here (version_table.c reads it).
 */
#ifndef RT_STATE_H
#define RT_STATE_H

#include "buf.h"
#include "graph.h"
#include "registry.h"

enum { RT_UNAPPLIED = 0, RT_APPLIED = 1, RT_DIRTY = 2 };

typedef struct rt_row {
    char *id, *parents, *message, *checksum, *state, *applied_at, *duration_ms;
    int rev; /* registry index, -1 when the registry does not know it */
} rt_row;

typedef struct rt_state {
    int loaded;            /* rows reflect the database as last read */
    int table_missing;     /* the last read found no version table */
    rt_row *rows;          /* in the order applied */
    int n, cap;
    unsigned char *mark;   /* per registry index: RT_UNAPPLIED / RT_APPLIED / RT_DIRTY */
    int nmark;
    int nunknown;          /* rows whose id the registry does not know */
    int ndirty;
} rt_state;

void rt_state_forget(rt_state *s);
void rt_state_free(rt_state *s);
/* Appends a row from a SELECT_VERSIONS result (7 text columns). */
int rt_state_add_row(rt_state *s, int ncols, const char *const *values);
/* Maps rows onto the registry; fills mark, nunknown, ndirty. */
int rt_state_resolve(rt_state *s, const rt_registry *reg);
/* Applied heads: rows no other row names as a parent, sorted, space-separated.
 * Works for rows the registry does not know too.  g (may be NULL): a known
 * revision with an applied child in the registry's graph is no head either,
 * so a revision applied out of order (recorded with its old parents) does
 * not show a linear history as two heads. */
int rt_state_heads(const rt_state *s, const rt_graph *g, rt_buf *out);

#endif
