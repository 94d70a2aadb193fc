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
#include "quote.h"
#include "repeatable.h"

/* Room for "revision '<id>': cannot ..." with the longest id. */
#define RT_WHAT_MAX 512

/* Expands the driver's template: every placeholder through the quoting
 * function of its context (quote.h), never by pasting a name. */
int rt_vt_template(retort *r, int op, rt_buf *out)
{
    const char *t = r->backend->sql(op);
    rt_buf_reset(out);
    if (!t)
        return 0;
    /* {tag} is filled in last, once the text it must not occur in is
     * known; its places are remembered, not searched for, since a name may
     * spell "{tag}" too. */
    size_t tags[8];
    int ntags = 0;
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
            if (strncmp(t, "{schema_name}", 13) == 0) {
                rt_quote_literal(r->backend, r->schema_in_use, out);
                t += 13;
                continue;
            }
            if (strncmp(t, "{tag}", 5) == 0 && ntags < (int)(sizeof tags / sizeof tags[0])) {
                tags[ntags++] = out->len;
                t += 5;
                continue;
            }
        }
        rt_buf_append_char(out, *t++);
    }
    if (ntags && !rt_buf_failed(out)) {
        char tag[32];
        rt_dollar_tag(rt_buf_str(out), tag, sizeof tag);
        rt_buf done = RT_BUF_INIT;
        size_t from = 0;
        for (int i = 0; i < ntags; i++) {
            rt_buf_append_n(&done, out->data + from, tags[i] - from);
            rt_buf_append(&done, tag);
            from = tags[i];
        }
        rt_buf_append_n(&done, out->data + from, out->len - from);
        rt_buf_free(out);
        *out = done;
    }
    return rt_buf_failed(out) ? -1 : 1;
}

const char *rt_vt_sql(retort *r, int op, int *oom)
{
    *oom = 0;
    if (op <= 0 || op >= RT_SQL_CACHE)
        return NULL;
    if (r->sql_cache[op])
        return r->sql_cache[op];
    rt_buf sql = RT_BUF_INIT;
    int t = rt_vt_template(r, op, &sql);
    if (t > 0)
        r->sql_cache[op] = rt_strdup(rt_buf_str(&sql));
    rt_buf_free(&sql);
    *oom = t < 0 || (t > 0 && !r->sql_cache[op]);
    return r->sql_cache[op];
}

/* The cached statement for op, or NULL after recording why there is none:
 * "<what>: out of memory" or "<what>: the backend has no statement".  what
 * is a format with one %s, for id. */
static const char *statement_for(retort *r, int op, const char *what_fmt, const char *id)
{
    int oom;
    const char *sql = rt_vt_sql(r, op, &oom);
    if (!sql) {
        char what[RT_WHAT_MAX];
        snprintf(what, sizeof what, what_fmt, id);
        if (oom)
            rt_fail(r, RETORT_ENOMEM, "%s: out of memory", what);
        else
            rt_fail(r, RETORT_EDB, "%s: the %s backend has no statement for it", what,
                    r->backend->name);
    }
    return sql;
}

int rt_vt_exec(retort *r, int op, int nparams, const char *const *params, const char *what)
{
    const char *sql = statement_for(r, op, "%s", what);
    if (!sql)
        return r->errcode;
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->exec_params(r->db, sql, nparams, params, &rep);
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, RETORT_EDB, what);
    rt_report_free(&rep);
    return rc;
}

typedef struct {
    rt_state *state;
    rt_state *rstate; /* rows of Flyway repeatable migrations (repeatable.c) */
    int bad_row; /* 1-based row that cannot be a version row, 0 if none */
    int ncols;
} collect_ctx;

static int collect_row(void *vctx, int ncols, const char *const *values)
{
    collect_ctx *ctx = vctx;
    /* A repeatable migration's row ("R__<desc>") is no revision's: kept
     * apart, so that it is never an unknown revision or a head. */
    if (ncols >= 7 && values[0] && rt_is_repeatable_id(values[0]))
        return rt_state_add_row(ctx->rstate, ncols, values);
    int rc = rt_state_add_row(ctx->state, ncols, values);
    if (rc == RETORT_EDB) {
        ctx->bad_row = ctx->state->n + 1;
        ctx->ncols = ncols;
    }
    return rc;
}

