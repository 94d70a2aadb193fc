/*
 * formats.h — other tools' migration formats, behind one small interface.
 *
 * The loader (lib/loader.c) walks the directory, pairs files into revisions
 * and validates the whole directory; what a line or a file name means in one
 * tool's format lives in that tool's file here:
 *   goose.c        -- +goose Up/Down/StatementBegin/StatementEnd/NO TRANSACTION/ENVSUB
 *   sql_migrate.c  -- +migrate Up/Down/StatementBegin/StatementEnd, "Up notransaction"
 *   morph.c        -- morph:nontransactional (in golang-migrate style pairs)
 *   sqlx.c         -- no-transaction (sqlx's first-line directive)
 *   flyway.c       V<version>__<desc>.sql, U<version>__<desc>.sql, version order
 *   diesel.c       <version>_<name>/up.sql + down.sql, metadata.toml
 * and formats.c holds the table naming them (rt_formats) and the parser that
 * the section-marker formats (goose, sql-migrate) share.  Adding the next
 * marker format is one file with an rt_format and one row in that table.
 *
 * Nothing here touches the registry or the file system: functions take text
 * and return what it means, or an error with the line at fault.
 */
#ifndef RT_FORMATS_H
#define RT_FORMATS_H

#include <stddef.h>

#include "../buf.h"

/* What a comment line means to one format. */
enum rt_mark {
    RT_MARK_NONE = 0,  /* not in this format's namespace: SQL or a comment */
    RT_MARK_INVALID,   /* in its namespace ("-- +goose ...") but no valid marker */
    RT_MARK_UP,
    RT_MARK_DOWN,
    RT_MARK_BEGIN,     /* a statement block starts: its ';' do not split */
    RT_MARK_END,
    RT_MARK_NO_TX,     /* the migration runs outside a transaction */
    RT_MARK_ENVSUB_ON, /* goose: substitute ${VAR} in the lines that follow */
    RT_MARK_ENVSUB_OFF
};

typedef struct rt_format {
    const char *name;       /* the tool, as users know it: "goose" */
    /* How a migration of this format is marked non-transactional, as an
     * instruction ("add the line '-- +goose NO TRANSACTION'"), given when
     * the database refuses a statement inside a transaction. */
    const char *no_tx_hint;
    /* The valid markers, for messages. */
    const char *known;
    /*
     * Classifies one comment: p[0..n) is the text after "--", blanks
     * trimmed at both ends.  *no_tx is set for a section marker that also
     * makes the migration non-transactional (sql-migrate's "Up
     * notransaction").  NULL for formats recognised by the loader itself
     * (retort, dbmate) or by file name only (Flyway, diesel).
     */
    int (*mark)(const char *p, size_t n, int *no_tx);
    /* Whether the format's markers cut a file into up and down sections
     * (goose, sql-migrate) rather than only flag it (morph, sqlx). */
    int sections;
    /* Whether section markers may be followed by environment substitution. */
    int envsub;
} rt_format;

extern const rt_format rt_format_retort, rt_format_dbmate, rt_format_goose,
    rt_format_sql_migrate, rt_format_morph, rt_format_sqlx, rt_format_flyway,
    rt_format_diesel, rt_format_plain;
/* Flyway's repeatable migrations ("R__<desc>.sql"): registered apart from
 * the revisions (context.h: rreg) and run by repeatable.c. */
extern const rt_format rt_format_flyway_repeatable;

/* Every format, NULL-terminated: the table the loader consults. */
extern const rt_format *const rt_formats[];

/*
 * The format whose namespace the line [s, e) is in, with *kind its marker
 * (RT_MARK_INVALID for a line that looks like a marker and is not one), or
 * NULL when no marker format claims the line.
 */
const rt_format *rt_format_of_line(const char *s, const char *e, int *kind, int *no_tx);

/* The result of parsing one single-file migration of a section format. */
typedef struct rt_sections {
    char *up, *down;      /* rt_free; down NULL when the file has no down marker */
    char *up_raw, *down_raw; /* before environment substitution (rt_free); NULL if none happened */
    int no_tx;
    int err_line;         /* on error: the line at fault (0: the file) */
    int nomem;            /* on error: out of memory */
} rt_sections;

/*
 * Splits text, a file of format f (a section format), into its up and down
 * sections.  Returns 0, or -1 with the reason in *err (the caller prefixes
 * file:line from out->err_line).  On success the caller owns out's strings
 * (rt_sections_free).  ENVSUB reads the process environment (getenv).
 */
int rt_sections_parse(const rt_format *f, const char *text, rt_sections *out, rt_buf *err);
void rt_sections_free(rt_sections *s);

/* goose's environment substitution of s[0..n) into out; -1 with *err for
 * ${VAR:?message} of an unset variable. */
int rt_goose_envsub(const char *s, size_t n, rt_buf *out, rt_buf *err);

/* ------------------------------------------------------------- Flyway */

enum {
    RT_FLYWAY_NONE = 0,
    RT_FLYWAY_VERSIONED,
    RT_FLYWAY_UNDO,
    RT_FLYWAY_REPEATABLE,
    RT_FLYWAY_BASELINE
};

/* Which Flyway file name name[0..stem) is (stem: the name without ".sql"):
 * "V<version>__<desc>", "U<version>__<desc>", "R__<desc>",
 * "B<version>__<desc>", or none.  The
 * version's digits start at name + 1 and run *vlen characters. */
int rt_flyway_kind(const char *name, size_t stem, size_t *vlen);
/* Flyway's order of two versions: segments split on '.' and '_', compared
 * as numbers, a missing segment as 0 ("1.1" == "1_1" == "1.1.0"). */
int rt_flyway_version_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* Flyway's checksum of a migration's text, as flyway_schema_history's
 * checksum column holds it (a signed 32-bit CRC-32 of the lines without
 * their line breaks). */
long long rt_flyway_checksum(const char *text);

/* ------------------------------------------------------------- diesel */

/* Reads a diesel metadata.toml: *no_tx from "run_in_transaction = false".
 * -1 with *err and *line for anything else it cannot honour. */
int rt_diesel_metadata(const char *text, int *no_tx, int *line, rt_buf *err);

/* --------------------------------------------------- files that cannot run */

/* Whether a file name is another tool's migration that retort cannot run
 * (goose's "<version>_<name>.go", Pop's ".fizz"); *why says what it is. */
int rt_format_unrunnable(const char *name, size_t len, const char **why);
/* Whether SQL text holds a Go/Pop template action "{{ ... }}" outside
 * quoted strings; *line is its line. */
int rt_format_has_template(const char *text, int *line);

#endif
