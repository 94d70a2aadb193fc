/*
 * harness.c — what test suites get from retort: a fresh, isolated target
 * per test (retort_new_fresh) and the ready-made checks of the registered
 * migrations (retort_test_*).
 *
 * The checks drive the database only through the public operations
 * (upgrade, downgrade, stamp), so they exercise exactly the code paths an
 * application does; they read the graph (context.h) only to walk the plan
 * order and to explain a finding.  Schema comparisons use snapshot.c.
 *
 * Findings (a migration that fails, a downgrade that does not reverse its
 * upgrade, several heads, an irreversible revision where reversal is
 * checked, a broken graph) are RETORT_ECHECKFAIL with a message naming the
 * revision; anything else (lost connection, lock timeout, a backend without
 * snapshots) keeps its own code, prefixed with the check's name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "error.h"
#include "log.h"
#include "memory.h"
#include "runner.h"
#include "snapshot.h"
#include "url.h"

/* ------------------------------------------------------- fresh targets */

/* 64 bits for a schema name nobody else will pick: the kernel's
 * randomness, mixed with the clock and pid in case /dev/urandom is
 * unavailable (a chroot).  No process-wide counter: the library keeps no
 * global mutable state besides the backend registry. */
static uint64_t unique_bits(const void *salt)
{
    uint64_t x = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &x, sizeof x) != (ssize_t)sizeof x)
            x = 0;
        close(fd);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    x ^= (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
         ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)salt;
    /* splitmix64's finaliser spreads the fallback's few changing bits. */
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* Runs one statement for the fresh-target code, reporting as op. */
static int exec_sql(retort *r, const char *sql, const char *op)
{
    struct retort_report rep;
    rt_report_init(&rep);
    int done = 0;
    int rc = r->backend->exec(r->db, sql, &done, &rep);
    if (rc != RETORT_OK)
        rc = rt_fail_report(r, &rep, RETORT_EDB, op);
    rt_report_free(&rep);
    return rc;
}

/* Drops the schema with everything the test created in it.  retort_free
 * has no status to return, so a failure is logged with what to do. */
static void postgres_teardown(retort *r)
{
    if (!r->fresh_name)
        return;
    if (!r->db) {
        rt_log(r, RETORT_LOG_WARN, "fresh test schema \"%s\" could not be dropped: the "
                                   "connection is closed; drop it by hand",
               r->fresh_name);
        return;
    }
    struct retort_report rep;
    rt_report_init(&rep);
    /* A test may leave a transaction open or failed; DROP needs a clean
     * session.  rollback is a no-op when idle. */
    r->backend->rollback(r->db, &rep);
    rt_report_free(&rep);
    rt_buf sql = RT_BUF_INIT;
    rt_buf_printf(&sql, "DROP SCHEMA IF EXISTS %s CASCADE", r->qschema);
    rt_report_init(&rep);
    int done = 0;
    if (rt_buf_failed(&sql) || r->backend->exec(r->db, rt_buf_str(&sql), &done, &rep) != RETORT_OK)
        rt_log(r, RETORT_LOG_WARN, "could not drop the fresh test schema \"%s\": %s; drop it by "
                                   "hand",
               r->fresh_name, rt_buf_failed(&sql) ? "out of memory" : rt_report_message(&rep));
    rt_report_free(&rep);
    rt_buf_free(&sql);
}

/* The schema-per-test mode (fresh_mode=schema), PostgreSQL only: a schema
 * on the URL's own database.  Its limit: migrations that name another schema
 * write to that database. */
