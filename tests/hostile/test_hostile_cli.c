/*
 * test_hostile_cli.c — hostile input through the `retort` command: retort.ini
 * files of junk, overlong lines and injected setting values; migration files
 * with hostile names, binary content and injected directives; template
 * files of junk; targets and messages with quotes and semicolons; a URL
 * with a password that must not be echoed.  The command must never die of
 * a signal; each bad input is refused with a message naming the file and
 * line (or the argument), and the database is unchanged.  Arguments reach
 * the command through execv, byte for byte, with no shell between.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "cli_run.h"

static char *mig;

static int setup(void **state)
{
    if (fixture_setup(state) != 0)
        return -1;
    mig = fixture_path("migrations");
    if (mkdir(mig, 0700) != 0)
        return -1;
    fixture_exec("CREATE TABLE victim (x INTEGER)");
    return 0;
}

static int teardown(void **state)
{
    free(mig);
    mig = NULL;
    return fixture_teardown(state);
}

static void write_in(const char *dir, const char *name, const char *text)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_text(path, text);
}

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

/* Runs `retort --config INI ARGS...`; asserts it did not crash. */
static cli_result run_with(const char *ini, const char *a1, const char *a2, const char *a3)
{
    const char *args[] = {"--config", ini, a1, a2, a3, NULL};
    cli_result res = cli_run(args);
    assert_no_crash(res);
    return res;
}

static void assert_untouched(void)
{
    assert_table("victim");
    assert_version_ids("");
}

