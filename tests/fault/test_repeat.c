/*
 * test_repeat.c — the heavy repetitions (suite 'fault', run once in CI):
 * sixteen processes racing to migrate a fresh database, twenty times over,
 * and a fifty-revision upgrade killed with SIGKILL at twenty points spread
 * over its run.  tests/integration/test_concurrency.c proves each of these
 * once; repeating them is what catches the races that happen one time in
 * ten.
 *
 * Exactly-once is counted outside the database: each callback appends a
 * line to a file (O_APPEND) before it touches the database, so a body that
 * ran and was rolled back still shows.
 */
#include <fcntl.h>
#include <stdlib.h>

#include "fault_util.h"
#include "replicas.h"

enum { NPROC = 16, NREPEAT = 20, NREV = 10, KILL_REVS = 50, KILL_TRIALS = 20 };

/* ------------------------------------------------ sixteen processes */

static void test_sixteen_processes_twenty_times_run_every_body_exactly_once(void **state)
{
    (void)state;
    for (int rep = 0; rep < NREPEAT; rep++) {
        if (rep)
            fresh_database();
        char *runs = fixture_path("runs.log");
        int ok = run_replicas(runs, NPROC, NREV);
        if (ok != NPROC) {
            free(runs);
            fail_msg("repetition %d: %d of %d replicas failed (messages above)", rep, NPROC - ok,
                     NPROC);
        }
        char where[32];
        snprintf(where, sizeof where, "repetition %d", rep);
        assert_each_ran_once(runs, NREV, where);
        free(runs);
    }
}

/* ------------------------------------------------------------ SIGKILL */

/* Runs the fifty-revision upgrade in a child; returns its pid. */
static pid_t start_upgrade(void)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        retort *r = child_context();
        int rc = r ? chain_add(r, KILL_REVS) : RETORT_ERROR;
        if (rc == RETORT_OK)
            rc = retort_migrate_to_head(r);
        if (rc != RETORT_OK)
            fprintf(stderr, "upgrade child: status %d: %s\n", rc, retort_errmsg(r));
        retort_free(r);
        _exit(rc == RETORT_OK ? 0 : 1);
    }
    return pid;
}

static void test_sigkill_at_twenty_points_of_a_fifty_revision_upgrade_leaves_a_committed_prefix(
    void **state)
{
    (void)state;
    /* How long an uninterrupted run takes here, to spread the kills over. */
    double t0 = now_seconds();
    int status = wait_child(start_upgrade());
    double full = now_seconds() - t0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(chain_assert_whole_or_absent(KILL_REVS, "uninterrupted run"), KILL_REVS);

    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    print_message("# SIGKILL trials over a %.0f ms run, seed %u\n", full * 1000, seed);
    int mid = 0;
    for (int trial = 0; trial < KILL_TRIALS; trial++) {
        fresh_database();
        /* Stratified: trial k dies at a random moment of the k-th
         * twentieth of the run, so the kills cover all of it. */
        double at = full * (trial + (double)rand_r(&seed) / RAND_MAX) / KILL_TRIALS;
        pid_t pid = start_upgrade();
        sleep_us((long)(at * 1e6));
        kill(pid, SIGKILL);
        status = wait_child(pid);
        char where[64];
        snprintf(where, sizeof where, "trial %d (killed at %.0f ms)", trial, at * 1000);
        if (!fixture_is_postgres())
            sqlite_assert_integrity(where);
        int applied = chain_assert_whole_or_absent(KILL_REVS, where);
        if (applied > 0 && applied < KILL_REVS)
            mid++;

        /* The next run: no stale lock, no dirt, everything left applied. */
        retort *r = fixture_new();
        assert_ok(r, chain_add(r, KILL_REVS));
        assert_ok(r, retort_migrate_to_head(r));
        assert_int_equal(chain_assert_whole_or_absent(KILL_REVS, where), KILL_REVS);
        fixture_free(r);
    }
    print_message("# %d of %d kills landed between the first and the last revision\n", mid,
                  KILL_TRIALS);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_sixteen_processes_twenty_times_run_every_body_exactly_once, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_sigkill_at_twenty_points_of_a_fifty_revision_upgrade_leaves_a_committed_prefix,
            fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
