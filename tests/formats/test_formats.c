/*
 * test_formats.c — other tools' migration directories, read unchanged, on
 * the backend the fixture selects (SQLite or PostgreSQL).  Each corpus in
 * corpus/ is written in one tool's layout (goose, sql-migrate, Flyway, sqlx,
 * diesel, morph, and several formats in one directory), covering its
 * markers, statement blocks, non-transactional migrations and its version
 * order.  For each: the revisions registered in the tool's order with the
 * right flags; upgrade, then downgrade where the tool's files make that
 * possible, asserting the tables and the version table; and the offline
 * script, run by the database itself, leaves the same schema and the same
 * revisions recorded as the online run.
 */
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

typedef struct corpus {
    const char *name;
    const char *order;      /* ids in registration order */
    const char *no_tx;      /* the ids marked non-transactional */
    const char *irreversible; /* the ids without a down step */
    const char *tables;     /* tables at head */
    const char *down_to;    /* a downgrade target the files allow */
    const char *kept;       /* tables still there after that downgrade */
    void (*at_head)(void);  /* what else the corpus leaves at head */
} corpus;

static void goose_at_head(void)
{
    char *v = fixture_scalar("SELECT name FROM users WHERE id = 1");
    assert_string_equal(v, "goose-default"); /* ENVSUB's ${VAR:-default} */
    free(v);
    v = fixture_scalar("SELECT name FROM users WHERE id = 2");
    assert_string_equal(v, "${kept as written}"); /* after ENVSUB OFF */
    free(v);
    v = fixture_scalar("SELECT body FROM notes WHERE id = 1");
    assert_string_equal(v, "semicolons; inside; a block");
    free(v);
}

static void sql_migrate_at_head(void)
{
    char *v = fixture_scalar("SELECT note FROM audit WHERE id = 1");
    assert_string_equal(v, "a; b; c");
    free(v);
}

static const corpus corpora[] = {
    {"goose",
     "00001_create_users 00002_notes_block 00003_users_name_index 00004_seed 10_tags",
     "00003_users_name_index", "", "users notes tags", "base", "", goose_at_head},
    {"sql-migrate", "1_init 2_audit_block 3_accounts_email_index 20_sessions",
     "3_accounts_email_index", "", "accounts audit sessions", "base", "", sql_migrate_at_head},
    {"flyway",
     "V1__init V1_2__prices V1_10__stock V1.11__suppliers V2__products_name_index",
     "V2__products_name_index", "V1__init V1_2__prices",
     "products prices stock suppliers", "V1_2__prices", "products prices", NULL},
    {"sqlx", "20240101000000_init 20240102000000_lines 20240103000000_customer_index",
     "20240103000000_customer_index", "20240101000000_init", "orders order_lines",
     "20240101000000_init", "orders", NULL},
    {"diesel",
     "00000000000000_diesel_initial_setup 2024-01-01-000000_create_posts "
     "2024-01-02-000000_posts_title_index 2024-01-03-000000_comments",
     "2024-01-02-000000_posts_title_index", "", "diesel_setup posts comments", "base", "",
     NULL},
    {"morph", "000001_create_channels 000002_channels_name_index",
     "000002_channels_name_index", "", "channels", "base", "", NULL},
    {"mixed", "001_dbmate 002_goose 003_pair 004_sql_migrate 005_retort", "", "",
     "m_a m_b m_c m_d m_e", "base", "", NULL},
};

static char *corpus_path(const corpus *c)
{
    const char *root = getenv("RETORT_FORMATS_CORPUS");
    assert_non_null(root);
    char *p = malloc(strlen(root) + strlen(c->name) + 2);
    assert_non_null(p);
    sprintf(p, "%s/%s", root, c->name);
    return p;
}

static retort *load(retort *r, const corpus *c)
{
    char *p = corpus_path(c);
    int rc = retort_load_dir(r, p);
    free(p);
    if (rc != RETORT_OK)
        fail_msg("%s: retort_load_dir: %s", c->name, retort_errmsg(r));
    return r;
}

