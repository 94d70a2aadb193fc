/*
 * sql_migrate.c — rubenv/sql-migrate's markers: "-- +migrate Up", "Down",
 * "StatementBegin", "StatementEnd", with the option "notransaction" after
 * Up or Down.  sql-migrate matches them case-sensitively; so does this, and
 * a near miss ("-- +migrate up") is an error rather than a comment.
 */
#include <string.h>
#include <strings.h>

#include "formats.h"

static int sql_migrate_mark(const char *p, size_t n, int *no_tx)
{
    if (n < 8 || strncasecmp(p, "+migrate", 8) != 0 || (n > 8 && p[8] != ' ' && p[8] != '\t'))
        return RT_MARK_NONE;
    const char *e = p + n;
    p += 8;
    const char *words[3];
    size_t lens[3];
    int nw = 0;
    while (p < e) {
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p == e)
            break;
        const char *w = p;
        while (p < e && *p != ' ' && *p != '\t')
            p++;
        if (nw == 3)
            return RT_MARK_INVALID;
        words[nw] = w;
        lens[nw++] = (size_t)(p - w);
    }
    if (nw == 0)
        return RT_MARK_INVALID;
#define IS(i, s) (lens[i] == sizeof(s) - 1 && memcmp(words[i], s, sizeof(s) - 1) == 0)
    int kind = IS(0, "Up") ? RT_MARK_UP : IS(0, "Down") ? RT_MARK_DOWN
             : IS(0, "StatementBegin") ? RT_MARK_BEGIN : IS(0, "StatementEnd") ? RT_MARK_END
             : RT_MARK_INVALID;
    for (int i = 1; i < nw && kind != RT_MARK_INVALID; i++) {
        if ((kind == RT_MARK_UP || kind == RT_MARK_DOWN) && IS(i, "notransaction"))
            *no_tx = 1;
        else
            kind = RT_MARK_INVALID;
    }
#undef IS
    return kind;
}

const rt_format rt_format_sql_migrate = {
    "sql-migrate", "write its up marker as '-- +migrate Up notransaction'",
    "+migrate Up, +migrate Down (either followed by notransaction), +migrate StatementBegin, "
    "+migrate StatementEnd",
    sql_migrate_mark, 1, 0,
};
