/*
 * test_fresh.c — retort_new_fresh(): every context gets an empty target no
 * other context sees, migrations land in it, retort_free() removes it, and
 * many processes can do this at once.  End state is read with sqlite3 /
 * libpq directly (fixture.h), not through retort.
 */
#include "harness.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <retort/backend.h>
#include <sqlite3.h>

static const char *const create_t = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)";

/* Entries of dir other than . and .., and the last one's name. */
static int count_entries(const char *dir, char *last, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (last)
            snprintf(last, size, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* Entries of dir whose names start with prefix, and the last one's name. */
static int count_prefixed(const char *dir, const char *prefix, char *last, size_t size)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        n++;
        if (last)
            snprintf(last, size, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* Whether the SQLite file at path has a table named name, read directly. */
static int sqlite_file_has_table(const char *path, const char *name)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                            "AND name = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    int found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

/* The schema holding a table with this (unique) name, from the catalogue;
 * malloc'd, NULL if none. */
static char *postgres_schema_of(const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT table_schema FROM information_schema.tables WHERE table_name = '%s'", table);
    return fixture_scalar(sql);
}

static long postgres_schema_count(const char *schema)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = '%s'",
             schema);
    return fixture_count(sql);
}

static void test_fresh_target_starts_empty_and_at_base(void **state)
{
    (void)state;
    retort *r = fresh();
    char *text = snapshot(r);
    assert_string_equal(text, "");
    free(text);
    assert_current(r, "");
}

static void test_fresh_targets_do_not_see_each_other(void **state)
{
    (void)state;
    retort *a = fresh(), *b = fresh();
    assert_ok(a, retort_add_sql(a, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(b, retort_add_sql(b, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(a, retort_migrate_to_head(a));
    char *text = snapshot(b);
    assert_string_equal(text, "");
    free(text);
    assert_current(b, "");
    /* the same table name again, in the other target */
    assert_ok(b, retort_migrate_to_head(b));
    assert_current(a, "001");
    assert_current(b, "001");
}

/* A context on a fresh target in the schema-per-test mode. */
static retort *fresh_schema_mode(void)
{
    retort *r = fresh();
    assert_ok(r, retort_set(r, "fresh_mode", "schema"));
    return r;
}

static void test_fresh_postgres_schema_mode_holds_the_migrations_and_version_table(void **state)
{
    (void)state;
    char table[64], sql[512];
    snprintf(table, sizeof table, "fresh_probe_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "CREATE TABLE %s (id INTEGER)", table);
    retort *r = fresh_schema_mode();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, sql, "SELECT 1"));
    assert_ok(r, retort_migrate_to_head(r));

    char *schema = postgres_schema_of(table);
    assert_non_null(schema);
    assert_true(strncmp(schema, "retort_test_", 12) == 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM information_schema.tables WHERE table_schema = '%s' AND "
             "table_name IN ('retort_version', 'retort_version_log')",
             schema);
    assert_int_equal(fixture_count(sql), 2);
    free(schema);
}

static void test_free_drops_the_fresh_postgres_schema_mode_schema_with_its_tables(void **state)
{
    (void)state;
    char table[64], sql[512];
    snprintf(table, sizeof table, "fresh_drop_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "CREATE TABLE %s (id INTEGER)", table);
    retort *r = fresh_schema_mode();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, sql, "SELECT 1"));
    assert_ok(r, retort_migrate_to_head(r));
    char *schema = postgres_schema_of(table);
    assert_non_null(schema);
    assert_int_equal(postgres_schema_count(schema), 1);

    fixture_free(r);
    assert_int_equal(postgres_schema_count(schema), 0);
    char *gone = postgres_schema_of(table);
    assert_null(gone);
    free(schema);
}

static void test_fresh_sqlite_directory_target_is_a_new_file_that_free_removes(void **state)
{
    (void)state;
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s/", fixture_dir());
    retort *r = NULL;
    assert_int_equal(retort_new_fresh(&r, url), RETORT_OK);
    fixture_adopt(r);
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(r, retort_migrate_to_head(r));

    char name[256];
    assert_int_equal(count_prefixed(fixture_dir(), "retort-fresh-", name, sizeof name), 1);
    char *path = fixture_path(name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0077, 0); /* owner-only */
    assert_true(sqlite_file_has_table(path, "t"));
    assert_true(sqlite_file_has_table(path, "retort_version"));

    fixture_free(r);
    assert_int_equal(count_prefixed(fixture_dir(), "retort-fresh-", NULL, 0), 0);
    free(path);
}

static void test_fresh_sqlite_file_url_gives_a_private_memory_database_instead(void **state)
{
    (void)state;
    char *path = fixture_path("app.db");
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s", path);
    retort *r = NULL;
    assert_int_equal(retort_new_fresh(&r, url), RETORT_OK);
    fixture_adopt(r);
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(count_entries(fixture_dir(), NULL, 0), 0);
    free(path);
}

static void test_fresh_with_null_url_is_a_private_memory_sqlite_database(void **state)
{
    (void)state;
    struct stat st;
    int had_default = stat("retort.db", &st) == 0;
    retort *r = NULL;
    assert_int_equal(retort_new_fresh(&r, NULL), RETORT_OK);
    fixture_adopt(r);
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(r, retort_migrate_to_head(r));
    char *text = snapshot(r);
    assert_line(text, "table t");
    free(text);
    assert_int_equal(stat("retort.db", &st) == 0, had_default);
}

static void test_fresh_in_a_missing_directory_fails_at_the_first_operation_with_eio(void **state)
{
    (void)state;
    char url[4200];
    snprintf(url, sizeof url, "sqlite:%s/missing/", fixture_dir());
    retort *r = NULL;
    assert_int_equal(retort_new_fresh(&r, url), RETORT_OK);
    fixture_adopt(r);
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    /* created at the first operation: its error is that operation's */
    assert_int_equal(retort_migrate_to_head(r), RETORT_EIO);
    assert_contains(retort_errmsg(r), "/missing/");
    assert_contains(retort_errmsg(r), "No such file or directory");
    assert_int_equal(count_entries(fixture_dir(), NULL, 0), 0);
}

static void test_fresh_with_an_unknown_scheme_fails_with_eurl(void **state)
{
    (void)state;
    retort *r = NULL;
    assert_int_equal(retort_new_fresh(&r, "nosuch:whatever"), RETORT_EURL);
    fixture_adopt(r);
    assert_non_null(r);
    assert_contains(retort_errmsg(r), "nosuch");
    assert_int_equal(retort_new_fresh(NULL, NULL), RETORT_EINVAL);
}

/* A third-party driver: the SQLite driver's vtable under a scheme of the
 * same length, so its URL parser (which skips "sqlite:") still works. */
static retort_backend other_backend;
static const char *const other_schemes[] = {"other1", NULL};

static void test_fresh_on_a_backend_without_fresh_targets_is_einval_naming_it(void **state)
{
    (void)state;
    const retort_backend *sqlite = retort_backend_find("sqlite");
    if (!retort_backend_find("other1")) {
        other_backend = *sqlite;
        other_backend.name = "other1";
        other_backend.schemes = other_schemes;
        other_backend.fresh_create = NULL; /* the members that make fresh targets */
        other_backend.fresh_drop = NULL;
        assert_int_equal(retort_register_backend(&other_backend), RETORT_OK);
    }
    retort *r = NULL;
    assert_int_equal(retort_new_fresh(&r, "other1::memory:"), RETORT_EINVAL);
    fixture_adopt(r);
    assert_contains(retort_errmsg(r), "other1 backend has no fresh test targets");
}

/* What each child process does: its own fresh target, migrated and
 * checked.  Exit status 0 when everything succeeded. */
static int child_run(void)
{
    retort *r = NULL;
    int rc = retort_new_fresh(&r, fresh_url());
    if (rc == RETORT_OK)
        rc = retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t");
    if (rc == RETORT_OK)
        rc = retort_add_sql(r, "002", "001", NULL, "CREATE INDEX t_name ON t (name)",
                            "DROP INDEX t_name");
    if (rc == RETORT_OK)
        rc = retort_test_stairway(r);
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    const char *cur = NULL;
    if (rc == RETORT_OK)
        rc = retort_current(r, &cur);
    if (rc == RETORT_OK && strcmp(cur, "002") != 0)
        rc = RETORT_ERROR;
    if (rc != RETORT_OK)
        fprintf(stderr, "child %ld: %s\n", (long)getpid(), retort_errmsg(r));
    retort_free(r);
    return rc == RETORT_OK ? 0 : 1;
}

static void test_fresh_targets_in_parallel_processes_do_not_collide(void **state)
{
    (void)state;
    enum { CHILDREN = 8 };
    pid_t pids[CHILDREN];
    fflush(NULL);
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0)
            _exit(child_run());
    }
    for (int i = 0; i < CHILDREN; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        if (fixture_is_postgres()) {
            /* every child's database is gone */
            char sql[160];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM pg_catalog.pg_database WHERE datname LIKE "
                     "'retort\\_test\\_%ld\\_%%'",
                     (long)pids[i]);
            assert_int_equal(fixture_count(sql), 0);
        }
    }
}

