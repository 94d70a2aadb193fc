/*
 * trace_backend.c — the "trace" driver: forwards every vtable member to a
 * wrapped driver found with retort_backend_find(), reporting each call to a
 * sink first.  It owns only its per-connection wrapper and the process-wide
 * vtable it registers; it knows nothing of the wrapped driver beyond the
 * public vtable (no sqlite3.h, nothing from the library's lib/ directory).
 *
 * The registered vtable mirrors the wrapped driver's optional members: where
 * the inner driver leaves one NULL (SQLite has no lock), so does the trace
 * driver, because retort gives a NULL member its own meaning ("no lock", "ANSI
 * quoting") that a forwarding stub would change.
 */
#include "trace_backend.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <retort/backend.h>

/* Set once by trace_backend_register, before the driver is registered, and
 * read-only afterwards: the vtable must stay valid for the life of the
 * process, and these are what it forwards to. */
static const retort_backend *inner;
static char inner_scheme[32];
static trace_sink sink;
static void *sink_user;
static retort_backend trace_vtable;

/* One connection: the wrapped driver's own. */
typedef struct {
    void *db;
} trace_db;

/* Whether the wrapped driver has member m: its struct is long enough to
 * contain it (the driver may be built against an older backend.h) and it is
 * set.  The same rule retort itself applies to every driver. */
#define INNER_HAS(m)                                                                         \
    (inner->struct_size >= offsetof(retort_backend, m) + sizeof inner->m && inner->m != NULL)

static void trace(const char *event, const char *text)
{
    sink(event, text ? text : "", sink_user);
}

static int tr_connect(const char *url, int timeout_ms, void **db, retort_report *rep)
{
    *db = NULL;
    /* "trace:REST" -> "INNER:REST": the wrapped driver sees a URL of its
     * own scheme.  The URL may hold a password: it is not traced. */
    const char *rest = strchr(url, ':');
    rest = rest ? rest + 1 : url;
    size_t need = strlen(inner_scheme) + 1 + strlen(rest) + 1;
    char *inner_url = malloc(need);
    trace_db *t = calloc(1, sizeof *t);
    if (!inner_url || !t) {
        free(inner_url);
        free(t);
        retort_report_error(rep, RETORT_ENOMEM, "trace: out of memory");
        return RETORT_ENOMEM;
    }
    snprintf(inner_url, need, "%s:%s", inner_scheme, rest);
    trace("connect", inner_scheme);
    int rc = inner->connect(inner_url, timeout_ms, &t->db, rep);
    free(inner_url);
    /* retort calls disconnect on a non-NULL *db even after a failure, so
     * the wrapper is handed out whenever the inner driver left a handle. */
    if (rc == RETORT_OK || t->db) {
        *db = t;
    } else {
        free(t);
    }
    return rc;
}

static void tr_disconnect(void *db)
{
    trace_db *t = db;
    if (!t)
        return;
    trace("disconnect", "");
    if (t->db)
        inner->disconnect(t->db);
    free(t);
}

static int tr_exec(void *db, const char *sql, int *done, retort_report *rep)
{
    trace("exec", sql);
    return inner->exec(((trace_db *)db)->db, sql, done, rep);
}

static int tr_exec_params(void *db, const char *sql, int nparams, const char *const *params,
                          retort_report *rep)
{
    trace("exec_params", sql);
    return inner->exec_params(((trace_db *)db)->db, sql, nparams, params, rep);
}

static int tr_query(void *db, const char *sql, int nparams, const char *const *params,
                    retort_row_fn row, void *ctx, retort_report *rep)
{
    trace("query", sql);
    return inner->query(((trace_db *)db)->db, sql, nparams, params, row, ctx, rep);
}

static int tr_begin(void *db, retort_report *rep)
{
    trace("begin", "");
    return inner->begin(((trace_db *)db)->db, rep);
}

static int tr_commit(void *db, retort_report *rep)
{
    trace("commit", "");
    return inner->commit(((trace_db *)db)->db, rep);
}

