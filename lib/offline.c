/*
 * offline.c — renders an upgrade or downgrade plan as a SQL script for the
 * context's dialect, without connecting: the version-table DDL when starting
 * from base, transaction brackets per the transaction mode, each revision's
 * statements under a comment header, and its version-row change.  Callbacks
 * run against an offline retort_conn that appends to the script.
 */
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "context.h"
#include "redact.h"
#include "error.h"
#include "memory.h"
#include "planner.h"
#include "quote.h"
#include "runner.h"
#include "version_table.h"

/* Appends template op with parameters rendered as literals. */
static int append_template(retort *r, rt_buf *script, int op, int nparams,
                           const char *const *params)
{
    rt_buf sql = RT_BUF_INIT, text = RT_BUF_INIT;
    int rc = RETORT_OK;
    int t = rt_vt_template(r, op, &sql);
    if (t < 0) {
        rc = RETORT_ENOMEM;
    } else if (t > 0 && nparams == 0) {
        /* Nothing to render: the statement as expanded, whose names may
         * hold "$1" inside their quotes. */
        rt_script_append_statement(script, rt_buf_str(&sql));
    } else if (t > 0) {
        rc = rt_render_params(r->backend, rt_buf_str(&sql), nparams, params, &text);
        if (rc == RETORT_OK)
            rt_script_append_statement(script, rt_buf_str(&text));
    }
    if (rc == RETORT_OK && rt_buf_failed(script))
        rc = RETORT_ENOMEM;
    /* Poison the script so that the final check catches any failure, also
     * of the calls whose status is not looked at. */
    if (rc != RETORT_OK)
        script->failed = 1;
    rt_buf_free(&sql);
    rt_buf_free(&text);
    return rc;
}

static void append_comment_line(rt_buf *script, const char *label, const char *text)
{
    rt_buf_append(script, "-- ");
    rt_buf_append(script, label);
    /* A message must not end the comment and start SQL on a new line. */
    rt_quote_comment(text, script);
    rt_buf_append_char(script, '\n');
}

/* A script is printed, piped and kept in CI logs: one that would hold a
 * password of the context's URL (a migration that writes it into its own
 * SQL, say) is refused rather than printed, or silently altered by
 * redaction.  from: where the text of what is named begins. */
static int refuse_secret(retort *r, const rt_buf *s, size_t from, const char *what)
{
    if (!r->secrets.n && !r->secrets.failed)
        return RETORT_OK;
    if (!rt_secrets_found(&r->secrets, rt_buf_str(s) + from, s->len - from))
        return RETORT_OK;
    return rt_fail(r, RETORT_EOFFLINE,
                   "%s cannot be rendered offline: its text holds a password of the database "
                   "URL, which retort never prints (doc/SECURITY.md); keep the password out of "
                   "the migration, e.g. read it from a setting the database already holds",
                   what);
}

