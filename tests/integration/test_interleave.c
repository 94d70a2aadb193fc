/*
 * test_interleave.c — SQLite: another migrator runs to completion at the
 * exact point where a run has released the write lock (right after one of
 * its commits, before its next BEGIN IMMEDIATE), through a wrapping driver
 * (hook_driver.h).  Whatever it did, the run must re-check under its next
 * write lock: no body runs twice, and the recorded set stays closed under
 * parents (no revision recorded without its parents).
 *
 * Both migrators live in this process, each with its own context and
 * connection: the second runs inside the first's commit hook, while the
 * first holds no lock.  SQLite suite only: on PostgreSQL the advisory lock
 * is held for the whole run (tests/postgres/test_pg_interleave.c).
 */
#include "steps.h"
#include "hook_driver.h"

enum { N = 6 };
static const char *const ids[N] = {"c1", "c2", "c3", "c4", "c5", "c6"};

/* The migrator under test (through the hook driver) and the other one,
 * each with its own counters. */
typedef struct pair {
    step a[N], b[N];
    retort *ra, *rb;
    int other_rc; /* what the other migrator's operation returned */
    int fired;
    int at_commit; /* fire after this many commits of ra */
    int (*other)(retort *r);
} pair;

/* Step events as text: "bINDEX:ID" before, "aINDEX:ID" after with
 * RETORT_OK, "fINDEX:ID" after a failure, each followed by a space. */
static void record_event(int phase, int direction, int index, int total, const char *id,
                         const char *message, int status, long duration_ms, void *user)
{
    (void)direction;
    (void)total;
    (void)message;
    (void)duration_ms;
    char *buf = user;
    size_t len = strlen(buf);
    snprintf(buf + len, 512 - len, "%s%d:%s ",
             phase == RETORT_EVENT_BEFORE ? "b" : status == RETORT_OK ? "a" : "f", index, id);
}

static int other_upgrade(retort *r) { return retort_migrate_to_head(r); }
static int other_downgrade(retort *r) { return retort_downgrade(r, "base"); }
static int other_stamp_base(retort *r) { return retort_stamp(r, "base"); }

static int fire(int commits, void *user)
{
    pair *p = user;
    if (commits < p->at_commit)
        return 0;
    p->fired = 1;
    p->other_rc = p->other(p->rb);
    if (p->other_rc != RETORT_OK)
        print_error("the other migrator failed: %s\n", retort_errmsg(p->rb));
    return 1;
}

/* Fires after every commit from at_commit on (a process that keeps
 * undoing the run's work). */
static int fire_each(int commits, void *user)
{
    pair *p = user;
    if (commits >= p->at_commit) {
        p->fired++;
        p->other_rc = p->other(p->rb);
    }
    return 0;
}

/* Registers the chain c1..c6 in both contexts; nontx: c3 runs outside a
 * transaction; whole: ra runs in whole-run mode. */
static void setup_pair(pair *p, int nontx, int whole)
{
    memset(p, 0, sizeof *p);
    char *url = hook_driver_url("sqlite", fixture_url());
    assert_non_null(url);
    assert_int_equal(retort_new(&p->ra, url), RETORT_OK);
    free(url);
    fixture_adopt(p->ra);
    p->rb = fixture_new();
    add_chain(p->ra, p->a, ids, N);
    add_chain(p->rb, p->b, ids, N);
    if (nontx) {
        assert_ok(p->ra, retort_revision_set_transactional(p->ra, "c3", 0));
        assert_ok(p->rb, retort_revision_set_transactional(p->rb, "c3", 0));
    }
    if (whole)
        assert_ok(p->ra, retort_set_transaction_mode(p->ra, RETORT_TX_WHOLE_RUN));
}

/* Applies c1..c6 first through a third context (its own counters).
 */
static void start_at_head(void)
{
    step s[N];
    retort *r = fixture_new();
    add_chain(r, s, ids, N);
    assert_ok(r, retort_revision_set_transactional(r, "c3", 0));
    assert_ok(r, retort_migrate_to_head(r));
    fixture_free(r);
    assert_version_ids("c1 c2 c3 c4 c5 c6");
}

