/*
 * sqlite_snapshot.h — the SQLite driver's snapshot member (the vtable's
 * `snapshot`), kept in its own file because describing a schema is a
 * separate concern from running statements.
 */
#ifndef RT_SQLITE_SNAPSHOT_H
#define RT_SQLITE_SNAPSHOT_H

#include "retort/backend.h"

/*
 * Describes the main database of the driver connection db (the sqlite_conn
 * of sqlite_backend.c; reached only through rt_sqlite_backend.native) as one
 * canonical line per object, in no particular order.  schema must be NULL,
 * "" or "main".  Tables named in exclude (NULL-terminated, compared without
 * regard to ASCII case as SQLite does) are left out with their indexes and
 * triggers.
 */
int rt_sqlite_snapshot(void *db, const char *schema, const char *const *exclude,
                       retort_line_fn line, void *ctx, retort_report *rep);

#endif
