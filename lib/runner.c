/*
 * runner.c — the online operations: upgrade, downgrade, stamp, check, the
 * dirty-state resolutions and the read-only views of the state.  Owns the
 * order of events of a run (read, plan, lock, re-read, execute, record)
 * and its transactions; the SQL of the version table is version_table.c's,
 * the plans are planner.c's, the dialect is the driver's.
 */
#include "runner.h"
#include "repeatable.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "error.h"
#include "log.h"
#include "memory.h"
#include "planner.h"
#include "version_table.h"

/* ------------------------------------------------------------- helpers */

#define ISO_LEN 64 /* "2026-11-24T20:31:00.000Z" with room for any year */

static long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes v as exactly width digits, most significant first. */
static char *put_digits(char *w, long v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        w[i] = (char)('0' + v % 10);
    return w + width;
}

/* "2026-11-24T20:31:00.000Z", twice per revision: by hand, since snprintf
 * was the largest cost of a step's own bookkeeping (callgrind). */
static void iso_now(char out[ISO_LEN])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    long year = tm.tm_year + 1900L;
    if (year < 0 || year > 9999) { /* a broken clock: say so, legibly */
        snprintf(out, ISO_LEN, "%ld-%02d-%02dT%02d:%02d:%02d.%03ldZ", year, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
        return;
    }
    char *w = put_digits(out, year, 4);
    *w++ = '-';
    w = put_digits(w, tm.tm_mon + 1, 2);
    *w++ = '-';
    w = put_digits(w, tm.tm_mday, 2);
    *w++ = 'T';
    w = put_digits(w, tm.tm_hour, 2);
    *w++ = ':';
    w = put_digits(w, tm.tm_min, 2);
    *w++ = ':';
    w = put_digits(w, tm.tm_sec, 2);
    *w++ = '.';
    w = put_digits(w, ts.tv_nsec / 1000000, 3);
    *w++ = 'Z';
    *w = '\0';
}

int rt_prepare(retort *r, const char *op, int connect)
{
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    r->dv_known = 0; /* only a read by this operation vouches for the table */
    if (r->in_callback)
        return rt_fail(r, RETORT_EMISUSE, "%s called from inside a migration callback", op);
    if (!r->backend)
        return rt_fail(r, RETORT_EURL, "%s: the context has no usable database URL ('%s'); "
                                       "see the error of retort_new",
                       op, r->url_redacted ? r->url_redacted : "");
    rt_buf err = RT_BUF_INIT;
    int rc = rt_graph_build(&r->graph, &r->reg, &err);
    if (rc != RETORT_OK) {
        rt_fail(r, rc, "%s", rt_buf_str(&err));
        rt_buf_free(&err);
        return rc;
    }
    rt_buf_free(&err);
    r->fresh = 0; /* an operation may have used the version table's name */
    return connect ? rt_connect(r) : RETORT_OK;
}

/* retort_free was called from a callback (a migration's, the log
 * function): no step runs after that; the guarded call frees on return. */
static int stop_freed(struct retort_conn *conn)
{
    rt_buf_reset(&conn->error);
    rt_buf_append(&conn->error, "retort_free() was called from inside a callback: the "
                                "operation stops and the context is freed when it returns");
    return RETORT_EMIGRATION;
}

int rt_run_body(retort *r, const rt_rev *rev, int up, struct retort_conn *conn)
{
    if (r->free_pending)
        return stop_freed(conn);
    if (rev->flags & RETORT_REV_SQL) {
        const char *sql = up ? rev->up_sql : rev->down_sql;
        if (conn->script) {
            rt_script_append_statement(conn->script, sql);
            return rt_buf_failed(conn->script) ? RETORT_ENOMEM : RETORT_OK;
        }
        struct retort_report rep;
        rt_report_init(&rep);
        int done = 0;
        int rc = r->backend->exec(r->db, sql, &done, &rep);
        conn->done = done;
        if (rc != RETORT_OK) {
            int code = rt_report_code(&rep, rc);
            rt_note_status(r, code);
            rt_buf_reset(&conn->error);
            rt_buf_append(&conn->error, rt_report_message(&rep));
            conn->partial |= code == RETORT_EDIRTY;
            /* Running out of memory is not the migration's fault. */
            rc = code == RETORT_ENOMEM ? RETORT_ENOMEM : RETORT_EMIGRATION;
        }
        rt_report_free(&rep);
        return rc;
    }
    retort_fn fn = up ? rev->up : rev->down;
    r->in_callback = 1;
    int ret = fn(conn, rev->user);
    r->in_callback = 0;
    if (r->free_pending)
        return stop_freed(conn);
    if (ret == 0)
        return RETORT_OK;
    if (conn->oom)
        return RETORT_ENOMEM;
    if (!conn->error.len)
        rt_buf_printf(&conn->error, "the %s callback returned %d", up ? "up" : "down", ret);
    return RETORT_EMIGRATION;
}

/* Lists up to max ids of rows matching a predicate, for messages. */
static void append_row_ids(const rt_state *s, int want_unknown, rt_buf *out)
{
    int shown = 0, total = 0;
    for (int i = 0; i < s->n; i++) {
        const rt_row *row = &s->rows[i];
        int match = want_unknown ? row->rev < 0 : strcmp(row->state, "applied") != 0;
        if (!match)
            continue;
        if (shown < 5) {
            rt_buf_printf(out, "%s'%s'", shown ? ", " : "", row->id);
            shown++;
        }
        total++;
    }
    if (total > shown)
        rt_buf_printf(out, " and %d more", total - shown);
}

/*
 * Checks the state just read.  checksum_strict: a mismatch is an error
 * whatever the policy says (except ignore), for retort_check.
 */
static int check_state(retort *r, int checksum_strict)
{
    rt_state *s = &r->state;
    if (s->ndirty) {
        rt_buf ids = RT_BUF_INIT;
        append_row_ids(s, 0, &ids);
        const char *first = "ID";
        for (int i = 0; i < s->n; i++)
            if (strcmp(s->rows[i].state, "applied") != 0) {
                first = s->rows[i].id;
                break;
            }
        rt_fail(r, RETORT_EDIRTY,
                "the database is dirty: non-transactional revision %s failed midway and may "
                "be partly applied; inspect the database, finish or undo its statements by "
                "hand, then resolve with retort_mark_applied(r, \"%s\") or "
                "retort_mark_reverted(r, \"%s\") (command: retort mark-applied|mark-reverted %s)",
                rt_buf_str(&ids), first, first, first);
        rt_buf_free(&ids);
        return RETORT_EDIRTY;
    }
    if (s->nunknown && !r->tolerate_unknown) {
        rt_buf ids = RT_BUF_INIT;
        append_row_ids(s, 1, &ids);
        rt_fail(r, RETORT_EUNKNOWN,
                "the version table %s records revision%s %s that this application does not "
                "know (applied by a newer version? set tolerate_unknown to accept that "
                "(command: pass --set tolerate_unknown=true to accept that))",
                r->qtable, s->nunknown > 1 ? "s" : "", rt_buf_str(&ids));
        rt_buf_free(&ids);
        return RETORT_EUNKNOWN;
    }
    if (r->checksum_policy == RETORT_CHECKSUM_IGNORE)
        return RETORT_OK;
    for (int i = 0; i < s->n; i++) {
        const rt_row *row = &s->rows[i];
        if (row->rev < 0 || !row->checksum || !*row->checksum)
            continue;
        const rt_rev *rev = &r->reg.revs[row->rev];
        if (!(rev->flags & RETORT_REV_SQL) || strcmp(rev->checksum, row->checksum) == 0)
            continue;
        if (checksum_strict || r->checksum_policy == RETORT_CHECKSUM_ERROR)
            return rt_fail(r, RETORT_ECHECKSUM,
                           "revision '%s' was applied from SQL text with checksum %.12s..., but "
                           "its registered text now has checksum %.12s...: the migration was "
                           "edited after it was applied; restore it, or if the edit was "
                           "intended record it with retort_repair (command: retort repair %s)",
                           rev->id, row->checksum, rev->checksum, rev->id);
        rt_log(r, RETORT_LOG_WARN,
               "revision '%s' was applied from SQL text with checksum %.12s..., but its "
               "registered text now has checksum %.12s... (edited after it was applied; if "
               "intended, record it with retort_repair, command: retort repair %s)",
               rev->id, row->checksum, rev->checksum, rev->id);
    }
    return RETORT_OK;
}

