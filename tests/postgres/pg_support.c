/*
 * pg_support.c — what every PostgreSQL-only test executable shares: the SKIP
 * plan when no server is configured, a fresh database per test (created
 * with CREATE DATABASE, dropped WITH (FORCE) at teardown), and queries that
 * read the end state through libpq directly, never through retort.
 *
 * This file is #included once by each test_*.c of this directory (which
 * holds only .c files) and is not compiled on its own.
 *
 * Why a database per test rather than tests/support/fixture's schema in the
 * shared PGDATABASE: CREATE INDEX CONCURRENTLY waits for every older
 * transaction of its database, and the SIGKILL tests leave a server session
 * running a statement for a while; in a shared database either would stall
 * the other tests running in parallel.  A database also gives each test its
 * own advisory-lock space and its own "public" schema, which the lock-key
 * tests need.
 *
 * Helpers are static inline so that an executable using some of them builds
 * without unused-function warnings.
 *
 * Ownership: helpers returning char * return malloc'd text the caller
 * frees; contexts from pgt_new() and sessions from pgt_session() are freed
 * at teardown (so a failing assertion does not leak them).  Forked children
 * must leave with _exit() and never touch the parent's connections.
 */
#ifndef RETORT_TESTS_PG_SUPPORT_C
#define RETORT_TESTS_PG_SUPPORT_C

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include <retort/backend.h>
#include <retort/retort.h>

/* ---------------------------------------------------------- assertions */

#include "assertions.h"

