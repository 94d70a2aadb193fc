/*
 * test_api.c — the public API around the migrations themselves: which call
 * reports registration and graph errors (and that the database is not
 * touched then), the messages, what a callback can do through its
 * retort_conn, logging, and the settings.
 */
#include "steps.h"

/* ------------------------------------------------------ graph errors */

static void test_unknown_parent_is_reported_by_the_first_operation_untouched_db(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_step(r, &s[0], "g1", NULL);
    add_step(r, &s[1], "g2", "g_missing"); /* accepted: checked later */
    assert_rc(r, retort_migrate_to_head(r), RETORT_EGRAPH);
    assert_contains(retort_errmsg(r), "g2");
    assert_contains(retort_errmsg(r), "g_missing");
    assert_int_equal(s[0].ups, 0);
    assert_no_table("retort_version");
    assert_no_table("t_g1");
}

static void test_cycle_is_reported_by_the_first_operation_untouched_db(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "c_root", NULL);
    add_step(r, &s[1], "c_x", "c_root c_y");
    add_step(r, &s[2], "c_y", "c_x");
    assert_rc(r, retort_upgrade(r, "heads"), RETORT_EGRAPH);
    assert_contains(retort_errmsg(r), "cycle");
    assert_contains(retort_errmsg(r), "c_x");
    assert_contains(retort_errmsg(r), "c_y");
    assert_int_equal(s[0].ups, 0);
    assert_no_table("retort_version");
    assert_no_table("t_c_root");
}

static void test_graph_errors_are_reported_by_every_operation(void **state)
{
    (void)state;
    step s[1];
    const char *out = NULL;
    retort *r = fixture_new();
    add_step(r, &s[0], "lonely", "nobody");
    assert_rc(r, retort_downgrade(r, "base"), RETORT_EGRAPH);
    assert_rc(r, retort_stamp(r, "head"), RETORT_EGRAPH);
    assert_rc(r, retort_check(r), RETORT_EGRAPH);
    assert_rc(r, retort_heads(r, &out), RETORT_EGRAPH);
    assert_contains(retort_errmsg(r), "nobody");
    assert_rc(r, retort_plan(r, 1, "head", &out), RETORT_EGRAPH);
    assert_no_table("retort_version");
}

static void test_graph_error_is_fixed_by_registering_the_parent(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_step(r, &s[1], "child", "parent");
    assert_rc(r, retort_migrate_to_head(r), RETORT_EGRAPH);
    add_step(r, &s[0], "parent", NULL);
    assert_ok(r, retort_migrate_to_head(r));
    assert_trace("+parent +child ");
    assert_version_ids("child parent");
}

/* ------------------------------------------------ registration errors */