static void test_junk_configuration_files_are_refused_naming_file_and_line(void **state)
{
    (void)state;
    char *bin = junk(4000, 1);
    char *longline = malloc(200000);
    assert_non_null(longline);
    snprintf(longline, 200000, "[retort]\nversion_table = ");
    size_t len = strlen(longline);
    memset(longline + len, 'v', 150000);
    longline[len + 150000] = '\0';
    const struct {
        const char *text;
        const char *expect; /* in stderr */
    } cases[] = {
        {bin, "retort.ini"},
        {longline, "version_table"},
        {"url = sqlite:x.db\n", ":1:"},
        {"[retort\nurl = x\n", ":1:"},
        {"[retort]\nno equals sign here\n", ":2:"},
        {"[retort]\nversion_table = x; DROP TABLE victim\n", ":2:"},
        {"[retort]\nschema = a\"b\n", "schema"},
        {"[retort]\nlock_timeout = 1; DROP TABLE victim\n", "lock_timeout"},
        {"[retort]\nunknown_key = 1\n", "unknown key"},
        {"[retort]\ndir = a\ndir = b\n", "twice"},
        {"[retort]\ntransaction_mode = whole-run'--\n", "transaction_mode"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *ini = fixture_path("retort.ini");
        write_text(ini, cases[i].text);
        char *full = NULL;
        /* The database URL is given on the command line so a bad file
         * cannot point the command anywhere else. */
        size_t n = strlen(fixture_url()) + 8;
        full = malloc(n);
        assert_non_null(full);
        snprintf(full, n, "%s", fixture_url());
        const char *args[] = {"--config", ini, "--url", full, "--dir", mig, "upgrade", NULL};
        cli_result res = cli_run(args);
        assert_no_crash(res);
        if (res.status == 0)
            fail_msg("configuration case %zu was accepted", i);
        assert_contains(res.err, cases[i].expect);
        cli_result_free(&res);
        free(full);
        free(ini);
    }
    assert_untouched();
    free(bin);
    free(longline);
}

static void test_hostile_migration_files_are_refused_and_nothing_runs(void **state)
{
    (void)state;
    char *ini = write_fixture_ini(NULL);
    char *bin = junk(3000, 2);
    const struct {
        const char *name;
        const char *text;
        const char *expect;
    } cases[] = {
        {"a'b.sql", "-- retort:up\nSELECT 1;\n", "not a valid revision id"},
        {"x;DROP TABLE victim.sql", "-- retort:up\nSELECT 1;\n", "not a valid revision id"},
        {"junk.sql", bin, "junk.sql"},
        {"p.sql", "-- retort:parents a'; DROP TABLE victim; --\n-- retort:up\nSELECT 1;\n",
         "p.sql:1"},
        {"q.sql", "-- retort:up\nSELECT 1;\n-- retort:up\nSELECT 2;\n", "q.sql:3"},
        {"r.sql", "-- retort:bogus\n-- retort:up\nSELECT 1;\n", "unknown directive"},
        {"s.sql", "DROP TABLE victim;\n-- retort:up\nSELECT 1;\n", "s.sql:1"},
        {"t.down.sql", "DROP TABLE victim;\n", "no matching"},
        {"u.sql", "-- retort:no-transaction yes please\n-- retort:up\nSELECT 1;\n", "u.sql:1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_in(mig, cases[i].name, cases[i].text);
        cli_result res = run_with(ini, "upgrade", NULL, NULL);
        if (res.status == 0)
            fail_msg("migration file case %zu (%s) was accepted", i, cases[i].name);
        assert_contains(res.err, cases[i].expect);
        cli_result_free(&res);
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", mig, cases[i].name);
        unlink(path);
        assert_untouched();
    }
    /* A file holding a NUL byte: refused, not silently cut short. */
    char path[2048];
    snprintf(path, sizeof path, "%s/nul.sql", mig);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("-- retort:up\nSELECT 1;\0DROP TABLE victim;\n", 1, 42, f);
    fclose(f);
    cli_result res = run_with(ini, "upgrade", NULL, NULL);
    assert_int_not_equal(res.status, 0);
    assert_contains(res.err, "NUL");
    cli_result_free(&res);
    unlink(path);
    assert_untouched();
    free(bin);
    free(ini);
}

static void test_hostile_targets_on_the_command_line_change_nothing(void **state)
{
    (void)state;
    char *ini = write_fixture_ini(NULL);
    write_in(mig, "001.sql", "-- retort:up\nCREATE TABLE t1 (x INTEGER);\n"
                             "-- retort:down\nDROP TABLE t1;\n");
    char *bin = junk(300, 4);
    const char *targets[] = {"'; DROP TABLE victim; --", "001; DROP TABLE victim", "+1x",
                             "+99999999999999999999", bin, NULL};
    for (int i = 0; targets[i]; i++) {
        cli_result res = run_with(ini, "upgrade", targets[i], NULL);
        assert_int_not_equal(res.status, 0);
        assert_true(*res.err);
        cli_result_free(&res);
        res = run_with(ini, "stamp", targets[i], NULL);
        assert_int_not_equal(res.status, 0);
        cli_result_free(&res);
        res = run_with(ini, "mark-applied", targets[i], NULL);
        assert_int_not_equal(res.status, 0);
        cli_result_free(&res);
    }
    assert_table("victim");
    assert_no_table("t1");
    free(bin);
    free(ini);
}

static void test_password_in_a_command_line_url_is_never_echoed(void **state)
{
    (void)state;
    const char *urls[] = {"postgresql://user:s3cretpw@127.0.0.1:1/db?connect_timeout=2",
                          "postgresql:host=127.0.0.1 port=1 password=s3cretpw connect_timeout=2",
                          "postgresql:host='unterminated password=s3cretpw", NULL};
    for (int i = 0; urls[i]; i++) {
        const char *args[] = {"--url", urls[i], "--dir", mig, "-v", "current", NULL};
        cli_result res = cli_run(args);
        assert_no_crash(res);
        assert_int_not_equal(res.status, 0);
        assert_not_contains(res.err, "s3cretpw");
        assert_not_contains(res.out, "s3cretpw");
        cli_result_free(&res);
    }
}

/* Issue 14: a retort.ini line the parser cannot read is named by file and
 * line and what is wrong with it, never echoed: it may hold the URL and its
 * password. */
static void test_configuration_errors_name_the_line_without_echoing_it(void **state)
{
    (void)state;
    const struct {
        const char *text, *where, *secret;
    } cases[] = {
        {"url = postgresql://u:SECRETC1@h/db\n", ":1:", "SECRETC1"},
        {"[retort]\nurl: postgresql://u:SECRETC2@h/db\n", ":2:", "SECRETC2"},
        {"[retort] url = postgresql://u:SECRETC3@h/db\n", ":1:", "SECRETC3"},
        {"[retort]\nurl: postgresql://u:SECRETC4@h/db?sslmode=disable\n", ":2:", "SECRETC4"},
        {"[retort]\nurl postgresql:password=SECRETC5\n", ":2:", "SECRETC5"},
        {"[retort]\npassword = SECRETC6\n", ":2:", "SECRETC6"},
        {"[retort\nurl = postgresql://u:SECRETC7@h/db\n", ":1:", "SECRETC7"},
        {"[retort]]SECRETC8\n", ":1:", "SECRETC8"},
        /* a password with a newline, split over two lines */
        {"[retort]\nurl = postgresql://u:abc\nSECRETC9@h/db\n", ":3:", "SECRETC9"},
        {"[retort]\nurl = postgresql://u:abc\nSECRETD1=x@h/db\n", ":3:", "SECRETD1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *ini = fixture_path("retort.ini");
        write_text(ini, cases[i].text);
        const char *args[] = {"--config", ini, "--dir", mig, "-vv", "current", NULL};
        cli_result res = cli_run(args);
        assert_no_crash(res);
        if (res.status == 0)
            fail_msg("configuration case %zu was accepted", i);
        assert_contains(res.err, cases[i].where);
        if (strstr(res.err, cases[i].secret) || strstr(res.out, cases[i].secret))
            fail_msg("configuration case %zu echoed the password: %s", i, res.err);
        cli_result_free(&res);
        free(ini);
    }
    assert_untouched();
}

static void test_junk_template_and_hostile_message_make_a_file_or_a_clear_error(void **state)
{
    (void)state;
    char *ini = write_fixture_ini(NULL);
    char *tmpl = fixture_path("junk.tmpl");
    char *bin = junk(2000, 6);
    const char *templates[] = {bin, "{{id}} {{", "{{nosuch}}\n", "}}{{message}}{{\n",
                               "-- retort:up\n{{message}}\n", NULL};
    for (int i = 0; templates[i]; i++) {
        write_text(tmpl, templates[i]);
        const char *args[] = {"--config", ini, "revision", "-m",
                              "x'); DROP TABLE victim; --\nDROP TABLE victim;", "--template",
                              tmpl, NULL};
        cli_result res = cli_run(args);
        assert_no_crash(res);
        if (res.status != 0)
            assert_true(*res.err);
        cli_result_free(&res);
        /* Whatever it wrote, loading the directory must not run the
         * message as SQL: upgrade either refuses the file or applies it. */
        res = run_with(ini, "upgrade", NULL, NULL);
        cli_result_free(&res);
        assert_table("victim");
        /* Start the next template from an empty directory. */
        DIR *d = opendir(mig);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", mig, e->d_name);
            unlink(path);
        }
        closedir(d);
        fixture_exec("DROP TABLE IF EXISTS retort_version; DROP TABLE IF EXISTS "
                     "retort_version_log");
    }
    free(bin);
    free(tmpl);
    free(ini);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    if (!cli_exe()) {
        printf("1..0 # SKIP RETORT_EXE does not name the retort command\n");
        return 0;
    }
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_junk_configuration_files_are_refused_naming_file_and_line),
        T(test_hostile_migration_files_are_refused_and_nothing_runs),
        T(test_hostile_targets_on_the_command_line_change_nothing),
        T(test_password_in_a_command_line_url_is_never_echoed),
        T(test_configuration_errors_name_the_line_without_echoing_it),
        T(test_junk_template_and_hostile_message_make_a_file_or_a_clear_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
