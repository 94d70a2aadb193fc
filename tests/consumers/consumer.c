/* The smallest program a newcomer writes: migrate an in-memory SQLite
 * database to head through the public API, print the current head.  Built
 * by test_consumers.sh through every route a consumer may take. */
#include <retort/retort.h>
#include <stdio.h>

int main(void)
{
    retort *r = NULL;
    const char *heads = NULL;
    int rc = retort_new(&r, "sqlite::memory:");
    if (rc == RETORT_OK)
        rc = retort_add_sql(r, "0001_users", NULL, "create users",
                            "CREATE TABLE users (id INTEGER PRIMARY KEY)", "DROP TABLE users");
    if (rc == RETORT_OK)
        rc = retort_migrate_to_head(r);
    if (rc == RETORT_OK)
        rc = retort_current(r, &heads);
    if (rc != RETORT_OK)
        fprintf(stderr, "consumer: %s\n", retort_errmsg(r));
    else
        printf("at %s with retort %s\n", heads, retort_version());
    retort_free(r);
    return rc == RETORT_OK ? 0 : 1;
}
