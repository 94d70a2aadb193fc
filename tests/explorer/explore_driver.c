/*
 * explore_driver.c — the wrapping driver of the schedule explorer and the
 * child side of the coordinator protocol (explore_driver.h).
 *
 * It reaches retort only through the public vtable, as a third-party driver
 * would (examples/backend-plugin): the built-in driver is looked up with
 * retort_backend_find() and every member is forwarded to it with the same
 * connection object.  The members where the order of events matters (lock,
 * begin, the reads, the writes, commit, rollback, unlock) report a point
 * before and/or after the call.  Members without a point are the inner
 * driver's own function pointers, and a member the inner driver leaves NULL
 * stays NULL, because retort gives NULL its own meaning ("no lock").
 *
 * Waiting inside the database is made cooperative: SQLite's busy handler is
 * replaced (through the native handle) by one that reports "blocked" and
 * retries when the coordinator says so; PostgreSQL's advisory lock is taken
 * with a zero timeout, retried the same way.  Test-only code: it costs the
 * library's users nothing.
 */
#include "explore_driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <retort/backend.h>

static const retort_backend *inner;
static retort_backend vt;
static char vt_name[64];
static const char *vt_schemes[2];
static int is_sqlite;

static int out_fd = -1;
static int in_fd = -1;

void xp_client_attach(int out, int in)
{
    out_fd = out;
    in_fd = in;
}

static void send_msg(int kind, int arg, int arg2, const char *text)
{
    if (out_fd < 0)
        return;
    xp_msg m;
    memset(&m, 0, sizeof m);
    m.kind = kind;
    m.arg = arg;
    m.arg2 = arg2;
    snprintf(m.text, sizeof m.text, "%s", text ? text : "");
    const char *p = (const char *)&m;
    size_t left = sizeof m;
    while (left) {
        ssize_t n = write(out_fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3); /* the coordinator has gone */
        p += n;
        left -= (size_t)n;
    }
}

static void wait_go(void)
{
    if (in_fd < 0)
        return;
    char c;
    for (;;) {
        ssize_t n = read(in_fd, &c, 1);
        if (n == 1)
            return;
        if (n < 0 && errno == EINTR)
            continue;
        _exit(3);
    }
}

void xp_point(const char *label)
{
    if (out_fd < 0)
        return;
    send_msg(XP_MSG_POINT, 0, 0, label);
    wait_go();
}

void xp_done(int code, int errcode, const char *message)
{
    send_msg(XP_MSG_DONE, code, errcode, message);
}

/* Would wait inside the database: say so, retry when told. */
static void blocked(const char *what)
{
    if (out_fd < 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        return;
    }
    send_msg(XP_MSG_BLOCKED, 0, 0, what);
    wait_go();
}

/* ------------------------------------------------------------ SQLite */

static sqlite3 *hooked;
static const char *busy_what = "busy";

static int busy_cb(void *unused, int count)
{
    (void)unused;
    (void)count;
    blocked(busy_what);
    return 1;
}

/* The SQLite driver may open the file lazily: hook the handle it has now. */
static void hook(void *db, const char *what)
{
    busy_what = what;
    if (!is_sqlite || !inner->native)
        return;
    sqlite3 *h = inner->native(db);
    if (h && h != hooked) {
        sqlite3_busy_handler(h, busy_cb, NULL);
        hooked = h;
    }
}

/* ------------------------------------------------------------ members */

static void label_sql(char *out, size_t size, const char *prefix, const char *sql)
{
    size_t w = (size_t)snprintf(out, size, "%s", prefix);
    int space = 0;
    for (const char *s = sql; *s && w + 1 < size && w < 70; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t') {
            space = 1;
            continue;
        }
        if (space && w + 1 < size)
            out[w++] = ' ';
        space = 0;
        out[w++] = *s;
    }
    out[w < size ? w : size - 1] = '\0';
}

static int x_connect(const char *url, int timeout_ms, void **db, retort_report *rep)
{
    /* "explore+sqlite:REST" -> "sqlite:REST" */
    const char *plus = strchr(url, '+');
    const char *inner_url = plus ? plus + 1 : url;
    int rc = inner->connect(inner_url, timeout_ms, db, rep);
    if (rc == 0 && *db)
        hook(*db, "connect");
    return rc;
}

static int x_exec(void *db, const char *sql, int *done, retort_report *rep)
{
    char label[96];
    label_sql(label, sizeof label, "before exec ", sql);
    xp_point(label);
    hook(db, "exec");
    return inner->exec(db, sql, done, rep);
}