static void test_registration_errors_are_reported_by_retort_add(void **state)
{
    (void)state;
    step s[2];
    int count = -1;
    char long_id[130];
    memset(long_id, 'k', 129);
    long_id[129] = '\0';
    retort *r = fixture_new();
    add_step(r, &s[0], "valid", NULL);
    step_init(&s[1], "never"); /* the would-be revisions' behaviour */
    struct {
        const char *id, *parents;
        int code;
    } bad[] = {
        {"", NULL, RETORT_EINVAL},          {NULL, NULL, RETORT_EINVAL},
        {long_id, NULL, RETORT_EINVAL},     {"has space", NULL, RETORT_EINVAL},
        {"semi;colon", NULL, RETORT_EINVAL}, {"base", NULL, RETORT_EINVAL},
        {"head", NULL, RETORT_EINVAL},      {"heads", NULL, RETORT_EINVAL},
        {"valid", NULL, RETORT_EEXIST},     {"me", "me", RETORT_EINVAL},
        {"twice", "valid valid", RETORT_EINVAL}, {"badpar", "ok no/pe", RETORT_EINVAL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = retort_add(r, bad[i].id, bad[i].parents, NULL, step_up, step_down, &s[1]);
        if (rc != bad[i].code)
            fail_msg("retort_add(\"%s\", \"%s\") returned %d, expected %d: %s",
                     bad[i].id ? bad[i].id : "(NULL)", bad[i].parents ? bad[i].parents : "",
                     rc, bad[i].code, retort_errmsg(r));
        assert_true(strlen(retort_errmsg(r)) > 0);
        if (bad[i].id && *bad[i].id && strlen(bad[i].id) < 100)
            assert_contains(retort_errmsg(r), bad[i].id);
    }
    assert_ok(r, retort_revision_count(r, &count));
    assert_int_equal(count, 1);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("valid");
    assert_int_equal(s[1].ups, 0);
}

static void test_retort_add_without_up_callback_is_einval(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_rc(r, retort_add(r, "no_up", NULL, NULL, NULL, step_down, NULL), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "no_up");
    assert_rc(r, retort_add_sql(r, "no_sql", NULL, NULL, NULL, "DROP TABLE x"), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "no_sql");
    int count = -1;
    assert_ok(r, retort_revision_count(r, &count));
    assert_int_equal(count, 0);
}

static void test_errmsg_is_never_null(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    assert_non_null(retort_errmsg(NULL));
    assert_non_null(retort_errmsg(r));
    assert_string_equal(retort_errmsg(r), "");
    add_step(r, &s[0], "e1", NULL);
    assert_ok(r, retort_migrate_to_head(r));
    assert_non_null(retort_errmsg(r));
    assert_string_equal(retort_errmsg(r), "");
    assert_rc(r, retort_upgrade(r, "nope"), RETORT_ETARGET);
    assert_non_null(retort_errmsg(r));
    assert_true(strlen(retort_errmsg(r)) > 0);
    assert_int_equal(retort_errcode(r), RETORT_ETARGET);
}

static void test_heads_and_revision_info_describe_the_registry(void **state)
{
    (void)state;
    step s[3];
    const char *heads = NULL, *id = NULL, *parents = NULL, *message = NULL;
    int flags = 0, count = 0;
    retort *r = fixture_new();
    add_step(r, &s[0], "root", NULL);
    add_irreversible_step(r, &s[1], "zz", "root");
    add_step(r, &s[2], "aa", "root");
    assert_ok(r, retort_heads(r, &heads));
    assert_string_equal(heads, "aa zz");
    assert_ok(r, retort_revision_count(r, &count));
    assert_int_equal(count, 3);
    assert_ok(r, retort_revision_info(r, 1, &id, &parents, &message, &flags));
    assert_string_equal(id, "zz");
    assert_string_equal(parents, "root");
    assert_string_equal(message, "one way");
    assert_true(flags & RETORT_REV_IRREVERSIBLE);
    assert_false(flags & RETORT_REV_APPLIED);
    assert_rc(r, retort_revision_info(r, 3, &id, NULL, NULL, NULL), RETORT_EINVAL);
    assert_rc(r, retort_revision_info(r, -1, &id, NULL, NULL, NULL), RETORT_EINVAL);
    assert_no_table("retort_version"); /* none of this touched the database */
}

/* ---------------------------------------------------- inside a callback */

typedef struct probe {
    retort *r;
    int misuse_rc;
    int native_non_null;
    int offline;
    char backend[32];
    int exec_rc;
} probe;

static int probing_up(retort_conn *conn, void *user)
{
    probe *p = user;
    p->native_non_null = retort_native(conn) != NULL;
    p->offline = retort_conn_is_offline(conn);
    snprintf(p->backend, sizeof p->backend, "%s", retort_conn_backend(conn));
    p->misuse_rc = retort_add(p->r, "sneaky", NULL, NULL, step_up, NULL, NULL);
    p->exec_rc = retort_exec(conn, "CREATE TABLE t_probe (x INTEGER)");
    return 0;
}

static void test_callback_works_through_a_live_connection(void **state)
{
    (void)state;
    probe p = {0};
    retort *r = fixture_new();
    p.r = r;
    assert_ok(r, retort_add(r, "probe", NULL, NULL, probing_up, NULL, &p));
    assert_ok(r, retort_migrate_to_head(r));
    assert_true(p.native_non_null);
    assert_int_equal(p.offline, 0);
    assert_string_equal(p.backend, fixture_backend());
    assert_int_equal(p.exec_rc, RETORT_OK);
    assert_table("t_probe");
}

static void test_registering_from_inside_a_callback_is_misuse(void **state)
{
    (void)state;
    probe p = {0};
    retort *r = fixture_new();
    p.r = r;
    assert_ok(r, retort_add(r, "probe", NULL, NULL, probing_up, NULL, &p));
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(p.misuse_rc, RETORT_EMISUSE);
    int count = 0;
    assert_ok(r, retort_revision_count(r, &count));
    assert_int_equal(count, 1);
    assert_version_ids("probe");
}

static const char *const tricky_value = "it's'); DROP TABLE kv; --";

static int params_up(retort_conn *conn, void *user)
{
    (void)user;
    int rc = retort_exec(conn, "CREATE TABLE kv (k VARCHAR(100), v VARCHAR(100))");
    if (rc)
        return rc;
    const char *p1[2] = {tricky_value, NULL};
    if ((rc = retort_exec_params(conn, "INSERT INTO kv (k, v) VALUES ($1, $2)", 2, p1)))
        return rc;
    const char *p2[2] = {"second", "$1"};
    if ((rc = retort_exec_params(conn, "INSERT INTO kv (k, v) VALUES ($1, $2)", 2, p2)))
        return rc;
    const char *p3[1] = {"second"};
    return retort_exec_params(conn, "UPDATE kv SET v = v || '!' WHERE k = $1", 1, p3);
}

static void test_exec_params_binds_values_without_interpolating_them(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add(r, "params", NULL, NULL, params_up, NULL, NULL));
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("kv");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM kv"), 2);
    char *v = fixture_scalar("SELECT k FROM kv WHERE v IS NULL");
    assert_non_null(v);
    assert_string_equal(v, tricky_value);
    free(v);
    v = fixture_scalar("SELECT v FROM kv WHERE k = 'second'");
    assert_string_equal(v, "$1!");
    free(v);
}

