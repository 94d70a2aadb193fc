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

/* Whether name (an id or a branch label) names revision i of g. */
static int names(const hist_graph *g, int i, const char *name, size_t len)
{
    const char *id = g->revs[i].id;
    if (strlen(id) == len && memcmp(id, name, len) == 0)
        return 1;
    for (const char *l = g->revs[i].labels; *l;) {
        size_t k = strcspn(l, " ");
        if (k == len && memcmp(l, name, len) == 0)
            return 1;
        l += k;
        l += strspn(l, " ");
    }
    return 0;
}

/* One revision of g as a JSON object (history and show: retort.history/1,
 * retort.show/1).  current and state are null when the database was not
 * read. */
static void json_rev(const hist_graph *g, int i)
{
    const hist_rev *h = &g->revs[i];
    fputs("{\"id\":", stdout);
    cli_json_str(h->id);
    fputs(",\"parents\":", stdout);
    cli_json_list(h->parents);
    fputs(",\"children\":[", stdout);
    for (int k = 0; k < h->nchildren; k++) {
        if (k)
            putchar(',');
        cli_json_str(g->revs[h->children[k]].id);
    }
    fputs("],\"message\":", stdout);
    cli_json_str(h->message);
    fputs(",\"branch_labels\":", stdout);
    cli_json_list(h->labels);
    fputs(",\"depends_on\":", stdout);
    cli_json_list(h->depends);
    printf(",\"head\":%s,\"branchpoint\":%s,\"mergepoint\":%s", h->nchildren ? "false" : "true",
           h->nchildren > 1 ? "true" : "false", h->nparents > 1 ? "true" : "false");
    printf(",\"kind\":\"%s\",\"irreversible\":%s,\"transactional\":%s",
           h->flags & RETORT_REV_SQL ? "sql" : "callback",
           h->flags & RETORT_REV_IRREVERSIBLE ? "true" : "false",
           h->flags & RETORT_REV_NO_TRANSACTION ? "false" : "true");
    if (g->state_known)
        printf(",\"current\":%s,\"state\":\"%s\"}", h->current ? "true" : "false",
               h->flags & RETORT_REV_DIRTY     ? "dirty"
               : h->flags & RETORT_REV_APPLIED ? "applied"
                                               : "pending");
    else
        fputs(",\"current\":null,\"state\":null}", stdout);
}

/* history --format json: the revisions with in[i] (in NULL: all), newest
 * first, and the repeatable migrations ("ID STATE\n" lines of reps). */
static void json_history(const hist_graph *g, const unsigned char *in, const char *reps)
{
    fputs("{\"format\":\"retort.history/1\",\"revisions\":[", stdout);
    int first = 1;
    for (int i = g->n - 1; i >= 0; i--) {
        if (in && !in[i])
            continue;
        fputs(first ? "\n  " : ",\n  ", stdout);
        first = 0;
        json_rev(g, i);
    }
    fputs(first ? "],\"repeatables\":[" : "\n],\"repeatables\":[", stdout);
    first = 1;
    for (const char *p = reps; *p;) {
        const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');
        if (!sp || !nl || sp > nl)
            break;
        fputs(first ? "{\"id\":\"" : ",{\"id\":\"", stdout);
        first = 0;
        /* ids are [A-Za-z0-9_.-]; states are words: nothing to escape */
        printf("%.*s\",\"state\":\"%.*s\"}", (int)(sp - p), p, (int)(nl - sp - 1), sp + 1);
        p = nl + 1;
    }
    fputs("]}\n", stdout);
}

/* heads --resolve-dependencies: a revision another one depends on is not a
 * head (dependencies count as parents, as Alembic's option). */