static int tr_rollback(void *db, retort_report *rep)
{
    trace("rollback", "");
    return inner->rollback(((trace_db *)db)->db, rep);
}

static int tr_lock(void *db, const char *schema, const char *table, int timeout_ms,
                   int *exclusive, retort_report *rep)
{
    trace("lock", table);
    return inner->lock(((trace_db *)db)->db, schema, table, timeout_ms, exclusive, rep);
}

static int tr_unlock(void *db, const char *schema, const char *table, retort_report *rep)
{
    trace("unlock", table);
    return inner->unlock(((trace_db *)db)->db, schema, table, rep);
}

/* Version 2: each statement of a batch is traced as it would be alone. */
static int tr_exec_batch(void *db, int n, const char *const *sql, const int *nparams,
                         const char *const *const *params, int commit, int *failed,
                         retort_report *rep)
{
    for (int i = 0; i < n; i++)
        trace("exec_params", sql[i]);
    if (commit)
        trace("commit", "");
    return inner->exec_batch(((trace_db *)db)->db, n, sql, nparams, params, commit, failed,
                             rep);
}

static int tr_data_version(void *db, unsigned long long *version)
{
    return inner->data_version(((trace_db *)db)->db, version);
}

static size_t tr_quote_ident(const char *ident, char *out, size_t size)
{
    return inner->quote_ident(ident, out, size);
}

static const char *tr_sql(int op) { return inner->sql(op); }

static int tr_table_exists(void *db, const char *schema, const char *table, int *exists,
                           retort_report *rep)
{
    trace("table_exists", table);
    return inner->table_exists(((trace_db *)db)->db, schema, table, exists, rep);
}

static int tr_default_schema(void *db, char *out, size_t size, retort_report *rep)
{
    return inner->default_schema(((trace_db *)db)->db, out, size, rep);
}

static int tr_snapshot(void *db, const char *schema, const char *const *exclude,
                       retort_line_fn line, void *ctx, retort_report *rep)
{
    return inner->snapshot(((trace_db *)db)->db, schema, exclude, line, ctx, rep);
}

static void *tr_native(void *db) { return inner->native(((trace_db *)db)->db); }

static const char *const trace_schemes[] = {"trace", NULL};

int trace_backend_register(const char *scheme, trace_sink fn, void *user)
{
    if (!scheme || !fn || strlen(scheme) >= sizeof inner_scheme)
        return RETORT_EINVAL;
    if (inner) /* registered already: the vtable is immutable from here on */
        return RETORT_EBACKEND;
    const retort_backend *found = retort_backend_find(scheme);
    if (!found)
        return RETORT_ENOTFOUND;
    inner = found;
    strcpy(inner_scheme, scheme);
    sink = fn;
    sink_user = user;

    trace_vtable = (retort_backend){
        .abi_version = RETORT_BACKEND_ABI_VERSION,
        .struct_size = sizeof(retort_backend),
        .name = "trace",
        .schemes = trace_schemes,
        .connect = tr_connect,
        .disconnect = tr_disconnect,
        .exec = tr_exec,
        .exec_params = tr_exec_params,
        .query = tr_query,
        .begin = tr_begin,
        .commit = tr_commit,
        .rollback = tr_rollback,
        .lock = INNER_HAS(lock) ? tr_lock : NULL,
        .unlock = INNER_HAS(unlock) ? tr_unlock : NULL,
        .quote_ident = INNER_HAS(quote_ident) ? tr_quote_ident : NULL,
        .sql = tr_sql,
        .table_exists = tr_table_exists,
        .default_schema = INNER_HAS(default_schema) ? tr_default_schema : NULL,
        .snapshot = INNER_HAS(snapshot) ? tr_snapshot : NULL,
        .native = INNER_HAS(native) ? tr_native : NULL,
        .exec_batch = INNER_HAS(exec_batch) ? tr_exec_batch : NULL,
        .data_version = INNER_HAS(data_version) ? tr_data_version : NULL,
    };
    int rc = retort_register_backend(&trace_vtable);
    if (rc != RETORT_OK)
        inner = NULL;
    return rc;
}