/* A malloc'd string from a helper equals expected; frees it. */
#define assert_text(owned, expected)                                                           \
    do {                                                                                       \
        char *v_ = (owned);                                                                    \
        const char *e_ = (expected);                                                           \
        if (!v_ || strcmp(v_, e_) != 0) {                                                      \
            char copy_[2048];                                                                  \
            snprintf(copy_, sizeof copy_, "%s", v_ ? v_ : "(no row)");                         \
            free(v_);                                                                          \
            fail_msg("%s is \"%s\", expected \"%s\"", #owned, copy_, e_);                     \
        }                                                                                      \
        free(v_);                                                                              \
    } while (0)

/* ------------------------------------------------------------- skipping */

static inline void pgt_ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/*
 * Prints the TAP plan "1..0 # SKIP ..." and returns 1 when there is no
 * server to test against (PGHOST unset, as scripts/with-postgres leaves it
 * when it cannot start one) or the library lacks the driver.  A server
 * that PGHOST names but that does not answer is an error, not a skip:
 * "Bail out!" and exit status 1.
 */
static inline int pgt_skip_unless_server(void)
{
    const char *host = getenv("PGHOST");
    if (!host || !*host) {
        const char *why = getenv("RETORT_TEST_PG_SKIP");
        printf("1..0 # SKIP no PostgreSQL server: %s\n",
               why && *why ? why : "PGHOST is not set");
        fflush(stdout);
        return 1;
    }
    if (!retort_backend_find("postgresql")) {
        printf("1..0 # SKIP retort was built without the PostgreSQL backend\n");
        fflush(stdout);
        return 1;
    }
    PGconn *c = PQconnectdb("");
    if (!c || PQstatus(c) != CONNECTION_OK) {
        const char *msg = c ? PQerrorMessage(c) : "out of memory";
        printf("Bail out! PGHOST=%s is set but the server cannot be reached: %.*s\n", host,
               (int)strcspn(msg, "\n"), msg);
        fflush(stdout);
        PQfinish(c);
        exit(1);
    }
    PQfinish(c);
    return 0;
}

/* --------------------------------------------------------- per-test state */

enum { PGT_MAX_CTX = 64, PGT_MAX_SESSIONS = 8 };

static struct {
    char db[64];       /* the test's database */
    char url[128];     /* "postgresql:dbname=DB", the rest from PG* variables */
    char dir[256];     /* a temporary directory for files the test writes */
    PGconn *admin;     /* on PGDATABASE: creates and drops db */
    PGconn *conn;      /* on db: reads the end state */
    retort *ctx[PGT_MAX_CTX];
    int nctx;
    PGconn *sessions[PGT_MAX_SESSIONS];
    int nsessions;
} T;

static int pgt_counter;

static inline PGconn *pgt_connect_db(const char *db)
{
    const char *const keys[] = {"dbname", NULL};
    const char *const values[] = {db, NULL};
    /* expand_dbname 0: db is a name, never a connection string. */
    PGconn *c = PQconnectdbParams(keys, values, 0);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        print_error("pg_support: cannot connect to database %s: %s\n", db,
                    c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, pgt_ignore_notice, NULL);
    return c;
}

static inline int pgt_command(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        print_error("pg_support: %s: %s\n", sql, PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

static int pgt_teardown(void **state);

/* cmocka setup: a new database, a connection to it, a temporary directory.
 * On failure it undoes what it did (cmocka runs no teardown then). */
static inline int pgt_setup(void **state)
{
    memset(&T, 0, sizeof T);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char name[sizeof T.db];
    snprintf(name, sizeof name, "rt_pg_%ld_%d_%06ld", (long)getpid(), ++pgt_counter,
             (long)(ts.tv_nsec / 1000));
    snprintf(T.url, sizeof T.url, "postgresql:dbname=%s", name);
    const char *tmp = getenv("TMPDIR");
    snprintf(T.dir, sizeof T.dir, "%s/retort-pg-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(T.dir)) {
        print_error("pg_support: mkdtemp %s: %s\n", T.dir, strerror(errno));
        T.dir[0] = '\0';
        return -1;
    }
    T.admin = PQconnectdb("");
    if (!T.admin || PQstatus(T.admin) != CONNECTION_OK) {
        print_error("pg_support: cannot connect: %s\n",
                    T.admin ? PQerrorMessage(T.admin) : "out of memory");
        pgt_teardown(state);
        return -1;
    }
    PQsetNoticeProcessor(T.admin, pgt_ignore_notice, NULL);
    /* template0 accepts no connections, so it is never "being accessed by
     * other users" when tests create databases in parallel. */
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE template0", name);
    if (pgt_command(T.admin, sql) != 0) {
        pgt_teardown(state);
        return -1;
    }
    memcpy(T.db, name, sizeof T.db); /* from now on, teardown drops it */
    T.conn = pgt_connect_db(T.db);
    if (!T.conn) {
        pgt_teardown(state);
        return -1;
    }
    return 0;
}

/* Removes the test's directory and the files the test wrote in it (one
 * level: tests write no subdirectories). */
static inline void pgt_remove_dir(const char *dir)
{
    if (!dir[0])
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[512];
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
                unlink(path);
        }
        closedir(d);
    }
    if (rmdir(dir) != 0)
        print_error("pg_support: could not remove %s: %s\n", dir, strerror(errno));
}

static int pgt_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < T.nctx; i++)
        retort_free(T.ctx[i]);
    T.nctx = 0;
    for (int i = 0; i < T.nsessions; i++)
        PQfinish(T.sessions[i]);
    T.nsessions = 0;
    PQfinish(T.conn);
    T.conn = NULL;
    int rc = 0;
    if (T.admin && T.db[0]) {
        /* FORCE also ends sessions a killed migrator left running. */
        char sql[160];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", T.db);
        rc = pgt_command(T.admin, sql);
    }
    PQfinish(T.admin);
    T.admin = NULL;
    pgt_remove_dir(T.dir);
    return rc;
}

/* ---------------------------------------------------------- contexts */

static inline void pgt_adopt(retort *r)
{
    if (!r)
        return;
    if (T.nctx == PGT_MAX_CTX) {
        retort_free(r);
        fail_msg("pg_support: more than %d contexts in one test", PGT_MAX_CTX);
    }
    T.ctx[T.nctx++] = r;
}

/* A context on url (NULL: the test's database); fails the test on error. */
static inline retort *pgt_new_url(const char *url)
{
    retort *r = NULL;
    int rc = retort_new(&r, url ? url : T.url);
    pgt_adopt(r);
    if (rc != RETORT_OK)
        fail_msg("retort_new(%s) returned %d: %s", url ? url : T.url, rc, retort_errmsg(r));
    return r;
}

static inline retort *pgt_new(void) { return pgt_new_url(NULL); }

/* A separate libpq session on the test's database, closed at teardown. */
static inline PGconn *pgt_session(void)
{
    if (T.nsessions == PGT_MAX_SESSIONS)
        fail_msg("pg_support: more than %d sessions in one test", PGT_MAX_SESSIONS);
    PGconn *c = pgt_connect_db(T.db);
    if (!c)
        fail_msg("pg_support: cannot open a session on %s", T.db);
    T.sessions[T.nsessions++] = c;
    return c;
}

/* ------------------------------------------------------------- queries */

