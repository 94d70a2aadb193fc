/*
 * repeatable.c — Flyway's repeatable migrations (repeatable.h).
 *
 * As Flyway does: after the versioned migrations of an upgrade, each
 * repeatable migration whose checksum differs from the one recorded (or that
 * was never applied) runs again, in order of description.  Its row in the
 * version table is replaced (delete, insert: the new checksum and time), and
 * every application is an audit-log entry.  A downgrade leaves them alone:
 * Flyway has no undo for repeatable migrations.
 */
#include "repeatable.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "context.h"
#include "error.h"
#include "log.h"
#include "runner.h"
#include "version_table.h"

int rt_is_repeatable_id(const char *id)
{
    return id[0] == 'R' && id[1] == '_' && id[2] == '_' && id[3];
}

/* The row recorded for id, or NULL. */
static const rt_row *row_of(const retort *r, const char *id)
{
    for (int i = 0; i < r->rstate.n; i++)
        if (strcmp(r->rstate.rows[i].id, id) == 0)
            return &r->rstate.rows[i];
    return NULL;
}

static int due(const retort *r, const rt_rev *rev)
{
    const rt_row *row = row_of(r, rev->id);
    return !row || strcmp(row->state, "applied") != 0 || !row->checksum ||
           strcmp(row->checksum, rev->checksum) != 0;
}

int rt_repeatables_due(const retort *r)
{
    int n = 0;
    for (int i = 0; i < r->rreg.n; i++)
        n += due(r, &r->rreg.revs[i]);
    return n;
}

void rt_repeatables_append_due(const retort *r, rt_buf *out)
{
    int n = 0;
    for (int i = 0; i < r->rreg.n; i++) {
        if (!due(r, &r->rreg.revs[i]))
            continue;
        if (n++)
            rt_buf_append_char(out, ' ');
        rt_buf_append(out, r->rreg.revs[i].id);
    }
}

RETORT_API int retort_repeatables(retort *r, const char **list)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_repeatables", 1);
    if (rc != RETORT_OK)
        return rc;
    if (!list)
        return rt_fail(r, RETORT_EINVAL, "retort_repeatables: list is NULL");
    if ((rc = rt_vt_read(r)) != RETORT_OK)
        return rc;
    rt_buf_reset(&r->out);
    for (int i = 0; i < r->rreg.n; i++) {
        const rt_rev *rev = &r->rreg.revs[i];
        const rt_row *row = row_of(r, rev->id);
        rt_buf_printf(&r->out, "%s %s\n", rev->id,
                      !row || strcmp(row->state, "applied") != 0 ? "pending"
                      : due(r, rev)                              ? "changed"
                                                                 : "applied");
    }
    if (rt_buf_failed(&r->out))
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    *list = rt_buf_str(&r->out);
    return RETORT_OK;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void iso(char out[64])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void emit(retort *r, int phase, const rt_rev *rev, int index, int total, int status,
                 long ms)
{
    if (!r->event_fn)
        return;
    int was = r->in_callback;
    r->in_callback = 1;
    r->event_fn(phase, 1, index, total, rev->id, rev->message, status, ms, r->event_user);
    r->in_callback = was;
}

static int tx(retort *r, int which, const char *id)
{
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = which == 0   ? r->backend->begin(r->db, &rep)
             : which == 1 ? r->backend->commit(r->db, &rep)
                          : r->backend->rollback(r->db, &rep);
    if (rc != RETORT_OK && which != 2) {
        char what[200];
        snprintf(what, sizeof what, "repeatable migration '%s': cannot %s", id,
                 which == 0 ? "begin a transaction" : "commit");
        rc = rt_fail_report(r, &rep, RETORT_EDB, what);
    }
    rt_report_free(&rep);
    r->dv_known = 0; /* the core no longer knows the table as it is */
    return rc;
}

/* Records the failure in the audit log outside any transaction, keeping
 * the failure's message on the context. */
static void log_failure(retort *r, const char *id, const char *started, const char *error)
{
    int code = r->errcode;
    rt_buf saved = RT_BUF_INIT;
    rt_buf_append(&saved, rt_buf_str(&r->errmsg));
    char finished[64];
    iso(finished);
    if (rt_vt_log(r, id, "up", started, finished, "failed", error, -1) != RETORT_OK)
        rt_log(r, RETORT_LOG_WARN, "could not record the failure of '%s' in the audit log: %s",
               id, retort_errmsg(r));
    r->errcode = code;
    rt_buf_reset(&r->errmsg);
    rt_buf_append(&r->errmsg, rt_buf_str(&saved));
    rt_buf_free(&saved);
}

