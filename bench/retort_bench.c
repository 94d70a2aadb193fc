/*
 * retort_bench.c — the benchmark program that bench/run times.
 *
 * Each mode is one fresh process doing what an application does at startup,
 * so that the driver can time whole processes against floors that are whole
 * processes too (the sqlite3 shell, psql, or this program in a floor mode).
 * The migrations are generated in-process, as an application holds them as
 * static strings, by the same code in every mode: the floor modes generate
 * them too, so a ratio measures the library and nothing the harness adds.
 *
 *   sql N                      the workload, one migration a line:
 *                              id TAB parents TAB message TAB up TAB down
 *   apply URL N [whole-run]    register N, retort_migrate_to_head
 *   noop URL N                 the same on a database already at head
 *   noop-dir URL DIR           retort_load_dir(DIR), retort_migrate_to_head
 *                              on a database at head: what the command's
 *                              no-op costs when it runs one query
 *   down URL N                 register N, retort_downgrade(r, "base")
 *   floor-noop URL N           generate N, open the database, run the
 *                              library's SELECT of the version table once
 *   floor-exec URL FILE        run a floor script in-process, one statement
 *                              a line (for callgrind: same process, no shell)
 *   plan N linear|branched [sql|callback]
 *                              register N and plan from empty; prints times
 *                              and peak memory as key=value
 *   offline N                  register N, render the upgrade script
 *   floor-offline N            generate N, concatenate the same bodies
 *
 * Only the public API (retort/retort.h) is used for retort's side; the
 * floors use libsqlite3 and libpq directly.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include <retort/retort.h>

#ifdef BENCH_HAVE_SQLITE
#include <sqlite3.h>
#endif
#ifdef BENCH_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

/* ------------------------------------------------------------ workload */

/* One migration's strings; sized for ids up to 9 digits. */
typedef struct {
    char id[16];
    char parents[128];
    char message[32];
    char up[160];
    char down[64];
} migration;

static int digits_for(long n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d < 5 ? 5 : d;
}

/* Zero-padded decimal without printf: generating 100,000 revisions must
 * cost next to nothing beside what is measured. */