static void print_resolved_heads(const cli *c, const hist_graph *g)
{
    int shown = 0;
    if (c->format_json)
        fputs("{\"format\":\"retort.heads/1\",\"heads\":[", stdout);
    for (int i = 0; i < g->n; i++) {
        if (g->revs[i].nchildren)
            continue;
        int needed = 0;
        for (int j = 0; j < g->n && !needed; j++)
            for (const char *d = g->revs[j].depends; *d && !needed;) {
                size_t k = strcspn(d, " ");
                needed = names(g, i, d, k);
                d += k;
                d += strspn(d, " ");
            }
        if (needed)
            continue;
        if (c->format_json) {
            if (shown)
                putchar(',');
            cli_json_str(g->revs[i].id);
        } else if (c->cfg.verbosity > 0 && *g->revs[i].message) {
            printf("%s, %s\n", g->revs[i].id, g->revs[i].message);
        } else {
            printf("%s\n", g->revs[i].id);
        }
        shown++;
    }
    if (c->format_json)
        fputs("]}\n", stdout);
}

int cmd_branches(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    hist_graph g;
    int status = CLI_EXIT_OK;
    if (hist_load(r, NULL, &g) != RETORT_OK) {
        status = cli_lib_fail(c, r);
    } else {
        for (int i = g.n - 1; i >= 0; i--) {
            const hist_rev *h = &g.revs[i];
            if (h->nchildren < 2)
                continue;
            printf("%s%s%s%s (branchpoint)%s%s\n", h->id, *h->labels ? " (" : "", h->labels,
                   *h->labels ? ")" : "", *h->message ? ", " : "", h->message);
            for (int k = 0; k < h->nchildren; k++) {
                const hist_rev *ch = &g.revs[h->children[k]];
                printf("  -> %s%s%s%s%s%s\n", ch->id, *ch->labels ? " (" : "", ch->labels,
                       *ch->labels ? ")" : "", *ch->message ? ", " : "", ch->message);
            }
        }
        hist_free(&g);
    }
    retort_free(r);
    return status;
}

int cmd_merge(cli *c)
{
    if (!c->nargs) {
        retort *r;
        const char *heads;
        if (cli_open(c, &r, 1) != CLI_EXIT_OK)
            return CLI_EXIT_FAILURE;
        int status = CLI_EXIT_OK;
        if (retort_heads(r, &heads) != RETORT_OK)
            status = cli_lib_fail(c, r);
        else if (!strchr(heads, ' '))
            status = cli_fail(c, "nothing to merge: the directory has %s", *heads ? "a single "
                                                                                    "head"
                                                                                  : "no "
                                                                                    "revision");
        retort_free(r);
        if (status != CLI_EXIT_OK)
            return status;
    } else {
        size_t n = 1;
        for (int i = 0; i < c->nargs; i++)
            n += strlen(c->args[i]) + 1;
        free(c->parents);
        if (!(c->parents = malloc(n)))
            return cli_fail(c, "out of memory");
        c->parents[0] = '\0';
        for (int i = 0; i < c->nargs; i++) {
            if (i)
                strcat(c->parents, " ");
            strcat(c->parents, c->args[i]);
        }
        c->nargs = 0;
    }
    if (!c->message)
        c->message = "merge";
    return cmd_revision(c);
}

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
    } else if (c->resolve_deps) {
        if (hist_load(r, NULL, &g) != RETORT_OK) {
            status = cli_lib_fail(c, r);
        } else {
            print_resolved_heads(c, &g);
            hist_free(&g);
        }
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

/* One side of history -r: -1 when open ("", base, head, heads). */
static int range_end(cli *c, retort *r, const hist_graph *g, const char *s, size_t len,
                     int *at)
{
    *at = -1;
    if (!len || (len == 4 && (!memcmp(s, "base", 4) || !memcmp(s, "head", 4))) ||
        (len == 5 && !memcmp(s, "heads", 5)))
        return CLI_EXIT_OK;
    *at = hist_resolve(g, s, len);
    if (*at == -2)
        return cli_fail(c, "-r: '%.*s' is ambiguous: it is a prefix of several revisions",
                        (int)len, s);
    if (*at < 0) {
        char hint[300];
        cli_did_you_mean(r, s, len, hint, sizeof hint);
        return cli_fail(c, "-r: no revision '%.*s' in %s%s", (int)len, s, cli_dirs_quoted(c), hint);
    }
    return CLI_EXIT_OK;
}

/* history -r A:B: A, B and the revisions between them (reps: the
 * repeatable migrations, for --format json). */
static int print_range(cli *c, retort *r, const hist_graph *g, const char *reps)
{
    const char *colon = strchr(c->rev_range, ':');
    if (!colon)
        return cli_usage(c, "-r needs A:B (either side may be empty), not '%s'", c->rev_range);
    int lo, hi;
    if (range_end(c, r, g, c->rev_range, (size_t)(colon - c->rev_range), &lo) != CLI_EXIT_OK ||
        range_end(c, r, g, colon + 1, strlen(colon + 1), &hi) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    unsigned char *in = calloc((size_t)g->n + 1, 2);
    if (!in)
        return cli_fail(c, "out of memory");
    unsigned char *up = in + g->n + 1;
    /* in[]: lo and its descendants; up[]: hi and its ancestors (children
     * come later in plan order). */
    for (int i = 0; i < g->n; i++) {
        if (lo < 0 || i == lo)
            in[i] = 1;
        if (in[i])
            for (int k = 0; k < g->revs[i].nchildren; k++)
                in[g->revs[i].children[k]] = 1;
    }
    for (int i = g->n - 1; i >= 0; i--) {
        up[i] = hi < 0 || i == hi;
        for (int k = 0; k < g->revs[i].nchildren && !up[i]; k++)
            up[i] = up[g->revs[i].children[k]];
    }
    for (int i = 0; i < g->n; i++)
        in[i] = in[i] && up[i];
    if (c->format_json)
        json_history(g, in, reps);
    else
        hist_print_only(g, in, c->cfg.verbosity > 0, stdout);
    free(in);
    return CLI_EXIT_OK;
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
            /* Flyway's repeatable migrations run after the heads: newest
             * first, they come first, with their state. */
            const char *reps = "";
            if (!c->no_current && retort_repeatables(r, &reps) != RETORT_OK) {
                status = cli_lib_fail(c, r);
            } else {
                for (const char *p = c->format_json ? "" : reps; *p;) {
                    const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');
                    if (!sp || !nl || sp > nl)
                        break;
                    printf("%.*s (repeatable, %.*s)\n", (int)(sp - p), p, (int)(nl - sp - 1),
                           sp + 1);
                    p = nl + 1;
                }
                if (c->rev_range)
                    status = print_range(c, r, &g, reps);
                else if (c->format_json)
                    json_history(&g, NULL, reps);
                else
                    hist_print(&g, c->cfg.verbosity > 0, stdout);
            }
            hist_free(&g);
        }
    }
    free(current);
    retort_free(r);
    return status;
}

