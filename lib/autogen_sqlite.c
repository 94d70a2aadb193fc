/*
 * autogen_sqlite.c — renders a schema change as SQLite DDL (autogen.h).
 *
 * SQLite's ALTER TABLE can add a plain column, drop an unconstrained one
 * and rename; everything else about a table (types, NOT NULL, defaults,
 * keys, unique, foreign keys, checks) is changed with the procedure of
 * https://www.sqlite.org/lang_altertable.html ("Making Other Kinds Of Table
 * Schema Changes"): create the new table under a temporary name from the
 * target's own CREATE TABLE text, copy the columns both have, drop the old
 * table, rename, recreate its indexes and triggers.  It runs inside the
 * migration's transaction.  PRAGMA foreign_keys cannot change there; retort's
 * connection leaves it at SQLite's default (off), and the script sets
 * defer_foreign_keys so that a connection that turned it on checks the
 * references at commit instead of at the DROP.  (With foreign_keys on,
 * ON DELETE actions of referencing tables would still fire on the DROP: the
 * rebuild comment says so.)
 *
 * The snapshots decide what changed; the CREATE text comes from each
 * side's sqlite_master, read through the driver's query member (the core
 * does not include sqlite3.h).  Reads only; writes nothing anywhere.
 */
#include <string.h>

#include "autogen.h"
#include "context.h"
#include "error.h"
#include "memory.h"

/* ------------------------------------------------------ stored CREATE text */

typedef struct {
    char *type, *name, *tbl, *sql; /* names in ASCII lower case, as the snapshot */
} stored;

typedef struct {
    stored *v;
    size_t n;
    int oom;
} stored_list;

static char *lower_dup(const char *s)
{
    char *d = rt_strdup(s ? s : "");
    if (d)
        for (char *p = d; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    return d;
}

static int collect_stored(void *ctx, int ncols, const char *const *values)
{
    stored_list *l = ctx;
    if (ncols < 4)
        return 0;
    stored *grown = rt_reallocarray(l->v, l->n + 1, sizeof *grown);
    if (!grown) {
        l->oom = 1;
        return RETORT_ENOMEM;
    }
    l->v = grown;
    stored *s = &l->v[l->n];
    s->type = lower_dup(values[0]);
    s->name = lower_dup(values[1]);
    s->tbl = lower_dup(values[2]);
    s->sql = rt_strdup(values[3] ? values[3] : "");
    l->n++;
    if (!s->type || !s->name || !s->tbl || !s->sql) {
        l->oom = 1;
        return RETORT_ENOMEM;
    }
    return 0;
}

static void stored_free(stored_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        rt_free(l->v[i].type);
        rt_free(l->v[i].name);
        rt_free(l->v[i].tbl);
        rt_free(l->v[i].sql);
    }
    rt_free(l->v);
}

static int load_stored(retort *err, const rt_ag_side *side, stored_list *l)
{
    retort *c = side->ctx;
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = c->backend->query(c->db,
                               "SELECT type, name, tbl_name, sql FROM sqlite_master "
                               "WHERE sql IS NOT NULL",
                               0, NULL, collect_stored, l, &rep);
    if (l->oom)
        rc = rt_fail(err, RETORT_ENOMEM, "out of memory");
    else if (rc != RETORT_OK)
        rc = rt_fail_report(err, &rep, RETORT_EDB, "autogenerate: cannot read sqlite_master");
    rt_report_free(&rep);
    return rc;
}

static const char *stored_sql(const stored_list *l, const char *type, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].type, type) == 0 && strcmp(l->v[i].name, name) == 0)
            return l->v[i].sql;
    return NULL;
}

/* The span of the table name in "CREATE TABLE [IF NOT EXISTS] [s.]name":
 * a small scan over words, quoted names and comments, enough for text
 * SQLite has already accepted. */
static const char *skip_space(const char *p)
{
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

static const char *token_end(const char *p)
{
    if (*p == '"' || *p == '`' || *p == '[') {
        char close = *p == '[' ? ']' : *p;
        for (p++; *p; p++)
            if (*p == close) {
                if (close != ']' && p[1] == close) {
                    p++;
                    continue;
                }
                return p + 1;
            }
        return p;
    }
    const char *s = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == '$' || (unsigned char)*p >= 0x80)
        p++;
    return p == s && *p ? p + 1 : p;
}

static int word_is(const char *s, const char *e, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(e - s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (c != w[i])
            return 0;
    }
    return 1;
}

