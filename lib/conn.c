/*
 * conn.c — the API available inside a migration callback (retort_exec,
 * retort_exec_params, retort_native, ...).  Online it forwards to the driver;
 * offline it renders into the script.  It never commits or rolls back: the
 * runner owns transactions.
 */
#include "conn.h"

#include <string.h>

#include "context.h"
#include "error.h"
#include "memory.h"
#include "sql_split.h"
#include "quote.h"

void rt_conn_init(struct retort_conn *conn, retort *r, rt_buf *script)
{
    memset(conn, 0, sizeof *conn);
    conn->r = r;
    conn->script = script;
}

void rt_conn_free(struct retort_conn *conn) { rt_buf_free(&conn->error); }

void rt_script_append_statement(rt_buf *script, const char *sql)
{
    size_t len = strlen(sql);
    while (len && (sql[len - 1] == ' ' || sql[len - 1] == '\n' || sql[len - 1] == '\t' ||
                   sql[len - 1] == '\r'))
        len--;
    if (!len)
        return;
    /* The ';' that ends an unterminated last statement goes right after
     * it: appended at the very end it would land inside a comment that
     * follows the statement. */
    size_t pos = 0, start, end, last_end = 0;
    int any = 0;
    while (rt_sql_next_statement(sql, &pos, &start, &end) && start < len) {
        any = 1;
        last_end = end < len ? end : len;
    }
    if (any && sql[last_end] != ';') {
        rt_buf_append_n(script, sql, last_end);
        rt_buf_append_char(script, ';');
        rt_buf_append_n(script, sql + last_end, len - last_end);
    } else {
        rt_buf_append_n(script, sql, len);
    }
    rt_buf_append_char(script, '\n');
}

int rt_render_params(const retort_backend *be, const char *sql, int nparams,
                     const char *const *params, rt_buf *out)
{
    const char *p = sql;
    while (*p) {
        char c = *p;
        if (c == '\'' || c == '"') {
            const char *start = p++;
            while (*p && *p != c)
                p++;
            if (*p)
                p++;
            rt_buf_append_n(out, start, (size_t)(p - start));
            continue;
        }
        if (c == '-' && p[1] == '-') {
            const char *start = p;
            while (*p && *p != '\n')
                p++;
            rt_buf_append_n(out, start, (size_t)(p - start));
            continue;
        }
        if (c == '$' && (p[1] == '$' || p[1] == '_' || (p[1] >= 'a' && p[1] <= 'z') ||
                         (p[1] >= 'A' && p[1] <= 'Z'))) {
            /* $tag$ ... $tag$ (a dialect's dollar quote, such as a DO body or
             * a literal the driver wrote): copied whole, never rendered into */
            const char *q = p + 1;
            while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                   (*q >= '0' && *q <= '9'))
                q++;
            if (*q == '$') {
                size_t taglen = (size_t)(q + 1 - p);
                const char *close = NULL;
                for (const char *s = q + 1; (s = strchr(s, '$')) != NULL; s++)
                    if (strncmp(s, p, taglen) == 0) {
                        close = s;
                        break;
                    }
                const char *end = close ? close + taglen : p + strlen(p);
                rt_buf_append_n(out, p, (size_t)(end - p));
                p = end;
                continue;
            }
        }
        if (c == '$' && p[1] >= '1' && p[1] <= '9') {
            const char *q = p + 1;
            long n = 0;
            while (*q >= '0' && *q <= '9' && n < 100000)
                n = n * 10 + (*q++ - '0');
            if (n < 1 || n > nparams)
                return RETORT_EINVAL;
            rt_quote_literal(be, params[n - 1], out);
            p = q;
            continue;
        }
        rt_buf_append_char(out, c);
        p++;
    }
    return rt_buf_failed(out) ? RETORT_ENOMEM : RETORT_OK;
}

static void record_failure(struct retort_conn *conn, struct retort_report *rep)
{
    int code = rt_report_code(rep, RETORT_EDB);
    rt_note_status(conn->r, code);
    conn->failed = 1;
    conn->oom |= code == RETORT_ENOMEM;
    conn->partial |= code == RETORT_EDIRTY;
    rt_buf_reset(&conn->error);
    rt_buf_append(&conn->error, rt_report_message(rep));
}

RETORT_API int retort_exec(retort_conn *conn, const char *sql)
{
    if (!conn)
        return RETORT_EINVAL;
    if (!sql) {
        conn->failed = 1;
        rt_buf_reset(&conn->error);
        rt_buf_append(&conn->error, "retort_exec: sql is NULL");
        return RETORT_EINVAL;
    }
    if (conn->script) {
        rt_script_append_statement(conn->script, sql);
        return rt_buf_failed(conn->script) ? RETORT_ENOMEM : RETORT_OK;
    }
    retort *r = conn->r;
    struct retort_report rep;
    rt_report_init(&rep);
    int done = 0;
    int rc = r->backend->exec(r->db, sql, &done, &rep);
    conn->done += done;
    if (rc != RETORT_OK) {
        record_failure(conn, &rep);
        rc = rt_report_code(&rep, RETORT_EDB);
    }
    rt_report_free(&rep);
    return rc;
}

RETORT_API int retort_exec_params(retort_conn *conn, const char *sql, int nparams,
                                  const char *const *params)
{
    if (!conn)
        return RETORT_EINVAL;
    if (!sql || nparams < 0 || (nparams > 0 && !params)) {
        conn->failed = 1;
        rt_buf_reset(&conn->error);
        rt_buf_append(&conn->error, "retort_exec_params: sql is NULL or params do not match "
                                    "nparams");
        return RETORT_EINVAL;
    }
    if (conn->script) {
        rt_buf text = RT_BUF_INIT;
        int rc = rt_render_params(conn->r->backend, sql, nparams, params, &text);
        if (rc == RETORT_OK)
            rt_script_append_statement(conn->script, rt_buf_str(&text));
        else {
            conn->failed = 1;
            rt_buf_reset(&conn->error);
            rt_buf_append(&conn->error, "retort_exec_params: the statement refers to a "
                                        "parameter beyond nparams");
        }
        rt_buf_free(&text);
        return rc;
    }
    retort *r = conn->r;
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->exec_params(r->db, sql, nparams, params, &rep);
    if (rc != RETORT_OK) {
        record_failure(conn, &rep);
        rc = rt_report_code(&rep, RETORT_EDB);
    } else {
        conn->done++;
    }
    rt_report_free(&rep);
    return rc;
}

RETORT_API void *retort_native(retort_conn *conn)
{
    if (!conn)
        return NULL;
    if (conn->script) {
        conn->needs_live = 1;
        return NULL;
    }
    return conn->r->backend->native ? conn->r->backend->native(conn->r->db) : NULL;
}

RETORT_API const char *retort_conn_backend(retort_conn *conn)
{
    return conn && conn->r->backend ? conn->r->backend->name : "";
}

RETORT_API int retort_conn_is_offline(retort_conn *conn) { return conn && conn->script; }

RETORT_API const char *retort_conn_errmsg(retort_conn *conn)
{
    return conn && conn->failed ? rt_buf_str(&conn->error) : "";
}

RETORT_API int retort_conn_set_error(retort_conn *conn, const char *message)
{
    if (!conn)
        return RETORT_EINVAL;
    rt_buf_reset(&conn->error);
    rt_buf_append(&conn->error, message ? message : "");
    return RETORT_OK;
}
