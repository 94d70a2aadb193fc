/*
 * schema_model.c — parses snapshot lines into rt_sobj records
 * (schema_model.h).  It reads only the shape the drivers' line formats share
 * ("KIND T ...", "column T.C ...", "index I on T ...", "view V: ...",
 * "trigger G on T: ...", a trailing "named N"); what follows the names is
 * kept as text for the dialect renderers, which know what it means.
 * Allocates nothing but the model itself and never touches a database.
 */
#include "schema_model.h"

#include <string.h>

#include "memory.h"
#include "retort/retort.h"

int rt_sname_read(const char **p, char **out)
{
    const char *s = *p;
    *out = NULL;
    if (*s == '"') {
        size_t cap = strlen(s), n = 0;
        char *v = rt_malloc(cap + 1);
        if (!v)
            return RETORT_ENOMEM;
        for (s++; *s; s++) {
            if (*s == '"') {
                if (s[1] == '"') {
                    v[n++] = '"';
                    s++;
                    continue;
                }
                s++;
                break;
            }
            v[n++] = *s;
        }
        v[n] = '\0';
        *out = v;
        *p = s;
        return RETORT_OK;
    }
    size_t n = strcspn(s, " .(:,");
    *out = rt_strndup(s, n);
    if (!*out)
        return RETORT_ENOMEM;
    *p = s + n;
    return RETORT_OK;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The " named N" suffix: sets o->name and o->def_len.  The name is the
 * last token, so it is found from the end, skipping over a quoted one. */
static int parse_named(rt_sobj *o)
{
    size_t len = strlen(o->body);
    o->def_len = len;
    if (!len)
        return RETORT_OK;
    const char *b = o->body, *start;
    if (b[len - 1] == '"') {
        /* Walk back to the opening quote; doubled quotes are inside. */
        size_t i = len - 1;
        for (;;) {
            if (i == 0)
                return RETORT_OK;
            i--;
            if (b[i] == '"') {
                if (i > 0 && b[i - 1] == '"') {
                    i--;
                    continue;
                }
                break;
            }
        }
        start = b + i;
    } else {
        start = strrchr(b, ' ');
        if (!start)
            return RETORT_OK;
        start++;
    }
    static const char kw[] = " named ";
    size_t kl = sizeof kw - 1;
    if ((size_t)(start - b) < kl || memcmp(start - kl, kw, kl) != 0)
        return RETORT_OK;
    const char *p = start;
    if (rt_sname_read(&p, &o->name) != RETORT_OK)
        return RETORT_ENOMEM;
    o->def_len = (size_t)(start - kl - b);
    return RETORT_OK;
}

static int parse_line(const char *line, rt_sobj *o)
{
    memset(o, 0, sizeof *o);
    o->line = line;
    o->kind = RT_SO_OTHER;
    o->body = line + strlen(line);
    const char *p = line;
    int rc = RETORT_OK;
    static const struct {
        const char *prefix;
        int kind;
    } table_kinds[] = {{"primary key ", RT_SO_PKEY}, {"unique ", RT_SO_UNIQUE},
                       {"foreign key ", RT_SO_FKEY}, {"check ", RT_SO_CHECK},
                       {"exclusion ", RT_SO_EXCLUSION}};
    if (starts(p, "table ")) {
        p += 6;
        o->kind = RT_SO_TABLE;
        if ((rc = rt_sname_read(&p, &o->table)) != RETORT_OK)
            return rc;
        o->body = *p == ' ' ? p + 1 : p;
        o->def_len = strlen(o->body);
        return RETORT_OK;
    }
    if (starts(p, "column ")) {
        p += 7;
        if ((rc = rt_sname_read(&p, &o->table)) != RETORT_OK)
            return rc;
        if (*p != '.')
            return RETORT_OK;
        p++;
        if ((rc = rt_sname_read(&p, &o->name)) != RETORT_OK)
            return rc;
        o->kind = RT_SO_COLUMN;
        o->body = *p == ' ' ? p + 1 : p;
        o->def_len = strlen(o->body);
        return RETORT_OK;
    }
    for (size_t i = 0; i < sizeof table_kinds / sizeof *table_kinds; i++) {
        if (!starts(p, table_kinds[i].prefix))
            continue;
        p += strlen(table_kinds[i].prefix);
        if ((rc = rt_sname_read(&p, &o->table)) != RETORT_OK)
            return rc;
        o->kind = table_kinds[i].kind;
        o->body = *p == ' ' ? p + 1 : p;
        return parse_named(o);
    }
    if (starts(p, "index ") || starts(p, "trigger ")) {
        int index = *p == 'i';
        p += index ? 6 : 8;
        if ((rc = rt_sname_read(&p, &o->name)) != RETORT_OK)
            return rc;
        if (!starts(p, " on "))
            return RETORT_OK;
        p += 4;
        if ((rc = rt_sname_read(&p, &o->table)) != RETORT_OK)
            return rc;
        o->kind = index ? RT_SO_INDEX : RT_SO_TRIGGER;
        if (!index && starts(p, ": "))
            p += 2;
        o->body = *p == ' ' ? p + 1 : p;
        o->def_len = strlen(o->body);
        return RETORT_OK;
    }
    if (starts(p, "view ") || starts(p, "materialized view ")) {
        int mat = *p == 'm';
        p += mat ? 18 : 5;
        if ((rc = rt_sname_read(&p, &o->name)) != RETORT_OK)
            return rc;
        o->kind = mat ? RT_SO_MATVIEW : RT_SO_VIEW;
        /* SQLite: "view V (C, ...): SELECT"; the column list stays in
         * the body, which the renderer does not read for SQLite. */
        o->body = p;
        const char *colon = strstr(p, ": ");
        if (colon && (*p == ':' || *p == ' '))
            o->body = *p == ':' ? colon + 2 : p + 1;
        o->def_len = strlen(o->body);
        return RETORT_OK;
    }
    if (starts(p, "sequence ")) {
        p += 9;
        if ((rc = rt_sname_read(&p, &o->name)) != RETORT_OK)
            return rc;
        o->kind = RT_SO_SEQUENCE;
        o->body = *p == ' ' ? p + 1 : p;
        o->def_len = strlen(o->body);
        const char *owned = strstr(o->body, " owned by ");
        if (owned) {
            const char *q = owned + 10;
            if ((rc = rt_sname_read(&q, &o->table)) != RETORT_OK)
                return rc;
        }
        return RETORT_OK;
    }
    return RETORT_OK;
}

int rt_smodel_parse(const char *snapshot, rt_smodel *m)
{
    memset(m, 0, sizeof *m);
    m->text = rt_strdup(snapshot ? snapshot : "");
    if (!m->text)
        return RETORT_ENOMEM;
    size_t lines = *m->text ? 1 : 0;
    for (const char *c = m->text; *c; c++)
        lines += *c == '\n';
    m->v = rt_calloc(lines ? lines : 1, sizeof *m->v);
    if (!m->v)
        return RETORT_ENOMEM;
    char *s = m->text;
    while (lines && *s) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        if (*s) {
            int rc = parse_line(s, &m->v[m->n]);
            m->n++; /* counted before the check, so free sees its names */
            if (rc != RETORT_OK)
                return rc;
        }
        if (!nl)
            break;
        s = nl + 1;
    }
    return RETORT_OK;
}

