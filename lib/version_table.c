/*
 * version_table.c — the version table and audit log (version_table.h).  The
 * dialect (column types, clock, quoting) belongs to the driver's templates;
 * this file decides what is written when, and never builds SQL from values.
 */
#include "version_table.h"

#include <stdio.h>
#include <string.h>

#include "context.h"
#include "error.h"
#include "log.h"
#include "memory.h"

int rt_vt_template(retort *r, int op, rt_buf *out)
{
    const char *t = r->backend->sql(op);
    rt_buf_reset(out);
    if (!t)
        return 0;
    while (*t) {
        if (*t == '{') {
            if (strncmp(t, "{table}", 7) == 0) {
                rt_buf_append(out, r->qtable);
                t += 7;
                continue;
            }
            if (strncmp(t, "{log}", 5) == 0) {
                rt_buf_append(out, r->qlog);
                t += 5;
                continue;
            }
            if (strncmp(t, "{schema}", 8) == 0) {
                rt_buf_append(out, r->qschema);
                t += 8;
                continue;
            }
        }
        rt_buf_append_char(out, *t++);
    }
    return rt_buf_failed(out) ? -1 : 1;
}

int rt_vt_exec(retort *r, int op, int nparams, const char *const *params, const char *what)
{
    rt_buf sql = RT_BUF_INIT;
    int t = rt_vt_template(r, op, &sql);
    if (t <= 0) {
        rt_buf_free(&sql);
        if (t < 0)
            return rt_fail(r, RETORT_ENOMEM, "%s: out of memory", what);
        return rt_fail(r, RETORT_EDB, "%s: the %s backend has no statement for it", what,
                       r->backend->name);
    }
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->exec_params(r->db, rt_buf_str(&sql), nparams, params, &rep);
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, RETORT_EDB, what);
    rt_report_free(&rep);
    rt_buf_free(&sql);
    return rc;
}

static int collect_row(void *ctx, int ncols, const char *const *values)
{
    return rt_state_add_row(ctx, ncols, values);
}

/* One SELECT of every row.  *missing is set when it failed because the
 * table does not exist, asked of the catalog rather than parsed from the
 * error text, which differs by backend and locale. */
static int read_once(retort *r, int *missing)
{
    *missing = 0;
    rt_state_forget(&r->state);
    rt_buf sql = RT_BUF_INIT;
    if (rt_vt_template(r, RETORT_SQL_SELECT_VERSIONS, &sql) <= 0) {
        rt_buf_free(&sql);
        return rt_fail(r, RETORT_ENOMEM, "out of memory reading the version table");
    }
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->query(r->db, rt_buf_str(&sql), 0, NULL, collect_row, &r->state, &rep);
    rt_buf_free(&sql);
    if (rc == RETORT_ENOMEM) {
        rt_report_free(&rep);
        rt_state_forget(&r->state);
        return rt_fail(r, RETORT_ENOMEM, "out of memory reading the version table");
    }
    if (rc != RETORT_OK) {
        rt_state_forget(&r->state);
        int exists = 1;
        struct retort_report rep2;
        rt_report_init(&rep2);
        int rc2 = r->backend->table_exists(r->db, r->schema_in_use, r->version_table, &exists,
                                           &rep2);
        rt_report_free(&rep2);
        if (rc2 == RETORT_OK && !exists) {
            rt_report_free(&rep);
            *missing = 1;
            return RETORT_OK;
        }
        /* The table may have been created by another migrator between the
         * two queries: the caller reads again. */
        if (rc2 == RETORT_OK && exists)
            *missing = -1;
        rt_buf what = RT_BUF_INIT;
        rt_buf_printf(&what, "cannot read the version table %s", r->qtable);
        rc = rt_fail_report(r, &rep, RETORT_EDB, rt_buf_str(&what));
        rt_buf_free(&what);
        rt_report_free(&rep);
        return rc;
    }
    rt_report_free(&rep);
    return RETORT_OK;
}

int rt_vt_read(retort *r)
{
    int missing = 0;
    int rc = read_once(r, &missing);
    if (rc != RETORT_OK && missing < 0) {
        rc = read_once(r, &missing);
        if (rc == RETORT_OK)
            rt_clear_error(r); /* the first attempt's failure no longer stands */
    }
    if (rc != RETORT_OK)
        return rc;
    r->state.loaded = 1;
    r->state.table_missing = missing > 0;
    if (rt_state_resolve(&r->state, &r->reg) != RETORT_OK)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    return RETORT_OK;
}

/* Creates both tables in one transaction: created one after the other in
 * autocommit, a concurrent SQLite migrator could see the version table and
 * not yet the audit log it is about to write to. */