/* Whether rev is still due, judged in a transaction of its own: on SQLite
 * that transaction holds the write lock, so the rows read are the ones the
 * step will replace.  The rows read before (by the run, before its
 * versioned steps or the previous repeatable) may be stale: another
 * process can have applied it since.  Leaves the transaction open when
 * *still is set and rc is RETORT_OK; rolled back otherwise. */
static int claim(retort *r, const rt_rev *rev, int *still)
{
    *still = 0;
    int rc = tx(r, 0, rev->id);
    if (rc != RETORT_OK)
        return rc;
    if ((rc = rt_vt_read(r)) == RETORT_OK && due(r, rev)) {
        *still = 1;
        return RETORT_OK;
    }
    tx(r, 2, rev->id);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_DEBUG, "repeatable migration '%s': another process applied it first",
               rev->id);
    return rc;
}

/* Applies rev if it is still due; *ran tells whether this process ran it. */
static int apply_one(retort *r, const rt_rev *rev, int index, int total, int *ran)
{
    int in_tx = !(rev->flags & RETORT_REV_NO_TRANSACTION);
    int still = 0;
    *ran = 0;
    int rc = claim(r, rev, &still);
    if (rc != RETORT_OK || !still)
        return rc;
    /* A non-transactional body runs outside that transaction: the check
     * stands only as long as it lasts, so on a backend without a migration
     * lock (SQLite) two processes can still both run such a repeatable
     * (doc/RELIABILITY.md). */
    if (!in_tx && (rc = tx(r, 1, rev->id)) != RETORT_OK)
        return rc;
    *ran = 1;
    emit(r, RETORT_EVENT_BEFORE, rev, index, total, RETORT_OK, 0);
    char started[64], finished[64];
    iso(started);
    long t0 = now_ms();
    struct retort_conn conn;
    rt_conn_init(&conn, r, NULL);
    rc = rt_run_body(r, rev, 1, &conn);
    long ms = now_ms() - t0;
    if (rc != RETORT_OK) {
        if (in_tx)
            tx(r, 2, rev->id);
        rt_fail(r, rc == RETORT_ENOMEM ? RETORT_ENOMEM : RETORT_EMIGRATION,
                "repeatable migration '%s' (%s) failed: %s; %s", rev->id, rev->message,
                rt_buf_str(&conn.error),
                in_tx ? "it was rolled back and runs again at the next upgrade"
                      : "it ran outside a transaction, so its statements before the failing "
                        "one stay done; it runs again at the next upgrade");
        log_failure(r, rev->id, started, rt_buf_str(&conn.error));
        rt_conn_free(&conn);
        emit(r, RETORT_EVENT_AFTER, rev, index, total, r->errcode, ms);
        return r->errcode;
    }
    rt_conn_free(&conn);
    iso(finished);
    /* Outside a transaction, another process may have recorded it
     * meanwhile: its row, as it is now, is the one replaced. */
    if (!in_tx && (rc = tx(r, 0, rev->id)) == RETORT_OK && (rc = rt_vt_read(r)) != RETORT_OK)
        tx(r, 2, rev->id);
    if (rc != RETORT_OK) {
        emit(r, RETORT_EVENT_AFTER, rev, index, total, rc, ms);
        return rc;
    }
    /* Its row, replaced: the checksum of the text now applied. */
    if (row_of(r, rev->id))
        rc = rt_vt_delete(r, rev->id);
    if (rc == RETORT_OK)
        rc = rt_vt_insert(r, rev, "applied", ms);
    if (rc == RETORT_OK)
        rc = rt_vt_log(r, rev->id, "up", started, finished, "ok", NULL, -1);
    if (rc == RETORT_OK)
        rc = tx(r, 1, rev->id);
    else
        tx(r, 2, rev->id);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_INFO, "applied repeatable migration '%s' in %ld ms", rev->id, ms);
    emit(r, RETORT_EVENT_AFTER, rev, index, total, rc, ms);
    return rc;
}

int rt_repeatables_apply(retort *r)
{
    int total = rt_repeatables_due(r), index = 0;
    for (int i = 0; i < r->rreg.n; i++) {
        const rt_rev *rev = &r->rreg.revs[i];
        if (!due(r, rev))
            continue;
        int ran = 0;
        int rc = apply_one(r, rev, index + 1, total, &ran);
        if (rc != RETORT_OK)
            return rc;
        if (ran)
            index++;
        else
            total--; /* another process took it: this call runs one fewer */
    }
    return RETORT_OK;
}