static char *put_num(char *w, long v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        w[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return w + width;
}

static char *put(char *w, const char *s)
{
    size_t n = strlen(s);
    memcpy(w, s, n);
    return w + n;
}

/*
 * Migration i (1-based): a table with a primary key and an index, valid on
 * SQLite and PostgreSQL alike.  bench/run builds every other tool's files
 * and the floor scripts from `sql N`, so this is the one definition.
 */
static void make_migration(migration *m, long i, int width)
{
    char num[16];
    *put_num(num, i, width) = '\0';
    char *w = m->id;
    *w++ = 'm';
    *put(w, num) = '\0';
    w = put(m->message, "create t");
    *put(w, num) = '\0';
    w = put(m->up, "CREATE TABLE t");
    w = put(w, num);
    w = put(w, " (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT); CREATE INDEX t");
    w = put(w, num);
    w = put(w, "_name ON t");
    w = put(w, num);
    *put(w, " (name);") = '\0';
    w = put(m->down, "DROP INDEX t");
    w = put(w, num);
    w = put(w, "_name; DROP TABLE t");
    w = put(w, num);
    *put(w, ";") = '\0';
}

/* Linear history: each revision's parent is the one before it. */
static void linear_parents(migration *m, long i, int width)
{
    if (i == 1) {
        m->parents[0] = '\0';
        return;
    }
    char *w = m->parents;
    *w++ = 'm';
    *put_num(w, i - 1, width) = '\0';
}

/*
 * Heavily branched history: m1 is the root, then diamonds of width
 * BRANCH_WIDTH: each segment forks BRANCH_WIDTH siblings off the previous
 * merge (m1 for the first) and joins them again in a merge with
 * BRANCH_WIDTH parents, so one revision in BRANCH_WIDTH + 1 is a merge.
 * What does not fill a whole segment at the end is a linear tail off the
 * last merge, so the graph keeps a single head.
 */
#define BRANCH_WIDTH 4
static void branched_parents(migration *m, long i, long n, int width)
{
    const long seg = BRANCH_WIDTH + 1;
    char *w = m->parents;
    if (i == 1) {
        *w = '\0';
        return;
    }
    long full = (n - 1) / seg;                 /* whole segments */
    long k = (i - 2) / seg, j = (i - 2) % seg; /* segment, position in it */
    long base = 1 + k * seg;                   /* the merge (or root) it forks from */
    if (k >= full) { /* the linear tail */
        *w++ = 'm';
        *put_num(w, i - 1, width) = '\0';
        return;
    }
    if (j < BRANCH_WIDTH) {
        *w++ = 'm';
        *put_num(w, base, width) = '\0';
        return;
    }
    for (long s = 1; s <= BRANCH_WIDTH; s++) {
        if (s > 1)
            *w++ = ' ';
        *w++ = 'm';
        w = put_num(w, base + s, width);
    }
    *w = '\0';
}

/* Keeps the floor modes' generated text observable, so that the compiler
 * cannot drop the generation they share with the measured modes. */
static volatile unsigned long sink;

static void consume(const migration *m)
{
    sink += (unsigned char)m->up[20] + (unsigned char)m->down[12] + (unsigned char)m->id[3];
}

/* ------------------------------------------------------------- helpers */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Peak resident memory of this process image, in KiB: VmHWM, not
 * getrusage's ru_maxrss, which Linux carries across execve and so reports
 * the parent's size when the parent (the Python driver) was bigger. */
static long maxrss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static int die(const char *what, retort *r)
{
    fprintf(stderr, "retort-bench: %s: %s\n", what, r ? retort_errmsg(r) : "failed");
    retort_free(r);
    return 1;
}

static long parse_count(const char *s)
{
    char *end = NULL;
    long n = strtol(s, &end, 10);
    if (!end || *end || n < 1 || n > 99999999) {
        fprintf(stderr, "retort-bench: bad count '%s'\n", s);
        exit(2);
    }
    return n;
}

static int is_sqlite(const char *url) { return strncmp(url, "sqlite", 6) == 0; }

/* The callback of revisions registered as code (plan ... callback): never
 * run, planning only. */
static int noop_step(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

static int register_workload(retort *r, long n, int branched, int as_sql)
{
    int width = digits_for(n);
    migration m;
    for (long i = 1; i <= n; i++) {
        make_migration(&m, i, width);
        if (branched)
            branched_parents(&m, i, n, width);
        else
            linear_parents(&m, i, width);
        int rc;
        if (as_sql)
            rc = retort_add_sql(r, m.id, m.parents, m.message, m.up, m.down);
        else
            rc = retort_add(r, m.id, m.parents, m.message, noop_step, noop_step, NULL);
        if (rc != RETORT_OK)
            return rc;
    }
    return RETORT_OK;
}


/* ------------------------------------------------ fresh targets, stairway */

/*
 * A history shaped like a real one: 20 tables, then revisions altering
 * them in turn (a column added, or an index created), each reversible.
 */
static int register_history(retort *r, long n)
{
    char id[32], parent[32], up[160], down[120];
    for (long i = 1; i <= n; i++) {
        snprintf(id, sizeof id, "h%06ld", i);
        snprintf(parent, sizeof parent, "h%06ld", i - 1);
        if (i <= 20) {
            snprintf(up, sizeof up, "CREATE TABLE t%02ld (id INTEGER PRIMARY KEY, name TEXT)", i);
            snprintf(down, sizeof down, "DROP TABLE t%02ld", i);
        } else if (i % 2 == 0) {
            snprintf(up, sizeof up, "ALTER TABLE t%02ld ADD COLUMN c%06ld TEXT", i % 20 + 1, i);
            snprintf(down, sizeof down, "ALTER TABLE t%02ld DROP COLUMN c%06ld", i % 20 + 1, i);
        } else {
            snprintf(up, sizeof up, "CREATE INDEX ix%06ld ON t%02ld (name, id)", i, i % 20 + 1);
            snprintf(down, sizeof down, "DROP INDEX ix%06ld", i);
        }
        int rc = retort_add_sql(r, id, i > 1 ? parent : NULL, NULL, up, down);
        if (rc != RETORT_OK)
            return rc;
    }
    return RETORT_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One fresh target at head: retort_new_fresh, registration, migrate to
 * head, and its URL (what a test connects to).  Freed (dropped) by the
 * caller, outside the timing. */
static int fresh_at_head(const char *url, long n, const char *key, retort **out)
{
    retort *r = NULL;
    int rc = retort_new_fresh(&r, url);
    if (rc == RETORT_OK)
        rc = retort_set(r, "template_key", key);
    if (rc == RETORT_OK)
        rc = register_history(r, n);
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    const char *furl = NULL;
    if (rc == RETORT_OK)
        rc = retort_fresh_url(r, &furl);
    *out = r;
    return rc;
}

#ifdef BENCH_HAVE_SQLITE
/* The SQLite floor: the same registration (a context that never
 * connects), and the template's image deserialized into a new in-memory
 * database. */
static int sqlite_clone_floor(long n, const unsigned char *image, sqlite3_int64 size)
{
    retort *r = NULL;
    if (retort_new(&r, "sqlite::memory:") != RETORT_OK || register_history(r, n) != RETORT_OK)
        return die("floor registration", r);
    sqlite3 *db = NULL;
    sqlite3_open(":memory:", &db);
    unsigned char *copy = sqlite3_malloc64((sqlite3_uint64)size);
    if (!copy)
        return die("out of memory", r);
    memcpy(copy, image, (size_t)size);
    int rc = sqlite3_deserialize(db, "main", copy, size, size,
                                 SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM retort_version", -1, &st, NULL);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        sink += (unsigned long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    retort_free(r);
    return rc == SQLITE_OK ? 0 : 1;
}
#endif

#ifdef BENCH_HAVE_POSTGRES
/* The PostgreSQL floor: the same registration, CREATE DATABASE ...
 * TEMPLATE through libpq, and a connection to the new database (dropped
 * outside the timing). */
static int pg_clone_floor(long n, PGconn *admin, const char *tmpl, int k, char *made, size_t size)
{
    retort *r = NULL;
    if (retort_new(&r, "sqlite::memory:") != RETORT_OK || register_history(r, n) != RETORT_OK)
        return die("floor registration", r);
    snprintf(made, size, "bench_floor_%ld_%d", (long)getpid(), k);
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE \"%s\"", made, tmpl);
    PGresult *res = PQexec(admin, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "retort-bench: %s", PQerrorMessage(admin));
    PQclear(res);
    const char *keys[] = {"dbname", NULL}, *values[] = {made, NULL};
    PGconn *c = ok ? PQconnectdbParams(keys, values, 0) : NULL;
    ok = ok && PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    retort_free(r);
    return ok ? 0 : 1;
}

static void pg_drop(PGconn *admin, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\"", name);
    PQclear(PQexec(admin, sql));
}
#endif

/*
 * fresh URL N ROUNDS: a fresh migrated database at head, after the first
 * (which builds the template): retort against the clone floor and against
 * migrating an empty database, paired per round; prints one line per case
 * with the median time and the median ratio to the floor.
 */
static int mode_fresh(const char *url, long n, long rounds, int with_empty)
{
    char key[64];
    snprintf(key, sizeof key, "bench-%ld-%.0f", (long)getpid(), now_ms());
    retort *first = NULL;
    double t0 = now_ms();
    if (fresh_at_head(url, n, key, &first) != RETORT_OK)
        return die("first fresh target", first);
    double build_ms = now_ms() - t0;
    double *tr = calloc((size_t)rounds, sizeof *tr), *tf = calloc((size_t)rounds, sizeof *tf);
    double *te = calloc((size_t)rounds, sizeof *te), *rf = calloc((size_t)rounds, sizeof *rf);
    double *re = calloc((size_t)rounds, sizeof *re);
    if (!tr || !tf || !te || !rf || !re)
        return die("out of memory", first);
    const char *furl = NULL;
    retort_fresh_url(first, &furl);
#ifdef BENCH_HAVE_SQLITE
    unsigned char *image = NULL;
    sqlite3_int64 isize = 0;
    if (is_sqlite(url)) {
        sqlite3 *db = NULL;
        const char *p = strchr(furl, ':') + 1;
        if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
            return die("opening the template's copy", first);
        image = sqlite3_serialize(db, "main", &isize, 0);
        sqlite3_close(db);
        if (!image)
            return die("serializing the template's copy", first);
    }
#endif
#ifdef BENCH_HAVE_POSTGRES
    PGconn *admin = NULL;
    char tmpl[80] = "";
    if (!is_sqlite(url)) {
        admin = PQconnectdb("");
        if (PQstatus(admin) != CONNECTION_OK)
            return die("admin connection", first);
        /* the template this run built: the newest retort_tpl_ */
        PGresult *res = PQexec(admin, "SELECT datname FROM pg_database WHERE datname LIKE "
                                      "'retort\\_tpl\\_%' ORDER BY oid DESC LIMIT 1");
        if (PQntuples(res) == 1)
            snprintf(tmpl, sizeof tmpl, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
#endif
    for (long k = 0; k < rounds; k++) {
        retort *r = NULL;
        double a = now_ms();
        if (fresh_at_head(url, n, key, &r) != RETORT_OK)
            return die("fresh target", r);
        tr[k] = now_ms() - a;
        retort_free(r);
        a = now_ms();
#ifdef BENCH_HAVE_SQLITE
        if (is_sqlite(url) && sqlite_clone_floor(n, image, isize) != 0)
            return die("sqlite floor", NULL);
#endif
#ifdef BENCH_HAVE_POSTGRES
        char made[80] = "";
        if (!is_sqlite(url) && pg_clone_floor(n, admin, tmpl, (int)k, made, sizeof made) != 0)
            return die("postgres floor", NULL);
#endif
        tf[k] = now_ms() - a;
#ifdef BENCH_HAVE_POSTGRES
        if (*made)
            pg_drop(admin, made);
#endif
        rf[k] = tr[k] / tf[k];
        if (with_empty) {
            /* migrating an empty fresh target step by step (what a harness
             * without templates does): a fresh target not migrated to the
             * head first, so no template is used */
            a = now_ms();
            retort *e = NULL;
            int rc = retort_new_fresh(&e, url);
            const char *ids = NULL;
            if (rc == RETORT_OK)
                rc = register_history(e, n);
            if (rc == RETORT_OK)
                rc = retort_applied(e, &ids); /* creates it empty */
            if (rc == RETORT_OK)
                rc = retort_migrate_to_head(e);
            if (rc != RETORT_OK)
                return die("migrating from empty", e);
            te[k] = now_ms() - a;
            retort_free(e);
            re[k] = te[k] / tf[k];
        }
    }
    printf("fresh %s N=%ld rounds=%ld first(build)=%.1f ms\n", is_sqlite(url) ? "sqlite" : "postgresql",
           n, rounds, build_ms);
    printf("  retort clone   median %.2f ms  ratio to floor %.2fx\n", median(tr, (int)rounds),
           median(rf, (int)rounds));
    printf("  clone floor    median %.2f ms\n", median(tf, (int)rounds));
    if (with_empty)
        printf("  from empty     median %.2f ms  ratio to floor %.1fx\n", median(te, (int)rounds),
               median(re, (int)rounds));
    const char *dropped = NULL;
    retort_drop_templates(first, &dropped);
    retort_free(first);
#ifdef BENCH_HAVE_SQLITE
    sqlite3_free(image);
#endif
#ifdef BENCH_HAVE_POSTGRES
    PQfinish(admin);
#endif
    free(tr);
    free(tf);
    free(te);
    free(rf);
    free(re);
    return 0;
}

static void count_builds_log(int level, const char *message, void *user)
{
    (void)level;
    if (strstr(message, "test template ") && strstr(message, " built"))
        ++*(int *)user;
}

/* fresh-parallel URL N: 4 processes, 25 fresh targets at head each, started
 * together; prints how many templates were built (1 expected) and the time. */
static int mode_fresh_parallel(const char *url, long n)
{
    enum { PROCS = 4, EACH = 25 };
    char key[64];
    snprintf(key, sizeof key, "bench-par-%ld-%.0f", (long)getpid(), now_ms());
    int go[2], out[2];
    if (pipe(go) != 0 || pipe(out) != 0)
        return die("pipe", NULL);
    fflush(NULL);
    double t0 = now_ms();
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        if (pid < 0)
            return die("fork", NULL);
        if (pid == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0)
                _exit(2);
            int built = 0, failed = 0;
            for (int k = 0; k < EACH; k++) {
                retort *r = NULL;
                int rc = retort_new_fresh(&r, url);
                if (rc == RETORT_OK) {
                    retort_set_log(r, count_builds_log, &built);
                    retort_set_log_level(r, RETORT_LOG_INFO);
                    rc = retort_set(r, "template_key", key);
                }
                if (rc == RETORT_OK)
                    rc = register_history(r, n);
                if (rc == RETORT_OK)
                    rc = retort_migrate_to_head(r);
                if (rc != RETORT_OK) {
                    fprintf(stderr, "retort-bench: child: %s\n", retort_errmsg(r));
                    failed++;
                }
                retort_free(r);
            }
            char line[64];
            int len = snprintf(line, sizeof line, "%d %d\n", built, failed);
            if (write(out[1], line, (size_t)len) != len)
                _exit(3);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]);
    close(out[1]);
    int built = 0, failed = 0;
    FILE *f = fdopen(out[0], "r");
    int b, fl;
    while (f && fscanf(f, "%d %d", &b, &fl) == 2) {
        built += b;
        failed += fl;
    }
    if (f)
        fclose(f);
    while (wait(NULL) > 0)
        ;
    printf("fresh-parallel %s N=%ld: %d processes x %d targets in %.0f ms, templates built: %d, "
           "failures: %d\n",
           is_sqlite(url) ? "sqlite" : "postgresql", n, PROCS, EACH, now_ms() - t0, built, failed);
    retort *r = NULL;
    if (retort_new_fresh(&r, url) == RETORT_OK) {
        const char *dropped = NULL;
        retort_drop_templates(r, &dropped);
    }
    retort_free(r);
    return built == 1 && failed == 0 ? 0 : 1;
}

/* stairway URL N: retort_test_stairway on a fresh target, timed. */
static int mode_stairway(const char *url, long n)
{
    retort *r = NULL;
    int rc = retort_new_fresh(&r, url);
    if (rc == RETORT_OK)
        rc = register_history(r, n);
    double t0 = now_ms();
    if (rc == RETORT_OK)
        rc = retort_test_stairway(r);
    double t = now_ms() - t0;
    if (rc != RETORT_OK)
        return die("stairway", r);
    printf("stairway %s N=%ld: %.0f ms (%.2f ms per revision)\n",
           is_sqlite(url) ? "sqlite" : "postgresql", n, t, t / (double)n);
    retort_free(r);
    return 0;
}

/* ---------------------------------------------------------------- modes */

static int mode_sql(long n)
{
    int width = digits_for(n);
    migration m;
    for (long i = 1; i <= n; i++) {
        make_migration(&m, i, width);
        linear_parents(&m, i, width);
        printf("%s\t%s\t%s\t%s\t%s\n", m.id, m.parents, m.message, m.up, m.down);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Counts what the library logs at info level: "applied X" / "reverted X"
 * lines, one per revision run, and nothing when there is nothing to do. */
static void count_log(int level, const char *message, void *user)
{
    if (level == RETORT_LOG_INFO &&
        (strncmp(message, "applied ", 8) == 0 || strncmp(message, "reverted ", 9) == 0))
        ++*(long *)user;
    else if (level <= RETORT_LOG_WARN)
        fprintf(stderr, "retort-bench: %s\n", message);
}

/* The library's side of `retort upgrade` on a directory: load it, migrate.
 * The database must be at head (as for noop). */
static int mode_noop_dir(const char *url, const char *dir)
{
    retort *r = NULL;
    long logged = 0;
    if (retort_new(&r, url) != RETORT_OK)
        return die("retort_new", r);
    if (retort_set_log(r, count_log, &logged) != RETORT_OK ||
        retort_set_log_level(r, RETORT_LOG_INFO) != RETORT_OK)
        return die("retort_set_log", r);
    if (retort_load_dir(r, dir) != RETORT_OK)
        return die("retort_load_dir", r);
    if (retort_migrate_to_head(r) != RETORT_OK)
        return die("retort_migrate_to_head", r);
    retort_free(r);
    if (logged != 0) {
        fprintf(stderr, "retort-bench: noop-dir ran %ld revisions: not at head\n", logged);
        return 1;
    }
    return 0;
}

/* apply (direction 1), downgrade to base (-1), or no-op (0: the database is
 * expected at head; a revision run is an error, so that a broken setup
 * cannot pass for a fast no-op). */
static int mode_migrate(const char *url, long n, int direction, int whole_run)
{
    retort *r = NULL;
    long logged = 0;
    if (retort_new(&r, url) != RETORT_OK)
        return die("retort_new", r);
    /* The no-op is checked from inside: at info level the library logs a
     * line per revision it runs, so a count of zero proves there was
     * nothing to do, and costs nothing when there is nothing to do.  Apply
     * and downgrade stay at the default level, where formatting those lines
     * would be work an application does not do; bench/run checks their
     * result in the database after the first run instead. */
    if (retort_set_log(r, count_log, &logged) != RETORT_OK ||
        (direction == 0 && retort_set_log_level(r, RETORT_LOG_INFO) != RETORT_OK))
        return die("retort_set_log", r);
    if (whole_run && retort_set_transaction_mode(r, RETORT_TX_WHOLE_RUN) != RETORT_OK)
        return die("retort_set_transaction_mode", r);
    if (register_workload(r, n, 0, 1) != RETORT_OK)
        return die("registering", r);
    int rc;
    if (direction > 0)
        rc = retort_migrate_to_head(r);
    else if (direction < 0)
        rc = retort_downgrade(r, "base");
    else
        rc = retort_migrate_to_head(r);
    if (rc != RETORT_OK)
        return die(direction < 0 ? "retort_downgrade" : "retort_migrate_to_head", r);
    retort_free(r);
    if (direction == 0 && logged != 0) {
        fprintf(stderr, "retort-bench: noop ran %ld revisions: the database was not at head\n",
                logged);
        return 1;
    }
    return 0;
}

#ifdef BENCH_HAVE_SQLITE
static int sqlite_path(const char *url, const char **path)
{
    const char *p = url + strlen("sqlite:");
    if (strncmp(p, "///", 3) == 0)
        p += 3;
    *path = p;
    return 0;
}
#endif

/* The library's own SELECT of the version table (the SELECT_VERSIONS
 * templates of backends/sqlite and backends/postgres), so that the floor
 * reads exactly the rows and columns the library reads. */
#define SQLITE_SELECT_VERSIONS                                                                    \
    "SELECT id, parents, message, checksum, state, applied_at, CAST(duration_ms AS TEXT) "        \
    "FROM \"retort_version\" ORDER BY rowid"
#define PG_SELECT_VERSIONS                                                                        \
    "SELECT id, parents, message, checksum, state, "                                              \
    "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "               \
    "duration_ms::text FROM \"retort_version\" ORDER BY seq"

static int mode_floor_noop(const char *url, long n)
{
    int width = digits_for(n);
    migration m;
    for (long i = 1; i <= n; i++) {
        make_migration(&m, i, width);
        linear_parents(&m, i, width);
        consume(&m);
    }
    long rows = 0;
    if (is_sqlite(url)) {
#ifdef BENCH_HAVE_SQLITE
        const char *path;
        sqlite_path(url, &path);
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
            fprintf(stderr, "retort-bench: %s\n", db ? sqlite3_errmsg(db) : "cannot open");
            sqlite3_close(db);
            return 1;
        }
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, SQLITE_SELECT_VERSIONS, -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "retort-bench: %s\n", sqlite3_errmsg(db));
            sqlite3_close(db);
            return 1;
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < 7; c++)
                sink += (unsigned long)(uintptr_t)sqlite3_column_text(st, c);
            rows++;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
#else
        fprintf(stderr, "retort-bench: built without SQLite\n");
        return 1;
#endif
    } else {
#ifdef BENCH_HAVE_POSTGRES
        const char *conninfo = strncmp(url, "postgresql:", 11) == 0 ? url + 11 : url + 9;
        if (strncmp(conninfo, "//", 2) == 0)
            conninfo = url;
        PGconn *c = PQconnectdb(conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "retort-bench: %s", PQerrorMessage(c));
            PQfinish(c);
            return 1;
        }
        PGresult *res = PQexec(c, PG_SELECT_VERSIONS);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "retort-bench: %s", PQerrorMessage(c));
            PQclear(res);
            PQfinish(c);
            return 1;
        }
        rows = PQntuples(res);
        for (long i = 0; i < rows; i++)
            sink += (unsigned long)(uintptr_t)PQgetvalue(res, (int)i, 0);
        PQclear(res);
        PQfinish(c);
