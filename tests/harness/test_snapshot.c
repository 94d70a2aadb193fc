/*
 * test_snapshot.c — retort_schema_snapshot() on the backend the fixture
 * selects: every object kind appears as its documented line, the version
 * table and audit log never do, the same schema written differently gives
 * byte-identical text, and a different schema gives different text.
 */
#include "harness.h"

#include <retort/backend.h>

/* One schema with every object kind the snapshot describes, in SQL both
 * backends accept. */
static const char *const shop_sql =
    "CREATE TABLE plans (name TEXT PRIMARY KEY, price INTEGER NOT NULL DEFAULT 0 "
    "CHECK (price >= 0));\n"
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, "
    "plan TEXT REFERENCES plans (name) ON DELETE CASCADE, age INTEGER);\n"
    "CREATE INDEX users_plan_idx ON users (plan);\n"
    "CREATE UNIQUE INDEX users_lower_email_idx ON users (lower(email));\n"
    "CREATE INDEX users_adult_idx ON users (age) WHERE age >= 18;\n"
    "CREATE VIEW adults AS SELECT id, email FROM users WHERE age >= 18;\n";

/* The same schema: other statement order where dependencies allow, other
 * letter case and spacing, table-level instead of column-level
 * constraints, quoted names. */
static const char *const shop_sql_rewritten =
    "create table plans (\n"
    "  name   text,\n"
    "  price  integer default 0 not null,\n"
    "  primary key (name),\n"
    "  check (price>=0)\n"
    ");\n"
    "create table \"users\" (\n"
    "  id integer, email text not null, plan text, AGE integer,\n"
    "  primary key (id), unique (email),\n"
    "  foreign key (plan) references plans (name) on delete cascade\n"
    ");\n"
    "create index users_adult_idx on users (age) where age>=18;\n"
    "create unique index users_lower_email_idx on users (LOWER(email));\n"
    "create view adults as select id,email from users where age>=18;\n"
    "create index \"users_plan_idx\" on \"users\" (\"plan\");\n";

static void test_snapshot_of_an_empty_database_is_empty(void **state)
{
    (void)state;
    retort *r = fresh();
    char *text = snapshot(r);
    assert_string_equal(text, "");
    free(text);
}

static void test_snapshot_lists_tables_and_columns_with_type_nullability_and_default(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    assert_line(text, "table plans");
    assert_line(text, "table users");
    assert_line(text, "column plans.price integer not null default 0");
    assert_line(text, "column users.age integer");
    assert_line2(text, "column users.email text not null", "column users.email text not null");
    assert_line2(text, "column users.id integer", "column users.id integer not null");
    free(text);
}

static void test_snapshot_lists_primary_keys(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    assert_line2(text, "primary key plans (name)", "primary key plans (name) named plans_pkey");
    assert_line2(text, "primary key users (id)", "primary key users (id) named users_pkey");
    free(text);
}

static void test_snapshot_lists_unique_constraints_without_order_dependent_names(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    assert_line2(text, "unique users (email)", "unique users (email) named users_email_key");
    /* SQLite names the index behind it sqlite_autoindex_users_N, N being
     * its creation order among the table's constraints. */
    assert_not_contains(text, "sqlite_autoindex");
    free(text);
}

static void test_snapshot_lists_foreign_keys_with_their_actions(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    assert_line2(text,
                 "foreign key users (plan) references plans (name) on update no action on "
                 "delete cascade",
                 "foreign key users (plan) references plans (name) on update no action on "
                 "delete cascade named users_plan_fkey");
    free(text);
}

static void test_snapshot_lists_check_constraints(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    assert_line2(text, "check plans (price >= 0)",
                 "check plans (price >= 0) named plans_price_check");
    free(text);
}

static void test_snapshot_lists_plain_unique_expression_and_partial_indexes(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    assert_line2(text, "index users_plan_idx on users (plan)",
                 "index users_plan_idx on users using btree (plan)");
    assert_line2(text, "index users_lower_email_idx on users unique (lower(email))",
                 "index users_lower_email_idx on users unique using btree (lower(email))");
    assert_line2(text, "index users_adult_idx on users (age) where age >= 18",
                 "index users_adult_idx on users using btree (age) WHERE (age >= 18)");
    free(text);
}

