/*
 * test_offline.c — offline mode: the plan rendered as a SQL script instead of
 * executed.  The strongest check is to hand the script to the database
 * ourselves (sqlite3 / libpq) and then see that the database is exactly where
 * an online upgrade would have left it, and that retort agrees.
 */
#include "steps.h"

static const char *const tricky = "it's \\ \"quoted\"";

static int kv_up(retort_conn *conn, void *user)
{
    (void)user;
    int rc = retort_exec(conn, "CREATE TABLE kv (k VARCHAR(64), v VARCHAR(64))");
    if (rc)
        return rc;
    const char *params[2] = {tricky, NULL};
    return retort_exec_params(conn, "INSERT INTO kv (k, v) VALUES ($1, $2)", 2, params);
}

static int kv_down(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "DROP TABLE kv");
}

/* o1 (callback), o2 (SQL), o3 (callback with parameters). */
static void register_three(retort *r, step *s)
{
    add_step(r, &s[0], "o1", NULL);
    assert_ok(r, retort_add_sql(r, "o2", "o1", "sql one", "CREATE TABLE t_o2 (x INTEGER);",
                                "DROP TABLE t_o2;"));
    assert_ok(r, retort_add(r, "o3", "o2", NULL, kv_up, kv_down, NULL));
}

static char *copy_script(const char *script)
{
    assert_non_null(script);
    char *copy = strdup(script);
    assert_non_null(copy);
    return copy;
}

static int count_occurrences(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_offline_script_run_by_the_database_reaches_head(void **state)
{
    (void)state;
    step s[1];
    const char *script = NULL;
    retort *r = fixture_new();
    register_three(r, s);
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    char *sql = copy_script(script);
    /* rendering touched nothing */
    assert_no_table("retort_version");
    assert_no_table("t_o1");
    assert_contains(sql, "CREATE TABLE t_o1");
    assert_contains(sql, "CREATE TABLE t_o2");
    assert_contains(sql, "o3");

    fixture_exec(sql);
    free(sql);
    assert_table("t_o1");
    assert_table("t_o2");
    assert_version_ids("o1 o2 o3");
    char *v = fixture_scalar("SELECT k FROM kv WHERE v IS NULL");
    assert_non_null(v);
    assert_string_equal(v, tricky);
    free(v);

    /* retort reads the state the script recorded */
    retort *online = fixture_new();
    step t[1];
    register_three(online, t);
    assert_current(online, "o3");
    assert_ok(online, retort_migrate_to_head(online));
    assert_int_equal(t[0].ups, 0);
    assert_ok(online, retort_check(online));
}

static char *snapshot_of(retort *r)
{
    const char *text = NULL;
    assert_ok(r, retort_schema_snapshot(r, &text));
    return copy_script(text);
}

static char *applied_of(retort *r)
{
    const char *ids = NULL;
    assert_ok(r, retort_applied(r, &ids));
    return copy_script(ids);
}

static void test_offline_script_yields_the_schema_and_rows_of_an_online_run(void **state)
{
    (void)state;
    step s[1], t[1];
    const char *script = NULL;
    retort *offline = fixture_new();
    register_three(offline, s);
    assert_ok(offline, retort_upgrade_sql(offline, "head", &script));
    char *sql = copy_script(script);
    fixture_exec(sql);
    free(sql);

    /* the same range online, on a separate fresh target of the same backend */
    retort *online = NULL;
    int rc = retort_new_fresh(&online, fixture_url());
    if (rc != RETORT_OK)
        fail_msg("retort_new_fresh: %s", retort_errmsg(online));
    register_three(online, t);
    assert_ok(online, retort_migrate_to_head(online));

    char *want = snapshot_of(online), *got = snapshot_of(offline);
    assert_true(strlen(want) > 0);
    assert_string_equal(got, want);
    char *want_ids = applied_of(online), *got_ids = applied_of(offline);
    assert_string_equal(got_ids, want_ids);
    free(want);
    free(got);
    free(want_ids);
    free(got_ids);
    retort_free(online);
}

static void test_offline_script_from_a_revision_renders_only_what_follows(void **state)
{
    (void)state;
    step s[1];
    const char *script = NULL;
    retort *r = fixture_new();
    register_three(r, s);
    assert_ok(r, retort_upgrade(r, "o1"));
    assert_ok(r, retort_upgrade_sql(r, "o1:head", &script));
    char *sql = copy_script(script);
    assert_not_contains(sql, "CREATE TABLE t_o1");
    assert_contains(sql, "CREATE TABLE t_o2");
    fixture_exec(sql);
    free(sql);
    assert_version_ids("o1 o2 o3");
    assert_table("kv");
}

static void test_offline_downgrade_script_reverts_the_range(void **state)
{
    (void)state;
    step s[1];
    const char *script = NULL;
    retort *r = fixture_new();
    register_three(r, s);
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_downgrade_sql(r, "o3:o1", &script));
    char *sql = copy_script(script);
    assert_version_ids("o1 o2 o3"); /* rendering changed nothing */
    assert_table("kv");
    fixture_exec(sql);
    free(sql);
    assert_no_table("kv");
    assert_no_table("t_o2");
    assert_table("t_o1");
    assert_version_ids("o1");
    assert_int_equal(s[0].downs, 0);
}

static void test_offline_downgrade_needs_a_starting_revision(void **state)
{
    (void)state;
    step s[1];
    const char *script = NULL;
    retort *r = fixture_new();
    register_three(r, s);
    assert_rc(r, retort_downgrade_sql(r, "base", &script), RETORT_ETARGET);
    assert_contains(retort_errmsg(r), "base");
}

typedef struct seen {
    int native_null, offline;
    char backend[32];
} seen;

