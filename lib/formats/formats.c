/*
 * formats.c — the table of migration formats, the line classifier over it,
 * and the parser shared by formats whose markers cut one file into up and
 * down sections (goose, sql-migrate).  Each format's own rules live in its
 * file (goose.c, sql_migrate.c, ...); this file must not grow a tool's
 * special case.
 */
#include <string.h>

#include "formats.h"
#include "../memory.h"

/* Parsed by lib/loader.c itself; here for the table and the hints. */
const rt_format rt_format_retort = {
    "retort", "add the line '-- retort:no-transaction'",
    "retort:up, retort:down, retort:parents, retort:message, retort:no-transaction", NULL, 1, 0,
};
const rt_format rt_format_dbmate = {
    "dbmate", "write its up marker as '-- migrate:up transaction:false'",
    "migrate:up, migrate:down", NULL, 1, 0,
};
/* A file without markers: golang-migrate/sqlx pairs, sqlx up-only files. */
const rt_format rt_format_plain = {
    "plain SQL", "add the line '-- retort:no-transaction'", "", NULL, 0, 0,
};

const rt_format *const rt_formats[] = {
    &rt_format_retort, &rt_format_dbmate, &rt_format_goose, &rt_format_sql_migrate,
    &rt_format_morph,  &rt_format_sqlx,   &rt_format_flyway, &rt_format_diesel, NULL,
};

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

const rt_format *rt_format_of_line(const char *s, const char *e, int *kind, int *no_tx)
{
    *kind = RT_MARK_NONE;
    *no_tx = 0;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if (e - s < 2 || s[0] != '-' || s[1] != '-')
        return NULL;
    s += 2;
    while (s < e && is_blank(*s))
        s++;
    for (const rt_format *const *f = rt_formats; *f; f++) {
        if (!(*f)->mark)
            continue;
        int k = (*f)->mark(s, (size_t)(e - s), no_tx);
        if (k != RT_MARK_NONE) {
            *kind = k;
            return *f;
        }
    }
    return NULL;
}

void rt_sections_free(rt_sections *s)
{
    rt_free(s->up);
    rt_free(s->down);
    rt_free(s->up_raw);
    rt_free(s->down_raw);
    memset(s, 0, sizeof *s);
}

static int is_comment_or_blank(const char *s, const char *e)
{
    while (s < e && is_blank(*s))
        s++;
    return s == e || (e - s >= 2 && s[0] == '-' && s[1] == '-');
}

static int fail_at(rt_sections *out, rt_buf *err, int line, const char *msg)
{
    out->err_line = line;
    rt_buf_append(err, msg);
    return -1;
}

