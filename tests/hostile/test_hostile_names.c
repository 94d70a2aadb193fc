/*
 * test_hostile_names.c — names that reach SQL from places validation
 * cannot reach: the schema PostgreSQL reports as current_schema() (chosen
 * by whoever controls the database's or role's search_path), and table and
 * column names read back from the catalogue by snapshot and autogenerate.
 * Each name is made of what breaks out of a SQL context: ' " \ $$ ; a
 * newline, unicode, 63 bytes (PostgreSQL's NAMEDATALEN).  Every operation
 * that builds SQL around such a name (upgrade, downgrade, stamp, mark,
 * check, current, offline SQL, snapshot, autogenerate) must treat it as a
 * name: no statement runs from it, and the version table lands exactly
 * where it should.
 */
#include "fixture.h"

/* A name as a SQL string literal (standard_conforming_strings is on in the
 * test cluster, as it is by default); written into buf. */
static const char *lit(const char *s, char *buf, size_t size)
{
    size_t w = 0;
    buf[w++] = '\'';
    for (; *s && w + 3 < size; s++) {
        if (*s == '\'')
            buf[w++] = '\'';
        buf[w++] = *s;
    }
    buf[w++] = '\'';
    buf[w] = '\0';
    return buf;
}

/* A name as a SQL identifier; written into buf. */
static const char *ident(const char *s, char *buf, size_t size)
{
    size_t w = 0;
    buf[w++] = '"';
    for (; *s && w + 3 < size; s++) {
        if (*s == '"')
            buf[w++] = '"';
        buf[w++] = *s;
    }
    buf[w++] = '"';
    buf[w] = '\0';
    return buf;
}

/*
 * A libpq key=value URL whose session search_path holds only schema: the
 * server's options are split on spaces (backslash escapes one), and the
 * conninfo value is single-quoted (backslash escapes ' and \).  The
 * schema is double-quoted as search_path wants.
 */
static char *url_with_search_path(const char *schema)
{
    char opt[1024];
    size_t w = 0;
    /* and backslashes in '...' read as escapes, as a database owner can
     * make every session read them: literals must not depend on it */
    w += (size_t)snprintf(opt + w, sizeof opt - w,
                          "-cstandard_conforming_strings=off -csearch_path=\"");
    for (const char *p = schema; *p && w + 4 < sizeof opt; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == '\\')
            opt[w++] = '\\';
        if (*p == '"')
            opt[w++] = '"';
        opt[w++] = *p;
    }
    opt[w++] = '"';
    opt[w] = '\0';
    char *url = malloc(3 * sizeof opt);
    assert_non_null(url);
    size_t u = (size_t)snprintf(url, 3 * sizeof opt, "postgresql:options='");
    for (const char *p = opt; *p; p++) {
        if (*p == '\'' || *p == '\\')
            url[u++] = '\\';
        url[u++] = *p;
    }
    url[u++] = '\'';
    url[u] = '\0';
    return url;
}

/* Created afresh: a failed earlier run may have left it behind. */
static void create_schema(const char *schema)
{
    char q[512], sql[1200];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s",
             ident(schema, q, sizeof q), q);
    fixture_exec(sql);
}

static void drop_schema(const char *schema)
{
    char q[512], sql[600];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", ident(schema, q, sizeof q));
    fixture_exec(sql);
}

/* Rows of the version table in schema, ids space-separated in order. */
static char *ids_in_schema(const char *schema)
{
    char q[512], sql[700];
    snprintf(sql, sizeof sql,
             "SELECT COALESCE(string_agg(id, ' ' ORDER BY seq), '') FROM %s.retort_version",
             ident(schema, q, sizeof q));
    return fixture_scalar(sql);
}

static long tables_in_schema(const char *schema)
{
    char l[512], sql[700];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = %s",
             lit(schema, l, sizeof l));
    return fixture_count(sql);
}

/* Upgrades a context whose schema is unset on a connection whose only
 * schema is `schema`, and checks the version table landed there. */
static void upgrade_in_server_schema(const char *schema)
{
    create_schema(schema);
    char *url = url_with_search_path(schema);
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    free(url);
    assert_int_equal(rc, RETORT_OK);
    assert_ok(r, retort_add_sql(r, "a", NULL, "first", "CREATE TABLE t_a (x INTEGER)",
                                "DROP TABLE t_a"));
    assert_ok(r, retort_migrate_to_head(r));
    char *ids = ids_in_schema(schema);
    assert_string_equal(ids, "a");
    free(ids);
    /* retort_version, its log, and the migration's t_a */
    assert_int_equal(tables_in_schema(schema), 3);
}

