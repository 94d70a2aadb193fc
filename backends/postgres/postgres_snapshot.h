/*
 * postgres_snapshot.h — the PostgreSQL driver's snapshot member (the
 * vtable's `snapshot`), kept in its own file because describing a schema is
 * a separate concern from running statements.
 */
#ifndef RT_POSTGRES_SNAPSHOT_H
#define RT_POSTGRES_SNAPSHOT_H

#include "retort/backend.h"

/*
 * Describes schema (NULL: the connection's current schema) of the driver
 * connection db (the pg_db of postgres_backend.c, used only through the
 * rt_postgres_backend vtable) as one canonical line per object, in no
 * particular order.  Tables named in exclude (NULL-terminated, exact names)
 * are left out with their columns, constraints, indexes, triggers and owned
 * sequences.  Names are written unqualified, so two schemas with the same
 * objects give the same lines whatever they are called.
 */
int rt_postgres_snapshot(void *db, const char *schema, const char *const *exclude,
                         retort_line_fn line, void *ctx, retort_report *rep);

#endif
