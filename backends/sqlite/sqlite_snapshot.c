/*
 * sqlite_snapshot.c — the SQLite driver's schema snapshot (sqlite_snapshot.h).
 *
 * Reads the catalogue through SQLite's own introspection (sqlite_schema and
 * the table-valued pragmas table_xinfo, index_list, index_xinfo,
 * foreign_key_list) and, for what no pragma reports (CHECK constraints,
 * generated-column expressions, partial-index conditions, expression index
 * columns, view and trigger bodies), through a small tokenizer over the
 * stored CREATE text.  Every piece of SQL text is re-emitted token by token
 * in one canonical spelling, so that two schemas that differ only in
 * layout, letter case of keywords and unquoted names, or quoting style give
 * identical lines; names are written in ASCII lower case, as SQLite
 * compares them.  Names that depend on creation order (SQLite's
 * sqlite_autoindex_T_N) never appear: the constraints behind them are
 * described instead.
 *
 * Line formats (the core sorts them):
 *   table T [without rowid] [strict]
 *   virtual table T: using MODULE(ARGS)
 *   column T.C [TYPE] [collate X] [not null] [default EXPR |
 *                   generated always as (EXPR) stored|virtual]
 *   primary key T (C, ...) [autoincrement]
 *   unique T (C, ...)
 *   foreign key T (C, ...) references P (C, ...) on update A on delete A
 *   check T (EXPR) [named N]
 *   index I on T [unique ](C [desc] [collate X], ...)[ where EXPR]
 *   view V[ (C, ...)]: SELECT
 *   trigger G on T: BODY
 * Column order within a table is not part of the text: SQLite's ALTER
 * TABLE can only append, so a reversible migration that rebuilds a table
 * may legitimately reorder columns.
 *
 * Read-only: runs SELECTs on the connection and nothing else.  Must not
 * touch the driver's private connection struct except through the vtable's
 * native member.
 */
#include "sqlite_snapshot.h"

#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "buf.h"
#include "builtin_backends.h"
#include "memory.h"

/* ------------------------------------------------------------ tokenizer */

enum { TK_WORD, TK_QIDENT, TK_STRING, TK_NUMBER, TK_BLOB, TK_PUNCT };

typedef struct {
    int kind;
    const char *s; /* into the SQL text */
    size_t n;
} token;

typedef struct {
    token *v;
    size_t n, cap;
} token_list;

static int is_word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || c >= 0x80;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static int push_token(token_list *l, int kind, const char *s, size_t n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        token *grown = rt_reallocarray(l->v, cap, sizeof *grown);
        if (!grown)
            return RETORT_ENOMEM;
        l->v = grown;
        l->cap = cap;
    }
    l->v[l->n++] = (token){kind, s, n};
    return RETORT_OK;
}

/* The end of a quoted run starting at p (on the opening quote), where the
 * closing quote doubled stands for itself; the end of text if unclosed. */
static const char *skip_quoted(const char *p, const char *end, char close)
{
    for (p++; p < end; p++) {
        if (*p != close)
            continue;
        if (close != ']' && p + 1 < end && p[1] == close) {
            p++;
            continue;
        }
        return p + 1;
    }
    return end;
}

/* Splits sql[0..len) into tokens, dropping white space and comments.
 * SQLite already accepted this text, so malformed input only needs to end
 * the scan safely, not to be diagnosed. */
