/*
 * fixture.c — per-test databases for the integration tests (fixture.h).
 * Owns the temporary directory, the PostgreSQL schema and the fixture's own
 * connection used to inspect end state.  It must never use retort to check
 * retort: everything it reports comes from sqlite3 or libpq directly.
 */
#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <retort/backend.h>

#ifdef FIXTURE_HAVE_LIBPQ
#include <libpq-fe.h>
#endif

enum { BACKEND_SQLITE, BACKEND_POSTGRES };

static struct {
    int backend;
    int chosen;
    char dir[PATH_MAX];
    char dbpath[PATH_MAX];
    char schema[64];
    char *url;
    retort **ctx;
    int nctx, capctx;
    char *log;
    size_t loglen, logcap;
    int logcount[8];
#ifdef FIXTURE_HAVE_LIBPQ
    PGconn *pg;
#endif
} F;

static int counter;

static void choose_backend(void)
{
    if (F.chosen)
        return;
    const char *b = getenv("RETORT_TEST_BACKEND");
    if (!b || !*b || strcmp(b, "sqlite") == 0) {
        F.backend = BACKEND_SQLITE;
    } else if (strcmp(b, "postgresql") == 0 || strcmp(b, "postgres") == 0) {
        F.backend = BACKEND_POSTGRES;
    } else {
        printf("Bail out! unknown RETORT_TEST_BACKEND '%s' (use sqlite or postgresql)\n", b);
        fflush(stdout);
        exit(1);
    }
    F.chosen = 1;
}

const char *fixture_backend(void)
{
    choose_backend();
    return F.backend == BACKEND_POSTGRES ? "postgresql" : "sqlite";
}

int fixture_is_postgres(void)
{
    choose_backend();
    return F.backend == BACKEND_POSTGRES;
}

static int skip_plan(const char *reason)
{
    /* TAP: a plan of zero tests with a SKIP directive; meson reports SKIP. */
    printf("1..0 # SKIP %s\n", reason);
    fflush(stdout);
    return 1;
}

int fixture_skip_if_unavailable(void)
{
    choose_backend();
    if (F.backend == BACKEND_SQLITE) {
        if (!retort_backend_find("sqlite"))
            return skip_plan("retort was built without the SQLite backend");
        return 0;
    }
    if (!retort_backend_find("postgresql"))
        return skip_plan("no PostgreSQL server: retort was built without the PostgreSQL backend");
#ifndef FIXTURE_HAVE_LIBPQ
    return skip_plan("no PostgreSQL server: the tests were built without libpq");
#else
    const char *host = getenv("PGHOST");
    if (!host || !*host)
        return skip_plan("no PostgreSQL server: PGHOST is not set (run under pg_virtualenv)");
    PGconn *c = PQconnectdb("");
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char reason[512];
        const char *msg = c ? PQerrorMessage(c) : "out of memory";
        size_t n = strcspn(msg, "\n");
        snprintf(reason, sizeof reason, "no PostgreSQL server: %.*s", (int)(n > 400 ? 400 : n),
                 msg);
        PQfinish(c);
        return skip_plan(reason);
    }
    PQfinish(c);
    return 0;
#endif
}

/* ------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        fail_msg("out of memory");
    memcpy(p, s, n);
    return p;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        fail_msg("vsnprintf failed");
    char *p = malloc((size_t)n + 1);
    if (!p)
        fail_msg("out of memory");
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[PATH_MAX];
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                remove_tree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

#ifdef FIXTURE_HAVE_LIBPQ
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_must(PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
        PQclear(res);
        fail_msg("fixture: %s failed: %s", what, msg);
    }
}
#endif

/* ------------------------------------------------------- setup/teardown */

int fixture_setup(void **state)
{
    (void)state;
    choose_backend();
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(F.dir, sizeof F.dir, "%s/retort-test-XXXXXX", tmp);
    if (!mkdtemp(F.dir)) {
        fprintf(stderr, "fixture: mkdtemp %s: %s\n", F.dir, strerror(errno));
        return -1;
    }
    F.nctx = 0;
    F.loglen = 0;
    if (F.log)
        F.log[0] = '\0';
    memset(F.logcount, 0, sizeof F.logcount);
    if (F.backend == BACKEND_SQLITE) {
        if (snprintf(F.dbpath, sizeof F.dbpath, "%s/test.db", F.dir) >= (int)sizeof F.dbpath) {
            fprintf(stderr, "fixture: temporary directory path too long\n");
            return -1;
        }
        F.url = xprintf("sqlite:%s", F.dbpath);
        F.schema[0] = '\0';
        return 0;
    }
#ifdef FIXTURE_HAVE_LIBPQ
    F.dbpath[0] = '\0';
    F.pg = PQconnectdb("");
    if (!F.pg || PQstatus(F.pg) != CONNECTION_OK) {
        fprintf(stderr, "fixture: cannot connect to PostgreSQL: %s\n",
                F.pg ? PQerrorMessage(F.pg) : "out of memory");
        PQfinish(F.pg);
        F.pg = NULL;
        return -1;
    }
    PQsetNoticeProcessor(F.pg, ignore_notice, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(F.schema, sizeof F.schema, "rt_test_%ld_%d_%ld", (long)getpid(), ++counter,
             (long)(ts.tv_nsec % 1000000));
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE SCHEMA \"%s\"", F.schema);
    PGresult *res = PQexec(F.pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "fixture: %s: %s\n", sql, PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    snprintf(sql, sizeof sql, "SET search_path TO \"%s\"", F.schema);
    PQclear(PQexec(F.pg, sql));
    F.url = xprintf("postgresql:options='-csearch_path=%s'", F.schema);
    return 0;
#else
    return -1;
#endif
}

int fixture_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < F.nctx; i++)
        retort_free(F.ctx[i]);
    F.nctx = 0;
    free(F.ctx);
    F.ctx = NULL;
    F.capctx = 0;