#else
        fprintf(stderr, "retort-bench: built without PostgreSQL\n");
        return 1;
#endif
    }
    if (rows != n) {
        fprintf(stderr, "retort-bench: floor-noop read %ld version rows, expected %ld\n", rows, n);
        return 1;
    }
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* A floor script run in-process: what the sqlite3 shell or psql does, less
 * the shell.  One statement a line, as bench/run writes them. */
static int mode_floor_exec(const char *url, const char *file)
{
    char *text = slurp(file);
    if (!text) {
        fprintf(stderr, "retort-bench: cannot read %s\n", file);
        return 1;
    }
    int status = 0;
    if (is_sqlite(url)) {
#ifdef BENCH_HAVE_SQLITE
        const char *path;
        sqlite_path(url, &path);
        sqlite3 *db = NULL;
        char *err = NULL;
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
                SQLITE_OK ||
            sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK) {
            fprintf(stderr, "retort-bench: %s\n", err ? err : sqlite3_errmsg(db));
            status = 1;
        }
        sqlite3_free(err);
        sqlite3_close(db);
#else
        status = 1;
#endif
    } else {
#ifdef BENCH_HAVE_POSTGRES
        const char *conninfo = strncmp(url, "postgresql:", 11) == 0 ? url + 11 : url + 9;
        if (strncmp(conninfo, "//", 2) == 0)
            conninfo = url;
        PGconn *c = PQconnectdb(conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
            fprintf(stderr, "retort-bench: %s", PQerrorMessage(c));
            status = 1;
        }
        /* psql sends each statement of a script as its own query; so does
         * this, one line at a time. */
        for (char *line = text; status == 0 && line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            if (*line && strncmp(line, "--", 2) != 0) {
                PGresult *res = PQexec(c, line);
                ExecStatusType st = PQresultStatus(res);
                if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                    fprintf(stderr, "retort-bench: %s", PQerrorMessage(c));
                    status = 1;
                }
                PQclear(res);
            }
            line = nl ? nl + 1 : NULL;
        }
        PQfinish(c);
