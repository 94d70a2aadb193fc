/*
 * test_pg_lock.c — PostgreSQL only: the migration lock.  A session-level
 * advisory lock whose key doc/CONFIGURATION.md documents (the 64-bit
 * FNV-1a hash of "retort:SCHEMA.TABLE", read as a signed bigint), so that
 * another tool, or an operator, can take it; here a separate libpq session
 * takes it with pg_advisory_lock and the key computed from the document.
 *
 * Behaviours: waiting for a held lock ends in RETORT_ELOCK within the
 * timeout (plus slack), naming the version table, changing nothing and
 * leaving the context usable; the lock is released at the end of every
 * run while the context keeps its connection; and version tables that
 * differ in name or schema have different locks.
 */
#include <inttypes.h>

#include "pg_support.c"

/* The documented key, computed here independently of the library. */
static int64_t documented_key(const char *schema, const char *table)
{
    char text[300];
    snprintf(text, sizeof text, "retort:%s.%s", schema, table);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= UINT64_C(0x100000001b3);
    }
    int64_t key;
    memcpy(&key, &h, sizeof key); /* two's complement, as a bigint reads it */
    return key;
}

/* A separate session holding the lock of schema.table. */
static PGconn *hold_lock(const char *schema, const char *table)
{
    PGconn *c = pgt_session();
    char key[32];
    snprintf(key, sizeof key, "%" PRId64, documented_key(schema, table));
    pgt_exec_on(c, "SELECT pg_catalog.pg_advisory_lock($1::bigint)", key, NULL);
    return c;
}

static void release_lock(PGconn *c, const char *schema, const char *table)
{
    char key[32];
    snprintf(key, sizeof key, "%" PRId64, documented_key(schema, table));
    pgt_exec_on(c, "SELECT pg_catalog.pg_advisory_unlock($1::bigint)", key, NULL);
}

/* Whether nobody holds the lock of schema.table: a new session can take
 * it at once (and lets it go again). */
static int lock_is_free(const char *schema, const char *table)
{
    PGconn *c = pgt_session();
    char key[32];
    snprintf(key, sizeof key, "%" PRId64, documented_key(schema, table));
    const char *params[] = {key};
    PGresult *res = PQexecParams(c, "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", 1,
                                 NULL, params, NULL, NULL, 0);
    int got = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
              strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (got)
        pgt_exec_on(c, "SELECT pg_catalog.pg_advisory_unlock($1::bigint)", key, NULL);
    return got;
}

static void add_revisions(retort *r, const char *prefix)
{
    char id1[32], id2[32], up1[96], up2[96];
    snprintf(id1, sizeof id1, "%s1", prefix);
    snprintf(id2, sizeof id2, "%s2", prefix);
    snprintf(up1, sizeof up1, "CREATE TABLE t_%s (x INTEGER)", id1);
    snprintf(up2, sizeof up2, "CREATE TABLE t_%s (x INTEGER)", id2);
    assert_ok(r, retort_add_sql(r, id1, NULL, NULL, up1, NULL));
    assert_ok(r, retort_add_sql(r, id2, id1, NULL, up2, NULL));
}

/* Migrates to head, expecting RETORT_ELOCK; returns the seconds it took. */
static double migrate_expecting_elock(retort *r)
{
    double t0 = pgt_now();
    int rc = retort_migrate_to_head(r);
    double took = pgt_now() - t0;
    if (rc != RETORT_ELOCK)
        fail_msg("retort_migrate_to_head returned %d (%s) after %.2f s, expected "
                 "RETORT_ELOCK; errmsg: %s",
                 rc, retort_strerror(rc), took, retort_errmsg(r));
    return took;
}

/* ---------------------------------------------------------------- tests */

