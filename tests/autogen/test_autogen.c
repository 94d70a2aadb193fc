/*
 * test_autogen.c — retort_autogenerate() and retort_schema_diff() on the
 * backend the fixture selects (RETORT_TEST_BACKEND).
 *
 * The catalogue: for each schema change, the original schema is built by a
 * migration on a fresh target and given rows; the migration autogenerate
 * writes for the declared schema is registered and applied; the snapshot
 * must then equal the declared schema's (built on another fresh target),
 * the rows' untouched columns must still hold their values, and after the
 * downgrade the snapshot must equal the original one and the rows must
 * still be there.  Row checks run as migrations on the same connection
 * (an in-memory SQLite database has no other), through a temporary table
 * whose CHECK fails the migration when the count is wrong.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "harness.h"

typedef struct {
    const char *name;
    const char *original; /* DDL of the database before */
    const char *rows;     /* INSERTs into it */
    const char *declared; /* the schema the application declares */
    const char *survive;  /* a count query over untouched columns, after up and after down */
    long expect;          /* its value */
    const char *up_has;   /* a text the up script must contain, or NULL */
    const char *down_has; /* the same for down */
} change;

/* Checks that hold after the upgrade only (the columns they read are new). */
static const struct {
    const char *name, *query;
} survive_up[] = {
    {"add_column_with_default",
     "SELECT count(*) FROM users WHERE id IN (1, 2) AND status = 'active'"},
    {"add_not_null_column_with_default",
     "SELECT count(*) FROM users WHERE id IN (1, 2) AND score = 0"},
};

static const char *survive_up_of(const change *c)
{
    for (size_t i = 0; i < sizeof survive_up / sizeof *survive_up; i++)
        if (strcmp(survive_up[i].name, c->name) == 0)
            return survive_up[i].query;
    return c->survive;
}

#define USERS_COLS "id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, age INTEGER"
#define USERS "CREATE TABLE users (" USERS_COLS ");\n"
#define USERS_ROWS                                                                             \
    "INSERT INTO users (id, name, email, age) VALUES (1, 'alice', 'a@example.org', 30);\n"     \
    "INSERT INTO users (id, name, email, age) VALUES (2, 'bob', 'b@example.org', 40);\n"
#define USERS_SURVIVE                                                                          \
    "SELECT count(*) FROM users WHERE (id = 1 AND name = 'alice') OR (id = 2 AND name = 'bob')"
#define ORDERS                                                                                 \
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total INTEGER NOT NULL);\n"
#define ORDERS_FK                                                                              \
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), "     \
    "total INTEGER NOT NULL);\n"
#define ORDERS_ROWS "INSERT INTO orders (id, user_id, total) VALUES (10, 1, 500);\n"
#define ORDERS_SURVIVE "SELECT count(*) FROM orders WHERE id = 10 AND total = 500"