int rt_fresh_schema(retort *r);
int rt_fresh_schema(retort *r)
{
    /* Unique across processes (pid), within a process (random bits), and
     * recognisable for an operator cleaning up after a crashed test run. */
    char name[RT_NAME_MAX];
    snprintf(name, sizeof name, "retort_test_%ld_%016llx", (long)getpid(),
             (unsigned long long)unique_bits(r));
    /* The version table lives in the new schema: set before connecting,
     * so rt_connect computes the qualified names from it and never asks
     * for the connection's default. */
    memcpy(r->schema, name, strlen(name) + 1);
    int rc = rt_connect(r);
    if (rc != RETORT_OK)
        return rc;

    rt_buf sql = RT_BUF_INIT;
    rt_buf_printf(&sql, "CREATE SCHEMA %s", r->qschema);
    rc = rt_buf_failed(&sql) ? rt_fail(r, RETORT_ENOMEM, "out of memory")
                             : exec_sql(r, rt_buf_str(&sql), "cannot create the fresh test schema");
    if (rc == RETORT_OK) {
        r->fresh_name = rt_strdup(name);
        if (!r->fresh_name) {
            /* Nothing will drop it at free: do it now. */
            rt_buf_reset(&sql);
            rt_buf_printf(&sql, "DROP SCHEMA %s CASCADE", r->qschema);
            exec_sql(r, rt_buf_str(&sql), "cannot drop the fresh test schema");
            rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
        } else {
            r->teardown = postgres_teardown;
        }
    }
    /* Only the new schema on the path: unqualified names in migrations
     * land there, and a migration's DROP TABLE IF EXISTS can never reach a
     * same-named table in public.  pg_catalog is searched implicitly. */
    if (rc == RETORT_OK) {
        rt_buf_reset(&sql);
        rt_buf_printf(&sql, "SET search_path TO %s", r->qschema);
        rc = rt_buf_failed(&sql)
                 ? rt_fail(r, RETORT_ENOMEM, "out of memory")
                 : exec_sql(r, rt_buf_str(&sql), "cannot set the search_path to the fresh schema");
    }
    rt_buf_free(&sql);
    if (rc == RETORT_OK)
        rt_log(r, RETORT_LOG_DEBUG, "fresh test schema \"%s\" created", name);
    return rc;
}

RETORT_API int retort_new_fresh(retort **out, const char *url)
{
    if (!out)
        return RETORT_EINVAL;
    int rc = retort_new(out, url ? url : "sqlite::memory:");
    if (rc != RETORT_OK)
        return rc;
    retort *r = *out;
    r->fresh = 1;
    if (!RT_DRIVER_HAS(r, fresh_create) || !RT_DRIVER_HAS(r, fresh_drop))
        return rt_fail(r, RETORT_EINVAL, "retort_new_fresh: the %s backend has no fresh test "
                                         "targets (the sqlite and postgresql backends do)",
                       r->backend->name);
    /* Created at the first operation (fresh.c), so that fresh_mode and
     * template_key set meanwhile apply, and an upgrade to the head can
     * clone the template instead of migrating an empty target. */
    r->fresh_base = rt_strdup(r->url);
    if (!r->fresh_base)
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    r->fresh_pending = 1;
    return RETORT_OK;
}

/* -------------------------------------------------------------- checks */

/* Codes that describe a defect of the migrations rather than of the
 * environment the check ran in. */
static int is_finding(int rc)
{
    return rc == RETORT_EMIGRATION || rc == RETORT_EIRREVERSIBLE || rc == RETORT_EGRAPH ||
           rc == RETORT_ETARGET || rc == RETORT_ECHECKFAIL;
}

/*
 * Turns the failure just recorded on r into the check's: a finding becomes
 * RETORT_ECHECKFAIL "CHECK check failed: CONTEXT: message", anything else
 * keeps its code as "CHECK check could not run: message".
 */
static int check_failed(retort *r, const char *check, const char *context)
{
    int rc = retort_errcode(r);
    if (rc == RETORT_OK)
        rc = RETORT_ERROR;
    rt_buf msg = RT_BUF_INIT;
    rt_buf_append(&msg, retort_errmsg(r));
    if (is_finding(rc))
        rc = rt_fail(r, RETORT_ECHECKFAIL, "%s check failed: %s%s%s", check,
                     context ? context : "", context ? ": " : "", rt_buf_str(&msg));
    else
        rt_fail(r, rc, "%s check could not run: %s%s%s", check, context ? context : "",
                context ? ": " : "", rt_buf_str(&msg));
    rt_buf_free(&msg);
    return rc;
}

/* Validates the graph and, for the checks that run migrations, that the
 * database records nothing yet (they compare against the empty state). */