static int tokenize(const char *sql, size_t len, token_list *out)
{
    const char *p = sql, *end = sql + len;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            p++;
            continue;
        }
        if (c == '-' && p + 1 < end && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        if (c == '/' && p + 1 < end && p[1] == '*') {
            p += 2;
            while (p < end && !(*p == '*' && p + 1 < end && p[1] == '/'))
                p++;
            p = p < end ? p + 2 : end;
            continue;
        }
        const char *start = p;
        int kind;
        if (c == '\'') {
            kind = TK_STRING;
            p = skip_quoted(p, end, '\'');
        } else if (c == '"' || c == '`' || c == '[') {
            kind = TK_QIDENT;
            p = skip_quoted(p, end, c == '[' ? ']' : (char)c);
        } else if ((c == 'x' || c == 'X') && p + 1 < end && p[1] == '\'') {
            kind = TK_BLOB;
            p = skip_quoted(p + 1, end, '\'');
        } else if (is_digit(c) || (c == '.' && p + 1 < end && is_digit((unsigned char)p[1]))) {
            kind = TK_NUMBER;
            while (p < end && (is_word_char((unsigned char)*p) || *p == '.' ||
                               ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E'))))
                p++;
        } else if (is_word_char(c)) {
            kind = TK_WORD;
            while (p < end && is_word_char((unsigned char)*p))
                p++;
        } else {
            kind = TK_PUNCT;
            static const char *const ops[] = {"->>", "||", "<=", ">=", "<>", "!=", "==",
                                              "<<",  ">>", "->", NULL};
            size_t n = 1;
            for (int i = 0; ops[i]; i++) {
                size_t k = strlen(ops[i]);
                if ((size_t)(end - p) >= k && memcmp(p, ops[i], k) == 0) {
                    n = k;
                    break;
                }
            }
            p += n;
        }
        if (push_token(out, kind, start, (size_t)(p - start)) != RETORT_OK)
            return RETORT_ENOMEM;
    }
    return RETORT_OK;
}

static int tok_is(const token *t, const char *word)
{
    size_t n = strlen(word);
    if (t->kind != TK_WORD || t->n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(t->s[i]) != word[i])
            return 0;
    return 1;
}

static int tok_punct(const token *t, char c)
{
    return t->kind == TK_PUNCT && t->n == 1 && t->s[0] == c;
}

/* Index of the ')' closing the '(' at open, or n if unbalanced. */
static size_t matching_paren(const token *t, size_t n, size_t open)
{
    int depth = 0;
    for (size_t i = open; i < n; i++) {
        if (tok_punct(&t[i], '('))
            depth++;
        else if (tok_punct(&t[i], ')') && --depth == 0)
            return i;
    }
    return n;
}

/* Whether an identifier can be written without quotes in our lines. */
static int is_simple_name(const char *s, size_t n)
{
    if (n == 0 || is_digit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_'))
            return 0;
    }
    return 1;
}

/* A name in ASCII lower case, since SQLite compares names without regard
 * to ASCII case (Users and users are one table), quoted only when it needs
 * to be. */
static void append_name_n(rt_buf *b, const char *s, size_t n)
{
    int quote = !is_simple_name(s, n);
    if (quote)
        rt_buf_append_char(b, '"');
    for (size_t i = 0; i < n; i++) {
        if (quote && s[i] == '"')
            rt_buf_append_char(b, '"');
        rt_buf_append_char(b, lower(s[i]));
    }
    if (quote)
        rt_buf_append_char(b, '"');
}

static void append_name(rt_buf *b, const char *s) { append_name_n(b, s, strlen(s)); }

/* A quoted identifier's content, undoubling the quote character. */
static void unquote(const token *t, rt_buf *out)
{
    if (t->n < 2) {
        rt_buf_append_n(out, t->s, t->n);
        return;
    }
    char close = t->s[0] == '[' ? ']' : t->s[0];
    size_t end = t->s[t->n - 1] == close ? t->n - 1 : t->n;
    for (size_t i = 1; i < end; i++) {
        rt_buf_append_char(out, t->s[i]);
        if (close != ']' && t->s[i] == close && i + 1 < end && t->s[i + 1] == close)
            i++;
    }
}

/* Words after which "(" opens a sub-expression or list, not a call's
 * arguments: they keep a space before the parenthesis. */
static int spaced_before_paren(const token *t)
{
    static const char *const words[] = {
        "and",    "or",   "not",   "in",     "as",    "on",   "when",    "then",  "else",
        "exists", "is",   "from",  "where",  "by",    "like", "glob",    "match", "regexp",
        "select", "case", "check", "values", "using", "over", "between", "join",  "filter",
        "end",    "set",  "with",  "begin",  "union", "all",  "except",  "intersect", NULL};
    if (t->kind == TK_PUNCT)
        return !tok_punct(t, '(') && !tok_punct(t, '.');
    if (t->kind != TK_WORD)
        return 1;
    for (int i = 0; words[i]; i++)
        if (tok_is(t, words[i]))
            return 1;
    return 0;
}

/*
 * Re-emits tokens in one canonical spelling: unquoted words and simple
 * quoted identifiers in lower case (SQLite compares both without regard to
 * ASCII case), string literals untouched, single spaces between tokens
 * except inside parentheses' edges, before commas and around dots.
 */
static void append_canonical(rt_buf *out, const token *t, size_t n)
{
    rt_buf name = RT_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const token *cur = &t[i];
        if (i > 0) {
            const token *prev = &t[i - 1];
            int space = 1;
            if (tok_punct(prev, '(') || tok_punct(prev, '.') || tok_punct(cur, ')') ||
                tok_punct(cur, ',') || tok_punct(cur, '.') || tok_punct(cur, ';'))
                space = 0;
            else if (tok_punct(cur, '('))
                space = spaced_before_paren(prev);
            if (space)
                rt_buf_append_char(out, ' ');
        }
        switch (cur->kind) {
        case TK_WORD:
        case TK_NUMBER:
        case TK_BLOB:
            /* Numbers: 0X1F and 0x1f, 1E5 and 1e5 are the same value. */
            for (size_t k = 0; k < cur->n; k++)
                rt_buf_append_char(out, cur->kind == TK_BLOB && k > 0 ? cur->s[k]
                                                                       : lower(cur->s[k]));
            break;
        case TK_QIDENT:
            rt_buf_reset(&name);
            unquote(cur, &name);
            if (is_simple_name(rt_buf_str(&name), name.len)) {
                for (size_t k = 0; k < name.len; k++)
                    rt_buf_append_char(out, lower(name.data[k]));
            } else {
                append_name_n(out, rt_buf_str(&name), name.len);
            }
            break;
        default:
            rt_buf_append_n(out, cur->s, cur->n);
        }
    }
    if (rt_buf_failed(&name))
        out->failed = 1;
    rt_buf_free(&name);
}

/* ------------------------------------------------------------- session */

typedef struct {
    sqlite3 *db;
    const char *const *exclude;
    retort_line_fn line;
    void *ctx;
    retort_report *rep;
    rt_buf b; /* the line being built */
} snap;

static int report_oom(snap *s)
{
    retort_report_error(s->rep, RETORT_ENOMEM, "out of memory");
    return RETORT_ENOMEM;
}

static int report_db(snap *s, const char *what, const char *object)
{
    rt_buf msg = RT_BUF_INIT;
    rt_buf_printf(&msg, "%s%s%s%s: %s", what, object ? " \"" : "", object ? object : "",
                  object ? "\"" : "", sqlite3_errmsg(s->db));
    int code = sqlite3_errcode(s->db) == SQLITE_NOMEM ? RETORT_ENOMEM : RETORT_EDB;
    retort_report_error(s->rep, code, rt_buf_failed(&msg) ? "out of memory" : rt_buf_str(&msg));
    rt_buf_free(&msg);
    return code;
}

/* Hands the line in s->b to the consumer and empties it. */
static int emit(snap *s)
{
    if (rt_buf_failed(&s->b))
        return report_oom(s);
    int rc = s->line(s->ctx, rt_buf_str(&s->b));
    rt_buf_reset(&s->b);
    if (rc != 0) {
        retort_report_error(s->rep, rc, "the snapshot's consumer stopped it");
        return rc;
    }
    return RETORT_OK;
}

static int excluded(const snap *s, const char *table)
{
    for (const char *const *e = s->exclude; e && *e; e++)
        if (sqlite3_stricmp(*e, table) == 0)
            return 1;
    return 0;
}