static const change catalogue[] = {
    {"add_table", USERS, USERS_ROWS,
     USERS "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);\n",
     USERS_SURVIVE, 2, "CREATE TABLE", "-- retort:destructive drops table \"tags\""},
    {"drop_table", USERS "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n",
     USERS_ROWS "INSERT INTO tags (id, label) VALUES (1, 'x');\n", USERS, USERS_SURVIVE, 2,
     "-- retort:destructive drops table \"tags\"", "CREATE TABLE"},
    {"add_nullable_column", USERS, USERS_ROWS,
     "CREATE TABLE users (" USERS_COLS ", nickname TEXT);\n", USERS_SURVIVE, 2, "nickname",
     "-- retort:destructive drops column \"users\".\"nickname\""},
    {"add_column_with_default", USERS, USERS_ROWS,
     "CREATE TABLE users (" USERS_COLS ", status TEXT DEFAULT 'active');\n",
     USERS_SURVIVE, 2, "status", NULL},
    {"add_not_null_column_with_default", USERS, USERS_ROWS,
     "CREATE TABLE users (" USERS_COLS ", score INTEGER NOT NULL DEFAULT 0);\n",
     USERS_SURVIVE, 2, "score", NULL},
    {"drop_column", USERS, USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\n",
     USERS_SURVIVE, 2, "-- retort:destructive drops column \"users\".\"age\"", NULL},
    {"change_column_type", USERS, USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, "
     "age BIGINT);\n",
     USERS_SURVIVE " AND age IN (30, 40)", 2, NULL, "-- retort:destructive changes the type"},
    {"set_not_null", USERS, USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, "
     "age INTEGER);\n",
     USERS_SURVIVE " AND email LIKE '%@example.org'", 2, "becomes NOT NULL", NULL},
    {"drop_not_null", USERS, USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, age INTEGER);\n",
     USERS_SURVIVE, 2, NULL, "becomes NOT NULL"},
    {"set_default", USERS, USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, "
     "age INTEGER DEFAULT 18);\n",
     USERS_SURVIVE " AND age IN (30, 40)", 2, NULL, NULL},
    {"drop_default",
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, "
     "age INTEGER DEFAULT 18);\n",
     USERS_ROWS, USERS, USERS_SURVIVE " AND age IN (30, 40)", 2, NULL, NULL},
    {"change_default",
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT DEFAULT "
     "'none', age INTEGER);\n",
     USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT DEFAULT "
     "'unknown', age INTEGER);\n",
     USERS_SURVIVE, 2, "'unknown'", "'none'"},
    {"add_index", USERS, USERS_ROWS, USERS "CREATE INDEX users_age_idx ON users (age);\n",
     USERS_SURVIVE, 2, "CREATE INDEX", "DROP INDEX"},
    {"drop_index", USERS "CREATE INDEX users_age_idx ON users (age);\n", USERS_ROWS, USERS,
     USERS_SURVIVE, 2, "DROP INDEX", "CREATE INDEX"},
    {"add_unique_index", USERS, USERS_ROWS,
     USERS "CREATE UNIQUE INDEX users_email_idx ON users (email);\n", USERS_SURVIVE, 2,
     "CREATE UNIQUE INDEX", NULL},
    {"add_partial_index", USERS, USERS_ROWS,
     USERS "CREATE INDEX users_adult_idx ON users (age) WHERE age >= 18;\n", USERS_SURVIVE, 2,
     "CREATE INDEX", NULL},
    {"change_index_columns", USERS "CREATE INDEX users_x_idx ON users (age);\n", USERS_ROWS,
     USERS "CREATE INDEX users_x_idx ON users (age, name);\n", USERS_SURVIVE, 2, "DROP INDEX",
     "DROP INDEX"},
    {"add_unique_constraint", USERS, USERS_ROWS,
     "CREATE TABLE users (" USERS_COLS ", UNIQUE (email));\n", USERS_SURVIVE, 2, NULL, NULL},
    {"drop_unique_constraint", "CREATE TABLE users (" USERS_COLS ", UNIQUE (email));\n",
     USERS_ROWS, USERS, USERS_SURVIVE, 2, NULL, NULL},
    {"add_foreign_key", USERS ORDERS, USERS_ROWS ORDERS_ROWS, USERS ORDERS_FK,
     ORDERS_SURVIVE " AND user_id = 1", 1, NULL, NULL},
    {"drop_foreign_key", USERS ORDERS_FK, USERS_ROWS ORDERS_ROWS, USERS ORDERS,
     ORDERS_SURVIVE " AND user_id = 1", 1, NULL, NULL},
    {"add_check_constraint", USERS, USERS_ROWS,
     "CREATE TABLE users (" USERS_COLS ", CHECK (age >= 0));\n", USERS_SURVIVE, 2, NULL, NULL},
    {"drop_check_constraint", "CREATE TABLE users (" USERS_COLS ", CHECK (age >= 0));\n",
     USERS_ROWS, USERS, USERS_SURVIVE, 2, NULL, NULL},
    {"add_view", USERS, USERS_ROWS,
     USERS "CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;\n", USERS_SURVIVE,
     2, "CREATE VIEW", "DROP VIEW"},
    {"drop_view", USERS "CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;\n",
     USERS_ROWS, USERS, USERS_SURVIVE, 2, "DROP VIEW", "CREATE VIEW"},
    {"change_view", USERS "CREATE VIEW adults AS SELECT id, name FROM users WHERE age >= 18;\n",
     USERS_ROWS,
     USERS "CREATE VIEW adults AS SELECT id, name, email FROM users WHERE age >= 21;\n",
     USERS_SURVIVE, 2, "DROP VIEW", "DROP VIEW"},
    {"change_type_under_a_view",
     USERS "CREATE VIEW adults AS SELECT id, age FROM users WHERE age >= 18;\n", USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT, "
     "age BIGINT);\n"
     "CREATE VIEW adults AS SELECT id, age FROM users WHERE age >= 18;\n",
     USERS_SURVIVE, 2, "DROP VIEW", "DROP VIEW"},
    {"rename_looking_column", USERS, USERS_ROWS,
     "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, mail TEXT, "
     "age INTEGER);\n",
     USERS_SURVIVE, 2, "-- retort:review possible rename of column \"users\".\"email\" to \"mail\"",
     "-- retort:review possible rename of column \"users\".\"mail\" to \"email\""},
    {"rename_looking_table", USERS ORDERS, USERS_ROWS ORDERS_ROWS,
     USERS "CREATE TABLE purchases (id INTEGER PRIMARY KEY, user_id INTEGER, "
     "total INTEGER NOT NULL);\n",
     USERS_SURVIVE, 2, "-- retort:review possible rename of table \"orders\" to \"purchases\"",
     "-- retort:review possible rename of table \"purchases\" to \"orders\""},
    {"multi_table_change", USERS ORDERS, USERS_ROWS ORDERS_ROWS,
     "CREATE TABLE users (" USERS_COLS ", active INTEGER NOT NULL DEFAULT 1);\n" ORDERS_FK
     "CREATE INDEX orders_user_idx ON orders (user_id);\n"
     "CREATE TABLE payments (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL "
     "REFERENCES orders (id), amount INTEGER NOT NULL);\n",
     ORDERS_SURVIVE, 1, "CREATE TABLE", "-- retort:destructive drops table \"payments\""},
    {"composite_primary_key_change",
     USERS "CREATE TABLE memberships (user_id INTEGER NOT NULL, group_id INTEGER NOT NULL, "
     "role TEXT, PRIMARY KEY (user_id));\n",
     USERS_ROWS "INSERT INTO memberships (user_id, group_id, role) VALUES (1, 7, 'admin');\n",
     USERS "CREATE TABLE memberships (user_id INTEGER NOT NULL, group_id INTEGER NOT NULL, "
     "role TEXT, PRIMARY KEY (user_id, group_id));\n",
     "SELECT count(*) FROM memberships WHERE user_id = 1 AND group_id = 7 AND role = 'admin'", 1,
     NULL, NULL},
    {"drop_column_with_its_index", USERS "CREATE INDEX users_age_idx ON users (age);\n",
     USERS_ROWS, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\n",
     USERS_SURVIVE, 2, "drops column", "CREATE INDEX"},
};

