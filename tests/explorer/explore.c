/*
 * explore.c — retort-explore, the schedule explorer: random operations in
 * 2 to 4 processes, interleaved in lock step by a coordinator, with the
 * invariants of doc/RELIABILITY.md sections 1 and 2 checked after each
 * schedule.
 *
 * The parent (the coordinator) generates a schedule from (seed, index):
 * a linear chain of 3 to 6 revisions, some non-transactional, an initial
 * applied prefix, in one schedule in five a body that fails, and one
 * operation per child (upgrade, the command's plan-then-upgrade, downgrade,
 * stamp, mark-applied, mark-reverted, check) with its transaction mode and
 * its registry (the whole chain, or an old replica's prefix, tolerating
 * unknown revisions or not).  Each child runs its operation through the
 * public API on an "explore+BACKEND:" URL, whose driver (explore_driver.c)
 * reports every point where the order of events matters and waits for the
 * parent's go.  The parent picks, from a PRNG seeded by (seed, index), when
 * each child starts and which paused child goes next; a child that would
 * wait inside the database reports "blocked" and retries only when told, so
 * a schedule replays exactly.
 *
 * While the children run, the parent takes the committed state (sqlite3 /
 * libpq, never through retort) whenever one of them has just read it or
 * committed, and after they finish it checks:
 *  - bodies: each body ran (a line appended to a file outside the database)
 *    exactly as often as the audit log records an attempt of it, and its
 *    committed effect (a row in a table of the explorer) as often as the
 *    audit log records a completed transition;
 *  - the audit log replays: no revision applied twice, reverted while not
 *    applied, applied without its parent, reverted under its child; the
 *    replayed state is the version table's;
 *  - the recorded set is closed under parents, and nothing is dirty unless
 *    a failure left it so;
 *  - each operation returned success, with its promise holding where it last
 *    committed (or read), or a documented error that the state it last read
 *    justifies;
 *  - the final state is that of a serial execution of the successful
 *    operations in the order of their last commits.
 *
 * A failing schedule prints its operations, what broke and the command that
 * replays it.  See doc/RELIABILITY.md, "The schedule explorer".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#ifdef EXPLORE_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

#include <retort/retort.h>

#include "explore_driver.h"

#define MAXK 8
#define MAXC 4
#define FALLBACK_MS 5000 /* a released child that says nothing for this long waits unseen */
#define HANG_MS 60000    /* nothing from any child for this long: a hang */
#define MAX_STEPS 200000

/* ---------------------------------------------------------------- PRNG */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int rnd(uint64_t *s, int n) { return (int)(splitmix(s) % (uint64_t)n); }

/* ------------------------------------------------------------ schedules */

/* OP_PLAN_UPGRADE is what the command does: retort_plan, then retort_upgrade. */
enum { OP_UPGRADE, OP_DOWNGRADE, OP_STAMP, OP_MARK_APPLIED, OP_MARK_REVERTED, OP_CHECK,
       OP_PLAN_UPGRADE };
static const char *const op_names[] = {"upgrade", "downgrade", "stamp", "mark-applied",
                                       "mark-reverted", "check", "plan+upgrade"};

#define T_BASE (-1)
#define T_HEAD 100

typedef struct {
    int kind;
    int target; /* T_BASE, T_HEAD or a revision index */
    int whole_run;
    int known; /* the registry knows revisions [0, known) */
    int tolerate;
} op_t;

typedef struct {
    int k;
    int nontx[MAXK];
    int wal;
    int initial; /* revisions [0, initial) applied before the children start */
    int nops;
    op_t ops[MAXC];
    /* A failing body: revision poison (-1: none) fails in direction
     * poison_up after its statements ran. */
    int poison;
    int poison_up;
} sched_t;

static void gen_schedule(uint64_t seed, long idx, sched_t *s, uint64_t *sched_rng)
{
    uint64_t st = seed * 0x2545F4914F6CDD1Dull + (uint64_t)idx * 0x9E3779B97F4A7C15ull + 1;
    splitmix(&st);
    memset(s, 0, sizeof *s);
    s->k = 3 + rnd(&st, 4);
    for (int i = 0; i < s->k; i++)
        s->nontx[i] = rnd(&st, 4) == 0;
    s->wal = rnd(&st, 2);
    s->initial = rnd(&st, s->k + 1);
    s->nops = 2 + rnd(&st, 3);
    for (int c = 0; c < s->nops; c++) {
        op_t *o = &s->ops[c];
        int w = rnd(&st, 100);
        o->kind = w < 22   ? OP_UPGRADE
                  : w < 35 ? OP_PLAN_UPGRADE
                  : w < 70 ? OP_DOWNGRADE
                  : w < 80 ? OP_STAMP
                  : w < 85 ? OP_MARK_APPLIED
                  : w < 90 ? OP_MARK_REVERTED
                           : OP_CHECK;
        o->whole_run = rnd(&st, 2);
        o->known = rnd(&st, 4) == 0 ? 1 + rnd(&st, s->k - 1) : s->k;
        o->tolerate = rnd(&st, 2);
        int t = rnd(&st, o->known + 1);
        switch (o->kind) {
        case OP_UPGRADE:
        case OP_PLAN_UPGRADE:
            o->target = t == o->known ? T_HEAD : t;
            break;
        case OP_DOWNGRADE:
            o->target = t == o->known ? T_BASE : t;
            break;
        case OP_STAMP:
            o->target = rnd(&st, 3) == 0 ? T_BASE : t == o->known ? T_HEAD : t;
            break;
        case OP_MARK_APPLIED:
        case OP_MARK_REVERTED:
            o->target = rnd(&st, o->known);
            break;
        default:
            o->target = T_HEAD;
        }
    }
    *sched_rng = splitmix(&st);
    /* From a stream of its own, so that adding failures left every other
     * choice of a schedule as it was. */
    uint64_t pst = seed * 0x9E3779B97F4A7C15ull + (uint64_t)idx * 0x2545F4914F6CDD1Dull + 7;
    splitmix(&pst);
    s->poison = -1;
    if (rnd(&pst, 5) == 0) {
        /* An up step can fail only above the initial prefix (the setup
         * applies that prefix through the same bodies). */
        s->poison_up = s->initial < s->k ? rnd(&pst, 2) : 0;
        s->poison = s->poison_up ? s->initial + rnd(&pst, s->k - s->initial) : rnd(&pst, s->k);
    }
}

static void rev_id(int i, char *out, size_t size) { snprintf(out, size, "r%02d", i + 1); }

static void target_name(const op_t *o, char *out, size_t size)
{
    if (o->target == T_BASE)
        snprintf(out, size, "base");
    else if (o->target == T_HEAD)
        snprintf(out, size, "head");
    else
        rev_id(o->target, out, size);
}

