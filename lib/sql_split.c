/*
 * sql_split.c — owns the lexical scan that cuts SQL text into statements
 * (see sql_split.h), for drivers that must send statements one at a time.
 * It recognises only what can hide a semicolon: quoted strings and
 * identifiers, comments, dollar quotes, parentheses, and the BEGIN ... END
 * body of a SQL-standard CREATE FUNCTION/PROCEDURE.  The rules follow
 * PostgreSQL's own lexer and psql's statement splitting, so that a migration
 * file psql runs correctly splits the same way here.  It never allocates and
 * never fails: text it cannot make sense of is handed to the database whole,
 * whose error message is better than anything a splitter could say.
 */
#include "sql_split.h"

#include <string.h>

typedef struct scan {
    const char *s;
    size_t i;
    size_t last;       /* just past the statement's last significant byte */
    int paren_depth;   /* psql does not split inside ( ) either: rule actions */
    int begin_depth;   /* BEGIN ATOMIC ... END bodies hold semicolons */
    int word_count;    /* unquoted words seen so far in the statement */
    char heading[4];   /* first letters of the leading CREATE OR REPLACE FUNCTION words */
} scan;

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* PostgreSQL treats every byte >= 0x80 as a letter, whatever the encoding. */
static int is_ident_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int is_ident_cont(unsigned char c) { return is_ident_start(c) || is_digit(c) || c == '$'; }

static unsigned char at(const scan *sc, size_t k) { return (unsigned char)sc->s[k]; }

static int word_is(const char *w, size_t n, const char *kw)
{
    if (strlen(kw) != n)
        return 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)w[k];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)kw[k])
            return 0;
    }
    return 1;
}

/*
 * Skips a block comment starting at sc->i ("/" "*"), nested ones included.
 * Returns 0 when it is never closed (sc->i is then at the end).
 */
static int skip_block_comment(scan *sc)
{
    int depth = 0;
    while (at(sc, sc->i)) {
        if (at(sc, sc->i) == '/' && at(sc, sc->i + 1) == '*') {
            depth++;
            sc->i += 2;
        } else if (at(sc, sc->i) == '*' && at(sc, sc->i + 1) == '/') {
            sc->i += 2;
            if (--depth == 0)
                return 1;
        } else {
            sc->i++;
        }
    }
    return 0;
}

static void skip_line_comment(scan *sc)
{
    while (at(sc, sc->i) && at(sc, sc->i) != '\n' && at(sc, sc->i) != '\r')
        sc->i++;
}

/*
 * Skips white space and comments.  Returns 0 if it stopped on an unclosed
 * block comment, which must then count as statement text so that the
 * database reports it instead of it vanishing.
 */
static int skip_blank(scan *sc)
{
    for (;;) {
        unsigned char c = at(sc, sc->i);
        if (is_space(c)) {
            sc->i++;
        } else if (c == '-' && at(sc, sc->i + 1) == '-') {
            skip_line_comment(sc);
        } else if (c == '/' && at(sc, sc->i + 1) == '*') {
            size_t open = sc->i;
            if (!skip_block_comment(sc)) {
                sc->i = open;
                return 0;
            }
        } else {
            return 1;
        }
    }
}

/* Skips a quoted run opened at sc->i by quote, where a doubled quote stands
 * for itself and, with backslash, a backslash escapes the next byte. */
static void skip_quoted(scan *sc, unsigned char quote, int backslash)
{
    sc->i++;
    while (at(sc, sc->i)) {
        unsigned char c = at(sc, sc->i);
        if (backslash && c == '\\' && at(sc, sc->i + 1)) {
            sc->i += 2;
        } else if (c == quote) {
            if (at(sc, sc->i + 1) != quote) {
                sc->i++;
                return;
            }
            sc->i += 2;
        } else {
            sc->i++;
        }
    }
}

/*
 * If sc->i opens a dollar quote ($$ or $tag$, where a tag is an identifier
 * without '$'), skips to just past its closing delimiter and returns 1.
 * Returns 0, moving nothing, for anything else ($1, a lone $).
 */
static int skip_dollar_quote(scan *sc)
{
    size_t open = sc->i;
    size_t k = open + 1;
    if (at(sc, k) != '$') {
        if (!is_ident_start(at(sc, k)))
            return 0;
        while (is_ident_start(at(sc, k)) || is_digit(at(sc, k)))
            k++;
        if (at(sc, k) != '$')
            return 0;
    }
    size_t delim_len = k + 1 - open;
    const char *delim = sc->s + open;
    sc->i = k + 1;
    while (at(sc, sc->i)) {
        if (at(sc, sc->i) == '$' && strncmp(sc->s + sc->i, delim, delim_len) == 0) {
            sc->i += delim_len;
            return 1;
        }
        sc->i++;
    }
    return 1;
}