/* ------------------------------------------------------------- helpers */

static char *copy(const char *s)
{
    char *c = strdup(s ? s : "");
    if (!c)
        fail_msg("out of memory");
    return c;
}

/* A migration that fails unless query counts expect rows. */
static char *count_check(const char *query, long expect)
{
    char *sql = NULL;
    if (asprintf(&sql,
                 "CREATE TEMPORARY TABLE retort_autogen_check (n INTEGER CHECK (n = %ld));\n"
                 "INSERT INTO retort_autogen_check (n) %s;\n"
                 "DROP TABLE retort_autogen_check;\n",
                 expect, query) < 0)
        fail_msg("out of memory");
    return sql;
}

static int contains(const char *hay, const char *needle)
{
    return !needle || strstr(hay, needle) != NULL;
}

/* The whole round trip of one catalogue entry; see the file comment. */
static void round_trip(const change *c)
{
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, "original", c->original, "SELECT 1"));
    assert_ok(r, retort_add_sql(r, "002", "001", "rows", c->rows, "SELECT 1"));
    assert_ok(r, retort_upgrade(r, "002"));
    char *original = snapshot(r);
    char *declared = snapshot_of(c->declared);

    const char *up_s = NULL, *down_s = NULL;
    int rc = retort_autogenerate(r, c->declared, &up_s, &down_s);
    if (rc != RETORT_OK)
        fail_msg("%s: retort_autogenerate returned %d: %s", c->name, rc, retort_errmsg(r));
    char *up = copy(up_s), *down = copy(down_s);
    if (!*up || !*down)
        fail_msg("%s: an empty script for a real change\nup:\n%s\ndown:\n%s", c->name, up, down);
    if (!contains(up, c->up_has))
        fail_msg("%s: the up script lacks \"%s\":\n%s", c->name, c->up_has, up);
    if (!contains(down, c->down_has))
        fail_msg("%s: the down script lacks \"%s\":\n%s", c->name, c->down_has, down);

    char *check = count_check(c->survive, c->expect);
    char *check_up = count_check(survive_up_of(c), c->expect);
    assert_ok(r, retort_add_sql(r, "003", "002", "autogenerated", up, down));
    assert_ok(r, retort_add_sql(r, "004", "003", "rows after up", check_up, "SELECT 1"));
    assert_ok(r, retort_add_sql(r, "005", "002", "rows after down", check, "SELECT 1"));

    rc = retort_upgrade(r, "003");
    if (rc != RETORT_OK)
        fail_msg("%s: the generated upgrade fails: %s\n%s", c->name, retort_errmsg(r), up);
    char *after = snapshot(r);
    if (strcmp(after, declared) != 0)
        fail_msg("%s: after the upgrade the schema is\n%s\nbut the declared one is\n%s\nup:\n%s",
                 c->name, after, declared, up);
    rc = retort_upgrade(r, "004");
    if (rc != RETORT_OK)
        fail_msg("%s: rows did not survive the upgrade: %s\n%s", c->name, retort_errmsg(r), up);

    /* The upgrade leaves nothing to add: autogenerate now finds no change. */
    const char *again_up = NULL, *again_down = NULL;
    assert_ok(r, retort_autogenerate(r, c->declared, &again_up, &again_down));
    assert_string_equal(again_up, "");
    assert_string_equal(again_down, "");

    rc = retort_downgrade(r, "002");
    if (rc != RETORT_OK)
        fail_msg("%s: the generated downgrade fails: %s\n%s", c->name, retort_errmsg(r), down);
    char *back = snapshot(r);
    if (strcmp(back, original) != 0)
        fail_msg("%s: after the downgrade the schema is\n%s\nbut the original was\n%s\ndown:\n%s",
                 c->name, back, original, down);
    rc = retort_upgrade(r, "005");
    if (rc != RETORT_OK)
        fail_msg("%s: rows did not survive the downgrade: %s\n%s", c->name, retort_errmsg(r),
                 down);
    free(original);
    free(declared);
    free(up);
    free(down);
    free(check);
    free(check_up);
    free(after);
    free(back);
}