/* An upgrade plan holding revisions that are ancestors of applied ones:
 * refused unless allow_out_of_order, then logged. */
static int check_out_of_order(retort *r, const rt_plan *plan)
{
    rt_buf ids = RT_BUF_INIT;
    int n = rt_plan_out_of_order(&r->reg, &r->graph, r->state.mark, plan, &ids);
    int rc = RETORT_OK;
    if (n < 0)
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
    else if (n > 0 && !r->allow_out_of_order)
        rc = rt_fail(r, RETORT_EGRAPH,
                     "revision%s %s %s out of order: not applied, but %s of revisions already "
                     "applied (a migration added after later ones were applied, such as a "
                     "file that sorts before them); refusing to apply %s after them. Set "
                     "allow_out_of_order to apply %s anyway (command: --allow-out-of-order, "
                     "environment RETORT_ALLOW_OUT_OF_ORDER=1, retort.ini "
                     "allow_out_of_order = true)",
                     n > 1 ? "s" : "", rt_buf_str(&ids), n > 1 ? "are" : "is",
                     n > 1 ? "ancestors" : "an ancestor", n > 1 ? "them" : "it",
                     n > 1 ? "them" : "it");
    else if (n > 0)
        rt_log(r, RETORT_LOG_WARN,
               "applying out of order, as allow_out_of_order permits: revision%s %s",
               n > 1 ? "s" : "", rt_buf_str(&ids));
    rt_buf_free(&ids);
    return rc;
}

/* Plans from the state just read and checked: toward goal when the run has
 * resolved its target already (a re-plan), else toward target.  Plan empty
 * at target. */
static int plan_state(retort *r, int up, const char *target, const unsigned char *goal,
                      rt_plan *plan)
{
    rt_plan_free(plan);
    rt_buf err = RT_BUF_INIT;
    int rc;
    if (goal) {
        rc = rt_plan_toward(&r->graph, r->state.mark, goal, up, plan);
        if (rc != RETORT_OK)
            rt_buf_append(&err, "out of memory");
    } else {
        rc = up ? rt_plan_upgrade(&r->reg, &r->graph, r->state.mark, target, plan, &err)
                : rt_plan_downgrade(&r->reg, &r->graph, r->state.mark, target, plan, &err);
    }
    if (rc == RETORT_OK)
        rc = up ? rt_plan_check_filled(&r->reg, plan, &err)
                : rt_plan_check_reversible(&r->reg, plan, &err);
    if (rc != RETORT_OK) {
        rt_plan_free(plan);
        rt_fail(r, rc, "%s", rt_buf_str(&err));
    } else if (up && plan->n && !r->state.nunknown &&
               (rc = check_out_of_order(r, plan)) != RETORT_OK) {
        rt_plan_free(plan);
    } else if (up && plan->n && r->state.nunknown) {
        /* Tolerating newer revisions means running nothing into a database
         * that is ahead of us; a known revision missing there is an error. */
        rt_buf ids = RT_BUF_INIT;
        append_row_ids(&r->state, 1, &ids);
        rc = rt_fail(r, RETORT_EUNKNOWN,
                     "the database holds revisions this application does not know (%s) and "
                     "revision '%s', which it does know, is not applied: refusing to migrate a "
                     "database that is ahead of this application",
                     rt_buf_str(&ids), r->reg.revs[plan->steps[0]].id);
        rt_buf_free(&ids);
        rt_plan_free(plan);
    } else if (!up && r->state.nunknown) {
        /* Even with nothing known to revert: success would claim the
         * database is at the target while newer revisions stay applied. */
        rt_buf ids = RT_BUF_INIT;
        append_row_ids(&r->state, 1, &ids);
        rc = rt_fail(r, RETORT_EUNKNOWN, "refusing to downgrade a database that holds "
                                         "revisions this application does not know (%s); only "
                                         "the application that added them can revert them",
                     rt_buf_str(&ids));
        rt_buf_free(&ids);
        rt_plan_free(plan);
    }
    rt_buf_free(&err);
    return rc;
}

/* Reads and checks the state, then plans toward target. */
static int read_and_plan(retort *r, int up, const char *target, rt_plan *plan)
{
    rt_plan_free(plan);
    int rc = rt_vt_read(r);
    if (rc == RETORT_OK)
        rc = check_state(r, 0);
    return rc != RETORT_OK ? rc : plan_state(r, up, target, NULL, plan);
}

/* The first read of an operation, outside any lock or transaction: if the
 * session died while the context was idle (a server restart, a terminated
 * backend), reconnect once and read again.  Only here is that safe: later
 * reads run under a session lock that a new session would not hold. */
static int first_read(retort *r)
{
    int rc = rt_vt_read(r);
    if (rc == RETORT_ECONNECT && r->conn_broken && (rc = rt_connect(r)) == RETORT_OK)
        rc = rt_vt_read(r);
    return rc;
}

static int first_read_and_plan(retort *r, int up, const char *target, rt_plan *plan)
{
    int rc = read_and_plan(r, up, target, plan);
    if (rc == RETORT_ECONNECT && r->conn_broken && (rc = rt_connect(r)) == RETORT_OK)
        rc = read_and_plan(r, up, target, plan);
    return rc;
}

/* ------------------------------------------------------ transactions */

static int tx(retort *r, int which, const char *what_fmt, const char *id)
{
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = which == 0   ? r->backend->begin(r->db, &rep)
             : which == 1 ? r->backend->commit(r->db, &rep)
                          : r->backend->rollback(r->db, &rep);
    if (rc != RETORT_OK) {
        rt_buf what = RT_BUF_INIT;
        rt_buf_printf(&what, what_fmt, id);
        rc = rt_fail_report(r, &rep, RETORT_EDB, rt_buf_str(&what));
        rt_buf_free(&what);
    }
    rt_report_free(&rep);
    return rc;
}

static int begin_tx(retort *r, const char *id)
{
    return tx(r, 0, "revision '%s': cannot begin a transaction", id);
}
/* A commit the core has not vouched for (rt_vt_committed) leaves it not
 * knowing the table as it is. */
static int commit_tx(retort *r, const char *id)
{
    r->dv_known = 0;
    return tx(r, 1, "revision '%s': cannot commit", id);
}
/* Rolling back after a failure must not replace the failure's message. */
static void rollback_quietly(retort *r)
{
    r->dv_known = 0;
    struct retort_report rep;
    rt_report_init(&rep);
    int rc = r->backend->rollback(r->db, &rep);
    if (rc != RETORT_OK) {
        rt_note_status(r, rt_report_code(&rep, rc));
        rt_log(r, RETORT_LOG_WARN, "rollback failed: %s", rt_report_message(&rep));
    }
    rt_report_free(&rep);
}

/* Appends to the audit log outside any transaction, after a failure;
 * keeps the failure's message on the context. */
