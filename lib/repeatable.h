/*
 * repeatable.h — Flyway's repeatable migrations ("R__<desc>.sql"), run after
 * the versioned ones whenever their text changed.
 *
 * The loader registers them apart from the revisions (r->rreg), so that no
 * graph, plan, head or downgrade ever sees them; the version table holds one
 * row per repeatable migration, id "R__<desc>", with the checksum of the
 * text last applied, read apart from the revisions' rows (r->rstate).
 */
#ifndef RT_REPEATABLE_H
#define RT_REPEATABLE_H

typedef struct retort retort;
struct rt_buf;

/* Whether id names a Flyway repeatable migration ("R__" and a description). */
int rt_is_repeatable_id(const char *id);

/* How many registered repeatable migrations are due, by the last read of the
 * version table: never applied, or applied with another text (checksum). */
int rt_repeatables_due(const retort *r);

/* Appends the due ones' ids to out, separated by spaces. */
void rt_repeatables_append_due(const retort *r, struct rt_buf *out);

/* Applies every due repeatable migration, in order of description, each in
 * its own transaction (or without one when marked no-transaction) with its
 * row replaced by one holding the new checksum and an audit entry.  Called
 * by an upgrade to head under the run's lock, after the versioned plan, with
 * the version table read and existing.  Stops at the first failure, which
 * names the repeatable migration; those applied before it stay applied. */
int rt_repeatables_apply(retort *r);

#endif
