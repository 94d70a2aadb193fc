/*
 * test_concurrency.c — many processes migrating one database at once, as
 * replicas of an application starting together: every revision body runs
 * exactly once and every process returns success.
 *
 * Each revision's body is counted twice, independently (replicas.h): a line
 * appended to a file before the body touches the database, and an INSERT
 * into a counter table.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "steps.h"
#include "replicas.h"

enum { NPROC = 16, NREV = 8 };

static void test_sixteen_processes_apply_each_revision_exactly_once(void **state)
{
    (void)state;
    char *runs = fixture_path("runs.log");
    int ok = run_replicas(runs, NPROC, NREV);
    if (ok != NPROC) {
        free(runs);
        fail_msg("%d of %d replicas failed (their messages are above)", NPROC - ok, NPROC);
    }
    assert_each_ran_once(runs, NREV, "one run");
    free(runs);
}

static void test_sixteen_processes_at_head_all_succeed_without_running_anything(void **state)
{
    (void)state;
    char *runs = fixture_path("runs.log");
    int ok = run_replicas(runs, NPROC, NREV);
    assert_int_equal(ok, NPROC);
    ok = run_replicas(runs, NPROC, NREV); /* everyone restarts: already at head */
    if (ok != NPROC) {
        free(runs);
        fail_msg("%d of %d replicas failed at head", NPROC - ok, NPROC);
    }
    assert_each_ran_once(runs, NREV, "one run");
    free(runs);
}

/* ------------------------------------------------------------ SIGKILL */

typedef struct hang {
    int notify_fd;
} hang;

/* Does its work, tells the parent it is mid-migration, and waits to die. */
static int hanging_up(retort_conn *conn, void *user)
{
    const hang *h = user;
    if (retort_exec(conn, "CREATE TABLE t_k2 (x INTEGER)") != RETORT_OK)
        _exit(100);
    if (write(h->notify_fd, "k", 1) != 1)
        _exit(101);
    for (;;)
        pause();
}

/* Runs k1, k2 (hangs inside its migration), k3 in a child and SIGKILLs it
 * while k2 runs; k2 transactional or not. */
static void kill_mid_migration(int transactional)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        step s[3];
        hang h = {fds[1]};
        retort *r = NULL;
        int rc = retort_new(&r, fixture_url());
        if (rc == RETORT_OK && fixture_schema())
            rc = retort_set_schema(r, fixture_schema());
        step_init(&s[0], "k1");
        step_init(&s[2], "k3");
        if (rc == RETORT_OK)
            rc = retort_add(r, "k1", NULL, NULL, step_up, step_down, &s[0]);
        if (rc == RETORT_OK)
            rc = retort_add(r, "k2", "k1", NULL, hanging_up, step_down, &h);
        if (rc == RETORT_OK)
            rc = retort_add(r, "k3", "k2", NULL, step_up, step_down, &s[2]);
        if (rc == RETORT_OK && !transactional)
            rc = retort_revision_set_transactional(r, "k2", 0);
        if (rc == RETORT_OK)
            rc = retort_migrate_to_head(r);
        fprintf(stderr, "child: migrate returned %d: %s\n", rc, retort_errmsg(r));
        _exit(102); /* never reached when k2 hangs */
    }
    close(fds[1]);
    char c = 0;
    ssize_t got;
    do
        got = read(fds[0], &c, 1);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got != 1) {
        waitpid(pid, NULL, 0);
        fail_msg("the child never reached revision k2");
    }
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static retort *next_run(step *s)
{
    retort *r = fixture_new();
    add_step(r, &s[0], "k1", NULL);
    add_step(r, &s[1], "k2", "k1");
    add_step(r, &s[2], "k3", "k2");
    return r;
}

static void test_process_killed_mid_migration_leaves_the_last_committed_revision(
    void **state)
{
    (void)state;
    kill_mid_migration(1);
    assert_version_ids("k1");
    assert_table("t_k1");
    assert_no_table("t_k2"); /* the killed transaction left nothing */

    step s[3];
    retort *r = next_run(s);
    assert_ok(r, retort_migrate_to_head(r)); /* no stale lock, no dirt */
    assert_int_equal(s[0].ups, 0);
    assert_int_equal(s[1].ups, 1);
    assert_version_ids("k1 k2 k3");
    assert_table("t_k3");
}

static void test_process_killed_in_a_non_transactional_revision_leaves_it_dirty(void **state)
{
    (void)state;
    kill_mid_migration(0);
    assert_table("t_k2"); /* ran outside a transaction: it stays */
    char *st = fixture_scalar("SELECT state FROM retort_version WHERE id = 'k2'");
    assert_non_null(st);
    assert_string_equal(st, "dirty");
    free(st);

    step s[3];
    retort *r = next_run(s);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EDIRTY);
    assert_contains(retort_errmsg(r), "k2");
    assert_ok(r, retort_mark_applied(r, "k2"));
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(s[1].ups, 0);
    assert_version_ids("k1 k2 k3");
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_sixteen_processes_apply_each_revision_exactly_once),
        IT_TEST(test_sixteen_processes_at_head_all_succeed_without_running_anything),
        IT_TEST(test_process_killed_mid_migration_leaves_the_last_committed_revision),
        IT_TEST(test_process_killed_in_a_non_transactional_revision_leaves_it_dirty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