static int render(retort *r, int up, const char *target, const char **out)
{
    const char *op = up ? "retort_upgrade_sql" : "retort_downgrade_sql";
    int rc = rt_prepare(r, op, 0);
    if (rc != RETORT_OK)
        return rc;
    if (!target || !out)
        return rt_fail(r, RETORT_EINVAL, "%s: %s is NULL", op, !target ? "target" : "script");
    const char *colon = strchr(target, ':');
    if (!up && !colon)
        return rt_fail(r, RETORT_ETARGET, "%s: offline downgrade needs 'FROM:TO' (there is no "
                                          "database to read the current revision from), not "
                                          "'%.200s'", op, target);
    char *from = colon ? rt_strndup(target, (size_t)(colon - target)) : rt_strdup("base");
    const char *to = colon ? colon + 1 : target;
    unsigned char *mark = rt_calloc((size_t)r->graph.n + 1, 1);
    rt_buf err = RT_BUF_INIT;
    rt_plan plan = {NULL, 0};
    if (!from || !mark) {
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
        goto out;
    }
    if (!*from || !*to) {
        rc = rt_fail(r, RETORT_ETARGET, "%s: '%.200s' is not of the form FROM:TO", op, target);
        goto out;
    }
    rc = rt_plan_stamp_set(&r->reg, &r->graph, from, mark, &err);
    if (rc == RETORT_OK)
        rc = up ? rt_plan_upgrade(&r->reg, &r->graph, mark, to, &plan, &err)
                : rt_plan_downgrade(&r->reg, &r->graph, mark, to, &plan, &err);
    if (rc == RETORT_OK)
        rc = up ? rt_plan_check_filled(&r->reg, &plan, &err)
                : rt_plan_check_reversible(&r->reg, &plan, &err);
    if (rc != RETORT_OK) {
        rt_fail(r, rc, "%s: %s", op, rt_buf_str(&err));
        goto out;
    }

    /* Connected contexts already know their names; others use the schema
     * setting alone, as there is no connection to ask for a default. */
    if (!r->db) {
        strcpy(r->schema_in_use, r->schema);
        if ((rc = rt_set_names(r)) != RETORT_OK)
            goto out;
    }
    rt_buf *s = &r->out;
    rt_buf_reset(s);
    rt_buf_printf(s, "-- retort %s script, %s dialect: %s -> %s\n", up ? "upgrade" : "downgrade",
                  r->backend->name, from, to);
    rt_buf_printf(s, "-- generated by retort %s; %d revision%s\n\n", RETORT_VERSION_STRING,
                  plan.n, plan.n == 1 ? "" : "s");
    if (up && strcmp(from, "base") == 0) {
        if (*r->schema_in_use)
            append_template(r, s, RETORT_SQL_CREATE_SCHEMA, 0, NULL);
        append_template(r, s, RETORT_SQL_CREATE_VERSION_TABLE, 0, NULL);
        append_template(r, s, RETORT_SQL_CREATE_LOG_TABLE, 0, NULL);
        rt_buf_append_char(s, '\n');
    }
    int whole = r->tx_mode == RETORT_TX_WHOLE_RUN;
    int in_tx = 0;
    if (whole && plan.n) {
        append_template(r, s, RETORT_SQL_BEGIN, 0, NULL);
        in_tx = 1;
    }
    for (int i = 0; i < plan.n && rc == RETORT_OK; i++) {
        const rt_rev *rev = &r->reg.revs[plan.steps[i]];
        size_t rev_start = s->len;
        int transactional = !(rev->flags & RETORT_REV_NO_TRANSACTION);
        rt_buf_printf(s, "\n-- Revision %s (%s)\n", rev->id, up ? "upgrade" : "downgrade");
        if (*rev->message)
            append_comment_line(s, "message: ", rev->message);
        append_comment_line(s, "parents: ", *rev->parents ? rev->parents : "(base)");
        if (!transactional) {
            rt_buf_append(s, "-- non-transactional: runs outside a transaction\n");
            if (in_tx) {
                append_template(r, s, RETORT_SQL_COMMIT, 0, NULL);
                in_tx = 0;
            }
        } else if (!in_tx) {
            append_template(r, s, RETORT_SQL_BEGIN, 0, NULL);
            in_tx = 1;
        }
        struct retort_conn conn;
        rt_conn_init(&conn, r, s);
        rc = rt_run_body(r, rev, up, &conn);
        if (rc != RETORT_OK) {
            if (conn.needs_live)
                rc = rt_fail(r, RETORT_EOFFLINE,
                             "revision '%s' cannot be rendered offline: its %s callback needs "
                             "the live connection (retort_native returned NULL) and failed: %s",
                             rev->id, up ? "up" : "down", rt_buf_str(&conn.error));
            else
                rc = rt_fail(r, rc == RETORT_ENOMEM ? rc : RETORT_EOFFLINE,
                             "revision '%s': its %s callback failed while rendering offline: %s",
                             rev->id, up ? "up" : "down", rt_buf_str(&conn.error));
            rt_conn_free(&conn);
            break;
        }
        rt_conn_free(&conn);
        if (up) {
            const char *params[] = {rev->id, rev->parents, rev->message,
                                    rev->checksum[0] ? rev->checksum : NULL, "applied", "0"};
            rc = append_template(r, s, RETORT_SQL_INSERT_VERSION, 6, params);
        } else {
            const char *params[] = {rev->id};
            rc = append_template(r, s, RETORT_SQL_DELETE_VERSION, 1, params);
        }
        if (rc == RETORT_OK && !rt_buf_failed(s)) {
            char what[160];
            snprintf(what, sizeof what, "revision '%s'", rev->id);
            rc = refuse_secret(r, s, rev_start, what);
        }
        if (!whole && in_tx) {
            append_template(r, s, RETORT_SQL_COMMIT, 0, NULL);
            in_tx = 0;
        }
    }
    if (rc == RETORT_OK && in_tx)
        append_template(r, s, RETORT_SQL_COMMIT, 0, NULL);
    if ((rc == RETORT_OK && rt_buf_failed(s)) || (rc == RETORT_ENOMEM && r->errcode == RETORT_OK))
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory rendering the script");
    if (rc == RETORT_OK)
        rc = refuse_secret(r, s, 0, "the script");
    if (rc == RETORT_OK)
        *out = rt_buf_str(s);
out:
    rt_free(from);
    rt_free(mark);
    rt_plan_free(&plan);
    rt_buf_free(&err);
    return rc;
}