/*
 * psql's heuristic for SQL-standard routine bodies: in a statement that
 * starts CREATE [OR REPLACE] FUNCTION|PROCEDURE, BEGIN opens a block, CASE
 * inside one opens another, and END closes one; a semicolon ends the
 * statement only outside every block.  Words inside parentheses (argument
 * names such as "begin") do not count.
 */
static void note_word(scan *sc, const char *w, size_t n)
{
    if (sc->word_count < (int)sizeof sc->heading) {
        char letter = 0;
        if (word_is(w, n, "create") || word_is(w, n, "function") ||
            word_is(w, n, "procedure") || word_is(w, n, "or") || word_is(w, n, "replace"))
            letter = (char)(w[0] | 0x20);
        sc->heading[sc->word_count] = letter;
    }
    sc->word_count++;

    const char *h = sc->heading;
    int routine = h[0] == 'c' &&
                  (h[1] == 'f' || h[1] == 'p' ||
                   (h[1] == 'o' && h[2] == 'r' && (h[3] == 'f' || h[3] == 'p')));
    if (!routine || sc->paren_depth != 0)
        return;
    if (word_is(w, n, "begin"))
        sc->begin_depth++;
    else if (word_is(w, n, "case") && sc->begin_depth > 0)
        sc->begin_depth++;
    else if (word_is(w, n, "end") && sc->begin_depth > 0)
        sc->begin_depth--;
}

int rt_sql_next_statement(const char *sql, size_t *pos, size_t *start, size_t *end)
{
    if (!sql || !pos)
        return 0;
    scan sc = {.s = sql, .i = *pos};

    /* Empty statements (";;", comment-only stretches) are not statements. */
    for (;;) {
        if (!skip_blank(&sc))
            break;
        if (at(&sc, sc.i) == ';') {
            sc.i++;
            continue;
        }
        if (!at(&sc, sc.i)) {
            *pos = sc.i;
            return 0;
        }
        break;
    }

    size_t first = sc.i;
    sc.last = first;
    while (at(&sc, sc.i)) {
        unsigned char c = at(&sc, sc.i);
        size_t tok = sc.i;

        if (is_space(c)) {
            sc.i++;
            continue;
        }
        if (c == '-' && at(&sc, sc.i + 1) == '-') {
            skip_line_comment(&sc);
            continue;
        }
        if (c == '/' && at(&sc, sc.i + 1) == '*') {
            if (skip_block_comment(&sc))
                continue;
            /* Unclosed: it is part of the statement, for the error. */
            sc.last = sc.i;
            break;
        }
        if (c == ';' && sc.paren_depth == 0 && sc.begin_depth == 0) {
            *start = first;
            *end = sc.last;
            *pos = sc.i + 1;
            return 1;
        }

        if (c == '\'') {
            skip_quoted(&sc, '\'', 0);
        } else if (c == '"') {
            skip_quoted(&sc, '"', 0);
        } else if (c == '$') {
            if (!skip_dollar_quote(&sc)) {
                /* $1 parameter: its digits are not a number before a $$. */
                sc.i++;
                while (is_digit(at(&sc, sc.i)))
                    sc.i++;
            }
        } else if (is_ident_start(c)) {
            while (is_ident_cont(at(&sc, sc.i)))
                sc.i++;
            size_t n = sc.i - tok;
            if (n == 1 && (c == 'E' || c == 'e') && at(&sc, sc.i) == '\'') {
                skip_quoted(&sc, '\'', 1);
            } else {
                note_word(&sc, sql + tok, n);
            }
        } else if (is_digit(c)) {
            /* A number, so that 1e5 is not taken for a word; it ends before
             * '$' because PostgreSQL lexes 1$$x$$ as a number then a quote. */
            while (is_ident_start(at(&sc, sc.i)) || is_digit(at(&sc, sc.i)) ||
                   at(&sc, sc.i) == '.')
                sc.i++;
        } else {
            if (c == '(')
                sc.paren_depth++;
            else if (c == ')' && sc.paren_depth > 0)
                sc.paren_depth--;
            sc.i++;
        }
        sc.last = sc.i;
    }

    *start = first;
    *end = sc.last;
    *pos = sc.i;
    return 1;
}
