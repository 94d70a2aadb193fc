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

enum { NPROC = 16, NREPEAT = 20, NREV = 10, KILL_REVS = 50, KILL_TRIALS = 20 };

/* ------------------------------------------------ sixteen processes */

typedef struct crev {
    char id[16];
    char parent[16];
    const char *runs_path;
} crev;

static int counted_up(retort_conn *conn, void *user)
{
    const crev *c = user;
    int fd = open(c->runs_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0)
        return 1;
    char line[64];
    int n = snprintf(line, sizeof line, "%s %ld\n", c->id, (long)getpid());
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    if (w != n)
        return 1;
    if (!c->parent[0]) {
        int rc = retort_exec(conn, "CREATE TABLE counter (rev VARCHAR(16))");
        if (rc)
            return rc;
    }
    const char *params[] = {c->id};
    return retort_exec_params(conn, "INSERT INTO counter (rev) VALUES ($1)", 1, params);
}

static int counted_down(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

static void replica(int gate, const char *runs_path)
{
    char go;
    ssize_t got;
    do
        got = read(gate, &go, 1); /* 0 when the parent closes the pipe: go */
    while (got < 0 && errno == EINTR);
    close(gate);
    crev revs[NREV];
    retort *r = child_context();
    int rc = r ? RETORT_OK : RETORT_ERROR;
    for (int i = 0; rc == RETORT_OK && i < NREV; i++) {
        snprintf(revs[i].id, sizeof revs[i].id, "c%02d", i);
        if (i)
            snprintf(revs[i].parent, sizeof revs[i].parent, "c%02d", i - 1);
        else
            revs[i].parent[0] = '\0';
        revs[i].runs_path = runs_path;
        rc = retort_add(r, revs[i].id, revs[i].parent, NULL, counted_up, counted_down,
                        &revs[i]);
    }
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    if (rc != RETORT_OK)
        fprintf(stderr, "replica %ld: status %d: %s\n", (long)getpid(), rc, retort_errmsg(r));
    retort_free(r);
    _exit(rc == RETORT_OK ? 0 : rc > 0 && rc < 125 ? rc : 125);
}

/* Starts NPROC replicas at once; returns how many exited with status 0. */
static int run_replicas(const char *runs_path)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(fds[1]);
            replica(fds[0], runs_path);
        }
    }
    close(fds[0]);
    close(fds[1]);
    int ok = 0;
    for (int i = 0; i < NPROC; i++) {
        int status = wait_child(pids[i]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ok++;
        else
            print_error("replica %d ended with wait status %d\n", i, status);
    }
    return ok;
}

static void assert_each_ran_once(const char *runs_path, int repetition)
{
    int counts[NREV] = {0}, other = 0;
    char *text = fixture_read_file(runs_path);
    assert_non_null(text);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int k = -1;
        if (sscanf(line, "c%d ", &k) == 1 && k >= 0 && k < NREV)
            counts[k]++;
        else
            other++;
    }
    free(text);
    assert_int_equal(other, 0);
    for (int k = 0; k < NREV; k++)
        if (counts[k] != 1)
            fail_msg("repetition %d: revision c%02d's body ran %d times", repetition, k,
                     counts[k]);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM counter"), NREV);
    assert_int_equal(fixture_count("SELECT COUNT(DISTINCT rev) FROM counter"), NREV);
    assert_version_ids("c00 c01 c02 c03 c04 c05 c06 c07 c08 c09");
}

static void test_sixteen_processes_twenty_times_run_every_body_exactly_once(void **state)
{
    (void)state;
    for (int rep = 0; rep < NREPEAT; rep++) {
        if (rep)
            fresh_database();
        char *runs = fixture_path("runs.log");
        int ok = run_replicas(runs);
        if (ok != NPROC) {
            free(runs);
            fail_msg("repetition %d: %d of %d replicas failed (messages above)", rep, NPROC - ok,
                     NPROC);
        }
        assert_each_ran_once(runs, rep);
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
