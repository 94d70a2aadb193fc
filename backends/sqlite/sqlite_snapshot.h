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

/* The per-connection cache of described tables (sqlite_snapshot.c): the
 * slot lives in the driver's connection (sqlite_backend.c returns it), and
 * rt_sqlite_snapshot_cache_free frees what it holds at disconnect. */
void **rt_sqlite_snapshot_cache(void *db);
void rt_sqlite_snapshot_cache_free(void *cache);

#endif