static void test_fresh_postgres_migrations_naming_a_schema_never_reach_the_database(void **state)
{
    (void)state;
    char schema[64], up[512], down[256], sql[256];
    snprintf(schema, sizeof schema, "auth_%ld", (long)getpid());
    snprintf(up, sizeof up,
             "CREATE SCHEMA %s; CREATE TABLE %s.users (id BIGINT PRIMARY KEY, email TEXT)",
             schema, schema);
    snprintf(down, sizeof down, "DROP TABLE %s.users; DROP SCHEMA %s", schema, schema);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = '%s'",
             schema);
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, up, down));
    assert_ok(r, retort_migrate_to_head(r));
    /* the database the URL points to never had the schema */
    assert_int_equal(fixture_count(sql), 0);
    /* the fresh database has it, read through its own URL */
    const char *url = NULL;
    assert_ok(r, retort_fresh_url(r, &url));
    assert_true(strstr(url, "retort_test_") != NULL);
    retort *other = NULL;
    assert_int_equal(retort_new(&other, url), RETORT_OK);
    fixture_adopt(other);
    const char *cur = NULL;
    assert_ok(other, retort_current(other, &cur));
    assert_string_equal(cur, "001");
    fixture_free(other);
    fixture_free(r);
    assert_int_equal(fixture_count(sql), 0);
}

