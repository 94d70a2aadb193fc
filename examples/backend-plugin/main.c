/*
 * examples/backend-plugin — an application that registers a third-party
 * driver (trace_backend.c) and runs its migrations through it.
 *
 *   backend-plugin DB_PATH MIGRATIONS_DIR TRACE_FILE
 *
 * The "trace" driver wraps the built-in SQLite driver and writes every
 * statement it runs to TRACE_FILE, one "EVENT<TAB>STATEMENT" line each.  The
 * program migrates trace:DB_PATH to head (SQL files from MIGRATIONS_DIR plus
 * one C callback), then starts a second context and migrates again, which
 * finds the database at head; it prints the heads and how many statements
 * each migrate_to_head sent (the second: the one query of the "already at
 * head" check).  Exit status 0 on success, 77 when the library has no
 * SQLite driver to wrap, 1 on any failure.
 */
#include <stdio.h>
#include <string.h>

#include <retort/backend.h>
#include <retort/retort.h>

#include "trace_backend.h"

typedef struct {
    FILE *out;
    int statements; /* statements sent to the database so far */
} trace_log;

/* Writes one event as a single line: statements span lines, the log does
 * not. */
static void write_event(const char *event, const char *text, void *user)
{
    trace_log *log = user;
    if (strcmp(event, "exec") == 0 || strcmp(event, "exec_params") == 0 ||
        strcmp(event, "query") == 0 || strcmp(event, "table_exists") == 0)
        log->statements++;
    fprintf(log->out, "%s\t", event);
    for (const char *p = text; *p; p++)
        fputc(*p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p, log->out);
    fputc('\n', log->out);
}

/* A data migration in C: it runs through the trace driver like the SQL. */
static int seed_tags(retort_conn *conn, void *user)
{
    (void)user;
    static const char *const tags[] = {"news", "howto", "release"};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        const char *params[] = {tags[i]};
        if (retort_exec_params(conn, "INSERT INTO tags (name) VALUES ($1)", 1, params) !=
            RETORT_OK)
            return 1;
    }
    return 0;
}

static int unseed_tags(retort_conn *conn, void *user)
{
    (void)user;
    return retort_exec(conn, "DELETE FROM tags") == RETORT_OK ? 0 : 1;
}

/* One application start: register, migrate to head, report the heads. */
static int migrate(const char *url, const char *dir, trace_log *log, const char *label)
{
    retort *r = NULL;
    int before = log->statements;
    const char *heads = NULL;
    int rc = retort_new(&r, url);
    if (rc == RETORT_OK)
        rc = retort_load_dir(r, dir);
    if (rc == RETORT_OK)
        rc = retort_add(r, "0004_seed_tags", "0003_posts_title_idx", "seed the tag list",
                        seed_tags, unseed_tags, NULL);
    if (rc == RETORT_OK) {
        before = log->statements;
        rc = retort_migrate_to_head(r);
    }
    int used = log->statements - before;
    if (rc == RETORT_OK)
        rc = retort_current(r, &heads);
    if (rc != RETORT_OK) {
        fprintf(stderr, "backend-plugin: %s run failed (%s): %s\n", label, retort_strerror(rc),
                retort_errmsg(r));
        retort_free(r);
        return 1;
    }
    printf("%s run: database is at %s; migrate_to_head sent %d statement%s through the "
           "trace driver\n", label, heads, used, used == 1 ? "" : "s");
    retort_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: backend-plugin DB_PATH MIGRATIONS_DIR TRACE_FILE\n");
        return 1;
    }
    trace_log log = {fopen(argv[3], "w"), 0};
    if (!log.out) {
        perror(argv[3]);
        return 1;
    }
    int rc = trace_backend_register("sqlite", write_event, &log);
    if (rc == RETORT_ENOTFOUND) {
        printf("backend-plugin: this libretort has no SQLite driver to wrap\n");
        fclose(log.out);
        return 77;
    }
    if (rc != RETORT_OK) {
        fprintf(stderr, "backend-plugin: registering the trace driver: %s\n",
                retort_strerror(rc));
        fclose(log.out);
        return 1;
    }
    /* The registry now serves the new scheme next to the built-in ones. */
    char schemes[256];
    retort_backend_schemes(schemes, sizeof schemes);
    printf("schemes: %s\n", schemes);

    char url[4096];
    if ((size_t)snprintf(url, sizeof url, "trace:%s", argv[1]) >= sizeof url) {
        fprintf(stderr, "backend-plugin: database path too long\n");
        fclose(log.out);
        return 1;
    }
    int status = migrate(url, argv[2], &log, "first");
    if (status == 0)
        status = migrate(url, argv[2], &log, "second");
    if (fclose(log.out) != 0) {
        perror(argv[3]);
        status = 1;
    }
    return status;
}
