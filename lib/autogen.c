/*
 * autogen.c — retort_autogenerate() and retort_schema_diff(): the declared
 * schema is applied to a scratch target of the database's own backend
 * (retort_new_fresh: a private in-memory SQLite database, a temporary
 * PostgreSQL schema), both are snapshotted, and the two snapshots are
 * compared line by line (schema_diff) or handed, parsed, to the backend's
 * renderer (autogen_sqlite.c, autogen_postgres.c) in each direction.
 *
 * Owns the scratch target's life and the helpers the renderers share
 * (quoting, rename and widening heuristics, view order).  It never writes
 * to the application's database: the snapshot is its only query there.
 * Dialect knowledge stays in the renderers; this file only picks one by
 * the driver's name.
 */
#include "autogen.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "error.h"
#include "memory.h"
#include "quote.h"
#include "runner.h"
#include "snapshot.h"

/* --------------------------------------------------------------- helpers */

/* Both renderers' dialects read ANSI double quotes. */
void rt_ag_quote(rt_buf *b, const char *name) { rt_quote_ident(NULL, name, b); }

void rt_ag_comment(rt_buf *b, const char *fmt, ...)
{
    rt_buf text = RT_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    rt_buf_vprintf(&text, fmt, ap);
    va_end(ap);
    if (rt_buf_failed(&text)) {
        b->failed = 1;
    } else {
        if (text.len && text.data[text.len - 1] == '\n')
            text.data[--text.len] = '\0';
        rt_quote_comment(rt_buf_str(&text), b);
        rt_buf_append_char(b, '\n');
    }
    rt_buf_free(&text);
}

static int int_rank(const char *t)
{
    static const struct {
        const char *name;
        int rank;
    } ranks[] = {{"smallint", 1}, {"int2", 1},    {"integer", 2}, {"int", 2},
                 {"int4", 2},     {"bigint", 3},  {"int8", 3},    {"real", 4},
                 {"float4", 4},   {"double precision", 5},        {"float8", 5}};
    for (size_t i = 0; i < sizeof ranks / sizeof *ranks; i++)
        if (strcmp(t, ranks[i].name) == 0)
            return ranks[i].rank;
    return 0;
}

/* "NAME(N[,M])": the base name's length and the numbers, or 0. */
static size_t parse_sized(const char *t, long *n, long *m)
{
    const char *open = strchr(t, '(');
    *n = *m = -1;
    if (!open)
        return strlen(t);
    char *end;
    *n = strtol(open + 1, &end, 10);
    if (*end == ',')
        *m = strtol(end + 1, &end, 10);
    if (*end != ')' || end[1])
        return 0;
    return (size_t)(open - t);
}

int rt_ag_type_widens(const char *a, const char *b)
{
    if (strcmp(a, b) == 0 || strcmp(b, "text") == 0)
        return 1;
    int ra = int_rank(a), rb = int_rank(b);
    if (ra && rb) {
        /* Integers grow into wider integers, floats into wider floats, and
         * 32-bit integers fit a double exactly; nothing else is lossless. */
        if ((ra <= 3) == (rb <= 3))
            return ra <= rb;
        return ra <= 2 && rb == 5;
    }
    long an, am, bn, bm;
    size_t al = parse_sized(a, &an, &am), bl = parse_sized(b, &bn, &bm);
    if (!al || al != bl || strncmp(a, b, al) != 0)
        return 0;
    if (bn < 0) /* varchar(n) -> varchar, numeric(p,s) -> numeric */
        return 1;
    if (an < 0)
        return 0;
    if (am < 0 && bm < 0) /* varchar(n) -> varchar(m) */
        return bn >= an;
    if (am < 0)
        am = 0;
    if (bm < 0)
        bm = 0;
    return bm >= am && bn - bm >= an - am; /* numeric(p,s) */
}

static int count_columns(const rt_smodel *m, const char *t)
{
    int n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->v[i].kind == RT_SO_COLUMN && strcmp(m->v[i].table, t) == 0;
    return n;
}