/* No recorded revision whose parent is not recorded (a linear chain). */
static void assert_closed_under_parents(void)
{
    long orphans = fixture_count("SELECT COUNT(*) FROM retort_version v WHERE v.parents <> '' "
                                 "AND NOT EXISTS (SELECT 1 FROM retort_version p "
                                 "WHERE p.id = v.parents)");
    if (orphans) {
        char *v = fixture_version_ids();
        char copy[256];
        snprintf(copy, sizeof copy, "%s", v);
        free(v);
        fail_msg("%ld revision(s) recorded without their parent: the table holds \"%s\"",
                 orphans, copy);
    }
}

static void assert_each_ran(const pair *p, int up, int times)
{
    for (int i = 0; i < N; i++) {
        int n = up ? p->a[i].ups + p->b[i].ups : p->a[i].downs + p->b[i].downs;
        if (n != times)
            fail_msg("%s body of %s ran %d times (this run %d, the other %d), expected %d",
                     up ? "up" : "down", ids[i], n, up ? p->a[i].ups : p->a[i].downs,
                     up ? p->b[i].ups : p->b[i].downs, times);
    }
}

/* ------------------------------------------- whole run, non-transactional */

/* The run commits before c3 (non-transactional), which frees the write
 * lock; the other downgrade then reverts c3, c2, c1 itself. */
static void test_whole_run_downgrade_raced_before_a_non_transactional_step_runs_each_body_once(
    void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 1, 1);
    start_at_head();
    p.at_commit = 1;
    p.other = other_downgrade;
    hook_after_commit(fire, &p);
    assert_ok(p.ra, retort_downgrade(p.ra, "base"));
    assert_true(p.fired);
    assert_int_equal(p.other_rc, RETORT_OK);
    assert_each_ran(&p, 0, 1);
    assert_version_ids("");
}

/* From empty: the tables' creation commits first, then the run commits
 * before c3; the other upgrade applies c3..c6 meanwhile. */
static void test_whole_run_upgrade_raced_before_a_non_transactional_step_runs_each_body_once(
    void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 1, 1);
    p.at_commit = 2;
    p.other = other_upgrade;
    char events_a[512] = "", events_b[512] = "";
    assert_ok(p.ra, retort_set_event_fn(p.ra, record_event, events_a));
    assert_ok(p.rb, retort_set_event_fn(p.rb, record_event, events_b));
    hook_after_commit(fire, &p);
    assert_ok(p.ra, retort_migrate_to_head(p.ra));
    assert_true(p.fired);
    assert_int_equal(p.other_rc, RETORT_OK);
    assert_each_ran(&p, 1, 1);
    assert_version_ids("c1 c2 c3 c4 c5 c6");
    /* Each reports only what it ran; in whole-run mode an after-event
     * comes once the run's transaction has committed. */
    assert_string_equal(events_a, "b1:c1 b2:c2 a1:c1 a2:c2 ");
    assert_string_equal(events_b, "b1:c3 a1:c3 b2:c4 a2:c4 b3:c5 a3:c5 b4:c6 a4:c6 ");
}

/* ---------------------------------------------------- per-migration mode */

/* c1..c3 applied (after the tables' creation: 4 commits), then the other
 * migrator reverts them all: the run must apply them again before c4. */
static void test_upgrade_raced_by_a_downgrade_to_base_records_no_child_without_its_parent(
    void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 0, 0);
    p.at_commit = 4;
    p.other = other_downgrade;
    hook_after_commit(fire, &p);
    assert_ok(p.ra, retort_migrate_to_head(p.ra));
    assert_true(p.fired);
    assert_int_equal(p.other_rc, RETORT_OK);
    assert_closed_under_parents();
    assert_version_ids("c1 c2 c3 c4 c5 c6");
    for (int i = 0; i < N; i++) {
        char table[16];
        snprintf(table, sizeof table, "t_%s", ids[i]);
        assert_table(table);
    }
}

