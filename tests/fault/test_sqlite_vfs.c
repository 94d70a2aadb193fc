/*
 * test_sqlite_vfs.c — SQLite storage faults at every write of an upgrade,
 * through the fault-injecting VFS (fault_vfs.h) that retort opens with the
 * URL "sqlite:file:PATH?vfs=retort_fault".  A clean run is counted first;
 * then for every N up to that count one trial cuts the power at the Nth
 * write (unsynced writes lost, nothing written after), and one fails every
 * Nth write while the process goes on.  After each trial the database,
 * reopened through the default VFS (which rolls back a hot journal), must
 * pass PRAGMA integrity_check and hold each revision wholly (table, every
 * row, version row) or not at all, and the next run must complete.
 */
#include <sqlite3.h>

#include "fault_util.h"
#include "fault_vfs.h"

enum { NREVS = 6 };

static char fault_url[1200];

static int setup(void **state)
{
    int rc = fixture_setup(state);
    if (rc)
        return rc;
    snprintf(fault_url, sizeof fault_url, "sqlite:file:%s?vfs=%s", fixture_sqlite_path(),
             FAULT_VFS_NAME);
    return 0;
}

/* Removes the database and its journal between trials (cheaper than a new
 * fixture directory, and the same thing for SQLite). */
static void remove_database(void)
{
    char path[1100];
    unlink(fixture_sqlite_path());
    snprintf(path, sizeof path, "%s-journal", fixture_sqlite_path());
    unlink(path);
}

/* One upgrade of the chain through the fault VFS; returns its status. */
static int faulty_upgrade(char *msg, size_t size)
{
    retort *r = NULL;
    int rc = retort_new(&r, fault_url);
    if (rc == RETORT_OK)
        rc = retort_set(r, "log_level", "none");
    if (rc == RETORT_OK)
        rc = chain_add(r, NREVS);
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    snprintf(msg, size, "%s", retort_errmsg(r));
    retort_free(r);
    return rc;
}

static void next_run_completes(const char *where)
{
    retort *r = fixture_new();
    assert_ok(r, chain_add(r, NREVS));
    if (retort_migrate_to_head(r) != RETORT_OK)
        fail_msg("%s: the next run failed: %s", where, retort_errmsg(r));
    fixture_free(r);
    assert_int_equal(chain_assert_whole_or_absent(NREVS, where), NREVS);
    sqlite_assert_integrity(where);
}

static long clean_run_writes(void)
{
    char msg[1024];
    remove_database();
    fault_vfs_arm(FV_COUNT, 0);
    int rc = faulty_upgrade(msg, sizeof msg);
    if (rc != RETORT_OK)
        fail_msg("the upgrade fails even without faults: %s", msg);
    long writes = fault_vfs_writes();
    assert_int_equal(chain_assert_whole_or_absent(NREVS, "clean run"), NREVS);
    assert_true(writes > NREVS); /* else the VFS is not on the path */
    return writes;
}

static void test_power_cut_at_every_write_leaves_each_revision_whole_or_absent(void **state)
{
    (void)state;
    long total = clean_run_writes();
    int partial = 0;
    for (long n = 1; n <= total; n++) {
        remove_database();
        fault_vfs_arm(FV_POWER_CUT, n);
        char msg[1024], where[64];
        int rc = faulty_upgrade(msg, sizeof msg);
        snprintf(where, sizeof where, "power cut at write %ld of %ld", n, total);
        if (fault_vfs_faults() != 1)
            fail_msg("%s: the power cut did not happen (rc %d)", where, rc);
        if (rc == RETORT_OK)
            fail_msg("%s: the upgrade reported success although its writes were lost", where);
        fault_vfs_arm(FV_COUNT, 0);
        sqlite_assert_integrity(where);
        int applied = chain_assert_whole_or_absent(NREVS, where);
        partial += applied > 0 && applied < NREVS;
        next_run_completes(where);
    }
    print_message("# %ld power cuts, %d left some but not all revisions\n", total, partial);
    assert_true(partial > 0); /* the cuts did land between revisions */
}

static void test_failing_every_nth_write_leaves_each_revision_whole_or_absent(void **state)
{
    (void)state;
    long total = clean_run_writes();
    int failed = 0;
    for (long n = 1; n <= total; n++) {
        remove_database();
        fault_vfs_arm(FV_FAIL_EVERY, n);
        char msg[1024], where[64];
        int rc = faulty_upgrade(msg, sizeof msg);
        long faults = fault_vfs_faults();
        fault_vfs_arm(FV_COUNT, 0);
        snprintf(where, sizeof where, "every %ldth write failing (rc %d)", n, rc);
        if (rc != RETORT_OK) {
            failed++;
            if (!*msg)
                fail_msg("%s: no error message", where);
        } else if (faults) {
            /* SQLite absorbed the failure (a retried write): fine, but then
             * everything must be there. */
            assert_int_equal(chain_assert_whole_or_absent(NREVS, where), NREVS);
        }
        sqlite_assert_integrity(where);
        chain_assert_whole_or_absent(NREVS, where);
        next_run_completes(where);
    }
    print_message("# %ld trials, %d ended in an error\n", total, failed);
    assert_true(failed > 0);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    if (fault_vfs_register() != 0) {
        printf("Bail out! cannot register the fault VFS\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_power_cut_at_every_write_leaves_each_revision_whole_or_absent, setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_failing_every_nth_write_leaves_each_revision_whole_or_absent, setup,
            fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
