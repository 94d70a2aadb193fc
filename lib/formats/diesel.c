/*
 * diesel.c — diesel's layout: a directory "<version>_<name>" per migration
 * holding up.sql, down.sql, and optionally metadata.toml, whose one setting
 * is "run_in_transaction = false".  The revision's id is the directory's
 * name; the loader finds the directories, this file reads metadata.toml.
 */
#include <string.h>

#include "formats.h"

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

int rt_diesel_metadata(const char *text, int *no_tx, int *line, rt_buf *err)
{
    *no_tx = 0;
    *line = 0;
    for (const char *s = text; *s;) {
        const char *e = strchr(s, '\n');
        const char *next = e ? e + 1 : s + strlen(s);
        if (!e)
            e = next;
        ++*line;
        while (s < e && blank(*s))
            s++;
        /* A loop, not memchr: GCC at -O2 cannot see that s <= e. */
        const char *hash = s;
        while (hash < e && *hash != '#')
            hash++;
        e = hash;
        while (e > s && blank(e[-1]))
            e--;
        if (s == e) {
            s = next;
            continue;
        }
        const char *k = s, *ke = s;
        while (ke < e && !blank(*ke) && *ke != '=')
            ke++;
        const char *v = ke;
        while (v < e && blank(*v))
            v++;
        if (ke - k == 18 && memcmp(k, "run_in_transaction", 18) == 0 && v < e && *v == '=') {
            v++;
            while (v < e && blank(*v))
                v++;
            if (e - v == 5 && memcmp(v, "false", 5) == 0) {
                *no_tx = 1;
                s = next;
                continue;
            }
            if (e - v == 4 && memcmp(v, "true", 4) == 0) {
                *no_tx = 0;
                s = next;
                continue;
            }
        }
        rt_buf_printf(err, "'%.*s' is not a setting retort reads (diesel's metadata.toml "
                           "holds 'run_in_transaction = true|false')",
                      (int)((e - s) > 80 ? 80 : (e - s)), s);
        return -1;
    }
    return 0;
}

const rt_format rt_format_diesel = {
    "diesel", "set 'run_in_transaction = false' in its metadata.toml", "", NULL, 0, 0,
};
