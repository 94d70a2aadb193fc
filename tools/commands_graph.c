/*
 * commands_graph.c — the commands that describe the migrations directory:
 * heads, history and show.  heads and show never connect; history reads the
 * database only to mark the current revisions (--no-current skips it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "history.h"

int cmd_heads(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    hist_graph g;
    const char *heads;
    int status = CLI_EXIT_OK;
    if (retort_heads(r, &heads) != RETORT_OK) {
        status = cli_lib_fail(c, r);
    } else if (c->format_json) {
        fputs("{\"format\":\"retort.heads/1\",\"heads\":", stdout);
        cli_json_list(heads);
        fputs("}\n", stdout);
    } else if (c->cfg.verbosity <= 0) {
        for (const char *p = heads; *p;) {
            size_t k = strcspn(p, " ");
            printf("%.*s\n", (int)k, p);
            p += k;
            p += strspn(p, " ");
        }
    } else if (hist_load(r, NULL, &g) != RETORT_OK) {
        status = cli_lib_fail(c, r);
    } else {
        /* Plan order, like history: the graph's heads have no children. */
        for (int i = 0; i < g.n; i++)
            if (!g.revs[i].nchildren)
                printf("%s%s%s\n", g.revs[i].id, *g.revs[i].message ? ", " : "",
                       g.revs[i].message);
        hist_free(&g);
    }
    retort_free(r);
    return status;
}

int cmd_history(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    char *current = NULL;
    int status = CLI_EXIT_OK;
    const char *heads;
    /* Validate the graph first, so an error names it rather than the
     * database. */
    if (retort_heads(r, &heads) != RETORT_OK) {
        status = cli_lib_fail(c, r);
    } else if (!c->no_current) {
        const char *cur, *applied;
        if (retort_applied(r, &applied) != RETORT_OK || retort_current(r, &cur) != RETORT_OK) {
            cli_fail(c, "%s", retort_errmsg(r));
            fprintf(stderr, "(history --no-current prints the graph without the database)\n");
            status = CLI_EXIT_FAILURE;
        } else if (!(current = strdup(cur))) {
            status = cli_fail(c, "out of memory");
        }
    }
    if (status == CLI_EXIT_OK) {
        hist_graph g;
        int rc = hist_load(r, current, &g);
        if (rc == RETORT_ENOMEM) {
            status = cli_fail(c, "out of memory");
        } else if (rc != RETORT_OK) {
            status = cli_lib_fail(c, r);
        } else {
            hist_print(&g, c->cfg.verbosity > 0, stdout);
            hist_free(&g);
        }
    }
    free(current);
    retort_free(r);
    return status;
}

/* Prints the file(s) a revision came from, if it came from the directory. */
static void print_files(const cli *c, const char *id)
{
    static const char *const suffixes[] = {".sql", ".up.sql", ".down.sql", ".c"};
    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
        size_t n = strlen(c->cfg.dir) + strlen(id) + strlen(suffixes[k]) + 2;
        char *path = malloc(n);
        if (!path)
            return;
        snprintf(path, n, "%s/%s%s", c->cfg.dir, id, suffixes[k]);
        struct stat st;
        if (stat(path, &st) == 0)
            printf("File: %s\n", path);
        free(path);
    }
}

int cmd_show(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    int status = CLI_EXIT_OK;
    const char *want = c->args[0];
    char *head = NULL;
    const char *heads;
    hist_graph g;
    int loaded = 0;
    if (retort_heads(r, &heads) != RETORT_OK) {
        status = cli_lib_fail(c, r);
    } else if (strcmp(want, "head") == 0) {
        if (!*heads)
            status = cli_fail(c, "no revisions in '%s': there is no head", c->cfg.dir);
        else if (strchr(heads, ' '))
            status = cli_fail(c, "'head' is ambiguous: the directory has several heads: %s",
                              heads);
        else if (!(head = strdup(heads)))
            status = cli_fail(c, "out of memory");
        want = head;
    }
    if (status == CLI_EXIT_OK) {
        int rc = hist_load(r, NULL, &g);
        if (rc == RETORT_ENOMEM)
            status = cli_fail(c, "out of memory");
        else if (rc != RETORT_OK)
            status = cli_lib_fail(c, r);
        else
            loaded = 1;
    }
    if (status == CLI_EXIT_OK) {
        int i = hist_find(&g, want);
        if (i < 0) {
            status = cli_fail(c, "no revision '%s' in '%s'", want, c->cfg.dir);
        } else {
            hist_print_block(&g, i, stdout);
            print_files(c, g.revs[i].id);
        }
    }
    if (loaded)
        hist_free(&g);
    free(head);
    retort_free(r);
    return status;
}