static int table_name_span(const char *sql, size_t *start, size_t *end)
{
    const char *p = skip_space(sql), *e;
    int seen_table = 0;
    while (*p) {
        e = token_end(p);
        if (!seen_table) {
            seen_table = word_is(p, e, "table");
            p = skip_space(e);
            continue;
        }
        if (word_is(p, e, "if")) { /* IF NOT EXISTS: skip the two words after */
            p = skip_space(e);
            p = skip_space(token_end(p));
            p = skip_space(token_end(p));
            continue;
        }
        *start = (size_t)(p - sql);
        const char *after = skip_space(e);
        if (*after == '.')
            e = token_end(skip_space(after + 1));
        *end = (size_t)(e - sql);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------- tables */

enum { T_SAME, T_ADDED, T_DROPPED, T_ADD_COLUMNS, T_DROP_COLUMNS, T_REBUILD };

static int is_table_line(int kind)
{
    return kind == RT_SO_TABLE || kind == RT_SO_COLUMN || kind == RT_SO_PKEY ||
           kind == RT_SO_UNIQUE || kind == RT_SO_FKEY || kind == RT_SO_CHECK;
}

/* Whether ALTER TABLE ADD COLUMN accepts the column of line body. */
static int addable(const char *body)
{
    rt_scol c;
    if (rt_scol_parse(body, &c) != RETORT_OK)
        return 0;
    int ok = 1;
    int has_default = c.dflt && strcmp(c.dflt, "null") != 0;
    if (c.not_null && !has_default)
        ok = 0;
    if (c.dflt && (c.dflt[0] == '(' || strncmp(c.dflt, "current_", 8) == 0))
        ok = 0;
    if (c.generated && strstr(c.generated, " stored"))
        ok = 0;
    rt_scol_free(&c);
    return ok;
}

static int classify(const rt_smodel *from, const rt_smodel *to, const char *t)
{
    int in_from = rt_smodel_find(from, RT_SO_TABLE, t, NULL) != NULL;
    int in_to = rt_smodel_find(to, RT_SO_TABLE, t, NULL) != NULL;
    if (!in_from)
        return T_ADDED;
    if (!in_to)
        return T_DROPPED;
    int removed = 0, removed_other = 0, added = 0, added_other = 0;
    for (size_t i = 0; i < from->n; i++) {
        const rt_sobj *o = &from->v[i];
        if (is_table_line(o->kind) && strcmp(o->table, t) == 0 &&
            !rt_smodel_has_line(to, o->line)) {
            removed++;
            removed_other += o->kind != RT_SO_COLUMN ||
                             rt_smodel_find(to, RT_SO_COLUMN, t, o->name) != NULL;
        }
    }
    for (size_t i = 0; i < to->n; i++) {
        const rt_sobj *o = &to->v[i];
        if (is_table_line(o->kind) && strcmp(o->table, t) == 0 &&
            !rt_smodel_has_line(from, o->line)) {
            added++;
            added_other += o->kind != RT_SO_COLUMN ||
                           rt_smodel_find(from, RT_SO_COLUMN, t, o->name) != NULL ||
                           !addable(o->body);
        }
    }
    if (!removed && !added)
        return T_SAME;
    if (!removed && !added_other)
        return T_ADD_COLUMNS;
    if (!added && !removed_other)
        return T_DROP_COLUMNS;
    return T_REBUILD;
}

/* ------------------------------------------------------------- render */

typedef struct {
    retort *err;
    const rt_smodel *from, *to;
    stored_list sto; /* the CREATE text of the to side */
    char **tables; /* union of table names, sorted */
    int *cls;
    size_t nt;
    rt_buf *out;
} job;

static int table_class(const job *j, const char *t)
{
    for (size_t i = 0; i < j->nt; i++)
        if (strcmp(j->tables[i], t) == 0)
            return j->cls[i];
    return T_SAME;
}

static int add_table_name(job *j, const char *t)
{
    for (size_t i = 0; i < j->nt; i++)
        if (strcmp(j->tables[i], t) == 0)
            return RETORT_OK;
    char **grown = rt_reallocarray(j->tables, j->nt + 1, sizeof *grown);
    if (!grown)
        return RETORT_ENOMEM;
    j->tables = grown;
    size_t at = j->nt;
    while (at > 0 && strcmp(j->tables[at - 1], t) > 0) {
        j->tables[at] = j->tables[at - 1];
        at--;
    }
    j->tables[at] = rt_strdup(t);
    j->nt++;
    return j->tables[at] ? RETORT_OK : RETORT_ENOMEM;
}

static void statement(rt_buf *out, const char *sql)
{
    size_t n = strlen(sql);
    while (n && (sql[n - 1] == ';' || sql[n - 1] == ' ' || sql[n - 1] == '\n'))
        n--;
    rt_buf_append_n(out, sql, n);
    rt_buf_append(out, ";\n");
}

/* The same-named object of the other side differs or is missing. */
static int changed(const rt_smodel *other, const rt_sobj *o)
{
    const rt_sobj *p = rt_smodel_find(other, o->kind, o->table, o->name);
    return !p || strcmp(p->line, o->line) != 0;
}

static int view_changed(const rt_smodel *m, const rt_sobj *o, void *ctx)
{
    (void)m;
    return changed(ctx, o);
}

static int view_any(const rt_smodel *m, const rt_sobj *o, void *ctx)
{
    (void)m;
    (void)ctx;
    (void)o;
    return 1;
}

static void create_from(job *j, const stored_list *l, const char *type, const char *name)
{
    const char *sql = stored_sql(l, type, name);
    if (sql)
        statement(j->out, sql);
    else
        rt_ag_comment(j->out, "-- retort:review the %s \"%s\" has no CREATE text to copy\n",
                      type, name);
}

/* Every index and trigger of table t on the to side, from its CREATE text. */
static void create_dependents(job *j, const char *t)
{
    for (size_t i = 0; i < j->to->n; i++) {
        const rt_sobj *o = &j->to->v[i];
        if ((o->kind == RT_SO_INDEX || o->kind == RT_SO_TRIGGER) && strcmp(o->table, t) == 0)
            create_from(j, &j->sto, o->kind == RT_SO_INDEX ? "index" : "trigger", o->name);
    }
}

static void annotate_column_changes(job *j, const char *t, int copying)
{
    for (size_t i = 0; i < j->from->n; i++) {
        const rt_sobj *o = &j->from->v[i];
        if (o->kind != RT_SO_COLUMN || strcmp(o->table, t) != 0)
            continue;
        const rt_sobj *n = rt_smodel_find(j->to, RT_SO_COLUMN, t, o->name);
        if (!n) {
            rt_buf_append(j->out, "-- retort:destructive drops column ");
            rt_ag_quote(j->out, t);
            rt_buf_append_char(j->out, '.');
            rt_ag_quote(j->out, o->name);
            rt_buf_append(j->out, " and its values\n");
            continue;
        }
        rt_scol a, b;
        if (rt_scol_parse(o->body, &a) != RETORT_OK) {
            j->out->failed = 1;
            return;
        }
        if (rt_scol_parse(n->body, &b) != RETORT_OK) {
            rt_scol_free(&a);
            j->out->failed = 1;
            return;
        }
        if (!rt_ag_type_widens(a.type, b.type))
            rt_ag_comment(j->out, "-- retort:destructive changes the type of \"%s\".\"%s\" from "
                                  "'%s' to '%s', which may not keep every value\n",
                          t, o->name, a.type, b.type);
        if (copying && b.not_null && !a.not_null)
            rt_ag_comment(j->out, "-- retort:review \"%s\".\"%s\" becomes NOT NULL: the copy "
                                  "fails if a row holds NULL there\n",
                          t, o->name);
        rt_scol_free(&a);
        rt_scol_free(&b);
    }
    for (size_t i = 0; i < j->to->n; i++) {
        const rt_sobj *n = &j->to->v[i];
        if (n->kind != RT_SO_COLUMN || strcmp(n->table, t) != 0 ||
            rt_smodel_find(j->from, RT_SO_COLUMN, t, n->name))
            continue;
        rt_scol b;
        if (rt_scol_parse(n->body, &b) != RETORT_OK) {
            j->out->failed = 1;
            return;
        }
        if (b.not_null && !b.dflt && !b.generated)
            rt_ag_comment(j->out, "-- retort:review new column \"%s\".\"%s\" is NOT NULL "
                                  "without a default: this fails if \"%s\" has rows\n",
                          t, n->name, t);
        rt_scol_free(&b);
    }
}

static void rebuild(job *j, const char *t)
{
    const char *sql = stored_sql(&j->sto, "table", t);
    size_t s, e;
    rt_buf tmp = RT_BUF_INIT;
    rt_buf_printf(&tmp, "retort_new_%s", t);
    if (!sql || !table_name_span(sql, &s, &e)) {
        rt_ag_comment(j->out, "-- retort:review table \"%s\" must be rebuilt, but its CREATE "
                              "TABLE text could not be read\n", t);
        rt_buf_free(&tmp);
        return;
    }
    rt_buf_append(j->out, "-- table ");
    rt_ag_quote(j->out, t);
    rt_buf_append(j->out, " is rebuilt (SQLite's ALTER TABLE cannot make this change): "
                          "create, copy, drop, rename.  With PRAGMA foreign_keys on, ON DELETE "
                          "actions of tables referencing it would fire on the DROP.\n");
    annotate_column_changes(j, t, 1);
    rt_buf create = RT_BUF_INIT;
    rt_buf_append_n(&create, sql, s);
    rt_ag_quote(&create, rt_buf_str(&tmp));
    rt_buf_append(&create, sql + e);
    statement(j->out, rt_buf_str(&create));
    if (rt_buf_failed(&create))
        j->out->failed = 1;
    rt_buf_free(&create);

    /* Columns both tables have, except generated ones, which are computed
     * and cannot be inserted into. */
    rt_buf cols = RT_BUF_INIT;
    for (size_t i = 0; i < j->to->n; i++) {
        const rt_sobj *n = &j->to->v[i];
        if (n->kind != RT_SO_COLUMN || strcmp(n->table, t) != 0 ||
            !rt_smodel_find(j->from, RT_SO_COLUMN, t, n->name) ||
            strstr(n->body, "generated always as ("))
            continue;
        if (cols.len)
            rt_buf_append(&cols, ", ");
        rt_ag_quote(&cols, n->name);
    }
    if (cols.len) {
        rt_buf_append(j->out, "INSERT INTO ");
        rt_ag_quote(j->out, rt_buf_str(&tmp));
        rt_buf_printf(j->out, " (%s) SELECT %s FROM ", rt_buf_str(&cols), rt_buf_str(&cols));
        rt_ag_quote(j->out, t);
        rt_buf_append(j->out, ";\n");
    }
    if (rt_buf_failed(&cols))
        j->out->failed = 1;
    rt_buf_free(&cols);
    rt_buf_append(j->out, "DROP TABLE ");
    rt_ag_quote(j->out, t);
    rt_buf_append(j->out, ";\nALTER TABLE ");
    rt_ag_quote(j->out, rt_buf_str(&tmp));
    rt_buf_append(j->out, " RENAME TO ");
    rt_ag_quote(j->out, t);
    rt_buf_append(j->out, ";\n");
    if (rt_buf_failed(&tmp))
        j->out->failed = 1;
    rt_buf_free(&tmp);
    create_dependents(j, t);
}

static void alter_columns(job *j, const char *t, int add)
{
    const rt_smodel *src = add ? j->to : j->from, *other = add ? j->from : j->to;
    if (!add)
        annotate_column_changes(j, t, 0);
    for (size_t i = 0; i < src->n; i++) {
        const rt_sobj *c = &src->v[i];
        if (c->kind != RT_SO_COLUMN || strcmp(c->table, t) != 0 ||
            rt_smodel_find(other, RT_SO_COLUMN, t, c->name))
            continue;
        rt_buf_append(j->out, "ALTER TABLE ");
        rt_ag_quote(j->out, t);
        rt_buf_append(j->out, add ? " ADD COLUMN " : " DROP COLUMN ");
        rt_ag_quote(j->out, c->name);
        if (add && *c->body) {
            rt_buf_append_char(j->out, ' ');
            rt_buf_append(j->out, c->body);
        }
        rt_buf_append(j->out, ";\n");
    }
}

/* Whether an index or trigger of a kept, not rebuilt table is recreated. */
static int dependent_changes(const job *j, const rt_sobj *o, const rt_smodel *other)
{
    int cls = table_class(j, o->table);
    if (cls == T_ADDED || cls == T_DROPPED || cls == T_REBUILD)
        return 0;
    return changed(other, o);
}

static void render(job *j)
{
    rt_buf *out = j->out;
    int views_affected = 0, heavy = 0;
    for (size_t i = 0; i < j->nt; i++) {
        int c = j->cls[i];
        heavy |= c == T_DROPPED || c == T_REBUILD;
        views_affected |= c == T_DROPPED || c == T_REBUILD || c == T_DROP_COLUMNS;
    }
    rt_ag_rename_reviews(j->from, j->to, out);
    if (heavy)
        rt_buf_append(out, "PRAGMA defer_foreign_keys = ON;\n");

    /* Views first: a view over a table being rebuilt or losing a column
     * would make the rename or drop fail; all of them are recreated. */
    for (size_t i = 0; i < j->from->n; i++) {
        const rt_sobj *o = &j->from->v[i];
        if (o->kind == RT_SO_VIEW && (views_affected || changed(j->to, o))) {
            rt_buf_append(out, "DROP VIEW ");
            rt_ag_quote(out, o->name);
            rt_buf_append(out, ";\n");
        }
    }
    for (size_t i = 0; i < j->from->n; i++) {
        const rt_sobj *o = &j->from->v[i];
        if ((o->kind == RT_SO_INDEX || o->kind == RT_SO_TRIGGER) &&
            dependent_changes(j, o, j->to)) {
            rt_buf_append(out, o->kind == RT_SO_INDEX ? "DROP INDEX " : "DROP TRIGGER ");
            rt_ag_quote(out, o->name);
            rt_buf_append(out, ";\n");
        }
    }
    for (size_t i = 0; i < j->nt; i++)
        if (j->cls[i] == T_DROPPED) {
            rt_buf_append(out, "-- retort:destructive drops table ");
            rt_ag_quote(out, j->tables[i]);
            rt_buf_append(out, " and its rows\nDROP TABLE ");
            rt_ag_quote(out, j->tables[i]);
            rt_buf_append(out, ";\n");
        }
    for (size_t i = 0; i < j->nt; i++)
        if (j->cls[i] == T_ADDED) {
            create_from(j, &j->sto, "table", j->tables[i]);
            create_dependents(j, j->tables[i]);
        }
    for (size_t i = 0; i < j->nt; i++) {
        if (j->cls[i] == T_ADD_COLUMNS)
            alter_columns(j, j->tables[i], 1);
        else if (j->cls[i] == T_DROP_COLUMNS)
            alter_columns(j, j->tables[i], 0);
        else if (j->cls[i] == T_REBUILD)
            rebuild(j, j->tables[i]);
    }
    for (size_t i = 0; i < j->to->n; i++) {
        const rt_sobj *o = &j->to->v[i];
        if ((o->kind == RT_SO_INDEX || o->kind == RT_SO_TRIGGER) &&
            dependent_changes(j, o, j->from))
            create_from(j, &j->sto, o->kind == RT_SO_INDEX ? "index" : "trigger", o->name);
    }
    size_t *order = NULL, n = 0;
    if (rt_ag_view_order(j->to, views_affected ? view_any : view_changed, (void *)j->from,
                         &order, &n) != RETORT_OK) {
        out->failed = 1;
        return;
    }
    for (size_t k = 0; k < n; k++)
        create_from(j, &j->sto, "view", j->to->v[order[k]].name);
    rt_free(order);

    /* What this renderer does not write is named, never dropped silently. */
    for (int side = 0; side < 2; side++) {
        const rt_smodel *a = side ? j->to : j->from, *b = side ? j->from : j->to;
        for (size_t i = 0; i < a->n; i++)
            if (a->v[i].kind == RT_SO_OTHER && !rt_smodel_has_line(b, a->v[i].line))
                rt_ag_comment(out, "-- retort:review not written by autogenerate, %s: %s\n",
                              side ? "to create" : "to drop", a->v[i].line);
    }
}

int rt_autogen_render_sqlite(retort *err, const rt_ag_side *from, const rt_ag_side *to,
                             rt_buf *out)
{
    job j;
    memset(&j, 0, sizeof j);
    j.err = err;
    j.from = &from->model;
    j.to = &to->model;
    j.out = out;
    int rc = load_stored(err, to, &j.sto);
    for (int side = 0; side < 2 && rc == RETORT_OK; side++) {
        const rt_smodel *m = side ? j.to : j.from;
        for (size_t i = 0; i < m->n && rc == RETORT_OK; i++)
            if (m->v[i].kind == RT_SO_TABLE && add_table_name(&j, m->v[i].table) != RETORT_OK)
                rc = rt_fail(err, RETORT_ENOMEM, "out of memory");
    }
    if (rc == RETORT_OK && j.nt && !(j.cls = rt_calloc(j.nt, sizeof *j.cls)))
        rc = rt_fail(err, RETORT_ENOMEM, "out of memory");
    if (rc == RETORT_OK) {
        for (size_t i = 0; i < j.nt; i++)
            j.cls[i] = classify(j.from, j.to, j.tables[i]);
        render(&j);
        if (rt_buf_failed(out))
            rc = rt_fail(err, RETORT_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < j.nt; i++)
        rt_free(j.tables[i]);
    rt_free(j.tables);
    rt_free(j.cls);
    stored_free(&j.sto);
    return rc;
}