static void log_failure_quietly(retort *r, const char *id, const char *direction,
                                const char *started, const char *error, int done)
{
    int code = r->errcode;
    rt_buf saved = RT_BUF_INIT;
    rt_buf_append(&saved, rt_buf_str(&r->errmsg));
    char finished[ISO_LEN];
    iso_now(finished);
    if (rt_vt_log(r, id, direction, started, finished, "failed", error, done) != RETORT_OK)
        rt_log(r, RETORT_LOG_WARN, "could not record the failure of '%s' in the audit log: %s",
               id, retort_errmsg(r));
    r->errcode = code;
    rt_buf_reset(&r->errmsg);
    rt_buf_append(&r->errmsg, rt_buf_str(&saved));
    rt_buf_free(&saved);
}

/* ---------------------------------------------------------- a whole run */

/*
 * One upgrade or downgrade as it runs.  Every write transaction begins with
 * a re-check under its write lock where the lock is not exclusive (SQLite):
 * when the driver's data version shows that another connection committed
 * since the core last knew the table, the state is read again and the rest
 * of the run re-planned toward goal, the set the target was resolved to
 * under the first write lock.  So each step taken has, at that moment, all
 * its parents recorded (up) or no recorded child (down), and no body runs
 * for a step another migrator took already.
 */
typedef struct run {
    int up;
    const char *target;
    rt_plan *plan;
    int next;             /* index in plan of the next step */
    int exclusive;        /* the lock excludes every other migrator: no re-checks */
    unsigned char *goal;  /* NULL until resolved under the first write lock */
    int started;          /* steps begun by this process, for the events' index */
    /* whole-run mode: steps done inside the open run transaction, whose
     * after-events wait for its end */
    int *pending;
    long *pending_ms;
    int npending;
    int pending_first; /* the events' index of pending[0] */
} run;

/* Calls the event callback, refusing reentry as a migration callback does. */
static void emit(retort *r, int phase, const rt_rev *rev, int up, int index, int total,
                 int status, long ms)
{
    if (!r->event_fn)
        return;
    int was = r->in_callback;
    r->in_callback = 1;
    r->event_fn(phase, up ? 1 : -1, index, total, rev->id, rev->message, status, ms,
                r->event_user);
    r->in_callback = was;
}

/* Announces the step about to run: this process is running it now.  Called
 * after x->next moved past it, so the plan's rest is what follows it. */
static int before_step(retort *r, run *x, const rt_rev *rev)
{
    int index = ++x->started;
    emit(r, RETORT_EVENT_BEFORE, rev, x->up, index, index + x->plan->n - x->next,
         RETORT_OK, 0);
    return index;
}

static void after_step(retort *r, run *x, const rt_rev *rev, int index, int status, long ms)
{
    emit(r, RETORT_EVENT_AFTER, rev, x->up, index, index + x->plan->n - x->next, status,
         ms);
}

/* The end of the run transaction (whole-run mode): each step it held is
 * applied (status RETORT_OK, committed) or was rolled back (the error). */
static void settle_pending(retort *r, run *x, int status)
{
    int total = x->started + x->plan->n - x->next;
    for (int k = 0; k < x->npending; k++) {
        int index = x->pending_first + k;
        emit(r, RETORT_EVENT_AFTER, &r->reg.revs[x->pending[k]], x->up, index, total, status,
             x->pending_ms[k]);
    }
    x->npending = 0;
}

static int fail_step(retort *r, const rt_rev *rev, int up, const char *detail, int whole_run)
{
    /* The database refused a statement inside a transaction: say how the
     * revision's own format (goose, dbmate, ...) runs it outside one. */
    int hint = rev->no_tx_hint && (strstr(detail, "inside a transaction block") ||
                                   strstr(detail, "within a transaction"));
    return rt_fail(r, RETORT_EMIGRATION, "%s of revision '%s'%s%s%s failed: %s%s%s%s; %s",
                   up ? "upgrade" : "downgrade", rev->id, *rev->message ? " (" : "",
                   rev->message, *rev->message ? ")" : "", detail,
                   hint ? " (to run it outside a transaction, " : "",
                   hint ? rev->no_tx_hint : "", hint ? ")" : "",
                   whole_run ? "the whole run was rolled back (transaction mode whole-run)"
                             : up ? "it was rolled back, earlier revisions stay applied"
                                  : "it was rolled back, revisions reverted before it stay "
                                    "reverted");
}

/* Keeps the applied marks (seen through retort_revision_info) in step with
 * what was just committed, without reading the table again. */
static void set_mark(retort *r, const rt_rev *rev, int mark)
{
    int i = (int)(rev - r->reg.revs);
    if (r->state.mark && i < r->state.nmark)
        r->state.mark[i] = (unsigned char)mark;
}

static void log_done(retort *r, const rt_rev *rev, int up, long ms)
{
    rt_log(r, RETORT_LOG_INFO, "%s %s%s%s%s in %ld ms", up ? "applied" : "reverted", rev->id,
           *rev->message ? " (" : "", rev->message, *rev->message ? ")" : "", ms);
}

/*
 * A transactional step whose body ended the transaction the core opened
 * (COMMIT or ROLLBACK in it; the driver reports RETORT_EDIRTY): what ran
 * before that statement may be committed, with no version row.  Already
 * rolled back; marks the revision dirty in a transaction of its own, so
 * that every later run refuses until an operator resolves it, and appends
 * the failure to the audit log.
 */
static int fail_partly_committed(retort *r, const rt_rev *rev, int up, int in_run_tx,
                                 const char *detail, const char *started)
{
    rt_buf msg = RT_BUF_INIT;
    rt_buf_printf(&msg,
                  "%s of revision '%s'%s%s%s failed: %s; part of it%s may have been committed by "
                  "that statement, so the database is now marked dirty: inspect it, then "
                  "resolve with retort_mark_applied or retort_mark_reverted (command: retort "
                  "mark-applied|mark-reverted %s)",
                  up ? "upgrade" : "downgrade", rev->id, *rev->message ? " (" : "",
                  rev->message, *rev->message ? ")" : "", detail,
                  in_run_tx ? " (and the revisions before it in this whole-run transaction)"
                              : "",
                  rev->id);
    int rc = begin_tx(r, rev->id);
    if (rc == RETORT_OK)
        rc = up ? rt_vt_insert(r, rev, "dirty", 0) : rt_vt_update(r, rev->id, "dirty", 0);
    if (rc == RETORT_OK)
        rc = commit_tx(r, rev->id);
    if (rc != RETORT_OK) {
        rollback_quietly(r);
        rt_buf_printf(&msg, " (marking it dirty failed too: %s)", retort_errmsg(r));
    } else {
        set_mark(r, rev, RT_DIRTY);
    }
    rt_fail(r, RETORT_EMIGRATION, "%s", rt_buf_str(&msg));
    rt_buf_free(&msg);
    log_failure_quietly(r, rev->id, up ? "up" : "down", started, detail, -1);
    return RETORT_EMIGRATION;
}

/*
 * Right after begin, under its write lock: where the lock is not exclusive
 * and another connection may have committed since the core last knew the
 * table (its data version moved, or cannot tell), reads the state again and
 * re-plans toward the goal; x->next restarts at 0.  Unchanged, the plan
 * stands: one data-version check, no query.  The first time, the goal is
 * resolved from the plan now known to hold under the lock.
 */
