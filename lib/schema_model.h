/*
 * schema_model.h — a schema snapshot (snapshot.c's canonical lines) parsed
 * into objects that autogenerate can compare by identity: which table a
 * line belongs to, which column, index, view or named constraint it
 * describes.  The line formats are the drivers' (sqlite_snapshot.c,
 * postgres_snapshot.c); both quote names the same way (double quotes,
 * doubled inside), which is all this parser needs to know of them.
 */
#ifndef RT_SCHEMA_MODEL_H
#define RT_SCHEMA_MODEL_H

#include <stddef.h>

enum {
    RT_SO_TABLE,
    RT_SO_COLUMN,
    RT_SO_PKEY,
    RT_SO_UNIQUE,
    RT_SO_FKEY,
    RT_SO_CHECK,
    RT_SO_EXCLUSION,
    RT_SO_INDEX,
    RT_SO_VIEW,
    RT_SO_MATVIEW,
    RT_SO_TRIGGER,
    RT_SO_SEQUENCE,
    RT_SO_OTHER /* described, but autogenerate cannot write it */
};

typedef struct rt_sobj {
    int kind;
    const char *line;  /* the whole line */
    char *table;       /* unquoted name of the table it belongs to, or NULL */
    char *name;        /* unquoted column, index, view, trigger, sequence or
                          constraint name ("named N"); NULL if none */
    const char *body;  /* into line: what follows the kind and names */
    size_t def_len;    /* body's length without a trailing " named N" */
} rt_sobj;

typedef struct rt_smodel {
    char *text; /* the snapshot, split in place into lines */
    rt_sobj *v;
    size_t n;
} rt_smodel;

/* Parses a snapshot (sorted lines joined by '\n').  RETORT_OK or
 * RETORT_ENOMEM; m is always safe to free afterwards. */
int rt_smodel_parse(const char *snapshot, rt_smodel *m);
void rt_smodel_free(rt_smodel *m);

/* The object of that kind, table and name (NULLs match NULLs; names compare
 * exactly, as the snapshot spells them), or NULL.  kind -1: any table-level
 * constraint kind (primary key, unique, foreign key, check, exclusion). */
const rt_sobj *rt_smodel_find(const rt_smodel *m, int kind, const char *table, const char *name);
/* Whether the exact line is in m. */
int rt_smodel_has_line(const rt_smodel *m, const char *line);

/* A column line's parts (body of "column T.C BODY"), each malloc'd or NULL. */
typedef struct rt_scol {
    char *type;      /* may be "" (SQLite allows no type) */
    char *collate;   /* collation name as written in the line, or NULL */
    int not_null;
    char *identity;  /* "generated always as identity" ..., or NULL */
    char *generated; /* "generated always as (E) stored|virtual", or NULL */
    char *dflt;      /* the default expression, or NULL */
} rt_scol;

int rt_scol_parse(const char *body, rt_scol *c);
void rt_scol_free(rt_scol *c);

/* Reads one name (quoted with double quotes or bare up to a space, '.', '(',
 * ':' or ',') at *p into out (unquoted, malloc'd) and advances *p. */
int rt_sname_read(const char **p, char **out);

#endif
