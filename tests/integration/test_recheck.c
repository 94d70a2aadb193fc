/*
 * test_recheck.c — SQLite's per-step re-check.  SQLite has no advisory
 * lock, so each step's transaction re-reads the version table (and
 * re-plans) under BEGIN IMMEDIATE, unless SQLite's data version shows that
 * no other connection has committed since retort last read the table.  These tests
 * make another connection commit between two steps and check that retort
 * notices, and count the re-reads when nobody interferes; and a driver
 * built against version 1 of the vtable, without the data version, still
 * re-checks every step.  SQLite suite only: PostgreSQL's lock is exclusive
 * and never re-checks.
 */
#include <stddef.h>

#include <sqlite3.h>

#include <retort/backend.h>

#include "steps.h"

/* Reads of the version table inside a write transaction (re-checks; an
 * operation's first read runs outside one), counted on retort's
 * connection through SQLite's trace hook (installed by the first
 * revision). */
static int rereads;

static int count_rereads(unsigned type, void *user, void *p, void *x)
{
    (void)type;
    (void)user;
    (void)x;
    char *sql = sqlite3_expanded_sql(p);
    if (sql && strncmp(sql, "SELECT", 6) == 0 && strstr(sql, "retort_version") &&
        !sqlite3_get_autocommit(sqlite3_db_handle(p)))
        rereads++;
    sqlite3_free(sql);
    return 0;
}

static int install_counter(retort_conn *conn, void *user)
{
    (void)user;
    sqlite3 *db = retort_native(conn);
    if (!db)
        return 1;
    rereads = 0;
    sqlite3_trace_v2(db, SQLITE_TRACE_STMT, count_rereads, NULL);
    return 0;
}

static int nothing(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

/* rev_a installs the counter; rev_b..rev_d create their tables. */
static void add_four(retort *r)
{
    assert_ok(r, retort_add(r, "rev_a", NULL, "counts re-reads", install_counter, nothing,
                            NULL));
    assert_ok(r, retort_add_sql(r, "rev_b", "rev_a", NULL, "CREATE TABLE t_rev_b (x)",
                                "DROP TABLE t_rev_b"));
    assert_ok(r, retort_add_sql(r, "rev_c", "rev_b", NULL, "CREATE TABLE t_rev_c (x)",
                                "DROP TABLE t_rev_c"));
    assert_ok(r, retort_add_sql(r, "rev_d", "rev_c", NULL, "CREATE TABLE t_rev_d (x)",
                                "DROP TABLE t_rev_d"));
}

/* Another migrator, between two of our steps: it applies rev_c itself. */
static void other_connection_applies_rev_c(void)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(fixture_sqlite_path(), &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db,
                          "BEGIN IMMEDIATE; CREATE TABLE t_rev_c (x); "
                          "INSERT INTO retort_version (id, parents) VALUES ('rev_c', 'rev_b'); "
                          "COMMIT",
                          NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("the other connection failed: %s", err ? err : sqlite3_errstr(rc));
    sqlite3_close(db);
}

/* Called as retort logs "applied rev_b": after rev_b's commit, before
 * rev_c's transaction begins. */
static void interfere_after_rev_b(int level, const char *message, void *user)
{
    (void)level;
    int *done = user;
    if (!*done && strncmp(message, "applied rev_b", 13) == 0) {
        *done = 1;
        other_connection_applies_rev_c();
    }
}

static void test_without_other_writers_no_step_rereads_its_row(void **state)
{
    (void)state;
    retort *r = fixture_new();
    add_four(r);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("rev_a rev_b rev_c rev_d");
    /* rev_a's own re-read ran before its callback installed the counter. */
    assert_int_equal(rereads, 0);

    /* The same holds going down, and on a database that already existed. */
    assert_ok(r, retort_downgrade(r, "rev_a"));
    assert_version_ids("rev_a");
    assert_int_equal(rereads, 0);
}

static void test_a_commit_by_another_connection_between_steps_is_seen(void **state)
{
    (void)state;
    retort *r = fixture_new();
    add_four(r);
    int interfered = 0;
    assert_ok(r, retort_set_log(r, interfere_after_rev_b, &interfered));
    assert_ok(r, retort_set_log_level(r, RETORT_LOG_DEBUG));
    /* Were the other connection's commit missed, rev_c's CREATE TABLE
     * would run a second time and fail. */
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(interfered);
    assert_version_ids("rev_a rev_b rev_c rev_d");
    /* rev_c's transaction re-reads and re-plans; rev_d's finds the table as
     * rev_c left it. */
    assert_int_equal(rereads, 1);
}

/* A version-1 driver's struct ends before data_version: the core must not
 * read past it, whatever lies there. */
static int read_past_struct_size(void *db, unsigned long long *version)
{
    (void)db;
    (void)version;
    fail_msg("the core called a member beyond a version-1 driver's struct_size");
    return 0;
}

static const retort_backend *v1_sqlite(void)
{
    static retort_backend v1;
    static const char *const schemes[] = {"v1sqlite", NULL};
    if (!retort_backend_find("v1sqlite")) {
        v1 = *retort_backend_find("sqlite");
        v1.abi_version = 1;
        v1.struct_size = offsetof(retort_backend, exec_batch);
        v1.name = "v1sqlite";
        v1.schemes = schemes;
        v1.data_version = read_past_struct_size;
        assert_int_equal(retort_register_backend(&v1), RETORT_OK);
    }
    return &v1;
}

static void test_a_version_1_driver_re_checks_every_step(void **state)
{
    (void)state;
    v1_sqlite();
    char url[4200];
    snprintf(url, sizeof url, "v1sqlite:%s", fixture_sqlite_path());
    retort *r = NULL;
    assert_int_equal(retort_new(&r, url), RETORT_OK);
    fixture_adopt(r);
    add_four(r);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("rev_a rev_b rev_c rev_d");
    assert_int_equal(rereads, 3); /* rev_b, rev_c, rev_d */
}

static void test_a_driver_shorter_than_its_version_is_refused(void **state)
{
    (void)state;
    static const char *const schemes[] = {"short2", NULL};
    retort_backend b = *retort_backend_find("sqlite");
    b.name = "short2";
    b.schemes = schemes;
    b.abi_version = 2;
    b.struct_size = offsetof(retort_backend, exec_batch); /* a version-1 size */
    assert_int_equal(retort_register_backend(&b), RETORT_EINVAL);
    b.abi_version = RETORT_BACKEND_ABI_VERSION + 1; /* newer than this library */
    b.struct_size = sizeof b;
    assert_int_equal(retort_register_backend(&b), RETORT_EINVAL);
    assert_null(retort_backend_find("short2"));
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_without_other_writers_no_step_rereads_its_row),
        IT_TEST(test_a_commit_by_another_connection_between_steps_is_seen),
        IT_TEST(test_a_version_1_driver_re_checks_every_step),
        IT_TEST(test_a_driver_shorter_than_its_version_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