static int bad_params_up(retort_conn *conn, void *user)
{
    (void)user;
    const char *p[1] = {"x"};
    return retort_exec_params(conn, "INSERT INTO no_such_params_table VALUES ($1)", 1, p);
}

static void test_exec_params_failure_carries_the_database_text(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add(r, "badparams", NULL, NULL, bad_params_up, NULL, NULL));
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "badparams");
    assert_contains(retort_errmsg(r), "no_such_params_table");
    assert_version_ids("");
}

/* ------------------------------------------------------------ logging */

static void test_each_applied_revision_is_logged_at_info_with_its_duration(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_step(r, &s[0], "alpha", NULL);
    add_step(r, &s[1], "beta", "alpha");
    fixture_capture_log(r, RETORT_LOG_INFO);
    assert_ok(r, retort_migrate_to_head(r));
    const char *log = fixture_log_text();
    const char *ids[2] = {"alpha", "beta"};
    for (int i = 0; i < 2; i++) {
        /* find an info line naming the revision and carrying a number */
        int found = 0;
        for (const char *line = log; *line && !found;) {
            const char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            char buf[1024];
            snprintf(buf, sizeof buf, "%.*s", (int)(len < 1023 ? len : 1023), line);
            int is_info = strncmp(buf, "3\t", 2) == 0;
            if (is_info && strstr(buf, ids[i]) && strpbrk(buf + 2, "0123456789") &&
                strstr(buf, "ms"))
                found = 1;
            line += len + (end ? 1 : 0);
        }
        if (!found)
            fail_msg("no info line naming %s with a duration in ms; log:\n%s", ids[i], log);
    }
}

