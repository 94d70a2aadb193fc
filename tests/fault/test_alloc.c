/*
 * test_alloc.c — allocation failure through the public allocator hook
 * (retort_set_allocator): a whole upgrade (create a context, load a
 * directory of SQL files, register a callback revision, migrate to head,
 * read the current heads, free) is run once per allocation it makes, with
 * exactly that allocation failing, and once more per allocation with every
 * allocation from there on failing.  Each trial must end in RETORT_OK at
 * head or in an error code with a message, never a crash; every block the
 * hook handed out must be back when the context is freed (the hook counts
 * them: no leak); the database must hold each revision wholly or not at
 * all; and the next run, with memory again, must complete.
 */
#include <dirent.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include "fault_util.h"

enum { FILE_REVS = 4 }; /* r00..r03 from files; r04 a callback revision */

/* ---------------------------------------------------------- the hook */

typedef union header {
    size_t size;
    max_align_t align; /* keeps the block after the header aligned */
} header;

static long hook_calls;   /* malloc and realloc calls seen */
static long hook_fail_at; /* the call that fails; 0: none */
static int hook_fail_on;  /* every call from hook_fail_at on fails */
static long hook_live;    /* blocks handed out and not yet freed */

static int hook_should_fail(void)
{
    hook_calls++;
    return hook_fail_at > 0 && (hook_calls == hook_fail_at ||
                                (hook_fail_on && hook_calls > hook_fail_at));
}

static void *hook_malloc(size_t size)
{
    if (hook_should_fail())
        return NULL;
    header *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    hook_live++;
    return h + 1;
}

static void *hook_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return hook_malloc(size);
    if (hook_should_fail())
        return NULL;
    header *h = realloc((header *)ptr - 1, sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    return h + 1;
}

static void hook_free(void *ptr)
{
    if (!ptr)
        return;
    hook_live--;
    free((header *)ptr - 1);
}

/* ------------------------------------------------------- the upgrade */

static char migrations_dir[512];

static void write_migrations(void)
{
    snprintf(migrations_dir, sizeof migrations_dir, "%s/migrations", fixture_dir());
    assert_int_equal(mkdir(migrations_dir, 0700), 0);
    for (int i = 0; i < FILE_REVS; i++) {
        char path[600], up[512];
        chain_up_sql(up, sizeof up, i);
        /* Both file formats, so both parsers are on the path. */
        if (i % 2 == 0) {
            snprintf(path, sizeof path, "%s/r%02d.sql", migrations_dir, i);
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            fprintf(f, "-- retort:message file revision %d\n-- retort:up\n%s-- retort:down\n"
                       "DROP TABLE t_r%02d;\n", i, up, i);
            fclose(f);
        } else {
            snprintf(path, sizeof path, "%s/r%02d.up.sql", migrations_dir, i);
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            fputs(up, f);
            fclose(f);
            snprintf(path, sizeof path, "%s/r%02d.down.sql", migrations_dir, i);
            f = fopen(path, "w");
            assert_non_null(f);
            fprintf(f, "DROP TABLE t_r%02d;\n", i);
            fclose(f);
        }
    }
}

static int callback_up(retort_conn *conn, void *user)
{
    (void)user;
    char sql[512];
    chain_up_sql(sql, sizeof sql, FILE_REVS);
    return retort_exec(conn, sql);
}

static int callback_down(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "DROP TABLE t_r04");
}

/* The whole upgrade; returns the first failure's status (RETORT_OK if
 * none) and frees the context in every case. */
static int whole_upgrade(char *msg, size_t msgsize)
{
    retort *r = NULL;
    int rc = retort_new(&r, fixture_url());
    if (rc == RETORT_OK && fixture_schema())
        rc = retort_set_schema(r, fixture_schema());
    if (rc == RETORT_OK)
        rc = retort_set(r, "log_level", "error");
    if (rc == RETORT_OK)
        rc = retort_load_dir(r, migrations_dir);
    if (rc == RETORT_OK)
        rc = retort_add(r, "r04", "r03", "a callback revision", callback_up, callback_down,
                        NULL);
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    const char *heads = NULL;
    if (rc == RETORT_OK)
        rc = retort_current(r, &heads);
    if (rc == RETORT_OK && strcmp(heads, "r04") != 0)
        snprintf(msg, msgsize, "current heads are '%s' after a successful upgrade", heads);
    else
        snprintf(msg, msgsize, "%s", retort_errmsg(r));
    if (rc != RETORT_OK && r && retort_errcode(r) != rc)
        snprintf(msg, msgsize, "returned %d but retort_errcode says %d", rc, retort_errcode(r));
    retort_free(r);
    return rc;
}

