/*
 * test_hostile_api.c — hostile input through the public API: ids, parents,
 * targets, URLs and setting values with quotes, semicolons, control bytes,
 * binary junk and overlong values; huge and deep graphs; messages that try
 * to break out of SQL literals and comments.  Each is refused with a clear
 * error (or stored verbatim, for free text), none crashes, none reaches the
 * database as SQL.  Both backends; the PostgreSQL-only case (a look-alike
 * version table earlier in search_path; a database name that looks like
 * connection options is tests/postgres/test_pg_connect.c's) skips on SQLite, the SQLite-only ones (file
 * permissions) on PostgreSQL.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static int noop(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

/* A value of n copies of c (malloc'd). */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* NUL-free pseudo-random bytes, the same every run (malloc'd). */
static char *junk(size_t n, unsigned seed)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        s[i] = (char)(1 + (seed >> 16) % 255);
    }
    s[n] = '\0';
    return s;
}

static const char *const hostile_names[] = {
    "a'b", "a\"b", "a;b", "x; DROP TABLE victim; --", "a b", "a\tb", "a\nb", "a\\b", "a/b",
    "../etc", "%s%n%x", "\x01\x02", "\xff\xfe\xfd", "caf\xc3\xa9", "a,b", "$1", "a--b ", " ",
    "", NULL};

static void test_hostile_ids_are_refused_and_register_nothing(void **state)
{
    (void)state;
    retort *r = fixture_new();
    char *longid = repeat('a', 129);
    char *binary = junk(300, 7);
    for (int i = 0; hostile_names[i]; i++) {
        int rc = retort_add_sql(r, hostile_names[i], NULL, NULL, "CREATE TABLE t (x INTEGER)",
                                NULL);
        if (rc != RETORT_EINVAL)
            fail_msg("id \"%s\" gave %d, expected RETORT_EINVAL", hostile_names[i], rc);
        assert_contains(retort_errmsg(r), "id");
        assert_int_equal(retort_add(r, hostile_names[i], NULL, NULL, noop, NULL, NULL),
                         RETORT_EINVAL);
    }
    static const char *const reserved[] = {"base", "head", "heads"};
    for (int i = 0; i < 3; i++)
        assert_rc(r, retort_add_sql(r, reserved[i], NULL, NULL, "SELECT 1", NULL),
                  RETORT_EINVAL);
    assert_rc(r, retort_add_sql(r, longid, NULL, NULL, "SELECT 1", NULL), RETORT_EINVAL);
    assert_rc(r, retort_add_sql(r, binary, NULL, NULL, "SELECT 1", NULL), RETORT_EINVAL);
    assert_rc(r, retort_add_sql(r, NULL, NULL, NULL, "SELECT 1", NULL), RETORT_EINVAL);
    assert_rc(r, retort_add_sql(r, "ok_id", NULL, NULL, NULL, NULL), RETORT_EINVAL);
    int n = -1;
    assert_ok(r, retort_revision_count(r, &n));
    assert_int_equal(n, 0);
    longid[128] = '\0'; /* 128 characters is the limit, and allowed */
    assert_ok(r, retort_add_sql(r, longid, NULL, NULL, "CREATE TABLE t_long (x INTEGER)", NULL));
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("t_long");
    free(longid);
    free(binary);
}

static void test_hostile_parents_lists_are_refused_and_register_nothing(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "root", NULL, NULL, "CREATE TABLE t_root (x INTEGER)", NULL));
    static const char *const parents[] = {
        "root'", "root;", "root; DROP TABLE t_root", "root\"", "ro\x01ot", "root root",
        "self", "root\n", "(root)", NULL};
    for (int i = 0; parents[i]; i++) {
        int rc = retort_add_sql(r, "self", parents[i], NULL, "SELECT 1", NULL);
        if (rc != RETORT_EINVAL)
            fail_msg("parents \"%s\" gave %d, expected RETORT_EINVAL", parents[i], rc);
        assert_true(*retort_errmsg(r));
    }
    char *binary = junk(5000, 11);
    assert_rc(r, retort_add_sql(r, "self", binary, NULL, "SELECT 1", NULL), RETORT_EINVAL);
    free(binary);
    int n = -1;
    assert_ok(r, retort_revision_count(r, &n));
    assert_int_equal(n, 1);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("root");
}

