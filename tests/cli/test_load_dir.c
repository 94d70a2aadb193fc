/*
 * test_load_dir.c — retort_load_dir() through the public API: what it
 * registers from each format, and that any error registers nothing, not
 * even the files that came before the bad one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <retort/retort.h>

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/retort-load-dir-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static retort *new_context(void)
{
    retort *r = NULL;
    assert_int_equal(retort_new(&r, "sqlite::memory:"), RETORT_OK);
    return r;
}

static int count(retort *r)
{
    int n = -1;
    assert_int_equal(retort_revision_count(r, &n), RETORT_OK);
    return n;
}

static int up(retort_conn *conn, void *user)
{
    (void)conn;
    (void)user;
    return 0;
}

static void test_both_formats_register_with_default_parents(void **state)
{
    (void)state;
    write_file("001_a.up.sql", "CREATE TABLE a (x INTEGER);\n");
    write_file("001_a.down.sql", "DROP TABLE a;\n");
    write_file("002_b.sql", "-- retort:message bee\n-- retort:no-transaction\n-- retort:up\n"
                            "CREATE TABLE b (x INTEGER);\n");
    write_file("README.md", "not a migration\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(count(r), 2);
    const char *id, *parents, *message;
    int flags;
    assert_int_equal(retort_revision_info(r, 0, &id, &parents, &message, &flags), RETORT_OK);
    assert_string_equal(id, "001_a");
    assert_string_equal(parents, "");
    assert_string_equal(message, "a");
    assert_int_equal(flags & (RETORT_REV_SQL | RETORT_REV_IRREVERSIBLE), RETORT_REV_SQL);
    assert_int_equal(retort_revision_info(r, 1, &id, &parents, &message, &flags), RETORT_OK);
    assert_string_equal(id, "002_b");
    assert_string_equal(parents, "001_a");
    assert_string_equal(message, "bee");
    assert_true(flags & RETORT_REV_IRREVERSIBLE);
    assert_true(flags & RETORT_REV_NO_TRANSACTION);
    retort_free(r);
}

static void test_error_in_a_later_file_registers_nothing(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:up\nSELECT 1;\n");
    write_file("002_b.sql", "-- retort:up\nSELECT 1;\n");
    write_file("003_c.sql", "-- retort:oops\n-- retort:up\n");
    retort *r = new_context();
    assert_int_equal(retort_add(r, "app_1", NULL, NULL, up, NULL, NULL), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "003_c.sql:1: unknown directive"));
    assert_int_equal(count(r), 1); /* only the revision registered before */
    retort_free(r);
}

static void test_id_already_registered_is_eexist_and_registers_nothing(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:up\nSELECT 1;\n");
    write_file("002_b.sql", "-- retort:up\nSELECT 1;\n");
    retort *r = new_context();
    assert_int_equal(retort_add(r, "002_b", NULL, NULL, up, NULL, NULL), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_EEXIST);
    assert_non_null(strstr(retort_errmsg(r), "002_b.sql"));
    assert_int_equal(count(r), 1);
    retort_free(r);
}

static void test_parent_may_be_an_already_registered_revision(void **state)
{
    (void)state;
    write_file("010_x.sql", "-- retort:parents app_1\n-- retort:up\nSELECT 1;\n");
    retort *r = new_context();
    assert_int_equal(retort_add(r, "app_1", NULL, NULL, up, NULL, NULL), RETORT_OK);
    assert_int_equal(retort_revision_set_transactional(r, "app_1", 0), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(count(r), 2);
    const char *heads;
    assert_int_equal(retort_heads(r, &heads), RETORT_OK);
    assert_string_equal(heads, "010_x");
    /* What was registered before keeps its settings. */
    int flags;
    assert_int_equal(retort_revision_info(r, 0, NULL, NULL, NULL, &flags), RETORT_OK);
    assert_true(flags & RETORT_REV_NO_TRANSACTION);
    retort_free(r);
}

static void test_loading_twice_is_eexist_and_keeps_the_first(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:up\nSELECT 1;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_EEXIST);
    assert_int_equal(count(r), 1);
    retort_free(r);
}