#ifdef FIXTURE_HAVE_LIBPQ
    if (F.pg) {
        char sql[256];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", F.schema);
        PGresult *res = PQexec(F.pg, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fprintf(stderr, "fixture: %s: %s\n", sql, PQresultErrorMessage(res));
        PQclear(res);
        PQfinish(F.pg);
        F.pg = NULL;
    }
#endif
    remove_tree(F.dir);
    free(F.url);
    F.url = NULL;
    free(F.log);
    F.log = NULL;
    F.loglen = F.logcap = 0;
    return 0;
}

const char *fixture_url(void) { return F.url; }
const char *fixture_schema(void) { return F.schema[0] ? F.schema : NULL; }
const char *fixture_dir(void) { return F.dir; }
const char *fixture_sqlite_path(void) { return F.dbpath; }

void fixture_adopt(retort *r)
{
    if (!r)
        return;
    if (F.nctx == F.capctx) {
        int cap = F.capctx ? F.capctx * 2 : 8;
        retort **grown = realloc(F.ctx, (size_t)cap * sizeof *grown);
        if (!grown) {
            retort_free(r);
            fail_msg("out of memory");
        }
        F.ctx = grown;
        F.capctx = cap;
    }
    F.ctx[F.nctx++] = r;
}

retort *fixture_new(void)
{
    retort *r = NULL;
    int rc = retort_new(&r, F.url);
    fixture_adopt(r);
    if (rc != RETORT_OK)
        fail_msg("retort_new(%s) returned %d: %s", F.url, rc, retort_errmsg(r));
    if (F.schema[0]) {
        rc = retort_set_schema(r, F.schema);
        if (rc != RETORT_OK)
            fail_msg("retort_set_schema(%s) returned %d: %s", F.schema, rc, retort_errmsg(r));
    }
    return r;
}

void fixture_free(retort *r)
{
    for (int i = 0; i < F.nctx; i++) {
        if (F.ctx[i] == r) {
            F.ctx[i] = F.ctx[--F.nctx];
            break;
        }
    }
    retort_free(r);
}

/* ------------------------------------------------------------ logging */

static void capture(int level, const char *message, void *user)
{
    (void)user;
    char *line = xprintf("%d\t%s\n", level, message);
    size_t n = strlen(line);
    if (F.loglen + n + 1 > F.logcap) {
        size_t cap = F.logcap ? F.logcap : 1024;
        while (F.loglen + n + 1 > cap)
            cap *= 2;
        char *grown = realloc(F.log, cap);
        if (!grown) {
            free(line);
            return;
        }
        F.log = grown;
        F.logcap = cap;
    }
    memcpy(F.log + F.loglen, line, n + 1);
    F.loglen += n;
    free(line);
    if (level >= 0 && level < 8)
        F.logcount[level]++;
}

void fixture_capture_log(retort *r, int level)
{
    if (retort_set_log(r, capture, NULL) != RETORT_OK)
        fail_msg("retort_set_log: %s", retort_errmsg(r));
    if (retort_set_log_level(r, level) != RETORT_OK)
        fail_msg("retort_set_log_level: %s", retort_errmsg(r));
}

const char *fixture_log_text(void) { return F.log ? F.log : ""; }

int fixture_log_count(int level) { return level >= 0 && level < 8 ? F.logcount[level] : 0; }

/* ---------------------------------------------------------- end state */

typedef struct {
    char **v;
    int n, cap;
} strlist;

static void strlist_push(strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        char **grown = realloc(l->v, (size_t)l->cap * sizeof *grown);
        if (!grown)
            fail_msg("out of memory");
        l->v = grown;
    }
    l->v[l->n++] = xstrdup(s ? s : "(null)");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *strlist_join_sorted(strlist *l)
{
    if (l->n > 1)
        qsort(l->v, (size_t)l->n, sizeof *l->v, cmp_str);
    size_t total = 1;
    for (int i = 0; i < l->n; i++)
        total += strlen(l->v[i]) + 1;
    char *out = malloc(total);
    if (!out)
        fail_msg("out of memory");
    out[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < l->n; i++) {
        size_t k = strlen(l->v[i]);
        if (i)
            out[len++] = ' ';
        memcpy(out + len, l->v[i], k + 1);
        len += k;
        free(l->v[i]);
    }
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
    return out;
}