static void test_free_drops_the_fresh_postgres_database(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(r, retort_migrate_to_head(r));
    const char *url = NULL;
    assert_ok(r, retort_fresh_url(r, &url));
    const char *name = strstr(url, "retort_test_");
    assert_non_null(name);
    char db[80], sql[200];
    snprintf(db, sizeof db, "%.*s", (int)strcspn(name, "'"), name);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = '%s'",
             db);
    assert_int_equal(fixture_count(sql), 1);
    fixture_free(r);
    assert_int_equal(fixture_count(sql), 0);
}

static void test_fresh_postgres_role_without_createdb_is_told_why_and_what_to_do(void **state)
{
    (void)state;
    char role[64], sql[256], url[256];
    snprintf(role, sizeof role, "retort_nocreatedb_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS %s", role);
    fixture_exec(sql);
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN NOCREATEDB PASSWORD 'pw'", role);
    fixture_exec(sql);
    snprintf(url, sizeof url, "postgresql:user=%s password=pw", role);
    retort *r = NULL;
    assert_int_equal(retort_new_fresh(&r, url), RETORT_OK);
    fixture_adopt(r);
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    int rc = retort_migrate_to_head(r);
    char *msg = strdup(retort_errmsg(r));
    fixture_free(r);
    snprintf(sql, sizeof sql, "DROP ROLE %s", role);
    fixture_exec(sql);
    assert_int_equal(rc, RETORT_EDB);
    assert_contains(msg, "lacks CREATEDB");
    assert_contains(msg, role);
    assert_contains(msg, "scratch server");
    assert_contains(msg, "fresh_mode=schema");
    free(msg);
}

