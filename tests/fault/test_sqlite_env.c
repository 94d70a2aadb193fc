/*
 * test_sqlite_env.c — SQLite in a hostile file system: the database file is
 * read-only, its directory is missing, the disk is full, another connection
 * holds the write lock (or a read lock) past the busy timeout.  Each gives
 * a clear error naming the cause, and loses nothing: the revisions applied
 * before stay, the failing one leaves no trace, the file passes
 * PRAGMA integrity_check, and once the cause is gone the next run completes.
 */
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "fault_util.h"
#include "fault_vfs.h"

enum { NREVS = 4 };

/* Applies r00..r(k-1) with a context of the fixture. */
static void apply_first(int k)
{
    retort *r = fixture_new();
    assert_ok(r, chain_add(r, NREVS));
    char target[16];
    chain_id(target, sizeof target, k - 1);
    assert_ok(r, retort_upgrade(r, target));
    fixture_free(r);
}

static void next_run_completes(void)
{
    retort *r = fixture_new();
    assert_ok(r, chain_add(r, NREVS));
    assert_ok(r, retort_migrate_to_head(r));
    fixture_free(r);
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "next run"), NREVS);
    sqlite_assert_integrity("next run");
}

/* ---------------------------------------------------------- read-only */

/* The upgrade as an unprivileged user (root ignores file permissions, so
 * a root test process drops to "nobody" in a child); the status and
 * message come back through a pipe. */
static int upgrade_without_write_permission(char *msg, size_t size)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0) {
            struct passwd *pw = getpwnam("nobody");
            uid_t uid = pw ? pw->pw_uid : 65534;
            gid_t gid = pw ? pw->pw_gid : 65534;
            if (setgid(gid) != 0 || setuid(uid) != 0)
                _exit(120);
        }
        retort *r = child_context();
        int rc = r ? chain_add(r, NREVS) : RETORT_ERROR;
        if (rc == RETORT_OK)
            rc = retort_migrate_to_head(r);
        char out[1024];
        int n = snprintf(out, sizeof out, "%d %s", rc, retort_errmsg(r));
        if (write(fds[1], out, (size_t)(n < (int)sizeof out ? n : (int)sizeof out - 1)) < 0)
            _exit(121);
        retort_free(r);
        _exit(0);
    }
    close(fds[1]);
    char buf[1100];
    size_t len = 0;
    ssize_t got;
    while ((got = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)got;
    close(fds[0]);
    buf[len] = '\0';
    int status = wait_child(pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the unprivileged child failed (wait status %d)", status);
    int rc = -1, off = 0;
    if (sscanf(buf, "%d %n", &rc, &off) < 1)
        fail_msg("the child reported nothing");
    snprintf(msg, size, "%s", buf + off);
    return rc;
}

static void test_read_only_database_file_is_a_clear_error_and_changes_nothing(void **state)
{
    (void)state;
    apply_first(2);
    /* Readable by all, writable by nobody but root; the directory too (a
     * journal could not be created either). */
    assert_int_equal(chmod(fixture_dir(), 0755), 0);
    assert_int_equal(chmod(fixture_sqlite_path(), geteuid() == 0 ? 0644 : 0444), 0);
    if (geteuid() != 0)
        assert_int_equal(chmod(fixture_dir(), 0555), 0);
    char msg[1024];
    int rc = upgrade_without_write_permission(msg, sizeof msg);
    assert_int_equal(chmod(fixture_dir(), 0700), 0);
    assert_int_equal(chmod(fixture_sqlite_path(), 0600), 0);
    if (rc == RETORT_OK)
        fail_msg("upgrading a read-only database succeeded");
    assert_contains(msg, "readonly");
    assert_contains(msg, "r02"); /* the revision it could not apply */
    assert_version_ids("r00 r01");
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "read-only"), 2);
    sqlite_assert_integrity("read-only");
    next_run_completes();
}

static void test_read_only_uri_allows_reading_and_refuses_writing_clearly(void **state)
{
    (void)state;
    apply_first(1);
    char url[1200];
    snprintf(url, sizeof url, "sqlite:file:%s?mode=ro", fixture_sqlite_path());
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_OK);
    assert_ok(r, chain_add(r, NREVS));
    assert_current(r, "r00");
    rc = retort_migrate_to_head(r);
    assert_int_not_equal(rc, RETORT_OK);
    assert_contains(retort_errmsg(r), "readonly");
    assert_version_ids("r00");
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "mode=ro"), 1);
    next_run_completes();
}

/* ------------------------------------------------------ missing directory */