static int recheck(retort *r, run *x)
{
    if (x->exclusive)
        return RETORT_OK;
    if (!rt_vt_unchanged(r)) {
        int rc = rt_vt_read(r);
        if (rc == RETORT_OK)
            rc = check_state(r, 0);
        if (rc == RETORT_OK)
            rc = plan_state(r, x->up, x->target, x->goal, x->plan);
        if (rc != RETORT_OK)
            return rc;
        if (x->goal || x->plan->n)
            rt_log(r, RETORT_LOG_DEBUG, "another migrator changed the version table: "
                                        "re-planned, %d step%s left",
                   x->plan->n, x->plan->n == 1 ? "" : "s");
        x->next = 0;
    }
    if (!x->goal) {
        x->goal = rt_calloc((size_t)r->graph.n + 1, 1);
        if (!x->goal)
            return rt_fail(r, RETORT_ENOMEM, "out of memory");
        rt_plan_goal(&r->graph, x->plan, x->up, x->goal);
    }
    return RETORT_OK;
}

/* Commits a transaction the run began and re-checked: the core knew the
 * table under its lock, so it still knows it after its own commit. */
static int commit_checked(retort *r, const char *id)
{
    int rc = commit_tx(r, id);
    if (rc == RETORT_OK)
        rt_vt_committed(r, 1);
    return rc;
}

/* A transactional step inside the transaction the run has begun and
 * re-checked; commits it unless keep_open (whole-run mode). */
static int run_transactional(retort *r, run *x, const rt_rev *rev, int keep_open)
{
    int index = before_step(r, x, rev);
    char started[ISO_LEN];
    iso_now(started);
    long t0 = monotonic_ms();
    struct retort_conn conn;
    rt_conn_init(&conn, r, NULL);
    int rc = rt_run_body(r, rev, x->up, &conn);
    long ms = monotonic_ms() - t0;
    if (conn.partial) { /* even if a callback went on after the failed exec */
        rollback_quietly(r);
        rc = fail_partly_committed(r, rev, x->up, keep_open, rt_buf_str(&conn.error), started);
        rt_conn_free(&conn);
        settle_pending(r, x, rc);
        after_step(r, x, rev, index, rc, ms);
        return rc;
    }
    if (rc != RETORT_OK) {
        rollback_quietly(r);
        fail_step(r, rev, x->up, rt_buf_str(&conn.error), keep_open);
        if (rc == RETORT_ENOMEM)
            r->errcode = RETORT_ENOMEM; /* the message says "out of memory" */
        log_failure_quietly(r, rev->id, x->up ? "up" : "down", started,
                            rt_buf_str(&conn.error), -1);
        rt_conn_free(&conn);
        settle_pending(r, x, r->errcode);
        after_step(r, x, rev, index, r->errcode, ms);
        return rc;
    }
    rt_conn_free(&conn);
    char finished[ISO_LEN];
    iso_now(finished);
    rc = rt_vt_record(r, rev, x->up, ms, started, finished, !keep_open);
    if (rc != RETORT_OK) {
        rollback_quietly(r);
        log_failure_quietly(r, rev->id, x->up ? "up" : "down", started, retort_errmsg(r), -1);
        settle_pending(r, x, rc);
        after_step(r, x, rev, index, rc, ms);
        return rc;
    }
    set_mark(r, rev, x->up ? RT_APPLIED : RT_UNAPPLIED);
    log_done(r, rev, x->up, ms);
    if (keep_open) {
        if (!x->npending)
            x->pending_first = index;
        x->pending[x->npending] = (int)(rev - r->reg.revs);
        x->pending_ms[x->npending++] = ms;
        return RETORT_OK;
    }
    rt_vt_committed(r, 1);
    after_step(r, x, rev, index, RETORT_OK, ms);
    return RETORT_OK;
}

/* A non-transactional step, from inside the transaction the run has begun
 * and re-checked: the row is marked dirty there and committed, so that a
 * failure or a crash midway is visible to every later run; the body then
 * runs outside any transaction, and the row is made clean after it. */
static int run_non_transactional(retort *r, run *x, const rt_rev *rev)
{
    int rc = x->up ? rt_vt_insert(r, rev, "dirty", 0) : rt_vt_update(r, rev->id, "dirty", 0);
    if (rc == RETORT_OK)
        rc = commit_tx(r, rev->id);
    if (rc != RETORT_OK) {
        rollback_quietly(r);
        return rc;
    }
    /* Its body and last writes run without the write lock: whatever the
     * core knew of the table may change meanwhile. */
    r->dv_known = 0;
    set_mark(r, rev, RT_DIRTY);
    int index = before_step(r, x, rev);
    char started[ISO_LEN];
    iso_now(started);
    long t0 = monotonic_ms();
    struct retort_conn conn;
    rt_conn_init(&conn, r, NULL);
    rc = rt_run_body(r, rev, x->up, &conn);
    long ms = monotonic_ms() - t0;
    if (rc != RETORT_OK) {
        /* A transaction the body opened (and maybe broke) would swallow the
         * audit entry: end it first. */
        rollback_quietly(r);
        rt_fail(r, rc == RETORT_ENOMEM ? RETORT_ENOMEM : RETORT_EMIGRATION,
                "%s of non-transactional revision '%s' failed after %d statement%s completed: "
                "%s; the database is now marked dirty: inspect it, then resolve with "
                "retort_mark_applied or retort_mark_reverted (command: retort "
                "mark-applied|mark-reverted %s)",
                x->up ? "upgrade" : "downgrade", rev->id, conn.done, conn.done == 1 ? "" : "s",
                rt_buf_str(&conn.error), rev->id);
        log_failure_quietly(r, rev->id, x->up ? "up" : "down", started, rt_buf_str(&conn.error),
                            conn.done);
        rt_conn_free(&conn);
        after_step(r, x, rev, index, r->errcode, ms);
        return r->errcode;
    }
    int done = conn.done;
    rt_conn_free(&conn);
    char finished[ISO_LEN];
    iso_now(finished);
    /* The row and the audit entry change together, in a transaction whose
     * begin also tells whether the body left one of its own open (a BEGIN
     * without COMMIT): writing into that one would be lost at disconnect. */
    struct retort_report rep;
    rt_report_init(&rep);
    rc = r->backend->begin(r->db, &rep);
    if (rc != RETORT_OK) {
        int code = rt_report_code(&rep, RETORT_EDB);
        rt_note_status(r, code);
        rt_buf detail = RT_BUF_INIT;
        rt_buf_printf(&detail, "%s", rt_report_message(&rep));
        rt_report_free(&rep);
        rollback_quietly(r);
        if (code == RETORT_EDB)
            rt_fail(r, RETORT_EMIGRATION,
                    "%s of non-transactional revision '%s' left a transaction open (a BEGIN "
                    "without COMMIT or ROLLBACK in it; %s): the statements after that BEGIN "
                    "were rolled back, and the database is now marked dirty: inspect it, then "
                    "resolve with retort_mark_applied or retort_mark_reverted (command: retort "
                    "mark-applied|mark-reverted %s)",
                    x->up ? "upgrade" : "downgrade", rev->id, rt_buf_str(&detail), rev->id);
        else
            rt_fail(r, code,
                    "%s of non-transactional revision '%s' ran, but recording it failed: "
                    "cannot begin a transaction: %s; the database stays marked dirty: inspect "
                    "it, then resolve with retort_mark_applied or retort_mark_reverted "
                    "(command: retort mark-applied|mark-reverted %s)",
                    x->up ? "upgrade" : "downgrade", rev->id, rt_buf_str(&detail), rev->id);
        log_failure_quietly(r, rev->id, x->up ? "up" : "down", started, rt_buf_str(&detail),
                            done);
        rt_buf_free(&detail);
        after_step(r, x, rev, index, r->errcode, ms);
        return r->errcode;
    }
    rt_report_free(&rep);
    /* The body ran without the write lock: its row must still be the dirty
     * one it left, or another process (an operator's mark or stamp) changed
     * it meanwhile, and recording the step would claim a state nobody
     * knows.  One indexed read, for non-transactional revisions only. */
    char state[16];
    rc = rt_vt_lookup(r, rev->id, state, sizeof state);
    if (rc == RETORT_OK && strcmp(state, "dirty") != 0) {
        rollback_quietly(r);
        rt_fail(r, RETORT_EMIGRATION,
                "%s of non-transactional revision '%s' ran, but another process changed its "
                "version row meanwhile (%s; a mark-applied, mark-reverted or stamp raced it): "
                "nothing was recorded for it; inspect the database, then record what it holds "
                "with retort_mark_applied or retort_mark_reverted (command: retort "
                "mark-applied|mark-reverted %s)",
                x->up ? "upgrade" : "downgrade", rev->id,
                *state ? "it is now recorded as applied" : "it is no longer recorded", rev->id);
        log_failure_quietly(r, rev->id, x->up ? "up" : "down", started,
                            "its version row was changed by another process while it ran", done);
        after_step(r, x, rev, index, r->errcode, ms);
        return r->errcode;
    }
    if (rc == RETORT_OK)
        rc = rt_vt_record_finished(r, rev, x->up, ms, started, finished, done);
    if (rc != RETORT_OK) {
        rollback_quietly(r);
        after_step(r, x, rev, index, rc, ms);
        return rc;
    }
    set_mark(r, rev, x->up ? RT_APPLIED : RT_UNAPPLIED);
    log_done(r, rev, x->up, ms);
    after_step(r, x, rev, index, RETORT_OK, ms);
    return RETORT_OK;
}

