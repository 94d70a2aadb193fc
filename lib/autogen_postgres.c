/*
 * autogen_postgres.c — renders a schema change as PostgreSQL DDL
 * (autogen.h).  PostgreSQL's ALTER TABLE expresses every change the
 * snapshot describes for tables, so each differing object becomes its own
 * statement, ordered so that nothing is dropped while something still
 * depends on it and nothing is created before what it needs:
 *
 *   views (all of them, when any view or a column under them changes),
 *   triggers, foreign keys (also those whose referenced key changes),
 *   indexes and constraints, then tables; new sequences and tables; column
 *   drops, adds and changes; constraints, indexes and foreign keys; sequence
 *   ownership and removed sequences; triggers; views.
 *
 * Everything comes from the snapshot lines (which hold pg_get_*def text),
 * except column order for new tables, read from pg_attribute of the to
 * side through the driver's query member (the core does not include
 * libpq-fe.h).  Reads only; writes nothing anywhere.
 */
#include <string.h>

#include "autogen.h"
#include "context.h"
#include "error.h"
#include "memory.h"

/* ----------------------------------------------------------- column order */

typedef struct {
    char **table, **column; /* in attnum order within each table */
    size_t n;
    int oom;
} col_order;

static int collect_col(void *ctx, int ncols, const char *const *values)
{
    col_order *o = ctx;
    if (ncols < 2 || !values[0] || !values[1])
        return 0;
    char **t = rt_reallocarray(o->table, o->n + 1, sizeof *t);
    if (t)
        o->table = t;
    char **c = t ? rt_reallocarray(o->column, o->n + 1, sizeof *c) : NULL;
    if (c)
        o->column = c;
    if (!t || !c) {
        o->oom = 1;
        return RETORT_ENOMEM;
    }
    o->table[o->n] = rt_strdup(values[0]);
    o->column[o->n] = rt_strdup(values[1]);
    o->n++;
    if (!o->table[o->n - 1] || !o->column[o->n - 1]) {
        o->oom = 1;
        return RETORT_ENOMEM;
    }
    return 0;
}

static void col_order_free(col_order *o)
{
    for (size_t i = 0; i < o->n; i++) {
        rt_free(o->table[i]);
        rt_free(o->column[i]);
    }
    rt_free(o->table);
    rt_free(o->column);
}

static int load_col_order(retort *err, const rt_ag_side *side, col_order *o)
{
    retort *c = side->ctx;
    const char *const params[] = {c->schema_in_use};
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = c->backend->query(
        c->db,
        "SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a"
        " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1"
        " WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped"
        " ORDER BY c.oid, a.attnum",
        1, params, collect_col, o, &rep);
    if (o->oom)
        rc = rt_fail(err, RETORT_ENOMEM, "out of memory");
    else if (rc != RETORT_OK)
        rc = rt_fail_report(err, &rep, RETORT_EDB, "autogenerate: cannot read column order");
    rt_report_free(&rep);
    return rc;
}

/* A column's position in its table, or a large number if unknown (then the
 * snapshot's name order decides). */
static size_t col_pos(const col_order *o, const char *t, const char *c)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->table[i], t) == 0 && strcmp(o->column[i], c) == 0)
            return i;
    return (size_t)-1;
}

/* ---------------------------------------------------------------- job */

typedef struct {
    const rt_smodel *from, *to;
    col_order order; /* of the to side */
    rt_buf *out;
} job;

static int has_table(const rt_smodel *m, const char *t)
{
    return t && rt_smodel_find(m, RT_SO_TABLE, t, NULL) != NULL;
}

static int changed(const rt_smodel *other, const rt_sobj *o)
{
    const rt_sobj *p = rt_smodel_find(other, o->kind, o->table, o->name);
    return !p || strcmp(p->line, o->line) != 0;
}

static int is_key(int kind) { return kind == RT_SO_PKEY || kind == RT_SO_UNIQUE; }

/* The table a foreign key line references (malloc'd), or NULL. */
static char *fk_target(const rt_sobj *fk)
{
    const char *r = strstr(fk->body, ") references ");
    if (!r)
        return NULL;
    r += 13;
    char *name = NULL;
    rt_sname_read(&r, &name);
    return name;
}