static void test_snapshot_lists_views_with_a_normalised_definition(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    assert_line2(text, "view adults: select id, email from users where age >= 18",
                 "view adults: SELECT users.id, users.email FROM users WHERE users.age >= 18");
    free(text);
}

static void test_snapshot_lists_triggers(void **state)
{
    (void)state;
    const char *sql =
        fixture_is_postgres()
            ? "CREATE TABLE t (id INTEGER, touched INTEGER);\n"
              "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
              "$$ BEGIN NEW.touched := 1; RETURN NEW; END $$;\n"
              "CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION touch();"
            : "CREATE TABLE t (id INTEGER, touched INTEGER);\n"
              "CREATE TRIGGER t_touch AFTER INSERT ON t BEGIN "
              "UPDATE t SET touched = 1 WHERE id = NEW.id; END;";
    char *text = snapshot_of(sql);
    assert_line2(text,
                 "trigger t_touch on t: after insert on t begin update t set touched = 1 where "
                 "id = new.id; end",
                 "trigger t_touch on t: CREATE TRIGGER t_touch BEFORE INSERT ON t FOR EACH ROW "
                 "EXECUTE FUNCTION touch()");
    free(text);
}

static void test_snapshot_lists_backend_specific_objects(void **state)
{
    (void)state;
    if (fixture_is_postgres()) {
        char *text = snapshot_of(
            "CREATE TYPE mood AS ENUM ('sad', 'ok');\n"
            "CREATE SEQUENCE tickets;\n"
            "CREATE TABLE t (id serial PRIMARY KEY, m mood, n INTEGER GENERATED ALWAYS AS "
            "IDENTITY, twice INTEGER GENERATED ALWAYS AS (n * 2) STORED);\n"
            "CREATE FUNCTION one() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 1';");
        assert_line(text, "type mood as enum ('sad', 'ok')");
        assert_line(text, "sequence tickets as bigint start 1 increment 1 min 1 max "
                          "9223372036854775807 cache 1");
        assert_line(text, "sequence t_id_seq as integer start 1 increment 1 min 1 max "
                          "2147483647 cache 1 owned by t.id");
        assert_line(text, "column t.id integer not null default nextval('t_id_seq'::regclass)");
        assert_line(text, "column t.n integer not null generated always as identity");
        assert_line(text, "column t.twice integer generated always as ((n * 2)) stored");
        assert_contains(text, "\nfunction one() returns integer language sql immutable body md5 ");
        free(text);
    } else {
        char *text = snapshot_of(
            "CREATE TABLE kv (k TEXT PRIMARY KEY, v ANY) WITHOUT ROWID, STRICT;\n"
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT COLLATE NOCASE, "
            "shout TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL);");
        assert_line(text, "table kv without rowid strict");
        assert_line(text, "primary key t (id) autoincrement");
        assert_line(text, "column t.name text collate nocase");
        assert_line(text, "column t.shout text generated always as (upper(name)) virtual");
        assert_not_contains(text, "sqlite_sequence");
        free(text);
    }
}

static void test_snapshot_excludes_the_version_table_and_audit_log(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL,
                                "CREATE TABLE retort_version_extra (id INTEGER)",
                                "DROP TABLE retort_version_extra"));
    assert_ok(r, retort_migrate_to_head(r));
    char *text = snapshot(r);
    /* the bookkeeping tables exist, and only the application's table shows */
    assert_current(r, "001");
    assert_string_equal(text, "column retort_version_extra.id integer\n"
                              "table retort_version_extra");
    free(text);
}

static void test_snapshot_excludes_a_renamed_version_table(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_ok(r, retort_set_version_table(r, "app_versions"));
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, "CREATE TABLE a (id INTEGER)",
                                "DROP TABLE a"));
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("app_versions");
    assert_table("app_versions_log");
    char *text = snapshot(r);
    assert_not_contains(text, "app_versions");
    assert_line(text, "table a");
    free(text);
}

