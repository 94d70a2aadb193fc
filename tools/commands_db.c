/*
 * commands_db.c — the commands that read or change the database: upgrade,
 * downgrade (online or as a SQL script), stamp, current, check and the
 * dirty-state resolvers mark-applied / mark-reverted.  Each is one or two
 * calls of the public API; the output around them is the contract with
 * scripts, so it is stable: one fact per line, ids first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "template.h"

/* "Now at X" after a change: the database's current heads, or base. */
static int say_now(cli *c, retort *r, const char *what)
{
    if (c->cfg.verbosity < 0) /* --quiet: not worth a query */
        return CLI_EXIT_OK;
    const char *cur;
    if (retort_current(r, &cur) != RETORT_OK)
        return cli_lib_fail(c, r);
    cli_say(c, "%s %s\n", what, *cur ? cur : "base");
    return CLI_EXIT_OK;
}

static int print_script(cli *c, retort *r, int rc, const char *script)
{
    if (rc != RETORT_OK)
        return cli_lib_fail(c, r);
    fputs(script, stdout);
    if (*script && script[strlen(script) - 1] != '\n')
        fputc('\n', stdout);
    return CLI_EXIT_OK;
}

/* What one upgrade or downgrade has done so far, from the library's step
 * events: the output reports only what this process ran and committed, not
 * what it planned (another process may take a step first). */
typedef struct progress {
    const cli *c;
    int done;        /* steps applied or reverted, committed */
    char **parents;  /* -v: parents by revision, for "Running" lines */
    char **ids;
    int n;
    int tty;             /* stdout is a terminal: compact [i/n] progress */
    int open_line;       /* a progress line awaits its outcome */
    struct timespec start;
} progress;

static void free_parents(progress *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->ids[i]);
        free(p->parents[i]);
    }
    free(p->ids);
    free(p->parents);
    p->ids = p->parents = NULL;
    p->n = 0;
}

/* Copies each revision's parents before the run: the event callback may
 * not call the library. */
static void load_parents(progress *p, retort *r)
{
    int n = 0;
    if (retort_revision_count(r, &n) != RETORT_OK || n <= 0)
        return;
    p->ids = calloc((size_t)n, sizeof *p->ids);
    p->parents = calloc((size_t)n, sizeof *p->parents);
    if (!p->ids || !p->parents) {
        free_parents(p);
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *id, *parents;
        if (retort_revision_info(r, i, &id, &parents, NULL, NULL) != RETORT_OK)
            break;
        p->ids[i] = strdup(id);
        p->parents[i] = strdup(parents);
        p->n = i + 1;
        if (!p->ids[i] || !p->parents[i])
            break;
    }
}

static const char *parents_of(const progress *p, const char *id)
{
    for (int i = 0; i < p->n; i++)
        if (p->ids[i] && strcmp(p->ids[i], id) == 0)
            return p->parents[i] && *p->parents[i] ? p->parents[i] : "base";
    return "?";
}

static double elapsed_s(const progress *p)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - p->start.tv_sec) + (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
}

/*
 * Not a terminal (scripts, CI logs): one plain line per fact, "Applied ID"
 * as each step commits; -v adds "Running upgrade A -> B (message)" before
 * each step (Alembic's line) and the step's duration after it.  On a
 * terminal without -v: one compact line per step, "[3/12] Running ...",
 * overwritten by "[3/12] Applied ID in N ms (elapsed T s)" once it commits.
 */
static void on_step(int phase, int direction, int index, int total, const char *id,
                    const char *message, int status, long duration_ms, void *user)
{
    progress *p = user;
    const cli *c = p->c;
    if (c->cfg.verbosity < 0)
        return;
    if (phase == RETORT_EVENT_BEFORE) {
        if (c->cfg.verbosity > 0 || p->tty) {
            const char *parents = parents_of(p, id);
            if (p->tty && c->cfg.verbosity == 0)
                printf("[%d/%d] ", index, total);
            printf("Running %s %s -> %s%s%s%s", direction > 0 ? "upgrade" : "downgrade",
                   direction > 0 ? parents : id, direction > 0 ? id : parents,
                   *message ? " (" : "", message, *message ? ")" : "");
            if (p->tty && c->cfg.verbosity == 0) {
                p->open_line = 1;
            } else {
                fputc('\n', stdout);
            }
            fflush(stdout);
        }
        return;
    }
    if (p->open_line) {
        /* Ends the terminal's progress line: replaced on success, kept
         * above the error otherwise. */
        fputs(status == RETORT_OK ? "\r\033[K" : "\n", stdout);
        p->open_line = 0;
    }
    if (status != RETORT_OK) {
        fflush(stdout);
        return; /* the error is reported once the call returns */
    }
    p->done++;
    const char *what = direction > 0 ? "Applied" : "Reverted";
    if (p->tty && c->cfg.verbosity == 0)
        printf("[%d/%d] %s %s in %ld ms (elapsed %.1f s)\n", index, total, what, id, duration_ms,
               elapsed_s(p));
    else if (c->cfg.verbosity > 0)
        printf("%s %s in %ld ms\n", what, id, duration_ms);
    else
        printf("%s %s\n", what, id);
    fflush(stdout);
}