/* One SELECT of every row.  *missing is set when it failed because the
 * table does not exist, asked of the catalog rather than parsed from the
 * error text, which differs by backend and locale. */
static int read_once(retort *r, int *missing)
{
    *missing = 0;
    rt_state_forget(&r->state);
    rt_state_forget(&r->rstate);
    const char *sql =
        statement_for(r, RETORT_SQL_SELECT_VERSIONS, "%s", "cannot read the version table");
    if (!sql)
        return r->errcode;
    struct retort_report rep;
    rt_report_init(&rep);
    collect_ctx ctx = {&r->state, &r->rstate, 0, 0};
    int rc = r->backend->query(r->db, sql, 0, NULL, collect_row, &ctx, &rep);
    if (rc != RETORT_OK && ctx.bad_row) {
        rt_report_free(&rep);
        rt_state_forget(&r->state);
        rt_state_forget(&r->rstate);
        if (ctx.ncols < 7)
            return rt_fail(r, RETORT_EDB,
                           "cannot read the version table %s: its rows have %d columns, not "
                           "the 7 retort reads (not a table retort created?)",
                           r->qtable, ctx.ncols);
        return rt_fail(r, RETORT_EDB,
                       "cannot read the version table %s: row %d (in the order applied) has a "
                       "NULL id, which retort never writes: the table was not created by "
                       "retort or was edited by hand; delete or fix that row",
                       r->qtable, ctx.bad_row);
    }
    if (rc == RETORT_ENOMEM) {
        rt_report_free(&rep);
        rt_state_forget(&r->state);
        rt_state_forget(&r->rstate);
        return rt_fail(r, RETORT_ENOMEM, "out of memory reading the version table");
    }
    if (rc != RETORT_OK) {
        rt_state_forget(&r->state);
        rt_state_forget(&r->rstate);
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
    rt_vt_seen(r);
    return RETORT_OK;
}

/* Creates both tables in one transaction: created one after the other in
 * autocommit, a concurrent SQLite migrator could see the version table and
 * not yet the audit log it is about to write to. */
int rt_vt_ensure(retort *r)
{
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->begin(r->db, &rep);
    int unchanged = rc == RETORT_OK && rt_vt_unchanged(r);
    /* The core read no table (an empty state).  If it is still missing now,
     * under the write lock, the table created next is exactly that. */
    if (rc == RETORT_OK && !unchanged && r->state.loaded && r->state.table_missing &&
        RT_DRIVER_HAS(r, data_version)) {
        int exists = 1;
        rc = r->backend->table_exists(r->db, r->schema_in_use, r->version_table, &exists, &rep);
        unchanged = rc == RETORT_OK && !exists;
    }
    static const int ops[] = {RETORT_SQL_CREATE_SCHEMA, RETORT_SQL_CREATE_VERSION_TABLE,
                              RETORT_SQL_CREATE_LOG_TABLE};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0] && rc == RETORT_OK; i++) {
        if (ops[i] == RETORT_SQL_CREATE_SCHEMA && !*r->schema_in_use)
            continue;
        int oom;
        const char *sql = rt_vt_sql(r, ops[i], &oom);
        if (oom) {
            retort_report_error(&rep, RETORT_ENOMEM, "out of memory");
            rc = RETORT_ENOMEM;
            break;
        }
        if (!sql)
            continue;
        int done = 0;
        rc = r->backend->exec(r->db, sql, &done, &rep);
    }
    if (rc == RETORT_OK)
        rc = r->backend->commit(r->db, &rep);
    if (rc == RETORT_OK) {
        rt_vt_committed(r, unchanged);
    } else {
        char what[RT_WHAT_MAX];
        snprintf(what, sizeof what, "cannot create the version table %s", r->qtable);
        rt_fail_report(r, &rep, RETORT_EDB, what);
        rc = r->errcode;
        r->dv_known = 0;
        struct retort_report ignored;
        rt_report_init(&ignored);
        r->backend->rollback(r->db, &ignored);
        rt_report_free(&ignored);
    }
    rt_report_free(&rep);
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
    state[0] = '\0';
    const char *sql =
        statement_for(r, RETORT_SQL_SELECT_VERSION, "%s", "cannot look up a version row");
    if (!sql)
        return r->errcode;
    struct retort_report rep;
    rt_report_init(&rep);
    lookup_ctx l = {state, size};
    const char *params[] = {id};
    int rc = r->backend->query(r->db, sql, 1, params, lookup_row, &l, &rep);
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, RETORT_EDB, "cannot read the version table");
    rt_report_free(&rep);
    return rc;
}