static void test_missing_directory_is_named_and_nothing_is_created(void **state)
{
    (void)state;
    char *missing = fixture_path("no/such/dir");
    char url[1200];
    snprintf(url, sizeof url, "sqlite:%s/app.db", missing);
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_OK);
    assert_ok(r, chain_add(r, NREVS));
    assert_rc(r, retort_migrate_to_head(r), RETORT_ECONNECT);
    assert_contains(retort_errmsg(r), "app.db");
    assert_contains(retort_errmsg(r), "directory does not exist");
    char *top = fixture_path("no");
    struct stat st;
    assert_int_not_equal(stat(top, &st), 0); /* not created behind our back */
    free(top);
    free(missing);
}

/* ----------------------------------------------------------- disk full */

static void test_full_disk_fails_the_revision_clearly_and_loses_nothing(void **state)
{
    (void)state;
    assert_int_equal(fault_vfs_register(), 0);
    apply_first(2);
    struct stat st;
    assert_int_equal(stat(fixture_sqlite_path(), &st), 0);
    /* Room for one more page, not for a revision of several. */
    fault_vfs_arm(FV_DISK_FULL, (long)st.st_size + 4096);
    char url[1200];
    snprintf(url, sizeof url, "sqlite:file:%s?vfs=%s", fixture_sqlite_path(), FAULT_VFS_NAME);
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_OK);
    assert_ok(r, chain_add(r, NREVS));
    rc = retort_migrate_to_head(r);
    long faults = fault_vfs_faults();
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", retort_errmsg(r));
    fixture_free(r);
    fault_vfs_arm(FV_COUNT, 0);
    assert_true(faults > 0);
    if (rc == RETORT_OK)
        fail_msg("the upgrade succeeded on a full disk");
    assert_contains(msg, "full");
    assert_contains(msg, "r02");
    assert_version_ids("r00 r01");
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "disk full"), 2);
    sqlite_assert_integrity("disk full");
    next_run_completes();
}

/* ------------------------------------------------------------- locks */

static sqlite3 *other_connection(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(fixture_sqlite_path(), &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("cannot open a second connection: %s", db ? sqlite3_errmsg(db) : "no memory");
    return db;
}

static void test_write_lock_held_past_the_busy_timeout_is_elock_and_loses_nothing(void **state)
{
    (void)state;
    apply_first(1);
    sqlite3 *other = other_connection();
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    retort *r = fixture_new();
    assert_ok(r, retort_set_lock_timeout(r, 300));
    assert_ok(r, chain_add(r, NREVS));
    double t0 = now_seconds();
    assert_rc(r, retort_migrate_to_head(r), RETORT_ELOCK);
    double waited = now_seconds() - t0;
    assert_contains(retort_errmsg(r), "r01");
    assert_contains(retort_errmsg(r), "locked");
    assert_contains(retort_errmsg(r), "300 ms");
    assert_true(waited >= 0.25 && waited < 10); /* waited, but not forever */
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_version_ids("r00");
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "write lock"), 1);
    /* The same context goes on once the lock is free. */
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "write lock released"), NREVS);
}

static void test_reader_holding_the_database_past_the_busy_timeout_fails_the_commit_cleanly(
    void **state)
{
    (void)state;
    apply_first(1);
    sqlite3 *other = other_connection();
    /* A read transaction with a statement in progress holds SHARED: the
     * writer can prepare its changes but never commit them. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_exec(other, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(other, "SELECT id FROM retort_version", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    retort *r = fixture_new();
    assert_ok(r, retort_set_lock_timeout(r, 300));
    assert_ok(r, chain_add(r, NREVS));
    int rc = retort_migrate_to_head(r);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    if (rc == RETORT_OK)
        fail_msg("the upgrade committed while another connection was reading");
    assert_int_equal(rc, RETORT_ELOCK);
    assert_contains(retort_errmsg(r), "r01");
    assert_contains(retort_errmsg(r), "locked");
    assert_version_ids("r00");
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "reader"), 1);
    sqlite_assert_integrity("reader");
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "reader gone"), NREVS);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_read_only_database_file_is_a_clear_error_and_changes_nothing),
        T(test_read_only_uri_allows_reading_and_refuses_writing_clearly),
        T(test_missing_directory_is_named_and_nothing_is_created),
        T(test_full_disk_fails_the_revision_clearly_and_loses_nothing),
        T(test_write_lock_held_past_the_busy_timeout_is_elock_and_loses_nothing),
        T(test_reader_holding_the_database_past_the_busy_timeout_fails_the_commit_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
