/*
 * test_adopt.c — retort_adopt() on a database another tool migrated, on the
 * backend the fixture selects.  Each tool's version table is created and
 * filled here exactly as that tool writes it (its own DDL for SQLite and
 * PostgreSQL); the schema the tool had built is made by applying the same
 * corpus up to that point under a scratch version table.  Adoption must
 * record exactly the tool's revisions, leave the tool's table untouched,
 * and let the next upgrade run only the rest (re-running a CREATE TABLE
 * would fail); a dirty or failed table, an unknown version, or several
 * tools' tables change nothing at all.
 */
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

static char *corpus(const char *name)
{
    const char *root = getenv("RETORT_FORMATS_CORPUS");
    assert_non_null(root);
    char *p = malloc(strlen(root) + strlen(name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", root, name);
    return p;
}

static retort *loaded(const char *name)
{
    retort *r = fixture_new();
    char *p = corpus(name);
    if (retort_load_dir(r, p) != RETORT_OK)
        fail_msg("%s: %s", name, retort_errmsg(r));
    free(p);
    return r;
}

/* The schema the other tool built: the corpus applied up to target under a
 * scratch version table. */
static void built_by_the_tool(const char *name, const char *target)
{
    retort *r = loaded(name);
    assert_ok(r, retort_set_version_table(r, "scratch_version"));
    assert_ok(r, retort_upgrade(r, target));
    fixture_free(r);
}

static void tool_table(const char *pg, const char *sqlite, const char *rows)
{
    fixture_exec(fixture_is_postgres() ? pg : sqlite);
    if (rows)
        fixture_exec(rows);
}

static const char goose_pg[] =
    "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, "
    "is_applied boolean NOT NULL, tstamp timestamp NULL default now(), PRIMARY KEY(id));";
static const char goose_sqlite[] =
    "CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER "
    "NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')));";

static const char golang_pg[] =
    "CREATE TABLE IF NOT EXISTS \"schema_migrations\" (version bigint not null primary key, "
    "dirty boolean not null);";
static const char golang_sqlite[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version uint64,dirty bool);"
    "CREATE UNIQUE INDEX IF NOT EXISTS version_unique ON schema_migrations (version);";

static const char flyway_pg[] =
    "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), "
    "description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT "
    "NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT "
    "NULL DEFAULT now(), execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL, CONSTRAINT "
    "flyway_schema_history_pk PRIMARY KEY (installed_rank));";
static const char flyway_sqlite[] =
    "CREATE TABLE flyway_schema_history (installed_rank INT NOT NULL PRIMARY KEY, version "
    "VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script "
    "VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on "
    "TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f','now')), execution_time INT NOT "
    "NULL, success BOOLEAN NOT NULL);";

static const char sqlx_pg[] =
    "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description "
    "TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, "
    "checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);";
static const char sqlx_sqlite[] =
    "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description "
    "TEXT NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success "
    "BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);";

static const char diesel_ddl[] =
    "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY "
    "NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);";

static const char gorp_pg[] =
    "create table if not exists gorp_migrations (id text not null primary key, applied_at "
    "timestamp with time zone);";
static const char gorp_sqlite[] =
    "create table if not exists gorp_migrations (id varchar(255) not null primary key, "
    "applied_at datetime);";

static const char dbmate_ddl[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version varchar(128) primary key);";

static const char alembic_ddl[] =
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT "
    "alembic_version_pkc PRIMARY KEY (version_num));";

/* Adopts, checks what was recorded and that the tool's table is as it was,
 * then upgrades: only the rest runs. */
static void adopts(retort *r, const char *tool, const char *table, const char *want_ids,
                   const char *all_ids)
{
    char count_sql[128];
    snprintf(count_sql, sizeof count_sql, "SELECT COUNT(*) FROM %s", table);
    long before = fixture_count(count_sql);
    assert_ok(r, retort_adopt(r, tool));
    assert_version_ids(want_ids);
    assert_int_equal(fixture_count(count_sql), before);
    char *note = fixture_scalar("SELECT COUNT(*) FROM retort_version_log WHERE direction = "
                                "'adopt' AND error LIKE 'adopted from %'");
    assert_non_null(note);
    assert_string_not_equal(note, "0");
    free(note);
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids(all_ids);
    assert_ok(r, retort_check(r));
}

/* Refused: the code, a message naming what, and no retort table at all. */
static void refuses(retort *r, const char *tool, int code, const char *names)
{
    assert_int_equal(retort_adopt(r, tool), code);
    if (!strstr(retort_errmsg(r), names))
        fail_msg("'%s' does not name '%s'", retort_errmsg(r), names);
    assert_no_table("retort_version");
}

static void test_goose_table_is_detected_and_adopted(void **state)
{
    (void)state;
    built_by_the_tool("goose", "00002_notes_block");
    tool_table(goose_pg, goose_sqlite,
               "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), "
               "(1, true), (2, true), (3, true), (3, false);");
    adopts(loaded("goose"), NULL, "goose_db_version", "00001_create_users 00002_notes_block",
           "00001_create_users 00002_notes_block 00003_users_name_index 00004_seed 10_tags");
}

static void test_golang_migrate_table_is_adopted_up_to_its_version(void **state)
{
    (void)state;
    built_by_the_tool("morph", "000001_create_channels");
    tool_table(golang_pg, golang_sqlite,
               "INSERT INTO schema_migrations (version, dirty) VALUES (1, false);");
    adopts(loaded("morph"), "golang-migrate", "schema_migrations", "000001_create_channels",
           "000001_create_channels 000002_channels_name_index");
}

static void test_dirty_golang_migrate_table_is_refused_naming_the_version(void **state)
{
    (void)state;
    tool_table(golang_pg, golang_sqlite,
               "INSERT INTO schema_migrations (version, dirty) VALUES (2, true);");
    refuses(loaded("morph"), NULL, RETORT_EDIRTY, "dirty at version 2");
}

static void test_flyway_history_is_adopted_by_version(void **state)
{
    (void)state;
    built_by_the_tool("flyway", "V1_2__prices");
    tool_table(flyway_pg, flyway_sqlite,
               "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
               "script, checksum, installed_by, execution_time, success) VALUES "
               "(1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'u', 3, true), "
               "(2, '1.2', 'prices', 'SQL', 'V1_2__prices.sql', 2, 'u', 3, true);");
    adopts(loaded("flyway"), "flyway", "flyway_schema_history", "V1_2__prices V1__init",
           "V1.11__suppliers V1_10__stock V1_2__prices V1__init V2__products_name_index");
}

static void test_failed_flyway_migration_is_refused_naming_it(void **state)
{
    (void)state;
    tool_table(flyway_pg, flyway_sqlite,
               "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
               "script, checksum, installed_by, execution_time, success) VALUES "
               "(1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'u', 3, true), "
               "(2, '1.10', 'stock', 'SQL', 'V1_10__stock.sql', 2, 'u', 3, false);");
    refuses(loaded("flyway"), NULL, RETORT_EDIRTY, "V1_10__stock.sql");
}

static void test_sqlx_table_is_adopted(void **state)
{
    (void)state;
    built_by_the_tool("sqlx", "20240101000000_init");
    tool_table(sqlx_pg, sqlx_sqlite,
               fixture_is_postgres()
                   ? "INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                     "execution_time) VALUES (20240101000000, 'init', true, '\\x00', 1);"
                   : "INSERT INTO _sqlx_migrations (version, description, success, checksum, "
                     "execution_time) VALUES (20240101000000, 'init', 1, x'00', 1);");
    adopts(loaded("sqlx"), "sqlx", "_sqlx_migrations", "20240101000000_init",
           "20240101000000_init 20240102000000_lines 20240103000000_customer_index");
}

static void test_diesel_table_is_adopted(void **state)
{
    (void)state;
    built_by_the_tool("diesel", "2024-01-01-000000_create_posts");
    tool_table(diesel_ddl, diesel_ddl,
               "INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), "
               "('20240101000000');");
    adopts(loaded("diesel"), "diesel", "__diesel_schema_migrations",
           "00000000000000_diesel_initial_setup 2024-01-01-000000_create_posts",
           "00000000000000_diesel_initial_setup 2024-01-01-000000_create_posts "
           "2024-01-02-000000_posts_title_index 2024-01-03-000000_comments");
}

static void test_sql_migrate_table_is_adopted(void **state)
{
    (void)state;
    built_by_the_tool("sql-migrate", "2_audit_block");
    tool_table(gorp_pg, gorp_sqlite,
               "INSERT INTO gorp_migrations (id) VALUES ('1_init.sql'), ('2_audit_block.sql');");
    adopts(loaded("sql-migrate"), "sql-migrate", "gorp_migrations", "1_init 2_audit_block",
           "1_init 20_sessions 2_audit_block 3_accounts_email_index");
}

static void test_dbmate_table_is_detected_and_adopted(void **state)
{
    (void)state;
    built_by_the_tool("mixed", "002_goose");
    tool_table(dbmate_ddl, dbmate_ddl,
               "INSERT INTO schema_migrations (version) VALUES ('001'), ('002');");
    adopts(loaded("mixed"), NULL, "schema_migrations", "001_dbmate 002_goose",
           "001_dbmate 002_goose 003_pair 004_sql_migrate 005_retort");
}

static void test_alembic_head_implies_its_ancestors(void **state)
{
    (void)state;
    built_by_the_tool("mixed", "003_pair");
    tool_table(alembic_ddl, alembic_ddl,
               "INSERT INTO alembic_version (version_num) VALUES ('003_pair');");
    adopts(loaded("mixed"), "alembic", "alembic_version", "001_dbmate 002_goose 003_pair",
           "001_dbmate 002_goose 003_pair 004_sql_migrate 005_retort");
}

static void test_version_the_directory_lacks_is_refused_naming_it(void **state)
{
    (void)state;
    tool_table(goose_pg, goose_sqlite,
               "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), "
               "(1, true), (99, true);");
    refuses(loaded("goose"), "goose", RETORT_EUNKNOWN, "99");
}

static void test_several_tools_tables_without_a_name_are_refused(void **state)
{
    (void)state;
    tool_table(goose_pg, goose_sqlite, NULL);
    tool_table(diesel_ddl, diesel_ddl, NULL);
    refuses(loaded("goose"), NULL, RETORT_EINVAL, "goose_db_version");
}

static void test_upgrade_and_check_before_adoption_refuse_naming_the_table(void **state)
{
    (void)state;
    tool_table(goose_pg, goose_sqlite,
               "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), "
               "(1, true);");
    retort *r = loaded("goose");
    assert_int_equal(retort_migrate_to_head(r), RETORT_EUNKNOWN);
    assert_non_null(strstr(retort_errmsg(r), "goose_db_version"));
    assert_non_null(strstr(retort_errmsg(r), "retort adopt"));
    assert_int_equal(retort_check(r), RETORT_EUNKNOWN);
    assert_non_null(strstr(retort_errmsg(r), "goose_db_version"));
    assert_no_table("retort_version");
    assert_no_table("users");
    /* the way out that starts from nothing */
    assert_ok(r, retort_stamp(r, "base"));
    assert_ok(r, retort_migrate_to_head(r));
    assert_table("users");
}

static void test_no_tool_table_is_enotfound(void **state)
{
    (void)state;
    refuses(loaded("goose"), NULL, RETORT_ENOTFOUND, "goose_db_version");
}

/* A Flyway directory with repeatable migrations, in the fixture's directory:
 * V1 creates a; R__seed and R__other insert into it. */
static retort *repeatable_loaded(void)
{
    char *d = fixture_path("flyway_r");
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir '%s' && "
             "printf 'CREATE TABLE a (x INTEGER);\n' > '%s/V1__a.sql' && "
             "printf 'INSERT INTO a VALUES (1);\n' > '%s/R__seed.sql' && "
             "printf 'INSERT INTO a VALUES (5);\n' > '%s/R__other.sql'",
             d, d, d, d, d);
    assert_int_equal(system(cmd), 0);
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    free(d);
    return r;
}