/* Whether a key (primary or unique) of table t changes between the sides:
 * a foreign key referencing t then has to be dropped and added around it. */
static int key_changes(const job *j, const char *t)
{
    for (int side = 0; side < 2; side++) {
        const rt_smodel *a = side ? j->to : j->from, *b = side ? j->from : j->to;
        for (size_t i = 0; i < a->n; i++)
            if (is_key(a->v[i].kind) && strcmp(a->v[i].table, t) == 0 && changed(b, &a->v[i]))
                return 1;
    }
    return 0;
}

/* Whether the foreign key o (of side m, other side other) is dropped (or
 * added, on the to side) by this migration. */
static int fk_moves(const job *j, const rt_sobj *o, const rt_smodel *other)
{
    if (changed(other, o))
        return 1;
    char *target = fk_target(o);
    int moves = target && key_changes(j, target);
    rt_free(target);
    return moves;
}

static const char *constraint_keyword(int kind)
{
    switch (kind) {
    case RT_SO_PKEY:
        return "PRIMARY KEY";
    case RT_SO_UNIQUE:
        return "UNIQUE";
    case RT_SO_FKEY:
        return "FOREIGN KEY";
    case RT_SO_CHECK:
        return "CHECK";
    default:
        return "EXCLUDE";
    }
}

/* "CONSTRAINT n KIND DEF" */
static void constraint_def(rt_buf *out, const rt_sobj *o)
{
    rt_buf_append(out, "CONSTRAINT ");
    rt_ag_quote(out, o->name ? o->name : "");
    rt_buf_printf(out, " %s ", constraint_keyword(o->kind));
    rt_buf_append_n(out, o->body, o->def_len);
}

static void alter_table(rt_buf *out, const char *t)
{
    rt_buf_append(out, "ALTER TABLE ");
    rt_ag_quote(out, t);
}

static void column_def(rt_buf *out, const rt_sobj *c)
{
    rt_ag_quote(out, c->name);
    rt_buf_append_char(out, ' ');
    rt_buf_append(out, c->body);
}

/* --------------------------------------------------------------- columns */

static void annotate_new_column(job *j, const rt_sobj *c, int new_table)
{
    rt_scol b;
    if (rt_scol_parse(c->body, &b) != RETORT_OK) {
        j->out->failed = 1;
        return;
    }
    if (!new_table && b.not_null && !b.dflt && !b.identity && !b.generated)
        rt_ag_comment(j->out, "-- retort:review new column \"%s\".\"%s\" is NOT NULL without a "
                              "default: this fails if \"%s\" has rows\n",
                      c->table, c->name, c->table);
    rt_scol_free(&b);
}

static void alter_column(job *j, const rt_sobj *o, const rt_sobj *n)
{
    rt_buf *out = j->out;
    rt_scol a, b;
    if (rt_scol_parse(o->body, &a) != RETORT_OK) {
        out->failed = 1;
        return;
    }
    if (rt_scol_parse(n->body, &b) != RETORT_OK) {
        rt_scol_free(&a);
        out->failed = 1;
        return;
    }
    const char *t = o->table, *c = o->name;
#define SAME(x, y) ((!(x) && !(y)) || ((x) && (y) && strcmp((x), (y)) == 0))
    if (!SAME(a.identity, b.identity) || !SAME(a.generated, b.generated)) {
        rt_ag_comment(out, "-- retort:review column \"%s\".\"%s\" changes its identity or "
                           "generation, which autogenerate does not write: from '%s' to '%s'\n",
                      t, c, o->body, n->body);
        goto done;
    }
    int retype = strcmp(a.type, b.type) != 0 || !SAME(a.collate, b.collate);
    int redefault = !SAME(a.dflt, b.dflt);
    /* The old default may not cast to the new type: dropped first. */
    if (a.dflt && (retype || redefault)) {
        alter_table(out, t);
        rt_buf_append(out, " ALTER COLUMN ");
        rt_ag_quote(out, c);
        rt_buf_append(out, " DROP DEFAULT;\n");
    }
    if (retype) {
        if (!rt_ag_type_widens(a.type, b.type))
            rt_ag_comment(out, "-- retort:destructive changes the type of \"%s\".\"%s\" from "
                               "'%s' to '%s', which may not keep every value\n",
                          t, c, a.type, b.type);
        alter_table(out, t);
        rt_buf_append(out, " ALTER COLUMN ");
        rt_ag_quote(out, c);
        rt_buf_printf(out, " TYPE %s", b.type);
        if (b.collate)
            rt_buf_printf(out, " COLLATE %s", b.collate);
        rt_buf_append(out, " USING ");
        rt_ag_quote(out, c);
        rt_buf_printf(out, "::%s;\n", b.type);
    }
    if (b.dflt && (retype || redefault)) {
        alter_table(out, t);
        rt_buf_append(out, " ALTER COLUMN ");
        rt_ag_quote(out, c);
        rt_buf_printf(out, " SET DEFAULT %s;\n", b.dflt);
    }
    if (a.not_null != b.not_null) {
        if (b.not_null)
            rt_ag_comment(out, "-- retort:review \"%s\".\"%s\" becomes NOT NULL: this fails if "
                               "a row holds NULL there\n",
                          t, c);
        alter_table(out, t);
        rt_buf_append(out, " ALTER COLUMN ");
        rt_ag_quote(out, c);
        rt_buf_append(out, b.not_null ? " SET NOT NULL;\n" : " DROP NOT NULL;\n");
    }
#undef SAME
done:
    rt_scol_free(&a);
    rt_scol_free(&b);
}