#else
        status = 1;
#endif
    }
    free(text);
    return status;
}

static int mode_plan(long n, const char *shape, const char *kind)
{
    int branched = strcmp(shape, "branched") == 0;
    if (!branched && strcmp(shape, "linear") != 0) {
        fprintf(stderr, "retort-bench: shape must be linear or branched\n");
        return 2;
    }
    int as_sql = !kind || strcmp(kind, "sql") == 0;
    long rss0 = maxrss_kib();
    retort *r = NULL;
    /* An in-memory database: retort_plan reads the (missing) version table,
     * which costs microseconds and keeps the measurement on the graph. */
    if (retort_new(&r, "sqlite::memory:") != RETORT_OK)
        return die("retort_new", r);
    double t0 = now_ms();
    if (register_workload(r, n, branched, as_sql) != RETORT_OK)
        return die("registering", r);
    double t1 = now_ms();
    const char *ids = NULL;
    if (retort_plan(r, 1, "head", &ids) != RETORT_OK)
        return die("retort_plan", r);
    double t2 = now_ms();
    /* A second plan on the built graph: what an operation costs once the
     * registry is known (the first one also builds the graph). */
    if (retort_plan(r, 1, "head", &ids) != RETORT_OK)
        return die("retort_plan", r);
    double t3 = now_ms();
    long planned = 0;
    for (const char *p = ids; *p; p++)
        planned += *p == ' ';
    planned += *ids != '\0';
    long rss1 = maxrss_kib();
    retort_free(r);
    if (planned != n) {
        fprintf(stderr, "retort-bench: planned %ld of %ld revisions\n", planned, n);
        return 1;
    }
    printf("register_ms=%.3f plan_ms=%.3f replan_ms=%.3f maxrss_kib=%ld base_rss_kib=%ld\n",
           t1 - t0, t2 - t1, t3 - t2, rss1, rss0);
    return 0;
}

