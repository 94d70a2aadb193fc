/*
 * test_sql_split.c — unit tests of rt_sql_next_statement (lib/sql_split.c):
 * each test feeds one lexical situation and checks the exact statements
 * that come out, so a regression names the construct that broke.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "sql_split.h"

#define MAX_STATEMENTS 16
#define MAX_TEXT 512

typedef struct split {
    int count;
    char text[MAX_STATEMENTS][MAX_TEXT];
    size_t start[MAX_STATEMENTS];
    size_t end[MAX_STATEMENTS];
} split;

/* Runs the splitter to exhaustion, checking the invariants every call must
 * keep (progress, bounds, a returned 0 is final), and keeps the pieces. */
static void split_all(const char *sql, split *out)
{
    size_t len = strlen(sql);
    size_t pos = 0;
    size_t start = 0, end = 0;
    memset(out, 0, sizeof *out);
    while (rt_sql_next_statement(sql, &pos, &start, &end)) {
        assert_true(out->count < MAX_STATEMENTS);
        assert_true(start <= end);
        assert_true(end <= pos);
        assert_true(pos <= len);
        assert_true(end - start < MAX_TEXT);
        assert_true(end > start); /* a statement is never empty */
        out->start[out->count] = start;
        out->end[out->count] = end;
        memcpy(out->text[out->count], sql + start, end - start);
        out->text[out->count][end - start] = '\0';
        out->count++;
    }
    assert_int_equal(pos, len);
    /* Once exhausted, it stays exhausted. */
    assert_int_equal(rt_sql_next_statement(sql, &pos, &start, &end), 0);
    assert_int_equal(pos, len);
}

/* expected is NULL-terminated. */
static void check_split(const char *sql, const char *const *expected)
{
    split s;
    split_all(sql, &s);
    int n = 0;
    while (expected[n])
        n++;
    for (int k = 0; k < s.count && k < n; k++)
        assert_string_equal(s.text[k], expected[k]);
    assert_int_equal(s.count, n);
}

#define CHECK_SPLIT(sql, ...)                                                                      \
    do {                                                                                           \
        const char *const expected_[] = {__VA_ARGS__, NULL};                                       \
        check_split((sql), expected_);                                                             \
    } while (0)

#define CHECK_NOTHING(sql)                                                                         \
    do {                                                                                           \
        const char *const expected_[] = {NULL};                                                    \
        check_split((sql), expected_);                                                             \
    } while (0)

/* ------------------------------------------------------------- basics */

static void test_splits_on_semicolon_outside_strings(void **state)
{
    (void)state;
    CHECK_SPLIT("CREATE TABLE a (x int); CREATE TABLE b (y int);", "CREATE TABLE a (x int)",
                "CREATE TABLE b (y int)");
}

static void test_excludes_terminating_semicolon_and_surrounding_blanks(void **state)
{
    (void)state;
    const char *sql = "  \n\tSELECT 1  \n ;  ";
    split s;
    split_all(sql, &s);
    assert_int_equal(s.count, 1);
    assert_string_equal(s.text[0], "SELECT 1");
    assert_int_equal(s.start[0], 4);
    assert_int_equal(s.end[0], 12);
}

static void test_trailing_statement_without_semicolon(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1; SELECT 2", "SELECT 1", "SELECT 2");
}

static void test_empty_input_yields_nothing(void **state)
{
    (void)state;
    CHECK_NOTHING("");
}

static void test_whitespace_only_yields_nothing(void **state)
{
    (void)state;
    CHECK_NOTHING(" \t\r\n\f\v ");
}

static void test_only_comments_yields_nothing(void **state)
{
    (void)state;
    CHECK_NOTHING("-- a line comment\n/* a block */ -- another\n  /* /* nested */ */\n");
}

static void test_empty_statements_are_skipped(void **state)
{
    (void)state;
    CHECK_SPLIT(";; ;\n; SELECT 1;;; -- c\n; SELECT 2;", "SELECT 1", "SELECT 2");
}

static void test_comment_only_statement_between_statements_is_skipped(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1; -- nothing here\n/* nor here */; SELECT 2;", "SELECT 1", "SELECT 2");
}

static void test_null_text_yields_nothing(void **state)
{
    (void)state;
    size_t pos = 0, start = 0, end = 0;
    assert_int_equal(rt_sql_next_statement(NULL, &pos, &start, &end), 0);
}

static void test_resumes_from_given_position(void **state)
{
    (void)state;
    const char *sql = "SELECT 1; SELECT 2; SELECT 3";
    size_t pos = 10, start = 0, end = 0;
    assert_int_equal(rt_sql_next_statement(sql, &pos, &start, &end), 1);
    assert_int_equal(start, 10);
    assert_int_equal(end, 18);
    assert_int_equal(pos, 19);
}