/* How often a migrator waiting for the lock says so (milliseconds). */
#define RT_LOCK_NOTICE_MS 5000

static int lock_run(retort *r, int *exclusive)
{
    *exclusive = 0;
    if (!r->backend->lock)
        return RETORT_OK;
    /* The wait is cut into slices of RT_LOCK_NOTICE_MS so that an operator
     * watching a stuck deploy sees, every few seconds, that retort waits
     * and for whom (the driver's message names the holder). */
    int total = r->lock_timeout_ms, waited = 0;
    for (;;) {
        int slice = total - waited < RT_LOCK_NOTICE_MS ? total - waited : RT_LOCK_NOTICE_MS;
        struct retort_report rep;
        rt_report_init(&rep);
        int rc = r->backend->lock(r->db, r->schema_in_use, r->version_table, slice, exclusive,
                                  &rep);
        if (rc == RETORT_OK || rt_report_code(&rep, rc) != RETORT_ELOCK) {
            if (rc != RETORT_OK)
                rc = rt_fail_report(r, &rep, RETORT_ELOCK, "cannot take the migration lock");
            rt_report_free(&rep);
            return rc;
        }
        waited += slice;
        if (waited >= total) {
            rc = rt_fail(r, RETORT_ELOCK,
                         "cannot take the migration lock: timed out after %d ms (lock_timeout): "
                         "%s",
                         total, rt_report_message(&rep));
            rt_report_free(&rep);
            return rc;
        }
        rt_log(r, RETORT_LOG_INFO, "waiting for the migration lock (%d s of %d s): %s",
               waited / 1000, total / 1000, rt_report_message(&rep));
        rt_report_free(&rep);
    }
}

static void unlock_run(retort *r)
{
    if (!r->backend->unlock)
        return;
    struct retort_report rep;
    rt_report_init(&rep);
    if (r->backend->unlock(r->db, r->schema_in_use, r->version_table, &rep) != RETORT_OK)
        rt_log(r, RETORT_LOG_WARN, "releasing the migration lock failed: %s",
               rt_report_message(&rep));
    rt_report_free(&rep);
}

/* Commits the run transaction (whole-run mode) and settles its steps. */
static int commit_run(retort *r, run *x, const char *id)
{
    int rc = commit_checked(r, id);
    if (rc != RETORT_OK)
        r->state.loaded = 0; /* the marks of the rolled-back steps are wrong */
    settle_pending(r, x, rc);
    return rc;
}

/*
 * Runs the plan.  Per-migration mode: one transaction per step.  Whole-run
 * mode: one transaction for the run, committed before a non-transactional
 * step (which cannot run inside it) and begun again after it.  Each begin
 * re-checks (recheck), so everything after a released write lock is planned
 * again from the state as it is under the next one.
 */
static int execute_plan(retort *r, run *x)
{
    int whole = r->tx_mode == RETORT_TX_WHOLE_RUN;
    int in_tx = 0, rc;
    const char *tx_id = "";
    if (whole) { /* per-migration mode never keeps a step pending */
        x->pending = rt_calloc((size_t)r->graph.n + 1, sizeof *x->pending);
        x->pending_ms = rt_calloc((size_t)r->graph.n + 1, sizeof *x->pending_ms);
        if (!x->pending || !x->pending_ms)
            return rt_fail(r, RETORT_ENOMEM, "out of memory");
    }
    for (;;) {
        if (x->next >= x->plan->n)
            return in_tx ? commit_run(r, x, tx_id) : RETORT_OK;
        if (!in_tx) {
            tx_id = r->reg.revs[x->plan->steps[x->next]].id;
            if ((rc = begin_tx(r, tx_id)) != RETORT_OK)
                return rc;
            if ((rc = recheck(r, x)) != RETORT_OK) {
                rollback_quietly(r);
                return rc;
            }
            if (x->next >= x->plan->n) {
                rt_log(r, RETORT_LOG_DEBUG, "nothing left to %s: another process did it",
                       x->up ? "upgrade" : "downgrade");
                return commit_checked(r, tx_id);
            }
            in_tx = 1;
        }
        const rt_rev *rev = &r->reg.revs[x->plan->steps[x->next]];
        /* Re-planning follows another migrator going the other way (an
         * upgrade re-applies what a downgrade reverted meanwhile); should
         * two keep undoing each other, stop instead of alternating forever.
         * Without such a race a run takes at most one step per revision. */
        if (x->started > 2 * r->graph.n + 2) {
            rc = rt_fail(r, RETORT_ELOCK,
                         "stopped after %d steps: another process keeps moving the version "
                         "table %s the other way while this %s runs; run it again once that "
                         "process has finished",
                         x->started, r->qtable, x->up ? "upgrade" : "downgrade");
            if (in_tx) {
                rollback_quietly(r);
                settle_pending(r, x, rc);
            }
            return rc;
        }
        if (rev->flags & RETORT_REV_NO_TRANSACTION) {
            if (x->npending) { /* end the run's transaction first */
                in_tx = 0;
                if ((rc = commit_run(r, x, tx_id)) != RETORT_OK)
                    return rc;
                continue; /* the next begin re-checks */
            }
            in_tx = 0;
            x->next++;
            if ((rc = run_non_transactional(r, x, rev)) != RETORT_OK)
                return rc;
            continue;
        }
        x->next++;
        if ((rc = run_transactional(r, x, rev, whole)) != RETORT_OK) {
            if (whole)
                r->state.loaded = 0; /* the marks of the rolled-back steps are wrong */
            return rc;               /* already rolled back */
        }
        if (!whole)
            in_tx = 0;
    }
}

/* An upgrade to head (every head) is what runs Flyway's repeatable
 * migrations: one to a given revision stops there, before them. */
static int is_head_target(const char *target)
{
    return target && (strcmp(target, "head") == 0 || strcmp(target, "heads") == 0);
}