static int observing_up(retort_conn *conn, void *user)
{
    seen *o = user;
    o->native_null = retort_native(conn) == NULL;
    o->offline = retort_conn_is_offline(conn);
    snprintf(o->backend, sizeof o->backend, "%s", retort_conn_backend(conn));
    return retort_exec(conn, "CREATE TABLE t_obs (x INTEGER)");
}

static void test_offline_callbacks_get_an_offline_connection(void **state)
{
    (void)state;
    seen o = {0};
    const char *script = NULL;
    retort *r = fixture_new();
    assert_ok(r, retort_add(r, "obs", NULL, NULL, observing_up, NULL, &o));
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    assert_true(o.native_null);
    assert_true(o.offline);
    assert_string_equal(o.backend, fixture_backend());
    assert_contains(script, "t_obs");
}

static int needs_native_up(retort_conn *conn, void *user)
{
    (void)user;
    if (!retort_native(conn))
        return 1; /* cannot work without the live handle */
    return 0;
}

static void test_offline_callback_needing_the_live_connection_is_eoffline_naming_it(
    void **state)
{
    (void)state;
    step s[1];
    const char *script = NULL;
    retort *r = fixture_new();
    add_step(r, &s[0], "fine", NULL);
    assert_ok(r, retort_add(r, "wants_native", "fine", NULL, needs_native_up, NULL, NULL));
    assert_rc(r, retort_upgrade_sql(r, "head", &script), RETORT_EOFFLINE);
    assert_contains(retort_errmsg(r), "wants_native");
    assert_no_table("retort_version");
}

static void test_offline_rendering_never_connects(void **state)
{
    (void)state;
    step s[1];
    const char *script = NULL;
    char *path = fixture_path("missing_dir/never.db");
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s", path);
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_OK);
    add_step(r, &s[0], "x1", NULL);
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    assert_contains(script, "t_x1");
    free(path);
}

static void test_offline_transaction_brackets_follow_the_transaction_mode(void **state)
{
    (void)state;
    static const char *const ids[] = {"b1", "b2", "b3"};
    step s[3];
    const char *script = NULL;
    retort *r = fixture_new();
    add_chain(r, s, ids, 3);
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    int per_migration = count_occurrences(script, "COMMIT");
    assert_ok(r, retort_set_transaction_mode(r, RETORT_TX_WHOLE_RUN));
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    int whole_run = count_occurrences(script, "COMMIT");
    if (per_migration < 3 || whole_run != 1)
        fail_msg("COMMIT appears %d times per migration (want >= 3) and %d times whole-run "
                 "(want 1)",
                 per_migration, whole_run);
    /* and the whole-run script works */
    char *sql = copy_script(script);
    fixture_exec(sql);
    free(sql);
    assert_version_ids("b1 b2 b3");
}

/* A last statement without ';' followed by a comment line, as a real
 * project's file had it: the ';' the script adds must end the statement,
 * not land inside the comment. */
static void test_offline_script_terminates_a_statement_followed_by_a_comment(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "c1", NULL, NULL,
                                "CREATE TABLE t_c1 (x INTEGER)\n-- a trailing comment", NULL));
    assert_ok(r, retort_add_sql(r, "c2", "c1", NULL,
                                "CREATE TABLE t_c2 (x INTEGER); /* done */\n-- bye\n", NULL));
    assert_ok(r, retort_add_sql(r, "c3", "c2", NULL, "-- only a comment", NULL));
    const char *script = NULL;
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    char *copy = strdup(script);
    assert_non_null(copy);
    fixture_exec(copy);
    free(copy);
    assert_table("t_c1");
    assert_table("t_c2");
    assert_version_ids("c1 c2 c3");
}

/* A script is printed and kept in logs: one that would carry the URL's
 * password (a migration writing it into its own SQL) is refused, naming the
 * revision, and the password appears in no message. */
static void test_offline_script_holding_the_urls_password_is_refused_naming_the_revision(
    void **state)
{
    (void)state;
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "postgresql://app:Hunter2Secret@127.0.0.1:1/db"), RETORT_OK);
    assert_ok(r, retort_add_sql(r, "a1", NULL, "plain", "CREATE TABLE t (x INTEGER)",
                                "DROP TABLE t"));
    assert_ok(r, retort_add_sql(r, "a2", "a1", "role",
                                "CREATE ROLE reader PASSWORD 'Hunter2Secret'", "DROP ROLE reader"));
    const char *script = NULL;
    assert_ok(r, retort_upgrade_sql(r, "a1", &script));
    assert_rc(r, retort_upgrade_sql(r, "head", &script), RETORT_EOFFLINE);
    assert_contains(retort_errmsg(r), "'a2'");
    assert_null(strstr(retort_errmsg(r), "Hunter2Secret"));
    /* Its downgrade holds no password: rendered as usual. */
    assert_ok(r, retort_downgrade_sql(r, "a2:base", &script));
    assert_contains(script, "DROP ROLE reader");
    retort_free(r);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_offline_script_run_by_the_database_reaches_head),
        IT_TEST(test_offline_script_yields_the_schema_and_rows_of_an_online_run),
        IT_TEST(test_offline_script_from_a_revision_renders_only_what_follows),
        IT_TEST(test_offline_downgrade_script_reverts_the_range),
        IT_TEST(test_offline_downgrade_needs_a_starting_revision),
        IT_TEST(test_offline_callbacks_get_an_offline_connection),
        IT_TEST(test_offline_callback_needing_the_live_connection_is_eoffline_naming_it),
        IT_TEST(test_offline_rendering_never_connects),
        IT_TEST(test_offline_script_terminates_a_statement_followed_by_a_comment),
        IT_TEST(test_offline_transaction_brackets_follow_the_transaction_mode),
        IT_TEST(test_offline_script_holding_the_urls_password_is_refused_naming_the_revision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
