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

static void test_empty_directory_registers_nothing_and_succeeds(void **state)
{
    (void)state;
    retort *r = new_context();
    assert_int_equal(retort_load_dir(r, dir), RETORT_OK);
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
        cmocka_unit_test_setup_teardown(test_empty_directory_registers_nothing_and_succeeds, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
