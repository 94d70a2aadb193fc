/*
 * builtin_backends.h — the drivers compiled into the library.  Declares only
 * the vtable objects; the core never includes a driver's own header or its
 * database library's header.
 */
#ifndef RT_BUILTIN_BACKENDS_H
#define RT_BUILTIN_BACKENDS_H

#include "retort/backend.h"

/* What both built-in drivers report when a migration's SQL ended the
 * transaction the core opened (COMMIT or ROLLBACK in it). */
#define RT_ENDED_TRANSACTION                                                                   \
    "the migration ended the transaction retort opened for it (COMMIT or ROLLBACK in its "     \
    "SQL), so it was not atomic and is not recorded as applied; remove that statement, or "    \
    "mark the revision non-transactional"

#ifdef RETORT_HAVE_SQLITE
extern const retort_backend rt_sqlite_backend;
#endif
#ifdef RETORT_HAVE_POSTGRES
extern const retort_backend rt_postgres_backend;
#endif

#endif
