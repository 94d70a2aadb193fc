/*
 * harness.h — shared by the harness tests (tests/harness): fresh targets on
 * the backend the fixture selected (RETORT_TEST_BACKEND), migrations that
 * are right or wrong in known ways, and snapshot helpers.  Header-only; each
 * test executable includes it once.
 */
#ifndef RETORT_TEST_HARNESS_H
#define RETORT_TEST_HARNESS_H

#include "fixture.h"

#include <retort/backend.h>

/* Where retort_new_fresh makes its targets for the selected backend: a
 * private in-memory SQLite database, or a new schema on the server the
 * libpq environment names. */
static inline const char *fresh_url(void)
{
    return fixture_is_postgres() ? "postgresql:" : "sqlite::memory:";
}

/* A context on a fresh target, freed (and its target torn down) at the
 * test's teardown unless fixture_free() frees it earlier. */
static inline retort *fresh(void)
{
    retort *r = NULL;
    int rc = retort_new_fresh(&r, fresh_url());
    fixture_adopt(r);
    if (rc != RETORT_OK)
        fail_msg("retort_new_fresh(%s) returned %d: %s", fresh_url(), rc, retort_errmsg(r));
    return r;
}

/* The snapshot as a malloc'd copy (the context's string lasts only until
 * its next call). */
static inline char *snapshot(retort *r)
{
    const char *text = NULL;
    int rc = retort_schema_snapshot(r, &text);
    if (rc != RETORT_OK)
        fail_msg("retort_schema_snapshot returned %d: %s", rc, retort_errmsg(r));
    char *copy = strdup(text);
    if (!copy)
        fail_msg("out of memory");
    return copy;
}

/* Migrates a fresh target with sql and returns its snapshot (malloc'd). */
static inline char *snapshot_of(const char *sql)
{
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "schema", NULL, NULL, sql, "SELECT 1"));
    assert_ok(r, retort_migrate_to_head(r));
    char *text = snapshot(r);
    fixture_free(r);
    return text;
}

/* Asserts that text has line as one of its lines, exactly. */
#define assert_line(text, line)                                                                \
    do {                                                                                       \
        const char *t_ = (text), *l_ = (line);                                                 \
        size_t n_ = strlen(l_);                                                                \
        int found_ = 0;                                                                        \
        for (const char *p_ = t_; p_ && *p_ && !found_;) {                                     \
            const char *e_ = strchr(p_, '\n');                                                 \
            size_t len_ = e_ ? (size_t)(e_ - p_) : strlen(p_);                                 \
            found_ = len_ == n_ && memcmp(p_, l_, n_) == 0;                                    \
            p_ = e_ ? e_ + 1 : p_ + len_;                                                      \
        }                                                                                      \
        if (!found_)                                                                           \
            fail_msg("expected the line \"%s\" in the snapshot:\n%s", l_, t_ ? t_ : "(NULL)");  \
    } while (0)

/* The same assertion with a line that differs by backend. */
#define assert_line2(text, sqlite_line, postgres_line)                                         \
    assert_line(text, fixture_is_postgres() ? (postgres_line) : (sqlite_line))

/* Registers a linear history of SQL revisions "001", "002", ... */
typedef struct {
    const char *up, *down;
} sql_step;

static inline void add_linear(retort *r, const sql_step *steps, int n)
{
    for (int i = 0; i < n; i++) {
        char id[16], parent[16];
        snprintf(id, sizeof id, "%03d", i + 1);
        snprintf(parent, sizeof parent, "%03d", i);
        assert_ok(r, retort_add_sql(r, id, i ? parent : NULL, NULL, steps[i].up, steps[i].down));
    }
}

/* Which backend runs a test: cmocka's skip() prints "not ok # SKIP",
 * which Meson counts as a failure, so a test meant for the other backend is
 * left out of the run instead. */
enum {
    ON_BOTH,
    ON_SQLITE,
    ON_POSTGRES,
    ON_BOTH_WITH_SQLITE_DRIVER /* borrows the SQLite driver's vtable */
};

typedef struct {
    struct CMUnitTest test;
    int on;
} backend_test;

#define BACKEND_TEST(f, on)                                                                    \
    {cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown), on}

static inline int run_backend_tests(const backend_test *tests, size_t n)
{
    struct CMUnitTest *run = calloc(n ? n : 1, sizeof *run);
    if (!run)
        return 1;
    size_t k = 0;
    int pg = fixture_is_postgres();
    int sqlite_driver = retort_backend_find("sqlite") != NULL;
    for (size_t i = 0; i < n; i++)
        if (tests[i].on == ON_BOTH || tests[i].on == (pg ? ON_POSTGRES : ON_SQLITE) ||
            (tests[i].on == ON_BOTH_WITH_SQLITE_DRIVER && sqlite_driver))
            run[k++] = tests[i].test;
    int rc = _cmocka_run_group_tests("tests", run, k, NULL, NULL);
    free(run);
    return rc;
}

#endif