static char *dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v ? rt_strdup((const char *)v) : NULL;
}

static int prepare(snap *s, const char *sql, const char *arg, sqlite3_stmt **st)
{
    *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
        return report_db(s, "cannot read the schema", arg);
    if (arg && sqlite3_bind_text(*st, 1, arg, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
        int rc = report_db(s, "cannot read the schema", arg);
        sqlite3_finalize(*st);
        *st = NULL;
        return rc;
    }
    return RETORT_OK;
}

/* Steps st; RETORT_OK with *row set, or a reported failure. */
static int step(snap *s, sqlite3_stmt *st, const char *object, int *row)
{
    int rc = sqlite3_step(st);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return RETORT_OK;
    return report_db(s, "cannot read the schema of", object);
}

/* ------------------------------------------------------- tables: parsing */

typedef struct {
    char *column; /* as written, unquoted */
    char *expr;   /* canonical */
} generated_expr;

typedef struct {
    token_list toks;
    size_t open, close;      /* the column list's parentheses; open == close: none */
    generated_expr *gen;
    size_t ngen;
} table_def;

static void table_def_free(table_def *d)
{
    rt_free(d->toks.v);
    for (size_t i = 0; i < d->ngen; i++) {
        rt_free(d->gen[i].column);
        rt_free(d->gen[i].expr);
    }
    rt_free(d->gen);
}

/* A token as a plain name: unquoted content or the word itself. */
static void token_name(const token *t, rt_buf *out)
{
    if (t->kind == TK_QIDENT)
        unquote(t, out);
    else
        rt_buf_append_n(out, t->s, t->n);
}

/* Writes "check T (EXPR)[ named N]" for the '(' at open. */
static int emit_check(snap *s, const char *table, const token *t, size_t n, size_t open,
                      const token *name)
{
    size_t close = matching_paren(t, n, open);
    rt_buf_append(&s->b, "check ");
    append_name(&s->b, table);
    rt_buf_append(&s->b, " (");
    append_canonical(&s->b, t + open + 1, close - open - 1);
    rt_buf_append_char(&s->b, ')');
    if (name) {
        rt_buf nm = RT_BUF_INIT;
        token_name(name, &nm);
        rt_buf_append(&s->b, " named ");
        append_name_n(&s->b, rt_buf_str(&nm), nm.len);
        if (rt_buf_failed(&nm))
            s->b.failed = 1;
        rt_buf_free(&nm);
    }
    return emit(s);
}

static int add_generated(table_def *d, const token *col, const token *t, size_t n, size_t open)
{
    size_t close = matching_paren(t, n, open);
    generated_expr *grown = rt_reallocarray(d->gen, d->ngen + 1, sizeof *grown);
    if (!grown)
        return RETORT_ENOMEM;
    d->gen = grown;
    rt_buf name = RT_BUF_INIT, expr = RT_BUF_INIT;
    token_name(col, &name);
    append_canonical(&expr, t + open + 1, close - open - 1);
    char *cname = rt_buf_take(&name), *cexpr = rt_buf_take(&expr);
    if (!cname || !cexpr) {
        rt_free(cname);
        rt_free(cexpr);
        rt_buf_free(&name);
        rt_buf_free(&expr);
        return RETORT_ENOMEM;
    }
    d->gen[d->ngen++] = (generated_expr){cname, cexpr};
    return RETORT_OK;
}

/*
 * Walks the column definitions and table constraints of a CREATE TABLE:
 * emits its CHECK constraints (column-level and table-level alike, since
 * both mean the same) and remembers generated-column expressions.
 */
static int parse_table(snap *s, const char *table, const char *sql, table_def *d)
{
    if (tokenize(sql, strlen(sql), &d->toks) != RETORT_OK)
        return report_oom(s);
    const token *t = d->toks.v;
    size_t n = d->toks.n;
    d->open = d->close = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok_is(&t[i], "as"))
            return RETORT_OK; /* CREATE TABLE ... AS SELECT: no constraints */
        if (tok_punct(&t[i], '(')) {
            d->open = i;
            d->close = matching_paren(t, n, i);
            break;
        }
    }
    if (d->open == d->close)
        return RETORT_OK;

    size_t part = d->open + 1;
    while (part < d->close) {
        /* One column definition or table constraint: up to a comma at
         * depth 0 relative to the list. */
        size_t end = part;
        for (int depth = 0; end < d->close; end++) {
            if (tok_punct(&t[end], '('))
                depth++;
            else if (tok_punct(&t[end], ')'))
                depth--;
            else if (depth == 0 && tok_punct(&t[end], ','))
                break;
        }
        int table_constraint = tok_is(&t[part], "constraint") || tok_is(&t[part], "primary") ||
                               tok_is(&t[part], "unique") || tok_is(&t[part], "check") ||
                               tok_is(&t[part], "foreign");
        for (size_t k = table_constraint ? part : part + 1; k < end; k++) {
            if (tok_punct(&t[k], '(')) {
                k = matching_paren(t, end, k);
                continue;
            }
            if (tok_is(&t[k], "check") && k + 1 < end && tok_punct(&t[k + 1], '(')) {
                const token *name = k >= part + 2 && tok_is(&t[k - 2], "constraint")
                                        ? &t[k - 1]
                                        : NULL;
                int rc = emit_check(s, table, t, end, k + 1, name);
                if (rc != RETORT_OK)
                    return rc;
                k = matching_paren(t, end, k + 1);
            } else if (!table_constraint && tok_is(&t[k], "as") && k + 1 < end &&
                       tok_punct(&t[k + 1], '(')) {
                if (add_generated(d, &t[part], t, end, k + 1) != RETORT_OK)
                    return report_oom(s);
                k = matching_paren(t, end, k + 1);
            }
        }
        part = end + 1;
    }
    return RETORT_OK;
}

