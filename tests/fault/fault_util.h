/*
 * fault_util.h — what the fault tests share: a chain of SQL revisions that
 * each create a table and fill it, and the end-state check that every such
 * revision is either wholly present (its table with every row, and its
 * version row marked applied) or wholly absent (neither), with the applied
 * ones forming a prefix of the chain.  The check reads the database through
 * tests/support/fixture (sqlite3 / libpq directly), never through retort.
 * Header-only: each test executable includes it once.
 */
#ifndef RETORT_TEST_FAULT_UTIL_H
#define RETORT_TEST_FAULT_UTIL_H

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

/* Rows each chain revision inserts: enough to span several database pages,
 * so that a revision is many writes, not one. */
#define CHAIN_ROWS 60

static inline void chain_id(char *out, size_t size, int i) { snprintf(out, size, "r%02d", i); }

/* The up SQL of chain revision i: a table and CHAIN_ROWS rows in one
 * multi-statement text, valid on SQLite and PostgreSQL alike. */
static inline void chain_up_sql(char *out, size_t size, int i)
{
    snprintf(out, size,
             "CREATE TABLE t_r%02d (n INTEGER NOT NULL, pad VARCHAR(200) NOT NULL);\n"
             "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < %d)\n"
             "INSERT INTO t_r%02d (n, pad) SELECT n, '%0150d' FROM c;\n",
             i, CHAIN_ROWS, i, i);
}

/* Registers r00 <- r01 <- ... <- r(n-1) as SQL revisions on r. */
static inline int chain_add(retort *r, int n)
{
    for (int i = 0; i < n; i++) {
        char id[16], parent[16], up[512], down[64];
        chain_id(id, sizeof id, i);
        chain_id(parent, sizeof parent, i - 1);
        chain_up_sql(up, sizeof up, i);
        snprintf(down, sizeof down, "DROP TABLE t_r%02d", i);
        int rc = retort_add_sql(r, id, i ? parent : NULL, "chain revision", up, down);
        if (rc != RETORT_OK)
            return rc;
    }
    return RETORT_OK;
}

/*
 * Asserts that revisions r00.. r(n-1) form "applied prefix, then nothing":
 * for each, the version row exists (state applied) exactly when its table
 * exists, and then the table holds exactly CHAIN_ROWS rows.  Returns how
 * many are applied.  where names the trial in failure messages.
 */
static inline int chain_assert_whole_or_absent(int n, const char *where)
{
    int applied = 0, gap = -1;
    /* No version table yet is a consistent "nothing applied". */
    int have_table = fixture_table_exists("retort_version");
    if (have_table &&
        fixture_count("SELECT COUNT(*) FROM retort_version WHERE state <> 'applied'") != 0)
        fail_msg("%s: the version table holds dirty rows", where);
    for (int i = 0; i < n; i++) {
        char id[16], table[16], sql[128];
        chain_id(id, sizeof id, i);
        snprintf(table, sizeof table, "t_r%02d", i);
        long rows = 0;
        if (have_table) {
            snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM retort_version WHERE id = '%s'", id);
            rows = fixture_count(sql);
        }
        int present = fixture_table_exists(table);
        if ((rows == 1) != present)
            fail_msg("%s: revision %s is half there: version row %s, table %s", where, id,
                     rows ? "present" : "absent", present ? "present" : "absent");
        if (present) {
            snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
            long got = fixture_count(sql);
            if (got != CHAIN_ROWS)
                fail_msg("%s: revision %s's table holds %ld rows, expected %d", where, id, got,
                         CHAIN_ROWS);
            if (gap >= 0)
                fail_msg("%s: revision %s is applied but its ancestor r%02d is not", where, id,
                         gap);
            applied++;
        } else if (gap < 0) {
            gap = i;
        }
    }
    return applied;
}

/* SQLite: PRAGMA integrity_check on the fixture's file says "ok". */
static inline void sqlite_assert_integrity(const char *where)
{
    /* A migrator killed before its first write never created the file
     * (retort creates it only then): nothing to check, nothing broken. */
    if (access(fixture_sqlite_path(), F_OK) != 0)
        return;
    char *ok = fixture_scalar("PRAGMA integrity_check");
    if (!ok || strcmp(ok, "ok") != 0) {
        char copy[256];
        snprintf(copy, sizeof copy, "%s", ok ? ok : "(no row)");
        free(ok);
        fail_msg("%s: PRAGMA integrity_check says: %s", where, copy);
    }
    free(ok);
}

/* A fresh database for the next trial of a test: the fixture's teardown and
 * setup, which the test calls itself between trials. */
static inline void fresh_database(void)
{
    if (fixture_teardown(NULL) != 0 || fixture_setup(NULL) != 0)
        fail_msg("could not make a fresh database for the next trial");
}

static inline double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_us(long us)
{
    struct timespec ts = {(time_t)(us / 1000000), (us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* waitpid without EINTR surprises; returns the wait status. */
static inline int wait_child(pid_t pid)
{
    int status = 0;
    pid_t w;
    do
        w = waitpid(pid, &status, 0);
    while (w < 0 && errno == EINTR);
    if (w != pid)
        fail_msg("waitpid(%ld) failed: %s", (long)pid, strerror(errno));
    return status;
}

/* A context on the fixture's database made inside a forked child (which
 * must not use fixture_new: the fixture's bookkeeping belongs to the
 * parent).  NULL on failure, with the reason on stderr. */
static inline retort *child_context(void)
{
    retort *r = NULL;
    int rc = retort_new(&r, fixture_url());
    if (rc == RETORT_OK && fixture_schema())
        rc = retort_set_schema(r, fixture_schema());
    if (rc != RETORT_OK) {
        fprintf(stderr, "child %ld: %s\n", (long)getpid(), retort_errmsg(r));
        retort_free(r);
        return NULL;
    }
    return r;
}

#endif
