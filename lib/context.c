/*
 * context.c — creating and freeing a context, resolving its URL to a driver,
 * and opening its connection on first use.  Owns the connection; the
 * registry, graph and state are owned by their own files' functions.
 */
#include "context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "memory.h"
#include "quote.h"
#include "url.h"

#define DEFAULT_URL "sqlite:retort.db"

RETORT_API int retort_new(retort **out, const char *url)
{
    if (!out)
        return RETORT_EINVAL;
    retort *r = rt_calloc(1, sizeof *r);
    *out = r;
    if (!r)
        return RETORT_ENOMEM;
    rt_context_created();
    strcpy(r->version_table, "retort_version");
    strcpy(r->log_table, "retort_version_log");
    r->lock_timeout_ms = 30000;
    r->tx_mode = RETORT_TX_PER_MIGRATION;
    r->checksum_policy = RETORT_CHECKSUM_WARN;
    r->log_level = RETORT_LOG_WARN;

    const char *from = "argument";
    if (!url) {
        url = getenv("RETORT_DATABASE_URL");
        from = "RETORT_DATABASE_URL";
        if (!url || !*url) {
            url = DEFAULT_URL;
            from = "default";
            r->url_is_default = 1;
        }
    }
    r->url = rt_strdup(url);
    rt_url_secrets(url, &r->secrets);
    r->url_redacted = rt_url_redact(url);
    /* Secrets that could not all be recorded could not all be hidden: the
     * context is refused before it can connect, its message naming no URL. */
    if (r->secrets.failed) {
        int many = r->secrets.n >= RT_SECRETS_MAX;
        rt_secrets_free(&r->secrets);
        if (many)
            return rt_fail(r, RETORT_EURL, "the database URL (from %s) holds more than %d "
                                           "values that may be passwords; refused, as they "
                                           "could not all be hidden", from, RT_SECRETS_MAX);
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    }
    if (!r->url || !r->url_redacted)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");

    char scheme[32];
    if (!rt_url_scheme(url, scheme, sizeof scheme)) {
        char schemes[256];
        retort_backend_schemes(schemes, sizeof schemes);
        return rt_fail(r, RETORT_EURL,
                       "malformed database URL '%.200s' (from %s): expected SCHEME:..., where "
                       "SCHEME is one of: %s",
                       r->url_redacted, from, *schemes ? schemes : "(no backend compiled in)");
    }
    r->backend = retort_backend_find(scheme);
    if (!r->backend) {
        char schemes[256];
        retort_backend_schemes(schemes, sizeof schemes);
        return rt_fail(r, RETORT_EURL,
                       "unknown scheme '%s' in database URL '%.200s' (from %s); the backends "
                       "available serve: %s",
                       scheme, r->url_redacted, from,
                       *schemes ? schemes : "(no backend compiled in)");
    }
    return RETORT_OK;
}

retort *rt_guard_enter(retort *r)
{
    if (r)
        r->busy++;
    return r;
}

void rt_guard_leave(retort **rp)
{
    retort *r = *rp;
    /* The outermost public call failed: its message goes to the log once,
     * at ERROR level, so that an application routing the log to syslog
     * sees every failure without logging retort_errmsg() itself.  Still
     * inside the guard: a log function calling retort_free is deferred. */
    if (r && r->busy == 1 && r->errcode != RETORT_OK && !r->err_logged) {
        r->err_logged = 1;
        rt_log(r, RETORT_LOG_ERROR, "%s", retort_errmsg(r));
    }
    if (r && --r->busy == 0 && r->free_pending) {
        r->free_pending = 0;
        retort_free(r);
    }
}

RETORT_API void retort_free(retort *r)
{
    if (!r)
        return;
    if (r->busy) { /* from inside a callback: the call that ran it frees */
        r->free_pending = 1;
        return;
    }
    r->busy = 1; /* the teardown may log: a log function freeing r again is a no-op */
    if (r->teardown)
        r->teardown(r);
    rt_free(r->fresh_name);
    rt_free(r->fresh_base);
    rt_free(r->template_key);
    if (r->db && r->backend)
        r->backend->disconnect(r->db);
    rt_free(r->url);
    rt_free(r->url_redacted);
    rt_secrets_free(&r->secrets);
    rt_registry_free(&r->reg);
    rt_graph_free(&r->graph);
    rt_state_free(&r->state);
    rt_registry_free(&r->rreg);
    rt_state_free(&r->rstate);
    rt_buf_free(&r->errmsg);
    rt_buf_free(&r->out);
    rt_buf_free(&r->out2);
    rt_forget_sql(r);
    rt_free(r);
    rt_context_freed();
}