/* Words after the column list: WITHOUT ROWID, STRICT. */
static void append_table_options(rt_buf *b, const table_def *d)
{
    if (d->open == d->close)
        return;
    const token *t = d->toks.v;
    for (size_t i = d->close + 1; i < d->toks.n; i++) {
        if (tok_is(&t[i], "without") && i + 1 < d->toks.n && tok_is(&t[i + 1], "rowid"))
            rt_buf_append(b, " without rowid");
        else if (tok_is(&t[i], "strict"))
            rt_buf_append(b, " strict");
    }
}

/* ------------------------------------------------------- tables: pragmas */

typedef struct {
    int pos;
    char *name;
} key_col;

static void append_collation(rt_buf *b, const char *coll)
{
    if (!coll || sqlite3_stricmp(coll, "BINARY") == 0)
        return;
    rt_buf_append(b, " collate ");
    for (const char *c = coll; *c; c++)
        rt_buf_append_char(b, lower(*c));
}

/* Canonical text of a piece of SQL held in a string (a type, a default). */
static void append_canonical_text(rt_buf *b, const char *text)
{
    token_list tl = {NULL, 0, 0};
    if (tokenize(text, strlen(text), &tl) != RETORT_OK)
        b->failed = 1;
    append_canonical(b, tl.v, tl.n);
    rt_free(tl.v);
}

/* "column" lines, then the "primary key" line, from table_xinfo. */
static int emit_columns(snap *s, const char *table, const table_def *d)
{
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                     "FROM pragma_table_xinfo(?1) ORDER BY cid",
                     table, &st);
    if (rc != RETORT_OK)
        return rc;
    key_col *pk = NULL;
    int npk = 0, autoinc = 0, row = 0;
    while ((rc = step(s, st, table, &row)) == RETORT_OK && row) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        int notnull = sqlite3_column_int(st, 2);
        const char *dflt = (const char *)sqlite3_column_text(st, 3);
        int pkpos = sqlite3_column_int(st, 4);
        int hidden = sqlite3_column_int(st, 5);
        if (!name || hidden == 1) /* a virtual table's hidden column */
            continue;

        /* The declared collation and AUTOINCREMENT are reported by no
         * pragma; SQLite's own column metadata has both. */
        const char *coll = NULL;
        int col_autoinc = 0;
        if (sqlite3_table_column_metadata(s->db, "main", table, name, NULL, &coll, NULL, NULL,
                                          &col_autoinc) != SQLITE_OK)
            coll = NULL;
        rt_buf_append(&s->b, "column ");
        append_name(&s->b, table);
        rt_buf_append_char(&s->b, '.');
        append_name(&s->b, name);
        if (type && *type) {
            rt_buf_append_char(&s->b, ' ');
            append_canonical_text(&s->b, type);
        }
        append_collation(&s->b, coll);
        if (notnull)
            rt_buf_append(&s->b, " not null");
        if (hidden == 2 || hidden == 3) {
            const char *expr = NULL;
            for (size_t i = 0; i < d->ngen && !expr; i++)
                if (sqlite3_stricmp(d->gen[i].column, name) == 0)
                    expr = d->gen[i].expr;
            rt_buf_printf(&s->b, " generated always as (%s) %s", expr ? expr : "?",
                          hidden == 3 ? "stored" : "virtual");
        } else if (dflt) {
            rt_buf_append(&s->b, " default ");
            append_canonical_text(&s->b, dflt);
        }
        if (pkpos > 0) {
            key_col *grown = rt_reallocarray(pk, (size_t)npk + 1, sizeof *grown);
            if (grown)
                pk = grown;
            char *copy = grown ? rt_strdup(name) : NULL;
            if (!copy) {
                rc = report_oom(s);
                break;
            }
            pk[npk++] = (key_col){pkpos, copy};
            autoinc |= col_autoinc;
        }
        if ((rc = emit(s)) != RETORT_OK)
            break;
    }
    sqlite3_finalize(st);
    rt_buf_reset(&s->b);

    if (rc == RETORT_OK && npk) {
        /* Rows come in column order; the key's order is pk's. */
        for (int i = 1; i < npk; i++)
            for (int j = i; j > 0 && pk[j - 1].pos > pk[j].pos; j--) {
                key_col tmp = pk[j];
                pk[j] = pk[j - 1];
                pk[j - 1] = tmp;
            }
        rt_buf_append(&s->b, "primary key ");
        append_name(&s->b, table);
        rt_buf_append(&s->b, " (");
        for (int i = 0; i < npk; i++) {
            if (i)
                rt_buf_append(&s->b, ", ");
            append_name(&s->b, pk[i].name);
        }
        rt_buf_append_char(&s->b, ')');
        if (autoinc)
            rt_buf_append(&s->b, " autoincrement");
        rc = emit(s);
    }
    for (int i = 0; i < npk; i++)
        rt_free(pk[i].name);
    rt_free(pk);
    return rc;
}

/* Index of the token just after the object name of a CREATE statement
 * (CREATE ... KIND [IF NOT EXISTS] [schema.]name), or n. */
static size_t after_object_name(const token *t, size_t n, const char *kind)
{
    size_t i = 0;
    while (i < n && !tok_is(&t[i], kind))
        i++;
    i++;
    if (i + 2 < n && tok_is(&t[i], "if") && tok_is(&t[i + 1], "not") &&
        tok_is(&t[i + 2], "exists"))
        i += 3;
    if (i + 2 < n && tok_punct(&t[i + 1], '.'))
        i += 2;
    return i < n ? i + 1 : n;
}

/*
 * The parts of CREATE INDEX that no pragma reports: the text of each
 * indexed column (for expressions) and the WHERE of a partial index.
 * parts[k] is the k-th column's token range within toks.
 */
typedef struct {
    char *sql; /* the tokens point into it */
    token_list toks;
    size_t (*parts)[2];
    size_t nparts;
    size_t where; /* first token after WHERE, or 0 */
} index_def;