/* A callback migration that counts its runs in a file (O_APPEND: one
 * line per run, from any process). */
static int counted_up(retort_conn *conn, void *user)
{
    const char *path = user;
    FILE *f = fopen(path, "a");
    if (!f)
        return 1;
    fputs("run\n", f);
    fclose(f);
    return retort_exec(conn, "CREATE TABLE counted (id INTEGER PRIMARY KEY)");
}

static int counted_down(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "DROP TABLE counted");
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* A template_key no earlier run used: a template of its own. */
static void unique_key(char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, size, "test-%ld-%ld-%ld", (long)getpid(), (long)ts.tv_sec, (long)ts.tv_nsec);
}

/* A fresh target with the counted migration and key, migrated to head. */
static int counted_target(const char *key, const char *counter, retort **out)
{
    retort *r = NULL;
    int rc = retort_new_fresh(&r, fresh_url());
    if (rc == RETORT_OK)
        rc = retort_set(r, "template_key", key);
    if (rc == RETORT_OK)
        rc = retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t");
    if (rc == RETORT_OK)
        rc = retort_add(r, "002", "001", NULL, counted_up, counted_down, (void *)counter);
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    *out = r;
    return rc;
}

static void test_second_fresh_target_at_head_is_a_clone_of_the_template(void **state)
{
    (void)state;
    char key[96];
    unique_key(key, sizeof key);
    char *counter = fixture_path("runs");
    retort *a = NULL, *b = NULL, *c = NULL;
    int rc = counted_target(key, counter, &a);
    fixture_adopt(a);
    assert_ok(a, rc);
    assert_int_equal(count_lines(counter), 1); /* the template's build */
    rc = counted_target(key, counter, &b);
    fixture_adopt(b);
    assert_ok(b, rc);
    assert_int_equal(count_lines(counter), 1); /* a clone: nothing ran */
    assert_current(b, "002");
    char *text = snapshot(b);
    assert_line(text, "table counted");
    assert_line(text, "table t");
    free(text);
    /* the clone is b's own: a's target is not b's */
    assert_ok(b, retort_downgrade(b, "001"));
    assert_current(a, "002");
    /* another template_key: another template, built once */
    char key2[120];
    snprintf(key2, sizeof key2, "%s-2", key);
    rc = counted_target(key2, counter, &c);
    fixture_adopt(c);
    assert_ok(c, rc);
    assert_int_equal(count_lines(counter), 2);
    free(counter);
}

/* Callback migrations without template_key: their code cannot be hashed,
 * so no template stands for them, and every target runs them (a changed
 * callback is never served what its old code built). */
static void test_callback_migrations_without_template_key_run_on_every_target(void **state)
{
    (void)state;
    char *counter = fixture_path("runs");
    for (int i = 0; i < 2; i++) {
        retort *r = fresh();
        assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
        assert_ok(r, retort_add(r, "002", "001", NULL, counted_up, counted_down, counter));
        assert_ok(r, retort_migrate_to_head(r));
        assert_current(r, "002");
        fixture_free(r);
    }
    assert_int_equal(count_lines(counter), 2);
    free(counter);
}

/* Migrates a fresh target of a history whose root is root to its head,
 * with key as template_key, and returns the key of the template it built
 * (from the log; malloc'd), or NULL when it built none. */
static char *build_history(const char *root, const char *key)
{
    retort *r = fresh();
    fixture_capture_log(r, RETORT_LOG_INFO);
    assert_ok(r, retort_set(r, "template_key", key));
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE TABLE %s (id INTEGER)", root);
    assert_ok(r, retort_add_sql(r, root, NULL, NULL, sql, "SELECT 1"));
    assert_ok(r, retort_migrate_to_head(r));
    fixture_free(r);
    const char *log = fixture_log_text();
    const char *last = NULL, *p = log;
    while ((p = strstr(p, "test template ")) != NULL) {
        last = p + strlen("test template ");
        p = last;
    }
    if (!last)
        return NULL;
    size_t n = strcspn(last, " ");
    char *built = strndup(last, n);
    return strstr(last, " built") == last + n ? built : (free(built), (char *)NULL);
}