static int begin_check(retort *r, const char *op, const char *check, int needs_base)
{
    int rc = rt_prepare(r, op, 0);
    if (rc == RETORT_EGRAPH)
        return check_failed(r, check, "the revision graph is invalid");
    if (rc != RETORT_OK || !needs_base)
        return rc;
    const char *ids = NULL;
    if ((rc = retort_applied(r, &ids)) != RETORT_OK)
        return check_failed(r, check, NULL);
    if (*ids) {
        rt_buf copy = RT_BUF_INIT;
        rt_buf_append(&copy, ids);
        rc = rt_fail(r, RETORT_EMISUSE,
                     "%s: the %s check needs a database at base (use retort_new_fresh), but "
                     "%s already records revisions: %.300s",
                     op, check, r->url_redacted, rt_buf_str(&copy));
        rt_buf_free(&copy);
    }
    return rc;
}

static int snapshot_or_fail(retort *r, const char *check, rt_buf *out)
{
    return rt_schema_snapshot(r, out) == RETORT_OK ? RETORT_OK
                                                   : check_failed(r, check, "schema snapshot");
}

static const char *rev_label(const retort *r, int v, rt_buf *out)
{
    const rt_rev *rev = &r->reg.revs[v];
    rt_buf_reset(out);
    rt_buf_printf(out, "'%s'", rev->id);
    if (*rev->message)
        rt_buf_printf(out, " (%s)", rev->message);
    return rt_buf_str(out);
}

/* Refuses, before anything runs, a plan that cannot be walked backwards. */
static int require_reversible(retort *r, const char *check)
{
    rt_buf ids = RT_BUF_INIT;
    int count = 0;
    for (int k = 0; k < r->graph.n; k++) {
        const rt_rev *rev = &r->reg.revs[r->graph.topo[k]];
        if (!(rev->flags & RETORT_REV_IRREVERSIBLE))
            continue;
        if (count < 5)
            rt_buf_printf(&ids, "%s'%s'", count ? ", " : "", rev->id);
        count++;
    }
    if (!count) {
        rt_buf_free(&ids);
        return RETORT_OK;
    }
    if (count > 5)
        rt_buf_printf(&ids, " and %d more", count - 5);
    int rc = rt_fail(r, RETORT_ECHECKFAIL,
                     "%s check failed: revision%s %s %s irreversible (registered without a "
                     "downgrade), so %s cannot be checked; nothing was run",
                     check, count > 1 ? "s" : "", rt_buf_str(&ids), count > 1 ? "are" : "is",
                     count > 1 ? "their reversal" : "its reversal");
    rt_buf_free(&ids);
    return rc;
}

/* ------------------------------------------------------ schema diffs */

typedef struct {
    const char *s;
    size_t n;
} line_ref;

/* The next line of a snapshot at *p, advancing *p; 0 at the end. */
static int next_line(const char **p, line_ref *out)
{
    if (!**p)
        return 0;
    const char *nl = strchr(*p, '\n');
    out->s = *p;
    out->n = nl ? (size_t)(nl - *p) : strlen(*p);
    *p = nl ? nl + 1 : *p + out->n;
    return 1;
}