/* Whether word is one of the space-separated words of list. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The words of list up to and including last (all of them for NULL, none
 * for "base"), sorted bytewise and space-separated, as
 * fixture_version_ids() reports them. */
static char *sorted_prefix(const char *list, const char *last)
{
    char *copy = strdup(list);
    assert_non_null(copy);
    char *words[64];
    int n = 0;
    int stop = last && strcmp(last, "base") == 0;
    for (char *t = strtok(copy, " "); t && !stop && n < 64; t = strtok(NULL, " ")) {
        words[n++] = t;
        if (last && strcmp(t, last) == 0)
            stop = 1;
    }
    qsort(words, (size_t)n, sizeof *words, cmp_str);
    char *out = calloc(1, strlen(list) + 1);
    assert_non_null(out);
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, words[i]);
    }
    free(copy);
    return out;
}

static void assert_tables(const char *list, int present)
{
    char *copy = strdup(list);
    assert_non_null(copy);
    for (char *t = strtok(copy, " "); t; t = strtok(NULL, " "))
        if (fixture_table_exists(t) != present)
            fail_msg("table %s is %s", t, present ? "missing" : "still there");
    free(copy);
}

static void registers_in_the_tool_order(const corpus *c)
{
    retort *r = load(fixture_new(), c);
    int n = 0;
    assert_ok(r, retort_revision_count(r, &n));
    char got[1024] = "";
    for (int i = 0; i < n; i++) {
        const char *id;
        int flags;
        assert_ok(r, retort_revision_info(r, i, &id, NULL, NULL, &flags));
        if (i)
            strcat(got, " ");
        strcat(got, id);
        if (!!(flags & RETORT_REV_NO_TRANSACTION) != has_word(c->no_tx, id))
            fail_msg("%s: '%s' is%s marked non-transactional", c->name, id,
                     flags & RETORT_REV_NO_TRANSACTION ? "" : " not");
        if (!!(flags & RETORT_REV_IRREVERSIBLE) != has_word(c->irreversible, id))
            fail_msg("%s: '%s' is%s irreversible", c->name, id,
                     flags & RETORT_REV_IRREVERSIBLE ? "" : " not");
    }
    assert_string_equal(got, c->order);
}

static void upgrades_and_downgrades(const corpus *c)
{
    retort *r = load(fixture_new(), c);
    assert_ok(r, retort_migrate_to_head(r));
    char *all = sorted_prefix(c->order, NULL);
    assert_version_ids(all);
    assert_tables(c->tables, 1);
    if (c->at_head)
        c->at_head();

    assert_ok(r, retort_downgrade(r, c->down_to));
    char *kept = sorted_prefix(c->order, c->down_to);
    assert_version_ids(kept);
    assert_tables(c->kept, 1);
    /* every table that is not kept is gone */
    char *copy = strdup(c->tables);
    assert_non_null(copy);
    for (char *t = strtok(copy, " "); t; t = strtok(NULL, " "))
        if (!has_word(c->kept, t) && fixture_table_exists(t))
            fail_msg("%s: table %s survived the downgrade to %s", c->name, t, c->down_to);
    free(copy);

    /* and up again */
    assert_ok(r, retort_migrate_to_head(r));
    assert_version_ids(all);
    assert_tables(c->tables, 1);
    assert_ok(r, retort_check(r));
    free(all);
    free(kept);
}