static void print_file_line(const char *path, void *user)
{
    (void)user;
    printf("File: %s\n", path);
}

static void print_file_json(const char *path, void *user)
{
    int *n = user;
    if ((*n)++)
        putchar(',');
    cli_json_str(path);
}

/* Prints the file(s) a revision came from, if it came from a migrations
 * directory: "File: PATH" lines, or (json) a JSON array of the paths.
 * (A Flyway undo file is named by its version, not the id, and is not
 * listed.) */
static void print_files(const cli *c, const char *id, int json)
{
    int n = 0;
    if (json)
        putchar('[');
    cli_revision_files(c, id, json ? print_file_json : print_file_line, &n);
    if (json)
        putchar(']');
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
            status = cli_fail(c, "no revisions in %s: there is no head", cli_dirs_quoted(c));
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
        int i = hist_resolve(&g, want, strlen(want));
        if (i == -2) {
            status = cli_fail(c, "'%s' is ambiguous: it is a prefix of several revisions in "
                                 "%s", want, cli_dirs_quoted(c));
        } else if (i < 0) {
            char hint[300];
            cli_did_you_mean(r, want, strlen(want), hint, sizeof hint);
            status = cli_fail(c, "no revision '%s' in %s%s", want, cli_dirs_quoted(c), hint);
        } else if (c->format_json) {
            fputs("{\"format\":\"retort.show/1\",\"revision\":", stdout);
            json_rev(&g, i);
            fputs(",\"files\":", stdout);
            print_files(c, g.revs[i].id, 1);
            fputs("}\n", stdout);
        } else {
            hist_print_block(&g, i, stdout);
            print_files(c, g.revs[i].id, 0);
        }
    }
    if (loaded)
        hist_free(&g);
    free(head);
    retort_free(r);
    return status;
}