/* Runs an upgrade or downgrade, printing each step this process applied or
 * reverted as it commits. */
static int migrate(cli *c, int direction, const char *target)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    int status;
    if (c->sql) {
        const char *script = NULL;
        int rc = direction > 0 ? retort_upgrade_sql(r, target, &script)
                               : retort_downgrade_sql(r, target, &script);
        status = print_script(c, r, rc, script);
        retort_free(r);
        return status;
    }
    if (c->format_json && !c->dry_run) {
        retort_free(r);
        return cli_usage(c, "--format json needs --dry-run here (the plan is what it prints)");
    }
    /* Before anything runs: a plan through a C migration is refused
     * whole, not run up to it (offline scripts meet the refusing step). */
    if (cli_refuse_c_steps(c, r, direction, target) != CLI_EXIT_OK) {
        retort_free(r);
        return CLI_EXIT_FAILURE;
    }
    if (c->dry_run) {
        status = cli_dry_run(c, r, direction, target);
        retort_free(r);
        return status;
    }
    progress p = {c, 0, NULL, NULL, 0, isatty(STDOUT_FILENO), 0, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    if (c->cfg.verbosity > 0 || p.tty)
        load_parents(&p, r);
    int rc = retort_set_event_fn(r, on_step, &p);
    if (rc == RETORT_OK)
        rc = direction > 0 ? retort_upgrade(r, target) : retort_downgrade(r, target);
    if (rc != RETORT_OK)
        status = cli_lib_fail(c, r);
    else if (!p.done)
        status = say_now(c, r, direction > 0 ? "Nothing to upgrade: at" : "Nothing to "
                                                                       "downgrade: at");
    else
        status = say_now(c, r, "Now at");
    free_parents(&p);
    retort_free(r);
    return status;
}

int cmd_upgrade(cli *c) { return migrate(c, 1, c->nargs ? c->args[0] : "head"); }

/* redo: reverts the current revision (the single applied head) and applies
 * it again, for a migration being written.  Two operations: if the upgrade
 * fails, the database stays one step down, which the output says. */