/* The query helpers take text parameters $1, $2, ... as a NULL-terminated
 * list: pgt_exec("CREATE SCHEMA s", NULL); the compiler checks the NULL. */
#define PGT_SENTINEL __attribute__((sentinel))

/* Runs sql with the parameters in ap on c. */
static inline PGresult *pgt_run_v(PGconn *c, const char *sql, va_list ap)
{
    const char *params[8];
    int n = 0;
    const char *p;
    while ((p = va_arg(ap, const char *)) != NULL) {
        if (n == 8)
            fail_msg("pg_support: too many parameters for %s", sql);
        params[n++] = p;
    }
    PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
        PQclear(res);
        fail_msg("pg_support: %s: %s", sql, msg);
    }
    return res;
}

/* Runs a statement on the test's database; fails the test on error. */
PGT_SENTINEL static inline void pgt_exec(const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    PGresult *res = pgt_run_v(T.conn, sql, ap);
    va_end(ap);
    PQclear(res);
}

/* The same on another session. */
PGT_SENTINEL static inline void pgt_exec_on(PGconn *c, const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    PGresult *res = pgt_run_v(c, sql, ap);
    va_end(ap);
    PQclear(res);
}

static inline char *pgt_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        fail_msg("out of memory");
    memcpy(p, s, n);
    return p;
}

/* The first column of the first row (malloc'd); NULL when there is no
 * row; "(null)" for SQL NULL. */
PGT_SENTINEL static inline char *pgt_scalar(const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    PGresult *res = pgt_run_v(T.conn, sql, ap);
    va_end(ap);
    char *out = NULL;
    if (PQntuples(res) > 0)
        out = pgt_strdup(PQgetisnull(res, 0, 0) ? "(null)" : PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

/* pgt_scalar() as an integer; fails the test unless it is one. */
PGT_SENTINEL static inline long pgt_count(const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    PGresult *res = pgt_run_v(T.conn, sql, ap);
    va_end(ap);
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        fail_msg("pg_support: %s returned no value", sql);
    }
    char *end = NULL;
    const char *v = PQgetvalue(res, 0, 0);
    long n = strtol(v, &end, 10);
    int bad = end == v || *end != '\0';
    PQclear(res);
    if (bad)
        fail_msg("pg_support: %s did not return an integer", sql);
    return n;
}

/* Every row, columns joined by '|', rows by ' ', in the query's order
 * (malloc'd; "" for no rows, "(null)" for SQL NULL). */
PGT_SENTINEL static inline char *pgt_rows(const char *sql, ...)
{
    va_list ap;
    va_start(ap, sql);
    PGresult *res = pgt_run_v(T.conn, sql, ap);
    va_end(ap);
    size_t cap = 1;
    for (int i = 0; i < PQntuples(res); i++)
        for (int j = 0; j < PQnfields(res); j++)
            cap += (size_t)PQgetlength(res, i, j) + 8;
    char *out = malloc(cap);
    if (!out) {
        PQclear(res);
        fail_msg("out of memory");
    }
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < PQntuples(res); i++)
        for (int j = 0; j < PQnfields(res); j++) {
            const char *v = PQgetisnull(res, i, j) ? "(null)" : PQgetvalue(res, i, j);
            const char *sep = j ? "|" : i ? " " : "";
            len += (size_t)snprintf(out + len, cap - len, "%s%s", sep, v);
        }
    PQclear(res);
    return out;
}

/* Whether schema.name is a table (schema NULL: "public"). */
static inline int pgt_table_exists(const char *schema, const char *name)
{
    return pgt_count("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1 AND "
                     "tablename = $2",
                     schema ? schema : "public", name, NULL) > 0;
}

/* An index by name: -1 absent, 0 present but invalid (a failed
 * CREATE INDEX CONCURRENTLY leaves one), 1 present and valid. */
static inline int pgt_index_state(const char *name)
{
    char *v = pgt_scalar("SELECT i.indisvalid::text FROM pg_catalog.pg_index i "
                         "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
                         "WHERE c.relname = $1",
                         name, NULL);
    int state = !v ? -1 : strcmp(v, "true") == 0 ? 1 : 0;
    free(v);
    return state;
}

/* ---------------------------------------------------------------- time */

static inline double pgt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void pgt_sleep_ms(long ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A path inside the test's temporary directory. */
static inline void pgt_path(char *out, size_t size, const char *name)
{
    if (snprintf(out, size, "%s/%s", T.dir, name) >= (int)size)
        fail_msg("pg_support: path too long");
}

#endif
