/*
 * c-migrations — an application whose migrations are C files written by
 * `retort revision --lang c` (in migrations/), registered by the generated
 * index migrations/retort_migrations.c.  Adding a migration is:
 *
 *     retort --dir migrations revision --lang c -m "what it does"
 *     $EDITOR migrations/<new id>.c        (fill in up and down)
 *
 * and nothing else: the index and its header are rewritten by the command,
 * and the build compiles every .c file of the directory.
 *
 * Usage: c_migrations_example [DATABASE-URL]
 * Without a URL it migrates a temporary SQLite file and removes it, which is
 * what the meson test does: up to head, again (nothing to do), down to base
 * and up again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <retort/retort.h>

#include "migrations/retort_migrations.h"

static int check(retort *r, int rc, const char *what)
{
    if (rc != RETORT_OK)
        fprintf(stderr, "c-migrations: %s: %s\n", what, retort_errmsg(r));
    return rc;
}

/* The current revisions must be exactly want ("" at base). */
static int expect_current(retort *r, const char *want)
{
    const char *cur;
    if (check(r, retort_current(r, &cur), "current") != RETORT_OK)
        return 1;
    if (strcmp(cur, want) != 0) {
        fprintf(stderr, "c-migrations: at '%s', expected '%s'\n", cur, want);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char path[] = "/tmp/retort-c-migrations-XXXXXX";
    char url[64];
    const char *use = argc > 1 ? argv[1] : NULL;
    if (!use) {
        int fd = mkstemp(path);
        if (fd < 0) {
            perror("c-migrations: mkstemp");
            return 1;
        }
        close(fd);
        snprintf(url, sizeof url, "sqlite:%s", path);
        use = url;
    }

    retort *r = NULL;
    int failed = check(r, retort_new(&r, use), "retort_new") != RETORT_OK;
    if (!failed)
        failed = check(r, migrations_register(r), "registering migrations") != RETORT_OK;
    const char *heads = NULL;
    char head[256] = "";
    if (!failed && check(r, retort_heads(r, &heads), "heads") == RETORT_OK)
        snprintf(head, sizeof head, "%s", heads);
    else
        failed = 1;

    if (!failed)
        failed = check(r, retort_migrate_to_head(r), "migrate to head") != RETORT_OK ||
                 expect_current(r, head);
    if (!failed)
        printf("migrated to %s\n", head);
    if (!failed && argc <= 1) {
        /* The round trip a test harness wants: nothing to do at head, every
         * step reversible, and up again after down. */
        failed = check(r, retort_migrate_to_head(r), "second migrate") != RETORT_OK ||
                 check(r, retort_downgrade(r, "base"), "downgrade to base") != RETORT_OK ||
                 expect_current(r, "") ||
                 check(r, retort_migrate_to_head(r), "migrate again") != RETORT_OK ||
                 expect_current(r, head) || check(r, retort_check(r), "check") != RETORT_OK;
        if (!failed)
            printf("round trip base -> head -> base -> head: ok\n");
    }
    retort_free(r);
    if (argc <= 1)
        unlink(path);
    return failed ? 1 : 0;
}
