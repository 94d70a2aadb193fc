/*
 * fixture.h — a fresh, isolated database per integration test, on the
 * backend named by the environment variable RETORT_TEST_BACKEND ("sqlite",
 * the default, or "postgresql"), and helpers that read the database's end
 * state WITHOUT going through retort (sqlite3 / libpq directly), so that a
 * test checks what the library did, not what it says it did.
 *
 * Use:
 *     int main(void) {
 *         if (fixture_skip_if_unavailable())
 *             return 0;              // printed "1..0 # SKIP ..." for TAP
 *         const struct CMUnitTest tests[] = {
 *             cmocka_unit_test_setup_teardown(test_x, fixture_setup, fixture_teardown),
 *         };
 *         return cmocka_run_group_tests(tests, NULL, NULL);
 *     }
 *
 * SQLite: a new mkdtemp directory per test holding "test.db", removed at
 * teardown.  PostgreSQL: a new schema created through libpq from the libpq
 * environment (PGHOST etc., as pg_virtualenv sets them), a URL
 * "postgresql:options='-csearch_path=SCHEMA'" so that migrations create
 * their tables there, and fixture_new() also sets the context's schema; the
 * schema is dropped CASCADE at teardown.  Both backends get the temporary
 * directory (fixture_dir()) for files a test wants to write.
 *
 * Every helper that returns char * returns malloc'd memory the caller frees.
 * Contexts made by fixture_new() are freed at teardown (so that a failing
 * assertion does not leak them); fixture_free() frees one earlier.
 */
#ifndef RETORT_TEST_FIXTURE_H
#define RETORT_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <retort/retort.h>

#include "assertions.h"

/* Prints a TAP "1..0 # SKIP reason" plan and returns 1 when the selected
 * backend cannot be tested here (PostgreSQL without PGHOST or without a
 * reachable server, or a library built without that backend); 0 otherwise.
 * An unknown RETORT_TEST_BACKEND is a hard failure (exit 1), never a skip. */
int fixture_skip_if_unavailable(void);

/* cmocka setup / teardown: a fresh database (and temporary directory). */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* "sqlite" or "postgresql", as retort_conn_backend() names them. */
const char *fixture_backend(void);
int fixture_is_postgres(void);

/* The current test's database URL, schema (NULL on SQLite), temporary
 * directory and (SQLite) database file.  Valid until teardown. */
const char *fixture_url(void);
const char *fixture_schema(void);
const char *fixture_dir(void);
const char *fixture_sqlite_path(void);

/* A new context on fixture_url() with the fixture's schema set; fails the
 * test on error.  Freed at teardown unless fixture_free() frees it first. */
retort *fixture_new(void);
void fixture_free(retort *r);
/* Adopts a context created by the test itself, to be freed at teardown. */
void fixture_adopt(retort *r);

/* End state, read independently of retort.  Tables are looked up in the
 * test's schema (PostgreSQL) or the main database (SQLite). */
int fixture_table_exists(const char *name);
/* The ids recorded in the version table "retort_version" (or table),
 * sorted bytewise, space-separated; "" when the table is missing or empty. */
char *fixture_version_ids(void);
char *fixture_version_ids_in(const char *table);
/* The first column of the first row of sql as text; NULL when there is no
 * row, "(null)" for SQL NULL.  Fails the test on an SQL error. */
char *fixture_scalar(const char *sql);
/* fixture_scalar() as a number; fails the test unless it is an integer. */
long fixture_count(const char *sql);
/* Runs statements; fails the test on error. */
void fixture_exec(const char *sql);

/* Routes r's log messages of level <= level into a buffer owned by the
 * fixture (cleared at teardown): one "LEVEL<TAB>message" line each, LEVEL
 * being the number.  fixture_log_text() returns everything captured so far
 * from every context routed there; fixture_log_count(level) counts lines. */
void fixture_capture_log(retort *r, int level);
const char *fixture_log_text(void);
int fixture_log_count(int level);

/* A path inside fixture_dir() (malloc'd). */
char *fixture_path(const char *name);
/* The whole content of a file (malloc'd), NULL if it does not exist. */
char *fixture_read_file(const char *path);


#define assert_version_ids(expected)                                                           \
    do {                                                                                       \
        char *v_ = fixture_version_ids();                                                      \
        const char *e_ = (expected);                                                           \
        if (strcmp(v_, e_) != 0) {                                                             \
            char copy_[1024];                                                                  \
            snprintf(copy_, sizeof copy_, "%s", v_);                                           \
            free(v_);                                                                          \
            fail_msg("version table holds \"%s\", expected \"%s\"", copy_, e_);               \
        }                                                                                      \
        free(v_);                                                                              \
    } while (0)

#define assert_table(name) assert_true(fixture_table_exists(name))
#define assert_no_table(name) assert_false(fixture_table_exists(name))

#define assert_current(r, expected)                                                            \
    do {                                                                                       \
        const char *cur_ = NULL;                                                               \
        assert_ok(r, retort_current(r, &cur_));                                                \
        assert_non_null(cur_);                                                                 \
        assert_string_equal(cur_, expected);                                                   \
    } while (0)

#endif
