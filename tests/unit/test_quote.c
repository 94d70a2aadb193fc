/*
 * test_quote.c — every SQL template of every built-in driver, and the
 * offline rendering of parameters, keep their shape whatever names and
 * values they are given.
 *
 * The proof: each template is expanded twice, once with plain names ("s",
 * "t") and once with hostile ones (quotes, backslashes, dollar quotes,
 * semicolons, comment openers, line breaks, unicode, 63 bytes), and both
 * expansions are cut into tokens by a small lexer that reads them as the
 * database does (PostgreSQL with standard_conforming_strings on and off;
 * SQLite).  The two token sequences must match one for one: the same
 * words and punctuation, a quoted identifier wherever there was one and
 * holding exactly the hostile name where the plain one held the plain
 * name, a string literal likewise; literals that hold SQL (a DO body) are
 * compared the same way, recursively.  A name that escaped its quotes, or
 * sat in the wrong context, would change the sequence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builtin_backends.h"
#include "conn.h"
#include "context.h"
#include "quote.h"
#include "version_table.h"

/* ---------------------------------------------------------------- lexer */

enum { TK_WORD, TK_PUNCT, TK_IDENT, TK_LITERAL, TK_PARAM };

typedef struct {
    int kind;
    char *text; /* the word, or the decoded content of a quoted token */
} tok;

typedef struct {
    tok *v;
    int n, cap;
    const char *error; /* the text could not be lexed (unterminated ...) */
} toks;

enum { PG_SCS_ON, PG_SCS_OFF, SQLITE };

static void push(toks *t, int kind, const char *s, size_t n)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = realloc(t->v, (size_t)t->cap * sizeof *t->v);
        assert_non_null(t->v);
    }
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    copy[n] = '\0';
    t->v[t->n].kind = kind;
    t->v[t->n].text = copy;
    t->n++;
}

static void free_toks(toks *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->v[i].text);
    free(t->v);
    memset(t, 0, sizeof *t);
}

static int is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_ident_cont(unsigned char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }

/* Reads a quoted run closed by q, a doubled q standing for one; with
 * backslash, a backslash escapes the next byte (PostgreSQL's '...' when
 * standard_conforming_strings is off).  Returns the end, or NULL. */
static const char *quoted(const char *p, char q, int backslash, char *out, size_t *outn)
{
    size_t n = 0;
    for (p++;; p++) {
        if (!*p)
            return NULL;
        if (backslash && *p == '\\') {
            if (!p[1])
                return NULL;
            /* \n, \t ... are escapes too; the names here only need \\ and \' */
            out[n++] = p[1];
            p++;
            continue;
        }
        if (*p == q) {
            if (p[1] == q) {
                out[n++] = q;
                p++;
                continue;
            }
            *outn = n;
            return p + 1;
        }
        out[n++] = *p;
    }
}