static int mode_offline(long n)
{
    retort *r = NULL;
    /* A file URL that is never opened: offline rendering does not connect. */
    if (retort_new(&r, "sqlite:/nonexistent/offline.db") != RETORT_OK)
        return die("retort_new", r);
    if (register_workload(r, n, 0, 1) != RETORT_OK)
        return die("registering", r);
    const char *script = NULL;
    if (retort_upgrade_sql(r, "head", &script) != RETORT_OK)
        return die("retort_upgrade_sql", r);
    size_t len = strlen(script);
    int status = fwrite(script, 1, len, stdout) == len ? 0 : 1;
    retort_free(r);
    return status;
}

/* The floor of offline rendering: the same bodies, each with its version-row
 * INSERT, concatenated into one buffer and written out. */
static int mode_floor_offline(long n)
{
    int width = digits_for(n);
    size_t cap = (size_t)n * 512 + 1024, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return 1;
    migration m;
    for (long i = 1; i <= n; i++) {
        make_migration(&m, i, width);
        linear_parents(&m, i, width);
        len += (size_t)snprintf(buf + len, cap - len,
                                "BEGIN;\n%s\nINSERT INTO retort_version (id, parents, message) "
                                "VALUES ('%s', '%s', '%s');\nCOMMIT;\n",
                                m.up, m.id, m.parents, m.message);
    }
    int status = fwrite(buf, 1, len, stdout) == len ? 0 : 1;
    free(buf);
    return status;
}

