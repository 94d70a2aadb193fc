/*
 * test_app_migrations.c — how an application tests its migrations with
 * retort: each test gets its own fresh, empty target (retort_new_fresh: a
 * private in-memory SQLite database, or a uniquely named PostgreSQL schema
 * dropped at the end), registers the application's migrations on it, and
 * runs one of the ready-made checks.  A failing check fails the test with
 * retort_errmsg(), which names the revision at fault, for example:
 *
 *   stairway check failed: the downgrade of revision '20240102_notes'
 *   (notes, with an index per author) does not reverse its upgrade (step 2
 *   of 4): after upgrading and downgrading it, the schema differs from the
 *   schema before its upgrade:
 *     left behind by the downgrade: index notes_author_idx on notes (author)
 *
 * Tests of the application's own code need a database at head: the
 * fixture setup_at_head migrates a fresh target to the head, which copies a
 * template of the migrations (built by the first test that needs it, once,
 * even across parallel test processes) instead of running every migration
 * again; retort_fresh_url gives the application the URL to connect to.
 *
 * Run on SQLite by default; with APP_TEST_BACKEND=postgresql, on the server
 * the libpq environment (PGHOST, ...) names (a new database per test: the
 * role needs CREATEDB), or skipped when there is none.  Tests in parallel
 * processes never share a target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <retort/retort.h>

#include "app_migrations.h"

static const char *test_url = "sqlite::memory:";

/* Fails the test with retort's message when a call does not succeed. */
#define check(r, call)                                                                         \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != RETORT_OK)                                                                  \
            fail_msg("%s: %s", #call, retort_errmsg(r));                                       \
    } while (0)

/* A fresh target with the application's migrations registered. */
static int setup(void **state)
{
    retort *r = NULL;
    if (retort_new_fresh(&r, test_url) != RETORT_OK ||
        app_register_migrations(r) != RETORT_OK) {
        fprintf(stderr, "setup: %s\n", retort_errmsg(r));
        retort_free(r);
        return -1;
    }
    *state = r;
    return 0;
}

/* Tears the target down: the schema is dropped, the database closed. */
static int teardown(void **state)
{
    retort_free(*state);
    return 0;
}

/* A fresh target at head, for tests of the application's code: a copy of
 * the template.  template_key: this example's callbacks are C code, which
 * retort cannot hash; a build id or a hash of their sources goes here. */
static int setup_at_head(void **state)
{
    if (setup(state) != 0)
        return -1;
    retort *r = *state;
    if (retort_set(r, "template_key", "app-migrations-v1") != RETORT_OK ||
        retort_migrate_to_head(r) != RETORT_OK) {
        fprintf(stderr, "setup_at_head: %s\n", retort_errmsg(r));
        retort_free(r);
        return -1;
    }
    return 0;
}

/* What the application's code sees: its own connection, through the URL,
 * to a database at head. */
static void test_application_connects_to_a_database_at_head(void **state)
{
    retort *r = *state;
    const char *url = NULL;
    check(r, retort_fresh_url(r, &url));
    retort *app = NULL; /* stands for the application's own connection */
    check(app, retort_new(&app, url));
    check(app, app_register_migrations(app));
    check(app, retort_check(app));  /* at head: nothing pending */
    retort_free(app);
}

static void test_migrations_have_a_single_head(void **state)
{
    retort *r = *state;
    check(r, retort_test_single_head(r));
}

static void test_migrations_apply_to_an_empty_database(void **state)
{
    retort *r = *state;
    check(r, retort_test_upgrade(r));
}

/* The one test that catches a downgrade that does not undo its upgrade,
 * and names the revision. */
static void test_every_downgrade_reverses_its_upgrade(void **state)
{
    retort *r = *state;
    check(r, retort_test_stairway(r));
}

static void test_downgrading_to_base_leaves_an_empty_schema(void **state)
{
    retort *r = *state;
    check(r, retort_test_downgrade(r));
}

/* The snapshot also serves the application's own assertions about what
 * its schema looks like at head. */
static void test_schema_at_head_has_the_active_notes_view(void **state)
{
    retort *r = *state;
    check(r, retort_migrate_to_head(r));
    const char *schema = NULL;
    check(r, retort_schema_snapshot(r, &schema));
    if (!strstr(schema, "\ntable notes\n") || !strstr(schema, "\nview active_notes: "))
        fail_msg("unexpected schema at head:\n%s", schema);
}

int main(void)
{
    const char *backend = getenv("APP_TEST_BACKEND");
    if (backend && strcmp(backend, "postgresql") == 0) {
        const char *host = getenv("PGHOST");
        if (!host || !*host) {
            /* TAP: no tests, and why; Meson reports SKIP. */
            printf("1..0 # SKIP PGHOST is not set: no PostgreSQL server to test against "
                   "(run under scripts/with-postgres)\n");
            return 0;
        }
        test_url = "postgresql:"; /* everything else from the libpq environment */
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_have_a_single_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrations_apply_to_an_empty_database, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_downgrade_reverses_its_upgrade, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_downgrading_to_base_leaves_an_empty_schema, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_schema_at_head_has_the_active_notes_view, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_application_connects_to_a_database_at_head,
                                        setup_at_head, teardown),
        cmocka_unit_test_setup_teardown(test_application_connects_to_a_database_at_head,
                                        setup_at_head, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