/* Flyway records a repeatable migration with version NULL and its CRC-32
 * checksum: one whose file still has that checksum is adopted as applied
 * (and does not run again); one whose file changed since is not recorded,
 * so the next upgrade runs it, as Flyway would. */
static void test_flyway_repeatable_migrations_are_adopted_by_checksum(void **state)
{
    (void)state;
    retort *r = repeatable_loaded();
    fixture_exec("CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);");
    /* 2094847657: Flyway's checksum of "INSERT INTO a VALUES (1);\n" */
    tool_table(flyway_pg, flyway_sqlite,
               "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
               "script, checksum, installed_by, execution_time, success) VALUES "
               "(1, '1', 'a', 'SQL', 'V1__a.sql', 7, 'u', 3, true), "
               "(2, NULL, 'seed', 'SQL', 'R__seed.sql', 11, 'u', 3, true), "
               "(3, NULL, 'other', 'SQL', 'R__other.sql', 12345, 'u', 3, true), "
               "(4, NULL, 'seed', 'SQL', 'R__seed.sql', 2094847657, 'u', 3, true);");
    assert_ok(r, retort_adopt(r, "flyway"));
    assert_version_ids("R__seed V1__a");
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids("R__other R__seed V1__a");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 2);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a WHERE x = 5"), 1);
}

