/*
 * template.h — what `retort revision` writes: the new revision's id (a UTC
 * timestamp and a slug of the message), the built-in SQL and C templates and
 * their placeholders ({{id}} {{parents}} {{message}} {{date}} {{ident}}),
 * and the generated index of C migrations (retort_migrations.c / .h) that
 * registers every C migration of a directory.
 */
#ifndef RETORT_TOOL_TEMPLATE_H
#define RETORT_TOOL_TEMPLATE_H

#include <stddef.h>
#include <time.h>

#define TPL_INDEX_C "retort_migrations.c"
#define TPL_INDEX_H "retort_migrations.h"
#define TPL_INDEX_LIST "retort_migrations.list"
#define TPL_DIR_SQL_TEMPLATE "template.sql.tmpl"
#define TPL_DIR_C_TEMPLATE "template.c.tmpl"
#define TPL_SLUG_MAX 40

extern const char tpl_default_sql[];
extern const char tpl_default_c[];

/* The values placeholders are replaced with; all non-NULL. */
typedef struct tpl_vars {
    const char *id;
    const char *parents; /* space-separated, "" for a root */
    const char *message;
    const char *date;    /* ISO 8601 UTC */
    const char *ident;   /* id as a C identifier fragment */
} tpl_vars;

/* Lowercase ASCII letters and digits of message, other runs as one '_', at
 * most TPL_SLUG_MAX characters; "revision" when nothing is left.  malloc'd. */
char *tpl_slug(const char *message);

/* The creation time: SOURCE_DATE_EPOCH (reproducible output) or now.
 * Nonzero with a message for a malformed SOURCE_DATE_EPOCH. */
int tpl_now(time_t *out, char *err, size_t errlen);
/* "YYYYMMDDHHMMSS" (15 bytes) and "YYYY-MM-DDTHH:MM:SSZ" (21 bytes), UTC. */
void tpl_format_stamp(time_t t, char out[15]);
void tpl_format_date(time_t t, char out[21]);

/* Whether id is a valid revision id (1-128 of [A-Za-z0-9_.-], not reserved). */
int tpl_id_valid(const char *id);
/* The id as a C identifier fragment ('-' and '.' become '_').  malloc'd. */
char *tpl_c_ident(const char *id);
/* The loader's order of ids: numeric leading digits, then strcmp. */
int tpl_id_cmp(const char *a, const char *b);

/* Replaces the placeholders of text (named name in messages); unknown or
 * unterminated placeholders are errors naming name:line.  Trailing white
 * space of each line is dropped.  *out malloc'd. */
int tpl_fill(const char *text, const char *name, const tpl_vars *v, char **out, char *err,
             size_t errlen);

/* Reads a whole text file: a regular file (a FIFO or a device such as
 * /dev/zero is refused, without blocking) of at most 16 MiB, without NUL
 * bytes.  *out malloc'd. */
int tpl_read_file(const char *path, char **out, char *err, size_t errlen);
/* Creates path with text, failing if it exists (O_EXCL); removes a partial
 * file on a write error. */
int tpl_write_new(const char *path, const char *text, char *err, size_t errlen);

/* A C migration of the directory, from its "// retort:" header lines. */
typedef struct tpl_cmig {
    char *id, *file, *ident;
    char *parents; /* explicit list, or the previous C id in order */
    char *message;
    int no_transaction;
    char *labels, *depends; /* "// retort:branch-labels", "// retort:depends-on", or NULL */
} tpl_cmig;

/* Every C migration of dir, in id order: each ID.c but the index whose
 * leading comment lines include a "// retort:" directive (the header
 * `revision --lang c` writes).  Other .c files are helpers and are left
 * out.  Errors name file:line. */
int tpl_scan_c(const char *dir, tpl_cmig **out, int *n, char *err, size_t errlen);
void tpl_cmig_free(tpl_cmig *v, int n);

/* The index source and header for the C migrations v[0..n), and the list
 * of source files (one name a line, the index last) for build systems that
 * cannot glob.  malloc'd. */
int tpl_render_index(const tpl_cmig *v, int n, char **c_text, char **h_text, char **list_text,
                     char *err, size_t errlen);
/* Writes dir/retort_migrations.{h,c,list} through temporary files and
 * rename, so a failure before the renames leaves the previous index. */
int tpl_write_index(const char *dir, const tpl_cmig *v, int n, char *err, size_t errlen);

#endif