int cmd_redo(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    const char *cur;
    char *id = NULL;
    int status;
    if (retort_current(r, &cur) != RETORT_OK) {
        status = cli_lib_fail(c, r);
        goto out;
    }
    if (!*cur || strchr(cur, ' ')) {
        status = cli_fail(c, *cur ? "the database has several current revisions (%s): redo "
                                    "needs one; use downgrade and upgrade with ids"
                                  : "the database is at base%s: nothing to redo",
                          *cur ? cur : "");
        goto out;
    }
    if (!(id = strdup(cur))) {
        status = cli_fail(c, "out of memory");
        goto out;
    }
    if ((status = cli_refuse_c_steps(c, r, -1, "-1")) != CLI_EXIT_OK)
        goto out;
    progress p = {c, 0, NULL, NULL, 0, isatty(STDOUT_FILENO), 0, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    if (c->cfg.verbosity > 0 || p.tty)
        load_parents(&p, r);
    int rc = retort_set_event_fn(r, on_step, &p);
    if (rc == RETORT_OK)
        rc = retort_downgrade(r, "-1");
    if (rc == RETORT_OK)
        rc = retort_upgrade(r, id);
    status = rc != RETORT_OK ? cli_lib_fail(c, r) : say_now(c, r, "Now at");
    free_parents(&p);
out:
    free(id);
    retort_free(r);
    return status;
}

int cmd_downgrade(cli *c)
{
    if (c->sql && !strchr(c->args[0], ':'))
        return cli_usage(c, "--sql needs TARGET as FROM:TO (offline, the database's current "
                            "revision is unknown), e.g. 'head:base'");
    return migrate(c, -1, c->args[0]);
}

int cmd_stamp(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    int status;
    if (c->sql) {
        const char *script = NULL;
        if (c->purge) {
            status = cli_usage(c, "--purge and --sql do not combine (a script cannot know the "
                                  "rows of unknown revisions)");
        } else {
            int rc = retort_stamp_sql(r, c->args[0], &script);
            status = print_script(c, r, rc, script);
        }
        retort_free(r);
        return status;
    }
    if (c->format_json && !c->dry_run) {
        retort_free(r);
        return cli_usage(c, "--format json needs --dry-run here (the plan is what it prints)");
    }
    if (c->dry_run) {
        const char *cur;
        if (retort_current(r, &cur) != RETORT_OK) {
            status = cli_lib_fail(c, r);
        } else if (c->format_json) {
            fputs("{\"format\":\"retort.stamp/1\",\"target\":", stdout);
            cli_json_str(c->args[0]);
            printf(",\"purge\":%s,\"current\":", c->purge ? "true" : "false");
            cli_json_list(cur);
            fputs("}\n", stdout);
            status = CLI_EXIT_OK;
        } else {
            printf("Would stamp the database at %s%s (now at %s); nothing was changed\n",
                   c->args[0], c->purge ? " after purging every version row" : "",
                   *cur ? cur : "base");
            status = CLI_EXIT_OK;
        }
        retort_free(r);
        return status;
    }
    int rc = c->purge ? retort_stamp_purge(r, c->args[0]) : retort_stamp(r, c->args[0]);
    status = rc != RETORT_OK ? cli_lib_fail(c, r) : say_now(c, r, "Stamped: now at");
    retort_free(r);
    return status;
}

int cmd_adopt(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    int status = retort_adopt(r, c->nargs ? c->args[0] : NULL) != RETORT_OK
                     ? cli_lib_fail(c, r)
                     : say_now(c, r, "Adopted: now at");
    retort_free(r);
    return status;
}

/* The message of revision id, or "" (for -v output). */
static const char *message_of(retort *r, const char *id, size_t idlen, int *is_head,
                              int *is_dirty, const char *heads)
{
    int n = 0;
    const char *msg = "";
    *is_head = 0;
    *is_dirty = 0;
    for (const char *p = heads; *p;) {
        size_t k = strcspn(p, " ");
        if (k == idlen && memcmp(p, id, k) == 0)
            *is_head = 1;
        p += k;
        p += strspn(p, " ");
    }
    if (retort_revision_count(r, &n) != RETORT_OK)
        return "";
    for (int i = 0; i < n; i++) {
        const char *rid, *m;
        int flags = 0;
        if (retort_revision_info(r, i, &rid, NULL, &m, &flags) == RETORT_OK &&
            strlen(rid) == idlen && memcmp(rid, id, idlen) == 0) {
            msg = m;
            *is_dirty = (flags & RETORT_REV_DIRTY) != 0;
        }
    }
    return msg;
}

/* The state just read holds dirty revisions: say so on stderr (stdout
 * stays the list of ids), with the way out.  Shown even under -q. */
static void warn_dirty(cli *c, retort *r)
{
    int n = 0;
    if (retort_revision_count(r, &n) != RETORT_OK)
        return;
    for (int i = 0; i < n; i++) {
        const char *id;
        int flags = 0;
        if (retort_revision_info(r, i, &id, NULL, NULL, &flags) != RETORT_OK ||
            !(flags & RETORT_REV_DIRTY))
            continue;
        fprintf(stderr,
                "retort: %s: the database is dirty: revision %s failed midway and may be partly "
                "applied; inspect the database, then resolve with: retort "
                "mark-applied|mark-reverted %s\n",
                c->command, id, id);
    }
}

int cmd_current(cli *c)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    const char *cur;
    char *current = NULL, *heads = NULL;
    int status = CLI_EXIT_OK;
    if (retort_current(r, &cur) != RETORT_OK) {
        status = cli_lib_fail(c, r);
    } else if (!(current = strdup(cur))) {
        status = cli_fail(c, "out of memory");
    } else if (c->format_json) {
        const char *h;
        if (retort_heads(r, &h) != RETORT_OK) {
            status = cli_lib_fail(c, r);
        } else if (!(heads = strdup(h))) {
            status = cli_fail(c, "out of memory");
        } else {
            fputs("{\"format\":\"retort.current/1\",\"current\":[", stdout);
            int first = 1;
            for (const char *p = current; *p;) {
                size_t k = strcspn(p, " ");
                int is_head, is_dirty;
                const char *msg = message_of(r, p, k, &is_head, &is_dirty, heads);
                char *id = strndup(p, k);
                fputs(first ? "{\"id\":" : ",{\"id\":", stdout);
                cli_json_str(id ? id : "");
                free(id);
                printf(",\"head\":%s,\"dirty\":%s,\"message\":", is_head ? "true" : "false",
                       is_dirty ? "true" : "false");
                cli_json_str(msg);
                putchar('}');
                first = 0;
                p += k;
                p += strspn(p, " ");
            }
            fputs("]}\n", stdout);
        }
    } else if (c->cfg.verbosity > 0) {
        const char *h;
        if (retort_heads(r, &h) != RETORT_OK) {
            status = cli_lib_fail(c, r);
        } else if (!(heads = strdup(h))) {
            status = cli_fail(c, "out of memory");
        } else if (!*current) {
            printf("<base>\n");
        } else {
            for (const char *p = current; *p;) {
                size_t k = strcspn(p, " ");
                int is_head, is_dirty;
                const char *msg = message_of(r, p, k, &is_head, &is_dirty, heads);
                printf("%.*s%s%s%s%s\n", (int)k, p, is_head ? " (head)" : "",
                       is_dirty ? " (dirty)" : "", *msg ? ", " : "", msg);
                p += k;
                p += strspn(p, " ");
            }
        }
    } else {
        /* Plain ids, one per line, even under -q: this is the output. */
        for (const char *p = current; *p;) {
            size_t k = strcspn(p, " ");
            printf("%.*s\n", (int)k, p);
            p += k;
            p += strspn(p, " ");
        }
    }
    if (status == CLI_EXIT_OK) {
        fflush(stdout);
        warn_dirty(c, r);
    }
    free(current);
    free(heads);
    retort_free(r);
    return status;
}