static void test_flyway_repeatable_the_directory_lacks_is_refused_naming_it(void **state)
{
    (void)state;
    retort *r = repeatable_loaded();
    tool_table(flyway_pg, flyway_sqlite,
               "INSERT INTO flyway_schema_history (installed_rank, version, description, type, "
               "script, checksum, installed_by, execution_time, success) VALUES "
               "(1, '1', 'a', 'SQL', 'V1__a.sql', 7, 'u', 3, true), "
               "(2, NULL, 'gone', 'SQL', 'R__gone.sql', 11, 'u', 3, true);");
    refuses(r, "flyway", RETORT_EUNKNOWN, "R__gone");
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_goose_table_is_detected_and_adopted),
        T(test_golang_migrate_table_is_adopted_up_to_its_version),
        T(test_dirty_golang_migrate_table_is_refused_naming_the_version),
        T(test_flyway_history_is_adopted_by_version),
        T(test_failed_flyway_migration_is_refused_naming_it),
        T(test_flyway_repeatable_migrations_are_adopted_by_checksum),
        T(test_flyway_repeatable_the_directory_lacks_is_refused_naming_it),
        T(test_sqlx_table_is_adopted),
        T(test_diesel_table_is_adopted),
        T(test_sql_migrate_table_is_adopted),
        T(test_dbmate_table_is_detected_and_adopted),
        T(test_alembic_head_implies_its_ancestors),
        T(test_version_the_directory_lacks_is_refused_naming_it),
        T(test_several_tools_tables_without_a_name_are_refused),
        T(test_upgrade_and_check_before_adoption_refuse_naming_the_table),
        T(test_no_tool_table_is_enotfound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
