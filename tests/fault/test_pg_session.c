/*
 * test_pg_session.c — the PostgreSQL server terminates the migrating session
 * (pg_terminate_backend) in the middle of a revision: a clear error, nothing
 * of that revision left, and the next run completes, from a new context and
 * from the one that lost its session.  (The lock held past the timeout and
 * CREATE INDEX CONCURRENTLY with many waiters are tests/postgres'
 * test_pg_lock.c and test_pg_concurrency.c.)
 */
#include <libpq-fe.h>

#include "fault_util.h"

static PGconn *admin_connect(const char *dbname)
{
    const char *keys[] = {"dbname", NULL};
    const char *values[] = {dbname, NULL};
    PGconn *c = dbname ? PQconnectdbParams(keys, values, 0) : PQconnectdb("");
    if (!c || PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to PostgreSQL: %s", c ? PQerrorMessage(c) : "out of memory");
    return c;
}

/* ------------------------------------------------- terminated session */

typedef struct killer {
    int ups;
} killer;

/* Creates its table, then has another session terminate this one, then
 * tries to go on. */
static int terminated_up(retort_conn *conn, void *user)
{
    killer *k = user;
    k->ups++;
    int rc = retort_exec(conn, "CREATE TABLE t_r01 (n INTEGER)");
    if (rc)
        return rc;
    PGconn *self = retort_native(conn);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 5000)", PQbackendPID(self));
    PGconn *other = admin_connect(NULL);
    PGresult *res = PQexec(other, sql);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    PQfinish(other);
    if (!ok)
        return 99; /* the test then fails on the message */
    return retort_exec(conn, "INSERT INTO t_r01 VALUES (1)");
}

static int plain_up(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "CREATE TABLE t_plain (n INTEGER)");
}

static void add_terminated_chain(retort *r, killer *k, int kill_it)
{
    assert_ok(r, retort_add_sql(r, "r00", NULL, NULL, "CREATE TABLE t_r00 (n INTEGER)", NULL));
    if (kill_it)
        assert_ok(r, retort_add(r, "r01", "r00", NULL, terminated_up, NULL, k));
    else
        assert_ok(r, retort_add_sql(r, "r01", "r00", NULL, "CREATE TABLE t_r01 (n INTEGER)",
                                    NULL));
    assert_ok(r, retort_add(r, "r02", "r01", NULL, plain_up, NULL, NULL));
}

static void test_session_terminated_mid_revision_leaves_nothing_of_it(void **state)
{
    (void)state;
    killer k = {0};
    retort *r = fixture_new();
    add_terminated_chain(r, &k, 1);
    int rc = retort_migrate_to_head(r);
    assert_int_not_equal(rc, RETORT_OK);
    assert_int_equal(k.ups, 1);
    assert_contains(retort_errmsg(r), "r01");
    assert_contains(retort_errmsg(r), "terminat"); /* the server's reason */
    assert_version_ids("r00");
    assert_table("t_r00");
    assert_no_table("t_r01");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version WHERE state <> "
                                   "'applied'"), 0);
    /* The failure is on record, written by whoever could. */
    fixture_free(r);

    /* The next run, as a restarted process would make it, completes. */
    retort *again = fixture_new();
    add_terminated_chain(again, &k, 0);
    assert_ok(again, retort_migrate_to_head(again));
    assert_version_ids("r00 r01 r02");
    assert_table("t_plain");
}

static void test_context_whose_session_was_terminated_reconnects_for_its_next_run(void **state)
{
    (void)state;
    killer k = {0};
    retort *r = fixture_new();
    add_terminated_chain(r, &k, 1);
    assert_int_not_equal(retort_migrate_to_head(r), RETORT_OK);
    /* A long-lived application keeps its context: the dead session must not
     * make every later run fail. */
    int rc = retort_migrate_to_head(r);
    if (rc == RETORT_OK)
        fail_msg("the terminated revision's callback was expected to fail again");
    if (k.ups != 2) /* it ran again only if the context reached the server */
        fail_msg("the next run on the same context never reached the server (%d): %s", rc,
                 retort_errmsg(r));
    assert_contains(retort_errmsg(r), "r01");
    assert_version_ids("r00");
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_session_terminated_mid_revision_leaves_nothing_of_it),
        T(test_context_whose_session_was_terminated_reconnects_for_its_next_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