static int migrate(retort *r, int up, const char *target)
{
    const char *op = up ? "retort_upgrade" : "retort_downgrade";
    int rc = rt_prepare(r, op, 0);
    if (rc != RETORT_OK)
        return rc;
    if (!target)
        return rt_fail(r, RETORT_ETARGET, "%s: target is NULL", op);
    /* A fresh test target not created yet, upgraded to the head: a clone
     * of the template of these migrations, which is already there. */
    if (up && r->fresh_pending && !r->fresh_mode_schema && r->graph.n > 0 &&
        RT_DRIVER_HAS(r, template_ensure) &&
        (strcmp(target, "heads") == 0 || (strcmp(target, "head") == 0 && r->graph.nheads == 1))) {
        int cloned = 0;
        if ((rc = rt_fresh_upgrade_from_template(r, &cloned)) != RETORT_OK)
            return rc;
        /* The template was migrated to the heads of exactly these
         * revisions (its key hashes them): so is its clone. */
        if (cloned)
            return RETORT_OK;
    }
    if ((rc = rt_connect(r)) != RETORT_OK)
        return rc;
    rt_plan plan = {NULL, 0};
    /* First read without any lock: at target, that one query is the whole
     * cost of a run.  A dirty row seen now may belong to a non-transactional
     * revision another process is running under the lock: where the driver
     * has an exclusive lock, judge dirtiness only under it. */
    rc = first_read_and_plan(r, up, target, &plan);
    int judge_under_lock = rc == RETORT_EDIRTY && r->backend->lock;
    /* Flyway's repeatable migrations, after the versioned ones of an
     * upgrade to head (repeatable.c): due ones are work even at head. */
    int reps = up && is_head_target(target) && r->rreg.n;
    if (rc == RETORT_OK && up && (plan.n || (reps && rt_repeatables_due(r))) &&
        r->state.table_missing)
        rc = rt_adopt_guard(r, op);
    if (!judge_under_lock &&
        (rc != RETORT_OK || (plan.n == 0 && !(reps && rt_repeatables_due(r))))) {
        if (rc == RETORT_OK)
            rt_log(r, RETORT_LOG_DEBUG, "nothing to %s: already at '%s'",
                   up ? "upgrade" : "downgrade", target);
        rt_plan_free(&plan);
        return rc;
    }
    int exclusive = 0;
    if ((rc = lock_run(r, &exclusive)) != RETORT_OK) {
        rt_plan_free(&plan);
        return rc;
    }
    /* Another migrator may have moved on while we waited for the lock.
     * Without a lock there was no wait: each transaction re-checks instead.
     * What the first read found no longer stands either way. */
    if (r->backend->lock && (rc = read_and_plan(r, up, target, &plan)) == RETORT_OK)
        rt_clear_error(r);
    /* Creating the tables needs CREATE rights even when they exist (on
     * PostgreSQL), so only a database without them pays for it. */
    if (rc == RETORT_OK && (plan.n || (reps && rt_repeatables_due(r))) && up &&
        r->state.table_missing)
        rc = rt_vt_ensure(r);
    run x = {up, target, &plan, 0, exclusive, NULL, 0, NULL, NULL, 0, 0};
    if (rc == RETORT_OK && plan.n)
        rc = execute_plan(r, &x);
    else if (rc == RETORT_OK && !reps)
        rt_log(r, RETORT_LOG_DEBUG, "nothing to %s: another process reached '%s' first",
               up ? "upgrade" : "downgrade", target);
    /* The repeatable migrations, still under the lock, by a fresh read of
     * their rows (the versioned steps' commits moved the table on). */
    if (rc == RETORT_OK && reps && (rc = rt_vt_read(r)) == RETORT_OK)
        rc = rt_repeatables_apply(r);
    rt_free(x.goal);
    rt_free(x.pending);
    rt_free(x.pending_ms);
    rt_plan_free(&plan);
    unlock_run(r);
    return rc;
}

RETORT_API int retort_upgrade(retort *r, const char *target)
{
    RT_GUARD(r);
    return migrate(r, 1, target);
}

RETORT_API int retort_downgrade(retort *r, const char *target)
{
    RT_GUARD(r);
    return migrate(r, 0, target);
}

RETORT_API int retort_migrate_to_head(retort *r)
{
    RT_GUARD(r);
    return migrate(r, 1, "head");
}

/* ------------------------------------------------------- state views */

RETORT_API int retort_current(retort *r, const char **heads)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_current", 1);
    if (rc != RETORT_OK)
        return rc;
    if (!heads)
        return rt_fail(r, RETORT_EINVAL, "retort_current: heads is NULL");
    if ((rc = first_read(r)) != RETORT_OK)
        return rc;
    rt_buf_reset(&r->out);
    if (rt_state_heads(&r->state, &r->graph, &r->out) != RETORT_OK)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    *heads = rt_buf_str(&r->out);
    return RETORT_OK;
}

RETORT_API int retort_applied(retort *r, const char **ids)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_applied", 1);
    if (rc != RETORT_OK)
        return rc;
    if (!ids)
        return rt_fail(r, RETORT_EINVAL, "retort_applied: ids is NULL");
    if ((rc = first_read(r)) != RETORT_OK)
        return rc;
    rt_buf_reset(&r->out);
    for (int i = 0; i < r->state.n; i++) {
        if (i)
            rt_buf_append_char(&r->out, ' ');
        rt_buf_append(&r->out, r->state.rows[i].id);
    }
    if (rt_buf_failed(&r->out))
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    *ids = rt_buf_str(&r->out);
    return RETORT_OK;
}

RETORT_API int retort_plan(retort *r, int direction, const char *target, const char **ids)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_plan", 0);
    if (rc != RETORT_OK)
        return rc;
    if (!target || !ids || direction == 0)
        return rt_fail(r, RETORT_EINVAL, "retort_plan: %s",
                       !target ? "target is NULL" : !ids ? "ids is NULL" : "direction is 0");
    if ((rc = rt_connect(r)) != RETORT_OK)
        return rc;
    rt_plan plan = {NULL, 0};
    rc = first_read_and_plan(r, direction > 0, target, &plan);
    /* A dirty row seen without the lock may be a non-transactional revision
     * another process is running: judge it under the lock, after waiting
     * for that process, as an upgrade would. */
    if (rc == RETORT_EDIRTY && r->backend->lock) {
        int exclusive = 0;
        if ((rc = lock_run(r, &exclusive)) == RETORT_OK) {
            if ((rc = read_and_plan(r, direction > 0, target, &plan)) == RETORT_OK)
                rt_clear_error(r);
            unlock_run(r);
        }
    }
    if (rc == RETORT_OK) {
        rt_buf_reset(&r->out);
        rt_plan_append_ids(&r->reg, &plan, &r->out);
        if (rt_buf_failed(&r->out))
            rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
        else
            *ids = rt_buf_str(&r->out);
    }
    rt_plan_free(&plan);
    return rc;
}