/* The order the snapshot sorted its lines in (strcmp: a prefix first). */
static int cmp_ref(const line_ref *a, const line_ref *b)
{
    int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

typedef void (*diff_fn)(void *ctx, int added, const line_ref *line);

/* Calls fn for each line only in before (added 0) or only in after
 * (added 1); both texts are sorted snapshots. */
static void diff_lines(const char *before, const char *after, diff_fn fn, void *ctx)
{
    line_ref a, b;
    int ha = next_line(&before, &a), hb = next_line(&after, &b);
    while (ha || hb) {
        int c = !ha ? 1 : !hb ? -1 : cmp_ref(&a, &b);
        if (c == 0) {
            ha = next_line(&before, &a);
            hb = next_line(&after, &b);
        } else if (c < 0) {
            fn(ctx, 0, &a);
            ha = next_line(&before, &a);
        } else {
            fn(ctx, 1, &b);
            hb = next_line(&after, &b);
        }
    }
}

/*
 * What each step of an upgrade changed in the schema: the lines it added
 * and removed, step by step.  Reversing step k's delta on the schema after
 * it gives the schema before it, which is what step k's downgrade must
 * restore; keeping deltas instead of whole snapshots keeps the memory in
 * proportion to the schema's churn, not to revisions times schema size.
 */
typedef struct {
    char **line;
    unsigned char *added;
    int n, cap;
    int *start; /* step k's entries: [start[k], start[k + 1]) */
    int oom;
} delta_log;

static void record_delta(void *ctx, int added, const line_ref *line)
{
    delta_log *d = ctx;
    if (d->oom)
        return;
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 64;
        char **lines = rt_reallocarray(d->line, (size_t)cap, sizeof *lines);
        if (lines)
            d->line = lines;
        unsigned char *flags = lines ? rt_reallocarray(d->added, (size_t)cap, 1) : NULL;
        if (!flags) {
            d->oom = 1;
            return;
        }
        d->added = flags;
        d->cap = cap;
    }
    char *copy = rt_strndup(line->s, line->n);
    if (!copy) {
        d->oom = 1;
        return;
    }
    d->line[d->n] = copy;
    d->added[d->n++] = (unsigned char)added;
}

static void delta_log_free(delta_log *d)
{
    for (int i = 0; i < d->n; i++)
        rt_free(d->line[i]);
    rt_free(d->line);
    rt_free(d->added);
    rt_free(d->start);
}

static int cmp_ref_sort(const void *a, const void *b) { return cmp_ref(a, b); }

/*
 * The schema before step k: after (the schema after it) without the lines
 * step k added, with those it removed, sorted as a snapshot is.
 */
static int undo_step(const delta_log *d, int k, const char *after, rt_buf *out)
{
    int lo = d->start[k], hi = d->start[k + 1];
    size_t count = (size_t)(hi - lo);
    for (const char *p = after; *p; p++)
        count += *p == '\n';
    count += 1;
    line_ref *v = rt_reallocarray(NULL, count, sizeof *v);
    unsigned char *used = rt_calloc((size_t)(hi - lo) + 1, 1);
    if (!v || !used) {
        rt_free(v);
        rt_free(used);
        return RETORT_ENOMEM;
    }
    size_t n = 0;
    line_ref l;
    while (next_line(&after, &l)) {
        int drop = 0;
        for (int i = lo; i < hi && !drop; i++)
            if (d->added[i] && !used[i - lo] && strlen(d->line[i]) == l.n &&
                memcmp(d->line[i], l.s, l.n) == 0) {
                used[i - lo] = 1; /* one added line cancels one occurrence */
                drop = 1;
            }
        if (!drop)
            v[n++] = l;
    }
    for (int i = lo; i < hi; i++)
        if (!d->added[i])
            v[n++] = (line_ref){d->line[i], strlen(d->line[i])};
    qsort(v, n, sizeof *v, cmp_ref_sort);
    rt_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            rt_buf_append_char(out, '\n');
        rt_buf_append_n(out, v[i].s, v[i].n);
    }
    rt_free(v);
    rt_free(used);
    return rt_buf_failed(out) ? RETORT_ENOMEM : RETORT_OK;
}

#define DIFF_SHOWN 20

typedef struct {
    rt_buf *msg;
    int side; /* the lines reported: 1 only in actual, 0 only in expected */
    const char *label;
    int shown, total;
} diff_report;

static void report_line(void *ctx, int added, const line_ref *line)
{
    diff_report *d = ctx;
    if (added != d->side)
        return;
    d->total++;
    if (d->shown >= DIFF_SHOWN)
        return;
    d->shown++;
    rt_buf_printf(d->msg, "\n  %s: %.*s", d->label, (int)line->n, line->s);
}

/* Lists, in msg, the lines actual has and expected lacks (under
 * extra_label), then those it lacks (under missing_label). */