void rt_smodel_free(rt_smodel *m)
{
    for (size_t i = 0; i < m->n; i++) {
        rt_free(m->v[i].table);
        rt_free(m->v[i].name);
    }
    rt_free(m->v);
    rt_free(m->text);
    memset(m, 0, sizeof *m);
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int is_constraint(int kind)
{
    return kind == RT_SO_PKEY || kind == RT_SO_UNIQUE || kind == RT_SO_FKEY ||
           kind == RT_SO_CHECK || kind == RT_SO_EXCLUSION;
}

const rt_sobj *rt_smodel_find(const rt_smodel *m, int kind, const char *table, const char *name)
{
    for (size_t i = 0; i < m->n; i++) {
        const rt_sobj *o = &m->v[i];
        if ((kind < 0 ? is_constraint(o->kind) : o->kind == kind) && same(o->table, table) &&
            same(o->name, name))
            return o;
    }
    return NULL;
}

int rt_smodel_has_line(const rt_smodel *m, const char *line)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].line, line) == 0)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- columns */

void rt_scol_free(rt_scol *c)
{
    rt_free(c->type);
    rt_free(c->collate);
    rt_free(c->identity);
    rt_free(c->generated);
    rt_free(c->dflt);
    memset(c, 0, sizeof *c);
}

