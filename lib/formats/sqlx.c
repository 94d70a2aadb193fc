/*
 * sqlx.c — launchbadge/sqlx: "<version>_<desc>.sql" (up only, no markers)
 * and ".up.sql"/".down.sql" pairs, both read by the loader as they are;
 * here only sqlx's directive "-- no-transaction".  Only that exact text is
 * the directive: "-- no transaction needed" stays a comment.
 */
#include <string.h>

#include "formats.h"

static int sqlx_mark(const char *p, size_t n, int *no_tx)
{
    (void)no_tx;
    return n == 14 && memcmp(p, "no-transaction", 14) == 0 ? RT_MARK_NO_TX : RT_MARK_NONE;
}

const rt_format rt_format_sqlx = {
    "sqlx", "add the line '-- no-transaction'", "no-transaction", sqlx_mark, 0, 0,
};