static void append_diff(rt_buf *msg, const char *expected, const char *actual,
                        const char *extra_label, const char *missing_label)
{
    for (int side = 1; side >= 0; side--) {
        diff_report d = {msg, side, side ? extra_label : missing_label, 0, 0};
        diff_lines(expected, actual, report_line, &d);
        if (d.total > d.shown)
            rt_buf_printf(msg, "\n  ... and %d more line%s %s", d.total - d.shown,
                          d.total - d.shown == 1 ? "" : "s",
                          side ? "left behind" : "missing");
    }
}

/* ------------------------------------------------------- single head */

RETORT_API int retort_test_single_head(retort *r)
{
    RT_GUARD(r);
    const char *check = "single-head";
    int rc = begin_check(r, "retort_test_single_head", check, 0);
    if (rc != RETORT_OK)
        return rc;
    const rt_graph *g = &r->graph;
    if (g->nheads == 1)
        return RETORT_OK;
    if (g->nheads == 0)
        return rt_fail(r, RETORT_ECHECKFAIL, "%s check failed: no revisions are registered, so "
                                             "there is no head",
                       check);

    /* The head registered last is most likely the revision that forked
     * history (files are registered in id order, ids start with a
     * timestamp); walk up to where its line of descent leaves the rest. */
    int h = g->heads[0];
    for (int i = 1; i < g->nheads; i++)
        if (g->heads[i] > h)
            h = g->heads[i];
    rt_buf heads = RT_BUF_INIT, why = RT_BUF_INIT, label = RT_BUF_INIT;
    rt_graph_append_sorted_ids(&r->reg, g->heads, g->nheads, &heads);
    int x = h;
    for (;;) {
        int np = g->par_start[x + 1] - g->par_start[x];
        if (np == 0) {
            rt_buf_printf(&why, "revision %s starts a second history: it has no parent, and its "
                                "descendants lead to head '%s'",
                          rev_label(r, x, &label), r->reg.revs[h].id);
            break;
        }
        int q = g->par[g->par_start[x]];
        int nc = g->child_start[q + 1] - g->child_start[q];
        if (nc > 1) {
            rt_buf_printf(&why, "revision %s names '%s' as its parent, but '%s' already has "
                                "the child%s ",
                          rev_label(r, x, &label), r->reg.revs[q].id, r->reg.revs[q].id,
                          nc > 2 ? "ren" : "");
            int shown = 0;
            for (int e = g->child_start[q]; e < g->child_start[q + 1]; e++) {
                int c = g->child[e];
                if (c == x)
                    continue;
                rt_buf_printf(&why, "%s'%s'", shown++ ? ", " : "", r->reg.revs[c].id);
            }
            break;
        }
        x = q;
    }
    rc = rt_fail(r, RETORT_ECHECKFAIL,
                 "%s check failed: the revision graph has %d heads (%s), expected exactly one: "
                 "%s; merge them with a revision whose parents are '%s', or re-parent '%s'",
                 check, g->nheads, rt_buf_str(&heads), rt_buf_str(&why), rt_buf_str(&heads),
                 r->reg.revs[x].id);
    rt_buf_free(&heads);
    rt_buf_free(&why);
    rt_buf_free(&label);
    return rc;
}

/* ----------------------------------------------------------- upgrade */

/* Brings a checked database back to base, as the checks promise on
 * success.  When a revision is irreversible or its downgrade fails, that
 * is impossible, but it is not what the upgrade check looks for (the
 * stairway and downgrade checks are): the database stays where it is, with
 * a warning. */
static void return_to_base(retort *r, const char *check)
{
    if (retort_downgrade(r, "base") != RETORT_OK) {
        rt_log(r, RETORT_LOG_WARN, "%s check: the database could not be brought back to base: "
                                   "%s",
               check, retort_errmsg(r));
        rt_clear_error(r);
    }
}

RETORT_API int retort_test_upgrade(retort *r)
{
    RT_GUARD(r);
    const char *check = "upgrade";
    int rc = begin_check(r, "retort_test_upgrade", check, 1);
    if (rc != RETORT_OK)
        return rc;
    /* Every head, not "head": several heads are the single-head check's
     * finding, and must not hide whether each branch applies. */
    if (retort_upgrade(r, "heads") != RETORT_OK)
        return check_failed(r, check, "upgrading an empty database to the heads failed");
    return_to_base(r, check);
    return RETORT_OK;
}