static const change *find_change(const char *name)
{
    for (size_t i = 0; i < sizeof catalogue / sizeof *catalogue; i++)
        if (strcmp(catalogue[i].name, name) == 0)
            return &catalogue[i];
    fail_msg("no catalogue entry %s", name);
    return NULL;
}

#define CATALOGUE_TEST(n)                                                                      \
    static void test_autogenerate_round_trips_##n(void **state)                                \
    {                                                                                          \
        (void)state;                                                                           \
        round_trip(find_change(#n));                                                           \
    }

CATALOGUE_TEST(add_table)
CATALOGUE_TEST(drop_table)
CATALOGUE_TEST(add_nullable_column)
CATALOGUE_TEST(add_column_with_default)
CATALOGUE_TEST(add_not_null_column_with_default)
CATALOGUE_TEST(drop_column)
CATALOGUE_TEST(change_column_type)
CATALOGUE_TEST(set_not_null)
CATALOGUE_TEST(drop_not_null)
CATALOGUE_TEST(set_default)
CATALOGUE_TEST(drop_default)
CATALOGUE_TEST(change_default)
CATALOGUE_TEST(add_index)
CATALOGUE_TEST(drop_index)
CATALOGUE_TEST(add_unique_index)
CATALOGUE_TEST(add_partial_index)
CATALOGUE_TEST(change_index_columns)
CATALOGUE_TEST(add_unique_constraint)
CATALOGUE_TEST(drop_unique_constraint)
CATALOGUE_TEST(add_foreign_key)
CATALOGUE_TEST(drop_foreign_key)
CATALOGUE_TEST(add_check_constraint)
CATALOGUE_TEST(drop_check_constraint)
CATALOGUE_TEST(add_view)
CATALOGUE_TEST(drop_view)
CATALOGUE_TEST(change_view)
CATALOGUE_TEST(change_type_under_a_view)
CATALOGUE_TEST(rename_looking_column)
CATALOGUE_TEST(rename_looking_table)
CATALOGUE_TEST(multi_table_change)
CATALOGUE_TEST(composite_primary_key_change)
CATALOGUE_TEST(drop_column_with_its_index)

/* ---------------------------------------------------- beyond the catalogue */

static void test_autogenerate_writes_nothing_when_the_schema_matches(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, USERS, "DROP TABLE users"));
    assert_ok(r, retort_migrate_to_head(r));
    const char *up = NULL, *down = NULL;
    assert_ok(r, retort_autogenerate(r, USERS, &up, &down));
    assert_string_equal(up, "");
    assert_string_equal(down, "");
}