static void test_schema_name_from_search_path_cannot_run_sql_in_create_schema(void **state)
{
    (void)state;
    const char *schema = "a'||chr(34))IS NULL THEN END IF;DROP TABLE public.victim;IF('";
    fixture_exec("DROP TABLE IF EXISTS public.victim; CREATE TABLE public.victim (x INTEGER)");
    upgrade_in_server_schema(schema);
    long victims = fixture_count("SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE "
                                 "schemaname = 'public' AND tablename = 'victim'");
    fixture_exec("DROP TABLE IF EXISTS public.victim");
    drop_schema(schema);
    if (victims != 1)
        fail_msg("public.victim was dropped by a schema name");
}

static void test_schema_name_with_a_quote_from_search_path_migrates(void **state)
{
    (void)state;
    upgrade_in_server_schema("o'brien");
    drop_schema("o'brien");
}

/*
 * Server-side schema names: every character class that ends a SQL context
 * (quote, double quote, backslash, $$, $retort$, semicolon, comment
 * openers, line breaks), unicode, would-be placeholders, and PostgreSQL's
 * 63-byte limit in ASCII and in 2-byte characters (and a
 * 70-byte name, which the server itself truncates to 63).
 */
static const char *const server_schemas[] = {
    "o'brien", "a\"b", "a\\b", "a\\'b", "a$$b", "x$retort$y", "$retort", "a;b; DROP TABLE t_a",
    "a--b", "a/*b", "a\nb", "a\rb", "caf\xc3\xa9 \xe2\x80\xae\xf0\x9f\x92\xa5", "{tag}",
    "{schema_name}", "$1", "a\\$1",
    /* 63 bytes */
    "s23456789012345678901234567890123456789012345678901234567890123",
    /* 31 two-byte characters and one byte: 63 bytes */
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'",
    NULL};

static void assert_ids(const char *schema, const char *expected)
{
    char *ids = ids_in_schema(schema);
    if (strcmp(ids, expected) != 0) {
        char copy[256];
        snprintf(copy, sizeof copy, "%s", ids);
        free(ids);
        fail_msg("schema \"%s\": version table holds \"%s\", expected \"%s\"", schema, copy,
                 expected);
    }
    free(ids);
}

static retort *context_in(const char *schema)
{
    char *url = url_with_search_path(schema);
    retort *r = NULL;
    int rc = retort_new(&r, url);
    fixture_adopt(r);
    free(url);
    assert_int_equal(rc, RETORT_OK);
    assert_ok(r, retort_add_sql(r, "a", NULL, "first 'one'", "CREATE TABLE t_a (x INTEGER)",
                                "DROP TABLE t_a"));
    assert_ok(r, retort_add_sql(r, "b", "a", "second; \"two\" $$ \\",
                                "CREATE TABLE t_b (y TEXT DEFAULT 'x')", "DROP TABLE t_b"));
    return r;
}

/* Every operation on the version table, with the schema from the server. */
static void every_operation_in(const char *schema)
{
    create_schema(schema);
    retort *r = context_in(schema);
    const char *heads = NULL;
    assert_ok(r, retort_current(r, &heads));
    assert_string_equal(heads, "");
    assert_rc(r, retort_check(r), RETORT_EPENDING);
    assert_ok(r, retort_upgrade(r, "a"));
    assert_ids(schema, "a");
    assert_ok(r, retort_migrate_to_head(r));
    assert_ids(schema, "a b");
    assert_ok(r, retort_check(r));
    assert_ok(r, retort_current(r, &heads));
    assert_string_equal(heads, "b");
    assert_ok(r, retort_downgrade(r, "a"));
    assert_ids(schema, "a");
    assert_ok(r, retort_upgrade(r, "head"));
    assert_ok(r, retort_stamp(r, "a"));
    assert_ids(schema, "a");
    assert_ok(r, retort_mark_applied(r, "b"));
    assert_ids(schema, "a b");
    assert_ok(r, retort_mark_reverted(r, "b"));
    assert_ids(schema, "a");
    assert_ok(r, retort_mark_applied(r, "b"));
    assert_ids(schema, "a b");
    assert_ok(r, retort_downgrade(r, "base"));
    assert_ids(schema, "");
    const char *snap = NULL;
    assert_ok(r, retort_schema_snapshot(r, &snap));
    assert_string_equal(snap, "");
    /* The audit log, in the same schema, saw every step. */
    char q[512], sql[800];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s.retort_version_log",
             ident(schema, q, sizeof q));
    assert_int_equal(fixture_count(sql), 10);

    /* The offline script of a connected context targets the same schema:
     * run by the server from an empty schema, it makes the same rows. */
    const char *script = NULL;
    assert_ok(r, retort_upgrade_sql(r, "head", &script));
    char *copy = strdup(script);
    assert_non_null(copy);
    fixture_free(r);
    drop_schema(schema);
    /* the migrations' unqualified tables land in the schema, as online */
    snprintf(sql, sizeof sql, "SET search_path TO %s", q);
    fixture_exec(sql);
    fixture_exec(copy);
    fixture_exec("RESET search_path");
    free(copy);
    assert_ids(schema, "a b");
    assert_int_equal(tables_in_schema(schema), 4);
    snprintf(sql, sizeof sql, "SELECT message FROM %s.retort_version WHERE id = 'b'", q);
    char *message = fixture_scalar(sql);
    assert_string_equal(message, "second; \"two\" $$ \\");
    free(message);
    drop_schema(schema);
}