/* Whether the template key exists, looked at directly. */
static int template_exists(const char *key)
{
    char sql[256];
    if (fixture_is_postgres()) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = 'retort_tpl_%s'", key);
        return fixture_count(sql) == 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(sql, sizeof sql, "%s/retort-templates-%ld/retort-tpl-%s.db", tmp && *tmp ? tmp : "/tmp",
             (long)getuid(), key);
    struct stat st;
    return stat(sql, &st) == 0;
}

/* The rule for stale templates: building one drops the templates of the
 * same history (the same root revision) built for other migrations, and
 * leaves other histories' alone. */
static void test_building_a_template_drops_the_stale_ones_of_the_same_history(void **state)
{
    (void)state;
    char root[64], other_root[64], key[96], key2[120];
    unique_key(key, sizeof key);
    snprintf(key2, sizeof key2, "%s-2", key);
    snprintf(root, sizeof root, "stale_%ld", (long)getpid());
    snprintf(other_root, sizeof other_root, "other_%ld", (long)getpid());
    char *first = build_history(root, key);
    char *other = build_history(other_root, key);
    assert_non_null(first);
    assert_non_null(other);
    assert_true(template_exists(first));
    char *second = build_history(root, key2); /* same history, other migrations */
    assert_non_null(second);
    assert_true(template_exists(second));
    assert_false(template_exists(first)); /* stale: dropped */
    assert_true(template_exists(other));  /* another history: kept */
    free(first);
    free(other);
    free(second);
}

static void test_drop_templates_names_what_it_dropped_and_the_next_target_rebuilds(void **state)
{
    (void)state;
    char key[96];
    unique_key(key, sizeof key);
    char *counter = fixture_path("runs");
    retort *a = NULL;
    int rc = counted_target(key, counter, &a);
    fixture_adopt(a);
    assert_ok(a, rc);
    const char *dropped = NULL;
    assert_ok(a, retort_drop_templates(a, &dropped));
    assert_contains(dropped, fixture_is_postgres() ? "retort_tpl_" : "retort-tpl-");
    fixture_free(a);
    rc = counted_target(key, counter, &a);
    fixture_adopt(a);
    assert_ok(a, rc);
    assert_int_equal(count_lines(counter), 2); /* built again */
    assert_current(a, "002");
    free(counter);
}

static void test_fresh_target_from_a_template_whose_build_fails_fails_as_without(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(r, retort_add_sql(r, "002", "001", NULL, "ALTER TABLE missing ADD COLUMN x INTEGER",
                                "SELECT 1"));
    assert_int_equal(retort_migrate_to_head(r), RETORT_EMIGRATION);
    assert_contains(retort_errmsg(r), "'002'");
    /* where it stops: 001 applied, as migrating step by step leaves it */
    assert_current(r, "001");
}

static void test_fresh_url_of_a_sqlite_memory_target_opens_the_same_database(void **state)
{
    (void)state;
    retort *r = fresh();
    assert_ok(r, retort_add_sql(r, "001", NULL, NULL, create_t, "DROP TABLE t"));
    assert_ok(r, retort_migrate_to_head(r));
    const char *url = NULL;
    assert_ok(r, retort_fresh_url(r, &url));
    retort *other = NULL;
    assert_int_equal(retort_new(&other, url), RETORT_OK);
    fixture_adopt(other);
    const char *cur = NULL;
    assert_ok(other, retort_current(other, &cur));
    assert_string_equal(cur, "001");
    char *text = snapshot(other);
    assert_line(text, "table t");
    free(text);
}

static void test_fresh_url_outside_a_fresh_context_is_emisuse(void **state)
{
    (void)state;
    retort *r = fixture_new();
    const char *url = "unchanged";
    assert_int_equal(retort_fresh_url(r, &url), RETORT_EMISUSE);
    assert_null(url);
    assert_contains(retort_errmsg(r), "retort_new_fresh");
}