static void describe_op(const op_t *o, int k, char *out, size_t size)
{
    char t[16];
    target_name(o, t, sizeof t);
    size_t n = (size_t)snprintf(out, size, "%s%s%s", op_names[o->kind],
                                o->kind == OP_CHECK ? "" : " ", o->kind == OP_CHECK ? "" : t);
    if (o->kind == OP_UPGRADE || o->kind == OP_DOWNGRADE || o->kind == OP_PLAN_UPGRADE)
        n += (size_t)snprintf(out + n, size - n, " (%s)", o->whole_run ? "whole-run"
                                                                        : "per-migration");
    if (o->known < k && n < size)
        snprintf(out + n, size - n, " [old registry r01..r%02d%s]", o->known,
                 o->tolerate ? ", tolerate_unknown" : "");
}

/* --------------------------------------------------------- the run */

typedef struct {
    int pg;
    char dir[256];     /* SQLite: the run's temporary directory */
    char pgdb[64];     /* PostgreSQL: the run's database */
    int verbose;
    int keep;
    const char *argv0;
#ifdef EXPLORE_HAVE_LIBPQ
    PGconn *pq;
#endif
} run_t;

/* Per schedule: where things are. */
typedef struct {
    char url[512];       /* the children's URL */
    char plain_url[512]; /* the same database through the built-in driver */
    char schema[32];
    char db_path[300];
    char bodies_path[300];
    sqlite3 *sq;
    int have_table; /* the version table was seen: it is never dropped */
} place_t;

/* ------------------------------------------------- the parent's reads */

typedef struct {
    int n;
    char **v; /* rows * cols strings, malloc'd */
    int cols;
} rows_t;

static void rows_free(rows_t *r)
{
    for (int i = 0; i < r->n * r->cols; i++)
        free(r->v[i]);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int sq_row(void *ctx, int ncols, char **vals, char **names)
{
    (void)names;
    rows_t *r = ctx;
    r->cols = ncols;
    char **nv = realloc(r->v, sizeof *nv * (size_t)((r->n + 1) * ncols));
    if (!nv)
        return 1;
    r->v = nv;
    for (int i = 0; i < ncols; i++)
        r->v[r->n * ncols + i] = strdup(vals[i] ? vals[i] : "");
    r->n++;
    return 0;
}

/* Runs sql on the schedule's database; rows into out (may be NULL).
 * Returns 0, or -1 with a message on stderr. */
static int db_query(run_t *run, place_t *pl, const char *sql, rows_t *out)
{
    rows_t ignore = {0, NULL, 0};
    if (!out)
        out = &ignore;
    memset(out, 0, sizeof *out);
    int rc = 0;
    if (!run->pg) {
        char *err = NULL;
        if (sqlite3_exec(pl->sq, sql, sq_row, out, &err) != SQLITE_OK) {
            fprintf(stderr, "explore: %s: %s\n", sql, err ? err : "?");
            rc = -1;
        }
        sqlite3_free(err);
    }
#ifdef EXPLORE_HAVE_LIBPQ
    else {
        PGresult *res = PQexec(run->pq, sql);
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK) {
            int nr = PQntuples(res), nc = PQnfields(res);
            for (int i = 0; i < nr; i++) {
                char *vals[16];
                for (int j = 0; j < nc && j < 16; j++)
                    vals[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
                sq_row(out, nc < 16 ? nc : 16, vals, NULL);
            }
        } else if (st != PGRES_COMMAND_OK) {
            fprintf(stderr, "explore: %s: %s\n", sql, PQerrorMessage(run->pq));
            rc = -1;
        }
        PQclear(res);
    }
#endif
    rows_free(&ignore);
    return rc;
}

static int table_exists(run_t *run, place_t *pl, const char *table)
{
    char sql[256];
    rows_t r;
    if (run->pg)
        snprintf(sql, sizeof sql, "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = '%s' "
                                  "AND tablename = '%s'", pl->schema, table);
    else
        snprintf(sql, sizeof sql, "SELECT 1 FROM sqlite_master WHERE name = '%s'", table);
    if (db_query(run, pl, sql, &r) != 0)
        return 0;
    int n = r.n;
    rows_free(&r);
    return n > 0;
}

/* The recorded state: bit i set when revision i has a row; dirty rows too. */
static int read_state(run_t *run, place_t *pl, unsigned *applied, unsigned *dirty)
{
    *applied = *dirty = 0;
    if (!pl->have_table && !(pl->have_table = table_exists(run, pl, "retort_version")))
        return 0;
    rows_t r;
    if (db_query(run, pl, "SELECT id, state FROM retort_version", &r) != 0)
        return -1;
    for (int i = 0; i < r.n; i++) {
        int idx = atoi(r.v[i * 2] + 1) - 1;
        if (idx < 0 || idx >= MAXK)
            continue;
        *applied |= 1u << idx;
        if (strcmp(r.v[i * 2 + 1], "applied") != 0)
            *dirty |= 1u << idx;
    }
    rows_free(&r);
    return 0;
}

static void set_text(unsigned set, int k, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < k && n + 5 < size; i++)
        if (set & (1u << i))
            n += (size_t)snprintf(out + n, size - n, "%sr%02d", n ? " " : "", i + 1);
    if (!n)
        snprintf(out, size, "(none)");
}

/* ------------------------------------------------------------ bodies */

static int g_pg;
static const sched_t *g_sched; /* the schedule the bodies belong to */
static int body_fd = -1;
static int body_index[MAXK];

static int body(retort_conn *conn, void *user, int up)
{
    int i = *(int *)user & 0xff;
    int nontx = (*(int *)user & 0x100) != 0;
    char id[8], label[64], sql[600];
    rev_id(i, id, sizeof id);
    snprintf(label, sizeof label, "body %s %s", id, up ? "up" : "down");
    xp_point(label);
    /* Idempotent statements, so that a body run twice shows in the counts
     * rather than as an error; PostgreSQL's non-transactional bodies build an
     * index concurrently, which waits for every older transaction. */
    char index[128] = "";
    if (g_pg && nontx && up)
        snprintf(index, sizeof index, "CREATE INDEX CONCURRENTLY IF NOT EXISTS i_%s ON t_%s (x); ",
                 id, id);
    if (up)
        snprintf(sql, sizeof sql,
                 "CREATE TABLE IF NOT EXISTS t_%s (x INTEGER); %s"
                 "INSERT INTO explore_effects (rev, dir) VALUES ('%s', 'up')",
                 id, index, id);
    else
        snprintf(sql, sizeof sql,
                 "DROP TABLE IF EXISTS t_%s; "
                 "INSERT INTO explore_effects (rev, dir) VALUES ('%s', 'down')",
                 id, id);
    if (retort_exec(conn, sql) != RETORT_OK)
        return 1;
    if (body_fd >= 0) {
        char line[32];
        int n = snprintf(line, sizeof line, "%s %s\n", id, up ? "up" : "down");
        if (write(body_fd, line, (size_t)n) != n)
            return 1;
    }
    /* The injected failure: after the statements, as a real one would. */
    if (g_sched && g_sched->poison == i && g_sched->poison_up == up) {
        retort_exec(conn, "SELECT * FROM explore_no_such_table");
        return 1;
    }
    snprintf(label, sizeof label, "after body %s %s", id, up ? "up" : "down");
    xp_point(label);
    return 0;
}