static void test_snapshot_is_identical_for_the_same_schema_written_differently(void **state)
{
    (void)state;
    /* On PostgreSQL each snapshot also comes from a differently named
     * fresh schema: names print unqualified. */
    char *a = snapshot_of(shop_sql);
    char *b = snapshot_of(shop_sql_rewritten);
    assert_string_equal(a, b);
    assert_not_contains(a, "retort_test_");
    free(a);
    free(b);
}

static void test_snapshot_changes_when_nullability_default_or_check_changes(void **state)
{
    (void)state;
    char *base = snapshot_of("CREATE TABLE t (n INTEGER NOT NULL DEFAULT 1 CHECK (n > 0))");
    char *nullable = snapshot_of("CREATE TABLE t (n INTEGER DEFAULT 1 CHECK (n > 0))");
    char *other_default = snapshot_of("CREATE TABLE t (n INTEGER NOT NULL DEFAULT 2 "
                                      "CHECK (n > 0))");
    char *other_check = snapshot_of("CREATE TABLE t (n INTEGER NOT NULL DEFAULT 1 "
                                    "CHECK (n > 1))");
    assert_string_not_equal(base, nullable);
    assert_string_not_equal(base, other_default);
    assert_string_not_equal(base, other_check);
    assert_line(nullable, "column t.n integer default 1");
    free(base);
    free(nullable);
    free(other_default);
    free(other_check);
}

static void test_snapshot_ignores_rows(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, shop_sql, "SELECT 1"));
    assert_ok(r, retort_migrate_to_head(r));
    char *before = snapshot(r);
    assert_ok(r, retort_add_sql(r, "002", "001", NULL,
                                "INSERT INTO plans (name, price) VALUES ('free', 0);"
                                "INSERT INTO users (id, email, plan) VALUES (1, 'a@b', 'free')",
                                "DELETE FROM users; DELETE FROM plans"));
    assert_ok(r, retort_migrate_to_head(r));
    char *after = snapshot(r);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_snapshot_lines_are_sorted_bytewise_without_trailing_newline(void **state)
{
    (void)state;
    char *text = snapshot_of(shop_sql);
    size_t len = strlen(text);
    assert_true(len > 0);
    assert_int_not_equal(text[len - 1], '\n');
    const char *prev = text;
    for (const char *nl = strchr(text, '\n'); nl; nl = strchr(prev, '\n')) {
        const char *next = nl + 1;
        const char *end = strchr(next, '\n');
        size_t a = (size_t)(nl - prev), b = end ? (size_t)(end - next) : strlen(next);
        int c = memcmp(prev, next, a < b ? a : b);
        assert_true(c < 0 || (c == 0 && a <= b));
        prev = next;
    }
    free(text);
}

/* A third-party driver without a snapshot member: the SQLite driver's
 * vtable under another scheme of the same length, so that its URL parser
 * (which skips "sqlite:") reads the path right. */
static retort_backend no_snapshot_backend;
static const char *const no_snapshot_schemes[] = {"nosnap", NULL};

static void register_no_snapshot_backend(void)
{
    if (retort_backend_find("nosnap"))
        return;
    const retort_backend *sqlite = retort_backend_find("sqlite");
    assert_non_null(sqlite);
    no_snapshot_backend = *sqlite;
    no_snapshot_backend.name = "nosnap";
    no_snapshot_backend.schemes = no_snapshot_schemes;
    no_snapshot_backend.snapshot = NULL;
    assert_int_equal(retort_register_backend(&no_snapshot_backend), RETORT_OK);
}

static void test_snapshot_on_a_driver_without_it_is_einval_naming_the_backend(void **state)
{
    (void)state;
    register_no_snapshot_backend();
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "nosnap::memory:"), RETORT_OK);
    fixture_adopt(r);
    const char *text = "unchanged";
    assert_rc(r, retort_schema_snapshot(r, &text), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "nosnap backend cannot describe a schema");
    assert_string_equal(text, "unchanged");
}