/* Four processes start together (a pipe they all wait on) and each asks
 * for fresh targets of the same new migrations: the template is built
 * once, every target is at head. */
static void test_template_is_built_once_by_parallel_processes(void **state)
{
    (void)state;
    enum { CHILDREN = 4, TARGETS = 5 };
    char key[96];
    unique_key(key, sizeof key);
    char *counter = fixture_path("runs");
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pids[CHILDREN];
    fflush(NULL);
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0)
                _exit(2);
            int status = 0;
            for (int k = 0; k < TARGETS && !status; k++) {
                retort *r = NULL;
                int rc = counted_target(key, counter, &r);
                const char *cur = NULL;
                if (rc == RETORT_OK)
                    rc = retort_current(r, &cur);
                if (rc != RETORT_OK || strcmp(cur, "002") != 0) {
                    fprintf(stderr, "child %ld: %s\n", (long)getpid(), retort_errmsg(r));
                    status = 1;
                }
                retort_free(r);
            }
            _exit(status);
        }
    }
    close(go[0]);
    close(go[1]); /* every child reads end-of-file at once */
    for (int i = 0; i < CHILDREN; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(count_lines(counter), 1);
    free(counter);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
    static const backend_test tests[] = {
        BACKEND_TEST(test_fresh_target_starts_empty_and_at_base, ON_BOTH),
        BACKEND_TEST(test_fresh_targets_do_not_see_each_other, ON_BOTH),
        BACKEND_TEST(test_fresh_postgres_schema_mode_holds_the_migrations_and_version_table,
                     ON_POSTGRES),
        BACKEND_TEST(test_free_drops_the_fresh_postgres_schema_mode_schema_with_its_tables,
                     ON_POSTGRES),
        BACKEND_TEST(test_fresh_sqlite_directory_target_is_a_new_file_that_free_removes, ON_SQLITE),
        BACKEND_TEST(test_fresh_sqlite_file_url_gives_a_private_memory_database_instead, ON_SQLITE),
        BACKEND_TEST(test_fresh_with_null_url_is_a_private_memory_sqlite_database,
                     ON_BOTH_WITH_SQLITE_DRIVER),
        BACKEND_TEST(test_fresh_in_a_missing_directory_fails_at_the_first_operation_with_eio,
                     ON_SQLITE),
        BACKEND_TEST(test_fresh_with_an_unknown_scheme_fails_with_eurl, ON_BOTH),
        BACKEND_TEST(test_fresh_on_a_backend_without_fresh_targets_is_einval_naming_it,
                     ON_BOTH_WITH_SQLITE_DRIVER),
        BACKEND_TEST(test_fresh_targets_in_parallel_processes_do_not_collide, ON_BOTH),
        BACKEND_TEST(test_fresh_postgres_migrations_naming_a_schema_never_reach_the_database,
                     ON_POSTGRES),
        BACKEND_TEST(test_free_drops_the_fresh_postgres_database, ON_POSTGRES),
        BACKEND_TEST(test_fresh_postgres_role_without_createdb_is_told_why_and_what_to_do,
                     ON_POSTGRES),
        BACKEND_TEST(test_second_fresh_target_at_head_is_a_clone_of_the_template, ON_BOTH),
        BACKEND_TEST(test_drop_templates_names_what_it_dropped_and_the_next_target_rebuilds,
                     ON_BOTH),
        BACKEND_TEST(test_callback_migrations_without_template_key_run_on_every_target, ON_BOTH),
        BACKEND_TEST(test_building_a_template_drops_the_stale_ones_of_the_same_history, ON_BOTH),
        BACKEND_TEST(test_fresh_target_from_a_template_whose_build_fails_fails_as_without,
                     ON_BOTH),
        BACKEND_TEST(test_fresh_url_of_a_sqlite_memory_target_opens_the_same_database, ON_BOTH),
        BACKEND_TEST(test_fresh_url_outside_a_fresh_context_is_emisuse, ON_BOTH),
        BACKEND_TEST(test_template_is_built_once_by_parallel_processes, ON_BOTH),
    };
    return run_backend_tests(tests, sizeof tests / sizeof tests[0]);
}