static void offline_script_equals_the_online_run(const corpus *c)
{
    retort *offline = load(fixture_new(), c);
    const char *script = NULL;
    assert_ok(offline, retort_upgrade_sql(offline, "head", &script));
    char *sql = strdup(script);
    assert_non_null(sql);
    fixture_exec(sql);
    free(sql);

    retort *online = NULL;
    if (retort_new_fresh(&online, fixture_url()) != RETORT_OK)
        fail_msg("retort_new_fresh: %s", retort_errmsg(online));
    fixture_adopt(online);
    load(online, c);
    assert_ok(online, retort_migrate_to_head(online));

    const char *text = NULL;
    assert_ok(online, retort_schema_snapshot(online, &text));
    char *want = strdup(text);
    assert_ok(offline, retort_schema_snapshot(offline, &text));
    assert_true(strlen(want) > 0);
    assert_string_equal(text, want);
    free(want);
    const char *ids = NULL;
    assert_ok(online, retort_applied(online, &ids));
    char *want_ids = strdup(ids);
    assert_ok(offline, retort_applied(offline, &ids));
    assert_string_equal(ids, want_ids);
    free(want_ids);
    assert_ok(offline, retort_check(offline));
    if (c->at_head)
        c->at_head();
}

#define CORPUS_TESTS(ident, index)                                                             \
    static void test_##ident##_registers_in_the_tool_order(void **state)                       \
    {                                                                                          \
        (void)state;                                                                           \
        registers_in_the_tool_order(&corpora[index]);                                          \
    }                                                                                          \
    static void test_##ident##_upgrades_and_downgrades(void **state)                           \
    {                                                                                          \
        (void)state;                                                                           \
        upgrades_and_downgrades(&corpora[index]);                                              \
    }                                                                                          \
    static void test_##ident##_offline_script_equals_the_online_run(void **state)              \
    {                                                                                          \
        (void)state;                                                                           \
        offline_script_equals_the_online_run(&corpora[index]);                                 \
    }

CORPUS_TESTS(goose, 0)
CORPUS_TESTS(sql_migrate, 1)
CORPUS_TESTS(flyway, 2)
CORPUS_TESTS(sqlx, 3)
CORPUS_TESTS(diesel, 4)
CORPUS_TESTS(morph, 5)
CORPUS_TESTS(mixed, 6)

static void test_flyway_downgrade_past_a_version_without_undo_changes_nothing(void **state)
{
    (void)state;
    retort *r = load(fixture_new(), &corpora[2]);
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(retort_downgrade(r, "base"), RETORT_EIRREVERSIBLE);
    assert_tables(corpora[2].tables, 1);
    char *all = sorted_prefix(corpora[2].order, NULL);
    assert_version_ids(all);
    free(all);
}

/* A statement the database refuses inside a transaction: the error
 * suggests the no-transaction marker of the file's own format. */
static void test_refused_inside_a_transaction_suggests_the_formats_marker(void **state)
{
    (void)state;
    const char *stmt =
        fixture_is_postgres()
            ? "CREATE TABLE h (x INTEGER);\nCREATE INDEX CONCURRENTLY h_x ON h (x);\n"
            : "VACUUM;\n";
    static const struct {
        const char *file, *head, *down, *hint;
    } cases[] = {
        {"001_a.sql", "-- +goose Up\n", "-- +goose Down\nSELECT 1;\n", "-- +goose NO TRANSACTION"},
        {"001_a.sql", "-- +migrate Up\n", "-- +migrate Down\nSELECT 1;\n",
         "-- +migrate Up notransaction"},
        {"001_a.sql", "-- migrate:up\n", "-- migrate:down\nSELECT 1;\n",
         "-- migrate:up transaction:false"},
        {"V1__a.sql", "", "", "-- retort:no-transaction"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *d = fixture_path("hint");
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", d, d);
        assert_int_equal(system(cmd), 0);
        char file[512];
        snprintf(file, sizeof file, "%s/%s", d, cases[i].file);
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        fprintf(f, "%s%s%s", cases[i].head, stmt, cases[i].down);
        fclose(f);
        retort *r = fixture_new();
        assert_ok(r, retort_load_dir(r, d));
        assert_int_equal(retort_migrate_to_head(r), RETORT_EMIGRATION);
        if (!strstr(retort_errmsg(r), cases[i].hint))
            fail_msg("case %zu: '%s' does not suggest '%s'", i, retort_errmsg(r),
                     cases[i].hint);
        assert_no_table("h");
        fixture_free(r);
        free(d);
    }
}

/* diesel orders by the version before the first '_' with its dashes
 * removed: "2024-01-01-000000" is 20240101000000, after 20231231000000
 * (a project that switched from one timestamp style to the other). */
static void test_diesel_versions_are_compared_without_their_dashes(void **state)
{
    (void)state;
    char *d = fixture_path("dieselorder");
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir -p '%s/2024-01-01-000000_second' '%s/20231231000000_first' && "
             "echo 'CREATE TABLE b (x INTEGER);' > '%s/2024-01-01-000000_second/up.sql' && "
             "echo 'DROP TABLE b;' > '%s/2024-01-01-000000_second/down.sql' && "
             "echo 'CREATE TABLE a (x INTEGER);' > '%s/20231231000000_first/up.sql' && "
             "echo 'DROP TABLE a;' > '%s/20231231000000_first/down.sql'",
             d, d, d, d, d, d, d);
    assert_int_equal(system(cmd), 0);
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    const char *id = NULL;
    assert_ok(r, retort_revision_info(r, 0, &id, NULL, NULL, NULL));
    assert_string_equal(id, "20231231000000_first");
    assert_ok(r, retort_revision_info(r, 1, &id, NULL, NULL, NULL));
    assert_string_equal(id, "2024-01-01-000000_second");
    assert_ok(r, retort_upgrade(r, "20231231000000_first"));
    assert_int_equal(fixture_table_exists("a"), 1);
    assert_int_equal(fixture_table_exists("b"), 0);
    fixture_free(r);
    free(d);
}