static void install_hook(long fail_at, int fail_on)
{
    hook_calls = 0;
    hook_live = 0;
    hook_fail_at = fail_at;
    hook_fail_on = fail_on;
    if (retort_set_allocator(hook_malloc, hook_realloc, hook_free) != RETORT_OK)
        fail_msg("retort_set_allocator refused the hook (is a context still alive?)");
}

static void remove_hook(void)
{
    if (retort_set_allocator(NULL, NULL, NULL) != RETORT_OK)
        fail_msg("retort_set_allocator refused to restore malloc (a context leaked?)");
}

/* The allocations a clean upgrade makes through the hook. */
static long count_allocations(void)
{
    char msg[1024];
    install_hook(0, 0);
    int rc = whole_upgrade(msg, sizeof msg);
    long calls = hook_calls, live = hook_live;
    remove_hook();
    if (rc != RETORT_OK)
        fail_msg("the upgrade fails even with memory: %s", msg);
    assert_int_equal(live, 0);
    assert_int_equal(chain_assert_whole_or_absent(FILE_REVS + 1, "clean run"), FILE_REVS + 1);
    return calls;
}

/* Failures of the contract that do not corrupt anything are collected, so
 * that one run lists all of them; the rest fail the test at once. */
static char violations[8192];
static int nviolations;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
    nviolations++;
    size_t len = strlen(violations);
    if (nviolations > 12 || len + 2 >= sizeof violations)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(violations + len, sizeof violations - len, fmt, ap);
    va_end(ap);
    len = strlen(violations);
    snprintf(violations + len, sizeof violations - len, "\n");
}

static void run_trials(int fail_on)
{
    violations[0] = '\0';
    nviolations = 0;
    write_migrations();
    long total = count_allocations();
    assert_true(total > 10); /* else the hook is not on the path at all */
    print_message("# %ld allocations in an upgrade; failing %s\n", total,
                  fail_on ? "every one from the Nth on" : "the Nth alone");
    int failed = 0, recovered = 0;
    for (long n = 1; n <= total; n++) {
        fresh_database();
        write_migrations();
        char msg[1024] = "";
        install_hook(n, fail_on);
        int rc = whole_upgrade(msg, sizeof msg);
        long live = hook_live;
        remove_hook();
        char where[96];
        snprintf(where, sizeof where, "allocation %ld of %ld failing (rc %d)", n, total, rc);
        if (live != 0)
            fail_msg("%s: %ld blocks were never freed (a leak)", where, live);
        if (rc == RETORT_OK) {
            recovered++;
            /* After a success the message must be "" (retort.h). */
            if (strcmp(msg, "") != 0)
                violation("%s: succeeded but the message says: %s", where, msg);
            assert_int_equal(chain_assert_whole_or_absent(FILE_REVS + 1, where), FILE_REVS + 1);
        } else {
            failed++;
            if (!*msg || strcmp(msg, "unknown status") == 0)
                fail_msg("%s: no usable error message", where);
            /* retort_set_allocator: "every failure surfaces as RETORT_ENOMEM". */
            if (rc != RETORT_ENOMEM)
                violation("%s: %s instead of RETORT_ENOMEM: %s", where, retort_strerror(rc), msg);
            chain_assert_whole_or_absent(FILE_REVS + 1, where);
            /* A failure before connecting leaves no file to check. */
            if (!fixture_is_postgres() && access(fixture_sqlite_path(), F_OK) == 0)
                sqlite_assert_integrity(where);
        }
        /* With memory again, the next run completes. */
        rc = whole_upgrade(msg, sizeof msg);
        if (rc != RETORT_OK)
            fail_msg("%s: the next run failed: %s", where, msg);
        assert_int_equal(chain_assert_whole_or_absent(FILE_REVS + 1, where), FILE_REVS + 1);
    }
    print_message("# %d trials failed cleanly, %d absorbed the failure and succeeded\n", failed,
                  recovered);
    assert_true(failed > 0);
    if (nviolations)
        fail_msg("%d trials broke the allocator contract (first ones listed):\n%s",
                 nviolations, violations);
}