static void test_log_level_filters_messages(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    add_step(r, &s[0], "quiet", NULL);
    fixture_capture_log(r, RETORT_LOG_ERROR);
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(fixture_log_count(RETORT_LOG_INFO), 0);
    assert_int_equal(fixture_log_count(RETORT_LOG_DEBUG), 0);
    assert_int_equal(fixture_log_count(RETORT_LOG_WARN), 0);
}

static void test_a_failing_operation_logs_its_message_once_at_error_level(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    add_step(r, &s[0], "fine", NULL);
    add_step(r, &s[1], "broken", "fine");
    s[1].fail_up = 1;
    s[1].message = "the broken step says no";
    /* log_level=error: the failure is what such an application wants */
    fixture_capture_log(r, RETORT_LOG_ERROR);
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_int_equal(fixture_log_count(RETORT_LOG_ERROR), 1);
    assert_contains(fixture_log_text(), "1\t");
    assert_contains(fixture_log_text(), retort_errmsg(r));
    assert_contains(fixture_log_text(), "the broken step says no");
    assert_version_ids("fine");
    /* a failing setting is logged too, and a success logs nothing more */
    assert_rc(r, retort_set(r, "no_such_setting", "1"), RETORT_EINVAL);
    assert_int_equal(fixture_log_count(RETORT_LOG_ERROR), 2);
    assert_contains(fixture_log_text(), "no_such_setting");
    assert_ok(r, retort_set(r, "lock_timeout", "1000"));
    assert_int_equal(fixture_log_count(RETORT_LOG_ERROR), 2);
}

/* ------------------------------------------------------------ settings */

static void test_version_table_name_setting_is_used(void **state)
{
    (void)state;
    step s[2];
    retort *r = fixture_new();
    assert_ok(r, retort_set_version_table(r, "my_versions"));
    add_step(r, &s[0], "v1", NULL);
    add_step(r, &s[1], "v2", "v1");
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("my_versions");
    assert_table("my_versions_log");
    assert_no_table("retort_version");
    char *ids = fixture_version_ids_in("my_versions");
    assert_string_equal(ids, "v1 v2");
    free(ids);

    /* a context with the default name sees an empty history */
    retort *other = fixture_new();
    assert_current(other, "");
    /* and one with the same name sees it */
    retort *same = fixture_new();
    assert_ok(same, retort_set(same, "version_table", "my_versions"));
    assert_current(same, "v2");
}

static void test_version_table_name_cannot_change_after_the_first_operation(void **state)
{
    (void)state;
    step s[1];
    retort *r = fixture_new();
    add_step(r, &s[0], "v1", NULL);
    assert_ok(r, retort_migrate_to_head(r));
    assert_rc(r, retort_set_version_table(r, "too_late"), RETORT_EMISUSE);
    assert_current(r, "v1");
    assert_no_table("too_late");
}

static void test_invalid_settings_are_rejected_naming_them(void **state)
{
    (void)state;
    char long_name[80];
    memset(long_name, 'n', 64);
    long_name[64] = '\0';
    retort *r = fixture_new();
    assert_rc(r, retort_set_version_table(r, "9starts_with_digit"), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "9starts_with_digit");
    assert_rc(r, retort_set_version_table(r, "bad-name"), RETORT_EINVAL);
    assert_rc(r, retort_set_version_table(r, "x\"; DROP TABLE y; --"), RETORT_EINVAL);
    assert_rc(r, retort_set_version_table(r, long_name), RETORT_EINVAL);
    assert_rc(r, retort_set_version_table(r, ""), RETORT_EINVAL);
    assert_rc(r, retort_set_lock_timeout(r, -1), RETORT_EINVAL);
    assert_rc(r, retort_set_lock_timeout(r, 86400001), RETORT_EINVAL);
    assert_ok(r, retort_set_lock_timeout(r, 86400000));
    assert_rc(r, retort_set_transaction_mode(r, 7), RETORT_EINVAL);
    assert_rc(r, retort_set_checksum_policy(r, -1), RETORT_EINVAL);
    assert_rc(r, retort_set_log_level(r, 99), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "no_such_setting", "1"), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "no_such_setting");
    assert_rc(r, retort_set(r, "transaction_mode", "sometimes"), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "sometimes");
    assert_contains(retort_errmsg(r), "transaction_mode");
    assert_rc(r, retort_set(r, "lock_timeout", "soon"), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "lock_timeout", "12abc"), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "tolerate_unknown", "maybe"), RETORT_EINVAL);
    /* nothing of that changed the version table name */
    step s[1];
    add_step(r, &s[0], "after", NULL);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("after");
}