static void lex(const char *s, int dialect, toks *t)
{
    char *buf = malloc(strlen(s) + 1);
    assert_non_null(buf);
    const char *p = s;
    while (*p && !t->error) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            p++;
        } else if (c == '-' && p[1] == '-') {
            /* PostgreSQL ends a comment at CR or LF, SQLite at LF only */
            while (*p && *p != '\n' && (dialect == SQLITE || *p != '\r'))
                p++;
        } else if (c == '/' && p[1] == '*') {
            int depth = 1;
            p += 2;
            while (*p && depth) {
                if (dialect != SQLITE && p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
            if (depth)
                t->error = "unterminated /* comment";
        } else if (c == '\'' || ((c == 'E' || c == 'e') && p[1] == '\'' && dialect != SQLITE)) {
            int escapes = dialect == PG_SCS_OFF || c != '\'';
            if (c != '\'')
                p++;
            size_t n = 0;
            const char *end = quoted(p, '\'', escapes, buf, &n);
            if (!end) {
                t->error = "unterminated string literal";
                break;
            }
            push(t, TK_LITERAL, buf, n);
            p = end;
        } else if (c == '"') {
            size_t n = 0;
            const char *end = quoted(p, '"', 0, buf, &n);
            if (!end) {
                t->error = "unterminated quoted identifier";
                break;
            }
            push(t, TK_IDENT, buf, n);
            p = end;
        } else if (c == '$' && p[1] >= '0' && p[1] <= '9') {
            const char *q = p + 1;
            while (*q >= '0' && *q <= '9')
                q++;
            push(t, TK_PARAM, p, (size_t)(q - p));
            p = q;
        } else if (c == '$' && dialect != SQLITE) {
            /* $tag$ ... $tag$ */
            const char *q = p + 1;
            if (is_ident_start((unsigned char)*q) && !(*q & 0x80))
                while (is_ident_cont((unsigned char)*q) && !(*q & 0x80))
                    q++;
            if (*q != '$') {
                push(t, TK_PUNCT, p, 1);
                p++;
                continue;
            }
            size_t taglen = (size_t)(q - p + 1);
            char tag[64];
            assert_true(taglen < sizeof tag);
            memcpy(tag, p, taglen);
            tag[taglen] = '\0';
            const char *body = q + 1;
            const char *close = strstr(body, tag);
            if (!close) {
                t->error = "unterminated dollar-quoted string";
                break;
            }
            push(t, TK_LITERAL, body, (size_t)(close - body));
            p = close + taglen;
        } else if (is_ident_start(c)) {
            const char *q = p;
            while (is_ident_cont((unsigned char)*q))
                q++;
            push(t, TK_WORD, p, (size_t)(q - p));
            p = q;
        } else if (c >= '0' && c <= '9') {
            const char *q = p;
            while (*q >= '0' && *q <= '9')
                q++;
            push(t, TK_WORD, p, (size_t)(q - p));
            p = q;
        } else {
            push(t, TK_PUNCT, p, 1);
            p++;
        }
    }
    free(buf);
    if (dialect != SQLITE)
        return;
    /* ('a' || char(13) || 'b'): the SQLite driver's literal holding a CR,
     * folded back into the one literal it stands for. */
    for (int i = 0; i + 2 < t->n; i++) {
        if (!(t->v[i].kind == TK_PUNCT && strcmp(t->v[i].text, "(") == 0 &&
              t->v[i + 1].kind == TK_LITERAL))
            continue;
        int j = i + 2;
        size_t len = strlen(t->v[i + 1].text);
        char *value = malloc(len + 1);
        assert_non_null(value);
        memcpy(value, t->v[i + 1].text, len + 1);
        int ok = 0;
        for (;;) {
            if (j < t->n && t->v[j].kind == TK_PUNCT && strcmp(t->v[j].text, ")") == 0) {
                ok = j > i + 2;
                break;
            }
            /* | | char ( 13 ) | | or | | LITERAL */
            if (j + 1 < t->n && strcmp(t->v[j].text, "|") == 0 &&
                strcmp(t->v[j + 1].text, "|") == 0) {
                j += 2;
                if (j + 3 < t->n && strcmp(t->v[j].text, "char") == 0 &&
                    strcmp(t->v[j + 1].text, "(") == 0 && strcmp(t->v[j + 2].text, "13") == 0 &&
                    strcmp(t->v[j + 3].text, ")") == 0) {
                    value = realloc(value, ++len + 1);
                    assert_non_null(value);
                    value[len - 1] = '\r';
                    value[len] = '\0';
                    j += 4;
                    continue;
                }
                if (j < t->n && t->v[j].kind == TK_LITERAL) {
                    size_t add = strlen(t->v[j].text);
                    value = realloc(value, len + add + 1);
                    assert_non_null(value);
                    memcpy(value + len, t->v[j].text, add + 1);
                    len += add;
                    j++;
                    continue;
                }
            }
            break;
        }
        if (!ok) {
            free(value);
            continue;
        }
        for (int k = i; k <= j; k++)
            free(t->v[k].text);
        t->v[i].kind = TK_LITERAL;
        t->v[i].text = value;
        memmove(&t->v[i + 1], &t->v[j + 1], (size_t)(t->n - j - 1) * sizeof *t->v);
        t->n -= j - i;
    }
}

