/*
 * test_pg_kill.c — PostgreSQL only: a migrator killed with SIGKILL in the
 * middle of a long migration.  The database must be left at the last
 * committed revision, and the next run must complete to head.
 *
 * The victim migrates r1..r5; r4 creates its table and then sleeps in the
 * server (pg_sleep) far longer than any lock timeout, standing for a long
 * statement such as an index build on a big table.  The parent waits until
 * r3's version row is committed and r4's sleep is running, then kills the
 * victim.  Its server session outlives it unless the server notices that
 * the client is gone; while it lives it holds the migration lock and r4's
 * open transaction, which the next run must not be left waiting for.
 */
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "pg_support.c"

enum { NREV = 5, SLOW = 3 /* r4, index 3 */ };

/* How long r4 sleeps in the victim: "forever" for this test. */
#define VICTIM_SLEEP_S "600"
/* How long the parent waits for the victim to reach r4. */
#define REACH_TIMEOUT_S 60.0

typedef struct rev {
    char id[8];
    int ups;             /* how often up ran in this process */
    const char *sleep_s; /* r4 in the victim: seconds of pg_sleep, else NULL */
} rev;

static int rev_up(retort_conn *conn, void *user)
{
    rev *v = user;
    v->ups++;
    char sql[96];
    snprintf(sql, sizeof sql, "CREATE TABLE t_%s (x INTEGER)", v->id);
    int rc = retort_exec(conn, sql);
    if (rc == RETORT_OK && v->sleep_s) {
        snprintf(sql, sizeof sql, "SELECT pg_catalog.pg_sleep(%s)", v->sleep_s);
        rc = retort_exec(conn, sql);
    }
    return rc;
}

static int rev_down(retort_conn *conn, void *user)
{
    rev *v = user;
    char sql[64];
    snprintf(sql, sizeof sql, "DROP TABLE t_%s", v->id);
    return retort_exec(conn, sql);
}

/* Registers r1..r5 on r; victim: r4 sleeps. */
static int add_chain(retort *r, rev revs[NREV], int victim)
{
    int rc = RETORT_OK;
    for (int k = 0; rc == RETORT_OK && k < NREV; k++) {
        memset(&revs[k], 0, sizeof revs[k]);
        snprintf(revs[k].id, sizeof revs[k].id, "r%d", k + 1);
        revs[k].sleep_s = victim && k == SLOW ? VICTIM_SLEEP_S : NULL;
        rc = retort_add(r, revs[k].id, k ? revs[k - 1].id : NULL, NULL, rev_up, rev_down,
                        &revs[k]);
    }
    return rc;
}

/* The victim's application_name tells its server session apart. */
#define VICTIM_APP "retort_kill_victim"

static void victim(void)
{
    char url[200];
    snprintf(url, sizeof url, "%s application_name=%s", T.url, VICTIM_APP);
    rev revs[NREV];
    retort *r = NULL;
    int rc = retort_new(&r, url);
    if (rc == RETORT_OK)
        rc = add_chain(r, revs, 1);
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    fprintf(stderr, "victim: migrate returned %d before it was killed: %s\n", rc,
            retort_errmsg(r));
    retort_free(r);
    _exit(100);
}

static int version_row_committed(const char *id)
{
    if (!pgt_table_exists(NULL, "retort_version"))
        return 0;
    return pgt_count("SELECT count(*) FROM retort_version WHERE id = $1", id, NULL) > 0;
}

static int victim_is_sleeping(void)
{
    return pgt_count("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE application_name "
                     "= $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
                     VICTIM_APP, NULL) > 0;
}

/* Starts the victim, waits until r3 is committed and r4 is sleeping in the
 * server, and kills it with SIGKILL. */
static void kill_victim_in_r4(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0)
        victim();
    double deadline = pgt_now() + REACH_TIMEOUT_S;
    int reached = 0, exited = 0;
    while (!reached && pgt_now() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        reached = version_row_committed("r3") && victim_is_sleeping();
        if (!reached)
            pgt_sleep_ms(20);
    }
    if (!exited) {
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status = 0;
        pid_t w;
        do
            w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        assert_int_equal(w, pid);
        if (reached)
            assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    if (!reached)
        fail_msg("the victim %s before it committed r3 and began r4's sleep",
                 exited ? "exited (its message is above)" : "did not get there in time");
}

/* ---------------------------------------------------------------- tests */

static void test_sigkill_in_a_long_migration_leaves_exactly_the_revisions_committed_before_it(
    void **state)
{
    (void)state;
    kill_victim_in_r4();
    assert_text(pgt_rows("SELECT id, state FROM retort_version ORDER BY seq", NULL),
                "r1|applied r2|applied r3|applied");
    assert_true(pgt_table_exists(NULL, "t_r1"));
    assert_true(pgt_table_exists(NULL, "t_r2"));
    assert_true(pgt_table_exists(NULL, "t_r3"));
    assert_false(pgt_table_exists(NULL, "t_r4")); /* its transaction never committed */
    assert_text(pgt_rows("SELECT revision, direction, outcome FROM retort_version_log "
                         "ORDER BY seq",
                         NULL),
                "r1|up|ok r2|up|ok r3|up|ok");
}

static void test_next_run_after_a_sigkilled_migrator_completes_to_head(void **state)
{
    (void)state;
    kill_victim_in_r4();

    /* A replacement process starting with the default settings. */
    retort *r = pgt_new();
    rev revs[NREV];
    assert_ok(r, add_chain(r, revs, 0));
    double t0 = pgt_now();
    int rc = retort_migrate_to_head(r);
    double took = pgt_now() - t0;
    if (rc != RETORT_OK)
        fail_msg("the next run returned %d (%s) after %.1f s: %s; sessions of the killed "
                 "migrator still on the server: %ld",
                 rc, retort_strerror(rc), took, retort_errmsg(r),
                 pgt_count("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE "
                           "application_name = $1",
                           VICTIM_APP, NULL));
    assert_text(pgt_rows("SELECT id, state FROM retort_version ORDER BY seq", NULL),
                "r1|applied r2|applied r3|applied r4|applied r5|applied");
    for (int k = 0; k < NREV; k++)
        assert_int_equal(revs[k].ups, k < SLOW ? 0 : 1); /* r1..r3 are not run again */
    assert_true(pgt_table_exists(NULL, "t_r4"));
    assert_true(pgt_table_exists(NULL, "t_r5"));
    assert_text(pgt_rows("SELECT revision FROM retort_version_log WHERE outcome = 'ok' "
                         "ORDER BY seq",
                         NULL),
                "r1 r2 r3 r4 r5");
}

#define PG_TEST(f) cmocka_unit_test_setup_teardown(f, pgt_setup, pgt_teardown)

int main(void)
{
    if (pgt_skip_unless_server())
        return 0;
    const struct CMUnitTest tests[] = {
        PG_TEST(test_sigkill_in_a_long_migration_leaves_exactly_the_revisions_committed_before_it),
        PG_TEST(test_next_run_after_a_sigkilled_migrator_completes_to_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