static int x_exec_params(void *db, const char *sql, int nparams, const char *const *params,
                         retort_report *rep)
{
    char label[96];
    label_sql(label, sizeof label, "before write ", sql);
    if (nparams > 0 && params[0]) {
        size_t n = strlen(label);
        snprintf(label + n, sizeof label - n, " [%s]", params[0]);
    }
    xp_point(label);
    hook(db, "write");
    return inner->exec_params(db, sql, nparams, params, rep);
}

static int x_query(void *db, const char *sql, int nparams, const char *const *params,
                   retort_row_fn row, void *ctx, retort_report *rep)
{
    hook(db, "read");
    int rc = inner->query(db, sql, nparams, params, row, ctx, rep);
    char label[96];
    label_sql(label, sizeof label, "after read ", sql);
    xp_point(label);
    return rc;
}

static int x_begin(void *db, retort_report *rep)
{
    xp_point("before begin");
    hook(db, "begin");
    int rc = inner->begin(db, rep);
    xp_point(rc == 0 ? "after begin" : "begin failed");
    return rc;
}

static int x_commit(void *db, retort_report *rep)
{
    xp_point("before commit");
    hook(db, "commit");
    int rc = inner->commit(db, rep);
    xp_point(rc == 0 ? "after commit" : "commit failed");
    return rc;
}

static int x_rollback(void *db, retort_report *rep)
{
    xp_point("before rollback");
    int rc = inner->rollback(db, rep);
    xp_point("after rollback");
    return rc;
}

static int x_lock(void *db, const char *schema, const char *table, int timeout_ms,
                  int *exclusive, retort_report *rep)
{
    (void)timeout_ms; /* the coordinator decides how long a waiter waits */
    xp_point("before lock");
    int rc;
    while ((rc = inner->lock(db, schema, table, 0, exclusive, rep)) == RETORT_ELOCK &&
           out_fd >= 0)
        blocked("lock");
    xp_point(rc == 0 ? "after lock" : "lock failed");
    return rc;
}

static int x_unlock(void *db, const char *schema, const char *table, retort_report *rep)
{
    int rc = inner->unlock(db, schema, table, rep);
    xp_point("after unlock");
    return rc;
}

static int x_exec_batch(void *db, int n, const char *const *sql, const int *nparams,
                        const char *const *const *params, int commit, int *failed,
                        retort_report *rep)
{
    char label[96];
    label_sql(label, sizeof label, "before batch ", n > 0 ? sql[0] : "");
    if (n > 0 && nparams[0] > 0 && params[0][0]) {
        size_t len = strlen(label);
        snprintf(label + len, sizeof label - len, " [%s]%s", params[0][0],
                 commit ? " +commit" : "");
    }
    xp_point(label);
    hook(db, "batch");
    int rc = inner->exec_batch(db, n, sql, nparams, params, commit, failed, rep);
    if (commit)
        xp_point(rc == 0 ? "after commit" : "batch failed");
    return rc;
}

#define INNER_HAS(m)                                                                         \
    (inner->struct_size >= offsetof(retort_backend, m) + sizeof inner->m && inner->m != NULL)

int xp_driver_register(const char *scheme)
{
    inner = retort_backend_find(scheme);
    if (!inner)
        return -1;
    is_sqlite = strcmp(inner->name, "sqlite") == 0;
    snprintf(vt_name, sizeof vt_name, "explore+%s", scheme);
    vt_schemes[0] = vt_name;
    vt_schemes[1] = NULL;
    memset(&vt, 0, sizeof vt);
    vt.abi_version = RETORT_BACKEND_ABI_VERSION;
    vt.struct_size = sizeof vt;
    vt.name = vt_name;
    vt.schemes = vt_schemes;
    vt.connect = x_connect;
    vt.disconnect = inner->disconnect;
    vt.exec = x_exec;
    vt.exec_params = x_exec_params;
    vt.query = x_query;
    vt.begin = x_begin;
    vt.commit = x_commit;
    vt.rollback = x_rollback;
    vt.lock = inner->lock ? x_lock : NULL;
    vt.unlock = inner->unlock ? x_unlock : NULL;
    vt.quote_ident = inner->quote_ident;
    vt.sql = inner->sql;
    vt.table_exists = inner->table_exists;
    vt.default_schema = inner->default_schema;
    vt.snapshot = inner->snapshot;
    vt.native = inner->native;
    if (inner->abi_version >= 2) {
        vt.exec_batch = INNER_HAS(exec_batch) ? x_exec_batch : NULL;
        vt.data_version = INNER_HAS(data_version) ? inner->data_version : NULL;
    }
    return retort_register_backend(&vt) == RETORT_OK ? 0 : -1;
}