int rt_vt_ensure(retort *r)
{
    rt_buf sql = RT_BUF_INIT;
    struct retort_report rep;
    rt_report_init(&rep);
    rt_buf what = RT_BUF_INIT;
    rt_buf_printf(&what, "cannot create the version table %s", r->qtable);
    int rc = r->backend->begin(r->db, &rep);
    static const int ops[] = {RETORT_SQL_CREATE_SCHEMA, RETORT_SQL_CREATE_VERSION_TABLE,
                              RETORT_SQL_CREATE_LOG_TABLE};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0] && rc == RETORT_OK; i++) {
        if (ops[i] == RETORT_SQL_CREATE_SCHEMA && !*r->schema_in_use)
            continue;
        int t = rt_vt_template(r, ops[i], &sql);
        if (t < 0) {
            retort_report_error(&rep, RETORT_ENOMEM, "out of memory");
            rc = RETORT_ENOMEM;
            break;
        }
        if (t == 0)
            continue;
        int done = 0;
        rc = r->backend->exec(r->db, rt_buf_str(&sql), &done, &rep);
    }
    if (rc == RETORT_OK)
        rc = r->backend->commit(r->db, &rep);
    if (rc != RETORT_OK) {
        rt_fail_report(r, &rep, RETORT_EDB, rt_buf_str(&what));
        rc = r->errcode;
        struct retort_report ignored;
        rt_report_init(&ignored);
        r->backend->rollback(r->db, &ignored);
        rt_report_free(&ignored);
    }
    rt_buf_free(&what);
    rt_report_free(&rep);
    rt_buf_free(&sql);
    return rc;
}

typedef struct {
    char *state;
    size_t size;
} lookup_ctx;

static int lookup_row(void *ctx, int ncols, const char *const *values)
{
    lookup_ctx *l = ctx;
    snprintf(l->state, l->size, "%s", ncols > 0 && values[0] ? values[0] : "applied");
    return 0;
}

int rt_vt_lookup(retort *r, const char *id, char *state, size_t size)
{
    rt_buf sql = RT_BUF_INIT;
    state[0] = '\0';
    int t = rt_vt_template(r, RETORT_SQL_SELECT_VERSION, &sql);
    if (t <= 0) {
        rt_buf_free(&sql);
        if (t < 0)
            return rt_fail(r, RETORT_ENOMEM, "out of memory looking up a version row");
        return rt_fail(r, RETORT_EDB, "the %s backend cannot look up one version row",
                       r->backend->name);
    }
    struct retort_report rep;
    rt_report_init(&rep);
    lookup_ctx l = {state, size};
    const char *params[] = {id};
    int rc = r->backend->query(r->db, rt_buf_str(&sql), 1, params, lookup_row, &l, &rep);
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, RETORT_EDB, "cannot read the version table");
    rt_report_free(&rep);
    rt_buf_free(&sql);
    return rc;
}

int rt_vt_insert(retort *r, const rt_rev *rev, const char *state, long duration_ms)
{
    char duration[32];
    snprintf(duration, sizeof duration, "%ld", duration_ms);
    const char *params[] = {rev->id, rev->parents, rev->message,
                            rev->checksum[0] ? rev->checksum : NULL, state, duration};
    rt_buf what = RT_BUF_INIT;
    rt_buf_printf(&what, "revision '%s': cannot record it in the version table", rev->id);
    int rc = rt_vt_exec(r, RETORT_SQL_INSERT_VERSION, 6, params, rt_buf_str(&what));
    rt_buf_free(&what);
    return rc;
}

int rt_vt_update(retort *r, const char *id, const char *state, long duration_ms)
{
    char duration[32];
    snprintf(duration, sizeof duration, "%ld", duration_ms);
    const char *params[] = {id, state, duration};
    rt_buf what = RT_BUF_INIT;
    rt_buf_printf(&what, "revision '%s': cannot update its version row", id);
    int rc = rt_vt_exec(r, RETORT_SQL_UPDATE_VERSION, 3, params, rt_buf_str(&what));
    rt_buf_free(&what);
    return rc;
}

int rt_vt_delete(retort *r, const char *id)
{
    const char *params[] = {id};
    rt_buf what = RT_BUF_INIT;
    rt_buf_printf(&what, "revision '%s': cannot remove its version row", id);
    int rc = rt_vt_exec(r, RETORT_SQL_DELETE_VERSION, 1, params, rt_buf_str(&what));
    rt_buf_free(&what);
    return rc;
}

int rt_vt_delete_all(retort *r)
{
    return rt_vt_exec(r, RETORT_SQL_DELETE_ALL_VERSIONS, 0, NULL,
                      "cannot clear the version table");
}

int rt_vt_log(retort *r, const char *id, const char *direction, const char *started,
              const char *finished, const char *outcome, const char *error, int statements_done)
{
    char done[32];
    snprintf(done, sizeof done, "%d", statements_done);
    const char *params[] = {id, direction, started, finished, outcome, error,
                            statements_done >= 0 ? done : NULL};
    return rt_vt_exec(r, RETORT_SQL_INSERT_LOG, 7, params, "cannot append to the audit log");
}