/* ------------------------------------------------------- one step down */

/*
 * Reverts topo[k] alone, the revisions topo[0..k] being applied.
 *
 * When they are all its ancestors (linear history, or a merge), it is
 * the only applied head and "-1" reverts exactly it.  Otherwise another
 * branch is applied beside it, and no downgrade target reverts it alone:
 * the recorded state is narrowed to its ancestors with a stamp (which runs
 * nothing), it is reverted, and the other branch's records are stamped
 * back.  The schema is untouched by the stamps, so its downgrade runs
 * against exactly the schema a full downgrade would present to it.
 */
static int revert_step(retort *r, int k, unsigned char *mark, rt_buf *scratch)
{
    const rt_graph *g = &r->graph;
    int v = g->topo[k];
    memset(mark, 0, (size_t)g->n);
    mark[v] = 1;
    int ancestors = 1;
    for (int i = k; i >= 0; i--) {
        int u = g->topo[i];
        if (!mark[u])
            continue;
        for (int e = g->par_start[u]; e < g->par_start[u + 1]; e++)
            if (!mark[g->par[e]]) {
                mark[g->par[e]] = 1;
                ancestors++;
            }
    }
    if (ancestors == k + 1)
        return retort_downgrade(r, "-1");

    int rc = retort_stamp(r, r->reg.revs[v].id);
    if (rc == RETORT_OK)
        rc = retort_downgrade(r, "-1");
    if (rc != RETORT_OK)
        return rc;
    /* The heads of topo[0..k): revisions none of whose children are among
     * them.  Stamping those restores exactly that set, which is closed
     * under ancestors. */
    rt_buf_reset(scratch);
    for (int i = 0; i < k; i++) {
        int u = g->topo[i], has_applied_child = 0;
        for (int e = g->child_start[u]; e < g->child_start[u + 1] && !has_applied_child; e++)
            has_applied_child = g->pos[g->child[e]] < k;
        if (!has_applied_child)
            rt_buf_printf(scratch, "%s%s", scratch->len ? " " : "", r->reg.revs[u].id);
    }
    if (rt_buf_failed(scratch))
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    return retort_stamp(r, scratch->len ? rt_buf_str(scratch) : "base");
}

/* "step K of N" and, unless the runner's message names it already (a
 * failed migration), the revision. */
static const char *step_context(retort *r, int step, int v, const char *what, rt_buf *out)
{
    rt_buf_reset(out);
    rt_buf_printf(out, "step %d of %d", step, r->graph.n);
    if (retort_errcode(r) != RETORT_EMIGRATION)
        rt_buf_printf(out, ", %s revision '%s'", what, r->reg.revs[v].id);
    return rt_buf_str(out);
}

/* --------------------------------------------------------- downgrade */