static void test_hostile_targets_are_refused_and_change_nothing(void **state)
{
    (void)state;
    fixture_exec("CREATE TABLE victim (x INTEGER)");
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", "DROP TABLE t_a"));
    assert_ok(r, retort_add_sql(r, "b", "a", NULL, "CREATE TABLE t_b (x INTEGER)", "DROP TABLE t_b"));
    assert_ok(r, retort_upgrade(r, "a"));
    char *longt = repeat('a', 100000);
    char *binary = junk(1000, 3);
    const char *targets[] = {
        "'; DROP TABLE victim; --", "a; DROP TABLE victim", "a'", "\"a\"", "+", "-", "+-1",
        "-+1", "+1x", "+ 1", "+99999999999999999999999999", "-99999999999999999999999999",
        "+2147483648", "head;", "heads;", "\x01", "\xff", "a\nb", "%s%s%s%n", "",
        longt, binary, NULL};
    for (int i = 0; targets[i]; i++) {
        int up = retort_upgrade(r, targets[i]);
        int down = retort_downgrade(r, targets[i]);
        if (up == RETORT_OK || down == RETORT_OK)
            fail_msg("target #%d (\"%.40s\") was accepted (upgrade %d, downgrade %d)", i,
                     targets[i], up, down);
        assert_true(*retort_errmsg(r));
        const char *script = NULL;
        assert_int_not_equal(retort_upgrade_sql(r, targets[i], &script), RETORT_OK);
    }
    assert_rc(r, retort_upgrade(r, NULL), RETORT_ETARGET);
    assert_int_not_equal(retort_stamp(r, "'; DROP TABLE victim; --"), RETORT_OK);
    assert_version_ids("a");
    assert_table("victim");
    assert_table("t_a");
    assert_no_table("t_b");
    free(longt);
    free(binary);
}

static void test_hostile_setting_values_are_refused_naming_the_setting(void **state)
{
    (void)state;
    retort *r = NULL;
    int rc = retort_new(&r, fixture_url());
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_OK);
    char *longname = repeat('t', 64);
    char *binary = junk(200, 5);
    const char *names[] = {"x; DROP TABLE victim", "x\"y", "x'y", "x y", "1abc", "x.y",
                           "caf\xc3\xa9", "x-y", "", longname, binary, NULL};
    for (int i = 0; names[i]; i++) {
        assert_rc(r, retort_set_version_table(r, names[i]), RETORT_EINVAL);
        assert_contains(retort_errmsg(r), "version_table");
        assert_rc(r, retort_set(r, "version_table", names[i]), RETORT_EINVAL);
        if (*names[i]) { /* "" means the default schema, which is fine */
            assert_rc(r, retort_set_schema(r, names[i]), RETORT_EINVAL);
            assert_contains(retort_errmsg(r), "schema");
        }
    }
    static const char *const timeouts[] = {"-1", "1e3", "99999999999999999999", "5 ",
                                           "0x10", "", "86400001", "5;", " 5", "+5",
                                           "\t5", NULL};
    for (int i = 0; timeouts[i]; i++) {
        if (retort_set(r, "lock_timeout", timeouts[i]) != RETORT_EINVAL)
            fail_msg("lock_timeout '%s' was accepted", timeouts[i]);
        assert_contains(retort_errmsg(r), "lock_timeout");
    }
    assert_rc(r, retort_set_lock_timeout(r, -5), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "transaction_mode", "whole-run; DROP TABLE victim"),
              RETORT_EINVAL);
    assert_rc(r, retort_set(r, "checksum_policy", "error\n"), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "log_level", binary), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "tolerate_unknown", "2"), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "version_table; DROP TABLE victim", "x"), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "unknown setting");
    assert_rc(r, retort_set(r, NULL, "x"), RETORT_EINVAL);
    assert_rc(r, retort_set(r, "schema", NULL), RETORT_EINVAL);
    assert_rc(r, retort_set_transaction_mode(r, 7), RETORT_EINVAL);
    assert_rc(r, retort_set_checksum_policy(r, -1), RETORT_EINVAL);
    assert_rc(r, retort_set_log_level(r, 99), RETORT_EINVAL);
    /* Nothing took: the defaults are in force. */
    if (fixture_schema())
        assert_ok(r, retort_set_schema(r, fixture_schema()));
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", NULL));
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("a");
    free(longname);
    free(binary);
}