int rt_ag_same_table_shape(const rt_smodel *x, const char *t, const rt_smodel *y, const char *u)
{
    int n = count_columns(x, t);
    if (n == 0 || n != count_columns(y, u))
        return 0;
    for (size_t i = 0; i < x->n; i++) {
        const rt_sobj *c = &x->v[i];
        if (c->kind != RT_SO_COLUMN || strcmp(c->table, t) != 0)
            continue;
        const rt_sobj *d = rt_smodel_find(y, RT_SO_COLUMN, u, c->name);
        if (!d || strcmp(c->body, d->body) != 0)
            return 0;
    }
    return 1;
}

static int has_table(const rt_smodel *m, const char *t)
{
    return rt_smodel_find(m, RT_SO_TABLE, t, NULL) != NULL;
}

void rt_ag_rename_reviews(const rt_smodel *from, const rt_smodel *to, rt_buf *out)
{
    /* Each candidate is paired at most once, in snapshot (name) order, so
     * that the comments are deterministic. */
    unsigned char *used = rt_calloc(to->n ? to->n : 1, 1);
    if (!used) {
        out->failed = 1;
        return;
    }
    for (size_t i = 0; i < from->n; i++) {
        const rt_sobj *t = &from->v[i];
        if (t->kind != RT_SO_TABLE || has_table(to, t->table))
            continue;
        for (size_t j = 0; j < to->n; j++) {
            const rt_sobj *u = &to->v[j];
            if (used[j] || u->kind != RT_SO_TABLE || has_table(from, u->table) ||
                !rt_ag_same_table_shape(from, t->table, to, u->table))
                continue;
            used[j] = 1;
            rt_buf_append(out, "-- retort:review possible rename of table ");
            rt_ag_quote(out, t->table);
            rt_buf_append(out, " to ");
            rt_ag_quote(out, u->table);
            rt_buf_append(out, ": written as a drop and a create, which loses the rows of ");
            rt_ag_quote(out, t->table);
            rt_buf_append(out, "; if it is a rename, replace both with ALTER TABLE ");
            rt_ag_quote(out, t->table);
            rt_buf_append(out, " RENAME TO ");
            rt_ag_quote(out, u->table);
            rt_buf_append(out, "\n");
            break;
        }
    }
    memset(used, 0, to->n ? to->n : 1);
    for (size_t i = 0; i < from->n; i++) {
        const rt_sobj *c = &from->v[i];
        if (c->kind != RT_SO_COLUMN || !has_table(to, c->table) ||
            rt_smodel_find(to, RT_SO_COLUMN, c->table, c->name))
            continue;
        for (size_t j = 0; j < to->n; j++) {
            const rt_sobj *d = &to->v[j];
            if (used[j] || d->kind != RT_SO_COLUMN || strcmp(d->table, c->table) != 0 ||
                rt_smodel_find(from, RT_SO_COLUMN, d->table, d->name) ||
                strcmp(d->body, c->body) != 0)
                continue;
            used[j] = 1;
            rt_buf_append(out, "-- retort:review possible rename of column ");
            rt_ag_quote(out, c->table);
            rt_buf_append_char(out, '.');
            rt_ag_quote(out, c->name);
            rt_buf_append(out, " to ");
            rt_ag_quote(out, d->name);
            rt_buf_append(out, ": written as a drop and an add, which loses the values of ");
            rt_ag_quote(out, c->name);
            rt_buf_append(out, "; if it is a rename, replace both with ALTER TABLE ");
            rt_ag_quote(out, c->table);
            rt_buf_append(out, " RENAME COLUMN ");
            rt_ag_quote(out, c->name);
            rt_buf_append(out, " TO ");
            rt_ag_quote(out, d->name);
            rt_buf_append(out, "\n");
            break;
        }
    }
    rt_free(used);
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

int rt_ag_mentions(const char *text, const char *name)
{
    size_t n = strlen(name);
    if (!n)
        return 0;
    for (const char *p = strstr(text, name); p; p = strstr(p + 1, name))
        if ((p == text || !is_word(p[-1])) && !is_word(p[n]))
            return 1;
    return 0;
}

static int is_view(int kind) { return kind == RT_SO_VIEW || kind == RT_SO_MATVIEW; }

int rt_ag_view_order(const rt_smodel *m, int (*want)(const rt_smodel *, const rt_sobj *, void *),
                     void *ctx, size_t **order, size_t *n)
{
    *order = NULL;
    *n = 0;
    size_t total = 0;
    for (size_t i = 0; i < m->n; i++)
        total += is_view(m->v[i].kind) && want(m, &m->v[i], ctx);
    if (!total)
        return RETORT_OK;
    size_t *pending = rt_calloc(total, sizeof *pending), np = 0;
    size_t *out = rt_calloc(total, sizeof *out);
    if (!pending || !out) {
        rt_free(pending);
        rt_free(out);
        return RETORT_ENOMEM;
    }
    for (size_t i = 0; i < m->n; i++)
        if (is_view(m->v[i].kind) && want(m, &m->v[i], ctx))
            pending[np++] = i;
    /* The first pending view (in name order) that mentions no other
     * pending view; a cycle of mentions (which only a name appearing as a
     * column or literal can make) falls back to name order. */
    while (np) {
        size_t pick = 0;
        for (size_t k = 0; k < np; k++) {
            const rt_sobj *v = &m->v[pending[k]];
            int blocked = 0;
            for (size_t j = 0; j < np && !blocked; j++)
                blocked = j != k && rt_ag_mentions(v->body, m->v[pending[j]].name);
            if (!blocked) {
                pick = k;
                break;
            }
        }
        out[(*n)++] = pending[pick];
        memmove(pending + pick, pending + pick + 1, (np - pick - 1) * sizeof *pending);
        np--;
    }
    rt_free(pending);
    *order = out;
    return RETORT_OK;
}

/* ------------------------------------------------------ scratch target */

/* Applies declared_sql to a new scratch target of r's backend and takes
 * both snapshots.  On success *scratch must be freed with retort_free. */
static int load_sides(retort *r, const char *op, const char *declared_sql, rt_ag_side *db,
                      rt_ag_side *decl)
{
    memset(db, 0, sizeof *db);
    memset(decl, 0, sizeof *decl);
    int rc = rt_prepare(r, op, 1);
    if (rc != RETORT_OK)
        return rc;
    if (!declared_sql)
        return rt_fail(r, RETORT_EINVAL, "%s: declared_sql is NULL", op);
    if (!r->backend->snapshot)
        return rt_fail(r, RETORT_EINVAL, "%s: the %s backend cannot describe a schema: its "
                                         "driver provides no snapshot function",
                       op, r->backend->name);
    db->ctx = r;
    rt_buf text = RT_BUF_INIT;
    if ((rc = rt_schema_snapshot(r, &text)) != RETORT_OK) {
        rt_buf_free(&text);
        return rc;
    }
    rc = rt_smodel_parse(rt_buf_str(&text), &db->model);
    rt_buf_free(&text);
    if (rc != RETORT_OK)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");

    retort *s = NULL;
    rc = retort_new_fresh(&s, r->url);
    if (rc == RETORT_OK) {
        retort_set_log(s, r->log_fn, r->log_user);
        retort_set_log_level(s, r->log_level);
        rc = rt_connect(s); /* the target is created at its first use */
    }
    if (rc != RETORT_OK) {
        rc = rt_fail(r, rc, "%s: cannot create a scratch target for the declared schema: %s",
                     op, retort_errmsg(s));
        retort_free(s);
        return rc;
    }
    decl->ctx = s;
    retort_set_log(s, r->log_fn, r->log_user);
    retort_set_log_level(s, r->log_level);
    struct retort_report rep;
    rt_report_init(&rep);
    int done = 0;
    rc = s->backend->exec(s->db, declared_sql, &done, &rep);
    if (rc != RETORT_OK) {
        rc = rt_report_code(&rep, RETORT_EDB) == RETORT_ENOMEM ? RETORT_ENOMEM : RETORT_EPARSE;
        rt_fail(r, rc, "%s: the declared schema fails on a scratch %s database (statement %d): "
                       "%s",
                op, s->backend->name, done + 1, rt_report_message(&rep));
        rt_report_free(&rep);
        return rc;
    }
    rt_report_free(&rep);
    if ((rc = rt_schema_snapshot(s, &text)) != RETORT_OK) {
        rc = rt_fail(r, rc, "%s: cannot describe the declared schema: %s", op,
                     retort_errmsg(s));
        rt_buf_free(&text);
        return rc;
    }
    rc = rt_smodel_parse(rt_buf_str(&text), &decl->model);
    rt_buf_free(&text);
    if (rc != RETORT_OK)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    return RETORT_OK;
}

static void free_sides(rt_ag_side *db, rt_ag_side *decl)
{
    rt_smodel_free(&db->model);
    rt_smodel_free(&decl->model);
    retort_free(decl->ctx);
}

/* Lines only in a (prefixed "-") and only in b ("+"), both sorted. */
static void diff_models(const rt_smodel *a, const rt_smodel *b, rt_buf *out)
{
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i].line, b->v[j].line);
        if (c == 0) {
            i++;
            j++;
            continue;
        }
        if (out->len)
            rt_buf_append_char(out, '\n');
        rt_buf_append_char(out, c < 0 ? '-' : '+');
        rt_buf_append(out, c < 0 ? a->v[i++].line : b->v[j++].line);
    }
}