/* ------------------------------------------------------------- strings */

static void test_semicolon_inside_string_does_not_split(void **state)
{
    (void)state;
    CHECK_SPLIT("INSERT INTO t VALUES ('a;b'); SELECT 2", "INSERT INTO t VALUES ('a;b')",
                "SELECT 2");
}

static void test_doubled_quote_escapes_inside_string(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 'it''s; fine'; SELECT ''';'''", "SELECT 'it''s; fine'",
                "SELECT ''';'''");
}

static void test_backslash_does_not_escape_in_standard_string(void **state)
{
    (void)state;
    /* In a standard string '\' is the whole literal, so the ';' splits. */
    CHECK_SPLIT("SELECT 'C:\\'; SELECT 2", "SELECT 'C:\\'", "SELECT 2");
}

static void test_escape_string_backslash_quote_does_not_end_string(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT E'it\\'s; still'; SELECT 2", "SELECT E'it\\'s; still'", "SELECT 2");
}

static void test_lowercase_escape_string_prefix(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT e'a\\';b'; SELECT 2", "SELECT e'a\\';b'", "SELECT 2");
}

static void test_escape_string_doubled_quote(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT E'a'';b\\\\'; SELECT 2", "SELECT E'a'';b\\\\'", "SELECT 2");
}

static void test_identifier_ending_in_e_is_not_escape_prefix(void **state)
{
    (void)state;
    /* "type" ends in e: the string after it is a standard one, so '\' ends
     * it and the ';' splits. */
    CHECK_SPLIT("SELECT type'\\'; SELECT 2", "SELECT type'\\'", "SELECT 2");
}

static void test_prefixed_strings_use_standard_escapes(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT B'1;0', X'ff;', N'a;', U&'d;\\0061'; SELECT 2",
                "SELECT B'1;0', X'ff;', N'a;', U&'d;\\0061'", "SELECT 2");
}

static void test_unterminated_string_runs_to_end(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1; SELECT 'oops; SELECT 3;", "SELECT 1", "SELECT 'oops; SELECT 3;");
}

static void test_unterminated_escape_string_runs_to_end(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT E'\\'; SELECT 3", "SELECT E'\\'; SELECT 3");
}

/* --------------------------------------------------------- identifiers */

static void test_semicolon_inside_quoted_identifier_does_not_split(void **state)
{
    (void)state;
    CHECK_SPLIT("CREATE TABLE \"a;b\" (x int); SELECT 2", "CREATE TABLE \"a;b\" (x int)",
                "SELECT 2");
}

static void test_doubled_double_quote_escapes_inside_identifier(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1 AS \"say \"\"hi;\"\"\"; SELECT 2", "SELECT 1 AS \"say \"\"hi;\"\"\"",
                "SELECT 2");
}

static void test_quote_inside_identifier_does_not_open_string(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1 AS \"it's\"; SELECT 2", "SELECT 1 AS \"it's\"", "SELECT 2");
}

static void test_unterminated_identifier_runs_to_end(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT \"x; SELECT 2", "SELECT \"x; SELECT 2");
}

/* ------------------------------------------------------------ comments */

static void test_semicolon_inside_line_comment_does_not_split(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1 -- not; here\n + 1; SELECT 2", "SELECT 1 -- not; here\n + 1",
                "SELECT 2");
}

static void test_line_comment_ends_at_carriage_return(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1 -- c\r; SELECT 2", "SELECT 1", "SELECT 2");
}

static void test_quote_inside_line_comment_does_not_open_string(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1; -- don't\nSELECT 2;", "SELECT 1", "SELECT 2");
}

static void test_leading_comments_are_not_part_of_statement(void **state)
{
    (void)state;
    CHECK_SPLIT("-- header\n/* block */\n  SELECT 1;", "SELECT 1");
}

static void test_trailing_comment_is_not_part_of_statement(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1 /* done */ -- really\n; SELECT 2 -- last", "SELECT 1", "SELECT 2");
}

static void test_semicolon_inside_block_comment_does_not_split(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT /* a; b */ 1; SELECT 2", "SELECT /* a; b */ 1", "SELECT 2");
}

static void test_nested_block_comments_hide_semicolon(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT /* outer /* inner; */ still; comment */ 1; SELECT 2",
                "SELECT /* outer /* inner; */ still; comment */ 1", "SELECT 2");
}

static void test_quote_inside_block_comment_does_not_open_string(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT /* it's */ 1; SELECT 2", "SELECT /* it's */ 1", "SELECT 2");
}

static void test_double_dash_inside_string_is_not_comment(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT '--'; SELECT '/*'; SELECT 3", "SELECT '--'", "SELECT '/*'",
                "SELECT 3");
}