static void test_hostile_urls_fail_cleanly_without_echoing_passwords(void **state)
{
    (void)state;
    char *longurl = repeat('x', 100000);
    memcpy(longurl, "postgresql:", 11);
    char *binary = junk(500, 9);
    char *dir_url = NULL;
    {
        char *p = fixture_path("no/dir/x.db");
        size_t n = strlen(p) + 16;
        dir_url = malloc(n);
        assert_non_null(dir_url);
        snprintf(dir_url, n, "sqlite:%s", p);
        free(p);
    }
    const char *urls[] = {
        "", ":", "sqlite", "sqlite:", "sqlite://", "sqlite://host/x.db", "nosuch:x",
        "1sqlite:x", "\x01:x", "postgresql:host='unterminated password=s3cretpw",
        "postgresql://user:s3cretpw@[::1", "postgresql://user:s3cretpw@%zz/db",
        "postgresql:password=s3cretpw host=/nonexistent/dir port=1",
        "postgresql://u:s3cretpw@/db?host=/nonexistent/dir&port=1", dir_url, longurl, binary,
        NULL};
    for (int i = 0; urls[i]; i++) {
        retort *r = NULL;
        int rc = retort_new(&r, urls[i]);
        if (rc == RETORT_OK) {
            /* An upgrade has to write: nothing can stay lazily unopened. */
            rc = retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", NULL);
            if (rc == RETORT_OK)
                rc = retort_migrate_to_head(r);
            if (rc == RETORT_OK)
                fail_msg("URL #%d (\"%.60s\") connected", i, urls[i]);
        }
        if (rc != RETORT_EURL && rc != RETORT_ECONNECT)
            fail_msg("URL #%d (\"%.60s\") gave %d: %s", i, urls[i], rc, retort_errmsg(r));
        assert_true(*retort_errmsg(r));
        assert_not_contains(retort_errmsg(r), "s3cretpw");
        retort_free(r);
    }
    char *top = fixture_path("no");
    struct stat st;
    assert_int_not_equal(stat(top, &st), 0);
    free(top);
    free(dir_url);
    free(longurl);
    free(binary);
}

/* Log lines of every level, for the cases below. */
static void collect_log(int level, const char *message, void *user)
{
    (void)level;
    char **all = user;
    size_t old = *all ? strlen(*all) : 0, n = strlen(message);
    char *grown = realloc(*all, old + n + 2);
    assert_non_null(grown);
    memcpy(grown + old, message, n);
    grown[old + n] = '\n';
    grown[old + n + 1] = '\0';
    *all = grown;
}

/* Issue 14: each URL spells a password the way a careless or a careful user
 * might (raw '/', '@', '&', '#', a percent-encoded key, a newline between
 * pairs, a quoted value with an escaped quote); the connection is refused
 * or the string malformed, and neither the message nor any log line down to
 * debug level may hold a piece of the password, as libpq reads it or as
 * it was written. */
