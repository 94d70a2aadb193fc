// retort:parents
// retort:message create users
//
// Revision 20240101100000_create_users, created 2024-01-01T10:00:00Z.
// Fill in the bodies of up and down: retort_migrations.c, regenerated
// by `retort revision --lang c`, registers them.  Add
// "// retort:no-transaction" above to run it outside a transaction.
#include "retort_migrations.h"

int migration_20240101100000_create_users_up(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);");
}

int migration_20240101100000_create_users_down(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "DROP TABLE users;");
}