RETORT_API int retort_upgrade_sql(retort *r, const char *target, const char **script)
{
    RT_GUARD(r);
    return render(r, 1, target, script);
}

RETORT_API int retort_downgrade_sql(retort *r, const char *target, const char **script)
{
    RT_GUARD(r);
    return render(r, 0, target, script);
}

/* Splits a stamp target into FROM (shared by every part; "base" when
 * absent) and the space-separated TO parts.  ETARGET when parts disagree. */
static int split_stamp_target(retort *r, const char *target, rt_buf *from, rt_buf *to)
{
    const char *p = target;
    int have_from = 0;
    while (*p) {
        p += strspn(p, " \t\r\n");
        if (!*p)
            break;
        size_t len = strcspn(p, " \t\r\n");
        const char *colon = memchr(p, ':', len);
        const char *t = p;
        size_t tlen = len;
        if (colon) {
            size_t flen = (size_t)(colon - p);
            if (have_from && (strlen(rt_buf_str(from)) != flen ||
                              memcmp(rt_buf_str(from), p, flen) != 0))
                return rt_fail(r, RETORT_ETARGET, "retort_stamp_sql: '%.200s' names several "
                                                  "FROM revisions; the parts share one FROM",
                               target);
            if (!have_from)
                rt_buf_append_n(from, p, flen);
            have_from = 1;
            t = colon + 1;
            tlen = len - flen - 1;
            if (memchr(t, ':', tlen))
                return rt_fail(r, RETORT_ETARGET, "retort_stamp_sql: '%.200s' is not of the "
                                                  "form FROM:TO", target);
        }
        if (tlen) {
            if (*rt_buf_str(to))
                rt_buf_append_char(to, ' ');
            rt_buf_append_n(to, t, tlen);
        }
        p += len;
    }
    if (!*rt_buf_str(from))
        rt_buf_append(from, "base");
    if (!*rt_buf_str(to))
        return rt_fail(r, RETORT_ETARGET, "retort_stamp_sql: '%.200s' names no TO target "
                                          "(use 'TO' or 'FROM:TO')", target);
    if (rt_buf_failed(from) || rt_buf_failed(to))
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    return RETORT_OK;
}