static void test_passwords_in_every_url_form_never_reach_a_message_or_log_line(void **state)
{
    (void)state;
    const struct {
        const char *url;
        const char *secret[3]; /* pieces that must not appear */
    } cases[] = {
        {"postgresql://app:hunter2/SECRETA1@127.0.0.1:1/db?connect_timeout=2",
         {"hunter2", "SECRETA1"}},
        {"postgresql://app:hunter2@SECRETA2@127.0.0.1:1/db?connect_timeout=2",
         {"hunter2", "SECRETA2"}},
        {"postgresql://127.0.0.1:1/db?pass%77ord=SECRETA3&connect_timeout=2", {"SECRETA3"}},
        {"postgresql://127.0.0.1:1/db?%70assword=SECR%45TA4&connect_timeout=2",
         {"SECRETA4", "SECR%45TA4"}},
        {"postgresql:host=127.0.0.1 port=1 password=hunter2&SECRETA5 connect_timeout=2",
         {"hunter2", "SECRETA5"}},
        {"postgresql:host=127.0.0.1 port=1 password=hunter2#SECRETA6 connect_timeout=2",
         {"hunter2", "SECRETA6"}},
        {"postgresql:host=127.0.0.1\npassword=SECRETA7\nport=1\nconnect_timeout=2",
         {"SECRETA7"}},
        {"postgresql:host=127.0.0.1 port=1 password = 'SECRET\\'A8' connect_timeout=2",
         {"SECRET'A8", "SECRET\\'A8"}},
        {"postgresql:host=127.0.0.1 port=1 sslpassword=SECRETA9 connect_timeout=2",
         {"SECRETA9"}},
        {"postgresql://app:SECRETB1@no-such-host.invalid/db?connect_timeout=2", {"SECRETB1"}},
        {"postgresql://app:SECRETB2@127.0.0.1:1/db?connect_timeout=2&bad", {"SECRETB2"}},
        {"postgresql:password=SECRETB3 host='unterminated", {"SECRETB3"}},
        {"postgresql://app:hunter2/SECRETB4@[::1/db", {"hunter2", "SECRETB4"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *log = NULL;
        retort *r = NULL;
        int rc = retort_new(&r, cases[i].url);
        if (rc == RETORT_OK) {
            assert_ok(r, retort_set_log(r, collect_log, &log));
            assert_ok(r, retort_set_log_level(r, RETORT_LOG_DEBUG));
            assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", NULL));
            rc = retort_migrate_to_head(r);
        }
        if (rc != RETORT_EURL && rc != RETORT_ECONNECT)
            fail_msg("URL case %zu gave %d: %s", i, rc, retort_errmsg(r));
        for (int k = 0; k < 3 && cases[i].secret[k]; k++) {
            if (strstr(retort_errmsg(r), cases[i].secret[k]))
                fail_msg("URL case %zu: the message shows \"%s\": %s", i, cases[i].secret[k],
                         retort_errmsg(r));
            if (log && strstr(log, cases[i].secret[k]))
                fail_msg("URL case %zu: a log line shows \"%s\": %s", i, cases[i].secret[k],
                         log);
        }
        free(log);
        retort_free(r);
    }
}

static void test_version_rows_hold_hostile_free_text_verbatim(void **state)
{
    (void)state;
    fixture_exec("CREATE TABLE victim (x INTEGER)");
    static const char message[] =
        "'); DROP TABLE victim; -- \"quoted\" \\ backslash $1 %s\n-- DROP TABLE victim;";
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "m1", NULL, message, "CREATE TABLE t_m1 (x INTEGER)", NULL));
    assert_ok(r, retort_add_sql(r, "m2", " m1 , ", message, "CREATE TABLE t_m2 (x INTEGER)",
                                NULL));
    assert_ok(r, retort_migrate_to_head(r));
    char *got = fixture_scalar("SELECT message FROM retort_version WHERE id = 'm1'");
    assert_non_null(got);
    assert_string_equal(got, message); /* bound as a parameter, not spliced */
    free(got);
    got = fixture_scalar("SELECT parents FROM retort_version WHERE id = 'm2'");
    assert_string_equal(got, "m1");
    free(got);
    assert_table("victim");
}

static void test_offline_script_keeps_hostile_messages_inside_literals_and_comments(void **state)
{
    (void)state;
    fixture_exec("CREATE TABLE victim (x INTEGER)");
    static const char message[] = "x');\nDROP TABLE victim;\n-- '; DROP TABLE victim; --";
    retort *r = fixture_new();
    assert_ok(r, retort_add_sql(r, "o1", NULL, message, "CREATE TABLE t_o1 (x INTEGER)",
                                "DROP TABLE t_o1"));
    const char *script = NULL;
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    char *copy = strdup(script);
    assert_non_null(copy);
    fixture_exec(copy); /* what an operator piping it into sqlite3 / psql does */
    free(copy);
    assert_table("victim");
    assert_table("t_o1");
    char *got = fixture_scalar("SELECT message FROM retort_version WHERE id = 'o1'");
    assert_non_null(got);
    assert_string_equal(got, message);
    free(got);
}

/* ------------------------------------------------------------- graphs */

enum { HUGE = 100000 };

static void test_hundred_thousand_revision_chain_and_cycle_are_handled_without_crashing(
    void **state)
{
    (void)state;
    retort *r = fixture_new();
    char id[32], parent[32];
    for (int i = 0; i < HUGE; i++) {
        snprintf(id, sizeof id, "c%06d", i);
        snprintf(parent, sizeof parent, "c%06d", i - 1);
        assert_ok(r, retort_add(r, id, i ? parent : NULL, NULL, noop, noop, NULL));
    }
    const char *heads = NULL;
    assert_ok(r, retort_heads(r, &heads));
    assert_string_equal(heads, "c099999");

    /* The same chain closed into a cycle: one error, naming revisions. */
    retort *cyc = fixture_new();
    for (int i = 0; i < HUGE; i++) {
        snprintf(id, sizeof id, "c%06d", i);
        snprintf(parent, sizeof parent, "c%06d", (i + HUGE - 1) % HUGE);
        assert_ok(cyc, retort_add(cyc, id, parent, NULL, noop, noop, NULL));
    }
    assert_rc(cyc, retort_heads(cyc, &heads), RETORT_EGRAPH);
    assert_contains(retort_errmsg(cyc), "cycle");
    assert_rc(cyc, retort_migrate_to_head(cyc), RETORT_EGRAPH);
    assert_no_table("retort_version"); /* refused before touching the database */
}