/* ----------------------------------------------------------- comparison */

typedef struct {
    const char *plain[8];
    const char *hostile[8];
    int n;
} mapping;

static const char *mapped(const mapping *m, const char *plain)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->plain[i], plain) == 0)
            return m->hostile[i];
    return NULL;
}

/* The hostile expansion must have the plain one's shape; fails the test
 * naming what differs. */
static void same_shape(const char *plain, const char *hostile, int dialect, const mapping *m,
                       const char *what)
{
    toks a = {0}, b = {0};
    lex(plain, dialect, &a);
    lex(hostile, dialect, &b);
    if (a.error)
        fail_msg("%s: the plain statement does not lex (%s): %s", what, a.error, plain);
    if (b.error)
        fail_msg("%s: %s, dialect %d: %s", what, b.error, dialect, hostile);
    if (a.n != b.n)
        fail_msg("%s, dialect %d: %d tokens instead of %d:\n%s\n%s", what, dialect, b.n, a.n,
                 plain, hostile);
    for (int i = 0; i < a.n; i++) {
        const tok *x = &a.v[i], *y = &b.v[i];
        if (x->kind != y->kind)
            fail_msg("%s, dialect %d: token %d is of another kind ('%s' vs '%s'):\n%s", what,
                     dialect, i, x->text, y->text, hostile);
        const char *expect = NULL;
        if (x->kind == TK_IDENT || x->kind == TK_LITERAL)
            expect = mapped(m, x->text);
        if (expect) {
            if (strcmp(expect, y->text) != 0)
                fail_msg("%s, dialect %d: token %d reads back as [%s], not [%s]:\n%s", what,
                         dialect, i, y->text, expect, hostile);
        } else if (x->kind == TK_LITERAL && strchr(x->text, ' ')) {
            /* SQL inside a literal (a DO body): the same shape, recursively */
            same_shape(x->text, y->text, dialect, m, what);
        } else if (strcmp(x->text, y->text) != 0) {
            fail_msg("%s, dialect %d: token %d is '%s', not '%s':\n%s", what, dialect, i,
                     y->text, x->text, hostile);
        }
    }
    free_toks(&a);
    free_toks(&b);
}

/* ---------------------------------------------------------- the names */

static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t next(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * UINT64_C(2685821657736338717)) >> 32);
}

static const char *const fragments[] = {
    "'", "\"", "\\", "\\'", "$$", "$retort$", "$retort", "$retort1$", "$1", ";", "--", "/*",
    "*/", "\n", "\r", " ", "caf\xc3\xa9", "\xf0\x9f\x92\xa5", "{tag}", "{schema_name}",
    "{table}", "E'", "x", "_", NULL};

/* A name of at most max bytes from the fragments; never empty. */
static void hostile_name(char *out, size_t max)
{
    size_t nf = 0;
    while (fragments[nf])
        nf++;
    size_t len = 0;
    int n = 1 + (int)(next() % 8);
    for (int i = 0; i < n; i++) {
        const char *f = fragments[next() % nf];
        size_t fl = strlen(f);
        if (len + fl > max)
            break;
        memcpy(out + len, f, fl);
        len += fl;
    }
    if (!len)
        out[len++] = '\'';
    out[len] = '\0';
}

static const char *const fixed_names[] = {
    "o'brien", "a\"b", "a\\b", "a\\'b", "x$retort$y", "$retort", "a'||chr(34))IS NULL THEN END "
    "IF;DROP TABLE public.victim;IF('", "a\nb", "a\rb--", "{schema_name}{tag}",
    "s23456789012345678901234567890123456789012345678901234567890123", NULL};

static retort *context_for(const char *url)
{
    retort *r = NULL;
    assert_int_equal(retort_new(&r, url), RETORT_OK);
    return r;
}