RETORT_API int retort_test_downgrade(retort *r)
{
    RT_GUARD(r);
    const char *check = "downgrade";
    int rc = begin_check(r, "retort_test_downgrade", check, 1);
    if (rc != RETORT_OK || (rc = require_reversible(r, check)) != RETORT_OK)
        return rc;
    int n = r->graph.n;
    rt_buf empty = RT_BUF_INIT, prev = RT_BUF_INIT, cur = RT_BUF_INIT, want = RT_BUF_INIT;
    rt_buf msg = RT_BUF_INIT, label = RT_BUF_INIT, scratch = RT_BUF_INIT;
    delta_log log = {NULL, NULL, 0, 0, rt_calloc((size_t)n + 1, sizeof(int)), 0};
    unsigned char *mark = rt_calloc((size_t)n + 1, 1);
    if (!log.start || !mark) {
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = snapshot_or_fail(r, check, &empty)) != RETORT_OK)
        goto done;
    rt_buf_append(&prev, rt_buf_str(&empty));

    /* Up one revision at a time in plan order, which is what upgrading to
     * the heads does, recording what each step changed. */
    for (int k = 0; k < n; k++) {
        log.start[k] = log.n;
        if (retort_upgrade(r, r->reg.revs[r->graph.topo[k]].id) != RETORT_OK) {
            rc = check_failed(r, check, "upgrading to the heads, before downgrading, failed");
            goto done;
        }
        if ((rc = snapshot_or_fail(r, check, &cur)) != RETORT_OK)
            goto done;
        diff_lines(rt_buf_str(&prev), rt_buf_str(&cur), record_delta, &log);
        if (log.oom || rt_buf_failed(&prev)) {
            rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
            goto done;
        }
        rt_buf tmp = prev;
        prev = cur;
        cur = tmp;
    }
    log.start[n] = log.n;

    /* Down one revision at a time, children first, which is what
     * downgrading to base does: after each, the schema must be the one
     * that preceded that revision's upgrade. */
    for (int k = n - 1; k >= 0; k--) {
        int v = r->graph.topo[k];
        if (revert_step(r, k, mark, &scratch) != RETORT_OK) {
            rc = check_failed(r, check, step_context(r, n - k, v, "reverting", &msg));
            goto done;
        }
        if ((rc = snapshot_or_fail(r, check, &cur)) != RETORT_OK)
            goto done;
        if (undo_step(&log, k, rt_buf_str(&prev), &want) != RETORT_OK) {
            rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
            goto done;
        }
        if (strcmp(rt_buf_str(&cur), rt_buf_str(&want)) != 0) {
            rt_buf_reset(&msg);
            append_diff(&msg, rt_buf_str(&want), rt_buf_str(&cur),
                        "left behind by its downgrade",
                        "dropped by its downgrade, though its upgrade did not create it");
            rc = rt_fail(r, RETORT_ECHECKFAIL,
                         "%s check failed: downgrading from the heads to base, revision %s "
                         "(step %d of %d) does not restore the schema that preceded its "
                         "upgrade:%s",
                         check, rev_label(r, v, &label), n - k, n, rt_buf_str(&msg));
            goto done;
        }
        rt_buf tmp = prev;
        prev = cur;
        cur = tmp;
    }
    if (strcmp(rt_buf_str(&prev), rt_buf_str(&empty)) != 0) /* implied by the steps */
        rc = rt_fail(r, RETORT_ECHECKFAIL, "%s check failed: the schema at base differs from "
                                           "the empty one", check);
done:
    rt_free(mark);
    rt_buf_free(&empty);
    rt_buf_free(&prev);
    rt_buf_free(&cur);
    rt_buf_free(&want);
    rt_buf_free(&msg);
    rt_buf_free(&label);
    rt_buf_free(&scratch);
    delta_log_free(&log);
    return rc;
}

/* ---------------------------------------------------------- stairway */

/*
 * The stairway over the revisions of plan order before *stop (all of them
 * when *stop is -1 on entry).  partial: *stop becomes the plan index of
 * the first irreversible revision, whose reversal (and that of every
 * revision after it) cannot be checked; otherwise an irreversible revision
 * anywhere fails the check before anything runs.
 */