/* The first occurrence of word (" default ") in s at token level: outside
 * quotes and parentheses, so a type like "numeric(10,2)" or a string
 * default never splits. */
static const char *find_word(const char *s, const char *word)
{
    size_t wl = strlen(word);
    int depth = 0;
    char quote = 0;
    for (const char *p = s; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            continue;
        }
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        else if (depth == 0 && strncmp(p, word, wl) == 0)
            return p;
    }
    return NULL;
}

int rt_scol_parse(const char *body, rt_scol *c)
{
    memset(c, 0, sizeof *c);
    /* A leading space makes every attribute " word ...", even when the
     * type is missing (SQLite: "column t.c not null"). */
    size_t bl = strlen(body);
    char *s = rt_malloc(bl + 3);
    if (!s)
        return RETORT_ENOMEM;
    s[0] = ' ';
    memcpy(s + 1, body, bl);
    s[bl + 1] = ' ';
    s[bl + 2] = '\0';
    int rc = RETORT_ENOMEM;
    /* Tail first: " default E" or " generated ...", at most one identity
     * clause before a default (PostgreSQL). */
    char *tail = NULL;
    const char *d = find_word(s, " default ");
    const char *g = find_word(s, " generated ");
    const char *cut = d && (!g || d < g) ? d : g;
    size_t head_len = cut ? (size_t)(cut - s) : bl + 1;
    if (cut) {
        tail = (char *)cut;
        if (tail == g && strncmp(g, " generated always as identity", 29) == 0) {
            if (!(c->identity = rt_strdup("generated always as identity")))
                goto done;
            tail = (char *)g + 29;
        } else if (tail == g && strncmp(g, " generated by default as identity", 33) == 0) {
            if (!(c->identity = rt_strdup("generated by default as identity")))
                goto done;
            tail = (char *)g + 33;
        }
        d = find_word(tail, " default ");
        g = find_word(tail, " generated ");
        if (d == tail) {
            size_t n = strlen(d + 9);
            if (!(c->dflt = rt_strndup(d + 9, n ? n - 1 : 0))) /* the added space */
                goto done;
        } else if (g == tail) {
            size_t n = strlen(g + 1);
            if (!(c->generated = rt_strndup(g + 1, n ? n - 1 : 0)))
                goto done;
        }
    }
    /* Head: " TYPE[ collate X][ not null]" */
    s[head_len] = '\0';
    static const char nn[] = " not null";
    size_t hl = strlen(s);
    if (hl >= sizeof nn - 1 && strcmp(s + hl - (sizeof nn - 1), nn) == 0) {
        c->not_null = 1;
        s[hl - (sizeof nn - 1)] = '\0';
    }
    char *coll = (char *)find_word(s, " collate ");
    if (coll) {
        if (!(c->collate = rt_strdup(coll + 9)))
            goto done;
        *coll = '\0';
    }
    if (!(c->type = rt_strdup(s + (*s == ' '))))
        goto done;
    rc = RETORT_OK;
done:
    rt_free(s);
    if (rc != RETORT_OK)
        rt_scol_free(c);
    return rc;
}