static void test_audit_log_records_every_attempt(void **state)
{
    (void)state;
    step s[3];
    retort *r = fixture_new();
    add_step(r, &s[0], "a1", NULL);
    add_step(r, &s[1], "a2", "a1");
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("retort_version_log");
    long after_ok = fixture_count("SELECT COUNT(*) FROM retort_version_log");
    assert_true(after_ok >= 2);
    add_step(r, &s[2], "a3", "a2");
    s[2].fail_up = 1;
    assert_rc(r, retort_migrate_to_head(r), RETORT_EMIGRATION);
    /* the failed attempt is logged even though its transaction rolled back */
    long after_fail = fixture_count("SELECT COUNT(*) FROM retort_version_log");
    assert_true(after_fail > after_ok);
    assert_ok(r, retort_downgrade(r, "base"));
    assert_true(fixture_count("SELECT COUNT(*) FROM retort_version_log") >= after_fail + 2);
    assert_version_ids("");

    /* Every entry's times: ISO 8601 UTC to the millisecond, from this
     * minute, finished no earlier than started. */
    long total = fixture_count("SELECT COUNT(*) FROM retort_version_log");
    const char *well_formed =
        fixture_is_postgres()
            ? "SELECT COUNT(*) FROM retort_version_log WHERE finished_at >= started_at "
              "AND started_at > now() - interval '1 minute' AND started_at <= now()"
            : "SELECT COUNT(*) FROM retort_version_log WHERE finished_at >= started_at "
              "AND started_at GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:"
              "[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z' AND finished_at GLOB '[0-9][0-9][0-9]"
              "[0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z' "
              "AND started_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 minute')";
    assert_int_equal(fixture_count(well_formed), total);
}

/* ------------------------------------- retort_free from inside a callback */

/* A context the fixture does not own: the test frees it (from a callback). */
static retort *unowned_context(void)
{
    retort *r = NULL;
    assert_int_equal(retort_new(&r, fixture_url()), RETORT_OK);
    if (fixture_schema() && fixture_schema()[0])
        assert_int_equal(retort_set_schema(r, fixture_schema()), RETORT_OK);
    return r;
}

static int create_then_free_context(retort_conn *conn, void *user)
{
    if (retort_exec(conn, "CREATE TABLE t_freed (x INTEGER)") != RETORT_OK)
        return 1;
    retort_free(user);
    /* Still usable until the call that ran this callback returns. */
    return retort_exec(conn, "CREATE TABLE t_freed2 (x INTEGER)") != RETORT_OK;
}

