/*
 * snapshot.c — retort_schema_snapshot(): asks the driver for one line per
 * schema object, then makes the text canonical by sorting the lines, so
 * that the order in which a driver (or the database's catalogue) happens to
 * list objects never shows.  The lines themselves are the driver's: this
 * file knows nothing about any dialect.
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "error.h"
#include "memory.h"
#include "retort/backend.h"

typedef struct {
    char **v;
    size_t n, cap;
    int oom;
    char *broken; /* the first line holding a line break, cut there */
} line_list;

static int collect_line(void *ctx, const char *line)
{
    line_list *l = ctx;
    if (!line)
        return RETORT_OK;
    /* A line break inside a line (a name or a string from the catalogue)
     * would make the rest of it read as a line of its own: autogenerate
     * would then render an object nobody declared, from text the database
     * owner chose.  Refused, never split. */
    size_t cut = strcspn(line, "\r\n");
    if (line[cut]) {
        l->broken = rt_strndup(line, cut < 200 ? cut : 200);
        if (!l->broken)
            l->oom = 1;
        return RETORT_EDB;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **grown = rt_reallocarray(l->v, cap, sizeof *grown);
        if (!grown) {
            l->oom = 1;
            return RETORT_ENOMEM;
        }
        l->v = grown;
        l->cap = cap;
    }
    char *copy = rt_strdup(line);
    if (!copy) {
        l->oom = 1;
        return RETORT_ENOMEM;
    }
    l->v[l->n++] = copy;
    return RETORT_OK;
}

static void free_lines(line_list *l)
{
    rt_free(l->broken);
    for (size_t i = 0; i < l->n; i++)
        rt_free(l->v[i]);
    rt_free(l->v);
}

/* strcmp, not strcoll: the text must not depend on the process's locale. */
static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int rt_schema_snapshot(retort *r, rt_buf *out)
{
    rt_buf_reset(out);
    if (!r->backend->snapshot)
        return rt_fail(r, RETORT_EINVAL, "the %s backend cannot describe a schema: its driver "
                                         "provides no snapshot function",
                       r->backend->name);
    int rc = rt_connect(r);
    if (rc != RETORT_OK)
        return rc;

    /* Both tables are retort's bookkeeping, not the application's schema;
     * a test comparing snapshots before and after a run must not see them
     * appear. */
    const char *const exclude[] = {r->version_table, r->log_table, NULL};
    line_list lines = {NULL, 0, 0, 0, NULL};
    struct retort_report rep;
    rt_report_init(&rep);
    rc = r->backend->snapshot(r->db, *r->schema_in_use ? r->schema_in_use : NULL, exclude,
                              collect_line, &lines, &rep);
    if (rc != RETORT_OK || lines.oom || lines.broken) {
        if (lines.broken)
            rc = rt_fail(r, RETORT_EDB,
                         "cannot take a snapshot of the schema: a name or text in it holds a "
                         "line break, which a snapshot line cannot hold (the object starts: "
                         "%s ...); rename it",
                         lines.broken);
        else if (lines.oom)
            rc = rt_fail(r, RETORT_ENOMEM, "out of memory while taking a schema snapshot");
        else {
            rt_buf what = RT_BUF_INIT;
            rt_buf_printf(&what, "cannot take a snapshot of the schema of %s%s%s%s",
                          r->url_redacted, *r->schema_in_use ? " (schema \"" : "",
                          r->schema_in_use, *r->schema_in_use ? "\")" : "");
            rc = rt_fail_report(r, &rep, RETORT_EDB, rt_buf_str(&what));
            rt_buf_free(&what);
        }
        rt_report_free(&rep);
        free_lines(&lines);
        return rc;
    }
    rt_report_free(&rep);

    if (lines.n)
        qsort(lines.v, lines.n, sizeof *lines.v, cmp_line);
    for (size_t i = 0; i < lines.n; i++) {
        if (i)
            rt_buf_append_char(out, '\n');
        rt_buf_append(out, lines.v[i]);
    }
    free_lines(&lines);
    if (rt_buf_failed(out))
        return rt_fail(r, RETORT_ENOMEM, "out of memory while taking a schema snapshot");
    return RETORT_OK;
}

RETORT_API int retort_schema_snapshot(retort *r, const char **text)
{
    RT_GUARD(r);
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE,
                       "retort_schema_snapshot called from inside a migration callback");
    if (!text)
        return rt_fail(r, RETORT_EINVAL, "retort_schema_snapshot: text is NULL");
    if (!r->backend)
        return rt_fail(r, RETORT_EURL, "retort_schema_snapshot: the context has no usable "
                                       "database URL ('%s'); see the error of retort_new",
                       r->url_redacted ? r->url_redacted : "");
    /* Built in a separate buffer: on failure the string the caller got
     * from the previous call stays as it was. */
    rt_buf snap = RT_BUF_INIT;
    int rc = rt_schema_snapshot(r, &snap);
    if (rc == RETORT_OK) {
        rt_buf_free(&r->out);
        r->out = snap;
        *text = rt_buf_str(&r->out);
        return RETORT_OK;
    }
    rt_buf_free(&snap);
    return rc;
}