static int parse_index(const char *sql, index_def *x)
{
    x->sql = rt_strdup(sql);
    if (!x->sql || tokenize(x->sql, strlen(x->sql), &x->toks) != RETORT_OK)
        return RETORT_ENOMEM;
    const token *t = x->toks.v;
    size_t n = x->toks.n;
    size_t i = 0;
    while (i < n && !tok_is(&t[i], "on"))
        i++;
    while (i < n && !tok_punct(&t[i], '('))
        i++;
    if (i >= n)
        return RETORT_OK;
    size_t close = matching_paren(t, n, i);
    size_t part = i + 1;
    while (part < close) {
        size_t end = part;
        for (int depth = 0; end < close; end++) {
            if (tok_punct(&t[end], '('))
                depth++;
            else if (tok_punct(&t[end], ')'))
                depth--;
            else if (depth == 0 && tok_punct(&t[end], ','))
                break;
        }
        size_t (*grown)[2] = rt_reallocarray(x->parts, x->nparts + 1, sizeof *grown);
        if (!grown)
            return RETORT_ENOMEM;
        x->parts = grown;
        x->parts[x->nparts][0] = part;
        x->parts[x->nparts][1] = end;
        x->nparts++;
        part = end + 1;
    }
    if (close + 1 < n && tok_is(&t[close + 1], "where"))
        x->where = close + 2;
    return RETORT_OK;
}

/* The key columns of index (from index_xinfo), as "(a desc, lower(b))". */
static int append_index_columns(snap *s, const char *index, const index_def *x)
{
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT cid, name, \"desc\", coll FROM pragma_index_xinfo(?1) "
                     "WHERE key ORDER BY seqno",
                     index, &st);
    if (rc != RETORT_OK)
        return rc;
    rt_buf_append_char(&s->b, '(');
    int row = 0;
    size_t k = 0;
    while ((rc = step(s, st, index, &row)) == RETORT_OK && row) {
        if (k)
            rt_buf_append(&s->b, ", ");
        int cid = sqlite3_column_int(st, 0);
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (cid == -2 && x && k < x->nparts) {
            /* An expression: its text as written, less a redundant ASC. */
            size_t a = x->parts[k][0], b = x->parts[k][1];
            if (b > a + 1 && tok_is(&x->toks.v[b - 1], "asc"))
                b--;
            append_canonical(&s->b, x->toks.v + a, b - a);
        } else {
            append_name(&s->b, name ? name : cid == -1 ? "rowid" : "?");
            if (sqlite3_column_int(st, 2))
                rt_buf_append(&s->b, " desc");
            append_collation(&s->b, (const char *)sqlite3_column_text(st, 3));
        }
        k++;
    }
    sqlite3_finalize(st);
    rt_buf_append_char(&s->b, ')');
    return rc;
}

typedef struct {
    char *name;
    char *origin;
    int unique;
} index_info;

/* "unique" lines for UNIQUE constraints (SQLite's autoindexes, whose
 * names depend on creation order) and "index" lines for CREATE INDEX. */
static int emit_indexes(snap *s, const char *table)
{
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT name, origin, \"unique\" FROM pragma_index_list(?1)", table, &st);
    if (rc != RETORT_OK)
        return rc;
    index_info *list = NULL;
    size_t n = 0;
    int row = 0;
    while ((rc = step(s, st, table, &row)) == RETORT_OK && row) {
        index_info *grown = rt_reallocarray(list, n + 1, sizeof *grown);
        if (grown)
            list = grown;
        char *name = grown ? dup_col(st, 0) : NULL;
        char *origin = name ? dup_col(st, 1) : NULL;
        if (!origin) {
            rt_free(name);
            rc = report_oom(s);
            break;
        }
        list[n++] = (index_info){name, origin, sqlite3_column_int(st, 2)};
    }
    sqlite3_finalize(st);

    for (size_t i = 0; i < n && rc == RETORT_OK; i++) {
        const index_info *ix = &list[i];
        if (strcmp(ix->origin, "pk") == 0)
            continue; /* described by the "primary key" line */
        if (strcmp(ix->origin, "u") == 0) {
            rt_buf_append(&s->b, "unique ");
            append_name(&s->b, table);
            rt_buf_append_char(&s->b, ' ');
            if ((rc = append_index_columns(s, ix->name, NULL)) == RETORT_OK)
                rc = emit(s);
            continue;
        }
        index_def x = {NULL, {NULL, 0, 0}, NULL, 0, 0};
        sqlite3_stmt *q;
        if ((rc = prepare(s, "SELECT sql FROM main.sqlite_master WHERE type = 'index' AND "
                             "name = ?1",
                          ix->name, &q)) != RETORT_OK)
            break;
        if ((rc = step(s, q, ix->name, &row)) == RETORT_OK && row &&
            sqlite3_column_text(q, 0) &&
            parse_index((const char *)sqlite3_column_text(q, 0), &x) != RETORT_OK)
            rc = report_oom(s);
        sqlite3_finalize(q);
        if (rc == RETORT_OK) {
            rt_buf_append(&s->b, "index ");
            append_name(&s->b, ix->name);
            rt_buf_append(&s->b, " on ");
            append_name(&s->b, table);
            rt_buf_append(&s->b, ix->unique ? " unique " : " ");
            rc = append_index_columns(s, ix->name, &x);
        }
        if (rc == RETORT_OK && x.where) {
            rt_buf_append(&s->b, " where ");
            append_canonical(&s->b, x.toks.v + x.where, x.toks.n - x.where);
        }
        if (rc == RETORT_OK)
            rc = emit(s);
        rt_buf_reset(&s->b);
        rt_free(x.sql);
        rt_free(x.toks.v);
        rt_free(x.parts);
    }
    rt_buf_reset(&s->b);
    for (size_t i = 0; i < n; i++) {
        rt_free(list[i].name);
        rt_free(list[i].origin);
    }
    rt_free(list);
    return rc;
}