static void test_free_from_a_migration_callback_stops_the_run_and_frees_on_return(void **state)
{
    (void)state;
    step s[1];
    retort *r = unowned_context();
    assert_int_equal(retort_add(r, "f1", NULL, NULL, create_then_free_context, NULL, r),
                     RETORT_OK);
    add_step(r, &s[0], "f2", "f1");
    /* r is gone when this returns: only the code may be looked at. */
    assert_int_equal(retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_no_table("t_freed"); /* the step was rolled back */
    assert_no_table("t_freed2");
    assert_int_equal(s[0].ups, 0);
    char *ids = fixture_version_ids();
    assert_string_equal(ids ? ids : "", "");
    free(ids);
}

static int log_frees_left = 1;

static void free_context_on_log(int level, const char *message, void *user)
{
    (void)level;
    (void)message;
    if (log_frees_left) {
        log_frees_left = 0;
        retort_free(user);
    }
}

static void test_free_from_the_log_callback_is_deferred_until_the_call_returns(void **state)
{
    (void)state;
    step s[2];
    retort *r = unowned_context();
    log_frees_left = 1;
    assert_int_equal(retort_set_log(r, free_context_on_log, r), RETORT_OK);
    assert_int_equal(retort_set_log_level(r, RETORT_LOG_DEBUG), RETORT_OK);
    add_step(r, &s[0], "l1", NULL);
    add_step(r, &s[1], "l2", "l1");
    /* The first message comes before the first step, which then does not
     * run: no step runs after the application closed the context. */
    assert_int_equal(retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_int_equal(log_frees_left, 0);
    assert_int_equal(s[0].ups, 0);
    assert_no_table("t_l1");
    char *ids = fixture_version_ids();
    assert_string_equal(ids ? ids : "", "");
    free(ids);
}

static void test_message_that_is_not_utf8_is_refused_at_registration_naming_it(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_rc(r, retort_add_sql(r, "u1", NULL, "caf\xe9 au lait", "CREATE TABLE t_u1 (x INTEGER)",
                                NULL),
              RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "'u1'");
    assert_contains(retort_errmsg(r), "UTF-8");
    assert_contains(retort_errmsg(r), "caf");
    assert_null(strstr(retort_errmsg(r), "parameter $"));
    assert_rc(r, retort_add(r, "u2", NULL, "\xc3\x28", step_up, NULL, NULL), RETORT_EINVAL);
    /* Valid UTF-8 is stored as given. */
    assert_ok(r, retort_add_sql(r, "u3", NULL, "caf\xc3\xa9 \xe2\x9c\x93",
                                "CREATE TABLE t_u3 (x INTEGER)", NULL));
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("u3");
    assert_no_table("t_u1");
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        IT_TEST(test_unknown_parent_is_reported_by_the_first_operation_untouched_db),
        IT_TEST(test_cycle_is_reported_by_the_first_operation_untouched_db),
        IT_TEST(test_graph_errors_are_reported_by_every_operation),
        IT_TEST(test_graph_error_is_fixed_by_registering_the_parent),
        IT_TEST(test_registration_errors_are_reported_by_retort_add),
        IT_TEST(test_retort_add_without_up_callback_is_einval),
        IT_TEST(test_errmsg_is_never_null),
        IT_TEST(test_heads_and_revision_info_describe_the_registry),
        IT_TEST(test_callback_works_through_a_live_connection),
        IT_TEST(test_registering_from_inside_a_callback_is_misuse),
        IT_TEST(test_exec_params_binds_values_without_interpolating_them),
        IT_TEST(test_exec_params_failure_carries_the_database_text),
        IT_TEST(test_each_applied_revision_is_logged_at_info_with_its_duration),
        IT_TEST(test_log_level_filters_messages),
        IT_TEST(test_a_failing_operation_logs_its_message_once_at_error_level),
        IT_TEST(test_version_table_name_setting_is_used),
        IT_TEST(test_version_table_name_cannot_change_after_the_first_operation),
        IT_TEST(test_invalid_settings_are_rejected_naming_them),
        IT_TEST(test_audit_log_records_every_attempt),
        IT_TEST(test_free_from_a_migration_callback_stops_the_run_and_frees_on_return),
        IT_TEST(test_message_that_is_not_utf8_is_refused_at_registration_naming_it),
        IT_TEST(test_free_from_the_log_callback_is_deferred_until_the_call_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