static void test_hostile_server_schema_names_go_through_every_operation_as_names(void **state)
{
    (void)state;
    fixture_exec("DROP TABLE IF EXISTS public.t_a, public.t_b");
    for (int i = 0; server_schemas[i]; i++)
        every_operation_in(server_schemas[i]);
    /* Nothing ran outside the schemas. */
    assert_int_equal(fixture_count("SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE "
                                   "schemaname = 'public' AND tablename LIKE 't\\_%'"),
                     0);
}

static void test_schema_name_longer_than_63_bytes_is_the_servers_truncated_name(void **state)
{
    (void)state;
    const char *longer = "s234567890123456789012345678901234567890123456789012345678901234567890";
    create_schema(longer); /* the server keeps its first 63 bytes */
    retort *r = context_in(longer);
    assert_ok(r, retort_migrate_to_head(r));
    char truncated[64];
    memcpy(truncated, longer, 63);
    truncated[63] = '\0';
    assert_ids(truncated, "a b");
    assert_int_equal(tables_in_schema(truncated), 4);
    drop_schema(truncated);
}

/* The longest names the settings allow: a 63-character schema and a
 * 59-character version table, whose audit log is then exactly 63. */
static void test_longest_allowed_schema_and_table_names_keep_their_every_byte(void **state)
{
    (void)state;
    const char *schema = "S23456789012345678901234567890123456789012345678901234567890123";
    const char *table = "T2345678901234567890123456789012345678901234567890123456789";
    assert_int_equal(strlen(schema), 63);
    assert_int_equal(strlen(table), 59);
    drop_schema(schema);
    retort *r = fixture_new();
    assert_ok(r, retort_set_schema(r, schema));
    assert_ok(r, retort_set_version_table(r, table));
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, "SELECT 1", NULL));
    assert_ok(r, retort_migrate_to_head(r));
    char l[512], sql[800];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_catalog.pg_tables "
             "WHERE schemaname = %s", lit(schema, l, sizeof l));
    char *tables = fixture_scalar(sql);
    char expected[200];
    snprintf(expected, sizeof expected, "%s %s_log", table, table);
    assert_string_equal(tables, expected);
    free(tables);
    /* one character more is refused, naming the setting */
    char longer[80];
    snprintf(longer, sizeof longer, "%sX", schema);
    assert_rc(r, retort_set_schema(r, longer), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "schema");
    snprintf(longer, sizeof longer, "%sX", table);
    assert_rc(r, retort_set_version_table(r, longer), RETORT_EINVAL);
    assert_contains(retort_errmsg(r), "version_table");
    fixture_free(r);
    drop_schema(schema);
}

/* ------------------------------------------------ catalogue names, both */

/* Table and column names as the catalogue returns them to snapshot and
 * autogenerate. */
static const char *const catalogue_names[] = {
    "o'brien", "a\"b", "a\\b", "a$$b", "x$retort$y", "a;b); DROP TABLE victim; --", "a--b",
    "a\nDROP TABLE victim; --", "a\rb", "caf\xc3\xa9 \xe2\x80\xae", "{table}", "$1",
    "n23456789012345678901234567890123456789012345678901234567890123", NULL};

static const char *name_ident(const char *name, char *buf, size_t size)
{
    return ident(name, buf, size);
}

static void drop_bookkeeping(void)
{
    fixture_exec("DROP TABLE retort_version; DROP TABLE retort_version_log");
}

/* The declared schema: the table named name (with a column named name)
 * and, when extra, a second column and an index both named name too. */