static void test_branch_labels_and_depends_on_headers_shape_the_plan(void **state)
{
    (void)state;
    write_file("001_core.sql", "-- retort:parents\n-- retort:up\nSELECT 1;\n");
    write_file("002_net.sql", "-- retort:parents\n-- retort:branch-labels networking, net\n"
                              "-- retort:depends-on 001_core\n-- retort:up\nSELECT 1;\n");
    write_file("003_ip.sql", "-- retort:parents 002_net\n-- retort:up\nSELECT 1;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    const char *ids = NULL;
    /* depends_on is not a parent: two heads, and networking@head pulls 001_core */
    assert_int_equal(retort_heads(r, &ids), RETORT_OK);
    assert_string_equal(ids, "001_core 003_ip");
    assert_int_equal(retort_plan(r, 1, "net@head", &ids), RETORT_OK);
    assert_string_equal(ids, "001_core 002_net 003_ip");
    assert_int_equal(retort_plan(r, 1, "networking", &ids), RETORT_OK);
    assert_string_equal(ids, "001_core 002_net");
    retort_free(r);
}

static void test_a_label_clash_between_files_registers_nothing(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:branch-labels shared\n-- retort:up\nSELECT 1;\n");
    write_file("002_b.sql", "-- retort:parents\n-- retort:branch-labels shared\n"
                            "-- retort:up\nSELECT 1;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EEXIST);
    assert_non_null(strstr(retort_errmsg(r), "002_b.sql:2"));
    assert_non_null(strstr(retort_errmsg(r), "shared"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void test_missing_directory_is_eio(void **state)
{
    (void)state;
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, "/nonexistent/retort-dir"), RETORT_EIO);
    assert_non_null(strstr(retort_errmsg(r), "/nonexistent/retort-dir"));
    assert_int_equal(retort_load_dir(r, NULL), RETORT_EINVAL);
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void test_empty_directory_is_enotfound_naming_it(void **state)
{
    (void)state;
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_ENOTFOUND);
    assert_non_null(strstr(retort_errmsg(r), dir));
    assert_non_null(strstr(retort_errmsg(r), "empty"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void make_subdir(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
}

static void test_directory_of_unrecognised_entries_is_enotfound_naming_them(void **state)
{
    (void)state;
    write_file("README.md", "notes\n");
    write_file("schema.txt", "notes\n");
    make_subdir("docs");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_ENOTFOUND);
    assert_non_null(strstr(retort_errmsg(r), "README.md"));
    assert_non_null(strstr(retort_errmsg(r), "schema.txt"));
    assert_non_null(strstr(retort_errmsg(r), "docs"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static char logged[4096];

static void capture(int level, const char *msg, void *user)
{
    (void)user;
    if (level == RETORT_LOG_INFO && strlen(logged) + strlen(msg) + 2 < sizeof logged) {
        strcat(logged, msg);
        strcat(logged, "\n");
    }
}

static void test_skipped_entries_are_listed_at_info_level(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:up\nSELECT 1;\n");
    write_file("README.md", "notes\n");
    write_file("embed.go", "package migrations\n"); /* not a goose migration: no version */
    logged[0] = '\0';
    retort *r = new_context();
    assert_int_equal(retort_set_log_level(r, RETORT_LOG_INFO), RETORT_OK);
    assert_int_equal(retort_set_log(r, capture, NULL), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(count(r), 1);
    assert_non_null(strstr(logged, "README.md"));
    assert_non_null(strstr(logged, "embed.go"));
    retort_free(r);
}

static void test_goose_go_migration_is_an_error_naming_it(void **state)
{
    (void)state;
    write_file("00001_a.sql", "-- +goose Up\nSELECT 1;\n");
    write_file("00002_backfill.go", "package migrations\n");
    write_file("00003_c.sql", "-- +goose Up\nSELECT 1;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "00002_backfill.go"));
    assert_non_null(strstr(retort_errmsg(r), "goose Go migration"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void test_pop_fizz_file_is_an_error_naming_it(void **state)
{
    (void)state;
    write_file("20160808213308_create_widgets.up.fizz", "create_table(\"widgets\") {}\n");
    write_file("20160808213309_b.up.sql", "SELECT 1;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "20160808213308_create_widgets.up.fizz"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void test_template_action_is_an_error_naming_file_and_line(void **state)
{
    (void)state;
    write_file("001_a.up.sql", "SELECT '{{1,2},{3,4}}';\n"); /* an array literal: fine */
    write_file("002_b.up.sql", "-- pop\nCREATE TABLE {{ .TableName }} (x INTEGER);\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "002_b.up.sql:2:"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void test_near_miss_markers_are_errors_naming_file_and_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where;
    } cases[] = {
        {"-- +goose Up\nSELECT 1;\n-- +goose Dwon\nSELECT 2;\n", "x.sql:3:"},
        {"-- +migrate Up\nSELECT 1;\n-- +migrate down\nSELECT 2;\n", "x.sql:3:"},
        {"-- migrate:up\nSELECT 1;\n-- migrate:dwon\nSELECT 2;\n", "x.sql:3:"},
        {"SELECT 1;\n-- morph:nontransactionl\n", "x.sql:2:"},
        {"-- retort:up\nSELECT 1;\n-- +goose Down\nSELECT 2;\n", "x.sql:3:"},
        {"-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n", "x.sql:2:"},
        /* another tool's flag in a file with section markers is not taken
         * silently as this file's setting */
        {"-- retort:up\n-- no-transaction\nSELECT 1;\n", "x.sql:2:"},
        {"-- +goose Up\n-- morph:nontransactional\nSELECT 1;\n", "x.sql:2:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file("x.sql", cases[i].text);
        retort *r = new_context();
        assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
        if (!strstr(retort_errmsg(r), cases[i].where))
            fail_msg("case %zu: '%s' does not name %s", i, retort_errmsg(r), cases[i].where);
        assert_int_equal(count(r), 0);
        retort_free(r);
    }
}

static void test_file_without_markers_is_an_up_only_migration(void **state)
{
    (void)state;
    write_file("20240101000000_init.sql", "CREATE TABLE a (x INTEGER);\n-- a comment\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    const char *id;
    int flags;
    assert_int_equal(retort_revision_info(r, 0, &id, NULL, NULL, &flags), RETORT_OK);
    assert_string_equal(id, "20240101000000_init");
    assert_true(flags & RETORT_REV_IRREVERSIBLE);
    assert_false(flags & RETORT_REV_NO_TRANSACTION);
    retort_free(r);
}

static void test_flyway_versions_sort_by_numeric_segments(void **state)
{
    (void)state;
    write_file("V1_10__ten.sql", "SELECT 10;\n");
    write_file("V1_2__two.sql", "SELECT 2;\n");
    write_file("V1__one.sql", "SELECT 1;\n");
    write_file("V1.3__three.sql", "SELECT 3;\n");
    write_file("U1_10__ten.sql", "SELECT -10;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    static const char *const order[] = {"V1__one", "V1_2__two", "V1.3__three", "V1_10__ten"};
    for (int i = 0; i < 4; i++) {
        const char *id, *message;
        int flags;
        assert_int_equal(retort_revision_info(r, i, &id, NULL, &message, &flags), RETORT_OK);
        assert_string_equal(id, order[i]);
        /* only V1_10 has its undo file */
        assert_int_equal(!(flags & RETORT_REV_IRREVERSIBLE), i == 3);
    }
    const char *message;
    assert_int_equal(retort_revision_info(r, 3, NULL, NULL, &message, NULL), RETORT_OK);
    assert_string_equal(message, "ten");
    retort_free(r);
}

static void test_flyway_same_version_twice_is_an_error(void **state)
{
    (void)state;
    write_file("V1_1__a.sql", "SELECT 1;\n");
    write_file("V1.1__b.sql", "SELECT 2;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "same Flyway version"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void test_flyway_undo_without_its_version_is_an_error(void **state)
{
    (void)state;
    write_file("V1__a.sql", "SELECT 1;\n");
    write_file("U2__b.sql", "SELECT 2;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "U2__b.sql"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

/* A repeatable migration is read, but is no revision: V1 stays a root and
 * the only revision (repeatable.c runs it after the versioned ones). */
static void test_flyway_repeatable_migration_is_no_revision(void **state)
{
    (void)state;
    write_file("1_a.sql", "SELECT 1;\n");
    write_file("R__views.sql", "SELECT 2;\n");
    write_file("V1__b.sql", "SELECT 3;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(count(r), 2);
    const char *id = NULL, *parents = NULL;
    assert_int_equal(retort_revision_info(r, 0, &id, &parents, NULL, NULL), RETORT_OK);
    assert_string_equal(id, "1_a");
    assert_string_equal(parents, "");
    assert_int_equal(retort_revision_info(r, 1, &id, &parents, NULL, NULL), RETORT_OK);
    assert_string_equal(id, "V1__b");
    assert_string_equal(parents, "1_a");
    retort_free(r);
}

static void test_diesel_directory_is_a_revision_named_after_it(void **state)
{
    (void)state;
    make_subdir("2024-01-01-000000_create_posts");
    write_file("2024-01-01-000000_create_posts/up.sql", "CREATE TABLE posts (x INTEGER);\n");
    write_file("2024-01-01-000000_create_posts/down.sql", "DROP TABLE posts;\n");
    make_subdir("2024-01-02-000000_index");
    write_file("2024-01-02-000000_index/up.sql", "CREATE INDEX p_x ON posts (x);\n");
    write_file("2024-01-02-000000_index/metadata.toml",
               "# diesel\nrun_in_transaction = false\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(count(r), 2);
    const char *id, *parents, *message;
    int flags;
    assert_int_equal(retort_revision_info(r, 0, &id, &parents, &message, &flags), RETORT_OK);
    assert_string_equal(id, "2024-01-01-000000_create_posts");
    assert_string_equal(message, "create posts");
    assert_false(flags & (RETORT_REV_IRREVERSIBLE | RETORT_REV_NO_TRANSACTION));
    assert_int_equal(retort_revision_info(r, 1, &id, &parents, NULL, &flags), RETORT_OK);
    assert_string_equal(id, "2024-01-02-000000_index");
    assert_string_equal(parents, "2024-01-01-000000_create_posts");
    assert_true(flags & RETORT_REV_NO_TRANSACTION);
    assert_true(flags & RETORT_REV_IRREVERSIBLE);
    retort_free(r);
}

static void test_diesel_metadata_setting_retort_cannot_honour_is_an_error(void **state)
{
    (void)state;
    make_subdir("2024-01-01-000000_a");
    write_file("2024-01-01-000000_a/up.sql", "SELECT 1;\n");
    write_file("2024-01-01-000000_a/metadata.toml", "run_in_transaction = no\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "2024-01-01-000000_a/metadata.toml:1:"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

static void test_goose_envsub_substitutes_and_checksums_the_file_text(void **state)
{
    (void)state;
    write_file("00001_a.sql",
               "-- +goose Up\n-- +goose ENVSUB ON\n"
               "CREATE TABLE t (a TEXT, b TEXT, c TEXT);\n"
               "INSERT INTO t VALUES ('${RETORT_T_GOOSE}', '${RETORT_T_UNSET:-dflt}', '$$');\n"
               "-- +goose ENVSUB OFF\n"
               "INSERT INTO t VALUES ('${RETORT_T_GOOSE}', '', '');\n");
    setenv("RETORT_T_GOOSE", "first", 1);
    unsetenv("RETORT_T_UNSET");
    char url[128], db[96];
    snprintf(db, sizeof db, "%s.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", db);
    retort *r = NULL;
    assert_int_equal(retort_new(&r, url), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    const char *script = NULL;
    assert_int_equal(retort_upgrade_sql(r, "head", &script), RETORT_OK);
    assert_non_null(strstr(script, "VALUES ('first', 'dflt', '$');"));
    assert_non_null(strstr(script, "VALUES ('${RETORT_T_GOOSE}', '', '');"));
    assert_int_equal(retort_migrate_to_head(r), RETORT_OK);
    retort_free(r);

    /* Another environment is not a changed migration: the checksum is of
     * the file's text. */
    setenv("RETORT_T_GOOSE", "second", 1);
    r = NULL;
    assert_int_equal(retort_new(&r, url), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(retort_check(r), RETORT_OK);
    retort_free(r);
    unsetenv("RETORT_T_GOOSE");
    unlink(db);
}

static void test_goose_envsub_required_variable_unset_is_an_error(void **state)
{
    (void)state;
    write_file("00001_a.sql", "-- +goose Up\n-- +goose ENVSUB ON\n"
                              "SELECT '${RETORT_T_UNSET:?needed for the seed}';\n");
    unsetenv("RETORT_T_UNSET");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "00001_a.sql:3:"));
    assert_non_null(strstr(retort_errmsg(r), "RETORT_T_UNSET"));
    assert_int_equal(count(r), 0);
    retort_free(r);
}

/* An allocator that refuses anything larger than 512 MiB: reading a huge
 * file whole would show up as RETORT_ENOMEM. */
static void *capped_malloc(size_t n) { return n > (512u << 20) ? NULL : malloc(n); }
static void *capped_realloc(void *p, size_t n) { return n > (512u << 20) ? NULL : realloc(p, n); }

static void test_huge_file_of_nul_bytes_is_refused_without_reading_it_whole(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:up\nCREATE TABLE a (x INTEGER);\n");
    /* 2 GiB, sparse: text, then a hole that reads as NUL bytes. */
    char path[256];
    snprintf(path, sizeof path, "%s/002_b.sql", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("-- retort:up\nCREATE TABLE b (x INTEGER);\n", f);
    fclose(f);
    assert_int_equal(truncate(path, 2L << 30), 0);
    assert_int_equal(retort_set_allocator(capped_malloc, capped_realloc, free), RETORT_OK);
    retort *r = new_context();
    int rc = retort_load_dir(r, dir);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", retort_errmsg(r));
    int n = count(r);
    retort_free(r);
    assert_int_equal(retort_set_allocator(NULL, NULL, NULL), RETORT_OK);
    if (rc != RETORT_EPARSE)
        fail_msg("retort_load_dir returned %d: %s", rc, msg);
    assert_non_null(strstr(msg, "002_b.sql:3"));
    assert_non_null(strstr(msg, "NUL byte"));
    assert_int_equal(n, 0);
}

static void test_file_larger_than_the_limit_is_refused_naming_it(void **state)
{
    (void)state;
    /* 129 MiB of SQL text would be read whole; the 128 MiB limit stops it
     * at that size.  A sparse file cannot hold text: this one is comment
     * lines, written in 1 MiB blocks. */
    char path[256];
    snprintf(path, sizeof path, "%s/001_big.sql", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    static char block[1 << 20];
    memset(block, '-', sizeof block);
    for (size_t i = 1023; i < sizeof block; i += 1024)
        block[i] = '\n';
    for (int i = 0; i < 129; i++)
        assert_int_equal(fwrite(block, 1, sizeof block, f), sizeof block);
    fclose(f);
    assert_int_equal(retort_set_allocator(capped_malloc, capped_realloc, free), RETORT_OK);
    retort *r = new_context();
    int rc = retort_load_dir(r, dir);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", retort_errmsg(r));
    retort_free(r);
    assert_int_equal(retort_set_allocator(NULL, NULL, NULL), RETORT_OK);
    if (rc != RETORT_EPARSE)
        fail_msg("retort_load_dir returned %d: %s", rc, msg);
    assert_non_null(strstr(msg, "001_big.sql"));
    assert_non_null(strstr(msg, "larger than"));
}

/* retort_load_dirs: two subdirectories of dir whose parents cross. */
static void test_load_dirs_reads_several_directories_as_one_registry(void **state)
{
    (void)state;
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(b, 0700), 0);
    write_file("a/001.sql", "-- retort:up\nCREATE TABLE t1 (x INTEGER);\n");
    write_file("b/002.sql", "-- retort:parents 001\n-- retort:up\nCREATE TABLE t2 (x INTEGER);\n");
    write_file("a/003.sql", "-- retort:parents 002\n-- retort:up\nCREATE TABLE t3 (x INTEGER);\n");
    const char *paths[] = {a, b};
    retort *r = new_context();
    assert_int_equal(retort_load_dirs(r, paths, 2), RETORT_OK);
    assert_int_equal(count(r), 3);
    const char *heads;
    assert_int_equal(retort_heads(r, &heads), RETORT_OK);
    assert_string_equal(heads, "003");
    retort_free(r);

    /* the same id in both: an error naming both files, nothing registered */
    write_file("b/001.sql", "-- retort:up\nCREATE TABLE t9 (x INTEGER);\n");
    r = new_context();
    assert_int_equal(retort_load_dirs(r, paths, 2), RETORT_EEXIST);
    assert_non_null(strstr(retort_errmsg(r), "a/001.sql"));
    assert_non_null(strstr(retort_errmsg(r), "b/001.sql"));
    assert_int_equal(count(r), 0);
    assert_int_equal(retort_load_dirs(r, paths, 0), RETORT_EINVAL);
    assert_int_equal(retort_load_dirs(r, NULL, 1), RETORT_EINVAL);
    retort_free(r);
}

static void test_load_dirs_skips_an_empty_directory_unless_all_are(void **state)
{
    (void)state;
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    assert_int_equal(mkdir(a, 0700), 0);
    assert_int_equal(mkdir(b, 0700), 0);
    const char *paths[] = {a, b};
    retort *r = new_context();
    assert_int_equal(retort_load_dirs(r, paths, 2), RETORT_ENOTFOUND);
    write_file("b/001.sql", "-- retort:up\nCREATE TABLE t1 (x INTEGER);\n");
    assert_int_equal(retort_load_dirs(r, paths, 2), RETORT_OK);
    assert_int_equal(count(r), 1);
    retort_free(r);
}

/* A file whose up section is still the template's (empty, or comments
 * only) loads, so that the graph and history see it, but no upgrade runs
 * it or anything planned with it; the error names the file. */
static void test_unfilled_template_is_refused_by_upgrade_naming_the_file(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:up\nCREATE TABLE a (x INTEGER);\n");
    write_file("002_b.sql", "-- retort:parents 001_a\n-- retort:message create b\n"
                            "-- retort:up\n\n-- write it here\n\n-- retort:down\n"
                            "DROP TABLE b;\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(count(r), 2);
    assert_int_equal(retort_upgrade(r, "head"), RETORT_EPARSE);
    assert_non_null(strstr(retort_errmsg(r), "002_b.sql"));
    assert_non_null(strstr(retort_errmsg(r), "'-- retort:up'"));
    const char *cur = NULL;
    assert_int_equal(retort_current(r, &cur), RETORT_OK);
    assert_string_equal(cur, ""); /* not even 001_a ran */
    const char *script = NULL;
    assert_int_equal(retort_upgrade_sql(r, "base:head", &script), RETORT_EPARSE);
    assert_int_equal(retort_upgrade(r, "001_a"), RETORT_OK);
    assert_int_equal(retort_current(r, &cur), RETORT_OK);
    assert_string_equal(cur, "001_a");
    retort_free(r);
}

/* A merge joins heads and may be empty, as Alembic's merges are. */
static void test_empty_merge_revision_applies(void **state)
{
    (void)state;
    write_file("001_a.sql", "-- retort:up\nCREATE TABLE a (x INTEGER);\n");
    write_file("002_b.sql", "-- retort:parents\n-- retort:up\nCREATE TABLE b (x INTEGER);\n");
    write_file("003_m.sql", "-- retort:parents 001_a 002_b\n-- retort:up\n\n-- retort:down\n");
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(retort_upgrade(r, "head"), RETORT_OK);
    const char *cur = NULL;
    assert_int_equal(retort_current(r, &cur), RETORT_OK);
    assert_string_equal(cur, "003_m");
    retort_free(r);
}

/* Code and a directory in one graph: revisions registered in code first
 * may be the parents of the directory's files. */
static void test_files_may_build_on_revisions_registered_in_code(void **state)
{
    (void)state;
    write_file("002_b.sql", "-- retort:parents 001_code\n-- retort:up\n"
                            "CREATE TABLE b (x INTEGER);\n");
    retort *r = new_context();
    assert_int_equal(retort_add(r, "001_code", NULL, "in code", up, up, NULL), RETORT_OK);
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
    assert_int_equal(retort_upgrade(r, "head"), RETORT_OK);
    const char *cur = NULL;
    assert_int_equal(retort_current(r, &cur), RETORT_OK);
    assert_string_equal(cur, "002_b");
    retort_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_both_formats_register_with_default_parents, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_error_in_a_later_file_registers_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_id_already_registered_is_eexist_and_registers_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_parent_may_be_an_already_registered_revision, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_loading_twice_is_eexist_and_keeps_the_first, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_missing_directory_is_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_huge_file_of_nul_bytes_is_refused_without_reading_it_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_larger_than_the_limit_is_refused_naming_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_branch_labels_and_depends_on_headers_shape_the_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_label_clash_between_files_registers_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_directory_is_enotfound_naming_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_directory_of_unrecognised_entries_is_enotfound_naming_them, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_entries_are_listed_at_info_level, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_goose_go_migration_is_an_error_naming_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pop_fizz_file_is_an_error_naming_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_template_action_is_an_error_naming_file_and_line,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_near_miss_markers_are_errors_naming_file_and_line,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_without_markers_is_an_up_only_migration, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flyway_versions_sort_by_numeric_segments, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flyway_same_version_twice_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flyway_undo_without_its_version_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flyway_repeatable_migration_is_no_revision,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_diesel_directory_is_a_revision_named_after_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_diesel_metadata_setting_retort_cannot_honour_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_goose_envsub_substitutes_and_checksums_the_file_text,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_goose_envsub_required_variable_unset_is_an_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_dirs_reads_several_directories_as_one_registry,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_dirs_skips_an_empty_directory_unless_all_are,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_unfilled_template_is_refused_by_upgrade_naming_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_merge_revision_applies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_may_build_on_revisions_registered_in_code,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