/* quote(schema).quote(table), or quote(table) without a schema, into out.
 * Returns 1, 0 when it does not fit, -1 when memory ran out. */
static int qualify(const retort_backend *be, const char *schema, const char *table, char *out,
                   size_t size)
{
    rt_buf b = RT_BUF_INIT;
    if (*schema) {
        rt_quote_ident(be, schema, &b);
        rt_buf_append_char(&b, '.');
    }
    rt_quote_ident(be, table, &b);
    int ok = rt_buf_failed(&b) ? -1 : b.len < size;
    if (ok > 0)
        memcpy(out, rt_buf_str(&b), b.len + 1);
    rt_buf_free(&b);
    return ok;
}

void rt_forget_sql(retort *r)
{
    for (int i = 0; i < RT_SQL_CACHE; i++) {
        rt_free(r->sql_cache[i]);
        r->sql_cache[i] = NULL;
    }
}

int rt_set_names(retort *r)
{
    rt_forget_sql(r);
    int ok = qualify(r->backend, r->schema_in_use, r->version_table, r->qtable, sizeof r->qtable);
    if (ok > 0)
        ok = qualify(r->backend, r->schema_in_use, r->log_table, r->qlog, sizeof r->qlog);
    if (ok > 0)
        ok = qualify(r->backend, "", r->schema_in_use, r->qschema, sizeof r->qschema);
    if (ok < 0)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    if (ok == 0)
        return rt_fail(r, RETORT_EINVAL, "version table name '%s' or schema '%s' is too long "
                                         "once quoted", r->version_table, r->schema_in_use);
    return RETORT_OK;
}

/* Notes a lost session (RETORT_ECONNECT from the driver while connected),
 * so that the next operation starts on a new connection. */
void rt_note_status(retort *r, int code)
{
    if (code == RETORT_ECONNECT && r->db)
        r->conn_broken = 1;
}

int rt_connect(retort *r)
{
    if (r->fresh_pending)
        return rt_fresh_materialize(r);
    if (r->db && r->conn_broken) {
        rt_log(r, RETORT_LOG_WARN, "the connection to %s was lost; reconnecting",
               r->url_redacted);
        r->backend->disconnect(r->db);
        r->db = NULL;
        r->conn_broken = 0;
    }
    if (r->db)
        return RETORT_OK;
    if (!r->backend)
        return rt_fail(r, RETORT_EURL, "%s", retort_errmsg(r));
    if (r->url_is_default)
        rt_log(r, RETORT_LOG_INFO, "no database URL given (argument or RETORT_DATABASE_URL): "
                                   "using the default SQLite database retort.db in the "
                                   "working directory");
    struct retort_report rep;
    rt_report_init(&rep);
    void *db = NULL;
    int rc = r->backend->connect(r->url, r->lock_timeout_ms, &db, &rep);
    /* Before any message: the driver's reading of the URL may find a
     * password where ours did not. */
    rt_secrets_merge(&r->secrets, &rep.secrets);
    if (rc == RETORT_OK && r->secrets.failed) {
        r->backend->disconnect(db);
        rt_report_free(&rep);
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    }
    if (rc != RETORT_OK) {
        if (db)
            r->backend->disconnect(db);
        rt_buf what = RT_BUF_INIT;
        rt_buf_printf(&what, "cannot connect to %s", r->url_redacted);
        rt_fail_report(r, &rep, RETORT_ECONNECT, rt_buf_str(&what));
        rt_buf_free(&what);
        rt_report_free(&rep);
        return r->errcode;
    }
    r->db = db;

    strcpy(r->schema_in_use, r->schema);
    if (!*r->schema && r->backend->default_schema) {
        rc = r->backend->default_schema(db, r->schema_in_use, sizeof r->schema_in_use, &rep);
        if (rc != RETORT_OK) {
            rt_fail_report(r, &rep, RETORT_EDB, "cannot read the connection's default schema");
            rt_report_free(&rep);
            r->backend->disconnect(db);
            r->db = NULL;
            return r->errcode;
        }
    }
    rt_report_free(&rep);
    if ((rc = rt_set_names(r)) != RETORT_OK) {
        r->backend->disconnect(db);
        r->db = NULL;
        return rc;
    }
    rt_log(r, RETORT_LOG_DEBUG, "connected to %s (%s backend)", r->url_redacted,
           r->backend->name);
    return RETORT_OK;
}