static void test_upgrade_raced_by_stamp_base_records_no_child_without_its_parent(void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 0, 0);
    p.at_commit = 4;
    p.other = other_stamp_base;
    hook_after_commit(fire, &p);
    /* A stamp runs nothing: c1..c3's tables stay, so their bodies here
     * tolerate that, and the run applies them again before c4. */
    for (int i = 0; i < N; i++)
        snprintf(p.a[i].up_sql, sizeof p.a[i].up_sql, "CREATE TABLE IF NOT EXISTS t_%s (x)",
                 ids[i]);
    assert_ok(p.ra, retort_migrate_to_head(p.ra));
    assert_true(p.fired);
    assert_int_equal(p.other_rc, RETORT_OK);
    assert_closed_under_parents();
    assert_version_ids("c1 c2 c3 c4 c5 c6");
    assert_int_equal(p.a[0].ups, 2);
    assert_int_equal(p.a[3].ups, 1);
}

/* c6..c4 reverted, then the other migrator applies them again: the run
 * must revert them again before c3. */
static void test_downgrade_raced_by_an_upgrade_leaves_no_child_without_its_parent(void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 0, 0);
    start_at_head();
    assert_ok(p.rb, retort_revision_set_transactional(p.rb, "c3", 1));
    p.at_commit = 3;
    p.other = other_upgrade;
    hook_after_commit(fire, &p);
    assert_ok(p.ra, retort_downgrade(p.ra, "base"));
    assert_true(p.fired);
    assert_int_equal(p.other_rc, RETORT_OK);
    assert_closed_under_parents();
    assert_version_ids("");
}

/* Nobody interferes: the run's re-checks cost no re-read (the data version
 * is unchanged), and each body runs once. */
static void test_an_undisturbed_run_through_the_wrapper_runs_each_body_once(void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 1, 0);
    assert_ok(p.ra, retort_migrate_to_head(p.ra));
    assert_each_ran(&p, 1, 1);
    assert_ok(p.ra, retort_downgrade(p.ra, "base"));
    assert_each_ran(&p, 0, 1);
    assert_version_ids("");
}

/* Whole-run mode: a failure rolls back the steps before it too, and their
 * after-events say so (no step is reported applied). */
static void test_whole_run_failure_reports_every_rolled_back_step_as_failed(void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 0, 1);
    p.a[4].fail_up = 1;
    char events[512] = "";
    assert_ok(p.ra, retort_set_event_fn(p.ra, record_event, events));
    assert_rc(p.ra, retort_migrate_to_head(p.ra), RETORT_EMIGRATION);
    assert_string_equal(events, "b1:c1 b2:c2 b3:c3 b4:c4 b5:c5 f1:c1 f2:c2 f3:c3 f4:c4 f5:c5 ");
    assert_version_ids("");
}

/* A downgrade to base after each of the upgrade's commits: re-planning
 * would re-apply c1 forever; the run stops with an error saying why, the
 * recorded set still closed under parents. */
static void test_an_upgrade_another_process_keeps_undoing_stops_with_an_error(void **state)
{
    (void)state;
    pair p;
    setup_pair(&p, 0, 0);
    p.at_commit = 2; /* after the tables' creation, from c1's commit on */
    p.other = other_downgrade;
    hook_after_commit(fire_each, &p);
    assert_rc(p.ra, retort_migrate_to_head(p.ra), RETORT_ELOCK);
    hook_after_commit(NULL, NULL);
    assert_contains(retort_errmsg(p.ra), "keeps moving the version table");
    assert_true(p.fired > 1);
    assert_int_equal(p.other_rc, RETORT_OK);
    assert_closed_under_parents();
    assert_int_equal(p.a[3].ups, 0); /* never got past c1 */
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_whole_run_downgrade_raced_before_a_non_transactional_step_runs_each_body_once),
        IT_TEST(test_whole_run_upgrade_raced_before_a_non_transactional_step_runs_each_body_once),
        IT_TEST(test_upgrade_raced_by_a_downgrade_to_base_records_no_child_without_its_parent),
        IT_TEST(test_upgrade_raced_by_stamp_base_records_no_child_without_its_parent),
        IT_TEST(test_downgrade_raced_by_an_upgrade_leaves_no_child_without_its_parent),
        IT_TEST(test_an_undisturbed_run_through_the_wrapper_runs_each_body_once),
        IT_TEST(test_whole_run_failure_reports_every_rolled_back_step_as_failed),
        IT_TEST(test_an_upgrade_another_process_keeps_undoing_stops_with_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