/* The stored spelling of a table named case-insensitively, or NULL. */
static char *stored_table_name(snap *s, const char *name, int *rc)
{
    sqlite3_stmt *st;
    *rc = prepare(s, "SELECT name FROM main.sqlite_master WHERE type = 'table' AND "
                     "name = ?1 COLLATE NOCASE",
                  name, &st);
    if (*rc != RETORT_OK)
        return NULL;
    int row = 0;
    char *found = NULL;
    if ((*rc = step(s, st, name, &row)) == RETORT_OK && row) {
        found = dup_col(st, 0);
        if (!found)
            *rc = report_oom(s);
    }
    sqlite3_finalize(st);
    return found;
}

/* The primary-key columns of table, "a, b", for REFERENCES without a list. */
static int append_pk_columns(snap *s, const char *table)
{
    sqlite3_stmt *st;
    int rc = prepare(s, "SELECT name FROM pragma_table_xinfo(?1) WHERE pk > 0 ORDER BY pk",
                     table, &st);
    if (rc != RETORT_OK)
        return rc;
    int row = 0, k = 0;
    while ((rc = step(s, st, table, &row)) == RETORT_OK && row) {
        if (k++)
            rt_buf_append(&s->b, ", ");
        const char *name = (const char *)sqlite3_column_text(st, 0);
        append_name(&s->b, name ? name : "?");
    }
    sqlite3_finalize(st);
    if (rc == RETORT_OK && k == 0)
        rt_buf_append(&s->b, "rowid");
    return rc;
}

static void append_action(rt_buf *b, const char *what, const char *action)
{
    rt_buf_append(b, what);
    for (const char *c = action ? action : "NO ACTION"; *c; c++)
        rt_buf_append_char(b, lower(*c));
}

typedef struct {
    int id;
    char *parent, *from, *to, *on_update, *on_delete;
} fk_row;

static void fk_rows_free(fk_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rt_free(rows[i].parent);
        rt_free(rows[i].from);
        rt_free(rows[i].to);
        rt_free(rows[i].on_update);
        rt_free(rows[i].on_delete);
    }
    rt_free(rows);
}

static int emit_foreign_keys(snap *s, const char *table)
{
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete "
                     "FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
                     table, &st);
    if (rc != RETORT_OK)
        return rc;
    fk_row *rows = NULL;
    size_t n = 0;
    int row = 0;
    while ((rc = step(s, st, table, &row)) == RETORT_OK && row) {
        fk_row *grown = rt_reallocarray(rows, n + 1, sizeof *grown);
        if (!grown) {
            rc = report_oom(s);
            break;
        }
        rows = grown;
        fk_row *f = &rows[n++];
        *f = (fk_row){sqlite3_column_int(st, 0), dup_col(st, 1), dup_col(st, 2),
                      dup_col(st, 3), dup_col(st, 4), dup_col(st, 5)};
        if (!f->parent || !f->from || (!f->to && sqlite3_column_type(st, 3) != SQLITE_NULL)) {
            rc = report_oom(s);
            break;
        }
    }
    sqlite3_finalize(st);

    for (size_t i = 0; i < n && rc == RETORT_OK;) {
        size_t j = i;
        int implicit = 0;
        while (j < n && rows[j].id == rows[i].id)
            implicit |= !rows[j++].to;
        /* REFERENCES Plans and REFERENCES plans name one table: use the
         * spelling it was created with to look up its key. */
        char *parent = stored_table_name(s, rows[i].parent, &rc);
        if (rc != RETORT_OK)
            break;
        const char *pname = parent ? parent : rows[i].parent;
        rt_buf_append(&s->b, "foreign key ");
        append_name(&s->b, table);
        rt_buf_append(&s->b, " (");
        for (size_t k = i; k < j; k++) {
            if (k > i)
                rt_buf_append(&s->b, ", ");
            append_name(&s->b, rows[k].from);
        }
        rt_buf_append(&s->b, ") references ");
        append_name(&s->b, pname);
        rt_buf_append(&s->b, " (");
        if (implicit) {
            rc = append_pk_columns(s, pname);
        } else {
            for (size_t k = i; k < j; k++) {
                if (k > i)
                    rt_buf_append(&s->b, ", ");
                append_name(&s->b, rows[k].to);
            }
        }
        rt_buf_append_char(&s->b, ')');
        append_action(&s->b, " on update ", rows[i].on_update);
        append_action(&s->b, " on delete ", rows[i].on_delete);
        rt_free(parent);
        if (rc == RETORT_OK)
            rc = emit(s);
        i = j;
    }
    rt_buf_reset(&s->b);
    fk_rows_free(rows, n);
    return rc;
}

/* ------------------------------------------------------------- objects */

typedef struct {
    char *type, *name, *table, *sql;
} object;

static int emit_table(snap *s, const object *o)
{
    table_def d = {{NULL, 0, 0}, 0, 0, NULL, 0};
    int rc = parse_table(s, o->name, o->sql ? o->sql : "", &d);
    if (rc == RETORT_OK) {
        rt_buf_append(&s->b, "table ");
        append_name(&s->b, o->name);
        append_table_options(&s->b, &d);
        rc = emit(s);
    }
    if (rc == RETORT_OK)
        rc = emit_columns(s, o->name, &d);
    if (rc == RETORT_OK)
        rc = emit_indexes(s, o->name);
    if (rc == RETORT_OK)
        rc = emit_foreign_keys(s, o->name);
    table_def_free(&d);
    return rc;
}

/* "KIND NAME[ on TABLE]: canonical text after the name", for views,
 * triggers and virtual tables, whose definitions are only their text. */