static void test_unterminated_block_comment_runs_to_end(void **state)
{
    (void)state;
    /* Kept as statement text so that the database reports it. */
    CHECK_SPLIT("SELECT 1; SELECT 2 /* never; closed", "SELECT 1",
                "SELECT 2 /* never; closed");
}

static void test_unterminated_leading_block_comment_is_a_statement(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1; /* never; closed", "SELECT 1", "/* never; closed");
}

/* ------------------------------------------------------- dollar quotes */

static void test_dollar_quoted_body_is_one_statement(void **state)
{
    (void)state;
    CHECK_SPLIT("CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE "
                "plpgsql; SELECT f();",
                "CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END; $$ LANGUAGE plpgsql",
                "SELECT f()");
}

static void test_tagged_dollar_quote_ignores_other_tags(void **state)
{
    (void)state;
    CHECK_SPLIT("DO $body$ BEGIN EXECUTE $q$SELECT 1;$q$; PERFORM $$;$$; END $body$; SELECT 2",
                "DO $body$ BEGIN EXECUTE $q$SELECT 1;$q$; PERFORM $$;$$; END $body$",
                "SELECT 2");
}

static void test_dollar_quote_hides_quotes_and_comments(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT $x$ it's -- not /* a comment; $x$; SELECT 2",
                "SELECT $x$ it's -- not /* a comment; $x$", "SELECT 2");
}

static void test_dollar_quote_tag_is_case_sensitive(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT $Tag$ a; $tag$ b; $Tag$; SELECT 2", "SELECT $Tag$ a; $tag$ b; $Tag$",
                "SELECT 2");
}

static void test_dollar_quote_tag_may_hold_digits_and_underscores(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT $_a1$ ; $_a1$; SELECT 2", "SELECT $_a1$ ; $_a1$", "SELECT 2");
}

static void test_positional_parameter_is_not_dollar_quote(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT $1; SELECT $2 || $12", "SELECT $1", "SELECT $2 || $12");
}

static void test_parameter_followed_by_dollar_quote(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT $1 || $$;$$; SELECT 2", "SELECT $1 || $$;$$", "SELECT 2");
}

static void test_dollar_inside_identifier_is_not_dollar_quote(void **state)
{
    (void)state;
    /* PostgreSQL identifiers may contain '$': a$b$ is one word. */
    CHECK_SPLIT("SELECT a$b$c; SELECT 2", "SELECT a$b$c", "SELECT 2");
}

static void test_dollar_quote_after_number(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1$$;$$; SELECT 2", "SELECT 1$$;$$", "SELECT 2");
}

static void test_unterminated_dollar_quote_runs_to_end(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1; DO $$ BEGIN; END; SELECT 3;", "SELECT 1",
                "DO $$ BEGIN; END; SELECT 3;");
}

/* --------------------------------------------------- psql's block rules */

static void test_semicolon_inside_parentheses_does_not_split(void **state)
{
    (void)state;
    CHECK_SPLIT("CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT "
                "INTO b VALUES (2)); SELECT 2",
                "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT "
                "INTO b VALUES (2))",
                "SELECT 2");
}

static void test_unbalanced_close_parenthesis_does_not_block_split(void **state)
{
    (void)state;
    CHECK_SPLIT("SELECT 1); SELECT 2", "SELECT 1)", "SELECT 2");
}

static void test_begin_atomic_body_is_one_statement(void **state)
{
    (void)state;
    CHECK_SPLIT("CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
                "SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT a; END; SELECT 2",
                "CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC "
                "SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT a; END",
                "SELECT 2");
}

static void test_begin_atomic_procedure_is_one_statement(void **state)
{
    (void)state;
    CHECK_SPLIT("create procedure p() begin atomic insert into t values (1); end; SELECT 2",
                "create procedure p() begin atomic insert into t values (1); end", "SELECT 2");
}

static void test_transaction_begin_still_splits(void **state)
{
    (void)state;
    CHECK_SPLIT("BEGIN; CREATE TABLE t (x int); END;", "BEGIN", "CREATE TABLE t (x int)",
                "END");
}

static void test_case_end_outside_routine_body_still_splits(void **state)
{
    (void)state;
    CHECK_SPLIT("CREATE VIEW v AS SELECT CASE WHEN true THEN 1 END AS c; SELECT 2",
                "CREATE VIEW v AS SELECT CASE WHEN true THEN 1 END AS c", "SELECT 2");
}

/* ------------------------------------------------------- miscellaneous */

static void test_non_ascii_text_passes_through(void **state)
{
    (void)state;
    CHECK_SPLIT("INSERT INTO t VALUES ('h\xc3\xa9;'); SELECT \xc3\xa9t\xc3\xa9",
                "INSERT INTO t VALUES ('h\xc3\xa9;')", "SELECT \xc3\xa9t\xc3\xa9");
}