/* Flyway's baseline migration "B<version>__<desc>.sql" stands in for the
 * versions up to its own on a new database; run as an ordinary file it
 * would go before V1 and collide with it.  It is refused, naming it. */
static void test_flyway_baseline_migration_is_refused_naming_it(void **state)
{
    (void)state;
    char *d = fixture_path("flywaybaseline");
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir '%s' && "
             "echo 'CREATE TABLE a (x INTEGER);' > '%s/V1__a.sql' && "
             "echo 'CREATE TABLE a (x INTEGER);' > '%s/B1__a.sql'",
             d, d, d, d);
    assert_int_equal(system(cmd), 0);
    retort *r = fixture_new();
    assert_int_equal(retort_load_dir(r, d), RETORT_EPARSE);
    if (!strstr(retort_errmsg(r), "B1__a.sql") || !strstr(retort_errmsg(r), "baseline"))
        fail_msg("'%s' does not name the baseline file", retort_errmsg(r));
    int n = -1;
    assert_ok(r, retort_revision_count(r, &n));
    assert_int_equal(n, 0);
    fixture_free(r);
    free(d);
}

/* ------------------------------------------- Flyway repeatable migrations */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A Flyway directory: V1 creates a, V2 (with its undo) creates b, and the
 * repeatable R__seed inserts into a (so it fails unless V1 ran first; its
 * id also sorts before every V id). */
static char *repeatable_dir(void)
{
    char *d = fixture_path("repeatable");
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir '%s'", d, d);
    assert_int_equal(system(cmd), 0);
    write_file(d, "V1__a.sql", "CREATE TABLE a (x INTEGER);\n");
    write_file(d, "V2__b.sql", "CREATE TABLE b (x INTEGER);\n");
    write_file(d, "U2__b.sql", "DROP TABLE b;\n");
    write_file(d, "R__seed.sql", "INSERT INTO a VALUES (1);\n");
    return d;
}

static retort *upgrade_dir(const char *d)
{
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    assert_ok(r, retort_migrate_to_head(r));
    return r;
}

static char *row_checksum(void)
{
    return fixture_scalar("SELECT checksum FROM retort_version WHERE id = 'R__seed'");
}