static void test_lock_wait_ends_in_elock_naming_the_version_table_within_timeout_plus_2s(
    void **state)
{
    (void)state;
    hold_lock("public", "retort_version");
    retort *r = pgt_new();
    add_revisions(r, "a");
    assert_ok(r, retort_set_lock_timeout(r, 1500));
    double took = migrate_expecting_elock(r);
    if (took < 1.4 || took > 1.5 + 2.0)
        fail_msg("gave up after %.2f s with a 1.5 s lock timeout", took);
    assert_contains(retort_errmsg(r), "public.retort_version");
}

static void test_lock_timeout_zero_gives_up_at_once(void **state)
{
    (void)state;
    hold_lock("public", "retort_version");
    retort *r = pgt_new();
    add_revisions(r, "a");
    assert_ok(r, retort_set_lock_timeout(r, 0));
    double took = migrate_expecting_elock(r);
    if (took > 2.0)
        fail_msg("gave up after %.2f s with a lock timeout of 0", took);
    assert_contains(retort_errmsg(r), "public.retort_version");
}

static void test_lock_timeout_changes_nothing_and_the_context_migrates_once_the_lock_is_free(
    void **state)
{
    (void)state;
    PGconn *holder = hold_lock("public", "retort_version");
    retort *r = pgt_new();
    add_revisions(r, "a");
    assert_ok(r, retort_set_lock_timeout(r, 300));
    migrate_expecting_elock(r);
    assert_false(pgt_table_exists(NULL, "retort_version"));
    assert_false(pgt_table_exists(NULL, "retort_version_log"));
    assert_false(pgt_table_exists(NULL, "t_a1"));

    release_lock(holder, "public", "retort_version");
    assert_ok(r, retort_migrate_to_head(r));
    assert_text(pgt_rows("SELECT id, state FROM retort_version ORDER BY seq", NULL),
                "a1|applied a2|applied");
    assert_true(pgt_table_exists(NULL, "t_a2"));
}

static void test_lock_is_released_after_a_run_while_the_context_stays_open(void **state)
{
    (void)state;
    retort *r = pgt_new();
    add_revisions(r, "a");
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(lock_is_free("public", "retort_version"));
    assert_text(pgt_rows("SELECT id FROM retort_version ORDER BY seq", NULL), "a1 a2");
}

static void test_lock_is_released_after_a_failed_migration_while_the_context_stays_open(
    void **state)
{
    (void)state;
    retort *r = pgt_new();
    add_revisions(r, "a");
    assert_ok(r, retort_add_sql(r, "a3", "a2", NULL, "SELECT * FROM no_such_table", NULL));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_true(lock_is_free("public", "retort_version"));
    assert_text(pgt_rows("SELECT id FROM retort_version ORDER BY seq", NULL), "a1 a2");
}

/* "Resolved to the connection's current schema when unset": the lock of a
 * context without a schema setting follows search_path. */
static void test_unset_schema_takes_the_lock_of_the_connections_current_schema(void **state)
{
    (void)state;
    pgt_exec("CREATE SCHEMA app", NULL);
    hold_lock("app", "retort_version");
    char url[200];
    snprintf(url, sizeof url, "%s options='-csearch_path=app'", T.url);
    retort *r = pgt_new_url(url);
    add_revisions(r, "a");
    assert_ok(r, retort_set_lock_timeout(r, 300));
    migrate_expecting_elock(r);
    assert_contains(retort_errmsg(r), "app.retort_version");
    assert_false(pgt_table_exists("app", "retort_version"));
}

/* Holding table A's lock blocks A's migrators only. */
static void test_version_tables_with_different_names_have_different_locks(void **state)
{
    (void)state;
    hold_lock("public", "versions_a");
    retort *a = pgt_new();
    assert_ok(a, retort_set_version_table(a, "versions_a"));
    add_revisions(a, "a");
    assert_ok(a, retort_set_lock_timeout(a, 1000));
    retort *b = pgt_new();
    assert_ok(b, retort_set_version_table(b, "versions_b"));
    add_revisions(b, "b");
    assert_ok(b, retort_set_lock_timeout(b, 1000));

    assert_ok(b, retort_migrate_to_head(b));
    migrate_expecting_elock(a);
    assert_contains(retort_errmsg(a), "public.versions_a");

    assert_text(pgt_rows("SELECT id, state FROM versions_b ORDER BY seq", NULL),
                "b1|applied b2|applied");
    assert_true(pgt_table_exists(NULL, "t_b2"));
    assert_false(pgt_table_exists(NULL, "versions_a"));
    assert_false(pgt_table_exists(NULL, "t_a1"));
}