RETORT_API int retort_stamp_sql(retort *r, const char *target, const char **script)
{
    RT_GUARD(r);
    const char *op = "retort_stamp_sql";
    int rc = rt_prepare(r, op, 0);
    if (rc != RETORT_OK)
        return rc;
    if (!target || !script)
        return rt_fail(r, RETORT_EINVAL, "%s: %s is NULL", op, !target ? "target" : "script");
    rt_buf from = RT_BUF_INIT, to = RT_BUF_INIT, err = RT_BUF_INIT;
    unsigned char *before = rt_calloc((size_t)r->graph.n + 1, 1);
    unsigned char *after = rt_calloc((size_t)r->graph.n + 1, 1);
    if (!before || !after) {
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = split_stamp_target(r, target, &from, &to)) != RETORT_OK)
        goto out;
    rc = rt_plan_stamp_set_from(&r->reg, &r->graph, NULL, rt_buf_str(&from), before, &err);
    if (rc == RETORT_OK)
        rc = rt_plan_stamp_set_from(&r->reg, &r->graph, before, rt_buf_str(&to), after, &err);
    if (rc != RETORT_OK) {
        rt_fail(r, rc, "%s: %s", op, rt_buf_str(&err));
        goto out;
    }
    if (!r->db) {
        strcpy(r->schema_in_use, r->schema);
        if ((rc = rt_set_names(r)) != RETORT_OK)
            goto out;
    }
    rt_buf *s = &r->out;
    rt_buf_reset(s);
    int changes = 0;
    for (int i = 0; i < r->graph.n; i++)
        changes += before[i] != after[i];
    rt_buf_printf(s, "-- retort stamp script, %s dialect: %s -> %s\n", r->backend->name,
                  rt_buf_str(&from), rt_buf_str(&to));
    rt_buf_printf(s, "-- generated by retort %s; %d version row%s changed, no migration runs\n\n",
                  RETORT_VERSION_STRING, changes, changes == 1 ? "" : "s");
    if (strcmp(rt_buf_str(&from), "base") == 0) {
        if (*r->schema_in_use)
            append_template(r, s, RETORT_SQL_CREATE_SCHEMA, 0, NULL);
        append_template(r, s, RETORT_SQL_CREATE_VERSION_TABLE, 0, NULL);
        append_template(r, s, RETORT_SQL_CREATE_LOG_TABLE, 0, NULL);
        rt_buf_append_char(s, '\n');
    }
    if (changes)
        append_template(r, s, RETORT_SQL_BEGIN, 0, NULL);
    /* Children first when removing, parents first when adding. */
    for (int k = r->graph.n - 1; k >= 0; k--) {
        int v = r->graph.topo[k];
        if (before[v] && !after[v]) {
            const char *params[] = {r->reg.revs[v].id};
            rt_buf_printf(s, "-- stamp %s as not applied\n", r->reg.revs[v].id);
            append_template(r, s, RETORT_SQL_DELETE_VERSION, 1, params);
        }
    }
    for (int k = 0; k < r->graph.n; k++) {
        int v = r->graph.topo[k];
        if (!before[v] && after[v]) {
            const rt_rev *rev = &r->reg.revs[v];
            const char *params[] = {rev->id, rev->parents, rev->message,
                                    rev->checksum[0] ? rev->checksum : NULL, "applied", "0"};
            rt_buf_printf(s, "-- stamp %s as applied\n", rev->id);
            append_template(r, s, RETORT_SQL_INSERT_VERSION, 6, params);
        }
    }
    if (changes)
        append_template(r, s, RETORT_SQL_COMMIT, 0, NULL);
    if (rt_buf_failed(s))
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory rendering the script");
    else if ((rc = refuse_secret(r, s, 0, "the stamp script")) == RETORT_OK)
        *script = rt_buf_str(s);
out:
    rt_free(before);
    rt_free(after);
    rt_buf_free(&from);
    rt_buf_free(&to);
    rt_buf_free(&err);
    return rc;
}
