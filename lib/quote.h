/*
 * quote.h — the one place where a value becomes SQL text.  Every name or
 * value retort splices into a statement goes through exactly one of these,
 * chosen by the context it lands in; everything else travels as a
 * parameter.  doc/SECURITY.md lists which context each template uses.
 *
 *   identifier        rt_quote_ident     "name", " doubled (driver's quote_ident)
 *   string literal    rt_quote_literal   the driver's quote_literal, else 'v', ' doubled
 *   dollar-quote tag  rt_dollar_tag      a tag T such that $T occurs nowhere in the body
 *   comment text      rt_quote_comment   line breaks folded, so a comment stays one line
 *
 * Names from the server (current_schema(), the catalogue) are treated like
 * names from a file: always quoted, never trusted to be "simple".  A C
 * string cannot hold NUL, so no quoted text can either.
 */
#ifndef RT_QUOTE_H
#define RT_QUOTE_H

#include <stddef.h>

#include "buf.h"
#include "retort/backend.h"

/* Appends name quoted as an identifier for be's dialect (be NULL: ANSI
 * double quotes, which both built-in dialects read). */
void rt_quote_ident(const retort_backend *be, const char *name, rt_buf *out);

/* Appends value as a string literal for be's dialect, or NULL for a NULL
 * value.  Without a driver quote_literal (or be NULL): 'value' with '
 * doubled, the SQL standard's form. */
void rt_quote_literal(const retort_backend *be, const char *value, rt_buf *out);

/* Writes into tag (size bytes) a word of [a-z_0-9] starting with "retort"
 * such that "$" tag occurs nowhere in body, so that $tag$ body $tag$ ends
 * exactly at the closing tag whatever body holds.  Returns 0 if size is too
 * small (never for size >= 24). */
int rt_dollar_tag(const char *body, char *tag, size_t size);

/* Appends text for use inside a "--" comment: CR and LF (the only
 * characters that end one, in PostgreSQL, SQLite, psql and the sqlite3
 * shell) become spaces. */
void rt_quote_comment(const char *text, rt_buf *out);

#endif