int rt_sections_parse(const rt_format *f, const char *text, rt_sections *out, rt_buf *err)
{
    memset(out, 0, sizeof *out);
    rt_buf up = RT_BUF_INIT, down = RT_BUF_INIT, up_raw = RT_BUF_INIT, down_raw = RT_BUF_INIT;
    enum { HEADER, UP, DOWN } state = HEADER;
    int line = 0, up_line = 0, down_line = 0, block_line = 0, envsub = 0, substituted = 0;
    int rc = 0;
    for (const char *s = text; *s && rc == 0;) {
        const char *e = strchr(s, '\n');
        const char *next = e ? e + 1 : s + strlen(s);
        if (!e)
            e = next;
        line++;
        int kind, no_tx;
        const rt_format *lf = rt_format_of_line(s, e, &kind, &no_tx);
        if (lf && lf != f && kind != RT_MARK_INVALID) {
            rt_buf_printf(err, "a %s marker in a file written with %s markers: one file uses "
                               "one tool's markers",
                          lf->name, f->name);
            out->err_line = line;
            rc = -1;
            break;
        }
        if (lf && kind == RT_MARK_INVALID) {
            rt_buf_printf(err, "'%.*s' is not a valid %s marker (known: %s)",
                          (int)((e - s) > 80 ? 80 : (e - s)), s, lf->name, lf->known);
            out->err_line = line;
            rc = -1;
            break;
        }
        if (!lf)
            kind = RT_MARK_NONE;
        rt_buf *sec = state == UP ? &up : state == DOWN ? &down : NULL;
        rt_buf *raw = state == UP ? &up_raw : state == DOWN ? &down_raw : NULL;
        switch (kind) {
        case RT_MARK_NONE:
            if (state == HEADER) {
                if (!is_comment_or_blank(s, e))
                    rc = fail_at(out, err, line, "SQL before the up marker");
                break;
            }
            rt_buf_append_n(raw, s, (size_t)(next - s));
            if (envsub) {
                size_t before = sec->len;
                if (rt_goose_envsub(s, (size_t)(next - s), sec, err) != 0) {
                    out->err_line = line;
                    rc = -1;
                }
                if (!rt_buf_failed(sec) && (sec->len != before + (size_t)(next - s) ||
                                            memcmp(sec->data + before, s, (size_t)(next - s))))
                    substituted = 1;
            } else {
                rt_buf_append_n(sec, s, (size_t)(next - s));
            }
            break;
        case RT_MARK_UP:
            if (state != HEADER) {
                rt_buf_printf(err, "second up marker (the first is line %d)", up_line);
                rc = fail_at(out, err, line, "");
                break;
            }
            state = UP;
            up_line = line;
            out->no_tx |= no_tx;
            break;
        case RT_MARK_DOWN:
            if (state == HEADER) {
                rc = fail_at(out, err, line, "down marker before the up marker");
                break;
            }
            if (state == DOWN) {
                rt_buf_printf(err, "second down marker (the first is line %d)", down_line);
                rc = fail_at(out, err, line, "");
                break;
            }
            if (block_line) {
                rt_buf_printf(err, "the statement block opened at line %d is not closed "
                                   "before the down marker",
                              block_line);
                rc = fail_at(out, err, line, "");
                break;
            }
            state = DOWN;
            down_line = line;
            out->no_tx |= no_tx;
            break;
        case RT_MARK_BEGIN:
            if (state == HEADER) {
                rc = fail_at(out, err, line, "statement block before the up marker");
                break;
            }
            if (block_line) {
                rt_buf_printf(err, "statement block opened again (the open one starts at "
                                   "line %d)",
                              block_line);
                rc = fail_at(out, err, line, "");
                break;
            }
            block_line = line;
            rt_buf_append_n(sec, s, (size_t)(next - s));
            rt_buf_append_n(raw, s, (size_t)(next - s));
            break;
        case RT_MARK_END:
            if (!block_line) {
                rc = fail_at(out, err, line, "statement block end without its begin");
                break;
            }
            block_line = 0;
            rt_buf_append_n(sec, s, (size_t)(next - s));
            rt_buf_append_n(raw, s, (size_t)(next - s));
            break;
        case RT_MARK_NO_TX:
            out->no_tx = 1;
            break;
        case RT_MARK_ENVSUB_ON:
        case RT_MARK_ENVSUB_OFF:
            envsub = kind == RT_MARK_ENVSUB_ON;
            break;
        default:
            break;
        }
        s = next;
    }
    if (rc == 0 && block_line) {
        rt_buf_printf(err, "the statement block opened at line %d is never closed", block_line);
        rc = fail_at(out, err, block_line, "");
    }
    if (rc == 0 && state == HEADER)
        rc = fail_at(out, err, 0, "no up marker, though the file has other markers of its "
                                  "format");
    if (rc == 0) {
        /* An up section may be empty: it still gets a string. */
        rt_buf_append(&up, "");
        if (state == DOWN)
            rt_buf_append(&down, "");
        if (rt_buf_failed(&up) || rt_buf_failed(&down) || rt_buf_failed(&up_raw) ||
            rt_buf_failed(&down_raw)) {
            out->nomem = 1;
            rc = -1;
        } else {
            out->up = rt_buf_take(&up);
            out->down = state == DOWN ? rt_buf_take(&down) : NULL;
            if (substituted) {
                rt_buf_append(&up_raw, "");
                out->up_raw = rt_buf_take(&up_raw);
                if (state == DOWN) {
                    rt_buf_append(&down_raw, "");
                    out->down_raw = rt_buf_take(&down_raw);
                }
                if (!out->up_raw || (state == DOWN && !out->down_raw))
                    out->nomem = 1, rc = -1;
            }
            if (!out->up || (state == DOWN && !out->down))
                out->nomem = 1, rc = -1;
        }
        if (rc != 0)
            rt_sections_free(out), out->nomem = 1;
    }
    rt_buf_free(&up);
    rt_buf_free(&down);
    rt_buf_free(&up_raw);
    rt_buf_free(&down_raw);
    return rc;
}

/* ------------------------------------------------- files that cannot run */

int rt_format_unrunnable(const char *name, size_t len, const char **why)
{
    if (len > 5 && memcmp(name + len - 5, ".fizz", 5) == 0) {
        *why = "a Pop fizz migration (retort reads SQL; rewrite it as SQL)";
        return 1;
    }
    /* goose's Go migrations: "<version>_<name>.go" (tests excluded). */
    size_t digits = strspn(name, "0123456789");
    if (len > 3 && memcmp(name + len - 3, ".go", 3) == 0 && digits && name[digits] == '_' &&
        !(len > 8 && memcmp(name + len - 8, "_test.go", 8) == 0)) {
        *why = "a goose Go migration (retort cannot run Go; rewrite it as SQL, or as a C "
               "migration with 'retort revision --lang c')";
        return 1;
    }
    return 0;
}

int rt_format_has_template(const char *text, int *line)
{
    int ln = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            ln++;
        } else if (*p == '\'') { /* a string literal: '{{1,2},{3,4}}' is an array */
            for (p++; *p && *p != '\''; p++)
                ln += *p == '\n';
            if (!*p)
                break;
        } else if (p[0] == '{' && p[1] == '{') {
            const char *q = p + 2;
            while (*q == ' ' || *q == '-')
                q++;
            const char *close = strstr(q, "}}");
            const char *nl = strchr(q, '\n');
            if (close && (!nl || close < nl) &&
                (*q == '.' || *q == '$' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))) {
                *line = ln;
                return 1;
            }
        }
    }
    return 0;
}
