// retort:parents 20240101100000_create_users
// retort:message add users email index
//
// Revision 20240101110000_add_users_email_index, created 2024-01-01T11:00:00Z.
// Fill in the bodies of up and down: retort_migrations.c, regenerated
// by `retort revision --lang c`, registers them.  Add
// "// retort:no-transaction" above to run it outside a transaction.
#include "retort_migrations.h"

int migration_20240101110000_add_users_email_index_up(retort_conn *conn, void *user)
{
    (void)user;
    /* Two statements in one step: they share the revision's transaction. */
    return retort_exec(conn, "ALTER TABLE users ADD COLUMN email TEXT;"
                             "CREATE UNIQUE INDEX users_email ON users (email);");
}

int migration_20240101110000_add_users_email_index_down(retort_conn *conn, void *user)
{
    (void)user;
    /* The index first: SQLite refuses to drop an indexed column. */
    return retort_exec(conn, "DROP INDEX users_email;"
                             "ALTER TABLE users DROP COLUMN email;");
}