static void test_autogenerate_output_is_deterministic(void **state)
{
    (void)state;
    const change *c = find_change("multi_table_change");
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, c->original, "SELECT 1"));
    assert_ok(r, retort_migrate_to_head(r));
    const char *up = NULL, *down = NULL;
    assert_ok(r, retort_autogenerate(r, c->declared, &up, &down));
    char *up1 = copy(up), *down1 = copy(down);
    assert_ok(r, retort_autogenerate(r, c->declared, &up, &down));
    assert_string_equal(up, up1);
    assert_string_equal(down, down1);
    free(up1);
    free(down1);
}

static void test_autogenerate_reports_a_declared_schema_that_fails_and_changes_nothing(void **s)
{
    (void)s;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, USERS, "DROP TABLE users"));
    assert_ok(r, retort_migrate_to_head(r));
    char *before = snapshot(r);
    const char *up = NULL, *down = NULL;
    assert_rc(r, retort_autogenerate(r, "CREATE TABLE broken (id INTEGER,, x);", &up, &down),
              RETORT_EPARSE);
    assert_contains(retort_errmsg(r), "declared schema");
    char *after = snapshot(r);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

static void test_autogenerate_rejects_null_arguments(void **state)
{
    (void)state;
    retort *r = fresh();
    const char *up = NULL, *down = NULL;
    assert_rc(r, retort_autogenerate(r, NULL, &up, &down), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "declared_sql");
    assert_rc(r, retort_autogenerate(r, USERS, NULL, &down), RETORT_EINVAL);
    assert_int_equal(retort_autogenerate(NULL, USERS, &up, &down), RETORT_EINVAL);
}

static void test_schema_diff_is_ok_when_the_database_matches(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, USERS, "DROP TABLE users"));
    assert_ok(r, retort_migrate_to_head(r));
    const char *diff = NULL;
    assert_ok(r, retort_schema_diff(r, USERS, &diff));
    assert_string_equal(diff, "");
}

static void test_schema_diff_reports_drift_with_both_sides_lines(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, USERS, "DROP TABLE users"));
    assert_ok(r, retort_migrate_to_head(r));
    const char *diff = NULL;
    assert_rc(r,
              retort_schema_diff(r,
                                 "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                                 "email TEXT, nickname TEXT);",
                                 &diff),
              RETORT_EDRIFT);
    assert_contains(diff, "-column users.age integer");
    assert_contains(diff, "+column users.nickname text");
    assert_not_contains(diff, "users.email");
    assert_contains(retort_errmsg(r), "differs from the declared schema");
    /* diff may be NULL when only the verdict matters */
    assert_rc(r, retort_schema_diff(r, "", NULL), RETORT_EDRIFT);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    static const backend_test tests[] = {
        BACKEND_TEST(test_autogenerate_round_trips_add_table, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_table, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_nullable_column, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_column_with_default, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_not_null_column_with_default, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_column, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_change_column_type, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_set_not_null, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_not_null, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_set_default, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_default, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_change_default, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_index, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_index, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_unique_index, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_partial_index, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_change_index_columns, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_unique_constraint, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_unique_constraint, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_foreign_key, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_foreign_key, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_check_constraint, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_check_constraint, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_add_view, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_view, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_change_view, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_change_type_under_a_view, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_rename_looking_column, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_rename_looking_table, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_multi_table_change, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_composite_primary_key_change, ON_BOTH),
        BACKEND_TEST(test_autogenerate_round_trips_drop_column_with_its_index, ON_BOTH),
        BACKEND_TEST(test_autogenerate_writes_nothing_when_the_schema_matches, ON_BOTH),
        BACKEND_TEST(test_autogenerate_output_is_deterministic, ON_BOTH),
        BACKEND_TEST(test_autogenerate_reports_a_declared_schema_that_fails_and_changes_nothing,
                     ON_BOTH),
        BACKEND_TEST(test_autogenerate_rejects_null_arguments, ON_BOTH),
        BACKEND_TEST(test_schema_diff_is_ok_when_the_database_matches, ON_BOTH),
        BACKEND_TEST(test_schema_diff_reports_drift_with_both_sides_lines, ON_BOTH),
    };
    return run_backend_tests(tests, sizeof tests / sizeof *tests);
}