static void test_snapshot_with_null_out_pointer_is_einval(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_rc(r, retort_schema_snapshot(r, NULL), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "text is NULL");
    assert_int_equal(retort_schema_snapshot(NULL, NULL), RETORT_EINVAL);
}

/* The snapshot of a connection that described the schema before (the
 * SQLite driver keeps described tables) equals the snapshot a new
 * connection takes, after each kind of change. */
static void test_snapshot_after_changes_equals_a_new_connections_snapshot(void **state)
{
    (void)state;
    static const char *const changes[] = {
        "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT)",
        "CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id))",
        "CREATE INDEX p_name ON p (name)",
        "ALTER TABLE p ADD COLUMN note TEXT",
        "DROP INDEX p_name",
        "CREATE UNIQUE INDEX p_name ON p (name, note)",
        "ALTER TABLE p RENAME TO p2",
        "DROP INDEX p_name",
        "ALTER TABLE p2 DROP COLUMN note",
        "CREATE VIEW v AS SELECT id FROM p2",
        NULL,
    };
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "000", NULL, NULL, "SELECT 1", "SELECT 1"));
    assert_ok(r, retort_migrate_to_head(r));
    const char *url = NULL;
    assert_ok(r, retort_fresh_url(r, &url));
    for (int i = 0; changes[i]; i++) {
        char *warm_before = snapshot(r); /* describes, and keeps, the tables */
        free(warm_before);
        char id[16];
        snprintf(id, sizeof id, "%03d", i + 1);
        char parent[16];
        snprintf(parent, sizeof parent, "%03d", i);
        assert_ok(r, retort_add_sql(r, id, parent, NULL, changes[i], "SELECT 1"));
        assert_ok(r, retort_migrate_to_head(r));
        char *warm = snapshot(r);
        retort *cold = NULL;
        assert_int_equal(retort_new(&cold, url), RETORT_OK);
        fixture_adopt(cold);
        char *fresh_text = snapshot(cold);
        fixture_free(cold);
        if (strcmp(warm, fresh_text) != 0)
            fail_msg("after \"%s\" the snapshot differs:\n%s\n--- new connection:\n%s",
                     changes[i], warm, fresh_text);
        free(warm);
        free(fresh_text);
    }
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    static const backend_test tests[] = {
        BACKEND_TEST(test_snapshot_of_an_empty_database_is_empty, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_tables_and_columns_with_type_nullability_and_default,
                     ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_primary_keys, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_unique_constraints_without_order_dependent_names, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_foreign_keys_with_their_actions, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_check_constraints, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_plain_unique_expression_and_partial_indexes, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_views_with_a_normalised_definition, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_triggers, ON_BOTH),
        BACKEND_TEST(test_snapshot_lists_backend_specific_objects, ON_BOTH),
        BACKEND_TEST(test_snapshot_excludes_the_version_table_and_audit_log, ON_BOTH),
        BACKEND_TEST(test_snapshot_excludes_a_renamed_version_table, ON_BOTH),
        BACKEND_TEST(test_snapshot_is_identical_for_the_same_schema_written_differently, ON_BOTH),
        BACKEND_TEST(test_snapshot_changes_when_nullability_default_or_check_changes, ON_BOTH),
        BACKEND_TEST(test_snapshot_ignores_rows, ON_BOTH),
        BACKEND_TEST(test_snapshot_lines_are_sorted_bytewise_without_trailing_newline, ON_BOTH),
        BACKEND_TEST(test_snapshot_on_a_driver_without_it_is_einval_naming_the_backend,
                     ON_BOTH_WITH_SQLITE_DRIVER),
        BACKEND_TEST(test_snapshot_with_null_out_pointer_is_einval, ON_BOTH),
        BACKEND_TEST(test_snapshot_after_changes_equals_a_new_connections_snapshot, ON_BOTH),
    };
    return run_backend_tests(tests, sizeof tests / sizeof tests[0]);
}