static int body_up(retort_conn *c, void *u) { return body(c, u, 1); }
static int body_down(retort_conn *c, void *u) { return body(c, u, 0); }

static int register_chain(retort *r, const sched_t *s, int known)
{
    for (int i = 0; i < known; i++) {
        char id[8], parent[8];
        rev_id(i, id, sizeof id);
        if (i)
            rev_id(i - 1, parent, sizeof parent);
        body_index[i] = i | (s->nontx[i] ? 0x100 : 0);
        if (retort_add(r, id, i ? parent : NULL, id, body_up, body_down, &body_index[i]) != 0)
            return -1;
        if (s->nontx[i] && retort_revision_set_transactional(r, id, 0) != 0)
            return -1;
    }
    return 0;
}

/* Makes a context on url with the schedule's settings for op. */
static int open_context(retort **out, const char *url, const place_t *pl, const sched_t *s,
                        const op_t *o)
{
    retort *r = NULL;
    int rc = retort_new(&r, url);
    if (rc == RETORT_OK && pl->schema[0])
        rc = retort_set_schema(r, pl->schema);
    if (rc == RETORT_OK)
        rc = retort_set_lock_timeout(r, 600000);
    if (rc == RETORT_OK)
        rc = retort_set_log_level(r, RETORT_LOG_NONE);
    if (rc == RETORT_OK && o)
        rc = retort_set_transaction_mode(r, o->whole_run ? RETORT_TX_WHOLE_RUN
                                                         : RETORT_TX_PER_MIGRATION);
    if (rc == RETORT_OK && o)
        rc = retort_set_tolerate_unknown(r, o->tolerate);
    if (rc == RETORT_OK && register_chain(r, s, o ? o->known : s->k) != 0)
        rc = RETORT_ERROR;
    *out = r;
    return rc;
}

static int run_op(retort *r, const op_t *o)
{
    char t[16];
    target_name(o, t, sizeof t);
    switch (o->kind) {
    case OP_UPGRADE:
        return retort_upgrade(r, t);
    case OP_DOWNGRADE:
        return retort_downgrade(r, t);
    case OP_STAMP:
        return retort_stamp(r, t);
    case OP_MARK_APPLIED:
        return retort_mark_applied(r, t);
    case OP_MARK_REVERTED:
        return retort_mark_reverted(r, t);
    case OP_PLAN_UPGRADE: {
        const char *ids = NULL;
        int rc = retort_plan(r, 1, t, &ids);
        return rc != RETORT_OK ? rc : retort_upgrade(r, t);
    }
    default:
        return retort_check(r);
    }
}

static void child_main(const place_t *pl, const sched_t *s, int c, int out, int in)
{
    g_sched = s;
    xp_client_attach(out, in);
    /* The coordinator decides when it starts, too: an operation started
     * while another is midway is where several defects hid. */
    xp_point("start");
    retort *r = NULL;
    int rc = open_context(&r, pl->url, pl, s, &s->ops[c]);
    if (rc == RETORT_OK)
        rc = run_op(r, &s->ops[c]);
    xp_done(rc, retort_errcode(r), retort_errmsg(r));
    retort_free(r);
    _exit(0);
}

/* --------------------------------------------------------- coordinator */

enum { C_RUNNING, C_PAUSED, C_BLOCKED, C_DONE };

typedef struct {
    pid_t pid;
    int rfd, wfd;
    int st;
    int retry_ok;
    char label[128];
    int rc;
    int errcode; /* retort_errcode() after the operation */
    char msg[1000];
    int done_order;
    unsigned s_done, d_done; /* the state when it returned */
    unsigned s_read, d_read; /* the committed state at its last read */
    int have_read;
    /* The state at its last read or commit, whichever came later: where a
     * success is judged, since others may run while it unlocks. */
    unsigned s_lin, d_lin;
    long lin_ev;  /* when (in messages received), 0: never */
    int in_tx;    /* between its begin and its commit or rollback */
    int wrote;    /* released to write since its state was last taken */
    int points;
} child_t;

typedef struct {
    char *text;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[2048];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp)
        n = sizeof tmp - 1;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *t = realloc(b->text, cap);
        if (!t)
            return;
        b->text = t;
        b->cap = cap;
    }
    memcpy(b->text + b->len, tmp, (size_t)n + 1);
    b->len += (size_t)n;
}

typedef struct {
    run_t *run;
    place_t *pl;
    const sched_t *s;
    child_t ch[MAXC];
    int ndone;
    sbuf trace;
    sbuf problems;
    int steps;
    long ev; /* messages received */
    int any_failed; /* the audit log records a failed attempt */
    double t0;
} coord_t;

static void note_problem(coord_t *co, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[1500];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_printf(&co->problems, "  violation: %s\n", tmp);
}