static void test_flyway_repeatable_is_applied_after_the_versioned_ones(void **state)
{
    (void)state;
    char *d = repeatable_dir();
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    int n = 0;
    assert_ok(r, retort_revision_count(r, &n));
    assert_int_equal(n, 2); /* the repeatable is no revision */
    const char *list = NULL;
    assert_ok(r, retort_repeatables(r, &list));
    assert_string_equal(list, "R__seed pending\n");
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 1);
    assert_version_ids("R__seed V1__a V2__b");
    char *sum = row_checksum();
    assert_non_null(sum);
    assert_int_equal(strlen(sum), 64);
    char *st = fixture_scalar("SELECT state FROM retort_version WHERE id = 'R__seed'");
    assert_non_null(st);
    assert_string_equal(st, "applied");
    free(st);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log WHERE revision = "
                                   "'R__seed' AND outcome = 'ok'"),
                     1);
    /* heads and current never include it */
    const char *heads = NULL;
    assert_ok(r, retort_current(r, &heads));
    assert_string_equal(heads, "V2__b");
    free(sum);
    fixture_free(r);
    free(d);
}

static void test_flyway_repeatable_unchanged_is_not_applied_again(void **state)
{
    (void)state;
    char *d = repeatable_dir();
    fixture_free(upgrade_dir(d));
    char *before = row_checksum();
    fixture_free(upgrade_dir(d));
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 1);
    char *after = row_checksum();
    assert_string_equal(before, after);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log WHERE revision = "
                                   "'R__seed'"),
                     1);
    free(before);
    free(after);
    free(d);
}

static void test_flyway_repeatable_edited_is_applied_again(void **state)
{
    (void)state;
    char *d = repeatable_dir();
    fixture_free(upgrade_dir(d));
    char *before = row_checksum();
    write_file(d, "R__seed.sql", "INSERT INTO a VALUES (2);\n");
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    const char *list = NULL;
    assert_ok(r, retort_repeatables(r, &list));
    assert_string_equal(list, "R__seed changed\n");
    assert_int_equal(retort_check(r), RETORT_EPENDING);
    if (!strstr(retort_errmsg(r), "R__seed"))
        fail_msg("'%s' does not name R__seed", retort_errmsg(r));
    assert_ok(r, retort_migrate_to_head(r));
    assert_ok(r, retort_repeatables(r, &list));
    assert_string_equal(list, "R__seed applied\n");
    assert_ok(r, retort_check(r));
    fixture_free(r);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 2);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a WHERE x = 2"), 1);
    char *after = row_checksum();
    if (strcmp(before, after) == 0)
        fail_msg("the checksum recorded for R__seed did not change: %s", after);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version WHERE id = 'R__seed'"),
                     1);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log WHERE revision = "
                                   "'R__seed' AND outcome = 'ok'"),
                     2);
    free(before);
    free(after);
    free(d);
}

static void test_flyway_repeatable_is_left_by_a_downgrade(void **state)
{
    (void)state;
    char *d = repeatable_dir();
    retort *r = upgrade_dir(d);
    assert_ok(r, retort_downgrade(r, "V1__a"));
    assert_int_equal(fixture_table_exists("b"), 0);
    assert_version_ids("R__seed V1__a");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 1);
    /* back up to head: V2 again, the unchanged repeatable not again */
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 1);
    assert_version_ids("R__seed V1__a V2__b");
    fixture_free(r);
    free(d);
}

/* An upgrade to a given revision stops there: the repeatable migrations
 * run only with an upgrade to head. */
static void test_flyway_repeatable_waits_for_an_upgrade_to_head(void **state)
{
    (void)state;
    char *d = repeatable_dir();
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    assert_ok(r, retort_upgrade(r, "V1__a"));
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 0);
    assert_version_ids("V1__a");
    fixture_free(r);
    free(d);
}

/* A failing repeatable migration is rolled back, names itself, and leaves
 * no row; the versioned migrations before it stay applied. */
static void test_flyway_repeatable_failure_names_it_and_records_nothing(void **state)
{
    (void)state;
    char *d = repeatable_dir();
    write_file(d, "R__seed.sql", "INSERT INTO a VALUES (1);\nINSERT INTO nosuch VALUES (1);\n");
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    assert_int_equal(retort_migrate_to_head(r), RETORT_EMIGRATION);
    if (!strstr(retort_errmsg(r), "R__seed"))
        fail_msg("'%s' does not name R__seed", retort_errmsg(r));
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a"), 0);
    assert_version_ids("V1__a V2__b");
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log WHERE revision = "
                                   "'R__seed' AND outcome = 'failed'"),
                     1);
    fixture_free(r);
    free(d);
}