static void set_names(retort *r, const char *schema, const char *table)
{
    snprintf(r->schema_in_use, sizeof r->schema_in_use, "%s", schema);
    snprintf(r->version_table, sizeof r->version_table, "%s", table);
    snprintf(r->log_table, sizeof r->log_table, "%s_log", table);
    assert_int_equal(rt_set_names(r), RETORT_OK);
}

static char *expand(retort *r, int op)
{
    rt_buf b = RT_BUF_INIT;
    int rc = rt_vt_template(r, op, &b);
    assert_true(rc >= 0);
    char *s = rc ? rt_buf_take(&b) : NULL;
    rt_buf_free(&b);
    return s;
}

/* Every op of the context's driver, plain against hostile names. */
static void every_template(retort *r, const char *schema, const char *table, int nd,
                           const int *dialects)
{
    char log[80];
    snprintf(log, sizeof log, "%s_log", table);
    mapping m = {{"s", "t", "t_log"}, {schema, table, log}, 3};
    for (int op = 1; op < RT_SQL_CACHE; op++) {
        set_names(r, *schema ? "s" : "", "t");
        char *plain = expand(r, op);
        set_names(r, schema, table);
        char *hostile = expand(r, op);
        assert_true(!plain == !hostile);
        char what[200];
        snprintf(what, sizeof what, "%s template %d", r->backend->name, op);
        for (int d = 0; plain && d < nd; d++)
            same_shape(plain, hostile, dialects[d], &m, what);
        free(plain);
        free(hostile);
    }
}

static void test_every_template_keeps_its_shape_whatever_the_names(void **state)
{
    (void)state;
    static const int pg[] = {PG_SCS_ON, PG_SCS_OFF};
    static const int lite[] = {SQLITE};
    retort *p = context_for("postgresql://localhost/x");
    retort *s = context_for("sqlite::memory:");
    char schema[64], table[64];
    for (int i = 0; fixed_names[i]; i++) {
        every_template(p, fixed_names[i], fixed_names[i], 2, pg);
        every_template(s, "", fixed_names[i], 1, lite);
    }
    for (int i = 0; i < 300; i++) {
        hostile_name(schema, 63);
        hostile_name(table, 59);
        every_template(p, schema, table, 2, pg);
        every_template(s, "", table, 1, lite);
    }
    retort_free(p);
    retort_free(s);
}

/* The offline rendering of a statement with parameters: each value a
 * literal that reads back as exactly the value. */
static void test_offline_parameters_are_literals_that_read_back_exactly(void **state)
{
    (void)state;
    retort *p = context_for("postgresql://localhost/x");
    retort *s = context_for("sqlite::memory:");
    const char *sql = "INSERT INTO \"t\" (a, b, c) VALUES ($1, $2, $3)";
    char v1[200], v2[200], v3[200];
    for (int i = 0; i < 500; i++) {
        hostile_name(v1, 150);
        hostile_name(v2, 150);
        hostile_name(v3, 150);
        const char *params[] = {v1, v2, v3};
        const char *plain_params[] = {"p1", "p2", "p3"};
        mapping m = {{"p1", "p2", "p3"}, {v1, v2, v3}, 3};
        retort *ctx[] = {p, s};
        for (int k = 0; k < 2; k++) {
            rt_buf plain = RT_BUF_INIT, hostile = RT_BUF_INIT;
            assert_int_equal(rt_render_params(ctx[k]->backend, sql, 3, plain_params, &plain),
                             RETORT_OK);
            assert_int_equal(rt_render_params(ctx[k]->backend, sql, 3, params, &hostile),
                             RETORT_OK);
            if (k == 0) {
                same_shape(rt_buf_str(&plain), rt_buf_str(&hostile), PG_SCS_ON, &m, "pg params");
                same_shape(rt_buf_str(&plain), rt_buf_str(&hostile), PG_SCS_OFF, &m,
                           "pg params");
            } else {
                same_shape(rt_buf_str(&plain), rt_buf_str(&hostile), SQLITE, &m,
                           "sqlite params");
            }
            rt_buf_free(&plain);
            rt_buf_free(&hostile);
        }
    }
    retort_free(p);
    retort_free(s);
}