/* check --schema: the schema at head against the declared one.  The
 * differing lines go to stdout (they are the output), the verdict to
 * stderr like every failure. */
static int check_schema(cli *c, retort *r)
{
    char err[1024];
    char *declared = NULL;
    if (tpl_read_file(c->schema_path, &declared, err, sizeof err) != 0)
        return cli_fail(c, "--schema: %s", err);
    const char *diff = NULL;
    int rc = retort_schema_diff(r, declared, &diff), status = CLI_EXIT_OK;
    free(declared);
    if (rc == RETORT_OK) {
        const char *cur;
        if (retort_current(r, &cur) != RETORT_OK)
            status = cli_lib_fail(c, r);
        else
            cli_say(c, "OK: at head %s, with the schema %s declares\n", *cur ? cur : "base",
                    c->schema_path);
    } else if (rc == RETORT_EDRIFT) {
        fputs(diff, stdout);
        fputc('\n', stdout);
        cli_fail(c, "%s (declared in %s)", retort_errmsg(r), c->schema_path);
        status = CLI_EXIT_DRIFT;
    } else {
        status = cli_fail(c, "%s: %s", c->schema_path, retort_errmsg(r));
    }
    return status;
}

int cmd_check(cli *c)
{
    if (c->format_json && c->schema_path)
        return cli_usage(c, "--format json does not combine with --schema yet; run them apart");
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    int rc = retort_check(r), status;
    if (c->format_json) {
        /* One object whatever the verdict; the exit status is the same as
         * without --format json. */
        status = rc == RETORT_OK ? CLI_EXIT_OK : cli_exit_for(rc);
        if (status == CLI_EXIT_OK && rc != RETORT_OK)
            status = CLI_EXIT_FAILURE;
        char *msg = rc == RETORT_OK ? NULL : strdup(retort_errmsg(r));
        const char *cur = "";
        int have_cur = rc == RETORT_OK && retort_current(r, &cur) == RETORT_OK;
        printf("{\"format\":\"retort.check/1\",\"ok\":%s,\"exit_status\":%d,\"code\":",
               rc == RETORT_OK ? "true" : "false", status);
        cli_json_str(rc == RETORT_OK ? "ok"
                     : rc == RETORT_EPENDING ? "pending"
                     : rc == RETORT_ECHECKSUM ? "edited"
                     : rc == RETORT_EDIRTY ? "dirty"
                     : rc == RETORT_EUNKNOWN ? "unknown"
                     : rc == RETORT_ELOCK ? "lock"
                     : rc == RETORT_ECONNECT ? "connect" : "error");
        fputs(",\"message\":", stdout);
        if (msg)
            cli_json_str(msg);
        else
            fputs("null", stdout);
        fputs(",\"current\":", stdout);
        if (have_cur)
            cli_json_list(cur);
        else
            fputs("null", stdout);
        fputs("}\n", stdout);
        if (msg)
            cli_fail(c, "%s", msg);
        free(msg);
        retort_free(r);
        return status;
    }
    if (rc == RETORT_OK && c->schema_path) {
        status = check_schema(c, r);
    } else if (rc == RETORT_OK) {
        status = say_now(c, r, "OK: at head");
    } else {
        status = cli_lib_fail(c, r);
    }
    retort_free(r);
    return status;
}

static int mark(cli *c, int applied)
{
    retort *r;
    if (cli_open(c, &r, 1) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    const char *id = c->args[0];
    int rc = applied ? retort_mark_applied(r, id) : retort_mark_reverted(r, id);
    int status = CLI_EXIT_OK;
    if (rc != RETORT_OK)
        status = cli_lib_fail(c, r);
    else
        cli_say(c, "Marked %s as %s\n", id, applied ? "applied" : "reverted");
    retort_free(r);
    return status;
}

int cmd_mark_applied(cli *c) { return mark(c, 1); }

int cmd_mark_reverted(cli *c) { return mark(c, 0); }