/* Runs one statement; formats "<what_fmt with id>" only when it failed. */
static int exec_op(retort *r, int op, int nparams, const char *const *params,
                   const char *what_fmt, const char *id)
{
    const char *sql = statement_for(r, op, what_fmt, id);
    if (!sql)
        return r->errcode;
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->exec_params(r->db, sql, nparams, params, &rep);
    if (rc != RETORT_OK) {
        char what[RT_WHAT_MAX];
        snprintf(what, sizeof what, what_fmt, id);
        rc = rt_fail_report(r, &rep, RETORT_EDB, what);
    }
    rt_report_free(&rep);
    return rc;
}

#define WHAT_INSERT "revision '%s': cannot record it in the version table"
#define WHAT_DELETE "revision '%s': cannot remove its version row"
#define WHAT_LOG "revision '%s': cannot append to the audit log"
#define WHAT_COMMIT "revision '%s': cannot commit"

int rt_vt_insert(retort *r, const rt_rev *rev, const char *state, long duration_ms)
{
    char duration[32];
    snprintf(duration, sizeof duration, "%ld", duration_ms);
    const char *params[] = {rev->id, rev->parents, rev->message,
                            rev->checksum[0] ? rev->checksum : NULL, state, duration};
    return exec_op(r, RETORT_SQL_INSERT_VERSION, 6, params, WHAT_INSERT, rev->id);
}

int rt_vt_update(retort *r, const char *id, const char *state, long duration_ms)
{
    char duration[32];
    snprintf(duration, sizeof duration, "%ld", duration_ms);
    const char *params[] = {id, state, duration};
    return exec_op(r, RETORT_SQL_UPDATE_VERSION, 3, params,
                   "revision '%s': cannot update its version row", id);
}

int rt_vt_delete(retort *r, const char *id)
{
    const char *params[] = {id};
    return exec_op(r, RETORT_SQL_DELETE_VERSION, 1, params, WHAT_DELETE, id);
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
    /* The database's message may quote a migration's text, and the text a
     * password: the audit log has readers too (redact.h). */
    rt_buf text = RT_BUF_INIT;
    if (error) {
        rt_buf_append(&text, error);
        rt_redact(&r->secrets, &text);
    }
    const char *params[] = {id, direction, started, finished, outcome,
                            error ? rt_buf_str(&text) : NULL, statements_done >= 0 ? done : NULL};
    int rc = exec_op(r, RETORT_SQL_INSERT_LOG, 7, params, WHAT_LOG, id);
    rt_buf_free(&text);
    return rc;
}

/* Two statements (a version-table write, then the audit entry), then the
 * commit when commit is nonzero: in one round trip where the driver can. */