static void test_wide_merge_and_unknown_parent_in_a_huge_graph_are_handled(void **state)
{
    (void)state;
    retort *r = fixture_new();
    enum { WIDE = 5000 };
    size_t cap = (size_t)WIDE * 8 + 1;
    char *parents = malloc(cap);
    assert_non_null(parents);
    parents[0] = '\0';
    size_t len = 0;
    char id[32];
    for (int i = 0; i < WIDE; i++) {
        snprintf(id, sizeof id, "w%05d", i);
        assert_ok(r, retort_add(r, id, NULL, NULL, noop, noop, NULL));
        len += (size_t)snprintf(parents + len, cap - len, "%s%s", i ? " " : "", id);
    }
    assert_ok(r, retort_add(r, "merge", parents, NULL, noop, noop, NULL));
    const char *heads = NULL;
    assert_ok(r, retort_heads(r, &heads));
    assert_string_equal(heads, "merge");
    assert_ok(r, retort_add(r, "orphan", "no_such_parent", NULL, noop, noop, NULL));
    assert_rc(r, retort_heads(r, &heads), RETORT_EGRAPH);
    assert_contains(retort_errmsg(r), "no_such_parent");
    assert_rc(r, retort_migrate_to_head(r), RETORT_EGRAPH);
    assert_no_table("retort_version");
    free(parents);
}

/* ---------------------------------------------------------- PostgreSQL */

/* Issue 14: a working connection whose password comes under a
 * percent-encoded key (pass%77ord, which libpq decodes) was shown whole in
 * the debug line "connected to ...". */
static void test_debug_line_of_a_working_connection_hides_a_password_under_an_encoded_key(
    void **state)
{
    (void)state;
    char role[64], sql[512];
    snprintf(role, sizeof role, "rt_hostile_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN PASSWORD "
                              "'S3cretD1pw'; GRANT USAGE ON SCHEMA \"%s\" TO %s",
             role, role, fixture_schema(), role);
    fixture_exec(sql);
    const char *host = getenv("PGHOST"), *port = getenv("PGPORT"), *db = getenv("PGDATABASE");
    char url[512];
    snprintf(url, sizeof url, "postgresql://%s:%s/%s?user=%s&pass%%77ord=S3cretD1pw",
             host ? host : "localhost", port ? port : "5432", db ? db : "postgres", role);
    char *log = NULL;
    retort *r = NULL;
    assert_ok(r, retort_new(&r, url));
    assert_ok(r, retort_set_log(r, collect_log, &log));
    assert_ok(r, retort_set_log_level(r, RETORT_LOG_DEBUG));
    assert_ok(r, retort_set_schema(r, fixture_schema()));
    const char *heads = NULL;
    assert_ok(r, retort_current(r, &heads)); /* connects: the password worked */
    assert_string_equal(heads, "");
    assert_non_null(log);
    assert_contains(log, "connected to");
    if (strstr(log, "S3cretD1pw"))
        fail_msg("the debug log shows the password: %s", log);
    free(log);
    retort_free(r);
    assert_version_ids("");
    snprintf(sql, sizeof sql, "DROP OWNED BY %s; DROP ROLE %s", role, role);
    fixture_exec(sql);
}

