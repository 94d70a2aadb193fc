/*
 * builtin_backends.h — the drivers compiled into the library.  Declares only
 * the vtable objects; the core never includes a driver's own header or its
 * database library's header.
 */
#ifndef RT_BUILTIN_BACKENDS_H
#define RT_BUILTIN_BACKENDS_H

#include "retort/backend.h"

#ifdef RETORT_HAVE_SQLITE
extern const retort_backend rt_sqlite_backend;
#endif
#ifdef RETORT_HAVE_POSTGRES
extern const retort_backend rt_postgres_backend;
#endif

#endif