static void test_version_tables_of_one_name_in_different_schemas_have_different_locks(
    void **state)
{
    (void)state;
    hold_lock("tenant_a", "retort_version");
    retort *a = pgt_new();
    assert_ok(a, retort_set_schema(a, "tenant_a"));
    add_revisions(a, "a");
    assert_ok(a, retort_set_lock_timeout(a, 1000));
    retort *b = pgt_new();
    assert_ok(b, retort_set_schema(b, "tenant_b"));
    add_revisions(b, "b");
    assert_ok(b, retort_set_lock_timeout(b, 1000));

    assert_ok(b, retort_migrate_to_head(b));
    migrate_expecting_elock(a);
    assert_contains(retort_errmsg(a), "tenant_a.retort_version");

    assert_text(pgt_rows("SELECT id FROM tenant_b.retort_version ORDER BY seq", NULL), "b1 b2");
    assert_false(pgt_table_exists("tenant_a", "retort_version"));
    assert_false(pgt_table_exists(NULL, "t_a1"));
}

/* The same pair, migrating at the same time: B runs while A's migrator is
 * inside a migration holding A's lock. */
typedef struct nested {
    retort *other;
    int other_rc;
    char other_msg[512];
} nested;

static int migrate_other_inside(retort_conn *conn, void *user)
{
    (void)conn;
    nested *n = user;
    n->other_rc = retort_migrate_to_head(n->other);
    snprintf(n->other_msg, sizeof n->other_msg, "%s", retort_errmsg(n->other));
    return 0;
}

static void test_two_version_tables_migrate_at_the_same_time(void **state)
{
    (void)state;
    retort *b = pgt_new();
    assert_ok(b, retort_set_version_table(b, "versions_b"));
    add_revisions(b, "b");
    assert_ok(b, retort_set_lock_timeout(b, 1000));
    nested n = {b, -1, ""};
    retort *a = pgt_new();
    assert_ok(a, retort_set_version_table(a, "versions_a"));
    assert_ok(a, retort_add(a, "a1", NULL, NULL, migrate_other_inside, NULL, &n));

    assert_ok(a, retort_migrate_to_head(a));
    if (n.other_rc != RETORT_OK)
        fail_msg("migrating versions_b while versions_a's migration ran returned %d: %s",
                 n.other_rc, n.other_msg);
    assert_text(pgt_rows("SELECT id FROM versions_a", NULL), "a1");
    assert_text(pgt_rows("SELECT id FROM versions_b ORDER BY seq", NULL), "b1 b2");
}

#define PG_TEST(f) cmocka_unit_test_setup_teardown(f, pgt_setup, pgt_teardown)

int main(void)
{
    if (pgt_skip_unless_server())
        return 0;
    const struct CMUnitTest tests[] = {
        PG_TEST(test_lock_wait_ends_in_elock_naming_the_version_table_within_timeout_plus_2s),
        PG_TEST(test_lock_timeout_zero_gives_up_at_once),
        PG_TEST(
            test_lock_timeout_changes_nothing_and_the_context_migrates_once_the_lock_is_free),
        PG_TEST(test_lock_is_released_after_a_run_while_the_context_stays_open),
        PG_TEST(test_lock_is_released_after_a_failed_migration_while_the_context_stays_open),
        PG_TEST(test_unset_schema_takes_the_lock_of_the_connections_current_schema),
        PG_TEST(test_version_tables_with_different_names_have_different_locks),
        PG_TEST(test_version_tables_of_one_name_in_different_schemas_have_different_locks),
        PG_TEST(test_two_version_tables_migrate_at_the_same_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