static void test_create_index_concurrently_script_splits_per_statement(void **state)
{
    (void)state;
    CHECK_SPLIT("-- retort:no-transaction\n"
                "CREATE INDEX CONCURRENTLY i1 ON t (a);\n"
                "CREATE INDEX CONCURRENTLY i2 ON t (b);\n",
                "CREATE INDEX CONCURRENTLY i1 ON t (a)", "CREATE INDEX CONCURRENTLY i2 ON t (b)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splits_on_semicolon_outside_strings),
        cmocka_unit_test(test_excludes_terminating_semicolon_and_surrounding_blanks),
        cmocka_unit_test(test_trailing_statement_without_semicolon),
        cmocka_unit_test(test_empty_input_yields_nothing),
        cmocka_unit_test(test_whitespace_only_yields_nothing),
        cmocka_unit_test(test_only_comments_yields_nothing),
        cmocka_unit_test(test_empty_statements_are_skipped),
        cmocka_unit_test(test_comment_only_statement_between_statements_is_skipped),
        cmocka_unit_test(test_null_text_yields_nothing),
        cmocka_unit_test(test_resumes_from_given_position),
        cmocka_unit_test(test_semicolon_inside_string_does_not_split),
        cmocka_unit_test(test_doubled_quote_escapes_inside_string),
        cmocka_unit_test(test_backslash_does_not_escape_in_standard_string),
        cmocka_unit_test(test_escape_string_backslash_quote_does_not_end_string),
        cmocka_unit_test(test_lowercase_escape_string_prefix),
        cmocka_unit_test(test_escape_string_doubled_quote),
        cmocka_unit_test(test_identifier_ending_in_e_is_not_escape_prefix),
        cmocka_unit_test(test_prefixed_strings_use_standard_escapes),
        cmocka_unit_test(test_unterminated_string_runs_to_end),
        cmocka_unit_test(test_unterminated_escape_string_runs_to_end),
        cmocka_unit_test(test_semicolon_inside_quoted_identifier_does_not_split),
        cmocka_unit_test(test_doubled_double_quote_escapes_inside_identifier),
        cmocka_unit_test(test_quote_inside_identifier_does_not_open_string),
        cmocka_unit_test(test_unterminated_identifier_runs_to_end),
        cmocka_unit_test(test_semicolon_inside_line_comment_does_not_split),
        cmocka_unit_test(test_line_comment_ends_at_carriage_return),
        cmocka_unit_test(test_quote_inside_line_comment_does_not_open_string),
        cmocka_unit_test(test_leading_comments_are_not_part_of_statement),
        cmocka_unit_test(test_trailing_comment_is_not_part_of_statement),
        cmocka_unit_test(test_semicolon_inside_block_comment_does_not_split),
        cmocka_unit_test(test_nested_block_comments_hide_semicolon),
        cmocka_unit_test(test_quote_inside_block_comment_does_not_open_string),
        cmocka_unit_test(test_double_dash_inside_string_is_not_comment),
        cmocka_unit_test(test_unterminated_block_comment_runs_to_end),
        cmocka_unit_test(test_unterminated_leading_block_comment_is_a_statement),
        cmocka_unit_test(test_dollar_quoted_body_is_one_statement),
        cmocka_unit_test(test_tagged_dollar_quote_ignores_other_tags),
        cmocka_unit_test(test_dollar_quote_hides_quotes_and_comments),
        cmocka_unit_test(test_dollar_quote_tag_is_case_sensitive),
        cmocka_unit_test(test_dollar_quote_tag_may_hold_digits_and_underscores),
        cmocka_unit_test(test_positional_parameter_is_not_dollar_quote),
        cmocka_unit_test(test_parameter_followed_by_dollar_quote),
        cmocka_unit_test(test_dollar_inside_identifier_is_not_dollar_quote),
        cmocka_unit_test(test_dollar_quote_after_number),
        cmocka_unit_test(test_unterminated_dollar_quote_runs_to_end),
        cmocka_unit_test(test_semicolon_inside_parentheses_does_not_split),
        cmocka_unit_test(test_unbalanced_close_parenthesis_does_not_block_split),
        cmocka_unit_test(test_begin_atomic_body_is_one_statement),
        cmocka_unit_test(test_begin_atomic_procedure_is_one_statement),
        cmocka_unit_test(test_transaction_begin_still_splits),
        cmocka_unit_test(test_case_end_outside_routine_body_still_splits),
        cmocka_unit_test(test_non_ascii_text_passes_through),
        cmocka_unit_test(test_create_index_concurrently_script_splits_per_statement),
    };
    return cmocka_run_group_tests_name("sql_split", tests, NULL, NULL);
}