static int stairway(retort *r, const char *op, int partial, int *stop)
{
    const char *check = "stairway";
    int rc = begin_check(r, op, check, 1);
    if (rc != RETORT_OK)
        return rc;
    int n = r->graph.n;
    *stop = -1;
    if (partial) {
        for (int k = 0; k < n && *stop < 0; k++)
            if (r->reg.revs[r->graph.topo[k]].flags & RETORT_REV_IRREVERSIBLE)
                *stop = k;
    } else if ((rc = require_reversible(r, check)) != RETORT_OK) {
        return rc;
    }
    /* The steps checked: every revision, or those below the stop. */
    int steps = *stop >= 0 ? *stop : n;
    rt_buf empty = RT_BUF_INIT, before = RT_BUF_INIT, after = RT_BUF_INIT, down = RT_BUF_INIT;
    rt_buf msg = RT_BUF_INIT, label = RT_BUF_INIT, scratch = RT_BUF_INIT;
    unsigned char *mark = rt_calloc((size_t)n + 1, 1);
    if (!mark) {
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = snapshot_or_fail(r, check, &empty)) != RETORT_OK)
        goto done;
    rt_buf_append(&before, rt_buf_str(&empty));
    if (rt_buf_failed(&before)) {
        rc = rt_fail(r, RETORT_ENOMEM, "out of memory");
        goto done;
    }

    for (int k = 0; k < steps; k++) {
        int v = r->graph.topo[k];
        const char *id = r->reg.revs[v].id;
        if (retort_upgrade(r, id) != RETORT_OK) {
            rc = check_failed(r, check, step_context(r, k + 1, v, "upgrading", &msg));
            goto done;
        }
        if ((rc = snapshot_or_fail(r, check, &after)) != RETORT_OK)
            goto done;
        if (revert_step(r, k, mark, &scratch) != RETORT_OK) {
            rc = check_failed(r, check, step_context(r, k + 1, v, "reverting", &msg));
            goto done;
        }
        if ((rc = snapshot_or_fail(r, check, &down)) != RETORT_OK)
            goto done;
        if (strcmp(rt_buf_str(&down), rt_buf_str(&before)) != 0) {
            rt_buf_reset(&msg);
            append_diff(&msg, rt_buf_str(&before), rt_buf_str(&down),
                        "left behind by the downgrade",
                        "dropped by the downgrade, though its upgrade did not create it");
            rc = rt_fail(r, RETORT_ECHECKFAIL,
                         "%s check failed: the downgrade of revision %s does not reverse its "
                         "upgrade (step %d of %d): after upgrading and downgrading it, the "
                         "schema differs from the schema before its upgrade:%s",
                         check, rev_label(r, v, &label), k + 1, n, rt_buf_str(&msg));
            goto done;
        }
        if (retort_upgrade(r, id) != RETORT_OK) {
            rc = check_failed(r, check,
                              step_context(r, k + 1, v, "upgrading again, after reverting,", &msg));
            goto done;
        }
        rt_buf tmp = before;
        before = after;
        after = tmp;
    }

    /* Every step reverses on its own; the whole downgrade then ends at the
     * empty schema unless a downgrade depends on the order it runs in. */
    if (retort_downgrade(r, "base") != RETORT_OK) {
        rc = check_failed(r, check, "every step reversed, but downgrading from the heads to "
                                    "base failed");
        goto done;
    }
    if ((rc = snapshot_or_fail(r, check, &down)) != RETORT_OK)
        goto done;
    if (strcmp(rt_buf_str(&down), rt_buf_str(&empty)) != 0) {
        rt_buf_reset(&msg);
        append_diff(&msg, rt_buf_str(&empty), rt_buf_str(&down), "left behind", "missing");
        rc = rt_fail(r, RETORT_ECHECKFAIL,
                     "%s check failed: every step reversed, but downgrading from the heads to "
                     "base left a schema different from the empty one:%s",
                     check, rt_buf_str(&msg));
    }
done:
    rt_free(mark);
    rt_buf_free(&empty);
    rt_buf_free(&before);
    rt_buf_free(&after);
    rt_buf_free(&down);
    rt_buf_free(&msg);
    rt_buf_free(&label);
    rt_buf_free(&scratch);
    return rc;
}

RETORT_API int retort_test_stairway(retort *r)
{
    RT_GUARD(r);
    int stop;
    return stairway(r, "retort_test_stairway", 0, &stop);
}

RETORT_API int retort_test_stairway_partial(retort *r, const char **stopped_at)
{
    RT_GUARD(r);
    if (r && !stopped_at)
        return rt_fail(r, RETORT_EINVAL, "retort_test_stairway_partial: stopped_at is NULL");
    int stop;
    int rc = stairway(r, "retort_test_stairway_partial", 1, &stop);
    if (rc != RETORT_OK)
        return rc;
    rt_buf_reset(&r->out);
    if (stop >= 0)
        rt_buf_append(&r->out, r->reg.revs[r->graph.topo[stop]].id);
    if (rt_buf_failed(&r->out))
        return rt_fail(r, RETORT_ENOMEM, "out of memory");
    *stopped_at = rt_buf_str(&r->out);
    return RETORT_OK;
}