RETORT_API int retort_check(retort *r)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_check", 1);
    if (rc != RETORT_OK)
        return rc;
    if ((rc = first_read(r)) != RETORT_OK || (rc = check_state(r, 1)) != RETORT_OK)
        return rc;
    if (r->state.table_missing && (rc = rt_adopt_guard(r, "retort_check")) != RETORT_OK)
        return rc;
    rt_plan plan = {NULL, 0};
    rt_buf err = RT_BUF_INIT;
    rc = rt_plan_upgrade(&r->reg, &r->graph, r->state.mark, "heads", &plan, &err);
    if (rc != RETORT_OK) {
        rt_fail(r, rc, "%s", rt_buf_str(&err));
    } else if (plan.n && !r->allow_out_of_order && (rc = check_out_of_order(r, &plan))) {
        /* refused, as an upgrade would be */
    } else if (plan.n) {
        rt_buf ids = RT_BUF_INIT;
        rt_plan_append_ids(&r->reg, &plan, &ids);
        rc = rt_fail(r, RETORT_EPENDING, "%d revision%s pending: %s", plan.n,
                     plan.n == 1 ? " is" : "s are", rt_buf_str(&ids));
        rt_buf_free(&ids);
    } else if (rt_repeatables_due(r)) { /* what an upgrade to head would run */
        rt_buf ids = RT_BUF_INIT;
        rt_repeatables_append_due(r, &ids);
        int n = rt_repeatables_due(r);
        rc = rt_fail(r, RETORT_EPENDING, "%d repeatable migration%s pending (never applied, or "
                                         "changed since): %s",
                     n, n == 1 ? " is" : "s are", rt_buf_str(&ids));
        rt_buf_free(&ids);
    }
    rt_buf_free(&err);
    rt_plan_free(&plan);
    return rc;
}

RETORT_API int retort_heads(retort *r, const char **heads)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_heads", 0);
    if (rc != RETORT_OK)
        return rc;
    if (!heads)
        return rt_fail(r, RETORT_EINVAL, "retort_heads: heads is NULL");
    rt_buf_reset(&r->out);
    rt_graph_append_sorted_ids(&r->reg, r->graph.heads, r->graph.nheads, &r->out);
    if (rt_buf_failed(&r->out))
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    *heads = rt_buf_str(&r->out);
    return RETORT_OK;
}

RETORT_API int retort_revision_count(retort *r, int *count)
{
    RT_GUARD(r);
    if (!r)
        return RETORT_EINVAL;
    rt_clear_error(r);
    if (!count)
        return rt_fail(r, RETORT_EINVAL, "retort_revision_count: count is NULL");
    *count = r->reg.n;
    return RETORT_OK;
}

RETORT_API int retort_revision_links(retort *r, int index, const char **branch_labels,
                                     const char **depends_on)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_revision_links", 0);
    if (rc != RETORT_OK)
        return rc;
    if (index < 0 || index >= r->reg.n)
        return rt_fail(r, RETORT_EINVAL, "retort_revision_links: index %d is out of range (0 "
                                         "to %d)", index, r->reg.n - 1);
    const rt_rev *rev = &r->reg.revs[r->graph.topo[index]];
    if (branch_labels)
        *branch_labels = rev->labels ? rev->labels : "";
    if (depends_on)
        *depends_on = rev->depends ? rev->depends : "";
    return RETORT_OK;
}

RETORT_API int retort_revision_info(retort *r, int index, const char **id, const char **parents,
                                    const char **message, int *flags)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_revision_info", 0);
    if (rc != RETORT_OK)
        return rc;
    if (index < 0 || index >= r->reg.n)
        return rt_fail(r, RETORT_EINVAL, "retort_revision_info: index %d is out of range (0 to "
                                         "%d)", index, r->reg.n - 1);
    int i = r->graph.topo[index];
    const rt_rev *rev = &r->reg.revs[i];
    if (id)
        *id = rev->id;
    if (parents)
        *parents = rev->parents;
    if (message)
        *message = rev->message;
    if (flags) {
        int f = rev->flags;
        if (r->state.loaded && r->state.mark && i < r->state.nmark) {
            if (r->state.mark[i] == RT_APPLIED)
                f |= RETORT_REV_APPLIED;
            else if (r->state.mark[i] == RT_DIRTY)
                f |= RETORT_REV_DIRTY;
        }
        *flags = f;
    }
    return RETORT_OK;
}

/* ---------------------------------------------------- explicit changes */

/* Runs fn inside the lock and one transaction, with the tables ensured. */
static int locked_change(retort *r, const char *what, int (*fn)(retort *, const void *),
                         const void *arg)
{
    int exclusive = 0;
    int rc = lock_run(r, &exclusive);
    if (rc != RETORT_OK)
        return rc;
    rc = rt_vt_ensure(r);
    if (rc == RETORT_OK)
        rc = begin_tx(r, what);
    if (rc == RETORT_OK) {
        rc = fn(r, arg);
        if (rc == RETORT_OK)
            rc = commit_tx(r, what);
        else
            rollback_quietly(r);
    }
    unlock_run(r);
    rt_state_forget(&r->state);
    rt_state_forget(&r->rstate);
    return rc;
}

typedef struct {
    unsigned char *want;
    const char *target;
    int purge; /* retort_stamp_purge: every row goes first, unknown ones included */
} stamp_arg;

/*
 * A stamp keeps every row whose id the registry does not know (tolerated
 * newer revisions: it cannot reason about them), so it must keep each row
 * they depend on too: their version rows store their parents.  Refuses,
 * naming the revision that needs it, to remove such a row; a row an unknown
 * revision needs through another unknown one is kept with it, so checking
 * each unknown row's own parents covers the chain.
 */
static int check_unknown_dependents(retort *r, const stamp_arg *a)
{
    const rt_state *s = &r->state;
    for (int i = 0; i < s->n; i++) {
        const rt_row *row = &s->rows[i];
        if (row->rev >= 0)
            continue;
        for (const char *p = row->parents; *p;) {
            p += strspn(p, " ,");
            size_t len = strcspn(p, " ,");
            if (!len)
                break;
            int v = rt_registry_find(&r->reg, p, len);
            if (v >= 0 && r->state.mark[v] && !a->want[v])
                return rt_fail(r, RETORT_EUNKNOWN,
                               "cannot stamp '%s': it would remove the version row of '%s', "
                               "which revision '%s' depends on; '%s' is recorded but this "
                               "application does not know it (applied by a newer version): "
                               "stamp with that version, or a target that keeps '%s'; nothing "
                               "was changed",
                               a->target, r->reg.revs[v].id, row->id, row->id,
                               r->reg.revs[v].id);
            p += len;
        }
    }
    return RETORT_OK;
}

static int stamp_change(retort *r, const void *arg)
{
    const stamp_arg *a = arg;
    unsigned char *want = a->want;
    int rc = rt_vt_read(r);
    if (rc == RETORT_OK && !a->purge)
        rc = check_state(r, 0);
    if (rc != RETORT_OK)
        return rc;
    /* A branch target (X@head, X@base, X@Y) keeps the recorded heads of
     * other lineages: the set depends on the state read under the lock. */
    rt_buf err = RT_BUF_INIT;
    rc = rt_plan_stamp_set_from(&r->reg, &r->graph, a->purge ? NULL : r->state.mark, a->target,
                                want, &err);
    if (rc != RETORT_OK)
        rt_fail(r, rc, "%s", rt_buf_str(&err));
    rt_buf_free(&err);
    if (rc == RETORT_OK && r->state.nunknown && !a->purge)
        rc = check_unknown_dependents(r, a);
    if (rc != RETORT_OK)
        return rc;
    char now[ISO_LEN];
    iso_now(now);
    if (a->purge) {
        /* Every row, including those of revisions the registry does not
         * know, then the target as on an empty table. */
        for (int i = 0; i < r->state.n && rc == RETORT_OK; i++) {
            const char *id = r->state.rows[i].id;
            rc = rt_vt_delete(r, id);
            if (rc == RETORT_OK)
                rc = rt_vt_log(r, id, "stamp", now, now, "ok", "purged by stamp --purge", -1);
        }
        for (int k = 0; k < r->graph.n && rc == RETORT_OK; k++) {
            int v = r->graph.topo[k];
            if (want[v]) {
                rc = rt_vt_insert(r, &r->reg.revs[v], "applied", 0);
                if (rc == RETORT_OK)
                    rc = rt_vt_log(r, r->reg.revs[v].id, "stamp", now, now, "ok",
                                   "stamped as applied (purge)", -1);
            }
        }
        return rc;
    }
    /* Children first when removing, parents first when adding, so the table
     * never records a child without its parent. */
    for (int k = r->graph.n - 1; k >= 0 && rc == RETORT_OK; k--) {
        int v = r->graph.topo[k];
        if (r->state.mark[v] && !want[v]) {
            rc = rt_vt_delete(r, r->reg.revs[v].id);
            if (rc == RETORT_OK)
                rc = rt_vt_log(r, r->reg.revs[v].id, "stamp", now, now, "ok", "stamped as not "
                                                                             "applied", -1);
        }
    }
    for (int k = 0; k < r->graph.n && rc == RETORT_OK; k++) {
        int v = r->graph.topo[k];
        if (!r->state.mark[v] && want[v]) {
            rc = rt_vt_insert(r, &r->reg.revs[v], "applied", 0);
            if (rc == RETORT_OK)
                rc = rt_vt_log(r, r->reg.revs[v].id, "stamp", now, now, "ok", "stamped as "
                                                                            "applied", -1);
        }
    }
    return rc;
}