/* The columns of table t on side m, in the to side's column order. */
static size_t table_columns(const job *j, const rt_smodel *m, const char *t, const rt_sobj **v)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].kind == RT_SO_COLUMN && strcmp(m->v[i].table, t) == 0)
            v[n++] = &m->v[i];
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && col_pos(&j->order, t, v[k - 1]->name) >
                                        col_pos(&j->order, t, v[k]->name);
             k--) {
            const rt_sobj *tmp = v[k];
            v[k] = v[k - 1];
            v[k - 1] = tmp;
        }
    return n;
}

static void create_table(job *j, const rt_sobj *tl, const rt_sobj **cols)
{
    rt_buf *out = j->out;
    const char *t = tl->table;
    int unlogged = strcmp(tl->body, "unlogged") == 0;
    if (*tl->body && !unlogged)
        rt_ag_comment(out, "-- retort:review table \"%s\" is '%s'; autogenerate writes it as a "
                           "plain table\n", t, tl->body);
    rt_buf_append(out, unlogged ? "CREATE UNLOGGED TABLE " : "CREATE TABLE ");
    rt_ag_quote(out, t);
    rt_buf_append(out, " (");
    size_t n = table_columns(j, j->to, t, cols), items = 0;
    for (size_t i = 0; i < n; i++) {
        rt_buf_append(out, items++ ? ",\n    " : "\n    ");
        column_def(out, cols[i]);
    }
    for (size_t i = 0; i < j->to->n; i++) {
        const rt_sobj *o = &j->to->v[i];
        if (o->kind != RT_SO_PKEY && o->kind != RT_SO_UNIQUE && o->kind != RT_SO_CHECK &&
            o->kind != RT_SO_EXCLUSION)
            continue;
        if (strcmp(o->table, t) != 0)
            continue;
        rt_buf_append(out, items++ ? ",\n    " : "\n    ");
        constraint_def(out, o);
    }
    rt_buf_append(out, "\n);\n");
}

/* ----------------------------------------------------------- sequences */

/* "as T start S increment I min A max B cache C[ cycle]" as options of
 * CREATE SEQUENCE. */
static void sequence_options(rt_buf *out, const rt_sobj *s)
{
    const char *owned = strstr(s->body, " owned by ");
    size_t n = owned ? (size_t)(owned - s->body) : strlen(s->body);
    for (size_t i = 0; i < n;) {
        if (strncmp(s->body + i, " min ", 5) == 0) {
            rt_buf_append(out, " MINVALUE ");
            i += 5;
        } else if (strncmp(s->body + i, " max ", 5) == 0) {
            rt_buf_append(out, " MAXVALUE ");
            i += 5;
        } else {
            rt_buf_append_char(out, s->body[i++]);
        }
    }
}

/* --------------------------------------------------------------- render */

