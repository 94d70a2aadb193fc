/*
 * sql_split.h — finds statement boundaries in SQL text without allocating,
 * for drivers that must run statements one at a time (PostgreSQL outside a
 * transaction block, where CREATE INDEX CONCURRENTLY has to run alone).
 * Understands '...' strings ('' escapes), E'...' strings (backslash escapes),
 * "..." identifiers, -- and nested slash-star comments, and $tag$ dollar
 * quoting.  Like psql, it does not split on a ';' inside parentheses
 * (multi-action CREATE RULE) or inside the BEGIN ATOMIC ... END body of a
 * CREATE FUNCTION / PROCEDURE.
 */
#ifndef RT_SQL_SPLIT_H
#define RT_SQL_SPLIT_H

#include <stddef.h>

/*
 * Finds the next statement of sql at or after *pos.  Returns 1 and sets
 * [*start, *end) to the statement (leading white space and comments skipped,
 * the terminating ';' excluded), advancing *pos past it; returns 0 when only
 * white space and comments remain.  An unterminated string, identifier,
 * comment or dollar quote runs to the end of the text (the database then
 * reports the syntax error).
 */
int rt_sql_next_statement(const char *sql, size_t *pos, size_t *start, size_t *end);

#endif