int rt_locked_change(retort *r, const char *what, int (*fn)(retort *, const void *),
                     const void *arg)
{
    return locked_change(r, what, fn, arg);
}

static int stamp(retort *r, const char *op, const char *target, int purge)
{
    int rc = rt_prepare(r, op, 0);
    if (rc != RETORT_OK)
        return rc;
    unsigned char *want = rt_calloc((size_t)r->graph.n + 1, 1);
    if (!want)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    /* Validated before the database is touched; recomputed under the lock. */
    rt_buf err = RT_BUF_INIT;
    rc = rt_plan_stamp_set(&r->reg, &r->graph, target, want, &err);
    if (rc != RETORT_OK)
        rt_fail(r, rc, "%s", rt_buf_str(&err));
    rt_buf_free(&err);
    if (rc == RETORT_OK)
        rc = rt_connect(r);
    stamp_arg a = {want, target, purge};
    if (rc == RETORT_OK)
        rc = locked_change(r, "stamp", stamp_change, &a);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_INFO, "stamped the database at '%s'%s", target,
               purge ? " after purging every version row" : "");
    rt_free(want);
    return rc;
}

RETORT_API int retort_stamp(retort *r, const char *target)
{
    RT_GUARD(r);
    return stamp(r, "retort_stamp", target, 0);
}

RETORT_API int retort_stamp_purge(retort *r, const char *target)
{
    RT_GUARD(r);
    return stamp(r, "retort_stamp_purge", target, 1);
}

typedef struct {
    const rt_rev *rev;
    int applied;
} mark_arg;

static int mark_change(retort *r, const void *p)
{
    const mark_arg *a = p;
    char state[16];
    int rc = rt_vt_lookup(r, a->rev->id, state, sizeof state);
    if (rc != RETORT_OK)
        return rc;
    if (a->applied)
        rc = *state ? rt_vt_update(r, a->rev->id, "applied", 0)
                    : rt_vt_insert(r, a->rev, "applied", 0);
    else if (*state)
        rc = rt_vt_delete(r, a->rev->id);
    char now[ISO_LEN];
    iso_now(now);
    if (rc == RETORT_OK) {
        char note[64];
        snprintf(note, sizeof note, "resolved by hand (row was %s)", *state ? state : "absent");
        rc = rt_vt_log(r, a->rev->id, a->applied ? "mark-applied" : "mark-reverted", now, now,
                       "ok", note, -1);
    }
    return rc;
}

static int mark(retort *r, const char *id, int applied)
{
    const char *op = applied ? "retort_mark_applied" : "retort_mark_reverted";
    int rc = rt_prepare(r, op, 0);
    if (rc != RETORT_OK)
        return rc;
    if (!id)
        return rt_fail(r, RETORT_EINVAL, "%s: id is NULL", op);
    int i = rt_registry_find(&r->reg, id, strlen(id));
    if (i < 0)
        return rt_fail(r, RETORT_ENOTFOUND, "%s: revision '%.200s' is not registered", op, id);
    if ((rc = rt_connect(r)) != RETORT_OK)
        return rc;
    mark_arg a = {&r->reg.revs[i], applied};
    rc = locked_change(r, id, mark_change, &a);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_WARN, "revision '%s' marked %s by hand (recorded in the audit log)",
               id, applied ? "applied" : "reverted");
    return rc;
}

RETORT_API int retort_mark_applied(retort *r, const char *id)
{
    RT_GUARD(r);
    return mark(r, id, 1);
}

RETORT_API int retort_mark_reverted(retort *r, const char *id)
{
    RT_GUARD(r);
    return mark(r, id, 0);
}

typedef struct {
    const rt_rev *rev;
    const char *old_checksum;
} repair_arg;

static int repair_change(retort *r, const void *p)
{
    const repair_arg *a = p;
    const char *params[] = {a->rev->id, a->rev->checksum};
    char what[256];
    snprintf(what, sizeof what, "cannot re-record the checksum of '%.100s'", a->rev->id);
    int rc = rt_vt_exec(r, RETORT_SQL_UPDATE_CHECKSUM, 2, params, what);
    if (rc != RETORT_OK)
        return rc;
    char now[ISO_LEN], note[200];
    iso_now(now);
    snprintf(note, sizeof note, "checksum re-recorded: %.12s... -> %.12s...", a->old_checksum,
             a->rev->checksum);
    return rt_vt_log(r, a->rev->id, "repair", now, now, "ok", note, -1);
}

RETORT_API int retort_repair(retort *r, const char *id)
{
    RT_GUARD(r);
    int rc = rt_prepare(r, "retort_repair", 1);
    if (rc != RETORT_OK)
        return rc;
    if (!id)
        return rt_fail(r, RETORT_EINVAL, "retort_repair: id is NULL");
    int i = rt_registry_find(&r->reg, id, strlen(id));
    if (i < 0)
        return rt_fail(r, RETORT_ENOTFOUND, "repair: revision '%.200s' is not registered", id);
    const rt_rev *rev = &r->reg.revs[i];
    if (!(rev->flags & RETORT_REV_SQL))
        return rt_fail(r, RETORT_EINVAL, "repair: revision '%.200s' is code, not SQL text: it "
                                         "has no checksum to re-record", id);
    if ((rc = first_read(r)) != RETORT_OK)
        return rc;
    const rt_row *row = NULL;
    for (int k = 0; k < r->state.n; k++)
        if (r->state.rows[k].rev == i)
            row = &r->state.rows[k];
    if (!row)
        return rt_fail(r, RETORT_ENOTFOUND, "repair: revision '%.200s' is not applied: "
                                            "nothing to repair", id);
    if (row->state && strcmp(row->state, "dirty") == 0)
        return rt_fail(r, RETORT_EDIRTY, "repair: revision '%.200s' is dirty: resolve it "
                                         "first with retort_mark_applied or "
                                         "retort_mark_reverted (command: retort "
                                         "mark-applied|mark-reverted %.200s)", id, id);
    if (row->checksum && strcmp(row->checksum, rev->checksum) == 0)
        return RETORT_OK;
    char old[65];
    snprintf(old, sizeof old, "%s", row->checksum ? row->checksum : "");
    repair_arg a = {rev, old};
    rc = locked_change(r, id, repair_change, &a);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_WARN, "revision '%s': checksum re-recorded (%.12s... -> %.12s...), "
                                   "recorded in the audit log", id, old, rev->checksum);
    return rc;
}