static int view_want_all(const rt_smodel *m, const rt_sobj *o, void *ctx)
{
    (void)m;
    (void)o;
    (void)ctx;
    return 1;
}

static void drop_views(job *j, int kind)
{
    rt_buf *out = j->out;
    size_t count = 0;
    for (size_t i = 0; i < j->from->n; i++) {
        const rt_sobj *o = &j->from->v[i];
        if (o->kind != kind)
            continue;
        rt_buf_append(out, count++ ? ", " : kind == RT_SO_VIEW ? "DROP VIEW "
                                                               : "DROP MATERIALIZED VIEW ");
        rt_ag_quote(out, o->name);
    }
    if (count)
        rt_buf_append(out, ";\n");
}

static void render(job *j)
{
    const rt_smodel *F = j->from, *T = j->to;
    rt_buf *out = j->out;
    rt_ag_rename_reviews(F, T, out);

    /* Views: dropped and recreated together, since PostgreSQL refuses to
     * drop or retype a column, or drop a view, that a view depends on. */
    int views_affected = 0;
    for (int side = 0; side < 2 && !views_affected; side++) {
        const rt_smodel *a = side ? T : F, *b = side ? F : T;
        for (size_t i = 0; i < a->n && !views_affected; i++) {
            const rt_sobj *o = &a->v[i];
            if (o->kind == RT_SO_VIEW || o->kind == RT_SO_MATVIEW)
                views_affected = changed(b, o);
            else if (!side && o->kind == RT_SO_TABLE)
                views_affected = !has_table(T, o->table);
            else if (!side && o->kind == RT_SO_COLUMN)
                views_affected = changed(T, o);
        }
    }
    if (views_affected) {
        drop_views(j, RT_SO_VIEW);
        drop_views(j, RT_SO_MATVIEW);
    }

    /* Triggers, foreign keys, indexes, constraints of kept tables. */
    for (size_t i = 0; i < F->n; i++) {
        const rt_sobj *o = &F->v[i];
        if (o->kind != RT_SO_TRIGGER || !has_table(T, o->table) || !changed(T, o))
            continue;
        rt_buf_append(out, "DROP TRIGGER ");
        rt_ag_quote(out, o->name);
        rt_buf_append(out, " ON ");
        rt_ag_quote(out, o->table);
        rt_buf_append(out, ";\n");
    }
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < F->n; i++) {
            const rt_sobj *o = &F->v[i];
            if (!has_table(T, o->table))
                continue;
            if (pass == 0 && o->kind == RT_SO_FKEY && fk_moves(j, o, T)) {
                alter_table(out, o->table);
                rt_buf_append(out, " DROP CONSTRAINT ");
                rt_ag_quote(out, o->name ? o->name : "");
                rt_buf_append(out, ";\n");
            } else if (pass == 1 && o->kind == RT_SO_INDEX && changed(T, o)) {
                rt_buf_append(out, "DROP INDEX ");
                rt_ag_quote(out, o->name);
                rt_buf_append(out, ";\n");
            } else if (pass == 2 && o->kind != RT_SO_FKEY && o->kind != RT_SO_INDEX &&
                       rt_smodel_find(F, -1, o->table, o->name) == o && changed(T, o)) {
                alter_table(out, o->table);
                rt_buf_append(out, " DROP CONSTRAINT ");
                rt_ag_quote(out, o->name ? o->name : "");
                rt_buf_append(out, ";\n");
            }
        }

    /* Tables that go, in one statement: foreign keys among them need no
     * order then. */
    size_t dropped = 0;
    for (size_t i = 0; i < F->n; i++)
        if (F->v[i].kind == RT_SO_TABLE && !has_table(T, F->v[i].table)) {
            rt_buf_append(out, "-- retort:destructive drops table ");
            rt_ag_quote(out, F->v[i].table);
            rt_buf_append(out, " and its rows\n");
            dropped++;
        }
    if (dropped) {
        size_t k = 0;
        for (size_t i = 0; i < F->n; i++)
            if (F->v[i].kind == RT_SO_TABLE && !has_table(T, F->v[i].table)) {
                rt_buf_append(out, k++ ? ", " : "DROP TABLE ");
                rt_ag_quote(out, F->v[i].table);
            }
        rt_buf_append(out, ";\n");
    }

    /* New sequences, before the tables whose defaults use them. */
    for (size_t i = 0; i < T->n; i++) {
        const rt_sobj *s = &T->v[i];
        if (s->kind != RT_SO_SEQUENCE)
            continue;
        const rt_sobj *old = rt_smodel_find(F, RT_SO_SEQUENCE, NULL, s->name);
        if (!old) {
            for (size_t k = 0; k < F->n && !old; k++)
                if (F->v[k].kind == RT_SO_SEQUENCE && strcmp(F->v[k].name, s->name) == 0)
                    old = &F->v[k];
        }
        if (old && strcmp(old->line, s->line) != 0)
            rt_ag_comment(out, "-- retort:review sequence \"%s\" changes, which autogenerate "
                               "does not write: from '%s' to '%s'\n",
                          s->name, old->body, s->body);
        if (old)
            continue;
        rt_buf_append(out, "CREATE SEQUENCE ");
        rt_ag_quote(out, s->name);
        sequence_options(out, s);
        rt_buf_append(out, ";\n");
    }

    /* New tables, then the columns of kept ones. */
    size_t maxcols = 1;
    for (size_t i = 0; i < T->n; i++)
        maxcols += T->v[i].kind == RT_SO_COLUMN;
    const rt_sobj **cols = rt_calloc(maxcols, sizeof *cols);
    if (!cols) {
        out->failed = 1;
        return;
    }
    for (size_t i = 0; i < T->n; i++)
        if (T->v[i].kind == RT_SO_TABLE && !has_table(F, T->v[i].table))
            create_table(j, &T->v[i], cols);
    rt_free(cols);
    for (size_t i = 0; i < F->n; i++) {
        const rt_sobj *o = &F->v[i];
        if (o->kind == RT_SO_TABLE && has_table(T, o->table)) {
            const rt_sobj *n = rt_smodel_find(T, RT_SO_TABLE, o->table, NULL);
            if (strcmp(o->body, n->body) != 0)
                rt_ag_comment(out, "-- retort:review table \"%s\" changes from '%s' to '%s', "
                                   "which autogenerate does not write\n",
                              o->table, o->body, n->body);
        }
        if (o->kind != RT_SO_COLUMN || !has_table(T, o->table) ||
            rt_smodel_find(T, RT_SO_COLUMN, o->table, o->name))
            continue;
        rt_buf_append(out, "-- retort:destructive drops column ");
        rt_ag_quote(out, o->table);
        rt_buf_append_char(out, '.');
        rt_ag_quote(out, o->name);
        rt_buf_append(out, " and its values\n");
        alter_table(out, o->table);
        rt_buf_append(out, " DROP COLUMN ");
        rt_ag_quote(out, o->name);
        rt_buf_append(out, ";\n");
    }
    const rt_sobj **added = rt_calloc(maxcols, sizeof *added);
    if (!added) {
        out->failed = 1;
        return;
    }
    for (size_t i = 0; i < T->n; i++) {
        const rt_sobj *tl = &T->v[i];
        if (tl->kind != RT_SO_TABLE || !has_table(F, tl->table))
            continue;
        size_t n = table_columns(j, T, tl->table, added);
        for (size_t k = 0; k < n; k++) {
            const rt_sobj *old = rt_smodel_find(F, RT_SO_COLUMN, tl->table, added[k]->name);
            if (old) {
                if (strcmp(old->line, added[k]->line) != 0)
                    alter_column(j, old, added[k]);
                continue;
            }
            annotate_new_column(j, added[k], 0);
            alter_table(out, tl->table);
            rt_buf_append(out, " ADD COLUMN ");
            column_def(out, added[k]);
            rt_buf_append(out, ";\n");
        }
    }
    rt_free(added);

    /* Constraints and indexes of kept tables, indexes of new ones, then
     * every foreign key that is new or moved. */
    for (int pass = 0; pass < 3; pass++)
        for (size_t i = 0; i < T->n; i++) {
            const rt_sobj *o = &T->v[i];
            int kept = has_table(F, o->table);
            if (pass == 0 && kept && o->kind != RT_SO_FKEY &&
                rt_smodel_find(T, -1, o->table, o->name) == o && changed(F, o)) {
                alter_table(out, o->table);
                rt_buf_append(out, " ADD ");
                constraint_def(out, o);
                rt_buf_append(out, ";\n");
            } else if (pass == 1 && o->kind == RT_SO_INDEX && (!kept || changed(F, o))) {
                const char *body = o->body;
                int unique = strncmp(body, "unique ", 7) == 0;
                rt_buf_append(out, unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
                rt_ag_quote(out, o->name);
                rt_buf_append(out, " ON ");
                rt_ag_quote(out, o->table);
                rt_buf_printf(out, " %s;\n", unique ? body + 7 : body);
            } else if (pass == 2 && o->kind == RT_SO_FKEY && (!kept || fk_moves(j, o, F))) {
                alter_table(out, o->table);
                rt_buf_append(out, " ADD ");
                constraint_def(out, o);
                rt_buf_append(out, ";\n");
            }
        }

    /* Sequence ownership once the column exists; removed sequences once
     * no default uses them (those owned by a dropped column or table are
     * gone already, hence IF EXISTS). */
    for (size_t i = 0; i < T->n; i++) {
        const rt_sobj *s = &T->v[i];
        const char *owned = s->kind == RT_SO_SEQUENCE ? strstr(s->body, " owned by ") : NULL;
        int existed = 0;
        for (size_t k = 0; k < F->n && !existed && s->kind == RT_SO_SEQUENCE; k++)
            existed = F->v[k].kind == RT_SO_SEQUENCE && strcmp(F->v[k].name, s->name) == 0;
        if (!owned || existed)
            continue;
        rt_buf_append(out, "ALTER SEQUENCE ");
        rt_ag_quote(out, s->name);
        rt_buf_printf(out, " OWNED BY %s;\n", owned + 10);
    }
    for (size_t i = 0; i < F->n; i++) {
        const rt_sobj *s = &F->v[i];
        int kept = 0;
        for (size_t k = 0; k < T->n && !kept && s->kind == RT_SO_SEQUENCE; k++)
            kept = T->v[k].kind == RT_SO_SEQUENCE && strcmp(T->v[k].name, s->name) == 0;
        if (s->kind != RT_SO_SEQUENCE || kept)
            continue;
        rt_buf_append(out, "DROP SEQUENCE IF EXISTS ");
        rt_ag_quote(out, s->name);
        rt_buf_append(out, ";\n");
    }

    for (size_t i = 0; i < T->n; i++) {
        const rt_sobj *o = &T->v[i];
        if (o->kind == RT_SO_TRIGGER && (!has_table(F, o->table) || changed(F, o)))
            rt_buf_printf(out, "%s;\n", o->body);
    }

    size_t *order = NULL, n = 0;
    if (views_affected &&
        rt_ag_view_order(T, view_want_all, NULL, &order, &n) != RETORT_OK) {
        out->failed = 1;
        return;
    }
    for (size_t k = 0; k < n; k++) {
        const rt_sobj *v = &T->v[order[k]];
        rt_buf_append(out, v->kind == RT_SO_VIEW ? "CREATE VIEW " : "CREATE MATERIALIZED VIEW ");
        rt_ag_quote(out, v->name);
        rt_buf_printf(out, " AS %s;\n", v->body);
    }
    rt_free(order);

    for (int side = 0; side < 2; side++) {
        const rt_smodel *a = side ? T : F, *b = side ? F : T;
        for (size_t i = 0; i < a->n; i++)
            if (a->v[i].kind == RT_SO_OTHER && !rt_smodel_has_line(b, a->v[i].line))
                rt_ag_comment(out, "-- retort:review not written by autogenerate, %s: %s\n",
                              side ? "to create" : "to drop", a->v[i].line);
    }
}

int rt_autogen_render_postgres(retort *err, const rt_ag_side *from, const rt_ag_side *to,
                               rt_buf *out)
{
    job j;
    memset(&j, 0, sizeof j);
    j.from = &from->model;
    j.to = &to->model;
    j.out = out;
    int rc = load_col_order(err, to, &j.order);
    if (rc == RETORT_OK) {
        render(&j);
        if (rt_buf_failed(out))
            rc = rt_fail(err, RETORT_ENOMEM, "out of memory");
    }
    col_order_free(&j.order);
    return rc;
}