/* Runs sql and collects the first column of every row. */
static int query_column(const char *sql, strlist *out, char *errbuf, size_t errsize)
{
    if (F.backend == BACKEND_SQLITE) {
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(F.dbpath, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
            if (snprintf(errbuf, errsize, "open %s: %s", F.dbpath,
                         db ? sqlite3_errmsg(db) : "out of memory") >= (int)errsize)
                errbuf[errsize - 1] = '\0'; /* a shortened message is fine */
            sqlite3_close(db);
            return -1;
        }
        sqlite3_busy_timeout(db, 30000);
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            strlist_push(out, t ? (const char *)t : "(null)");
            rc = SQLITE_OK;
        }
        int ok = rc == SQLITE_DONE;
        if (!ok)
            snprintf(errbuf, errsize, "%s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return ok ? 0 : -1;
    }
#ifdef FIXTURE_HAVE_LIBPQ
    PGresult *res = PQexec(F.pg, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        snprintf(errbuf, errsize, "%s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    if (st == PGRES_TUPLES_OK)
        for (int i = 0; i < PQntuples(res); i++)
            strlist_push(out, PQgetisnull(res, i, 0) ? "(null)" : PQgetvalue(res, i, 0));
    PQclear(res);
    return 0;
#else
    snprintf(errbuf, errsize, "no libpq");
    return -1;
#endif
}

int fixture_table_exists(const char *name)
{
    if (F.backend == BACKEND_SQLITE) {
        sqlite3 *db = NULL;
        /* Read-only: looking must never create the file. */
        if (sqlite3_open_v2(F.dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            sqlite3_close(db);
            return 0;
        }
        sqlite3_busy_timeout(db, 30000);
        sqlite3_stmt *st = NULL;
        int found = 0;
        if (sqlite3_prepare_v2(db,
                               "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
            found = sqlite3_step(st) == SQLITE_ROW;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        return found;
    }
#ifdef FIXTURE_HAVE_LIBPQ
    const char *params[2] = {F.schema, name};
    PGresult *res = PQexecParams(F.pg,
                                 "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 "
                                 "AND tablename = $2",
                                 2, NULL, params, NULL, NULL, 0);
    pg_must(res, "table lookup");
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found;
#else
    return 0;
#endif
}

char *fixture_version_ids_in(const char *table)
{
    strlist l = {0};
    if (fixture_table_exists(table)) {
        char sql[256], err[600];
        snprintf(sql, sizeof sql, "SELECT id FROM \"%s\"", table);
        if (query_column(sql, &l, err, sizeof err) != 0)
            fail_msg("fixture: %s: %s", sql, err);
    }
    return strlist_join_sorted(&l);
}

char *fixture_version_ids(void) { return fixture_version_ids_in("retort_version"); }

char *fixture_scalar(const char *sql)
{
    strlist l = {0};
    char err[600];
    if (query_column(sql, &l, err, sizeof err) != 0)
        fail_msg("fixture: %s: %s", sql, err);
    char *out = l.n ? l.v[0] : NULL;
    for (int i = 1; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    return out;
}

long fixture_count(const char *sql)
{
    char *v = fixture_scalar(sql);
    if (!v)
        fail_msg("fixture: %s returned no row", sql);
    char *end = NULL;
    long n = strtol(v, &end, 10);
    int bad = end == v || *end != '\0';
    char copy[64];
    snprintf(copy, sizeof copy, "%s", v);
    free(v);
    if (bad)
        fail_msg("fixture: %s returned \"%s\", not an integer", sql, copy);
    return n;
}

void fixture_exec(const char *sql)
{
    if (F.backend == BACKEND_SQLITE) {
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(F.dbpath, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK) {
            sqlite3_close(db);
            fail_msg("fixture: cannot open %s", F.dbpath);
        }
        sqlite3_busy_timeout(db, 30000);
        char *err = NULL;
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s", err ? err : "?");
            sqlite3_free(err);
            sqlite3_close(db);
            fail_msg("fixture: %s: %s", sql, msg);
        }
        sqlite3_close(db);
        return;
    }
#ifdef FIXTURE_HAVE_LIBPQ
    PGresult *res = PQexec(F.pg, sql);
    pg_must(res, sql);
    PQclear(res);
#endif
}

char *fixture_path(const char *name) { return xprintf("%s/%s", F.dir, name); }

char *fixture_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        fail_msg("out of memory");
    }
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                fail_msg("out of memory");
            }
            buf = grown;
        }
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}