static int emit_definition(snap *s, const object *o, const char *kind, const char *keyword)
{
    token_list tl = {NULL, 0, 0};
    if (tokenize(o->sql ? o->sql : "", o->sql ? strlen(o->sql) : 0, &tl) != RETORT_OK)
        return report_oom(s);
    size_t i = after_object_name(tl.v, tl.n, keyword);
    rt_buf_append(&s->b, kind);
    rt_buf_append_char(&s->b, ' ');
    append_name(&s->b, o->name);
    if (strcmp(keyword, "trigger") == 0) {
        rt_buf_append(&s->b, " on ");
        append_name(&s->b, o->table);
    }
    if (strcmp(keyword, "view") == 0) {
        /* CREATE VIEW v(a, b) AS SELECT ...: the column list, then the
         * query without the AS. */
        if (i < tl.n && tok_punct(&tl.v[i], '(')) {
            size_t close = matching_paren(tl.v, tl.n, i);
            rt_buf_append_char(&s->b, ' ');
            append_canonical(&s->b, tl.v + i, (close < tl.n ? close + 1 : tl.n) - i);
            i = close < tl.n ? close + 1 : tl.n;
        }
        if (i < tl.n && tok_is(&tl.v[i], "as"))
            i++;
    }
    rt_buf_append(&s->b, ": ");
    append_canonical(&s->b, tl.v + i, tl.n - i);
    rt_free(tl.v);
    return emit(s);
}


/* --------------------------------------------------------------- cache */

/*
 * A table's lines are a function of its CREATE TABLE text and of the
 * CREATE INDEX texts of its indexes (every pragma the description reads
 * derives from them), unless a foreign key makes them depend on its parent
 * table too.  So each connection keeps the lines of the tables it described,
 * keyed by those texts: a snapshot re-describes only the tables whose texts
 * changed since, which keeps a check that snapshots after every step (the
 * stairway) linear in the number of steps instead of quadratic.
 */
#define CACHE_BUCKETS 1024
#define CACHE_MAX 8192

typedef struct cache_entry {
    struct cache_entry *next;
    uint32_t hash;
    char *key;   /* NUL-terminated */
    char *lines; /* each line followed by '\n' */
} cache_entry;

typedef struct {
    cache_entry *bucket[CACHE_BUCKETS];
    size_t n;
} table_cache;

static uint32_t hash_key(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void cache_clear(table_cache *c)
{
    for (size_t i = 0; i < CACHE_BUCKETS; i++) {
        cache_entry *e = c->bucket[i];
        while (e) {
            cache_entry *next = e->next;
            rt_free(e->key);
            rt_free(e->lines);
            rt_free(e);
            e = next;
        }
        c->bucket[i] = NULL;
    }
    c->n = 0;
}

void rt_sqlite_snapshot_cache_free(void *cache)
{
    if (!cache)
        return;
    cache_clear(cache);
    rt_free(cache);
}

static const char *cache_find(const table_cache *c, const char *key)
{
    uint32_t h = hash_key(key);
    for (const cache_entry *e = c->bucket[h % CACHE_BUCKETS]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e->lines;
    return NULL;
}

/* Best effort: a cache that cannot grow only costs time. */
static void cache_put(table_cache *c, const char *key, const char *lines)
{
    if (c->n >= CACHE_MAX)
        cache_clear(c);
    cache_entry *e = rt_calloc(1, sizeof *e);
    if (!e)
        return;
    e->key = rt_strdup(key);
    e->lines = rt_strdup(lines);
    if (!e->key || !e->lines) {
        rt_free(e->key);
        rt_free(e->lines);
        rt_free(e);
        return;
    }
    e->hash = hash_key(key);
    e->next = c->bucket[e->hash % CACHE_BUCKETS];
    c->bucket[e->hash % CACHE_BUCKETS] = e;
    c->n++;
}

/* Whether sql has the word REFERENCES (any case): a foreign key, whose
 * description reads the parent table too. */
static int has_references(const char *sql)
{
    for (const char *p = sql; *p; p++)
        if ((*p == 'r' || *p == 'R') && sqlite3_strnicmp(p, "references", 10) == 0)
            return 1;
    return 0;
}

typedef struct {
    retort_line_fn line;
    void *ctx;
    rt_buf *copy;
} tee;

static int tee_line(void *vt, const char *line)
{
    tee *t = vt;
    rt_buf_append(t->copy, line);
    rt_buf_append_char(t->copy, '\n');
    return t->line(t->ctx, line);
}

/* Emits a table from the cache, or describes it and caches the lines. */
static int emit_table_cached(snap *s, const object *o, table_cache *cache, const char *index_sql)
{
    if (!cache || !o->sql || has_references(o->sql))
        return emit_table(s, o);
    rt_buf key = RT_BUF_INIT;
    rt_buf_append(&key, o->name);
    rt_buf_append_char(&key, '\x1f');
    rt_buf_append(&key, o->sql);
    rt_buf_append_char(&key, '\x1f');
    rt_buf_append(&key, index_sql ? index_sql : "");
    if (rt_buf_failed(&key)) {
        rt_buf_free(&key);
        return emit_table(s, o);
    }
    const char *hit = cache_find(cache, rt_buf_str(&key));
    int rc = RETORT_OK;
    if (hit) {
        for (const char *p = hit; *p && rc == RETORT_OK;) {
            const char *nl = strchr(p, '\n');
            rt_buf_append_n(&s->b, p, (size_t)(nl - p));
            rc = emit(s);
            p = nl + 1;
        }
        rt_buf_free(&key);
        return rc;
    }
    rt_buf copy = RT_BUF_INIT;
    tee t = {s->line, s->ctx, &copy};
    s->line = tee_line;
    s->ctx = &t;
    rc = emit_table(s, o);
    s->line = t.line;
    s->ctx = t.ctx;
    if (rc == RETORT_OK && !rt_buf_failed(&copy))
        cache_put(cache, rt_buf_str(&key), rt_buf_str(&copy));
    rt_buf_free(&copy);
    rt_buf_free(&key);
    return rc;
}

/* The CREATE INDEX texts of every table, by table: "name\x1esql\x1e..."
 * in index-name order, for the cache keys. */
typedef struct {
    char *table;
    rt_buf sql;
} table_indexes;

static int read_index_sql(snap *s, table_indexes **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT tbl_name, name, coalesce(sql, '') FROM main.sqlite_master "
                     "WHERE type = 'index' ORDER BY tbl_name, name",
                     NULL, &st);
    if (rc != RETORT_OK)
        return rc;
    int row = 0;
    while ((rc = step(s, st, "sqlite_master", &row)) == RETORT_OK && row) {
        const char *table = (const char *)sqlite3_column_text(st, 0);
        if (!table)
            continue;
        if (*n == 0 || strcmp((*out)[*n - 1].table, table) != 0) {
            table_indexes *grown = rt_reallocarray(*out, *n + 1, sizeof *grown);
            if (!grown) {
                rc = report_oom(s);
                break;
            }
            *out = grown;
            (*out)[*n].table = rt_strdup(table);
            (*out)[*n].sql = (rt_buf)RT_BUF_INIT;
            (*n)++;
            if (!(*out)[*n - 1].table) {
                rc = report_oom(s);
                break;
            }
        }
        rt_buf *b = &(*out)[*n - 1].sql;
        rt_buf_printf(b, "%s\x1e%s\x1e", (const char *)sqlite3_column_text(st, 1),
                      (const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    return rc;
}

static void index_sql_free(table_indexes *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rt_free(v[i].table);
        rt_buf_free(&v[i].sql);
    }
    rt_free(v);
}

static const char *index_sql_of(const table_indexes *v, size_t n, const char *table)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].table, table) == 0)
            return rt_buf_failed(&v[i].sql) ? NULL : rt_buf_str(&v[i].sql);
    return "";
}

