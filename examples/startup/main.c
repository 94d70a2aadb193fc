/*
 * examples/startup — an application that brings its embedded SQLite
 * database to the newest schema before it does anything else.
 *
 *   startup-app [DATABASE_URL]
 *
 * With no argument the URL comes from RETORT_DATABASE_URL, or is the default
 * sqlite:retort.db in the working directory.  Run it twice: the second run
 * finds the database at head and costs one query.
 */
#include <stdio.h>
#include <string.h>

#include <retort/retort.h>

/* A data migration written in C: everything a callback does goes through
 * its retort_conn, inside the revision's transaction. */
static int seed_plans(retort_conn *conn, void *user)
{
    (void)user;
    static const char *const plans[][2] = {{"free", "0"}, {"team", "12"}, {"business", "40"}};
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        const char *params[] = {plans[i][0], plans[i][1]};
        if (retort_exec_params(conn, "INSERT INTO plans (name, monthly_usd) VALUES ($1, $2)", 2,
                               params) != RETORT_OK)
            return 1;
    }
    return 0;
}

static int unseed_plans(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "DELETE FROM plans") == RETORT_OK ? 0 : 1;
}

static void log_line(int level, const char *message, void *user)
{
    (void)user;
    static const char *const names[] = {"", "error", "warn", "info", "debug"};
    fprintf(stderr, "[migrate %s] %s\n", names[level > 0 && level <= 4 ? level : 0], message);
}

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : NULL;
    retort *r = NULL;
    int rc = retort_new(&r, url);
    if (rc != RETORT_OK) {
        fprintf(stderr, "startup-app: %s\n", retort_errmsg(r));
        retort_free(r);
        return 1;
    }
    retort_set_log(r, log_line, NULL);
    retort_set_log_level(r, RETORT_LOG_INFO);

    /* The application's whole schema history, oldest first. */
    if ((rc = retort_add_sql(r, "0001_users", NULL, "create users",
                             "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL "
                             "UNIQUE, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
                             "DROP TABLE users")) != RETORT_OK ||
        (rc = retort_add_sql(r, "0002_plans", "0001_users", "create plans",
                             "CREATE TABLE plans (name TEXT PRIMARY KEY, monthly_usd INTEGER "
                             "NOT NULL);\n"
                             "ALTER TABLE users ADD COLUMN plan TEXT REFERENCES plans(name)",
                             "ALTER TABLE users DROP COLUMN plan;\nDROP TABLE plans")) !=
            RETORT_OK ||
        (rc = retort_add(r, "0003_seed_plans", "0002_plans", "seed the price list", seed_plans,
                         unseed_plans, NULL)) != RETORT_OK ||
        (rc = retort_add_sql(r, "0004_users_plan_idx", "0003_seed_plans",
                             "index users by plan",
                             "CREATE INDEX users_plan_idx ON users (plan)",
                             "DROP INDEX users_plan_idx")) != RETORT_OK) {
        fprintf(stderr, "startup-app: %s\n", retort_errmsg(r));
        retort_free(r);
        return 1;
    }

    if ((rc = retort_migrate_to_head(r)) != RETORT_OK) {
        fprintf(stderr, "startup-app: migration failed (%s): %s\n", retort_strerror(rc),
                retort_errmsg(r));
        retort_free(r);
        return 1;
    }
    const char *heads = NULL;
    if (retort_current(r, &heads) != RETORT_OK) {
        fprintf(stderr, "startup-app: %s\n", retort_errmsg(r));
        retort_free(r);
        return 1;
    }
    printf("database is at %s; the application can start serving\n", heads);
    retort_free(r);
    return 0;
}