static int write_two(retort *r, const char *id, const int ops[2], const int nparams[2],
                     const char *const *params[2], const char *const whats[3], int commit)
{
    if (!RT_DRIVER_HAS(r, exec_batch)) {
        int rc;
        for (int i = 0; i < 2; i++)
            if ((rc = exec_op(r, ops[i], nparams[i], params[i], whats[i], id)) != RETORT_OK)
                return rc;
        if (!commit)
            return RETORT_OK;
        struct retort_report rep;
        rt_report_init(&rep);
        rc = r->backend->commit(r->db, &rep);
        if (rc != RETORT_OK) {
            char what[RT_WHAT_MAX];
            snprintf(what, sizeof what, WHAT_COMMIT, id);
            rc = rt_fail_report(r, &rep, RETORT_EDB, what);
        }
        rt_report_free(&rep);
        return rc;
    }

    const char *sql[2];
    for (int i = 0; i < 2; i++)
        if (!(sql[i] = statement_for(r, ops[i], whats[i], id)))
            return r->errcode;
    struct retort_report rep;
    rt_report_init(&rep);
    int failed = -1;
    int rc = r->backend->exec_batch(r->db, 2, sql, nparams, params, commit, &failed, &rep);
    if (rc != RETORT_OK) {
        char what[RT_WHAT_MAX];
        snprintf(what, sizeof what, whats[failed >= 0 && failed <= 2 ? failed : 2], id);
        rc = rt_fail_report(r, &rep, RETORT_EDB, what);
    }
    rt_report_free(&rep);
    return rc;
}

int rt_vt_record(retort *r, const rt_rev *rev, int up, long duration_ms, const char *started,
                 const char *finished, int commit)
{
    char duration[32];
    snprintf(duration, sizeof duration, "%ld", duration_ms);
    const char *version_params[] = {rev->id, rev->parents, rev->message,
                                    rev->checksum[0] ? rev->checksum : NULL, "applied",
                                    duration};
    const char *log_params[] = {rev->id, up ? "up" : "down", started, finished, "ok", NULL,
                                NULL};
    const int ops[2] = {up ? RETORT_SQL_INSERT_VERSION : RETORT_SQL_DELETE_VERSION,
                        RETORT_SQL_INSERT_LOG};
    const char *const whats[3] = {up ? WHAT_INSERT : WHAT_DELETE, WHAT_LOG, WHAT_COMMIT};
    const int nparams[2] = {up ? 6 : 1, 7};
    const char *const *params[2] = {version_params, log_params};
    return write_two(r, rev->id, ops, nparams, params, whats, commit);
}

int rt_vt_record_finished(retort *r, const rt_rev *rev, int up, long duration_ms,
                          const char *started, const char *finished, int statements_done)
{
    char duration[32], done[32];
    snprintf(duration, sizeof duration, "%ld", duration_ms);
    snprintf(done, sizeof done, "%d", statements_done);
    const char *update_params[] = {rev->id, "applied", duration};
    const char *delete_params[] = {rev->id};
    const char *log_params[] = {rev->id, up ? "up" : "down", started, finished, "ok", NULL, done};
    const int ops[2] = {up ? RETORT_SQL_UPDATE_VERSION : RETORT_SQL_DELETE_VERSION,
                        RETORT_SQL_INSERT_LOG};
    const char *const whats[3] = {up ? "revision '%s': cannot update its version row"
                                     : WHAT_DELETE,
                                  WHAT_LOG, WHAT_COMMIT};
    const int nparams[2] = {up ? 3 : 1, 7};
    const char *const *params[2] = {up ? update_params : delete_params, log_params};
    return write_two(r, rev->id, ops, nparams, params, whats, 1);
}

/* ------------------------------------------------ what the core last saw */

static int data_version(retort *r, unsigned long long *v)
{
    return r->db && RT_DRIVER_HAS(r, data_version) && r->backend->data_version(r->db, v);
}

void rt_vt_seen(retort *r)
{
    r->dv_known = data_version(r, &r->dv);
}

int rt_vt_unchanged(retort *r)
{
    unsigned long long v;
    int same = r->dv_known && data_version(r, &v) && v == r->dv;
    if (!same)
        r->dv_known = 0;
    return same;
}

void rt_vt_committed(retort *r, int unchanged)
{
    if (unchanged)
        rt_vt_seen(r);
    else
        r->dv_known = 0;
}