static int usage(void)
{
    fputs("usage: retort-bench sql N\n"
          "       retort-bench apply|noop|down URL N [whole-run]\n"
          "       retort-bench floor-noop URL N\n"
          "       retort-bench noop-dir URL DIR\n"
          "       retort-bench floor-exec URL FILE\n"
          "       retort-bench plan N linear|branched [sql|callback]\n"
          "       retort-bench offline|floor-offline N\n"
          "       retort-bench fresh URL N ROUNDS [no-empty]\n"
          "       retort-bench fresh-parallel|stairway URL N\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *mode = argv[1];
    if (strcmp(mode, "sql") == 0)
        return mode_sql(parse_count(argv[2]));
    if (strcmp(mode, "plan") == 0 && argc >= 4)
        return mode_plan(parse_count(argv[2]), argv[3], argc > 4 ? argv[4] : NULL);
    if (strcmp(mode, "offline") == 0)
        return mode_offline(parse_count(argv[2]));
    if (strcmp(mode, "floor-offline") == 0)
        return mode_floor_offline(parse_count(argv[2]));
    if (argc < 4)
        return usage();
    const char *url = argv[2];
    if (strcmp(mode, "floor-exec") == 0)
        return mode_floor_exec(url, argv[3]);
    if (strcmp(mode, "noop-dir") == 0)
        return mode_noop_dir(url, argv[3]);
    long n = parse_count(argv[3]);
    int whole = argc > 4 && strcmp(argv[4], "whole-run") == 0;
    if (strcmp(mode, "apply") == 0)
        return mode_migrate(url, n, 1, whole);
    if (strcmp(mode, "noop") == 0)
        return mode_migrate(url, n, 0, whole);
    if (strcmp(mode, "down") == 0)
        return mode_migrate(url, n, -1, whole);
    if (strcmp(mode, "floor-noop") == 0)
        return mode_floor_noop(url, n);
    if (strcmp(mode, "fresh") == 0 && argc > 4)
        return mode_fresh(url, n, parse_count(argv[4]), !(argc > 5 && strcmp(argv[5], "no-empty") == 0));
    if (strcmp(mode, "fresh-parallel") == 0)
        return mode_fresh_parallel(url, n);
    if (strcmp(mode, "stairway") == 0)
        return mode_stairway(url, n);
    return usage();
}
