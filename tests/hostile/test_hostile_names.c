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
    w += (size_t)snprintf(opt + w, sizeof opt - w, "-csearch_path=\"");
    for (const char *p = schema; *p && w + 4 < sizeof opt; p++) {
        if (*p == ' ' || *p == '\\')
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

int main(void)
{
    if (fixture_skip_if_unavailable())
        return 0;
#define T(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)
    const struct CMUnitTest postgres_only[] = {
        T(test_schema_name_from_search_path_cannot_run_sql_in_create_schema),
        T(test_schema_name_with_a_quote_from_search_path_migrates),
    };
    if (!fixture_is_postgres()) {
        printf("1..0 # SKIP PostgreSQL-only cases\n");
        return 0;
    }
    return cmocka_run_group_tests(postgres_only, NULL, NULL);
}