static void test_offline_parameters_are_never_rendered_inside_dollar_quotes(void **state)
{
    (void)state;
    const char *params[] = {"v"};
    rt_buf b = RT_BUF_INIT;
    assert_int_equal(rt_render_params(&rt_postgres_backend,
                                      "SELECT $x$ $1 $x$, $$$1$$, $1, \"$1\", '$1'", 1, params,
                                      &b),
                     RETORT_OK);
    assert_string_equal(rt_buf_str(&b), "SELECT $x$ $1 $x$, $$$1$$, 'v', \"$1\", '$1'");
    rt_buf_free(&b);
}

static void test_dollar_tag_never_occurs_in_the_body(void **state)
{
    (void)state;
    char body[400], tag[32];
    for (int i = 0; i < 2000; i++) {
        hostile_name(body, 300);
        assert_true(rt_dollar_tag(body, tag, sizeof tag));
        char probe[40];
        snprintf(probe, sizeof probe, "$%s", tag);
        if (strstr(body, probe))
            fail_msg("tag %s occurs in [%s]", tag, body);
    }
    assert_true(rt_dollar_tag("$retort $retort1 $retort2", tag, sizeof tag));
    assert_string_equal(tag, "retort3");
    assert_false(rt_dollar_tag("", tag, 3)); /* "retort" does not fit */
}

static void test_comment_text_cannot_end_the_comment(void **state)
{
    (void)state;
    rt_buf b = RT_BUF_INIT;
    rt_quote_comment("a\nDROP TABLE x;\r\n--\rb", &b);
    assert_string_equal(rt_buf_str(&b), "a DROP TABLE x;  -- b");
    rt_buf_free(&b);
}

static void test_identifiers_double_quotes_and_keep_every_other_byte(void **state)
{
    (void)state;
    rt_buf b = RT_BUF_INIT;
    rt_quote_ident(NULL, "a\"b\n\\$$'", &b);
    assert_string_equal(rt_buf_str(&b), "\"a\"\"b\n\\$$'\"");
    rt_buf_reset(&b);
    rt_quote_ident(&rt_postgres_backend, "\"\"", &b);
    assert_string_equal(rt_buf_str(&b), "\"\"\"\"\"\"");
    rt_buf_free(&b);
}

static void test_postgres_literal_is_plain_without_backslash_and_dollar_quoted_with_one(void **s)
{
    (void)s;
    rt_buf b = RT_BUF_INIT;
    rt_quote_literal(&rt_postgres_backend, "o'brien", &b);
    assert_string_equal(rt_buf_str(&b), "'o''brien'");
    rt_buf_reset(&b);
    rt_quote_literal(&rt_postgres_backend, "a\\'$retort$", &b);
    assert_string_equal(rt_buf_str(&b), "$retort1$a\\'$retort$$retort1$");
    rt_buf_reset(&b);
    rt_quote_literal(&rt_postgres_backend, NULL, &b);
    assert_string_equal(rt_buf_str(&b), "NULL");
    rt_buf_reset(&b);
    rt_quote_literal(&rt_sqlite_backend, "a'\r\nb", &b);
    assert_string_equal(rt_buf_str(&b), "('a''' || char(13) || '\nb')");
    rt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifiers_double_quotes_and_keep_every_other_byte),
#define T(f) cmocka_unit_test(f)
        T(test_postgres_literal_is_plain_without_backslash_and_dollar_quoted_with_one),
        cmocka_unit_test(test_dollar_tag_never_occurs_in_the_body),
        cmocka_unit_test(test_offline_parameters_are_never_rendered_inside_dollar_quotes),
        cmocka_unit_test(test_comment_text_cannot_end_the_comment),
        cmocka_unit_test(test_every_template_keeps_its_shape_whatever_the_names),
        cmocka_unit_test(test_offline_parameters_are_literals_that_read_back_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
