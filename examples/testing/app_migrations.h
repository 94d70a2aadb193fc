/*
 * app_migrations.h — the example application's schema history.  In a real
 * project this is the code the application itself calls at startup
 * (retort_migrate_to_head); its test suite registers the same migrations on
 * a fresh target and checks them.
 */
#ifndef APP_MIGRATIONS_H
#define APP_MIGRATIONS_H

#include <retort/retort.h>

/* Registers every migration of the application on r; RETORT_OK or the
 * first registration error (retort_errmsg(r) says which). */
int app_register_migrations(retort *r);

#endif