static char *declared(const char *name, int extra)
{
    char q[512];
    name_ident(name, q, sizeof q);
    char *sql = malloc(4096);
    assert_non_null(sql);
    int n = snprintf(sql, 4096, "CREATE TABLE victim (x INTEGER); CREATE TABLE %s (id INTEGER "
                                "PRIMARY KEY, %s TEXT", q, q);
    if (extra) {
        char q2[600];
        char second[600];
        snprintf(second, sizeof second, "c_%s", name); /* distinct in its first 63 bytes */
        n += snprintf(sql + n, (size_t)(4096 - n), ", %s INTEGER); CREATE INDEX %s ON %s (%s)",
                      name_ident(second, q2, sizeof q2), q2, q, q);
    } else {
        n += snprintf(sql + n, (size_t)(4096 - n), ")");
    }
    return sql;
}

/* Autogenerate between a schema holding catalogue names and one declaring
 * more of them: the generated migration, run by the database, gives
 * exactly the declared schema, and its downgrade the original. */
static void autogenerate_round_trip(const char *name)
{
    char *before = declared(name, 0), *after = declared(name, 1);
    retort *r = fixture_new();
    /* the database holds the "before" schema (and its catalogue names) */
    assert_ok(r, retort_add_sql(r, "a", NULL, NULL, before, NULL));
    assert_ok(r, retort_migrate_to_head(r));
    const char *snap = NULL;
    const char *up = NULL, *down = NULL;
    if (strpbrk(name, "\r\n")) {
        /* A line break cannot be held by a snapshot line: refused, never
         * split into a line of its own. */
        assert_rc(r, retort_schema_snapshot(r, &snap), RETORT_EDB);
        assert_contains(retort_errmsg(r), "line break");
        assert_rc(r, retort_autogenerate(r, after, &up, &down), RETORT_EDB);
        assert_contains(retort_errmsg(r), "line break");
        assert_table("victim");
        free(before);
        free(after);
        fixture_free(r);
        char q[512], sql[600];
        snprintf(sql, sizeof sql, "DROP TABLE %s; DROP TABLE victim",
                 name_ident(name, q, sizeof q));
        fixture_exec(sql);
        drop_bookkeeping();
        return;
    }
    assert_ok(r, retort_schema_snapshot(r, &snap));
    assert_ok(r, retort_autogenerate(r, after, &up, &down));
    char *up_copy = strdup(up), *down_copy = strdup(down);
    assert_non_null(up_copy);
    assert_non_null(down_copy);
    fixture_exec(up_copy);
    assert_table("victim");
    const char *diff = NULL;
    int rc = retort_schema_diff(r, after, &diff);
    if (rc != RETORT_OK)
        fail_msg("name \"%s\": after the generated upgrade the schema still differs: %s\n%s",
                 name, retort_errmsg(r), up_copy);
    fixture_exec(down_copy);
    assert_table("victim");
    rc = retort_schema_diff(r, before, &diff);
    if (rc != RETORT_OK)
        fail_msg("name \"%s\": after the generated downgrade the schema differs: %s\n%s", name,
                 retort_errmsg(r), down_copy);
    free(up_copy);
    free(down_copy);
    free(before);
    free(after);
    fixture_free(r);
    char q[512], sql[600];
    snprintf(sql, sizeof sql, "DROP TABLE %s; DROP TABLE victim", name_ident(name, q, sizeof q));
    fixture_exec(sql);
    drop_bookkeeping();
}

static void test_catalogue_names_in_snapshot_and_autogenerate_stay_names(void **state)
{
    (void)state;
    for (int i = 0; catalogue_names[i]; i++)
        autogenerate_round_trip(catalogue_names[i]);
}

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest postgres_only[] = {
        T(test_schema_name_from_search_path_cannot_run_sql_in_create_schema),
        T(test_schema_name_with_a_quote_from_search_path_migrates),
        T(test_hostile_server_schema_names_go_through_every_operation_as_names),
        T(test_schema_name_longer_than_63_bytes_is_the_servers_truncated_name),
        T(test_longest_allowed_schema_and_table_names_keep_their_every_byte),
    };
    const struct CMUnitTest common[] = {
        T(test_catalogue_names_in_snapshot_and_autogenerate_stay_names),
    };
    enum { NCOMMON = sizeof common / sizeof common[0],
           NPG = sizeof postgres_only / sizeof postgres_only[0] };
    struct CMUnitTest tests[NCOMMON + NPG];
    size_t n = 0;
    for (size_t i = 0; i < NCOMMON; i++)
        tests[n++] = common[i];
    if (fixture_is_postgres())
        for (size_t i = 0; i < NPG; i++)
            tests[n++] = postgres_only[i];
    return _cmocka_run_group_tests("hostile_names", tests, n, NULL, NULL);
}