/* Offline rendering under allocation failure: either an error, or exactly
 * the script a run with memory renders.  A template cut short by a failed
 * allocation must never reach the script (a truncated "DELETE FROM t WHERE
 * id = ..." is "DELETE FROM t"). */
static int render_offline(const char **script_out, char **copy)
{
    retort *r = NULL;
    int rc = retort_new(&r, fixture_url());
    if (rc == RETORT_OK)
        rc = retort_set(r, "log_level", "none");
    if (rc == RETORT_OK)
        rc = retort_load_dir(r, migrations_dir);
    const char *script = NULL;
    if (rc == RETORT_OK)
        rc = retort_upgrade_sql(r, "head", &script);
    if (rc == RETORT_OK) {
        const char *s2 = NULL;
        rc = retort_downgrade_sql(r, "head:base", &s2);
        if (rc == RETORT_OK) {
            size_t n1 = strlen(script), n2 = strlen(s2);
            *copy = malloc(n1 + n2 + 1);
            if (*copy) {
                memcpy(*copy, script, n1);
                memcpy(*copy + n1, s2, n2 + 1);
            }
        }
    }
    (void)script_out;
    retort_free(r);
    return rc;
}

static void test_offline_rendering_under_allocation_failure_is_exact_or_an_error(void **state)
{
    (void)state;
    write_migrations();
    char *clean = NULL;
    install_hook(0, 0);
    int rc = render_offline(NULL, &clean);
    long total = hook_calls;
    remove_hook();
    assert_int_equal(rc, RETORT_OK);
    assert_non_null(clean);
    violations[0] = '\0';
    nviolations = 0;
    for (long n = 1; n <= total; n++) {
        char *got = NULL;
        install_hook(n, 0);
        rc = render_offline(NULL, &got);
        long live = hook_live;
        remove_hook();
        if (live != 0)
            fail_msg("allocation %ld of %ld failing: %ld blocks never freed", n, total, live);
        if (rc == RETORT_OK && strcmp(got, clean) != 0) {
            /* Show where the two scripts part. */
            size_t k = 0;
            while (got[k] && got[k] == clean[k])
                k++;
            size_t from = k > 60 ? k - 60 : 0;
            violation("allocation %ld of %ld failing: RETORT_OK with a different script; "
                      "from byte %zu it reads \"%.50s\" instead of \"%.50s\"",
                      n, total, from, got + from, clean + from);
        } else if (rc != RETORT_OK && rc != RETORT_ENOMEM) {
            violation("allocation %ld of %ld failing: %s instead of RETORT_ENOMEM", n, total,
                      retort_strerror(rc));
        }
        free(got);
    }
    free(clean);
    if (nviolations)
        fail_msg("%d trials broke the contract (first ones listed):\n%s", nviolations,
                 violations);
}

static void test_each_single_failed_allocation_of_an_upgrade_is_an_error_without_leak(
    void **state)
{
    (void)state;
    run_trials(0);
}

static void test_failing_every_allocation_from_the_nth_on_is_an_error_without_leak(void **state)
{
    (void)state;
    run_trials(1);
}

static void test_allocator_cannot_change_while_a_context_exists(void **state)
{
    (void)state;
    retort *r = fixture_new();
    assert_int_equal(retort_set_allocator(hook_malloc, hook_realloc, hook_free), RETORT_EMISUSE);
    assert_int_equal(retort_set_allocator(hook_malloc, NULL, hook_free), RETORT_EINVAL);
    fixture_free(r);
    assert_int_equal(retort_set_allocator(hook_malloc, hook_realloc, hook_free), RETORT_OK);
    assert_int_equal(retort_set_allocator(NULL, NULL, NULL), RETORT_OK);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_allocator_cannot_change_while_a_context_exists,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_each_single_failed_allocation_of_an_upgrade_is_an_error_without_leak,
            fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_failing_every_allocation_from_the_nth_on_is_an_error_without_leak,
            fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_offline_rendering_under_allocation_failure_is_exact_or_an_error, fixture_setup,
            fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