static void objects_free(object *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rt_free(v[i].type);
        rt_free(v[i].name);
        rt_free(v[i].table);
        rt_free(v[i].sql);
    }
    rt_free(v);
}

/* Names of the shadow tables of virtual tables (FTS5's t_data, ...):
 * implementation details of their virtual table, which is described
 * instead.  pragma table_list is SQLite 3.37+; older versions list none. */
static int shadow_tables(snap *s, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name FROM pragma_table_list WHERE schema = 'main' AND "
                           "type = 'shadow'",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return RETORT_OK;
    }
    int rc, row = 0;
    while ((rc = step(s, st, "pragma table_list", &row)) == RETORT_OK && row) {
        char **grown = rt_reallocarray(*names, *n + 1, sizeof *grown);
        char *name = grown ? dup_col(st, 0) : NULL;
        if (grown)
            *names = grown;
        if (!name) {
            rc = report_oom(s);
            break;
        }
        (*names)[(*n)++] = name;
    }
    sqlite3_finalize(st);
    return rc;
}

int rt_sqlite_snapshot(void *db, const char *schema, const char *const *exclude,
                       retort_line_fn line, void *ctx, retort_report *rep)
{
    if (schema && *schema && sqlite3_stricmp(schema, "main") != 0) {
        retort_report_error(rep, RETORT_EINVAL,
                            "SQLite has one schema, \"main\": cannot describe another");
        return RETORT_EINVAL;
    }
    snap s = {rt_sqlite_backend.native(db), exclude, line, ctx, rep, RT_BUF_INIT};

    /* Read the catalogue first, then describe each object: the pragmas run
     * as separate statements and must not interleave with this one. */
    sqlite3_stmt *st;
    int rc = prepare(&s,
                     "SELECT type, name, tbl_name, sql FROM main.sqlite_master "
                     "WHERE type IN ('table', 'view', 'trigger') "
                     "AND lower(substr(name, 1, 7)) <> 'sqlite_'",
                     NULL, &st);
    if (rc != RETORT_OK)
        return rc;
    object *objs = NULL;
    size_t n = 0;
    int row = 0;
    while ((rc = step(&s, st, "sqlite_master", &row)) == RETORT_OK && row) {
        object *grown = rt_reallocarray(objs, n + 1, sizeof *grown);
        if (!grown) {
            rc = report_oom(&s);
            break;
        }
        objs = grown;
        object *o = &objs[n++];
        *o = (object){dup_col(st, 0), dup_col(st, 1), dup_col(st, 2), dup_col(st, 3)};
        if (!o->type || !o->name || !o->table ||
            (!o->sql && sqlite3_column_type(st, 3) != SQLITE_NULL)) {
            rc = report_oom(&s);
            break;
        }
    }
    sqlite3_finalize(st);

    char **shadow = NULL;
    size_t nshadow = 0;
    if (rc == RETORT_OK)
        rc = shadow_tables(&s, &shadow, &nshadow);
    table_indexes *isql = NULL;
    size_t nisql = 0;
    if (rc == RETORT_OK)
        rc = read_index_sql(&s, &isql, &nisql);
    void **slot = rt_sqlite_snapshot_cache(db);
    if (!*slot)
        *slot = rt_calloc(1, sizeof(table_cache)); /* NULL: no cache, still right */
    table_cache *cache = *slot;

    for (size_t i = 0; i < n && rc == RETORT_OK; i++) {
        const object *o = &objs[i];
        if (excluded(&s, o->table))
            continue;
        int is_shadow = 0;
        for (size_t k = 0; k < nshadow && !is_shadow; k++)
            is_shadow = strcmp(shadow[k], o->name) == 0;
        if (is_shadow)
            continue;
        if (strcmp(o->type, "view") == 0) {
            rc = emit_definition(&s, o, "view", "view");
        } else if (strcmp(o->type, "trigger") == 0) {
            rc = emit_definition(&s, o, "trigger", "trigger");
        } else if (o->sql && sqlite3_strnicmp(o->sql, "create virtual", 14) == 0) {
            rc = emit_definition(&s, o, "virtual table", "table");
        } else {
            const char *ix = index_sql_of(isql, nisql, o->name);
            rc = ix ? emit_table_cached(&s, o, cache, ix) : emit_table(&s, o);
        }
    }
    index_sql_free(isql, nisql);
    for (size_t k = 0; k < nshadow; k++)
        rt_free(shadow[k]);
    rt_free(shadow);
    objects_free(objs, n);
    rt_buf_free(&s.b);
    return rc;
}
