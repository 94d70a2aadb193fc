/*
 * autogen.h — what autogen.c (the public calls, the scratch target, the
 * diff) shares with the dialect renderers (autogen_sqlite.c,
 * autogen_postgres.c): both schemas as parsed snapshots, both live
 * contexts for the catalogue queries a renderer needs, and the helpers
 * every dialect writes its annotations and names with.
 */
#ifndef RT_AUTOGEN_H
#define RT_AUTOGEN_H

#include "buf.h"
#include "schema_model.h"

typedef struct retort retort;

/* One side of the comparison. */
typedef struct rt_ag_side {
    retort *ctx;     /* the database, or the scratch target of the declared schema */
    rt_smodel model; /* its snapshot */
} rt_ag_side;

/*
 * A renderer writes, into out, the statements that take the schema of
 * from to the schema of to (one direction; it is called twice, with the
 * sides swapped, for up and down).  Statements end with ";\n"; comments
 * "-- retort:destructive ..." and "-- retort:review ..." go on the line
 * before the statement they concern.  Output must depend only on the two
 * schemas, never on catalogue order or addresses.  On failure it records
 * the error on err (the caller's context) and returns its code.
 */
typedef int (*rt_ag_render_fn)(retort *err, const rt_ag_side *from, const rt_ag_side *to,
                               rt_buf *out);

int rt_autogen_render_sqlite(retort *err, const rt_ag_side *from, const rt_ag_side *to,
                             rt_buf *out);
int rt_autogen_render_postgres(retort *err, const rt_ag_side *from, const rt_ag_side *to,
                               rt_buf *out);

/* ----------------------------------------------- helpers for renderers */

/* Appends name in double quotes, doubling any inside. */
void rt_ag_quote(rt_buf *b, const char *name);
/* Appends one "-- ..." comment line formatted from fmt: a name or text in
 * it (from the catalogue) cannot end the comment and start SQL, since line
 * breaks in it are folded (rt_quote_comment); the line ends with "\n". */
void rt_ag_comment(rt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether changing a column's type from a to b keeps every value (a known
 * widening such as integer to bigint, or anything to text).  Types are as
 * the snapshot spells them. */
int rt_ag_type_widens(const char *a, const char *b);

/* Whether the column lists of table t in x and of table u in y are the
 * same (names and definitions): a dropped table and an added one of the
 * same shape may be a rename. */
int rt_ag_same_table_shape(const rt_smodel *x, const char *t, const rt_smodel *y,
                           const char *u);

/* Appends "-- retort:review possible rename ..." comments for each table
 * of from missing in to that has the shape of a table of to missing in
 * from, and for each column dropped from a kept table that has the
 * definition of a column added to it. */
void rt_ag_rename_reviews(const rt_smodel *from, const rt_smodel *to, rt_buf *out);

/* The order in which to create the views of m (indexes into m->v, kinds
 * RT_SO_VIEW and RT_SO_MATVIEW, those for which want(o) is nonzero): a view
 * after every view whose name its text mentions, otherwise by name.
 * *order is rt_malloc'd; RETORT_ENOMEM or RETORT_OK. */
int rt_ag_view_order(const rt_smodel *m, int (*want)(const rt_smodel *, const rt_sobj *, void *),
                     void *ctx, size_t **order, size_t *n);

/* Whether text mentions name as a whole word (bare or quoted). */
int rt_ag_mentions(const char *text, const char *name);

#endif