/* ------------------------------------------------------------- public */

static rt_ag_render_fn renderer_for(const char *backend)
{
    if (strcmp(backend, "sqlite") == 0)
        return rt_autogen_render_sqlite;
    if (strcmp(backend, "postgresql") == 0)
        return rt_autogen_render_postgres;
    return NULL;
}

RETORT_API int retort_autogenerate(retort *r, const char *declared_sql, const char **up_sql,
                                   const char **down_sql)
{
    RT_GUARD(r);
    const char *op = "retort_autogenerate";
    if (!r)
        return RETORT_EINVAL;
    if (!up_sql || !down_sql) {
        rt_clear_error(r);
        return rt_fail(r, RETORT_EINVAL, "%s: %s is NULL", op, !up_sql ? "up_sql" : "down_sql");
    }
    rt_ag_side db, decl;
    int rc = load_sides(r, op, declared_sql, &db, &decl);
    rt_ag_render_fn render = rc == RETORT_OK ? renderer_for(r->backend->name) : NULL;
    if (rc == RETORT_OK && !render)
        rc = rt_fail(r, RETORT_EINVAL, "%s: the %s backend has no autogenerate dialect (the "
                                       "sqlite and postgresql backends do)",
                     op, r->backend->name);
    /* Built aside: on failure the strings of the previous call stay. */
    rt_buf up = RT_BUF_INIT, down = RT_BUF_INIT;
    if (rc == RETORT_OK && (rc = render(r, &db, &decl, &up)) == RETORT_OK)
        rc = render(r, &decl, &db, &down);
    if (rc == RETORT_OK && (rt_buf_failed(&up) || rt_buf_failed(&down)))
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
    free_sides(&db, &decl);
    if (rc != RETORT_OK) {
        rt_buf_free(&up);
        rt_buf_free(&down);
        return rc;
    }
    rt_buf_free(&r->out);
    rt_buf_free(&r->out2);
    r->out = up;
    r->out2 = down;
    *up_sql = rt_buf_str(&r->out);
    *down_sql = rt_buf_str(&r->out2);
    return RETORT_OK;
}

RETORT_API int retort_schema_diff(retort *r, const char *declared_sql, const char **diff)
{
    RT_GUARD(r);
    rt_ag_side db, decl;
    int rc = load_sides(r, "retort_schema_diff", declared_sql, &db, &decl);
    rt_buf text = RT_BUF_INIT;
    if (rc == RETORT_OK) {
        diff_models(&db.model, &decl.model, &text);
        if (rt_buf_failed(&text))
            rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
    }
    free_sides(&db, &decl);
    if (rc != RETORT_OK) {
        rt_buf_free(&text);
        return rc;
    }
    rt_buf_free(&r->out);
    r->out = text;
    if (diff)
        *diff = rt_buf_str(&r->out);
    if (!r->out.len)
        return RETORT_OK;
    size_t lines = 1;
    for (const char *p = rt_buf_str(&r->out); *p; p++)
        lines += *p == '\n';
    return rt_fail(r, RETORT_EDRIFT, "the schema of %s differs from the declared schema in %zu "
                                     "line%s (\"-\" the database's, \"+\" the declared schema's)",
                   r->url_redacted, lines, lines == 1 ? "" : "s");
}