/* Reads one message of child c (readable now).  Returns 1 on progress. */
static int take_message(coord_t *co, int c)
{
    child_t *ch = &co->ch[c];
    xp_msg m;
    size_t got = 0;
    while (got < sizeof m) {
        ssize_t n = read(ch->rfd, (char *)&m + got, sizeof m - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < sizeof m) {
        int status = 0;
        waitpid(ch->pid, &status, 0);
        ch->pid = -1;
        ch->st = C_DONE;
        ch->rc = -1;
        snprintf(ch->msg, sizeof ch->msg, "the child died without reporting (status %d%s%d)",
                 status, WIFSIGNALED(status) ? ", signal " : ", exit ",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        ch->done_order = co->ndone++;
        read_state(co->run, co->pl, &ch->s_done, &ch->d_done);
        sb_printf(&co->trace, "    c%d DIED: %s\n", c, ch->msg);
        return 1;
    }
    m.text[sizeof m.text - 1] = '\0';
    co->ev++;
    if (m.kind == XP_MSG_POINT) {
        ch->st = C_PAUSED;
        ch->points++;
        snprintf(ch->label, sizeof ch->label, "%.120s", m.text);
        /* What it read: the committed state now, while every process is
         * paused.  An error is judged against it, not against the state
         * when it returned: others may run while it rolls back. */
        if (strcmp(m.text, "after begin") == 0)
            ch->in_tx = 1;
        else if (strcmp(m.text, "after commit") == 0 || strcmp(m.text, "after rollback") == 0 ||
                 strcmp(m.text, "commit failed") == 0 || strcmp(m.text, "batch failed") == 0)
            ch->in_tx = 0;
        if (strncmp(m.text, "after read", 10) == 0) {
            read_state(co->run, co->pl, &ch->s_read, &ch->d_read);
            ch->have_read = 1;
            ch->s_lin = ch->s_read;
            ch->d_lin = ch->d_read;
            ch->lin_ev = co->ev;
        } else if (ch->wrote && !ch->in_tx) {
            /* Its writes are committed (a commit, or statements outside a
             * transaction, which commit by themselves): the state now. */
            read_state(co->run, co->pl, &ch->s_lin, &ch->d_lin);
            ch->lin_ev = co->ev;
            ch->wrote = 0;
        }
        if (co->run->verbose)
            sb_printf(&co->trace, "    c%d at %s\n", c, m.text);
        return 1;
    }
    if (m.kind == XP_MSG_BLOCKED) {
        ch->st = C_BLOCKED;
        ch->retry_ok = 0;
        if (co->run->verbose)
            sb_printf(&co->trace, "    c%d blocked (%s)\n", c, m.text);
        return 0;
    }
    ch->st = C_DONE;
    ch->rc = m.arg;
    ch->errcode = m.arg2;
    snprintf(ch->msg, sizeof ch->msg, "%s", m.text);
    ch->done_order = co->ndone++;
    read_state(co->run, co->pl, &ch->s_done, &ch->d_done);
    if (!ch->lin_ev || ch->wrote) {
        /* It wrote after its last point and ran alone to here. */
        ch->s_lin = ch->s_done;
        ch->d_lin = ch->d_done;
        ch->lin_ev = co->ev;
    }
    if (co->run->verbose) {
        char st[64];
        set_text(ch->s_done, co->s->k, st, sizeof st);
        sb_printf(&co->trace, "    c%d returned %d%s%s (state then: %s)\n", c, m.arg,
                  m.arg ? ": " : "", m.arg ? m.text : "", st);
    }
    return 1;
}

/* Waits up to ms for child c's next message.  Returns 1 if one came. */
static int wait_child(coord_t *co, int c, int ms, int *progress)
{
    struct pollfd p = {co->ch[c].rfd, POLLIN, 0};
    int n;
    do
        n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    *progress = take_message(co, c);
    return 1;
}

/* Whether child c just let go of a lock others may wait for: only then do
 * blocked children retry (a lock is held only from begin to commit or
 * rollback, and from lock to unlock, across points). */
static int released(const child_t *ch)
{
    static const char *const after[] = {"after commit", "after rollback", "commit failed",
                                        "after unlock", "begin failed", "lock failed",
                                        "batch failed"};
    if (ch->st == C_DONE)
        return 1;
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
        if (strcmp(ch->label, after[i]) == 0)
            return 1;
    return 0;
}

static void on_progress(coord_t *co, int c)
{
    if (!released(&co->ch[c]))
        return;
    for (int i = 0; i < co->s->nops; i++)
        if (i != c && co->ch[i].st == C_BLOCKED)
            co->ch[i].retry_ok = 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void go(coord_t *co, int c)
{
    char b = 'g';
    child_t *ch = &co->ch[c];
    if (co->run->verbose)
        sb_printf(&co->trace, "  step %d [%.1f ms]: c%d %s (%s)\n", co->steps,
                  now_ms() - co->t0, c,
                  ch->st == C_BLOCKED ? "retries" : "goes", ch->label);
    static const char *const writes[] = {"before write", "before exec", "before batch",
                                         "before commit", "body "};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
        if (ch->st == C_PAUSED && strncmp(ch->label, writes[i], strlen(writes[i])) == 0)
            ch->wrote = 1;
    ch->st = C_RUNNING;
    if (write(ch->wfd, &b, 1) != 1) {
        /* It died; its pipe will say so. */
    }
}

/* Runs the children to completion.  Returns 0, or -1 after a hang. */
static int coordinate(coord_t *co, uint64_t *rng)
{
    int n = co->s->nops;
    int stall = 0;
    while (co->ndone < n) {
        /* A child released earlier that waited unseen may have moved on. */
        for (int c = 0; c < n; c++) {
            int progress = 0;
            if (co->ch[c].st == C_RUNNING && wait_child(co, c, 0, &progress) && progress)
                on_progress(co, c);
        }
        int cand[MAXC], nc = 0, running = 0;
        for (int c = 0; c < n; c++) {
            if (co->ch[c].st == C_PAUSED || (co->ch[c].st == C_BLOCKED && co->ch[c].retry_ok))
                cand[nc++] = c;
            running += co->ch[c].st == C_RUNNING;
        }
        if (nc == 0) {
            if (running) {
                struct pollfd p[MAXC];
                int idx[MAXC], np = 0;
                for (int c = 0; c < n; c++)
                    if (co->ch[c].st == C_RUNNING) {
                        p[np].fd = co->ch[c].rfd;
                        p[np].events = POLLIN;
                        p[np].revents = 0;
                        idx[np++] = c;
                    }
                int r = poll(p, (nfds_t)np, HANG_MS);
                if (r <= 0 && errno != EINTR) {
                    note_problem(co, "hang: no process reported anything for %d s", HANG_MS / 1000);
                    return -1;
                }
                for (int i = 0; i < np; i++)
                    if (p[i].revents) {
                        int progress = 0;
                        if (wait_child(co, idx[i], 0, &progress) && progress)
                            on_progress(co, idx[i]);
                    }
                continue;
            }
            /* Every child is blocked and has retried since the last
             * progress: let them all retry again (nobody holds what they
             * wait for any more, or this is a deadlock). */
            if (++stall > 10000) {
                note_problem(co, "deadlock: every process waits inside the database");
                return -1;
            }
            for (int c = 0; c < n; c++)
                if (co->ch[c].st == C_BLOCKED)
                    co->ch[c].retry_ok = 1;
            continue;
        }
        if (++co->steps > MAX_STEPS) {
            note_problem(co, "no end after %d steps (livelock?)", MAX_STEPS);
            return -1;
        }
        int c = cand[rnd(rng, nc)];
        go(co, c);
        int progress = 0;
        if (!wait_child(co, c, FALLBACK_MS, &progress)) {
            sb_printf(&co->trace, "    c%d said nothing for %d ms after '%s': waiting unseen\n",
                      c, FALLBACK_MS, co->ch[c].label);
            continue;
        }
        if (progress) {
            stall = 0;
            on_progress(co, c);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ checks */

static int model_known_head(const op_t *o) { return o->known - 1; }

/* The state after op o in a serial execution from state s. */
static unsigned model_apply(const op_t *o, int k, unsigned s)
{
    unsigned known_mask = (1u << o->known) - 1;
    (void)k;
    int t = o->target == T_HEAD ? model_known_head(o) : o->target;
    switch (o->kind) {
    case OP_UPGRADE:
    case OP_PLAN_UPGRADE:
        return s | ((2u << t) - 1);
    case OP_DOWNGRADE:
        return o->target == T_BASE ? 0 : s & ((2u << t) - 1);
    case OP_STAMP: {
        /* Newer revisions recorded (an old replica tolerating them) depend
         * on every revision it knows, on a chain: a stamp keeps them. */
        unsigned want = o->target == T_BASE ? 0 : (2u << t) - 1;
        return s & ~known_mask ? s | known_mask : want;
    }
    case OP_MARK_APPLIED:
        return s | (1u << o->target);
    case OP_MARK_REVERTED:
        return s & ~(1u << o->target);
    default:
        return s;
    }
}

/* Whether child c's result is success or a documented error that the state
 * it saw justifies, and whether a success left what it promised. */
static void check_result(coord_t *co, int c, int *unexpected)
{
    const sched_t *s = co->s;
    const op_t *o = &s->ops[c];
    const child_t *ch = &co->ch[c];
    unsigned known_mask = (1u << o->known) - 1;
    unsigned st = ch->s_lin;
    char d[160], seen[64];
    describe_op(o, s->k, d, sizeof d);
    set_text(st, s->k, seen, sizeof seen);
    int t = o->target == T_HEAD ? model_known_head(o) : o->target;
    if (ch->rc == RETORT_OK && (ch->errcode != RETORT_OK || ch->msg[0])) {
        note_problem(co, "c%d (%s) returned success but retort_errcode() is %d and "
                         "retort_errmsg() \"%s\"", c, d, ch->errcode, ch->msg);
        *unexpected = 1;
    }
    /* An operator's mark of a revision changes the state under a run in a
     * way no lock is meant to prevent: after one, a success promises
     * nothing checkable. */
    int marked_before = 0;
    for (int m = 0; m < s->nops; m++)
        if (m != c && co->ch[m].rc == RETORT_OK && co->ch[m].lin_ev < ch->lin_ev &&
            (s->ops[m].kind == OP_MARK_APPLIED || s->ops[m].kind == OP_MARK_REVERTED))
            marked_before = 1;
    if (ch->rc == RETORT_OK && !marked_before) {
        const char *broken = NULL;
        switch (o->kind) {
        case OP_UPGRADE:
        case OP_PLAN_UPGRADE:
            if ((st & ((2u << t) - 1)) != ((2u << t) - 1))
                broken = "its target or an ancestor is not applied";
            break;
        case OP_DOWNGRADE:
            if (o->target == T_BASE ? st != 0 : (st & ~((2u << t) - 1)) != 0)
                broken = "a descendant of its target is still applied";
            break;
        case OP_STAMP: {
            unsigned want = o->target == T_BASE ? 0 : (2u << t) - 1;
            /* With newer revisions recorded, what they depend on stays. */
            if ((st & ~known_mask) ? (st & want) != want : (st & known_mask) != want)
                broken = "the recorded state is not its target";
            break;
        }
        case OP_MARK_APPLIED:
            if (!(st & (1u << o->target)))
                broken = "the revision is not recorded";
            break;
        case OP_MARK_REVERTED:
            if (st & (1u << o->target))
                broken = "the revision is still recorded";
            break;
        default:
            if ((st & known_mask) != known_mask || (!o->tolerate && (st & ~known_mask)) ||
                ch->d_lin)
                broken = "check succeeded on a state that is not at head";
        }
        if (broken) {
            note_problem(co, "c%d (%s) returned success but %s after its last commit or "
                             "read (state then: %s)", c, d, broken, seen);
            *unexpected = 1;
        }
        return;
    }
    if (ch->rc == RETORT_OK)
        return;
    int ok = 0;
    if (ch->have_read) {
        st = ch->s_read;
        set_text(st, s->k, seen, sizeof seen);
    }
    if (ch->rc == RETORT_EUNKNOWN)
        ok = (st & ~known_mask) != 0;
    else if (ch->rc == RETORT_EPENDING)
        ok = o->kind == OP_CHECK && (st & known_mask) != known_mask;
    else if (ch->rc == RETORT_EDIRTY)
        /* After a non-transactional revision failed; and, documented for
         * SQLite (doc/RELIABILITY.md, "What is not guaranteed"), while
         * another process runs one, since without a session lock it looks
         * dirty.  Only while a row is dirty indeed; on PostgreSQL, whose
         * lock lets it wait, only after a failure. */
        ok = (ch->have_read ? ch->d_read : ch->d_done) != 0 && (!co->run->pg || co->any_failed);
    else if (ch->rc == RETORT_EMIGRATION && s->poison >= 0) {
        /* The injected failure, named, in the direction it was injected. */
        char quoted[16];
        snprintf(quoted, sizeof quoted, "'r%02d'", s->poison + 1);
        int dir_up = o->kind == OP_UPGRADE || o->kind == OP_PLAN_UPGRADE;
        ok = strstr(ch->msg, quoted) != NULL &&
             (s->poison_up ? dir_up : o->kind == OP_DOWNGRADE);
    }
    else if (ch->rc == RETORT_ETARGET)
        ok = o->kind == OP_DOWNGRADE && o->target != T_BASE && !(st & (1u << o->target));
    if (!ok && ch->rc == RETORT_EGRAPH && strstr(ch->msg, "out of order"))
        /* Refusing revisions below applied ones (allow_out_of_order unset):
         * only a state with a gap justifies it, which on a chain only an
         * operator's mark-applied makes. */
        ok = (o->kind == OP_UPGRADE || o->kind == OP_PLAN_UPGRADE || o->kind == OP_CHECK) &&
             (st & (st + 1)) != 0;
    if (!ok && ch->rc == RETORT_EMIGRATION && strstr(ch->msg, "changed its version row")) {
        /* A non-transactional step whose row an operator's mark or a stamp
         * changed while its body ran: refused, nothing recorded. */
        for (int m = 0; m < s->nops && !ok; m++)
            ok = m != c && (s->ops[m].kind == OP_MARK_APPLIED ||
                            s->ops[m].kind == OP_MARK_REVERTED || s->ops[m].kind == OP_STAMP);
    }
    if (!ok) {
        note_problem(co, "c%d (%s) returned %d (%s): %s (state at its last read: %s)", c, d,
                     ch->rc, retort_strerror(ch->rc), ch->msg, seen);
        *unexpected = 1;
    }
}

typedef struct {
    int up_file, down_file;
    int up_log, down_log;       /* attempts in the audit log */
    int up_ok, down_ok;         /* completed transitions */
    int up_effect, down_effect; /* committed effects */
} counts_t;

static void check_schedule(coord_t *co, unsigned initial, long base_seq, int any_mark)
{
    run_t *run = co->run;
    place_t *pl = co->pl;
    const sched_t *s = co->s;
    int k = s->k;
    counts_t cnt[MAXK];
    memset(cnt, 0, sizeof cnt);

    /* Bodies, counted outside the database. */
    FILE *f = fopen(pl->bodies_path, "r");
    char line[64];
    while (f && fgets(line, sizeof line, f)) {
        int i = atoi(line + 1) - 1;
        if (i < 0 || i >= k)
            continue;
        if (strstr(line, " up"))
            cnt[i].up_file++;
        else
            cnt[i].down_file++;
    }
    if (f)
        fclose(f);

    rows_t eff;
    if (db_query(run, pl, "SELECT rev, dir FROM explore_effects", &eff) == 0) {
        for (int r = 0; r < eff.n; r++) {
            int i = atoi(eff.v[r * 2] + 1) - 1;
            if (i < 0 || i >= k)
                continue;
            if (strcmp(eff.v[r * 2 + 1], "up") == 0)
                cnt[i].up_effect++;
            else
                cnt[i].down_effect++;
        }
        rows_free(&eff);
    }

    /* The audit log, replayed. */
    unsigned state = initial;
    unsigned marked = 0; /* revisions resolved by hand: no precondition holds after */
    int any_failed_entry = 0;
    if (table_exists(run, pl, "retort_version_log")) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT seq, revision, direction, outcome, COALESCE(error, '') "
                 "FROM retort_version_log WHERE seq > %ld ORDER BY seq",
                 base_seq);
        rows_t log;
        if (db_query(run, pl, sql, &log) == 0) {
            for (int r = 0; r < log.n; r++) {
                char **v = &log.v[r * 5];
                int i = atoi(v[1] + 1) - 1;
                if (i < 0 || i >= k)
                    continue;
                unsigned bit = 1u << i;
                int okk = strcmp(v[3], "ok") == 0;
                if (strcmp(v[2], "up") == 0) {
                    cnt[i].up_log++;
                    cnt[i].up_ok += okk;
                } else if (strcmp(v[2], "down") == 0) {
                    cnt[i].down_log++;
                    cnt[i].down_ok += okk;
                }
                if (!okk) {
                    any_failed_entry = 1;
                    continue;
                }
                int add = -1; /* the entry's effect: 1 records, 0 removes */
                if (strcmp(v[2], "up") == 0 || strcmp(v[2], "mark-applied") == 0)
                    add = 1;
                else if (strcmp(v[2], "down") == 0 || strcmp(v[2], "mark-reverted") == 0)
                    add = 0;
                else if (strcmp(v[2], "stamp") == 0)
                    add = strstr(v[4], "not applied") == NULL;
                if (add < 0)
                    continue;
                /* After an operator's mark of a revision, which may overtake a
                 * run of it, only its state is followed. */
                if (!(marked & bit)) {
                    if (strcmp(v[2], "up") == 0) {
                        if (state & bit)
                            note_problem(co, "audit #%s: %s applied while already applied (its "
                                             "body ran again)", v[0], v[1]);
                        else if (i && !(state & (bit >> 1)) && !any_mark)
                            note_problem(co, "audit #%s: %s applied while its parent r%02d was "
                                             "not", v[0], v[1], i);
                    } else if (strcmp(v[2], "down") == 0) {
                        if (!(state & bit))
                            note_problem(co, "audit #%s: %s reverted while not applied (its "
                                             "down body ran again)", v[0], v[1]);
                        else if ((state & ~((bit << 1) - 1)) && !any_mark)
                            note_problem(co, "audit #%s: %s reverted while a child was applied",
                                         v[0], v[1]);
                    } else if (strcmp(v[2], "stamp") == 0 && add == !!(state & bit)) {
                        note_problem(co, "audit #%s: stamp of %s logged a change it did not "
                                         "make (%s)", v[0], v[1], v[4]);
                    }
                }
                if (strncmp(v[2], "mark-", 5) == 0)
                    marked |= bit;
                state = add ? state | bit : state & ~bit;
            }
            rows_free(&log);
        }
    }

    co->any_failed = any_failed_entry;
    /* A whole run that failed rolled back the audit entries of the steps
     * before the failing one with them: their bodies ran, no entry says so. */
    int whole_run_failed = 0;
    for (int c = 0; c < s->nops; c++)
        whole_run_failed |= s->ops[c].whole_run && co->ch[c].rc == RETORT_EMIGRATION;
    for (int i = 0; i < k; i++) {
        counts_t *x = &cnt[i];
        if (whole_run_failed ? x->up_file < x->up_log || x->down_file < x->down_log
                             : x->up_file != x->up_log || x->down_file != x->down_log)
            note_problem(co, "r%02d: bodies ran up %d / down %d times, the audit log records "
                             "%d / %d attempts",
                         i + 1, x->up_file, x->down_file, x->up_log, x->down_log);
        if (!s->nontx[i] && (x->up_effect != x->up_ok || x->down_effect != x->down_ok))
            note_problem(co, "r%02d: committed effects up %d / down %d, the audit log records "
                             "%d / %d completed transitions",
                         i + 1, x->up_effect, x->down_effect, x->up_ok, x->down_ok);
    }

    unsigned final, dirty;
    read_state(run, pl, &final, &dirty);
    char a[64], b[64];
    /* A mark by hand racing a run of the same revision (misuse: marks
     * resolve dirty rows) may leave the run's entry and the row apart: the
     * revisions marked are compared no further. */
    if (!any_failed_entry && (state & ~marked) != (final & ~marked)) {
        set_text(state, k, a, sizeof a);
        set_text(final, k, b, sizeof b);
        note_problem(co, "the audit log replays to %s, the version table holds %s", a, b);
    }
    if (!any_mark)
        for (int i = 1; i < k; i++)
            if ((final & (1u << i)) && !(final & (1u << (i - 1)))) {
                set_text(final, k, b, sizeof b);
                note_problem(co, "r%02d is recorded without its parent r%02d (recorded: %s)",
                             i + 1, i, b);
                break;
            }

    int unexpected = 0;
    for (int c = 0; c < s->nops; c++)
        check_result(co, c, &unexpected);
    if (dirty && !any_failed_entry) {
        set_text(dirty, k, a, sizeof a);
        note_problem(co, "dirty rows (%s) though nothing failed", a);
    }

    /* Serial execution in the order of their last commits (or reads).  A
     * mark by hand may overtake a run: no serial order need explain it. */
    if (!unexpected && !any_failed_entry && !any_mark) {
        unsigned m = initial;
        int order[MAXC];
        for (int c = 0; c < s->nops; c++)
            order[c] = c;
        for (int a = 1; a < s->nops; a++)
            for (int b = a; b > 0 && co->ch[order[b]].lin_ev < co->ch[order[b - 1]].lin_ev; b--) {
                int t = order[b];
                order[b] = order[b - 1];
                order[b - 1] = t;
            }
        for (int pos = 0; pos < s->nops; pos++)
            if (co->ch[order[pos]].rc == RETORT_OK)
                m = model_apply(&s->ops[order[pos]], k, m);
        if (m != final) {
            set_text(m, k, a, sizeof a);
            set_text(final, k, b, sizeof b);
            note_problem(co, "a serial execution in the order of their last commits ends at "
                             "%s, the database at %s", a, b);
        }
    }
}

/* ------------------------------------------------------------ a schedule */

static int prepare_place(run_t *run, long idx, const sched_t *s, place_t *pl)
{
    memset(pl, 0, sizeof *pl);
    snprintf(pl->bodies_path, sizeof pl->bodies_path, "%s/bodies-%ld", run->dir, idx);
    if (!run->pg) {
        snprintf(pl->db_path, sizeof pl->db_path, "%s/s%ld.db", run->dir, idx);
        unlink(pl->db_path);
        snprintf(pl->url, sizeof pl->url, "explore+sqlite:%s", pl->db_path);
        snprintf(pl->plain_url, sizeof pl->plain_url, "sqlite:%s", pl->db_path);
        if (sqlite3_open(pl->db_path, &pl->sq) != SQLITE_OK)
            return -1;
        sqlite3_busy_timeout(pl->sq, 60000);
        if (db_query(run, pl, s->wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE",
                     NULL) != 0)
            return -1;
    } else {
        snprintf(pl->schema, sizeof pl->schema, "xs%ld", idx);
        snprintf(pl->url, sizeof pl->url, "explore+postgresql:dbname=%s options='-csearch_path=%s'",
                 run->pgdb, pl->schema);
        snprintf(pl->plain_url, sizeof pl->plain_url, "%s", pl->url + strlen("explore+"));
        char sql[256];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s; "
                                  "SET search_path TO %s", pl->schema, pl->schema, pl->schema);
        if (db_query(run, pl, sql, NULL) != 0)
            return -1;
    }
    return db_query(run, pl, "CREATE TABLE explore_effects (rev TEXT, dir TEXT)", NULL);
}

static void release_place(run_t *run, place_t *pl, int failed)
{
    if (!run->pg) {
        sqlite3_close(pl->sq);
        if (!(failed && run->keep)) {
            unlink(pl->db_path);
            char p[320];
            snprintf(p, sizeof p, "%s-wal", pl->db_path);
            unlink(p);
            snprintf(p, sizeof p, "%s-shm", pl->db_path);
            unlink(p);
            snprintf(p, sizeof p, "%s-journal", pl->db_path);
            unlink(p);
        }
    } else if (!(failed && run->keep)) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", pl->schema);
        db_query(run, pl, sql, NULL);
    }
    if (!(failed && run->keep))
        unlink(pl->bodies_path);
}

/* Runs schedule idx of seed.  Returns 0 when every invariant held. */
static int run_schedule(run_t *run, uint64_t seed, long idx)
{
    sched_t s;
    uint64_t rng;
    gen_schedule(seed, idx, &s, &rng);
    place_t pl;
    coord_t co;
    memset(&co, 0, sizeof co);
    co.run = run;
    co.pl = &pl;
    co.s = &s;
    co.t0 = now_ms();
    if (prepare_place(run, idx, &s, &pl) != 0) {
        fprintf(stderr, "explore: cannot prepare the database of schedule %ld\n", idx);
        return 1;
    }
    /* The initial state, through the built-in driver, bodies not counted. */
    unsigned initial = 0;
    g_sched = &s;
    if (s.initial) {
        retort *r = NULL;
        char t[8];
        rev_id(s.initial - 1, t, sizeof t);
        int rc = open_context(&r, pl.plain_url, &pl, &s, NULL);
        if (rc == RETORT_OK)
            rc = retort_upgrade(r, t);
        if (rc != RETORT_OK)
            fprintf(stderr, "explore: schedule %ld: setup upgrade to %s failed: %s\n", idx, t,
                    retort_errmsg(r));
        retort_free(r);
        if (rc != RETORT_OK) {
            release_place(run, &pl, 0);
            return 1;
        }
        initial = (1u << s.initial) - 1;
        db_query(run, &pl, "DELETE FROM explore_effects", NULL);
    }
    long base_seq = 0;
    if (table_exists(run, &pl, "retort_version_log")) {
        rows_t r;
        if (db_query(run, &pl, "SELECT COALESCE(MAX(seq), 0) FROM retort_version_log", &r) == 0 &&
            r.n)
            base_seq = atol(r.v[0]);
        rows_free(&r);
    }

    if (run->verbose)
        sb_printf(&co.trace, "  [%.1f ms] database ready, children start\n", now_ms() - co.t0);
    body_fd = open(pl.bodies_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    int any_mark = 0;
    int hang = 0;
    fflush(NULL);
    for (int c = 0; c < s.nops; c++) {
        any_mark |= s.ops[c].kind == OP_MARK_APPLIED || s.ops[c].kind == OP_MARK_REVERTED;
        int up[2], down[2];
        if (pipe2(up, O_CLOEXEC) != 0 || pipe2(down, O_CLOEXEC) != 0) {
            perror("explore: pipe");
            exit(2);
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("explore: fork");
            exit(2);
        }
        if (pid == 0) {
            close(up[0]);
            close(down[1]);
            for (int o = 0; o < c; o++) {
                close(co.ch[o].rfd);
                close(co.ch[o].wfd);
            }
            /* The parent's connections are left untouched: a child uses
             * only its own, and leaves with _exit. */
            child_main(&pl, &s, c, up[1], down[0]);
        }
        close(up[1]);
        close(down[0]);
        co.ch[c].pid = pid;
        co.ch[c].rfd = up[0];
        co.ch[c].wfd = down[1];
        co.ch[c].st = C_RUNNING;
        /* Each child runs alone until its first point: starts replay. */
        int progress = 0;
        if (!wait_child(&co, c, FALLBACK_MS, &progress))
            sb_printf(&co.trace, "    c%d said nothing for %d ms after starting\n", c,
                      FALLBACK_MS);
    }
    if (coordinate(&co, &rng) != 0)
        hang = 1;
    for (int c = 0; c < s.nops; c++) {
        if (hang && co.ch[c].pid > 0)
            kill(co.ch[c].pid, SIGKILL);
        close(co.ch[c].wfd);
        if (co.ch[c].pid > 0)
            waitpid(co.ch[c].pid, NULL, 0);
        close(co.ch[c].rfd);
    }
    close(body_fd);
    body_fd = -1;
    if (run->verbose)
        sb_printf(&co.trace, "  [%.1f ms] children done\n", now_ms() - co.t0);
    if (!hang)
        check_schedule(&co, initial, base_seq, any_mark);

    int failed = co.problems.len > 0;
    if (failed || run->verbose) {
        char nt[64] = "";
        size_t n = 0;
        for (int i = 0; i < s.k; i++)
            if (s.nontx[i])
                n += (size_t)snprintf(nt + n, sizeof nt - n, "%sr%02d", n ? " " : "", i + 1);
        char poison[48] = "";
        if (s.poison >= 0)
            snprintf(poison, sizeof poison, ", r%02d %s fails", s.poison + 1,
                     s.poison_up ? "up" : "down");
        char init[8] = "base";
        if (s.initial)
            rev_id(s.initial - 1, init, sizeof init);
        printf("%s schedule %ld (seed %llu): %s%s, revisions r01..r%02d%s%s%s%s, initial %s, "
               "%d processes\n",
               failed ? "FAIL" : "ok", idx, (unsigned long long)seed, run->pg ? "postgresql" : "sqlite",
               run->pg ? "" : s.wal ? " wal" : " rollback-journal", s.k,
               n ? " (non-transactional: " : "", nt, n ? ")" : "", poison, init, s.nops);
        for (int c = 0; c < s.nops; c++) {
            char d[160];
            describe_op(&s.ops[c], s.k, d, sizeof d);
            printf("  c%d: %-60s -> %d%s%.300s\n", c, d, co.ch[c].rc, co.ch[c].rc ? " " : "",
                   co.ch[c].rc ? co.ch[c].msg : "");
        }
        if (run->verbose && co.trace.len)
            fputs(co.trace.text, stdout);
        if (failed) {
            fputs(co.problems.text, stdout);
            printf("  replay: %s%s --backend %s --seed %llu --schedule %ld -v\n",
                   run->pg ? "scripts/with-postgres " : "", run->argv0,
                   run->pg ? "postgres" : "sqlite", (unsigned long long)seed, idx);
        }
        fflush(stdout);
    }
    free(co.trace.text);
    free(co.problems.text);
    release_place(run, &pl, failed);
    return failed;
}

/* ------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(stderr,
            "usage: retort-explore --backend sqlite|postgres [--seed S] [--count N] [--first I]\n"
            "                      [--schedule I] [--random N] [--keep] [-v]\n"
            "  --seed S      seed of the schedules (default: random, printed)\n"
            "  --count N     run schedules FIRST..FIRST+N-1 of seed S (default 1)\n"
            "  --schedule I  run schedule I only (replay)\n"
            "  --random N    then N more schedules from a random seed (printed)\n"
            "  --keep        keep the databases of failing schedules\n"
            "  -v            print every step of every schedule run\n");
}

static uint64_t random_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
    return splitmix(&s) % 1000000000ull;
}

static int run_series(run_t *run, uint64_t seed, long first, long count, int *failures)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    printf("# seed %llu: schedules %ld..%ld on %s\n", (unsigned long long)seed, first,
           first + count - 1, run->pg ? "postgresql" : "sqlite");
    fflush(stdout);
    int failed = 0;
    for (long i = first; i < first + count; i++)
        failed += run_schedule(run, seed, i);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# seed %llu: %ld schedules, %d failed, %.1f s\n", (unsigned long long)seed, count,
           failed, secs);
    fflush(stdout);
    *failures += failed;
    return 0;
}

int main(int argc, char **argv)
{
    run_t run;
    memset(&run, 0, sizeof run);
    run.argv0 = argv[0];
    const char *backend = NULL;
    uint64_t seed = 0;
    int have_seed = 0;
    long count = 1, first = 0, extra = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--backend") == 0 && v) {
            backend = v;
            i++;
        } else if (strcmp(a, "--seed") == 0 && v) {
            seed = strtoull(v, NULL, 10);
            have_seed = 1;
            i++;
        } else if (strcmp(a, "--count") == 0 && v) {
            count = atol(v);
            i++;
        } else if (strcmp(a, "--first") == 0 && v) {
            first = atol(v);
            i++;
        } else if (strcmp(a, "--schedule") == 0 && v) {
            first = atol(v);
            count = 1;
            i++;
        } else if (strcmp(a, "--random") == 0 && v) {
            extra = atol(v);
            i++;
        } else if (strcmp(a, "--keep") == 0) {
            run.keep = 1;
        } else if (strcmp(a, "-v") == 0) {
            run.verbose = 1;
        } else {
            usage();
            return 2;
        }
    }
    if (!backend || (strcmp(backend, "sqlite") != 0 && strcmp(backend, "postgres") != 0)) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    run.pg = strcmp(backend, "postgres") == 0;
    g_pg = run.pg;
    if (xp_driver_register(run.pg ? "postgresql" : "sqlite") != 0) {
        printf("# SKIP: retort was built without the %s driver\n", backend);
        return 77;
    }
    /* SQLite files in memory where there is a tmpfs: fsync tells nothing
     * about interleavings and costs most of a schedule's time on a disk. */
    const char *tmp = getenv("TMPDIR");
    struct stat sb;
    if (!tmp || !*tmp)
        tmp = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0
                  ? "/dev/shm"
                  : "/tmp";
    snprintf(run.dir, sizeof run.dir, "%s/retort-explore-XXXXXX", tmp);
    if (!mkdtemp(run.dir)) {
        perror("explore: mkdtemp");
        return 2;
    }
#ifdef EXPLORE_HAVE_LIBPQ
    PGconn *admin = NULL;
    if (run.pg) {
        if (!getenv("PGHOST")) {
            printf("# SKIP: no PostgreSQL server (PGHOST unset; run under scripts/with-postgres)%s%s\n",
                   getenv("RETORT_TEST_PG_SKIP") ? ": " : "",
                   getenv("RETORT_TEST_PG_SKIP") ? getenv("RETORT_TEST_PG_SKIP") : "");
            rmdir(run.dir);
            return 77;
        }
        admin = PQconnectdb("");
        if (PQstatus(admin) != CONNECTION_OK) {
            fprintf(stderr, "explore: cannot connect to PostgreSQL: %s", PQerrorMessage(admin));
            PQfinish(admin);
            rmdir(run.dir);
            return 2;
        }
        PQclear(PQexec(admin, "SET client_min_messages = warning"));
        snprintf(run.pgdb, sizeof run.pgdb, "retort_explore_%ld", (long)getpid());
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", run.pgdb);
        PGresult *res = PQexec(admin, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "explore: %s: %s", sql, PQerrorMessage(admin));
            PQclear(res);
            PQfinish(admin);
            return 2;
        }
        PQclear(res);
        char conninfo[128];
        snprintf(conninfo, sizeof conninfo, "dbname=%s", run.pgdb);
        run.pq = PQconnectdb(conninfo);
        if (PQstatus(run.pq) != CONNECTION_OK) {
            fprintf(stderr, "explore: %s", PQerrorMessage(run.pq));
            return 2;
        }
        PQclear(PQexec(run.pq, "SET client_min_messages = warning"));
    }
#else
    if (run.pg) {
        printf("# SKIP: built without libpq\n");
        return 77;
    }
#endif
    if (!have_seed)
        seed = random_seed();
    int failures = 0;
    run_series(&run, seed, first, count, &failures);
    if (extra > 0)
        run_series(&run, random_seed(), 0, extra, &failures);
#ifdef EXPLORE_HAVE_LIBPQ
    if (run.pg) {
        PQfinish(run.pq);
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", run.pgdb);
        if (failures && run.keep)
            printf("# kept database %s\n", run.pgdb);
        else
            PQclear(PQexec(admin, sql));
        PQfinish(admin);
    }
#endif
    rmdir(run.dir);
    printf("# %s: %d failing schedule%s\n", failures ? "FAIL" : "PASS", failures,
           failures == 1 ? "" : "s");
    return failures ? 1 : 0;
}