/* A second migrator that runs its whole upgrade to head inside the first
 * one's after-event for R__a: between the first one's read of the
 * repeatables' rows and its step for R__b. */
typedef struct racer {
    const char *dir;
    int ran;
    int rc;
} racer;

static void race_after_first(int phase, int direction, int index, int total, const char *id,
                             const char *message, int status, long ms, void *user)
{
    (void)direction, (void)index, (void)total, (void)message, (void)status, (void)ms;
    racer *x = user;
    if (phase != RETORT_EVENT_AFTER || strcmp(id, "R__a") != 0 || x->ran)
        return;
    x->ran = 1;
    retort *other = fixture_new();
    assert_ok(other, retort_set_lock_timeout(other, 200));
    assert_ok(other, retort_load_dir(other, x->dir));
    x->rc = retort_migrate_to_head(other);
    fixture_free(other);
}

/* Exactly once for repeatable migrations too: each due one is re-checked
 * where the run holds the write lock, so one that another process applied
 * meanwhile is not run again.  (On PostgreSQL the run's advisory lock keeps
 * the other process out until its lock timeout; on SQLite it gets in.) */
static void test_flyway_repeatable_runs_once_when_another_process_applies_it(void **state)
{
    (void)state;
    char *d = repeatable_dir();
    char path[600];
    snprintf(path, sizeof path, "%s/R__seed.sql", d);
    assert_int_equal(remove(path), 0);
    write_file(d, "R__a.sql", "INSERT INTO a VALUES (1);\n");
    write_file(d, "R__b.sql", "INSERT INTO a VALUES (2);\n");
    racer x = {d, 0, RETORT_OK};
    retort *r = fixture_new();
    assert_ok(r, retort_load_dir(r, d));
    assert_ok(r, retort_set_event_fn(r, race_after_first, &x));
    assert_ok(r, retort_migrate_to_head(r));
    assert_int_equal(x.ran, 1);
    if (x.rc != RETORT_OK && x.rc != RETORT_ELOCK)
        fail_msg("the other migrator failed with %d", x.rc);
    /* each body ran once, whoever ran it */
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a WHERE x = 1"), 1);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM a WHERE x = 2"), 1);
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM retort_version_log WHERE revision = "
                                   "'R__b' AND outcome = 'ok'"),
                     1);
    assert_version_ids("R__a R__b V1__a V2__b");
    fixture_free(r);
    free(d);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
#define CORPUS(ident)                                                                          \
    T(test_##ident##_registers_in_the_tool_order), T(test_##ident##_upgrades_and_downgrades),  \
        T(test_##ident##_offline_script_equals_the_online_run)
    const struct CMUnitTest tests[] = {
        CORPUS(goose),
        CORPUS(sql_migrate),
        CORPUS(flyway),
        CORPUS(sqlx),
        CORPUS(diesel),
        CORPUS(morph),
        CORPUS(mixed),
        T(test_flyway_downgrade_past_a_version_without_undo_changes_nothing),
        T(test_refused_inside_a_transaction_suggests_the_formats_marker),
        T(test_diesel_versions_are_compared_without_their_dashes),
        T(test_flyway_baseline_migration_is_refused_naming_it),
        T(test_flyway_repeatable_is_applied_after_the_versioned_ones),
        T(test_flyway_repeatable_unchanged_is_not_applied_again),
        T(test_flyway_repeatable_edited_is_applied_again),
        T(test_flyway_repeatable_is_left_by_a_downgrade),
        T(test_flyway_repeatable_waits_for_an_upgrade_to_head),
        T(test_flyway_repeatable_failure_names_it_and_records_nothing),
        T(test_flyway_repeatable_runs_once_when_another_process_applies_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