static void test_lookalike_version_table_earlier_in_search_path_is_never_used(void **state)
{
    (void)state;
    const char *schema = fixture_schema();
    char sql[1024], decoy[128], url[512];
    snprintf(decoy, sizeof decoy, "%s_decoy", schema);
    snprintf(sql, sizeof sql,
             "CREATE SCHEMA \"%s\"; "
             "CREATE TABLE \"%s\".retort_version (seq BIGSERIAL, id VARCHAR(128) PRIMARY KEY, "
             "parents TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', checksum "
             "CHAR(64), state VARCHAR(16) NOT NULL DEFAULT 'applied', applied_at TIMESTAMPTZ "
             "NOT NULL DEFAULT now(), duration_ms BIGINT NOT NULL DEFAULT 0); "
             "INSERT INTO \"%s\".retort_version (id) VALUES ('a'), ('b')",
             decoy, decoy, decoy);
    fixture_exec(sql);
    snprintf(url, sizeof url, "postgresql:options='-csearch_path=%s,%s'", decoy, schema);
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_OK);
    assert_ok(r, retort_set_schema(r, schema));
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", NULL));
    assert_ok(r, retort_add_sql(r, "b", "a", NULL, "CREATE TABLE t_b (x INTEGER)", NULL));
    assert_current(r, "");
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("a b"); /* in the configured schema */
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM \"%s\".retort_version", decoy);
    assert_int_equal(fixture_count(sql), 2);
    /* The migrations' own unqualified tables follow search_path (that is
     * the application's choice); retort's audit log must not. */
    snprintf(sql, sizeof sql,
             "SELECT COUNT(*) FROM pg_tables WHERE schemaname = '%s' AND tablename LIKE 'retort%%'",
             decoy);
    assert_int_equal(fixture_count(sql), 1);
    snprintf(sql, sizeof sql, "DROP SCHEMA \"%s\" CASCADE", decoy);
    fixture_exec(sql);
}

/* -------------------------------------------------------------- SQLite */

static void assert_private_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        fail_msg("%s was not created", path);
    if (st.st_mode & 077)
        fail_msg("%s has mode %03o: readable by group or others", path,
                 (unsigned)(st.st_mode & 0777));
}

static void create_and_migrate(const char *url)
{
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    assert_int_equal(rc, RETORT_OK);
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "CREATE TABLE t_a (x INTEGER)", NULL));
    assert_ok(r, retort_migrate_to_head(r));
}

static void test_sqlite_database_file_retort_creates_is_not_world_readable(void **state)
{
    (void)state;
    mode_t old = umask(022);
    char path[1024], url[1200];
    snprintf(path, sizeof path, "%s/created.db", fixture_dir());
    snprintf(url, sizeof url, "sqlite:%s", path);
    create_and_migrate(url);
    umask(old);
    assert_private_file(path);
}

static void test_sqlite_database_file_created_through_a_file_uri_is_not_world_readable(
    void **state)
{
    (void)state;
    mode_t old = umask(022);
    char path[1024], url[1200];
    snprintf(path, sizeof path, "%s/created_uri.db", fixture_dir());
    snprintf(url, sizeof url, "sqlite:file:%s?cache=private", path);
    create_and_migrate(url);
    umask(old);
    assert_private_file(path);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    /* Backend-specific tests are left out of the other backend's run rather
     * than skipped one by one: Meson 1.0 counts a TAP "not ok # SKIP" as a
     * failure. */
    const struct CMUnitTest common[] = {
        T(test_hostile_ids_are_refused_and_register_nothing),
        T(test_hostile_parents_lists_are_refused_and_register_nothing),
        T(test_hostile_targets_are_refused_and_change_nothing),
        T(test_hostile_setting_values_are_refused_naming_the_setting),
        T(test_hostile_urls_fail_cleanly_without_echoing_passwords),
        T(test_passwords_in_every_url_form_never_reach_a_message_or_log_line),
        T(test_version_rows_hold_hostile_free_text_verbatim),
        T(test_offline_script_keeps_hostile_messages_inside_literals_and_comments),
        T(test_hundred_thousand_revision_chain_and_cycle_are_handled_without_crashing),
        T(test_wide_merge_and_unknown_parent_in_a_huge_graph_are_handled),
    };
    const struct CMUnitTest postgres_only[] = {
        T(test_lookalike_version_table_earlier_in_search_path_is_never_used),
        T(test_debug_line_of_a_working_connection_hides_a_password_under_an_encoded_key),
    };
    const struct CMUnitTest sqlite_only[] = {
        T(test_sqlite_database_file_retort_creates_is_not_world_readable),
        T(test_sqlite_database_file_created_through_a_file_uri_is_not_world_readable),
    };
    enum { NCOMMON = sizeof common / sizeof common[0] };
    struct CMUnitTest tests[NCOMMON + 2 + 1];
    size_t n = 0;
    for (size_t i = 0; i < NCOMMON; i++)
        tests[n++] = common[i];
    if (fixture_is_postgres())
        for (size_t i = 0; i < 2; i++)
            tests[n++] = postgres_only[i];
    else
        for (size_t i = 0; i < 2; i++)
            tests[n++] = sqlite_only[i];
    return _cmocka_run_group_tests("hostile_api", tests, n, NULL, NULL);
}
